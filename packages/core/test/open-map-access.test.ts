// bpf.openMap and bpf.openMapById with { readOnly } or { writeOnly } (cilium/ebpf's
// LoadPinOptions, NewMapFromID's flags): the fd is BPF_F_RDONLY or BPF_F_WRONLY, what the mode
// forbids is the kernel's EPERM with a reading that names the mode, and every later open of the
// pin (after close(), reopen()) asks for the same mode instead of coming back read-write.
import { expect, it } from "vitest";
import {
  BatchCursor, BPF_EXIST, BPF_F_RDONLY, BPF_F_WRONLY, BpfError, createBpf, Errno, isKeyNotExist, memoryLogger, newDumpStats,
  u32, wrapDriver, type Bpf, type BpfMap,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, testMapSpec, type Env } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

const READ_ONLY = "the map was opened read-only (BPF_F_RDONLY): it can be looked up, walked and dumped, not written";
const WRITE_ONLY = "the map was opened write-only (BPF_F_WRONLY): it can be updated and deleted from, not looked up, walked or dumped";

eachDriver("openMap and openMapById read-only and write-only", (get) => {
  /** The owner's read-write map, pinned, holding 1→10 and 2→20. */
  function owner(env: Env): BpfMap<number, number> {
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    m.update(2, 20);
    return m;
  }
  const codecs = { key: u32, value: u32 };
  const contents = (m: BpfMap<number, number>): Array<[number, number]> => [...m.entries()].sort((a, b) => a[0] - b[0]);
  const idOf = (bpf: Bpf, m: BpfMap<any, any>): number => bpf.getMapInfoByFd(m.getFd()).id;

  /** Every write of `m` is EPERM, named after its op and the map, with the read-only reading; nothing changed. */
  function expectNoWrites(m: BpfMap<number, number>, name: string): void {
    const writes: Array<[string, () => unknown]> = [
      ["update", () => m.update(3, 30)],
      ["delete", () => m.delete(1)],
      ["lookupAndDelete", () => m.lookupAndDelete(1)],
      ["deleteAll (delete)", () => m.deleteAll()],
      ["freeze", () => m.freeze()],
      ["updateBatch", () => m.updateBatch([3], [30])],
      ["deleteBatch", () => m.deleteBatch([1])],
    ];
    // Every refusal names the pin too, an element call's, a batch's and a walk's alike.
    for (const [op, f] of writes) {
      const e = thrownBpfError(f);
      expect([e.code, e.op, e.map, e.path]).toEqual(["EPERM", op, name, m.path() || undefined]);
      expect(e.message).toContain(`${op} ${name}: operation not permitted`);
      expect(e.message).toContain(READ_ONLY);
    }
    expect(m.deleteWithErrno(1).error?.message).toContain(READ_ONLY);
  }

  it("read-only: lookups, walks, dumps, iteration and batch lookups work; every write is EPERM saying so", () => {
    const env = get();
    const rw = owner(env);
    const ro = env.track(env.bpf.openMap("cilium_test", codecs, { readOnly: true }));
    expect([ro.lookup(1), ro.lookup(3), ro.getNextKey(null) !== undefined]).toEqual([10, undefined, true]);
    expect(contents(ro)).toEqual([[1, 10], [2, 20]]);
    expect([...ro.dump().entries()].sort()).toEqual([["1", ["10"]], ["2", ["20"]]]);
    for (const algorithm of ["walk", "auto"] as const) {
      const seen: number[] = [];
      ro.dumpWithCallback((k) => seen.push(k), { algorithm });
      expect(seen.sort()).toEqual([1, 2]);
    }
    const stats = newDumpStats(ro);
    ro.dumpReliablyWithCallback(() => {}, stats);
    expect(stats.completed).toBe(true);
    expect(ro.lookupBatch(new BatchCursor(), 16).length).toBe(2);
    expectNoWrites(ro, "cilium_test");
    // The owner's map is as it was, and the owner still writes it.
    expect(contents(rw)).toEqual([[1, 10], [2, 20]]);
    rw.update(3, 30);
    expect(ro.lookup(3)).toBe(30);
  });

  it("read-only is kept for every later open of the pin: after close() (lazily) and reopen()", () => {
    const env = get();
    owner(env);
    const ro = env.track(env.bpf.openMap("cilium_test", codecs, { readOnly: true }));
    ro.close();
    // The first operation opens the pin again, read-only.
    expect(ro.lookup(1)).toBe(10);
    expectNoWrites(ro, "cilium_test");
    ro.reopen();
    expect(thrownBpfError(() => ro.update(1, 11)).message).toContain(READ_ONLY);
    ro.close();
    ro.open();
    expect(thrownBpfError(() => ro.delete(1)).message).toContain(READ_ONLY);
    expect(ro.lookup(1)).toBe(10);
    // isPinned and checkCompatible read the pin through a short-lived fd of the same mode.
    expect(ro.isPinned()).toBe(true);
    ro.checkCompatible();
  });

  it("write-only: updates and deletes work; lookups, walks, dumps and iteration are EPERM saying so", () => {
    const env = get();
    const rw = owner(env);
    const wo = env.track(env.bpf.openMap("cilium_test", codecs, { writeOnly: true }));
    wo.update(3, 30);
    wo.delete(1);
    expect(wo.updateBatch([4], [40])).toBe(1);
    expect(contents(rw)).toEqual([[2, 20], [3, 30], [4, 40]]);
    const reads: Array<[string, () => unknown]> = [
      ["lookup", () => wo.lookup(2)],
      ["getNextKey", () => wo.getNextKey(null)],
      ["lookupAndDelete", () => wo.lookupAndDelete(2)],
      ["deleteAll (get first key)", () => wo.deleteAll()],
      ["dump (get first key)", () => wo.dump(new Map(), { algorithm: "walk" })],
      ["dump (lookup batch)", () => wo.dump(new Map(), { algorithm: "batch" })],
      ["dumpWithCallback (lookup batch)", () => wo.dumpWithCallback(() => {})],
      ["dumpReliablyWithCallback (get first key)", () => wo.dumpReliablyWithCallback(() => {}, newDumpStats(wo), { algorithm: "walk" })],
      ["entries (get first key)", () => [...wo.entries()]],
      ["keys (get first key)", () => [...wo.keys()]],
      ["lookupBatch", () => wo.lookupBatch(new BatchCursor(), 16)],
    ];
    for (const [op, f] of reads) {
      const e = thrownBpfError(f);
      expect([e.code, e.op, e.map, e.path]).toEqual(["EPERM", op, "cilium_test", wo.path()]);
      expect(e.message).toContain(WRITE_ONLY);
    }
    // Kept after close() too.
    wo.close();
    expect(thrownBpfError(() => wo.lookup(2)).message).toContain(WRITE_ONLY);
    wo.update(5, 50);
    expect(rw.lookup(5)).toBe(50);
  });

  it("an errno the mode does not explain reads as usual: a missing key is no write-only refusal", () => {
    const env = get();
    owner(env);
    const wo = env.track(env.bpf.openMap("cilium_test", codecs, { writeOnly: true }));
    for (const [op, f] of [["delete", () => wo.delete(9)], ["update", () => wo.update(9, 90, BPF_EXIST)]] as const) {
      const e = thrownBpfError(f);
      expect([e.code, e.op, isKeyNotExist(e)]).toEqual(["ENOENT", op, true]);
      expect(e.message).not.toContain("write-only");
    }
    const ro = env.track(env.bpf.openMap("cilium_test", codecs, { readOnly: true }));
    ro.close();
    env.driver.host.unlink(env.bpf.mapPath("cilium_test"));
    const gone = thrownBpfError(() => ro.lookup(1));
    expect(gone.code).toBe("ENOENT");
    expect(gone.message).not.toContain("read-only");
  });

  it("a pin that opens read-only and nothing else: isPinned and checkCompatible ask for read-only too", () => {
    const env = get();
    owner(env);
    const path = env.bpf.mapPath("cilium_test");
    // OBJ_GET of this pin answers EACCES to any mode but BPF_F_RDONLY, as a 0400 pin does to another user.
    const readableOnly = wrapDriver(env.driver, {
      objGet: (p, flags) => (p === path && flags !== BPF_F_RDONLY ? -Errno.EACCES : env.driver.objGet(p, flags)),
    });
    const bpf = createBpf({ driver: readableOnly, mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger() });
    expect(thrownBpfError(() => bpf.openMap("cilium_test", codecs)).code).toBe("EACCES");
    const ro = env.track(bpf.openMap("cilium_test", codecs, { readOnly: true }));
    const before = openFdsOf(env.driver);
    expect(ro.isPinned()).toBe(true);
    ro.close();
    ro.checkCompatible();
    expect(openFdsOf(env.driver)).toBe(before - 1);
    expect(ro.lookup(2)).toBe(20);
  });

  it("a mode OBJ_GET refuses with EINVAL stays that refusal when the read-write look that names the object fails too", () => {
    const env = get();
    owner(env);
    const path = env.bpf.mapPath("cilium_test");
    // EINVAL to the mode, as for a pinned link; EACCES to the read-write open that would say what it is.
    const odd = wrapDriver(env.driver, {
      objGet: (p, flags) => (p !== path ? env.driver.objGet(p, flags) : (flags ?? 0) !== 0 ? -Errno.EINVAL : -Errno.EACCES),
    });
    const bpf = createBpf({ driver: odd, mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger() });
    const before = openFdsOf(env.driver);
    const e = thrownBpfError(() => bpf.openMap("cilium_test", codecs, { readOnly: true }));
    expect([e.code, e.op, e.path]).toEqual(["EINVAL", "openMap", path]);
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("openMapById takes the same options", () => {
    const env = get();
    const rw = owner(env);
    const id = idOf(env.bpf, rw);
    const ro = env.track(env.bpf.openMapById(id, codecs, { readOnly: true }));
    expect(contents(ro)).toEqual([[1, 10], [2, 20]]);
    expectNoWrites(ro, `id:${id}`);
    const wo = env.track(env.bpf.openMapById(id, undefined, { writeOnly: true }));
    wo.update(Uint8Array.of(9, 0, 0, 0), Uint8Array.of(90, 0, 0, 0));
    expect(rw.lookup(9)).toBe(90);
    expect(thrownBpfError(() => wo.lookup(Uint8Array.of(9, 0, 0, 0))).message).toBe(`lookup id:${id}: operation not permitted (${WRITE_ONLY})`);
  });

  it("without options, or with both false, the map opens read-write as before", () => {
    const env = get();
    owner(env);
    for (const options of [undefined, {}, { readOnly: false, writeOnly: false }]) {
      const m = env.bpf.openMap("cilium_test", codecs, options);
      m.update(7, 70);
      expect(m.lookup(7)).toBe(70);
      m.close();
      m.delete(7);
      m.close();
    }
  });

  it("bad options are a TypeError before any syscall, with no fd left open", () => {
    const env = get();
    const rw = owner(env);
    const before = openFdsOf(env.driver);
    const bad: Array<[unknown, RegExp]> = [
      [{ readOnly: true, writeOnly: true }, /^openMap cilium_test: options.readOnly and options.writeOnly exclude each other/],
      [{ readOnly: 1 }, /^openMap cilium_test: options.readOnly must be a boolean, got 1$/],
      [{ readonly: true }, /^openMap cilium_test: unknown options key "readonly" \(did you mean "readOnly"\?\)$/],
      ["ro", /^openMap cilium_test: options must be an object/],
      [null, /^openMap cilium_test: options must be an object/],
    ];
    for (const [options, message] of bad) {
      const e = thrown(() => env.bpf.openMap("cilium_test", codecs, options as never));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(message);
      const byId = thrown(() => env.bpf.openMapById(idOf(env.bpf, rw), codecs, options as never));
      expect(byId).toBeInstanceOf(TypeError);
      expect(byId.message).toMatch(new RegExp(`^openMapById id:${idOf(env.bpf, rw)}: `));
    }
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("a read-only map takes no cache; a write-only map keeps one", () => {
    const env = get();
    owner(env);
    const ro = env.track(env.bpf.openMap("cilium_test", codecs, { readOnly: true }));
    const e = thrownBpfError(() => ro.withCache());
    expect([e.code, e.op, e.map]).toEqual(["EPERM", "withCache", "cilium_test"]);
    expect(e.message).toMatch(/^withCache cilium_test: the map was opened read-only \(BPF_F_RDONLY\)/);
    expect(ro.getModel().cache).toBeUndefined();
    const wo = env.track(env.bpf.openMap("cilium_test", codecs, { writeOnly: true })).withCache();
    wo.update(3, 30);
    expect(wo.getModel().cache!.map((c) => [c.key, c.value])).toEqual([["3", "30"]]);
    expect(wo.outstandingErrors).toBe(0);
  });

  it("what would create or replace the map is refused once it is closed; open() opens it again in its mode", () => {
    const env = get();
    owner(env);
    for (const options of [{ readOnly: true }, { writeOnly: true }]) {
      const mode = options.readOnly === true ? "read-only" : "write-only";
      const m = env.track(env.bpf.openMap("cilium_test", codecs, options));
      // Open already: openOrCreate does nothing, as on any open map.
      expect(m.openOrCreate()).toBe(false);
      m.close();
      for (const op of ["openOrCreate", "openOrCreateUnpinned", "openParallel"] as const) {
        const e = thrownBpfError(() => m[op]());
        expect([e.code, e.op, e.map, m.isOpen()]).toEqual(["EPERM", op, "cilium_test", false]);
        expect(e.message).toBe(`${op} cilium_test: the map was opened ${mode}, and ${op} may create or replace it; open() opens the pin again ${mode}`);
      }
      m.open();
      const up = thrownBpfError(() => m.checkAndUpgrade({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 99 }));
      expect([up.code, up.op]).toEqual(["EPERM", "checkAndUpgrade"]);
      // Nothing was unpinned or replaced.
      expect(env.bpf.openMap("cilium_test", codecs).lookup(1)).toBe(10);
      env.bpf.getMap("cilium_test")!.close();
      m.close();
    }
  });

  it("bpf.objGet passes its flags through: a read-only fd refuses writes, both flags are the kernel's EINVAL", () => {
    const env = get();
    owner(env);
    const path = env.bpf.mapPath("cilium_test");
    const key = Uint8Array.of(1, 0, 0, 0);
    const value = new Uint8Array(4);
    const ro = env.bpf.objGet(path, BPF_F_RDONLY);
    try {
      expect(env.driver.mapLookupElem(ro, key, value, 0)).toBe(0);
      expect(value[0]).toBe(10);
      expect(env.driver.mapUpdateElem(ro, key, value, 0)).toBe(-1); // -EPERM
    } finally {
      env.driver.close(ro);
    }
    const wo = env.bpf.objGet(path, BPF_F_WRONLY);
    try {
      expect(env.driver.mapLookupElem(wo, key, value, 0)).toBe(-1);
    } finally {
      env.driver.close(wo);
    }
    const e = thrownBpfError(() => env.bpf.objGet(path, BPF_F_RDONLY | BPF_F_WRONLY));
    expect([e.code, e.path]).toEqual(["EINVAL", path]);
    expect(e).toBeInstanceOf(BpfError);
    // The flags' EINVAL, not the path's: no word on what is there (a directory, off bpffs).
    for (const p of [env.bpf.mapPrefixPath(), "/tmp"]) {
      expect(thrownBpfError(() => env.bpf.objGet(p, BPF_F_RDONLY | BPF_F_WRONLY)).message).toBe(`Unable to get object ${p}: invalid argument`);
    }
    const bad = thrown(() => env.bpf.objGet(path, -1));
    expect(bad).toBeInstanceOf(RangeError);
    expect(bad.message).toBe(`Unable to get object ${path}: flags -1 is not a u32`);
  });
});
