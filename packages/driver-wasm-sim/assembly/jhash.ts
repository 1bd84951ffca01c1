// The kernel's jhash (include/linux/jhash.h, Bob Jenkins' lookup3), byte-wise over the key.
// For key_size % 4 == 0 the kernel uses jhash2 over native u32 words, which on little-endian is
// the same function, so this one covers every key size (kernel-maps.md §5.1).

const JHASH_INITVAL: u32 = 0xdeadbeef;

// Up to 3 trailing bytes, little-endian, zero-padded (the kernel's switch fall-through).
@inline function partial(p: usize, n: u32): u32 {
  if (n == 0) return 0;
  let w: u32 = load<u8>(p);
  if (n > 1) w |= <u32>load<u8>(p, 1) << 8;
  if (n > 2) w |= <u32>load<u8>(p, 2) << 16;
  return w;
}

export function jhash(key: usize, length: u32, seed: u32): u32 {
  let a: u32 = JHASH_INITVAL + length + seed;
  let b = a;
  let c = a;
  let k = key;
  let n = length;
  while (n > 12) {
    a += load<u32>(k);
    b += load<u32>(k, 4);
    c += load<u32>(k, 8);
    // __jhash_mix
    a -= c; a ^= rotl<u32>(c, 4); c += b;
    b -= a; b ^= rotl<u32>(a, 6); a += c;
    c -= b; c ^= rotl<u32>(b, 8); b += a;
    a -= c; a ^= rotl<u32>(c, 16); c += b;
    b -= a; b ^= rotl<u32>(a, 19); a += c;
    c -= b; c ^= rotl<u32>(b, 4); b += a;
    k += 12;
    n -= 12;
  }
  if (n == 0) return c;
  if (n >= 4) {
    a += load<u32>(k);
    if (n >= 8) {
      b += load<u32>(k, 4);
      c += n == 12 ? load<u32>(k, 8) : partial(k + 8, n - 8);
    } else {
      b += partial(k + 4, n - 4);
    }
  } else {
    a += partial(k, n);
  }
  // __jhash_final
  c ^= b; c -= rotl<u32>(b, 14);
  a ^= c; a -= rotl<u32>(c, 11);
  b ^= a; b -= rotl<u32>(a, 25);
  c ^= b; c -= rotl<u32>(b, 16);
  a ^= c; a -= rotl<u32>(c, 4);
  b ^= a; b -= rotl<u32>(a, 14);
  c ^= b; c -= rotl<u32>(b, 24);
  return c;
}
