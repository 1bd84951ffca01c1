// Decorators around any Driver (as Kysely wraps its drivers): logging, policy, fault injection
// or a deliberately broken rule for a test. Every method not overridden goes to the inner
// driver unchanged; an override calls the inner driver itself when it wants to.
import type { Driver, HostServices } from "./driver.js";
import { assertOptionKeys } from "./option-keys.js";

/** The syscall-level methods of a Driver. */
export type DriverMethodName = Exclude<keyof Driver, "kind" | "possibleCpus" | "host">;

export const driverMethodNames: readonly DriverMethodName[] = [
  "mapCreate", "mapLookupElem", "mapUpdateElem", "mapDeleteElem", "mapGetNextKey",
  "mapLookupAndDeleteElem", "mapFreeze", "mapLookupBatch", "mapLookupAndDeleteBatch",
  "mapUpdateBatch", "mapDeleteBatch", "objPin", "objGet", "mapGetNextId", "progGetNextId",
  "mapGetFdById", "progGetFdById", "objGetInfoByFd", "progGetMapIds", "progLoad", "progAttach", "close",
];

const hostMethodNames: readonly (keyof HostServices)[] = [
  "statfsType", "stat", "readdir", "mkdir", "mkdirAll", "unlink", "rmdir", "removeAll", "mount",
  "umount", "mountInfo", "objKind", "rename", "monotonicNs", "getRlimitMemlock", "setRlimitMemlock",
];

const OVERRIDE_KEYS: readonly string[] = [...driverMethodNames, "kind", "host"];

export type DriverOverrides = Partial<Pick<Driver, DriverMethodName>> & {
  /** Default: the inner driver's kind. */
  kind?: string;
  /**
   * Host services to replace; the others stay the inner driver's. `null` drops an optional one
   * (`rename: null`: a driver written before rename, to test core's fallback).
   */
  host?: Partial<Omit<HostServices, "objKind" | "rename">> & {
    objKind?: HostServices["objKind"] | null;
    rename?: HostServices["rename"] | null;
  };
};

/**
 * A Driver that behaves as `inner` except for `overrides`. The overrides receive the same
 * arguments and should keep the Driver contract (`-errno`, RangeError/TypeError before any
 * syscall) unless breaking it is the point.
 */
export function wrapDriver(inner: Driver, overrides: DriverOverrides): Driver {
  if (overrides === null || typeof overrides !== "object") throw new TypeError("wrapDriver: overrides must be an object");
  // A misspelt method would leave the inner driver's in place: the test would pass for nothing.
  assertOptionKeys(overrides, OVERRIDE_KEYS, "wrapDriver", "overrides");
  assertOptionKeys(overrides.host, hostMethodNames, "wrapDriver", "host override");
  const wrapped: Record<string, unknown> = {
    kind: overrides.kind ?? inner.kind,
    possibleCpus: inner.possibleCpus,
  };
  for (const name of driverMethodNames) {
    const own = overrides[name] as ((...a: unknown[]) => unknown) | undefined;
    const base = (inner[name] as (...a: unknown[]) => unknown).bind(inner);
    wrapped[name] = own ?? base;
  }
  if (overrides.host === undefined) {
    wrapped.host = inner.host;
  } else {
    const host: Record<string, unknown> = {};
    for (const name of hostMethodNames) {
      const own = overrides.host[name] as ((...a: unknown[]) => unknown) | null | undefined;
      if (own === null) continue;
      const base = inner.host[name] as ((...a: unknown[]) => unknown) | undefined;
      // An optional service (objKind, rename) the inner driver lacks stays absent unless overridden.
      const chosen = own ?? base?.bind(inner.host);
      if (chosen !== undefined) host[name] = chosen;
    }
    wrapped.host = host;
  }
  return wrapped as unknown as Driver;
}
