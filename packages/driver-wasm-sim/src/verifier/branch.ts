// Conditional jumps in the verifier: is_branch_taken (which way a comparison must go, from the
// operands' bounds) and reg_set_min_max (what each branch learns about its operands).
import { JOP, SRC_X } from "./insn.js";
import {
  constValue, isConst, isPointer, markUnbounded, regBoundsSync, regBoundsSanityCheck, regNotNull, SCALAR, s32, s64,
  u32,
} from "./reg.js";
import type { Reg } from "./reg.js";
import { tnumAnd, tnumConst, tnumIntersect, tnumIsConst, tnumOr, tnumOverlap, tnumSubreg, tnumWithSubreg } from "./tnum.js";

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** flip_opcode: the comparison with its operands swapped. */
export function flipOpcode(o: number): number {
  switch (o) {
    case JOP.JGE: return JOP.JLE;
    case JOP.JGT: return JOP.JLT;
    case JOP.JLE: return JOP.JGE;
    case JOP.JLT: return JOP.JGT;
    case JOP.JSGE: return JOP.JSLE;
    case JOP.JSGT: return JOP.JSLT;
    case JOP.JSLE: return JOP.JSGE;
    case JOP.JSLT: return JOP.JSGT;
    default: return o;
  }
}

/** rev_opcode: the negated comparison; JSET's is written JSET | BPF_X. */
function revOpcode(o: number): number {
  switch (o) {
    case JOP.JEQ: return JOP.JNE;
    case JOP.JNE: return JOP.JEQ;
    case JOP.JSET: return JOP.JSET | SRC_X;
    case JOP.JSET | SRC_X: return JOP.JSET;
    case JOP.JGE: return JOP.JLT;
    case JOP.JGT: return JOP.JLE;
    case JOP.JLE: return JOP.JGT;
    case JOP.JLT: return JOP.JGE;
    case JOP.JSGE: return JOP.JSLT;
    case JOP.JSGT: return JOP.JSLE;
    case JOP.JSLE: return JOP.JSGT;
    case JOP.JSLT: return JOP.JSGE;
    default: return 0;
  }
}

function isScalarBranchTaken(r1: Reg, r2: Reg, o: number, jmp32: boolean): number {
  let t1 = jmp32 ? tnumSubreg(r1.varOff) : r1.varOff;
  let t2 = jmp32 ? tnumSubreg(r2.varOff) : r2.varOff;
  const umin1 = jmp32 ? r1.u32min : r1.umin, umax1 = jmp32 ? r1.u32max : r1.umax;
  const smin1 = jmp32 ? r1.s32min : r1.smin, smax1 = jmp32 ? r1.s32max : r1.smax;
  const umin2 = jmp32 ? r2.u32min : r2.umin, umax2 = jmp32 ? r2.u32max : r2.umax;
  const smin2 = jmp32 ? r2.s32min : r2.smin, smax2 = jmp32 ? r2.s32max : r2.smax;
  switch (o) {
    case JOP.JEQ: case JOP.JNE: {
      const eq = o === JOP.JEQ ? 1 : 0, ne = 1 - eq;
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value === t2.value ? eq : ne;
      if (!tnumOverlap(t1, t2)) return ne;
      if (umin1 > umax2 || umax1 < umin2) return ne;
      if (smin1 > smax2 || smax1 < smin2) return ne;
      if (!jmp32) {
        // The 32-bit subranges may rule it out where the 64-bit ones do not.
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return ne;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return ne;
      }
      return -1;
    }
    case JOP.JSET: {
      if (!isConst(r2, jmp32)) [r1, r2, t1, t2] = [r2, r1, t2, t1];
      if (!isConst(r2, jmp32)) return -1;
      if ((~t1.mask & t1.value & t2.value) !== 0n) return 1;
      if (((t1.mask | t1.value) & t2.value) === 0n) return 0;
      return -1;
    }
    case JOP.JGT: return umin1 > umax2 ? 1 : umax1 <= umin2 ? 0 : -1;
    case JOP.JSGT: return smin1 > smax2 ? 1 : smax1 <= smin2 ? 0 : -1;
    case JOP.JLT: return umax1 < umin2 ? 1 : umin1 >= umax2 ? 0 : -1;
    case JOP.JSLT: return smax1 < smin2 ? 1 : smin1 >= smax2 ? 0 : -1;
    case JOP.JGE: return umin1 >= umax2 ? 1 : umax1 < umin2 ? 0 : -1;
    case JOP.JSGE: return smin1 >= smax2 ? 1 : smax1 < smin2 ? 0 : -1;
    case JOP.JLE: return umax1 <= umin2 ? 1 : umin1 > umax2 ? 0 : -1;
    case JOP.JSLE: return smax1 <= smin2 ? 1 : smin1 > smax2 ? 0 : -1;
    default: return -1;
  }
}

/** is_branch_taken: 1 (always jumps), 0 (never) or -1 (either). */
export function isBranchTaken(r1: Reg, r2: Reg, o: number, jmp32: boolean): number {
  if (isPointer(r1) || isPointer(r2)) {
    // A non-NULL pointer against the constant 0 decides JEQ and JNE; nothing else does.
    if (!isConst(r2, jmp32)) {
      o = flipOpcode(o);
      [r1, r2] = [r2, r1];
    }
    if (!isConst(r2, jmp32)) return -1;
    if (!regNotNull(r1)) return -1;
    if (constValue(r2, jmp32) !== 0n) return -1;
    return o === JOP.JEQ ? 0 : o === JOP.JNE ? 1 : -1;
  }
  return isScalarBranchTaken(r1, r2, o, jmp32);
}

