// The reliable dump's invariants, checked on one dump against what the datapath did:
//  - it ends: completed, or MaxLookupError within its 4 × maxEntries budget;
//  - every key present for the whole dump is delivered (exactly once where the algorithm
//    promises it: batches of the hash family and of LPM tries, and arrays; and by every
//    algorithm when nothing changed the map during the dump);
//  - nothing that was never present is delivered, and every value read is one that was written;
//    on the simulator, exactly the one the key held when the dump read it; on the kernel, no
//    older than the last update that had returned when the read began;
//  - its DumpStats agree with the calls it really made.
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, type DumpStats, MaxLookupError, isHashMapType, isPerCpuMapType } from "@bpfkit/core";
import { hex } from "../model/bytes.js";
import type { DatapathRecord } from "./datapath.js";
import { type HeldSlots, describeHeld } from "./held.js";
import type { DumpCalls } from "./dump-counter.js";
import type { KeyUniverse } from "./universe.js";

/**
 * What the fuzzer dumps with: core's `walk` (v1.7) and `batch` algorithms called directly;
 * `walk-once`, the walk as dumpWithCallback runs it (a fallback key is not delivered twice); or
 * `map`: a BpfMap's public dumpReliablyWithCallback with its default choice (batch where the
 * kernel has LOOKUP_BATCH), values decoded by its codecs.
 */
export type DumpFuzzAlgorithm = "walk" | "walk-once" | "batch" | "map";

/** One element a dump handed to its sink: the key, and what its value's slots say was written. */
export interface Delivery {
  /** The key's bytes, as delivered. */
  readonly key: Uint8Array;
  /**
   * The value decoded per CPU slot: which key and version wrote it, undefined for a zero slot, or "torn" for
   * bytes no write made.
   */
  readonly slots: ReturnType<KeyUniverse["decode"]>;
  /**
   * Where the datapath is deterministic (the simulator): what the key held when the dump read
   * it, which its value must be exactly. Undefined where that is not known (the kernel's thread).
   */
  readonly held?: HeldSlots;
  /**
   * On the kernel: the version of the key whose update had returned when the dump's read began.
   * The read sees it or a newer one; an older one is stale.
   */
  readonly atLeast?: number;
}

/**
 * Everything `checkDump` needs of one dump: the keys before and after, what the datapath did, and what the dump
 * delivered, counted and threw.
 */
export interface DumpRun {
  /** The dump algorithm that ran. */
  readonly algorithm: DumpFuzzAlgorithm;
  /** The keys and values the case draws from, which decode what was delivered. */
  readonly universe: KeyUniverse;
  /** Keys present just before the dump, and just after it. */
  readonly before: ReadonlySet<number>;
  /** Keys present just after the dump. */
  readonly after: ReadonlySet<number>;
  /** What the datapath did while the dump ran. */
  readonly record: DatapathRecord;
  /** The elements the dump delivered, in order. */
  readonly deliveries: readonly Delivery[];
  /** What the dump threw, or undefined. */
  readonly error: unknown;
  /** The DumpStats the dump kept, checked against `calls`. */
  readonly stats: DumpStats;
  /** The driver calls the dump really made. */
  readonly calls: DumpCalls;
  /**
   * The dump ran on the kernel through a GET_NEXT_KEY that races with concurrent writes
   * (docs/kernel-notes.md): an LPM trie's (which the walk and the generic batch both use) takes a
   * node being updated for a right child and skips its sibling subtree; a hash-family walk
   * follows an element that was deleted and reused for a key of another bucket, and skips the
   * buckets between. A key present throughout may be missed whenever the datapath wrote.
   */
  readonly nextKeyRace?: boolean;
  /**
   * The keys the dump passed to GET_NEXT_KEY, where recorded. The hash race starts from the
   * element of the key passed in being freed and reused for another key mid-call, which takes
   * the datapath deleting or updating that very key (an update replaces the element), or LRU
   * evicting it: a hash-family walk none of whose next-key keys that happened to cannot have
   * raced, and a key it missed is its own fault. Undefined: any write may have caused a miss.
   */
  readonly nextKeyFrom?: ReadonlySet<number>;
  /**
   * The datapath wrote from another CPU while the dump ran (the kernel's worker thread). The
   * kernel copies a value out with a plain memcpy under RCU, and a preallocated map recycles a
   * deleted or evicted element at once: a value being rewritten can be read half-written, and a
   * key's element can be reused for another key mid-copy, so its value is that key's. Only a
   * key the datapath touched (or, in an LRU map, may have evicted) can read so; any other key's
   * value must always be its own.
   */
  readonly concurrentWriters?: boolean;
}

