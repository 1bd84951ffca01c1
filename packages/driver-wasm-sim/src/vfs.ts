// A virtual filesystem for the simulator's world: directories, plain files, mounts (each bpffs
// mount its own instance, as `mount -t bpf` makes a new superblock) and pins, which on bpffs are
// files that hold a reference to a map or program (kernel-maps.md §12).
import { BPF_FS_MAGIC, Errno, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT } from "@bpfkit/core";
import type { MountInfo, PathStat } from "@bpfkit/core";
import { isDelegateOption, parseDelegateMask } from "./bpffs-delegate.js";
import { kstrtouint } from "./kstrtox.js";

export const FS_MAGIC: Readonly<Record<string, number>> = {
  bpf: BPF_FS_MAGIC,
  tmpfs: 0x01021994,
  ext4: 0xef53,
  sysfs: 0x62656572,
  proc: 0x9fa0,
};

interface Mount {
  readonly id: number;
  readonly parent: Mount | null;
  readonly fsType: string;
  readonly source: string;
  readonly root: Dir;
  /** The directory this mount covers (null for the root mount). */
  readonly covered: Dir | null;
  /** Where it is mounted; a rename of a directory above `covered` moves it (remountBelow). */
  mountPoint: string;
  /** SB_RDONLY: MS_RDONLY or "ro" at mount time; creating and removing entries is EROFS. */
  readonly readOnly: boolean;
}

class Dir {
  readonly kind = "dir";
  readonly children = new Map<string, Node>();
  /** The mount stacked on this directory, if any. */
  mounted: Mount | null = null;
  /** A sysfs directory made only to be mounted on (sysfs_create_mount_point): mkdir in it is ENOENT. */
  mountPointOnly = false;
  constructor(readonly mnt: Mount | null, public mode: number) {}
}

/**
 * A file that is not a pin: a preloaded entry (maps.debug, progs.debug: listed and stat-able as
 * regular files, never opened, removed or renamed), or the whiteout RENAME_WHITEOUT leaves on
 * tmpfs and ext4 (a 0:0 character device: listed, not a regular file, removable).
 */
type Special = "preloaded" | "whiteout";

class File<P> {
  readonly kind = "file";
  constructor(readonly mnt: Mount, readonly pin: P | undefined, readonly special?: Special) {}
}

/**
 * The entries bpf_preload puts in every new bpffs instance. On this machine's 6.18 they are
 * listed and stat as 0400 files, but OBJ_GET and open give ENOENT and unlink gives EPERM.
 */
const PRELOADED = ["maps.debug", "progs.debug"];

type Node = Dir | File<unknown>;

/** PATH_MAX: a path of this many bytes or more has no room for its NUL (ENAMETOOLONG). */
const PATH_MAX = 4096;
/** NAME_MAX: bpffs and tmpfs (simple_lookup) and ext4 refuse a longer component. */
const NAME_MAX = 255;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A code point that is half of a surrogate pair, standing alone (a `u` regexp reads pairs whole). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A path as the kernel has it: the kernel driver hands it over as Node's UTF-8, which encodes a
 * lone surrogate as U+FFFD, so "\uD800" and "\uFFFD" are one name there and readdir lists it
 * as the latter. A path without one, as nearly every path is, is returned as it is.
 */
function kernelPath(path: string): string {
  return LONE_SURROGATE.test(path) ? fromUtf8.decode(utf8.encode(path)) : path;
}

/**
 * What the filesystem's lookup of a name it does not have says: 0 for a negative entry (the name
 * may be created), else an errno. bpf_lookup reserves names with a dot (bpf_preload's own
 * entries aside) with EPERM, before simple_lookup's NAME_MAX check, which tmpfs and ext4 share;
 * procfs has no negative entries (ENOENT); sysfs (kernfs) has no NAME_MAX check.
 */
function lookupErrno(name: string, fsType: string): number {
  if (fsType === "bpf" && name.includes(".")) return Errno.EPERM;
  if (fsType === "proc") return Errno.ENOENT;
  if (fsType !== "sysfs" && name.length > NAME_MAX / 4 && utf8.encode(name).length > NAME_MAX) return Errno.ENAMETOOLONG;
  return 0;
}

const MS_RDONLY = 1;

