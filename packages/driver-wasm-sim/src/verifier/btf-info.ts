// A program's BTF as the verifier takes it (kernel/bpf/verifier.c): check_btf_info_early, which
// takes the BTF by prog_btf_fd and reads func_info (check_btf_func_early), runs before the
// functions are known; check_btf_info, which matches func_info (check_btf_func) and line_info
// (check_btf_line) against them, after check_subprogs, and without records refuses tail calls
// and legacy packet loads outside the main program. Errnos are the kernel's; the simulator
// keeps no verifier log, so the kernel's lines are named in comments only.
import { Errno, type InfoRecords } from "@bpfkit/core";
import type { SimBtf } from "../btf/sim-btf.js";
import { BTF_KIND, isFunc, isFuncProto, isInt, skipModifiers } from "../btf/btf-types.js";
import type { Insn } from "./insn.js";
import type { Subprog } from "./subprogs.js";

/** MIN_BPF_FUNCINFO_SIZE, sizeof(struct bpf_func_info). */
const FUNC_REC = 8;
/** MIN_BPF_LINEINFO_SIZE, sizeof(struct bpf_line_info). */
const LINE_REC = 16;
/** MAX_FUNCINFO_REC_SIZE, and MAX_LINEINFO_REC_SIZE. */
const MAX_REC = 252;
/** INT_MAX / sizeof(struct bpf_line_info): more line_info records are EINVAL before the size check. */
const MAX_LINES = Math.floor(0x7fff_ffff / LINE_REC);

/** What PROG_LOAD carries for the checks: the BTF fd and both record arrays. */
export interface ProgBtfAttr {
  progBtfFd: number;
  func: InfoRecords;
  line: InfoRecords;
  /** btf_get_by_fd: the BTF object an fd of the loader holds, or -EBADF / -EINVAL. */
  resolveBtf(fd: number): SimBtf | number;
}

/** What check_btf_info_early leaves on the program: its BTF (null without records) and func_info's records. */
export interface EarlyBtf {
  btf: SimBtf | null;
  funcs: { insnOff: number; typeId: number }[];
}

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

/** bpf_check_uarg_tail_zero: the record's bytes past the kernel's struct are all zero. */
function tailZero(b: Uint8Array, at: number, known: number, recSize: number): boolean {
  for (let i = at + known; i < at + recSize; i++) if (b[i] !== 0) return false;
  return true;
}

/** check_btf_info_early: an errno, or the program's BTF and its func_info records. */
export function checkBtfInfoEarly(a: ProgBtfAttr): number | EarlyBtf {
  if (a.func.count === 0 && a.line.count === 0) return { btf: null, funcs: [] };
  const btf = a.resolveBtf(a.progBtfFd);
  if (typeof btf === "number") return -btf;
  // btf_is_kernel: the kernel's own BTF (createSimDriver's kernelBtf) describes no program.
  if (btf.kernel) return Errno.EACCES;
  const funcs = checkBtfFuncEarly(a.func, btf);
  return typeof funcs === "number" ? funcs : { btf, funcs };
}

function checkBtfFuncEarly(f: InfoRecords, btf: SimBtf): number | EarlyBtf["funcs"] {
  if (f.count === 0) return [];
  // "invalid func info rec size %u"
  if (f.recSize < FUNC_REC || f.recSize > MAX_REC || f.recSize % 4 !== 0) return Errno.EINVAL;
  const out: EarlyBtf["funcs"] = [];
  let prev = 0;
  for (let i = 0; i < f.count; i++) {
    const at = i * f.recSize;
    // "nonzero tailing record in func info" (and func_info_rec_size written back as 8).
    if (!tailZero(f.bytes!, at, FUNC_REC, f.recSize)) return Errno.E2BIG;
    const insnOff = u32(f.bytes!, at), typeId = u32(f.bytes!, at + 4);
    // "nonzero insn_off %u for the first func info record", "same or smaller insn offset (%u) than previous func info record (%u)"
    if (i === 0 ? insnOff !== 0 : insnOff <= prev) return Errno.EINVAL;
    const t = btf.parsed.byId(typeId);
    if (t === null || !isFunc(t)) return Errno.EINVAL; // "invalid type id %d in func info"
    const proto = btf.parsed.byId(t.sizeType);
    if (proto === null || !isFuncProto(proto)) return Errno.EINVAL; // btf_func_check refused it at BTF_LOAD already
    out.push({ insnOff, typeId });
    prev = insnOff;
  }
  return out;
}

