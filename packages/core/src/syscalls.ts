// The seed's low-level functions (bpf_linux.go) over the Driver: one small function per bpf(2)
// use, each throwing a BpfError with the seed's message, each timed for the syscall-duration
// metric when a hook is set. The element helpers allocate nothing on success: they are what
// BpfMap's hot paths call.
import {
  BPF_FS_MAGIC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK, isHashMapType, isMapOfMapsType, keylessMapTypeName, mapTypeName,
} from "./constants.js";
import { assertU32 } from "./driver-checks.js";
import type { Driver } from "./driver.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { btfDriver, BtfLoadError, loadBtf, type BtfHandle } from "./btf-objects.js";
import { type BpfMapInfo, decodeMapInfo, MAP_INFO_SIZE, PROG_INFO_SIZE } from "./info.js";
import { mmapableFlagHint } from "./map-memory.js";
import { MetricOp, type MetricsHook, nowMs, reportSyscall } from "./metrics.js";
import { probeTellsMapType } from "./probes.js";

/** What the functions here need from a Bpf instance. */
export interface SyscallContext {
  /** The driver the functions make their calls through. */
  readonly driver: Driver;
  /** The hook the syscall-duration metric goes to, or undefined for none. */
  readonly metrics: MetricsHook | undefined;
  /** Whether the driver has a map type at all (Bpf.haveMapType), to explain a create's EINVAL. */
  haveMapType?(mapType: number): boolean;
}

/** The seed's MapInfo: what a map is, as OpenMap and objCheck compare it. */
export interface MapInfo {
  /** The map type (`BPF_MAP_TYPE_*`), normalised once opened. */
  mapType: number;
  /** The key size in bytes. */
  keySize: number;
  /** The value size in bytes (one CPU's value for per-CPU types). */
  valueSize: number;
  /** Bytes of a value buffer for reads (per-CPU maps: slot × CPUs); GetMapInfo sets valueSize. */
  readValueSize: number;
  /** `max_entries`: how many elements the map holds at most. */
  maxEntries: number;
  /** The creation flags (`BPF_F_*`). */
  flags: number;
  /**
   * The inner-map template fd of a map of maps (the seed calls it an ID); 0 otherwise and for maps read back
   * from the kernel.
   */
  innerId: number;
  /**
   * The seed's OwnerProgType, the program type owning a PROG_ARRAY; bpf_map_info has no such field, so it is
   * always 0 (Unspec) here.
   */
  ownerProgType: number;
}

/** An element attr for the `*FromPointers` variants (see Bpf.lookupElementFromPointers). */
export interface ElemAttr {
  /** The fd of the map to act on. */
  mapFd: number;
  /** The key, or null (getNextKey: start from the first key). */
  key: Uint8Array | null;
  /** The value for lookup/update, the next key for getNextKey. */
  value: Uint8Array;
  /** The command's flags (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`); 0 when left out. */
  flags?: number;
}

/** The start of a call timed for the syscall hook (0, and no clock read, without one). */
export function timeStart(ctx: SyscallContext): number {
  return ctx.metrics?.syscall !== undefined ? nowMs() : 0;
}

/** Reports a call that returned `ret` (negative: -errno) to the syscall hook, if any. */
export function timeEnd(ctx: SyscallContext, op: string, ret: number, t0: number): void {
  reportSyscall(ctx.metrics, op, ret < 0, t0);
}

/** An element call's refusal; ENOENT and EEXIST there are about its key (isKeyNotExist, isKeyExist). */
function elemFail(errno: number, op: string, message: string): BpfError {
  return new BpfError({ errno, op, message: `${message}: ${errnoText(errno)}`, aboutKey: true });
}

function fail(errno: number, op: string, message: string, hint = ""): BpfError {
  return new BpfError({ errno, op, message: `${message}: ${errnoText(errno)}${hint}` });
}

/**
 * Why bpffs said EPERM to root: it refuses every name with a dot (bpf_lookup keeps them for its
 * own files, as maps.debug). Without this, "operation not permitted" reads as missing privileges.
 * bpffs looks up the names below its mount, so a dot in a directory there (a map prefix) is one
 * too; where no bpffs mount holds the path, only its last name, a pin's, is taken for one.
 */
