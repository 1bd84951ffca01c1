// How a command names a map: `id 12`, `pinned /sys/fs/bpf/tc/globals/cilium_ct4`, an absolute
// path, `name cilium_ct4` (the kernel's map name), or a bare name pinned under the map root.
import {
  BPF_EXIST, BPF_FS_MAGIC, BPF_MAP_TYPE_PROG_ARRAY, BPF_NOEXIST, BpfError, Errno, mapFdInfoIfReadable, isPerCpuMapType, mapIds, perCpuSlotSize, decodeMapInfo,
  MAP_INFO_SIZE, PROG_INFO_SIZE, type BpfMapInfo, type Driver, type MapFdInfo,
} from "@bpfkit/core";
import { ByIdCloser } from "./by-id-close.js";
import { CliError, ExitCode, must, usageError } from "./cli-error.js";
import { describeKind, objectKind } from "./object-kind.js";

export type MapRef =
  | { kind: "id"; id: number }
  | { kind: "path"; path: string }
  | { kind: "name"; name: string }
  | { kind: "bare"; name: string };

export const MAP_REF_USAGE = "MAP is `id N`, `pinned PATH`, an absolute PATH, `name NAME` (kernel name) or a NAME pinned under the map root";

/** Reads a map reference from `args` at `i`; returns it and the index after it. */
export function parseMapRef(args: readonly string[], i: number): { ref: MapRef; next: number } {
  const a = args[i];
  if (a === undefined) throw usageError("which map?", MAP_REF_USAGE);
  if (a === "id" || a === "pinned" || a === "name") {
    const v = args[i + 1];
    if (v === undefined) throw usageError(`${a} needs a value`, MAP_REF_USAGE);
    if (a === "id") {
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 0x7fffffff) throw usageError(`id ${v}: a map id is a positive integer`);
      return { ref: { kind: "id", id: Number(v) }, next: i + 2 };
    }
    return { ref: a === "pinned" ? { kind: "path", path: v } : { kind: "name", name: v }, next: i + 2 };
  }
  if (a.startsWith("/") || a.startsWith("./")) return { ref: { kind: "path", path: a }, next: i + 1 };
  return { ref: { kind: "bare", name: a }, next: i + 1 };
}

export interface OpenedMap {
  fd: number;
  info: BpfMapInfo;
  /** The pin path, when the map was opened through one. */
  path: string | undefined;
  /** `map 12 (cilium_ct4)`: for messages. */
  label: string;
}

export interface MapRoot {
  root: string;
  prefix: string;
}

/** Reads bpf_map_info for an fd. */
export function mapInfo(driver: Driver, fd: number): BpfMapInfo {
  // The kernel writes min(buffer, sizeof its struct) of whatever the fd is: a program fills a
  // bpf_prog_info-sized buffer, a map (104 bytes on 6.18) does not (core's getMapInfoByFd does the same).
  const buf = new Uint8Array(INFO_SIZE);
  const r = must(driver.objGetInfoByFd(fd, buf), "BPF_OBJ_GET_INFO_BY_FD");
  if (r >= PROG_INFO_SIZE) throw new BpfError({ errno: 22, op: "BPF_OBJ_GET_INFO_BY_FD", message: `fd ${fd} is not a map` });
  return decodeMapInfo(buf);
}

const INFO_SIZE = Math.max(MAP_INFO_SIZE, PROG_INFO_SIZE);

/**
 * What the map's fdinfo says (frozen, memlock, a PROG_ARRAY's owner) when the driver reads it
 * (the optional Driver.mapFdInfo; any fd mode will do), else undefined: the caller falls back to
 * the update probe for FROZEN and knows no memlock.
 */
export function mapFdFacts(driver: Driver, fd: number): MapFdInfo | undefined {
  // An fd this command holds is a map: an errno here comes from a broken driver, not trusted.
  return mapFdInfoIfReadable(driver, fd);
}

/** Types whose update refuses BPF_NOEXIST|BPF_EXIST with EINVAL, after the frozen check and before any write. */
const FREEZE_PROBED = new Set([1, 2, 3, 5, 6, 9, 10, 11, 12, 13]);

