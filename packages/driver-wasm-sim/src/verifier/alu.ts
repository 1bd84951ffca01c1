// check_alu_op and adjust_reg_min_max_vals / adjust_ptr_min_max_vals for a loader with CAP_BPF
// and CAP_PERFMON (allow_ptr_leaks, bypass_spec_v1): the encoding checks in the kernel's order,
// then what the destination holds afterwards.
import { Errno } from "@bpfkit/core";
import { CLS, cls, isX, MAX_BPF_REG, OP, op, REG_FP } from "./insn.js";
import type { Insn } from "./insn.js";
import {
  addConstBits, BPF_ADD_CONST32, BPF_ADD_CONST64, clearScalarId, CONST_PTR_TO_MAP, constValue, copyReg, isConst, mark32Known,
  mark32Unbounded, markKnown, markUnknown, newReg,
  NOT_INIT, PTR_TO_STACK, regBoundsSanityCheck, regBoundsSync, S32_MAX, S32_MIN, S64_MAX, S64_MIN, s32, s64,
  SCALAR, U32, u32, U64, u64, zext32To64,
} from "./reg.js";
import type { Reg } from "./reg.js";
import { adjustScalar } from "./scalar-alu.js";
import { tnumAdd, tnumConst, tnumIsConst, tnumRange, tnumSub, tnumSubreg, tnumUnknown } from "./tnum.js";

/** BPF_MAX_VAR_OFF: pointer offsets stay within ±2^29. */
const MAX_VAR_OFF = 1n << 29n;

/** What the ALU checks need from the walk. */
export interface AluEnv {
  readonly regs: Reg[];
  nextId(): number;
  /** mark_chain_precision for one register of the current state. */
  markPrecise(regno: number): void;
  /** push_stack of the current state to run the current insn again: its registers, or an errno. */
  forkHere(): Reg[] | number;
}

/** check_reg_arg(SRC_OP): 0, EINVAL for a register that does not exist, EACCES for one never written. */
export function checkRegRead(regs: readonly Reg[], regno: number): number {
  if (regno >= MAX_BPF_REG) return Errno.EINVAL;
  return regs[regno]!.type === NOT_INIT ? Errno.EACCES : 0;
}

/** check_reg_arg(DST_OP…): r10 is read only. `mark` makes the register an unknown scalar. */
export function checkRegWrite(regs: readonly Reg[], regno: number, mark: boolean): number {
  if (regno >= MAX_BPF_REG) return Errno.EINVAL;
  if (regno === REG_FP) return Errno.EACCES;
  if (mark) markUnknown(regs[regno]!);
  return 0;
}

function regWidth(r: Reg): number {
  return r.umax === 0n ? 0 : r.umax.toString(2).length;
}

/** assign_scalar_id_before_mov: a copied non-constant scalar shares an id with its copy. */
function assignScalarIdBeforeMov(env: AluEnv, src: Reg): void {
  if (src.type !== SCALAR) return;
  if (addConstBits(src.id) !== 0) clearScalarId(src);
  if (src.id === 0 && !tnumIsConst(src.varOff)) src.id = env.nextId();
}

const sext = (bits: number, v: bigint) => BigInt.asIntN(bits, v);

/** coerce_reg_to_size_sx: a 64-bit movsx of the low `size` bytes. */
function coerceRegToSizeSx(r: Reg, size: number): void {
  const bits = size * 8;
  if (tnumIsConst(r.varOff)) {
    r.varOff = tnumConst(u64(sext(bits, r.varOff.value)));
    const v = r.varOff.value;
    r.smin = r.smax = s64(v);
    r.umin = r.umax = v;
    r.s32min = r.s32max = s32(v);
    r.u32min = r.u32max = u32(v);
    return;
  }
  const nb = BigInt(bits);
  if (((u64(r.smax) >> nb) << nb) === ((u64(r.smin) >> nb) << nb)) {
    const a = sext(bits, u64(r.smax)), b = sext(bits, u64(r.smin));
    const hi = a > b ? a : b, lo = a < b ? a : b;
    if ((hi >= 0n) === (lo >= 0n)) {
      r.smin = lo; r.s32min = s32(lo);
      r.smax = hi; r.s32max = s32(hi);
      r.umin = u64(lo); r.u32min = u32(lo);
      r.umax = u64(hi); r.u32max = u32(hi);
      r.varOff = tnumRange(u64(lo), u64(hi));
      return;
    }
  }
  const m = 1n << (nb - 1n);
  r.smin = r.s32min = -m;
  r.smax = r.s32max = m - 1n;
  r.umin = r.u32min = 0n;
  r.umax = U64;
  r.u32max = U32;
  r.varOff = tnumUnknown;
}

