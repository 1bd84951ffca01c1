// Fd arrays (PROG_ARRAY, ARRAY_OF_MAPS) list every index with GET_NEXT_KEY, but an empty slot's
// lookup answers ENOENT. entries(), keys() and every walk pass over empty slots and end; before,
// entries() spun forever after a filled slot and the walk dumps ran to MaxLookupError.
import { describe, expect, it } from "vitest";
import { DUMMY_PROG_INSNS, IterationAbortedError, MapType, newDumpStats, u32, type BpfMap } from "@bpfkit/core";
import { kernelUnderTest } from "../../testkit/src/drivers.js";
import { eachDriver, makeEnv, type Env } from "./support/env.js";

eachDriver("fd arrays with empty slots", (get) => {
  function progArray(env: Env, maxEntries: number): BpfMap<number, number> {
    const m = env.map({ name: "calls", type: MapType.ProgArray, key: u32, value: u32, maxEntries });
    m.openOrCreateUnpinned();
    return m;
  }

  function loadProg(env: Env): number {
    const fd = env.driver.progLoad({ progType: 1, insns: DUMMY_PROG_INSNS, license: "GPL" });
    expect(fd).toBeGreaterThanOrEqual(0);
    env.track({ close: () => env.driver.close(fd) });
    return fd;
  }

  it("PROG_ARRAY: entries() and keys() yield the filled slots only, and end", () => {
    const env = get();
    const m = progArray(env, 40);
    const prog = loadProg(env);
    // Slots 0–19 empty (more than the 16 restarts a vanished key may cost), then 20 and 30 set.
    m.update(20, prog);
    m.update(30, prog);
    expect([...m.keys({ maxRestarts: 0 })]).toEqual([20, 30]);
    const entries = [...m.entries({ maxRestarts: 0 })];
    expect(entries.map(([k]) => k)).toEqual([20, 30]);
    expect(entries[0]![1]).toBe(entries[1]![1]); // the same program's id in both
    expect(entries[0]![1]).toBeGreaterThan(0);
  });

  it("an empty PROG_ARRAY: entries() yields nothing, without counting restarts", () => {
    const m = progArray(get(), 64);
    let err: unknown;
    try {
      expect([...m.entries({ maxRestarts: 0 })]).toEqual([]);
    } catch (e) {
      err = e;
    }
    expect(err).not.toBeInstanceOf(IterationAbortedError);
    expect(err).toBeUndefined();
  });

  it("PROG_ARRAY: dump, dumpWithCallback and the v1.7 walk deliver the filled slots and complete", () => {
    const env = get();
    const m = progArray(env, 8);
    expect(m.dump()).toEqual(new Map());
    const prog = loadProg(env);
    m.update(0, prog);
    m.update(5, prog);
    expect([...m.dump().keys()]).toEqual(["0", "5"]);
    const seen: number[] = [];
    m.dumpWithCallback((k) => seen.push(k));
    expect(seen).toEqual([0, 5]);
    const stats = newDumpStats(m);
    const reliable: number[] = [];
    m.dumpReliablyWithCallback((k) => reliable.push(k), stats);
    expect(reliable).toEqual([0, 5]);
    expect(stats.completed).toBe(true);
    expect(stats.lookupFailed).toBe(0);
    expect(stats.interrupted).toBe(0);
  });

  it("a PROG_ARRAY adopted under a HASH spec (the seed never re-creates one): entries() still ends", () => {
    const env = get();
    const prog = loadProg(env);
    const pinned = env.map({ name: "calls", type: MapType.ProgArray, key: u32, value: u32, maxEntries: 4 });
    pinned.openOrCreate();
    pinned.update(0, prog);
    pinned.close();
    // Same key and value sizes, another type: adopted with the seed's warnings, typed as a hash.
    const m = env.map({ name: "calls", type: MapType.Hash, key: u32, value: u32, maxEntries: 4 });
    expect(m.openOrCreate()).toBe(false);
    expect(m.mapInfo.mapType).toBe(MapType.Hash);
    // Slot 1 follows the last yielded key but holds nothing: passed over, not walked forever.
    expect([...m.keys()]).toEqual([0]);
  });

  it("deleteAll clears a PROG_ARRAY with empty slots between filled ones; a plain ARRAY refuses", () => {
    const env = get();
    const m = progArray(env, 6);
    const prog = loadProg(env);
    for (const i of [0, 2, 3, 5]) m.update(i, prog);
    env.ops.length = 0;
    m.deleteAll();
    expect([...m.keys()]).toEqual([]);
    // Every slot is deleted once; the empty ones (1, 4) are not reported as failed deletes.
    expect(env.ops.filter((o) => o.startsWith("calls delete "))).toEqual(Array(6).fill("calls delete success"));
    m.deleteAll(); // an empty one: every slot passed over
    const arr = env.map({ name: "plain", type: MapType.Array, key: u32, value: u32, maxEntries: 2 });
    arr.openOrCreateUnpinned();
    expect(() => arr.deleteAll()).toThrow(/deleteAll \(delete\) plain: invalid argument/);
  });

  it("ARRAY_OF_MAPS: entries() after a filled slot ends, and the walk dump completes", () => {
    const env = get();
    const inner = env.map({ name: "inner", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    inner.openOrCreateUnpinned();
    const outer = env.map({ name: "outer", type: MapType.ArrayOfMaps, key: u32, value: u32, maxEntries: 4, innerId: inner.getFd() });
    outer.openOrCreateUnpinned();
    outer.update(1, inner.getFd());
    const entries = [...outer.entries({ maxRestarts: 0 })];
    expect(entries.map(([k]) => k)).toEqual([1]);
    expect(entries[0]![1]).toBeGreaterThan(0); // the inner map's id
    const walked: number[] = [];
    const stats = newDumpStats(outer);
    outer.dumpReliablyWithCallback((k) => walked.push(k), stats, { algorithm: "walk" });
    expect(walked).toEqual([1]);
    expect(stats.completed).toBe(true);
  });
});

describe("deleteAll on a SOCKMAP [kernel]", () => {
  const k = kernelUnderTest();
  it.skipIf(k.unavailable !== undefined)("passes over empty slots, whose delete is EINVAL there, not ENOENT", () => {
    const { env, dispose } = makeEnv(k);
    try {
      const m = env.map({ name: "socks", type: MapType.SockMap, key: u32, value: u32, maxEntries: 4 });
      m.openOrCreateUnpinned();
      expect(m.getNextKey(null)).toBe(0); // a SOCKMAP lists every index, empty or not
      expect(() => m.deleteAll()).not.toThrow();
    } finally {
      dispose();
    }
  });
});
