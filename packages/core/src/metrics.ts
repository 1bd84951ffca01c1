// The per-operation hooks behind Cilium's two optional metric families: `bpf_map_ops_total`
// (labels mapName, operation, outcome) and the bpf(2) syscall duration histogram (labels
// operation, outcome). bpfkit calls the hooks; the user feeds whatever metrics system they have.

export type Outcome = "success" | "fail";

export interface MetricsHook {
  /** A map operation (`update`, `delete`, `getNextKey`, …) on the map with this common name. */
  mapOp?(commonName: string, op: string, outcome: Outcome): void;
  /**
   * One bpf(2) call, by Cilium's operation label (`create`, `update`, `lookup`, `delete`,
   * `getNextKey`, `objPin`, `objGet`, `getFDByID`, `getMapInfoByFD`, `progGetNextID`,
   * `objGetInfoByFD`, …), with its wall-clock duration.
   */
  syscall?(op: string, outcome: Outcome, durationNs: number): void;
}

/** Cilium's operation labels for the syscall-duration metric. */
export const MetricOp = {
  create: "create",
  update: "update",
  lookup: "lookup",
  delete: "delete",
  getNextKey: "getNextKey",
  objPin: "objPin",
  objGet: "objGet",
  getFDByID: "getFDByID",
  getMapInfoByFD: "getMapInfoByFD",
  progGetNextID: "progGetNextID",
  objGetInfoByFD: "objGetInfoByFD",
  progLoad: "progLoad",
  progAttach: "progAttach",
} as const;

/** A monotonic wall clock in ms for durations; `performance` exists in Node and browsers. */
export function nowMs(): number {
  return globalThis.performance !== undefined ? globalThis.performance.now() : Date.now();
}
