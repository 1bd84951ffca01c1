// The wide part of a map spec: what the plain arbitrary never draws. Flags it leaves alone (NUMA
// nodes, MMAPABLE, INNER_MAP, unknown bits, several access flags at once), two broken rules at
// once, sizes at the kernel's limits, and inner-map templates and candidates that vary. Drawn
// after the plain spec and laid over it, so a seed's plain draws stay what they were.
import {
  BPF_F_INNER_MAP, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG,
  BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, isHashMapType,
} from "@bpfkit/core";
import fc from "fast-check";
import { type MapSpec, type SpecMutation, SPEC_MUTATIONS, breakSpec, isKeylessMapType, isMapInMapType, mutationOf } from "./map-spec.js";

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const KMALLOC_MAX_SIZE = 4 << 20;
/** bpf_map_attr_numa_node(): node 0xffffffff is NUMA_NO_NODE. */
export const NUMA_NO_NODE = 0xffffffff;

/** Flags laid over a spec: several bits, and a NUMA node when NUMA_NODE is among them. */
interface FlagDraw { bits: number; numaNode?: number }

/** Bits the kernel knows but no map type here takes, and bits past the last flag. */
const UNKNOWN_BITS = [1 << 5, 1 << 9, 1 << 11, 1 << 13, 1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 24, 2 ** 31];
const ACCESS_PAIRS = [
  BPF_F_RDONLY | BPF_F_RDONLY_PROG, BPF_F_RDONLY | BPF_F_WRONLY_PROG, BPF_F_WRONLY | BPF_F_RDONLY_PROG,
  BPF_F_WRONLY | BPF_F_WRONLY_PROG, BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG,
];

const flagDrawArb: fc.Arbitrary<FlagDraw> = fc.oneof(
  weighted(12, fc.constant({ bits: 0 })),
  weighted(2, fc.constantFrom(0, 1, NUMA_NO_NODE).map((numaNode) => ({ bits: BPF_F_NUMA_NODE, numaNode }))),
  weighted(2, fc.constantFrom(BPF_F_MMAPABLE, BPF_F_INNER_MAP, BPF_F_MMAPABLE | BPF_F_INNER_MAP).map((bits) => ({ bits }))),
  weighted(1, fc.constantFrom(...UNKNOWN_BITS).map((bits) => ({ bits }))),
  weighted(2, fc.constantFrom(...ACCESS_PAIRS).map((bits) => ({ bits }))),
);

/**
 * Sizes at a limit, by name: each keeps what the map allocates to a few MiB (max_entries of 1
 * or 2 where an element is large; huge max_entries only where the create fails first or, for
 * LPM, allocates nothing up front).
 */
export const SIZE_EDGES = ["wideKey", "percpuSlot", "kmalloc", "hugeMax", "manyEntries"] as const;
/** One of `SIZE_EDGES`: a kernel size limit a wide spec's sizes are moved to. */
export type SizeEdge = (typeof SIZE_EDGES)[number];

const isPerCpuType = (t: number) => t === BPF_MAP_TYPE_PERCPU_HASH || t === BPF_MAP_TYPE_PERCPU_ARRAY || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
const isLruType = (t: number) => t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
const isArrayType = (t: number) => t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY;

