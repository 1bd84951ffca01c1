// kernel-maps.md §12 (pins on bpffs, fd access modes), §4.2 (MAP_FREEZE), §13 (ids, fds,
// lifetimes) and §2 (OBJ_GET_INFO_BY_FD rules).
import { errnoName, MAP_INFO_SIZE } from "@bpfkit/core";
import { expectBytes, expectEqual, expectResult, expectTrue, type Expect } from "../assert.js";
import { readU32, u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import {
  ARRAY, ARRAY_OF_MAPS, arrayTemplate, Checks, F, F_LOCK, HASH, LPM_TRIE, LRU_HASH, PERCPU_HASH, PROG_ARRAY, typeNames,
} from "./common.js";
import { valueOf } from "./elements.js";

const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * bpffs's delegate_* mount options on 6.18 (bpf_parse_param): ":"-separated enum names without
 * their prefix, in any case, "any", or a u64 for kstrtou64 base 0. Checked as root in the initial
 * user namespace, where the options are allowed.
 */
const delegateRows: ReadonlyArray<readonly [data: string, want: Expect]> = [
  // Names from each enum's BTF, compared without case; aliases and 6.18's newest included.
  ["delegate_maps=hash:array", "OK"],
  ["delegate_maps=HASH:Array", "OK"],
  ["delegate_cmds=map_create:Prog_Load:OBJ_PIN:token_create:prog_stream_read_by_fd", "OK"],
  ["delegate_cmds=prog_run", "OK"],
  ["delegate_progs=xdp:SOCKET_FILTER:Kprobe:netfilter:unspec", "OK"],
  ["delegate_attachs=cgroup_inet_ingress:Trace_Uprobe_Session:xdp", "OK"],
  ["delegate_maps=cgroup_storage:percpu_cgroup_storage_deprecated:arena", "OK"],
  ["delegate_maps=any", "OK"],
  ["delegate_progs=any:xdp", "OK"],
  ["delegate_cmds=map_create:any", "OK"],
  ["delegate_maps=hash,delegate_maps=array,delegate_cmds=map_create", "OK"],
  ["ro,delegate_attachs=any", "OK"],
  // The option names themselves are case-sensitive: this one is unknown, so ignored.
  ["DELEGATE_MAPS=bogus", "OK"],
  // Not a name: "any" is lower case only; no prefix may be written; another enum's name; the
  // __MAX_* bound; a Kelvin sign for "K" (strcasecmp folds ASCII only); spaces and a newline.
  ["delegate_maps=bogus", "EINVAL"],
  ["delegate_maps=ANY", "EINVAL"],
  ["delegate_maps=Any", "EINVAL"],
  ["delegate_maps=map_type_hash", "EINVAL"],
  ["delegate_maps=bpf_map_type_hash", "EINVAL"],
  ["delegate_cmds=bpf_map_create", "EINVAL"],
  ["delegate_progs=hash", "EINVAL"],
  ["delegate_cmds=xdp", "EINVAL"],
  ["delegate_attachs=map_create", "EINVAL"],
  ["delegate_maps=socket_filter", "EINVAL"],
  ["delegate_maps=__max_bpf_map_type", "EINVAL"],
  ["delegate_maps=max_bpf_map_type", "EINVAL"],
  // What follows the prefix's length in __MAX_BPF_CMD: the prefix itself must match first.
  ["delegate_cmds=x_bpf_cmd", "EINVAL"],
  ["delegate_progs=\u212Aprobe", "EINVAL"],
  ["delegate_maps= hash", "EINVAL"],
  ["delegate_maps=hash\n", "EINVAL"],
  ["delegate_maps=hash=array", "EINVAL"],
  // Empty: the value (fsparam_string), a bare option, an item between colons, a repeat.
  ["delegate_maps=", "EINVAL"],
  ["delegate_maps", "EINVAL"],
  ["delegate_maps=hash:", "EINVAL"],
  ["delegate_maps=:hash", "EINVAL"],
  ["delegate_maps=hash::array", "EINVAL"],
  ["delegate_maps=hash,delegate_maps=", "EINVAL"],
  // Numbers: kstrtou64 base 0, a "+" and one trailing newline allowed; any u64, bits past the
  // enum's __MAX_* included.
  ["delegate_maps=0x6", "OK"],
  ["delegate_maps=0X6", "OK"],
  ["delegate_maps=6", "OK"],
  ["delegate_maps=06", "OK"],
  ["delegate_maps=+6", "OK"],
  ["delegate_maps=+0x6", "OK"],
  ["delegate_maps=6\n", "OK"],
  ["delegate_maps=0", "OK"],
  ["delegate_maps=hash:0", "OK"],
  ["delegate_maps=0xffffffffffffffff", "OK"],
  ["delegate_maps=18446744073709551615", "OK"],
  ["delegate_maps=01777777777777777777777", "OK"],
  ["delegate_attachs=0x8000000000000000", "OK"],
  ["delegate_maps=08", "EINVAL"],
  ["delegate_maps=-1", "EINVAL"],
  ["delegate_maps=-0", "EINVAL"],
  ["delegate_maps=0x", "EINVAL"],
  ["delegate_maps=0xg", "EINVAL"],
  ["delegate_maps=+", "EINVAL"],
  ["delegate_maps=1e1", "EINVAL"],
  ["delegate_maps=0b11", "EINVAL"],
  ["delegate_maps=0x6 ", "EINVAL"],
  ["delegate_maps=6\n\n", "EINVAL"],
  // Past u64 kstrtou64's own ERANGE comes out, even with junk after the digits.
  ["delegate_maps=0x10000000000000000", "ERANGE"],
  ["delegate_maps=18446744073709551616", "ERANGE"],
  ["delegate_maps=02000000000000000000000", "ERANGE"],
  ["delegate_maps=99999999999999999999x", "ERANGE"],
  ["delegate_maps=hash:0x10000000000000000", "ERANGE"],
  // Options are parsed in order: the first bad one answers (uid's bad value is EINVAL).
  ["delegate_maps=0x10000000000000000,uid=abc", "ERANGE"],
  ["uid=abc,delegate_maps=0x10000000000000000", "EINVAL"],
  ["delegate_maps=bogus,delegate_cmds=0x10000000000000000", "EINVAL"],
];

/** Bad mount data for bpffs, each with the errno it answers once it is parsed. */
const badBpffsData: ReadonlyArray<readonly [data: string, errno: string]> = [
  ["delegate_maps=bogus", "EINVAL"], ["delegate_maps=0x10000000000000000", "ERANGE"], ["uid=abc", "EINVAL"],
  ["mode=0800", "EINVAL"], ["source=x", "EINVAL"], ["source", "EINVAL"],
];

/**
 * mount(2)'s order on 6.18 (probed as root): the syscall copies type and source (PATH_MAX bytes
 * or more is EINVAL); do_mount looks the target up (ENOENT, ENOTDIR, bpffs's dot-name EPERM,
 * ENAMETOOLONG); do_new_mount finds the type (ENODEV), then parses the data (EINVAL, ERANGE);
 * graft_tree refuses a non-directory target (ENOTDIR) last. `file` is a pin, a regular file.
 */
function mountOrderRows(dir: string, file: string, sub: string): Array<[target: string, fsType: string, flags: number, data: string | undefined, want: string]> {
  const missing = `${dir}/missing`;
  const rows: Array<[string, string, number, string | undefined, string]> = [];
  for (const [data, errno] of badBpffsData) {
    rows.push([missing, "bpf", 0, data, "ENOENT"], [`${file}/x`, "bpf", 0, data, "ENOTDIR"], [`${file}/`, "bpf", 0, data, "ENOTDIR"],
      [file, "bpf", 0, data, errno], [file, "nosuchfs", 0, data, "ENODEV"], [sub, "nosuchfs", 0, data, "ENODEV"]);
  }
  rows.push(
    [missing, "bpf", 0, undefined, "ENOENT"], [missing, "nosuchfs", 0, undefined, "ENOENT"], [`${missing}/x`, "bpf", 0, "uid=abc", "ENOENT"],
    [`${file}/x`, "nosuchfs", 0, undefined, "ENOTDIR"], [`${file}/`, "nosuchfs", 0, undefined, "ENOTDIR"],
    [file, "bpf", 0, undefined, "ENOTDIR"], [file, "bpf", 0, "ro", "ENOTDIR"], [file, "bpf", 0, "mode=700", "ENOTDIR"],
    [file, "bpf", 1, undefined, "ENOTDIR"], [file, "nosuchfs", 0, undefined, "ENODEV"],
    [sub, "bpf", 0, "uid=abc", "EINVAL"], [sub, "a".repeat(4095), 0, undefined, "ENODEV"],
    // bpf_lookup's EPERM for a dot name and the path limits are the lookup's, so they come first.
    [`${dir}/a.b`, "nosuchfs", 0, undefined, "EPERM"], [`${dir}/a.b`, "bpf", 0, "uid=abc", "EPERM"],
    [`${dir}/${"n".repeat(256)}`, "nosuchfs", 0, undefined, "ENAMETOOLONG"],
    [`${dir}/${"n".repeat(4095 - dir.length)}`, "nosuchfs", 0, "uid=abc", "ENAMETOOLONG"],
    // Type and source are copied in before any lookup: strndup_user(PATH_MAX).
    [missing, "a".repeat(4096), 0, undefined, "EINVAL"], [file, "a".repeat(4096), 0, undefined, "EINVAL"],
    // tmpfs: the same lookup first, and a directory's filesystem for a non-directory target.
    [missing, "tmpfs", 0, undefined, "ENOENT"], [missing, "tmpfs", 0, "nosuchoption", "ENOENT"],
    [`${file}/x`, "tmpfs", 0, undefined, "ENOTDIR"], [file, "tmpfs", 0, undefined, "ENOTDIR"],
  );
  return rows;
}

export const pinCases: ConformanceCase[] = [
  {
    name: "§12 pin: OBJ_PIN creates a file on bpffs; EEXIST, ENOENT, EPERM, EINVAL as the kernel",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const fs = ctx.bpffs();
      const magic = d.host.statfsType(fs);
      expectEqual(magic < 0 ? errnoName(-magic) : magic >>> 0, BPF_FS_MAGIC, `statfs f_type of the bpffs at ${fs}`);
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapName: "pinme" });
      ctx.put(fd, u32(1), u32(11));
      const path = ctx.pinPath("m");
      const c = new Checks("OBJ_PIN");
      c.result(d.objPin(fd, path), "OK", "pin to a new path");
      const st = d.host.stat(path);
      c.equal(st.errno === 0 && st.isFile, true, "the pin is a regular file");
      c.result(d.objPin(fd, path), "EEXIST", "pin to the same path again");
      c.result(d.objPin(fd, `${fs}/missing-dir/x`), "ENOENT", "pin into a missing directory");
      c.result(d.objPin(fd, `${fs}/trailing/`), "ENOENT", "pin to a path with a trailing /");
      c.result(d.objPin(fd, `${path}/`), "EEXIST", "pin to an existing pin's path with a trailing / (EEXIST first)");
      c.result(d.host.mkdirAll(path, 0o700), "ENOTDIR", "mkdirAll of the pin's path");
      const outside = fs.slice(0, fs.lastIndexOf("/")) + `/bpfkit-not-bpffs-${Date.now().toString(36)}`;
      c.result(d.objPin(fd, outside), "EPERM", "pin outside bpffs");
      c.result(d.objPin(ctx.closedFd(), ctx.pinPath("closed")), "EINVAL", "pin of a closed fd (EINVAL, not EBADF)");
      c.done();
    },
  },
  {
    name: "§12 pin: OBJ_GET gives a new fd to the same map; ENOENT, EACCES, flags; unpin is unlink",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const fs = ctx.bpffs();
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
      ctx.put(fd, u32(1), u32(11));
      const path = ctx.pinPath("m");
      expectResult(d.objPin(fd, path), "OK", "pin");
      const c = new Checks("OBJ_GET");
      const g = ctx.own(d.objGet(path));
      if (c.result(g, "OK", "get the pin")) {
        c.equal(ctx.id(g), ctx.id(fd), "same map id");
        c.step(() => expectBytes(ctx.get(g, u32(1), 4), u32(11), "same data"));
      }
      c.result(ctx.own(d.objGet(`${fs}/nothing-here`)), "ENOENT", "get a missing path");
      c.result(ctx.own(d.objGet(fs)), "EACCES", "get a directory");
      c.result(ctx.own(d.objGet(`${fs}/`)), "EACCES", "get a directory with a trailing /");
      c.result(ctx.own(d.objGet(path, F.RDONLY)), "OK", "get RDONLY");
      c.result(ctx.own(d.objGet(path, F.WRONLY)), "OK", "get WRONLY");
      c.result(ctx.own(d.objGet(path, F.RDONLY | F.WRONLY)), "EINVAL", "get RDONLY|WRONLY");
      c.result(ctx.own(d.objGet(path, 0x40)), "EINVAL", "get with unknown flags");
      // BPF_F_PATH_FD: the path is looked up from path_fd, 0 here (stdin): an absolute one ignores it.
      c.result(ctx.own(d.objGet(path, F.PATH_FD)), "OK", "get with BPF_F_PATH_FD and an absolute path");
      c.result(ctx.own(d.objGet("bpfkit-relative-pin", F.PATH_FD)), "ENOTDIR", "get with BPF_F_PATH_FD and a relative path (stdin is no directory)");
      c.result(d.host.unlink(path), "OK", "unpin (unlink)");
      c.result(ctx.own(d.objGet(path)), "ENOENT", "get after unpin");
      c.done();
    },
  },
  {
    name: "§12 §13 pin: a pin holds the map (data and id) with every fd closed; unpin frees it",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
      ctx.put(fd, u32(1), u32(11));
      const id = ctx.id(fd);
      const path = ctx.pinPath("m");
      expectResult(d.objPin(fd, path), "OK", "pin");
      ctx.close(fd);
      const byId = ctx.own(d.mapGetFdById(id));
      expectResult(byId, "OK", "get by id with only the pin left");
      expectBytes(ctx.get(byId, u32(1), 4), u32(11), "data kept by the pin");
      ctx.close(byId);
      const dir = `${ctx.bpffs()}/sub-${Date.now().toString(36)}`;
      expectResult(d.host.mkdir(dir, 0o700), "OK", "mkdir on bpffs");
      const g = ctx.own(d.objGet(path));
      expectResult(d.objPin(g, `${dir}/inner`), "OK", "pin into a subdirectory");
      expectResult(d.host.rmdir(dir), "ENOTEMPTY", "rmdir of a non-empty directory");
      expectResult(d.host.unlink(`${dir}/inner`), "OK", "unlink the second pin");
      expectResult(d.host.rmdir(dir), "OK", "rmdir of the emptied directory");
      ctx.close(g);
      expectResult(d.host.unlink(path), "OK", "unpin");
      expectResult(ctx.own(d.mapGetFdById(id)), "ENOENT", "get by id after unpin with no fds: freed at once");
    },
  },
  {
    name: "§12 pin: bpffs lookups refuse names with a dot (EPERM); long names and paths are ENAMETOOLONG",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const fs = ctx.bpffs();
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const c = new Checks("bpffs path lookups");
      // bpf_lookup: a dot in a name is reserved (only bpf_preload's maps.debug/progs.debug have one).
      for (const name of ["a.b", ".hidden", "trail."]) {
        c.result(d.objPin(fd, `${fs}/${name}`), "EPERM", `pin ${name}`);
        c.result(ctx.own(d.objGet(`${fs}/${name}`)), "EPERM", `get ${name}`);
        c.result(d.host.mkdir(`${fs}/${name}`, 0o700), "EPERM", `mkdir ${name}`);
        c.equal(d.host.stat(`${fs}/${name}`).errno, 1, `stat ${name} errno (EPERM)`);
      }
      c.result(d.objPin(fd, `${fs}/a.b/x`), "EPERM", "pin under a.b/");
      // bpf_lookup's dot check comes before simple_lookup's NAME_MAX.
      c.result(ctx.own(d.objGet(`${fs}/a.${"n".repeat(300)}`)), "EPERM", "get a 302-byte name with a dot");
      // kernfs has no NAME_MAX: sysfs just has no such entry.
      c.equal(d.host.stat(`/sys/${"n".repeat(300)}`).errno, 2, "stat a 300-byte name in sysfs errno (ENOENT)");
      // NAME_MAX after the dot check; PATH_MAX (4096 bytes with the NUL) before any lookup.
      const p255 = `${fs}/${"n".repeat(255)}`;
      c.result(d.objPin(fd, p255), "OK", "pin a 255-byte name");
      c.result(d.host.unlink(p255), "OK", "unlink it");
      c.result(d.objPin(fd, `${fs}/${"n".repeat(256)}`), "ENAMETOOLONG", "pin a 256-byte name");
      c.result(d.objPin(fd, `${fs}/${"é".repeat(128)}`), "ENAMETOOLONG", "pin a name of 128 two-byte characters");
      c.result(ctx.own(d.objGet(`${fs}/${"n".repeat(256)}/x`)), "ENAMETOOLONG", "get under a 256-byte name");
      c.result(d.host.mkdir(`${fs}/${"n".repeat(256)}`, 0o700), "ENAMETOOLONG", "mkdir a 256-byte name");
      c.result(ctx.own(d.objGet(`${fs}/missing/${"n".repeat(256)}`)), "ENOENT", "get below a missing directory (ENOENT first)");
      c.result(ctx.own(d.objGet(`${fs}/${"n".repeat(256)}/..`)), "ENAMETOOLONG", "\"..\" after a 256-byte name: looked up first");
      c.result(ctx.own(d.objGet(`${fs}/missing/../x`)), "ENOENT", "\"..\" after a missing directory: looked up first");
      let deep = fs;
      while (deep.length < 3900) {
        deep += `/${"d".repeat(99)}`;
        c.result(d.host.mkdir(deep, 0o700), "OK", "mkdir on the way to a deep path");
      }
      const at = (n: number) => `${deep}/${"p".repeat(n - deep.length - 1)}`;
      c.result(d.objPin(fd, at(4095)), "OK", "pin at a 4095-byte path");
      c.result(ctx.own(d.objGet(at(4096))), "ENAMETOOLONG", "get at a 4096-byte path");
      c.result(d.objPin(fd, at(4096)), "ENAMETOOLONG", "pin at a 4096-byte path");
      c.result(d.host.unlink(at(4095)), "OK", "unlink the 4095-byte pin");
      // procfs has no negative dentries: a create below /proc fails its lookup.
      c.result(d.objPin(fd, "/proc/bpfkit-no-such-entry"), "ENOENT", "pin under /proc");
      c.done();
    },
  },
  {
    name: "§12 pin: a bpffs mounted read-only (MS_RDONLY or \"ro\") refuses pins and mkdir with EROFS; bad uid/mode options and a source= are EINVAL",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const h = d.host;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const c = new Checks("read-only bpffs");
      const dir = ctx.mountDir("ro");
      for (const [how, flags, data] of [["MS_RDONLY", 1, undefined], ["data \"ro\"", 0, "ro"], ["data \"ro=x\" (the key alone counts)", 0, "ro=x"]] as const) {
        if (!c.result(h.mount("bpf", dir, "bpf", flags, data), "OK", `mount ${how}`)) continue;
        try {
          c.result(d.objPin(fd, `${dir}/m`), "EROFS", `${how}: pin a new name`);
          c.result(d.objPin(fd, `${dir}/maps.debug`), "EEXIST", `${how}: pin over an existing name (EEXIST before EROFS)`);
          c.result(h.mkdir(`${dir}/d`, 0o700), "EROFS", `${how}: mkdir`);
          c.result(h.unlink(`${dir}/missing`), "EROFS", `${how}: unlink of a missing name (write access is asked first)`);
          c.result(h.rmdir(`${dir}/missing`), "EROFS", `${how}: rmdir of a missing name`);
        } finally {
          c.result(h.umount(dir), "OK", `umount after ${how}`);
        }
      }
      // Off bpffs a pin is EPERM, but a read-only mount's EROFS comes first (filename_create).
      if (c.result(h.mount("tmpfs", dir, "tmpfs", 1), "OK", "mount a read-only tmpfs")) {
        c.result(d.objPin(fd, `${dir}/m`), "EROFS", "pin on a read-only tmpfs");
        c.result(h.umount(dir), "OK", "umount the read-only tmpfs");
      }
      c.result(h.mount("bpf", dir, "bpf", 0, "ro,rw"), "OK", "mount with \"ro,rw\" (the last wins)");
      c.result(d.objPin(fd, `${dir}/m`), "OK", "pin on the read-write mount");
      c.result(h.umount(dir), "OK", "umount the read-write mount");
      for (const data of ["mode=0800", "mode=0x1ff", "mode=40000000000", "mode=", "uid=4294967295", "uid=-1", "gid=abc", "uid=0x100000000", "gid=99999999999999999999x", "source=x", "source"]) {
        const r = h.mount("bpf", dir, "bpf", 0, data);
        c.result(r, "EINVAL", `mount with ${data}`);
        if (r === 0) h.umount(dir);
      }
      for (const data of ["uid=0x0", "gid=00", "mode=700", "mode=+0700", "mode=37777777777", "nosuchoption=1", "sync,lazytime,dirsync"]) {
        if (c.result(h.mount("bpf", dir, "bpf", 0, data), "OK", `mount with ${data}`)) c.result(h.umount(dir), "OK", `umount after ${data}`);
      }
      c.done();
    },
  },
  {
    name: "§12 pin: rmdir, unlink and mkdir of a path ending in \".\" or \"..\" answer for that last component (EINVAL, ENOTEMPTY; EISDIR; EEXIST), before EROFS, and remove nothing",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const h = d.host;
      const fs = ctx.bpffs();
      const dir = `${fs}/dots-${Date.now().toString(36)}`;
      expectResult(h.mkdir(dir, 0o700), "OK", `mkdir ${dir}`);
      expectResult(h.mkdir(`${dir}/empty`, 0o700), "OK", "mkdir empty/");
      const c = new Checks("\".\" and \"..\" as the last component");
      // do_rmdir, do_unlinkat and filename_create decide by the kind of the last component
      // alone: an empty directory named through "." is not removed.
      for (const [path, rmdir, unlink, mkdir] of [
        [`${dir}/empty/.`, "EINVAL", "EISDIR", "EEXIST"],
        [`${dir}/empty/./`, "EINVAL", "EISDIR", "EEXIST"],
        [`${dir}/empty/..`, "ENOTEMPTY", "EISDIR", "EEXIST"],
        [`${fs}/.`, "EINVAL", "EISDIR", "EEXIST"],
        [`${dir}/missing/.`, "ENOENT", "ENOENT", "ENOENT"],
      ] as const) {
        c.result(h.rmdir(path), rmdir, `rmdir ${path.slice(fs.length)}`);
        c.result(h.unlink(path), unlink, `unlink ${path.slice(fs.length)}`);
        c.result(h.mkdir(path, 0o700), mkdir, `mkdir ${path.slice(fs.length)}`);
      }
      // A directory named with a trailing slash: do_unlinkat's "slashes" answer is EISDIR too.
      c.result(h.unlink(`${dir}/empty/`), "EISDIR", "unlink empty/ (a directory, trailing slash)");
      c.equal(h.stat(`${dir}/empty`).isDirectory, true, "empty/ is still there");
      // The same answers come before a read-only mount's EROFS.
      const ro = `${dir}/ro`;
      expectResult(h.mkdir(ro, 0o700), "OK", "mkdir ro/");
      if (c.result(h.mount("bpf", ro, "bpf", 1), "OK", "mount a read-only bpffs")) {
        try {
          c.result(h.rmdir(`${ro}/.`), "EINVAL", "read-only: rmdir .");
          c.result(h.unlink(`${ro}/.`), "EISDIR", "read-only: unlink .");
          c.result(h.mkdir(`${ro}/.`, 0o700), "EEXIST", "read-only: mkdir .");
          c.result(h.rmdir(`${ro}/maps.debug/..`), "ENOTDIR", "read-only: rmdir below a file (the parent walk first)");
        } finally {
          c.result(h.umount(ro), "OK", "umount the read-only bpffs");
        }
      }
      c.result(h.rmdir(ro), "OK", "rmdir ro/");
      c.result(h.rmdir(`${dir}/empty`), "OK", "rmdir empty/");
      c.result(h.rmdir(dir), "OK", "rmdir the test directory");
      c.done();
    },
  },
  {
    name: "§12 pin: removeAll of \"dir/sub/..\" empties dir and answers 0, as rm -rf does when the path stops resolving on the way",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const h = d.host;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const dir = `${ctx.bpffs()}/rmrf-${Date.now().toString(36)}`;
      expectResult(h.mkdir(dir, 0o700), "OK", `mkdir ${dir}`);
      expectResult(h.mkdir(`${dir}/sub`, 0o700), "OK", "mkdir sub");
      expectResult(d.objPin(fd, `${dir}/pin`), "OK", "pin beside sub");
      const c = new Checks("removeAll through \"..\"");
      // rmdir("sub/..") is ENOTEMPTY, so each entry of dir goes; the last rmdir then meets a
      // missing sub (ENOENT), which rm -rf takes as done. dir itself stays.
      c.result(h.removeAll(`${dir}/sub/..`), "OK", "removeAll dir/sub/..");
      const left = h.readdir(dir);
      c.equal(JSON.stringify(left), "[]", "what is left in dir");
      c.result(h.rmdir(dir), "OK", "rmdir dir");
      c.done();
    },
  },
  {
    name: "§12 pin: readdir lists names in the byte order of their UTF-8 (as scandir's strcmp sorts them), not JavaScript's UTF-16 order",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const dir = `${ctx.bpffs()}/order-${Date.now().toString(36)}`;
      expectResult(d.host.mkdir(dir, 0o700), "OK", `mkdir ${dir}`);
      // U+1F600 is a surrogate pair (0xD83D…) in UTF-16 but F0 9F… in UTF-8: after U+FFFD (EF BF BD).
      const names = ["\u{1F600}", "\uFFFD", "\uE000", "z", "é", "A", "_", "0"];
      const c = new Checks("readdir order");
      for (const n of names) c.result(d.objPin(fd, `${dir}/${n}`), "OK", `pin ${JSON.stringify(n)}`);
      const got = d.host.readdir(dir);
      c.equal(JSON.stringify(got), JSON.stringify(["0", "A", "_", "z", "é", "\uE000", "\uFFFD", "\u{1F600}"]), "readdir");
      for (const n of names) c.result(d.host.unlink(`${dir}/${n}`), "OK", `unlink ${JSON.stringify(n)}`);
      c.result(d.host.rmdir(dir), "OK", "rmdir");
      c.done();
    },
  },
  {
    name: "§12 pin: bpffs delegate_cmds/maps/progs/attachs take 6.18's enum names in any case, \"any\" or a u64; other values are EINVAL, numbers past u64 ERANGE",
    group: "pin",
    run(ctx) {
      const h = ctx.driver.host;
      const c = new Checks("bpffs delegate_* options");
      const dir = ctx.mountDir("delegate");
      for (const [data, want] of delegateRows) {
        const r = h.mount("bpf", dir, "bpf", 0, data);
        c.result(r, want, `mount with ${JSON.stringify(data)}`);
        if (r >= 0) c.result(h.umount(dir), "OK", `umount after ${JSON.stringify(data)}`);
      }
      c.done();
    },
  },
  {
    name: "§12 pin: mount(2) looks the target up first (ENOENT, ENOTDIR), then the fs type (ENODEV), then the data (EINVAL, ERANGE), then ext4's source (ENOTBLK); a non-directory target is ENOTDIR last; a read-only bpffs may be mounted on",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const h = d.host;
      const c = new Checks("mount(2) order");
      const got = (r: number) => (r >= 0 ? "OK" : errnoName(-r));
      const dir = ctx.mountDir("mountorder");
      const ro = `${dir}/ro`;
      expectResult(h.mount("bpf", dir, "bpf"), "OK", `mount bpffs on ${dir}`);
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const file = `${dir}/pin`;
      expectResult(d.objPin(fd, file), "OK", "pin a map (a regular file to mount on)");
      const sub = `${dir}/sub`;
      expectResult(h.mkdir(sub, 0o700), "OK", "mkdir sub");
      for (const [target, fsType, flags, data, want] of mountOrderRows(dir, file, sub)) {
        const r = h.mount(fsType === "tmpfs" ? "tmpfs" : "bpf", target, fsType, flags, data);
        const what = `mount -t ${fsType.length > 20 ? `<${fsType.length} bytes>` : fsType}${flags ? " MS_RDONLY" : ""} ` +
          `${data === undefined ? "" : `-o ${JSON.stringify(data)} `}on ${target.length > 120 ? `<${target.length}-byte path>` : target}`;
        c.equal(got(r), want, what);
        if (r >= 0) h.umount(target);
      }
      c.equal(got(h.mount("s".repeat(4096), `${dir}/missing`, "bpf")), "EINVAL", "mount with a 4096-byte source on a missing target");
      // ext4 wants a block device (get_tree_bdev, after the data): the source's lookup answers
      // first, and anything it finds is ENOTBLK; both before graft_tree's ENOTDIR for a file
      // target.
      const ext4Rows: ReadonlyArray<readonly [source: string, target: string, data: string | undefined, want: string]> = [
        [`${dir}/missing`, sub, undefined, "ENOENT"], [`${dir}/missing`, sub, "ro", "ENOENT"], [`${dir}/missing`, file, undefined, "ENOENT"],
        [`${file}/x`, sub, undefined, "ENOTDIR"], [`${file}/`, sub, undefined, "ENOTDIR"],
        [file, sub, undefined, "ENOTBLK"], [sub, sub, undefined, "ENOTBLK"], [file, file, undefined, "ENOTBLK"],
      ];
      for (const [source, target, data, want] of ext4Rows) {
        const r = h.mount(source, target, "ext4", 0, data);
        c.equal(got(r), want, `mount -t ext4 ${data === undefined ? "" : `-o ${data} `}${JSON.stringify(source)} on ${target}`);
        if (r >= 0) h.umount(target);
      }
      // The data is copied in as one page (copy_mount_options, PAGE_SIZE) and read as a string
      // of at most a page less a byte (4095 with 4 KiB pages): an option cut at that byte is
      // parsed as what is left of it.
      const pageSize = ctx.page;
      // A page less 4 bytes of "uid=0," (4092 bytes, 682 of them, with 4 KiB pages); where 6
      // does not divide that, some are "uid=00," (octal 0 too).
      const reps = Math.floor((pageSize - 4) / 6), extra = pageSize - 4 - 6 * reps;
      const uids = "uid=00,".repeat(extra) + "uid=0,".repeat(reps - extra);
      // Exactly a page: its last byte is cut too, so "mode=08" is read as "mode=0".
      const page = `${uids.slice(0, pageSize - 10)}a=,mode=08`;
      for (const [data, want] of [[`${uids}rw,uid=abc`, "OK"], [`${uids}uid=0`, "EINVAL"], [`${uids}rw`, "OK"], [page, "OK"]] as const) {
        const r = h.mount("bpf", sub, "bpf", 0, data);
        c.equal(got(r), want, `mount -o <${data.length} bytes ending ${JSON.stringify(data.slice(pageSize - 6, pageSize + 4))}…> on sub`);
        if (r >= 0) h.umount(sub);
      }
      // A read-only filesystem may be mounted on: mount writes nothing to it. Its own entries
      // are looked up as on any bpffs.
      expectResult(h.mkdir(ro, 0o700), "OK", "mkdir ro");
      expectResult(h.mount("bpf", ro, "bpf", 1), "OK", "mount a read-only bpffs");
      if (c.result(h.mount("bpf", ro, "bpf"), "OK", "mount a bpffs on the read-only bpffs's root")) c.result(h.umount(ro), "OK", "umount the stacked bpffs");
      c.equal(got(h.mount("bpf", `${ro}/maps.debug`, "bpf")), "ENOTDIR", "mount on the read-only bpffs's maps.debug");
      c.equal(got(h.mount("bpf", `${ro}/maps.debug`, "bpf", 0, "uid=abc")), "EINVAL", "mount -o uid=abc on the read-only bpffs's maps.debug");
      c.equal(got(h.mount("bpf", `${ro}/maps.debug/x`, "bpf")), "ENOTDIR", "mount on maps.debug/x in the read-only bpffs");
      c.equal(got(h.mount("bpf", `${ro}/missing`, "bpf", 0, "uid=abc")), "ENOENT", "mount -o uid=abc on a missing name in the read-only bpffs");
      c.equal(got(h.mount("bpf", `${ro}/a.b`, "nosuchfs")), "EPERM", "mount -t nosuchfs on a dot name in the read-only bpffs");
      c.result(h.umount(ro), "OK", `umount ${ro}`);
      c.result(h.umount(dir), "OK", `umount ${dir}`);
      c.done();
    },
  },
  {
    name: "§12 pin: umount(2) looks the target up first (ENOENT; ENOTDIR for a file with a trailing /), then wants a mount's root (EINVAL), and one with no mount below it (EBUSY)",
    group: "pin",
    run(ctx) {
      const d = ctx.driver;
      const h = d.host;
      const fs = ctx.bpffs();
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const file = ctx.pinPath("umount");
      expectResult(d.objPin(fd, file), "OK", "pin a map");
      const dir = `${fs}/umount-${Date.now().toString(36)}`;
      expectResult(h.mkdir(dir, 0o700), "OK", "mkdir");
      const c = new Checks("umount(2) order");
      c.result(h.umount(`${fs}/missing`), "ENOENT", "umount a missing name");
      c.result(h.umount(`${file}/`), "ENOTDIR", "umount a pin with a trailing /");
      c.result(h.umount(`${file}/x`), "ENOTDIR", "umount below a pin");
      c.result(h.umount(file), "EINVAL", "umount a pin");
      c.result(h.umount(dir), "EINVAL", "umount a directory that is no mount's root");
      // A mount with another mounted below it is busy until that one goes.
      if (c.result(h.mount("bpf", dir, "bpf"), "OK", "mount a bpffs on the directory")) {
        const inner = `${dir}/inner`;
        if (c.result(h.mkdir(inner, 0o700), "OK", "mkdir in it") && c.result(h.mount("bpf", inner, "bpf"), "OK", "mount a bpffs below it")) {
          c.result(h.umount(dir), "EBUSY", "umount the outer mount while the inner one stands");
          c.result(h.umount(inner), "OK", "umount the inner mount");
        }
        c.result(h.umount(dir), "OK", "umount the outer mount");
      }
      c.result(h.rmdir(dir), "OK", "rmdir");
      c.done();
    },
  },
];

