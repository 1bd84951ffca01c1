// Dumps on the simulator with the datapath changing the map between any two syscalls (the
// interleaving hook), deterministically from fast-check's seed. Properties, for random maps and
// random interleavings of datapath inserts, updates and deletes:
//   batch: every key present for the whole dump (never deleted; updates allowed) is delivered
//          exactly once; no key is delivered twice; nothing never present is delivered.
//   walk:  every key the datapath never touched is delivered (at least once) unless the walk
//          gives up with MaxLookupError; nothing never present is delivered.
// (An update moves a HASH element to the head of its bucket, so the v1.7 walk can pass over an
// updated key: that is why the walk's property is about untouched keys.)
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_F_ZERO_SEED, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PERCPU_HASH, Errno,
  ipv4, lpmKey, MaxLookupError, newDumpStats, u32, type BpfMap, type DumpAlgorithm,
} from "@bpfkit/core";
import type { SimDriver, SimSyscall } from "@bpfkit/driver-wasm-sim";
import { simUnderTest } from "../../testkit/src/drivers.js";
import { makeEnv, type Env } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

type Op = { kind: "insert" | "update" | "delete"; key: number };

interface World {
  /** What the map holds now (key → value), kept in step with every datapath op that succeeded. */
  present: Map<number, number>;
  /** Every (key, value) the map held at any point of the dump. */
  everHeld: Map<number, Set<number>>;
  deleted: Set<number>;
  updated: Set<number>;
}

function u32b(n: number): Uint8Array {
  const b = new Uint8Array(4);
  u32.encode(n, b);
  return b;
}

/**
 * Arms the hook: before every syscall it applies the next `perCall[i]` ops of `ops` through the
 * datapath. Per-CPU maps get one CPU's slot from the datapath, so values are checked on CPU 0.
 */
function armHook(sim: SimDriver, m: BpfMap<number, any>, ops: Op[], perCall: number[], world: World, calls: SimSyscall[]): void {
  let next = 0;
  let call = 0;
  const slot = new Uint8Array(4);
  sim.setInterleavingHook((op) => {
    calls.push(op);
    const n = perCall[call++ % perCall.length]!;
    for (let i = 0; i < n && next < ops.length; i++, next++) {
      const { kind, key } = ops[next]!;
      const ref = { fd: m.getFd() };
      if (kind === "delete") {
        if (sim.datapath.delete(ref, u32b(key), 0) === 0) {
          world.present.delete(key);
          world.deleted.add(key);
        }
      } else {
        const value = (key * 7 + next) >>> 0;
        u32.encode(value, slot);
        const r = sim.datapath.update(ref, u32b(key), slot, 0, 0);
        if (r === 0) {
          if (world.present.has(key)) world.updated.add(key);
          world.present.set(key, value);
          let vals = world.everHeld.get(key);
          if (vals === undefined) world.everHeld.set(key, (vals = new Set()));
          vals.add(value);
        } else {
          expect(r).toBe(-Errno.E2BIG);
        }
      }
    }
  });
}

const mapKinds = [
  { type: BPF_MAP_TYPE_HASH, flags: BPF_F_NO_PREALLOC },
  { type: BPF_MAP_TYPE_HASH, flags: BPF_F_ZERO_SEED },
  { type: BPF_MAP_TYPE_HASH, flags: 0 },
  { type: BPF_MAP_TYPE_PERCPU_HASH, flags: 0 },
];

