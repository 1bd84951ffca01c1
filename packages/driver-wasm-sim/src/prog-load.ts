// PROG_LOAD for simple programs: the kernel's attr checks (bpf_prog_load), its expected-attach
// rules (bpf_prog_load_check_attach) and a small verifier for straight-line code (ALU, ld_imm64
// with a map fd, exit), which is what feature probes and tests load. Jumps, calls and memory
// access are beyond this simulator and answer EINVAL.
import { Errno } from "@bpfkit/core";
import type { SimMap } from "./objects.js";

// enum bpf_prog_type (6.18).
export const PROG = {
  SOCKET_FILTER: 1, KPROBE: 2, SCHED_CLS: 3, SCHED_ACT: 4, TRACEPOINT: 5, XDP: 6, PERF_EVENT: 7,
  CGROUP_SKB: 8, CGROUP_SOCK: 9, LWT_IN: 10, LWT_OUT: 11, LWT_XMIT: 12, SOCK_OPS: 13, SK_SKB: 14,
  CGROUP_DEVICE: 15, SK_MSG: 16, RAW_TRACEPOINT: 17, CGROUP_SOCK_ADDR: 18, LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20, SK_REUSEPORT: 21, FLOW_DISSECTOR: 22, CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24, CGROUP_SOCKOPT: 25, TRACING: 26, STRUCT_OPS: 27, EXT: 28, LSM: 29,
  SK_LOOKUP: 30, SYSCALL: 31, NETFILTER: 32,
} as const;
const MAX_PROG_TYPE = 33;

// enum bpf_attach_type (6.18), the ones the rules below name.
export const ATTACH = {
  CGROUP_INET_INGRESS: 0, CGROUP_INET_EGRESS: 1, CGROUP_INET_SOCK_CREATE: 2, CGROUP_SOCK_OPS: 3,
  SK_SKB_STREAM_PARSER: 4, SK_SKB_STREAM_VERDICT: 5, CGROUP_DEVICE: 6, SK_MSG_VERDICT: 7,
  CGROUP_INET4_BIND: 8, CGROUP_INET6_BIND: 9, CGROUP_INET4_CONNECT: 10, CGROUP_INET6_CONNECT: 11,
  CGROUP_INET4_POST_BIND: 12, CGROUP_INET6_POST_BIND: 13, CGROUP_UDP4_SENDMSG: 14,
  CGROUP_UDP6_SENDMSG: 15, LIRC_MODE2: 16, FLOW_DISSECTOR: 17, CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19, CGROUP_UDP6_RECVMSG: 20, CGROUP_GETSOCKOPT: 21, CGROUP_SETSOCKOPT: 22,
  CGROUP_INET4_GETPEERNAME: 29, CGROUP_INET6_GETPEERNAME: 30, CGROUP_INET4_GETSOCKNAME: 31,
  CGROUP_INET6_GETSOCKNAME: 32, CGROUP_INET_SOCK_RELEASE: 34, SK_LOOKUP: 36, XDP: 37,
  SK_SKB_VERDICT: 38, SK_REUSEPORT_SELECT: 39, SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  TCX_INGRESS: 46, TCX_EGRESS: 47, CGROUP_UNIX_CONNECT: 49, CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51, CGROUP_UNIX_GETPEERNAME: 52, CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54, NETKIT_PEER: 55,
} as const;

const A = ATTACH;
const SOCK_ADDR_TYPES: readonly number[] = [
  A.CGROUP_INET4_BIND, A.CGROUP_INET6_BIND, A.CGROUP_INET4_CONNECT, A.CGROUP_INET6_CONNECT,
  A.CGROUP_UNIX_CONNECT, A.CGROUP_INET4_GETPEERNAME, A.CGROUP_INET6_GETPEERNAME,
  A.CGROUP_UNIX_GETPEERNAME, A.CGROUP_INET4_GETSOCKNAME, A.CGROUP_INET6_GETSOCKNAME,
  A.CGROUP_UNIX_GETSOCKNAME, A.CGROUP_UDP4_SENDMSG, A.CGROUP_UDP6_SENDMSG, A.CGROUP_UNIX_SENDMSG,
  A.CGROUP_UDP4_RECVMSG, A.CGROUP_UDP6_RECVMSG, A.CGROUP_UNIX_RECVMSG,
];

