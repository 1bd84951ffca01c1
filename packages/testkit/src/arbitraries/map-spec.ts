// fast-check arbitraries for map specs: a map type and the sizes and flags of one MAP_CREATE.
// Valid specs are built by fixing up independent draws per type (never `chain`), so every part
// shrinks on its own: toward HASH, small sizes, max_entries 1, no flags. Keyless types (queue,
// stack, bloom filter) are drawn a fifth of the time when the list mixes them with keyed ones.
import {
  BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY,
  BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_F_MMAPABLE, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_PROG_ARRAY,
  BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK,
  BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH, MAX_BPF_MAP_TYPE, type MapCreateAttr, assertOptionKeys, isHashMapType, optionKeys,
} from "@bpfkit/core";
import fc from "fast-check";
import type { SpecBtf } from "./btf-spec.js";
import { type InnerVariant, wideSpecDrawArb, widenSpec } from "./wide-spec.js";

/** One MAP_CREATE: `MapCreateAttr` with the flags spelled out. */
export interface MapSpec extends MapCreateAttr {
  mapFlags: number;
  /** ARRAY_OF_MAPS / HASH_OF_MAPS: the inner-map template (a runner creates it and its maps). */
  inner?: MapSpec;
  /** Inner maps a runner creates besides the template's two twins and its value + 4 one. */
  innerVariants?: InnerVariant[];
  /** Wide programs: BTF a runner loads and creates the map with (btf-spec.ts), a value with a spin lock or a timer. */
  btf?: SpecBtf;
}

/** Map-in-map types: values are inner-map fds on update and ids on lookup (kernel-maps.md §11). */
export const MAP_IN_MAP_TYPES: readonly number[] = [BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS];

/** Whether the type is a map of maps (ARRAY_OF_MAPS or HASH_OF_MAPS). */
export function isMapInMapType(t: number): boolean {
  return t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_HASH_OF_MAPS;
}

/** Map types whose values are fds in and ids out: maps of maps and PROG_ARRAY. */
export const FD_VALUE_MAP_TYPES: readonly number[] = [...MAP_IN_MAP_TYPES, BPF_MAP_TYPE_PROG_ARRAY];

/**
 * Keyless map types (key_size 0): UPDATE pushes or adds, LOOKUP peeks or tests, LOOKUP_AND_DELETE
 * pops; no GET_NEXT_KEY, no batches.
 */
export const KEYLESS_MAP_TYPES: readonly number[] = [BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER];

/** Whether the type is keyless (QUEUE, STACK or BLOOM_FILTER). */
export function isKeylessMapType(t: number): boolean {
  return t === BPF_MAP_TYPE_QUEUE || t === BPF_MAP_TYPE_STACK || t === BPF_MAP_TYPE_BLOOM_FILTER;
}

/** The map types the arbitraries (and the reference model) cover. */
export const SPEC_MAP_TYPES: readonly number[] = [
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_LPM_TRIE, ...KEYLESS_MAP_TYPES,
];

/**
 * What `mapSpecArb` draws: the map types, the largest sizes, which flags, and whether to break create rules or
 * go wide.
 */
export interface MapSpecOptions {
  /**
   * Map types to draw from; the first is where shrinking goes. Default SPEC_MAP_TYPES; add
   * FD_VALUE_MAP_TYPES for maps of maps and PROG_ARRAY (the model does not cover them: compare
   * the simulator with the kernel).
   */
  types?: readonly number[];
  /** Largest key size for hash maps (LPM: 4 + this many data bytes). Default 16. */
  maxKeySize?: number;
  /** Largest value size. Default 24. */
  maxValueSize?: number;
  /** Largest max_entries. Default 64. */
  maxEntries?: number;
  /**
   * BPF_F_ZERO_SEED on hash maps: "always" (default) makes walks and batches comparable with the
   * kernel, whose other seeds are random; "sometimes"; "never". Bloom filters take it half the
   * time unless "never": with a random seed only lookups of values never added go uncompared.
   */
  zeroSeed?: "always" | "sometimes" | "never";
  /** Draw BPF_F_RDONLY/WRONLY/RDONLY_PROG/WRONLY_PROG now and then. Default true. */
  accessFlags?: boolean;
  /** "never" (default), "sometimes" or "always" break one create rule (kernel-maps.md §3.3). */
  invalid?: "never" | "sometimes" | "always";
  /**
   * Now and then go where the plain draw never does (wide-spec.ts): NUMA nodes, MMAPABLE,
   * INNER_MAP, unknown bits, several access flags; a second broken rule; sizes at the kernel's
   * limits; varied inner-map templates and candidates. Default false. Drawn after the plain
   * spec, so a seed's plain specs stay the same underneath.
   */
  wide?: boolean;
}

