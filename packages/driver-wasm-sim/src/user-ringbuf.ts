// BPF_MAP_TYPE_USER_RINGBUF's kernel side (kernel/bpf/ringbuf.c): the ring has RINGBUF's layout
// (the engine allocates both alike, as ringbuf_map_alloc does), but the roles are swapped. User
// space writes the producer position and the records through its mapping; a program drains them
// with bpf_user_ringbuf_drain, which moves the consumer position. The kernel trusts nothing user
// space wrote: each record is checked before its callback runs, and a bad one ends the drain
// with an errno, leaving the consumer position on it.
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, Errno } from "@bpfkit/core";

/** BPF_MAX_USER_RINGBUF_SAMPLES: the most records one drain looks at, discarded ones included. */
export const BPF_MAX_USER_RINGBUF_SAMPLES = 128 * 1024;
/** The peek's "nothing to take" (empty, or a BUSY record): the drain stops there and answers its count. */
export const ENODATA = 61;
/** DYNPTR_MAX_SIZE: a sample must fit a dynptr's 24-bit size, or the drain answers E2BIG. */
export const DYNPTR_MAX_SIZE = (1 << 24) - 1;

/** Where one ring's words and data are in wasm memory. */
export interface UserRingLayout {
  /** The consumer position's u64 (the first page of the region). */
  readonly consAt: number;
  /** The producer position's u64 (the second page). */
  readonly prodAt: number;
  /** The data's first byte. */
  readonly dataAt: number;
  /** The data's size: max_entries, a power of 2. */
  readonly size: number;
}

/** One record __bpf_user_ringbuf_peek found ready: where its sample starts in the data, and its length. */
export interface PeekedSample {
  /** The sample's offset in the data (it may run past the data's end: the second mapping). */
  readonly off: number;
  readonly len: number;
}

const U64 = 1n << 64n;

/**
 * __bpf_user_ringbuf_peek: the record at the consumer position, or -errno: -ENODATA for an empty
 * ring or a BUSY record; -EAGAIN for a discarded one, after moving the consumer position past it;
 * -EINVAL for a producer position that is no multiple of 8 or a record that runs past it; -E2BIG
 * for a record larger than the ring or a dynptr.
 */
export function userRingbufPeek(mem: DataView, r: UserRingLayout): PeekedSample | number {
  const prod = mem.getBigUint64(r.prodAt, true);
  if (prod % 8n !== 0n) return -Errno.EINVAL;
  const cons = mem.getBigUint64(r.consAt, true);
  // Compared as they are, not by difference: a consumer position at or past the producer's is empty.
  if (cons >= prod) return -ENODATA;
  const mask = BigInt(r.size - 1);
  const hdrOff = Number(cons & mask);
  const hdrLen = mem.getUint32(r.dataAt + hdrOff, true);
  const flags = (hdrLen & (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) >>> 0;
  const len = (hdrLen & ~flags) >>> 0;
  // round_up in u32, as the kernel's total_len: a length near 2^30 does not overflow here.
  const total = Math.ceil((len + BPF_RINGBUF_HDR_SZ) / 8) * 8;
  if (BigInt(total) > prod - cons) return -Errno.EINVAL;
  if (total > r.size) return -Errno.E2BIG;
  if (len > DYNPTR_MAX_SIZE) return -Errno.E2BIG;
  if ((flags & BPF_RINGBUF_DISCARD_BIT) !== 0) {
    mem.setBigUint64(r.consAt, (cons + BigInt(total)) % U64, true);
    return -Errno.EAGAIN;
  }
  if ((flags & BPF_RINGBUF_BUSY_BIT) !== 0) return -ENODATA;
  return { off: Number((cons + BigInt(BPF_RINGBUF_HDR_SZ)) & mask), len };
}

/** __bpf_user_ringbuf_sample_release: the consumer position moves past a sample of `len` bytes. */
export function userRingbufRelease(mem: DataView, r: UserRingLayout, len: number): void {
  const total = Math.ceil((len + BPF_RINGBUF_HDR_SZ) / 8) * 8;
  const cons = mem.getBigUint64(r.consAt, true);
  mem.setBigUint64(r.consAt, (cons + BigInt(total)) % U64, true);
}

/**
 * ringbuf_map_poll_user's EPOLLOUT: the bytes between the positions (an unsigned long, so a
 * producer position behind the consumer's is a huge count) are fewer than the ring holds.
 */
export function userRingbufWritable(mem: DataView, r: UserRingLayout): boolean {
  const prod = mem.getBigUint64(r.prodAt, true);
  const cons = mem.getBigUint64(r.consAt, true);
  return (prod - cons + U64) % U64 < BigInt(r.size);
}

/** A copy of a sample's `len` bytes from data offset `off`, which may wrap to the data's start. */
export function userRingbufSample(heap: Uint8Array, r: UserRingLayout, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const first = Math.min(len, r.size - off);
  out.set(heap.subarray(r.dataAt + off, r.dataAt + off + first));
  if (first < len) out.set(heap.subarray(r.dataAt, r.dataAt + len - first), first);
  return out;
}
