// LPM_TRIE as a sorted list (kernel-maps.md §9): the walk order is the §9.3 comparator, a lookup
// is the longest stored prefix no longer than the query's, an entry is identified by its prefix
// bits (host bits ignored) but keeps the data bytes it was last written with. ENOSPC when full.
import { BPF_EXIST, BPF_NOEXIST, Errno } from "@bpfkit/core";
import { u32le } from "./bytes.js";
import type { ModelTable } from "./table.js";

interface Entry {
  prefixlen: number;
  /** The whole key as last written (prefixlen and data, host bits included). */
  key: Uint8Array;
  value: Uint8Array;
}

function bit(key: Uint8Array, i: number): number {
  return (key[4 + (i >> 3)]! >> (7 - (i & 7))) & 1;
}

function samePrefixBits(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (bit(a, i) !== bit(b, i)) return false;
  return true;
}

/** §9.3: 0 before 1 at the first differing bit; a prefix of the other sorts after it. */
export function lpmCompare(a: Uint8Array, b: Uint8Array): number {
  const la = u32le(a);
  const lb = u32le(b);
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    const d = bit(a, i) - bit(b, i);
    if (d !== 0) return d;
  }
  return lb - la;
}

/** LPM_TRIE as entries kept in the kernel's walk order. */
export class LpmTable implements ModelTable {
  /** The entries in the kernel's walk order (§9.3). */
  readonly entries: Entry[] = [];
  /** The longest prefix a key may have: 8 × (key size − 4) bits. */
  readonly maxPrefixlen: number;
  readonly batchOps = { lookup: true, lookupAndDelete: false, update: true, delete: true };

  /**
   * Makes an empty trie for keys of `keySize` bytes (4 of prefix length, then the data), holding at most
   * `maxEntries`.
   */
  constructor(keySize: number, readonly maxEntries: number) {
    this.maxPrefixlen = 8 * (keySize - 4);
  }

  count(): number {
    return this.entries.length;
  }

  private indexOf(key: Uint8Array): number {
    const p = u32le(key);
    return this.entries.findIndex((e) => e.prefixlen === p && samePrefixBits(e.key, key, p));
  }

  lookup(key: Uint8Array, value: Uint8Array): number {
    const l = u32le(key);
    if (l > this.maxPrefixlen) return -Errno.ENOENT;
    let best: Entry | undefined;
    for (const e of this.entries) {
      if (e.prefixlen <= l && (best === undefined || e.prefixlen > best.prefixlen) &&
        samePrefixBits(e.key, key, e.prefixlen)) best = e;
    }
    if (best === undefined) return -Errno.ENOENT;
    value.set(best.value);
    return 0;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > BPF_EXIST) return -Errno.EINVAL;
    if (u32le(key) > this.maxPrefixlen) return -Errno.EINVAL;
    const i = this.indexOf(key);
    if (i >= 0) {
      if (flags === BPF_NOEXIST) return -Errno.EEXIST;
      // The kernel swaps in a new node: the stored data bytes become the new key's (§9.2).
      this.entries[i] = { prefixlen: u32le(key), key: key.slice(), value: value.slice() };
      return 0;
    }
    if (flags === BPF_EXIST) return -Errno.ENOENT;
    if (this.entries.length >= this.maxEntries) return -Errno.ENOSPC;
    const e = { prefixlen: u32le(key), key: key.slice(), value: value.slice() };
    let at = this.entries.findIndex((x) => lpmCompare(key, x.key) < 0);
    if (at < 0) at = this.entries.length;
    this.entries.splice(at, 0, e);
    return 0;
  }

  delete(key: Uint8Array): number {
    if (u32le(key) > this.maxPrefixlen) return -Errno.EINVAL;
    const i = this.indexOf(key);
    if (i < 0) return -Errno.ENOENT;
    this.entries.splice(i, 1);
    return 0;
  }

  nextKey(key: Uint8Array | null, out: Uint8Array): number {
    // An absent key, or one past max_prefixlen, restarts from the first entry (§9.3).
    let i = key === null || u32le(key) > this.maxPrefixlen ? -1 : this.indexOf(key);
    i = i < 0 ? 0 : i + 1;
    if (i >= this.entries.length) return -Errno.ENOENT;
    out.set(this.entries[i]!.key);
    return 0;
  }

  lookupAndDelete(): number {
    return -Errno.ENOTSUPP;
  }
}