export const fdModeCases: ConformanceCase[] = [
  {
    name: "§12 fd modes: RDONLY fds read only, WRONLY fds write only (EPERM otherwise); info works on both",
    group: "fd-modes",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapName: "modes" });
      ctx.put(fd, u32(1), u32(11));
      const path = ctx.pinPath("m");
      expectResult(d.objPin(fd, path), "OK", "pin");
      const ro = ctx.own(d.objGet(path, F.RDONLY));
      const wo = ctx.own(d.objGet(path, F.WRONLY));
      expectResult(ro, "OK", "get RDONLY");
      expectResult(wo, "OK", "get WRONLY");
      const c = new Checks("fd modes");
      const v = new Uint8Array(4);
      const k = new Uint8Array(4);
      c.result(d.mapLookupElem(ro, u32(1), v), "OK", "RDONLY lookup");
      c.result(d.mapGetNextKey(ro, null, k), "OK", "RDONLY next_key");
      c.equal(d.mapLookupBatch(ro, null, new Uint8Array(4), new Uint8Array(16), new Uint8Array(16), 4).errno, 2, "RDONLY lookup batch errno (ENOENT at the end)");
      c.result(d.mapUpdateElem(ro, u32(2), u32(2)), "EPERM", "RDONLY update");
      // The fd's mode is checked before BPF_F_LOCK (which wants a spin lock in the value: EINVAL).
      c.result(d.mapUpdateElem(ro, u32(2), u32(2), F_LOCK), "EPERM", "RDONLY update with BPF_F_LOCK");
      c.result(d.mapDeleteElem(ro, u32(1)), "EPERM", "RDONLY delete");
      c.result(d.mapLookupAndDeleteElem(ro, u32(1), v), "EPERM", "RDONLY lookup_and_delete");
      c.result(d.mapFreeze(ro), "EPERM", "RDONLY freeze");
      c.equal(d.mapUpdateBatch(ro, u32(3), u32(3), 1).errno, 1, "RDONLY update batch errno (EPERM)");
      c.equal(d.mapDeleteBatch(ro, u32(1), 1).errno, 1, "RDONLY delete batch errno (EPERM)");
      c.equal(d.mapLookupAndDeleteBatch(ro, null, new Uint8Array(4), new Uint8Array(16), new Uint8Array(16), 4).errno, 1,
        "RDONLY lookup_and_delete batch errno (EPERM)");
      c.result(d.mapLookupElem(wo, u32(1), v), "EPERM", "WRONLY lookup");
      c.result(d.mapLookupElem(wo, u32(1), v, F_LOCK), "EPERM", "WRONLY lookup with BPF_F_LOCK");
      // Flags other than BPF_F_LOCK are refused before the fd is looked at (map_lookup_elem).
      c.result(d.mapLookupElem(wo, u32(1), v, 1), "EINVAL", "WRONLY lookup with flags 1 (EINVAL before EPERM)");
      c.result(d.mapLookupAndDeleteElem(wo, u32(1), v), "EPERM", "WRONLY lookup_and_delete (it reads too)");
      c.result(d.mapGetNextKey(wo, null, k), "EPERM", "WRONLY next_key");
      c.equal(d.mapLookupBatch(wo, null, new Uint8Array(4), new Uint8Array(16), new Uint8Array(16), 4).errno, 1, "WRONLY lookup batch errno (EPERM)");
      c.result(d.mapUpdateElem(wo, u32(2), u32(2)), "OK", "WRONLY update");
      c.result(d.mapDeleteElem(wo, u32(2)), "OK", "WRONLY delete");
      c.result(d.objPin(ro, ctx.pinPath("ro")), "OK", "pin a RDONLY fd");
      c.equal(ctx.info(wo).name, "modes", "info through a WRONLY fd");
      c.equal(ctx.info(ro).id, ctx.id(fd), "info through a RDONLY fd");
      c.step(() => expectBytes(ctx.get(fd, u32(1), 4), u32(11), "data unchanged by the refused writes"));
      c.done();
    },
  },
  {
    name: "§12 fd modes: a map created RDONLY gives only that fd read-only; GET_FD_BY_ID(0) is read-write",
    group: "fd-modes",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: F.RDONLY });
      expectResult(d.mapUpdateElem(fd, u32(1), u32(1)), "EPERM", "update through the RDONLY creation fd");
      expectEqual(ctx.info(fd).mapFlags, 0, "info map_flags without RDONLY");
      const rw = ctx.own(d.mapGetFdById(ctx.id(fd), 0));
      expectResult(rw, "OK", "GET_FD_BY_ID open_flags 0");
      expectResult(d.mapUpdateElem(rw, u32(1), u32(1)), "OK", "update through the id fd");
      const ro = ctx.own(d.mapGetFdById(ctx.id(fd), F.RDONLY));
      expectResult(ro, "OK", "GET_FD_BY_ID RDONLY");
      expectResult(d.mapUpdateElem(ro, u32(1), u32(2)), "EPERM", "update through a RDONLY id fd");
      expectResult(ctx.own(d.mapGetFdById(ctx.id(fd), 0x40)), "EINVAL", "GET_FD_BY_ID open_flags 0x40");
      const wo = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: F.WRONLY });
      expectResult(d.mapLookupElem(wo, u32(0), new Uint8Array(4)), "EPERM", "lookup through a WRONLY creation fd");
      // The fd's mode comes before the type's ENOTSUPP (an ARRAY has no lookup_and_delete).
      expectResult(d.mapLookupAndDeleteElem(wo, u32(0), new Uint8Array(4)), "EPERM", "ARRAY lookup_and_delete through a WRONLY fd");
    },
  },
];

