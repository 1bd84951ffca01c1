// The engine's exports: exactly the ABI in src/engine-abi.ts. Every i32 result is >= 0 or -errno;
// bad input and exhaustion give -errno, never a trap.
import { EINVAL, EBADF, EBUSY, ENOMEM, ENOTSUPP } from "./errno";
import * as mem from "./alloc";
import { jhash as jhashBytes } from "./jhash";
import {
  MapHdr, hdr, lookupHandle, newHandle, releaseHandle, roundUp8,
  KIND_HASH, KIND_ARRAY, KIND_FD_ARRAY, KIND_LPM, KIND_QUEUE_STACK, KIND_BLOOM, KIND_RINGBUF,
  BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_RINGBUF,
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS,
} from "./map";
import { htabInit, htabRelease, htabClear, htabLookupBatch, batchTotal } from "./hashtab";
import { arrayInit, arrayRelease, arrayClear } from "./array";
import { lpmInit, lpmRelease, lpmClear } from "./lpm";
import { queueStackInit, queueStackRelease, queueStackClear } from "./queue-stack";
import { bloomInit, bloomRelease, bloomClear } from "./bloom";
import { ringbufInit, ringbufRelease, ringbufReserve as rbReserve, ringbufCommit as rbCommit, ringbufQuery as rbQuery } from "./ringbuf";
import {
  mapLookupOp, mapUpdateOp, mapUpdateLockedOp, mapDeleteOp, mapGetNextKeyOp, mapLookupAndDeleteOp,
  datapathLookupOp, datapathUpdateOp,
} from "./ops";
import { mmapable, pageShift, setPage, MIN_PAGE_SHIFT, MAX_PAGE_SHIFT } from "./mmap";
import { genericLookupBatch, genericUpdateBatch, genericDeleteBatch, genericCount } from "./batch";

export function scratch(bytes: u32): usize {
  return mem.scratch(bytes);
}

export function scratchRelease(): void {
  mem.scratchRelease();
}

export function setMemoryLimit(bytes: u32): void {
  mem.setLimit(bytes);
}

export function memoryUsed(): usize {
  return mem.used();
}

export function jhash(keyPtr: usize, length: u32, seed: u32): u32 {
  return jhashBytes(keyPtr, length, seed);
}

/** Maps created and not yet freed: the page size may change only while there are none. */
let liveMaps: u32 = 0;

/**
 * The simulated kernel's PAGE_SHIFT (12 to 16: 4 to 64 KiB pages), which ring buffers' layout and
 * mmapable regions follow: 0, -EINVAL out of range, -EBUSY while a map lives (its layout was
 * made with the old page).
 */
export function setPageShift(shift: u32): i32 {
  if (shift < MIN_PAGE_SHIFT || shift > MAX_PAGE_SHIFT) return -EINVAL;
  if (shift == pageShift) return 0;
  if (liveMaps != 0) return -EBUSY;
  setPage(shift);
  return 0;
}

function kindOf(mapType: u32): u32 {
  switch (mapType) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      return KIND_HASH;
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      return KIND_ARRAY;
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      return KIND_FD_ARRAY;
    case BPF_MAP_TYPE_LPM_TRIE:
      return KIND_LPM;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return KIND_QUEUE_STACK;
    case BPF_MAP_TYPE_BLOOM_FILTER:
      return KIND_BLOOM;
    case BPF_MAP_TYPE_RINGBUF:
      return KIND_RINGBUF;
  }
  return 0;
}

const HDR_SIZE: usize = offsetof<MapHdr>();

function release(m: MapHdr): void {
  const k = m.kind;
  if (k == KIND_HASH) htabRelease(m);
  else if (k == KIND_LPM) lpmRelease(m);
  else if (k == KIND_QUEUE_STACK) queueStackRelease(m);
  else if (k == KIND_BLOOM) bloomRelease(m);
  else if (k == KIND_RINGBUF) ringbufRelease(m);
  else arrayRelease(m);
  mem.free(changetype<usize>(m), HDR_SIZE);
}

