// adjust_scalar_min_max_vals (kernel/bpf/verifier.c): the bounds and tnum of a scalar after an
// ALU op with a scalar operand. Each op tracks 64- and 32-bit signed and unsigned bounds as the
// kernel does, then reg_bounds_sync lets them refine each other.
import {
  clearScalarId, mark32Known, mark32Unbounded, mark64Unbounded, markKnown, markUnbounded, markUnknown, regBoundsSync,
  setKnown, S32_MAX, S32_MIN, S64_MAX, S64_MIN, s32, s64, U32, u32, U64, u64, update32Bounds, updateRegBounds,
  zext32To64,
} from "./reg.js";
import type { Reg } from "./reg.js";
import {
  tnumAdd, tnumAnd, tnumArshift, tnumBswap, tnumCast, tnumIsConst, tnumLshift, tnumMul, tnumNeg, tnumOr,
  tnumRshift, tnumSub, tnumSubreg, tnumSubregIsConst, tnumXor,
} from "./tnum.js";
import { OP } from "./insn.js";

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const inS64 = (x: bigint) => x >= S64_MIN && x <= S64_MAX;
const inS32 = (x: bigint) => x >= S32_MIN && x <= S32_MAX;

export function scalar32Add(d: Reg, s: Reg): void {
  const smin = d.s32min + s.s32min, smax = d.s32max + s.s32max;
  if (!inS32(smin) || !inS32(smax)) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    d.s32min = smin; d.s32max = smax;
  }
  const umin = d.u32min + s.u32min, umax = d.u32max + s.u32max;
  const minOverflow = umin > U32, maxOverflow = umax > U32;
  d.u32min = u32(umin); d.u32max = u32(umax);
  // Either all additions overflow or none do, else nothing is known.
  if (!minOverflow && maxOverflow) {
    d.u32min = 0n; d.u32max = U32;
  }
}

export function scalarAdd(d: Reg, s: Reg): void {
  const smin = d.smin + s.smin, smax = d.smax + s.smax;
  if (!inS64(smin) || !inS64(smax)) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin = smin; d.smax = smax;
  }
  const umin = d.umin + s.umin, umax = d.umax + s.umax;
  const minOverflow = umin > U64, maxOverflow = umax > U64;
  d.umin = u64(umin); d.umax = u64(umax);
  if (!minOverflow && maxOverflow) {
    d.umin = 0n; d.umax = U64;
  }
}

function scalar32Sub(d: Reg, s: Reg): void {
  const smin = d.s32min - s.s32max, smax = d.s32max - s.s32min;
  if (!inS32(smin) || !inS32(smax)) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    d.s32min = smin; d.s32max = smax;
  }
  const umin = d.u32min - s.u32max, umax = d.u32max - s.u32min;
  const minUnderflow = umin < 0n, maxUnderflow = umax < 0n;
  d.u32min = u32(umin); d.u32max = u32(umax);
  if (minUnderflow && !maxUnderflow) {
    d.u32min = 0n; d.u32max = U32;
  }
}

function scalarSub(d: Reg, s: Reg): void {
  const smin = d.smin - s.smax, smax = d.smax - s.smin;
  if (!inS64(smin) || !inS64(smax)) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin = smin; d.smax = smax;
  }
  const umin = d.umin - s.umax, umax = d.umax - s.umin;
  const minUnderflow = umin < 0n, maxUnderflow = umax < 0n;
  d.umin = u64(umin); d.umax = u64(umax);
  if (minUnderflow && !maxUnderflow) {
    d.umin = 0n; d.umax = U64;
  }
}

function scalar32Mul(d: Reg, s: Reg): void {
  const umax = d.u32max * s.u32max;
  const umin = d.u32min * s.u32min;
  if (umax > U32 || umin > U32) {
    d.u32min = 0n; d.u32max = U32;
  } else {
    d.u32min = umin; d.u32max = umax;
  }
  const p = [d.s32min * s.s32min, d.s32min * s.s32max, d.s32max * s.s32min, d.s32max * s.s32max];
  if (p.some((x) => !inS32(x))) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    d.s32min = p.reduce(min); d.s32max = p.reduce(max);
  }
}