function dotName(ctx: SyscallContext, errno: number, path: string): string {
  if (errno !== Errno.EPERM || parentOffBpffs(ctx, path)) return "";
  const names = namesBelowBpffs(ctx, path) ?? [path.replace(/\/+$/, "").split("/").pop() ?? ""];
  const dotted = names.find((n) => n.includes(".") && n !== "." && n !== "..");
  return dotted !== undefined ? ` (bpffs refuses a name with a dot, as ${JSON.stringify(dotted)})` : "";
}

/**
 * Whether the directory `path` names its last entry in is on another filesystem than bpffs
 * (statfs follows symlinks, as the kernel's walk does). bpffs looked up no name of such a path,
 * so its EPERM is no dot's: for a pin it is bpf_obj_do_pin's, which refuses any directory off
 * bpffs. False when it cannot be told (the directory is missing, or itself refused).
 */
function parentOffBpffs(ctx: SyscallContext, path: string): boolean {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  const dir = slash < 0 ? "." : trimmed.slice(0, slash) || "/";
  const fsType = ctx.driver.host.statfsType(dir);
  return fsType >= 0 && fsType !== BPF_FS_MAGIC;
}

/** The path's names below the deepest bpffs mount holding it, or undefined when none does. */
function namesBelowBpffs(ctx: SyscallContext, path: string): string[] | undefined {
  const mounts = ctx.driver.host.mountInfo();
  if (typeof mounts === "number") return undefined;
  let at: string | undefined;
  for (const { fsType, mountPoint } of mounts) {
    const under = path === mountPoint || path.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);
    if (fsType === "bpf" && under && (at === undefined || mountPoint.length > at.length)) at = mountPoint;
  }
  return at === undefined ? undefined : path.slice(at.length).split("/").filter((n) => n !== "");
}

/** Why OBJ_PIN said EPERM to root: a directory off bpffs, or a name with a dot. */
function pinHint(ctx: SyscallContext, errno: number, path: string): string {
  if (errno === Errno.EPERM && parentOffBpffs(ctx, path)) return " (it is not on a BPF filesystem, where pins live)";
  return dotName(ctx, errno, path);
}

/**
 * Why OBJ_GET said EACCES where no permission is missing: the kernel answers it, even to root,
 * for anything that is not a pinned object, a directory on bpffs or any path off bpffs.
 */
function notAPin(ctx: SyscallContext, errno: number, path: string): string {
  if (errno !== Errno.EACCES) return "";
  const fsType = ctx.driver.host.statfsType(path);
  if (fsType >= 0 && fsType !== BPF_FS_MAGIC) return " (it is not on a BPF filesystem, where pins live)";
  return ctx.driver.host.stat(path).isDirectory ? " (it is a directory, not a pinned object)" : "";
}

// ---- maps ----

/** A map's BTF for a create: loaded (btf_fd) or raw (loaded for the create), and the two type ids. */
export type MapBtfAttr = ({ fd: number } | { raw: Uint8Array }) & { keyTypeId: number; valueTypeId: number };

/** What a create sets beyond the seed's attrs: the kernel name ("" none), map_extra (0 none), BTF. */
export interface CreateAttrs {
  name: string;
  mapExtra: bigint;
  btf?: MapBtfAttr;
}

const NO_CREATE_ATTRS: CreateAttrs = { name: "", mapExtra: 0n };

/**
 * The seed's CreateMap: BPF_MAP_CREATE with no NUMA node, and no name unless `created.name` is
 * one (checked by the caller; "" is none); `innerId` is really the fd of a template inner map
 * (map-in-map only); `created.mapExtra` is bpf_attr's map_extra (0: none, as the seed), and
 * `created.btf` its BTF (none, as the seed). `path` is only for the message.
 */