/**
 * A slot read while a concurrent writer rewrote or recycled it (see `concurrentWriters`):
 * half-written, or another key's value, on a key the datapath touched.
 */
function racyRead(run: DumpRun, id: number, slot: Delivery["slots"][number]): boolean {
  if (run.concurrentWriters !== true) return false;
  // LRU eviction recycles elements of keys nobody touched, too.
  const t = run.universe.spec.mapType;
  const lru = t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  if (!lru && !run.record.touched.has(id)) return false;
  return slot === "torn" || (slot !== undefined && slot.id !== id && run.record.written.has(slot.id));
}

/** How many slots `racyRead` excused in this dump: counted and reported, never hidden. */
export function racyReads(run: DumpRun): number {
  let n = 0;
  for (const d of run.deliveries) {
    const id = run.universe.idOf(d.key);
    if (id !== undefined) for (const s of d.slots) if (racyRead(run, id, s)) n++;
  }
  return n;
}

/**
 * Keys present for the whole dump, untouched, and not delivered, that the kernel's next-key
 * races account for: reported apart from violations, never silently.
 */
export function raceMisses(run: DumpRun): number[] {
  if (run.nextKeyRace !== true || run.error !== undefined || run.record.touched.size === 0) return [];
  if (!hashRaceCould(run)) return [];
  const delivered = new Set<number>();
  for (const d of run.deliveries) {
    const id = run.universe.idOf(d.key);
    if (id !== undefined) delivered.add(id);
  }
  return [...run.before].filter((id) => run.after.has(id) && !run.record.touched.has(id) && !delivered.has(id));
}

/**
 * Whether the hash GET_NEXT_KEY race could have struck this dump (see `nextKeyFrom`): some key
 * handed to GET_NEXT_KEY was touched by the datapath, or, in an LRU map, is gone (evicted).
 * LPM tries race on other grounds (an update anywhere on the walk's path), so always.
 */
function hashRaceCould(run: DumpRun): boolean {
  const t = run.universe.spec.mapType;
  if (run.nextKeyFrom === undefined || !isHashMapType(t)) return true;
  const lru = t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  for (const id of run.nextKeyFrom) {
    if (run.record.touched.has(id) || (lru && !run.after.has(id))) return true;
  }
  return false;
}

