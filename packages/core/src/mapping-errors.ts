// The errors of memory mapped from a map (MapMemory, RingBufReader): a driver copy's -errno as a
// BpfError naming the map and the operation, and an answer outside the Driver contract as the
// driver's fault.
import { driverContractError, isNegErrno } from "./driver-contract.js";
import type { Driver } from "./driver.js";
import { errnoText } from "./errno.js";
import { BpfError } from "./errors.js";

/** Whom a mapping's errors name: the map, and its pin path ("" for none). */
export interface MappedFrom {
  readonly name: string;
  readonly path: string;
}

/** `op` on the mapping of `from` failed with `errno`; `why` explains it. */
export function mappingError(from: MappedFrom, op: string, errno: number, why?: string): BpfError {
  return new BpfError({ errno, op, map: from.name, path: from.path || undefined,
    message: `${op} ${from.name}: ${errnoText(errno)}${why !== undefined ? ` (${why})` : ""}` });
}

/** Throws for a driver `method`'s answer `r` other than 0: its -errno as `op`'s BpfError, anything else as a broken contract. */
export function checkMappingCall(driver: Driver, from: MappedFrom, method: string, r: number, op: string): void {
  if (r === 0) return;
  if (!isNegErrno(r)) throw driverContractError(driver, method, r, "0");
  throw mappingError(from, op, -r);
}

/** One thing a close() gives back: the driver call that frees it, what it is (for errors), and the call. */
export interface Release {
  /** The driver method, as errors name it: "munmap", "close". */
  readonly call: string;
  /** What it holds: "the consumer position's page, writable", "CPU 2's ring". */
  readonly what: string;
  /** The driver call: 0 or -errno. */
  readonly run: () => number;
  /** Forgets it, once freed; left alone while it is still held. */
  readonly freed: () => void;
}

/**
 * Runs every release, going on past a failure, so close() frees all it can: each freed one is
 * forgotten (`freed`), each munmap that failed with an errno stays held, for close() again to
 * retry. A close is forgotten whatever it answers: Linux releases the fd before the flush whose
 * error close(2) reports, so the number may already name another file, which a retry (or the
 * collector) would close. Answers the error to throw, or undefined: the first failure's errno
 * with each failed call and what it holds named. An answer outside the Driver contract is that
 * driver's TypeError, thrown before any errno; what it held counts as freed, since such an
 * answer says nothing of it.
 */
export function releaseEach(driver: Driver, from: MappedFrom, op: string, steps: readonly Release[]): Error | undefined {
  const failed: { step: Release; errno: number }[] = [];
  let broken: TypeError | undefined;
  for (const step of steps) {
    const r = step.run();
    if (isNegErrno(r)) {
      failed.push({ step, errno: -r });
      if (step.call === "close") step.freed();
      continue;
    }
    if (r !== 0) broken ??= driverContractError(driver, step.call, r, "0");
    step.freed();
  }
  if (broken !== undefined) return broken;
  if (failed.length === 0) return undefined;
  const first = failed[0]!.errno;
  const each = failed.map(({ step, errno }, i) => `${step.call} of ${step.what}${i > 0 && errno !== first ? `: ${errnoText(errno)}` : ""}` +
    `${step.call === "close" ? ", which close(2) releases all the same" : ""}`);
  const held = failed.filter(({ step }) => step.call !== "close").length;
  const kept = held === 0 ? "" : held === failed.length
    ? (held === 1 ? "; it stays held: close() again retries it" : "; they stay held: close() again retries them")
    : (held === 1 ? "; the munmap stays held: close() again retries it" : "; the munmaps stay held: close() again retries them");
  return mappingError(from, op, first, `${each.join("; ")}${kept}`);
}