export function mapCreate(mapType: u32, keySize: u32, valueSize: u32, maxEntries: u32,
  mapFlags: u32, ncpus: u32, seed: u32, extra: u32): i32 {
  const kind = kindOf(mapType);
  if (kind == 0) return -EINVAL;
  // Queues, stacks, bloom filters and ring buffers are keyless; every other kind has a key. A
  // ring buffer alone has no value either.
  const keyless = kind == KIND_QUEUE_STACK || kind == KIND_BLOOM || kind == KIND_RINGBUF;
  if (keyless != (keySize == 0) || extra > 15 || (extra != 0 && kind != KIND_BLOOM)) return -EINVAL;
  if ((kind == KIND_RINGBUF) != (valueSize == 0) || maxEntries == 0 || ncpus == 0 || ncpus > 0xffff) return -EINVAL;
  // The driver validates attrs (§3.3); these guards only keep a bad call from corrupting memory.
  if ((kind == KIND_ARRAY || kind == KIND_FD_ARRAY) && keySize != 4) return -EINVAL;
  if (kind == KIND_FD_ARRAY && valueSize != 4) return -EINVAL;
  if (kind == KIND_LPM && (keySize < 5 || keySize > 260)) return -EINVAL;
  const percpu = mapType == BPF_MAP_TYPE_PERCPU_HASH || mapType == BPF_MAP_TYPE_PERCPU_ARRAY
    || mapType == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const slot = roundUp8(valueSize);
  const userValue = percpu ? <u64>ncpus * slot : <u64>valueSize;
  if (userValue > 0x7fffffff || <u64>keySize + userValue > 0x7fffffff) return -ENOMEM;
  const p = mem.allocZeroed(HDR_SIZE);
  if (p == 0) return -ENOMEM;
  const m = hdr(p);
  m.type = mapType;
  m.kind = kind;
  m.keySize = keySize;
  m.valueSize = valueSize;
  m.maxEntries = maxEntries;
  m.mapFlags = mapFlags;
  m.ncpus = ncpus;
  m.seed = seed;
  m.slot = slot;
  m.userValue = <u32>userValue;
  m.percpu = percpu;
  // HASH_OF_MAPS updates in place on 6.18 (checked on the kernel with colliding keys), although
  // kernel-maps.md §5.2 lists it with the movers.
  m.movesToHead = mapType == BPF_MAP_TYPE_HASH || mapType == BPF_MAP_TYPE_LRU_HASH;
  m.isLru = mapType == BPF_MAP_TYPE_LRU_HASH || mapType == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  let r: i32;
  if (kind == KIND_HASH) r = htabInit(m);
  else if (kind == KIND_LPM) r = lpmInit(m);
  else if (kind == KIND_QUEUE_STACK) r = queueStackInit(m);
  else if (kind == KIND_BLOOM) r = bloomInit(m, extra);
  else if (kind == KIND_RINGBUF) r = ringbufInit(m);
  else r = arrayInit(m);
  if (r < 0) {
    release(m);
    return r;
  }
  const h = newHandle(p);
  if (h == 0) {
    release(m);
    return -ENOMEM;
  }
  liveMaps++;
  return h;
}

export function mapFree(h: i32): void {
  const p = lookupHandle(h);
  if (p == 0) return;
  release(hdr(p));
  releaseHandle(h);
  liveMaps--;
}

export function mapCount(h: i32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  return <i32>hdr(p).count;
}

export function mapClear(h: i32): void {
  const p = lookupHandle(h);
  if (p == 0) return;
  const m = hdr(p);
  const k = m.kind;
  if (k == KIND_HASH) htabClear(m);
  else if (k == KIND_LPM) lpmClear(m);
  else if (k == KIND_QUEUE_STACK) queueStackClear(m);
  else if (k == KIND_BLOOM) bloomClear(m);
  else if (k == KIND_RINGBUF) return; // nothing empties a ring buffer but its consumer
  else arrayClear(m);
}

// ---- mmap (mmap.ts): the driver reads and writes an mmapable array's region in place.

/**
 * Pages of the map's mmapable region (a ring buffer's: the two position pages and the data once):
 * -EBADF for no map, -EINVAL for a map that has none.
 */
export function mapMmapPages(h: i32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (!mmapable(m) && m.kind != KIND_RINGBUF) return -EINVAL;
  return <i32>(m.dataBytes >> pageShift);
}

/** Where the map's mmapable region starts in memory; 0 for no map or a map without one. */
export function mapMmapBase(h: i32): usize {
  const p = lookupHandle(h);
  if (p == 0) return 0;
  const m = hdr(p);
  return mmapable(m) || m.kind == KIND_RINGBUF ? m.data : 0;
}

// ---- ring buffers (ringbuf.ts): what a program's bpf_ringbuf_* helpers do.

/**
 * bpf_ringbuf_reserve's work: the new record's header offset in the data (>= 0, BUSY), -E2BIG
 * for a size the ring can never hold, -EAGAIN for no room, -EINVAL for a map that is no ring.
 */
export function ringbufReserve(h: i32, size: u64): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (m.kind != KIND_RINGBUF) return -EINVAL;
  return rbReserve(m, size);
}

/**
 * bpf_ringbuf_submit (`discard` 0) or bpf_ringbuf_discard (1) of the record at `hdrOff`: 1 when
 * the consumer position points at it (a wake-up, unless the flags forbid it), else 0.
 */
