// LPM_TRIE as a sorted set (kernel-maps.md §9): walk order is the §9.3 comparator, lookup is
// longest match capped by the query's prefixlen, host bits are stored as given.

export interface LpmKey {
  prefixlen: number;
  data: Uint8Array;
}

function bit(data: Uint8Array, i: number): number {
  return (data[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** Same prefix bits (host bits ignored). */
export function samePrefix(a: LpmKey, b: LpmKey): boolean {
  if (a.prefixlen !== b.prefixlen) return false;
  for (let i = 0; i < a.prefixlen; i++) if (bit(a.data, i) !== bit(b.data, i)) return false;
  return true;
}

/** §9.3: at the first differing bit 0 sorts first; a prefix of the other sorts after it. */
export function lpmCompare(a: LpmKey, b: LpmKey): number {
  const n = Math.min(a.prefixlen, b.prefixlen);
  for (let i = 0; i < n; i++) {
    const x = bit(a.data, i);
    const y = bit(b.data, i);
    if (x !== y) return x - y;
  }
  return b.prefixlen - a.prefixlen;
}

/** The stored entry a lookup of `q` matches, or undefined (ENOENT). */
export function lpmMatch<T extends LpmKey>(entries: readonly T[], q: LpmKey, maxPrefixlen: number): T | undefined {
  if (q.prefixlen > maxPrefixlen) return undefined;
  let best: T | undefined;
  outer: for (const e of entries) {
    if (e.prefixlen > q.prefixlen) continue;
    for (let i = 0; i < e.prefixlen; i++) if (bit(e.data, i) !== bit(q.data, i)) continue outer;
    if (best === undefined || e.prefixlen > best.prefixlen) best = e;
  }
  return best;
}

export function encodeLpmKey(k: LpmKey, keySize: number): Uint8Array {
  const out = new Uint8Array(keySize);
  new DataView(out.buffer).setUint32(0, k.prefixlen, true);
  out.set(k.data.subarray(0, keySize - 4), 4);
  return out;
}

export function decodeLpmKey(b: Uint8Array): LpmKey {
  return { prefixlen: new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true), data: b.slice(4) };
}
