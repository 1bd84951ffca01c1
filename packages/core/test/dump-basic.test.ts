// The dump family without concurrency (pkg-bpf-behaviour.md §10 TestDump), the reliable dump's
// counters and budget (§7.9), and the batch dump next to the v1.7 walk on every map type that
// has LOOKUP_BATCH (kernel-maps.md §10.3), on both drivers.
import { expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BpfMap, BatchCursor, BatchScratch, batchDump, ipv4, lpmKey,
  MaxLookupError, newDumpStats, newPerCpuMap, u32, u64, type Codec, type DumpAlgorithmChoice,
} from "@bpfkit/core";
import { jhash } from "../../testkit/src/model/jhash.js";
import { eachDriver, testMapSpec } from "./support/env.js";

/** The seed test's TestKey/TestValue: `key=<n>`, `value=<n>`. */
const testKey: Codec<number> = { size: 4, encode: (v, o) => u32.encode(v, o), decode: (b) => u32.decode(b), format: (v) => `key=${v}` };
const testValue: Codec<number> = { size: 4, encode: (v, o) => u32.encode(v, o), decode: (b) => u32.decode(b), format: (v) => `value=${v}` };
const algorithms: DumpAlgorithmChoice[] = ["walk", "batch", "auto"];

eachDriver("dumps", (get) => {
  it("TestDump: dump, dumpWithCallback, the IfExists variants, and key 0", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), key: testKey, value: testValue });
    m.openOrCreate();
    m.update(105, 205);
    m.update(106, 205);
    m.update(106, 206);
    expect(m.dump()).toEqual(new Map([["key=105", ["value=205"]], ["key=106", ["value=206"]]]));

    const custom = new Map<string, string[]>();
    m.dumpWithCallback((k, v) => custom.set(`key=${k}`, [`custom-value=${v}`]));
    expect(custom).toEqual(new Map([["key=105", ["custom-value=205"]], ["key=106", ["custom-value=206"]]]));

    const missing = env.map({ ...testMapSpec("cilium_test_no_exist"), key: testKey, value: testValue });
    const out = new Map<string, string[]>();
    expect(missing.dumpIfExists(out)).toBe(out);
    expect(out.size).toBe(0);
    let called = false;
    expect(missing.dumpWithCallbackIfExists(() => { called = true; })).toBeUndefined();
    expect(called).toBe(false);
    expect(missing.getFd()).toBe(-1);

    m.update(0, 0);
    for (const algorithm of algorithms) {
      const seen: number[] = [];
      const stats = newDumpStats(m);
      m.dumpReliablyWithCallback((k) => seen.push(k), stats, { algorithm });
      expect(seen.sort((a, b) => a - b)).toEqual([0, 105, 106]);
      expect(stats.completed).toBe(true);
    }
    expect(m.dump().get("key=0")).toEqual(["value=0"]);
    // Dumping twice into one map lists values twice, as Go's append does.
    const twice = m.dump(m.dump());
    expect(twice.get("key=0")).toEqual(["value=0", "value=0"]);
  });

  it("the reliable dump's counters on a quiet map: lookups per key, times, completed", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 16 });
    m.openOrCreate();
    for (let k = 0; k < 10; k++) m.update(k, k);
    const walk = newDumpStats(m);
    expect(walk.maxEntries).toBe(16);
    m.dumpReliablyWithCallback(undefined, walk, { algorithm: "walk" });
    expect(walk).toMatchObject({ lookup: 10, lookupFailed: 0, keyFallback: 0, interrupted: 0, prevKeyUnavailable: 0,
      completed: true, algorithm: "walk", delivered: 10, batches: 0 });
    expect(walk.finished!.getTime()).toBeGreaterThanOrEqual(walk.started!.getTime());
    const batch = newDumpStats(m);
    m.dumpReliablyWithCallback(undefined, batch, { algorithm: "batch" });
    expect(batch).toMatchObject({ lookup: 10, completed: true, algorithm: "batch", delivered: 10 });
    expect(batch.batches).toBeGreaterThanOrEqual(1);
  });

  it("MaxLookupError: budget 4 × MaxEntries, 0 gives it at once on a non-empty map, never on an empty one", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    for (const algorithm of ["walk", "batch"] as const) {
      const empty = { ...newDumpStats(m), maxEntries: 0 };
      m.dumpReliablyWithCallback(undefined, empty, { algorithm });
      expect(empty.completed).toBe(true);
    }
    for (let k = 0; k < 16; k++) m.update(k, k);
    for (const algorithm of ["walk", "batch"] as const) {
      for (const maxEntries of [0, 1]) {
        const stats = { ...newDumpStats(m), maxEntries };
        let err: unknown;
        try {
          m.dumpReliablyWithCallback(undefined, stats, { algorithm });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(MaxLookupError);
        expect((err as Error).message).toBe("maximum number of lookups reached");
        expect(stats.completed).toBe(false);
        expect(stats.lookup).toBe(4 * maxEntries + 1);
        expect(stats.finished).toBeInstanceOf(Date);
      }
    }
  });

  /** Every map type with LOOKUP_BATCH: the walk, the batch and auto see the same elements. */
  const kinds: Array<[string, (env: ReturnType<typeof get>) => BpfMap<any, any>, (m: BpfMap<any, any>) => void]> = [
    ["hash", (env) => env.map({ name: "h", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 300, flags: BPF_F_NO_PREALLOC }),
      (m) => { for (let k = 0; k < 300; k += 2) m.update(k, BigInt(k) * 3n); }],
    ["lru hash", (env) => env.map({ name: "lru", type: BPF_MAP_TYPE_LRU_HASH, key: u64, value: u32, maxEntries: 512 }),
      (m) => { for (let k = 0; k < 100; k++) m.update(BigInt(k) << 33n, k); }],
    ["per-CPU hash", (env) => env.track(env.bpf.newPerCpuHashMap({ name: "pch", key: u32, value: u32, maxEntries: 64 })),
      (m) => { for (let k = 0; k < 50; k++) m.update(k, new Array(m.mapInfo.readValueSize / 8).fill(k)); }],
    ["array", (env) => env.map({ name: "a", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 40 }),
      (m) => { for (let k = 0; k < 40; k += 3) m.update(k, k + 1); }],
    ["per-CPU array", (env) => env.track(newPerCpuMap(env.bpf, { name: "pca", type: BPF_MAP_TYPE_PERCPU_ARRAY, key: u32, value: u64, maxEntries: 9 })),
      (m) => { m.update(4, new Array(m.mapInfo.readValueSize / 8).fill(9n)); }],
    ["LPM trie", (env) => env.map({ name: "lpm", type: BPF_MAP_TYPE_LPM_TRIE, key: lpmKey(ipv4), value: u32, maxEntries: 64 }),
      (m) => { for (let i = 0; i < 30; i++) m.update({ prefixLen: 8 + (i % 25), data: `10.${i}.${i * 7 % 256}.0` }, i); }],
  ];
  for (const [kind, make, fill] of kinds) {
    it(`walk, batch and auto agree on a ${kind}, each element once`, () => {
      const env = get();
      const m = make(env);
      m.openOrCreate();
      fill(m);
      const results = algorithms.map((algorithm) => {
        const texts: string[] = [];
        const stats = m.dumpWithCallback((k, v) => texts.push(`${m.keyCodec.format!(k)}=${m.valueCodec.format!(v)}`), { algorithm });
        expect(stats.completed).toBe(true);
        expect(stats.algorithm).toBe(algorithm === "walk" ? "walk" : "batch");
        expect(stats.delivered).toBe(texts.length);
        expect(new Set(texts).size).toBe(texts.length);
        return texts.sort();
      });
      expect(results[0]!.length).toBeGreaterThan(0);
      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
    });
  }

  it("a per-CPU map takes a dumpParser as the seed's NewPerCPUHashMap does; it sees every CPU's value", () => {
    const env = get();
    // The parser sums the CPUs: a dump then yields one total per key, as a caller often wants.
    const m = env.track(env.bpf.newPerCpuHashMap({
      name: "pch_sum", key: u32, value: u32, maxEntries: 8,
      dumpParser: (k, v, kc, vc, out) => {
        out.key = kc.decode(k);
        out.value = [vc.decode(v).reduce((a, b) => a + b, 0)];
        return out;
      },
    }));
    m.openOrCreate();
    const cpus = env.driver.possibleCpus;
    m.update(1, Array.from({ length: cpus }, (_, i) => i + 1));
    const got: Array<[number, number[]]> = [];
    m.dumpWithCallback((k, v) => got.push([k, [...v]]));
    expect(got).toEqual([[1, [cpus * (cpus + 1) / 2]]]);
  });

  it("a hash bucket larger than the batch buffer: ENOSPC grows the buffer, each key once", () => {
    const env = get();
    // Four keys in bucket 0 of a 64-bucket ZERO_SEED map (kernel-maps.md §5.1: bucket = jhash & 63).
    const colliding: number[] = [];
    const kb = new Uint8Array(4);
    for (let k = 0; colliding.length < 4; k++) {
      u32.encode(k, kb);
      if ((jhash(kb, 0) & 63) === 0) colliding.push(k);
    }
    const m = env.map({ name: "coll", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 64, flags: BPF_F_ZERO_SEED });
    m.openOrCreate();
    for (const k of colliding) m.update(k, k);
    m.update(1_000_000, 1);

    const scratch = new BatchScratch();
    const target = { driver: env.driver, fd: m.getFd(), mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, name: "coll" };
    scratch.fit(target, 1);
    const seen: number[] = [];
    const stats = newDumpStats(64);
    expect(batchDump(target, (keys, ko) => seen.push(u32.decodeAt(keys, ko)), stats, scratch, 64, 1)).toBe(true);
    expect(seen.sort((a, b) => a - b)).toEqual([...colliding, 1_000_000].sort((a, b) => a - b));
    expect(scratch.capacity).toBeGreaterThanOrEqual(4);

    // The cursor helper returns the whole bucket even when asked for one element.
    const cursor = new BatchCursor();
    const got: number[] = [];
    while (!cursor.done) for (const [k] of m.lookupBatch(cursor, 1)) got.push(k);
    expect(got.sort((a, b) => a - b)).toEqual(seen);
  });

  it("a callback may dump the same map again (nested dumps get their own buffers)", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 64 });
    m.openOrCreate();
    for (let k = 0; k < 40; k++) m.update(k, k);
    const outer: number[] = [];
    let inner = 0;
    m.dumpWithCallback((k) => {
      outer.push(k);
      if (k % 10 === 0) m.dumpWithCallback(() => { inner++; }, { batchSize: 3 });
    }, { batchSize: 5 });
    expect(outer.sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
    expect(inner).toBe(4 * 40);
  });

  it("bad dump arguments are refused with the map's name", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    expect(() => m.dumpReliablyWithCallback(() => {}, {} as never)).toThrow(/dumpReliablyWithCallback cilium_test: stats must be a DumpStats/);
    expect(() => m.dumpWithCallback(() => {}, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => m.dumpWithCallback(() => {}, { algorithm: "fast" as never })).toThrow(/algorithm must be "auto", "walk" or "batch"/);
  });
});
