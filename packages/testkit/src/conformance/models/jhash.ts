// The kernel's jhash (include/linux/jhash.h, Bob Jenkins' lookup3) in plain TypeScript, written
// from kernel-maps.md §5.1 independently of the simulator's AssemblyScript copy: the suite
// predicts hash-map order with this, so a simulator bug cannot hide behind a shared one.
// jhash2 over LE u32 words equals byte-wise jhash on little-endian hosts (§5.1), so one
// function covers every key size.

const rol = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

function le32(k: Uint8Array, i: number): number {
  return (k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24)) >>> 0;
}

/** jhash(key, key.length, seed), as the hash map computes a bucket. */
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
    // __jhash_mix
    a = (a - c) >>> 0; a = (a ^ rol(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 4)) >>> 0; b = (b + a) >>> 0;
    i += 12;
    len -= 12;
  }
  if (len === 0) return c;
  const t = new Uint8Array(12);
  t.set(key.subarray(i, i + len));
  a = (a + le32(t, 0)) >>> 0;
  b = (b + le32(t, 4)) >>> 0;
  c = (c + le32(t, 8)) >>> 0;
  // __jhash_final
  c = (c ^ b) >>> 0; c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 24)) >>> 0;
  return c;
}
