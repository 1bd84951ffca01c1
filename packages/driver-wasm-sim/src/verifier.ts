// A small verifier for the programs feature probes and tests load: ALU and ALU32 instructions,
// ld_imm64 (a constant or a map fd), forward jumps and exit. It walks the program once in
// instruction order, merging the register state of every edge into an instruction, and answers
// as the kernel's verifier does for these shapes (checked on 6.18): EACCES for reading an unset
// register, writing r10 or pointer arithmetic the verifier prohibits, EINVAL for bad encodings
// (check_alu_op's reserved fields and shift ranges), unreachable instructions, falling off the
// end, division by a zero constant and an r0 out of the type's return range. Calls, memory
// access and backward jumps (bounded loops) are beyond it and answer EINVAL. Constants are
// folded as the kernel's value tracking does (not through div and mod).
import { Errno } from "@bpfkit/core";
import type { SimMap } from "./objects.js";
import { enforceAttachTypeRange, returnRange } from "./prog-load.js";

const CLS_ALU = 0x04, CLS_JMP = 0x05, CLS_JMP32 = 0x06, CLS_ALU64 = 0x07;
const OP_ADD = 0x00, OP_SUB = 0x10, OP_DIV = 0x30, OP_LSH = 0x60, OP_RSH = 0x70, OP_NEG = 0x80,
  OP_MOD = 0x90, OP_MOV = 0xb0, OP_ARSH = 0xc0, OP_END = 0xd0;
const JMP_JA = 0x00, JMP_CALL = 0x80, JMP_EXIT = 0x90;
const LD_IMM64 = 0x18;
const PSEUDO_MAP_FD = 1, PSEUDO_MAP_IDX = 5, PSEUDO_MAP_IDX_VALUE = 6;
/** EPROTO: not in core's Errno table, which lists what map commands answer. */
const EPROTO = 71;
const REGS = 11;

/** What a register holds: a scalar, or a pointer of the kernel's reg types the programs here make. */
const SCALAR = 0, PTR_TO_CTX = 1, PTR_TO_STACK = 2, CONST_PTR_TO_MAP = 3, PTR_MIXED = 4;

interface State {
  /** Registers written on every path here (r1 = ctx and r10 = frame pointer at entry). */
  init: boolean[];
  /** Each register's kind (SCALAR, PTR_TO_CTX, …); PTR_MIXED where paths disagree. */
  kind: number[];
  /** Each scalar register's 64 bits (unsigned) when the same constant on every path, else null. */
  known: (bigint | null)[];
}

function merge(into: State | undefined, from: State): State {
  if (into === undefined) return { init: from.init.slice(), kind: from.kind.slice(), known: from.known.slice() };
  for (let r = 0; r < REGS; r++) {
    into.init[r] = into.init[r]! && from.init[r]!;
    if (into.kind[r] !== from.kind[r]) into.kind[r] = into.kind[r] === SCALAR && from.kind[r] === SCALAR ? SCALAR : PTR_MIXED;
    if (into.known[r] !== from.known[r]) into.known[r] = null;
  }
  return into;
}

/** check_alu_op's encoding checks ("… uses reserved fields", "invalid BPF_ALU opcode"): 0 or EINVAL. */
function aluFieldsErrno(alu64: boolean, op: number, useReg: boolean, src: number, off: number, imm: number): number {
  switch (op) {
    case OP_NEG:
      return useReg || src !== 0 || off !== 0 || imm !== 0 ? Errno.EINVAL : 0;
    case OP_END:
      // ALU64 END is the unconditional bswap: only its BPF_TO_LE (K) encoding exists.
      return src !== 0 || off !== 0 || (imm !== 16 && imm !== 32 && imm !== 64) || (alu64 && useReg) ? Errno.EINVAL : 0;
    case OP_MOV:
      if (!useReg) return src !== 0 || off !== 0 ? Errno.EINVAL : 0;
      // off is the sign-extension width (movsx); ALU64 off 1 is addr_space_cast, which needs an arena.
      if (imm !== 0) return Errno.EINVAL;
      return off === 0 || off === 8 || off === 16 || (alu64 && off === 32) ? 0 : Errno.EINVAL;
    default: {
      if (op > OP_END) return Errno.EINVAL;
      // off 1 is the signed variant, which only sdiv and smod have.
      const offOk = off === 0 || (off === 1 && (op === OP_DIV || op === OP_MOD));
      return !offOk || (useReg ? imm !== 0 : src !== 0) ? Errno.EINVAL : 0;
    }
  }
}