export function createMap(ctx: SyscallContext, mapType: number, keySize: number, valueSize: number,
  maxEntries: number, flags: number, innerId: number, path: string, created: CreateAttrs = NO_CREATE_ATTRS): number {
  const { name: mapName, mapExtra, btf } = created;
  const op = "Unable to create map";
  assertU32(mapType, "mapType", `${op} ${path}`);
  assertU32(keySize, "keySize", `${op} ${path}`);
  assertU32(valueSize, "valueSize", `${op} ${path}`);
  assertU32(maxEntries, "maxEntries", `${op} ${path}`);
  assertU32(flags, "flags", `${op} ${path}`);
  assertU32(innerId, "innerId", `${op} ${path}`);
  // A driver without the BTF methods may not know MapCreateAttr's btf fields either: it would
  // create the map without BTF, and say nothing.
  if (btf !== undefined && "fd" in btf) btfCapable(ctx, path);
  // Raw BTF is loaded for this create alone: the map holds the object, so the fd goes after it.
  const loaded = btf !== undefined && "raw" in btf ? loadForCreate(ctx, btf.raw, path) : undefined;
  let fd: number;
  try {
    const btfFd = btf === undefined ? undefined : loaded !== undefined ? loaded.fd : (btf as { fd: number }).fd;
    const t0 = timeStart(ctx);
    // Without a name the attr is the seed's: no map_name at all.
    fd = ctx.driver.mapCreate({ mapType, keySize, valueSize, maxEntries, mapFlags: flags, innerMapFd: innerId,
      ...(mapName !== "" ? { mapName } : {}), ...(mapExtra !== 0n ? { mapExtra } : {}),
      ...(btf !== undefined ? { btfFd, btfKeyTypeId: btf.keyTypeId, btfValueTypeId: btf.valueTypeId } : {}) });
    timeEnd(ctx, MetricOp.create, fd, t0);
  } finally {
    loaded?.close();
  }
  if (fd < 0) {
    const hint = innerTemplateHint(ctx, mapType, innerId, -fd) || keylessFlagsHint(mapType, flags, -fd) ||
      missingTypeHint(ctx, mapType, -fd) || mmapableFlagHint(mapType, flags, -fd) || btfFieldHint(mapType, btf, -fd) ||
      zeroSeedHint(mapType, flags, -fd) || sizeHint(mapType, keySize, valueSize, maxEntries, -fd);
    throw new BpfError({ errno: -fd, op, path, ...(hint !== "" ? { message: `${op} ${path}: ${errnoText(-fd)}${hint}` } : {}) });
  }
  return fd;
}

/** A BpfError EOPNOTSUPP naming the map at `path` when the driver has no BTF methods. */
function btfCapable(ctx: SyscallContext, path: string): void {
  try {
    btfDriver(ctx.driver, "createMap");
  } catch (e) {
    const err = e as BpfError;
    throw new BpfError({ errno: err.errno, op: err.op, path, message: `Unable to create map ${path}: ${err.message}`, cause: e });
  }
}

/**
 * Raw BTF loaded for the create of `path`. Its refusal (a BtfLoadError with the checker's log, a
 * driver without the BTF methods) names the map, as the create's own errors do.
 */
function loadForCreate(ctx: SyscallContext, raw: Uint8Array, path: string): BtfHandle {
  try {
    return loadBtf(ctx, raw);
  } catch (e) {
    if (e instanceof BtfLoadError) throw new BtfLoadError(e.errno, e.log, path, e.logTrueSize);
    if (e instanceof BpfError) {
      throw new BpfError({ errno: e.errno, op: e.op, path, message: `Unable to create map ${path}: ${e.message}`, cause: e });
    }
    throw e;
  }
}

/**
 * Why a create with BTF was refused, where the kernel's errno alone misleads: EOPNOTSUPP when
 * map_check_btf found a special field in the value (btf_parse_fields) that the map type may not
 * hold ("operation not supported" reads like the map type itself); ENOTSUPP from a type that
 * takes no BTF at all; EINVAL from an array's or LPM trie's own key rule.
 */
