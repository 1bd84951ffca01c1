// The seed's program helpers (bpf_linux.go, prog.go): opening programs by id, their
// info, and TestDummyProg, the feature probe that loads `r0 = 1; exit` and tries an attach.
import { type Driver, RLIM_INFINITY } from "./driver.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { type BpfProgInfo, decodeProgInfo, PROG_INFO_SIZE } from "./info.js";
import { MetricOp, type MetricsHook } from "./metrics.js";
import { type SyscallContext, timeEnd, timeStart } from "./syscalls.js";
import { describeValue } from "./describe-value.js";

/**
 * The seed's ProgInfo, decoded from the kernel's real `struct bpf_prog_info` (API.md §4.5; the
 * seed's Go struct did not match it past offset 8). `mapIds` holds the ids of the maps the
 * program uses, in the order the verifier met them (the seed never asked for them, so its list
 * stayed empty), and `nrMapIds` is their count when they were read (a map bound by
 * BPF_PROG_BIND_MAP after the info was read is in both). `tag` holds all 8 bytes (the seed kept
 * only the first).
 */
export interface ProgInfo extends Omit<BpfProgInfo, "type" | "ifindex"> {
  /** The program type (`bpf_prog_info.type`; the seed's ProgType). */
  progType: number;
  /** The network device the program is offloaded to (`bpf_prog_info.ifindex`), 0 when it is not. */
  ifIndex: number;
  /** The ids of the maps the program uses, in the order the verifier met them. */
  mapIds: number[];
}

function fail(errno: number, op: string, message: string, why = ""): BpfError {
  return new BpfError({ errno, op, message: `${message}: ${errnoText(errno)}${why}` });
}

/** The seed's GetProgFDByID. */
export function getProgFdById(ctx: SyscallContext, id: number): number {
  const t0 = timeStart(ctx);
  const r = ctx.driver.progGetFdById(id, 0);
  timeEnd(ctx, MetricOp.getFDByID, r, t0);
  if (r < 0) {
    const why = r === -Errno.EPERM ? " (opening a program by id needs CAP_SYS_ADMIN, not only CAP_BPF)" : "";
    throw fail(-r, "BPF_PROG_GET_FD_BY_ID", `Unable to get fd for program id ${id}`, why);
  }
  return r;
}

/**
 * The seed's GetProgInfoByFD, with the kernel's layout. EINVAL for a map or link fd, whose info
 * would decode as a program's (they too start with a type and an id); without the driver's
 * `host.objKind` that cannot be told.
 */
export function getProgInfoByFd(ctx: SyscallContext, fd: number): ProgInfo {
  refuseNonProgram(ctx.driver, fd, "Unable to get program info for file descriptor");
  const buf = new Uint8Array(PROG_INFO_SIZE);
  const t0 = timeStart(ctx);
  const r = ctx.driver.objGetInfoByFd(fd, buf);
  timeEnd(ctx, MetricOp.objGetInfoByFD, r, t0);
  if (r < 0) throw fail(-r, "BPF_OBJ_GET_INFO_BY_FD", "Unable to get object info");
  const { type, ifindex, ...rest } = decodeProgInfo(buf.subarray(0, r));
  // The count was read just now: none means none, without a second syscall.
  const mapIds = rest.nrMapIds === 0 ? [] : readProgMapIds(ctx, fd, rest.nrMapIds);
  // A map bound since the count was read is in mapIds: the count says what the list holds.
  return { ...rest, nrMapIds: mapIds.length, progType: type, ifIndex: ifindex, mapIds };
}

/**
 * EINVAL for a map's or a link's fd, naming what it is, before its info is read as a program's
 * (both start with a type and an id; a map's would echo the count asked for). Without the
 * driver's `host.objKind` that cannot be told, and the driver's own errno stands.
 */
function refuseNonProgram(driver: Driver, fd: number, message: string): void {
  const kind = driver.host.objKind?.(fd);
  if (typeof kind === "object" && kind.kind !== "prog") {
    const what = kind.kind === "link" ? `a BPF link (${kind.linkType}), not a program` : kind.kind === "map" ? "a map, not a program" : "not a BPF object";
    throw fail(Errno.EINVAL, "BPF_OBJ_GET_INFO_BY_FD", `${message} ${fd}: it is ${what}`);
  }
}

/**
 * The ids of the maps program `fd` uses, in the order the verifier met them. `nrMapIds` (from
 * its info) sizes the first ask; BPF_PROG_BIND_MAP may have added a map since, so a larger
 * count asks again, and 0 (a count not known, or stale) asks too. A count that is not a u32 is
 * a TypeError or RangeError before any syscall. Throws a BpfError for a driver error: EINVAL for
 * a map's or a link's fd, saying which it is.
 */
export function getProgMapIds(driver: Driver, fd: number, nrMapIds: number, metrics?: MetricsHook): number[] {
  if (typeof nrMapIds !== "number") {
    throw new TypeError(`getProgMapIds fd ${fd}: nrMapIds must be a number (the program's nr_map_ids, or 0), got ${describeValue(nrMapIds)}`);
  }
  if (!Number.isInteger(nrMapIds) || nrMapIds < 0 || nrMapIds > 0xffffffff) {
    throw new RangeError(`getProgMapIds fd ${fd}: nrMapIds ${nrMapIds} is not a u32`);
  }
  return readProgMapIds({ driver, metrics }, fd, nrMapIds);
}

