// The hash family (HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, HASH_OF_MAPS), kernel-maps.md §5:
// n_buckets = roundup_pow_of_two(max_entries), bucket = jhash & (n − 1), new elements at the head,
// walks go buckets ascending, each head → tail.
//
// Element layout: [next u32][hash u32][LRU node: prev u32, next u32, type u8, ref u8, cpu u16]
// [key, padded to 4][value]. The LRU node is present only for LRU maps. Buckets are u32 heads;
// element index 0 is never used, so 0 ends a chain.
import { ENOENT, EEXIST, E2BIG, EINVAL, ENOMEM, ENOSPC, ENOTSUPP } from "./errno";
import { jhash } from "./jhash";
import { allocZeroed, free, limited } from "./alloc";
import {
  MapHdr, elemAt, keyEq, memAllocFits, poolAlloc, poolFree, poolReserve, poolReset, poolRelease,
  BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, BPF_MAP_TYPE_HASH_OF_MAPS, copyBytes,
} from "./map";
import { lruInit, lruRelease, lruPop, lruPushFree, lruSetRef, LRU_NODE_BYTES } from "./lru";

export const ELEM_NEXT: u32 = 0;
export const ELEM_HASH: u32 = 4;

/** Set by find(): the element before the one found in its chain, or 0 when it is the head. */
let foundPrev: u32 = 0;

/** sizeof(struct htab_elem) on 6.18 x86-64. */
const HTAB_ELEM_SIZE: u64 = 48;

export function htabInit(m: MapHdr): i32 {
  if (m.maxEntries > 0x80000000) return -E2BIG;
  let n: u32 = 1;
  while (n < m.maxEntries) n <<= 1;
  m.nBuckets = n;
  // u32 heads: 2^30 buckets would already be all of wasm32.
  if (n >= 0x40000000) return -ENOMEM;
  m.buckets = allocZeroed(<usize>n << 2);
  if (m.buckets == 0) return -ENOMEM;
  m.keyOff = 8 + (m.isLru ? LRU_NODE_BYTES : 0);
  m.valOff = m.keyOff + ((m.keySize + 3) & ~3);
  const size = <u64>m.valOff + ((<u64>m.userValue + 3) & ~3);
  if (size > 0x7fffffff) return -ENOMEM;
  m.elemSize = <u32>size;
  // A NO_PREALLOC hash takes each element from bpf_mem_alloc: htab->elem_size is the header,
  // the key rounded to 8, then the value rounded to 8 (or a pointer to the per-CPU values).
  // MAP_CREATE checked only key_size + value_size against KMALLOC_MAX_SIZE, so a map near that
  // limit is created and then can never hold an element (preallocated maps use vmalloc).
  if (!m.isLru && (m.mapFlags & BPF_F_NO_PREALLOC) != 0) {
    const valuePart: u64 = m.percpu ? 8 : (<u64>m.valueSize + 7) & ~7;
    m.elemUnallocatable = !memAllocFits(HTAB_ELEM_SIZE + ((<u64>m.keySize + 7) & ~7) + valuePart);
  }
  poolReset(m);
  const limit = <u64>m.maxEntries + 1 + (m.isLru ? <u64>m.ncpus * 2 + 2 : 0);
  m.elemLimit = limit > 0xffffffff ? 0xffffffff : <u32>limit;
  // Pools otherwise grow as used. Under a memory limit, a preallocated map (every LRU, a hash
  // without NO_PREALLOC) takes them all now, so that ENOMEM comes where the kernel gives it.
  if (limited() && (m.isLru || (m.mapFlags & BPF_F_NO_PREALLOC) == 0) && !poolReserve(m)) return -ENOMEM;
  if (m.isLru) {
    const r = lruInit(m);
    if (r < 0) return r;
  }
  return 0;
}

export function htabRelease(m: MapHdr): void {
  if (m.isLru) lruRelease(m);
  poolRelease(m);
  if (m.buckets != 0) free(m.buckets, <usize>m.nBuckets << 2);
  m.buckets = 0;
}

