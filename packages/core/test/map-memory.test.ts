// BpfMap.memory(): a BPF_F_MMAPABLE array's values mapped into the process (cilium/ebpf's
// Map.Memory). What is stored through the memory is what lookup reads and the reverse, at the
// kernel's layout (value i at i × round_up(value_size, 8)); refusals are the kernel's errnos,
// explained; the memory holds the map until its own close().
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import {
  BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, bytes, createBpf, Errno, memoryLogger,
  u32, u64, wrapDriver, type Bpf, type BpfMap, type MapSpec,
} from "@bpfkit/core";
import { eachDriver, type Env } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

const arraySpec = (name: string, flags = BPF_F_MMAPABLE, maxEntries = 4): MapSpec<number, bigint> =>
  ({ name, type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries, flags });

/** A Bpf over the environment's driver with `overrides`, at the same map root. */
const overDriver = (env: Env, overrides: Parameters<typeof wrapDriver>[1]): Bpf =>
  createBpf({ driver: wrapDriver(env.driver, overrides), mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger() });

/** `m`'s pin opened through a driver that records the handles it unmaps. */
function openSpied(env: Env, m: BpfMap<number, bigint>): { s: BpfMap<number, bigint>; unmapped: number[] } {
  const unmapped: number[] = [];
  const s = env.track(overDriver(env, { munmap: (h) => (unmapped.push(h), env.driver.munmap!(h)) }).openMap(m.path(), { key: u32, value: u64 }));
  return { s, unmapped };
}

