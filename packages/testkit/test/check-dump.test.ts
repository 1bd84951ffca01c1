// check-dump is the oracle of the dump fuzzer: a lenient check would let a broken dump pass every
// fuzz run unseen. Each invariant is held here on a hand-made dump that breaks it alone, next to
// the same dump kept whole (which must pass), so a check that stops looking fails here.
import { BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH, Errno, MaxLookupError, newDumpStats } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { type Delivery, type DumpRun, checkDump, raceMisses, racyReads } from "../src/dump-fuzz/check-dump.js";
import { newDatapathRecord } from "../src/dump-fuzz/datapath.js";
import { countingDriver, resetCalls } from "../src/dump-fuzz/dump-counter.js";
import { attachSimDatapath } from "../src/dump-fuzz/sim-datapath.js";
import { KeyUniverse, keyBytes } from "../src/dump-fuzz/universe.js";
import { hex, u32le } from "../src/model/bytes.js";
import type { MapSpec } from "../src/arbitraries/map-spec.js";

type Run = { -readonly [K in keyof DumpRun]: DumpRun[K] };
const set = (s: Iterable<number>) => [...s].sort((a, b) => a - b);

const HASH: MapSpec = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 8, mapFlags: 0 };
const ARRAY: MapSpec = { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 };
const LPM: MapSpec = { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 8, mapFlags: BPF_F_NO_PREALLOC };

/** Key `id` read at `version`, which is what the simulator says it held. */
const read = (u: KeyUniverse, id: number, version = 0): Delivery => ({ key: u.keys[id]!, slots: u.decode(u.userValue(id, version)), held: [[version]] });

/** A walk that delivered each of `ids` once at version 0, on a map nothing changed; its counters agree. */
function walkRun(spec = HASH, ids = [0, 1, 2, 3]): Run {
  const u = new KeyUniverse(spec, 6, 1);
  return {
    algorithm: "walk", universe: u, before: new Set(ids), after: new Set(ids), record: newDatapathRecord(true),
    deliveries: ids.map((id) => read(u, id)), error: undefined,
    stats: { ...newDumpStats(spec.maxEntries), lookup: ids.length, completed: true, algorithm: "walk", delivered: ids.length },
    calls: { nextKey: ids.length + 1, lookup: ids.length, lookupFailed: 0, batch: 0, batchElements: 0, lastBatchCount: 0, recent: [] },
  };
}

/** The same as a batch dump: two LOOKUP_BATCH calls, the last with one element. */
function batchRun(spec = HASH, ids = [0, 1, 2, 3]): Run {
  const r = walkRun(spec, ids);
  return {
    ...r, algorithm: "batch",
    stats: { ...r.stats, algorithm: "batch", batches: 2 },
    calls: { nextKey: 0, lookup: 0, lookupFailed: 0, batch: 2, batchElements: ids.length, lastBatchCount: 1, recent: [] },
  };
}

/** `r` whose datapath updated key `id` to `version` (it was written, not deleted). */
function updated(r: Run, id: number, version: number): Run {
  const record = newDatapathRecord(true);
  record.touched.add(id);
  record.written.add(id);
  record.maxVersion.set(id, version);
  return { ...r, record };
}

/** `r` with its deliveries replaced, the counters following (one lookup or batch element each). */
function delivering(r: Run, deliveries: Delivery[]): Run {
  const n = deliveries.length;
  const calls = r.algorithm === "batch" ? { ...r.calls, batchElements: n } : { ...r.calls, lookup: n, nextKey: n + 1 };
  return { ...r, deliveries, stats: { ...r.stats, lookup: n, delivered: n }, calls };
}

describe("checkDump: the hand-made dumps are whole", () => {
  it("a walk, a batch, a BpfMap dump (checked as a batch) and an array walk that keep every invariant pass", () => {
    expect(checkDump(walkRun())).toEqual([]);
    expect(checkDump(batchRun())).toEqual([]);
    expect(checkDump({ ...batchRun(), algorithm: "map" })).toEqual([]);
    expect(checkDump(walkRun(ARRAY))).toEqual([]);
    expect(checkDump(batchRun(LPM))).toEqual([]);
  });
});