/**
 * Whether a map is frozen, for a driver without mapFdInfo (bpftool reads `frozen:` from
 * /proc/self/fdinfo). map_update_elem refuses a write to a frozen map with EPERM before it reads
 * the flags; BPF_NOEXIST|BPF_EXIST is then refused (EINVAL) by every type in FREEZE_PROBED, so
 * the probe writes nothing. But the kernel counts it as a write while it runs, so a concurrent
 * BPF_MAP_FREEZE may meet it as EBUSY: fdinfo is preferred. `fd` must be read-write. Undefined
 * for other types.
 */
export function mapFrozen(driver: Driver, fd: number, info: BpfMapInfo): boolean | undefined {
  if (!FREEZE_PROBED.has(info.type)) return undefined;
  const valueSize = isPerCpuMapType(info.type) ? perCpuSlotSize(info.valueSize) * driver.possibleCpus : info.valueSize;
  const r = driver.mapUpdateElem(fd, new Uint8Array(info.keySize), new Uint8Array(valueSize), BPF_NOEXIST | BPF_EXIST);
  if (r === -Errno.EPERM) return true;
  // Any other refusal came after the frozen check (a hash_of_maps reads its value, fd 0, first:
  // EBADF when stdin is closed), so the map takes writes.
  return r < 0 ? false : undefined;
}

/**
 * mapFrozen for a map held by a read-only fd, on which every write is EPERM whether or not the
 * map is frozen: the probe goes through a short-lived read-write fd to the same map (by its pin
 * when it was opened by one, else by id). Undefined when that cannot be had (a pin readable
 * only) or leads to another map (the pin replaced meanwhile).
 */
export function mapFrozenReadOnly(driver: Driver, m: OpenedMap): boolean | undefined {
  if (!FREEZE_PROBED.has(m.info.type)) return undefined;
  const fd = m.path !== undefined ? driver.objGet(m.path, 0) : driver.mapGetFdById(m.info.id, 0);
  if (fd < 0) return undefined;
  try {
    const same = (() => {
      try {
        return mapInfo(driver, fd).id === m.info.id;
      } catch {
        return false;
      }
    })();
    return same ? mapFrozen(driver, fd, m.info) : undefined;
  } finally {
    driver.close(fd);
  }
}

export function mapLabel(info: BpfMapInfo): string {
  return info.name ? `map ${info.id} (${info.name})` : `map ${info.id}`;
}

/**
 * Opens the map a reference names; the caller closes `fd`. `openFlags` is the fd's access mode
 * (0, or BPF_F_RDONLY for the commands that only read, as bpftool's show, dump, lookup and
 * getnext: a map pinned readable only, or one an LSM lets this process read and not write,
 * opens all the same).
 */
export function openMapRef(driver: Driver, ref: MapRef, where: MapRoot, openFlags = 0): OpenedMap {
  switch (ref.kind) {
    case "id": return openById(driver, ref.id, openFlags);
    case "path": return openByPath(driver, ref.path, openFlags);
    case "name": return openByKernelName(driver, ref.name, openFlags);
    case "bare": {
      const candidates = [join(where.root, where.prefix, ref.name), join(where.root, ref.name)];
      for (const p of candidates) {
        const st = driver.host.stat(p);
        if (st.errno === 0 && st.isFile) return openByPath(driver, p, openFlags);
      }
      try {
        return openByKernelName(driver, ref.name, openFlags);
      } catch (e) {
        if (e instanceof CliError && e.exitCode === ExitCode.notFound) {
          throw new CliError(`no map ${ref.name}: nothing pinned at ${candidates.join(" or ")}, and no loaded map has that name`, ExitCode.notFound, "list maps with `bpfkit maps`; set the root with --map-root");
        }
        throw e;
      }
    }
  }
}

function openById(driver: Driver, id: number, openFlags: number): OpenedMap {
  const fd = driver.mapGetFdById(id, openFlags);
  if (fd === -2) throw new CliError(`no map with id ${id}`, ExitCode.notFound, "list maps with `bpfkit maps`");
  must(fd, "BPF_MAP_GET_FD_BY_ID", `id ${id}`);
  return withInfo(driver, fd, undefined);
}

