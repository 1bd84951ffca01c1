// The seed's lifecycle tests (pkg-bpf-behaviour.md §10: TestOpen, TestOpenMap, TestOpenOrCreate,
// TestOpenParallel, TestUnpin, TestCreateUnpinned, TestCheckAndUpgrade, TestGetModel) on both
// drivers, plus the decisions of API.md §4.3 and §4.7 and the bad-input rules of issue 4.
import { expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH, BpfError,
  BpfMap, Errno, createBpf, isNotExist, memoryLogger, silentLogger, u32, u64,
} from "@bpfkit/core";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

eachDriver("BpfMap lifecycle", (get, kind) => {
  it("TestOpen: a missing pin is ENOENT naming the map; a second open is a no-op", () => {
    const env = get();
    const missing = env.map(testMapSpec("cilium_test_no_exist"));
    let err: unknown;
    try {
      missing.open();
    } catch (e) {
      err = e;
    }
    expect(isNotExist(err)).toBe(true);
    expect((err as Error).message).toContain("cilium_test_no_exist");
    expect(missing.getFd()).toBe(-1);
    // An operation that opens lazily says which operation it was, and keeps the errno.
    let lazy: unknown;
    try {
      missing.lookup(1);
    } catch (e) {
      lazy = e;
    }
    expect(isNotExist(lazy)).toBe(true);
    // …and, since a map never opened is what a forgotten openOrCreate() looks like, says so.
    expect((lazy as Error).message).toMatch(/^lookup cilium_test_no_exist: Unable to get object .*cilium_test_no_exist: no such file or directory \(the map is not open and nothing is pinned there: openOrCreate\(\) creates it\)$/);
    expect([(lazy as BpfError).op, (lazy as BpfError).map, (lazy as BpfError).path]).toEqual(["lookup", "cilium_test_no_exist", missing.path()]);
    // An explicit open() asked for the pin: no hint there.
    expect((err as Error).message).toMatch(/no such file or directory$/);

    const created = env.map(testMapSpec());
    expect(created.openOrCreate()).toBe(true);
    const second = env.map(testMapSpec());
    second.open();
    const fd = second.getFd();
    expect(fd).toBeGreaterThanOrEqual(0);
    second.open();
    expect(second.getFd()).toBe(fd);
    second.close();
    expect(second.getFd()).toBe(-1);
  });

  it("TestGetMapInfo: getMapInfo of the map's fd equals its MapInfo (normalised type and flags)", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    expect(env.bpf.getMapInfo(m.getFd())).toEqual(m.mapInfo);
    const p = env.track(env.bpf.newPerCpuHashMap({ name: "pcpu", key: u32, value: u64, maxEntries: 4 }));
    p.openOrCreate();
    expect(env.bpf.getMapInfo(p.getFd())).toMatchObject({ ...p.mapInfo, readValueSize: p.mapInfo.valueSize });
  });

  it("TestOpenMap: openMap of a missing pin throws; of a pin deep-equals the map that made it", () => {
    const env = get();
    expect(() => env.bpf.openMap("cilium_test_no_exist")).toThrow(/cilium_test_no_exist/);
    const m = env.map(testMapSpec());
    m.openOrCreate();
    const opened = env.track(env.bpf.openMap("cilium_test"));
    expect(opened.name()).toBe("cilium_test");
    expect(opened.path()).toBe(m.path());
    expect(opened.mapInfo).toEqual(m.mapInfo);
    expect(opened.mapInfo.flags).toBe(BPF_F_NO_PREALLOC);
    expect(opened.deepEquals(m)).toBe(true);
    expect(m.deepEquals(opened)).toBe(true);
    // It reads raw bytes, and refuses to dump (no codecs).
    m.update(7, 70);
    expect(opened.lookup(new Uint8Array([7, 0, 0, 0]))).toEqual(new Uint8Array([70, 0, 0, 0]));
    expect(() => opened.dump()).toThrow(/dump cilium_test: .*without key and value codecs/);
    expect(() => opened.dumpWithCallback(() => {})).toThrow(/cilium_test/);
    expect(env.bpf.getMap("cilium_test")).toBe(opened);
  });

  it("TestOpenOrCreate: same definition reuses, changed flags re-create, an open object is a no-op", () => {
    const env = get();
    const a = env.map(testMapSpec());
    expect(a.openOrCreate()).toBe(true);
    a.update(1, 11);
    const b = env.map(testMapSpec());
    expect(b.openOrCreate()).toBe(false);
    expect(b.lookup(1)).toBe(11);

    env.bpf.enableMapPreAllocation();
    const c = env.map({ ...testMapSpec(), flags: 0 });
    expect(c.openOrCreate()).toBe(true); // NO_PREALLOC 1 → 0: removed and re-created
    expect(c.mapInfo.flags).toBe(0);
    expect(c.lookup(1)).toBeUndefined();
    expect(env.logs.some((r) => r.level === "warn" && r.msg.includes("Flags mismatch"))).toBe(true);
    env.bpf.disableMapPreAllocation();
    expect(c.openOrCreate()).toBe(false);
  });

  it("TestOpenParallel: a second kernel map at the same path; the first keeps its own data", () => {
    const env = get();
    const testMap = env.map(testMapSpec());
    testMap.openOrCreate();
    const parallel = env.map(testMapSpec());
    expect(parallel.openParallel()).toBe(true);
    expect(parallel.inParallelMode).toBe(true);
    expect(env.logs).toContainEqual({ level: "debug", msg: "Opening map in parallel mode", fields: { path: parallel.path(), name: "cilium_test" } });
    expect(() => parallel.openParallel()).toThrow("openParallel cilium_test: OpenParallel() called on already open map " +
      "(it opens the new map itself: call it on a map object not opened yet, or close() this one first)");
    expect(parallel.deepEquals(testMap)).toBe(true);
    testMap.update(101, 1);
    parallel.update(102, 2);
    expect(testMap.lookup(101)).toBe(1);
    expect(testMap.lookup(102)).toBeUndefined();
    expect(parallel.lookup(102)).toBe(2);
    expect(parallel.lookup(101)).toBeUndefined();
    parallel.endParallelMode();
    expect(parallel.inParallelMode).toBe(false);
    // The pin is the new map's.
    const third = env.map(testMapSpec());
    third.open();
    expect(third.lookup(102)).toBe(2);
  });

  it("openParallel on the object that made the map: EBUSY while it is open, a new map once it is closed", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 1);
    const oldId = m.info().id;
    expect(thrownBpfError(() => m.openParallel())).toMatchObject({ code: "EBUSY", op: "openParallel", map: "cilium_test" });
    expect(m.lookup(1)).toBe(1);
    // What the error advises.
    m.close();
    expect(m.openParallel()).toBe(true);
    expect(m.info().id).not.toBe(oldId);
    expect(m.lookup(1)).toBeUndefined();
    m.endParallelMode();
    m.close();
  });

  it("TestUnpin: unpin removes the pin; unpinIfExists and unpinMapIfExists tolerate a missing one", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    const exists = () => env.driver.host.stat(m.path()).errno === 0;
    expect(exists()).toBe(true);
    m.unpin();
    expect(exists()).toBe(false);
    m.unpinIfExists();
    env.bpf.unpinMapIfExists("cilium_test");
    // The fd still works after unpinning.
    m.update(3, 4);
    expect(m.lookup(3)).toBe(4);
    m.close();
    expect(m.openOrCreate()).toBe(true);
    expect(exists()).toBe(true);
    env.bpf.unpinMapIfExists("cilium_test");
    expect(exists()).toBe(false);
  });

  it("unpin is refused off bpffs: with a map root on another filesystem nothing there is removed", () => {
    const env = get();
    // An ordinary directory as the map root (a mistake: "/" or a typo), with a tree where the
    // map's pin would be. The seed's os.RemoveAll would take it all.
    const dir = `${tmpdir()}/bpfkit-unpin-${process.pid}-${Date.now().toString(36)}`;
    const victim = `${dir}/tc/globals/cilium_test/keep`;
    expect(env.driver.host.mkdirAll(victim, 0o700)).toBe(0);
    try {
      const bpf = createBpf({ driver: env.driver, mapRoot: dir, mapPrefix: "tc/globals", logger: silentLogger });
      const m = bpf.newMap(testMapSpec());
      const refused = (f: () => void) => {
        let err: unknown;
        try {
          f();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(BpfError);
        expect((err as BpfError).errno).toBe(Errno.EINVAL);
        expect((err as Error).message).toContain(`${dir}/tc/globals is not on a BPF filesystem`);
        expect(env.driver.host.stat(victim).isDirectory).toBe(true);
      };
      refused(() => m.unpin());
      refused(() => m.unpinIfExists());
      refused(() => bpf.unpinMapIfExists("cilium_test"));
      // A non-persistent map's os.Remove of its old pin leaves a file off bpffs alone too; its
      // pin then fails with its own error. (Only the kernel's host has regular files.)
      if (kind === "kernel") {
        const file = `${dir}/tc/globals/np_file`;
        writeFileSync(file, "keep");
        const np = bpf.newMap(testMapSpec("np_file")).withNonPersistent();
        expect(() => np.openOrCreate()).toThrow(BpfError);
        np.close();
        expect(readFileSync(file, "utf8")).toBe("keep");
      }
      // Nothing there is quiet, as on bpffs.
      expect(env.driver.host.removeAll(`${dir}/tc`)).toBe(0);
      m.unpin();
      m.unpinIfExists();
      bpf.unpinMapIfExists("cilium_test");
    } finally {
      env.driver.host.removeAll(dir);
    }
  });

  it("a pin name with a dot: bpffs's EPERM says it is the dot, not privileges", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), name: "my.map" });
    expect(() => m.openOrCreate()).toThrow(/: operation not permitted \(bpffs refuses a name with a dot, as "my\.map"\)$/);
    expect(() => m.open()).toThrow(/Unable to get object .*my\.map: operation not permitted \(bpffs refuses a name with a dot, as "my\.map"\)$/);
  });

  it("TestCreateUnpinned: no pin, the fd works; closing it leaves nothing to reopen", () => {
    const env = get();
    const m = env.map(testMapSpec());
    expect(m.openOrCreateUnpinned()).toBe(true);
    expect(env.driver.host.stat(m.path()).errno).not.toBe(0);
    m.update(5, 55);
    const raw = new Uint8Array(4);
    env.bpf.lookupElement(m.getFd(), new Uint8Array([5, 0, 0, 0]), raw);
    expect(raw).toEqual(new Uint8Array([55, 0, 0, 0]));
    m.close();
    expect(() => m.lookup(5)).toThrow(/lookup cilium_test: the map is closed, and it was created without a pin/);
    expect(() => m.update(5, 1)).toThrow(BpfError);
  });

  it("close() does not end a pinned map: a later operation opens the pin again, as close() documents", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(3, 33);
    m.close();
    expect(m.isOpen()).toBe(false);
    expect(env.bpf.getMap("cilium_test")).toBeUndefined();
    expect(m.lookup(3)).toBe(33);
    expect(m.isOpen()).toBe(true);
    expect(env.bpf.getMap("cilium_test")).toBe(m);
    m.close();
  });

  it("reopen() of a map created without a pin refuses and keeps it open with its data", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreateUnpinned();
    m.update(1, 11);
    const fd = m.getFd();
    let err: unknown;
    try {
      m.reopen();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect([(err as BpfError).code, (err as BpfError).op, (err as BpfError).map]).toEqual(["EINVAL", "reopen", "cilium_test"]);
    expect((err as Error).message).toBe("reopen cilium_test: the map was created without a pin, so it cannot be opened again; it stays open");
    expect(m.getFd()).toBe(fd);
    expect(m.lookup(1)).toBe(11);
    expect(env.bpf.getMap("cilium_test")).toBe(m);
  });

  it("once such a map is closed, reopen() is an ordinary open of whatever is pinned at its path now", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreateUnpinned();
    m.close();
    // Nothing pinned: the open's own ENOENT, not the refusal meant for a map still open.
    const e = thrownBpfError(() => m.reopen());
    expect([e.code, e.op]).toEqual(["ENOENT", "reopen"]);
    const pinned = env.map(testMapSpec());
    pinned.openOrCreate();
    pinned.update(3, 33);
    m.reopen();
    expect(m.lookup(3)).toBe(33);
  });

  it("openOrCreateUnpinned still opens an existing pin (seed quirk 8), so it can reopen", () => {
    const env = get();
    env.map(testMapSpec()).openOrCreate();
    const m = env.map(testMapSpec());
    expect(m.openOrCreateUnpinned()).toBe(false);
    m.update(1, 2);
    m.reopen();
    m.close();
    expect(m.lookup(1)).toBe(2); // lazily re-opened through the pin
  });

  it("operations on a closed pinned map re-open it lazily, as the seed's Open() first does", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(9, 90);
    m.close();
    expect(m.getFd()).toBe(-1);
    expect(m.lookup(9)).toBe(90);
    expect(m.getFd()).toBeGreaterThanOrEqual(0);
    m.reopen();
    expect(m.lookup(9)).toBe(90);
  });

  it("TestCheckAndUpgrade: false for its own info; true (pin removed) after the prealloc setting flips; desired is not mutated", () => {
    const env = get();
    const m = env.map({ ...testMapSpec("cilium_test_upgrade") });
    m.openOrCreate();
    const own = { ...m.mapInfo };
    expect(m.checkAndUpgrade(own)).toBe(false);
    env.bpf.enableMapPreAllocation();
    const desired = { ...m.mapInfo, flags: 0 };
    const frozen = { ...desired };
    expect(m.checkAndUpgrade(desired)).toBe(true);
    expect(desired).toEqual(frozen);
    expect(env.driver.host.stat(m.path()).errno).not.toBe(0);
    env.bpf.disableMapPreAllocation();
    // Not open: false, as the seed's fdinfo read of fd 0 fails.
    const closed = env.map(testMapSpec("cilium_test_upgrade"));
    expect(closed.checkAndUpgrade(own)).toBe(false);
  });

  it("TestCheckAndUpgrade (b): without LRU an LRU map is made as Hash and matches its own info", () => {
    const env = get();
    const bpf = createBpf({ driver: env.driver, mapRoot: env.root, logger: { debug() {}, info() {}, warn() {}, error() {} },
      probe: (t: number) => t !== BPF_MAP_TYPE_LRU_HASH });
    const m = env.track(bpf.newMap({ name: "cilium_test_lru", type: BPF_MAP_TYPE_LRU_HASH, key: u32, value: u32, maxEntries: 16, flags: 0 }));
    m.openOrCreate();
    expect(m.mapInfo.mapType).toBe(BPF_MAP_TYPE_HASH);
    expect(m.mapInfo.flags).toBe(BPF_F_NO_PREALLOC);
    expect(m.checkAndUpgrade({ mapType: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 16, flags: 0 })).toBe(false);
  });

  it("TestGetModel: the path, and the cache only with withCache()", () => {
    const env = get();
    const m = env.map(testMapSpec());
    expect(m.getModel()).toEqual({ path: "" });
    m.openOrCreate();
    expect(m.getModel()).toEqual({ path: `${env.root}/tc/globals/cilium_test` });
    m.withCache();
    m.update(1, 2);
    expect(m.getModel()).toEqual({ path: m.path(), cache: [{ key: "1", value: "2", desiredAction: "sync" }] });
    expect(env.bpf.getOpenMaps()).toContainEqual(m.getModel());
  });

  it("close() unregisters only its own object (API.md §4.7); Symbol.dispose closes", () => {
    const env = get();
    const a = env.map(testMapSpec());
    a.openOrCreate();
    const b = env.map(testMapSpec());
    b.open();
    expect(env.bpf.getMap("cilium_test")).toBe(b);
    a.close();
    expect(env.bpf.getMap("cilium_test")).toBe(b);
    {
      using c = env.bpf.newMap(testMapSpec());
      c.open();
      expect(env.bpf.getMap("cilium_test")).toBe(c);
    }
    // c is gone; b, still open, is the map at the path again.
    expect(env.bpf.getMap("cilium_test")).toBe(b);
    b.close();
    expect(env.bpf.getMap("cilium_test")).toBeUndefined();
    expect(env.bpf.getOpenMaps()).toEqual([]);
  });

  it("withNonPersistent: every openOrCreate starts from an empty map", () => {
    const env = get();
    const m = env.map(testMapSpec()).withNonPersistent();
    expect(m.nonPersistent).toBe(true);
    m.openOrCreate();
    m.update(1, 1);
    m.close();
    expect(m.openOrCreate()).toBe(true);
    expect(m.lookup(1)).toBeUndefined();
  });

  it("open() refuses a pin whose sizes differ from the codecs, and closes the fd it got", () => {
    const env = get();
    env.map(testMapSpec()).openOrCreate();
    const wide = env.map({ name: "cilium_test", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 16, flags: BPF_F_NO_PREALLOC });
    expect(() => wide.open()).toThrow(/open cilium_test: the map pinned at .* has key size 4 and value size 4, this map's codecs need 4 and 8/);
    expect(wide.getFd()).toBe(-1);
    expect(env.bpf.getMap("cilium_test")).not.toBe(wide);
  });

  it("bad specs are refused at newMap with the map's name", () => {
    const env = get();
    expect(() => env.bpf.newMap({ ...testMapSpec("a/b") })).toThrow('newMap: invalid map name "a/b": must not contain "/"');
    expect(() => env.bpf.newMap({ ...testMapSpec("..") })).toThrow('newMap: invalid map name "..": must not be ".."');
    expect(() => env.bpf.newMap({ ...testMapSpec("x\0y") })).toThrow(/NUL/);
    expect(() => env.bpf.newMap({ ...testMapSpec("m"), maxEntries: -1 })).toThrow(/newMap m: maxEntries/);
    expect(() => env.bpf.newMap({ ...testMapSpec("m"), key: {} as never })).toThrow(/newMap m: key must be a Codec/);
    expect(() => env.bpf.newMap({ name: "p", type: BPF_MAP_TYPE_PERCPU_HASH, key: u32, value: u32, maxEntries: 4 }))
      .toThrow(/newPerCpuHashMap/);
  });

  it("newMap takes a path in the map directory as its base name, as the seed's NewMap (policymap.OpenOrCreate(LocalMapPath(…)))", () => {
    const env = get();
    const path = env.bpf.localMapPath("cilium_policy_", 42);
    const m = env.map({ ...testMapSpec(path) });
    expect(m.name()).toBe("cilium_policy_00042");
    expect(m.openOrCreate()).toBe(true);
    expect(m.path()).toBe(path);
    m.update(1, 2);
    expect(env.bpf.getMap("cilium_policy_00042")).toBe(m);
    // An unclean spelling of the same path is the same map.
    const again = env.map({ ...testMapSpec(`${env.root}//tc/./globals/cilium_policy_00042`) });
    expect(again.openOrCreate()).toBe(false);
    expect(again.lookup(1)).toBe(2);
    const perCpu = env.bpf.newPerCpuHashMap({ name: env.bpf.localMapPath("cilium_percpu_", 1), key: u32, value: u32, maxEntries: 4 });
    expect(perCpu.name()).toBe("cilium_percpu_00001");
  });

  it("newMap refuses a path outside the map directory, where the seed pinned elsewhere than it said", () => {
    const env = get();
    for (const p of [`${env.root}/other/cilium_policy_00042`, `${env.root}/tc/globals`, `${env.root}/tc/globals/..`, "/sys/fs/bpf/tc/globals/x"]) {
      expect(() => env.bpf.newMap({ ...testMapSpec(p) }), p).toThrow(new TypeError(
        `newMap: map name ${JSON.stringify(p)} is a path outside the map directory ${env.root}/tc/globals: ` +
        "a map pins there under its name; to open a map pinned elsewhere, use bpf.openMap(path, { key, value })"));
    }
    expect(() => env.bpf.newMap({ ...testMapSpec("tc/globals/x") })).toThrow(
      'newMap: invalid map name "tc/globals/x": must not contain "/" (a name in the map directory, as bpf.localMapName gives, or a path in it, as bpf.localMapPath gives)');
    // Nothing was made.
    expect(env.driver.host.readdir(`${env.root}/tc/globals`)).toSatisfy((r: unknown) => typeof r === "number" || (r as string[]).length === 0);
  });

  it("newMap's path in the map directory with a base name past NAME_MAX is refused for that, not as a path elsewhere", () => {
    const env = get();
    const long = "x".repeat(256);
    expect(() => env.bpf.newMap({ ...testMapSpec(`${env.root}/tc/globals/${long}`) })).toThrow(new TypeError(
      `newMap: invalid map name "${long}": must be at most 255 bytes (NAME_MAX), got 256`));
  });

  it("newMap's path in the map directory: a trailing slash is the same name; a NUL is said as such", () => {
    const env = get();
    const dir = `${env.root}/tc/globals`;
    expect(env.map({ ...testMapSpec(`${dir}/cilium_trailing/`) }).name()).toBe("cilium_trailing");
    for (const p of [`${dir}/x\0y`, "tc/x\0y"]) {
      expect(() => env.bpf.newMap({ ...testMapSpec(p) }), p).toThrow(new TypeError(
        `newMap: invalid map name ${JSON.stringify(p)}: must not contain a NUL byte`));
    }
  });

  it("newMap reads the map directory (locking the root down) only for a name given as a path", () => {
    const env = get();
    const fresh = () => createBpf({ driver: env.driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger() });
    const plain = fresh();
    plain.newMap(testMapSpec("cilium_plain"));
    plain.setMapPrefix("tc/other");
    const byPath = fresh();
    byPath.newMap(testMapSpec(`${env.root}/tc/globals/cilium_by_path`));
    expect(() => byPath.setMapPrefix("tc/other")).toThrow(/after MapPrefix was read/);
  });

  it("fromOpened on an array takes sizes from the info and registers under its path", () => {
    const env = get();
    const arr = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 4 });
    arr.openOrCreate();
    const opened = env.track(env.bpf.openMap(arr.path()));
    expect(opened).toBeInstanceOf(BpfMap);
    expect(opened.mapInfo.valueSize).toBe(8);
    expect(opened.lookup(new Uint8Array(4))).toEqual(new Uint8Array(8));
  });
});
