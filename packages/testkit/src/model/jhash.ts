// The kernel's jhash (include/linux/jhash.h, lookup3) in plain TypeScript, written from
// kernel-maps.md §5.1 and independent of the simulator's AssemblyScript copy, so a shared bug
// cannot hide. jhash2 over LE u32 words equals byte-wise jhash on little-endian hosts, so one
// function covers every key size.

const rol = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

function le32(k: Uint8Array, i: number): number {
  return (k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24)) >>> 0;
}

/** `jhash(key, key.length, seed)`: the hash a BPF hash map buckets a key by. */
export function jhash(key: Uint8Array, seed = 0): number {
  let len = key.length;
  let a = (0xdeadbeef + len + seed) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  while (len > 12) {
    a = (a + le32(key, i)) >>> 0;
    b = (b + le32(key, i + 4)) >>> 0;
    c = (c + le32(key, i + 8)) >>> 0;
    a = (a - c) >>> 0; a ^= rol(c, 4); c = (c + b) >>> 0;
    b = (b - a) >>> 0; b ^= rol(a, 6); a = (a + c) >>> 0;
    c = (c - b) >>> 0; c ^= rol(b, 8); b = (b + a) >>> 0;
    a = (a - c) >>> 0; a ^= rol(c, 16); c = (c + b) >>> 0;
    b = (b - a) >>> 0; b ^= rol(a, 19); a = (a + c) >>> 0;
    c = (c - b) >>> 0; c ^= rol(b, 4); b = (b + a) >>> 0;
    i += 12;
    len -= 12;
  }
  if (len === 0) return c >>> 0;
  const t = new Uint8Array(12);
  t.set(key.subarray(i, i + len));
  a = (a + le32(t, 0)) >>> 0;
  b = (b + le32(t, 4)) >>> 0;
  c = (c + le32(t, 8)) >>> 0;
  c ^= b; c = (c - rol(b, 14)) >>> 0;
  a ^= c; a = (a - rol(c, 11)) >>> 0;
  b ^= a; b = (b - rol(a, 25)) >>> 0;
  c ^= b; c = (c - rol(b, 16)) >>> 0;
  a ^= c; a = (a - rol(c, 4)) >>> 0;
  b ^= a; b = (b - rol(a, 14)) >>> 0;
  c ^= b; c = (c - rol(b, 24)) >>> 0;
  return c >>> 0;
}