describe("checkDump: every key present for the whole dump is delivered", () => {
  it("a key missing from a dump is caught, also when the datapath wrote some other key", () => {
    const r = walkRun();
    const lost = delivering(r, r.deliveries.slice(0, 3));
    expect(checkDump(lost)).toEqual(["key 3 was present for the whole dump and not delivered"]);
    // Key 5 (not key 3) was written: that excuses nothing about key 3.
    expect(checkDump({ ...updated(lost, 5, 1), after: new Set([0, 1, 2, 3, 5]) })).toEqual(["key 3 was present for the whole dump and not delivered"]);
  });

  it("a hash batch must deliver a key the datapath only updated; a walk is excused", () => {
    const b = updated(batchRun(), 2, 1);
    const u = b.universe;
    const without2 = [read(u, 0), read(u, 1), read(u, 3)];
    expect(checkDump(delivering(b, without2))).toEqual(["key 2 was present for the whole dump (updated, never deleted) and not delivered"]);
    // A walk may lose its place when the updated key moves to its bucket's head.
    expect(checkDump(delivering(updated(walkRun(), 2, 1), without2))).toEqual([]);
  });

  it("a key that vanished though the datapath never touched it is caught", () => {
    expect(checkDump({ ...walkRun(), after: new Set([0, 1, 2]) })).toEqual(["key 3 vanished, and the datapath never touched it"]);
  });

  it("on the kernel's next-key races a key is excused only when the datapath wrote: a map nothing changed has no race", () => {
    const r = walkRun();
    const lost = { ...delivering(r, r.deliveries.slice(0, 3)), nextKeyRace: true };
    expect(raceMisses(lost)).toEqual([]);
    expect(checkDump(lost)).toEqual(["key 3 was present for the whole dump and not delivered"]);
    const raced = { ...updated(lost, 5, 1), after: new Set([0, 1, 2, 3, 5]) };
    expect(raceMisses(raced)).toEqual([3]);
    expect(checkDump(raced)).toEqual([]);
  });

  it("a hash walk that never handed GET_NEXT_KEY a key the datapath touched cannot have raced: its miss is its own", () => {
    // The race needs the element of the key passed in to be freed and reused mid-call. A walk of
    // one's own that skips a key after a vanished one (a fallback bug) passed key 5 nowhere.
    const r = walkRun();
    const lost = { ...delivering(r, r.deliveries.slice(0, 3)), nextKeyRace: true };
    const raced = { ...updated(lost, 5, 1), after: new Set([0, 1, 2, 3, 5]) };
    const own = { ...raced, nextKeyFrom: new Set([0, 1, 2]) };
    expect(raceMisses(own)).toEqual([]);
    expect(checkDump(own)).toEqual(["key 3 was present for the whole dump and not delivered"]);
    // Walking from key 5 while it was rewritten is the race: excused, and counted.
    const fromTouched = { ...raced, nextKeyFrom: new Set([0, 1, 5]) };
    expect(raceMisses(fromTouched)).toEqual([3]);
    expect(checkDump(fromTouched)).toEqual([]);
    // In an LRU map eviction recycles too: walking from a key gone by the end (evicted) may race.
    const LRU: MapSpec = { ...HASH, mapType: BPF_MAP_TYPE_LRU_HASH };
    const l = walkRun(LRU);
    const lruLost = { ...updated(delivering(l, l.deliveries.slice(0, 3)), 5, 1), nextKeyRace: true, after: new Set([1, 2, 3, 5]) };
    expect(raceMisses({ ...lruLost, nextKeyFrom: new Set([1, 2]) })).toEqual([]);
    expect(raceMisses({ ...lruLost, nextKeyFrom: new Set([0, 1, 2]) })).toEqual([3]);
    // An LPM trie races on an update anywhere on its path: still any write.
    const p = walkRun(LPM);
    const lpmLost = { ...updated(delivering(p, p.deliveries.slice(0, 3)), 5, 1), nextKeyRace: true, after: new Set([0, 1, 2, 3, 5]), nextKeyFrom: new Set([0, 1, 2]) };
    expect(raceMisses(lpmLost)).toEqual([3]);
  });
});