/** A mov's result from a known source: movsx sign-extends the low `off` bits; ALU32 zero-extends. */
function movValue(alu64: boolean, off: number, k: bigint): bigint {
  const v = off === 0 ? k : BigInt.asUintN(64, BigInt.asIntN(off, k));
  return alu64 ? v : BigInt.asUintN(32, v);
}

function bswap(k: bigint, bits: number): bigint {
  let out = 0n;
  for (let i = 0; i < bits; i += 8) out = (out << 8n) | ((k >> BigInt(i)) & 0xffn);
  return out;
}

/** BPF_END on a known value (a little-endian host): to_le only truncates, to_be and bswap swap. */
function endValue(alu64: boolean, toBe: boolean, imm: number, k: bigint): bigint {
  const low = BigInt.asUintN(imm, k);
  return alu64 || toBe ? bswap(low, imm) : low;
}

/**
 * The verifier's value tracking on two known scalars. It computes exact results for these ops
 * (is_safe_to_compute_dst_reg_range) and not for div and mod, whose results it leaves unknown.
 */
function foldAlu(alu64: boolean, op: number, a: bigint, b: bigint): bigint | null {
  const bits = alu64 ? 64 : 32;
  const x = BigInt.asUintN(bits, a), y = BigInt.asUintN(bits, b);
  let r: bigint;
  switch (op) {
    case OP_ADD: r = x + y; break;
    case OP_SUB: r = x - y; break;
    case 0x20: r = x * y; break; // mul
    case 0x40: r = x | y; break;
    case 0x50: r = x & y; break;
    case 0xa0: r = x ^ y; break;
    // A shift by a register is tracked only when that constant is below the width.
    case OP_LSH: if (y >= BigInt(bits)) return null; r = x << y; break;
    case OP_RSH: if (y >= BigInt(bits)) return null; r = x >> y; break;
    case OP_ARSH: if (y >= BigInt(bits)) return null; r = BigInt.asIntN(bits, x) >> y; break;
    default: return null;
  }
  return BigInt.asUintN(bits, r);
}

/**
 * adjust_reg_min_max_vals / adjust_ptr_min_max_vals for a privileged loader (allow_ptr_leaks,
 * bypass_spec_v1): the kind of the result, or -EACCES. `offKnown` is the scalar operand's value
 * when it is a known constant.
 */
function aluResultKind(alu64: boolean, op: number, dstKind: number, srcKind: number, offKnown: bigint | null): number {
  if (dstKind === SCALAR && srcKind === SCALAR) return SCALAR;
  // Two pointers: only their difference, which is a scalar.
  if (dstKind !== SCALAR && srcKind !== SCALAR) return op === OP_SUB ? SCALAR : -Errno.EACCES;
  // 32-bit ALU on a pointer: only sub, which leaves a scalar.
  if (!alu64) return op === OP_SUB ? SCALAR : -Errno.EACCES;
  const ptrKind = dstKind !== SCALAR ? dstKind : srcKind;
  // A map pointer may only have a known 0 added.
  if (ptrKind === CONST_PTR_TO_MAP && !(op === OP_ADD && offKnown === 0n)) return -Errno.EACCES;
  if (op === OP_ADD) return ptrKind;
  // "subtraction from stack pointer prohibited" (JITs may not handle it).
  if (op === OP_SUB && dstKind !== SCALAR) return ptrKind === PTR_TO_STACK ? -Errno.EACCES : ptrKind;
  // "tried to subtract pointer from scalar"; and, or, xor, mul, shifts… on a pointer: prohibited.
  return -Errno.EACCES;
}

export interface VerifyResult {
  errno: number;
  usedMaps: SimMap[];
  verifiedInsns: number;
  enforceExpectedAttachType: boolean;
}