/** The create rules an invalid spec breaks, each with the errno the kernel gives. */
export const SPEC_MUTATIONS = {
  keySizeZero: "EINVAL",
  valueSizeZero: "EINVAL",
  maxEntriesZero: "EINVAL",
  arrayKeySizeNot4: "EINVAL",
  rdonlyAndWronly: "EINVAL",
  progAccessBoth: "EINVAL",
  unknownMapType: "EINVAL",
  foreignFlag: "EINVAL",
  lruNoPrealloc: "ENOTSUPP",
  noCommonLruWithoutLru: "EINVAL",
  lpmWithoutNoPrealloc: "EINVAL",
  lpmKeyTooSmall: "EINVAL",
  perCpuValueTooBig: "E2BIG",
  badName: "EINVAL",
  keylessWithKey: "EINVAL",
  badMapExtra: "EINVAL",
} as const;
/** The name of a create rule an invalid spec breaks (`keySizeZero`, `lruNoPrealloc`, …), as in `SPEC_MUTATIONS`. */
export type SpecMutation = keyof typeof SPEC_MUTATIONS;

const ACCESS = [BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG];

const isLru = (t: number) => t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
const isArray = (t: number) => t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY;

interface SpecDraw {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  noPrealloc: boolean;
  noCommonLru: boolean;
  zeroSeed: boolean;
  access: number;
  named: boolean;
}