describe("checkDump: a key is delivered at most once where the algorithm promises it", () => {
  it("a hash batch, and an array walk even while the datapath writes, deliver no key twice", () => {
    const b = batchRun();
    const u = b.universe;
    expect(checkDump(delivering(b, [...b.deliveries, read(u, 1)]))).toContain("key 1 delivered 2 times by a dump that delivers each key at most once");
    const a = updated(walkRun(ARRAY), 1, 1);
    const twice = delivering(a, [read(a.universe, 0), read(a.universe, 1), read(a.universe, 1, 1), read(a.universe, 2), read(a.universe, 3)]);
    expect(checkDump(twice)).toEqual(["key 1 delivered 2 times by a dump that delivers each key at most once"]);
  });

  it("a walk of a map nothing changed delivers no key twice", () => {
    const r = walkRun();
    expect(checkDump(delivering(r, [...r.deliveries, read(r.universe, 1)]))).toEqual(["key 1 delivered 2 times while nothing changed the map"]);
  });
});

describe("checkDump: nothing that was never there, every value one that was written", () => {
  it("a key outside the universe, one absent when read, one never present nor written", () => {
    const r = walkRun();
    const u = r.universe;
    expect(checkDump(delivering(r, [...r.deliveries, { key: new Uint8Array([0x63, 0, 0, 0]), slots: [] }]))).toEqual(["delivered key 63000000, never in the map"]);
    expect(checkDump(delivering(r, [read(u, 0), read(u, 1), read(u, 2), { ...read(u, 3), held: null }]))).toEqual(["delivered key 3, which was not in the map when the dump read it"]);
    expect(checkDump(delivering(r, [...r.deliveries, read(u, 4)]))).toEqual([
      "delivered key 4, which was not present before the dump and never written during it",
      "key 4: the setup's value, but the key was not there before the dump",
    ]);
  });

  it("a torn value, an all-zero one, another key's, a version never written, a stale one", () => {
    const r = updated(walkRun(), 0, 2);
    const u = r.universe;
    const rest = [read(u, 1), read(u, 2), read(u, 3)];
    const with0 = (d: Delivery) => checkDump(delivering(r, [d, ...rest]));
    expect(with0(read(u, 0, 2))).toEqual([]);
    expect(with0({ ...read(u, 0, 2), slots: ["torn"] })).toEqual(["key 0: a value no write produced"]);
    expect(with0({ ...read(u, 0, 2), slots: [undefined] })).toEqual(["key 0: an all-zero value that was never written"]);
    expect(with0({ ...read(u, 0, 2), slots: u.decode(u.userValue(1, 0)) })).toEqual(["key 0: the value of key 1"]);
    expect(with0(read(u, 0, 3))).toEqual(["key 0: version 3, never written"]);
    // Version 1 was written, but the simulator knows the key held version 2 when it was read.
    expect(with0({ ...read(u, 0, 1), held: [[2]] })).toEqual(["key 0: version 1, but the key held version 2 when the dump read it"]);
  });

  it("on the kernel, a value older than an update that had returned before the read is stale", () => {
    const r = updated(walkRun(), 0, 3);
    const u = r.universe;
    const kernelRead = (version: number, atLeast: number): Delivery => ({ key: u.keys[0]!, slots: u.decode(u.userValue(0, version)), atLeast });
    const rest = [read(u, 1), read(u, 2), read(u, 3)];
    expect(checkDump(delivering(r, [kernelRead(3, 3), ...rest]))).toEqual([]);
    expect(checkDump(delivering(r, [kernelRead(2, 3), ...rest]))).toEqual(["key 0: version 2, but the update to version 3 had returned before the dump read it"]);
  });

  it("concurrent writers excuse a torn or foreign read only on a key the datapath touched", () => {
    const r = { ...updated(walkRun(), 1, 1), concurrentWriters: true };
    const u = r.universe;
    const foreign = (id: number): Delivery => ({ key: u.keys[id]!, slots: u.decode(u.userValue(1, 1)) });
    // Key 0 was never touched: reading key 1's value there is a bug, not a race.
    const bad = delivering(r, [foreign(0), read(u, 1, 1), read(u, 2), read(u, 3)]);
    expect(checkDump(bad)).toEqual(["key 0: the value of key 1"]);
    expect(racyReads(bad)).toBe(0);
    const touched = { ...bad, record: { ...r.record, touched: new Set([0, 1]) } };
    expect(checkDump(touched)).toEqual([]);
    expect(racyReads(touched)).toBe(1);
  });
});