function scalarMul(d: Reg, s: Reg): void {
  const umax = d.umax * s.umax;
  const umin = d.umin * s.umin;
  if (umax > U64 || umin > U64) {
    d.umin = 0n; d.umax = U64;
  } else {
    d.umin = umin; d.umax = umax;
  }
  const p = [d.smin * s.smin, d.smin * s.smax, d.smax * s.smin, d.smax * s.smax];
  if (p.some((x) => !inS64(x))) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin = p.reduce(min); d.smax = p.reduce(max);
  }
}

/** The s32 bounds from u32 ones when they do not cross the sign boundary. */
function s32FromU32(d: Reg): void {
  if (s32(d.u32min) <= s32(d.u32max)) {
    d.s32min = s32(d.u32min); d.s32max = s32(d.u32max);
  } else {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  }
}

function s64FromU64(d: Reg): void {
  if (s64(d.umin) <= s64(d.umax)) {
    d.smin = s64(d.umin); d.smax = s64(d.umax);
  } else {
    d.smin = S64_MIN; d.smax = S64_MAX;
  }
}

function scalar32Bitwise(op: number, d: Reg, s: Reg): void {
  const v = tnumSubreg(d.varOff);
  if (tnumSubregIsConst(s.varOff) && tnumSubregIsConst(d.varOff)) {
    mark32Known(d, v.value);
    return;
  }
  if (op === OP.AND) {
    d.u32min = v.value; d.u32max = min(d.u32max, s.u32max);
  } else if (op === OP.OR) {
    d.u32min = max(d.u32min, s.u32min); d.u32max = v.value | v.mask;
  } else {
    d.u32min = v.value; d.u32max = v.value | v.mask;
  }
  s32FromU32(d);
}

function scalarBitwise(op: number, d: Reg, s: Reg): void {
  if (tnumIsConst(s.varOff) && tnumIsConst(d.varOff)) {
    markKnown(d, d.varOff.value);
    return;
  }
  if (op === OP.AND) {
    d.umin = d.varOff.value; d.umax = min(d.umax, s.umax);
  } else if (op === OP.OR) {
    d.umin = max(d.umin, s.umin); d.umax = d.varOff.value | d.varOff.mask;
  } else {
    d.umin = d.varOff.value; d.umax = d.varOff.value | d.varOff.mask;
  }
  s64FromU64(d);
  updateRegBounds(d);
}

function scalar32LshBounds(d: Reg, uminVal: bigint, umaxVal: bigint): void {
  d.s32min = S32_MIN; d.s32max = S32_MAX;
  if (umaxVal > 31n || d.u32max > 1n << (31n - umaxVal)) {
    d.u32min = 0n; d.u32max = U32;
  } else {
    d.u32min = u32(d.u32min << uminVal); d.u32max = u32(d.u32max << umaxVal);
  }
}

function scalar32Lsh(d: Reg, s: Reg): void {
  const sub = tnumSubreg(d.varOff);
  scalar32LshBounds(d, s.u32min, s.u32max);
  d.varOff = tnumSubreg(tnumLshift(sub, Number(s.u32min)));
  mark64Unbounded(d);
  update32Bounds(d);
}

function scalarLsh(d: Reg, s: Reg): void {
  const uminVal = s.umin, umaxVal = s.umax;
  // <<32 of a non-negative subreg (the sign-extension idiom) keeps its signed bounds.
  d.smax = uminVal === 32n && umaxVal === 32n && d.s32max >= 0n ? d.s32max << 32n : S64_MAX;
  d.smin = uminVal === 32n && umaxVal === 32n && d.s32min >= 0n ? d.s32min << 32n : S64_MIN;
  if (d.umax > 1n << (63n - umaxVal)) {
    d.umin = 0n; d.umax = U64;
  } else {
    d.umin = u64(d.umin << uminVal); d.umax = u64(d.umax << umaxVal);
  }
  scalar32LshBounds(d, uminVal, umaxVal);
  d.varOff = tnumLshift(d.varOff, Number(uminVal));
  updateRegBounds(d);
}

