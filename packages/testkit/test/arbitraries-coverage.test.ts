// The arbitraries promise shapes (every map type, flag, edge size, op and datapath move); a draw
// that silently stopped producing one would leave the fuzzers blind to it while every property
// still passed. These tests sample each arbitrary and check that everything promised turns up.
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY,
  BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_NOEXIST, Errno, isHashMapType,
} from "@bpfkit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { interleavingArb } from "../src/arbitraries/interleaving.js";
import { dumpCaseArb } from "../src/dump-fuzz/dump-case.js";
import { FD_VALUE_MAP_TYPES, SPEC_MAP_TYPES, isMapInMapType, mapSpecArb } from "../src/arbitraries/map-spec.js";
import { type Op, keyPoolLimit, programArb } from "../src/arbitraries/program.js";
import { valueFromSeed } from "../src/arbitraries/keys.js";
import { checkMapCreate } from "../src/model/create-check.js";

const set = <T>(xs: Iterable<T>) => [...new Set(xs)].sort();

describe("map spec arbitrary: what it promises turns up", () => {
  const specs = fc.sample(mapSpecArb({ types: [...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES], zeroSeed: "sometimes" }), { numRuns: 3000, seed: 31 });

  it("every map type, and the hash flags both set and clear", () => {
    expect(set(specs.map((s) => s.mapType))).toEqual(set([...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES]));
    const hash = specs.filter((s) => isHashMapType(s.mapType) && !isMapInMapType(s.mapType));
    for (const flag of [BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_ZERO_SEED]) {
      expect(set(hash.map((s) => (s.mapFlags & flag) !== 0)), `flag 0x${flag.toString(16)}`).toEqual([false, true]);
    }
  });

  it("hash maps get BPF_F_ZERO_SEED always by default, never with zeroSeed \"never\"", () => {
    const hashFlags = (o: Parameters<typeof mapSpecArb>[0]) => fc.sample(mapSpecArb(o), { numRuns: 300, seed: 37 })
      .filter((s) => isHashMapType(s.mapType)).map((s) => (s.mapFlags & BPF_F_ZERO_SEED) !== 0);
    expect(set(hashFlags({}))).toEqual([true]);
    expect(set(hashFlags({ zeroSeed: "never" }))).toEqual([false]);
  });

  it("each access flag, and names given and not", () => {
    const flags = specs.map((s) => s.mapFlags);
    for (const flag of [BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG]) {
      expect(flags.some((f) => (f & flag) !== 0), `flag 0x${flag.toString(16)}`).toBe(true);
    }
    expect(set(specs.map((s) => s.mapName))).toEqual(["fuzz_map", undefined]);
  });

  it("the edge sizes: key 1 to 16, value 1 to 24, max_entries 1 to 64 (LRU from 8)", () => {
    const hash = specs.filter((s) => s.mapType === BPF_MAP_TYPE_HASH);
    expect([Math.min(...hash.map((s) => s.keySize)), Math.max(...hash.map((s) => s.keySize))]).toEqual([1, 16]);
    expect([Math.min(...hash.map((s) => s.valueSize)), Math.max(...hash.map((s) => s.valueSize))]).toEqual([1, 24]);
    expect([Math.min(...hash.map((s) => s.maxEntries)), Math.max(...hash.map((s) => s.maxEntries))]).toEqual([1, 64]);
    const lru = specs.filter((s) => s.mapType === BPF_MAP_TYPE_LRU_HASH);
    expect([Math.min(...lru.map((s) => s.maxEntries)), Math.max(...lru.map((s) => s.maxEntries))]).toEqual([8, 64]);
  });

  it("maps of maps get both inner templates, a HASH and an ARRAY", () => {
    expect(set(specs.filter((s) => s.inner !== undefined).map((s) => s.inner!.mapType))).toEqual([BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY].sort());
  });

  it("invalid specs break rules of every errno the table names, and 'sometimes' mixes valid ones in", () => {
    const broken = fc.sample(mapSpecArb({ invalid: "always" }), { numRuns: 1000, seed: 32 });
    expect(set(broken.map((s) => checkMapCreate(s)))).toEqual(set([-Errno.EINVAL, -Errno.ENOTSUPP, -Errno.E2BIG]));
    const mixed = fc.sample(mapSpecArb({ invalid: "sometimes" }), { numRuns: 500, seed: 33 }).map((s) => checkMapCreate(s) === 0);
    expect(set(mixed)).toEqual([false, true]);
    expect(mixed.filter(Boolean).length).toBeGreaterThan(mixed.length / 2);
  });
});