describe("checkDump: the dump ends and its stats tell the truth", () => {
  it("an error other than MaxLookupError, completed, algorithm and delivered that disagree", () => {
    const r = walkRun();
    expect(checkDump({ ...r, error: new Error("EBADF"), stats: { ...r.stats, completed: false } })).toEqual(["the dump failed: Error: EBADF"]);
    expect(checkDump({ ...r, stats: { ...r.stats, completed: false } })).toEqual(["stats.completed is false but the dump returned"]);
    expect(checkDump({ ...r, stats: { ...r.stats, algorithm: "batch" } })).toEqual(["stats.algorithm is batch, asked for walk"]);
    expect(checkDump({ ...r, stats: { ...r.stats, delivered: 3 } })).toEqual(["stats.delivered 3 != 4 callbacks"]);
  });

  it("a walk's lookups stay within 4 × maxEntries, and MaxLookupError comes exactly at the budget", () => {
    // maxEntries 1: a budget of 4 lookups; 5 were made (one found its key gone and fell back).
    const r = walkRun();
    const over = { ...r, stats: { ...r.stats, maxEntries: 1, lookup: 5, lookupFailed: 1, keyFallback: 1 }, calls: { ...r.calls, lookup: 5, lookupFailed: 1 } };
    expect(checkDump(over)).toEqual(["5 lookups, over the budget of 4"]);
    // Gave up: the 4 lookups of its budget made, the 5th refused; each found key delivered.
    const gaveUp = { ...r, error: new MaxLookupError(), stats: { ...r.stats, maxEntries: 1, lookup: 5, completed: false } };
    expect(checkDump(gaveUp)).toEqual([]);
    const early = delivering(gaveUp, r.deliveries.slice(0, 3));
    expect(checkDump({ ...early, stats: { ...early.stats, lookup: 5 } })).toEqual(["MaxLookupError after 3 lookups with stats.lookup 5; the budget is 4"]);
  });

  it("a MaxLookupError from another copy of core (a dump of one's own built against it) is the budget, not a failure", () => {
    // Two installs of @bpfkit/core (a nested one under a dependency) give two classes of one name.
    class MaxLookupError extends Error {
      override name = "MaxLookupError";
    }
    const r = walkRun();
    const gaveUp = { ...r, error: new MaxLookupError("maximum number of lookups reached"), stats: { ...r.stats, maxEntries: 1, lookup: 5, completed: false } };
    expect(checkDump(gaveUp)).toEqual([]);
    // Any other error is still a failure.
    expect(checkDump({ ...gaveUp, error: new RangeError("x") })).toContain("the dump failed: RangeError: x");
  });

  it("a walk hands every key its lookups found to the callback (only walk-once may skip, once per fallback)", () => {
    // Four lookups found their key, three reached the callback: a key read and then dropped,
    // which the delivery check misses when the datapath touched that key.
    const r = updated(walkRun(), 3, 1);
    const dropped = { ...r, deliveries: r.deliveries.slice(0, 3), stats: { ...r.stats, delivered: 3 } };
    expect(checkDump(dropped)).toEqual(["3 callbacks for 4 successful lookups"]);
    expect(checkDump({ ...dropped, algorithm: "walk-once" })).toEqual(["3 callbacks for 4 successful lookups and 0 fallbacks"]);
    expect(checkDump({ ...dropped, algorithm: "walk-once", stats: { ...dropped.stats, lookup: 5, keyFallback: 1, lookupFailed: 1 }, calls: { ...dropped.calls, lookup: 5, lookupFailed: 1 } })).toEqual([]);
  });

  it("a walk's counters: lookups, failed lookups, fallbacks and restarts, skipped callbacks, batches", () => {
    const r = walkRun();
    expect(checkDump({ ...r, stats: { ...r.stats, lookup: 5 } })).toEqual(["stats.lookup 5 but 4 lookups were made"]);
    expect(checkDump({ ...r, stats: { ...r.stats, lookupFailed: 1, keyFallback: 1 } })).toEqual(["stats.lookupFailed 1 but 0 lookups found the key gone"]);
    expect(checkDump({ ...r, stats: { ...r.stats, keyFallback: 1 } })).toEqual(["keyFallback 1 + interrupted 0 != lookupFailed 0"]);
    expect(checkDump({ ...r, stats: { ...r.stats, batches: 1 } })).toEqual(["stats.batches 1 in a walk"]);
    // walk-once may skip a key it fell back to, once per fallback: with no fallback, none.
    const once = { ...r, algorithm: "walk-once" as const, calls: { ...r.calls, lookup: 5 }, stats: { ...r.stats, lookup: 5 } };
    expect(checkDump(once)).toEqual(["4 callbacks for 5 successful lookups and 0 fallbacks"]);
  });

  it("a walk of an empty map counts its first GET_NEXT_KEY as a lookup, and says so when a dump does not", () => {
    const empty = walkRun(HASH, []);
    expect(empty.stats.lookup).toBe(0);
    expect(checkDump({ ...empty, stats: { ...empty.stats, lookup: 1 } })).toEqual([]);
    expect(checkDump(empty)).toEqual(["stats.lookup 0 but 0 lookups were made, where the seed counts 1 (a walk that finds the map empty counts its first GET_NEXT_KEY)"]);
  });

  it("a batch dump's counters: calls, walk failures, elements, the budget, callbacks per element", () => {
    const b = batchRun();
    expect(checkDump({ ...b, stats: { ...b.stats, batches: 3 } })).toEqual(["stats.batches 3 but 2 LOOKUP_BATCH calls were made"]);
    expect(checkDump({ ...b, stats: { ...b.stats, keyFallback: 1 } })).toEqual(["a batch dump counted walk failures (lookupFailed 0, keyFallback 1, interrupted 0)"]);
    expect(checkDump({ ...b, stats: { ...b.stats, lookup: 5 } })).toEqual(["stats.lookup 5 but the batches returned 4 elements"]);
    expect(checkDump({ ...b, stats: { ...b.stats, maxEntries: 0.75 } })).toEqual(["stats.lookup 4 is over the budget of 3"]);
    // Elements the batches returned that never reached the callback.
    expect(checkDump({ ...b, calls: { ...b.calls, batchElements: 5 }, stats: { ...b.stats, lookup: 5 } })).toEqual(["4 callbacks for 5 batch elements"]);
  });

  it("a batch dump that gives up: the last batch's elements are not delivered, stats.lookup is the budget + 1", () => {
    const b = batchRun();
    // maxEntries 1: budget 4; the batches returned 6 elements, the last call 2 of them.
    const gaveUp = { ...b, error: new MaxLookupError(), stats: { ...b.stats, maxEntries: 1, lookup: 5, completed: false }, calls: { ...b.calls, batchElements: 6, lastBatchCount: 2 } };
    expect(checkDump(gaveUp)).toEqual([]);
    expect(checkDump({ ...gaveUp, stats: { ...gaveUp.stats, lookup: 6 } })).toEqual(["MaxLookupError with stats.lookup 6; the budget is 4"]);
  });

  it("an LPM batch may drop elements only when the kernel restarted it", () => {
    const b = batchRun(LPM);
    const short = { ...b, calls: { ...b.calls, batchElements: 5 }, stats: { ...b.stats, lookup: 5 } };
    expect(checkDump(short)).toEqual(["4 callbacks for 5 batch elements (LPM, 0 restarts)"]);
    expect(checkDump({ ...short, stats: { ...short.stats, interrupted: 1 } })).toEqual([]);
  });
});

