// Decorators around any Driver (as Kysely wraps its drivers): logging, policy, fault injection
// or a deliberately broken rule for a test. Every method not overridden goes to the inner
// driver unchanged; an override calls the inner driver itself when it wants to.
import type { Driver, HostServices } from "./driver.js";
import { assertOptionKeys } from "./option-keys.js";

/** The optional methods of a Driver: core has a fallback for each, or says it is missing. */
export type OptionalDriverMethodName = "dup" | "mapFdInfo" | "mapMmap" | "mmapRead" | "mmapWrite" | "munmap" | "mmapAtomic" | "progTestRun" | "mapPoll"
  | "btfLoad" | "btfGetFdById" | "btfGetNextId" | "btfGetInfo" | "perfEventOpen";

/** The syscall-level methods every Driver has. */
export type DriverMethodName = Exclude<keyof Driver, "kind" | "possibleCpus" | "pageSize" | "host" | OptionalDriverMethodName>;

/**
 * Every syscall-level method a Driver must have, for decorators that wrap them all (with
 * optionalDriverMethodNames, those it may have).
 */
export const driverMethodNames: readonly DriverMethodName[] = [
  "mapCreate", "mapLookupElem", "mapUpdateElem", "mapDeleteElem", "mapGetNextKey",
  "mapLookupAndDeleteElem", "mapFreeze", "mapLookupBatch", "mapLookupAndDeleteBatch",
  "mapUpdateBatch", "mapDeleteBatch", "objPin", "objGet", "mapGetNextId", "progGetNextId",
  "mapGetFdById", "progGetFdById", "objGetInfoByFd", "progGetMapIds", "progLoad", "progAttach", "close",
];

/**
 * The methods a Driver may leave out, written before they existed (`dup`, `mapFdInfo`): a
 * decorator that wraps every call should wrap these where the inner driver has them, and leave
 * them absent where it does not.
 */
export const optionalDriverMethodNames: readonly OptionalDriverMethodName[] = [
  "dup", "mapFdInfo", "mapMmap", "mmapRead", "mmapWrite", "munmap", "mmapAtomic", "progTestRun", "mapPoll",
  "btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo", "perfEventOpen",
];

/**
 * Every host service a Driver's `host` may have, for decorators that wrap them all (a logger, a
 * recorder). `objKind` and `rename` are optional: see optionalHostServiceNames.
 */
export const hostServiceNames: readonly (keyof HostServices)[] = [
  "statfsType", "stat", "readdir", "mkdir", "mkdirAll", "unlink", "rmdir", "removeAll", "mount",
  "umount", "mountInfo", "objKind", "rename", "monotonicNs", "getRlimitMemlock", "setRlimitMemlock",
];

/** The host services a driver may leave out; core has a fallback for each. */
export const optionalHostServiceNames: readonly (keyof HostServices)[] = ["objKind", "rename"];

const OVERRIDE_KEYS: readonly string[] = [...driverMethodNames, ...optionalDriverMethodNames, "kind", "host"];

/** What `wrapDriver` replaces: any syscall method, the kind, and some host services. */
export type DriverOverrides = Partial<Pick<Driver, DriverMethodName>> & {
  /** Replaces the inner driver's dup, or gives one to a driver without it; `null` drops it. */
  dup?: Driver["dup"] | null;
  /**
   * Replaces the inner driver's mapFdInfo, or gives one to a driver without it; `null` drops it
   * (a driver written before mapFdInfo, to test what core and the CLI do without it).
   */
  mapFdInfo?: Driver["mapFdInfo"] | null;
  /** Replaces the inner driver's mapMmap; `null` drops it (drop the other three with it). */
  mapMmap?: Driver["mapMmap"] | null;
  /** Replaces the inner driver's mmapRead; `null` drops it. */
  mmapRead?: Driver["mmapRead"] | null;
  /** Replaces the inner driver's mmapWrite; `null` drops it. */
  mmapWrite?: Driver["mmapWrite"] | null;
  /** Replaces the inner driver's munmap; `null` drops it. */
  munmap?: Driver["munmap"] | null;
  /** Replaces the inner driver's mmapAtomic; `null` drops it (core then has no atomic words). */
  mmapAtomic?: Driver["mmapAtomic"] | null;
  /** Replaces the inner driver's progTestRun, or gives one to a driver without it; `null` drops it. */
  progTestRun?: Driver["progTestRun"] | null;
  /** Replaces the inner driver's mapPoll, or gives one to a driver without it; `null` drops it (waits poll by timer). */
  mapPoll?: Driver["mapPoll"] | null;
  /** Replaces the inner driver's btfLoad, or gives one to a driver without it; `null` drops it (drop the other btf methods with it). */
  btfLoad?: Driver["btfLoad"] | null;
  /** Replaces the inner driver's btfGetFdById; `null` drops it. */
  btfGetFdById?: Driver["btfGetFdById"] | null;
  /** Replaces the inner driver's btfGetNextId; `null` drops it. */
  btfGetNextId?: Driver["btfGetNextId"] | null;
  /** Replaces the inner driver's btfGetInfo; `null` drops it. */
  btfGetInfo?: Driver["btfGetInfo"] | null;
  /** Replaces the inner driver's perfEventOpen, or gives one to a driver without it; `null` drops it. */
  perfEventOpen?: Driver["perfEventOpen"] | null;
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
  assertOptionKeys(overrides.host, hostServiceNames, "wrapDriver", "host override");
  const wrapped: Record<string, unknown> = {
    kind: overrides.kind ?? inner.kind,
    possibleCpus: inner.possibleCpus,
  };
  if (inner.pageSize !== undefined) wrapped.pageSize = inner.pageSize;
  for (const name of driverMethodNames) {
    const own = overrides[name] as ((...a: unknown[]) => unknown) | null | undefined;
    if (own === null) continue;
    if (own !== undefined) {
      wrapped[name] = own;
      continue;
    }
    const base = inner[name] as unknown;
    // A driver written before a method existed (progGetMapIds) would fail later, obscurely.
    if (typeof base !== "function") {
      throw new TypeError(`wrapDriver: the inner driver ${JSON.stringify(inner.kind)} has no ${name} method: give one in overrides, or add it to the driver`);
    }
    wrapped[name] = base.bind(inner);
  }
  for (const name of optionalDriverMethodNames) {
    const own = overrides[name];
    if (own === null) continue;
    const base = inner[name] as ((...a: unknown[]) => unknown) | undefined;
    const chosen = own ?? (typeof base === "function" ? base.bind(inner) : undefined);
    if (chosen !== undefined) wrapped[name] = chosen;
  }
  if (overrides.host === undefined) {
    wrapped.host = inner.host;
  } else {
    const host: Record<string, unknown> = {};
    for (const name of hostServiceNames) {
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
