// A verifier for the programs feature probes, tests and bpfkit's users load, answering as the
// 6.18 verifier does (bpf_check, kernel/bpf/verifier.c) for a loader with CAP_BPF, CAP_PERFMON
// and CAP_NET_ADMIN. It runs the kernel's passes in the kernel's order:
//
//   check_btf_info_early → add_subprog_and_kfunc → check_subprogs → check_btf_info →
//   resolve_pseudo_ldimm64 → check_cfg → check_attach_btf_id →
//   compute_live_registers → do_check → the dead-code and nop passes → do_misc_fixups
//
// and models what they do for ALU and ALU32 instructions (with the kernel's tnum and bounds
// tracking), ld_imm64 (a constant, a map, or a pointer into an ARRAY's value), jumps (JMP and
// JMP32, gotol, forward or backward without a loop) and exit, with the r0 range each program
// type must return. do_check walks every path as the kernel does (fall-through first), prunes
// with the kernel's checkpoints, precision marks and liveness, so verified_insns, the dead code
// removed and xlated_prog_len are the kernel's.
//
// Programs of several functions (BPF_PSEUDO_CALL, and callbacks by ld_imm64 BPF_PSEUDO_FUNC)
// go through the passes up to resolve_pseudo_ldimm64 as the kernel's (subprogs.ts, with the
// program's BTF in btf-info.ts), and are refused (EINVAL) before check_cfg: the walk has one
// frame. Not modelled either, answering EINVAL where the kernel would go on: helper calls,
// kfuncs (refused in add_subprog_and_kfunc, which needs the kernel's BTF), ld_imm64 of a BTF
// id, memory access (LDX, ST, STX, atomics and the legacy packet loads), may_goto, and loops (a
// jump that closes a cycle). A path that reaches one is refused there; errors the kernel finds
// before it come out as the kernel's. Loads without privilege are verified as root's would be,
// but for add_subprog_and_kfunc's EPERM.
import { Errno } from "@bpfkit/core";
import type { SimMap } from "../objects.js";
import type { SimBtf } from "../btf/sim-btf.js";
import { checkBtfInfo, checkBtfInfoEarly, type ProgBtfAttr } from "./btf-info.js";
import { checkCfg } from "./cfg.js";
import { doCheck } from "./do-check.js";
import { decode } from "./insn.js";
import { resolvePseudoLdimm64 } from "./ldimm64.js";
import { addSubprogs, checkSubprogs, namesFunction } from "./subprogs.js";
import { xlatedInsnCount } from "./rewrite.js";
import { enforceAttachTypeRange, PROG, returnRange } from "../prog-load.js";

export interface VerifyInput {
  progType: number;
  /** After bpf_prog_load_fixup_attach_type. */
  expectedAttachType: number;
  gplCompatible: boolean;
  /** An fd of the loading process: its map, or -EBADF / -EINVAL. */
  resolveMap(fd: number): SimMap | number;
  /** prog_btf_fd, func_info and line_info; left out, the program has none. */
  btf?: ProgBtfAttr;
  /** env->bpf_capable: CAP_BPF, without which a program may name no function (EPERM). */
  bpfCapable: boolean;
}

export interface VerifyResult {
  errno: number;
  usedMaps: SimMap[];
  /** verified_insns: the instructions do_check processed. */
  verifiedInsns: number;
  /** The program after the verifier's rewrites, in insns (xlated_prog_len / 8). */
  xlatedInsns: number;
  enforceExpectedAttachType: boolean;
  /** The BTF the program holds from its load (prog->aux->btf), null without func_info or line_info. */
  btf: SimBtf | null;
  /** nr_func_info and nr_line_info in its info. */
  nrFuncInfo: number;
  nrLineInfo: number;
}

/** check_attach_btf_id for a program loaded without BTF, prog_flags or attach_btf_id. */
function checkAttachBtfId(progType: number, gplCompatible: boolean): number {
  switch (progType) {
    case PROG.SYSCALL: return Errno.EINVAL; // "Syscall programs can only be sleepable"
    case PROG.STRUCT_OPS: return gplCompatible ? Errno.ENOTSUPP : Errno.EINVAL;
    case PROG.TRACING: case PROG.LSM: case PROG.EXT: return Errno.EINVAL; // "must provide btf_id"
    default: return 0;
  }
}

export function verifyProgram(bytes: Uint8Array, input: VerifyInput): VerifyResult {
  const fail = (errno: number): VerifyResult => ({
    errno, usedMaps: [], verifiedInsns: 0, xlatedInsns: 0, enforceExpectedAttachType: false, btf: null, nrFuncInfo: 0, nrLineInfo: 0,
  });
  const insns = decode(bytes);
  const early = input.btf === undefined ? { btf: null, funcs: [] } : checkBtfInfoEarly(input.btf);
  if (typeof early === "number") return fail(early);
  const starts = addSubprogs(insns, input.bpfCapable);
  if (typeof starts === "number") return fail(starts);
  const subs = checkSubprogs(insns, starts);
  if (typeof subs === "number") return fail(subs);
  let err = checkBtfInfo(input.btf, early, insns, subs);
  if (err !== 0) return fail(err);
  const resolved = resolvePseudoLdimm64(insns, input.resolveMap);
  if (typeof resolved === "number") return fail(resolved);
  // BPF-to-BPF calls and callbacks are not walked: refused where check_cfg would take them on.
  if (insns.some(namesFunction)) return fail(Errno.EINVAL);
  const cfg = checkCfg(insns);
  if (typeof cfg === "number") return fail(cfg);
  err = checkAttachBtfId(input.progType, input.gplCompatible);
  if (err !== 0) return fail(err);
  const r = doCheck({
    insns, cfg, ldImm64: resolved.ldImm64,
    retRange: returnRange(input.progType, input.expectedAttachType),
    enforceRange: enforceAttachTypeRange(input.progType, input.expectedAttachType),
  });
  if (r.errno !== 0) return fail(r.errno);
  return {
    errno: 0, usedMaps: resolved.usedMaps, verifiedInsns: r.insnProcessed,
    xlatedInsns: xlatedInsnCount(insns, r.seen), enforceExpectedAttachType: r.enforceExpectedAttachType,
    btf: early.btf, nrFuncInfo: input.btf?.func.count ?? 0, nrLineInfo: input.btf?.line.count ?? 0,
  };
}