/** coerce_subreg_to_size_sx: a 32-bit movsx of the low `size` bytes. */
function coerceSubregToSizeSx(r: Reg, size: number): void {
  const bits = size * 8;
  if (tnumIsConst(r.varOff)) {
    r.varOff = tnumConst(u64(sext(bits, u32(r.varOff.value))));
    const v = u32(r.varOff.value);
    r.s32min = r.s32max = s32(v);
    r.u32min = r.u32max = v;
    return;
  }
  const nb = BigInt(bits);
  if (((u32(r.s32max) >> nb) << nb) === ((u32(r.s32min) >> nb) << nb)) {
    const a = sext(bits, u32(r.s32max)), b = sext(bits, u32(r.s32min));
    const hi = a > b ? a : b, lo = a < b ? a : b;
    if ((lo >= 0n) === (hi >= 0n)) {
      r.s32min = lo; r.s32max = hi;
      r.u32min = u32(lo); r.u32max = u32(hi);
      r.varOff = tnumSubreg(tnumRange(u64(lo), u64(hi)));
      return;
    }
  }
  const m = 1n << (nb - 1n);
  r.s32min = -m;
  r.s32max = m - 1n;
  r.u32min = 0n;
  r.u32max = U32;
  r.varOff = tnumSubreg(tnumUnknown);
}

/** check_reg_sane_offset: offsets that pointer math may produce. */
function saneOffset(r: Reg): boolean {
  const v = s64(r.varOff.value);
  if (tnumIsConst(r.varOff) && (v >= MAX_VAR_OFF || v <= -MAX_VAR_OFF)) return false;
  if (BigInt(r.off) >= MAX_VAR_OFF || BigInt(r.off) <= -MAX_VAR_OFF) return false;
  if (r.smin === S64_MIN) return false;
  return !(r.smin >= MAX_VAR_OFF || r.smin <= -MAX_VAR_OFF);
}

const fitsS32 = (x: bigint) => x >= S32_MIN && x <= S32_MAX;

/** adjust_ptr_min_max_vals: `dst = ptr op offReg`, where dst may be either operand. */
function adjustPtr(insn: Insn, ptr: Reg, offReg: Reg, dst: Reg): number {
  const o = op(insn.code);
  const known = tnumIsConst(offReg.varOff);
  const sminVal = offReg.smin, smaxVal = offReg.smax, uminVal = offReg.umin, umaxVal = offReg.umax;
  const sminPtr = ptr.smin, smaxPtr = ptr.smax, uminPtr = ptr.umin, umaxPtr = ptr.umax;
  const ptrType = ptr.type, ptrOff = ptr.off, ptrMap = ptr.map, ptrVarOff = ptr.varOff, ptrId = ptr.id;
  const offVarOff = offReg.varOff;
  const dstIsOff = dst === offReg;
  // Bounds a dead branch left inconsistent taint the result.
  if ((known && (sminVal !== smaxVal || uminVal !== umaxVal)) || sminVal > smaxVal || uminVal > umaxVal) {
    markUnknown(dst);
    return 0;
  }
  // 32-bit ALU on a pointer: only sub, which leaves a meaningless scalar.
  if (cls(insn.code) !== CLS.ALU64) {
    if (o === OP.SUB) {
      markUnknown(dst);
      return 0;
    }
    return Errno.EACCES;
  }
  // A map pointer may only have a known 0 added.
  if (ptrType === CONST_PTR_TO_MAP && !(known && sminVal === 0n && o === OP.ADD)) return Errno.EACCES;
  dst.type = ptrType;
  dst.id = ptrId;
  if (!saneOffset(offReg) || !saneOffset(ptr)) return Errno.EINVAL;
  mark32Unbounded(dst);
  switch (o) {
    case OP.ADD:
      if (known && fitsS32(BigInt(ptrOff) + sminVal)) {
        dst.smin = sminPtr; dst.smax = smaxPtr; dst.umin = uminPtr; dst.umax = umaxPtr;
        dst.varOff = ptrVarOff;
        dst.off = ptrOff + Number(sminVal);
        dst.map = ptrMap;
        break;
      }
      {
        const smin = sminPtr + sminVal, smax = smaxPtr + smaxVal;
        if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
          dst.smin = S64_MIN; dst.smax = S64_MAX;
        } else {
          dst.smin = smin; dst.smax = smax;
        }
        const umin = uminPtr + uminVal, umax = umaxPtr + umaxVal;
        if (umin > U64 || umax > U64) {
          dst.umin = 0n; dst.umax = U64;
        } else {
          dst.umin = umin; dst.umax = umax;
        }
      }
      dst.varOff = tnumAdd(ptrVarOff, offVarOff);
      dst.off = ptrOff;
      dst.map = ptrMap;
      break;
    case OP.SUB:
      if (dstIsOff) return Errno.EACCES; // "tried to subtract pointer from scalar"
      if (ptrType === PTR_TO_STACK) return Errno.EACCES; // "subtraction from stack pointer prohibited"
      if (known && fitsS32(BigInt(ptrOff) - sminVal)) {
        dst.smin = sminPtr; dst.smax = smaxPtr; dst.umin = uminPtr; dst.umax = umaxPtr;
        dst.varOff = ptrVarOff;
        dst.off = ptrOff - Number(sminVal);
        dst.map = ptrMap;
        break;
      }
      {
        const smin = sminPtr - smaxVal, smax = smaxPtr - sminVal;
        if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
          dst.smin = S64_MIN; dst.smax = S64_MAX;
        } else {
          dst.smin = smin; dst.smax = smax;
        }
        if (uminPtr < umaxVal) {
          dst.umin = 0n; dst.umax = U64;
        } else {
          dst.umin = uminPtr - umaxVal; dst.umax = umaxPtr - uminVal;
        }
      }
      dst.varOff = tnumSub(ptrVarOff, offVarOff);
      dst.off = ptrOff;
      dst.map = ptrMap;
      break;
    default:
      // Bitwise ops, mul, shifts… on a pointer.
      return Errno.EACCES;
  }
  if (!saneOffset(dst)) return Errno.EINVAL;
  regBoundsSync(dst);
  return 0;
}