export function htabClear(m: MapHdr): void {
  memory.fill(m.buckets, 0, <usize>m.nBuckets << 2);
  m.count = 0;
  poolReset(m);
  if (m.isLru) lruInit(m);
}

@inline function hashOf(m: MapHdr, key: usize): u32 {
  return jhash(key, m.keySize, m.seed);
}

@inline export function bucketPtr(m: MapHdr, hash: u32): usize {
  return m.buckets + (<usize>(hash & (m.nBuckets - 1)) << 2);
}

/** The element holding `key` in its bucket chain, or 0; sets foundPrev. */
@inline function find(m: MapHdr, bp: usize, key: usize, hash: u32): u32 {
  let prev: u32 = 0;
  let i = load<u32>(bp);
  const keySize = m.keySize;
  const keyOff = <usize>m.keyOff;
  while (i != 0) {
    const e = elemAt(m, i);
    if (load<u32>(e, ELEM_HASH) == hash && keyEq(e + keyOff, key, keySize)) break;
    prev = i;
    i = load<u32>(e, ELEM_NEXT);
  }
  foundPrev = prev;
  return i;
}

@inline function unlink(m: MapHdr, bp: usize, i: u32, prev: u32): void {
  const next = load<u32>(elemAt(m, i), ELEM_NEXT);
  if (prev == 0) store<u32>(bp, next);
  else store<u32>(elemAt(m, prev), next, ELEM_NEXT);
}

@inline function linkHead(m: MapHdr, bp: usize, i: u32): void {
  store<u32>(elemAt(m, i), load<u32>(bp), ELEM_NEXT);
  store<u32>(bp, i);
}

/** Removes element i from its bucket if it is linked there (the LRU's del_from_htab). */
export function htabUnlinkNode(m: MapHdr, i: u32): bool {
  const bp = bucketPtr(m, load<u32>(elemAt(m, i), ELEM_HASH));
  let prev: u32 = 0;
  let j = load<u32>(bp);
  while (j != 0 && j != i) {
    prev = j;
    j = load<u32>(elemAt(m, j), ELEM_NEXT);
  }
  if (j == 0) return false;
  unlink(m, bp, i, prev);
  m.count--;
  return true;
}

// A user-space value is the whole stored value (all per-CPU slots, padding kept, §6). A datapath
// value is one slot's value_size bytes: a new per-CPU element gets it on `cpu` and zeroes the
// others, an existing one changes only `cpu`'s value_size bytes (checked on the kernel with a
// socket filter calling bpf_map_update_elem under BPF_PROG_TEST_RUN on CPU 1).
@inline function writeValue(m: MapHdr, e: usize, value: usize, datapath: bool, cpu: u32, isNew: bool): void {
  const dst = e + m.valOff;
  if (!datapath || !m.percpu) {
    copyBytes(dst, value, datapath ? m.valueSize : m.userValue);
    return;
  }
  if (isNew) memory.fill(dst, 0, m.userValue);
  copyBytes(dst + <usize>cpu * m.slot, value, m.valueSize);
}

function initElem(m: MapHdr, i: u32, key: usize, hash: u32, value: usize, datapath: bool, cpu: u32): void {
  const e = elemAt(m, i);
  store<u32>(e, hash, ELEM_HASH);
  copyBytes(e + m.keyOff, key, m.keySize);
  writeValue(m, e, value, datapath, cpu, true);
}

export function htabLookup(m: MapHdr, key: usize, value: usize, datapath: bool, cpu: u32): i32 {
  const hash = hashOf(m, key);
  const i = find(m, bucketPtr(m, hash), key, hash);
  if (i == 0) return -ENOENT;
  const e = elemAt(m, i);
  if (!datapath) {
    // User-space lookups never mark LRU elements (§7.1).
    if (value != 0) copyBytes(value, e + m.valOff, m.userValue);
    return 0;
  }
  if (m.isLru) lruSetRef(m, i);
  if (value != 0) {
    const src = e + m.valOff + (m.percpu ? <usize>cpu * m.slot : 0);
    copyBytes(value, src, m.valueSize);
  }
  return 0;
}