function refineCondOp(r1: Reg, r2: Reg, o: number, jmp32: boolean): void {
  if (o === JOP.JGE || o === JOP.JGT || o === JOP.JSGE || o === JOP.JSGT) {
    o = flipOpcode(o);
    [r1, r2] = [r2, r1];
  }
  switch (o) {
    case JOP.JEQ:
      if (jmp32) {
        r1.u32min = max(r1.u32min, r2.u32min); r1.u32max = min(r1.u32max, r2.u32max);
        r1.s32min = max(r1.s32min, r2.s32min); r1.s32max = min(r1.s32max, r2.s32max);
        r2.u32min = r1.u32min; r2.u32max = r1.u32max; r2.s32min = r1.s32min; r2.s32max = r1.s32max;
        const t = tnumIntersect(tnumSubreg(r1.varOff), tnumSubreg(r2.varOff));
        r1.varOff = tnumWithSubreg(r1.varOff, t);
        r2.varOff = tnumWithSubreg(r2.varOff, t);
      } else {
        r1.umin = max(r1.umin, r2.umin); r1.umax = min(r1.umax, r2.umax);
        r1.smin = max(r1.smin, r2.smin); r1.smax = min(r1.smax, r2.smax);
        r2.umin = r1.umin; r2.umax = r1.umax; r2.smin = r1.smin; r2.smax = r1.smax;
        r1.varOff = tnumIntersect(r1.varOff, r2.varOff);
        r2.varOff = r1.varOff;
      }
      break;
    case JOP.JNE: {
      if (!isConst(r2, jmp32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, jmp32)) break;
      // A constant at the edge of the other's range moves that edge.
      const val = constValue(r2, jmp32);
      if (jmp32) {
        if (r1.u32min === u32(val)) r1.u32min++;
        if (r1.u32max === u32(val)) r1.u32max--;
        if (r1.s32min === s32(val)) r1.s32min++;
        if (r1.s32max === s32(val)) r1.s32max--;
      } else {
        if (r1.umin === val) r1.umin++;
        if (r1.umax === val) r1.umax--;
        if (r1.smin === s64(val)) r1.smin++;
        if (r1.smax === s64(val)) r1.smax--;
      }
      break;
    }
    case JOP.JSET: {
      if (!isConst(r2, jmp32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, jmp32)) break;
      const val = constValue(r2, jmp32);
      // Only a single bit says which bit is set.
      if (val === 0n || (val & (val - 1n)) !== 0n) break;
      if (jmp32) r1.varOff = tnumWithSubreg(r1.varOff, tnumOr(tnumSubreg(r1.varOff), tnumConst(val)));
      else r1.varOff = tnumOr(r1.varOff, tnumConst(val));
      break;
    }
    case JOP.JSET | SRC_X: {
      if (!isConst(r2, jmp32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, jmp32)) break;
      const val = constValue(r2, jmp32);
      markUnbounded(r1);
      if (jmp32) r1.varOff = tnumWithSubreg(r1.varOff, tnumAnd(tnumSubreg(r1.varOff), tnumConst(~val)));
      else r1.varOff = tnumAnd(r1.varOff, tnumConst(~val));
      break;
    }
    case JOP.JLE:
      if (jmp32) {
        r1.u32max = min(r1.u32max, r2.u32max); r2.u32min = max(r1.u32min, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax); r2.umin = max(r1.umin, r2.umin);
      }
      break;
    case JOP.JLT:
      if (jmp32) {
        r1.u32max = min(r1.u32max, u32(r2.u32max - 1n)); r2.u32min = max(u32(r1.u32min + 1n), r2.u32min);
      } else {
        r1.umax = min(r1.umax, BigInt.asUintN(64, r2.umax - 1n)); r2.umin = max(BigInt.asUintN(64, r1.umin + 1n), r2.umin);
      }
      break;
    case JOP.JSLE:
      if (jmp32) {
        r1.s32max = min(r1.s32max, r2.s32max); r2.s32min = max(r1.s32min, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax); r2.smin = max(r1.smin, r2.smin);
      }
      break;
    case JOP.JSLT:
      if (jmp32) {
        r1.s32max = min(r1.s32max, s32(r2.s32max - 1n)); r2.s32min = max(s32(r1.s32min + 1n), r2.s32min);
      } else {
        r1.smax = min(r1.smax, s64(r2.smax - 1n)); r2.smin = max(s64(r1.smin + 1n), r2.smin);
      }
      break;
  }
}

/**
 * reg_set_min_max: the jump (true) branch learns `o`, the fall-through (false) branch its
 * negation. Pointers learn nothing.
 */
export function regSetMinMax(trueR1: Reg, trueR2: Reg, falseR1: Reg, falseR2: Reg, o: number, jmp32: boolean): void {
  if (falseR1.type !== SCALAR || falseR2.type !== SCALAR) return;
  refineCondOp(falseR1, falseR2, revOpcode(o), jmp32);
  regBoundsSync(falseR1);
  regBoundsSync(falseR2);
  refineCondOp(trueR1, trueR2, o, jmp32);
  regBoundsSync(trueR1);
  regBoundsSync(trueR2);
  for (const r of [trueR1, trueR2, falseR1, falseR2]) regBoundsSanityCheck(r);
}
