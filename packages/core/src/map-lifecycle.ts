// The lifecycle pieces every map object shares, whatever its elements: BpfMap (keyed) and the
// keyless maps (queue, stack, bloom filter) both name their errors, refuse pin operations on a
// map held by its fd, check a pin they open, ask whether their map is still the pinned one and
// unpin, in the same words. Each function takes what it needs of the object (`MapOwner`) rather
// than the object, so neither class exposes its fields. (BpfMap's element calls and metric, its
// hot paths, stay its own.)
import { accessName, accessRefusal, type AccessFlags } from "./access-mode.js";
import type { Bpf, MapInfo } from "./bpf.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError, errnoOf, isNotExist } from "./errors.js";
import { heldClosed, heldNoPin, type Held } from "./held-map.js";
import { removePin } from "./unpin.js";

/** What the lifecycle functions read of a map object: its name, path, how it is held and its fd's mode. */
export interface MapOwner {
  /** The name errors give (the pin's base name, or `id:<id>`). */
  readonly name: string;
  /** The pin path, or "" for a map held only by its fd. */
  readonly path: string;
  /** How a map held only by its fd came (openMapById, newMapFromFd, clone), else undefined. */
  readonly held: Held | undefined;
  /** The fd's access mode: 0 (read-write), BPF_F_RDONLY or BPF_F_WRONLY. */
  readonly access: AccessFlags;
}

/**
 * The type and flags a create asks the kernel for: the type after the map-type probes (an LRU the
 * kernel lacks is a HASH), with the pre-allocation flag that type takes added. What openOrCreate
 * makes, and so what the compatibility checks compare a live map with.
 */
export function createdAs(bpf: Bpf, mapType: number, flags: number): { mapType: number; flags: number } {
  const t = bpf.getMapType(mapType);
  return { mapType: t, flags: (flags | bpf.getPreAllocateMapFlags(t)) >>> 0 };
}

/** `op` on the map failed with `errno`; `why` explains it (default: the fd's access mode, for EPERM). */
export function mapOpError(m: MapOwner, op: string, errno: number, why: string | undefined = accessRefusal(m.access, errno),
  aboutKey = false): BpfError {
  return new BpfError({ errno, op, map: m.name, path: m.path || undefined, aboutKey,
    message: `${op} ${m.name}: ${errnoText(errno)}${why !== undefined ? ` (${why})` : ""}` });
}

/** `e` as a BpfError of `op` on the map (the errno, so isNotExist, stays as it was). */
export function namedError(m: MapOwner, op: string, e: unknown): unknown {
  if (!(e instanceof BpfError) || e.map === m.name) return e;
  return new BpfError({ errno: e.errno, op, map: m.name, path: e.path ?? (m.path || undefined),
    message: `${op} ${m.name}: ${e.message}`, cause: e });
}

/** A map held by its fd, once closed: nothing opens it again but the call that made it. */
export function closedHeldError(m: MapOwner, op: string): BpfError {
  return new BpfError({ errno: Errno.EBADF, op, map: m.name, message: `${op} ${m.name}: the map is closed (${heldClosed(m.held!)})` });
}

/** reopen() of a map created without a pin and still open: its fd is all that keeps it, so it stays open. */
export function unpinnedReopenError(m: MapOwner): BpfError {
  return new BpfError({ errno: Errno.EINVAL, op: "reopen", map: m.name, path: m.path || undefined,
    message: `reopen ${m.name}: the map was created without a pin, so it cannot be opened again; it stays open` });
}

/** A map created without a pin, once closed: its fd was all that kept it. */
export function closedUnpinnedError(m: MapOwner, op: string): BpfError {
  return new BpfError({ errno: Errno.EBADF, op, map: m.name,
    message: `${op} ${m.name}: the map is closed, and it was created without a pin, so it cannot be opened again` });
}

/**
 * Throws, for an operation on the pin, when the map is held by its fd alone (opened by id,
 * adopted, a clone): EINVAL while it is open (it stays open), the closed map's EBADF after close().
 */
