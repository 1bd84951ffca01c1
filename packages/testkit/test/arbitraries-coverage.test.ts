// The arbitraries promise shapes (every map type, flag, edge size, op and datapath move); a draw
// that silently stopped producing one would leave the fuzzers blind to it while every property
// still passed. These tests sample each arbitrary and check that everything promised turns up.
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY,
  BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_F_NUMA_NODE, BPF_F_MMAPABLE, BPF_F_INNER_MAP, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_NOEXIST, Errno, isHashMapType, isPerCpuMapType,
} from "@bpfkit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { interleavingArb } from "../src/arbitraries/interleaving.js";
import { dumpCaseArb } from "../src/dump-fuzz/dump-case.js";
import { FD_VALUE_MAP_TYPES, KEYLESS_MAP_TYPES, SPEC_MAP_TYPES, isKeylessMapType, isMapInMapType, mapSpecArb } from "../src/arbitraries/map-spec.js";
import { type Program } from "../src/arbitraries/program.js";
import { runProgram } from "../src/diff/run-program.js";
import { createModelDriver } from "../src/model/model-driver.js";
import { type Op, formatOp, formatProgram, formatSpec, keyPoolLimit, programArb } from "../src/arbitraries/program.js";
import { NUMA_NO_NODE } from "../src/arbitraries/wide-spec.js";
import { valueFromSeed } from "../src/arbitraries/keys.js";
import { mmapableFor, mmapRange } from "../src/arbitraries/wide-ops.js";
import { type RingDraw, ringOps, ringSpec } from "../src/arbitraries/ring-ops.js";
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
    expect(set(ops.map((o) => o.kind))).toEqual(set(["update", "lookup", "delete", "nextKey", "lookupAndDelete", "lookupBatch", "updateBatch", "deleteBatch", "walk", "freeze", "reopen",
      "push", "peek", "pop", "query"]));
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

