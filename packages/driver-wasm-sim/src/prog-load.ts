// PROG_LOAD's rules outside the verifier: program and attach types (bpf_prog_load,
// bpf_prog_load_check_attach, bpf_prog_load_fixup_attach_type), licenses, return ranges.
import { Errno } from "@bpfkit/core";

// enum bpf_prog_type (6.18).
export const PROG = {
  SOCKET_FILTER: 1, KPROBE: 2, SCHED_CLS: 3, SCHED_ACT: 4, TRACEPOINT: 5, XDP: 6, PERF_EVENT: 7,
  CGROUP_SKB: 8, CGROUP_SOCK: 9, LWT_IN: 10, LWT_OUT: 11, LWT_XMIT: 12, SOCK_OPS: 13, SK_SKB: 14,
  CGROUP_DEVICE: 15, SK_MSG: 16, RAW_TRACEPOINT: 17, CGROUP_SOCK_ADDR: 18, LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20, SK_REUSEPORT: 21, FLOW_DISSECTOR: 22, CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24, CGROUP_SOCKOPT: 25, TRACING: 26, STRUCT_OPS: 27, EXT: 28, LSM: 29,
  SK_LOOKUP: 30, SYSCALL: 31, NETFILTER: 32,
} as const;

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
  NETFILTER: 45, NETKIT_PRIMARY: 54, NETKIT_PEER: 55, TRACE_KPROBE_SESSION: 56, TRACE_UPROBE_SESSION: 57,
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

/**
 * bpf_prog_load_fixup_attach_type: programs from before their types had expected attach types
 * mean the first one.
 */
export function fixupAttachType(progType: number, expected: number): number {
  if (expected !== 0) return expected;
  if (progType === PROG.CGROUP_SOCK) return A.CGROUP_INET_SOCK_CREATE;
  if (progType === PROG.SK_REUSEPORT) return A.SK_REUSEPORT_SELECT;
  return expected;
}

/**
 * find_prog_type: the types this kernel is built with. LIRC_MODE2 needs CONFIG_BPF_LIRC_MODE2,
 * which this machine's 6.18 lacks; the simulator is built the same way.
 */
export function progTypeBuilt(progType: number): boolean {
  return progType > 0 && progType <= PROG.NETFILTER && progType !== PROG.LIRC_MODE2;
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
    case PROG.NETFILTER: return ok([A.NETFILTER]);
    case PROG.SYSCALL: case PROG.EXT: return expected !== 0 ? Errno.EINVAL : 0;
    default: return 0;
  }
}

/** Types that need CAP_NET_ADMIN (is_net_admin_prog_type) or CAP_PERFMON (is_perfmon_prog_type). */
export function needsMoreThanCapBpf(progType: number): boolean {
  return progType !== PROG.SOCKET_FILTER && progType !== PROG.CGROUP_SKB;
}

/**
 * check_return_code's enforce_attach_type_range: a cgroup_skb egress program whose r0 lies in
 * [2, 3] (the congestion notification values) may attach at egress only.
 */
export function enforceAttachTypeRange(progType: number, expected: number): [number, number] | null {
  return progType === PROG.CGROUP_SKB && expected === A.CGROUP_INET_EGRESS ? [2, 3] : null;
}

/** check_return_code: the r0 range a program type may return, or null for any value. */
export function returnRange(progType: number, expected: number): [number, number] | null {
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
    // SK_DROP..SK_PASS, NF_DROP..NF_ACCEPT, and a session's "run the return probe?".
    case PROG.SK_LOOKUP: case PROG.NETFILTER: return [0, 1];
    case PROG.KPROBE:
      return expected === A.TRACE_KPROBE_SESSION || expected === A.TRACE_UPROBE_SESSION ? [0, 1] : null;
    default: return null;
  }
}