export function requirePin(m: MapOwner, open: boolean, op: string): void {
  if (m.held === undefined) return;
  if (!open) throw closedHeldError(m, op);
  throw new BpfError({ errno: Errno.EINVAL, op, map: m.name, path: m.path || undefined,
    message: `${op} ${m.name}: ${heldNoPin(m.held, op)}` });
}

/**
 * Throws EPERM for `op`, which creates or replaces the pinned map, when the map was opened
 * read-only or write-only: what it made would be read-write, and the caller asked for less.
 */
export function requireFullAccess(m: MapOwner, op: string): void {
  if (m.access === 0) return;
  const mode = accessName(m.access);
  throw new BpfError({ errno: Errno.EPERM, op, map: m.name, path: m.path || undefined,
    message: `${op} ${m.name}: the map was opened ${mode}, and ${op} may create or replace it; open() opens the pin again ${mode}` });
}

/**
 * A lazy open's ENOENT: the seed opens lazily, so forgetting openOrCreate() surfaces as a bare
 * ENOENT from OBJ_GET that reads like a filesystem problem. Says what is missing and what makes it.
 */
export function notPinnedYet(m: MapOwner, e: unknown): unknown {
  if (!(e instanceof BpfError) || e.errno !== Errno.ENOENT || e.map !== m.name) return e;
  return new BpfError({ errno: e.errno, op: e.op, map: e.map, path: e.path, cause: e,
    message: `${e.message} (the map is not open and nothing is pinned there: openOrCreate() creates it)` });
}

/**
 * The info of the map just opened as `fd` at `path`, unless `problem` finds it unfit (then EINVAL
 * naming `op` and the pin, `fd` closed): every later operation would fail on it.
 */
export function checkPinned(bpf: Bpf, m: MapOwner, op: string, path: string, fd: number,
  problem: (info: MapInfo) => string | undefined): MapInfo {
  let info: MapInfo;
  try {
    info = bpf.getMapInfo(fd);
  } catch (e) {
    bpf.driver.close(fd);
    throw namedError(m, op, e);
  }
  const why = problem(info);
  if (why !== undefined) {
    bpf.driver.close(fd);
    throw new BpfError({ errno: Errno.EINVAL, op, map: m.name, path, message: `${op} ${m.name}: the map pinned at ${path} ${why}` });
  }
  return info;
}

/**
 * cilium/ebpf's Map.IsPinned, asked of the kernel: whether the map open as `fd` is the one pinned
 * at the owner's path now (the same map id), read through a short-lived fd. False while it is
 * not open and for a map held by its fd with no pin path.
 */
export function isPinnedNow(bpf: Bpf, m: MapOwner, fd: number): boolean {
  if (fd < 0 || (m.held !== undefined && m.path === "")) return false;
  let pinned: number;
  try {
    pinned = bpf.objGet(m.path, m.access);
  } catch (e) {
    if (isNotExist(e)) return false;
    throw namedError(m, "isPinned", e);
  }
  try {
    const here = bpf.getMapInfoByFd(fd).id;
    let there: number;
    try {
      there = bpf.getMapInfoByFd(pinned).id;
    } catch (e) {
      // A program or link pinned at the path is not this map.
      if (errnoOf(e) === Errno.EINVAL) return false;
      throw e;
    }
    return here === there;
  } catch (e) {
    throw namedError(m, "isPinned", e);
  } finally {
    bpf.driver.close(pinned);
  }
}

/**
 * Removes the owner's pin (rm -rf; a missing pin is fine), only on bpffs: a path whose directory
 * is on another filesystem holds no pin and is refused (EINVAL), untouched.
 */
export function unpinPath(bpf: Bpf, m: MapOwner): void {
  const r = removePin(bpf.driver.host, m.path);
  if (r.errno !== 0) {
    throw new BpfError({ errno: r.errno, op: "unpin", map: m.name, path: m.path, message: `unpin ${m.name} ${m.path}: ${r.refused ?? errnoText(r.errno)}` });
  }
}
