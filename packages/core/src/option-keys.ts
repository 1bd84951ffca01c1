// Unknown keys in an options or spec object. TypeScript refuses a misspelt key in an object
// literal; plain JavaScript passes it through, and the caller silently gets the default they
// meant to change (`kernelname: "x"` creates a nameless map). Each public entry that takes such
// an object checks its keys once per call, before anything is done.
import type { OpenMapOptions } from "./access-mode.js";
import type { BpfOptions, CreateMapOptions, LoadedMapBtf } from "./bpf.js";
import type { MapBtf } from "./btf/btf-codec.js";
import type { StructOptions } from "./codec.js";
import { editDistance } from "./edit-distance.js";
import type { IterateOptions } from "./iterate.js";
import type { WithCacheOptions } from "./map.js";
import type { SubscribeEventsOptions, WithEventsOptions } from "./map-events.js";
import type { DumpOptions, MapSpec, OpenMapCodecs } from "./map-spec.js";
import type { PerCpuMapSpec } from "./percpu.js";

/**
 * The keys of `T`, every one of them and no other: `Record<keyof T, true>` makes the compiler
 * refuse a missing key and excess-property checking an extra one, so the set cannot drift from
 * the documented type.
 */
export function optionKeys<T>(keys: { readonly [P in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/**
 * Throws a TypeError naming `where` (`newMap cilium_ct4`) and `what` (`spec`) for the first own
 * enumerable key of `obj` not in `allowed`, with a near match when there is one. A key whose
 * value is undefined is still checked: a typo is a typo. Anything but a non-null object is left
 * to the caller's own type check.
 */
export function assertOptionKeys(obj: unknown, allowed: readonly string[], where: string, what: string): void {
  if (obj === null || typeof obj !== "object") return;
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const near = nearKey(k, allowed);
    const hint = near !== undefined ? `did you mean "${near}"?` : `known: ${allowed.join(", ") || "none"}`;
    throw new TypeError(`${where}: unknown ${what} key "${k}" (${hint})`);
  }
}

/**
 * The allowed key equal to `k` but for case, else the one at edit distance ≤ 2 (short keys: 1).
 * Two edits must keep the first letter: `unprivileged` is not a typo of `privileged`.
 */
export function nearKey(k: string, allowed: readonly string[]): string | undefined {
  const lower = k.toLowerCase();
  const caseOnly = allowed.find((a) => a.toLowerCase() === lower);
  if (caseOnly !== undefined) return caseOnly;
  const limit = k.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDist = limit + 1;
  for (const a of allowed) {
    const al = a.toLowerCase();
    const d = editDistance(lower, al, bestDist);
    if (d < bestDist && (d < 2 || al[0] === lower[0])) {
      best = a;
      bestDist = d;
    }
  }
  return best;
}

// ---- the public option and spec types of core, each checked against its type by optionKeys

export const MAP_SPEC_KEYS = optionKeys<MapSpec<unknown, unknown>>({
  name: true, type: true, key: true, value: true, maxEntries: true, flags: true, innerId: true, dumpParser: true,
  kernelName: true, btf: true,
});
export const PER_CPU_MAP_SPEC_KEYS = optionKeys<PerCpuMapSpec<unknown, unknown>>({
  name: true, type: true, key: true, value: true, maxEntries: true, flags: true, innerId: true, dumpParser: true,
  kernelName: true, btf: true,
});
/** newPerCpuHashMap sets the type itself. */
export const PER_CPU_HASH_MAP_SPEC_KEYS = optionKeys<Omit<PerCpuMapSpec<unknown, unknown>, "type">>({
  name: true, key: true, value: true, maxEntries: true, flags: true, innerId: true, dumpParser: true, kernelName: true, btf: true,
});
export const OPEN_MAP_OPTIONS_KEYS = optionKeys<OpenMapOptions>({ readOnly: true, writeOnly: true });
export const OPEN_MAP_CODECS_KEYS = optionKeys<OpenMapCodecs<unknown, unknown>>({ key: true, value: true, dumpParser: true });
export const BPF_OPTIONS_KEYS = optionKeys<BpfOptions>({
  driver: true, mapRoot: true, mapPrefix: true, logger: true, metrics: true, probe: true, fallbackMapRoot: true,
  preAllocateMaps: true,
});
export const CREATE_MAP_OPTIONS_KEYS = optionKeys<CreateMapOptions>({ kernelName: true, mapExtra: true, btf: true });
/** The keys of createMap's `btf` option, raw (MapBtf) or loaded (LoadedMapBtf). */
export const MAP_BTF_KEYS = optionKeys<MapBtf & LoadedMapBtf>({ btf: true, fd: true, keyTypeId: true, valueTypeId: true });
export const DUMP_OPTIONS_KEYS = optionKeys<DumpOptions>({ algorithm: true, batchSize: true });
export const ITERATE_OPTIONS_KEYS = optionKeys<IterateOptions>({ maxRestarts: true });
export const WITH_CACHE_OPTIONS_KEYS = optionKeys<WithCacheOptions>({ clock: true });
export const WITH_EVENTS_OPTIONS_KEYS = optionKeys<WithEventsOptions>({ maxSize: true, ttlMs: true, clock: true });
export const SUBSCRIBE_EVENTS_OPTIONS_KEYS = optionKeys<SubscribeEventsOptions>({ replay: true });
export const STRUCT_OPTIONS_KEYS = optionKeys<StructOptions>({ packed: true, name: true });
