// PROG_ATTACH as the kernel answers it for a world with no cgroup, socket-map or network
// device fds (kernel/bpf/syscall.c bpf_prog_attach), built like this machine's 6.18 without
// CONFIG_BPF_LIRC_MODE2 and CONFIG_NETKIT: TestDummyProg's attach to stdin must give EBADF for
// the cgroup types, as cgroup_get_from_fd does for a file that is not a cgroup directory
// (pkg-bpf-behaviour.md §5.10).
import { Errno } from "@bpfkit/core";
import { ATTACH as A, PROG as P } from "./prog-load.js";
import type { FdEntry, SimProg } from "./objects.js";

/** attach_type_to_prog_type; 0 (UNSPEC) for types it does not know. */
export function attachTypeToProgType(t: number): number {
  switch (t) {
    case A.CGROUP_INET_INGRESS: case A.CGROUP_INET_EGRESS: return P.CGROUP_SKB;
    case A.CGROUP_INET_SOCK_CREATE: case A.CGROUP_INET_SOCK_RELEASE: case A.CGROUP_INET4_POST_BIND: case A.CGROUP_INET6_POST_BIND:
      return P.CGROUP_SOCK;
    case A.CGROUP_INET4_BIND: case A.CGROUP_INET6_BIND: case A.CGROUP_INET4_CONNECT: case A.CGROUP_INET6_CONNECT:
    case A.CGROUP_UNIX_CONNECT: case A.CGROUP_INET4_GETPEERNAME: case A.CGROUP_INET6_GETPEERNAME:
    case A.CGROUP_UNIX_GETPEERNAME: case A.CGROUP_INET4_GETSOCKNAME: case A.CGROUP_INET6_GETSOCKNAME:
    case A.CGROUP_UNIX_GETSOCKNAME: case A.CGROUP_UDP4_SENDMSG: case A.CGROUP_UDP6_SENDMSG: case A.CGROUP_UNIX_SENDMSG:
    case A.CGROUP_UDP4_RECVMSG: case A.CGROUP_UDP6_RECVMSG: case A.CGROUP_UNIX_RECVMSG:
      return P.CGROUP_SOCK_ADDR;
    case A.CGROUP_SOCK_OPS: return P.SOCK_OPS;
    case A.CGROUP_DEVICE: return P.CGROUP_DEVICE;
    case A.SK_MSG_VERDICT: return P.SK_MSG;
    case A.SK_SKB_STREAM_PARSER: case A.SK_SKB_STREAM_VERDICT: case A.SK_SKB_VERDICT: return P.SK_SKB;
    case A.LIRC_MODE2: return P.LIRC_MODE2;
    case A.FLOW_DISSECTOR: return P.FLOW_DISSECTOR;
    case A.CGROUP_SYSCTL: return P.CGROUP_SYSCTL;
    case A.CGROUP_GETSOCKOPT: case A.CGROUP_SETSOCKOPT: return P.CGROUP_SOCKOPT;
    case 23: case 24: case 25: case 26: case 28: return P.TRACING; // TRACE_RAW_TP, FENTRY, FEXIT, MODIFY_RETURN, TRACE_ITER
    case 27: case 43: return P.LSM; // LSM_MAC, LSM_CGROUP
    case A.SK_LOOKUP: return P.SK_LOOKUP;
    case A.XDP: return P.XDP;
    case A.TCX_INGRESS: case A.TCX_EGRESS: case A.NETKIT_PRIMARY: case A.NETKIT_PEER: return P.SCHED_CLS;
    default: return 0;
  }
}

/** is_cgroup_prog_type(ptype, 0, false): the cgroup types, and LSM (BPF_LSM_CGROUP). */
const CGROUP_TYPES: readonly number[] = [P.CGROUP_SKB, P.CGROUP_SOCK, P.CGROUP_SOCK_ADDR, P.SOCK_OPS,
  P.CGROUP_DEVICE, P.CGROUP_SYSCTL, P.CGROUP_SOCKOPT, P.LSM];
const F_ALLOW_OVERRIDE = 0x1, F_ALLOW_MULTI = 0x2, F_REPLACE = 0x4, F_BEFORE = 0x8, F_AFTER = 0x10,
  F_ID = 0x20, F_PREORDER = 0x40, F_LINK = 0x2000;
