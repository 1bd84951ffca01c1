// The simulated host services of API.md §2 (the Driver's `host` facet) and the virtual clock:
// the virtual filesystem with its mounts, CLOCK_MONOTONIC, RLIMIT_MEMLOCK. Nothing here touches
// the real host.
import { Errno, RLIM_INFINITY, assertFd, assertPath, assertU32 } from "@bpfkit/core";
import type { BpfObjKind, HostServices, MountInfo, PathStat, Rlimit } from "@bpfkit/core";
import type { Vfs } from "./vfs.js";

/** The virtual CLOCK_MONOTONIC. */
export interface SimClock {
  /** The virtual CLOCK_MONOTONIC now, in nanoseconds. */
  now(): bigint;
  /** Moves the clock `ns` nanoseconds forward. */
  advance(ns: number | bigint): void;
  /** Moves the clock to `ns`; it never goes backwards (RangeError). */
  set(ns: number | bigint): void;
}

/** What the host facet shares with the driver. */
export interface HostState {
  readonly privileged: boolean;
  /** ns, as a number: exact up to 2^53 ns (104 days of virtual uptime). */
  nowNs(): number;
  setNowNs(ns: number): void;
  readonly memlock: { cur: bigint; max: bigint };
  /** What the process's fd refers to, or undefined when it is not open. */
  objectAt(fd: number): { readonly kind: "map" | "prog" | "btf" | "other" } | undefined;
}

export function createClock(state: HostState): SimClock {
  const toNum = (ns: number | bigint, what: string): number => {
    const n = typeof ns === "bigint" ? Number(ns) : ns;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`clock.${what}: ${String(ns)} is not a non-negative integer of ns`);
    return n;
  };
  return {
    now: () => BigInt(state.nowNs()),
    advance: (ns) => state.setNowNs(state.nowNs() + toNum(ns, "advance")),
    set: (ns) => {
      const n = toNum(ns, "set");
      if (n < state.nowNs()) throw new RangeError(`clock.set: ${n} is before now (${state.nowNs()}); the monotonic clock never goes back`);
      state.setNowNs(n);
    },
  };
}

export function createHostServices<P>(vfs: Vfs<P>, state: HostState): HostServices {
  const path = (p: unknown, op: string): string => {
    assertPath(p, `host.${op}`);
    return p;
  };
  const mode = (m: unknown, op: string): number => {
    assertU32(m, "mode", `host.${op}`);
    return m;
  };
  return {
    statfsType: (p) => vfs.statfsType(path(p, "statfsType")),
    stat: (p): PathStat => vfs.stat(path(p, "stat")),
    readdir: (p) => vfs.readdir(path(p, "readdir")),
    mkdir: (p, m) => vfs.mkdir(path(p, "mkdir"), mode(m, "mkdir")),
    mkdirAll: (p, m) => vfs.mkdirAll(path(p, "mkdirAll"), mode(m, "mkdirAll")),
    unlink: (p) => vfs.unlink(path(p, "unlink")),
    rmdir: (p) => vfs.rmdir(path(p, "rmdir")),
    removeAll: (p) => vfs.removeAll(path(p, "removeAll")),
    rename: (from, to, flags = 0) => {
      const f = path(from, "rename");
      const t = path(to, "rename");
      assertU32(flags, "flags", "host.rename");
      return vfs.rename(f, t, flags);
    },
    mount: (source, target, fsType, flags = 0, data) => {
      // As the kernel driver checks them: source and type go to mount(2) as C strings too.
      path(source, "mount");
      path(fsType, "mount");
      const t = path(target, "mount");
      // As the kernel driver checks them: mount(2) takes an empty data string; only a NUL would be cut.
      if (data !== undefined && (typeof data !== "string" || data.includes("\0"))) throw new TypeError("host.mount: data must be a string without NUL bytes");
      if (!Number.isSafeInteger(flags) || flags < 0) throw new TypeError(`host.mount: flags must be a non-negative safe integer, got ${flags}`);
      return vfs.mount(source, t, fsType, flags, data ?? "", state.privileged);
    },
    umount: (target) => {
      const t = path(target, "umount");
      return vfs.umount(t, state.privileged);
    },
    mountInfo: (): MountInfo[] => vfs.mountInfo(),
    objKind: (fd): BpfObjKind | number => {
      assertFd(fd, "host.objKind");
      const obj = state.objectAt(fd);
      // The simulator has no links: its objects are maps, programs and stdio.
      return obj === undefined ? -Errno.EBADF : { kind: obj.kind };
    },
    monotonicNs: () => BigInt(state.nowNs()),
    getRlimitMemlock: (): Rlimit => ({ errno: 0, cur: state.memlock.cur, max: state.memlock.max }),
    setRlimitMemlock: (cur, max) => {
      if (typeof cur !== "bigint" || typeof max !== "bigint") throw new TypeError("host.setRlimitMemlock: cur and max must be bigints");
      if (cur < 0n || max < 0n || cur > RLIM_INFINITY || max > RLIM_INFINITY) throw new RangeError("host.setRlimitMemlock: limits must be u64");
      if (cur > max) return -Errno.EINVAL;
      // Raising the hard limit needs CAP_SYS_RESOURCE.
      if (!state.privileged && max > state.memlock.max) return -Errno.EPERM;
      state.memlock.cur = cur;
      state.memlock.max = max;
      return 0;
    },
  };
}
