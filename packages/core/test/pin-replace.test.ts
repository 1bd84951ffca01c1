// Replacing a pinned map (openOrCreate's property upgrade, openParallel) never loses the old map:
// the new map is created before the old pin goes, then pinned beside it and renamed over it, so
// a refusal at any step leaves the old pin (and nothing else) in the directory. Without
// host.rename the old pin is unlinked and the new one made, and when that pin cannot be made the
// old map is pinned again. The seed unpinned first, so a spec the kernel refused destroyed the map.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  bytes, createBpf, Errno, MapType, memoryLogger, RENAME_NOREPLACE, u32, wrapDriver, type Bpf, type DriverOverrides, type MapSpec,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, openFdsOf, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";

const precious: MapSpec<number, number> = { name: "precious", type: MapType.Hash, key: u32, value: u32, maxEntries: 4 };

forEachDriver("replacing a pinned map", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  const fds = (): number => openFdsOf(w.driver);
  const warnings = (): string[] => w.logs.filter((r) => r.level === "warn").map((r) => r.msg);

  /** The map "precious" pinned with 7 → 77, closed again. */
  function pinPrecious(bpf: Bpf = w.bpf): void {
    const m = bpf.newMap(precious);
    m.openOrCreate();
    m.update(7, 77);
    m.close();
  }

  /** What the pin at "precious" holds for key 7 (undefined: key missing; "no pin": nothing there). */
  function pinned(): number | "no pin" | undefined {
    if (w.driver.host.stat(w.bpf.mapPath("precious")).errno !== 0) return "no pin";
    const m = w.bpf.openMap("precious", { key: u32, value: u32 });
    try {
      return m.lookup(7);
    } finally {
      m.close();
    }
  }

  /** A second Bpf on the same root whose driver has `overrides` (faults the test injects). */
  function faulty(overrides: DriverOverrides): Bpf {
    return createBpf({ driver: wrapDriver(w.driver, overrides), mapRoot: w.fs.path, logger: memoryLogger() });
  }

  for (const [what, spec] of [
    ["max entries 0", { maxEntries: 0 }],
    ["an unknown type", { type: 999 }],
    ["unknown flags", { flags: 0x40000000 }],
    ["a 4 MiB value", { value: bytes(1 << 22) }],
    ["a 0-byte key", { key: bytes(0) }],
  ] as const) {
    it(`openOrCreate with ${what} refused by the kernel keeps the pinned map and its data`, () => {
      pinPrecious();
      const before = fds();
      const bad = w.bpf.newMap({ ...precious, ...spec } as MapSpec<unknown, unknown>);
      const e = thrownBpfError(() => bad.openOrCreate());
      expect([e.op, e.map, e.path]).toEqual(["openOrCreate", "precious", bad.path()]);
      expect(["EINVAL", "E2BIG"]).toContain(e.code);
      expect(e.message).toMatch(/^openOrCreate precious: Unable to create map .*; the existing map pinned there was kept$/);
      expect(bad.getFd()).toBe(-1);
      expect(fds()).toBe(before);
      expect(pinned()).toBe(77);
      // Nothing was removed, so nothing says it was.
      expect(warnings()).not.toContain("Removing map to allow for property upgrade (expect map data loss)");
      expect(w.bpf.getOpenMaps()).toEqual([]);
    });
  }

  it("openParallel with a spec the kernel refuses keeps the pinned map and says so", () => {
    pinPrecious();
    const before = fds();
    const bad = w.bpf.newMap({ ...precious, maxEntries: 0 });
    const e = thrownBpfError(() => bad.openParallel());
    expect([e.op, e.map, e.path, e.code]).toEqual(["openParallel", "precious", bad.path(), "EINVAL"]);
    expect(e.message).toBe(`openParallel precious: Unable to create map ${bad.path()}: invalid argument (max_entries 0: a hash map holds at least one element); the existing map pinned there was kept`);
    expect([bad.getFd(), bad.inParallelMode]).toEqual([-1, false]);
    expect(fds()).toBe(before);
    expect(pinned()).toBe(77);
  });

  it("bpf.openOrCreateMap with a type the kernel refuses keeps the pinned map", () => {
    pinPrecious();
    const path = w.bpf.mapPath("precious");
    const e = thrownBpfError(() => w.bpf.openOrCreateMap(path, 999, 4, 4, 4, 0, 0, true));
    expect([e.code, e.op, e.path]).toEqual(["EINVAL", "Unable to create map", path]);
    expect(e.message).toBe(`Unable to create map ${path}: invalid argument (the ${w.driver.kind} driver has no type(999) maps: ` +
      "a one-entry map of the type is refused too); the existing map pinned there was kept");
    expect(pinned()).toBe(77);
    // openOrCreateUnpinned's upgrade is refused the same way.
    expect(() => w.bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 0, 0, 0, false)).toThrow(/was kept$/);
    expect(pinned()).toBe(77);
  });

  it("a successful upgrade still ends with the new map pinned, and the seed's warnings", () => {
    pinPrecious();
    const wider = w.bpf.newMap({ ...precious, maxEntries: 8 });
    expect(wider.openOrCreate()).toBe(true);
    expect(warnings()).toEqual(["Max entries mismatch for BPF map", "Removing map to allow for property upgrade (expect map data loss)"]);
    expect(pinned()).toBeUndefined(); // the new, empty map
    expect(w.bpf.getMapInfo(wider.getFd()).maxEntries).toBe(8);
    wider.close();
  });

  /** The entries of the maps' directory, sorted: a swap must leave nothing beside the pin. */
  function entries(): string[] {
    const path = w.bpf.mapPath("precious");
    const dir = path.slice(0, path.lastIndexOf("/"));
    const names = w.driver.host.readdir(dir);
    if (typeof names === "number") throw new Error(`readdir ${dir}: errno ${-names}`);
    return [...names].sort();
  }

  /** An upgrade through `bpf` that must replace the pinned map and leave nothing beside it. */
  function expectCleanUpgrade(bpf: Bpf): void {
    pinPrecious();
    const before = entries();
    const m = bpf.newMap({ ...precious, maxEntries: 8 });
    expect(m.openOrCreate()).toBe(true);
    expect(bpf.getMapInfo(m.getFd()).maxEntries).toBe(8);
    m.close();
    expect(pinned()).toBeUndefined();
    expect(entries()).toEqual(before);
  }

  describe("with host.rename: the new pin is made beside the old one and renamed over it", () => {
    it("an upgrade and an openParallel leave no temporary entry in the directory", () => {
      pinPrecious();
      const before = entries();
      expect(before).toContain("precious");
      const wider = w.bpf.newMap({ ...precious, maxEntries: 8 });
      expect(wider.openOrCreate()).toBe(true);
      wider.close();
      expect(entries()).toEqual(before);
      const parallel = w.bpf.newMap({ ...precious, maxEntries: 8 });
      expect(parallel.openParallel()).toBe(true);
      parallel.close();
      expect(entries()).toEqual(before);
      expect(pinned()).toBeUndefined();
    });

    it("a rename the kernel refuses leaves the old pin and its data, and nothing beside it", () => {
      pinPrecious();
      const before = entries();
      const refusals: number[] = [];
      // A real refusal: NOREPLACE onto the existing pin is EEXIST on both drivers.
      const bpf = faulty({ host: { rename: (from, to) => {
        const r = w.driver.host.rename!(from, to, RENAME_NOREPLACE);
        refusals.push(r);
        return r;
      } } });
      const fds0 = fds();
      const m = bpf.newMap({ ...precious, maxEntries: 8 });
      const e = thrownBpfError(() => m.openOrCreate());
      expect(refusals).toEqual([-Errno.EEXIST]);
      expect([e.code, e.op, e.map, e.path]).toEqual(["EEXIST", "openOrCreate", "precious", m.path()]);
      expect(e.message).toMatch(new RegExp(`^openOrCreate precious: Unable to rename pin .*/:bpfkit-swap-\\d+-\\d+ to ${m.path()} for property upgrade: file exists; the existing map pinned there was kept$`));
      expect(m.getFd()).toBe(-1);
      expect(fds()).toBe(fds0);
      expect(pinned()).toBe(77);
      expect(entries()).toEqual(before);
    });

    it("openParallel: a refused rename gives the seed's warning and opens the old map in normal mode", () => {
      // The seed warns and goes on when it cannot unlink the old pin; a swap step that fails
      // leaves the old pin just as untouched, so it is answered alike.
      pinPrecious();
      const before = entries();
      const logger = memoryLogger();
      const bpf = createBpf({ driver: wrapDriver(w.driver, { host: { rename: () => -Errno.EBUSY } }), mapRoot: w.fs.path, logger });
      const fds0 = fds();
      const m = bpf.newMap(precious);
      expect(m.openParallel()).toBe(false);
      expect(m.inParallelMode).toBe(false);
      expect(m.lookup(7)).toBe(77);
      const warning = logger.records.find((r) => r.msg === "Unable to remove BPF map for parallel operation");
      expect(warning?.fields).toMatchObject({ path: m.path(), error: "device or resource busy" });
      expect(String(warning?.fields?.step)).toMatch(/^Unable to rename pin .*\/:bpfkit-swap-\d+-\d+ to .*precious$/);
      m.close();
      expect(fds()).toBe(fds0);
      expect(pinned()).toBe(77);
      expect(entries()).toEqual(before);
    });

    it("openParallel: a refused rename whose swap pin cannot be removed either says where that pin was left", () => {
      pinPrecious();
      const logger = memoryLogger();
      const bpf = createBpf({ driver: wrapDriver(w.driver, { host: {
        rename: () => -Errno.EBUSY,
        unlink: (p) => (p.includes(":bpfkit-swap-") ? -Errno.EACCES : w.driver.host.unlink(p)),
      } }), mapRoot: w.fs.path, logger });
      const m = bpf.newMap(precious);
      expect(m.openParallel()).toBe(false);
      const step = String(logger.records.find((r) => r.msg === "Unable to remove BPF map for parallel operation")?.fields?.step);
      const swap = /\/(:bpfkit-swap-\d+-\d+) to .*, and .*\/(:bpfkit-swap-\d+-\d+) could not be removed \(permission denied\)$/.exec(step);
      expect(swap, step).not.toBeNull();
      expect(swap![2]).toBe(swap![1]);
      const tmp = `${w.fs.path}/tc/globals/${swap![1]}`;
      expect(step).toBe(`Unable to rename pin ${tmp} to ${m.path()}, and ${tmp} could not be removed (permission denied)`);
      expect(w.driver.host.stat(tmp).errno).toBe(0); // it was really left there (the bpffs goes at dispose)
      m.close();
      expect(pinned()).toBe(77);
    });

    it("openParallel: a temporary pin refused for want of permission gives the seed's warning and normal mode", () => {
      // A CAP_BPF user in a root-owned directory: OBJ_PIN, unlink(2) and rename(2) are EACCES alike.
      pinPrecious();
      const logger = memoryLogger();
      const bpf = createBpf({ driver: wrapDriver(w.driver, {
        objPin: (fd, path) => (path.includes(":bpfkit-swap-") ? -Errno.EACCES : w.driver.objPin(fd, path)),
        host: { unlink: () => -Errno.EACCES, rename: () => -Errno.EACCES },
      }), mapRoot: w.fs.path, logger });
      const m = bpf.newMap(precious);
      expect(m.openParallel()).toBe(false);
      expect([m.inParallelMode, m.lookup(7)]).toEqual([false, 77]);
      expect(logger.records.find((r) => r.msg === "Unable to remove BPF map for parallel operation")?.fields)
        .toMatchObject({ path: m.path(), error: "permission denied" });
      m.close();
      expect(pinned()).toBe(77);
    });

    it("when every swap name is taken, it gives up after 64 with EEXIST, keeps the old pin and leaves nothing", () => {
      pinPrecious();
      const before = entries();
      let tries = 0;
      const bpf = faulty({ objPin: (fd, path) => (path.includes(":bpfkit-swap-") ? (tries++, -Errno.EEXIST) : w.driver.objPin(fd, path)) });
      const fds0 = fds();
      const e = thrownBpfError(() => bpf.newMap({ ...precious, maxEntries: 8 }).openOrCreate());
      expect([e.code, tries]).toEqual(["EEXIST", 64]);
      expect(pinned()).toBe(77);
      expect(entries()).toEqual(before);
      expect(fds()).toBe(fds0);
    });

    it("a path whose swap name would be too long falls back to unlink and pin", () => {
      // The swap name is longer than the last component it replaces: near PATH_MAX only the
      // swap name is ENAMETOOLONG, and the upgrade still goes through, as without rename.
      let tooLong = 0;
      expectCleanUpgrade(faulty({ objPin: (fd, path) => (path.includes(":bpfkit-swap-") ? (tooLong++, -Errno.ENAMETOOLONG) : w.driver.objPin(fd, path)) }));
      expect(tooLong).toBeGreaterThan(0);
    });

    it("a temporary pin that cannot be made keeps the old pin and says so, with no data-loss warning", () => {
      pinPrecious();
      const before = entries();
      const logger = memoryLogger();
      // The replace lock (pin-races.test.ts) is taken; the swap pin is refused.
      const objPin = (fd: number, path: string) => (path.includes(":bpfkit-swap-") ? -Errno.ENOSPC : w.driver.objPin(fd, path));
      const bpf = createBpf({ driver: wrapDriver(w.driver, { objPin }), mapRoot: w.fs.path, logger });
      const fds0 = fds();
      const e = thrownBpfError(() => bpf.newMap({ ...precious, maxEntries: 8 }).openOrCreate());
      expect([e.code, e.op, e.map]).toEqual(["ENOSPC", "openOrCreate", "precious"]);
      expect(e.message).toMatch(/^openOrCreate precious: Unable to pin the replacement at .*\/:bpfkit-swap-\d+-\d+ for property upgrade: no space left on device; the existing map pinned there was kept$/);
      // The seed's "expect map data loss" is for a map really replaced; here nothing was.
      expect(logger.records.map((r) => r.msg)).toContain("Max entries mismatch for BPF map");
      expect(logger.records.map((r) => r.msg)).not.toContain("Removing map to allow for property upgrade (expect map data loss)");
      expect(fds()).toBe(fds0);
      expect(pinned()).toBe(77);
      expect(entries()).toEqual(before);
    });

    it("a temporary name someone else holds is skipped and what is pinned there left alone", () => {
      pinPrecious();
      const other = w.bpf.newMap({ ...precious, name: "other" });
      other.openOrCreate();
      other.update(1, 11);
      let taken = "";
      // The first swap name is taken for real (by "other") just before replacePin pins there.
      const bpf = faulty({ objPin: (fd, path) => {
        if (taken === "" && path.includes(":bpfkit-swap-")) {
          taken = path;
          expect(w.driver.objPin(other.getFd(), path)).toBe(0);
        }
        return w.driver.objPin(fd, path);
      } });
      const m = bpf.newMap({ ...precious, maxEntries: 8 });
      expect(m.openOrCreate()).toBe(true);
      m.close();
      expect(taken).not.toBe("");
      const takenName = taken.slice(taken.lastIndexOf("/") + 1);
      expect(entries()).toEqual(["other", "precious", takenName].sort());
      expect(pinned()).toBeUndefined();
      const held = w.bpf.openMap(takenName, { key: u32, value: u32 });
      expect(held.lookup(1)).toBe(11);
      held.close();
      other.close();
      expect(w.driver.host.unlink(taken)).toBe(0);
    });

    it("a driver whose rename answers ENOSYS falls back to unlink and pin", () => {
      expectCleanUpgrade(faulty({ host: { rename: () => -Errno.ENOSYS } }));
    });
  });

  describe("without host.rename (a driver written before it): unlink, then pin", () => {
    /** A Bpf over the world's driver without rename, plus `overrides`. */
    function noRename(overrides: DriverOverrides = {}): Bpf {
      return faulty({ ...overrides, host: { ...overrides.host, rename: null } });
    }

    /** `objPin` for every pin but the replace lock's (pin-races.test.ts), which is made as asked. */
    const butLock = (objPin: (fd: number, path: string) => number) => (fd: number, path: string) =>
      (path.includes(":bpfkit-lock-") ? w.driver.objPin(fd, path) : objPin(fd, path));

    it("the upgrade still replaces the map, and leaves nothing beside it", () => {
      const bpf = noRename();
      expect(bpf.driver.host.rename).toBeUndefined();
      expectCleanUpgrade(bpf);
    });

    it("when the new map cannot be pinned, the old one is pinned again and the error says so", () => {
      pinPrecious();
      let failures = 1;
      const bpf = noRename({ objPin: butLock((fd, path) => (failures-- > 0 ? -Errno.ENOSPC : w.driver.objPin(fd, path))) });
      const before = fds();
      const m = bpf.newMap({ ...precious, maxEntries: 8 });
      const e = thrownBpfError(() => m.openOrCreate());
      expect([e.code, e.op, e.map]).toEqual(["ENOSPC", "openOrCreate", "precious"]);
      expect(e.message).toMatch(/^openOrCreate precious: Unable to pin object with file descriptor \d+ to .*: no space left on device; the map pinned there before is pinned at .*precious again$/);
      expect(m.getFd()).toBe(-1);
      expect(fds()).toBe(before);
      expect(pinned()).toBe(77);
    });

    it("when neither pin can be made, the error says the old map is no longer pinned", () => {
      pinPrecious();
      const bpf = noRename({ objPin: butLock(() => -Errno.ENOSPC) });
      const before = fds();
      const e = thrownBpfError(() => bpf.newMap({ ...precious, maxEntries: 8 }).openOrCreate());
      expect(e.code).toBe("ENOSPC");
      expect(e.message).toMatch(/could not be pinned again \(no space left on device\); it is no longer pinned/);
      expect(fds()).toBe(before);
    });

    it("when the old pin cannot be removed, the new map is closed and the old one kept", () => {
      pinPrecious();
      const bpf = noRename({ host: { unlink: () => -Errno.EBUSY } });
      const before = fds();
      const e = thrownBpfError(() => bpf.newMap({ ...precious, maxEntries: 8 }).openOrCreate());
      expect([e.code, e.op]).toEqual(["EBUSY", "openOrCreate"]);
      expect(e.message).toMatch(/^openOrCreate precious: Unable to remove map .*precious for property upgrade: device or resource busy; the existing map pinned there was kept$/);
      expect(fds()).toBe(before);
      expect(pinned()).toBe(77);
    });

    /** An unlink of `path` that another process beats to it: the pin is gone, and this unlink says ENOENT. */
    const beatenTo = (path: () => string) => {
      let once = true;
      return (p: string) => {
        if (once && p === path()) {
          once = false;
          expect(w.driver.host.unlink(p)).toBe(0);
        }
        return w.driver.host.unlink(p);
      };
    };

    it("an old pin another process removes just before this unlink is no failure: the new map is made and pinned", () => {
      pinPrecious();
      const bpf = noRename({ host: { unlink: beatenTo(() => bpf.mapPath("precious")) } });
      const before = fds();
      const m = bpf.newMap({ ...precious, maxEntries: 8 });
      expect(m.openOrCreate()).toBe(true);
      expect(m.isPinned()).toBe(true);
      expect(pinned()).toBeUndefined(); // a new, empty map
      expect(w.driver.host.readdir(w.bpf.mapPrefixPath())).toEqual(["precious"]);
      m.close();
      expect(fds()).toBe(before);
    });

    it("openParallel: an old pin another process removes just before this unlink leaves a new map pinned, with no warning", () => {
      pinPrecious();
      const logger = memoryLogger();
      const driver = wrapDriver(w.driver, { host: { unlink: beatenTo(() => bpf.mapPath("precious")), rename: null } });
      const bpf = createBpf({ driver, mapRoot: w.fs.path, logger });
      const before = fds();
      const m = bpf.newMap(precious);
      expect(m.openParallel()).toBe(true);
      expect(m.isPinned()).toBe(true);
      expect(pinned()).toBeUndefined();
      expect(w.driver.host.readdir(w.bpf.mapPrefixPath())).toEqual(["precious"]);
      // Nothing failed to be removed: the seed's warning for that would mislead.
      expect(logger.records.filter((r) => r.level === "warn")).toEqual([]);
      m.close();
      expect(fds()).toBe(before);
    });

    it("openParallel: when the new map cannot be pinned, the old one is pinned again and parallel mode is off", () => {
      pinPrecious();
      let failures = 1;
      const bpf = noRename({ objPin: butLock((fd, path) => (failures-- > 0 ? -Errno.ENOMEM : w.driver.objPin(fd, path))) });
      const before = fds();
      const m = bpf.newMap(precious);
      const e = thrownBpfError(() => m.openParallel());
      expect([e.code, e.op, e.map]).toEqual(["ENOMEM", "openParallel", "precious"]);
      expect(e.message).toMatch(/^openParallel precious: Unable to pin object .*: cannot allocate memory; the map pinned there before is pinned at .*precious again$/);
      expect([m.getFd(), m.inParallelMode]).toEqual([-1, false]);
      expect(fds()).toBe(before);
      expect(pinned()).toBe(77);
      expect(bpf.getOpenMaps()).toEqual([]);
    });

    it("openParallel: an old pin that cannot be removed gives the seed's warning and normal mode", () => {
      pinPrecious();
      const logger = memoryLogger();
      const driver = wrapDriver(w.driver, { host: { unlink: () => -Errno.EBUSY, rename: null } });
      const bpf = createBpf({ driver, mapRoot: w.fs.path, logger });
      const before = fds();
      const m = bpf.newMap(precious);
      expect(m.openParallel()).toBe(false); // the old map, opened
      expect(m.inParallelMode).toBe(false);
      expect(m.lookup(7)).toBe(77);
      expect(logger.records).toContainEqual({ level: "warn", msg: "Unable to remove BPF map for parallel operation",
        fields: { path: m.path(), error: "device or resource busy" } });
      m.close();
      expect(fds()).toBe(before);
    });
  });

  it("openParallel: on success the new map is pinned and the old one keeps its data for its holders", () => {
    pinPrecious();
    const holder = w.bpf.newMap(precious);
    holder.open();
    const m = w.bpf.newMap(precious);
    expect(m.openParallel()).toBe(true);
    expect(pinned()).toBeUndefined();
    expect(holder.lookup(7)).toBe(77);
    m.close();
    holder.close();
  });
});
