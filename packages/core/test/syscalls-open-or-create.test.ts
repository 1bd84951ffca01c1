// openOrCreateMap and objCheck (pkg-bpf-behaviour.md §5.3): create and pin, reopen, and the
// property upgrade that unpins and re-creates — except a PROG_ARRAY.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY, BpfError, createBpf, encodeToBytes, Errno, MapType, memoryLogger, u32, u64,
  wrapDriver,
} from "@bpfkit/core";
import { kernelUnderTest } from "../../testkit/src/drivers.js";
import { forEachDriver, makeWorld, openFdCount, openFdsOf, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";

forEachDriver("openOrCreateMap", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  const warnings = (): string[] => w.logs.filter((r) => r.level === "warn").map((r) => r.msg);
  const idOf = (fd: number): number => w.bpf.getMapInfoByFd(fd).id;

  it("creates and pins (making the directory), then reopens the same map", () => {
    const { bpf, driver } = w;
    const path = `${w.fs.path}/tc/globals/m1`;
    const a = bpf.openOrCreateMap(path, MapType.Hash, 4, 8, 16, BPF_F_NO_PREALLOC, 0, true);
    w.track(a.fd);
    expect(a.isNew).toBe(true);
    expect(driver.host.stat(path).isFile).toBe(true);
    bpf.updateElement(a.fd, encodeToBytes(u32, 1), encodeToBytes(u64, 7n));
    const b = bpf.openOrCreateMap(path, MapType.Hash, 4, 8, 16, BPF_F_NO_PREALLOC, 0, true);
    w.track(b.fd);
    expect(b.isNew).toBe(false);
    expect(idOf(b.fd)).toBe(idOf(a.fd));
    const out = new Uint8Array(8);
    bpf.lookupElement(b.fd, encodeToBytes(u32, 1), out);
    expect(u64.decode(out)).toBe(7n);
    expect(warnings()).toEqual([]);
  });

  it("a path with a trailing slash or `.`/`//` is the pin it names, not a directory made in its place", () => {
    const { bpf, driver } = w;
    const path = `${w.fs.path}/tc/globals/m1`;
    const a = bpf.openOrCreateMap(`${w.fs.path}/tc/./globals//m1/`, MapType.Hash, 4, 8, 16, BPF_F_NO_PREALLOC, 0, true);
    w.track(a.fd);
    expect(a.isNew).toBe(true);
    expect(driver.host.stat(path).isFile).toBe(true);
    const b = bpf.openOrCreateMap(path, MapType.Hash, 4, 8, 16, BPF_F_NO_PREALLOC, 0, true);
    w.track(b.fd);
    expect([b.isNew, idOf(b.fd)]).toEqual([false, idOf(a.fd)]);
  });

  for (const [what, change, warning] of [
    ["flags", { flags: 0 }, "Flags mismatch for BPF map"],
    ["max entries", { max: 32 }, "Max entries mismatch for BPF map"],
    ["value size", { value: 16 }, "Value-size mismatch for BPF map"],
    ["key size", { key: 8 }, "Key-size mismatch for BPF map"],
    ["type", { type: MapType.LRUHash, flags: 0 }, "Map type mismatch for BPF map"],
  ] as const) {
    it(`a different ${what} unpins the old map and creates a new one, with warnings`, () => {
      const { bpf } = w;
      const path = `${w.fs.path}/up`;
      const old = bpf.openOrCreateMap(path, MapType.Hash, 4, 8, 16, BPF_F_NO_PREALLOC, 0, true);
      w.track(old.fd);
      const c = change as { flags?: number; max?: number; value?: number; key?: number; type?: number };
      const now = bpf.openOrCreateMap(path, c.type ?? MapType.Hash, c.key ?? 4, c.value ?? 8, c.max ?? 16,
        c.flags ?? BPF_F_NO_PREALLOC, 0, true);
      w.track(now.fd);
      expect(now.isNew).toBe(true);
      expect(idOf(now.fd)).not.toBe(idOf(old.fd));
      expect(warnings()).toContain(warning);
      expect(warnings()).toContain("Removing map to allow for property upgrade (expect map data loss)");
      const rec = w.logs.find((r) => r.msg === warning)!;
      expect(rec.fields).toMatchObject({ path });
      // The pin now names the new map; the old fd still works on the old one.
      const again = w.track(bpf.objGet(path));
      expect(idOf(again)).toBe(idOf(now.fd));
      expect(bpf.getMapInfo(old.fd).maxEntries).toBe(16);
    });
  }

  it("a PROG_ARRAY is never re-created: the existing one is returned", () => {
    const { bpf } = w;
    const path = `${w.fs.path}/progs`;
    const a = bpf.openOrCreateMap(path, MapType.ProgArray, 4, 4, 4, 0, 0, true);
    w.track(a.fd);
    const b = bpf.openOrCreateMap(path, MapType.ProgArray, 4, 4, 8, 0, 0, true);
    w.track(b.fd);
    expect(b.isNew).toBe(false);
    expect(idOf(b.fd)).toBe(idOf(a.fd));
    expect(warnings()).toContain("Max entries mismatch for BPF map");
    expect(warnings()).not.toContain("Removing map to allow for property upgrade (expect map data loss)");
  });

  it("pin=false creates without a pin, but still opens an existing pin", () => {
    const { bpf, driver } = w;
    const path = `${w.fs.path}/unpinned`;
    const a = bpf.openOrCreateMap(path, MapType.Array, 4, 4, 4, 0, 0, false);
    w.track(a.fd);
    expect(a.isNew).toBe(true);
    expect(driver.host.stat(path).errno).toBe(2);
    bpf.objPin(a.fd, path);
    const b = bpf.openOrCreateMap(path, MapType.Array, 4, 4, 4, 0, 0, false);
    w.track(b.fd);
    expect(b.isNew).toBe(false);
    expect(idOf(b.fd)).toBe(idOf(a.fd));
  });

  it("kernel adjustments are not mismatches: LRU NO_COMMON_LRU max rounding and fd-only RDONLY", () => {
    const { bpf, driver } = w;
    const cpus = driver.possibleCpus;
    const max = cpus * 3 + 1; // not a multiple of the CPUs: the kernel rounds it
    const path = `${w.fs.path}/lru`;
    const a = bpf.openOrCreateMap(path, MapType.LRUHash, 4, 8, max, BPF_F_NO_COMMON_LRU, 0, true);
    w.track(a.fd);
    if (cpus > 1) expect(bpf.getMapInfo(a.fd).maxEntries).not.toBe(max);
    const b = bpf.openOrCreateMap(path, MapType.LRUHash, 4, 8, max, BPF_F_NO_COMMON_LRU, 0, true);
    w.track(b.fd);
    expect(b.isNew).toBe(false);
    const p2 = `${w.fs.path}/ro`;
    w.track(bpf.openOrCreateMap(p2, MapType.Array, 4, 4, 2, BPF_F_RDONLY, 0, true).fd);
    expect(bpf.openOrCreateMap(p2, MapType.Array, 4, 4, 2, BPF_F_RDONLY, 0, true).isNew).toBe(false);
    expect(warnings()).toEqual([]);
  });

  it("objCheck on an fd that is not a map says no upgrade", () => {
    expect(w.bpf.objCheck(99999, `${w.fs.path}/x`, MapType.Hash, 4, 4, 4, 0)).toBe(false);
  });

  it("a failed create or pin leaves no pin and no open fd behind", () => {
    const { bpf, driver } = w;
    const path = `${w.fs.path}/bad`;
    expect(() => bpf.openOrCreateMap(path, MapType.Hash, 0, 8, 4, 0, 0, true)).toThrow(`Unable to create map ${path}: invalid argument`);
    expect(driver.host.stat(path).errno).toBe(2);
    // A pin outside bpffs fails (EPERM); the map created for it must be closed again.
    const dir = `/tmp/bpfkit-not-bpffs-${process.pid}-${Date.now().toString(36)}`;
    const fdsBefore = d.name === "kernel" ? openFdCount() : 0;
    expect(() => bpf.openOrCreateMap(`${dir}/m`, MapType.Array, 4, 4, 1, 0, 0, true)).toThrow(/^Unable to pin object/);
    if (d.name === "kernel") expect(openFdCount()).toBe(fdsBefore);
    driver.host.removeAll(dir);
  });

  it("a base directory the host refuses (EACCES, as to a user without write access) is the error, and nothing is made", () => {
    const refusing = wrapDriver(w.driver, { host: { mkdirAll: () => -Errno.EACCES } });
    const bpf = createBpf({ driver: refusing, mapRoot: w.fs.path, logger: memoryLogger() });
    const path = `${w.fs.path}/tc/globals/m1`;
    const before = openFdsOf(w.driver);
    const e = thrownBpfError(() => bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 4, BPF_F_NO_PREALLOC, 0, true));
    expect([e.code, e.op, e.message]).toEqual(["EACCES", "Unable create map base directory", `Unable create map base directory ${path}: permission denied`]);
    expect(openFdsOf(w.driver)).toBe(before);
    expect(w.driver.host.stat(path).errno).toBe(Errno.ENOENT);
  });

  it("a path that is not a string, or empty, is a TypeError", () => {
    expect(() => w.bpf.openOrCreateMap("", MapType.Hash, 4, 4, 4, 0, 0, true)).toThrow(TypeError);
    expect(() => w.bpf.openOrCreateMap(7 as never, MapType.Hash, 4, 4, 4, 0, 0, true)).toThrow(TypeError);
  });
});

// A host-filesystem behaviour of the real kernel; the simulator's virtual fs lets mkdir succeed
// on procfs and sysfs, so this runs on the kernel driver only.
describe("openOrCreateMap base directory on sysfs [kernel]", () => {
  const k = kernelUnderTest();
  it("a base directory that cannot be made is `Unable create map base directory` (procfs says ENOENT)", (ctx) => {
    if (k.unavailable !== undefined) {
      console.warn(`not run: ${k.unavailable}`);
      ctx.skip();
    }
    const bpf = createBpf({ driver: k.create(), mapRoot: "/tmp", logger: memoryLogger() });
    // mkdir on procfs (and on sysfs under /sys/fs/bpf) answers ENOENT under a parent that
    // exists; a recursive mkdir that retries the parent on ENOENT loops forever there (Node 20's
    // does), so this also checks for a hang.
    const path = `/proc/bpfkit-corea-${process.pid}/tc/m`;
    let err: unknown;
    try {
      bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 4, BPF_F_NO_PREALLOC, 0, true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).op).toBe("Unable create map base directory");
    expect((err as BpfError).message).toBe(`Unable create map base directory ${path}: no such file or directory`);
  });
});