function freezeCase(t: number): ConformanceCase {
  return {
    name: `§4.2 freeze ${typeNames[t]}: writes give EPERM after MAP_FREEZE, reads still work, a second freeze is EPERM`,
    group: "freeze",
    run(ctx) {
      const d = ctx.driver;
      const lpm = t === LPM_TRIE;
      const ks = lpm ? 8 : 4;
      const inner = t === ARRAY_OF_MAPS ? arrayTemplate(ctx) : 0;
      const fd = ctx.create({ mapType: t, keySize: ks, valueSize: 4, maxEntries: 4, mapFlags: lpm ? F.NO_PREALLOC : 0, innerMapFd: inner || undefined });
      const key = new Uint8Array(ks);
      if (lpm) key.set(u32(8));
      const val = t === ARRAY_OF_MAPS ? u32(inner) : t === PROG_ARRAY ? u32(ctx.prog()) : valueOf(ctx, t, 4, 2);
      ctx.put(fd, key, val);
      const c = new Checks(`freeze ${typeNames[t]}`);
      c.result(d.mapFreeze(fd), "OK", "freeze");
      c.result(d.mapFreeze(fd), "EPERM", "freeze again");
      c.result(d.mapUpdateElem(fd, key, val), "EPERM", "update after freeze");
      if (t !== ARRAY && t !== ARRAY_OF_MAPS) c.result(d.mapDeleteElem(fd, key), "EPERM", "delete after freeze");
      const vb = new Uint8Array(ctx.valueBytes(t, 4));
      if (t === HASH || t === PERCPU_HASH || t === LRU_HASH) c.result(d.mapLookupAndDeleteElem(fd, key, vb), "EPERM", "lookup_and_delete after freeze");
      c.result(d.mapLookupElem(fd, key, vb), "OK", "lookup after freeze");
      c.result(d.mapGetNextKey(fd, null, new Uint8Array(ks)), "OK", "next_key after freeze");
      if (t !== PROG_ARRAY) {
        c.equal(d.mapUpdateBatch(fd, key, val, 1).errno, 1, "update batch after freeze (EPERM)");
        const lb = d.mapLookupBatch(fd, null, new Uint8Array(t === HASH || t === PERCPU_HASH ? 4 : ks), new Uint8Array(ks * 4), new Uint8Array(vb.length * 4), 4);
        c.equal(lb.errno === 0 || lb.errno === 2, true, `lookup batch after freeze works (errno ${lb.errno})`);
      }
      c.done();
    },
  };
}

