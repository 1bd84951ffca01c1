// Plays an interleavingArb schedule on the simulator: the glue every property test of one's own
// dump or GC code needs, so that "before the code's 3rd syscall, a program deletes key 5" is what
// the shrunk counterexample says and what ran.
// [Symbol.dispose] in the .d.ts needs this lib where a consumer has neither esnext nor @types/node.
/// <reference lib="esnext.disposable" preserve="true" />
import type { SimCallInfo, SimDriver, SimInterleavingHook, SimSyscall } from "@bpfkit/driver-wasm-sim";
import type { DatapathOp, InterleavingStep } from "./arbitraries/interleaving.js";

/** The syscall a step runs before: its Driver method and what it names (the hook's SimCallInfo). */
export interface ScheduledCall extends SimCallInfo {
  /** The Driver method about to run (`mapGetNextKey`, `mapLookupElem`, …). */
  readonly op: SimSyscall;
  /** Its index among the syscalls since the schedule was attached (0-based): the step's `at`. */
  readonly at: number;
}

/** A schedule attached to a simulator's interleaving hook; dispose of it (or detach) to remove the hook. */
export interface InterleavingPlay {
  /** Syscalls seen since it was attached. */
  syscalls(): number;
  /** Datapath operations handed to `apply` so far. */
  applied(): number;
  /**
   * Removes the hook (what `[Symbol.dispose]` does) unless another has been set since, which it
   * leaves in place; later syscalls run nothing of this play.
   */
  detach(): void;
  /** Calls `detach()`, so `using play = playInterleaving(…)` removes the hook at the end of its block. */
  [Symbol.dispose](): void;
}

/** The hooks plays set, told from a test's own, each with the test's hook it replaced (or null). */
const playHooks = new WeakMap<object, SimInterleavingHook | null>();

/**
 * Sets `sim`'s interleaving hook to run `steps`: before the `at`-th syscall from now (0-based,
 * every syscall-level call counted), `apply(op, call)` runs for each operation of each step at or
 * before it, in order. `apply` does what a BPF program would (usually through `sim.datapath` or
 * `typedDatapath`), mapping `op.key` to a key of your own; `call` is the syscall about to run,
 * whose `key` is the target for an op with `recent` set (for a walk's lookup, the key its
 * GET_NEXT_KEY just returned). Steps need not be sorted. It replaces any hook already set while
 * it plays; with `using`, or `detach()` in a `finally`, it goes when the code under test returns
 * or throws, and a hook of the test's own that it replaced is set again (another play's is not).
 */
export function playInterleaving(sim: SimDriver, steps: readonly InterleavingStep[],
  apply: (op: DatapathOp, call: ScheduledCall) => void): InterleavingPlay {
  if (typeof apply !== "function") throw new TypeError("playInterleaving: apply must be a function");
  if (!Array.isArray(steps)) throw new TypeError("playInterleaving: steps must be an array of { at, ops }");
  for (const s of steps) {
    if (typeof s !== "object" || s === null || !Number.isSafeInteger(s.at) || s.at < 0 || !Array.isArray(s.ops)) {
      throw new TypeError("playInterleaving: each step must be { at: a non-negative integer, ops: DatapathOp[] }");
    }
  }
  const order = [...steps].sort((a, b) => a.at - b.at);
  let n = 0;
  let next = 0;
  let done = 0;
  let attached = true;
  const hook = (op: SimSyscall, info: SimCallInfo): void => {
    const at = n++;
    if (next >= order.length || order[next]!.at > at) return;
    const call: ScheduledCall = { ...info, op, at };
    while (next < order.length && order[next]!.at <= at) {
      for (const o of order[next]!.ops) {
        done++;
        apply(o, call);
      }
      next++;
    }
  };
  // A test's own hook (one checking every syscall) comes back after the play; dropping it for
  // the rest of the test went unnoticed. Another play's does not: it was detached, or will be.
  const before = sim.getInterleavingHook();
  const restore = before === null ? null : playHooks.has(before) ? playHooks.get(before)! : before;
  playHooks.set(hook, restore);
  sim.setInterleavingHook(hook);
  const detach = (): void => {
    if (!attached) return;
    attached = false;
    // A hook set since (another play's, a test's own) is not this play's to remove.
    if (sim.getInterleavingHook() === hook) sim.setInterleavingHook(restore);
  };
  return { syscalls: () => n, applied: () => done, detach, [Symbol.dispose]: detach };
}
