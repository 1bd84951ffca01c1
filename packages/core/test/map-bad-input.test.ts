// Bad input to a BpfMap on both drivers: every error names the map and the operation, and
// nothing is left half-done — no pin removed, no foreign map read, no cache entry that the
// resolver would later turn into a write the caller never asked for.
import { expect, it } from "vitest";
import {
  BPF_MAP_TYPE_ARRAY, BPF_NOEXIST, BatchCursor, BpfError, BpfMap, DecodeError, DUMMY_PROG_INSNS, MapType, newDumpStats, newPerCpuMap,
  perCpuValues, ProgType, createBpf, memoryLogger, u32, u64, wrapDriver,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrown } from "./support/thrown.js";

eachDriver("BpfMap bad input", (get) => {
  it("checkAndUpgrade refuses a malformed desired MapInfo instead of unpinning the map", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    const own = m.mapInfo;
    for (const bad of [null, {}, { ...own, keySize: undefined }, { ...own, maxEntries: -1 }, { ...own, flags: "0" }]) {
      const e = thrown(() => m.checkAndUpgrade(bad as never));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^checkAndUpgrade cilium_test: /);
    }
    // The pin is still there, and the check itself still works.
    expect(env.driver.host.stat(m.path()).errno).toBe(0);
    expect(m.checkAndUpgrade(own)).toBe(false);
    expect(m.getFd()).toBeGreaterThanOrEqual(0);
    expect(thrown(() => m.checkAndUpgrade(undefined as never))).not.toBeInstanceOf(BpfError);
  });

  // Closing the map inside the loop frees its fd number, and the next map opened gets it: the
  // walk must not go on reading that other map as if it were this one.
  function closeAndReuse(env: ReturnType<typeof get>, a: { close(): void }): void {
    a.close();
    const b = env.map(testMapSpec("other"));
    b.openOrCreate();
    for (let k = 100; k < 103; k++) b.update(k, k);
  }
  // An array: one element per batch of 1, so the dump has more batches to go when it is closed.
  /** An open 1-entry array, `inner`, and an open array of maps `aom` with it as the template. */
  function arrayOfMaps(env: ReturnType<typeof get>) {
    const inner = env.map({ name: "inner", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    inner.openOrCreate();
    const aom = env.map({ name: "aom", type: MapType.ArrayOfMaps, key: u32, value: u32, maxEntries: 2, innerId: inner.getFd() });
    aom.openOrCreate();
    return { inner, aom };
  }

  const arraySpec = { name: "cilium_test", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 8 };
  const arraySpec2 = { ...arraySpec, name: "cilium_test_arr" };

  it("entries(): a map closed by the loop body ends the walk with EBADF naming it, never reads a recycled fd", () => {
    const env = get();
    const a = env.map(arraySpec);
    a.openOrCreate();
    const seen: number[] = [];
    const e = thrown(() => {
      for (const [k] of a.entries()) {
        seen.push(k);
        if (seen.length === 1) closeAndReuse(env, a);
      }
    }) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect([e.code, e.map]).toEqual(["EBADF", "cilium_test"]);
    expect(e.message).toMatch(/^entries cilium_test: the map was closed during the walk/);
    expect(seen).toEqual([0]);
  });

  for (const algorithm of ["walk", "batch"] as const) {
    it(`dumpWithCallback (${algorithm}): a callback that closes the map ends the dump, never reads a recycled fd`, () => {
      const env = get();
      const a = env.map(arraySpec);
      a.openOrCreate();
      const seen: number[] = [];
      const e = thrown(() => a.dumpWithCallback((k) => {
        seen.push(k);
        if (seen.length === 1) closeAndReuse(env, a);
      }, { algorithm, batchSize: 1 })) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect([e.code, e.map]).toEqual(["EBADF", "cilium_test"]);
      expect(e.message).toMatch(/^dumpWithCallback cilium_test: the map was closed during the walk/);
      expect(seen).toEqual([0]);
    });
  }

  it("open, openOrCreate and their variants name the map and the method, keeping errno and path", () => {
    const env = get();
    const missing = env.map(testMapSpec("cilium_test_missing"));
    for (const [op, f] of [["open", () => missing.open()], ["reopen", () => missing.reopen()]] as const) {
      const e = thrown(f) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect([e.op, e.map, e.code, e.path]).toEqual([op, "cilium_test_missing", "ENOENT", missing.path()]);
      expect(e.message).toMatch(new RegExp(`^${op} cilium_test_missing: Unable to get object .*: no such file or directory$`));
    }
    // The kernel refuses max_entries 0 at creation.
    const empty = env.map({ ...testMapSpec("cilium_test_empty"), maxEntries: 0 });
    for (const [op, f] of [["openOrCreate", () => empty.openOrCreate()], ["openOrCreateUnpinned", () => empty.openOrCreateUnpinned()],
      ["openParallel", () => empty.openParallel()]] as const) {
      const e = thrown(f) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect([e.op, e.map, e.code, e.path]).toEqual([op, "cilium_test_empty", "EINVAL", empty.path()]);
      expect(e.message).toBe(`${op} cilium_test_empty: Unable to create map ${empty.path()}: invalid argument (max_entries 0: a hash map holds at least one element)`);
    }
    expect(env.bpf.getOpenMaps()).toEqual([]);
  });

  it("bad arguments to dumps, iterators, batches and withCache are refused up front, naming the map and method", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    const cases: Array<[string, () => unknown, typeof TypeError | typeof RangeError]> = [
      ["dumpWithCallback", () => m.dumpWithCallback(5 as never), TypeError],
      ["dumpWithCallback", () => m.dumpWithCallback(null as never), TypeError],
      ["dumpWithCallbackIfExists", () => m.dumpWithCallbackIfExists(null as never), TypeError],
      ["dumpReliablyWithCallback", () => m.dumpReliablyWithCallback("cb" as never, newDumpStats(m)), TypeError],
      ["dump", () => m.dump({} as never), TypeError],
      ["dump", () => m.dump(new Map(), "walk" as never), TypeError],
      ["dump", () => m.dump(new Map(), null as never), TypeError],
      ["dumpIfExists", () => m.dumpIfExists(new Map(), null as never), TypeError],
      ["dumpWithCallback", () => m.dumpWithCallback(undefined, 5 as never), TypeError],
      ["dumpWithCallbackIfExists", () => m.dumpWithCallbackIfExists(undefined, "batch" as never), TypeError],
      ["dumpReliablyWithCallback", () => m.dumpReliablyWithCallback(undefined, newDumpStats(m), null as never), TypeError],
      ["dump", () => m.dump(new Map(), { algorithm: "fast" as never }), TypeError],
      ["dumpIfExists", () => m.dumpIfExists(new Map(), { batchSize: 0 }), RangeError],
      ["dumpIfExists", () => m.dumpIfExists([] as never), TypeError],
      ["entries", () => m.entries(null as never), TypeError],
      ["keys", () => m.keys({ maxRestarts: -1 }), RangeError],
      ["entries", () => m.entries({ maxRestarts: 1.5 }), RangeError],
      ["lookupBatch", () => m.lookupBatch(new BatchCursor(), 2 ** 40), RangeError],
      ["lookupAndDeleteBatch", () => m.lookupAndDeleteBatch(new BatchCursor(), Infinity), RangeError],
      ["withCache", () => m.withCache(null as never), TypeError],
      ["updateBatch", () => m.updateBatch([2, 3], [20]), RangeError],
      ["updateBatch", () => m.updateBatch([2], [20, 30]), RangeError],
      ["updateBatch", () => m.updateBatch(2 as never, [20]), TypeError],
    ];
    for (const [op, f, ctor] of cases) {
      const e = thrown(f);
      expect(e, op).toBeInstanceOf(ctor);
      expect(e.message).toMatch(new RegExp(`^${op} cilium_test: `));
    }
    // Nothing was read, written or cached by the refused calls.
    expect(m.getModel().cache).toBeUndefined();
    expect([...m.entries()]).toEqual([[1, 10]]);
    // A dump without a callback is allowed (the seed's nil callback): it walks and counts.
    const stats = newDumpStats(m);
    m.dumpReliablyWithCallback(undefined, stats);
    expect([stats.completed, stats.delivered]).toEqual([true, 1]);
    expect(m.dumpWithCallback(undefined).delivered).toBe(1);
    expect(m.dumpWithCallbackIfExists(undefined)?.delivered).toBe(1);
    // Large counts are fine: the buffers are sized for what the map can hold.
    expect(m.lookupBatch(new BatchCursor(), 0xffffffff)).toEqual([[1, 10]]);
    expect(m.dump(undefined, { batchSize: 0xffffffff })).toEqual(new Map([["1", ["10"]]]));
  });

  it("dump options are checked before the pin is looked for, so a missing map refuses them too", () => {
    const env = get();
    const missing = env.map(testMapSpec("cilium_test_missing"));
    expect(() => missing.dumpIfExists(new Map(), null as never)).toThrow(new TypeError("dumpIfExists cilium_test_missing: options must be an object"));
    expect(() => missing.dumpWithCallbackIfExists(undefined, "walk" as never))
      .toThrow(new TypeError("dumpWithCallbackIfExists cilium_test_missing: options must be an object"));
    expect(missing.dumpIfExists(new Map(), { algorithm: "walk" })).toEqual(new Map());
  });

  it("newDumpStats refuses what is neither a map nor a max entries count, naming itself", () => {
    for (const bad of [null, undefined, "x", -1, 1.5, {}, { mapInfo: null }]) {
      expect(() => newDumpStats(bad as never), String(bad)).toThrow(/^newDumpStats: map must be a BpfMap or a max entries count/);
    }
    expect(newDumpStats(0).maxEntries).toBe(0);
  });

  it("a dumpParser that returns no { key, value } ends the dump with a DecodeError naming the map", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), dumpParser: () => undefined as never });
    m.openOrCreate();
    m.update(1, 10);
    const stats = newDumpStats(m);
    const e = thrown(() => m.dumpReliablyWithCallback(() => {}, stats));
    expect(e).toBeInstanceOf(DecodeError);
    expect([(e as DecodeError).op, (e as DecodeError).map, (e as DecodeError).what]).toEqual(["dumpReliablyWithCallback", "cilium_test", "element"]);
    expect(e.message).toBe("dumpReliablyWithCallback cilium_test: cannot decode the element read from the map: " +
      "the dumpParser returned undefined, not a { key, value } object");
    expect(stats.interrupted).toBe(1);
  });

  it("EBADF from updating a map-in-map or PROG_ARRAY says the value is the bad fd, once the map fd is known good", () => {
    const env = get();
    const { inner, aom } = arrayOfMaps(env);
    const calls = env.map({ name: "calls", type: MapType.ProgArray, key: u32, value: u32, maxEntries: 2 });
    calls.openOrCreate();
    const notOpen = 999_999;
    for (const [m, what] of [[aom, "inner map fd"], [calls, "program fd"]] as const) {
      const e = thrown(() => m.update(0, notOpen)) as BpfError;
      expect([e.code, e.op, e.map]).toEqual(["EBADF", "update", m.name()]);
      expect(e.message).toBe(`update ${m.name()}: bad file descriptor: the value, ${what} ${notOpen}, is not an open file descriptor`);
    }
    aom.update(0, inner.getFd());
    // A map fd closed behind the object's back: the EBADF may be either fd, so nothing is guessed.
    env.driver.close(aom.getFd());
    const e = thrown(() => aom.update(1, inner.getFd())) as BpfError;
    expect([e.code, e.message]).toEqual(["EBADF", "update aom: bad file descriptor"]);
    // Other map types keep the plain message.
    const h = env.map(testMapSpec());
    h.openOrCreate();
    env.driver.close(h.getFd());
    expect(() => h.update(1, 1)).toThrow(/^update cilium_test: bad file descriptor$/);
  });

  it("EINVAL from updating a map of maps says what the kernel wants of the value and the flags", () => {
    const env = get();
    const { inner, aom } = arrayOfMaps(env);
    const larger = env.map({ name: "larger", type: MapType.Array, key: u32, value: u32, maxEntries: 2 });
    larger.openOrCreate();
    const like = "the value must be the fd of a map like the inner-map template: same type, key and value sizes and flags, " +
      "and for an inner array the same max_entries unless the template has BPF_F_INNER_MAP";
    let e = thrown(() => aom.update(0, larger.getFd())) as BpfError;
    expect([e.code, e.message]).toEqual(["EINVAL", `update aom: invalid argument (${like})`]);
    e = thrown(() => aom.update(0, inner.getFd(), BPF_NOEXIST)) as BpfError;
    expect([e.code, e.message]).toEqual(["EINVAL", "update aom: invalid argument (an array of maps takes no update flag but BPF_ANY)"]);
    const hom = env.map({ name: "hom", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 2, innerId: inner.getFd() });
    hom.openOrCreate();
    e = thrown(() => hom.update(1, larger.getFd(), BPF_NOEXIST)) as BpfError;
    expect([e.code, e.message]).toEqual(["EINVAL", `update hom: invalid argument (${like})`]);
    hom.update(1, inner.getFd());
    // A flag the kernel refuses for itself gets no guess about the value.
    e = thrown(() => hom.update(1, inner.getFd(), 7)) as BpfError;
    expect([e.code, e.message]).toEqual(["EINVAL", "update hom: invalid argument"]);
  });

  it("an inner map not open yet (getFd() is -1) is named as such, before any syscall", () => {
    const env = get();
    const { aom } = arrayOfMaps(env);
    const later = env.map({ name: "later", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    expect(later.getFd()).toBe(-1);
    const e = thrown(() => aom.update(0, later.getFd()));
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toBe("update aom: bad value: -1 is not an fd; the value must be an open map's fd (getFd() is -1 until the map is opened)");
    expect(aom.lookup(0)).toBeUndefined();
    // Other maps keep the codec's own words for a negative u32.
    const h = env.map(testMapSpec());
    expect(() => h.update(1, -1)).toThrow(/^update cilium_test: bad value: u32: -1 is outside/);
  });

  it("a template not open yet as innerId (getFd() is -1) is named as such at newMap", () => {
    const env = get();
    const later = env.map({ name: "later", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    const e = thrown(() => env.map({ name: "outer", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 2, innerId: later.getFd() }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe("newMap outer: innerId must be a u32, got -1: it is the fd of an open map, the inner-map template " +
      "(getFd() is -1 until the map is opened)");
  });

  it("a map of maps whose innerId is no open map's fd (a map id, 0, a program) says what innerId takes", () => {
    const env = get();
    const inner = env.map({ name: "inner", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    inner.openOrCreate();
    const prog = env.driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license: "GPL" });
    expect(prog).toBeGreaterThanOrEqual(0);
    try {
      const takes = "a map of maps takes the fd of an open map as its inner-map template, not a map id";
      const cases: Array<[number, string, string]> = [
        [0x7ffffff0, "EBADF", `bad file descriptor (innerId ${0x7ffffff0} is not an open fd; ${takes})`], // as a map id would be
        [0, "EINVAL", `invalid argument (innerId is 0; ${takes})`],
        [prog, "EINVAL", `invalid argument (innerId ${prog} is a program's fd; ${takes})`],
      ];
      for (const [innerId, code, why] of cases) {
        for (const type of [MapType.ArrayOfMaps, MapType.HashOfMaps]) {
          const outer = env.map({ name: "outer", type, key: u32, value: u32, maxEntries: 2, innerId });
          const e = thrown(() => outer.openOrCreate());
          expect(e).toBeInstanceOf(BpfError);
          expect((e as BpfError).code).toBe(code);
          expect(e.message).toBe(`openOrCreate outer: Unable to create map ${outer.path()}: ${why}`);
          expect(env.driver.host.stat(outer.path()).errno).toBe(2);
          const low = thrown(() => env.bpf.createMap(type, 4, 4, 2, 0, innerId, "raw"));
          expect(low.message).toBe(`Unable to create map raw: ${why}`);
        }
      }
      // A map as innerId that the kernel refuses for another reason gets no innerId hint, only that reason's.
      const e = thrown(() => env.bpf.createMap(MapType.HashOfMaps, 4, 4, 0, 0, inner.getFd(), "raw"));
      expect(e.message).toBe("Unable to create map raw: invalid argument (max_entries 0: a hash map holds at least one element)");
    } finally {
      env.driver.close(prog);
    }
  });

  it("a create refused because the driver lacks the map type says so; a bad attr of a type it has does not", () => {
    const env = get();
    const kind = env.driver.kind;
    // A type no kernel has: the bare EINVAL of a bad size, unless the create explains it.
    const none = env.map({ name: "cilium_future", type: 200, key: u32, value: u32, maxEntries: 4 });
    const e = thrown(() => none.openOrCreate());
    expect((e as BpfError).code).toBe("EINVAL");
    expect(e.message).toBe(`openOrCreate cilium_future: Unable to create map ${none.path()}: invalid argument ` +
      `(the ${kind} driver has no type(200) maps: a one-entry map of the type is refused too)`);
    expect(thrown(() => env.bpf.createMap(200, 4, 4, 1, 0, 0, "raw")).message).toBe(
      `Unable to create map raw: invalid argument (the ${kind} driver has no type(200) maps: a one-entry map of the type is refused too)`);
    // The simulator has no cgroup arrays (docs/simulator-exactness.md); the kernel does. Both
    // have perf event arrays.
    const cgroups = env.map({ name: "cilium_cgroups", type: MapType.CgroupArray, key: u32, value: u32, maxEntries: 4 });
    if (kind === "sim") {
      expect(thrown(() => cgroups.openOrCreate()).message).toMatch(/invalid argument \(the sim driver has no CgroupArray maps: /);
    } else {
      expect(cgroups.openOrCreate()).toBe(true);
    }
    const events = env.map({ name: "cilium_events", type: MapType.PerfEventArray, key: u32, value: u32, maxEntries: env.driver.possibleCpus });
    expect(events.openOrCreate()).toBe(true);
    // A type the driver has, refused for its sizes: no missing-type hint, only the size's.
    expect(thrown(() => env.bpf.createMap(MapType.Hash, 0, 4, 1, 0, 0, "raw")).message)
      .toBe("Unable to create map raw: invalid argument (key_size 0: a hash map's key is at least one byte)");
    // SK_STORAGE needs BTF, which no Driver passes: its probe says nothing, so no hint either.
    expect(thrown(() => env.bpf.createMap(24, 4, 4, 0, 1, 0, "raw")).message).toBe("Unable to create map raw: invalid argument");
    // So do the other BTF-only types: STRUCT_OPS, INODE_STORAGE, TASK_STORAGE, CGRP_STORAGE.
    for (const t of [26, 28, 29, 32]) {
      expect(thrown(() => env.bpf.createMap(t, 4, 4, 0, 1, 0, "raw")).message, `type ${t}`).toBe("Unable to create map raw: invalid argument");
    }
  });

  it("a batch cursor stays with the map it walked: another map refuses it, even with the same token size", () => {
    const env = get();
    const h = env.map(testMapSpec());
    h.openOrCreate();
    for (let k = 0; k < 8; k++) h.update(k, k);
    const h2 = env.map(testMapSpec("cilium_test_2"));
    h2.openOrCreate();
    const arr = env.map(arraySpec2);
    arr.openOrCreate();
    const c = new BatchCursor();
    h.lookupBatch(c, 1);
    for (const [op, f] of [["lookupBatch", () => arr.lookupBatch(c, 1)], ["lookupAndDeleteBatch", () => h2.lookupAndDeleteBatch(c, 1)]] as const) {
      const e = thrown(f);
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toMatch(new RegExp(`^${op} cilium_test_\\w+: the cursor belongs to another map`));
    }
    // Its own map goes on with it.
    const rest: number[] = [];
    while (!c.done) for (const [k] of h.lookupBatch(c, 2)) rest.push(k);
    expect(rest.length).toBeGreaterThan(0);
  });

  it("openParallel with a map the kernel refuses keeps the old pin and stays out of parallel mode", () => {
    const env = get();
    const old = env.map(testMapSpec());
    old.openOrCreate();
    old.update(1, 10);
    old.close();
    const bad = env.map({ ...testMapSpec(), maxEntries: 0 });
    const e = thrown(() => bad.openParallel()) as BpfError;
    expect([e.op, e.code, e.map]).toEqual(["openParallel", "EINVAL", "cilium_test"]);
    expect(bad.inParallelMode).toBe(false);
    expect(bad.getFd()).toBe(-1);
    expect(env.bpf.getOpenMaps()).toEqual([]);
    // The old map is still pinned, with its data.
    expect(old.lookup(1)).toBe(10);
  });

  it("a map opened without codecs refuses dumps and walks with a TypeError that says how to open it typed", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    const raw = env.track(env.bpf.openMap("cilium_test"));
    for (const [op, f] of [["dump", () => raw.dump()], ["dumpWithCallback", () => raw.dumpWithCallback(() => {})],
      ["dumpReliablyWithCallback", () => raw.dumpReliablyWithCallback(undefined, newDumpStats(raw))],
      ["entries", () => raw.entries()], ["keys", () => raw.keys()]] as const) {
      const e = thrown(f);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(new RegExp(`^${op} cilium_test: the map was opened by bpf.openMap without key and value codecs`));
      expect(e.message).toContain("bpf.openMap(name, { key, value })");
    }
    // Raw element access still works, and the typed way the message names does dump it.
    expect(raw.lookup(new Uint8Array([1, 0, 0, 0]))).toEqual(new Uint8Array([10, 0, 0, 0]));
    const typed = env.track(env.bpf.openMap("cilium_test", { key: testMapSpec().key, value: testMapSpec().value }));
    expect(typed.dump()).toEqual(new Map([["1", ["10"]]]));
  });

  // The kernel's attrs are u32s: a larger number would be cut to its low 32 bits (2^32 entries
  // to none), a negative one or a fraction means something else again.
  it("newMap refuses a type, maxEntries, flags or innerId that is not a u32 (2^32 included), naming the field", () => {
    const env = get();
    for (const bad of [2 ** 32, -1, 1.5, "4"]) {
      for (const field of ["type", "maxEntries", "flags", "innerId"] as const) {
        const e = thrown(() => env.bpf.newMap({ ...testMapSpec("m"), [field]: bad } as never));
        expect(e).toBeInstanceOf(TypeError);
        expect(e.message).toMatch(new RegExp(`^newMap m: ${field} must be a`));
      }
    }
    // The largest u32 is taken.
    for (const field of ["type", "maxEntries", "flags", "innerId"] as const) {
      expect(() => env.bpf.newMap({ ...testMapSpec("m"), [field]: 2 ** 32 - 1 })).not.toThrow();
    }
  });

  it("newMap refuses a codec whose size is not a u32, naming key or value", () => {
    const env = get();
    for (const size of [-1, 2 ** 32, 1.5, "4", undefined]) {
      for (const what of ["key", "value"] as const) {
        const codec = { ...u32, size, encode: u32.encode, decode: u32.decode };
        const e = thrown(() => env.bpf.newMap({ ...testMapSpec("m"), [what]: codec } as never));
        expect(e).toBeInstanceOf(TypeError);
        expect(e.message).toBe(`newMap m: ${what} must be a Codec (size, encode, decode)`);
      }
    }
  });

  it("updateBatch names both counts when keys and values differ in number, and writes nothing", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    expect(() => m.updateBatch([1, 2], [10])).toThrow("updateBatch cilium_test: 2 keys but 1 values");
    expect(() => m.updateBatch([1], [10, 20])).toThrow("updateBatch cilium_test: 1 keys but 2 values");
    expect([...m.entries()]).toEqual([]);
  });

  // A spec's maxEntries is not checked against the pin open() finds (only the sizes are), so it
  // may be 0 there: the batch buffers are still sized for at least one element.
  it("a map opened under a spec of maxEntries 0 still reads batches, one element at least per call", () => {
    const env = get();
    const owner = env.map(testMapSpec());
    owner.openOrCreate();
    owner.update(1, 10);
    owner.update(2, 20);
    const m = env.map({ ...testMapSpec(), maxEntries: 0 });
    m.open();
    const cursor = new BatchCursor();
    const got: Array<[number, number]> = [];
    for (let i = 0; i < 4 && !cursor.done; i++) got.push(...m.lookupBatch(cursor));
    expect(got.sort((a, b) => a[0] - b[0])).toEqual([[1, 10], [2, 20]]);
  });

  // BpfMap's constructor is public (so is BpfMapInternal): a kernel value size the value codec
  // does not cover would give value buffers of the wrong size to every call.
  it("new BpfMap refuses a value codec whose size is not the map's value size in user space", () => {
    const env = get();
    const e = thrown(() => new BpfMap(env.bpf, testMapSpec("m"), { valueSize: 8 }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe("newMap m: the value codec is 4 bytes, the map's values are 8");
  });

  it("a map name longer than NAME_MAX (255 bytes) is refused at newMap, as the kernel would refuse its pin", () => {
    const env = get();
    for (const name of ["y".repeat(256), "é".repeat(128)]) {
      const e = thrown(() => env.bpf.newMap(testMapSpec(name)));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^newMap: invalid map name "(?:y+|é+)": must be at most 255 bytes/);
    }
    expect(() => env.bpf.getMap("y".repeat(256))).toThrow(/^getMap: invalid map name .* at most 255 bytes/);
    // 255 bytes is a valid file name on bpffs: it pins and reopens on both drivers.
    const longest = env.map(testMapSpec("y".repeat(255)));
    expect(longest.openOrCreate()).toBe(true);
    longest.update(1, 2);
    longest.close();
    expect(longest.lookup(1)).toBe(2);
    expect(env.bpf.getOpenMaps()).toHaveLength(1);
  });

  it("per-CPU maps: a missing spec or value codec is named at construction; a bad element names its CPU", () => {
    const env = get();
    const cases: Array<[RegExp, () => unknown]> = [
      [/^newPerCpuHashMap: spec must be an object/, () => env.bpf.newPerCpuHashMap(null as never)],
      [/^newPerCpuHashMap pc: value must be a Codec/, () => env.bpf.newPerCpuHashMap({ name: "pc", key: u32, maxEntries: 4 } as never)],
      [/^newPerCpuMap pc: value must be a Codec/, () => newPerCpuMap(env.bpf, { name: "pc", key: u32, value: {} as never, maxEntries: 4 })],
      [/^perCpuValues: inner must be a Codec/, () => perCpuValues(null as never, 2)],
    ];
    for (const [msg, f] of cases) {
      const e = thrown(f);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(msg);
    }
    const cpus = env.driver.possibleCpus;
    const m = env.track(env.bpf.newPerCpuHashMap({ name: "pc", key: u32, value: u64, maxEntries: 4 }));
    m.openOrCreate();
    const values: unknown[] = new Array(cpus).fill(1n);
    values[cpus - 1] = "x";
    const e = thrown(() => m.update(1, values as bigint[]));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(`update pc: bad value: percpu(u64)[${cpus}]: CPU ${cpus - 1}: u64: expected a bigint (or a safe integer), got "x"`);
    values[cpus - 1] = -1n;
    expect(thrown(() => m.update(1, values as bigint[]))).toBeInstanceOf(RangeError);
    expect(m.lookup(1)).toBeUndefined();
  });
});

it("a missing map type answered ENOTSUPP or EOPNOTSUPP gets the hint too; another errno does not", () => {
  const sim = createSimDriver();
  // A driver whose kernel was built without types 200 (ENOTSUPP) and 201 (EOPNOTSUPP); 202 it lacks too (its
  // one-entry probe is EINVAL), but a larger create of it is refused first with EPERM, which the hint must not explain.
  const refusal: Record<number, number> = { 200: 524, 201: 95 };
  const driver = wrapDriver(sim, {
    mapCreate: (attr) => attr.mapType === 202 ? (attr.maxEntries === 1 ? -22 : -1)
      : refusal[attr.mapType] !== undefined ? -refusal[attr.mapType]! : sim.mapCreate(attr),
  });
  const bpf = createBpf({ driver, mapRoot: "/sys/fs/bpf", logger: memoryLogger() });
  expect(thrown(() => bpf.createMap(200, 4, 4, 1, 0, 0, "raw")).message).toMatch(/^Unable to create map raw: .* \(the sim driver has no type\(200\) maps: /);
  expect(thrown(() => bpf.createMap(201, 4, 4, 1, 0, 0, "raw")).message).toMatch(/^Unable to create map raw: .* \(the sim driver has no type\(201\) maps: /);
  expect(thrown(() => bpf.createMap(202, 4, 4, 4, 0, 0, "raw")).message).toBe("Unable to create map raw: operation not permitted");
  expect(bpf.haveMapType(202)).toBe(false);
});