/**
 * check_abnormal_return: without func_info, a function other than the main one may hold no tail
 * call ("tail_call is not allowed in subprogs without BTF") and no legacy packet load ("LD_ABS
 * is not allowed in subprogs without BTF").
 */
function checkAbnormalReturn(subs: readonly Subprog[]): number {
  return subs.slice(1).some((s) => s.hasLdAbs || s.hasTailCall) ? Errno.EINVAL : 0;
}

/** check_btf_info after check_subprogs: 0 or an errno. */
export function checkBtfInfo(a: ProgBtfAttr | undefined, early: EarlyBtf, insns: readonly Insn[], subs: readonly Subprog[]): number {
  if (a === undefined || (a.func.count === 0 && a.line.count === 0)) return checkAbnormalReturn(subs);
  const err = checkBtfFunc(early, subs);
  const starts = subs.map((s) => s.start);
  return err !== 0 ? err : checkBtfLine(a.line, early.btf!, insns, starts);
}

function checkBtfFunc(early: EarlyBtf, subs: readonly Subprog[]): number {
  const funcs = early.funcs;
  if (funcs.length === 0) return checkAbnormalReturn(subs);
  // "number of funcs in func_info doesn't match number of subprogs"
  if (funcs.length !== subs.length) return Errno.EINVAL;
  const btf = early.btf!.parsed;
  for (let i = 0; i < funcs.length; i++) {
    // "func_info BTF section doesn't match subprog layout in BPF program"
    if (funcs[i]!.insnOff !== subs[i]!.start) return Errno.EINVAL;
    // A function other than the main one with a tail call or a legacy packet load must return
    // a scalar: an INT of at most 8 bytes or an enum, through modifiers ("… is only allowed in
    // functions that return 'int'.").
    const proto = btf.byId(btf.byId(funcs[i]!.typeId)!.sizeType)!;
    const ret = skipModifiers(btf, proto.sizeType).t;
    const scalar = ret !== null && ((isInt(ret) && ret.sizeType <= 8) || ret.kind === BTF_KIND.ENUM || ret.kind === BTF_KIND.ENUM64);
    if (i > 0 && !scalar && (subs[i]!.hasLdAbs || subs[i]!.hasTailCall)) return Errno.EINVAL;
  }
  return 0;
}

function checkBtfLine(l: InfoRecords, btf: SimBtf, insns: readonly Insn[], starts: readonly number[]): number {
  if (l.count === 0) return 0;
  if (l.count > MAX_LINES) return Errno.EINVAL;
  // No log line for a bad size.
  if (l.recSize < LINE_REC || l.recSize > MAX_REC || l.recSize % 4 !== 0) return Errno.EINVAL;
  let s = 0, prev = 0;
  for (let i = 0; i < l.count; i++) {
    const at = i * l.recSize;
    // "nonzero tailing record in line_info"
    if (!tailZero(l.bytes!, at, LINE_REC, l.recSize)) return Errno.E2BIG;
    const insnOff = u32(l.bytes!, at), fileOff = u32(l.bytes!, at + 4), lineOff = u32(l.bytes!, at + 8);
    // "Invalid line_info[%u].insn_off:%u (prev_offset:%u prog->len:%u)"
    if ((i > 0 && insnOff <= prev) || insnOff >= insns.length) return Errno.EINVAL;
    // "Invalid insn code at line_info[%u].insn_off": an ld_imm64's second half.
    if (insns[insnOff]!.code === 0) return Errno.EINVAL;
    // "Invalid line_info[%u].line_off or .file_name_off"
    if (btf.parsed.str(lineOff) === null || btf.parsed.str(fileOff) === null) return Errno.EINVAL;
    if (s !== starts.length) {
      if (insnOff === starts[s]) s++;
      else if (starts[s]! < insnOff) return Errno.EINVAL; // "missing bpf_line_info for func#%u"
    }
    prev = insnOff;
  }
  // "missing bpf_line_info for %u funcs starting from func#%u"
  return s !== starts.length ? Errno.EINVAL : 0;
}