/**
 * The mount data's effect (legacy comma-separated options): "ro"/"rw" for any filesystem
 * (vfs_parse_sb_flag), and for bpffs: uid and gid (u32, base 0, not -1) and mode (octal u32),
 * whose bad values are EINVAL; "source", always EINVAL (mount(2) gave one); the delegate_*
 * options (bpffs-delegate.ts), whose errno comes from their own parsing. bpffs ignores options
 * it does not know. Options are parsed in order, so the first bad one answers. Returns an errno
 * or the read-only flag.
 */
function parseMountData(fsType: string, data: string): { readOnly: boolean } | number {
  let readOnly = false;
  for (const opt of data.split(",")) {
    if (opt === "") continue;
    const eq = opt.indexOf("=");
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? null : opt.slice(eq + 1);
    // vfs_parse_sb_flag reads the key alone: "ro=x" is "ro" (probed on 6.18).
    if (key === "ro" || key === "rw") {
      readOnly = key === "ro";
      continue;
    }
    if (fsType !== "bpf") continue;
    if (key === "uid" || key === "gid") {
      const n = value === null ? -1 : kstrtouint(value, 0);
      if (n < 0 || n === 0xffffffff) return Errno.EINVAL;
    } else if (key === "mode") {
      if (value === null || kstrtouint(value, 8) < 0) return Errno.EINVAL;
    } else if (key === "source") {
      // vfs_parse_fs_param_source: mount(2) has set the source already ("Multiple sources").
      return Errno.EINVAL;
    } else if (isDelegateOption(key)) {
      // Only errors are kept: the masks matter to BPF_TOKEN_CREATE and to the super options
      // mountinfo shows, neither of which the simulator has.
      const msk = parseDelegateMask(key, value);
      if (typeof msk === "number") return -msk;
    }
  }
  return { readOnly };
}

/**
 * The mount data as the filesystem reads it: copy_mount_options copies one page (PAGE_SIZE,
 * `page`), and the legacy parser reads it as a string, so bytes past page - 1 are cut (an option
 * may end mid-way).
 */
function pageOfData(data: string, page: number): string {
  const bytes = utf8.encode(data);
  return bytes.length < page ? data : fromUtf8.decode(bytes.subarray(0, page - 1));
}

/**
 * Where a path's parent leads, as path_parentat finds it: the directories from the root to the
 * one holding the last component (mounts entered, ".." taken), their names, and that component.
 */
interface ParentWalk {
  errno: number;
  dirs: Dir[];
  /** The name each of `dirs` has in the one before it ("" for the root). */
  names: string[];
  /** The last component: a name, "." or "..", or "" when the path is the root. */
  last: string;
  trailingSlash: boolean;
}

/**
 * strcmp of the names' UTF-8 bytes, the order libuv's scandir gives the kernel driver's readdir:
 * code point order, which differs from sort()'s UTF-16 order past U+E000 (U+FFFD before U+1F600).
 */
function byUtf8(a: string, b: string): number {
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!, y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return (a.length - i) - (b.length - j);
}

/** A last component that names an entry (LAST_NORM), not ".", ".." or the root. */
function isName(last: string): boolean {
  return last !== "" && last !== "." && last !== "..";
}

/**
 * lock_rename's trap: when one parent directory lies below the other, the entry of the upper
 * one on the path down to the lower one.
 */
function trapOf(oldDirs: readonly Dir[], newDirs: readonly Dir[]): Dir | undefined {
  const oldParent = oldDirs[oldDirs.length - 1]!;
  const newParent = newDirs[newDirs.length - 1]!;
  if (oldParent === newParent) return undefined;
  const i = newDirs.indexOf(oldParent);
  if (i >= 0) return newDirs[i + 1];
  const j = oldDirs.indexOf(newParent);
  return j >= 0 ? oldDirs[j + 1] : undefined;
}

/** The absolute path of `last` in the directory a walk reached. */
function pathOf(names: readonly string[], last: string): string {
  return `${names.join("/")}/${last}`;
}

/** Where a path leads: the node, or an errno; and for creation, the parent and last name. */
interface Walk {
  errno: number;
  node: Node | undefined;
  parent: Dir | undefined;
  name: string;
  trailingSlash: boolean;
}

function split(path: string): { parts: string[]; trailingSlash: boolean } {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return { parts, trailingSlash: path.length > 1 && path.endsWith("/") };
}

/**
 * The virtual filesystem. `P` is what a pin refers to; `release` is called once for every pin
 * that goes away (unlink, rm -r, umount), so the owner can drop its reference.
 */
