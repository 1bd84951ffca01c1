// A map's header, the handle table, and the element pool shared by the hash family and the LPM trie.
import { alloc, allocZeroed, free } from "./alloc";

export const BPF_MAP_TYPE_HASH: u32 = 1;
export const BPF_MAP_TYPE_ARRAY: u32 = 2;
export const BPF_MAP_TYPE_PROG_ARRAY: u32 = 3;
export const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
export const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
export const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
export const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
export const BPF_MAP_TYPE_LPM_TRIE: u32 = 11;
export const BPF_MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
export const BPF_MAP_TYPE_HASH_OF_MAPS: u32 = 13;
export const BPF_MAP_TYPE_QUEUE: u32 = 22;
export const BPF_MAP_TYPE_STACK: u32 = 23;
export const BPF_MAP_TYPE_RINGBUF: u32 = 27;
export const BPF_MAP_TYPE_BLOOM_FILTER: u32 = 30;

export const BPF_F_NO_PREALLOC: u32 = 0x1;
export const BPF_F_NO_COMMON_LRU: u32 = 0x2;
export const BPF_F_MMAPABLE: u32 = 0x400;

export const BPF_ANY: u32 = 0;
export const BPF_NOEXIST: u32 = 1;
export const BPF_EXIST: u32 = 2;

export const KIND_HASH: u32 = 1;
export const KIND_ARRAY: u32 = 2;
export const KIND_FD_ARRAY: u32 = 3;
export const KIND_LPM: u32 = 4;
/** QUEUE and STACK: a ring of max_entries + 1 values (queue-stack.ts). */
export const KIND_QUEUE_STACK: u32 = 5;
/** BLOOM_FILTER: a bitset (bloom.ts). */
export const KIND_BLOOM: u32 = 6;
/** RINGBUF: position pages and data (ringbuf.ts); key and value size 0. */
export const KIND_RINGBUF: u32 = 7;

@unmanaged
export class MapHdr {
  type: u32;
  kind: u32;
  keySize: u32;
  valueSize: u32;
  maxEntries: u32;
  mapFlags: u32;
  ncpus: u32;
  seed: u32;
  /** One per-CPU slot: round_up(value_size, 8). */
  slot: u32;
  /** Bytes of a user-space value: ncpus × slot for per-CPU maps, else value_size. */
  userValue: u32;
  /** Elements present (hash, LRU, LPM) or occupied slots (fd arrays). */
  count: u32;
  percpu: bool;
  /** HASH and LRU_HASH relink an updated element at its bucket's head (§5.2; not HASH_OF_MAPS). */
  movesToHead: bool;
  isLru: bool;
  /**
   * A NO_PREALLOC hash or an LPM trie whose element is larger than bpf_mem_alloc ever gives
   * (memAllocFits): MAP_CREATE allowed it, but every insert is ENOMEM.
   */
  elemUnallocatable: bool;
  // ---- hash family
  nBuckets: u32;
  buckets: usize;
  // ---- element pool (hash elements, LPM nodes); index 0 is never used, so 0 means "none"
  elems: usize;
  elemSize: u32;
  keyOff: u32;
  valOff: u32;
  elemCap: u32;
  elemTop: u32;
  freeHead: u32;
  elemLimit: u32;
  // ---- arrays
  data: usize;
  dataBytes: usize;
  stride: u32;
  // ---- LRU state (lru.ts), or 0
  lru: usize;
  lruBytes: usize;
  // ---- LPM trie root node index
  root: u32;
  // ---- QUEUE/STACK ring over `data`: head is the next slot pushed, tail the oldest; size = max + 1
  head: u32;
  tail: u32;
  ringSize: u32;
  // ---- BLOOM_FILTER bitset over `data`
  bitsetMask: u32;
  nrHashFuncs: u32;
}

/** KMALLOC_MAX_SIZE on x86-64 (4 KiB pages, MAX_PAGE_ORDER 10): the largest kmalloc. */
const KMALLOC_MAX_SIZE: u64 = 4 << 20;
/** bpf_mem_alloc keeps an llist_node before each object it hands out. */
const LLIST_NODE_SZ: u64 = 8;

/**
 * Whether bpf_mem_alloc can ever hand out an object of `size` bytes: each is one kmalloc of the
 * object and its list node. NO_PREALLOC hashes and LPM tries take their elements from it.
 */
export function memAllocFits(size: u64): bool {
  return size + LLIST_NODE_SZ <= KMALLOC_MAX_SIZE;
}

@inline export function hdr(p: usize): MapHdr {
  return changetype<MapHdr>(p);
}

@inline export function roundUp8(n: u32): u32 {
  return (n + 7) & ~7;
}

// ---- handles: small integers ≥ 1 naming a header, so a stale handle is caught, not followed.

let handles: usize = 0;
let handleCap: u32 = 0;
let handleFree: u32 = 0; // a free handle's slot holds (next free << 1) | 1

