// PROG_ATTACH as the kernel answers it for a world with no cgroup, socket-map, lirc or network
// device fds (kernel/bpf/syscall.c bpf_prog_attach): TestDummyProg's attach to stdin must give
// EBADF for the cgroup types, as cgroup_get_from_fd does for a file that is not a cgroup
// directory (pkg-bpf-behaviour.md §5.10).
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

const CGROUP_TYPES: readonly number[] = [P.CGROUP_SKB, P.CGROUP_SOCK, P.CGROUP_SOCK_ADDR, P.SOCK_OPS,
  P.CGROUP_DEVICE, P.CGROUP_SYSCTL, P.CGROUP_SOCKOPT];
/** BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI | BPF_F_REPLACE */
const ATTACH_MASK = 0x7;
/** The multi-prog flags of tcx/netkit (BPF_F_ATTACH_MASK_MPROG). */
const ATTACH_MASK_MPROG = 0x4 | 0x8 | 0x10 | 0x20 | 0x40;

export interface AttachWorld {
  fd(fd: number): FdEntry | undefined;
  /** The program attached to the network namespace's flow dissector hook. */
  flowDissector: SimProg | null;
  setFlowDissector(p: SimProg): void;
}

/** 0 or a positive errno. */
export function progAttach(world: AttachWorld, targetFd: number, progFd: number, attachType: number, flags: number): number {
  const ptype = attachTypeToProgType(attachType);
  if (ptype === 0) return Errno.EINVAL;
  const mprog = ptype === P.SCHED_CLS;
  if ((flags & ~(mprog ? ATTACH_MASK_MPROG : ATTACH_MASK)) !== 0) return Errno.EINVAL;
  // bpf_prog_get_type: the program fd, of the right type.
  const pe = world.fd(progFd);
  if (pe === undefined) return Errno.EBADF;
  if (pe.obj.kind !== "prog" || pe.obj.progType !== ptype) return Errno.EINVAL;
  const prog = pe.obj;
  // bpf_prog_attach_check_attach_type.
  if ((ptype === P.CGROUP_SOCK || ptype === P.CGROUP_SOCK_ADDR || ptype === P.CGROUP_SOCKOPT || ptype === P.SK_LOOKUP ||
    (ptype === P.CGROUP_SKB && prog.expectedAttachType !== 0)) && prog.expectedAttachType !== attachType) return Errno.EINVAL;
  const target = world.fd(targetFd);
  if (CGROUP_TYPES.includes(ptype)) {
    // cgroup_get_from_fd: no fd, or a file that is not a cgroup directory, is EBADF.
    return Errno.EBADF;
  }
  switch (ptype) {
    case P.SK_SKB: case P.SK_MSG:
      // sock_map_get_from_fd: the target must be a sockmap or sockhash, which the simulator lacks.
      return target === undefined ? Errno.EBADF : Errno.EINVAL;
    case P.LIRC_MODE2:
      return target === undefined ? Errno.EBADF : Errno.EINVAL;
    case P.FLOW_DISSECTOR:
      if (targetFd !== 0 || flags !== 0) return Errno.EINVAL;
      if (world.flowDissector === prog) return Errno.EEXIST;
      world.setFlowDissector(prog);
      return 0;
    case P.SCHED_CLS:
      return Errno.ENODEV; // tcx/netkit: no network device with that ifindex
    default:
      return Errno.EINVAL;
  }
}