function validSpec(d: SpecDraw, o: Required<MapSpecOptions>): MapSpec {
  const t = d.type;
  let flags = d.access;
  let keySize = d.keySize;
  let maxEntries = d.maxEntries;
  if (isArray(t)) keySize = 4;
  if (t === BPF_MAP_TYPE_LPM_TRIE) {
    keySize = 4 + Math.min(d.keySize, o.maxKeySize);
    flags |= BPF_F_NO_PREALLOC;
  }
  if (isKeylessMapType(t)) {
    keySize = 0;
    // Queues and stacks of 1 to 8 fill, overwrite and wrap their ring within one program. Bloom
    // filters of 1 to 16 with 1 to 7 hashes have 64 to 256 bits, which a program's adds fill enough for false
    // positives: only those tell a wrong hash from the kernel's (added values answer 0 anyway).
    maxEntries = 1 + ((maxEntries - 1) % (t === BPF_MAP_TYPE_BLOOM_FILTER ? 16 : 8));
    if (t === BPF_MAP_TYPE_BLOOM_FILTER && o.zeroSeed !== "never" && d.zeroSeed) flags |= BPF_F_ZERO_SEED;
  }
  if (isHashMapType(t)) {
    const zero = o.zeroSeed === "always" || (o.zeroSeed === "sometimes" && d.zeroSeed);
    if (zero) flags |= BPF_F_ZERO_SEED;
    if (isLru(t)) {
      // LRU eviction depends on CPUs and timing (§7): keep room for small key pools.
      maxEntries = Math.max(8, maxEntries);
      if (d.noCommonLru) flags |= BPF_F_NO_COMMON_LRU;
    } else if (d.noPrealloc) {
      flags |= BPF_F_NO_PREALLOC;
    }
  }
  let valueSize = d.valueSize;
  let inner: MapSpec | undefined;
  if (t === BPF_MAP_TYPE_PROG_ARRAY) {
    keySize = 4;
    valueSize = 4;
    flags &= ~(BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  }
  if (isMapInMapType(t)) {
    valueSize = 4;
    // Program access flags are not for ARRAY_OF_MAPS (§3.3); the template is a small HASH or ARRAY.
    if (t === BPF_MAP_TYPE_ARRAY_OF_MAPS) {
      keySize = 4;
      flags &= ~(BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
    }
    inner = d.noCommonLru
      ? { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 }
      : { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 };
  }
  const spec: MapSpec = { mapType: t, keySize, valueSize, maxEntries, mapFlags: flags };
  if (inner !== undefined) spec.inner = inner;
  if (d.named) spec.mapName = "fuzz_map";
  // A bloom filter's hash count (map_extra) from the key size it has no use for: 1 to 7, or
  // left out (the kernel's default of 5) when that is a multiple of 8.
  if (t === BPF_MAP_TYPE_BLOOM_FILTER && d.keySize % 8 !== 0) spec.mapExtra = BigInt(d.keySize % 8);
  return spec;
}

const brokenBy = new WeakMap<MapSpec, SpecMutation>();

/** The rule breakSpec broke in `s` (the last one), if it made `s`. */
export function mutationOf(s: MapSpec): SpecMutation | undefined {
  return brokenBy.get(s);
}

/** `s` with rule `m` broken (and nothing else changed that matters). */
export function breakSpec(s: MapSpec, m: SpecMutation): MapSpec {
  const r: MapSpec = { ...s };
  brokenBy.set(r, m);
  switch (m) {
    // A keyless map's key rule is the other way round: any key at all is EINVAL.
    case "keySizeZero": r.keySize = isKeylessMapType(r.mapType) ? 4 : 0; break;
    case "valueSizeZero": r.valueSize = 0; break;
    case "maxEntriesZero": r.maxEntries = 0; break;
    case "arrayKeySizeNot4": r.mapType = BPF_MAP_TYPE_ARRAY; r.keySize = 8; r.mapFlags &= ~(BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU); break;
    case "rdonlyAndWronly": r.mapFlags |= BPF_F_RDONLY | BPF_F_WRONLY; break;
    case "progAccessBoth": r.mapFlags |= BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG; break;
    case "unknownMapType": r.mapType = MAX_BPF_MAP_TYPE; break;
    // MMAPABLE is only for ARRAY; on an array, ZERO_SEED is foreign instead.
    case "foreignFlag": r.mapFlags |= r.mapType === BPF_MAP_TYPE_ARRAY ? BPF_F_ZERO_SEED : BPF_F_MMAPABLE; break;
    case "lruNoPrealloc": r.mapType = BPF_MAP_TYPE_LRU_HASH; r.keySize = Math.max(1, r.keySize); r.mapFlags = (r.mapFlags & ~BPF_F_NO_COMMON_LRU) | BPF_F_NO_PREALLOC; break;
    // Per-CPU LRU lists are for LRU maps only (htab_map_alloc_check).
    case "noCommonLruWithoutLru": r.mapType = BPF_MAP_TYPE_HASH; r.keySize = Math.max(1, r.keySize); r.mapFlags |= BPF_F_NO_COMMON_LRU; break;
    case "lpmWithoutNoPrealloc": r.mapType = BPF_MAP_TYPE_LPM_TRIE; r.keySize = 8; r.mapFlags &= ~(BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU); break;
    case "lpmKeyTooSmall": r.mapType = BPF_MAP_TYPE_LPM_TRIE; r.keySize = 4; r.mapFlags = (r.mapFlags & ~(BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU)) | BPF_F_NO_PREALLOC; break;
    case "perCpuValueTooBig": r.mapType = BPF_MAP_TYPE_PERCPU_ARRAY; r.keySize = 4; r.valueSize = 32769; r.mapFlags &= ~(BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU); break;
    case "badName": r.mapName = "fuzz-map"; break;
    // map_extra is a bloom filter's (at most 15 hashes) or an arena's; any other type's is EINVAL.
    case "badMapExtra": r.mapExtra = r.mapType === BPF_MAP_TYPE_BLOOM_FILTER ? 16n : 1n; break;
    case "keylessWithKey": r.mapType = BPF_MAP_TYPE_QUEUE; r.keySize = Math.max(4, r.keySize); r.mapFlags &= ~(BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU); break;
  }
  return r;
}

function withDefaults(o: MapSpecOptions): Required<MapSpecOptions> {
  return {
    types: o.types ?? SPEC_MAP_TYPES, maxKeySize: o.maxKeySize ?? 16, maxValueSize: o.maxValueSize ?? 24,
    maxEntries: o.maxEntries ?? 64, zeroSeed: o.zeroSeed ?? "always", accessFlags: o.accessFlags ?? true,
    invalid: o.invalid ?? "never", wide: o.wide ?? false,
  };
}

const MAP_SPEC_OPTIONS_KEYS = optionKeys<MapSpecOptions>({
  types: true, maxKeySize: true, maxValueSize: true, maxEntries: true, zeroSeed: true, accessFlags: true, invalid: true, wide: true,
});

/** Map specs; with `invalid`, some break one rule of SPEC_MUTATIONS (with `wide`, some two). */
export function mapSpecArb(options: MapSpecOptions = {}): fc.Arbitrary<MapSpec> {
  assertOptionKeys(options, MAP_SPEC_OPTIONS_KEYS, "mapSpecArb", "options");
  const plain = plainSpecArb(withDefaults(options));
  if (options.wide !== true) return plain;
  return fc.tuple(plain, wideSpecDrawArb()).map(([s, w]) => widenSpec(s, w));
}

function plainSpecArb(o: Required<MapSpecOptions>): fc.Arbitrary<MapSpec> {
  const keyed = o.types.filter((t) => !isKeylessMapType(t));
  const keyless = o.types.filter(isKeylessMapType);
  // The keyed types keep most of the runs: their programs exercise far more of a driver.
  const type = keyed.length === 0 || keyless.length === 0 ? fc.constantFrom(...o.types)
    : fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keyed) }, { weight: 1, arbitrary: fc.constantFrom(...keyless) });
  const draw = fc.record({
    type,
    keySize: fc.integer({ min: 1, max: o.maxKeySize }),
    valueSize: fc.integer({ min: 1, max: o.maxValueSize }),
    maxEntries: fc.integer({ min: 1, max: o.maxEntries }),
    noPrealloc: fc.boolean(),
    noCommonLru: fc.boolean(),
    zeroSeed: fc.boolean(),
    access: o.accessFlags ? fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(...ACCESS) }) : fc.constant(0),
    named: fc.boolean(),
  });
  const valid = draw.map((d) => validSpec(d, o));
  if (o.invalid === "never") return valid;
  const mutation = fc.constantFrom(...(Object.keys(SPEC_MUTATIONS) as SpecMutation[]));
  const broken = fc.tuple(valid, mutation).map(([s, m]) => breakSpec(s, m));
  if (o.invalid === "always") return broken;
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: broken });
}
