// BLOOM_FILTER (kernel/bpf/bloom_filter.c): keyless; UPDATE adds a value (BPF_ANY only), LOOKUP
// answers 0 when every one of its hash bits is set and ENOENT otherwise, reading the value as
// the query and writing nothing back. DELETE and GET_NEXT_KEY are EOPNOTSUPP (95), a pop is
// ENOTSUPP (524, the syscall has no path for it), and there are no batch commands.
//
// Bit i of a value is jhash(value, seed + i) & mask, as the kernel's jhash2 over the value's u32
// words equals jhash over its bytes. Without BPF_F_ZERO_SEED the kernel's seed is random: then
// only values that were added are certain to answer 0, and runners must not compare the others.
import { Errno } from "@bpfkit/core";
import { jhash } from "./jhash.js";
import type { ModelTable } from "./table.js";

/** bloom_map_alloc()'s bit count when nothing overflows: n·k·7/5 rounded up to a power of two, at least 64. */
export function bloomBitsetMask(maxEntries: number, nrHashFuncs: number): number {
  const product = maxEntries * nrHashFuncs;
  const bits = Math.floor(product / 5) * 7;
  // Past u32 in either multiplication, or past 2^31 bits: the whole u32 range of bits.
  if (product > 0xffffffff || bits > 0xffffffff || bits > 2 ** 31) return 0xffffffff;
  if (bits <= 64) return 63;
  let p = 1;
  while (p < bits) p *= 2;
  return p - 1;
}

/** A bloom filter's bitset, kept as the set of bit numbers that are set. */
export class BloomTable implements ModelTable {
  /** The bits set so far (a map of max_entries 2^32 − 1 has 2^32 of them: a set, not an array). */
  readonly bits = new Set<number>();
  /** The bitset's size less one: a hash is masked to a bit number with it. */
  readonly mask: number;
  readonly batchOps = { lookup: false, lookupAndDelete: false, update: false, delete: false };

  /** `nrHashFuncs`: map_extra's low bits, 5 when 0; `seed`: 0 under BPF_F_ZERO_SEED. */
  constructor(readonly maxEntries: number, readonly nrHashFuncs: number, readonly seed: number) {
    this.mask = bloomBitsetMask(maxEntries, nrHashFuncs);
  }

  /** The bit numbers `value` sets and tests. */
  bitsOf(value: Uint8Array): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.nrHashFuncs; i++) out.push((jhash(value, (this.seed + i) >>> 0) & this.mask) >>> 0);
    return out;
  }

  /** The filter remembers bits, not values: the count is of bits set. */
  count(): number {
    return this.bits.size;
  }

  lookup(_key: Uint8Array, value: Uint8Array): number {
    return this.bitsOf(value).every((b) => this.bits.has(b)) ? 0 : -Errno.ENOENT;
  }

  update(_key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags !== 0) return -Errno.EINVAL;
    for (const b of this.bitsOf(value)) this.bits.add(b);
    return 0;
  }

  delete(): number {
    return -Errno.EOPNOTSUPP;
  }

  nextKey(): number {
    return -Errno.EOPNOTSUPP;
  }

  lookupAndDelete(): number {
    return -Errno.ENOTSUPP;
  }
}