function scalar32Rsh(d: Reg, s: Reg): void {
  const sub = tnumSubreg(d.varOff);
  d.s32min = S32_MIN; d.s32max = S32_MAX;
  d.varOff = tnumRshift(sub, Number(s.u32min));
  d.u32min >>= s.u32max;
  d.u32max >>= s.u32min;
  mark64Unbounded(d);
  update32Bounds(d);
}

function scalarRsh(d: Reg, s: Reg): void {
  d.smin = S64_MIN; d.smax = S64_MAX;
  d.varOff = tnumRshift(d.varOff, Number(s.umin));
  d.umin >>= s.umax;
  d.umax >>= s.umin;
  mark32Unbounded(d);
  updateRegBounds(d);
}

function scalar32Arsh(d: Reg, s: Reg): void {
  const sh = s.u32min;
  d.s32min = s32(d.s32min >> sh);
  d.s32max = s32(d.s32max >> sh);
  d.varOff = tnumArshift(tnumSubreg(d.varOff), Number(sh), 32);
  d.u32min = 0n; d.u32max = U32;
  mark64Unbounded(d);
  update32Bounds(d);
}

function scalarArsh(d: Reg, s: Reg): void {
  const sh = s.umin;
  d.smin >>= sh;
  d.smax >>= sh;
  d.varOff = tnumArshift(d.varOff, Number(sh), 64);
  d.umin = 0n; d.umax = U64;
  mark32Unbounded(d);
  updateRegBounds(d);
}

/** coerce_reg_to_size: a zero-extending truncation to `size` bytes. */
function coerceRegToSize(d: Reg, size: number): void {
  d.varOff = tnumCast(d.varOff, size);
  const mask = (1n << BigInt(size * 8)) - 1n;
  if ((d.umin & ~mask) === (d.umax & ~mask)) {
    d.umin &= mask;
    d.umax &= mask;
  } else {
    d.umin = 0n;
    d.umax = mask;
  }
  d.smin = d.umin;
  d.smax = d.umax;
  // Below 32 bits the subregister is truncated too.
  if (size < 4) mark32Unbounded(d);
  regBoundsSync(d);
}

/** BPF_END on a little-endian host: to_be and bswap swap the low `imm` bits, to_le truncates. */
function scalarByteSwap(d: Reg, alu64: boolean, toBe: boolean, imm: number): void {
  // A changed value is no longer a copy of anything (to_le 64 changes nothing).
  if (alu64 || toBe) {
    d.varOff = tnumBswap(d.varOff, imm as 16 | 32 | 64);
    markUnbounded(d);
    clearScalarId(d);
  } else if (imm !== 64) {
    coerceRegToSize(d, imm / 8);
    clearScalarId(d);
  }
}

/** is_safe_to_compute_dst_reg_range: shifts need a constant below the width; div and mod are not tracked. */
function safeToCompute(alu64: boolean, op: number, s: Reg): boolean {
  switch (op) {
    case OP.ADD: case OP.SUB: case OP.NEG: case OP.AND: case OP.XOR: case OP.OR: case OP.MUL: case OP.END:
      return true;
    case OP.LSH: case OP.RSH: case OP.ARSH: {
      const srcConst = alu64
        ? tnumIsConst(s.varOff) && s.smin === s.smax && s.umin === s.umax
        : tnumSubregIsConst(s.varOff) && s.s32min === s.s32max && s.u32min === s.u32max;
      return srcConst && s.umax < (alu64 ? 64n : 32n);
    }
    default:
      return false;
  }
}

/**
 * Two constants give a constant, bounds and all, whatever the op's bounds arithmetic does on the
 * way (the final reg_bounds_sync pins everything to the tnum): computed directly, as it is most of
 * what programs do.
 */