function btfFieldHint(mapType: number, btf: MapBtfAttr | undefined, errno: number): string {
  if (btf === undefined) return "";
  // The types' own map_check_btf: array_map_check_btf and trie_check_btf.
  if (errno === Errno.EINVAL && (mapType === BPF_MAP_TYPE_ARRAY || mapType === BPF_MAP_TYPE_PERCPU_ARRAY) && btf.keyTypeId !== 0) {
    return " (with BTF, the key and value types must have the map's sizes, and an array's key type must be a 4-byte integer, as the u32 and i32 codecs are)";
  }
  if (errno === Errno.EINVAL && mapType === BPF_MAP_TYPE_LPM_TRIE) {
    return " (with BTF, the key and value types must have the map's sizes, and an LPM trie's key type must be a struct, as lpmKey's is)";
  }
  // map_check_no_btf: maps of maps, perf event and cgroup arrays, stack traces, … take none.
  if (errno === Errno.ENOTSUPP) return ` (the ${mapTypeName(mapType)} type takes no BTF: leave btf out)`;
  if (errno !== Errno.EOPNOTSUPP) return "";
  return ` (the value's BTF holds a special field, such as a struct bpf_spin_lock or a bpf_timer, that a ${mapTypeName(mapType)} map ` +
    "cannot hold: a spin lock goes only in a HASH or an ARRAY)";
}

/**
 * Why the kernel refused a map of maps, when its innerId is the cause. The kernel says only
 * EBADF or EINVAL, and the seed's name reads like a map id where it takes the template's fd.
 */
function innerTemplateHint(ctx: SyscallContext, mapType: number, innerId: number, errno: number): string {
  if (!isMapOfMapsType(mapType)) return "";
  const takes = "a map of maps takes the fd of an open map as its inner-map template, not a map id";
  if (errno === Errno.EBADF) return ` (innerId ${innerId} is not an open fd; ${takes})`;
  if (errno !== Errno.EINVAL) return "";
  if (innerId === 0) return ` (innerId is 0; ${takes})`;
  const kind = ctx.driver.host.objKind?.(innerId);
  if (typeof kind !== "object" || kind.kind === "map") return ""; // a map: the EINVAL has another cause
  const what = kind.kind === "prog" ? "a program's fd" : kind.kind === "link" ? "a BPF link's fd" : "an fd that is no BPF map";
  return ` (innerId ${innerId} is ${what}; ${takes})`;
}

/**
 * Why a queue, stack or bloom filter was refused, when its flags hold one its type takes no part
 * in (queue_stack_map_alloc_check, bloom_map_alloc): the kernel's bare EINVAL reads like a bad size,
 * and BPF_F_NO_PREALLOC, which a hash map takes, is the usual one.
 */
function keylessFlagsHint(mapType: number, flags: number, errno: number): string {
  if (errno !== Errno.EINVAL) return "";
  const access: Array<[number, string]> = [[BPF_F_NUMA_NODE, "BPF_F_NUMA_NODE"], [BPF_F_RDONLY, "BPF_F_RDONLY"],
    [BPF_F_WRONLY, "BPF_F_WRONLY"], [BPF_F_RDONLY_PROG, "BPF_F_RDONLY_PROG"], [BPF_F_WRONLY_PROG, "BPF_F_WRONLY_PROG"]];
  let takes: Array<[number, string]>;
  if (mapType === BPF_MAP_TYPE_QUEUE || mapType === BPF_MAP_TYPE_STACK) takes = access;
  else if (mapType === BPF_MAP_TYPE_BLOOM_FILTER) takes = [...access, [BPF_F_ZERO_SEED, "BPF_F_ZERO_SEED"]];
  else return "";
  const extra = (flags >>> 0) & ~takes.reduce((m, [bit]) => m | bit, 0);
  if (extra === 0) return "";
  const names = takes.map(([, n]) => n);
  return ` (a ${keylessMapTypeName(mapType)} takes no flag but ${names.slice(0, -1).join(", ")} and ${names.at(-1)}: ` +
    `0x${extra.toString(16)} is none of them${extra & 1 ? "; BPF_F_NO_PREALLOC is for hash maps" : ""})`;
}

/** The arrays array_map_alloc_check and fd_array_map_alloc_check admit: a u32 index for a key. */
const ARRAY_TYPES = new Set([BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY,
  BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS]);
/** Of those, the ones whose values are fds (a u32). */
const FD_ARRAY_TYPES = new Set([BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS]);