/**
 * `inPlace`: BPF_F_LOCK on a value with a bpf_spin_lock (the driver has checked both). The
 * kernel then copies into the element it found, which keeps its place in the bucket, where a
 * plain update links a new element at the head.
 */
export function htabUpdate(m: MapHdr, key: usize, value: usize, flags: u32, datapath: bool, cpu: u32, inPlace: bool = false): i32 {
  if (flags > BPF_EXIST) return -EINVAL;
  const hash = hashOf(m, key);
  if (m.isLru) return m.percpu
    ? lruPercpuUpdate(m, key, hash, value, flags, datapath, cpu)
    : lruUpdate(m, key, hash, value, flags, datapath, cpu);
  const bp = bucketPtr(m, hash);
  const i = find(m, bp, key, hash);
  if (i != 0) {
    if (flags == BPF_NOEXIST) return -EEXIST;
    writeValue(m, elemAt(m, i), value, datapath, cpu, false);
    // HASH links a new element at the head and unlinks the old one (§5.2); the per-CPU maps
    // and HASH_OF_MAPS (measured on 6.18) update in place.
    if (m.movesToHead && foundPrev != 0 && !inPlace) {
      unlink(m, bp, i, foundPrev);
      linkHead(m, bp, i);
    }
    return 0;
  }
  if (flags == BPF_EXIST) return -ENOENT;
  // Existence is checked before capacity (§4.1).
  if (m.count >= m.maxEntries) return -E2BIG;
  if (m.elemUnallocatable) return -ENOMEM;
  const n = poolAlloc(m);
  if (n == 0) return -ENOMEM;
  initElem(m, n, key, hash, value, datapath, cpu);
  linkHead(m, bp, n);
  m.count++;
  return 0;
}

// htab_lru_map_update_elem: pop a node first (which may evict, even for an update that then
// fails, §7.1), check the flags, link the new node at the head and free the old one.
function lruUpdate(m: MapHdr, key: usize, hash: u32, value: usize, flags: u32, datapath: bool, cpu: u32): i32 {
  const n = lruPop(m, cpu);
  if (n == 0) return -ENOMEM;
  initElem(m, n, key, hash, value, datapath, cpu);
  const bp = bucketPtr(m, hash);
  const old = find(m, bp, key, hash);
  let err: i32 = 0;
  if (old != 0 && flags == BPF_NOEXIST) err = -EEXIST;
  else if (old == 0 && flags == BPF_EXIST) err = -ENOENT;
  if (err != 0) {
    lruPushFree(m, n);
    return err;
  }
  if (old != 0) {
    unlink(m, bp, old, foundPrev);
    m.count--;
  }
  linkHead(m, bp, n);
  m.count++;
  if (old != 0) {
    lruSetRef(m, n);
    lruPushFree(m, old);
  }
  return 0;
}

// __htab_lru_percpu_map_update_elem: BPF_EXIST skips the pop; an existing element is updated in
// place and marked; a popped node that was not needed goes back to its free list.
function lruPercpuUpdate(m: MapHdr, key: usize, hash: u32, value: usize, flags: u32, datapath: bool, cpu: u32): i32 {
  let n: u32 = 0;
  if (flags != BPF_EXIST) {
    n = lruPop(m, cpu);
    if (n == 0) return -ENOMEM;
  }
  const bp = bucketPtr(m, hash);
  const old = find(m, bp, key, hash);
  let err: i32 = 0;
  if (old != 0 && flags == BPF_NOEXIST) err = -EEXIST;
  else if (old == 0 && flags == BPF_EXIST) err = -ENOENT;
  if (err == 0) {
    if (old != 0) {
      lruSetRef(m, old);
      writeValue(m, elemAt(m, old), value, datapath, cpu, false);
    } else {
      initElem(m, n, key, hash, value, datapath, cpu);
      linkHead(m, bp, n);
      m.count++;
      n = 0;
    }
  }
  if (n != 0) lruPushFree(m, n);
  return err;
}

