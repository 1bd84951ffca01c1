// bpf.openMapById (cilium/ebpf's NewMapFromID): a BpfMap over the map with a kernel id, as a map
// of maps' lookup gives it. It reads, writes, dumps and batches like any map; it has no pin path,
// so what needs one refuses and leaves it open; close() closes its fd for good; it stays out of
// the registry; bad ids fail before any syscall and no failure leaves an fd open.
import { expect, it } from "vitest";
import {
  BatchCursor, BpfError, Errno, MapType, createBpf, isNotExist, memoryLogger, newDumpStats, perCpuValues,
  u16, u32, u64, wrapDriver, type BpfMap,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, type Env } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

const hashSpec = { name: "byid_hash", type: MapType.Hash, key: u32, value: u64, maxEntries: 16 };

eachDriver("openMapById", (get) => {
  const fds = (): number => openFdsOf(get().driver);
  const idOf = (m: BpfMap<any, any>): number => get().bpf.getMapInfoByFd(m.getFd()).id;
  const le32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
  const le64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);

  function hash(env: Env): BpfMap<number, bigint> {
    const m = env.map(hashSpec);
    m.openOrCreate();
    return m;
  }

  it("a hash opened by id without codecs reads and writes raw bytes, seen through the pin's handle; it is named id:N, has no path and is not registered", () => {
    const env = get();
    const made = hash(env);
    made.update(1, 10n);
    const id = idOf(made);
    const before = fds();
    const registered = env.bpf.getOpenMaps();
    const raw = env.bpf.openMapById(id);
    expect(fds()).toBe(before + 1);
    expect([raw.name(), raw.path(), raw.isOpen(), raw.getModel()]).toEqual([`id:${id}`, "", true, { path: "" }]);
    expect(raw.mapInfo).toMatchObject({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 16 });
    expect(env.bpf.getOpenMaps()).toEqual(registered);
    expect(env.bpf.getMap("byid_hash")).toBe(made);

    expect(raw.lookup(le32(1))).toEqual(le64(10n));
    expect(raw.lookup(le32(2))).toBeUndefined();
    raw.update(le32(2), le64(20n));
    expect(made.lookup(2)).toBe(20n);
    raw.delete(le32(1));
    expect(made.lookup(1)).toBeUndefined();
    raw.close();
    expect(raw.isOpen()).toBe(false);
    expect(fds()).toBe(before);
    expect(made.lookup(2)).toBe(20n);
  });

  it("with codecs: elements, iteration, dumps, batches, lookupAndDelete and freeze all work on the map by id", () => {
    const env = get();
    const made = hash(env);
    const m = env.track(env.bpf.openMapById(idOf(made), { key: u32, value: u64 }));
    for (let k = 1; k <= 4; k++) m.update(k, BigInt(k * 10));
    expect(made.lookup(3)).toBe(30n);
    expect(m.getNextKey(null)).toBeTypeOf("number");
    expect([...m.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(new Map(m.entries())).toEqual(new Map([[1, 10n], [2, 20n], [3, 30n], [4, 40n]]));
    const seen = new Map<number, bigint>();
    const stats = newDumpStats(m);
    m.dumpReliablyWithCallback((k, v) => seen.set(k, v), stats);
    expect([stats.completed, seen.size]).toEqual([true, 4]);
    expect(m.dumpWithCallbackIfExists(() => {})?.completed).toBe(true);
    expect(m.dumpIfExists().size).toBe(4);
    expect(m.dump().get(m.keyCodec.format?.(1) ?? "01000000")).toBeDefined();

    expect(m.lookupAndDelete(4)).toBe(40n);
    expect(made.lookup(4)).toBeUndefined();
    const cursor = new BatchCursor();
    const batch: Array<[number, bigint]> = [];
    while (!cursor.done) batch.push(...m.lookupBatch(cursor, 2));
    expect(batch.sort((a, b) => a[0] - b[0])).toEqual([[1, 10n], [2, 20n], [3, 30n]]);
    expect(m.updateBatch([5, 6], [50n, 60n])).toBe(2);
    expect(m.deleteBatch([1, 5])).toBe(2);
    expect([made.lookup(6), made.lookup(1)]).toEqual([60n, undefined]);

    m.freeze();
    const e = thrownBpfError(() => m.update(7, 70n));
    expect([e.code, e.op, e.map]).toEqual(["EPERM", "update", m.name()]);
    expect(() => made.update(7, 70n)).toThrow(/EPERM|not permitted/);
  });

  for (const outer of [MapType.ArrayOfMaps, MapType.HashOfMaps]) {
    it(`${outer === MapType.ArrayOfMaps ? "ARRAY_OF_MAPS" : "HASH_OF_MAPS"}: the inner map's id from a lookup opens it, and a write through it shows through another handle`, () => {
      const env = get();
      const innerSpec = { type: MapType.Hash, key: u32, value: u32, maxEntries: 4 };
      const inner = env.map({ name: "inner_a", ...innerSpec });
      inner.openOrCreate();
      inner.update(7, 70);
      const outerMap = env.map({ name: "outer", type: outer, key: u32, value: u32, maxEntries: 2, innerId: inner.getFd() });
      outerMap.openOrCreate();
      outerMap.update(1, inner.getFd());
      const before = fds();

      const id = outerMap.lookup(1)!;
      expect(id).toBe(idOf(inner));
      const byId = env.bpf.openMapById(id, { key: u32, value: u32 });
      expect(byId.lookup(7)).toBe(70);
      byId.update(8, 80);
      expect(inner.lookup(8)).toBe(80);
      // A second handle on the same id sees it too, and closing one leaves the other working.
      const again = env.bpf.openMapById(id, { key: u32, value: u32 });
      expect(again.lookup(8)).toBe(80);
      byId.close();
      expect(again.lookup(7)).toBe(70);
      again.close();
      expect(fds()).toBe(before);

      // The inner map lives on in the outer one after its creator closes its fd.
      inner.close();
      inner.unpin();
      const orphan = env.bpf.openMapById(outerMap.lookup(1)!, { key: u32, value: u32 });
      expect(orphan.lookup(8)).toBe(80);
      orphan.close();
    });
  }

  it("open and openOrCreate* do nothing while it is open, as on a pinned map", () => {
    const env = get();
    const m = env.track(env.bpf.openMapById(idOf(hash(env)), { key: u32, value: u64 }));
    const fd = m.getFd();
    const before = fds();
    m.open();
    expect([m.openOrCreate(), m.openOrCreateUnpinned()]).toEqual([false, false]);
    expect([m.getFd(), fds()]).toEqual([fd, before]);
  });

  it("what needs a pin path refuses with EINVAL naming the map, and leaves it open", () => {
    const env = get();
    const made = hash(env);
    made.update(1, 10n);
    const id = idOf(made);
    const m = env.track(env.bpf.openMapById(id, { key: u32, value: u64 }));
    const fd = m.getFd();
    const ops: Array<[string, () => unknown]> = [
      ["openParallel", () => m.openParallel()],
      ["reopen", () => m.reopen()], ["unpin", () => m.unpin()], ["unpinIfExists", () => m.unpinIfExists()],
      ["checkAndUpgrade", () => m.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 16 })],
    ];
    for (const [op, call] of ops) {
      const e = thrownBpfError(call);
      expect([e.code, e.op, e.map, e.path]).toEqual(["EINVAL", op, `id:${id}`, undefined]);
      expect(e.message).toBe(`${op} id:${id}: the map was opened by id (bpf.openMapById) and has no pin path; it stays open`);
      expect(m.getFd()).toBe(fd);
    }
    // Nothing was unpinned or re-created: the pinned map is the same one, with its data.
    expect(made.lookup(1)).toBe(10n);
    expect(m.lookup(1)).toBe(10n);
    expect(env.driver.host.stat(made.path()).errno).toBe(0);
    expect(m.inParallelMode).toBe(false);
  });

  it("after close() every operation says the map is closed, not that it has no path; the fd count is back", () => {
    const env = get();
    const made = hash(env);
    const id = idOf(made);
    const before = fds();
    const m = env.bpf.openMapById(id, { key: u32, value: u64 });
    m.close();
    expect(fds()).toBe(before);
    expect([m.getFd(), m.isOpen()]).toEqual([-1, false]);
    m.close(); // a second close does nothing
    const ops: Array<[string, () => unknown]> = [
      ["lookup", () => m.lookup(1)], ["update", () => m.update(1, 1n)], ["delete", () => m.delete(1)],
      ["dumpWithCallback", () => m.dumpWithCallback(() => {})],
      ["entries", () => [...m.entries()]], ["freeze", () => m.freeze()], ["lookupBatch", () => m.lookupBatch(new BatchCursor())],
      ["open", () => m.open()], ["openOrCreate", () => m.openOrCreate()], ["reopen", () => m.reopen()], ["unpin", () => m.unpin()],
      ["checkAndUpgrade", () => m.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 16 })],
    ];
    for (const [op, call] of ops) {
      const e = thrownBpfError(call);
      expect([e.code, e.op, e.map]).toEqual(["EBADF", op, `id:${id}`]);
      expect(e.message).toBe(`${op} id:${id}: the map is closed (it was opened by id ${id}: bpf.openMapById(${id}) opens it again)`);
    }
    expect(m.deleteWithErrno(1).error?.code).toBe("EBADF");
    // The *IfExists dumps do not pass a closed map over as a missing pin: they dump, and throw.
    expect(() => m.dumpIfExists()).toThrow(`dump id:${id}: the map is closed`);
    expect(() => m.dumpWithCallbackIfExists(() => {})).toThrow(`dumpWithCallback id:${id}: the map is closed`);
    expect(fds()).toBe(before);
  });

  it("without codecs, dumps and iteration refuse, pointing at openMapById with codecs", () => {
    const env = get();
    const id = idOf(hash(env));
    const raw = env.track(env.bpf.openMapById(id));
    for (const [op, call] of [["dump", () => raw.dump()], ["dumpWithCallback", () => raw.dumpWithCallback(() => {})],
      ["entries", () => raw.entries()], ["keys", () => raw.keys()]] as const) {
      const e = thrown(call);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toBe(`${op} id:${id}: the map was opened by bpf.openMapById without key and value codecs, ` +
        `so its elements cannot be decoded; open it with bpf.openMapById(${id}, { key, value }), or with rawCodecs for bytes, to dump it`);
    }
  });

  it("per-CPU values need perCpuValues over every possible CPU, as openMap says", () => {
    const env = get();
    const cpus = env.driver.possibleCpus;
    const made = env.track(env.bpf.newPerCpuHashMap({ name: "byid_pcpu", key: u32, value: u32, maxEntries: 4 }));
    made.openOrCreate();
    made.update(1, Array.from({ length: cpus }, (_, i) => i + 1));
    const id = idOf(made);
    const before = fds();
    expect(() => env.bpf.openMapById(id, { key: u32, value: u32 })).toThrow(new RangeError(
      `openMapById id:${id}: the value codec is 4 bytes, the map's values are ${8 * cpus} (${cpus} CPUs × 8: use perCpuValues)`));
    expect(fds()).toBe(before);
    const m = env.track(env.bpf.openMapById(id, { key: u32, value: perCpuValues(u32, cpus) }));
    expect(m.lookup(1)).toEqual(Array.from({ length: cpus }, (_, i) => i + 1));
  });

  it("codecs that do not fit are a RangeError or TypeError naming the id, and the fd is closed", () => {
    const env = get();
    const id = idOf(hash(env));
    const before = fds();
    expect(() => env.bpf.openMapById(id, { key: u16, value: u64 }))
      .toThrow(new RangeError(`openMapById id:${id}: the key codec is 2 bytes, the map's keys are 4`));
    expect(() => env.bpf.openMapById(id, { key: u32, value: u32 }))
      .toThrow(new RangeError(`openMapById id:${id}: the value codec is 4 bytes, the map's values are 8`));
    expect(() => env.bpf.openMapById(id, { key: u32 } as never))
      .toThrow(new TypeError(`openMapById id:${id}: value must be a Codec (size, encode, decode)`));
    expect(() => env.bpf.openMapById(id, null as never))
      .toThrow(new TypeError(`openMapById id:${id}: codecs must be { key, value } or a function choosing them (rawCodecs)`));
    expect(fds()).toBe(before);
  });

  it("an id that is not a u32 is refused before any syscall; an id no map has is ENOENT naming the op and the id", () => {
    const env = get();
    let calls = 0;
    const counting = wrapDriver(env.driver, {
      mapGetFdById: (id, flags) => {
        calls++;
        return env.driver.mapGetFdById(id, flags);
      },
    });
    const bpf = createBpf({ driver: counting, mapRoot: env.root, logger: memoryLogger() });
    for (const bad of ["1", null, undefined, 1n]) {
      expect(() => bpf.openMapById(bad as never)).toThrow(TypeError);
    }
    for (const bad of [-1, 1.5, 2 ** 32, NaN, Infinity]) {
      expect(() => bpf.openMapById(bad)).toThrow(new RangeError(`openMapById: id ${bad} is not a u32`));
    }
    expect(() => bpf.openMapById("7" as never)).toThrow(new TypeError('openMapById: id must be a number, got "7"'));
    expect(calls).toBe(0);

    // 0 and 2^32 - 1 are u32s: the kernel is asked, and no map has them.
    for (const edge of [0, 0xffffffff]) {
      const e = thrownBpfError(() => bpf.openMapById(edge));
      expect([e.code, e.op, e.map]).toEqual(["ENOENT", "openMapById", `id:${edge}`]);
    }
    expect(calls).toBe(2);
    calls = 0;

    // An id that was a map's: freed with its last fd, never given again.
    const fd = env.bpf.createMap(MapType.Hash, 4, 4, 1, 0, 0, "gone");
    const gone = env.bpf.getMapInfoByFd(fd).id;
    env.driver.close(fd);
    const before = fds();
    const e = thrownBpfError(() => bpf.openMapById(gone));
    expect(calls).toBe(1);
    expect([e.code, e.errno, e.op, e.map, isNotExist(e)]).toEqual(["ENOENT", Errno.ENOENT, "openMapById", `id:${gone}`, true]);
    expect(e.message).toBe(`openMapById id:${gone}: Unable to get object fd from id ${gone}: no such file or directory`);
    expect(fds()).toBe(before);
  });

  it("EPERM from GET_FD_BY_ID says that opening by id needs CAP_SYS_ADMIN (CAP_BPF alone can make and use maps)", () => {
    const env = get();
    const id = idOf(hash(env));
    const unprivileged = wrapDriver(env.driver, { mapGetFdById: () => -Errno.EPERM });
    const bpf = createBpf({ driver: unprivileged, mapRoot: env.root, logger: memoryLogger() });
    const before = fds();
    const e = thrownBpfError(() => bpf.openMapById(id));
    expect([e.code, e.op, e.map]).toEqual(["EPERM", "openMapById", `id:${id}`]);
    expect(e.message).toBe(`openMapById id:${id}: Unable to get object fd from id ${id}: operation not permitted ` +
      "(opening a map by id needs CAP_SYS_ADMIN, not only CAP_BPF)");
    expect(fds()).toBe(before);
  });

  it("the seed's raw forms, mapFdFromId and getProgFdById, say so too", () => {
    const env = get();
    const unprivileged = wrapDriver(env.driver, { mapGetFdById: () => -Errno.EPERM, progGetFdById: () => -Errno.EPERM });
    const bpf = createBpf({ driver: unprivileged, mapRoot: env.root, logger: memoryLogger() });
    expect(thrownBpfError(() => bpf.mapFdFromId(7)).message).toBe("Unable to get object fd from id 7: operation not permitted " +
      "(opening a map by id needs CAP_SYS_ADMIN, not only CAP_BPF)");
    expect(thrownBpfError(() => bpf.getProgFdById(7)).message).toBe("Unable to get fd for program id 7: operation not permitted " +
      "(opening a program by id needs CAP_SYS_ADMIN, not only CAP_BPF)");
  });

  it("a map whose info cannot be read is refused naming the id, its fd closed", () => {
    const env = get();
    const id = idOf(hash(env));
    const faulty = wrapDriver(env.driver, { objGetInfoByFd: () => -Errno.ENOMEM });
    const bpf = createBpf({ driver: faulty, mapRoot: env.root, logger: memoryLogger() });
    const before = fds();
    const e = thrownBpfError(() => bpf.openMapById(id));
    expect([e.code, e.op, e.map]).toEqual(["ENOMEM", "openMapById", `id:${id}`]);
    expect(e.message).toMatch(new RegExp(`^openMapById id:${id}: Unable to get map info for file descriptor \\d+: `));
    expect(e).toBeInstanceOf(BpfError);
    expect(fds()).toBe(before);
  });

  it("a map whose info says type 0 or key size 0 is refused (EINVAL) naming the id, as openMap names the pin; the fd is closed", () => {
    const env = get();
    const made = hash(env);
    const id = idOf(made);
    for (const [at, what] of [[0, "type"], [8, "key size"]] as const) {
      const zeroing = wrapDriver(env.driver, {
        objGetInfoByFd: (fd, info) => {
          const r = env.driver.objGetInfoByFd(fd, info);
          info.fill(0, at, at + 4);
          return r;
        },
      });
      const bpf = createBpf({ driver: zeroing, mapRoot: env.root, logger: memoryLogger() });
      const before = fds();
      const e = thrownBpfError(() => bpf.openMapById(id));
      expect([e.code, e.op, e.map, e.path, e.message]).toEqual(["EINVAL", "openMapById", `id:${id}`, undefined, `Unable to determine map ${what} of id:${id}`]);
      expect(fds()).toBe(before);
      const p = thrownBpfError(() => bpf.openMap(made.path()));
      expect([p.code, p.op, p.map, p.path, p.message]).toEqual(["EINVAL", "openMap", undefined, made.path(), `Unable to determine map ${what} of ${made.path()}`]);
      expect(fds()).toBe(before);
    }
  });

  it("a keyless map's key size 0 is refused saying that its type has no keys", () => {
    const env = get();
    const made = hash(env);
    const id = idOf(made);
    // Every type the kernel makes only with key_size 0 (include/uapi/linux/bpf.h numbers).
    // The ones bpfkit has a class for are named with it.
    const queue = "; open it as a BpfQueueMap with bpf.openQueueMap";
    for (const [type, name, use] of [[22, "queue", queue], [23, "stack", queue], [27, "ring buffer", "; open it as a BpfRingBuf with bpf.openRingBuf"],
      [30, "bloom filter", "; open it as a BpfBloomFilter with bpf.openBloomFilter"], [31, "user ring buffer", "; open it as a BpfUserRingBuf with bpf.openUserRingBuf"], [33, "arena", ""]] as const) {
      // Their info as the kernel gives it: the type, and key_size 0.
      const keyless = wrapDriver(env.driver, {
        objGetInfoByFd: (fd, info) => {
          const r = env.driver.objGetInfoByFd(fd, info);
          new DataView(info.buffer, info.byteOffset).setUint32(0, type, true);
          info.fill(0, 8, 12);
          return r;
        },
      });
      const bpf = createBpf({ driver: keyless, mapRoot: env.root, logger: memoryLogger() });
      const before = fds();
      const e = thrownBpfError(() => bpf.openMapById(id));
      expect([e.code, e.message]).toEqual(["EINVAL", `Unable to determine map key size of id:${id}: a ${name} map has no keys, and a BpfMap needs them${use}`]);
      const p = thrownBpfError(() => bpf.openMap(made.path()));
      expect(p.message).toBe(`Unable to determine map key size of ${made.path()}: a ${name} map has no keys, and a BpfMap needs them${use}`);
      expect(fds()).toBe(before);
    }
  });

  it("an error that is no BpfError (a driver's bug) passes through as it is, and nothing is left open", () => {
    const env = get();
    const id = idOf(hash(env));
    const boom = new Error("driver bug");
    const broken = wrapDriver(env.driver, { mapGetFdById: () => { throw boom; } });
    const bpf = createBpf({ driver: broken, mapRoot: env.root, logger: memoryLogger() });
    const before = fds();
    expect(thrown(() => bpf.openMapById(id))).toBe(boom);
    expect(fds()).toBe(before);
  });

  it("metrics are labelled by the kernel name's common name, not by the id", () => {
    const env = get();
    const fd = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 2, mapName: "cilium_lb_7" });
    expect(fd).toBeGreaterThanOrEqual(0);
    const unnamed = env.bpf.createMap(MapType.Hash, 4, 4, 2, 0, 0, "unnamed");
    try {
      const named = env.track(env.bpf.openMapById(env.bpf.getMapInfoByFd(fd).id, { key: u32, value: u32 }));
      const anon = env.track(env.bpf.openMapById(env.bpf.getMapInfoByFd(unnamed).id, { key: u32, value: u32 }));
      named.update(1, 1);
      anon.update(1, 1);
      expect(env.ops.slice(-2)).toEqual(["lb update success", "by-id update success"]);
    } finally {
      env.driver.close(fd);
      env.driver.close(unnamed);
    }
  });
});

// Sim only: the test process's own fd 0 is not closed for the kernel's sake.
it("a map opened by id on fd 0 (a daemon whose stdin is closed) is open: open and openOrCreate* do nothing", () => {
  const sim = createSimDriver({ possibleCpus: 2 });
  expect(sim.close(0)).toBe(0);
  const first = sim.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 });
  expect(first).toBe(0);
  const id = createBpf({ driver: sim, logger: memoryLogger() }).getMapInfoByFd(first).id;
  const keep = sim.mapGetFdById(id); // the map lives on while fd 0 is closed and reused
  expect(sim.close(first)).toBe(0);
  const m = createBpf({ driver: sim, logger: memoryLogger() }).openMapById(id, { key: u32, value: u64 });
  try {
    expect(m.getFd()).toBe(0);
    m.open();
    expect([m.openOrCreate(), m.openOrCreateUnpinned(), m.getFd(), m.isOpen()]).toEqual([false, false, 0, true]);
  } finally {
    m.close();
    sim.close(keep);
  }
});