const scenario = fc.record({
  kind: fc.integer({ min: 0, max: mapKinds.length - 1 }),
  maxEntries: fc.integer({ min: 4, max: 96 }),
  // One small key space for the initial keys and the datapath, so the datapath often hits them.
  initial: fc.uniqueArray(fc.integer({ min: 0, max: 79 }), { minLength: 1, maxLength: 60 }),
  ops: fc.array(fc.record({
    kind: fc.constantFrom<"insert" | "update" | "delete">("insert", "update", "delete"),
    key: fc.integer({ min: 0, max: 79 }),
  }), { minLength: 1, maxLength: 150 }),
  perCall: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 16 }),
  /** Small batches, so that the datapath runs between the batch dump's calls. */
  batchSize: fc.integer({ min: 1, max: 8 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

describe("dumps under datapath interleavings [sim]", () => {
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => { current = makeEnv(simUnderTest()); });
  afterEach(() => { current?.dispose(); current = undefined; });

  function run(env: Env, s: Scenario, algorithm: DumpAlgorithm,
    tally: { completed: number; maxed: number; touched: number }, name: string): void {
    const sim = env.driver as SimDriver;
    const { type, flags } = mapKinds[s.kind]!;
    const cpus = sim.possibleCpus;
    const m: BpfMap<number, any> = type === BPF_MAP_TYPE_PERCPU_HASH
      ? env.track(env.bpf.newPerCpuHashMap({ name, key: u32, value: u32, maxEntries: s.maxEntries, flags }))
      : env.map({ name, type, key: u32, value: u32, maxEntries: s.maxEntries, flags });
    m.openOrCreate();
    const world: World = { present: new Map(), everHeld: new Map(), deleted: new Set(), updated: new Set() };
    for (const k of s.initial.slice(0, s.maxEntries)) {
      const v = k + 1000;
      m.update(k, type === BPF_MAP_TYPE_PERCPU_HASH ? new Array(cpus).fill(v) : v);
      world.present.set(k, v);
      world.everHeld.set(k, new Set([v]));
    }
    const initial = new Map(world.present);
    const delivered = new Map<number, number[]>();
    const calls: SimSyscall[] = [];
    armHook(sim, m, s.ops, s.perCall, world, calls);
    const stats = newDumpStats(m);
    try {
      m.dumpReliablyWithCallback((k, v) => {
        const value = Array.isArray(v) ? v[0] : v;
        const l = delivered.get(k);
        if (l === undefined) delivered.set(k, [value]);
        else l.push(value);
      }, stats, { algorithm, batchSize: s.batchSize });
    } catch (e) {
      if (!(e instanceof MaxLookupError)) throw e;
      expect(algorithm).toBe("walk");
      tally.maxed++;
      return;
    } finally {
      sim.setInterleavingHook(null);
      m.close();
    }
    expect(stats.algorithm).toBe(algorithm);
    tally.completed++;
    if ([...initial.keys()].some((k) => world.deleted.has(k) || world.updated.has(k))) tally.touched++;

    // Nothing never present, and only values the key really held.
    for (const [k, vals] of delivered) {
      const held = world.everHeld.get(k);
      expect(held, `key ${k} was never in the map`).toBeDefined();
      for (const v of vals) expect(held!.has(v), `key ${k} value ${v}`).toBe(true);
    }
    for (const k of initial.keys()) {
      if (algorithm === "batch") {
        if (!world.deleted.has(k)) expect(delivered.get(k)?.length, `key ${k} present for the whole dump`).toBe(1);
      } else if (!world.deleted.has(k) && !world.updated.has(k)) {
        expect(delivered.get(k)?.length ?? 0, `untouched key ${k}`).toBeGreaterThanOrEqual(1);
      }
    }
    if (algorithm === "batch") {
      for (const [k, vals] of delivered) expect(vals.length, `key ${k} at most once`).toBe(1);
      expect(calls.every((c) => c === "mapLookupBatch")).toBe(true);
    }
  }

  for (const algorithm of ["batch", "walk"] as const) {
    it(`property (${algorithm}): keys present for the whole dump are delivered${algorithm === "batch" ? " exactly once" : ""}, nothing never present is`, () => {
      const env = current!.env;
      const tally = { completed: 0, maxed: 0, touched: 0 };
      let n = 0;
      fc.assert(fc.property(scenario, (s) => run(env, s, algorithm, tally, `prop_${n++}`)), { numRuns: 150 });
      // The property was exercised on dumps that the datapath really disturbed.
      expect(tally.completed).toBeGreaterThan(50);
      expect(tally.touched).toBeGreaterThan(10);
    });
  }

  for (const algorithm of ["walk", "batch"] as const) {
    it(`TestDumpReliablyWithCallback (${algorithm}): a datapath churning keys 0..2 every 4th syscall`, () => {
      const env = current!.env;
      const sim = env.driver as SimDriver;
      const m = env.map({ name: "cilium_dump_test", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 256 });
      m.openOrCreate();
      for (let k = 4; k < 256; k++) m.update(k, k + 100);
      let i = 0;
      const v = new Uint8Array(4);
      let calls = 0;
      sim.setInterleavingHook(() => {
        if (calls++ % 4 !== 0) return;
        // Update key i, delete key i-1, as Cilium's background goroutine does.
        const k = i % 3;
        u32.encode(k + 100, v);
        sim.datapath.update({ fd: m.getFd() }, u32b(k), v);
        sim.datapath.delete({ fd: m.getFd() }, u32b((k + 2) % 3));
        i++;
      });
      let complete = 0;
      try {
        for (let d = 0; d < 100; d++) {
          const stats = newDumpStats(m);
          if (d === 0) stats.maxEntries = 1;
          const seen = new Map<number, number>();
          const wrong: string[] = [];
          try {
            m.dumpReliablyWithCallback((k, val) => {
              if (k >= 4) {
                if (val !== k + 100) wrong.push(`${k}=${val}`);
                seen.set(k, (seen.get(k) ?? 0) + 1);
              }
            }, stats, { algorithm, batchSize: 8 });
          } catch (e) {
            expect(e).toBeInstanceOf(MaxLookupError);
            continue;
          }
          complete++;
          expect(wrong).toEqual([]);
          expect(seen.size).toBe(252);
          if (algorithm === "batch") expect([...seen.values()].every((c) => c === 1)).toBe(true);
        }
      } finally {
        sim.setInterleavingHook(null);
      }
      expect(complete).toBeGreaterThan(50);
      expect(i).toBeGreaterThan(500);
    });
  }

  /**
   * Walks a 40-key map while deleting, 5 times, the key the walk is about to look up (each
   * between its next-key and its lookup), through the reliable dump or dumpWithCallback.
   */
  function walkUnderDeleter(reliable: boolean) {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const m = env.map({ name: "walk_counters", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 64, flags: BPF_F_ZERO_SEED });
    m.openOrCreate();
    for (let k = 0; k < 40; k++) m.update(k, k);
    // Delete the key the walk is about to look up. The walk asks GET_NEXT_KEY(cur) and then looks
    // cur up; with a ZERO_SEED map and only deletes, cur is the first present key after the last
    // one delivered, in the map's fixed order.
    let lastOp: SimSyscall | undefined;
    let victims = 0;
    const order = [...m.keys()];
    const delivered: number[] = [];
    const present = new Set(order);
    sim.setInterleavingHook((op) => {
      if (op === "mapLookupElem" && lastOp === "mapGetNextKey" && victims < 5) {
        const from = delivered.length === 0 ? 0 : order.indexOf(delivered[delivered.length - 1]!) + 1;
        const cur = order.slice(from).find((k) => present.has(k));
        if (cur !== undefined && cur % 7 === 3) {
          expect(sim.datapath.delete({ fd: m.getFd() }, u32b(cur))).toBe(0);
          present.delete(cur);
          victims++;
        }
      }
      lastOp = op;
    });
    const cb = (k: number) => { delivered.push(k); };
    let stats = newDumpStats(m);
    try {
      if (reliable) m.dumpReliablyWithCallback(cb, stats, { algorithm: "walk" });
      else stats = m.dumpWithCallback(cb, { algorithm: "walk" });
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(victims).toBe(5);
    expect(stats.completed).toBe(true);
    // Each victim vanished between next-key and lookup: one failed lookup, one fallback to the
    // previous key (which still exists), and no restart.
    expect(stats.lookupFailed).toBe(5);
    expect(stats.keyFallback).toBe(5);
    expect(stats.interrupted).toBe(0);
    expect(stats.lookup).toBe(40 + 5);
    for (const k of order) expect(delivered.includes(k), `key ${k}`).toBe(present.has(k));
    return { stats, delivered };
  }

  it("the walk under a deleter: vanished keys are counted as lookupFailed / keyFallback / interrupted", () => {
    const { stats, delivered } = walkUnderDeleter(true);
    // The seed's walk hands each fallback key out a second time.
    expect(delivered.length).toBe(35 + 5);
    expect(stats.delivered).toBe(40);
  });

  it("dumpWithCallback: when the fallback key vanishes too, the key after it is still delivered", () => {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const m = env.map({ name: "walk_twice", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 16, flags: BPF_F_ZERO_SEED });
    m.openOrCreate();
    for (let k = 0; k < 10; k++) m.update(k, k);
    const order = [...m.keys()];
    // Lookup 2 is of order[1]: delete it, so the walk falls back to order[0]; lookup 3 is of
    // order[0]: delete that too, so the walk goes on from order[2], which nobody touched.
    let lookups = 0;
    sim.setInterleavingHook((op) => {
      if (op !== "mapLookupElem") return;
      lookups++;
      if (lookups === 2) expect(sim.datapath.delete({ fd: m.getFd() }, u32b(order[1]!))).toBe(0);
      if (lookups === 3) expect(sim.datapath.delete({ fd: m.getFd() }, u32b(order[0]!))).toBe(0);
    });
    const delivered: number[] = [];
    let stats;
    try {
      stats = m.dumpWithCallback((k) => { delivered.push(k); }, { algorithm: "walk" });
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(delivered).toEqual([order[0], ...order.slice(2)]);
    expect([stats.lookupFailed, stats.keyFallback, stats.interrupted, stats.delivered]).toEqual([2, 1, 1, 9]);
  });

  it("dumpWithCallback walks the same way but delivers a fallback key once", () => {
    const { stats, delivered } = walkUnderDeleter(false);
    expect(new Set(delivered).size).toBe(35);
    expect([delivered.length, stats.delivered]).toEqual([35, 35]);
  });

  it("auto falls back to the walk when LOOKUP_BATCH is not there (ENOTSUPP), and remembers it", () => {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const m = env.map({ name: "fallback", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 16 });
    m.openOrCreate();
    for (let k = 0; k < 5; k++) m.update(k, k);
    sim.faults.inject("mapLookupBatch", { errno: Errno.ENOTSUPP, count: 1 });
    expect(() => m.dumpWithCallback(() => {}, { algorithm: "batch" })).toThrow(/dumpWithCallback fallback: the kernel offers no BPF_MAP_LOOKUP_BATCH/);
    const calls: SimSyscall[] = [];
    sim.setInterleavingHook((op) => calls.push(op));
    try {
      const seen: number[] = [];
      const stats = m.dumpWithCallback((k) => seen.push(k));
      expect(stats.algorithm).toBe("walk");
      expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(calls).not.toContain("mapLookupBatch");
    // A lookup error other than a vanished key is not papered over.
    sim.faults.inject("mapLookupElem", { errno: Errno.EPERM, count: 1 });
    expect(() => m.dumpWithCallback(() => {}, { algorithm: "walk" })).toThrow("dumpWithCallback (lookup) fallback: operation not permitted");
    sim.faults.inject("mapLookupBatch", { errno: Errno.EFAULT, count: 1 });
    const fresh = env.map({ name: "fallback", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 16 });
    fresh.open();
    expect(() => fresh.dump()).toThrow("dump (lookup batch) fallback: bad address");
    // Each error names the call that was made, not a generic "dump" or "entries".
    sim.faults.inject("mapLookupBatch", { errno: Errno.EFAULT, count: 1 });
    const e = thrownBpfError(() => fresh.dumpReliablyWithCallback(() => {}, newDumpStats(fresh)));
    expect([e.message, e.op]).toEqual(["dumpReliablyWithCallback (lookup batch) fallback: bad address", "dumpReliablyWithCallback (lookup batch)"]);
    sim.faults.inject("mapGetNextKey", { errno: Errno.EPERM, count: 1 });
    expect(() => [...fresh.keys()]).toThrow("keys (get first key) fallback: operation not permitted");
    sim.faults.inject("mapLookupElem", { errno: Errno.EPERM, count: 1 });
    expect(() => [...fresh.entries()]).toThrow("entries (lookup) fallback: operation not permitted");
  });

  it("a batch that fails with ENOENT having done nothing ends the dump: no buffer slot from the previous batch is delivered again", () => {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const m = env.map({ name: "stale_batch", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 64, flags: BPF_F_ZERO_SEED });
    m.openOrCreate();
    for (let k = 0; k < 20; k++) m.update(k, k);
    let batches = 0;
    sim.setInterleavingHook((op) => {
      // The hook runs before the fault check, so this fault hits the second batch itself.
      if (op === "mapLookupBatch" && ++batches === 2) sim.faults.inject("mapLookupBatch", { errno: Errno.ENOENT });
    });
    const delivered: number[] = [];
    try {
      m.dumpWithCallback((k) => delivered.push(k), { algorithm: "batch", batchSize: 4 });
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(batches).toBe(2);
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.length).toBeLessThanOrEqual(4);
    expect(new Set(delivered).size).toBe(delivered.length);
  });

  it("LPM (key token): deleting the token between calls restarts the kernel's walk; the dump still delivers each key once", () => {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const key = lpmKey(ipv4);
    const m = env.map({ name: "lpm_token", type: BPF_MAP_TYPE_LPM_TRIE, key, value: u32, maxEntries: 32 });
    m.openOrCreate();
    const prefixes = Array.from({ length: 12 }, (_, i) => ({ prefixLen: 24, data: `10.0.${i}.0` }));
    prefixes.forEach((p, i) => m.update(p, i));
    const delivered: string[] = [];
    let deletedToken: string | undefined;
    const kb = new Uint8Array(key.size);
    sim.setInterleavingHook((op) => {
      // Before the second batch call, delete the last key the first call returned: the token.
      if (op === "mapLookupBatch" && delivered.length === 4 && deletedToken === undefined) {
        deletedToken = delivered[3]!;
        key.encode({ prefixLen: 24, data: deletedToken }, kb);
        expect(sim.datapath.delete({ fd: m.getFd() }, kb)).toBe(0);
      }
    });
    const stats = newDumpStats(m);
    try {
      m.dumpReliablyWithCallback((k) => delivered.push(k.data), stats, { algorithm: "batch", batchSize: 4 });
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(deletedToken).toBeDefined();
    expect(stats.completed).toBe(true);
    // The kernel restarted from the first key (one restart, counted); the dump dropped what it
    // had delivered already, so every key that stayed came exactly once, in the trie's order.
    expect(stats.interrupted).toBe(1);
    expect(delivered).toEqual(prefixes.map((p) => p.data));
    expect(stats.delivered).toBe(12);
    expect(stats.lookup).toBeGreaterThan(12);
  });
});
