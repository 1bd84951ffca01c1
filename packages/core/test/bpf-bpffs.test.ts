// checkOrMountFS over each driver's host services. On the kernel every root is a fresh temp
// directory (never /sys/fs/bpf); mounts made here are unmounted afterwards.
import { afterEach, beforeEach, expect, it } from "vitest";
import { BPF_FS_MAGIC, BpfError, createBpf, Errno, memoryLogger, wrapDriver, type Driver } from "@bpfkit/core";
import { forEachDriver, makeWorld, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";

let seq = 0;

forEachDriver("checkOrMountFS", (d) => {
  let w: World;
  let driver: Driver;
  const cleanup: string[] = []; // mount points to unmount, then directories to remove
  const dirs: string[] = [];

  beforeEach(() => {
    w = makeWorld(d);
    driver = w.driver;
  });
  afterEach(() => {
    for (const p of cleanup.splice(0).reverse()) driver.host.umount(p);
    for (const p of dirs.splice(0).reverse()) driver.host.removeAll(p);
    w.dispose();
  });

  const freshDir = (): string => {
    const p = `/tmp/bpfkit-corea-${process.pid}-${Date.now().toString(36)}-${seq++}`;
    dirs.push(p);
    return p;
  };
  const mountedHere = (p: string): number => {
    const m = driver.host.mountInfo();
    if (typeof m === "number") throw new Error("mountInfo failed");
    return m.filter((x) => x.mountPoint === p).length;
  };

  it("a custom root with nothing mounted gets a bpffs (mkdir -p first) and becomes the map root", () => {
    const root = `${freshDir()}/a/b`;
    const logger = memoryLogger();
    const bpf = createBpf({ driver, logger });
    bpf.checkOrMountFS(root);
    cleanup.push(root);
    expect(driver.host.statfsType(root)).toBe(BPF_FS_MAGIC);
    expect(mountedHere(root)).toBe(1);
    expect(bpf.getMapRoot()).toBe(root);
    expect(logger.records.some((r) => r.level === "info" && r.msg === `Mounting BPF filesystem at ${root}`)).toBe(true);
  });

  it("a mount that fails takes away the directories mkdir -p made for it, and only those", () => {
    // A CAP_BPF user may create /tmp directories but not mount: the seed left them behind.
    const base = freshDir();
    expect(driver.host.mkdirAll(base, 0o755)).toBe(0);
    const root = `${base}/a/b`;
    const refusing = wrapDriver(driver, { host: { mount: () => -Errno.EPERM } });
    const err = thrownBpfError(() => createBpf({ driver: refusing, logger: memoryLogger() }).checkOrMountFS(root));
    expect(err.code).toBe("EPERM");
    expect(err.message).toBe(`failed to mount ${root}: operation not permitted (mounting bpffs needs CAP_SYS_ADMIN, not only CAP_BPF)`);
    expect(driver.host.stat(`${base}/a`).errno).toBe(Errno.ENOENT);
    expect(driver.host.stat(base).errno).toBe(0);
  });

  it("a directory another process made between the stat and the mkdir is not taken away", () => {
    // Two agents on one root: the one that cannot mount must not remove the other's directory.
    const base = freshDir();
    expect(driver.host.mkdirAll(base, 0o755)).toBe(0);
    const theirs = `${base}/a`;
    const root = `${theirs}/b`;
    const racing = wrapDriver(driver, { host: {
      mkdir: (p, mode) => {
        if (p === theirs) expect(driver.host.mkdir(p, 0o755)).toBe(0); // the other process, first
        return driver.host.mkdir(p, mode);
      },
      mount: () => -Errno.EPERM,
    } });
    expect(thrownBpfError(() => createBpf({ driver: racing, logger: memoryLogger() }).checkOrMountFS(root)).code).toBe("EPERM");
    expect(driver.host.stat(theirs).errno).toBe(0);
    expect(driver.host.stat(root).errno).toBe(Errno.ENOENT);
  });

  it("runs once per instance: a second call does nothing, even with another root", () => {
    const root = freshDir();
    const bpf = createBpf({ driver, logger: memoryLogger() });
    bpf.checkOrMountFS(root);
    cleanup.push(root);
    const other = freshDir();
    bpf.checkOrMountFS(other);
    expect(driver.host.stat(other).errno).toBe(2);
    expect(bpf.getMapRoot()).toBe(root);
  });

  it("a custom root whose name begins another mount point's (…/bpf beside …/bpffs) has nothing mounted: bpffs is mounted there", () => {
    const base = freshDir();
    const beside = `${base}/bpffs`;
    expect(driver.host.mkdirAll(beside, 0o755)).toBe(0);
    expect(driver.host.mount("bpf", beside, "bpf")).toBe(0);
    cleanup.push(beside);
    const root = `${base}/bpf`;
    const bpf = createBpf({ driver, logger: memoryLogger() });
    bpf.checkOrMountFS(root);
    cleanup.push(root);
    expect(driver.host.statfsType(root)).toBe(BPF_FS_MAGIC);
    expect([mountedHere(root), mountedHere(beside)]).toEqual([1, 1]);
  });

  it("an existing bpffs at a custom root is detected, not mounted again", () => {
    const logger = memoryLogger();
    const bpf = createBpf({ driver, logger });
    bpf.checkOrMountFS(w.fs.path);
    expect(mountedHere(w.fs.path)).toBe(1);
    expect(logger.records.map((r) => r.msg)).toContain(`Detected mounted BPF filesystem at ${w.fs.path}`);
  });

  it("the printWarning banner is logged only when asked for and a mount is needed", () => {
    const root = freshDir();
    const logger = memoryLogger();
    createBpf({ driver, logger }).checkOrMountFS(root, true);
    cleanup.push(root);
    const warns = logger.records.filter((r) => r.level === "warn").map((r) => r.msg);
    expect(warns.some((m) => m.includes("BPF filesystem is not mounted"))).toBe(true);
  });

  it("another filesystem at a custom root is an error, and nothing is mounted over it", () => {
    const root = freshDir();
    expect(driver.host.mkdirAll(root, 0o755)).toBe(0);
    expect(driver.host.mount("tmpfs", root, "tmpfs")).toBe(0);
    cleanup.push(root);
    const bpf = createBpf({ driver, logger: memoryLogger() });
    expect(() => bpf.checkOrMountFS(root)).toThrow(`mount in the custom directory ${root} has a different filesystem than BPFFS`);
    expect(mountedHere(root)).toBe(1);
  });

  it("a directory that holds entries is refused with ENOTEMPTY, and nothing is mounted over it", () => {
    const root = freshDir();
    expect(driver.host.mkdirAll(`${root}/keep`, 0o755)).toBe(0);
    const bpf = createBpf({ driver, logger: memoryLogger() });
    const err = thrownBpfError(() => bpf.checkOrMountFS(root));
    expect(err.code).toBe("ENOTEMPTY");
    expect(err.message).toContain(`${root} is not a mount point and holds 1 entry (keep); bpffs mounted there would hide them`);
    expect(mountedHere(root)).toBe(0);
    expect(driver.host.readdir(root)).toEqual(["keep"]);
    // Once emptied, the same call mounts.
    expect(driver.host.rmdir(`${root}/keep`)).toBe(0);
    bpf.checkOrMountFS(root);
    cleanup.push(root);
    expect(driver.host.statfsType(root)).toBe(BPF_FS_MAGIC);
  });

  it("a call that throws leaves the map root as it was: only a successful one sets it", () => {
    // A custom root that cannot be mounted: the root stays the one configured before (the
    // fallback's case is below).
    const full = freshDir();
    expect(driver.host.mkdirAll(`${full}/keep`, 0o755)).toBe(0);
    const bpf = createBpf({ driver, mapRoot: w.fs.path, logger: memoryLogger() });
    expect(thrownBpfError(() => bpf.checkOrMountFS(full)).code).toBe("ENOTEMPTY");
    expect(bpf.getMapRoot()).toBe(w.fs.path);
  });

  it("a custom root that is a file is an error", () => {
    // A pin is a file: pin a map in the private bpffs and point the root at it.
    const fd = w.track(driver.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }));
    const file = `${w.fs.path}/afile`;
    expect(driver.objPin(fd, file)).toBe(0);
    const bpf = createBpf({ driver, logger: memoryLogger() });
    expect(() => bpf.checkOrMountFS(file)).toThrow(`${file} is a file which is not a directory`);
  });

  it("two bpffs mounts stacked at the root are an error", () => {
    const root = freshDir();
    expect(driver.host.mkdirAll(root, 0o755)).toBe(0);
    expect(driver.host.mount("bpf", root, "bpf")).toBe(0);
    cleanup.push(root);
    expect(driver.host.mount("bpf", root, "bpf")).toBe(0);
    cleanup.push(root);
    const bpf = createBpf({ driver, logger: memoryLogger() });
    let err: unknown;
    try {
      bpf.checkOrMountFS(root);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as Error).message).toBe(`multiple mount points detected at ${root}`);
  });

  it("default root: nothing mounted there means mount bpffs there", () => {
    const root = freshDir();
    const bpf = createBpf({ driver, mapRoot: root, logger: memoryLogger() });
    bpf.checkOrMountFS();
    cleanup.push(root);
    expect(driver.host.statfsType(root)).toBe(BPF_FS_MAGIC);
    expect(bpf.getMapRoot()).toBe(root);
  });

  it("default root: another filesystem there means the fallback root, mounted, becomes the root", () => {
    const root = freshDir();
    expect(driver.host.mkdirAll(root, 0o755)).toBe(0);
    expect(driver.host.mount("tmpfs", root, "tmpfs")).toBe(0);
    cleanup.push(root);
    const fallback = freshDir();
    const logger = memoryLogger();
    const bpf = createBpf({ driver, mapRoot: root, fallbackMapRoot: fallback, logger });
    bpf.checkOrMountFS();
    cleanup.push(fallback);
    expect(driver.host.statfsType(fallback)).toBe(BPF_FS_MAGIC);
    expect(bpf.getMapRoot()).toBe(fallback);
    expect(logger.records.some((r) => r.level === "warn" && r.msg.includes("fallback"))).toBe(true);
  });

  it("default root: a fallback that also holds another filesystem is an error", () => {
    const root = freshDir();
    const fallback = freshDir();
    for (const p of [root, fallback]) {
      expect(driver.host.mkdirAll(p, 0o755)).toBe(0);
      expect(driver.host.mount("tmpfs", p, "tmpfs")).toBe(0);
      cleanup.push(p);
    }
    const bpf = createBpf({ driver, mapRoot: root, fallbackMapRoot: fallback, logger: memoryLogger() });
    expect(() => bpf.checkOrMountFS()).toThrow(`${fallback} is mounted but has a different filesystem than BPFFS`);
    // The fallback it could not use is not left as the map root.
    expect(bpf.getMapRoot()).toBe(root);
  });

  it("changing the root after it was read throws the lock-down error; re-checking the same root does not", () => {
    const bpf = createBpf({ driver, mapRoot: w.fs.path, logger: memoryLogger() });
    bpf.getMapRoot();
    expect(() => bpf.checkOrMountFS(freshDir())).toThrow("SetMapRoot() call after MapRoot was read");
    bpf.checkOrMountFS(w.fs.path);
    expect(bpf.getMapRoot()).toBe(w.fs.path);
  });

  it("bad arguments are TypeErrors", () => {
    const bpf = createBpf({ driver, logger: memoryLogger() });
    expect(() => bpf.checkOrMountFS("relative/dir")).toThrow(/must be absolute/);
    expect(() => bpf.checkOrMountFS("/a\0b")).toThrow(new TypeError("checkOrMountFS: root must be a string without NUL"));
    // Refused before anything was set or read: the root is still free to change.
    bpf.setMapRoot(w.fs.path);
    expect(bpf.getMapRoot()).toBe(w.fs.path);
  });
});