/** `s` with its sizes moved to edge `e` (n picks among the edge's values); types the edge does not fit keep theirs. */
export function sizeAtEdge(s: MapSpec, e: SizeEdge, n: number): MapSpec {
  const r: MapSpec = { ...s };
  const t = s.mapType;
  const pick = <T>(xs: readonly T[]) => xs[n % xs.length]!;
  switch (e) {
    case "wideKey":
      // LPM: 256 data bytes at most; hash keys: wide ones, with few entries.
      if (t === BPF_MAP_TYPE_LPM_TRIE) r.keySize = pick([259, 260, 261]);
      else if (isHashMapType(t) && !isMapInMapType(t)) r.keySize = pick([255, 256, 512, 513, 4096]);
      r.maxEntries = Math.min(r.maxEntries, isLruType(t) ? 8 : 4);
      break;
    case "percpuSlot":
      // pcpu_alloc's unit: a slot of more than 32768 bytes is E2BIG.
      if (isPerCpuType(t)) {
        r.valueSize = pick([32760, 32761, 32768, 32769]);
        r.maxEntries = Math.min(r.maxEntries, isLruType(t) ? 8 : 2);
      }
      break;
    case "kmalloc":
      // One element just past kmalloc's limit, no preallocation: every insert is ENOMEM and
      // nothing is allocated. Not the side that fits: that element is one 4 MiB kmalloc, 1024
      // contiguous pages a fragmented host may not have (the engine's own test holds it). A hash
      // element is 48 + key and value rounded to 8 + an 8-byte node; an LPM node 24 + data +
      // value + 8. An array's value is bounded at create instead (E2BIG past 4 MiB), vmalloc'd.
      if (t === BPF_MAP_TYPE_HASH) {
        r.keySize = 4;
        r.valueSize = KMALLOC_MAX_SIZE - 48 - 8 - 8 + pick([1, 8]);
        r.mapFlags |= BPF_F_NO_PREALLOC;
        r.maxEntries = 1;
      } else if (t === BPF_MAP_TYPE_LPM_TRIE) {
        r.valueSize = KMALLOC_MAX_SIZE - 24 - (r.keySize - 4) - 8 + pick([1, 8]);
        r.maxEntries = 1;
      } else if (t === BPF_MAP_TYPE_ARRAY) {
        r.valueSize = pick([KMALLOC_MAX_SIZE, 0x80000000, 0xffffffff]);
        r.maxEntries = 1;
      } else if (isKeylessMapType(t)) {
        // A queue's, stack's or bloom filter's value past kmalloc's limit is E2BIG at create
        // (their alloc-checks); never one at the limit: a queue of it is max_entries + 1 of them.
        r.valueSize = KMALLOC_MAX_SIZE + pick([1, 8]);
        r.maxEntries = 1;
      }
      break;
    case "hugeMax":
      // Only where nothing is allocated by max_entries before the create fails (hash: more than
      // 2^31 buckets is E2BIG) or at all (LPM).
      if (t === BPF_MAP_TYPE_LPM_TRIE) r.maxEntries = pick([0x7fffffff, 0x80000000, 0xffffffff]);
      else if (t === BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE_PERCPU_HASH) {
        r.maxEntries = pick([0x80000001, 0xffffffff]);
        r.mapFlags |= BPF_F_NO_PREALLOC;
      }
      break;
    case "manyEntries":
      // Past the plain draw's 64, still small: 1024 arrays slots, 4096 preallocated hash elements.
      if (isArrayType(t)) r.maxEntries = pick([255, 256, 1024]);
      else if (isHashMapType(t) && !isLruType(t) && !isMapInMapType(t)) r.maxEntries = pick([1000, 4096]);
      break;
  }
  return r;
}

/** An inner-map template other than the plain draw's HASH 4/4/4 or ARRAY 4/4/2, and its candidates. */
export interface InnerDraw {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** Candidates beyond the template's two twins and its value + 4 one. */
  variants: InnerVariant[];
}
/**
 * How an inner-map candidate may differ from its outer map's template: one more max_entries, a bigger key, other
 * flags, another type, or an INNER_MAP template's larger max_entries.
 */
export const INNER_VARIANTS = ["max+1", "key+4", "flags", "otherType", "innerMapMax+4"] as const;
/** One of `INNER_VARIANTS`. */
export type InnerVariant = (typeof INNER_VARIANTS)[number];

const INNER_TYPES = [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LPM_TRIE];

const innerDrawArb: fc.Arbitrary<InnerDraw> = fc.record({
  type: fc.constantFrom(...INNER_TYPES),
  keySize: fc.integer({ min: 1, max: 8 }),
  valueSize: fc.integer({ min: 1, max: 8 }),
  maxEntries: fc.integer({ min: 1, max: 8 }),
  flags: fc.constantFrom(0, BPF_F_ZERO_SEED, BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_F_INNER_MAP, BPF_F_RDONLY, BPF_F_MMAPABLE, BPF_F_INNER_MAP | BPF_F_MMAPABLE),
  variants: fc.uniqueArray(fc.constantFrom(...INNER_VARIANTS), { maxLength: 3 }),
});

