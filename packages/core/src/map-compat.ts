// Whether a live map is what a spec asks for, without touching it: cilium/ebpf's
// MapSpec.Compatible and ErrMapIncompatible. The rules are the seed's objCheck (what makes
// openOrCreate re-create a pin), so "compatible" means "openOrCreate would open it as it is".
import {
  BPF_F_NO_COMMON_LRU, BPF_F_RDONLY, BPF_F_WRONLY, BPF_MAP_TYPE_BLOOM_FILTER, isLruMapType, keylessMapTypeName, mapTypeName,
} from "./constants.js";
import type { MapInfo } from "./syscalls.js";

/** The properties a live map is compared on (the seed's MapInfo fields objCheck reads). */
export interface WantedMapProperties {
  /** The map type (`BPF_MAP_TYPE_*`) as the map would be created. */
  mapType: number;
  /** The key size in bytes. */
  keySize: number;
  /** The value size in bytes (one CPU's value for per-CPU types). */
  valueSize: number;
  /** The max_entries asked for, before the kernel's rounding. */
  maxEntries: number;
  /** Creation flags as the map would be created with them (the pre-allocation flag included). */
  flags: number;
}

/** One property in which the live map differs from what is wanted. */
export interface MapDifference {
  /** The property that differs (`mapExtra`: a bloom filter's hash count, compared by KeylessMap.checkCompatible). */
  field: "mapType" | "keySize" | "valueSize" | "maxEntries" | "flags" | "mapExtra";
  /** What the live map has. */
  map: number;
  /** What the spec wants (max entries as the kernel would round them). */
  spec: number;
}

// RDONLY/WRONLY belong to the fd that opened the map, not to the map.
const ACCESS_FLAGS = BPF_F_RDONLY | BPF_F_WRONLY;

/**
 * Every property in which `info` (a live map) differs from `want`, in objCheck's order. Kernel
 * adjustments are not differences: an LRU map with NO_COMMON_LRU rounds max_entries up to a
 * multiple of the CPUs, and RDONLY/WRONLY are the fd's.
 */
export function mapDifferences(info: MapInfo, want: WantedMapProperties, possibleCpus: number): MapDifference[] {
  let maxEntries = want.maxEntries;
  if (isLruMapType(want.mapType) && (want.flags & BPF_F_NO_COMMON_LRU) !== 0) {
    maxEntries = Math.ceil(want.maxEntries / possibleCpus) * possibleCpus;
  }
  const wanted: Record<Exclude<MapDifference["field"], "mapExtra">, number> = {
    mapType: want.mapType, keySize: want.keySize, valueSize: want.valueSize, maxEntries,
    flags: (want.flags & ~ACCESS_FLAGS) >>> 0,
  };
  const out: MapDifference[] = [];
  for (const field of ["mapType", "keySize", "valueSize", "maxEntries", "flags"] as const) {
    const have = field === "flags" ? (info.flags & ~ACCESS_FLAGS) >>> 0 : info[field];
    if (have !== wanted[field]) out.push({ field, map: have, spec: wanted[field] });
  }
  return out;
}

/**
 * Whether two map_extra values make the same map of type `mapType`: a bloom filter's hash count is
 * the low 4 bits, 0 meaning 5 (kernel/bpf/bloom_filter.c), so 0 and 5 are one count.
 */
export function sameMapExtra(mapType: number, a: bigint, b: bigint): boolean {
  if (mapType !== BPF_MAP_TYPE_BLOOM_FILTER) return a === b;
  const hashes = (x: bigint) => ((x & 0xfn) === 0n ? 5n : x & 0xfn);
  return hashes(a) === hashes(b) && (a & ~0xfn) === (b & ~0xfn);
}

/** The seed's name of a type (`Hash`), or what a keyless one is called (`queue`: the seed has no name for it). */
function typeName(t: number): string {
  return keylessMapTypeName(t) ?? mapTypeName(t);
}

function describe(d: MapDifference): string {
  switch (d.field) {
    case "mapType": return `type ${typeName(d.map)} (${d.map}), the spec wants ${typeName(d.spec)} (${d.spec})`;
    case "keySize": return `key size ${d.map}, the spec wants ${d.spec}`;
    case "valueSize": return `value size ${d.map}, the spec wants ${d.spec}`;
    case "maxEntries": return `max entries ${d.map}, the spec wants ${d.spec}`;
    case "flags": return `flags 0x${d.map.toString(16)}, the spec wants 0x${d.spec.toString(16)}`;
    case "mapExtra": return `map_extra ${d.map}, the spec wants ${d.spec}`;
  }
}

/**
 * A live map is not what the spec asks for (cilium/ebpf's ErrMapIncompatible). Thrown by
 * `BpfMap.checkCompatible` and `KeylessMap.checkCompatible`, which change nothing: the map stays pinned and open as it was.
 */
export class MapIncompatibleError extends Error {
  /** The map's name, as BpfError's `map`. */
  readonly map: string;
  /** Its pin path ("" for a map opened by id). */
  readonly path: string;
  /** Every property in which the live map differs from the spec, in objCheck's order. */
  readonly differences: readonly MapDifference[];
  /** Makes the error for `op` on `map`, its message listing each difference. */
  constructor(op: string, map: string, path: string, differences: MapDifference[]) {
    const where = path !== "" ? `the map pinned at ${path}` : "the map";
    super(`${op} ${map}: ${where} is incompatible with the spec: ${differences.map(describe).join("; ")}`);
    this.name = "MapIncompatibleError";
    this.map = map;
    this.path = path;
    this.differences = differences;
  }
}