function constResult(alu64: boolean, op: number, d: bigint, s: bigint, toBe: boolean, imm: number): bigint | null {
  const bits = alu64 ? 64 : 32;
  const x = BigInt.asUintN(bits, d), y = BigInt.asUintN(bits, s);
  switch (op) {
    case OP.ADD: return BigInt.asUintN(bits, x + y);
    case OP.SUB: return BigInt.asUintN(bits, x - y);
    case OP.MUL: return BigInt.asUintN(bits, x * y);
    case OP.AND: return x & y;
    case OP.OR: return x | y;
    case OP.XOR: return x ^ y;
    case OP.NEG: return BigInt.asUintN(bits, -x);
    case OP.LSH: return BigInt.asUintN(bits, x << y);
    case OP.RSH: return x >> y;
    case OP.ARSH: return BigInt.asUintN(bits, BigInt.asIntN(bits, x) >> y);
    case OP.END: {
      const low = BigInt.asUintN(imm, d);
      if (!alu64 && !toBe) return imm === 64 ? d : low;
      let out = 0n;
      for (let i = 0; i < imm; i += 8) out = (out << 8n) | ((low >> BigInt(i)) & 0xffn);
      return out;
    }
    default: return null;
  }
}

/** `dst op= src` on two scalars (src a copy). For END, `toBe` and `imm` are the insn's. */
export function adjustScalar(alu64: boolean, op: number, d: Reg, s: Reg, toBe = false, imm = 0): void {
  if (!safeToCompute(alu64, op, s)) {
    markUnknown(d);
    return;
  }
  if (d.varOff.mask === 0n && s.varOff.mask === 0n) {
    const v = constResult(alu64, op, d.varOff.value, s.varOff.value, toBe, imm);
    if (v !== null) {
      setKnown(d, v);
      // As the slow paths leave it: the bitwise ops and neg go through __mark_reg_known, which
      // clears the link; a changed value is no longer a copy (to_le 64 changes nothing).
      if (op === OP.AND || op === OP.OR || op === OP.XOR || op === OP.NEG || (op === OP.END && !(imm === 64 && !alu64 && !toBe))) {
        clearScalarId(d);
      }
      return;
    }
  }
  switch (op) {
    case OP.ADD:
      scalar32Add(d, s); scalarAdd(d, s);
      d.varOff = tnumAdd(d.varOff, s.varOff);
      break;
    case OP.SUB:
      scalar32Sub(d, s); scalarSub(d, s);
      d.varOff = tnumSub(d.varOff, s.varOff);
      break;
    case OP.NEG: {
      const old = { ...d };
      markKnown(d, 0n);
      scalar32Sub(d, old); scalarSub(d, old);
      d.varOff = tnumNeg(old.varOff);
      break;
    }
    case OP.MUL:
      d.varOff = tnumMul(d.varOff, s.varOff);
      scalar32Mul(d, s); scalarMul(d, s);
      break;
    case OP.AND:
      d.varOff = tnumAnd(d.varOff, s.varOff);
      scalar32Bitwise(op, d, s); scalarBitwise(op, d, s);
      break;
    case OP.OR:
      d.varOff = tnumOr(d.varOff, s.varOff);
      scalar32Bitwise(op, d, s); scalarBitwise(op, d, s);
      break;
    case OP.XOR:
      d.varOff = tnumXor(d.varOff, s.varOff);
      scalar32Bitwise(op, d, s); scalarBitwise(op, d, s);
      break;
    case OP.LSH:
      if (alu64) scalarLsh(d, s); else scalar32Lsh(d, s);
      break;
    case OP.RSH:
      if (alu64) scalarRsh(d, s); else scalar32Rsh(d, s);
      break;
    case OP.ARSH:
      if (alu64) scalarArsh(d, s); else scalar32Arsh(d, s);
      break;
    case OP.END:
      scalarByteSwap(d, alu64, toBe, imm);
      break;
  }
  // ALU32 results are zero-extended; END's width is its imm, not its class.
  if (!alu64 && op !== OP.END) zext32To64(d);
  regBoundsSync(d);
}

/** reg += delta for a known delta, as sync_linked_regs moves a linked copy. */
export function scalarAddConst(r: Reg, delta: bigint): void {
  const k: Reg = { ...r };
  markKnown(k, u64(delta));
  scalar32Add(r, k);
  scalarAdd(r, k);
  r.varOff = tnumAdd(r.varOff, k.varOff);
}