export const freezeCases: ConformanceCase[] = [HASH, PERCPU_HASH, ARRAY, LPM_TRIE, ARRAY_OF_MAPS, PROG_ARRAY].map(freezeCase);

export const idCases: ConformanceCase[] = [
  {
    name: "§13 ids: ids grow and are not reused; GET_NEXT_ID walks live ids; GET_FD_BY_ID",
    group: "ids",
    run(ctx) {
      const d = ctx.driver;
      const a = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const b = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const ia = ctx.id(a);
      const ib = ctx.id(b);
      expectTrue(ia >= 1 && ib > ia, `ids grow: got ${ia} then ${ib}`);
      const n = d.mapGetNextId(ia);
      // Other processes create maps too: the next live id lies in (ia, ib].
      expectTrue(n > ia && n <= ib, `MAP_GET_NEXT_ID(${ia}) = ${n}, expected in (${ia}, ${ib}]`);
      ctx.close(b);
      const c2 = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const ic = ctx.id(c2);
      expectTrue(ic > ib, `the id after freeing ${ib} is ${ic}: ids are not reused`);
      expectResult(ctx.own(d.mapGetFdById(ib)), "ENOENT", `GET_FD_BY_ID of freed id ${ib}`);
      expectResult(ctx.own(d.mapGetFdById(0)), "ENOENT", "GET_FD_BY_ID(0)");
      expectResult(d.mapGetNextId(0x7fffffff), "EINVAL", "MAP_GET_NEXT_ID(INT_MAX)");
      expectResult(d.mapGetNextId(0xffffffff), "EINVAL", "MAP_GET_NEXT_ID(0xffffffff)");
      // A walk from 0 sees both live maps, ascending, and never the freed one.
      const seen: number[] = [];
      let id = d.mapGetNextId(0);
      for (; id > 0 && seen.length < 1_000_000; id = d.mapGetNextId(id)) seen.push(id);
      // Other processes may add maps meanwhile; the walk still ends in ENOENT past the newest.
      expectResult(id, "ENOENT", "MAP_GET_NEXT_ID past the last live id");
      expectTrue(seen.includes(ia) && seen.includes(ic), `the walk from 0 includes ${ia} and ${ic}`);
      expectTrue(!seen.includes(ib), `the walk from 0 skips the freed ${ib}`);
      expectTrue(seen.every((x, i) => i === 0 || x > seen[i - 1]!), "the walk ascends");
      const byId = ctx.own(d.mapGetFdById(ia));
      expectResult(byId, "OK", "GET_FD_BY_ID of a live id");
      expectTrue(byId !== a, "GET_FD_BY_ID gives a new fd");
      expectEqual(ctx.id(byId), ia, "the new fd's map id");
    },
  },
  {
    name: "§13 ids: programs have their own id space; PROG_GET_NEXT_ID and PROG_GET_FD_BY_ID",
    group: "ids",
    run(ctx) {
      const d = ctx.driver;
      const p = ctx.prog("p1");
      const info = new Uint8Array(232);
      expectResult(d.objGetInfoByFd(p, info), "OK", "prog info");
      const pid = readU32(info, 4);
      expectEqual(readU32(info, 0), 1, "prog info type (SOCKET_FILTER)");
      expectEqual(new TextDecoder().decode(info.subarray(64, 66)), "p1", "prog info name");
      expectEqual(d.progGetNextId(pid - 1) <= pid && d.progGetNextId(pid - 1) > pid - 1, true, "PROG_GET_NEXT_ID(pid-1) reaches pid");
      const fd = ctx.own(d.progGetFdById(pid));
      expectResult(fd, "OK", "PROG_GET_FD_BY_ID");
      const m = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const mid = ctx.id(m);
      // The spaces are separate: a prog id names no map unless a map happens to have that id.
      if (pid !== mid) {
        const r = ctx.own(d.mapGetFdById(pid));
        if (r >= 0) expectTrue(ctx.info(r).id === pid, "a map fetched by a prog id is the map with that id");
        else expectResult(r, "ENOENT", "MAP_GET_FD_BY_ID(prog id)");
      }
    },
  },
  {
    name: "§13 ids: the id disappears as soon as the last fd is closed",
    group: "ids",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const id = ctx.id(fd);
      const fd2 = ctx.own(d.mapGetFdById(id));
      ctx.close(fd);
      const fd3 = ctx.own(d.mapGetFdById(id));
      expectResult(fd3, "OK", "by id while a second fd is open");
      ctx.close(fd2);
      ctx.close(fd3);
      expectResult(ctx.own(d.mapGetFdById(id)), "ENOENT", "by id after the last fd was closed");
    },
  },
];

