// A virtual filesystem for the simulator's world: directories, plain files, mounts (each bpffs
// mount its own instance, as `mount -t bpf` makes a new superblock) and pins, which on bpffs are
// files that hold a reference to a map or program (kernel-maps.md §12).
import { BPF_FS_MAGIC, Errno } from "@bpfkit/core";
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
  readonly mountPoint: string;
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

class File<P> {
  readonly kind = "file";
  /** A preloaded entry (maps.debug, progs.debug): listed and stat-able, never opened or removed. */
  constructor(readonly mnt: Mount, readonly pin: P | undefined, readonly preloaded = false) {}
}

/**
 * The entries bpf_preload puts in every new bpffs instance. On this machine's 6.18 they are
 * listed and stat as 0400 files, but OBJ_GET and open give ENOENT and unlink gives EPERM.
 */
const PRELOADED = ["maps.debug", "progs.debug"];

type Node = Dir | File<unknown>;

/** PATH_MAX: a path of this many bytes or more has no room for its NUL (ENAMETOOLONG). */
const PATH_MAX = 4096;
/** x86-64's page: how much mount data the kernel copies in. */
const PAGE_SIZE = 4096;
/** NAME_MAX: bpffs and tmpfs (simple_lookup) and ext4 refuse a longer component. */
const NAME_MAX = 255;
const utf8 = new TextEncoder();

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
    if (value === null && (key === "ro" || key === "rw")) {
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
 * The mount data as the filesystem reads it: copy_mount_options copies one page, and the legacy
 * parser reads it as a string, so bytes past PAGE_SIZE - 1 are cut (an option may end mid-way).
 */
function pageOfData(data: string): string {
  const bytes = utf8.encode(data);
  return bytes.length < PAGE_SIZE ? data : new TextDecoder().decode(bytes.subarray(0, PAGE_SIZE - 1));
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

  constructor(private readonly release: (pin: P) => void) {
    const root = new Dir(null, 0o755);
    this.rootMount = { id: this.nextMountId++, parent: null, fsType: "ext4", source: "/dev/root", root, covered: null, mountPoint: "/", readOnly: false };
    (root as { mnt: Mount | null }).mnt = this.rootMount;
    this.mounts.push(this.rootMount);
  }

  private walk(path: string): Walk {
    const trailingSlash = path.length > 1 && path.endsWith("/");
    const fail = (errno: number): Walk => ({ errno, node: undefined, parent: undefined, name: "", trailingSlash });
    // getname: a path whose bytes and NUL do not fit in PATH_MAX is refused before any lookup.
    if (utf8.encode(path).length >= PATH_MAX) return fail(Errno.ENAMETOOLONG);
    const parts = path.split("/").filter((p) => p !== "");
    // Components are looked up one by one, as link_path_walk does, so ".." after a missing,
    // non-directory or over-long component fails there rather than cancelling it out.
    const dirs: Dir[] = [this.top(this.rootMount.root)];
    const names: string[] = [""];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const cur = dirs[dirs.length - 1]!;
      const last = i === parts.length - 1;
      if (p === "." || p === "..") {
        if (p === ".." && dirs.length > 1) {
          dirs.pop();
          names.pop();
        }
        if (last) break;
        continue;
      }
      const next = cur.children.get(p);
      if (next === undefined) {
        // Not cached, so the filesystem's own lookup answers, for a create too.
        const errno = lookupErrno(p, this.fsOf(cur).fsType);
        if (errno !== 0) return fail(errno);
        if (!last) return fail(Errno.ENOENT);
        return { errno: 0, node: undefined, parent: cur, name: p, trailingSlash };
      }
      if (last) return { errno: 0, node: next.kind === "dir" ? this.top(next) : next, parent: cur, name: p, trailingSlash };
      if (next.kind !== "dir") return fail(Errno.ENOTDIR);
      dirs.push(this.top(next));
      names.push(p);
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
    return { errno: 0, isDirectory: w.node!.kind === "dir", isFile: w.node!.kind === "file" };
  }

  readdir(path: string): string[] | number {
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
    if (w.node.kind !== "dir") return -Errno.ENOTDIR;
    return [...w.node.children.keys()].sort();
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
    const w = this.walk(path);
    if (w.errno !== 0) return -w.errno;
    // do_unlinkat asks for write access before it looks the last component up.
    if (w.parent !== undefined && this.fsOf(w.parent).readOnly) return -Errno.EROFS;
    if (w.node === undefined || w.parent === undefined) return -Errno.ENOENT;
    if (w.node.kind === "dir") return -Errno.EISDIR;
    if (w.trailingSlash) return -Errno.ENOTDIR;
    if (w.node.preloaded) return -Errno.EPERM;
    w.parent.children.delete(w.name);
    if (w.node.pin !== undefined) this.release(w.node.pin as P);
    return 0;
  }

  rmdir(path: string): number {
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
    return this.rmdir(path);
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
    // graft_tree refuses a non-directory target (ENOTDIR) last.
    if (utf8.encode(fsType).length >= PATH_MAX || utf8.encode(source).length >= PATH_MAX) return -Errno.EINVAL;
    const w = this.walk(target);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
    if (w.trailingSlash && w.node.kind !== "dir") return -Errno.ENOTDIR;
    if (!mayMount) return -Errno.EPERM;
    if (FS_MAGIC[fsType] === undefined || fsType === "ext4") return -Errno.ENODEV;
    const opts = parseMountData(fsType, pageOfData(data));
    if (typeof opts === "number") return -opts;
    if (w.node.kind !== "dir") return -Errno.ENOTDIR;
    const { parts } = split(target);
    const covered = w.node;
    const m: Mount = {
      id: this.nextMountId++, parent: this.fsOf(covered), fsType, source,
      root: undefined as unknown as Dir, covered, mountPoint: `/${parts.join("/")}`,
      readOnly: (flags & MS_RDONLY) !== 0 || opts.readOnly,
    };
    (m as { root: Dir }).root = new Dir(m, fsType === "bpf" ? 0o700 : 0o755);
    if (fsType === "bpf") for (const name of PRELOADED) m.root.children.set(name, new File<P>(m, undefined, true));
    covered.mounted = m;
    this.mounts.push(m);
    return 0;
  }

  /** umount2: the target's lookup, then CAP_SYS_ADMIN (`mayMount`), then whether it is a mount. */
  umount(target: string, mayMount = true): number {
    const w = this.walk(target);
    if (w.errno !== 0) return -w.errno;
    if (w.node === undefined) return -Errno.ENOENT;
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
    if (w.node.preloaded) return -Errno.ENOENT;
    if (w.node.pin === undefined || this.fsOf(w.node).fsType !== "bpf") return -Errno.EACCES;
    return w.node.pin as P;
  }
}
