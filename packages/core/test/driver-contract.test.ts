// A driver that answers outside the contract (a positive errno, C's convention, or nothing at
// all) gets a TypeError naming the driver and the method, never a result read as success.
import { describe, expect, it } from "vitest";
import {
  BatchCursor, BPF_F_NO_PREALLOC, createBpf, driverMethodNames, Errno, hostServiceNames, MapType, memoryLogger,
  optionalDriverMethodNames, optionalHostServiceNames, u32, u64, wrapDriver, type Driver, type ProgTestRunResult,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { eachDriver } from "./support/env.js";

const positive = (r: number) => (r < 0 ? -r : r);

eachDriver("driver contract: results core refuses", (get) => {
  const over = (overrides: Parameters<typeof wrapDriver>[1]) => {
    const env = get();
    const driver = wrapDriver(env.driver, { kind: "careless", ...overrides });
    const bpf = createBpf({ driver, mapRoot: env.root, logger: memoryLogger() });
    const m = bpf.newMap({ name: "contract", type: MapType.Hash, key: u32, value: u64, maxEntries: 8, flags: BPF_F_NO_PREALLOC });
    env.track(m);
    return { m, inner: env.driver };
  };

  it("a lookup that returns a positive errno is refused, not read as the stale value buffer", () => {
    let inner!: Driver;
    const { m, inner: d } = over({ mapLookupElem: (fd, k, v, f) => positive(inner.mapLookupElem(fd, k, v, f)) });
    inner = d;
    m.openOrCreate();
    m.update(1, 2n);
    expect(m.lookup(1)).toBe(2n);
    expect(() => m.lookup(5)).toThrow(new TypeError(
      'driver "careless" broke the Driver contract: mapLookupElem returned 2, where it returns 0 or -errno (a positive errno? return -2)'));
  });

  it("update, delete and next-key results that are no number or not 0 are refused", () => {
    let inner!: Driver;
    const { m, inner: d } = over({
      mapUpdateElem: ((fd: number, k: Uint8Array, v: Uint8Array, f?: number) => { inner.mapUpdateElem(fd, k, v, f); return undefined; }) as never,
      mapDeleteElem: (fd, k) => positive(inner.mapDeleteElem(fd, k)),
      mapGetNextKey: (fd, k, n) => positive(inner.mapGetNextKey(fd, k, n)),
    });
    inner = d;
    m.openOrCreate();
    expect(() => m.update(1, 2n)).toThrow(/^driver "careless" broke the Driver contract: mapUpdateElem returned undefined, where it returns 0 or -errno$/);
    expect(() => m.delete(7)).toThrow(/mapDeleteElem returned 2, .*return -2/);
    expect(() => m.getNextKey(1)).toThrow(/mapGetNextKey returned 2, /);
  });

  it("entries() refuses a positive errno from next-key or lookup instead of walking stale buffers", () => {
    let inner!: Driver;
    const { m, inner: d } = over({ mapGetNextKey: (fd, k, n) => positive(inner.mapGetNextKey(fd, k, n)) });
    inner = d;
    m.openOrCreate();
    expect(() => [...m.entries()]).toThrow(/^driver "careless" broke the Driver contract: mapGetNextKey returned 2, /);
    m.update(1, 10n);
    expect(() => [...m.keys()]).toThrow(/mapGetNextKey returned 2, /);
    let inner2!: Driver;
    const { m: m2, inner: d2 } = over({ mapLookupElem: (fd, k, v, f) => (inner2.mapLookupElem(fd, k, v, f), 1) });
    inner2 = d2;
    m2.openOrCreate();
    m2.update(1, 10n);
    expect(() => [...m2.entries()]).toThrow(/mapLookupElem returned 1, .*return -1/);
  });

  it("batch results with a negative errno, a count past the call's or no result at all are refused", () => {
    let inner!: Driver;
    const { m, inner: d } = over({
      mapLookupBatch: (...a) => { const r = inner.mapLookupBatch(...a); return { errno: -r.errno, count: r.count }; },
      mapUpdateBatch: (fd, k, v, n, f) => ({ ...inner.mapUpdateBatch(fd, k, v, n, f), count: n + 1 }),
      mapDeleteBatch: (() => undefined) as never,
    });
    inner = d;
    m.openOrCreate();
    expect(() => m.lookupBatch(new BatchCursor(), 4)).toThrow(new TypeError(
      'driver "careless" broke the Driver contract: mapLookupBatch returned { errno: -2, count: 0 }, where it returns ' +
      "{ errno: 0 or a positive errno, count: 0..4 } (batch results carry a positive errno: 2)"));
    expect(() => m.updateBatch([1, 2], [1n, 2n])).toThrow(/mapUpdateBatch returned \{ errno: 0, count: 3 \}, .*count: 0\.\.2 \}$/);
    expect(() => m.deleteBatch([1])).toThrow(/mapDeleteBatch returned undefined, /);
  });

  it("the dumps refuse the same results: the walk's next-key and lookup, the batch dump's batch", () => {
    let inner!: Driver;
    const { m, inner: d } = over({
      mapGetNextKey: (fd, k, n) => positive(inner.mapGetNextKey(fd, k, n)),
      mapLookupBatch: (...a) => { const r = inner.mapLookupBatch(...a); return { errno: -r.errno, count: r.count }; },
    });
    inner = d;
    m.openOrCreate();
    m.update(1, 10n);
    // The walk: its last next-key is ENOENT, answered as +2.
    expect(() => m.dumpWithCallback(() => {}, { algorithm: "walk" })).toThrow(/^driver "careless" broke the Driver contract: mapGetNextKey returned 2, /);
    m.delete(1);
    expect(() => m.dumpWithCallback(() => {}, { algorithm: "walk" })).toThrow(/mapGetNextKey returned 2, /); // the first key
    expect(() => m.dumpWithCallback(() => {}, { algorithm: "batch" })).toThrow(/^driver "careless" broke the Driver contract: mapLookupBatch returned \{ errno: -2, count: 0 \}/);
    let inner2!: Driver;
    const { m: m2, inner: d2 } = over({ mapLookupElem: (fd, k, v, f) => (inner2.mapLookupElem(fd, k, v, f), 1) });
    inner2 = d2;
    m2.openOrCreate();
    m2.update(1, 10n);
    expect(() => m2.dumpWithCallback(() => {}, { algorithm: "walk" })).toThrow(/mapLookupElem returned 1, .*return -1/);
  });

  it("map info that says more bytes than the buffer holds is refused, not decoded short", () => {
    let inner!: Driver;
    const { m, inner: d } = over({ objGetInfoByFd: (fd, info) => inner.objGetInfoByFd(fd, info) + info.length });
    inner = d;
    m.openOrCreate();
    expect(() => m.info()).toThrow(/^driver "careless" broke the Driver contract: objGetInfoByFd returned \d+, where it returns the bytes written \(0\.\.232\) or -errno$/);
  });

  it("a pin answered with a positive errno is refused", () => {
    let inner!: Driver;
    const { m, inner: d } = over({ objPin: (fd, p) => (inner.objPin(fd, p), 17) });
    inner = d;
    expect(() => m.openOrCreate()).toThrow(/objPin returned 17, .*return -17/);
  });

  it("the seed's element functions on a raw fd refuse the same results", () => {
    const { m, inner: d } = over({});
    m.openOrCreate();
    const careless = createBpf({ driver: wrapDriver(d, {
      kind: "careless",
      mapLookupElem: (fd, k, v, f) => positive(d.mapLookupElem(fd, k, v, f)),
      mapUpdateElem: (fd, k, v, f) => (d.mapUpdateElem(fd, k, v, f), Number.NaN),
      mapDeleteElem: (fd, k) => positive(d.mapDeleteElem(fd, k)),
      mapGetNextKey: (fd, k, n) => positive(d.mapGetNextKey(fd, k, n)),
    }), logger: memoryLogger() });
    const fd = m.getFd();
    const key = new Uint8Array(4);
    const value = new Uint8Array(8);
    expect(() => careless.lookupElement(fd, key, value)).toThrow(/mapLookupElem returned 2, .*return -2/);
    expect(() => careless.deleteElement(fd, key)).toThrow(/mapDeleteElem returned 2, /);
    expect(() => careless.getFirstKey(fd, key)).toThrow(/mapGetNextKey returned 2, /);
    expect(() => careless.updateElement(fd, key, value)).toThrow(/mapUpdateElem returned NaN, where it returns 0 or -errno$/);
  });
});

