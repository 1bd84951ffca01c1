// The per-operation hooks behind Cilium's two optional metric families: `bpf_map_ops_total`
// (labels mapName, operation, outcome) and the bpf(2) syscall duration histogram (labels
// operation, outcome). bpfkit calls the hooks; the user feeds whatever metrics system they have.
import type { BatchResult, Driver } from "./driver.js";
import { wrapDriver } from "./driver-wrap.js";
import type { Logger } from "./logger.js";

/** The outcome label of Cilium's BPF metrics: `success` or `fail`. */
export type Outcome = "success" | "fail";

/**
 * The hooks run after the call they report, inside it. A hook that throws does not change the
 * call: a Bpf catches the exception and logs its first one per hook as a warning, because the
 * call has already happened in the kernel (for lookupAndDeleteBatch, the elements it deleted
 * would otherwise be lost).
 */
export interface MetricsHook {
  /** A map operation (`update`, `delete`, `getNextKey`, …) on the map with this common name. */
  mapOp?(commonName: string, op: string, outcome: Outcome): void;
  /**
   * One bpf(2) call, by Cilium's operation label (`create`, `update`, `lookup`, `delete`,
   * `getNextKey`, `objPin`, `objGet`, `getFDByID`, `getMapInfoByFD`, `progGetNextID`,
   * `objGetInfoByFD`, …), with its wall-clock duration. The outcome is `fail` for any errno, as
   * Cilium's Errno2Outcome counts it: the ENOENT of a missing key, and the one that ends a walk
   * (`getNextKey`) or a batch dump (`lookupBatch`), so every complete dump reports one `fail`.
   */
  syscall?(op: string, outcome: Outcome, durationNs: number): void;
  /**
   * Cilium's `bpf_map_pressure` gauge, for a map with `withPressureMetric()`: its entries over its
   * max entries (0 to 1), each time that changes. `mapName` is the map's name without its
   * `cilium_` prefix (Cilium's NonPrefixedName: `policy_00042`, `ipcache`).
   */
  mapPressure?(mapName: string, pressure: number): void;
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
  // Not in Cilium's list (its pkg/bpf had no batches); named the same way.
  lookupBatch: "lookupBatch",
  lookupAndDeleteBatch: "lookupAndDeleteBatch",
  updateBatch: "updateBatch",
  deleteBatch: "deleteBatch",
  lookupAndDelete: "lookupAndDelete",
  freeze: "freeze",
  mapGetNextID: "mapGetNextID",
  btfGetNextID: "btfGetNextID",
} as const;

/**
 * `hook` with each of its methods made unable to throw into the call it reports: the first
 * exception of each method is logged as a warning, with the exception itself (later ones are
 * dropped, not to flood the log at the rate of map operations). The methods are read once, here.
 * A method the user left out stays undefined, so the calls that time themselves only for a
 * syscall hook still pay nothing without one. `op` names the caller in a TypeError for a hook
 * that is not an object of functions.
 */
export function isolatedHook(hook: MetricsHook | null | undefined, logger: Logger, op: string): MetricsHook | undefined {
  if (hook === undefined || hook === null) return undefined;
  if (typeof hook !== "object") throw new TypeError(`${op}: metrics must be an object with mapOp, syscall and/or mapPressure functions`);
  const { mapOp, syscall, mapPressure } = hook;
  for (const [name, f] of [["mapOp", mapOp], ["syscall", syscall], ["mapPressure", mapPressure]] as const) {
    if (f !== undefined && typeof f !== "function") throw new TypeError(`${op}: metrics.${name} must be a function`);
  }
  const warned = new Set<string>();
  const report = (method: string, e: unknown): void => {
    if (warned.has(method)) return;
    warned.add(method);
    try {
      logger.warn(`metrics hook ${method} threw; the operation it reported is unaffected, and further exceptions from it are not logged`,
        { error: e });
    } catch {
      // A logger that throws must not undo the call either.
    }
  };
  return {
    mapOp: mapOp === undefined ? undefined : (commonName, op, outcome) => {
      try {
        mapOp.call(hook, commonName, op, outcome);
      } catch (e) {
        report("mapOp", e);
      }
    },
    syscall: syscall === undefined ? undefined : (op, outcome, durationNs) => {
      try {
        syscall.call(hook, op, outcome, durationNs);
      } catch (e) {
        report("syscall", e);
      }
    },
    mapPressure: mapPressure === undefined ? undefined : (mapName, pressure) => {
      try {
        mapPressure.call(hook, mapName, pressure);
      } catch (e) {
        report("mapPressure", e);
      }
    },
  };
}

/** A monotonic wall clock in ms for durations; `performance` exists in Node and browsers. */
export function nowMs(): number {
  return globalThis.performance !== undefined ? globalThis.performance.now() : Date.now();
}

/** Reports one bpf(2) call that started at `t0` (nowMs) to `hook.syscall`, if there is one. */
export function reportSyscall(hook: MetricsHook | undefined, op: string, failed: boolean, t0: number): void {
  hook?.syscall?.(op, failed ? "fail" : "success", Math.round((nowMs() - t0) * 1e6));
}

/**
 * `inner` with every element and batch call reported to `hook.syscall` (a failure is any
 * errno, ENOENT included, as Cilium's Errno2Outcome counts it). BpfMap reads through it for
 * dumps, iterators and batches when a syscall hook is set, so no bpf(2) call goes unmeasured;
 * without a hook the map uses the driver itself and pays nothing.
 */
export function meteredDriver(inner: Driver, hook: MetricsHook): Driver {
  const timed = <A extends unknown[], R>(op: string, call: (...a: A) => R, failed: (r: R) => boolean) => (...a: A): R => {
    const t0 = nowMs();
    const r = call(...a);
    reportSyscall(hook, op, failed(r), t0);
    return r;
  };
  const elem = <A extends unknown[]>(op: string, call: (...a: A) => number) => timed(op, call, (r) => r < 0);
  const batch = <A extends unknown[]>(op: string, call: (...a: A) => BatchResult) => timed(op, call, (r) => r.errno !== 0);
  return wrapDriver(inner, {
    mapLookupElem: elem(MetricOp.lookup, inner.mapLookupElem.bind(inner)),
    mapUpdateElem: elem(MetricOp.update, inner.mapUpdateElem.bind(inner)),
    mapDeleteElem: elem(MetricOp.delete, inner.mapDeleteElem.bind(inner)),
    mapGetNextKey: elem(MetricOp.getNextKey, inner.mapGetNextKey.bind(inner)),
    mapLookupAndDeleteElem: elem(MetricOp.lookupAndDelete, inner.mapLookupAndDeleteElem.bind(inner)),
    mapFreeze: elem(MetricOp.freeze, inner.mapFreeze.bind(inner)),
    mapLookupBatch: batch(MetricOp.lookupBatch, inner.mapLookupBatch.bind(inner)),
    mapLookupAndDeleteBatch: batch(MetricOp.lookupAndDeleteBatch, inner.mapLookupAndDeleteBatch.bind(inner)),
    mapUpdateBatch: batch(MetricOp.updateBatch, inner.mapUpdateBatch.bind(inner)),
    mapDeleteBatch: batch(MetricOp.deleteBatch, inner.mapDeleteBatch.bind(inner)),
  });
}