function openByPath(driver: Driver, path: string, openFlags: number): OpenedMap {
  let fd = driver.objGet(path, openFlags);
  // OBJ_GET opens a pinned link read-write only (EINVAL for a mode): open it so to say what it is.
  if (fd === -Errno.EINVAL && openFlags !== 0) fd = driver.objGet(path, 0);
  if (fd === -2) {
    // bpffs's own maps.debug and progs.debug are files OBJ_GET answers ENOENT for.
    if (driver.host.stat(path).isFile) throw new CliError(`${path} is a file on bpffs, not a pinned object (bpffs lists its maps and programs there)`, ExitCode.failure);
    throw new CliError(`nothing is pinned at ${path}`, ExitCode.notFound);
  }
  const why = objGetProblem(driver, path, fd);
  if (why !== undefined) throw why;
  must(fd, "BPF_OBJ_GET", path);
  // A pin may hold a program or a link, whose info the map decoder would read as a map's.
  const k = objectKind(driver, fd);
  if (typeof k !== "number" && k.kind !== "map") {
    driver.close(fd);
    throw new CliError(`${path} is not a map: it is ${describeKind(k)}`, ExitCode.failure, "`bpfkit maps --pins` lists where the maps are pinned");
  }
  return withInfo(driver, fd, path);
}

/**
 * What a failed BPF_OBJ_GET of `path` means when it is not privileges. The kernel answers EACCES
 * for anything that is not a pinned object (a file off bpffs, a directory), even to root.
 */
export function objGetProblem(driver: Driver, path: string, fd: number): CliError | undefined {
  if (fd !== -1 && fd !== -13) return undefined;
  const fsType = driver.host.statfsType(path);
  if (fsType >= 0 && fsType !== BPF_FS_MAGIC) {
    return new CliError(`${path} is not on a BPF filesystem`, ExitCode.failure, "maps are pinned on bpffs (mount one with `bpfkit mount`)");
  }
  if (fsType === BPF_FS_MAGIC && driver.host.stat(path).isDirectory) {
    return new CliError(`${path} is a directory on bpffs, not a pinned object`, ExitCode.failure, "see what is pinned where with `bpfkit maps --pins`");
  }
  return undefined;
}

function withInfo(driver: Driver, fd: number, path: string | undefined): OpenedMap {
  try {
    const info = mapInfo(driver, fd);
    // Opened by its pin: the path the user typed names it in every message too.
    const label = path !== undefined ? `${mapLabel(info)} at ${path}` : mapLabel(info);
    return { fd, info, path, label };
  } catch (e) {
    driver.close(fd);
    // A pin of a program (or anything else) answers the map-info call with EINVAL.
    if (e instanceof BpfError && e.errno === 22) throw new CliError(`${path ?? `fd ${fd}`} is not a map`, ExitCode.failure);
    throw e;
  }
}

function openByKernelName(driver: Driver, name: string, openFlags: number): OpenedMap {
  const found: OpenedMap[] = [];
  // Maps not wanted are closed as by-id-close.ts says: a PROG_ARRAY only at the walk's end.
  const closer = new ByIdCloser(driver);
  try {
    for (const id of mapIds({ driver, metrics: undefined })) {
      const openedAt = performance.now();
      const fd = driver.mapGetFdById(id, openFlags);
      if (fd === -Errno.ENOENT) continue; // gone since the id was listed
      must(fd, "BPF_MAP_GET_FD_BY_ID", `id ${id}`);
      let info: BpfMapInfo;
      try {
        info = mapInfo(driver, fd);
      } catch (e) {
        closer.close(fd, BPF_MAP_TYPE_PROG_ARRAY, openedAt);
        throw e;
      }
      if (info.name === name) found.push({ fd, info, path: undefined, label: mapLabel(info) });
      else closer.close(fd, info.type, openedAt);
    }
  } catch (e) {
    for (const m of found) closer.close(m.fd, m.info.type, performance.now());
    throw e;
  } finally {
    closer.flush();
  }
  if (found.length === 1) return found[0]!;
  const extra = new ByIdCloser(driver);
  for (const m of found) extra.close(m.fd, m.info.type, performance.now());
  extra.flush();
  if (found.length === 0) throw new CliError(`no loaded map is named ${name}`, ExitCode.notFound, "list maps with `bpfkit maps`");
  throw usageError(`${found.length} maps are named ${name} (ids ${found.map((m) => m.info.id).join(", ")})`, "name one with `id N`");
}

export function join(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/");
}
