// MAP_CREATE validation for the modelled map types, in the kernel's order (kernel-maps.md §3.1,
// §3.3): generic checks in map_create(), then the type's alloc-check (htab_map_alloc_check,
// array_map_alloc_check, queue_stack_map_alloc_check, bloom_map_alloc_check), then allocation
// (trie_alloc's and bloom_map_alloc's checks), then the name.
import {
  BPF_F_INNER_MAP, BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE,
  BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, Errno,
  MAX_BPF_MAP_TYPE, type MapCreateAttr, perCpuSlotSize,
} from "@bpfkit/core";

/** Map types whose element semantics the model implements. */
export const MODELLED_MAP_TYPES: readonly number[] = [
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER,
];

/**
 * `map_extra` of a MAP_CREATE (`attr.mapExtra`, 0 when left out): a bloom filter's hash count in
 * its low 4 bits (0 meaning 5); any other type but an arena must leave it 0.
 */
export function mapExtraOf(attr: MapCreateAttr): bigint {
  return attr.mapExtra ?? 0n;
}

/** Thrown when a program asks the model for something it does not cover (not a kernel errno). */
export class NotModelledError extends Error {
  /** Makes the error for `what` the model does not cover (`LRU eviction`, `pins`, …). */
  constructor(what: string) {
    super(`the reference model does not cover ${what}`);
    this.name = "NotModelledError";
  }
}

const ACCESS_MASK = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
const KMALLOC_MAX_SIZE = 4 << 20;
const HTAB_ELEM_SIZE = 48;
const PCPU_MIN_UNIT_SIZE = 32768;
const HTAB_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;
const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const LPM_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS_MASK;
const LPM_DATA_SIZE_MAX = 256;
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 24;
const QUEUE_STACK_FLAGS = BPF_F_NUMA_NODE | ACCESS_MASK;
const BLOOM_FLAGS = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | ACCESS_MASK;

const isPerCpu = (t: number) => t === BPF_MAP_TYPE_PERCPU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH || t === BPF_MAP_TYPE_PERCPU_ARRAY;
const isLru = (t: number) => t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
const accessOk = (f: number) => !((f & BPF_F_RDONLY_PROG) && (f & BPF_F_WRONLY_PROG));

/** 0, or the -errno the kernel gives this MAP_CREATE (as root on 6.18). */
export function checkMapCreate(attr: MapCreateAttr): number {
  const t = attr.mapType;
  const f = attr.mapFlags ?? 0;
  const k = attr.keySize;
  const v = attr.valueSize;
  const max = attr.maxEntries;
  const extra = mapExtraOf(attr);
  // map_create(): map_extra is for bloom filters and arenas only; then bpf_get_file_flag, then the NUMA node, then the type table.
  if (t !== BPF_MAP_TYPE_BLOOM_FILTER && t !== BPF_MAP_TYPE_ARENA && extra !== 0n) return -Errno.EINVAL;
  if ((f & BPF_F_RDONLY) && (f & BPF_F_WRONLY)) return -Errno.EINVAL;
  // bpf_map_attr_numa_node: node 0xffffffff is NUMA_NO_NODE (-1), so the flag with it asks for
  // no node and passes every per-type NUMA check.
  const numa = (f & BPF_F_NUMA_NODE) !== 0 && (attr.numaNode ?? 0) !== 0xffffffff;
  if (numa && (attr.numaNode ?? 0) !== 0) return -Errno.EINVAL; // one node (0) on this host
  if (t <= 0 || t >= MAX_BPF_MAP_TYPE) return -Errno.EINVAL;
  if (!MODELLED_MAP_TYPES.includes(t)) throw new NotModelledError(`map type ${t}`);

  if (t === BPF_MAP_TYPE_QUEUE || t === BPF_MAP_TYPE_STACK) {
    // queue_stack_map_alloc_check(): keyless, and E2BIG only once the rest is sane.
    if (max === 0 || k !== 0 || v === 0 || (f & ~QUEUE_STACK_FLAGS) || !accessOk(f)) return -Errno.EINVAL;
    if (v > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
  } else if (t === BPF_MAP_TYPE_BLOOM_FILTER) {
    // bloom_map_alloc_check() sees only the value size; bloom_map_alloc() the rest.
    if (v > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
    if (k !== 0 || v === 0 || max === 0 || (f & ~BLOOM_FLAGS) || !accessOk(f) || (extra & ~0xfn) !== 0n) return -Errno.EINVAL;
  } else if (t === BPF_MAP_TYPE_LPM_TRIE) {
    // trie_alloc() (no alloc-check): NO_PREALLOC is required.
    if (max === 0 || !(f & BPF_F_NO_PREALLOC) || (f & ~LPM_FLAGS) || !accessOk(f) ||
      k < 5 || k > 4 + LPM_DATA_SIZE_MAX || v < 1 || v > LPM_VAL_SIZE_MAX) return -Errno.EINVAL;
  } else if (t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY) {
    const percpu = t === BPF_MAP_TYPE_PERCPU_ARRAY;
    if (max === 0 || k !== 4 || v === 0 || (f & ~ARRAY_FLAGS) || !accessOk(f) || (percpu && numa)) return -Errno.EINVAL;
    if (t !== BPF_MAP_TYPE_ARRAY && (f & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))) return -Errno.EINVAL;
    if (f & BPF_F_PRESERVE_ELEMS) return -Errno.EINVAL;
    if (v > 0x7fffffff) return -Errno.E2BIG;
    if (percpu && perCpuSlotSize(v) > PCPU_MIN_UNIT_SIZE) return -Errno.E2BIG;
  } else {
    // htab_map_alloc_check()
    const lru = isLru(t);
    const percpu = isPerCpu(t);
    const percpuLru = (f & BPF_F_NO_COMMON_LRU) !== 0;
    if ((f & ~HTAB_FLAGS) || !accessOk(f)) return -Errno.EINVAL;
    if (!lru && percpuLru) return -Errno.EINVAL;
    if (lru && (f & BPF_F_NO_PREALLOC)) return -Errno.ENOTSUPP;
    if (numa && (percpu || percpuLru)) return -Errno.EINVAL;
    if (max === 0 || k === 0 || v === 0) return -Errno.EINVAL;
    if (k + v >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) return -Errno.E2BIG;
    if (percpu && perCpuSlotSize(v) > PCPU_MIN_UNIT_SIZE) return -Errno.E2BIG;
    // htab_map_alloc(): more than 2^31 buckets cannot be allocated.
    if (max > 0x80000000) return -Errno.E2BIG;
  }
  if (attr.mapName !== undefined && !validMapName(attr.mapName)) return -Errno.EINVAL;
  return 0;
}

/** bpf_obj_name_cpy(): at most 15 bytes of [A-Za-z0-9_.]. */
export function validMapName(name: string): boolean {
  return /^[A-Za-z0-9_.]{0,15}$/.test(name);
}

/** `max_entries` after LRU per-CPU lists round it to a multiple of the CPUs (§7.3). */
export function effectiveMaxEntries(attr: MapCreateAttr, possibleCpus: number): number {
  if (!isLru(attr.mapType) || !((attr.mapFlags ?? 0) & BPF_F_NO_COMMON_LRU)) return attr.maxEntries;
  const up = Math.ceil(attr.maxEntries / possibleCpus) * possibleCpus;
  return up <= 0xffffffff ? up : Math.floor(attr.maxEntries / possibleCpus) * possibleCpus;
}