/**
 * maybe_fork_scalars: a scalar that is -1 or 0 (an `s>>= 63` mask) meeting `&` or `|` with a
 * constant is verified twice, as 0 (a branch run later from this insn) and as -1.
 */
function maybeForkScalars(env: AluEnv, insn: Insn, dst: Reg): number {
  let alu32: boolean;
  if (dst.smin === -1n && dst.smax === 0n) alu32 = false;
  else if (dst.s32min === -1n && dst.s32max === 0n) alu32 = true;
  else return 0;
  const branch = env.forkHere();
  if (typeof branch === "number") return branch;
  if (alu32) {
    mark32Known(branch[insn.dst]!, 0n);
    mark32Known(dst, U32);
  } else {
    markKnown(branch[insn.dst]!, 0n);
    markKnown(dst, U64);
  }
  return 0;
}

/** adjust_reg_min_max_vals: the two-operand ALU ops but MOV. */
function adjustRegMinMax(env: AluEnv, insn: Insn): number {
  const regs = env.regs;
  const dst = regs[insn.dst]!;
  const alu32 = cls(insn.code) !== CLS.ALU64;
  const o = op(insn.code);
  let src: Reg;
  if (isX(insn.code)) {
    src = regs[insn.src]!;
    if (src.type !== SCALAR) {
      if (dst.type !== SCALAR) {
        // Two pointers: only their difference, a scalar.
        if (o === OP.SUB) {
          markUnknown(dst);
          return 0;
        }
        return Errno.EACCES;
      }
      env.markPrecise(insn.dst);
      return adjustPtr(insn, src, dst, dst);
    }
    if (dst.type !== SCALAR) {
      env.markPrecise(insn.src);
      return adjustPtr(insn, dst, src, dst);
    }
    if (dst.precise) env.markPrecise(insn.src);
  } else {
    src = newReg();
    src.type = SCALAR;
    markKnown(src, u64(BigInt(insn.imm)));
    if (dst.type !== SCALAR) return adjustPtr(insn, dst, src, dst);
  }
  if ((o === OP.AND || o === OP.OR) && tnumIsConst(src.varOff)) {
    const err = maybeForkScalars(env, insn, dst);
    if (err !== 0) return err;
  }
  // A 32-bit delta only relates copies whose values fit in 32 bits before the op.
  const dstUmax = dst.umax;
  adjustScalar(!alu32, o, dst, copyReg(src));
  // rX += K or rX -= K after rX = rY: remember the delta, so that a branch on rY moves rX too.
  // rX += rX is no delta: src is dst, already changed (6.18 stable skips it).
  const selfOp = isX(insn.code) && insn.src === insn.dst;
  if ((o === OP.ADD || o === OP.SUB) && dst.id !== 0 && isConst(src, alu32) && !selfOp) {
    const val = constValue(src, alu32);
    let off = Number(BigInt.asIntN(32, val));
    let clear = (!alu32 && (s64(val) < S32_MIN || s64(val) > S32_MAX)) ||
      (alu32 && (addConstBits(dst.id) === BPF_ADD_CONST64 || dstUmax > U32));
    if (!clear && o === OP.SUB) {
      if (off === -(2 ** 31)) clear = true;
      else off = -off;
    }
    if (clear || addConstBits(dst.id) !== 0) {
      clearScalarId(dst);
    } else {
      dst.id += alu32 ? BPF_ADD_CONST32 : BPF_ADD_CONST64;
      dst.off = off;
    }
  } else {
    clearScalarId(dst);
  }
  return 0;
}

