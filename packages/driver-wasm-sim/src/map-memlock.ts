// The `memlock:` figure of a map's fdinfo: bpf_map_memory_usage, which asks the type's
// map_mem_usage (kernel/bpf/hashtab.c htab_map_mem_usage, arraymap.c array_map_mem_usage,
// lpm_trie.c trie_mem_usage, queue_stack_maps.c queue_stack_map_mem_usage, bloom_filter.c
// bloom_map_mem_usage, ringbuf.c ringbuf_map_mem_usage; map-in-map and PROG_ARRAY use the
// hash's and the array's). It is arithmetic on the map's attributes, the possible CPUs and,
// for NO_PREALLOC hashes and LPM tries, the element count; the struct sizes are 6.18
// x86-64's, each checked against the kernel (packages/driver-wasm-sim/test/sim-memlock.test.ts).
// The page-rounded terms (a ring's pages, an mmapable array's) go by the simulated PAGE_SIZE.
import {
  DEFAULT_PAGE_SIZE, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF,
} from "@bpfkit/core";

/** sizeof(struct bpf_htab) on 6.18 x86-64. */
const BPF_HTAB_SIZE = 832;
/** sizeof(struct bpf_array), the header before the values. */
const BPF_ARRAY_SIZE = 312;
/** sizeof(struct htab_elem): the header before the key. */
const HTAB_ELEM_SIZE = 48;
/** sizeof(struct bucket). */
const BUCKET_SIZE = 16;
/** The hash's per-CPU lock counters htab_map_mem_usage still counts: an int each, this many per CPU. */
const HASHTAB_MAP_LOCK_COUNT = 8;
/** sizeof(struct llist_node): what bpf_mem_alloc puts before each NO_PREALLOC element. */
const LLIST_NODE_SIZE = 8;
/** sizeof(void *). */
const PTR_SIZE = 8;
/** sizeof(struct lpm_trie_node): the header before the prefix bytes and the value. */
const LPM_NODE_SIZE = 24;
/** sizeof(struct bpf_queue_stack): the header before the ring of values. */
const BPF_QUEUE_STACK_SIZE = 312;
/** sizeof(struct bpf_bloom_filter): the header before the bitset. */
const BPF_BLOOM_FILTER_SIZE = 312;

/** sizeof(struct bpf_ringbuf_map): the map and a pointer to its pages. */
const BPF_RINGBUF_MAP_SIZE = 304;
/** The pages before a ring buffer's data: one never mapped (RINGBUF_PGOFF), the two positions'. */
const RINGBUF_NR_META_PAGES = 3;

