// host.rename (renameat2(2)) on bpffs, tmpfs, procfs and sysfs, as 6.18 answers it: what it does
// to pins (kernel-maps.md §12: a renamed pin keeps working) and its errnos in the kernel's order.
// The rows were found on the kernel with a probe and are the simulator's specification.
import { Errno, errnoName, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, type Driver } from "@bpfkit/core";
import { CaseSkipped, expectEqual, expectResult, expectThrows, type Expect } from "../assert.js";
import type { CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { Checks, HASH } from "./common.js";

const NOREPLACE = RENAME_NOREPLACE;
const EXCHANGE = RENAME_EXCHANGE;
const WHITEOUT = RENAME_WHITEOUT;

type Rename = NonNullable<Driver["host"]["rename"]>;

/**
 * The driver's rename, or a skip: the service is optional, and a driver that has it may answer
 * ENOSYS for "not offered" (the Driver contract; core falls back either way). A rename of a
 * missing name onto itself asks which, and changes nothing on a driver that renames.
 */
function renameOf(ctx: CaseContext): Rename {
  const host = ctx.driver.host;
  if (host.rename === undefined) throw new CaseSkipped(`${ctx.driver.kind} has no host.rename (optional)`);
  const probe = `${ctx.bpffs()}/bpfkit-rename-probe`;
  if (host.rename(probe, probe, 0) === -Errno.ENOSYS) throw new CaseSkipped(`${ctx.driver.kind}'s host.rename answers ENOSYS (not offered)`);
  return host.rename.bind(host);
}

/** `from`, `to`, flags, the kernel's answer. Rows that succeed come in pairs that undo each other. */
type Row = readonly [from: string, to: string, flags: number, want: Expect];

function flagNames(flags: number): string {
  const names = [[NOREPLACE, "NOREPLACE"], [EXCHANGE, "EXCHANGE"], [WHITEOUT, "WHITEOUT"]] as const;
  const known: string[] = names.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
  const rest = flags & ~(NOREPLACE | EXCHANGE | WHITEOUT);
  if (rest !== 0) known.push(`0x${rest.toString(16)}`);
  return known.length === 0 ? "" : ` ${known.join("|")}`;
}

function runRows(c: Checks, rename: Rename, rows: readonly Row[], short: (p: string) => string): void {
  for (const [from, to, flags, want] of rows) {
    const r = rename(from, to, flags);
    c.equal(r >= 0 ? "OK" : errnoName(-r), want, `rename ${short(from)} → ${short(to)}${flagNames(flags)}`);
  }
}

/** A directory's entries, sorted (the kernel lists them in its own order), or the errno. */
function sortedEntries(ctx: CaseContext, dir: string): string {
  const names = ctx.driver.host.readdir(dir);
  return typeof names === "number" ? errnoName(-names) : [...names].sort().join();
}

/**
 * A bpffs with pins, directories, a mount point, a read-only bpffs and a tmpfs in it. The
 * context unmounts the three after the case.
 */
interface Fixture {
  readonly fs: string;
  /** The bpffs mounted on `${fs}/m`. */
  readonly m: string;
  /** A bpffs mounted read-only on `${fs}/ro`. */
  readonly ro: string;
  /** A tmpfs mounted on `${fs}/t`. */
  readonly t: string;
}

function fixture(ctx: CaseContext): Fixture {
  const d = ctx.driver;
  const h = d.host;
  const fs = ctx.bpffs();
  const a = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  const b = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  expectResult(d.objPin(a, `${fs}/a`), "OK", "pin a");
  expectResult(d.objPin(b, `${fs}/b`), "OK", "pin b");
  for (const dir of ["d", "e", "e/sub", "ne", "m", "ro", "t"]) expectResult(h.mkdir(`${fs}/${dir}`, 0o700), "OK", `mkdir ${dir}`);
  expectResult(d.objPin(a, `${fs}/ne/x`), "OK", "pin ne/x");
  for (const [dir, type, flags] of [["m", "bpf", 0], ["ro", "bpf", 1], ["t", "tmpfs", 0]] as const) {
    expectResult(h.mount(type, `${fs}/${dir}`, type, flags), "OK", `mount ${type} on ${dir}`);
  }
  for (const dir of ["d", "ne", "ne/s"]) expectResult(h.mkdir(`${fs}/t/${dir}`, 0o700), "OK", `mkdir t/${dir}`);
  return { fs, m: `${fs}/m`, ro: `${fs}/ro`, t: `${fs}/t` };
}

/** The bpffs rows: the private bpffs `f` of `fixture`. */
function bpffsRows(x: Fixture): Row[] {
  const f = (p: string) => `${x.fs}/${p}`;
  return [
    // Flags first, before any lookup.
    [f("a"), f("q"), 8, "EINVAL"],
    [f("zz"), f("q"), 0x8000_0000, "EINVAL"],
    [f("a"), f("b"), NOREPLACE | EXCHANGE, "EINVAL"],
    [f("a"), f("b"), WHITEOUT | EXCHANGE, "EINVAL"],
    // Both parents' walks, then one mount for both, then "." and "..".
    [f("nodir/x"), f("q"), 0, "ENOENT"],
    [f("a"), f("nodir/x"), 0, "ENOENT"],
    [f("a/x"), f("q"), 0, "ENOTDIR"],
    [f("b"), f("a/x"), 0, "ENOTDIR"],
    [f("a"), `${x.m}/a`, 0, "EXDEV"],
    [f("a"), `${x.t}/a`, 0, "EXDEV"],
    [f("zz"), `${x.t}/a`, 0, "EXDEV"],
    [f("a"), "/proc/bpfkit-no-such-entry", 0, "EXDEV"],
    ["/", f("q"), 0, "EXDEV"],
    [f("."), f("q"), 0, "EBUSY"],
    [f("d/.."), f("q"), 0, "EBUSY"],
    [f("a"), f("d/.."), 0, "EBUSY"],
    [f("a"), f("d/.."), NOREPLACE, "EEXIST"],
    // The source's lookup, then the target's: bpffs refuses dot names, NAME_MAX.
    [f("zz"), f("q"), 0, "ENOENT"],
    [f("zz"), f("b"), NOREPLACE, "ENOENT"],
    [f("zz/"), f("q"), 0, "ENOENT"],
    [f("zz"), f("q"), WHITEOUT, "ENOENT"],
    [f("a.b"), f("q"), 0, "EPERM"],
    [f("a"), f("a.b"), 0, "EPERM"],
    [f("a"), f("a.b"), NOREPLACE, "EPERM"],
    [f("zz"), f("a.b"), 0, "ENOENT"],
    [f("a"), f("n".repeat(256)), 0, "ENAMETOOLONG"],
    // NOREPLACE, EXCHANGE, trailing slashes after a file.
    [f("a"), f("b"), NOREPLACE, "EEXIST"],
    [f("a"), f("zz"), EXCHANGE, "ENOENT"],
    [f("zz"), f("a"), EXCHANGE, "ENOENT"],
    [f("a/"), f("q"), 0, "ENOTDIR"],
    [f("a"), f("q/"), 0, "ENOTDIR"],
    [f("a"), f("b/"), 0, "ENOTDIR"],
    [f("a"), f("b/"), EXCHANGE, "ENOTDIR"],
    [f("a/"), f("b"), EXCHANGE, "ENOTDIR"],
    // A directory into its own subtree, or over one of its ancestors.
    [f("e"), f("e/sub/x"), 0, "EINVAL"],
    [f("e"), f("e/sub"), 0, "EINVAL"],
    [f("e/sub"), f("e"), 0, "ENOTEMPTY"],
    [f("ne/x"), f("ne"), 0, "ENOTEMPTY"],
    [f("e"), f("e/sub"), EXCHANGE, "EINVAL"],
    [f("e/sub"), f("e"), EXCHANGE, "EINVAL"],
    // One name for both: nothing to do (NOREPLACE still sees the target).
    [f("a"), f("a"), 0, "OK"],
    [f("a"), f("a"), NOREPLACE, "EEXIST"],
    [f("a"), f("a"), EXCHANGE, "OK"],
    [f("d"), f("d/"), 0, "OK"],
    // Types, then mount points.
    [f("d"), f("a"), 0, "ENOTDIR"],
    [f("a"), f("d"), 0, "EISDIR"],
    [f("m"), f("q"), 0, "EBUSY"],
    [f("d"), f("m"), 0, "EBUSY"],
    [f("d"), f("m"), NOREPLACE, "EEXIST"],
    [f("a"), f("m"), 0, "EISDIR"],
    [f("m"), f("ne"), 0, "EBUSY"],
    // bpf_preload's entries: EPERM after the type checks, before the filesystem's own.
    [f("maps.debug"), f("q"), 0, "EPERM"],
    [f("maps.debug"), f("q"), WHITEOUT, "EPERM"],
    [f("a"), f("maps.debug"), 0, "EPERM"],
    [f("a"), f("maps.debug"), NOREPLACE, "EEXIST"],
    [f("a"), f("maps.debug"), EXCHANGE, "EPERM"],
    [f("progs.debug"), f("maps.debug"), EXCHANGE, "EPERM"],
    [f("maps.debug"), f("maps.debug"), 0, "OK"],
    [f("d"), f("maps.debug"), 0, "ENOTDIR"],
    [f("maps.debug"), f("d"), 0, "EISDIR"],
    [f("maps.debug/"), f("q"), 0, "ENOTDIR"],
    // simple_rename: no whiteouts; a non-empty directory is not replaced but may be swapped.
    [f("a"), f("q"), WHITEOUT, "EINVAL"],
    [f("a"), f("q"), NOREPLACE | WHITEOUT, "EINVAL"],
    [f("e"), f("ne"), WHITEOUT, "EINVAL"],
    [f("d"), f("ne"), 0, "ENOTEMPTY"],
    [f("d"), f("ne"), EXCHANGE, "OK"],
    [f("d"), f("ne"), EXCHANGE, "OK"],
    [f("a"), f("d"), EXCHANGE, "OK"],
    [f("a/"), f("d"), EXCHANGE, "OK"],
    [f("d"), f("d2/"), 0, "OK"],
    [f("d2/"), f("d"), 0, "OK"],
    [f("ne/x"), f("nx"), NOREPLACE, "OK"],
    [f("nx"), f("ne/x"), 0, "OK"],
    // A read-only bpffs: EROFS after the walks and "." checks, before the lookups.
    [`${x.ro}/x`, `${x.ro}/y`, 0, "EROFS"],
    [`${x.ro}/a.b`, `${x.ro}/y`, 0, "EROFS"],
    [`${x.ro}/maps.debug`, `${x.ro}/maps.debug`, 0, "EROFS"],
    [`${x.ro}/x`, `${x.ro}/y`, 8, "EINVAL"],
    [`${x.ro}/nodir/x`, `${x.ro}/y`, 0, "ENOENT"],
    [`${x.ro}/.`, `${x.ro}/y`, 0, "EBUSY"],
    [`${x.ro}/x`, `${x.ro}/..`, NOREPLACE, "EEXIST"],
  ];
}

/** tmpfs takes every flag; procfs has no rename; sysfs (kernfs) is only asked a no-op. */
function otherFsRows(x: Fixture): Row[] {
  const t = (p: string) => `${x.t}/${p}`;
  return [
    [t("d"), t(".d"), 0, "OK"],
    [t(".d"), t("d"), NOREPLACE, "OK"],
    [t("d"), t("n".repeat(256)), 0, "ENAMETOOLONG"],
    [t("d"), t("x"), 8, "EINVAL"],
    [t("d"), t("ne"), 0, "ENOTEMPTY"],
    [t("d"), t("ne"), EXCHANGE, "OK"],
    [t("ne"), t("d"), EXCHANGE, "OK"],
    [t("d"), t("ne/s"), 0, "OK"],
    [t("ne/s"), t("d"), NOREPLACE, "OK"],
    [t("d"), `${x.fs}/d`, 0, "EXDEV"],
    ["/proc/bpfkit-no-such-entry", "/proc/bpfkit-nor-this", 0, "ENOENT"],
    ["/sys/bpfkit-no-such-entry", "/sys/bpfkit-nor-this", 0, "ENOENT"],
    // Only the no-op: a kernel that let /sys/fs move would take the host's /sys/fs/bpf with it,
    // so sysfs's refusals (EINVAL with a flag, else EPERM) are not asked of a real host here.
    ["/sys/fs", "/sys/fs", 0, "OK"],
    ["/bpfkit-no-such-entry", "/bpfkit-nor-this", 0, "ENOENT"],
  ];
}

export const renameCases: ConformanceCase[] = [
  {
    name: "§12 rename: a pin renamed over another replaces it at once and releases the map it held; NOREPLACE is EEXIST, EXCHANGE swaps",
    group: "rename",
    run(ctx) {
      const rename = renameOf(ctx);
      const d = ctx.driver;
      const fs = ctx.bpffs();
      const c = new Checks("rename of pins");
      const a = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const b = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const [idA, idB] = [ctx.id(a), ctx.id(b)];
      expectResult(d.objPin(a, `${fs}/a`), "OK", "pin a");
      expectResult(d.objPin(b, `${fs}/b`), "OK", "pin b");
      ctx.close(b);
      const pinnedId = (path: string): number | string => {
        const g = d.objGet(path);
        if (g < 0) return errnoName(-g);
        try {
          return ctx.id(g);
        } finally {
          d.close(g);
        }
      };
      c.result(rename(`${fs}/a`, `${fs}/b`), "OK", "rename a over b");
      c.equal(pinnedId(`${fs}/b`), idA, "the map pinned at b");
      c.equal(pinnedId(`${fs}/a`), "ENOENT", "what is at a");
      c.result(ctx.own(d.mapGetFdById(idB)), "ENOENT", "get by id of the map b held (no fd left): released");
      expectResult(d.objPin(a, `${fs}/a`), "OK", "pin a again");
      c.result(rename(`${fs}/a`, `${fs}/b`, NOREPLACE), "EEXIST", "rename a onto b with NOREPLACE");
      c.result(rename(`${fs}/a`, `${fs}/c`, NOREPLACE), "OK", "rename a to c with NOREPLACE");
      const b2 = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      expectResult(d.objPin(b2, `${fs}/a`), "OK", "pin a new map at a");
      c.result(rename(`${fs}/a`, `${fs}/c`, EXCHANGE), "OK", "exchange a and c");
      c.equal(pinnedId(`${fs}/a`), idA, "the map pinned at a after the exchange");
      c.equal(pinnedId(`${fs}/c`), ctx.id(b2), "the map pinned at c after the exchange");
      expectResult(d.host.mkdir(`${fs}/dir`, 0o700), "OK", "mkdir dir");
      expectResult(d.objPin(a, `${fs}/dir/p`), "OK", "pin dir/p");
      c.result(rename(`${fs}/dir`, `${fs}/dir2`), "OK", "rename the directory");
      c.equal(pinnedId(`${fs}/dir2/p`), idA, "the pin inside the renamed directory");
      c.done();
    },
  },
  {
    name: "§12 rename: a mount below a renamed directory moves with it in the mount table",
    group: "rename",
    run(ctx) {
      const rename = renameOf(ctx);
      const h = ctx.driver.host;
      const fs = ctx.bpffs();
      expectResult(h.mkdirAll(`${fs}/a/b/mnt`, 0o700), "OK", "mkdir a/b/mnt");
      expectResult(h.mount("bpf", `${fs}/a/b/mnt`, "bpf"), "OK", "mount bpffs on a/b/mnt");
      const points = () => {
        const mounts = h.mountInfo();
        return typeof mounts === "number" ? [] : mounts.map((m) => m.mountPoint).filter((p) => p.startsWith(`${fs}/`));
      };
      // The context unmounts it after the case, at whichever path it is.
      expectResult(rename(`${fs}/a`, `${fs}/c`), "OK", "rename a to c");
      expectEqual(points().join(), `${fs}/c/b/mnt`, "mount points below the bpffs after the rename");
    },
  },
  {
    name: "§12 rename: bpffs errnos in the kernel's order: flags, walks, EXDEV, \".\", EROFS, lookups, NOREPLACE/EXCHANGE, slashes, subtrees, types, EBUSY, bpf_preload's entries, simple_rename",
    group: "rename",
    run(ctx) {
      const rename = renameOf(ctx);
      const x = fixture(ctx);
      const c = new Checks("rename on bpffs");
      runRows(c, rename, bpffsRows(x), (p) => (p.startsWith(`${x.fs}/`) ? p.slice(x.fs.length + 1) : p));
      c.equal(sortedEntries(ctx, x.fs), "a,b,d,e,m,maps.debug,ne,progs.debug,ro,t",
        "what the bpffs holds after the rows (each success undone)");
      c.done();
    },
  },
  {
    name: "§12 rename: tmpfs takes every flag and leaves a whiteout (a 0:0 device, not a file) for RENAME_WHITEOUT; procfs answers from its lookups; renaming a sysfs entry to itself is 0",
    group: "rename",
    run(ctx) {
      const rename = renameOf(ctx);
      const h = ctx.driver.host;
      const x = fixture(ctx);
      const c = new Checks("rename on tmpfs, procfs, sysfs");
      const t = (p: string) => `${x.t}/${p}`;
      runRows(c, rename, otherFsRows(x), (p) => (p.startsWith(`${x.t}/`) ? p.slice(x.t.length + 1) : p));
      c.result(rename(t("d"), t("w"), WHITEOUT), "OK", "rename d to w with WHITEOUT");
      const st = h.stat(t("d"));
      c.equal(`${st.errno} ${st.isFile} ${st.isDirectory}`, "0 false false", "stat of the whiteout left at d (errno, isFile, isDirectory)");
      c.equal(sortedEntries(ctx, x.t), "d,ne,w", "tmpfs entries after the whiteout");
      c.result(ctx.own(ctx.driver.objGet(t("d"))), "EACCES", "OBJ_GET of the whiteout");
      c.result(rename(t("w"), t("d"), NOREPLACE), "EEXIST", "rename w onto the whiteout with NOREPLACE");
      c.result(rename(t("w"), t("d")), "ENOTDIR", "rename the directory w over the whiteout");
      c.result(rename(t("d"), t("d2"), WHITEOUT), "OK", "rename the whiteout with WHITEOUT (a whiteout again)");
      c.result(h.unlink(t("d")), "OK", "unlink the whiteout at d");
      c.result(h.unlink(t("d2")), "OK", "unlink the whiteout at d2");
      c.result(rename(t("w"), t("d")), "OK", "rename w back to d");
      c.equal(sortedEntries(ctx, x.t), "d,ne", "tmpfs entries at the end");
      c.done();
    },
  },
  {
    name: "API §2 safety: host.rename refuses a path with a NUL byte and flags that are not a u32 before renaming anything",
    group: "rename",
    run(ctx) {
      const rename = renameOf(ctx) as (...a: unknown[]) => number;
      const d = ctx.driver;
      const fs = ctx.bpffs();
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      expectResult(d.objPin(fd, `${fs}/a`), "OK", "pin a");
      expectThrows(() => rename(`${fs}/a\0x`, `${fs}/b`), TypeError, "rename from a path with a NUL byte");
      expectThrows(() => rename(`${fs}/a`, `${fs}/b\0`), TypeError, "rename to a path with a NUL byte");
      expectThrows(() => rename(`${fs}/a`, 42), TypeError, "rename to a number");
      expectThrows(() => rename(`${fs}/a`, `${fs}/b`, 1.5), TypeError, "rename with flags 1.5");
      expectThrows(() => rename(`${fs}/a`, `${fs}/b`, "1"), TypeError, "rename with flags \"1\"");
      expectThrows(() => rename(`${fs}/a`, `${fs}/b`, -1), RangeError, "rename with flags -1");
      expectThrows(() => rename(`${fs}/a`, `${fs}/b`, 2 ** 32), RangeError, "rename with flags 2^32");
      expectEqual(sortedEntries(ctx, fs), "a,maps.debug,progs.debug", "bpffs entries after the refused calls");
    },
  },
];