/** Header pointer for handle h, or 0. */
export function lookupHandle(h: i32): usize {
  if (h <= 0 || <u32>h >= handleCap) return 0;
  const v = load<u32>(handles + (<usize>h << 2));
  return (v & 1) != 0 ? 0 : <usize>v;
}

export function newHandle(p: usize): i32 {
  if (handleFree == 0) {
    const cap: u32 = handleCap == 0 ? 64 : handleCap * 2;
    const nt = allocZeroed(<usize>cap << 2);
    if (nt == 0) return 0;
    if (handles != 0) {
      memory.copy(nt, handles, <usize>handleCap << 2);
      free(handles, <usize>handleCap << 2);
    }
    // Chain the new slots (1.. for the first table; slot 0 is never a handle).
    let i = cap - 1;
    const first: u32 = handleCap == 0 ? 1 : handleCap;
    let next: u32 = 0;
    while (i >= first) {
      store<u32>(nt + (<usize>i << 2), (next << 1) | 1);
      next = i;
      i--;
    }
    handleFree = first;
    handles = nt;
    handleCap = cap;
  }
  const h = handleFree;
  handleFree = load<u32>(handles + (<usize>h << 2)) >>> 1;
  store<u32>(handles + (<usize>h << 2), <u32>p);
  return <i32>h;
}

export function releaseHandle(h: i32): void {
  store<u32>(handles + (<usize>h << 2), (handleFree << 1) | 1);
  handleFree = <u32>h;
}

// ---- element pool

@inline export function elemAt(m: MapHdr, i: u32): usize {
  return m.elems + <usize>i * m.elemSize;
}

/** A fresh element index, or 0 when memory is exhausted. Contents are stale. */
export function poolAlloc(m: MapHdr): u32 {
  const f = m.freeHead;
  if (f != 0) {
    m.freeHead = load<u32>(elemAt(m, f));
    return f;
  }
  if (m.elemTop >= m.elemCap && !poolGrow(m)) return 0;
  return m.elemTop++;
}

export function poolFree(m: MapHdr, i: u32): void {
  store<u32>(elemAt(m, i), m.freeHead);
  m.freeHead = i;
}

function poolGrow(m: MapHdr): bool {
  if (m.elemCap >= m.elemLimit) return false;
  let cap: u64 = m.elemCap == 0 ? 16 : <u64>m.elemCap * 2;
  // Jump to the limit when the next doubling would pass it: no last tiny step that copies all.
  if (cap * 2 > <u64>m.elemLimit) cap = m.elemLimit;
  return poolResize(m, cap);
}

/**
 * Takes every element the map may ever hold, at once: a preallocated map owns them from its
 * creation in the kernel, so under a memory limit its creation fails, never a later insert.
 */
export function poolReserve(m: MapHdr): bool {
  return m.elemCap >= m.elemLimit || poolResize(m, m.elemLimit);
}

function poolResize(m: MapHdr, cap: u64): bool {
  const bytes = cap * m.elemSize;
  if (bytes > 0xffff0000) return false;
  const p = alloc(<usize>bytes);
  if (p == 0) return false;
  if (m.elems != 0) {
    memory.copy(p, m.elems, <usize>m.elemTop * m.elemSize);
    free(m.elems, <usize>m.elemCap * m.elemSize);
  }
  m.elems = p;
  m.elemCap = <u32>cap;
  return true;
}

export function poolReset(m: MapHdr): void {
  m.elemTop = 1;
  m.freeHead = 0;
}

export function poolRelease(m: MapHdr): void {
  free(m.elems, <usize>m.elemCap * m.elemSize);
  m.elems = 0;
  m.elemCap = 0;
  m.elemTop = 1;
  m.freeHead = 0;
}

// ---- bytes

/** Key equality, with fast paths for the common 4- and 8-byte keys. */
@inline export function keyEq(a: usize, b: usize, n: u32): bool {
  if (n == 4) return load<u32>(a) == load<u32>(b);
  if (n == 8) return load<u64>(a) == load<u64>(b);
  return bytesEq(a, b, n);
}

export function bytesEq(a: usize, b: usize, n: u32): bool {
  let i: u32 = 0;
  while (i + 8 <= n) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < n) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}

/** memory.copy for the small sizes keys and values usually have, without the bulk-op overhead. */
@inline export function copyBytes(dst: usize, src: usize, n: u32): void {
  if (n == 8) {
    store<u64>(dst, load<u64>(src));
  } else if (n == 4) {
    store<u32>(dst, load<u32>(src));
  } else if (n <= 32) {
    let i: u32 = 0;
    while (i + 8 <= n) {
      store<u64>(dst + i, load<u64>(src + i));
      i += 8;
    }
    while (i < n) {
      store<u8>(dst + i, load<u8>(src + i));
      i++;
    }
  } else {
    memory.copy(dst, src, n);
  }
}