/** V8's gc(), for what a collection unmaps. */
function gcFunction(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

eachDriver("BpfMap.memory: an mmapable array's values", (get) => {
  it("a store is what lookup reads, an update is what load reads, value i at 8i", () => {
    const env = get();
    const m = env.map(arraySpec("mm_rw"));
    m.openOrCreate();
    using mem = m.memory();
    expect([mem.writable, mem.size, mem.stride, mem.valueSize]).toEqual([true, 32, 8, 8]);
    mem.store(2, 0x1122334455667788n);
    expect(m.lookup(2)).toBe(0x1122334455667788n);
    m.update(3, 42n);
    expect(mem.load(3)).toBe(42n);
    const raw = new Uint8Array(32);
    mem.readAt(0, raw);
    expect([...raw.subarray(16, 24)]).toEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    expect(raw[24]).toBe(42);
    const two = new Uint8Array(8);
    mem.readAt(16, two);
    expect(two).toEqual(raw.subarray(16, 24));
    mem.writeAt(8, Uint8Array.of(7, 0, 0, 0, 0, 0, 0, 1));
    expect(m.lookup(1)).toBe(0x0100000000000007n);
    expect(env.ops).toContain("mm_rw memory success");
  });

  it("a 12-byte value strides 16: the padding reads zero and value i sits at 16i", () => {
    const env = get();
    const m = env.map({ name: "mm_pad", type: BPF_MAP_TYPE_ARRAY, key: u32, value: bytes(12), maxEntries: 3, flags: BPF_F_MMAPABLE });
    m.openOrCreate();
    using mem = m.memory();
    expect([mem.size, mem.stride]).toEqual([48, 16]);
    const v = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
    m.update(1, v);
    const raw = new Uint8Array(48);
    mem.readAt(0, raw);
    expect([...raw.subarray(16, 28)]).toEqual([...v]);
    expect([...raw.subarray(28, 32)]).toEqual([0, 0, 0, 0]);
    expect([...mem.load(1)]).toEqual([...v]);
    mem.store(2, v.map((b) => b + 100));
    expect([...m.lookup(2)!]).toEqual([...v.map((b) => b + 100)]);
    mem.readAt(0, raw);
    expect([...raw.subarray(44, 48)]).toEqual([0, 0, 0, 0]);
  });

  it("freeze is EBUSY while a writable memory exists, and goes through once it is closed", () => {
    const env = get();
    const m = env.map(arraySpec("mm_busy"));
    m.openOrCreate();
    const mem = m.memory();
    expect(thrownBpfError(() => m.freeze()).code).toBe("EBUSY");
    mem.close();
    expect(mem.isOpen()).toBe(false);
    m.freeze();
    // A read-only memory does not stand in the way of a freeze.
    const m2 = env.map(arraySpec("mm_busy2"));
    m2.openOrCreate();
    using ro = m2.memory({ writable: false });
    expect(ro.writable).toBe(false);
    m2.freeze();
  });

  it("a frozen map maps read-only when left to choose, and { writable: true } is EPERM saying why", () => {
    const env = get();
    const m = env.map(arraySpec("mm_frozen"));
    m.openOrCreate();
    m.update(0, 5n);
    m.freeze();
    using mem = m.memory();
    expect(mem.writable).toBe(false);
    expect(mem.load(0)).toBe(5n);
    const e = thrownBpfError(() => m.memory({ writable: true }));
    expect([e.code, e.op, e.map]).toEqual(["EPERM", "memory", "mm_frozen"]);
    expect(e.message).toContain("the map is frozen (BPF_MAP_FREEZE): its memory can be mapped read-only ({ writable: false }), not writable");
    // A write through read-only memory is refused before the driver, and nothing changes.
    const w = thrownBpfError(() => mem.store(0, 6n));
    expect([w.code, w.op]).toEqual(["EACCES", "store"]);
    expect(w.message).toContain("mapped read-only");
    expect(thrownBpfError(() => mem.writeAt(0, new Uint8Array(1))).op).toBe("writeAt");
    expect(m.lookup(0)).toBe(5n);
  });

  it("BPF_F_RDONLY_PROG: writable is EACCES, explained; left to choose it maps read-only", () => {
    const env = get();
    const m = env.map(arraySpec("mm_rdprog", BPF_F_MMAPABLE | BPF_F_RDONLY_PROG));
    m.openOrCreate();
    const e = thrownBpfError(() => m.memory({ writable: true }));
    expect(e.code).toBe("EACCES");
    expect(e.message).toContain("made with BPF_F_RDONLY_PROG");
    using mem = m.memory();
    expect(mem.writable).toBe(false);
  });

  it("only a read-write fd maps: one opened read-only or write-only is refused, even read-only, saying why", () => {
    const env = get();
    const m = env.map(arraySpec("mm_modes"));
    m.openOrCreate();
    m.update(1, 9n);
    const ro = env.track(env.bpf.openMap(m.path(), { key: u32, value: u64 }, { readOnly: true }));
    // do_mmap turns a shared mapping of a file that cannot write into a private one: EINVAL.
    for (const options of [undefined, { writable: false }, { writable: true }]) {
      const e = thrownBpfError(() => ro.memory(options));
      expect(e.code).toBe(options?.writable === true ? "EACCES" : "EINVAL");
      expect(e.message).toContain("the map was opened read-only (BPF_F_RDONLY), and the kernel maps a map's memory only through an fd that can write");
    }
    using mem = m.memory({ writable: false });
    expect([mem.writable, mem.load(1)]).toEqual([false, 9n]);
    const wo = env.track(env.bpf.openMap(m.path(), { key: u32, value: u64 }, { writeOnly: true }));
    const e = thrownBpfError(() => wo.memory());
    expect(e.code).toBe("EACCES");
    expect(e.message).toContain("opened write-only (BPF_F_WRONLY): mapping its memory needs read access");
  });

  it("only an mmapable ARRAY maps: a hash is ENOTSUPP and a plain array EINVAL, each explained", () => {
    const env = get();
    const h = env.map({ name: "mm_hash", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 4 });
    h.openOrCreate();
    const e = thrownBpfError(() => h.memory());
    expect([e.errno, e.op, e.map]).toEqual([Errno.ENOTSUPP, "memory", "mm_hash"]);
    expect(e.message).toContain("only an ARRAY made with BPF_F_MMAPABLE can be mapped; this map is a Hash");
    const a = env.map(arraySpec("mm_plain", 0));
    a.openOrCreate();
    const p = thrownBpfError(() => a.memory());
    expect(p.code).toBe("EINVAL");
    expect(p.message).toContain("this one was made without it");
    expect(env.ops).toContain("mm_plain memory fail");
  });

  it("the memory outlives close() of the map; after its own close every call is EBADF, and close again does nothing", () => {
    const env = get();
    const m = env.map(arraySpec("mm_outlive"));
    m.openOrCreateUnpinned();
    m.update(0, 77n);
    const mem = m.memory();
    m.close();
    expect(mem.load(0)).toBe(77n);
    mem.store(1, 78n);
    expect(mem.load(1)).toBe(78n);
    mem.close();
    mem.close();
    // Closed first: a store of a value the codec would refuse is still "unmapped", not "bad value".
    for (const call of [() => mem.load(0), () => mem.store(0, 1n), () => mem.store(0, "x" as never), () => mem.readAt(0, new Uint8Array(1)), () => mem.writeAt(0, new Uint8Array(1))]) {
      const e = thrownBpfError(call);
      expect(e.code).toBe("EBADF");
      expect(e.message).toContain("mm_outlive");
      expect(e.message).toContain("close() was called");
    }
  });

  it("a close() whose munmap fails names munmap; the memory is closed, and close() again retries the mapping it still holds", () => {
    const env = get();
    let failures = 1;
    const unmapped: number[] = [];
    const m = env.track(overDriver(env, {
      munmap: (h) => (failures-- > 0 ? -Errno.EIO : (unmapped.push(h), env.driver.munmap!(h))),
    }).newMap(arraySpec("mm_unmap")));
    m.openOrCreate();
    const mem = m.memory();
    const e = thrownBpfError(() => mem.close());
    expect([e.errno, e.op]).toEqual([Errno.EIO, "close"]);
    expect(e.message).toBe("close mm_unmap: input/output error (munmap of the values; it stays held: close() again retries it)");
    expect(mem.isOpen()).toBe(false);
    expect(thrownBpfError(() => mem.load(0)).code).toBe("EBADF");
    expect(thrownBpfError(() => m.freeze()).code, "the writable mapping is still there").toBe("EBUSY");
    mem.close();
    expect(unmapped).toHaveLength(1);
    m.freeze();
    mem.close();
    expect(unmapped).toHaveLength(1);
  });

  it("indexes and ranges outside the values are RangeErrors naming the map, and options are checked", () => {
    const env = get();
    const m = env.map(arraySpec("mm_bounds", BPF_F_MMAPABLE, 3));
    m.openOrCreate();
    using mem = m.memory();
    expect(thrown(() => mem.load(3))).toEqual(new RangeError("load mm_bounds: index 3 is outside the array (0..2)"));
    for (const i of [-1, 1.5, Number.NaN]) expect(thrown(() => mem.store(i, 1n))).toBeInstanceOf(RangeError);
    expect(thrown(() => mem.readAt(20, new Uint8Array(5)))).toEqual(
      new RangeError("readAt mm_bounds: bytes 20..25 are outside the 24 bytes of the values (3 × 8)"));
    // Core refuses these itself, naming the map: the driver's own checks would name only mmapWrite.
    expect(thrown(() => mem.writeAt(20, new Uint8Array(5)))).toEqual(
      new RangeError("writeAt mm_bounds: bytes 20..25 are outside the 24 bytes of the values (3 × 8)"));
    expect(thrown(() => mem.writeAt(-1, new Uint8Array(1)))).toEqual(
      new RangeError("writeAt mm_bounds: bytes -1..0 are outside the 24 bytes of the values (3 × 8)"));
    expect(thrown(() => mem.readAt(1.5, new Uint8Array(1)))).toEqual(
      new RangeError("readAt mm_bounds: bytes 1.5..2.5 are outside the 24 bytes of the values (3 × 8)"));
    expect(thrown(() => mem.readAt(0, [1, 2] as never))).toEqual(new TypeError("readAt mm_bounds: dst must be a Uint8Array"));
    mem.readAt(24, new Uint8Array(0));
    expect(thrown(() => m.memory({ writable: 1 } as never))).toEqual(new TypeError("memory mm_bounds: options.writable must be a boolean, got 1"));
    expect(thrown(() => m.memory({ writeable: true } as never))).toBeInstanceOf(TypeError);
    for (const bad of [true, 1, "rw", null]) {
      expect(thrown(() => m.memory(bad as never))).toEqual(new TypeError("memory mm_bounds: options must be an object ({ writable })"));
    }
  });

  it("an offset, index or size that is no number is a TypeError naming it, never arithmetic on it", () => {
    const env = get();
    const m = env.map(arraySpec("mm_types", BPF_F_MMAPABLE, 3));
    m.openOrCreate();
    using mem = m.memory();
    const one = new Uint8Array(1);
    // "8" + 8 would be "88" and 8n + 8 a bare "Cannot mix BigInt": each is refused before either.
    expect(thrown(() => mem.wordAt("8" as never, 8))).toEqual(new TypeError('wordAt mm_types: offset must be a number, got "8"'));
    expect(thrown(() => mem.wordAt(8n as never, 8))).toEqual(new TypeError("wordAt mm_types: offset must be a number, got 8n"));
    expect(thrown(() => mem.readAt("8" as never, one))).toEqual(new TypeError('readAt mm_types: offset must be a number, got "8"'));
    expect(thrown(() => mem.writeAt(8n as never, one))).toEqual(new TypeError("writeAt mm_types: offset must be a number, got 8n"));
    expect(thrown(() => mem.load("1" as never))).toEqual(new TypeError('load mm_types: index must be a number, got "1"'));
    expect(thrown(() => mem.store(null as never, 1n))).toEqual(new TypeError("store mm_types: index must be a number, got null"));
    expect(thrown(() => mem.word(1n as never))).toEqual(new TypeError("word mm_types: index must be a number, got 1n"));
    expect(thrown(() => mem.wordAt(8, "8" as never))).toEqual(new TypeError('wordAt mm_types: size must be 4 or 8, got "8"'));
    expect(m.lookup(0)).toBe(0n);
  });

  it("a value the codec refuses names the map and store, and writes nothing", () => {
    const env = get();
    const m = env.map(arraySpec("mm_codec"));
    m.openOrCreate();
    m.update(0, 3n);
    using mem = m.memory();
    const e = thrown(() => mem.store(0, "x" as never));
    expect(e.message).toMatch(/^store mm_codec: bad value: /);
    expect(m.lookup(0)).toBe(3n);
  });

  it("a driver without mapMmap: EOPNOTSUPP naming the driver; `using` unmaps at the block's end", () => {
    const env = get();
    const m = env.map(arraySpec("mm_nodrv"));
    m.openOrCreate();
    const old = overDriver(env, { kind: "old", mapMmap: null, mmapRead: null, mmapWrite: null, munmap: null });
    const o = old.openMap(m.path(), { key: u32, value: u64 });
    try {
      const e = thrownBpfError(() => o.memory());
      expect(e.code).toBe("EOPNOTSUPP");
      expect(e.message).toBe('memory mm_nodrv: driver "old" cannot map memory (it has no mapMmap, an optional Driver method)');
    } finally {
      o.close();
    }
    const { s, unmapped } = openSpied(env, m);
    {
      using mem = s.memory();
      mem.store(0, 1n);
      expect(unmapped).toEqual([]);
    }
    expect(unmapped.length).toBe(1);
    // The handle is gone from the driver: a second munmap of it is EBADF.
    expect(env.driver.munmap!(unmapped[0]!)).toBe(-Errno.EBADF);
  });

  it("a MapMemory dropped without close() is unmapped once the garbage collector takes it", async () => {
    const env = get();
    const m = env.map(arraySpec("mm_lost"));
    m.openOrCreate();
    const gc = gcFunction();
    const { s, unmapped } = openSpied(env, m);
    const lose = (): void => void s.memory().store(0, 5n);
    lose();
    for (let i = 0; i < 50 && unmapped.length === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(unmapped.length).toBe(1);
    expect(env.driver.munmap!(unmapped[0]!)).toBe(-Errno.EBADF);
    // The map, which the mapping held, freezes now: no writable mapping is left.
    m.freeze();
    expect(m.lookup(0)).toBe(5n);
  });

  it("a driver's mapMmap that answers outside the contract is a TypeError naming it", () => {
    const env = get();
    const m = env.map(arraySpec("mm_contract"));
    m.openOrCreate();
    const careless = overDriver(env, { kind: "careless", mapMmap: () => 1.5 });
    const c = careless.openMap(m.path(), { key: u32, value: u64 });
    try {
      const e = thrown(() => c.memory());
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^driver "careless" broke the Driver contract: mapMmap returned 1\.5, where it returns a mapping handle >= 0/);
    } finally {
      c.close();
    }
  });

  it("a closed MapMemory's finalizer is gone: collecting it never unmaps the mapping that took its handle", async () => {
    const env = get();
    const m = env.map(arraySpec("mm_reuse"));
    m.openOrCreate();
    const gc = gcFunction();
    const { s, unmapped } = openSpied(env, m);
    let collected = false;
    const watch = new FinalizationRegistry<void>(() => (collected = true));
    const first = (): number => {
      const mem = s.memory();
      mem.close();
      watch.register(mem, undefined);
      return unmapped[0]!;
    };
    const h = first();
    // Handles are reused lowest first, as fds are: the second memory gets the first one's.
    using second = s.memory();
    second.store(1, 6n);
    for (let i = 0; i < 50 && !collected; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(collected).toBe(true);
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(unmapped).toEqual([h]);
    expect(second.load(1)).toBe(6n);
  });

  it("a driver's mmapRead or mmapWrite that answers outside the contract is a TypeError naming it", () => {
    const env = get();
    const m = env.map(arraySpec("mm_contract2"));
    m.openOrCreate();
    const careless = overDriver(env, { kind: "careless", mmapRead: () => 3, mmapWrite: () => 1 });
    const c = careless.openMap(m.path(), { key: u32, value: u64 });
    try {
      using mem = c.memory();
      for (const [call, method] of [[() => mem.load(0), "mmapRead"], [() => mem.readAt(0, new Uint8Array(1)), "mmapRead"],
        [() => mem.store(0, 1n), "mmapWrite"], [() => mem.writeAt(0, new Uint8Array(1)), "mmapWrite"]] as const) {
        const e = thrown(call);
        expect(e).toBeInstanceOf(TypeError);
        expect(e.message).toMatch(new RegExp(`^driver "careless" broke the Driver contract: ${method} returned \\d, where it returns 0`));
      }
    } finally {
      c.close();
    }
  });

  it("a refusal the map's state does not explain (an LSM's EACCES or EPERM, EINVAL of a hash) is given plain, with no wrong reason", () => {
    const env = get();
    const refuse = (errno: number) => overDriver(env, { kind: "lsm", mapMmap: () => -errno });
    const rdprog = env.map(arraySpec("mm_lsm_rdprog", BPF_F_MMAPABLE | BPF_F_RDONLY_PROG));
    rdprog.openOrCreate();
    const plain = env.map(arraySpec("mm_lsm_plain"));
    plain.openOrCreate();
    const hash = env.map({ name: "mm_lsm_hash", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 4 });
    hash.openOrCreate();
    const cases: Array<[errno: number, map: typeof plain | typeof hash, options: { writable: boolean }]> = [
      // Read-only, BPF_F_RDONLY_PROG is no reason to refuse.
      [Errno.EACCES, rdprog, { writable: false }],
      // Writable on a map that is not frozen: EPERM is someone else's.
      [Errno.EPERM, plain, { writable: true }],
      // EINVAL of a map that is no ARRAY: not "made without BPF_F_MMAPABLE".
      [Errno.EINVAL, hash, { writable: false }],
    ];
    for (const [errno, map, options] of cases) {
      const o = refuse(errno).openMap(map.path(), { key: u32, value: u64 });
      try {
        const e = thrownBpfError(() => o.memory(options));
        expect(e.errno).toBe(errno);
        expect(e.message).not.toContain("(");
      } finally {
        o.close();
      }
    }
  });
});