describe("keyless programs: queues and stacks fill, overwrite, wrap and drain; bloom filters meet values added and not", () => {
  const programs = fc.sample(programArb({ possibleCpus: 2, types: KEYLESS_MAP_TYPES, zeroSeed: "sometimes" }), { numRuns: 600, seed: 42 });
  /** Each op of each program with the model's answer to it (the model answers as the kernel does). */
  const answered = programs.map((p) => {
    const lines = runProgram(createModelDriver(), p).lines;
    return { p, steps: p.ops.map((op, i) => ({ op, line: lines[2 + i] ?? "" })), final: lines[lines.length - 1]! };
  });
  const ofType = (t: number) => answered.filter((a) => a.p.spec.mapType === t);
  const queues = answered.filter((a) => a.p.spec.mapType !== BPF_MAP_TYPE_BLOOM_FILTER);

  it("every keyless type, keyless specs (key 0), queues and stacks of 1 to 8, bloom filters of 1 to 16 with ZERO_SEED set and clear and 1 to 7 hashes", () => {
    expect(set(programs.map((p) => p.spec.mapType))).toEqual(set(KEYLESS_MAP_TYPES));
    expect(set(programs.map((p) => p.spec.keySize))).toEqual([0]);
    expect(set(queues.map((a) => a.p.spec.maxEntries))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const blooms = ofType(BPF_MAP_TYPE_BLOOM_FILTER).map((a) => a.p.spec);
    // 64 to 256 bits (bloomBitsetMask: entries × hashes × 7/5).
    expect([Math.min(...blooms.map((s) => s.maxEntries)), Math.max(...blooms.map((s) => s.maxEntries))]).toEqual([1, 16]);
    expect(set(blooms.map((s) => (s.mapFlags & BPF_F_ZERO_SEED) !== 0))).toEqual([false, true]);
    // Every hash count from 1 to 7 in map_extra, and none given (the kernel's 5).
    expect(set(blooms.map((s) => String(s.mapExtra ?? "none")))).toEqual(["1", "2", "3", "4", "5", "6", "7", "none"]);
  });

  it("the keyless ops, every push flag, and the refused commands (delete, next-key, batches, walks) too", () => {
    const kinds = answered.flatMap((a) => a.steps.map((s) => s.op.kind));
    expect(set(kinds)).toEqual(set(["push", "peek", "pop", "query", "delete", "nextKey", "lookupBatch", "updateBatch", "deleteBatch", "walk", "freeze", "reopen"]));
    const pushFlags = answered.flatMap((a) => a.steps.flatMap((s) => (s.op.kind === "push" ? [s.op.flags] : [])));
    expect(set(pushFlags)).toEqual(set([BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3, BPF_F_LOCK, 8]));
    // Pops outnumber nothing-doing refusals on queues and stacks, so programs drain as they fill.
    const q = queues.flatMap((a) => a.steps.map((s) => s.op.kind));
    expect(q.filter((k) => k === "pop").length).toBeGreaterThan(q.filter((k) => k === "delete" || k === "nextKey").length);
  });

  it("queues and stacks get full (E2BIG), overwrite their oldest (EXIST on a full map), wrap their ring and drain to ENOENT", () => {
    const full = (a: (typeof answered)[number]) => a.steps.some((s) => s.op.kind === "push" && s.line === "E2BIG");
    // A push with BPF_EXIST that succeeded right after one that found the map full.
    const overwrite = (a: (typeof answered)[number]) => a.steps.some((s, i) => s.op.kind === "push" && s.op.flags === BPF_EXIST && s.line === "ok" &&
      a.steps.slice(0, i).reverse().find((t) => t.op.kind === "push" || t.op.kind === "pop")?.line === "E2BIG");
    // The ring has max_entries + 1 slots: that many pushes take its head round.
    const wrap = (a: (typeof answered)[number]) => a.steps.filter((s) => s.op.kind === "push" && s.line === "ok").length > a.p.spec.maxEntries;
    const drained = (a: (typeof answered)[number]) => a.steps.some((s, i) => s.op.kind === "pop" && s.line.startsWith("ENOENT") && a.steps.slice(0, i).some((t) => t.op.kind === "pop" && t.line.startsWith("ok")));
    for (const t of [BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK]) {
      const of = ofType(t);
      expect([of.some(full), of.some(overwrite), of.some(wrap), of.some(drained)], `type ${t}`).toEqual([true, true, true, true]);
      // And the final drain hands back what is left, in order.
      expect(of.some((a) => /pops \[\w+ \w+.*\] ENOENT$/.test(a.final)), `type ${t}`).toBe(true);
    }
  });

  it("bloom filters query values they added and values they did not, with answers both ways under ZERO_SEED", () => {
    const zero = ofType(BPF_MAP_TYPE_BLOOM_FILTER).filter((a) => a.p.spec.mapFlags & BPF_F_ZERO_SEED);
    const hex = (v: Uint8Array) => Buffer.from(v).toString("hex");
    let withFalsePositives = 0;
    const queries = zero.flatMap((a) => {
      const added = new Set<string>();
      const during = a.steps.flatMap((s) => {
        if (s.op.kind === "push" && s.line === "ok") added.add(hex(s.op.value));
        return s.op.kind === "query" ? [`${added.has(hex(s.op.value)) ? "added" : "never added"} ${s.line}`] : [];
      });
      // The final line queries the program's values and values 0 to 31 after every add.
      const final = [...a.final.matchAll(/(\w+)=(\w+)/g)].map(([, v, r]) => `${added.has(v!) ? "added" : "never added"} ${r} at the end`);
      if (final.includes("never added ok at the end")) withFalsePositives++;
      return [...during, ...final];
    });
    // (Besides EINVAL for bad flags and EPERM through write-only fds.)
    expect(set(queries)).toEqual(expect.arrayContaining(["added ok", "never added ENOENT", "added ok at the end", "never added ENOENT at the end", "never added ok at the end"]));
    // False positives, the answers that show the hash, in one program in twenty and more.
    expect(withFalsePositives).toBeGreaterThan(zero.length / 20);
    expect(queries.filter((q) => q.startsWith("added ENOENT"))).toEqual([]);
    // With a random seed, a never-added value's answer is not compared (either is right) and says so.
    const random = ofType(BPF_MAP_TYPE_BLOOM_FILTER).filter((a) => !(a.p.spec.mapFlags & BPF_F_ZERO_SEED));
    expect(random.some((a) => a.steps.some((s) => s.op.kind === "query" && s.line.startsWith("ok or ENOENT (never added")))).toBe(true);
    expect(random.some((a) => a.steps.some((s) => s.op.kind === "query" && s.line === "ok"))).toBe(true);
  });

  it("keyless types get a fifth of the default programs: the keyed ones keep most of the runs", () => {
    const all: Program[] = fc.sample(programArb({ possibleCpus: 2 }), { numRuns: 1000, seed: 43 });
    const share = all.filter((p) => isKeylessMapType(p.spec.mapType)).length / all.length;
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.28);
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

describe("wide programs: where the plain draws never go turns up", () => {
  const types = [...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES];
  const wide = fc.sample(programArb({ possibleCpus: 2, types, wide: true }), { numRuns: 800, seed: 39 });
  const specs = fc.sample(mapSpecArb({ types, wide: true }), { numRuns: 4000, seed: 41 });
  const ops = wide.flatMap((p) => [...p.ops]);
  const u32At0 = (k: Uint8Array) => new DataView(k.buffer, k.byteOffset).getUint32(0, true);

  it("map flags: NUMA_NODE with nodes 0, 1 and NUMA_NO_NODE, MMAPABLE and INNER_MAP on arrays, unknown bits, two access flags", () => {
    expect(set(specs.filter((s) => s.mapFlags & BPF_F_NUMA_NODE).map((s) => s.numaNode))).toEqual(set([0, 1, NUMA_NO_NODE]));
    const arrays = specs.filter((s) => s.mapType === BPF_MAP_TYPE_ARRAY);
    for (const flag of [BPF_F_MMAPABLE, BPF_F_INNER_MAP]) expect(arrays.some((s) => s.mapFlags & flag), `flag 0x${flag.toString(16)}`).toBe(true);
    expect(specs.some((s) => s.mapFlags >= 1 << 19)).toBe(true);
    const access = [BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG];
    expect(specs.some((s) => access.filter((a) => s.mapFlags & a).length >= 2)).toBe(true);
  });

  it("two broken rules at once", () => {
    const broken = fc.sample(mapSpecArb({ invalid: "always", wide: true }), { numRuns: 2000, seed: 40 });
    // Bit 31 among the unknown flags stays a u32 through the mutations' |= and &=.
    expect(broken.some((s) => s.mapFlags >= 2 ** 31)).toBe(true);
    expect(broken.filter((s) => !(Number.isInteger(s.mapFlags) && s.mapFlags >= 0 && s.mapFlags <= 0xffffffff))).toEqual([]);
    // A HASH that breaks two type-changing rules ends as the second one's type with both faults.
    expect(broken.some((s) => s.keySize === 0 && s.mapFlags & BPF_F_RDONLY && s.mapFlags & BPF_F_WRONLY)).toBe(true);
    expect(broken.filter((s) => checkMapCreate(s) === 0)).toEqual([]);
  });

  it("sizes at the limits: wide keys, per-CPU slots at 32768, elements at kmalloc's limit, huge max_entries, many entries", () => {
    expect(specs.some((s) => isHashMapType(s.mapType) && s.keySize >= 256)).toBe(true);
    expect(specs.some((s) => s.mapType === BPF_MAP_TYPE_LPM_TRIE && s.keySize === 260)).toBe(true);
    const slots = specs.filter((s) => isPerCpuMapType(s.mapType) && s.valueSize > 32000).map((s) => s.valueSize);
    expect(slots).toContain(32769);
    expect(slots.some((v) => v >= 32760 && v <= 32768)).toBe(true);
    expect(specs.some((s) => s.mapType === BPF_MAP_TYPE_HASH && s.valueSize > 4_000_000)).toBe(true);
    // Elements at kmalloc's limit only past it (each insert ENOMEM, nothing allocated): one that
    // fits is a 4 MiB kmalloc, which a fragmented host may refuse, and the kernel's answer would vary.
    const r8 = (n: number) => Math.ceil(n / 8) * 8;
    const kmallocd = specs.filter((s) => s.valueSize > 4_000_000 && s.valueSize < 4 << 20 &&
      (s.mapType === BPF_MAP_TYPE_LPM_TRIE || (s.mapType === BPF_MAP_TYPE_HASH && (s.mapFlags & BPF_F_NO_PREALLOC) !== 0)));
    expect(set(kmallocd.map((s) => s.mapType))).toEqual(set([BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE]));
    const element = (s: (typeof specs)[number]) => s.mapType === BPF_MAP_TYPE_HASH ? 48 + r8(s.keySize) + r8(s.valueSize) + 8 : 24 + s.keySize - 4 + s.valueSize + 8;
    expect(kmallocd.filter((s) => element(s) <= 4 << 20)).toEqual([]);
    expect(kmallocd.some((s) => element(s) === (4 << 20) + 1)).toBe(true);
    expect(specs.some((s) => s.mapType === BPF_MAP_TYPE_LPM_TRIE && s.maxEntries === 0xffffffff)).toBe(true);
    // Keyless values only past the limit, where the create is E2BIG before anything is allocated.
    const keyless = specs.filter((s) => isKeylessMapType(s.mapType) && s.valueSize > 64);
    expect(set(keyless.map((s) => s.valueSize))).toEqual([(4 << 20) + 1, (4 << 20) + 8]);
    expect(keyless.filter((s) => checkMapCreate(s) !== -Errno.E2BIG && checkMapCreate(s) !== -Errno.EINVAL)).toEqual([]);
    expect(specs.some((s) => s.mapType === BPF_MAP_TYPE_ARRAY && s.maxEntries === 1024)).toBe(true);
    // Never a map of more than a few MiB: only creates that fail, or allocate nothing up front, are bigger.
    const big = specs.filter((s) => s.maxEntries * (s.keySize + s.valueSize) > 8 << 20);
    expect(big.filter((s) => checkMapCreate(s) === 0 && s.mapType !== BPF_MAP_TYPE_LPM_TRIE && !(s.mapFlags & BPF_F_NO_PREALLOC))).toEqual([]);
  });

  it("inner maps: templates of several types, flags and sizes; candidates beyond the three twins", () => {
    const inner = specs.filter((s) => s.inner !== undefined);
    expect(set(inner.map((s) => s.inner!.mapType)).length).toBeGreaterThanOrEqual(5);
    expect(inner.some((s) => s.inner!.mapFlags & BPF_F_INNER_MAP)).toBe(true);
    expect(set(inner.flatMap((s) => s.innerVariants ?? []))).toEqual(set(["max+1", "key+4", "flags", "otherType", "innerMapMax+4"]));
  });

  it("ops: u32-edge indexes and prefix lengths, flags past u32, batches past 12, pins, bad open flags, foreign tokens, map fds as values", () => {
    expect(set(ops.map((o) => o.kind))).toEqual(set(["update", "lookup", "delete", "nextKey", "lookupAndDelete", "lookupBatch", "updateBatch", "deleteBatch", "walk", "freeze", "reopen",
      "push", "peek", "pop", "query", "pin", "objGet", "freezeOther", "foreignToken", "fdValue", "otherUpdate", "mmap"]));
    const keyed = ops.filter((o): o is Extract<Op, { key: Uint8Array | null }> => "key" in o && o.key !== null && o.key.length >= 4);
    expect(keyed.some((o) => u32At0(o.key!) === 0xffffffff)).toBe(true);
    expect(keyed.some((o) => u32At0(o.key!) === 0x80000000)).toBe(true);
    const flags = ops.flatMap((o) => (o.kind === "update" || o.kind === "lookup" ? [o.flags] : o.kind === "updateBatch" ? [o.elemFlags] : []));
    expect(flags.some((f) => f > 0xffffffff && f <= Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(flags.some((f) => f < 0 || f > Number.MAX_SAFE_INTEGER || !Number.isInteger(f))).toBe(true);
    expect(ops.some((o) => o.kind === "lookupBatch" && o.count > 12)).toBe(true);
    expect(ops.some((o) => o.kind === "updateBatch" && o.keys.length > 12)).toBe(true);
    expect(set(ops.filter((o) => o.kind === "reopen").map((o) => (o as { openFlags: number }).openFlags)).length).toBeGreaterThan(3);
    expect(ops.filter((o) => o.kind === "objGet").some((o) => (o as { fileFlags: number }).fileFlags & ~(BPF_F_RDONLY | BPF_F_WRONLY))).toBe(true);
    // mmap: of an mmapable array, writable and kept (a later freeze meets it), and every range of mmapRange.
    const maps = wide.flatMap((p) => p.ops.filter((o) => o.kind === "mmap").map((o) => ({ spec: p.spec, o: o as Extract<Op, { kind: "mmap" }> })));
    expect(maps.some(({ spec, o }) => spec.mapType === BPF_MAP_TYPE_ARRAY && (spec.mapFlags & BPF_F_MMAPABLE) !== 0 && o.writable && o.keep)).toBe(true);
    expect(set(maps.map(({ o }) => o.offset)).sort()).toEqual([0, 1, 4096]);
    expect(maps.some(({ o }) => o.length === 0)).toBe(true);
    // Some map at the second page of a map that has one: else no mapping at an offset ever succeeds.
    const pagesOf = (spec: (typeof maps)[number]["spec"]) => Math.ceil((spec.maxEntries * Math.ceil(spec.valueSize / 8) * 8) / 4096) * 4096;
    expect(maps.some(({ spec, o }) => spec.mapType === BPF_MAP_TYPE_ARRAY && (spec.mapFlags & BPF_F_MMAPABLE) !== 0 &&
      o.offset === 4096 && o.length > 0 && o.offset + Math.ceil(o.length / 4096) * 4096 <= pagesOf(spec))).toBe(true);
  });

  it("underneath, the plain program the seed always gave: wide draws come after all the plain ones", () => {
    const plain = fc.sample(programArb({ possibleCpus: 2, types }), { numRuns: 800, seed: 39 });
    const same = wide.filter((p, i) => formatProgram(p) === formatProgram(plain[i]!)).length;
    // Most get something wide (a flag, a size, an inner map, or an op); some nothing at all.
    expect(same).toBeGreaterThan(wide.length / 12);
    // Where only ops were added, the plain ops are all there, in order.
    wide.forEach((p, i) => {
      const q = plain[i]!;
      if (formatSpec(p.spec) !== formatSpec(q.spec)) return;
      const lines = p.ops.map(formatOp);
      let j = 0;
      for (const l of q.ops.map(formatOp)) {
        j = lines.indexOf(l, j);
        expect(j, `${formatProgram(q)}\nin\n${formatProgram(p)}`).toBeGreaterThanOrEqual(0);
        j++;
      }
    });
  });
});

describe("the mmap draw's ranges and mappable specs", () => {
  type Spec = Parameters<typeof mmapRange>[0];
  const ask = (retype: boolean) => [{ r: { kind: "mmap" as const, range: 0, writable: true, k: 0, v: 0, keep: true, mmapable: true, retype } }];

  it("mmapRange: the values, their whole pages, a page past them, the second page, nothing, off a page, one byte, from the second page", () => {
    // 300 values of 12 bytes stride 16: 4800 bytes, two pages.
    const spec = { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 12, maxEntries: 300, mapFlags: BPF_F_MMAPABLE } as Spec;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((r) => mmapRange(spec, r))).toEqual([
      { offset: 0, length: 4800 }, { offset: 0, length: 8192 }, { offset: 0, length: 12288 }, { offset: 4096, length: 4096 },
      { offset: 0, length: 0 }, { offset: 1, length: 4800 }, { offset: 0, length: 1 }, { offset: 4096, length: 4800 },
      { offset: 0, length: 4800 },
    ]);
  });

  it("with 64 KiB pages (an arm64 kernel) the ranges and the second page's values are counted in them", () => {
    const spec = { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 12, maxEntries: 300, mapFlags: BPF_F_MMAPABLE } as Spec;
    const P = 65536;
    expect([1, 2, 3, 7].map((r) => mmapRange(spec, r, P))).toEqual([
      { offset: 0, length: P }, { offset: 0, length: 2 * P }, { offset: P, length: P }, { offset: P, length: 4800 },
    ]);
    // A hash retyped for a range at the second page gets two 64 KiB pages of 8-byte values.
    const secondPage = [{ r: { kind: "mmap" as const, range: 3, writable: true, k: 0, v: 0, keep: true, mmapable: true, retype: true } }];
    const hash = { mapType: 1, keySize: 8, valueSize: 8, maxEntries: 5, mapFlags: 0 } as Spec;
    expect(mmapableFor(hash, secondPage, true, P).maxEntries).toBe((2 * P) / 8);
    expect(mmapableFor(hash, secondPage, true).maxEntries).toBe((2 * 4096) / 8);
  });

  it("programArb refuses a pageSize no kernel has (its draws would scale to fractional rings)", () => {
    for (const pageSize of [1000, 2048, 6144]) {
      expect(() => programArb({ possibleCpus: 2, pageSize })).toThrow(`programArb: options.pageSize must be a power of 2 of at least 4096, got ${pageSize}`);
    }
    expect(() => programArb({ possibleCpus: 2, pageSize: 16384 })).not.toThrow();
  });

  it("a ring program's sizes and ring-sized reader steps scale with the page; record-sized ones stay", () => {
    const P = 65536, k = P / 4096;
    const draw = (broken: RingDraw["broken"]): RingDraw => ({ size: 8192, numa: false, broken, ops: [] });
    expect([null, "size12288", "size2048"].map((b) => ringSpec(draw(b as RingDraw["broken"]), P).maxEntries)).toEqual([8192 * k, 12288 * k, 2048 * k]);
    expect(ringSpec(draw(null)).maxEntries).toBe(8192);
    const spec = ringSpec(draw(null), P);
    const ops = ringOps(spec, [
      { kind: "rbConsume", to: { by: "producer", d: 4096, lessRing: false } },
      { kind: "rbConsume", to: { by: "producer", d: -8, lessRing: true } },
      { kind: "rbConsume", to: { by: "at", pos: 4096 } },
      { kind: "rbConsume", to: { by: "at", pos: 3 } },
      { kind: "rbConsume", to: { by: "records", n: 2 } },
      { kind: "mmap", range: 3, writable: false, at: 0, keep: false },
    ], P);
    expect(ops.map((o) => (o.kind === "rbConsume" ? o.to : o.kind === "mmap" ? [o.offset, o.length] : o.kind))).toEqual([
      { by: "producer", d: 4096 * k, lessRing: false }, { by: "producer", d: -8, lessRing: true },
      { by: "at", pos: P }, { by: "at", pos: 3 }, { by: "records", n: 2 }, [P, P],
    ]);
  });

  it("mmapableFor: an ARRAY gains BPF_F_MMAPABLE with its flags unsigned; another map becomes an ARRAY only where asked and allowed", () => {
    const array = { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0x8000_0000 } as Spec;
    expect(mmapableFor(array, ask(false), true).mapFlags).toBe(0x8000_0400);
    const hash = { mapType: 1, keySize: 8, valueSize: 300, maxEntries: 5000, mapFlags: BPF_F_RDONLY | 0x1 } as Spec;
    expect(mmapableFor(hash, ask(true), true)).toEqual(
      { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1100, mapFlags: BPF_F_RDONLY | BPF_F_MMAPABLE });
    expect(mmapableFor(hash, ask(true), false)).toBe(hash);
    expect(mmapableFor(hash, ask(false), true)).toBe(hash);
    expect(mmapableFor(hash, [], true)).toBe(hash);
  });
});