export class Vfs<P> {
  private nextMountId = 1;
  /** Until endBoot(): the kernel's own directories, which users cannot make, are being laid. */
  private booting = true;
  private readonly mounts: Mount[] = [];
  private readonly rootMount: Mount;

  /** `pageSize`: the simulated kernel's PAGE_SIZE, how much mount data is copied in. */
  constructor(private readonly release: (pin: P) => void, private readonly pageSize: number) {
    const root = new Dir(null, 0o755);
    this.rootMount = { id: this.nextMountId++, parent: null, fsType: "ext4", source: "/dev/root", root, covered: null, mountPoint: "/", readOnly: false };
    (root as { mnt: Mount | null }).mnt = this.rootMount;
    this.mounts.push(this.rootMount);
  }

  /** Every path is resolved here, so every operation sees the names the kernel would (kernelPath). */
  private walkParent(rawPath: string): ParentWalk {
    const path = kernelPath(rawPath);
    const trailingSlash = path.length > 1 && path.endsWith("/");
    const dirs: Dir[] = [this.top(this.rootMount.root)];
    const names: string[] = [""];
    const fail = (errno: number): ParentWalk => ({ errno, dirs, names, last: "", trailingSlash });
    // getname: a path whose bytes and NUL do not fit in PATH_MAX is refused before any lookup.
    if (utf8.encode(path).length >= PATH_MAX) return fail(Errno.ENAMETOOLONG);
    const parts = path.split("/").filter((p) => p !== "");
    // Components are looked up one by one, as link_path_walk does, so ".." after a missing,
    // non-directory or over-long component fails there rather than cancelling it out.
    for (const p of parts.slice(0, -1)) {
      if (p === "." || p === "..") {
        if (p === ".." && dirs.length > 1) {
          dirs.pop();
          names.pop();
        }
        continue;
      }
      const cur = dirs[dirs.length - 1]!;
      const next = cur.children.get(p);
      // Not cached, so the filesystem's own lookup answers.
      if (next === undefined) return fail(lookupErrno(p, this.fsOf(cur).fsType) || Errno.ENOENT);
      if (next.kind !== "dir") return fail(Errno.ENOTDIR);
      dirs.push(this.top(next));
      names.push(p);
    }
    return { errno: 0, dirs, names, last: parts[parts.length - 1] ?? "", trailingSlash };
  }

  private walk(path: string): Walk {
    const { errno, dirs, names, last, trailingSlash } = this.walkParent(path);
    const fail = (e: number): Walk => ({ errno: e, node: undefined, parent: undefined, name: "", trailingSlash });
    if (errno !== 0) return fail(errno);
    if (isName(last)) {
      const cur = dirs[dirs.length - 1]!;
      const next = cur.children.get(last);
      if (next !== undefined) return { errno: 0, node: next.kind === "dir" ? this.top(next) : next, parent: cur, name: last, trailingSlash };
      // Not cached, so the filesystem's own lookup answers, for a create too.
      const e = lookupErrno(last, this.fsOf(cur).fsType);
      return e !== 0 ? fail(e) : { errno: 0, node: undefined, parent: cur, name: last, trailingSlash };
    }
    if (last === ".." && dirs.length > 1) {
      dirs.pop();
      names.pop();
    }
    // The path ends at a directory reached by "/", "." or "..".
    const node = dirs[dirs.length - 1]!;
    if (dirs.length === 1) return { errno: 0, node, parent: undefined, name: "", trailingSlash };
    return { errno: 0, node, parent: dirs[dirs.length - 2]!, name: names[names.length - 1]!, trailingSlash };
  }

  private top(d: Dir): Dir {
    while (d.mounted !== null) d = d.mounted.root;
    return d;
  }

  private fsOf(node: Node): Mount {
    return node.mnt ?? this.rootMount;
  }

  /** Boot-time setup: mkdir -p and mount without permission checks. */
  boot(): void {
    this.mkdirAll("/tmp", 0o1777);
    this.mkdirAll("/proc", 0o555);
    this.mkdirAll("/sys", 0o555);
    this.mount("tmpfs", "/tmp", "tmpfs");
    this.mount("proc", "/proc", "proc");
    this.mount("sysfs", "/sys", "sysfs");
    this.mkdirAll("/sys/fs/bpf", 0o755);
    const bpf = this.walk("/sys/fs/bpf").node;
    if (bpf !== undefined && bpf.kind === "dir") bpf.mountPointOnly = true;
  }