/**
 * Which size made a create EINVAL where that size alone does, for the hash maps
 * (htab_map_alloc_check), the arrays (array_map_alloc_check) and the LPM trie (trie_alloc): a
 * bare EINVAL did not say that a max_entries of 0 was the fault.
 */
function sizeHint(mapType: number, keySize: number, valueSize: number, maxEntries: number, errno: number): string {
  if (errno !== Errno.EINVAL) return "";
  const hash = isHashMapType(mapType), array = ARRAY_TYPES.has(mapType), lpm = mapType === BPF_MAP_TYPE_LPM_TRIE;
  if (!hash && !array && !lpm) return "";
  const kind = hash ? "a hash map" : array ? "an array" : "an LPM trie";
  if (maxEntries === 0) return ` (max_entries 0: ${kind} holds at least one element)`;
  if (array && keySize !== 4) return ` (an array's key is a u32 index: key_size 4, not ${keySize})`;
  if (hash && keySize === 0) return " (key_size 0: a hash map's key is at least one byte)";
  if (lpm && (keySize < 5 || keySize > 260)) {
    return ` (an LPM trie's key is a u32 prefix length and 1 to 256 bytes of data: key_size 5 to 260, not ${keySize})`;
  }
  if ((FD_ARRAY_TYPES.has(mapType) || mapType === BPF_MAP_TYPE_HASH_OF_MAPS) && valueSize !== 4) {
    return ` (${mapTypeName(mapType)} values are fds: value_size 4, not ${valueSize})`;
  }
  if (valueSize === 0) return ` (value_size 0: ${kind}'s value is at least one byte)`;
  return "";
}

/**
 * Why a hash map's create was EPERM with BPF_F_ZERO_SEED: htab_map_alloc_check wants
 * CAP_SYS_ADMIN for it, so a service with CAP_BPF alone, which creates every other map, is
 * refused this one with a bare EPERM (a bloom filter's zero seed needs no more than CAP_BPF).
 */
function zeroSeedHint(mapType: number, flags: number, errno: number): string {
  if (errno !== Errno.EPERM || (flags & BPF_F_ZERO_SEED) === 0 || !isHashMapType(mapType)) return "";
  return " (BPF_F_ZERO_SEED needs CAP_SYS_ADMIN, not only CAP_BPF)";
}

/**
 * Why a create was refused, when the driver has no such map type at all: the kernel (or the
 * simulator, which lacks several types) answers a missing type with the same bare EINVAL as a
 * bad size or flag, and a porter then hunts for the wrong mistake. Probed only after a refusal.
 */
function missingTypeHint(ctx: SyscallContext, mapType: number, errno: number): string {
  if (errno !== Errno.EINVAL && errno !== Errno.ENOTSUPP && errno !== Errno.EOPNOTSUPP) return "";
  if (ctx.haveMapType === undefined || !probeTellsMapType(mapType) || ctx.haveMapType(mapType)) return "";
  return ` (the ${ctx.driver.kind} driver has no ${mapTypeName(mapType)} maps: a one-entry map of the type is refused too)`;
}

/** The seed's ObjPin. EEXIST when `path` exists, ENOENT when its directory does not. */
export function objPin(ctx: SyscallContext, fd: number, path: string): void {
  if (typeof path !== "string" || path.includes("\0")) {
    throw new TypeError(`Unable to convert pathname ${JSON.stringify(String(path))} to byte pointer: invalid argument`);
  }
  const t0 = timeStart(ctx);
  const r = ctx.driver.objPin(fd, path);
  timeEnd(ctx, MetricOp.objPin, r, t0);
  if (r !== 0) {
    if (!isNegErrno(r)) throw driverContractError(ctx.driver, "objPin", r, "0");
    throw new BpfError({ errno: -r, op: "BPF_OBJ_PIN", path,
      message: `Unable to pin object with file descriptor ${fd} to ${path}: ${errnoText(-r)}${pinHint(ctx, -r, path)}` });
  }
}

/**
 * The seed's ObjGet: `Unable to get object <path>: <errno>`; isNotExist() when nothing is pinned.
 * `fileFlags` (OBJ_GET's file_flags: 0, BPF_F_RDONLY or BPF_F_WRONLY) go to the kernel as given.
 */
