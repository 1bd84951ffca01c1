// Plain-TS reference models the engine tests compare against, written from the spec, not from the engine.

// lookup3 as the spec (kernel-maps.md §5.1) writes it, byte-wise, in plain TS.
const rol = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
export function refJhash(key: Uint8Array, seed: number): number {
  let n = key.length;
  let a = (0xdeadbeef + n + seed) >>> 0, b = a, c = a, k = 0;
  const le = (o: number) => (key[o]! | (key[o + 1]! << 8) | (key[o + 2]! << 16) | (key[o + 3]! << 24)) >>> 0;
  while (n > 12) {
    a = (a + le(k)) >>> 0; b = (b + le(k + 4)) >>> 0; c = (c + le(k + 8)) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 4)) >>> 0; b = (b + a) >>> 0;
    k += 12; n -= 12;
  }
  if (n === 0) return c;
  const t = new Uint8Array(12);
  t.set(key.subarray(k, k + n));
  const tl = (o: number) => (t[o]! | (t[o + 1]! << 8) | (t[o + 2]! << 16) | (t[o + 3]! << 24)) >>> 0;
  a = (a + tl(0)) >>> 0; b = (b + tl(4)) >>> 0; c = (c + tl(8)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 24)) >>> 0;
  return c;
}

const keyStr = (k: Uint8Array) => Buffer.from(k).toString("hex");

/** kernel-maps.md §5: the bucket/ordering model of jhash.py's HtabModel. */
export class HtabModel {
  readonly n: number;
  readonly buckets: Uint8Array[][];
  constructor(readonly maxEntries: number, readonly movesToHead: boolean, readonly seed = 0) {
    let n = 1;
    while (n < maxEntries) n *= 2;
    this.n = n;
    this.buckets = Array.from({ length: n }, () => []);
  }
  bucket(key: Uint8Array): number {
    return refJhash(key, this.seed) & (this.n - 1);
  }
  private find(key: Uint8Array): [Uint8Array[], number] {
    const b = this.buckets[this.bucket(key)]!;
    return [b, b.findIndex((k) => keyStr(k) === keyStr(key))];
  }
  count(): number {
    return this.buckets.reduce((a, b) => a + b.length, 0);
  }
  /** errno (0 = OK) */
  update(key: Uint8Array, flags: number): number {
    if (flags > 2) return 22;
    const [b, i] = this.find(key);
    if (flags === 1 && i >= 0) return 17;
    if (flags === 2 && i < 0) return 2;
    if (i < 0) {
      if (this.count() >= this.maxEntries) return 7;
      b.unshift(key);
    } else if (this.movesToHead) {
      b.splice(i, 1);
      b.unshift(key);
    }
    return 0;
  }
  delete(key: Uint8Array): number {
    const [b, i] = this.find(key);
    if (i < 0) return 2;
    b.splice(i, 1);
    return 0;
  }
  order(): Uint8Array[] {
    return this.buckets.flat();
  }
  nextKey(key: Uint8Array | null): Uint8Array | null {
    let start = 0;
    if (key) {
      const [b, i] = this.find(key);
      if (i >= 0) {
        if (i + 1 < b.length) return b[i + 1]!;
        start = this.bucket(key) + 1;
      }
    }
    for (let j = start; j < this.n; j++) if (this.buckets[j]!.length) return this.buckets[j]![0]!;
    return null;
  }
}

// ---- LPM (kernel-maps.md §9) as a brute-force set of prefixes

const lpmBit = (data: Uint8Array, i: number) => (data[i >> 3]! >> (7 - (i & 7))) & 1;
export function prefixBits(plen: number, data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < plen; i++) s += lpmBit(data, i);
  return s;
}
/** §9.3: at the first differing bit 0 comes first; a prefix of the other comes after it. */
export function lpmCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] === "0" ? -1 : 1;
  return b.length - a.length;
}

export interface LpmEntry { plen: number; data: Uint8Array; value: Uint8Array }

export class LpmModel {
  readonly entries = new Map<string, LpmEntry>();
  readonly max: number;
  constructor(readonly dataSize: number, readonly maxEntries: number) {
    this.max = dataSize * 8;
  }
  update(plen: number, data: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > 2) return 22;
    if (plen > this.max) return 22;
    const id = prefixBits(plen, data);
    if (this.entries.has(id)) {
      if (flags === 1) return 17;
    } else {
      if (flags === 2) return 2;
      if (this.entries.size === this.maxEntries) return 28;
    }
    this.entries.set(id, { plen, data, value });
    return 0;
  }
  delete(plen: number, data: Uint8Array): number {
    if (plen > this.max) return 22;
    return this.entries.delete(prefixBits(plen, data)) ? 0 : 2;
  }
  lookup(plen: number, data: Uint8Array): LpmEntry | null {
    if (plen > this.max) return null;
    const q = prefixBits(plen, data);
    let best: LpmEntry | null = null;
    for (const [id, e] of this.entries) {
      if (id.length <= q.length && q.startsWith(id) && (!best || e.plen > best.plen)) best = e;
    }
    return best;
  }
  order(): LpmEntry[] {
    return [...this.entries.entries()].sort((a, b) => lpmCompare(a[0], b[0])).map((x) => x[1]);
  }
  nextKey(key: { plen: number; data: Uint8Array } | null): LpmEntry | null {
    const order = this.order();
    if (!key || key.plen > this.max) return order[0] ?? null;
    const id = prefixBits(key.plen, key.data);
    const i = order.findIndex((e) => prefixBits(e.plen, e.data) === id);
    if (i < 0) return order[0] ?? null;
    return order[i + 1] ?? null;
  }
}
