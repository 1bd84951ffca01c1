// Tristate numbers (kernel/bpf/tnum.c): a u64 whose bits are known 0, known 1 (value) or
// unknown (mask). u64 values are BigInts in [0, 2^64).
export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export const U64 = (1n << 64n) - 1n;
export const U32 = (1n << 32n) - 1n;
const u64 = (x: bigint) => BigInt.asUintN(64, x);

export const tnum = (value: bigint, mask: bigint): Tnum => ({ value: u64(value), mask: u64(mask) });
export const tnumUnknown: Tnum = { value: 0n, mask: U64 };
export const tnumConst = (v: bigint): Tnum => ({ value: u64(v), mask: 0n });

function fls64(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = min ^ max;
  const bits = fls64(chi);
  if (bits > 63) return tnumUnknown;
  const delta = (1n << BigInt(bits)) - 1n;
  return tnum(min & ~delta, delta);
}

export const tnumLshift = (a: Tnum, shift: number): Tnum => tnum(a.value << BigInt(shift), a.mask << BigInt(shift));
export const tnumRshift = (a: Tnum, shift: number): Tnum => tnum(a.value >> BigInt(shift), a.mask >> BigInt(shift));

export function tnumArshift(a: Tnum, minShift: number, bitness: 32 | 64): Tnum {
  const s = BigInt(minShift);
  if (bitness === 32) {
    return tnum(BigInt.asUintN(32, BigInt.asIntN(32, a.value) >> s), BigInt.asUintN(32, BigInt.asIntN(32, a.mask) >> s));
  }
  return tnum(BigInt.asIntN(64, a.value) >> s, BigInt.asIntN(64, a.mask) >> s);
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return tnum(sv & ~mu, mu);
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return tnum(dv & ~mu, mu);
}

export const tnumNeg = (a: Tnum): Tnum => tnumSub(tnumConst(0n), a);

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return tnum(v, alpha & beta & ~v);
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return tnum(v, mu & ~v);
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return tnum(v & ~mu, mu);
}

export function tnumUnion(a: Tnum, b: Tnum): Tnum {
  const v = a.value & b.value;
  const mu = (a.value ^ b.value) | a.mask | b.mask;
  return tnum(v & ~mu, mu);
}

/** Long multiplication over a's bits: a known 1 adds b, an unknown bit takes the union. */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  let acc = tnumConst(0n);
  while (a.value !== 0n || a.mask !== 0n) {
    if ((a.value & 1n) !== 0n) acc = tnumAdd(acc, b);
    else if ((a.mask & 1n) !== 0n) acc = tnumUnion(acc, tnumAdd(acc, b));
    a = tnumRshift(a, 1);
    b = tnumLshift(b, 1);
  }
  return acc;
}

export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return tnum(v & ~mu, mu);
}

export function tnumCast(a: Tnum, size: number): Tnum {
  const m = size >= 8 ? U64 : (1n << BigInt(size * 8)) - 1n;
  return tnum(a.value & m, a.mask & m);
}

/** Whether every value of b is a value of a. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if ((b.mask & ~a.mask) !== 0n) return false;
  return a.value === (b.value & ~a.mask);
}

/** Whether a and b share a value. */
export function tnumOverlap(a: Tnum, b: Tnum): boolean {
  const mu = u64(~a.mask & ~b.mask);
  return (a.value & mu) === (b.value & mu);
}

export const tnumIsConst = (a: Tnum): boolean => a.mask === 0n;
export const tnumIsUnknown = (a: Tnum): boolean => a.mask === U64;
export const tnumSubreg = (a: Tnum): Tnum => tnumCast(a, 4);
export const tnumClearSubreg = (a: Tnum): Tnum => tnumLshift(tnumRshift(a, 32), 32);
export const tnumWithSubreg = (reg: Tnum, subreg: Tnum): Tnum => tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
export const tnumConstSubreg = (a: Tnum, value: bigint): Tnum => tnumWithSubreg(a, tnumConst(value));
export const tnumSubregIsConst = (a: Tnum): boolean => (a.mask & U32) === 0n;

function bswap(x: bigint, bytes: number): bigint {
  let out = 0n;
  for (let i = 0; i < bytes; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A byte swap of the low `bits` bits, each known or unknown bit moving with its byte. */
export function tnumBswap(a: Tnum, bits: 16 | 32 | 64): Tnum {
  return tnum(bswap(a.value, bits / 8), bswap(a.mask, bits / 8));
}

/**
 * tnum_step: the smallest member of `t` greater than `z`; the largest member when there is
 * none, and the smallest when z is below it.
 */
export function tnumStep(t: Tnum, z: bigint): bigint {
  const tmax = t.value | t.mask;
  if (z >= tmax) return tmax;
  if (z < t.value) return t.value;
  // The smallest x >= z + 1 with x's known bits equal to t's: follow c = z + 1 from the top
  // until a known bit disagrees, then settle the rest as low as possible.
  const c = z + 1n;
  let x = 0n;
  for (let b = 63n; b >= 0n; b--) {
    const bit = 1n << b;
    const cb = c & bit, known = (t.mask & bit) === 0n, tb = t.value & bit;
    if (!known || cb === tb) {
      x |= cb;
      continue;
    }
    const low = bit - 1n;
    if (tb !== 0n) return x | bit | (t.value & low); // t forces a 1 where c has 0: already greater
    // t forces a 0 where c has a 1: raise the lowest unknown 0 bit above this one.
    for (let p = b + 1n; p <= 63n; p++) {
      const pb = 1n << p;
      if ((t.mask & pb) !== 0n && (x & pb) === 0n) {
        return (x & ~(pb - 1n) & U64) | pb | (t.value & (pb - 1n));
      }
    }
    return tmax;
  }
  return x;
}
