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
