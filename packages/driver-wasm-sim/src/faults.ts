// Fault injection (API.md §2): make the next N calls of a syscall-level operation fail with a
// chosen errno, so callers' error paths run deterministically.
import { assertOptionKeys, optionKeys } from "@bpfkit/core";

/** The syscall-level operations of the Driver, by method name. */
export const SIM_SYSCALLS = [
  "mapCreate", "mapLookupElem", "mapUpdateElem", "mapDeleteElem", "mapGetNextKey",
  "mapLookupAndDeleteElem", "mapFreeze", "mapLookupBatch", "mapLookupAndDeleteBatch",
  "mapUpdateBatch", "mapDeleteBatch", "objPin", "objGet", "mapGetNextId", "progGetNextId",
  "mapGetFdById", "progGetFdById", "objGetInfoByFd", "progGetMapIds", "progLoad", "progAttach", "close",
  "dup", "mapMmap", "munmap", "btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo", "perfEventOpen",
] as const;
/** The name of a syscall-level Driver method that faults and the interleaving hook can aim at (`mapLookupElem`, …). */
export type SimSyscall = (typeof SIM_SYSCALLS)[number];

const known = new Set<string>(SIM_SYSCALLS);
const FAULT_SPEC_KEYS = optionKeys<FaultSpec>({ errno: true, count: true });

/** What an injected fault answers, and for how many calls. */
export interface FaultSpec {
  /** Positive errno to answer with (EINTR = 4, ENOMEM = 12, …). */
  errno: number;
  /** How many of the next calls fail; default 1. */
  count?: number;
}

/**
 * `sim.faults`: the next calls of a Driver method answer -errno and do nothing else, as a syscall
 * that failed would (a batch's count is 0). `inject`, `pending` and `clear` take the method's name.
 */
export class SimFaults {
  private readonly pendingByOp = new Map<string, { errno: number; left: number }[]>();
  /** Faults still to fire, over all operations: 0 keeps the hot path to one comparison. */
  armed = 0;

  /**
   * Queues a fault: the next `count` calls of `op` return `-errno` and do nothing else. A batch
   * call reports a count of 0, as the kernel does for a batch that fails before it has done any
   * element (it writes 0 to `count` first), so a caller never reads its buffers as filled.
   */
  inject(op: SimSyscall, spec: FaultSpec): void {
    if (!known.has(op)) throw new TypeError(`faults.inject: unknown operation ${JSON.stringify(op)}; one of ${SIM_SYSCALLS.join(", ")}`);
    if (spec === null || typeof spec !== "object") throw new TypeError(`faults.inject(${op}): spec must be { errno, count? }`);
    assertOptionKeys(spec, FAULT_SPEC_KEYS, `faults.inject(${op})`, "spec");
    const { errno, count = 1 } = spec;
    if (!Number.isInteger(errno) || errno <= 0 || errno > 4095) throw new RangeError(`faults.inject(${op}): errno must be a positive errno number, got ${errno}`);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`faults.inject(${op}): count must be a positive integer, got ${count}`);
    let q = this.pendingByOp.get(op);
    if (q === undefined) this.pendingByOp.set(op, (q = []));
    q.push({ errno, left: count });
    this.armed += count;
  }

  /** Calls of `op` (or of all operations) that will still fail. */
  pending(op?: SimSyscall): number {
    if (op === undefined) return this.armed;
    return (this.pendingByOp.get(op) ?? []).reduce((n, f) => n + f.left, 0);
  }

  /** Drops the faults still queued for `op`, or for every operation when it is left out. */
  clear(op?: SimSyscall): void {
    if (op === undefined) {
      this.pendingByOp.clear();
      this.armed = 0;
    } else {
      this.armed -= this.pending(op);
      this.pendingByOp.delete(op);
    }
  }

  /** The errno the call must fail with, or 0. */
  take(op: SimSyscall): number {
    const q = this.pendingByOp.get(op);
    if (q === undefined || q.length === 0) return 0;
    const f = q[0]!;
    if (--f.left === 0) q.shift();
    this.armed--;
    return f.errno;
  }
}
