// What bpfkit needs of an AbortSignal, declared here so that the published types need neither
// Node's nor the DOM's library (Node's AbortSignal and the DOM's are both one).

/** An AbortSignal as `RingBufReader.next` and `Driver.mapPoll` use it. */
export interface AbortSignalLike {
  /** Whether abort() was called. */
  readonly aborted: boolean;
  /** What abort() was given: what the wait rejects with. */
  readonly reason: unknown;
  /** Adds the "abort" listener. */
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  /** Removes it. */
  removeEventListener(type: "abort", listener: () => void): void;
}

/** True when `v` has the shape of an AbortSignal (for a TypeError before any wait). */
export function isAbortSignalLike(v: unknown): v is AbortSignalLike {
  if (v === null || typeof v !== "object") return false;
  const s = v as Partial<AbortSignalLike>;
  return typeof s.aborted === "boolean" && typeof s.addEventListener === "function" && typeof s.removeEventListener === "function";
}
