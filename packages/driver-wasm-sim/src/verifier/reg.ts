// The verifier's register state (struct bpf_reg_state) for the register types the simulator's
// programs make, and the bounds bookkeeping of kernel/bpf/verifier.c (__mark_reg_known,
// __update_reg_bounds, __reg_deduce_bounds, __reg_bound_offset, reg_bounds_sync).
import type { SimMap } from "../objects.js";
import {
  tnumConst, tnumConstSubreg, tnumIntersect, tnumIsConst, tnumOr, tnumClearSubreg, tnumRange, tnumStep,
  tnumSubreg, tnumUnknown, U32, U64,
} from "./tnum.js";
import type { Tnum } from "./tnum.js";

/** enum bpf_reg_type, the members reachable here. */
export const NOT_INIT = 0, SCALAR = 1, PTR_TO_CTX = 2, PTR_TO_STACK = 3, CONST_PTR_TO_MAP = 4,
  PTR_TO_MAP_VALUE = 5;

export const S64_MIN = -(1n << 63n), S64_MAX = (1n << 63n) - 1n;
export const S32_MIN = -(1n << 31n), S32_MAX = (1n << 31n) - 1n;
export { U32, U64 };

/** Linked scalars: ids with one of these bits went through `rX += K` (64- or 32-bit) after the copy. */
export const BPF_ADD_CONST64 = 2 ** 31, BPF_ADD_CONST32 = 2 ** 30;
export const BPF_ADD_CONST = BPF_ADD_CONST64 + BPF_ADD_CONST32;
/** id & ~BPF_ADD_CONST (ids exceed int32, so not with JavaScript's bitwise operators). */
export const baseId = (id: number): number => id % BPF_ADD_CONST32;
export const addConstBits = (id: number): number => id - baseId(id);

export interface Reg {
  type: number;
  /** Pointers: the fixed offset. Linked scalars: the constant added since the copy. */
  off: number;
  map: SimMap | null;
  varOff: Tnum;
  umin: bigint; umax: bigint; smin: bigint; smax: bigint;
  u32min: bigint; u32max: bigint; s32min: bigint; s32max: bigint;
  id: number;
  precise: boolean;
}

export const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
export const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
export const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);
export const u32 = (x: bigint): bigint => BigInt.asUintN(32, x);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

export function newReg(): Reg {
  return {
    type: NOT_INIT, off: 0, map: null, varOff: tnumUnknown,
    umin: 0n, umax: U64, smin: S64_MIN, smax: S64_MAX, u32min: 0n, u32max: U32, s32min: S32_MIN, s32max: S32_MAX,
    id: 0, precise: false,
  };
}

export const copyReg = (r: Reg): Reg => ({ ...r });

/** A scalar that is no longer a copy of another: neither the link nor its constant delta holds. */
export function clearScalarId(r: Reg): void {
  r.id = 0;
  r.off = 0;
}

export function assignReg(dst: Reg, src: Reg): void {
  Object.assign(dst, src);
}

/** ___mark_reg_known: the tnum and every bound, nothing else. */
export function setKnown(r: Reg, imm: bigint): void {
  setKnownBounds(r, imm);
}

function setKnownBounds(r: Reg, imm: bigint): void {
  r.varOff = tnumConst(imm);
  r.smin = s64(imm); r.smax = s64(imm);
  r.umin = u64(imm); r.umax = u64(imm);
  r.s32min = s32(imm); r.s32max = s32(imm);
  r.u32min = u32(imm); r.u32max = u32(imm);
}

/** __mark_reg_known: clears off and the map, keeps type and precise. */
export function markKnown(r: Reg, imm: bigint): void {
  r.off = 0;
  r.map = null;
  r.id = 0;
  setKnownBounds(r, imm);
}

export function markKnownZero(r: Reg): void {
  markKnown(r, 0n);
}

export function mark32Known(r: Reg, imm: bigint): void {
  r.varOff = tnumConstSubreg(r.varOff, u32(imm));
  r.s32min = s32(imm); r.s32max = s32(imm);
  r.u32min = u32(imm); r.u32max = u32(imm);
}

export function markUnbounded(r: Reg): void {
  r.smin = S64_MIN; r.smax = S64_MAX; r.umin = 0n; r.umax = U64;
  r.s32min = S32_MIN; r.s32max = S32_MAX; r.u32min = 0n; r.u32max = U32;
}