  /** From now on mkdir answers as procfs and sysfs do (see mkdir). */
  endBoot(): void {
    this.booting = false;
  }

  statfsType(path: string): number {
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
    if (w.trailingSlash && w.node.kind !== "dir") return -Errno.ENOTDIR;
    return FS_MAGIC[this.fsOf(w.node).fsType] ?? 0;
  }

  stat(path: string): PathStat {
    const w = this.walk(path);
    const errno = w.errno !== 0 ? w.errno : w.node === undefined ? Errno.ENOENT
      : w.trailingSlash && w.node.kind !== "dir" ? Errno.ENOTDIR : 0;
    if (errno !== 0) return { errno, isDirectory: false, isFile: false };
    const node = w.node!;
    return { errno: 0, isDirectory: node.kind === "dir", isFile: node.kind === "file" && node.special !== "whiteout" };
  }

  readdir(path: string): string[] | number {
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
    if (w.node.kind !== "dir") return -Errno.ENOTDIR;
    return [...w.node.children.keys()].sort(byUtf8);
  }

  mkdir(path: string, mode: number): number {
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    if (w.node !== undefined) return -Errno.EEXIST;
    if (w.parent === undefined) return -Errno.EEXIST;
    if (this.fsOf(w.parent).readOnly) return -Errno.EROFS;
    if (!this.booting) {
      // procfs has no mkdir (ENOENT); sysfs refuses it (EPERM), and its bare mount points, like
      // /sys/fs/bpf without bpffs on it, look empty (ENOENT) — checked on 6.18.
      const fs = this.fsOf(w.parent).fsType;
      if (fs === "proc") return -Errno.ENOENT;
      if (fs === "sysfs") return w.parent.mountPointOnly ? -Errno.ENOENT : -Errno.EPERM;
    }
    w.parent.children.set(w.name, new Dir(this.fsOf(w.parent), mode & 0o7777));
    return 0;
  }

  /**
   * mkdir -p as the kernel driver does it: one prefix of the path as written at a time ("." and
   * ".." included, so the kernel's lookups and their errnos are the same), stat, then mkdir.
   */
  mkdirAll(path: string, mode: number): number {
    let prefix = "";
    for (const p of path.split("/")) {
      if (p === "") continue;
      prefix += `/${p}`;
      const st = this.stat(prefix);
      if (st.errno === 0) {
        if (!st.isDirectory) return -Errno.ENOTDIR;
        continue;
      }
      if (st.errno !== Errno.ENOENT) return -st.errno;
      const r = this.mkdir(prefix, mode);
      if (r < 0 && r !== -Errno.EEXIST) return r;
    }
    return 0;
  }

  unlink(path: string): number {
    // do_unlinkat: a path ending in ".", ".." or at the root names no entry to unlink (EISDIR),
    // found from the parent walk alone, before the write access and the lookup.
    const pw = this.walkParent(path);
    if (pw.errno !== 0) return -pw.errno;
    if (!isName(pw.last)) return -Errno.EISDIR;
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    // do_unlinkat asks for write access before it looks the last component up.
    if (w.parent !== undefined && this.fsOf(w.parent).readOnly) return -Errno.EROFS;
    if (w.node === undefined || w.parent === undefined) return -Errno.ENOENT;
    if (w.node.kind === "dir") return -Errno.EISDIR;
    if (w.trailingSlash) return -Errno.ENOTDIR;
    if (w.node.special === "preloaded") return -Errno.EPERM;
    w.parent.children.delete(w.name);
    if (w.node.pin !== undefined) this.release(w.node.pin as P);
    return 0;
  }

  rmdir(path: string): number {
    // do_rmdir answers for the last component's kind first, without looking it up: "..",
    // ENOTEMPTY; ".", EINVAL; the root, EBUSY (so "dir/." never removes dir).
    const pw = this.walkParent(path);
    if (pw.errno !== 0) return -pw.errno;
    if (pw.last === "..") return -Errno.ENOTEMPTY;
    if (pw.last === ".") return -Errno.EINVAL;
    if (pw.last === "") return -Errno.EBUSY;
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    if (w.parent !== undefined && this.fsOf(w.parent).readOnly) return -Errno.EROFS;
    if (w.node === undefined) return -Errno.ENOENT;
    if (w.parent === undefined) return -Errno.EBUSY;
    if (w.node.kind !== "dir") return -Errno.ENOTDIR;
    if (this.isMountRoot(w.node)) return -Errno.EBUSY;
    if (w.node.children.size > 0) return -Errno.ENOTEMPTY;
    w.parent.children.delete(w.name);
    return 0;
  }

