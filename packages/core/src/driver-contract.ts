// What core says when a driver answers outside the Driver contract. A driver that returns a
// positive errno (C's convention) or nothing at all would otherwise read as success: a lookup
// of a missing key would hand back whatever the value buffer held.
import type { Driver } from "./driver.js";

/** True when `r` is a `-errno` a driver may return: a negative integer. */
export function isNegErrno(r: number): boolean {
  return r < 0 && Number.isInteger(r);
}

/**
 * The TypeError for a driver result that is neither the call's success value nor `-errno`,
 * naming the driver, the method and what it returned.
 */
export function driverContractError(driver: Driver, method: string, result: unknown, success: string): TypeError {
  const shown = typeof result === "number" ? String(result) : result === undefined ? "undefined" : typeof result;
  const hint = typeof result === "number" && result > 0 && Number.isInteger(result)
    ? ` (a positive errno? return -${result})` : "";
  return new TypeError(`driver ${JSON.stringify(driver.kind)} broke the Driver contract: ${method} returned ${shown}, where it returns ${success} or -errno${hint}`);
}