/** BPF_F_ATTACH_MASK_BASE */
const ATTACH_MASK_BASE = F_ALLOW_OVERRIDE | F_ALLOW_MULTI | F_REPLACE | F_PREORDER;
/** BPF_F_ATTACH_MASK_MPROG: tcx and netkit; cgroups take these too. */
const ATTACH_MASK_MPROG = F_REPLACE | F_BEFORE | F_AFTER | F_ID | F_LINK;
const LSM_CGROUP = 43;

export interface AttachWorld {
  fd(fd: number): FdEntry | undefined;
  /** The program attached to the network namespace's flow dissector hook. */
  flowDissector: SimProg | null;
  setFlowDissector(p: SimProg): void;
  /** CAP_NET_ADMIN, which attaching a cgroup_skb program needs. */
  netAdmin: boolean;
}

/** The attach_flags bpf_prog_attach allows for a program type. */
function allowedFlags(ptype: number): number {
  if (ptype === P.SCHED_CLS) return ATTACH_MASK_MPROG; // bpf_mprog_supported
  if (CGROUP_TYPES.includes(ptype)) return ATTACH_MASK_BASE | ATTACH_MASK_MPROG;
  return ATTACH_MASK_BASE;
}

/** bpf_prog_attach_check_attach_type: true when the program may go to `attachType`. */
function attachTypeOk(world: AttachWorld, prog: SimProg, attachType: number): boolean {
  switch (prog.progType) {
    case P.CGROUP_SOCK: case P.CGROUP_SOCK_ADDR: case P.CGROUP_SOCKOPT: case P.SK_LOOKUP:
      return prog.expectedAttachType === attachType;
    case P.CGROUP_SKB:
      // Its expected attach type binds only when the verifier needed it: an egress program
      // returning 2 or 3 (enforce_expected_attach_type).
      if (!world.netAdmin) return false;
      return !prog.enforceExpectedAttachType || prog.expectedAttachType === attachType;
    default:
      return true;
  }
}

/** 0 or a positive errno. */
export function progAttach(world: AttachWorld, targetFd: number, progFd: number, attachType: number, flags: number): number {
  const ptype = attachTypeToProgType(attachType);
  if (ptype === 0) return Errno.EINVAL;
  if ((flags & ~allowedFlags(ptype)) !== 0) return Errno.EINVAL;
  // bpf_prog_get_type: the program fd, of the right type.
  const pe = world.fd(progFd);
  if (pe === undefined) return Errno.EBADF;
  if (pe.obj.kind !== "prog" || pe.obj.progType !== ptype) return Errno.EINVAL;
  const prog = pe.obj;
  if (!attachTypeOk(world, prog, attachType)) return Errno.EINVAL;
  const target = world.fd(targetFd);
  if (CGROUP_TYPES.includes(ptype)) {
    if (ptype === P.LSM && prog.expectedAttachType !== LSM_CGROUP) return Errno.EINVAL;
    // cgroup_get_from_fd: no fd, or a file that is not a cgroup directory, is EBADF.
    return Errno.EBADF;
  }
  switch (ptype) {
    case P.SK_SKB: case P.SK_MSG:
      // sock_map_get_from_fd: flags first, then the map; any map the simulator has is not a
      // sockmap or sockhash, whose progs it would update (sock_map_prog_link_lookup).
      if (flags !== 0) return Errno.EINVAL;
      if (target === undefined) return Errno.EBADF;
      return target.obj.kind === "map" ? Errno.EOPNOTSUPP : Errno.EINVAL;
    case P.FLOW_DISSECTOR:
      if (targetFd !== 0 || flags !== 0) return Errno.EINVAL;
      if (world.flowDissector === prog) return Errno.EEXIST;
      world.setFlowDissector(prog);
      return 0;
    case P.SCHED_CLS:
      // tcx: no network device with that ifindex. netkit is not built (CONFIG_NETKIT), and its
      // stub refuses everything.
      return attachType === A.TCX_INGRESS || attachType === A.TCX_EGRESS ? Errno.ENODEV : Errno.EINVAL;
    default:
      // LIRC_MODE2 is not built (CONFIG_BPF_LIRC_MODE2), so no program of its type loads;
      // SK_LOOKUP, XDP and the tracing types attach through links only.
      return Errno.EINVAL;
  }
}