export function objGet(ctx: SyscallContext, path: string, fileFlags = 0): number {
  if (typeof path !== "string" || path.includes("\0") || path === "") {
    throw new TypeError(`Unable to get object ${JSON.stringify(String(path))}: path must be a non-empty string without NUL`);
  }
  assertU32(fileFlags, "flags", `Unable to get object ${path}`);
  const t0 = timeStart(ctx);
  const fd = ctx.driver.objGet(path, fileFlags);
  timeEnd(ctx, MetricOp.objGet, fd, t0);
  if (fd < 0) {
    const hint = dotName(ctx, -fd, path) || notAPin(ctx, -fd, path);
    throw new BpfError({ errno: -fd, op: "Unable to get object", path, ...(hint !== "" ? { message: `Unable to get object ${path}: ${errnoText(-fd)}${hint}` } : {}) });
  }
  return fd;
}

/** The seed's ObjClose: fd 0 (and below) is "no fd" and is left alone. */
export function objClose(ctx: SyscallContext, fd: number): void {
  if (!(fd > 0)) return;
  const r = ctx.driver.close(fd);
  if (r < 0) throw fail(-r, "close", `Unable to close file descriptor ${fd}`);
}

export function lookupElement(ctx: SyscallContext, fd: number, key: Uint8Array, value: Uint8Array): void {
  const t0 = timeStart(ctx);
  const r = ctx.driver.mapLookupElem(fd, key, value, 0);
  timeEnd(ctx, MetricOp.lookup, r, t0);
  // Success is exactly 0: a positive errno or undefined must not pass for a found element.
  if (r !== 0) {
    if (!isNegErrno(r)) throw driverContractError(ctx.driver, "mapLookupElem", r, "0");
    throw elemFail(-r, "BPF_MAP_LOOKUP_ELEM", `Unable to lookup element in map with file descriptor ${fd}`);
  }
}

export function updateElement(ctx: SyscallContext, fd: number, key: Uint8Array, value: Uint8Array, flags: number): void {
  const t0 = timeStart(ctx);
  const r = ctx.driver.mapUpdateElem(fd, key, value, flags);
  timeEnd(ctx, MetricOp.update, r, t0);
  if (r !== 0) {
    if (!isNegErrno(r)) throw driverContractError(ctx.driver, "mapUpdateElem", r, "0");
    throw elemFail(-r, "BPF_MAP_UPDATE_ELEM", `Unable to update element for map with file descriptor ${fd}`);
  }
}

export function deleteElement(ctx: SyscallContext, fd: number, key: Uint8Array): void {
  const errno = deleteElementErrno(ctx, fd, key);
  if (errno !== 0) throw elemFail(errno, "BPF_MAP_DELETE_ELEM", `Unable to delete element from map with file descriptor ${fd}`);
}

/** The seed's internal deleteElement: 0 or the positive errno, never throwing for the kernel. */
export function deleteElementErrno(ctx: SyscallContext, fd: number, key: Uint8Array): number {
  const t0 = timeStart(ctx);
  const r = ctx.driver.mapDeleteElem(fd, key);
  timeEnd(ctx, MetricOp.delete, r, t0);
  if (r === 0) return 0;
  if (!isNegErrno(r)) throw driverContractError(ctx.driver, "mapDeleteElem", r, "0");
  return -r;
}

/**
 * The seed's GetNextKey: true when `nextKey` was written, false at the end (the seed's io.EOF,
 * the kernel's ENOENT). `key` null asks for the first key. For hash maps a key that is no longer
 * there gives the first key again (kernel-maps.md §0).
 */
export function getNextKey(ctx: SyscallContext, fd: number, key: Uint8Array | null, nextKey: Uint8Array): boolean {
  const t0 = timeStart(ctx);
  const r = ctx.driver.mapGetNextKey(fd, key, nextKey);
  timeEnd(ctx, MetricOp.getNextKey, r, t0);
  if (r === 0) return true;
  if (r === -Errno.ENOENT) return false;
  if (!isNegErrno(r)) throw driverContractError(ctx.driver, "mapGetNextKey", r, "0");
  throw fail(-r, "BPF_MAP_GET_NEXT_KEY", `Unable to get next key from map with file descriptor ${fd}`);
}

