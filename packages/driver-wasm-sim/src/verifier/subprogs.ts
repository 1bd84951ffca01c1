// The program's functions, before the walk (kernel/bpf/verifier.c): add_subprog_and_kfunc finds
// where each starts (the main program at 0, each BPF_PSEUDO_CALL's and BPF_PSEUDO_FUNC
// ld_imm64's target), check_subprogs keeps every jump inside its function, ends each with an
// exit or a jump, and notes which hold a tail call or a legacy packet load (check_btf_info's
// rules for functions other than the main one). kfunc calls need the kernel's BTF: refused here.
import { Errno } from "@bpfkit/core";
import { CLS, cls, isJmpClass, JOP, jumpOff, LD_IMM64, op, PSEUDO } from "./insn.js";
import type { Insn } from "./insn.js";

/** BPF_MAX_SUBPROGS: the main program counts. */
const MAX_SUBPROGS = 256;
/** BPF_FUNC_tail_call. */
const FUNC_TAIL_CALL = 12;
/** BPF_MODE of the legacy packet loads, BPF_ABS and BPF_IND. */
const MODE_ABS = 0x20, MODE_IND = 0x40;
/** BPF_PSEUDO_CALL and BPF_PSEUDO_KFUNC_CALL: a BPF_CALL's src_reg. */
const PSEUDO_CALL = 1, PSEUDO_KFUNC_CALL = 2;

/** One function of the program (struct bpf_subprog_info, what is modelled of it). */
export interface Subprog {
  start: number;
  hasTailCall: boolean;
  hasLdAbs: boolean;
}

/** bpf_pseudo_call or bpf_pseudo_func: an instruction that names a BPF function. */
export const namesFunction = (i: Insn): boolean =>
  (i.code === (CLS.JMP | JOP.CALL) && i.src === PSEUDO_CALL) || (i.code === LD_IMM64 && i.src === PSEUDO.FUNC);

/**
 * add_subprog_and_kfunc: each function's first insn, ascending, or an errno. Without CAP_BPF any
 * function or kfunc is EPERM ("loading/calling other bpf or kernel functions are allowed for
 * CAP_BPF and CAP_SYS_ADMIN"). A main program's BTF decl tag "exception_callback:" (one more
 * function) is not modelled.
 */
export function addSubprogs(insns: readonly Insn[], bpfCapable: boolean): number | number[] {
  const starts = new Set<number>([0]);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const kfunc = insn.code === (CLS.JMP | JOP.CALL) && insn.src === PSEUDO_KFUNC_CALL;
    if (!kfunc && !namesFunction(insn)) continue;
    if (!bpfCapable) return Errno.EPERM;
    // add_kfunc_call looks the function up in the kernel's BTF, which the simulator has not.
    if (kfunc) return Errno.EINVAL;
    const to = i + insn.imm + 1;
    if (to < 0 || to >= insns.length) return Errno.EINVAL; // "call to invalid destination"
    if (!starts.has(to)) {
      if (starts.size >= MAX_SUBPROGS) return Errno.E2BIG; // "too many subprograms"
      starts.add(to);
    }
  }
  return [...starts].sort((a, b) => a - b);
}

/** check_subprogs: the functions, or EINVAL ("jump out of range from insn %d to %d", "last insn is not an exit or jmp"). */
export function checkSubprogs(insns: readonly Insn[], starts: readonly number[]): number | Subprog[] {
  const subs: Subprog[] = starts.map((start) => ({ start, hasTailCall: false, hasLdAbs: false }));
  let cur = 0;
  let begin = 0, end = starts[1] ?? insns.length;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const code = insn.code;
    if (code === (CLS.JMP | JOP.CALL) && insn.src === 0 && insn.imm === FUNC_TAIL_CALL) subs[cur]!.hasTailCall = true;
    if (cls(code) === CLS.LD && ((code & 0xe0) === MODE_ABS || (code & 0xe0) === MODE_IND)) subs[cur]!.hasLdAbs = true;
    if (isJmpClass(code) && op(code) !== JOP.EXIT && op(code) !== JOP.CALL) {
      const to = i + jumpOff(insn) + 1;
      if (to < begin || to >= end) return Errno.EINVAL;
    }
    if (i === end - 1) {
      if (code !== (CLS.JMP | JOP.EXIT) && code !== (CLS.JMP32 | JOP.JA) && code !== (CLS.JMP | JOP.JA)) return Errno.EINVAL;
      begin = end;
      cur++;
      end = starts[cur + 1] ?? insns.length;
    }
  }
  return subs;
}