export function ringbufCommit(h: i32, hdrOff: u32, discard: u32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (m.kind != KIND_RINGBUF) return -EINVAL;
  return rbCommit(m, hdrOff, discard != 0);
}

/** bpf_ringbuf_query; 0 for no ring, as for an unknown flag. */
export function ringbufQuery(h: i32, flags: u64): u64 {
  const p = lookupHandle(h);
  if (p == 0) return 0;
  const m = hdr(p);
  return m.kind == KIND_RINGBUF ? rbQuery(m, flags) : 0;
}

// ---- element operations. An unknown handle is -EBADF (the driver should never pass one).

export function mapLookup(h: i32, keyPtr: usize, valuePtr: usize): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  return mapLookupOp(hdr(p), keyPtr, valuePtr);
}

export function mapUpdate(h: i32, keyPtr: usize, valuePtr: usize, flags: u32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  return mapUpdateOp(hdr(p), keyPtr, valuePtr, flags);
}

export function mapUpdateLocked(h: i32, keyPtr: usize, valuePtr: usize, flags: u32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  return mapUpdateLockedOp(hdr(p), keyPtr, valuePtr, flags);
}

export function mapDelete(h: i32, keyPtr: usize): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  return mapDeleteOp(hdr(p), keyPtr);
}

export function mapGetNextKey(h: i32, keyPtr: usize, nextKeyPtr: usize): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  return mapGetNextKeyOp(hdr(p), keyPtr, nextKeyPtr);
}

export function mapLookupAndDelete(h: i32, keyPtr: usize, valuePtr: usize): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  return mapLookupAndDeleteOp(hdr(p), keyPtr, valuePtr);
}

// ---- batches (kernel-maps.md §10). The count the kernel would write back is in batchCount().

let lastBatchCount: u32 = 0;

function noBatches(m: MapHdr): bool {
  return m.type == BPF_MAP_TYPE_PROG_ARRAY || m.kind == KIND_QUEUE_STACK || m.kind == KIND_BLOOM || m.kind == KIND_RINGBUF;
}

export function batchCount(): u32 {
  return lastBatchCount;
}

export function mapLookupBatch(h: i32, inPtr: usize, outPtr: usize, keysPtr: usize, valuesPtr: usize,
  count: u32, del: u32): i32 {
  lastBatchCount = 0;
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  // §10.3: PROG_ARRAY and the keyless maps have no batches; only the hash family has
  // LOOKUP_AND_DELETE_BATCH.
  if (noBatches(m)) return -ENOTSUPP;
  if (del != 0 && m.kind != KIND_HASH) return -ENOTSUPP;
  if (count == 0) return 0;
  if (m.kind == KIND_HASH) {
    const r = htabLookupBatch(m, inPtr, outPtr, keysPtr, valuesPtr, count, del != 0);
    lastBatchCount = batchTotal;
    return r;
  }
  const r = genericLookupBatch(m, inPtr, outPtr, keysPtr, valuesPtr, count);
  lastBatchCount = genericCount;
  return r;
}

export function mapUpdateBatch(h: i32, keysPtr: usize, valuesPtr: usize, count: u32): i32 {
  lastBatchCount = 0;
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (noBatches(m)) return -ENOTSUPP;
  if (count == 0) return 0;
  const r = genericUpdateBatch(m, keysPtr, valuesPtr, count);
  lastBatchCount = genericCount;
  return r;
}

export function mapDeleteBatch(h: i32, keysPtr: usize, count: u32): i32 {
  lastBatchCount = 0;
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (m.kind == KIND_ARRAY || m.kind == KIND_FD_ARRAY || noBatches(m)) return -ENOTSUPP;
  if (count == 0) return 0;
  const r = genericDeleteBatch(m, keysPtr, count);
  lastBatchCount = genericCount;
  return r;
}

// ---- the datapath: a BPF program on `cpu`; per-CPU values are one slot of value_size bytes.

export function datapathLookup(h: i32, keyPtr: usize, valuePtr: usize, cpu: u32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (cpu >= m.ncpus) return -EINVAL;
  return datapathLookupOp(m, keyPtr, valuePtr, cpu);
}

export function datapathUpdate(h: i32, keyPtr: usize, valuePtr: usize, flags: u32, cpu: u32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (cpu >= m.ncpus) return -EINVAL;
  return datapathUpdateOp(m, keyPtr, valuePtr, flags, cpu);
}

export function datapathDelete(h: i32, keyPtr: usize, cpu: u32): i32 {
  const p = lookupHandle(h);
  if (p == 0) return -EBADF;
  const m = hdr(p);
  if (cpu >= m.ncpus) return -EINVAL;
  return mapDeleteOp(m, keyPtr);
}

