// What /proc/<pid>/fdinfo/<fd> says of a map and bpf_map_info does not (kernel/bpf/syscall.c,
// bpf_map_show_fdinfo): whether it is frozen, the memory the kernel charges for it, and the
// program type that owns a PROG_ARRAY. Drivers offer it through the optional `mapFdInfo`.
import type { Driver } from "./driver.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";

/** The fdinfo fields of a map fd that bpf_map_info lacks; a field the text does not carry is undefined. */
export interface MapFdInfo {
  /** `frozen:` — BPF_MAP_FREEZE was called on the map (user space may only read it). */
  frozen?: boolean;
  /**
   * `memlock:` — bytes the kernel counts for the map (bpf_map_memory_usage: each type's
   * map_mem_usage). For NO_PREALLOC hashes and LPM tries it grows with the elements.
   */
  memlock?: number;
  /** `owner_prog_type:` — the program type a PROG_ARRAY is bound to; only once a program met the map. */
  ownerProgType?: number;
  /** `owner_jited:` — whether that owner was JIT-compiled; only with ownerProgType. */
  ownerJited?: boolean;
  /**
   * `flags:` — the open file's f_flags, which the kernel prints in octal: O_ACCMODE (O_RDONLY 0,
   * O_WRONLY 1, O_RDWR 2) is the fd's access mode (BPF_F_RDONLY or BPF_F_WRONLY when it was
   * opened or created; accessOfFileFlags reads it), and O_CLOEXEC (0o2000000) is set on every
   * bpf(2) fd and on a dup made with F_DUPFD_CLOEXEC.
   */
  fileFlags?: number;
}

/** The value of `name:\t<decimal>` in an fdinfo text, or undefined when the line is missing or no decimal. */
function decimalField(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:[ \\t]*(\\d+)[ \\t]*$`, "m").exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The map fields of an fdinfo text (as /proc/self/fdinfo/N reads), or undefined when the text is
 * not a map's (no `map_type:` line: a program, a link, a plain file).
 */
export function parseMapFdInfo(text: string): MapFdInfo | undefined {
  if (!/^map_type:/m.test(text)) return undefined;
  const out: MapFdInfo = {};
  const frozen = decimalField(text, "frozen");
  if (frozen !== undefined) out.frozen = frozen !== 0;
  const memlock = decimalField(text, "memlock");
  if (memlock !== undefined) out.memlock = memlock;
  const owner = decimalField(text, "owner_prog_type");
  if (owner !== undefined) out.ownerProgType = owner;
  const jited = decimalField(text, "owner_jited");
  if (jited !== undefined) out.ownerJited = jited !== 0;
  const flags = /^flags:[ \t]*([0-7]+)[ \t]*$/m.exec(text);
  if (flags !== null) out.fileFlags = parseInt(flags[1]!, 8);
  return out;
}

/**
 * Why `r` is not a MapFdInfo a driver may return (a plain object whose fields are each absent or
 * of their type), or undefined when it is one.
 */
export function mapFdInfoProblem(r: unknown): string | undefined {
  if (r === null || r === undefined) return String(r);
  if (typeof r !== "object" || Array.isArray(r)) return Array.isArray(r) ? "an array" : `a ${typeof r}`;
  const o = r as Record<string, unknown>;
  const bad: string[] = [];
  for (const k of ["frozen", "ownerJited"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "boolean") bad.push(`${k} is ${typeof o[k]}, not a boolean`);
  }
  for (const k of ["memlock", "ownerProgType", "fileFlags"] as const) {
    const v = o[k];
    if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) bad.push(`${k} is ${String(v)}, not a non-negative integer`);
  }
  return bad.length === 0 ? undefined : bad.join("; ");
}

/**
 * The driver's mapFdInfo for `fd`, checked: a BpfError with the errno (EBADF, EINVAL for an fd
 * that is no map), EOPNOTSUPP naming the driver when it has no mapFdInfo, and the contract
 * TypeError for an answer that is neither a MapFdInfo nor -errno.
 */
export function getMapFdInfo(driver: Driver, fd: number): MapFdInfo {
  const read = driver.mapFdInfo;
  if (typeof read !== "function") {
    throw new BpfError({
      errno: Errno.EOPNOTSUPP, op: "fdinfo",
      message: `Unable to read the fdinfo of file descriptor ${fd}: driver ${JSON.stringify(driver.kind)} has no mapFdInfo (an optional Driver method)`,
    });
  }
  const r: unknown = read.call(driver, fd);
  if (typeof r === "number") {
    if (!isNegErrno(r)) throw driverContractError(driver, "mapFdInfo", r, "a MapFdInfo");
    const why = r === -Errno.EINVAL ? " (not a BPF map)" : "";
    throw new BpfError({ errno: -r, op: "fdinfo", message: `Unable to read the fdinfo of file descriptor ${fd}${why}: ${errnoText(-r)}` });
  }
  const problem = mapFdInfoProblem(r);
  if (problem !== undefined) {
    throw new TypeError(`driver ${JSON.stringify(driver.kind)} broke the Driver contract: mapFdInfo returned ${problem}, where it returns a MapFdInfo or -errno`);
  }
  // A copy of the known fields only: the caller owns it, whatever the driver keeps.
  const i = r as MapFdInfo;
  const out: MapFdInfo = {};
  if (i.frozen !== undefined) out.frozen = i.frozen;
  if (i.memlock !== undefined) out.memlock = i.memlock;
  if (i.ownerProgType !== undefined) out.ownerProgType = i.ownerProgType;
  if (i.ownerJited !== undefined) out.ownerJited = i.ownerJited;
  if (i.fileFlags !== undefined) out.fileFlags = i.fileFlags;
  return out;
}

/**
 * The driver's mapFdInfo for `fd`, checked as getMapFdInfo does, or undefined where it cannot be
 * had: a driver without the method, or one answering an errno (no procfs). An answer outside
 * the Driver contract still throws its TypeError.
 */
export function mapFdInfoIfReadable(driver: Driver, fd: number): MapFdInfo | undefined {
  if (typeof driver.mapFdInfo !== "function") return undefined;
  try {
    return getMapFdInfo(driver, fd);
  } catch (e) {
    if (e instanceof BpfError) return undefined;
    throw e;
  }
}

/**
 * The reading of an EPERM to a write through read-write fd `fd` (or to a second freeze, `op`
 * "freeze"): the map is frozen, where its fdinfo says so, else undefined. The kernel's bare EPERM
 * reads like a missing capability. `still` is what user space may still do with the map.
 */
export function frozenRefusal(driver: Driver, fd: number, errno: number, op: string, still: string): string | undefined {
  if (errno !== Errno.EPERM || fd < 0 || mapFdInfoIfReadable(driver, fd)?.frozen !== true) return undefined;
  if (op === "freeze") return "the map is frozen already (BPF_MAP_FREEZE)";
  return `the map is frozen (BPF_MAP_FREEZE): user space may ${still}; programs may still write it`;
}
