// What the verifier does to a program it accepted before it is JITed, for the instructions the
// simulator verifies: opt_hard_wire_dead_code_branches, opt_remove_dead_code, opt_remove_nops
// (a root loader's passes) and do_misc_fixups. The result's length is xlated_prog_len.
import { CLS, cls, insnEqual, isCondJump, isJmpClass, JOP, jumpOff, op, OP, SRC_X } from "./insn.js";
import type { Insn } from "./insn.js";

const NOP: Insn = { code: CLS.JMP | JOP.JA, dst: 0, src: 0, off: 0, imm: 0 };
const MAY_GOTO_0: Insn = { code: CLS.JMP | JOP.JCOND, dst: 0, src: 0, off: 0, imm: 0 };

/** bpf_remove_insns: drop `cnt` insns at `off` and move the jumps that cross them (bpf_adj_branches). */
function removeInsns(prog: Insn[], off: number, cnt: number): void {
  prog.splice(off, cnt);
  const endOld = off + cnt, endNew = off, delta = endNew - endOld;
  for (let i = 0; i < prog.length; i++) {
    const insn = prog[i]!;
    if (!isJmpClass(insn.code) || op(insn.code) === JOP.EXIT || op(insn.code) === JOP.CALL) continue;
    let d = jumpOff(insn);
    if (i < off && i + d + 1 >= endOld) d += delta;
    else if (i >= endNew && i + d + 1 < endNew) d -= delta;
    if (insn.code === (CLS.JMP32 | JOP.JA)) insn.imm = d;
    else insn.off = d;
  }
}

/** The number of insns do_misc_fixups makes of one: div and mod by a register guard against 0 and -1. */
function fixupSize(insn: Insn): number {
  const c = cls(insn.code);
  if ((c !== CLS.ALU && c !== CLS.ALU64) || (insn.code & SRC_X) === 0) return 1;
  const o = op(insn.code);
  if (o !== OP.DIV && o !== OP.MOD) return 1;
  const is64 = c === CLS.ALU64, signed = insn.off === 1;
  if (o === OP.DIV) return signed ? 8 : 4;
  return signed ? (is64 ? 7 : 9) : (is64 ? 2 : 4);
}

/** The verified program's length in insns after the rewrites; `seen` is do_check's. */
export function xlatedInsnCount(insns: readonly Insn[], seen: readonly boolean[]): number {
  const prog = insns.map((i) => ({ ...i }));
  const live = seen.slice();
  // A conditional jump one of whose sides never ran becomes `ja` to the other side.
  for (let i = 0; i < prog.length; i++) {
    const insn = prog[i]!;
    if (!isCondJump(insn.code)) continue;
    let off: number;
    if (!live[i + 1]) off = insn.off;
    else if (!live[i + 1 + insn.off]) off = 0;
    else continue;
    prog[i] = { ...NOP, off };
  }
  for (let i = 0; i < prog.length; i++) {
    let j = 0;
    while (i + j < prog.length && !live[i + j]) j++;
    if (j === 0) continue;
    removeInsns(prog, i, j);
    live.splice(i, j);
  }
  for (let i = 0; i < prog.length; i++) {
    const mayGoto0 = insnEqual(prog[i]!, MAY_GOTO_0);
    if (!mayGoto0 && !insnEqual(prog[i]!, NOP)) continue;
    removeInsns(prog, i, 1);
    // Step back one more after a may_goto 0, to catch `may_goto +1; may_goto +0`.
    i -= mayGoto0 && i > 0 ? 2 : 1;
  }
  let n = 0;
  for (const insn of prog) n += fixupSize(insn);
  return n;
}