/** What map_mem_usage reads of a map. */
export interface MemlockShape {
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** The effective max_entries (NO_COMMON_LRU already rounded to a multiple of the CPUs). */
  readonly maxEntries: number;
  readonly mapFlags: number;
  /** `map_extra`: a bloom filter's hash count (0 means 5); 0n or absent for the other types. */
  readonly mapExtra?: bigint;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

function roundupPowOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The kernel's memlock figure for a map of `m`'s shape holding `count` elements (only NO_PREALLOC
 * hashes and LPM tries read it), with `possibleCpus` CPUs and pages of `pageSize` bytes. Undefined
 * for a type not modelled here.
 */
export function mapMemlock(m: MemlockShape, count: number, possibleCpus: number, pageSize = DEFAULT_PAGE_SIZE): number | undefined {
  switch (m.mapType) {
    case BPF_MAP_TYPE_HASH: case BPF_MAP_TYPE_PERCPU_HASH: case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH: case BPF_MAP_TYPE_HASH_OF_MAPS:
      return htabMemUsage(m, count, possibleCpus);
    case BPF_MAP_TYPE_ARRAY: case BPF_MAP_TYPE_PERCPU_ARRAY: case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS: case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return arrayMemUsage(m, possibleCpus, pageSize);
    case BPF_MAP_TYPE_LPM_TRIE:
      // Only the elements: intermediate nodes are not counted, nor the trie itself.
      return (LPM_NODE_SIZE + (m.keySize - 4) + m.valueSize) * count;
    case BPF_MAP_TYPE_QUEUE: case BPF_MAP_TYPE_STACK:
      // The ring has one slot more than max_entries, values packed at value_size.
      return BPF_QUEUE_STACK_SIZE + (m.maxEntries + 1) * m.valueSize;
    case BPF_MAP_TYPE_RINGBUF: case BPF_MAP_TYPE_USER_RINGBUF: {
      // ringbuf_map_mem_usage: the pages, and the page pointers of the double mapping.
      const data = m.maxEntries / pageSize;
      return BPF_RINGBUF_MAP_SIZE + (RINGBUF_NR_META_PAGES + data) * pageSize + (RINGBUF_NR_META_PAGES + 2 * data) * PTR_SIZE;
    }
    case BPF_MAP_TYPE_BLOOM_FILTER:
      return BPF_BLOOM_FILTER_SIZE + bloomBitsetBytes(m.maxEntries, Number((m.mapExtra ?? 0n) & 0xfn));
    default:
      return undefined;
  }
}

/**
 * bloom_map_alloc's bitset: max_entries × hashes / 5 × 7 bits (u32 arithmetic; an overflow or
 * more than 2^31 bits gives 2^32 bits), at least 64, a power of two, in whole u64 words.
 */
export function bloomBitsetBytes(maxEntries: number, extra: number): number {
  const k = extra === 0 ? 5 : extra;
  const prod = maxEntries * k;
  const bits = Math.floor(prod / 5) * 7;
  if (prod > 0xffffffff || bits > 0xffffffff || bits > 2 ** 31) return 2 ** 29;
  const n = bits <= 64 ? 64 : roundupPowOfTwo(bits);
  return roundUp(n / 8, 8);
}

function htabMemUsage(m: MemlockShape, count: number, cpus: number): number {
  const percpu = m.mapType === BPF_MAP_TYPE_PERCPU_HASH || m.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const lru = m.mapType === BPF_MAP_TYPE_LRU_HASH || m.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const valueSize = roundUp(m.valueSize, 8);
  // A per-CPU element holds a pointer to its per-CPU value; the others hold the value.
  const elemSize = HTAB_ELEM_SIZE + roundUp(m.keySize, 8) + (percpu ? PTR_SIZE : valueSize);
  let usage = BPF_HTAB_SIZE + BUCKET_SIZE * roundupPowOfTwo(m.maxEntries) + 4 * cpus * HASHTAB_MAP_LOCK_COUNT;
  if ((m.mapFlags & BPF_F_NO_PREALLOC) === 0) {
    // htab_has_extra_elems: a plain hash keeps one spare element per CPU for updates in place;
    // per-CPU, LRU and hash-of-maps tables do not.
    const extra = !percpu && !lru && m.mapType !== BPF_MAP_TYPE_HASH_OF_MAPS;
    const n = m.maxEntries + (extra ? cpus : 0);
    usage += elemSize * n;
    if (percpu) usage += valueSize * cpus * n;
    else if (!lru) usage += PTR_SIZE * cpus; // the per-CPU extra_elems pointers
  } else {
    usage += (elemSize + LLIST_NODE_SIZE) * count;
    if (percpu) usage += (LLIST_NODE_SIZE + PTR_SIZE) * count + valueSize * cpus * count;
  }
  return usage;
}

function arrayMemUsage(m: MemlockShape, cpus: number, page: number): number {
  const elemSize = roundUp(m.valueSize, 8);
  if (m.mapType === BPF_MAP_TYPE_PERCPU_ARRAY) return BPF_ARRAY_SIZE + m.maxEntries * (PTR_SIZE + elemSize * cpus);
  // An mmapable array's values start on their own page, after the header's.
  if (m.mapType === BPF_MAP_TYPE_ARRAY && (m.mapFlags & BPF_F_MMAPABLE) !== 0) {
    return roundUp(BPF_ARRAY_SIZE, page) + roundUp(m.maxEntries * elemSize, page);
  }
  return BPF_ARRAY_SIZE + m.maxEntries * elemSize;
}
