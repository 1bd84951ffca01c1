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
