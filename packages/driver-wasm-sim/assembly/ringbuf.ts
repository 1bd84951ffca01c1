// BPF_MAP_TYPE_RINGBUF (kernel/bpf/ringbuf.c): whole pages (mmap.ts's pageSize, PAGE_SIZE), the consumer position (u64)
// on the first, the producer position (u64) on the second, followed there by pending_pos (u64,
// the oldest record that may still be BUSY: the struct's next field, so user space sees it too),
// then max_entries bytes of data. The
// driver maps these pages; the kernel's second mapping of the data (a record that wraps reads
// straight on) is the driver's to give, by copying. Records are an 8-byte header, u32 len (bit
// 31 BUSY, bit 30 DISCARD) and u32 pg_off, then the sample, padded to 8.
import { E2BIG, EAGAIN, EINVAL, ENOMEM } from "./errno";
import { allocZeroed, free } from "./alloc";
import { MapHdr } from "./map";
import { pageShift, pageSize } from "./mmap";

export const BPF_RINGBUF_BUSY_BIT: u32 = 1 << 31;
export const BPF_RINGBUF_DISCARD_BIT: u32 = 1 << 30;
export const BPF_RINGBUF_HDR_SZ: u32 = 8;
/** RINGBUF_MAX_RECORD_SZ: UINT_MAX / 4. */
export const RINGBUF_MAX_RECORD_SZ: u64 = 0xffffffff / 4;
/**
 * The pages before the data in the kernel's struct bpf_ringbuf: one it never maps (the wait
 * queue, the irq work, the lock: RINGBUF_PGOFF), then the two position pages. A header's pg_off
 * counts from the struct's start, so the data's first page is 3 (checked on 6.18). The fields
 * before consumer_pos (aligned to PAGE_SIZE) fit in one page of any size, so RINGBUF_PGOFF is 1
 * at every page size.
 */
const RINGBUF_PGOFF: u32 = 1;
const RINGBUF_POS_PAGES: u32 = 2;
/** Where the data starts in the region: after the consumer and producer pages (log2 of the count is 1). */
@inline export function ringbufDataOff(): usize {
  return pageSize << 1;
}

const BPF_RB_AVAIL_DATA: u64 = 0;
const BPF_RB_RING_SIZE: u64 = 1;
const BPF_RB_CONS_POS: u64 = 2;
const BPF_RB_PROD_POS: u64 = 3;

/** The driver has checked max_entries: a power of 2 and a multiple of the page. */
export function ringbufInit(m: MapHdr): i32 {
  const size = m.maxEntries;
  if (<usize>size < pageSize || (size & (size - 1)) != 0) return -EINVAL;
  const bytes = <u64>ringbufDataOff() + size;
  if (bytes > 0xffff0000) return -ENOMEM;
  m.dataBytes = <usize>bytes;
  m.data = allocZeroed(m.dataBytes);
  return m.data == 0 ? -ENOMEM : 0;
}

export function ringbufRelease(m: MapHdr): void {
  free(m.data, m.dataBytes);
  m.data = 0;
}

@inline function consPos(m: MapHdr): u64 {
  return load<u64>(m.data);
}

@inline function prodPos(m: MapHdr): u64 {
  return load<u64>(m.data + pageSize);
}

/** pending_pos: after producer_pos in struct bpf_ringbuf, on the producer's page. */
@inline function pendingPosAt(m: MapHdr): usize {
  return m.data + pageSize + 8;
}

@inline function mask(m: MapHdr): u64 {
  return <u64>m.maxEntries - 1;
}

@inline function hdrAt(m: MapHdr, pos: u64): usize {
  return m.data + ringbufDataOff() + <usize>(pos & mask(m));
}

/**
 * __bpf_ringbuf_reserve: the header's offset in the data (>= 0), or the kernel's NULL as
 * -E2BIG (a record the ring can never hold) or -EAGAIN (no room now). The room is bounded by the
 * consumer position, which user space writes through its mapping, AND by the oldest record still
 * BUSY (pending_pos), so that the producer never laps a record a program is still writing.
 */
export function ringbufReserve(m: MapHdr, size: u64): i32 {
  if (size > RINGBUF_MAX_RECORD_SZ) return -E2BIG;
  const len = <u32>((size + BPF_RINGBUF_HDR_SZ + 7) & ~7);
  // A record larger than the ring: refused before the lock, pending_pos untouched.
  if (<u64>len > <u64>m.maxEntries) return -E2BIG;
  const cons = consPos(m);
  const prod = prodPos(m);
  const newProd = prod + len;
  // Step pending_pos past every record committed since: it stops at the first BUSY one.
  let pend = load<u64>(pendingPosAt(m));
  while (pend < prod) {
    const hlen = load<u32>(hdrAt(m, pend));
    if ((hlen & BPF_RINGBUF_BUSY_BIT) != 0) break;
    const sz = ((hlen & ~BPF_RINGBUF_DISCARD_BIT) + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    pend += sz;
  }
  store<u64>(pendingPosAt(m), pend);
  // One of exactly the ring's size got this far, but no room check passes it (at most size - 1
  // bytes are ever free): a record this ring can never hold, as the one above.
  if (<u64>len > mask(m)) return -E2BIG;
  // Unsigned: a consumer position user space set past the producer leaves no room at all.
  if (newProd - cons > mask(m) || newProd - pend > mask(m)) return -EAGAIN;
  const h = hdrAt(m, prod);
  store<u32>(h, <u32>size | BPF_RINGBUF_BUSY_BIT);
  // bpf_ringbuf_rec_pg_off: the header's distance from the struct, >> PAGE_SHIFT.
  store<u32>(h + 4, RINGBUF_PGOFF + RINGBUF_POS_PAGES + <u32>((prod & mask(m)) >> <u64>pageShift));
  store<u64>(m.data + pageSize, newProd);
  return <i32>(prod & mask(m));
}

/**
 * bpf_ringbuf_commit: clears BUSY (and sets DISCARD for a discard). Then 1 when the consumer
 * position (read after the header is written, as the kernel does) points at this record: the
 * consumer has caught up to it, which wakes the ring's waiters unless the flags say
 * BPF_RB_NO_WAKEUP (the driver weighs the flags); else 0. The driver commits only what it
 * reserved; a header that is not BUSY is -EINVAL, a guard.
 */
export function ringbufCommit(m: MapHdr, hdrOff: u32, discard: bool): i32 {
  if (<u64>hdrOff > mask(m) || (hdrOff & 7) != 0) return -EINVAL;
  const h = m.data + ringbufDataOff() + <usize>hdrOff;
  const len = load<u32>(h);
  if ((len & BPF_RINGBUF_BUSY_BIT) == 0) return -EINVAL;
  store<u32>(h, (len ^ BPF_RINGBUF_BUSY_BIT) | (discard ? BPF_RINGBUF_DISCARD_BIT : 0));
  return (consPos(m) & mask(m)) == <u64>hdrOff ? 1 : 0;
}

/** bpf_ringbuf_query: 0 for an unknown flag, as the kernel answers. */
export function ringbufQuery(m: MapHdr, flags: u64): u64 {
  if (flags == BPF_RB_AVAIL_DATA) return prodPos(m) - consPos(m);
  if (flags == BPF_RB_RING_SIZE) return <u64>m.maxEntries;
  if (flags == BPF_RB_CONS_POS) return consPos(m);
  if (flags == BPF_RB_PROD_POS) return prodPos(m);
  return 0;
}