/** The kernel's license_is_gpl_compatible. */
export function licenseIsGplCompatible(license: string): boolean {
  return ["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"].includes(license);
}

/** bpf_prog_load_fixup_attach_type: old CGROUP_SOCK programs mean SOCK_CREATE. */
export function fixupAttachType(progType: number, expected: number): number {
  return progType === PROG.CGROUP_SOCK && expected === 0 ? A.CGROUP_INET_SOCK_CREATE : expected;
}

/** bpf_prog_load_check_attach: 0 or EINVAL. */
export function checkExpectedAttach(progType: number, expected: number): number {
  const ok = (list: readonly number[]) => (list.includes(expected) ? 0 : Errno.EINVAL);
  switch (progType) {
    case PROG.CGROUP_SOCK:
      return ok([A.CGROUP_INET_SOCK_CREATE, A.CGROUP_INET_SOCK_RELEASE, A.CGROUP_INET4_POST_BIND, A.CGROUP_INET6_POST_BIND]);
    case PROG.CGROUP_SOCK_ADDR: return ok(SOCK_ADDR_TYPES);
    case PROG.CGROUP_SKB: return ok([A.CGROUP_INET_INGRESS, A.CGROUP_INET_EGRESS]);
    case PROG.CGROUP_SOCKOPT: return ok([A.CGROUP_GETSOCKOPT, A.CGROUP_SETSOCKOPT]);
    case PROG.SK_LOOKUP: return ok([A.SK_LOOKUP]);
    case PROG.SK_REUSEPORT: return ok([A.SK_REUSEPORT_SELECT, A.SK_REUSEPORT_SELECT_OR_MIGRATE]);
    case PROG.SYSCALL: case PROG.EXT: return expected !== 0 ? Errno.EINVAL : 0;
    default: return 0;
  }
}

/** Types that need CAP_NET_ADMIN (is_net_admin_prog_type) or CAP_PERFMON (is_perfmon_prog_type). */
export function needsMoreThanCapBpf(progType: number): boolean {
  return progType !== PROG.SOCKET_FILTER && progType !== PROG.CGROUP_SKB;
}

/** check_return_code: the r0 range a program type may return, or null for any scalar. */
function returnRange(progType: number, expected: number): [number, number] | null {
  switch (progType) {
    case PROG.CGROUP_SOCK_ADDR:
      if (([A.CGROUP_UDP4_RECVMSG, A.CGROUP_UDP6_RECVMSG, A.CGROUP_UNIX_RECVMSG, A.CGROUP_INET4_GETPEERNAME,
        A.CGROUP_INET6_GETPEERNAME, A.CGROUP_UNIX_GETPEERNAME, A.CGROUP_INET4_GETSOCKNAME,
        A.CGROUP_INET6_GETSOCKNAME, A.CGROUP_UNIX_GETSOCKNAME] as readonly number[]).includes(expected)) return [1, 1];
      if (expected === A.CGROUP_INET4_BIND || expected === A.CGROUP_INET6_BIND) return [0, 3];
      return [0, 1];
    case PROG.CGROUP_SKB: return expected === A.CGROUP_INET_EGRESS ? [0, 3] : [0, 1];
    case PROG.CGROUP_SOCK: case PROG.SOCK_OPS: case PROG.CGROUP_DEVICE: case PROG.CGROUP_SYSCTL: case PROG.CGROUP_SOCKOPT:
      return [0, 1];
    default: return null;
  }
}

const BPF_ALU = 0x04, BPF_ALU64 = 0x07;
const OP_MOV = 0xb0, OP_DIV = 0x30, OP_MOD = 0x90, OP_NEG = 0x80, OP_END = 0xd0;
const LD_IMM64 = 0x18, EXIT = 0x95, JA = 0x05;
const PSEUDO_MAP_FD = 1;

export interface VerifyResult {
  errno: number;
  usedMaps: SimMap[];
  verifiedInsns: number;
}