export function mark64Unbounded(r: Reg): void {
  r.smin = S64_MIN; r.smax = S64_MAX; r.umin = 0n; r.umax = U64;
}

export function mark32Unbounded(r: Reg): void {
  r.s32min = S32_MIN; r.s32max = S32_MAX; r.u32min = 0n; r.u32max = U32;
}

/** __mark_reg_unknown for a loader with CAP_BPF (precise stays false). */
export function markUnknown(r: Reg): void {
  r.type = SCALAR;
  r.off = 0;
  r.map = null;
  r.id = 0;
  r.varOff = tnumUnknown;
  r.precise = false;
  markUnbounded(r);
}

export function markNotInit(r: Reg): void {
  markUnknown(r);
  r.type = NOT_INIT;
}

function update32Bounds(r: Reg): void {
  const v = tnumSubreg(r.varOff);
  r.s32min = max(r.s32min, s32(v.value | (v.mask & (1n << 31n))));
  r.s32max = min(r.s32max, s32(v.value | (v.mask & S32_MAX)));
  r.u32min = max(r.u32min, v.value);
  r.u32max = min(r.u32max, v.value | v.mask);
}

function update64Bounds(r: Reg): void {
  r.smin = max(r.smin, s64(r.varOff.value | (r.varOff.mask & (1n << 63n))));
  r.smax = min(r.smax, s64(r.varOff.value | (r.varOff.mask & S64_MAX)));
  r.umin = max(r.umin, r.varOff.value);
  r.umax = min(r.umax, r.varOff.value | r.varOff.mask);
  // Where the u64 range and the tnum share one value only, that is the value. (A dead
  // branch's empty overlap ends here too, at the tnum's largest member.)
  const next = tnumStep(r.varOff, r.umin);
  const uminInTnum = (r.umin & ~r.varOff.mask) === r.varOff.value;
  const tmax = r.varOff.value | r.varOff.mask;
  if (uminInTnum && next > r.umax) setKnownBounds(r, r.umin);
  else if (!uminInTnum && next === tmax) setKnownBounds(r, tmax);
  else if (!uminInTnum && next <= r.umax && tnumStep(r.varOff, next) > r.umax) setKnownBounds(r, next);
}

export function updateRegBounds(r: Reg): void {
  update32Bounds(r);
  update64Bounds(r);
}

export { update32Bounds };

function reg32DeduceBounds(r: Reg): void {
  if ((r.umin >> 32n) === (r.umax >> 32n)) {
    r.u32min = max(r.u32min, u32(r.umin));
    r.u32max = min(r.u32max, u32(r.umax));
    if (s32(r.umin) <= s32(r.umax)) {
      r.s32min = max(r.s32min, s32(r.umin));
      r.s32max = min(r.s32max, s32(r.umax));
    }
  }
  if ((r.smin >> 32n) === (r.smax >> 32n)) {
    if (u32(r.smin) <= u32(r.smax)) {
      r.u32min = max(r.u32min, u32(r.smin));
      r.u32max = min(r.u32max, u32(r.smax));
    }
    if (s32(r.smin) <= s32(r.smax)) {
      r.s32min = max(r.s32min, s32(r.smin));
      r.s32max = min(r.s32max, s32(r.smax));
    }
  }
  // Upper halves that are two consecutive numbers while the low halves form a proper s32
  // range crossing zero.
  if (u32((r.umin >> 32n) + 1n) === u32(r.umax >> 32n) && s32(r.umin) < 0n && s32(r.umax) >= 0n) {
    r.s32min = max(r.s32min, s32(r.umin));
    r.s32max = min(r.s32max, s32(r.umax));
  }
  if (u32((r.smin >> 32n) + 1n) === u32(r.smax >> 32n) && s32(r.smin) < 0n && s32(r.smax) >= 0n) {
    r.s32min = max(r.s32min, s32(r.smin));
    r.s32max = min(r.s32max, s32(r.smax));
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = max(r.s32min, s32(r.u32min));
    r.s32max = min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = max(u32(r.s32min), r.u32min);
    r.u32max = min(u32(r.s32max), r.u32max);
  } else if (r.u32max < u32(r.s32min)) {
    // The s32 range crosses the sign boundary and the u32 range overlaps one end of it only.
    r.s32min = s32(r.u32min);
    r.u32max = min(r.u32max, u32(r.s32max));
  } else if (u32(r.s32max) < r.u32min) {
    r.s32max = s32(r.u32max);
    r.u32min = max(r.u32min, u32(r.s32min));
  }
}

