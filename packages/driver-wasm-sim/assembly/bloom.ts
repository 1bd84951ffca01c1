// BLOOM_FILTER (kernel/bpf/bloom_filter.c): keyless; a push sets nr_hash_funcs bits of a
// power-of-two bitset, a peek answers 0 when all of them are set ("maybe present") and ENOENT
// otherwise. Bit i of value v is jhash(v, value_size, seed + i) & mask; jhash2 over u32 words,
// which the kernel uses when value_size % 4 == 0, is the same function on little-endian.
import { ENOENT, EINVAL, ENOMEM } from "./errno";
import { allocZeroed, free } from "./alloc";
import { MapHdr } from "./map";
import { jhash } from "./jhash";

/** bloom_map_alloc's sizing: max_entries × k × 7/5 bits, at least 64, rounded to a power of two. */
export function bloomInit(m: MapHdr, extra: u32): i32 {
  const k: u32 = extra == 0 ? 5 : extra;
  // The kernel computes in u32 and falls back to 2^32 bits when a product overflows.
  const prod = <u64>m.maxEntries * k;
  let bytes: u64;
  let mask: u32;
  const bits7 = (prod / 5) * 7;
  if (prod > 0xffffffff || bits7 > 0xffffffff || bits7 > (<u64>1 << 31)) {
    bytes = <u64>1 << 29;
    mask = 0xffffffff;
  } else {
    let n = <u32>bits7;
    if (n <= 64) n = 64;
    else n = <u32>1 << (32 - clz<u32>(n - 1));
    bytes = <u64>(n >>> 3);
    mask = n - 1;
  }
  bytes = (bytes + 7) & ~<u64>7;
  if (bytes > 0xffff0000) return -ENOMEM;
  m.nrHashFuncs = k;
  m.bitsetMask = mask;
  m.dataBytes = <usize>bytes;
  m.data = allocZeroed(m.dataBytes);
  return m.data == 0 ? -ENOMEM : 0;
}

export function bloomRelease(m: MapHdr): void {
  free(m.data, m.dataBytes);
  m.data = 0;
}

export function bloomClear(m: MapHdr): void {
  memory.fill(m.data, 0, m.dataBytes);
}

@inline function bitOf(m: MapHdr, value: usize, i: u32): u32 {
  return jhash(value, m.valueSize, m.seed + i) & m.bitsetMask;
}

/** map_push_elem: only BPF_ANY. */
export function bloomPush(m: MapHdr, value: usize, flags: u64): i32 {
  if (flags != 0) return -EINVAL;
  for (let i: u32 = 0; i < m.nrHashFuncs; i++) {
    const b = bitOf(m, value, i);
    const p = m.data + (<usize>b >>> 3);
    store<u8>(p, <u8>(<u32>load<u8>(p) | (<u32>1 << (b & 7))));
  }
  return 0;
}

/** map_peek_elem: 0 when every bit is set, else ENOENT; the value is only read. */
export function bloomPeek(m: MapHdr, value: usize): i32 {
  for (let i: u32 = 0; i < m.nrHashFuncs; i++) {
    const b = bitOf(m, value, i);
    if ((<u32>load<u8>(m.data + (<usize>b >>> 3)) & (<u32>1 << (b & 7))) == 0) return -ENOENT;
  }
  return 0;
}