/** The template `d` stands for: sizes and flags fixed up so that it is a valid map (mostly). */
export function innerTemplate(d: InnerDraw): MapSpec {
  const t = d.type;
  let flags = d.flags;
  let keySize = d.keySize;
  if (isArrayType(t)) keySize = 4;
  if (t === BPF_MAP_TYPE_LPM_TRIE) {
    keySize = 4 + keySize;
    flags |= BPF_F_NO_PREALLOC;
  }
  // Flags of another type would make the template itself fail: keep each where it belongs.
  if (t !== BPF_MAP_TYPE_ARRAY) flags &= ~(BPF_F_INNER_MAP | BPF_F_MMAPABLE);
  if (!isHashMapType(t)) flags &= ~BPF_F_ZERO_SEED;
  if (isLruType(t) || isArrayType(t)) flags &= ~BPF_F_NO_PREALLOC;
  return { mapType: t, keySize, valueSize: d.valueSize, maxEntries: Math.max(isLruType(t) ? 8 : 1, d.maxEntries), mapFlags: flags };
}

/** A candidate like `t` but for `v`. */
export function innerVariant(t: MapSpec, v: InnerVariant): MapSpec {
  switch (v) {
    case "max+1": return { ...t, maxEntries: t.maxEntries + 1 };
    case "key+4": return isArrayType(t.mapType) ? { ...t, mapType: BPF_MAP_TYPE_HASH, mapFlags: t.mapFlags & ~(BPF_F_INNER_MAP | BPF_F_MMAPABLE) } : { ...t, keySize: t.keySize + 4 };
    case "flags": return { ...t, mapFlags: t.mapFlags ^ (isHashMapType(t.mapType) ? BPF_F_ZERO_SEED : BPF_F_RDONLY_PROG) };
    case "otherType": return t.mapType === BPF_MAP_TYPE_ARRAY
      ? { mapType: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: t.valueSize, maxEntries: t.maxEntries, mapFlags: 0 }
      : { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: t.valueSize, maxEntries: t.maxEntries, mapFlags: 0 };
    case "innerMapMax+4": return isArrayType(t.mapType) ? { ...t, mapFlags: t.mapFlags | BPF_F_INNER_MAP, maxEntries: t.maxEntries + 4 } : { ...t, maxEntries: t.maxEntries + 4 };
  }
}

/** The wide draw for one spec. */
export interface WideSpecDraw {
  flags: FlagDraw;
  size: { edge: SizeEdge; n: number } | null;
  /** For an invalid spec: a second rule to break, after the first. */
  second: SpecMutation | null;
  inner: InnerDraw | null;
}

/** The wide draws of one spec (a function: map-spec.ts and this file import each other). */
export function wideSpecDrawArb(): fc.Arbitrary<WideSpecDraw> {
  return fc.record({
    flags: flagDrawArb,
    size: fc.oneof(weighted(8, fc.constant(null)), weighted(1, fc.record({ edge: fc.constantFrom(...SIZE_EDGES), n: fc.nat(7) }))),
    second: fc.oneof(weighted(1, fc.constant(null)), weighted(1, fc.constantFrom(...(Object.keys(SPEC_MUTATIONS) as SpecMutation[])))),
    inner: fc.oneof(weighted(1, fc.constant(null)), weighted(2, innerDrawArb)),
  });
}

/**
 * `s` with the wide draw laid over it. A spec that breaks a rule (mutationOf) has it broken again
 * after the sizes move, and may get a second one; every mutation leaves its own rule broken, so
 * both stay broken and the create fails before it allocates much.
 */
export function widenSpec(s: MapSpec, w: WideSpecDraw): MapSpec {
  let r: MapSpec = { ...s };
  const broken = mutationOf(s);
  if (w.size !== null) r = sizeAtEdge(r, w.size.edge, w.size.n);
  if (w.flags.bits !== 0) {
    r.mapFlags = (r.mapFlags | w.flags.bits) >>> 0;
    if (w.flags.numaNode !== undefined) r.numaNode = w.flags.numaNode;
  }
  if (broken !== undefined) {
    r = breakSpec(r, broken);
    if (w.second !== null) r = breakSpec(r, w.second);
    // breakSpec's |= and &= give bit 31 back as a negative int32.
    r.mapFlags >>>= 0;
  }
  if (w.inner !== null && r.inner !== undefined) {
    r.inner = innerTemplate(w.inner);
    if (w.inner.variants.length > 0) r.innerVariants = [...w.inner.variants];
  }
  return r;
}