describe("what the oracle reads with: self-describing values and counted calls", () => {
  it("a value names its key and version; a torn or half-zero one shows as torn, an all-zero slot as unwritten", () => {
    const u = new KeyUniverse({ ...HASH, valueSize: 12 }, 4, 1);
    expect(u.decode(u.userValue(2, 5))).toEqual([{ id: 2, version: 5 }]);
    const torn = u.userValue(2, 5);
    torn[10]! ^= 1; // a byte past the id and version
    expect(u.decode(torn)).toEqual(["torn"]);
    expect(u.decode(new Uint8Array(12))).toEqual([undefined]);
    const tail = new Uint8Array(12);
    tail[11] = 1;
    expect(u.decode(tail)).toEqual(["torn"]);
  });

  it("a per-CPU value has a slot per CPU, each decoded on its own", () => {
    const u = new KeyUniverse({ ...HASH, mapType: BPF_MAP_TYPE_PERCPU_HASH, valueSize: 12 }, 4, 2);
    expect([u.cpus, u.slot, u.userValueSize]).toEqual([2, 16, 32]);
    const v = u.userValue(1, 3);
    expect(u.decode(v)).toEqual([{ id: 1, version: 3 }, { id: 1, version: 3 }]);
    v.fill(0, 16);
    expect(u.decode(v)).toEqual([{ id: 1, version: 3 }, undefined]);
  });

  it("LPM keys are prefixes of max_prefixlen − (i mod 4) bits", () => {
    expect([0, 1, 2, 3, 4].map((i) => u32le(keyBytes(LPM, i)))).toEqual([32, 31, 30, 29, 32]);
  });

  it("countingDriver counts lookups (ENOENT as failed, other errors not), batches with their elements, and the last two keys", () => {
    const sim = createSimDriver();
    const { driver, calls } = countingDriver(sim);
    const fd = sim.mapCreate(HASH);
    const u = new KeyUniverse(HASH, 4, 1);
    for (let i = 0; i < 3; i++) expect(sim.mapUpdateElem(fd, u.keys[i]!, u.userValue(i, 0))).toBe(0);
    const v = new Uint8Array(8);
    expect(driver.mapLookupElem(fd, u.keys[0]!, v)).toBe(0);
    expect(driver.mapLookupElem(fd, u.keys[3]!, v)).toBe(-Errno.ENOENT);
    expect(driver.mapLookupElem(fd, u.keys[0]!, v, 4)).toBe(-Errno.EINVAL); // BPF_F_LOCK without a lock
    expect([calls.lookup, calls.lookupFailed]).toEqual([3, 1]);
    const next = new Uint8Array(4);
    const seen: string[] = [];
    for (let k: Uint8Array | null = null; driver.mapGetNextKey(fd, k, next) === 0; k = next.slice()) seen.push(hex(next));
    expect(calls.recent.map(hex)).toEqual([seen[2], seen[1]]);
    // One batch of 8 takes all three and ends the map with ENOENT: its elements count.
    const r = driver.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(32), new Uint8Array(64), 8);
    expect(r).toEqual({ errno: Errno.ENOENT, count: 3 });
    expect([calls.batch, calls.batchElements, calls.lastBatchCount]).toEqual([1, 3, 3]);
    resetCalls(calls);
    expect(calls).toEqual({ nextKey: 0, lookup: 0, lookupFailed: 0, batch: 0, batchElements: 0, lastBatchCount: 0, recent: [] });
    sim.close(fd);
  });
});

