// The order in which the kernel's LPM trie hands out its keys. trie_get_next_key() walks the
// trie in post-order, child 0 before child 1 before the node itself, so the order is a pure
// function of two keys' prefixes (kernel-maps.md §9.3): at the first bit where they differ
// (most significant bit of each data byte first) a 0 comes first, and where one prefix contains
// the other the longer, more specific one comes first. A batch dump uses it to recognise the
// kernel's restart from the first key after its token key was deleted.
import { hex } from "./codec.js";
import type { DumpStats } from "./dump-stats.js";

/**
 * Negative when the trie hands out the key at `a[ao…]` before the one at `b[bo…]`, positive
 * when after, 0 for the same prefix. Keys are `struct bpf_lpm_trie_key`: a host-order u32
 * prefix length, then `dataSize` bytes of data; bits past the prefix do not count.
 */
export function lpmKeyOrder(a: Uint8Array, ao: number, b: Uint8Array, bo: number, dataSize: number): number {
  const la = prefixLen(a, ao, dataSize);
  const lb = prefixLen(b, bo, dataSize);
  const common = la < lb ? la : lb;
  const whole = common >>> 3;
  for (let i = 0; i < whole; i++) {
    const x = a[ao + 4 + i]! ^ b[bo + 4 + i]!;
    if (x !== 0) return firstBitOrder(a[ao + 4 + i]!, x);
  }
  const rest = common & 7;
  if (rest !== 0) {
    const x = (a[ao + 4 + whole]! ^ b[bo + 4 + whole]!) & ((0xff << (8 - rest)) & 0xff);
    if (x !== 0) return firstBitOrder(a[ao + 4 + whole]!, x);
  }
  return lb - la;
}

/** -1 when `aByte` holds 0 at the highest bit set in `diff` (a comes first), else 1. */
function firstBitOrder(aByte: number, diff: number): number {
  const top = 0x80 >>> (Math.clz32(diff) - 24);
  return (aByte & top) === 0 ? -1 : 1;
}

/**
 * An LPM key's identity in the trie, as hex: its bytes with the data bits past the prefix length
 * zeroed. trie_update_elem and trie_delete_elem compare only the prefix's bits, so 10.1.0.5/16
 * and 10.1.0.0/16 name one element (the one written last keeps its bytes).
 */
export function lpmKeyId(key: Uint8Array): string {
  const k = key.slice();
  const bits = prefixLen(k, 0, k.length - 4);
  let i = 4 + (bits >>> 3);
  if ((bits & 7) !== 0) {
    k[i] = k[i]! & (0xff << (8 - (bits & 7)));
    i++;
  }
  k.fill(0, i);
  return hex(k);
}

/** The u32 prefix length (x86-64 and arm64 are little-endian), capped at the data's bits. */
function prefixLen(k: Uint8Array, o: number, dataSize: number): number {
  const n = (k[o]! | (k[o + 1]! << 8) | (k[o + 2]! << 16) | (k[o + 3]! << 24)) >>> 0;
  return Math.min(n, dataSize * 8);
}

/**
 * Follows the keys an LPM walk hands out, in the trie's order, so that a dump delivers each
 * once: when the kernel restarts from the first key (its resume key was deleted) the keys up to
 * the last one delivered come again, and are dropped.
 */
export class LpmResume {
  readonly #keySize: number;
  readonly #lastIn: Uint8Array;
  readonly #lastOut: Uint8Array;
  #any = false;

  constructor(keySize: number) {
    this.#keySize = keySize;
    this.#lastIn = new Uint8Array(keySize);
    this.#lastOut = new Uint8Array(keySize);
  }

  /**
   * True when the key at `keys[ko…]` comes after every key accepted so far. A key that comes
   * at or before the one the kernel returned just before it is a restart: `stats.interrupted`.
   */
  accept(keys: Uint8Array, ko: number, stats: DumpStats): boolean {
    const ks = this.#keySize;
    const key = keys.subarray(ko, ko + ks);
    if (!this.#any) {
      this.#lastIn.set(key);
      this.#lastOut.set(key);
      this.#any = true;
      return true;
    }
    if (lpmKeyOrder(keys, ko, this.#lastIn, 0, ks - 4) <= 0) stats.interrupted++;
    this.#lastIn.set(key);
    if (lpmKeyOrder(keys, ko, this.#lastOut, 0, ks - 4) <= 0) return false;
    this.#lastOut.set(key);
    return true;
  }
}