  /**
   * rm -rf as Node's fs.rmSync does it (the kernel driver's removeAll): rmdir first; only when
   * that says ENOTEMPTY, remove each entry and rmdir again; the first error stops it. So a mount
   * point answers EBUSY with its contents untouched.
   */
  removeAll(path: string): number {
    const st = this.stat(path);
    if (st.errno === Errno.ENOENT) return 0;
    if (st.errno !== 0) return -st.errno;
    if (!st.isDirectory) return this.unlink(path);
    const r = this.rmdir(path);
    if (r !== -Errno.ENOTEMPTY) return r;
    const names = this.readdir(path);
    if (typeof names === "number") return names;
    for (const name of names) {
      const c = this.removeAll(`${path.replace(/\/+$/, "")}/${name}`);
      if (c < 0) return c;
    }
    // rimraf takes ENOENT here as "already gone": "dir/sub/.." stops resolving once sub is removed.
    const last = this.rmdir(path);
    return last === -Errno.ENOENT ? 0 : last;
  }

  /**
   * renameat2(2) as 6.18 answers it, in its order (checked on the kernel; the conformance case
   * `§12 pin: rename …` holds both drivers to it). do_renameat2: the flags; both parents' walks;
   * EXDEV across mounts; EBUSY for a "." or ".." (EEXIST with NOREPLACE when it is the
   * target's); EROFS; the source's lookup (its errno, else ENOENT), the target's; NOREPLACE and
   * EXCHANGE against the target; trailing slashes after a non-directory (ENOTDIR); a source
   * above the target's parent (EINVAL) or a target above the source's (ENOTEMPTY, EXCHANGE:
   * EINVAL). vfs_rename: one inode under both names is 0; a directory over a non-directory
   * ENOTDIR, the reverse EISDIR; procfs has no rename (EPERM), nor bpf_preload's entries; a
   * mount point is EBUSY. Then the filesystem's own: sysfs (kernfs) EINVAL for any flag and
   * EPERM without; bpffs (simple_rename) takes NOREPLACE and EXCHANGE only; tmpfs and ext4 also
   * leave a whiteout; a non-empty directory is not replaced (ENOTEMPTY). A pin replaced is
   * released as by unlink.
   */
  rename(from: string, to: string, flags: number): number {
    if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) !== 0) return -Errno.EINVAL;
    const exchange = (flags & RENAME_EXCHANGE) !== 0;
    if (exchange && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) !== 0) return -Errno.EINVAL;
    const o = this.walkParent(from);
    if (o.errno !== 0) return -o.errno;
    const n = this.walkParent(to);
    if (n.errno !== 0) return -n.errno;
    const oldDir = o.dirs[o.dirs.length - 1]!;
    const newDir = n.dirs[n.dirs.length - 1]!;
    const mnt = this.fsOf(oldDir);
    if (this.fsOf(newDir) !== mnt) return -Errno.EXDEV;
    if (!isName(o.last)) return -Errno.EBUSY;
    if (!isName(n.last)) return (flags & RENAME_NOREPLACE) !== 0 ? -Errno.EEXIST : -Errno.EBUSY;
    if (mnt.readOnly) return -Errno.EROFS;
    const src = oldDir.children.get(o.last);
    if (src === undefined) return -(lookupErrno(o.last, mnt.fsType) || Errno.ENOENT);
    const dst = newDir.children.get(n.last);
    if (dst === undefined) {
      const e = lookupErrno(n.last, mnt.fsType);
      if (e !== 0) return -e;
    }
    if ((flags & RENAME_NOREPLACE) !== 0 && dst !== undefined) return -Errno.EEXIST;
    if (exchange && dst === undefined) return -Errno.ENOENT;
    if (exchange && dst!.kind !== "dir" && n.trailingSlash) return -Errno.ENOTDIR;
    if (src.kind !== "dir" && (o.trailingSlash || (!exchange && n.trailingSlash))) return -Errno.ENOTDIR;
    // lock_rename: when one parent lies below the other, the entry of the upper one on the way
    // down to it may be neither moved nor replaced.
    const trap = trapOf(o.dirs, n.dirs);
    if (src === trap) return -Errno.EINVAL;
    if (dst !== undefined && dst === trap) return exchange ? -Errno.EINVAL : -Errno.ENOTEMPTY;
    if (src === dst) return 0;
    if (dst !== undefined && !exchange) {
      if (src.kind === "dir" && dst.kind !== "dir") return -Errno.ENOTDIR;
      if (src.kind !== "dir" && dst.kind === "dir") return -Errno.EISDIR;
    }
    if (mnt.fsType === "proc") return -Errno.EPERM;
    if ((src.kind === "file" && src.special === "preloaded") || (dst?.kind === "file" && dst.special === "preloaded")) return -Errno.EPERM;
    if ((src.kind === "dir" && src.mounted !== null) || (dst?.kind === "dir" && dst.mounted !== null)) return -Errno.EBUSY;
    if (mnt.fsType === "sysfs") return flags !== 0 ? -Errno.EINVAL : -Errno.EPERM;
    if (mnt.fsType === "bpf" && (flags & RENAME_WHITEOUT) !== 0) return -Errno.EINVAL;
    const oldPath = pathOf(o.names, o.last);
    const newPath = pathOf(n.names, n.last);
    if (exchange) {
      oldDir.children.set(o.last, dst!);
      newDir.children.set(n.last, src);
      this.remountBelow(src, newPath);
      this.remountBelow(dst!, oldPath);
      return 0;
    }
    if (dst?.kind === "dir" && dst.children.size > 0) return -Errno.ENOTEMPTY;
    oldDir.children.delete(o.last);
    newDir.children.set(n.last, src);
    if ((flags & RENAME_WHITEOUT) !== 0) oldDir.children.set(o.last, new File<P>(mnt, undefined, "whiteout"));
    if (dst?.kind === "file" && dst.pin !== undefined) this.release(dst.pin as P);
    this.remountBelow(src, newPath);
    return 0;
  }

  /**
   * The mounts on directories inside `node`, now at `path`, follow it, and so do the mounts
   * inside those. Found by walking the directories, not by comparing paths: a mount hidden by
   * another (made below a directory that a later mount covers) lies in the covered tree, not
   * below a directory of the same name in the covering mount.
   */
  private remountBelow(node: Node, path: string): void {
    if (node.kind !== "dir") return;
    for (const [name, child] of node.children) {
      if (child.kind !== "dir") continue;
      const at = `${path}/${name}`;
      // Each mount stacked on the directory, and what lies below each one's root.
      for (let m = child.mounted; m !== null; m = m.root.mounted) {
        m.mountPoint = at;
        this.remountBelow(m.root, at);
      }
      this.remountBelow(child, at);
    }
  }

  private isMountRoot(d: Dir): boolean {
    return d.mnt !== null && d.mnt.root === d;
  }

  /**
   * A new mount of `fsType` (each its own superblock). Of mount(2)'s flags only MS_RDONLY is
   * modelled; of the data, "ro"/"rw" and bpffs's uid, gid, mode and delegate_* (parseMountData).
   * Mounting on a directory of a read-only filesystem is allowed: mount writes nothing to it.
   * `mayMount` is CAP_SYS_ADMIN: without it the answer is EPERM once the target is found.
   */
  mount(source: string, target: string, fsType: string, flags = 0, data = "", mayMount = true): number {
    // The kernel's order (6.18, probed): the syscall copies type and source (strndup_user, so
    // PATH_MAX bytes or more is EINVAL); do_mount looks the target up (ENOENT, ENOTDIR, EPERM
    // for a bpffs dot name, ENAMETOOLONG); path_mount asks for CAP_SYS_ADMIN (EPERM);
    // do_new_mount finds the type (ENODEV) and parses the data, one page of it (EINVAL, ERANGE);
    // ext4 then looks its source up (ENOENT, ENOTDIR, ENOTBLK);
    // graft_tree refuses a non-directory target (ENOTDIR) last.
    if (utf8.encode(fsType).length >= PATH_MAX || utf8.encode(source).length >= PATH_MAX) return -Errno.EINVAL;
    // The mount point and source mountInfo() shows, as the kernel stores them.
    target = kernelPath(target);
    source = kernelPath(source);
    const w = this.walk(target);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
    if (w.trailingSlash && w.node.kind !== "dir") return -Errno.ENOTDIR;
    if (!mayMount) return -Errno.EPERM;
    if (FS_MAGIC[fsType] === undefined) return -Errno.ENODEV;
    const opts = parseMountData(fsType, pageOfData(data, this.pageSize));
    if (typeof opts === "number") return -opts;
    if (fsType === "ext4") return -this.blockDeviceErrno(source);
    if (w.node.kind !== "dir") return -Errno.ENOTDIR;
    const { parts } = split(target);
    const covered = w.node;
    const m: Mount = {
      id: this.nextMountId++, parent: this.fsOf(covered), fsType, source,
      root: undefined as unknown as Dir, covered, mountPoint: `/${parts.join("/")}`,
      readOnly: (flags & MS_RDONLY) !== 0 || opts.readOnly,
    };
    (m as { root: Dir }).root = new Dir(m, fsType === "bpf" ? 0o700 : 0o755);
    if (fsType === "bpf") for (const name of PRELOADED) m.root.children.set(name, new File<P>(m, undefined, "preloaded"));
    covered.mounted = m;
    this.mounts.push(m);
    return 0;
  }

  /**
   * ext4's get_tree_bdev, after the data: lookup_bdev walks the source (ENOENT, ENOTDIR, …) and
   * wants a block device, which the simulator has none of (ENOTBLK).
   */
  private blockDeviceErrno(source: string): number {
    const s = this.walk(source);
    if (s.errno !== 0) return s.errno;
    if (s.node === undefined) return Errno.ENOENT;
    return s.trailingSlash && s.node.kind !== "dir" ? Errno.ENOTDIR : Errno.ENOTBLK;
  }

  /** umount2: the target's lookup, then CAP_SYS_ADMIN (`mayMount`), then whether it is a mount. */
  umount(target: string, mayMount = true): number {
    const w = this.walk(target);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
    // The lookup's own answer for "file/" comes before can_umount's checks.
    if (w.trailingSlash && w.node.kind !== "dir") return -Errno.ENOTDIR;
    if (!mayMount) return -Errno.EPERM;
    if (w.node.kind !== "dir" || !this.isMountRoot(w.node) || w.node.mnt === this.rootMount) return -Errno.EINVAL;
    const m = w.node.mnt!;
    if (this.mounts.some((o) => o.parent === m)) return -Errno.EBUSY;
    // The superblock goes away with its last mount: every pin in it drops its reference.
    this.emptyDirForce(m.root);
    m.covered!.mounted = null;
    this.mounts.splice(this.mounts.indexOf(m), 1);
    return 0;
  }

  private emptyDirForce(d: Dir): void {
    for (const child of d.children.values()) {
      if (child.kind === "dir") this.emptyDirForce(child);
      else if (child.pin !== undefined) this.release(child.pin as P);
    }
    d.children.clear();
  }

  mountInfo(): MountInfo[] {
    return this.mounts.map((m) => ({
      mountId: m.id, parentId: m.parent?.id ?? m.id, root: "/", mountPoint: m.mountPoint,
      fsType: m.fsType, source: m.source,
    }));
  }

  // ---- pins (OBJ_PIN / OBJ_GET, kernel-maps.md §12) ----

  /** Creates a pin file: ENOENT for a missing parent or a trailing "/", EEXIST, EPERM off bpffs. */
  pin(path: string, target: P): number {
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    if (w.node !== undefined) return -Errno.EEXIST;
    if (w.parent === undefined) return -Errno.EEXIST;
    if (w.trailingSlash) return -Errno.ENOENT;
    if (this.fsOf(w.parent).readOnly) return -Errno.EROFS;
    const mnt = this.fsOf(w.parent);
    if (mnt.fsType !== "bpf") return -Errno.EPERM;
    w.parent.children.set(w.name, new File<P>(mnt, target));
    return 0;
  }

  /** The object pinned at `path`: ENOENT when missing, EACCES for a directory or a non-pin. */
  getPin(path: string): P | number {
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
    if (w.node.kind === "dir") return -Errno.EACCES;
    if (w.trailingSlash) return -Errno.ENOTDIR;
    if (w.node.special === "preloaded") return -Errno.ENOENT;
    if (w.node.pin === undefined || this.fsOf(w.node).fsType !== "bpf") return -Errno.EACCES;
    return w.node.pin as P;
  }
}