describe("what the oracle is told the simulator's datapath did", () => {
  it("a step at syscall 0 runs before the dump's first syscall; the record and the held values follow every move", () => {
    const sim = createSimDriver();
    const fd = sim.mapCreate(HASH);
    const u = new KeyUniverse(HASH, 4, 1);
    for (let i = 0; i < 3; i++) expect(sim.mapUpdateElem(fd, u.keys[i]!, u.userValue(i, 0))).toBe(0);
    const steps = [
      { at: 0, ops: [{ kind: "delete" as const, key: 0, cpu: 0 }, { kind: "update" as const, key: 1, cpu: 0 }] },
      { at: 1, ops: [{ kind: "update" as const, key: 1, cpu: 0 }, { kind: "update" as const, key: 3, cpu: 0 }] },
    ];
    const run = attachSimDatapath(sim, fd, u, steps, () => undefined, [0, 1, 2]);
    try {
      const v = new Uint8Array(8);
      expect(sim.mapLookupElem(fd, u.keys[0]!, v)).toBe(-Errno.ENOENT);
      expect(u.decode(v)).toEqual([undefined]);
      expect(sim.mapLookupElem(fd, u.keys[1]!, v)).toBe(0);
      expect(u.decode(v)).toEqual([{ id: 1, version: 2 }]);
      expect(run.syscalls()).toBe(2);
    } finally {
      run.detach();
    }
    const r = run.record;
    expect([set(r.touched), set(r.deleted), set(r.written)]).toEqual([[0, 1, 3], [0], [1, 3]]);
    expect([...r.maxVersion].sort()).toEqual([[1, 2], [3, 1]]);
    expect([run.held.at(0), run.held.at(1), run.held.at(2), run.held.at(3)]).toEqual([null, [[2]], [[0]], [[1]]]);
    sim.close(fd);
  });

  it("countingDriver tells the kernel datapath's floor before every read, a lookup or a LOOKUP_BATCH", () => {
    const sim = createSimDriver();
    let reads = 0;
    const { driver } = countingDriver(sim, undefined, () => reads++);
    const fd = sim.mapCreate(HASH);
    driver.mapLookupElem(fd, new Uint8Array(4), new Uint8Array(8));
    driver.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(32), new Uint8Array(64), 8);
    driver.mapGetNextKey(fd, null, new Uint8Array(4));
    expect(reads).toBe(2);
    sim.close(fd);
  });
});
