// A small verifier for the programs feature probes and tests load: ALU and ALU32 instructions,
// ld_imm64 (a constant or a map fd), forward jumps and exit. It walks the program once in
// instruction order, merging the register state of every edge into an instruction, and answers
// as the kernel's verifier does for these shapes (checked on 6.18): EACCES for reading an unset
// register or writing r10, EINVAL for bad encodings, unreachable instructions, falling off the
// end, division by a zero constant and an r0 out of the type's return range. Calls, memory
// access and backward jumps (bounded loops) are beyond it and answer EINVAL.
import { Errno } from "@bpfkit/core";
import type { SimMap } from "./objects.js";
import { returnRange } from "./prog-load.js";

const CLS_ALU = 0x04, CLS_JMP = 0x05, CLS_JMP32 = 0x06, CLS_ALU64 = 0x07;
const OP_DIV = 0x30, OP_NEG = 0x80, OP_MOD = 0x90, OP_MOV = 0xb0, OP_END = 0xd0;
const JMP_JA = 0x00, JMP_CALL = 0x80, JMP_EXIT = 0x90;
const LD_IMM64 = 0x18;
const PSEUDO_MAP_FD = 1;
const REGS = 11;

interface State {
  /** Registers written on every path here (r1 = ctx and r10 = frame pointer at entry). */
  init: boolean[];
  /** Registers that may hold a pointer. */
  ptr: boolean[];
  /** r0's value when the same constant on every path, else null. */
  r0: number | null;
}

function merge(into: State | undefined, from: State): State {
  if (into === undefined) return { init: from.init.slice(), ptr: from.ptr.slice(), r0: from.r0 };
  for (let r = 0; r < REGS; r++) {
    into.init[r] = into.init[r]! && from.init[r]!;
    into.ptr[r] = into.ptr[r]! || from.ptr[r]!;
  }
  if (into.r0 !== from.r0) into.r0 = null;
  return into;
}

export interface VerifyResult {
  errno: number;
  usedMaps: SimMap[];
  verifiedInsns: number;
}

export function verifyProgram(insns: Uint8Array, progType: number, expected: number, resolveMap: (fd: number) => SimMap | number): VerifyResult {
  const fail = (errno: number): VerifyResult => ({ errno, usedMaps: [], verifiedInsns: 0 });
  const n = insns.length / 8;
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const states: (State | undefined)[] = new Array(n);
  const reg = (v: boolean, r1: boolean, r10: boolean) => Array.from({ length: REGS }, (_, r) => (r === 1 ? r1 : r === 10 ? r10 : v));
  states[0] = { init: reg(false, true, true), ptr: reg(false, true, true), r0: null };
  const used: SimMap[] = [];
  const range = returnRange(progType, expected);
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
    if ((insns[i * 8 + 1]! >> 4) === PSEUDO_MAP_FD) {
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
        st.ptr[dst] = true;
      } else if (src === 0) {
        st.ptr[dst] = false;
      } else {
        return fail(Errno.EINVAL);
      }
      st.init[dst] = true;
      if (dst === 0) st.r0 = src === 0 && dv.getInt32(at + 12, true) === 0 ? imm : null;
      i++;
      if (!flow(i + 1, st)) return fail(Errno.EINVAL);
      continue;
    }
    if (cls === CLS_JMP || cls === CLS_JMP32) {
      if (code === (CLS_JMP | JMP_EXIT)) {
        if (dst !== 0 || src !== 0 || off !== 0 || imm !== 0) return fail(Errno.EINVAL);
        if (!st.init[0]) return fail(Errno.EACCES); // R0 !read_ok
        if (range !== null && (st.ptr[0] || st.r0 === null || st.r0 < range[0] || st.r0 > range[1])) return fail(Errno.EINVAL);
        continue;
      }
      if (op === JMP_CALL || op === JMP_EXIT || op === 0xe0 || op === 0xf0) return fail(Errno.EINVAL);
      if (op === JMP_JA) {
        if (cls !== CLS_JMP || useReg || dst !== 0 || src !== 0 || imm !== 0) return fail(Errno.EINVAL);
        if (off < 0 || !flow(i + 1 + off, st)) return fail(Errno.EINVAL); // back-edges: loops are not modelled
        continue;
      }
      if (!st.init[dst] || (useReg && !st.init[src])) return fail(Errno.EACCES);
      if (!useReg && src !== 0) return fail(Errno.EINVAL);
      if (off < 0 || !flow(i + 1 + off, st) || !flow(i + 1, st)) return fail(Errno.EINVAL);
      continue;
    }
    if (cls !== CLS_ALU && cls !== CLS_ALU64) return fail(Errno.EINVAL); // memory access, calls: not modelled
    if (op > OP_END) return fail(Errno.EINVAL);
    if (op === OP_END || op === OP_NEG) {
      if (op === OP_NEG && (useReg || src !== 0 || imm !== 0)) return fail(Errno.EINVAL);
    } else if (useReg) {
      if (imm !== 0) return fail(Errno.EINVAL);
      if (!st.init[src]) return fail(Errno.EACCES);
    } else if (src !== 0) {
      return fail(Errno.EINVAL);
    }
    if (!useReg && (op === OP_DIV || op === OP_MOD) && imm === 0) return fail(Errno.EINVAL);
    if (dst === 10) return fail(Errno.EACCES); // frame pointer is read only
    if (op !== OP_MOV && !st.init[dst]) return fail(Errno.EACCES);
    st.init[dst] = true;
    st.ptr[dst] = op === OP_MOV && useReg ? st.ptr[src]! : false;
    if (dst === 0) st.r0 = op === OP_MOV && !useReg ? (cls === CLS_ALU ? imm >>> 0 : imm) : null;
    if (!flow(i + 1, st)) return fail(Errno.EINVAL); // falls off the end
  }
  return { errno: 0, usedMaps: used, verifiedInsns: processed };
}