export function verifyProgram(insns: Uint8Array, progType: number, expected: number, resolveMap: (fd: number) => SimMap | number): VerifyResult {
  const fail = (errno: number): VerifyResult => ({ errno, usedMaps: [], verifiedInsns: 0, enforceExpectedAttachType: false });
  const n = insns.length / 8;
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const states: (State | undefined)[] = new Array(n);
  const reg = (v: boolean, r1: boolean, r10: boolean) => Array.from({ length: REGS }, (_, r) => (r === 1 ? r1 : r === 10 ? r10 : v));
  states[0] = {
    init: reg(false, true, true),
    kind: Array.from({ length: REGS }, (_, r) => (r === 1 ? PTR_TO_CTX : r === 10 ? PTR_TO_STACK : SCALAR)),
    known: new Array<bigint | null>(REGS).fill(null),
  };
  const used: SimMap[] = [];
  const range = returnRange(progType, expected);
  const enforceRange = enforceAttachTypeRange(progType, expected);
  let enforce = false;
  let processed = 0;
  // Where control may go next from `i`: out of range is EINVAL ("jump out of range", or falling
  // off the end of the program).
  const flow = (to: number, st: State): boolean => {
    if (to < 0 || to >= n) return false;
    states[to] = merge(states[to], st);
    return true;
  };
  // check_subprogs: the last instruction must be exit or ja, and every jump lands inside.
  const last = insns[(n - 1) * 8]!;
  if (last !== (CLS_JMP | JMP_EXIT) && last !== (CLS_JMP | JMP_JA) && last !== (CLS_JMP32 | JMP_JA)) return fail(Errno.EINVAL);
  for (let i = 0; i < n; i++) {
    const code = insns[i * 8]!, cls = code & 0x07, op = code & 0xf0;
    if ((cls === CLS_JMP || cls === CLS_JMP32) && op !== JMP_CALL && op !== JMP_EXIT) {
      const to = i + 1 + dv.getInt16(i * 8 + 2, true);
      if (to < 0 || to >= n) return fail(Errno.EINVAL);
    }
  }
  // resolve_pseudo_ldimm64: every map fd is looked up before the program is walked.
  for (let i = 0; i < n; i++) {
    if (insns[i * 8] !== LD_IMM64) continue;
    if (i + 1 >= n) return fail(Errno.EINVAL);
    const kind = insns[i * 8 + 1]! >> 4;
    // A map reference by fd or by fd_array index keeps the second half's imm 0.
    if ((kind === PSEUDO_MAP_FD || kind === PSEUDO_MAP_IDX) && dv.getInt32(i * 8 + 12, true) !== 0) return fail(Errno.EINVAL);
    // An fd_array index with no fd_array (this API never passes one) is EPROTO.
    if (kind === PSEUDO_MAP_IDX || kind === PSEUDO_MAP_IDX_VALUE) return fail(EPROTO);
    if (kind === PSEUDO_MAP_FD) {
      const m = resolveMap(dv.getInt32(i * 8 + 4, true));
      if (typeof m === "number") return fail(-m);
    }
    i++;
  }
  for (let i = 0; i < n; i++) {
    const st = states[i];
    if (st === undefined) return fail(Errno.EINVAL); // unreachable insn
    processed++;
    const at = i * 8;
    const code = insns[at]!;
    const dst = insns[at + 1]! & 0x0f, src = insns[at + 1]! >> 4;
    const off = dv.getInt16(at + 2, true), imm = dv.getInt32(at + 4, true);
    const cls = code & 0x07, op = code & 0xf0, useReg = (code & 0x08) !== 0;
    if (dst >= REGS || src >= REGS) return fail(Errno.EINVAL);
    if (code === LD_IMM64) {
      if (i + 1 >= n || states[i + 1] !== undefined) return fail(Errno.EINVAL); // jump into the middle of ld_imm64
      if (off !== 0 || insns[at + 8] !== 0 || insns[at + 9] !== 0 || dv.getInt16(at + 10, true) !== 0) return fail(Errno.EINVAL);
      if (dst === 10) return fail(Errno.EACCES);
      if (src === PSEUDO_MAP_FD) {
        const m = resolveMap(imm);
        if (typeof m === "number") return fail(-m);
        if (!used.includes(m)) used.push(m);
        st.kind[dst] = CONST_PTR_TO_MAP;
        st.known[dst] = null;
      } else if (src === 0) {
        st.kind[dst] = SCALAR;
        st.known[dst] = (BigInt(dv.getUint32(at + 12, true)) << 32n) | BigInt(imm >>> 0);
      } else {
        return fail(Errno.EINVAL);
      }
      st.init[dst] = true;
      i++;
      if (!flow(i + 1, st)) return fail(Errno.EINVAL);
      continue;
    }
    if (cls === CLS_JMP || cls === CLS_JMP32) {
      if (code === (CLS_JMP | JMP_EXIT)) {
        // "BPF_EXIT uses reserved fields" looks at dst, src and imm, not at off.
        if (dst !== 0 || src !== 0 || imm !== 0) return fail(Errno.EINVAL);
        if (!st.init[0]) return fail(Errno.EACCES); // R0 !read_ok
        const k0 = st.known[0] ?? null;
        const r0 = k0 === null ? null : BigInt.asIntN(64, k0);
        if (range !== null && (st.kind[0] !== SCALAR || r0 === null || r0 < BigInt(range[0]) || r0 > BigInt(range[1]))) return fail(Errno.EINVAL);
        if (enforceRange !== null && r0 !== null && r0 >= BigInt(enforceRange[0]) && r0 <= BigInt(enforceRange[1])) enforce = true;
        continue;
      }
      if (op === JMP_CALL || op === JMP_EXIT || op === 0xe0 || op === 0xf0) return fail(Errno.EINVAL);
      if (op === JMP_JA) {
        if (cls !== CLS_JMP || useReg || dst !== 0 || src !== 0 || imm !== 0) return fail(Errno.EINVAL);
        if (off < 0 || !flow(i + 1 + off, st)) return fail(Errno.EINVAL); // back-edges: loops are not modelled
        continue;
      }
      // check_cond_jmp_op: dst is read first, then the form's reserved field (imm for X, src for
      // K), then src.
      if (!st.init[dst]) return fail(Errno.EACCES);
      if (useReg ? imm !== 0 : src !== 0) return fail(Errno.EINVAL);
      if (useReg && !st.init[src]) return fail(Errno.EACCES);
      if (off < 0 || !flow(i + 1 + off, st) || !flow(i + 1, st)) return fail(Errno.EINVAL);
      continue;
    }
    if (cls !== CLS_ALU && cls !== CLS_ALU64) return fail(Errno.EINVAL); // memory access, calls: not modelled
    const alu64 = cls === CLS_ALU64;
    const fields = aluFieldsErrno(alu64, op, useReg, src, off, imm);
    if (fields !== 0) return fail(fields);
    // check_alu_op's order: the source operands, then the constant checks, then the destination.
    if (useReg && op !== OP_NEG && op !== OP_END && !st.init[src]) return fail(Errno.EACCES);
    if (op !== OP_MOV && !st.init[dst]) return fail(Errno.EACCES);
    if (!useReg && (op === OP_DIV || op === OP_MOD) && imm === 0) return fail(Errno.EINVAL);
    if (!useReg && (op === OP_LSH || op === OP_RSH || op === OP_ARSH) && (imm < 0 || imm >= (alu64 ? 64 : 32))) return fail(Errno.EINVAL);
    if (dst === 10) return fail(Errno.EACCES); // frame pointer is read only
    const srcKnown = useReg ? (st.kind[src] === SCALAR ? st.known[src] ?? null : null) : BigInt.asUintN(64, BigInt(imm));
    if (op === OP_MOV) {
      if (useReg && alu64 && off === 0) {
        st.kind[dst] = st.kind[src]!;
        st.known[dst] = st.known[src] ?? null;
      } else {
        // A 32-bit or sign-extending copy of a pointer is a scalar (allowed with allow_ptr_leaks).
        st.kind[dst] = SCALAR;
        st.known[dst] = srcKnown === null ? null : movValue(alu64, useReg ? off : 0, srcKnown);
      }
    } else if (op === OP_NEG || op === OP_END) {
      const k = st.kind[dst] === SCALAR ? st.known[dst] ?? null : null;
      st.kind[dst] = SCALAR;
      st.known[dst] = k === null ? null : op === OP_NEG ? (alu64 ? BigInt.asUintN(64, -k) : BigInt.asUintN(32, -k)) : endValue(alu64, useReg, imm, k);
    } else {
      const srcKind = useReg ? st.kind[src]! : SCALAR;
      const dstKnown = st.kind[dst] === SCALAR ? st.known[dst] ?? null : null;
      const offKnown = st.kind[dst] !== SCALAR ? srcKnown : dstKnown;
      const kind = aluResultKind(alu64, op, st.kind[dst]!, srcKind, offKnown);
      if (kind < 0) return fail(-kind);
      st.kind[dst] = kind;
      st.known[dst] = kind === SCALAR && srcKind === SCALAR && dstKnown !== null && srcKnown !== null ? foldAlu(alu64, op, dstKnown, srcKnown) : null;
    }
    st.init[dst] = true;
    if (!flow(i + 1, st)) return fail(Errno.EINVAL); // falls off the end
  }
  return { errno: 0, usedMaps: used, verifiedInsns: processed, enforceExpectedAttachType: enforce };
}