describe("program arbitrary: every op and flag it promises turns up", () => {
  const ops: Op[] = fc.sample(programArb({ possibleCpus: 2 }), { numRuns: 400, seed: 34 }).flatMap((p) => [...p.ops]);

  it("every op kind", () => {
    expect(set(ops.map((o) => o.kind))).toEqual(set(["update", "lookup", "delete", "nextKey", "lookupAndDelete", "lookupBatch", "updateBatch", "deleteBatch", "walk", "freeze", "reopen"]));
    const noFreeze = fc.sample(programArb({ possibleCpus: 2, freeze: false }), { numRuns: 200, seed: 35 }).flatMap((p) => [...p.ops]);
    expect(noFreeze.some((o) => o.kind === "freeze")).toBe(false);
  });

  it("update flags ANY, NOEXIST, EXIST, F_LOCK and invalid ones; lookup and batch flags; reopen flags", () => {
    const of = <K extends Op["kind"]>(kind: K) => ops.filter((o): o is Extract<Op, { kind: K }> => o.kind === kind);
    expect(set(of("update").map((o) => o.flags))).toEqual(set([BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3, BPF_F_LOCK, 8]));
    expect(set(of("lookup").map((o) => o.flags))).toEqual(set([0, 1, BPF_F_LOCK]));
    expect(set(of("updateBatch").map((o) => o.elemFlags))).toEqual(set([0, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK]));
    expect(set(of("reopen").map((o) => o.openFlags))).toEqual(set([0, BPF_F_RDONLY, BPF_F_WRONLY]));
    expect(set(of("nextKey").map((o) => o.key === null))).toEqual([false, true]);
    expect(set(of("lookupBatch").map((o) => `${o.restart}/${o.del}`))).toEqual(["false/false", "false/true", "true/false", "true/true"]);
  });

  it("update batches carry a value per key, numbered on from the first", () => {
    const batches = ops.filter((o): o is Extract<Op, { kind: "updateBatch" }> => o.kind === "updateBatch" && o.keys.length > 1);
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) {
      expect(b.values.length).toBe(b.keys.length);
      expect(b.values[1]![0]).toBe((b.values[0]![0]! + 1) & 0xff);
    }
  });
});

describe("program values and key pools", () => {
  it("a value numbers every byte on from its seed, through every CPU's slot and its padding", () => {
    // Bytes that differ tell a driver that swaps CPUs' slots, or bytes within one, from a right one.
    const v = valueFromSeed({ mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 }, 2, 250);
    expect(Array.from(v)).toEqual([250, 251, 252, 253, 254, 255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("an LRU program's keys are a quarter of what one CPU's LRU list reaches, so it never meets eviction; else unbounded", () => {
    const lru = (mapType: number, maxEntries: number, mapFlags = 0) => ({ mapType, keySize: 4, valueSize: 4, maxEntries, mapFlags });
    expect(keyPoolLimit(lru(BPF_MAP_TYPE_LRU_HASH, 64), 2)).toBe(16);
    expect(keyPoolLimit(lru(BPF_MAP_TYPE_LRU_PERCPU_HASH, 64), 2)).toBe(16);
    // Per-CPU LRU lists: each CPU reaches max_entries / CPUs (30 on 3 CPUs: 10 each).
    expect(keyPoolLimit(lru(BPF_MAP_TYPE_LRU_HASH, 64, BPF_F_NO_COMMON_LRU), 2)).toBe(8);
    expect(keyPoolLimit(lru(BPF_MAP_TYPE_LRU_HASH, 30, BPF_F_NO_COMMON_LRU), 3)).toBe(2);
    expect(keyPoolLimit(lru(BPF_MAP_TYPE_LRU_HASH, 3), 2)).toBe(1);
    expect(keyPoolLimit(lru(BPF_MAP_TYPE_LRU_HASH, 64), 2, true)).toBe(Infinity);
    expect(keyPoolLimit(lru(BPF_MAP_TYPE_HASH, 64), 2)).toBe(Infinity);
  });
});

describe("interleaving arbitrary: every datapath move turns up", () => {
  it("deletes, updates and lookups, on every CPU, aimed at the dump's last and previous key and not", () => {
    const ops = fc.sample(interleavingArb({ keys: 5, possibleCpus: 3 }), { numRuns: 300, seed: 36 }).flat().flatMap((s) => [...s.ops]);
    expect(set(ops.map((o) => o.kind))).toEqual(["delete", "lookup", "update"]);
    expect(set(ops.map((o) => o.cpu))).toEqual([0, 1, 2]);
    expect(set(ops.map((o) => o.key))).toEqual([0, 1, 2, 3, 4]);
    expect(set(ops.map((o) => String(o.recent)))).toEqual(["0", "1", "undefined"]);
  });
});

describe("dump case arbitrary", () => {
  it("an array case holds all its max_entries keys before the dump, and no fresh ones (an array's datapath cannot insert)", () => {
    const cases = fc.sample(dumpCaseArb({ possibleCpus: 2, types: [BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY] }), { numRuns: 100, seed: 38 });
    expect(cases.filter((c) => c.initial !== c.spec.maxEntries || c.fresh !== 0)).toEqual([]);
    // Hash cases do get fresh keys for the datapath to insert.
    const hash = fc.sample(dumpCaseArb({ possibleCpus: 2, types: [BPF_MAP_TYPE_HASH] }), { numRuns: 100, seed: 38 });
    expect(hash.some((c) => c.fresh > 0)).toBe(true);
  });
});
