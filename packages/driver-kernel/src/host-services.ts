// The host services of the kernel driver: the real filesystem (node:fs, errors as -errno),
// statfs/mount/umount2/renameat2/clock_gettime/prlimit through koffi, and /proc/self/mountinfo.
import {
  existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync,
} from "node:fs";
import {
  assertFd, assertPath, assertU32, Errno, RLIM_INFINITY,
  type BpfObjKind, type HostServices, type MountInfo, type PathStat, type Rlimit,
} from "@bpfkit/core";
import { parseMountInfo } from "./mountinfo.js";
import type { Libc } from "./native.js";

const RLIMIT_MEMLOCK = 8;
/** Paths relative to the current directory, as node:fs takes them. */
const AT_FDCWD = -100;
const CLOCK_MONOTONIC = 1;
/** struct statfs is 120 bytes on x86-64 and arm64; f_type is the leading long. */
const STATFS_BYTES = 120;

/** -errno from a node:fs error (its `errno` is already negative on Linux). */
export function fsErrno(e: unknown): number {
  const n = (e as { errno?: unknown }).errno;
  return typeof n === "number" && n !== 0 ? -Math.abs(n) : -Errno.EIO;
}

/**
 * The kind of BPF object an fdinfo text describes: the kernel prints map_type:, prog_type: or
 * link_type: (links since 5.7), or a BTF object's btf_id:, for its own files, and none of them
 * for anything else.
 */
export function parseFdinfoKind(text: string): BpfObjKind {
  if (/^map_type:/m.test(text)) return { kind: "map" };
  if (/^prog_type:/m.test(text)) return { kind: "prog" };
  const link = /^link_type:\s*(\S+)/m.exec(text);
  if (link) return { kind: "link", linkType: link[1]! };
  if (/^btf_id:/m.test(text)) return { kind: "btf" };
  return { kind: "other" };
}

/**
 * The bits of a u32 mode mkdir(2) can use. Node 20's mkdirSync aborts the process (a failed
 * IsInt32 assertion) for a mode of 2^31 or more, and the kernel ignores every bit above 07777.
 */
function dirMode(mode: number): number {
  return mode & 0o7777;
}

function tryFs(fn: () => void): number {
  try {
    fn();
    return 0;
  } catch (e) {
    return fsErrno(e);
  }
}

function rlimitArg(v: unknown, what: string): bigint {
  if (typeof v !== "bigint") throw new TypeError(`setrlimit(RLIMIT_MEMLOCK): ${what} must be a bigint`);
  if (v < 0n || v > RLIM_INFINITY) throw new RangeError(`setrlimit(RLIMIT_MEMLOCK): ${what} ${v} is not a u64`);
  return v;
}

/**
 * Out-parameters of the libc calls (statfs fills STATFS_BYTES; the timespec and both rlimits,
 * 2 × 16 bytes, fit inside): one block per process, since every call is synchronous.
 */
let outBlock: { dv: DataView; base: number } | undefined;

export class KernelHostServices implements HostServices {
  private readonly dv: DataView;
  private readonly base: number;

  constructor(private readonly libc: Libc) {
    if (outBlock === undefined) {
      const block = libc.koffi.alloc("uint8_t", STATFS_BYTES);
      outBlock = { dv: new DataView(libc.koffi.view(block, STATFS_BYTES)), base: Number(libc.koffi.address(block)) };
    }
    this.dv = outBlock.dv;
    this.base = outBlock.base;
  }

  private errno(): number {
    return -this.libc.koffi.errno();
  }

  statfsType(path: string): number {
    assertPath(path, "statfs");
    if (this.libc.statfs(path, this.base) < 0) return this.errno();
    return Number(this.dv.getBigInt64(0, true) & 0xffff_ffffn);
  }

  stat(path: string): PathStat {
    assertPath(path, "stat");
    try {
      const st = statSync(path);
      return { errno: 0, isDirectory: st.isDirectory(), isFile: st.isFile() };
    } catch (e) {
      return { errno: -fsErrno(e), isDirectory: false, isFile: false };
    }
  }

  readdir(path: string): string[] | number {
    assertPath(path, "readdir");
    try {
      return readdirSync(path);
    } catch (e) {
      return fsErrno(e);
    }
  }

  mkdir(path: string, mode: number): number {
    assertPath(path, "mkdir");
    // Checked here, as the simulator does: node:fs would take "755" as octal or throw a
    // RangeError that tryFs turns into EIO.
    assertU32(mode, "mode", "mkdir");
    return tryFs(() => mkdirSync(path, { mode: dirMode(mode) }));
  }