function readProgMapIds(ctx: SyscallContext, fd: number, nrMapIds: number): number[] {
  for (let n = nrMapIds; ;) {
    const ids = new Uint32Array(n);
    const t0 = timeStart(ctx);
    const r = ctx.driver.progGetMapIds(fd, ids);
    timeEnd(ctx, MetricOp.objGetInfoByFD, r, t0);
    if (r < 0) {
      // The driver refuses a map's or a link's fd (EINVAL): say which it is.
      if (r === -Errno.EINVAL) refuseNonProgram(ctx.driver, fd, "Unable to get the map ids of program fd");
      throw fail(-r, "BPF_OBJ_GET_INFO_BY_FD", `Unable to get the map ids of program fd ${fd}`);
    }
    if (r <= n) return Array.from(ids.subarray(0, r));
    n = r;
  }
}

/**
 * Program types a process with CAP_BPF alone may not load (bpf_prog_load's is_net_admin_prog_type
 * and is_perfmon_prog_type), as 6.18 answered the dummy program under CAP_BPF, then with
 * CAP_NET_ADMIN or CAP_PERFMON beside it (docs/kernel-notes.md).
 */
const NET_ADMIN_PROG_TYPES = new Set([3, 4, 6, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 22, 23, 25, 32]);
const PERFMON_PROG_TYPES = new Set([2, 5, 7, 17, 24, 26, 27]);

/** Why a load of `progType` was EPERM where CAP_BPF alone is not enough: a bare EPERM read as "no BPF at all". */
function capabilityHint(progType: number, errno: number): string {
  if (errno !== Errno.EPERM) return "";
  const cap = NET_ADMIN_PROG_TYPES.has(progType) ? "CAP_NET_ADMIN" : PERFMON_PROG_TYPES.has(progType) ? "CAP_PERFMON" : undefined;
  return cap === undefined ? "" : ` (this program type needs ${cap} as well as CAP_BPF, or CAP_SYS_ADMIN)`;
}

/** `r0 = 1` (BPF_ALU64|BPF_MOV|BPF_K) and `exit` (BPF_JMP|BPF_EXIT). */
export const DUMMY_PROG_INSNS: Uint8Array = new Uint8Array([
  0xb7, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
  0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);

/**
 * The seed's TestDummyProg: whether the kernel loads a program of `progType` (with
 * `attachType` as its expected attach type) and has the attach path for it. RLIMIT_MEMLOCK is
 * raised to infinity around the load and restored (where it cannot be raised, the load runs
 * under the current limit). The attach targets fd 0, which is no
 * cgroup: EBADF then means the attach code exists, which is success. Throws the load's or the
 * attach's BpfError otherwise. The program is always closed.
 */
export function testDummyProg(ctx: SyscallContext, progType: number, attachType: number): void {
  const host = ctx.driver.host;
  const old = host.getRlimitMemlock();
  if (old.errno !== 0) throw fail(old.errno, "getrlimit", "Unable to get RLIMIT_MEMLOCK");
  // Kernels since 5.11 charge BPF memory to the memory cgroup, not RLIMIT_MEMLOCK, and a process
  // without CAP_SYS_RESOURCE cannot raise its hard limit (EPERM). The seed gave up here; bpfkit
  // goes on with the limit it has: a load that really needs more memlock fails with its own errno.
  const raised = host.setRlimitMemlock(RLIM_INFINITY, RLIM_INFINITY) >= 0;
  let fd = -1;
  let loaded = false;
  try {
    const t0 = timeStart(ctx);
    fd = ctx.driver.progLoad({ progType, insns: DUMMY_PROG_INSNS, license: "ASL2", expectedAttachType: attachType });
    timeEnd(ctx, MetricOp.progLoad, fd, t0);
    loaded = true;
  } finally {
    // Restored even when the driver threw; a failed restore wins over the load's own result,
    // because the process is left with a limit it did not ask for.
    const back = raised ? host.setRlimitMemlock(old.cur, old.max) : 0;
    if (back < 0 && loaded) {
      if (fd >= 0) ctx.driver.close(fd);
      throw fail(-back, "setrlimit", "Unable to restore RLIMIT_MEMLOCK");
    }
  }
  if (fd < 0) throw fail(-fd, "BPF_PROG_LOAD", `Unable to load test program of type ${progType}`, capabilityHint(progType, -fd));
  try {
    const t0 = timeStart(ctx);
    const a = ctx.driver.progAttach(0, fd, attachType, 0);
    timeEnd(ctx, MetricOp.progAttach, a, t0);
    if (a < 0 && a !== -Errno.EBADF) {
      throw fail(-a, "BPF_PROG_ATTACH", `Unable to attach test program of type ${progType} with attach type ${attachType}`);
    }
  } finally {
    ctx.driver.close(fd);
  }
}
