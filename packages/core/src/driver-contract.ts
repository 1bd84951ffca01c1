// What core says when a driver answers outside the Driver contract. A driver that returns a
// positive errno (C's convention) or nothing at all would otherwise read as success: a lookup
// of a missing key would hand back whatever the value buffer held.
import { driverMethodNames, hostServiceNames, optionalDriverMethodNames, optionalHostServiceNames } from "./driver-wrap.js";
import type { BatchResult, Driver } from "./driver.js";
import { isPageSize } from "./page-size.js";

const METHOD_GROUPS: readonly (readonly [readonly string[], string])[] = [
  [["mapMmap", "mmapRead", "mmapWrite", "munmap"], "a driver maps memory with all four or none"],
  [["btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo"], "a driver has all four btf methods or none"],
];

/**
 * Throws a TypeError naming `where` and everything `d` lacks of a Driver: a `kind` string, a
 * positive integer `possibleCpus`, each method but the optional ones (which, when present, must
 * be functions), and each host service but the optional ones.
 */
export function assertDriver(d: unknown, where: string): asserts d is Driver {
  if (d === null || typeof d !== "object") throw new TypeError(`${where} must be a Driver`);
  const o = d as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof o.kind !== "string") problems.push(`kind is ${typeof o.kind}, not a string`);
  if (!Number.isInteger(o.possibleCpus) || (o.possibleCpus as number) < 1) {
    problems.push(`possibleCpus is ${String(o.possibleCpus)}, not a positive integer (per-CPU values are sized by it)`);
  }
  // A ring's layout and size rule come from it: a wrong one would read another page as data.
  if (o.pageSize !== undefined && !isPageSize(o.pageSize)) {
    problems.push(`pageSize is ${String(o.pageSize)}, not a power of 2 of at least 4096 (leave it out for 4096)`);
  }
  const missing = driverMethodNames.filter((m) => typeof o[m] !== "function");
  if (missing.length > 0) problems.push(`no ${missing.join(", ")} method${missing.length > 1 ? "s" : ""}`);
  // An optional method may be absent, but not something else under its name.
  for (const m of optionalDriverMethodNames) {
    if (o[m] !== undefined && typeof o[m] !== "function") problems.push(`${m} is ${typeof o[m]}, not a method (leave it out if the driver has none)`);
  }
  // Core maps memory through all four or none: a mapping it could not read or release would leak.
  // BTF alike: an object it could load but not find again by id, or not read back, is half a feature.
  for (const [group, why] of METHOD_GROUPS) {
    const had = group.filter((m) => typeof o[m] === "function");
    if (had.length > 0 && had.length < group.length) {
      problems.push(`${had.join(", ")} without ${group.filter((m) => !had.includes(m)).join(", ")} (${why})`);
    }
  }
  const host = o.host as Record<string, unknown> | null | undefined;
  if (host === null || typeof host !== "object") {
    problems.push("no host services (host)");
  } else {
    const gone = hostServiceNames.filter((m) => typeof host[m] !== "function" &&
      !(optionalHostServiceNames.includes(m) && host[m] === undefined));
    if (gone.length > 0) problems.push(`no host.${gone.join(", host.")}`);
  }
  if (problems.length > 0) {
    const name = typeof o.kind === "string" ? ` ${JSON.stringify(o.kind)}` : "";
    throw new TypeError(`${where}${name} breaks the Driver contract: ${problems.join("; ")}`);
  }
}

/** True when `r` is a `-errno` a driver may return: a negative integer. */
export function isNegErrno(r: number): boolean {
  return r < 0 && Number.isInteger(r);
}

/**
 * Throws the contract TypeError unless `res` is a BatchResult: a positive errno or 0 (not the
 * `-errno` of the other calls), and a count from 0 to the `count` the call was given.
 */
export function checkBatchResult(driver: Driver, method: string, res: BatchResult, count: number): void {
  if (res !== null && typeof res === "object" && Number.isInteger(res.errno) && res.errno >= 0 &&
    Number.isInteger(res.count) && res.count >= 0 && res.count <= count) return;
  const shown = res === null || typeof res !== "object" ? String(res) : `{ errno: ${String(res.errno)}, count: ${String(res.count)} }`;
  const hint = res !== null && typeof res === "object" && typeof res.errno === "number" && res.errno < 0
    ? ` (batch results carry a positive errno: ${-res.errno})` : "";
  throw new TypeError(`driver ${JSON.stringify(driver.kind)} broke the Driver contract: ${method} returned ${shown}, where it returns { errno: 0 or a positive errno, count: 0..${count} }${hint}`);
}

/**
 * The TypeError for a driver result that is neither the call's success value nor `-errno`,
 * naming the driver, the method and what it returned.
 */
export function driverContractError(driver: Driver, method: string, result: unknown, success: string): TypeError {
  const shown = typeof result === "number" ? String(result) : result === undefined ? "undefined" : typeof result;
  const hint = success === "0" && typeof result === "number" && result > 0 && Number.isInteger(result)
    ? ` (a positive errno? return -${result})` : "";
  return new TypeError(`driver ${JSON.stringify(driver.kind)} broke the Driver contract: ${method} returned ${shown}, where it returns ${success} or -errno${hint}`);
}