  mkdirAll(path: string, mode: number): number {
    assertPath(path, "mkdirAll");
    assertU32(mode, "mode", "mkdirAll");
    // One component at a time, not mkdirSync's `recursive`: Node 20's recursive mkdir loops
    // forever when mkdir answers ENOENT under a parent that exists (procfs, or /sys/fs/bpf/x
    // on a host without bpffs mounted).
    const parts = path.split("/");
    let at = path.startsWith("/") ? "" : ".";
    for (const part of parts) {
      if (part === "") continue;
      at = at === "" ? `/${part}` : `${at}/${part}`;
      const st = this.stat(at);
      if (st.errno === 0) {
        if (!st.isDirectory) return -Errno.ENOTDIR;
        continue;
      }
      if (st.errno !== Errno.ENOENT) return -st.errno;
      const r = tryFs(() => mkdirSync(at, { mode: dirMode(mode) }));
      if (r < 0 && r !== -Errno.EEXIST) return r;
    }
    return 0;
  }

  unlink(path: string): number {
    assertPath(path, "unlink");
    return tryFs(() => unlinkSync(path));
  }

  rmdir(path: string): number {
    assertPath(path, "rmdir");
    return tryFs(() => rmdirSync(path));
  }

  removeAll(path: string): number {
    assertPath(path, "removeAll");
    return tryFs(() => rmSync(path, { recursive: true, force: true }));
  }

  rename(from: string, to: string, flags = 0): number {
    assertPath(from, "rename");
    assertPath(to, "rename");
    assertU32(flags, "flags", "rename");
    return this.libc.renameat2(AT_FDCWD, from, AT_FDCWD, to, flags) < 0 ? this.errno() : 0;
  }

  mount(source: string, target: string, fsType: string, flags = 0, data?: string): number {
    assertPath(source, "mount");
    assertPath(target, "mount");
    assertPath(fsType, "mount");
    // mount(2) takes an empty data string; only a NUL inside it would be cut.
    if (data !== undefined && (typeof data !== "string" || data.includes("\0"))) {
      throw new TypeError("mount: data must be a string without NUL bytes");
    }
    // unsigned long; past 2^53 a number is no longer the flags it was written as (2^64 went in as 0).
    if (!Number.isSafeInteger(flags) || flags < 0) throw new TypeError(`mount: flags must be a non-negative safe integer, got ${flags}`);
    return this.libc.mount(source, target, fsType, flags, data ?? null) < 0 ? this.errno() : 0;
  }

  umount(target: string): number {
    assertPath(target, "umount");
    return this.libc.umount2(target, 0) < 0 ? this.errno() : 0;
  }

  mountInfo(): MountInfo[] | number {
    try {
      return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
    } catch (e) {
      return fsErrno(e);
    }
  }

  objKind(fd: number): BpfObjKind | number {
    assertFd(fd, "host.objKind");
    const text = readOwnFdinfo(fd);
    return typeof text === "number" ? text : parseFdinfoKind(text);
  }

  monotonicNs(): bigint {
    if (this.libc.clockGettime(CLOCK_MONOTONIC, this.base) < 0) {
      throw new Error(`clock_gettime(CLOCK_MONOTONIC): errno ${this.libc.koffi.errno()}`);
    }
    return this.dv.getBigInt64(0, true) * 1_000_000_000n + this.dv.getBigInt64(8, true);
  }

  getRlimitMemlock(): Rlimit {
    if (this.libc.prlimit(0, RLIMIT_MEMLOCK, 0, this.base) < 0) return { errno: -this.errno(), cur: 0n, max: 0n };
    return { errno: 0, cur: this.dv.getBigUint64(0, true), max: this.dv.getBigUint64(8, true) };
  }

  setRlimitMemlock(cur: bigint, max: bigint): number {
    this.dv.setBigUint64(16, rlimitArg(cur, "cur"), true);
    this.dv.setBigUint64(24, rlimitArg(max, "max"), true);
    return this.libc.prlimit(0, RLIMIT_MEMLOCK, this.base + 16, 0) < 0 ? this.errno() : 0;
  }
}

/**
 * /proc/self/fdinfo/<fd> of this process, -EBADF for an fd that is not open (a negative one
 * too), or -ENOSYS where procfs is not mounted: then no fd can be told, and an open one must
 * not read as closed.
 */
export function readOwnFdinfo(fd: number): string | number {
  if (fd < 0) return -Errno.EBADF;
  try {
    return readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  } catch (e) {
    // ENOENT: no such fd in this process, or no procfs at all.
    const r = fsErrno(e);
    if (r !== -Errno.ENOENT) return r;
    return existsSync("/proc/self/fdinfo") ? -Errno.EBADF : -Errno.ENOSYS;
  }
}