/** The seed's MapFdFromID. */
/** GET_FD_BY_ID; `openFlags` (0, BPF_F_RDONLY or BPF_F_WRONLY) go to the kernel as given. */
export function mapFdFromId(ctx: SyscallContext, id: number, openFlags = 0): number {
  const t0 = timeStart(ctx);
  const fd = ctx.driver.mapGetFdById(id, openFlags);
  timeEnd(ctx, MetricOp.getFDByID, fd, t0);
  if (fd < 0) {
    // The kernel gives GET_FD_BY_ID to CAP_SYS_ADMIN only: with CAP_BPF alone maps can be made
    // and used by fd, so a bare EPERM here does not say what is missing.
    const why = fd === -Errno.EPERM ? " (opening a map by id needs CAP_SYS_ADMIN, not only CAP_BPF)" : "";
    throw fail(-fd, "BPF_MAP_GET_FD_BY_ID", `Unable to get object fd from id ${id}`, why);
  }
  return fd;
}

// OBJ_GET_INFO_BY_FD writes min(buffer, sizeof(its struct)) bytes of whatever object the fd is.
// The buffer is as long as bpf_prog_info so that a program (232 bytes) fills it all while a map
// (104 bytes on 6.18) does not: that tells a pinned program from a map.
const INFO_BUFFER_SIZE = Math.max(MAP_INFO_SIZE, PROG_INFO_SIZE);

/** OBJ_GET_INFO_BY_FD on a map: the kernel's bpf_map_info, decoded. EINVAL for other objects. */
export function getMapInfoByFd(ctx: SyscallContext, fd: number): BpfMapInfo {
  // A link's info would decode as a map's (its link type as the map type): ask the host first.
  const kind = ctx.driver.host.objKind?.(fd);
  if (typeof kind === "object" && kind.kind !== "map") {
    const what = kind.kind === "link" ? `a BPF link (${kind.linkType}), not a map` : kind.kind === "prog" ? "a program, not a map" : "not a BPF object";
    throw fail(Errno.EINVAL, "BPF_OBJ_GET_INFO_BY_FD", `Unable to get map info for file descriptor ${fd}: it is ${what}`);
  }
  const buf = new Uint8Array(INFO_BUFFER_SIZE);
  const t0 = timeStart(ctx);
  const r = ctx.driver.objGetInfoByFd(fd, buf);
  timeEnd(ctx, MetricOp.getMapInfoByFD, r, t0);
  // The bytes written, which cannot be more than the buffer: more would decode a short info.
  if (!(r <= buf.length) || (r >= 0 && !Number.isInteger(r)) || (r < 0 && !isNegErrno(r))) {
    throw driverContractError(ctx.driver, "objGetInfoByFd", r, `the bytes written (0..${buf.length})`);
  }
  if (r < 0) throw fail(-r, "BPF_OBJ_GET_INFO_BY_FD", `Unable to get map info for file descriptor ${fd}`);
  if (r >= PROG_INFO_SIZE) {
    throw fail(Errno.EINVAL, "BPF_OBJ_GET_INFO_BY_FD", `Unable to get map info for file descriptor ${fd}: not a BPF map`);
  }
  return decodeMapInfo(buf.subarray(0, r));
}

/**
 * The seed's GetMapInfo, through OBJ_GET_INFO_BY_FD rather than /proc/<pid>/fdinfo (same
 * fields, and it works on the simulator). Flags are the creation flags less RDONLY/WRONLY;
 * innerId and ownerProgType are not in bpf_map_info and read as 0, as the seed leaves InnerID.
 */
export function getMapInfo(ctx: SyscallContext, fd: number): MapInfo {
  return seedMapInfo(getMapInfoByFd(ctx, fd));
}

/** The seed's MapInfo of what bpf_map_info says (getMapInfo without the syscall). */
export function seedMapInfo(i: BpfMapInfo): MapInfo {
  return {
    mapType: i.type, keySize: i.keySize, valueSize: i.valueSize, readValueSize: i.valueSize,
    maxEntries: i.maxEntries, flags: i.mapFlags, innerId: 0, ownerProgType: 0,
  };
}