/** The invariants one dump broke, as readable sentences (empty: it kept them all). */
export function checkDump(run: DumpRun): string[] {
  const v: string[] = [];
  const { stats, calls, record, universe: u } = run;
  const mapType = u.spec.mapType;
  const isArray = mapType === BPF_MAP_TYPE_ARRAY || mapType === BPF_MAP_TYPE_PERCPU_ARRAY;
  // By name too: a dump built against another copy of core throws that copy's class.
  const maxLookup = run.error instanceof MaxLookupError || (run.error instanceof Error && run.error.name === "MaxLookupError");
  const budget = 4 * stats.maxEntries;
  // `map` is checked as the algorithm it chose; every fuzzed type has LOOKUP_BATCH, so batch.
  const algorithm = run.algorithm === "map" ? "batch" : run.algorithm === "walk-once" ? "walk" : run.algorithm;

  // It ends, within its cap.
  if (run.error !== undefined && !maxLookup) v.push(`the dump failed: ${String(run.error)}`);
  if (stats.completed !== (run.error === undefined)) v.push(`stats.completed is ${stats.completed} but the dump ${run.error === undefined ? "returned" : "threw"}`);
  if (stats.algorithm !== algorithm) v.push(`stats.algorithm is ${String(stats.algorithm)}, asked for ${run.algorithm}${run.algorithm === "map" ? " (which should batch)" : ""}`);

  // The counters agree with the calls made.
  const callbacks = run.deliveries.length;
  if (stats.delivered !== callbacks) v.push(`stats.delivered ${stats.delivered} != ${callbacks} callbacks`);
  if (algorithm === "walk") {
    if (calls.lookup > budget) v.push(`${calls.lookup} lookups, over the budget of ${budget}`);
    if (maxLookup && (stats.lookup !== budget + 1 || calls.lookup !== budget)) {
      v.push(`MaxLookupError after ${calls.lookup} lookups with stats.lookup ${stats.lookup}; the budget is ${budget}`);
    }
    if (!maxLookup && run.error === undefined) {
      const want = calls.lookup === 0 ? 1 : calls.lookup; // an empty map counts its first-key call
      // Say why 0 lookups want 1: "stats.lookup 0 but 0 lookups were made" reads as no error at all.
      if (stats.lookup !== want) {
        v.push(calls.lookup === 0
          ? `stats.lookup ${stats.lookup} but 0 lookups were made, where the seed counts 1 (a walk that finds the map empty counts its first GET_NEXT_KEY)`
          : `stats.lookup ${stats.lookup} but ${calls.lookup} lookups were made`);
      }
    }
    if (stats.lookupFailed !== calls.lookupFailed) v.push(`stats.lookupFailed ${stats.lookupFailed} but ${calls.lookupFailed} lookups found the key gone`);
    if (stats.keyFallback + stats.interrupted !== stats.lookupFailed) {
      v.push(`keyFallback ${stats.keyFallback} + interrupted ${stats.interrupted} != lookupFailed ${stats.lookupFailed}`);
    }
    // Each found key reaches the callback; walk-once skips a key it fell back to, once per fallback.
    const found = calls.lookup - calls.lookupFailed;
    const skipped = found - callbacks;
    if (skipped < 0 || skipped > (run.algorithm === "walk-once" ? stats.keyFallback : 0)) {
      v.push(`${callbacks} callbacks for ${found} successful lookups${run.algorithm === "walk-once" ? ` and ${stats.keyFallback} fallbacks` : ""}`);
    }
    if (stats.batches !== 0) v.push(`stats.batches ${stats.batches} in a walk`);
  } else {
    if (stats.batches !== calls.batch) v.push(`stats.batches ${stats.batches} but ${calls.batch} LOOKUP_BATCH calls were made`);
    // An LPM batch dump counts the kernel's restarts in `interrupted` and drops the keys a
    // restart hands out again; every other batch element reaches the callback.
    const lpm = mapType === BPF_MAP_TYPE_LPM_TRIE;
    if (stats.lookupFailed !== 0 || stats.keyFallback !== 0 || (!lpm && stats.interrupted !== 0)) {
      v.push(`a batch dump counted walk failures (lookupFailed ${stats.lookupFailed}, keyFallback ${stats.keyFallback}, interrupted ${stats.interrupted})`);
    }
    const returned = maxLookup ? calls.batchElements - calls.lastBatchCount : calls.batchElements;
    if (maxLookup && stats.lookup !== budget + 1) v.push(`MaxLookupError with stats.lookup ${stats.lookup}; the budget is ${budget}`);
    if (!maxLookup && run.error === undefined) {
      if (stats.lookup !== calls.batchElements) v.push(`stats.lookup ${stats.lookup} but the batches returned ${calls.batchElements} elements`);
      if (stats.lookup > budget) v.push(`stats.lookup ${stats.lookup} is over the budget of ${budget}`);
    }
    if (maxLookup || run.error === undefined) {
      if (lpm ? callbacks > returned || (callbacks < returned && stats.interrupted === 0) : callbacks !== returned) {
        v.push(`${callbacks} callbacks for ${returned} batch elements${lpm ? ` (LPM, ${stats.interrupted} restarts)` : ""}`);
      }
    }
  }

  // Nothing never present; every value one that was written.
  const counts = new Map<number, number>();
  for (const d of run.deliveries) {
    const id = u.idOf(d.key);
    if (id === undefined) {
      v.push(`delivered key ${hex(d.key)}, never in the map`);
      continue;
    }
    counts.set(id, (counts.get(id) ?? 0) + 1);
    if (d.held === null) v.push(`delivered key ${id}, which was not in the map when the dump read it`);
    if (!run.before.has(id) && !record.written.has(id)) v.push(`delivered key ${id}, which was not present before the dump and never written during it`);
    d.slots.forEach((s, cpu) => {
      const where = `key ${id}${u.cpus > 1 ? ` cpu ${cpu}` : ""}`;
      if (racyRead(run, id, s)) return;
      const flaws = v.length;
      if (s === "torn") v.push(`${where}: a value no write produced`);
      else if (s === undefined) {
        // A BPF program's first write of a per-CPU element zeroes the other CPUs' slots.
        if (!(record.slotWrites && record.written.has(id) && isPerCpuMapType(mapType))) v.push(`${where}: an all-zero value that was never written`);
      } else if (s.id !== id) v.push(`${where}: the value of key ${s.id}`);
      else if (s.version > (record.maxVersion.get(id) ?? 0)) v.push(`${where}: version ${s.version}, never written`);
      else if (s.version === 0 && !run.before.has(id)) v.push(`${where}: the setup's value, but the key was not there before the dump`);
      else if (!record.touched.has(id) && s.version !== 0) v.push(`${where}: version ${s.version} of a key the datapath never touched`);
      // The simulator knows the very value read: one the key held before, or a slot's zeros
      // after a write, is stale.
      const held = d.held?.[cpu];
      if (v.length === flaws && s !== "torn" && held !== undefined) {
        const got = s === undefined ? null : s.version;
        if (!held.includes(got)) v.push(`${where}: ${got === null ? "all zeros" : `version ${got}`}, but the key held ${describeHeld(held)} when the dump read it`);
      }
      if (v.length === flaws && s !== undefined && s !== "torn" && d.atLeast !== undefined && s.version < d.atLeast) {
        v.push(`${where}: version ${s.version}, but the update to version ${d.atLeast} had returned before the dump read it`);
      }
    });
  }

  // Every key present for the whole dump is delivered.
  const onceOnly = isArray || (algorithm === "batch" && (isHashMapType(mapType) || mapType === BPF_MAP_TYPE_LPM_TRIE));
  if (onceOnly) {
    for (const [id, n] of counts) if (n > 1) v.push(`key ${id} delivered ${n} times by a dump that delivers each key at most once`);
  } else if (record.touched.size === 0) {
    // A walk repeats keys only when keys vanish under it: on a map nothing changed, none may.
    for (const [id, n] of counts) if (n > 1) v.push(`key ${id} delivered ${n} times while nothing changed the map`);
  }
  // Only LRU eviction removes a key nobody deleted.
  const lru = mapType === BPF_MAP_TYPE_LRU_HASH || mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  for (const id of run.before) {
    if (!lru && !record.touched.has(id) && !run.after.has(id)) v.push(`key ${id} vanished, and the datapath never touched it`);
  }
  if (run.error === undefined) {
    // A bucket batch copies a key's bucket once, under its lock: a key only *updated* (never
    // deleted) is delivered exactly once too. LRU updates may evict, so there only untouched ones.
    const updatesKept = algorithm === "batch" && isHashMapType(mapType) && !lru;
    const raced = new Set(raceMisses(run));
    for (const id of run.before) {
      if (raced.has(id)) continue;
      if (!run.after.has(id)) continue;
      if (updatesKept ? record.deleted.has(id) : record.touched.has(id)) continue;
      const n = counts.get(id) ?? 0;
      if (n === 0) v.push(`key ${id} was present for the whole dump${record.touched.has(id) ? " (updated, never deleted)" : ""} and not delivered`);
    }
  }
  return v;
}