/**
 * A verifier for straight-line programs: every register read must follow a write (EACCES, as
 * "R%d !read_ok"), r10 is read-only, the last instruction must be `exit`, reserved fields are
 * zero, ld_imm64 map fds must be maps, and a constant r0 must be in the type's return range.
 */
export function verifyProgram(insns: Uint8Array, progType: number, expected: number, resolveMap: (fd: number) => SimMap | number): VerifyResult {
  const fail = (errno: number): VerifyResult => ({ errno, usedMaps: [], verifiedInsns: 0 });
  const n = insns.length / 8;
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const init = [false, true, false, false, false, false, false, false, false, false, true]; // r1 = ctx, r10 = fp
  const isPtr = [false, true, false, false, false, false, false, false, false, false, true];
  let r0: number | null = null; // a known constant r0, or null
  const used: SimMap[] = [];
  let processed = 0;
  const last = insns[(n - 1) * 8]!;
  if (last !== EXIT && last !== JA) return fail(Errno.EINVAL);
  for (let i = 0; i < n; i++) {
    const at = i * 8;
    const code = insns[at]!;
    const dst = insns[at + 1]! & 0x0f, src = insns[at + 1]! >> 4;
    const off = dv.getInt16(at + 2, true), imm = dv.getInt32(at + 4, true);
    const cls = code & 0x07;
    processed++;
    if (dst > 10 || src > 10) return fail(Errno.EINVAL);
    if (code === EXIT) {
      if (i !== n - 1) return fail(Errno.EINVAL); // check_cfg: the rest would be unreachable
      if (dst !== 0 || src !== 0 || off !== 0 || imm !== 0) return fail(Errno.EINVAL);
      if (!init[0]) return fail(Errno.EACCES);
      if (isPtr[0]) return fail(Errno.EINVAL);
      const range = returnRange(progType, expected);
      if (range !== null && (r0 === null || r0 < range[0] || r0 > range[1])) return fail(Errno.EINVAL);
      return { errno: 0, usedMaps: used, verifiedInsns: processed };
    }
    if (code === LD_IMM64) {
      if (i + 1 >= n || off !== 0 || insns[at + 8] !== 0 || insns[at + 9] !== 0 || dv.getInt16(at + 10, true) !== 0) return fail(Errno.EINVAL);
      if (dst === 10) return fail(Errno.EACCES);
      if (src === PSEUDO_MAP_FD) {
        const m = resolveMap(imm);
        if (typeof m === "number") return fail(-m);
        if (!used.includes(m)) used.push(m);
        isPtr[dst] = true;
      } else if (src === 0) {
        isPtr[dst] = false;
      } else {
        return fail(Errno.EINVAL);
      }
      init[dst] = true;
      if (dst === 0) r0 = src === 0 && dv.getInt32(at + 12, true) === 0 ? imm : null;
      i++;
      continue;
    }
    if (cls !== BPF_ALU && cls !== BPF_ALU64) return fail(Errno.EINVAL);
    const op = code & 0xf0;
    const useReg = (code & 0x08) !== 0;
    if (op === OP_END || op === OP_NEG) {
      if (useReg && op === OP_NEG) return fail(Errno.EINVAL);
    } else if (useReg) {
      if (imm !== 0) return fail(Errno.EINVAL);
      if (!init[src]) return fail(Errno.EACCES);
    } else if (src !== 0) {
      return fail(Errno.EINVAL);
    }
    if (op > 0xd0) return fail(Errno.EINVAL);
    if (!useReg && (op === OP_DIV || op === OP_MOD) && imm === 0) return fail(Errno.EINVAL);
    if (dst === 10) return fail(Errno.EACCES);
    if (op !== OP_MOV && !init[dst]) return fail(Errno.EACCES);
    init[dst] = true;
    isPtr[dst] = op === OP_MOV && useReg ? isPtr[src]! : false;
    if (dst === 0) r0 = op === OP_MOV && !useReg ? (cls === BPF_ALU ? imm >>> 0 : imm) : null;
  }
  return fail(Errno.EINVAL);
}