export const infoCases: ConformanceCase[] = [
  {
    name: "§2 info: bpf_map_info fields; RDONLY/WRONLY stripped; NO_COMMON_LRU max adjusted",
    group: "info",
    run(ctx) {
      const fd = ctx.create({ mapType: LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 3, mapFlags: F.NO_COMMON_LRU | F.RDONLY | F.ZERO_SEED, mapName: "info_test" });
      const i = ctx.info(fd);
      const c = new Checks("map info");
      c.equal(i.type, LRU_HASH, "type");
      c.equal(i.keySize, 4, "key_size");
      c.equal(i.valueSize, 8, "value_size");
      c.equal(i.maxEntries, Math.ceil(3 / ctx.cpus) * ctx.cpus, "max_entries (rounded to a multiple of the CPUs)");
      c.equal(i.mapFlags, F.NO_COMMON_LRU | F.ZERO_SEED, "map_flags (RDONLY stripped)");
      c.equal(i.name, "info_test", "name");
      c.equal(i.id > 0, true, "id");
      c.done();
    },
  },
  {
    name: "§2 info: info_len may be short (truncated) or long (zero tail) up to a page; the caller's stale bytes do not matter",
    group: "info",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapName: "trunc" });
      const full = new Uint8Array(MAP_INFO_SIZE);
      expectResult(d.objGetInfoByFd(fd, full), "OK", "full info");
      expectEqual(d.objGetInfoByFd(fd, full), MAP_INFO_SIZE, "bytes written for a full-size buffer");
      for (const len of [0, 4, 8, 40, 103]) {
        const b = new Uint8Array(len);
        const r = d.objGetInfoByFd(fd, b);
        expectEqual(r, len, `bytes written for info_len ${len}`);
        expectBytes(b, full.subarray(0, len), `first ${len} bytes`);
      }
      const big = new Uint8Array(200);
      expectEqual(d.objGetInfoByFd(fd, big), MAP_INFO_SIZE, "bytes written for info_len 200");
      expectBytes(big.subarray(0, MAP_INFO_SIZE), full, "the struct inside a longer buffer");
      expectBytes(big.subarray(MAP_INFO_SIZE), new Uint8Array(200 - MAP_INFO_SIZE), "the tail stays zero");
      // The struct goes to the kernel zeroed whatever the caller's buffer holds (bpf_prog_info
      // carries pointers the kernel writes through), so stale bytes change nothing.
      const dirty = new Uint8Array(MAP_INFO_SIZE).fill(0xff);
      expectEqual(d.objGetInfoByFd(fd, dirty), MAP_INFO_SIZE, "bytes written into a buffer of stale bytes");
      expectBytes(dirty, full, "the struct read into a buffer of stale bytes");
      // bpf_check_uarg_tail_zero: up to a page (PAGE_SIZE) is fine, one byte more is E2BIG.
      const page = ctx.page;
      expectEqual(d.objGetInfoByFd(fd, new Uint8Array(page)), MAP_INFO_SIZE, `bytes written for info_len ${page}`);
      expectResult(d.objGetInfoByFd(fd, new Uint8Array(page + 1)), "E2BIG", "info_len of a page and a byte");
      // Only a BPF object's info is sized: stdin is EINVAL whatever the buffer.
      expectResult(d.objGetInfoByFd(0, new Uint8Array(page + 1)), "EINVAL", "info of stdin with info_len of a page and a byte");
      // 6.18's bpf_obj_get_info_by_fd answers an empty fd with EBADFD (77), not EBADF (probed).
      expectResult(d.objGetInfoByFd(ctx.closedFd(), full), "EBADFD", "info of a closed fd");
    },
  },
  {
    name: "host objKind: a map fd (also from OBJ_GET) is a map, a program's a program, stdin other, a closed fd EBADF",
    group: "info",
    run(ctx) {
      const host = ctx.driver.host;
      if (host.objKind === undefined) throw new Error(`${ctx.driver.kind} has no host.objKind`);
      const kind = (fd: number) => {
        const k = host.objKind!(fd);
        return typeof k === "number" ? String(k) : k.kind;
      };
      const m = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      expectEqual(kind(m), "map", "a map fd");
      const pin = ctx.pinPath("kind");
      expectResult(ctx.driver.objPin(m, pin), "OK", "pin");
      expectEqual(kind(ctx.own(ctx.driver.objGet(pin))), "map", "the map through its pin");
      expectEqual(kind(ctx.prog("kind")), "prog", "a program fd");
      expectEqual(kind(0), "other", "stdin");
      expectResult(host.objKind(ctx.closedFd()) as number, "EBADF", "a closed fd");
    },
  },
];