function reg64DeduceBounds(r: Reg): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = max(r.smin, s64(r.umin));
    r.smax = min(r.smax, s64(r.umax));
  }
  if (u64(r.smin) <= u64(r.smax)) {
    r.umin = max(u64(r.smin), r.umin);
    r.umax = min(u64(r.smax), r.umax);
  } else if (r.umax < u64(r.smin)) {
    // The s64 range crosses the sign boundary and the u64 range overlaps one end of it only.
    r.smin = s64(r.umin);
    r.umax = min(r.umax, u64(r.smax));
  } else if (u64(r.smax) < r.umin) {
    r.smax = s64(r.umax);
    r.umin = max(r.umin, u64(r.smin));
  }
}

function regDeduceMixedBounds(r: Reg): void {
  const hi = ~U32 & U64;
  const newUmin = (r.umin & hi) | r.u32min;
  const newUmax = (r.umax & hi) | r.u32max;
  r.umin = max(r.umin, newUmin);
  r.umax = min(r.umax, newUmax);
  const newSmin = s64((u64(r.smin) & hi) | r.u32min);
  const newSmax = s64((u64(r.smax) & hi) | r.u32max);
  r.smin = max(r.smin, newSmin);
  r.smax = min(r.smax, newSmax);
  // After a sign-extending load: upper bits all 0s or all 1s.
  if (r.s32min >= 0n && r.smin >= S32_MIN && r.smax <= S32_MAX) {
    r.smin = r.s32min;
    r.smax = r.s32max;
    r.umin = u64(r.s32min);
    r.umax = u64(r.s32max);
    r.varOff = tnumIntersect(r.varOff, tnumRange(u64(r.smin), u64(r.smax)));
  }
}

function regDeduceBounds(r: Reg): void {
  reg32DeduceBounds(r);
  reg64DeduceBounds(r);
  regDeduceMixedBounds(r);
}

/** __reg_bound_offset: bits learnt from the unsigned bounds. */
function regBoundOffset(r: Reg): void {
  const var64 = tnumIntersect(r.varOff, tnumRange(r.umin, r.umax));
  const var32 = tnumIntersect(tnumSubreg(var64), tnumRange(r.u32min, r.u32max));
  r.varOff = tnumOr(tnumClearSubreg(var64), var32);
}

export function regBoundsSync(r: Reg): void {
  updateRegBounds(r);
  regDeduceBounds(r);
  regDeduceBounds(r);
  regDeduceBounds(r);
  regBoundOffset(r);
  updateRegBounds(r);
}

/** reg_bounds_sanity_check: inconsistent bounds (a dead branch's refinement) become unbounded. */
export function regBoundsSanityCheck(r: Reg): void {
  let bad = r.umin > r.umax || r.smin > r.smax || r.u32min > r.u32max || r.s32min > r.s32max;
  if (!bad && tnumIsConst(r.varOff)) {
    const v = r.varOff.value;
    bad = r.umin !== v || r.umax !== v || r.smin !== s64(v) || r.smax !== s64(v);
  }
  if (!bad && (r.varOff.mask & U32) === 0n) {
    const v = u32(r.varOff.value);
    bad = r.u32min !== v || r.u32max !== v || r.s32min !== s32(v) || r.s32max !== s32(v);
  }
  if (bad) markUnbounded(r);
}

/** __reg_assign_32_into_64 after tnum_subreg: an ALU32 result zero-extended. */
export function zext32To64(r: Reg): void {
  r.varOff = tnumSubreg(r.varOff);
  r.umin = r.u32min;
  r.umax = r.u32max;
  if (r.s32min >= 0n && r.s32max >= 0n) {
    r.smin = r.s32min;
    r.smax = r.s32max;
  } else {
    r.smin = 0n;
    r.smax = U32;
  }
}

export function isConst(r: Reg, jmp32: boolean): boolean {
  return r.type === SCALAR && tnumIsConst(jmp32 ? tnumSubreg(r.varOff) : r.varOff);
}

export function constValue(r: Reg, jmp32: boolean): bigint {
  return jmp32 ? u32(r.varOff.value) : r.varOff.value;
}

/** Pointers that are never NULL (reg_not_null), of the types here. */
export function regNotNull(r: Reg): boolean {
  return r.type === PTR_TO_MAP_VALUE || r.type === CONST_PTR_TO_MAP;
}

export const isPointer = (r: Reg): boolean => r.type !== SCALAR && r.type !== NOT_INIT;
