// map.clone() (cilium/ebpf's Map.Clone): a second BpfMap over a dup of the map's fd. It is the
// same map (never one opened or made again at the pin), with the same name, path, codecs, access
// mode and metrics label, and its own fd: either may be closed first. It is held by that fd
// alone: nothing at the pin is opened, created, replaced or unpinned through it, and once closed
// it stays closed. It shares no cache and is not in the registry.
import { expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_F_ZERO_SEED, BatchCursor, Errno, MapType, createBpf, memoryLogger, perCpuValues, u32, u64, wrapDriver, type BpfMap,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, type Env } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

const hashSpec = { name: "clone_hash", type: MapType.Hash, key: u32, value: u64, maxEntries: 16 };

eachDriver("clone", (get) => {
  const fds = (): number => openFdsOf(get().driver);
  const idOf = (m: BpfMap<any, any>): number => get().bpf.getMapInfoByFd(m.getFd()).id;

  function pinned(env: Env): BpfMap<number, bigint> {
    const m = env.map(hashSpec);
    m.openOrCreate();
    return m;
  }

  it("a clone of a pinned map is the same map under the same name, path and codecs, on its own fd; either may be closed first", () => {
    const env = get();
    const m = pinned(env);
    m.update(1, 10n);
    const registered = env.bpf.getOpenMaps();
    const before = fds();
    const c = m.clone();
    expect(fds()).toBe(before + 1);
    expect(c).not.toBe(m);
    expect(c.getFd()).not.toBe(m.getFd());
    expect([c.name(), c.path(), c.keyCodec, c.valueCodec, c.isOpen()]).toEqual([m.name(), m.path(), m.keyCodec, m.valueCodec, true]);
    expect(idOf(c)).toBe(idOf(m));
    expect(c.deepEquals(m)).toBe(true);
    expect(c.mapInfo).toEqual(m.mapInfo);
    expect(c.isPinned()).toBe(true);
    // Not registered: getMap still gives the original, and the open maps are as they were.
    expect(env.bpf.getMap("clone_hash")).toBe(m);
    expect(env.bpf.getOpenMaps()).toEqual(registered);

    expect(c.lookup(1)).toBe(10n);
    c.update(2, 20n);
    expect(m.lookup(2)).toBe(20n);
    m.close();
    expect(c.lookup(2)).toBe(20n);
    c.delete(1);
    expect(new Map(c.entries())).toEqual(new Map([[2, 20n]]));
    expect(c.dump().size).toBe(1);
    const cursor = new BatchCursor();
    expect(c.lookupBatch(cursor, 4)).toEqual([[2, 20n]]);
    // The original opens its pin again as ever, and it is still the clone's map.
    expect(m.lookup(2)).toBe(20n);
    c.close();
    expect(m.lookup(2)).toBe(20n);
    m.close();
    expect(fds()).toBe(before - 1);
  });

  it("an unpinned map's clone keeps the map alive after the original is closed for good, and the map goes with the clone", () => {
    const env = get();
    const before = fds();
    const m = env.map({ ...hashSpec, name: "clone_unpinned" });
    m.openOrCreateUnpinned();
    m.update(5, 50n);
    const id = idOf(m);
    const c = m.clone();
    m.close();
    expect(thrownBpfError(() => m.lookup(5)).code).toBe("EBADF");
    expect(c.lookup(5)).toBe(50n);
    expect(env.bpf.openMapById(id).close()).toBeUndefined();
    c.close();
    expect(fds()).toBe(before);
    expect(thrownBpfError(() => env.bpf.openMapById(id)).code).toBe("ENOENT");
  });

  it("a clone never opens, creates, replaces or unpins at its pin: those refuse with EINVAL and leave it open; closed, it stays closed", () => {
    const env = get();
    const m = pinned(env);
    m.update(1, 10n);
    const c = m.clone();
    const fd = c.getFd();
    c.open();
    expect([c.openOrCreate(), c.openOrCreateUnpinned(), c.getFd()]).toEqual([false, false, fd]);
    for (const [op, call] of [["openParallel", () => c.openParallel()], ["reopen", () => c.reopen()], ["unpin", () => c.unpin()],
      ["unpinIfExists", () => c.unpinIfExists()],
      ["checkAndUpgrade", () => c.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 16 })]] as const) {
      const e = thrownBpfError(call);
      expect([e.code, e.op, e.map, e.path, e.message]).toEqual(["EINVAL", op, "clone_hash", m.path(),
        `${op} clone_hash: a clone holds the map by its fd and never opens, creates, replaces or unpins it at a pin ` +
        `(call ${op} on the map it was cloned from); it stays open`]);
      expect(c.getFd()).toBe(fd);
    }
    // The pin and the data are as they were, and the clone still checks against its pin.
    expect(env.driver.host.stat(m.path()).errno).toBe(0);
    expect(m.lookup(1)).toBe(10n);
    expect(() => c.checkCompatible()).not.toThrow();
    c.close();
    expect(c.isOpen()).toBe(false);
    for (const [op, call] of [["lookup", () => c.lookup(1)], ["update", () => c.update(1, 1n)], ["open", () => c.open()],
      ["openOrCreate", () => c.openOrCreate()], ["entries", () => [...c.entries()]], ["checkCompatible", () => c.checkCompatible()]] as const) {
      const e = thrownBpfError(call);
      expect([e.code, e.op, e.message]).toEqual(["EBADF", op,
        `${op} clone_hash: the map is closed (it was a clone, whose fd is closed: clone() an open handle of the map for another)`]);
    }
    // Closing the clone changed nothing of the original's.
    expect(env.bpf.getMap("clone_hash")).toBe(m);
    expect(m.lookup(1)).toBe(10n);
  });

  it("clone of a map that is not open is EBADF naming the map and clone, and opens nothing", () => {
    const env = get();
    const before = fds();
    const fresh = env.map({ ...hashSpec, name: "clone_fresh" });
    const e1 = thrownBpfError(() => fresh.clone());
    expect([e1.code, e1.op, e1.map, e1.message]).toEqual(["EBADF", "clone", "clone_fresh",
      "clone clone_fresh: the map is not open (clone duplicates an open map's fd: open() it first)"]);
    const m = pinned(env);
    m.close();
    const e3 = thrownBpfError(() => m.clone());
    expect([e3.path, e3.message]).toEqual([m.path(), "clone clone_hash: the map is not open (clone duplicates an open map's fd: open() it first)"]);
    const unpinned = env.map({ ...hashSpec, name: "clone_gone" });
    unpinned.openOrCreateUnpinned();
    unpinned.close();
    expect(thrownBpfError(() => unpinned.clone()).message)
      .toBe("clone clone_gone: the map is not open (it was created without a pin, so it cannot be opened again)");
    m.open();
    const id = idOf(m);
    const byId = env.bpf.openMapById(id, { key: u32, value: u64 });
    byId.close();
    const e2 = thrownBpfError(() => byId.clone());
    expect([e2.code, e2.op, e2.map, e2.message]).toEqual(["EBADF", "clone", `id:${id}`,
      `clone id:${id}: the map is not open (it was opened by id ${id}: bpf.openMapById(${id}) opens it again)`]);
    m.close();
    expect(fds()).toBe(before);
  });

  it("on a driver without dup, or whose dup answers ENOSYS, clone says the driver cannot dup; another errno is named; a bad answer breaks the contract", () => {
    const env = get();
    const made = pinned(env);
    made.update(1, 1n);
    const before = fds();
    const on = (dup: ((fd: number) => number) | null) => {
      const bpf = createBpf({ driver: wrapDriver(env.driver, { kind: "nodup", dup }), mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger() });
      return env.track(bpf.openMap("clone_hash", { key: u32, value: u64 }));
    };
    const without = on(null);
    const e = thrownBpfError(() => without.clone());
    expect([e.code, e.errno, e.op, e.map, e.path, e.message]).toEqual(["ENOSYS", Errno.ENOSYS, "clone", "clone_hash", made.path(),
      'clone clone_hash: the driver "nodup" cannot dup an fd (it has no dup method), so there is no second handle on this map to give; ' +
      "bpf.openMapById(id) opens another"]);
    expect(thrownBpfError(() => on(() => -Errno.ENOSYS).clone()).message).toContain("(its dup answers ENOSYS)");
    const crowded = on(() => -Errno.EMFILE);
    const full = thrownBpfError(() => crowded.clone());
    expect([full.code, full.op, full.path, full.message]).toEqual(["EMFILE", "clone", made.path(),
      `clone clone_hash: Unable to duplicate file descriptor ${crowded.getFd()}: too many open files`]);
    expect(thrown(() => on(() => 24.5).clone())).toEqual(new TypeError(
      'driver "nodup" broke the Driver contract: dup returned 24.5, where it returns an fd or -errno'));
    expect(fds()).toBe(before + 4);
    expect(without.lookup(1)).toBe(1n);
  });

  it("dup's answer is taken at its word at the edges: 0 is an fd (stdin was closed), -1 is EPERM", () => {
    const env = get();
    pinned(env);
    const closed: number[] = [];
    const on = (dup: (fd: number) => number) => {
      const driver = wrapDriver(env.driver, {
        kind: "edge", dup,
        // fd 0 is this process's stdin: the clone's close is only recorded.
        close: (fd) => (fd === 0 ? (closed.push(fd), 0) : env.driver.close(fd)),
      });
      return env.track(createBpf({ driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger() })
        .openMap("clone_hash", { key: u32, value: u64 }));
    };
    const zero = on(() => 0).clone();
    expect([zero.getFd(), zero.isOpen()]).toEqual([0, true]);
    zero.close();
    expect(closed).toEqual([0]);
    const refused = on(() => -Errno.EPERM);
    const e = thrownBpfError(() => refused.clone());
    expect([e.code, e.op, e.message]).toEqual(["EPERM", "clone",
      `clone clone_hash: Unable to duplicate file descriptor ${refused.getFd()}: operation not permitted`]);
  });

  it("a clone keeps the spec's flags for checkCompatible and its dumpParser for dumps", () => {
    const env = get();
    const m = env.map({
      // NO_PREALLOC alone the clone would want anyway (openOrCreate adds it to a hash); ZERO_SEED only the spec gives.
      name: "clone_parsed", type: MapType.Hash, key: u32, value: u64, maxEntries: 16, flags: BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED,
      dumpParser: (k, v, kc, vc, out) => {
        out.key = kc.decode(k) + 1000;
        out.value = vc.decode(v);
        return out;
      },
    });
    m.openOrCreate();
    m.update(1, 10n);
    const c = env.track(m.clone());
    expect(() => m.checkCompatible()).not.toThrow();
    expect(() => c.checkCompatible()).not.toThrow();
    expect(c.dump()).toEqual(m.dump());
    const got: Array<[number, bigint]> = [];
    c.dumpWithCallback((k, v) => got.push([k, v]));
    expect(got).toEqual([[1001, 10n]]);
  });

  it("a clone of a map opened by a spec other than its pin's has the original's mapInfo, and names the kernel's type and size in refusals as the original does", () => {
    const env = get();
    const made = env.map({ ...hashSpec, name: "clone_other", maxEntries: 4 });
    made.openOrCreate();
    for (let k = 1; k <= 4; k++) made.update(k, BigInt(k));
    // open() checks the key and value sizes only: an ARRAY spec of 2 entries opens the pinned HASH of 4.
    const m = env.map({ ...hashSpec, name: "clone_other", type: MapType.Array, maxEntries: 2 });
    m.open();
    const c = env.track(m.clone());
    expect(c.mapInfo).toEqual(m.mapInfo);
    expect(c.mapInfo).toMatchObject({ mapType: MapType.Array, maxEntries: 2 });
    expect(c.deepEquals(m)).toBe(true);
    for (const h of [m, c]) {
      const full = thrownBpfError(() => h.update(5, 5n));
      expect([full.code, full.message]).toEqual(["E2BIG", "update clone_other: argument list too long (the map is full: max_entries 4)"]);
      expect(thrownBpfError(() => h.delete(9)).message).toBe("delete clone_other: no such file or directory (the key is not in the map)");
    }
  });

  it("a clone holds its map: its *IfExists dumps read it after the pin is gone", () => {
    const env = get();
    const m = pinned(env);
    m.update(1, 10n);
    const c = env.track(m.clone());
    m.unpin();
    expect(env.driver.host.stat(m.path()).errno).not.toBe(0);
    const got: Array<[number, bigint]> = [];
    expect(c.dumpWithCallbackIfExists((k, v) => got.push([k, v]))).toBeDefined();
    expect(got).toEqual([[1, 10n]]);
    expect(c.dumpIfExists().size).toBe(1);
  });

  it("a clone shares no cache: the original's cache keeps what the original wrote; the clone takes its own withCache()", () => {
    const env = get();
    const m = pinned(env).withCache();
    m.update(1, 10n);
    const c = env.track(m.clone());
    expect(c.getModel()).toEqual({ path: m.path() });
    c.update(2, 20n);
    expect(Object.keys(m.getModel().cache ?? {})).toHaveLength(1);
    c.withCache();
    c.update(3, 30n);
    expect(Object.keys(c.getModel().cache ?? {})).toHaveLength(1);
    expect(Object.keys(m.getModel().cache ?? {})).toHaveLength(1);
    expect(new Map(m.entries())).toEqual(new Map([[1, 10n], [2, 20n], [3, 30n]]));
  });

  it("metrics: a clone's operations are labelled as the original's, by-id maps' included", () => {
    const env = get();
    const m = env.map({ ...hashSpec, name: "cilium_lb4_services_v2" });
    m.openOrCreate();
    const c = env.track(m.clone());
    m.update(1, 1n);
    c.update(2, 2n);
    expect(env.ops.slice(-2)).toEqual(["lb4_services_v2 update success", "lb4_services_v2 update success"]);
    const fd = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 2, mapName: "cilium_ct_7" });
    const byId = env.track(env.bpf.openMapById(env.bpf.getMapInfoByFd(fd).id, { key: u32, value: u32 }));
    env.driver.close(fd);
    const byIdClone = env.track(byId.clone());
    byIdClone.update(1, 1);
    expect(env.ops.at(-1)).toBe("ct update success");
    expect(byIdClone.name()).toBe(byId.name());
  });

  it("a read-only map's clone is read-only (the fd's mode is the copy's): writes are EPERM explained, and withCache refuses", () => {
    const env = get();
    const made = pinned(env);
    made.update(1, 10n);
    const ro = env.track(env.bpf.openMap("clone_hash", { key: u32, value: u64 }, { readOnly: true }));
    const c = env.track(ro.clone());
    expect(c.lookup(1)).toBe(10n);
    const e = thrownBpfError(() => c.update(2, 2n));
    expect(e.code).toBe("EPERM");
    expect(e.message).toContain("the map was opened read-only (BPF_F_RDONLY)");
    expect(thrownBpfError(() => c.withCache()).code).toBe("EPERM");
    expect(made.lookup(2)).toBeUndefined();
  });

  it("a clone of a codecless map refuses dumps saying so; a per-CPU map's clone reads every CPU's value", () => {
    const env = get();
    const made = pinned(env);
    const raw = env.track(env.bpf.openMap("clone_hash"));
    const rc = env.track(raw.clone());
    const e = thrown(() => rc.dump());
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe("dump clone_hash: the map was cloned from one opened without key and value codecs, so its elements cannot be " +
      "decoded; clone a handle opened with { key, value }, or with rawCodecs for bytes, to dump it");
    expect(made.isOpen()).toBe(true);

    const cpus = env.driver.possibleCpus;
    const pc = env.track(env.bpf.newPerCpuHashMap({ name: "clone_pcpu", key: u32, value: u32, maxEntries: 4 }));
    pc.openOrCreate();
    const want = Array.from({ length: cpus }, (_, i) => i + 1);
    pc.update(1, want);
    const pcc = env.track(pc.clone());
    expect(pcc.lookup(1)).toEqual(want);
    expect(pcc.valueCodec).toBe(pc.valueCodec);
    expect(() => env.bpf.openMapById(idOf(pc), { key: u32, value: perCpuValues(u32, cpus) }).close()).not.toThrow();
  });

  it("a clone of a clone, and of a map adopted from an fd, is the same map again", () => {
    const env = get();
    const m = pinned(env);
    const c1 = env.track(m.clone());
    const c2 = env.track(c1.clone());
    c1.close();
    c2.update(9, 90n);
    expect(m.lookup(9)).toBe(90n);
    const adopted = env.track(env.bpf.newMapFromFd(env.driver.objGet(m.path()), { key: u32, value: u64 }));
    const ac = env.track(adopted.clone());
    adopted.close();
    expect([ac.lookup(9), ac.name(), ac.path()]).toEqual([90n, adopted.name(), ""]);
    expect(idOf(ac)).toBe(idOf(m));
  });
});