// A driver object missing a part (written before progGetMapIds existed, or with no
// possibleCpus) is refused when it is handed over, not by an obscure failure later.
describe("driver contract: the shape createBpf and wrapDriver take", () => {
  const sim = createSimDriver({ possibleCpus: 2 });
  const without = (...names: string[]): Driver => {
    const d: Record<string, unknown> = { kind: "old", possibleCpus: 2, host: sim.host };
    for (const m of [...driverMethodNames, ...optionalDriverMethodNames]) {
      const f = sim[m] as ((...a: unknown[]) => unknown) | undefined;
      if (!names.includes(m) && f !== undefined) d[m] = f.bind(sim);
    }
    return d as unknown as Driver;
  };

  it("createBpf names every method, host service, kind or possibleCpus that is missing", () => {
    expect(() => createBpf({ driver: without("progGetMapIds") })).toThrow(new TypeError(
      'createBpf: options.driver "old" breaks the Driver contract: no progGetMapIds method'));
    const bad = { ...without("mapFreeze", "close"), kind: 3, possibleCpus: 0, host: { ...sim.host, mount: undefined } };
    expect(() => createBpf({ driver: bad as never })).toThrow(new TypeError(
      "createBpf: options.driver breaks the Driver contract: kind is number, not a string; possibleCpus is 0, not a positive integer " +
      "(per-CPU values are sized by it); no mapFreeze, close methods; no host.mount"));
  });

  it("createBpf takes a driver without the optional host services, but not one whose optional service is no function", () => {
    const { objKind: _k, rename: _r, ...required } = sim.host;
    expect(() => createBpf({ driver: { ...without(), host: required } as Driver, logger: memoryLogger() })).not.toThrow();
    expect(() => createBpf({ driver: { ...without(), host: { ...sim.host, rename: 1 } } as never })).toThrow(/no host\.rename$/);
  });

  it("wrapDriver names a method the inner driver lacks, and takes it from overrides", () => {
    expect(() => wrapDriver(without("progGetMapIds"), {})).toThrow(new TypeError(
      'wrapDriver: the inner driver "old" has no progGetMapIds method: give one in overrides, or add it to the driver'));
    const filled = wrapDriver(without("progGetMapIds"), { progGetMapIds: () => -Errno.EINVAL });
    expect(filled.progGetMapIds(3, new Uint32Array(1))).toBe(-Errno.EINVAL);
    expect(() => createBpf({ driver: filled, logger: memoryLogger() })).not.toThrow();
  });

  it("dup is optional: a driver without it is taken, and wrapDriver leaves it absent; one that is no function is refused", () => {
    const old = without("dup");
    expect(() => createBpf({ driver: old, logger: memoryLogger() })).not.toThrow();
    expect("dup" in wrapDriver(old, {})).toBe(false);
    expect(() => createBpf({ driver: { ...without(), dup: 1 } as never })).toThrow(new TypeError(
      'createBpf: options.driver "old" breaks the Driver contract: dup is number, not a method (leave it out if the driver has none)'));
    // Whatever else stands under the name, null included: only a missing method is a driver without it.
    for (const [dup, what] of [["yes", "string"], [null, "object"], [{}, "object"]] as const) {
      expect(() => createBpf({ driver: { ...without(), dup } as never })).toThrow(new TypeError(
        `createBpf: options.driver "old" breaks the Driver contract: dup is ${what}, not a method (leave it out if the driver has none)`));
    }
    // The inner driver's dup goes through; an override replaces it; null drops it.
    const fd = sim.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });
    const through = wrapDriver(without(), {});
    const copy = through.dup!(fd);
    expect(copy).toBeGreaterThan(fd);
    expect(sim.close(copy)).toBe(0);
    expect(wrapDriver(without(), { dup: () => -Errno.ENOSYS }).dup!(fd)).toBe(-Errno.ENOSYS);
    expect("dup" in wrapDriver(without(), { dup: null })).toBe(false);
    expect(sim.close(fd)).toBe(0);
  });

  it("pageSize is optional; when given it must be a power of 2 of at least 4096 (a ring's layout is counted in it)", () => {
    expect(() => createBpf({ driver: without(), logger: memoryLogger() })).not.toThrow();
    for (const pageSize of [4096, 16384, 65536]) {
      expect(() => createBpf({ driver: { ...without(), pageSize } as Driver, logger: memoryLogger() })).not.toThrow();
    }
    for (const pageSize of [0, 2048, 6144, 4096.5, "4096", null, 2 ** 31]) {
      expect(() => createBpf({ driver: { ...without(), pageSize } as never })).toThrow(new TypeError(
        `createBpf: options.driver "old" breaks the Driver contract: pageSize is ${String(pageSize)}, not a power of 2 of at least 4096 (leave it out for 4096)`));
    }
  });

  it("the four mmap methods come together: a driver with some of them is refused, naming the others", () => {
    expect(() => createBpf({ driver: without("mapMmap", "mmapRead", "mmapWrite", "munmap"), logger: memoryLogger() })).not.toThrow();
    expect(() => createBpf({ driver: without("munmap") })).toThrow(new TypeError(
      'createBpf: options.driver "old" breaks the Driver contract: mapMmap, mmapRead, mmapWrite without munmap (a driver maps memory with all four or none)'));
    expect(() => createBpf({ driver: without("mmapRead", "mmapWrite") })).toThrow(/: mapMmap, munmap without mmapRead, mmapWrite \(/);
    // One of four is as broken as three: core could map and never read or release.
    expect(() => createBpf({ driver: without("mmapRead", "mmapWrite", "munmap") })).toThrow(/: mapMmap without mmapRead, mmapWrite, munmap \(/);
    expect("mapMmap" in wrapDriver(without(), { mapMmap: null, mmapRead: null, mmapWrite: null, munmap: null })).toBe(false);
  });

  it("the four btf methods come together: a driver with some of them is refused, naming the others", () => {
    const fn = () => -Errno.ENOSYS;
    const withBtf = (...names: string[]): Driver => {
      const d = without("btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo") as unknown as Record<string, unknown>;
      for (const n of names) d[n] = fn;
      return d as unknown as Driver;
    };
    expect(() => createBpf({ driver: withBtf(), logger: memoryLogger() })).not.toThrow();
    expect(() => createBpf({ driver: withBtf("btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo"), logger: memoryLogger() })).not.toThrow();
    expect(() => createBpf({ driver: withBtf("btfLoad") })).toThrow(new TypeError(
      'createBpf: options.driver "old" breaks the Driver contract: btfLoad without btfGetFdById, btfGetNextId, btfGetInfo (a driver has all four btf methods or none)'));
    expect(() => createBpf({ driver: withBtf("btfLoad", "btfGetInfo", "btfGetNextId") })).toThrow(/: btfLoad, btfGetNextId, btfGetInfo without btfGetFdById \(/);
  });

  it("progTestRun is optional: wrapDriver gives one to a driver without it, passes one on, and drops it with null", () => {
    const run = (): ProgTestRunResult => ({ errno: 0, retval: 7, duration: 0, dataSizeOut: 0, ctxSizeOut: 0 });
    expect("progTestRun" in without()).toBe(false);
    expect(() => createBpf({ driver: without(), logger: memoryLogger() })).not.toThrow();
    const given = wrapDriver(without(), { progTestRun: run });
    expect(given.progTestRun?.(3, {}).retval).toBe(7);
    expect(wrapDriver(given, {}).progTestRun?.(3, {}).retval).toBe(7);
    expect("progTestRun" in wrapDriver(given, { progTestRun: null })).toBe(false);
    expect(() => createBpf({ driver: { ...without(), progTestRun: 1 } as never })).toThrow(/progTestRun is number, not a method/);
  });

  it("mapPoll is optional: wrapDriver gives one to a driver without it, passes one on, and drops it with null", async () => {
    const poll = (): Promise<number> => Promise.resolve(1);
    expect("mapPoll" in without("mapPoll")).toBe(false);
    const given = wrapDriver(without("mapPoll"), { mapPoll: poll });
    expect(await given.mapPoll?.(3, 0)).toBe(1);
    expect(await wrapDriver(given, {}).mapPoll?.(3, 0)).toBe(1);
    expect("mapPoll" in wrapDriver(given, { mapPoll: null })).toBe(false);
    expect(() => createBpf({ driver: { ...without("mapPoll"), mapPoll: {} } as never })).toThrow(/mapPoll is object, not a method/);
  });

  it("driverMethodNames and optionalDriverMethodNames list every method a shipped driver has, each once", () => {
    const proto = Object.getPrototypeOf(sim) as object;
    const methods = Object.getOwnPropertyNames(proto).filter((k) => !k.startsWith("#") && k !== "constructor");
    expect(driverMethodNames.every((m) => methods.includes(m))).toBe(true);
    expect(optionalDriverMethodNames).toEqual(["dup", "mapFdInfo", "mapMmap", "mmapRead", "mmapWrite", "munmap", "mmapAtomic", "progTestRun", "mapPoll",
      "btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo", "perfEventOpen"]);
    // The simulator runs no programs: BPF_PROG_TEST_RUN is the kernel driver's alone.
    expect(optionalDriverMethodNames.filter((m) => methods.includes(m))).toEqual(["dup", "mapFdInfo", "mapMmap", "mmapRead", "mmapWrite", "munmap", "mmapAtomic", "mapPoll",
      "btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo", "perfEventOpen"]);
    expect(driverMethodNames.filter((m) => (optionalDriverMethodNames as readonly string[]).includes(m))).toEqual([]);
  });

  it("hostServiceNames lists every host service a shipped driver has", () => {
    expect([...hostServiceNames].sort()).toEqual(Object.keys(sim.host).filter((k) => typeof (sim.host as never)[k] === "function").sort());
    expect(optionalHostServiceNames).toEqual(["objKind", "rename"]);
  });
});