function removeAt(m: MapHdr, bp: usize, i: u32, prev: u32): void {
  unlink(m, bp, i, prev);
  m.count--;
  if (m.isLru) lruPushFree(m, i);
  else poolFree(m, i);
}

export function htabDelete(m: MapHdr, key: usize): i32 {
  const hash = hashOf(m, key);
  const bp = bucketPtr(m, hash);
  const i = find(m, bp, key, hash);
  if (i == 0) return -ENOENT;
  removeAt(m, bp, i, foundPrev);
  return 0;
}

export function htabLookupAndDelete(m: MapHdr, key: usize, value: usize): i32 {
  // syscall.c supports it for HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH only.
  if (m.type == BPF_MAP_TYPE_HASH_OF_MAPS) return -ENOTSUPP;
  const hash = hashOf(m, key);
  const bp = bucketPtr(m, hash);
  const i = find(m, bp, key, hash);
  if (i == 0) return -ENOENT;
  if (value != 0) copyBytes(value, elemAt(m, i) + m.valOff, m.userValue);
  removeAt(m, bp, i, foundPrev);
  return 0;
}

/** The head of the first non-empty bucket at or after `b`, or 0. */
@inline function firstFrom(m: MapHdr, b: u32): u32 {
  const n = m.nBuckets;
  while (b < n) {
    const head = load<u32>(m.buckets + (<usize>b << 2));
    if (head != 0) return head;
    b++;
  }
  return 0;
}

export function htabGetNextKey(m: MapHdr, key: usize, nextKey: usize): i32 {
  let start: u32 = 0;
  if (key != 0) {
    const hash = hashOf(m, key);
    const i = find(m, bucketPtr(m, hash), key, hash);
    // An absent key restarts from the first element (§5.3).
    if (i != 0) {
      const next = load<u32>(elemAt(m, i), ELEM_NEXT);
      if (next != 0) {
        copyBytes(nextKey, elemAt(m, next) + m.keyOff, m.keySize);
        return 0;
      }
      start = (hash & (m.nBuckets - 1)) + 1;
    }
  }
  const first = firstFrom(m, start);
  if (first == 0) return -ENOENT;
  copyBytes(nextKey, elemAt(m, first) + m.keyOff, m.keySize);
  return 0;
}

// ---- LOOKUP_BATCH / LOOKUP_AND_DELETE_BATCH with bucket tokens (§10.1, __htab_map_lookup_and_delete_batch)

export let batchTotal: u32 = 0;

export function htabLookupBatch(m: MapHdr, inPtr: usize, outPtr: usize, keys: usize, values: usize, count: u32, del: bool): i32 {
  batchTotal = 0;
  let b: u32 = inPtr != 0 ? load<u32>(inPtr) : 0;
  if (b >= m.nBuckets) return -ENOENT;
  let total: u32 = 0;
  let ret: i32 = 0;
  const keySize = m.keySize;
  const vsize = m.userValue;
  while (true) {
    const bp = m.buckets + (<usize>b << 2);
    let n: u32 = 0;
    let i = load<u32>(bp);
    while (i != 0) {
      n++;
      i = load<u32>(elemAt(m, i), ELEM_NEXT);
    }
    // Whole buckets only: ENOSPC when even the first one does not fit.
    if (n > count - total) {
      if (total == 0) ret = -ENOSPC;
      break;
    }
    i = load<u32>(bp);
    let k = keys + <usize>total * keySize;
    let v = values + <usize>total * vsize;
    while (i != 0) {
      const e = elemAt(m, i);
      const next = load<u32>(e, ELEM_NEXT);
      copyBytes(k, e + m.keyOff, keySize);
      copyBytes(v, e + m.valOff, vsize);
      k += keySize;
      v += vsize;
      if (del) removeAt(m, bp, i, 0);
      i = next;
    }
    total += n;
    b++;
    if (b >= m.nBuckets) {
      ret = -ENOENT;
      break;
    }
  }
  if (outPtr != 0) store<u32>(outPtr, b);
  batchTotal = total;
  return ret;
}