/** check_alu_op: 0 or a positive errno. */
export function checkAluOp(env: AluEnv, insn: Insn): number {
  const regs = env.regs;
  const o = op(insn.code);
  const alu64 = cls(insn.code) === CLS.ALU64;
  const x = isX(insn.code);
  let err: number;
  if (o === OP.END || o === OP.NEG) {
    if (o === OP.NEG) {
      if (x || insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) return Errno.EINVAL;
    } else if (insn.src !== 0 || insn.off !== 0 || (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) || (alu64 && x)) {
      return Errno.EINVAL;
    }
    if ((err = checkRegRead(regs, insn.dst)) !== 0) return err;
    const d = regs[insn.dst]!;
    if (d.type === SCALAR) {
      if ((err = checkRegWrite(regs, insn.dst, false)) !== 0) return err;
      adjustScalar(alu64, o, d, copyReg(d), x, insn.imm);
    } else if ((err = checkRegWrite(regs, insn.dst, true)) !== 0) {
      return err;
    }
  } else if (o === OP.MOV) {
    if (x) {
      // ALU64 off 1 is addr_space_cast, which needs an arena map the simulator lacks.
      const offOk = insn.off === 0 || insn.off === 8 || insn.off === 16 || (alu64 && insn.off === 32);
      if (!offOk || insn.imm !== 0) return Errno.EINVAL;
      if ((err = checkRegRead(regs, insn.src)) !== 0) return err;
    } else if (insn.src !== 0 || insn.off !== 0) {
      return Errno.EINVAL;
    }
    if ((err = checkRegWrite(regs, insn.dst, false)) !== 0) return err;
    const dst = regs[insn.dst]!;
    if (x) {
      const src = regs[insn.src]!;
      if (alu64) {
        if (insn.off === 0) {
          assignScalarIdBeforeMov(env, src);
          Object.assign(dst, copyReg(src));
        } else if (src.type === SCALAR) {
          const noSext = src.umax < 1n << BigInt(insn.off - 1);
          if (noSext) assignScalarIdBeforeMov(env, src);
          Object.assign(dst, copyReg(src));
          if (!noSext) clearScalarId(dst);
          coerceRegToSizeSx(dst, insn.off >> 3);
        } else {
          markUnknown(dst);
        }
      } else {
        if (src.type === SCALAR) {
          if (insn.off === 0) {
            const isU32 = regWidth(src) <= 32;
            if (isU32) assignScalarIdBeforeMov(env, src);
            Object.assign(dst, copyReg(src));
            if (!isU32) clearScalarId(dst);
          } else {
            const noSext = src.umax < 1n << BigInt(insn.off - 1);
            if (noSext) assignScalarIdBeforeMov(env, src);
            Object.assign(dst, copyReg(src));
            if (!noSext) clearScalarId(dst);
            coerceSubregToSizeSx(dst, insn.off >> 3);
          }
        } else {
          // A partial copy of a pointer is an unknown scalar (allow_ptr_leaks).
          markUnknown(dst);
        }
        zext32To64(dst);
        regBoundsSync(dst);
      }
    } else {
      markUnknown(dst);
      markKnown(dst, alu64 ? u64(BigInt(insn.imm)) : BigInt(insn.imm >>> 0));
    }
  } else if (o > OP.END) {
    return Errno.EINVAL;
  } else {
    // off 1 is the signed variant, which only sdiv and smod have.
    const offOk = insn.off === 0 || (insn.off === 1 && (o === OP.MOD || o === OP.DIV));
    if (x) {
      if (insn.imm !== 0 || !offOk) return Errno.EINVAL;
      if ((err = checkRegRead(regs, insn.src)) !== 0) return err;
    } else if (insn.src !== 0 || !offOk) {
      return Errno.EINVAL;
    }
    if ((err = checkRegRead(regs, insn.dst)) !== 0) return err;
    if ((o === OP.MOD || o === OP.DIV) && !x && insn.imm === 0) return Errno.EINVAL; // "div by zero"
    if ((o === OP.LSH || o === OP.RSH || o === OP.ARSH) && !x && (insn.imm < 0 || insn.imm >= (alu64 ? 64 : 32))) {
      return Errno.EINVAL; // "invalid shift"
    }
    if ((err = checkRegWrite(regs, insn.dst, false)) !== 0) return err;
    if ((err = adjustRegMinMax(env, insn)) !== 0) return err;
  }
  regBoundsSanityCheck(regs[insn.dst]!);
  return 0;
}
