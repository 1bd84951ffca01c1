// The arbitraries: valid specs are ones the kernel creates, invalid ones fail with the errno of
// the rule they break, keys and values have the map's shape, and failing properties shrink to
// small, readable cases.
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PERCPU_HASH, Errno, userValueSize } from "@bpfkit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatInterleaving, interleavingArb } from "../src/arbitraries/interleaving.js";
import { keyArb, valueArb } from "../src/arbitraries/keys.js";
import { FD_VALUE_MAP_TYPES, type MapSpec, SPEC_MUTATIONS, type SpecMutation, breakSpec, mapSpecArb } from "../src/arbitraries/map-spec.js";
import { runProgram } from "../src/diff/run-program.js";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { formatProgram, formatSpec, isOrderFree, keyPoolLimit, programArb } from "../src/arbitraries/program.js";
import { hex, u32le } from "../src/model/bytes.js";
import { checkMapCreate } from "../src/model/create-check.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();

describe("map spec arbitraries", () => {
  it("property: every valid spec is one the model accepts", () => {
    fc.assert(fc.property(mapSpecArb({ zeroSeed: "sometimes" }), (spec) => checkMapCreate(spec) === 0), { numRuns: 500, seed: 1 });
  });

  it("property: every invalid spec breaks a rule the model rejects", () => {
    fc.assert(fc.property(mapSpecArb({ invalid: "always" }), (spec) => checkMapCreate(spec) < 0), { numRuns: 500, seed: 2 });
  });

  const mutations = Object.keys(SPEC_MUTATIONS) as SpecMutation[];
  const base: MapSpec = { mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 };
  it("breaks each rule with the errno its table names (model)", () => {
    for (const m of mutations) expect({ m, r: checkMapCreate(breakSpec(base, m)) }).toEqual({ m, r: -Errno[SPEC_MUTATIONS[m]] });
  });

  it.runIf(kernel.unavailable === undefined)("the kernel creates every valid spec and rejects each broken rule with the tabled errno", () => {
    const d = kernel.create();
    fc.assert(fc.property(mapSpecArb({ zeroSeed: "sometimes" }), (spec) => {
      const fd = d.mapCreate(spec);
      if (fd >= 0) d.close(fd);
      return fd >= 0;
    }), { numRuns: 200, seed: 3 });
    for (const m of mutations) {
      const fd = d.mapCreate(breakSpec(base, m));
      if (fd >= 0) d.close(fd);
      expect({ m, errno: fd < 0 ? -fd : 0 }).toEqual({ m, errno: Errno[SPEC_MUTATIONS[m]] });
    }
  });

  it("every valid spec of maps of maps and PROG_ARRAY is one the simulator and the kernel create (with their inner maps and programs)", () => {
    // runProgram makes the inner maps and programs such a map needs; with no ops it only creates.
    const specs = fc.sample(mapSpecArb({ types: FD_VALUE_MAP_TYPES, zeroSeed: "sometimes" }), { numRuns: 150, seed: 4 });
    const drivers = [createSimDriver(), ...(kernel.unavailable === undefined ? [kernel.create()] : [])];
    for (const d of drivers) {
      const refused = specs.filter((spec) => runProgram(d, { spec, possibleCpus: d.possibleCpus, ops: [] }).lines[0] !== "create ok");
      expect(refused.map(formatSpec), d.kind).toEqual([]);
    }
  });

  it("shrinks a failing spec to the smallest HASH", () => {
    const r = fc.check(fc.property(mapSpecArb(), (s) => s.maxEntries < 5), { seed: 9 });
    expect(r.failed).toBe(true);
    const s = r.counterexample![0];
    expect([s.mapType, s.keySize, s.valueSize, s.maxEntries]).toEqual([1, 1, 1, 5]);
  });
});

describe("key and value arbitraries", () => {
  it("property: keys have the map's shape; arrays reach past the end, LPM past max_prefixlen", () => {
    const arrays = { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 5, mapFlags: 0 };
    const idx = fc.sample(keyArb(arrays), { numRuns: 300, seed: 1 }).map((k) => u32le(k));
    expect(Math.max(...idx)).toBe(6);
    expect(Math.min(...idx)).toBe(0);
    const lpm = { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 5, valueSize: 4, maxEntries: 5, mapFlags: 1 };
    const lens = fc.sample(keyArb(lpm), { numRuns: 300, seed: 2 }).map((k) => { expect(k.length).toBe(5); return u32le(k); });
    expect(Math.max(...lens)).toBe(9);
    // Every data byte is drawn, the last one too, so prefixes that end in it branch both ways.
    const wide = { ...lpm, keySize: 7 };
    const keys = fc.sample(keyArb(wide), { numRuns: 300, seed: 5 });
    for (let i = 4; i < 7; i++) expect(keys.some((k) => k[i] !== 0), `data byte ${i - 4}`).toBe(true);
  });

  it("property: values are the user-space size, per-CPU ones every CPU's 8-aligned slot", () => {
    const spec = { mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 3, maxEntries: 5, mapFlags: 0 };
    fc.assert(fc.property(valueArb(spec, 3), (v) => v.length === 24 && v.length === userValueSize(spec.mapType, 3, 3)), { numRuns: 50 });
  });
});

describe("program arbitraries", () => {
  it("property: LRU programs never use more keys than can stay clear of eviction", () => {
    fc.assert(fc.property(programArb({ possibleCpus: 2, types: [9, 10] }), (p) => {
      const keys = new Set<string>();
      for (const op of p.ops) {
        if ("key" in op && op.key !== null) keys.add(hex(op.key));
        if ("keys" in op) op.keys.forEach((k) => keys.add(hex(k)));
      }
      return keys.size <= keyPoolLimit(p.spec, 2);
    }), { numRuns: 300, seed: 6 });
  });

  it("under lruEviction, pools outgrow the maps and lookups are a program's too (which marks an element)", () => {
    // runDifferential's lruEviction draws: LRU maps of 8 to 16 entries, pools of up to 48 keys.
    const arb = programArb({ possibleCpus: 2, types: [9, 10], lruEviction: true, maxEntries: 16, maxKeys: 48, maxOps: 80 });
    const programs = fc.sample(arb, { numRuns: 300, seed: 7 });
    const distinct = programs.map((p) => new Set(p.ops.flatMap((op) => ("key" in op && op.key !== null ? [hex(op.key)] : []))).size);
    // fast-check's default size kept every pool to 10 keys, which a 16-entry map never outgrows.
    expect(distinct.filter((n) => n > 16).length).toBeGreaterThan(30);
    const lookups = programs.flatMap((p) => p.ops.filter((op) => op.kind === "progLookup"));
    expect(lookups.length).toBeGreaterThan(100);
    expect(formatProgram(programs.find((p) => p.ops.some((op) => op.kind === "progLookup"))!)).toMatch(/\n +\d+\. program lookup [0-9a-f]+/);
    // Elsewhere every lookup stays the syscall's.
    expect(fc.sample(programArb({ possibleCpus: 2, types: [9, 10] }), { numRuns: 100, seed: 7 }).some((p) => p.ops.some((op) => op.kind === "progLookup"))).toBe(false);
  });

  it("property: programs on seeded (order-free) hash maps ask next-key only from NULL and never batch-look-up", () => {
    fc.assert(fc.property(programArb({ possibleCpus: 2, zeroSeed: "never", types: [1, 5, 9, 10] }), (p) =>
      isOrderFree(p.spec) && p.ops.every((o) => o.kind !== "lookupBatch" && (o.kind !== "nextKey" || o.key === null))), { numRuns: 200, seed: 13 });
  });

  it("shrinks a failing program to the one op that matters, printed readably", () => {
    const r = fc.check(fc.property(programArb({ possibleCpus: 2 }), (p) => !p.ops.some((o) => o.kind === "deleteBatch" && o.keys.length > 1)), { seed: 10 });
    expect(r.failed).toBe(true);
    const p = r.counterexample![0];
    expect(p.ops).toHaveLength(1);
    expect(p.spec.mapType).toBe(1);
    expect(formatProgram(p)).toMatch(/^create Hash key 1 value 1 max 1 flags 0x40 \(cpus 2\)\n  1\. delete-batch \[00 00\]$/);
  });
});

describe("interleaving arbitraries", () => {
  it("property: steps are sorted by syscall index, with keys and CPUs in range", () => {
    fc.assert(fc.property(interleavingArb({ keys: 7, possibleCpus: 3 }), (steps) =>
      steps.every((s, i) => (i === 0 || steps[i - 1]!.at <= s.at) && s.ops.length > 0 &&
        s.ops.every((o) => o.key < 7 && o.cpu < 3))), { numRuns: 300, seed: 7 });
  });

  it("a step's `at` is at most maxAt: 48 by default, as documented", () => {
    const most = (o: { maxAt?: number }) =>
      Math.max(...fc.sample(interleavingArb({ keys: 7, possibleCpus: 2, ...o }), { numRuns: 300, seed: 9 }).flat().map((s) => s.at));
    expect(most({})).toBe(48);
    expect(most({ maxAt: 5 })).toBe(5);
  });

  it("a failing property's counterexample reads as the schedule in words, not as JSON", () => {
    // What fc.assert prints under "Counterexample:" in a user's own property test.
    const r = fc.check(fc.property(interleavingArb({ keys: 7, possibleCpus: 2 }),
      (steps) => !steps.some((s) => s.ops.some((o) => o.kind === "delete" && o.key === 3 && o.recent === undefined))), { seed: 8 });
    expect(r.failed).toBe(true);
    expect(fc.stringify(r.counterexample)).toBe("[[\nbefore syscall 0: delete key 3 on cpu 0\n]]");
    expect(fc.stringify(fc.sample(interleavingArb({ keys: 7, possibleCpus: 2, maxSteps: 0 }), 1)[0])).toBe("[]");
    const aimed = [{ at: 2, ops: [{ kind: "update" as const, key: 1, cpu: 1, recent: 1 as const }] }];
    expect(formatInterleaving(aimed)).toBe("before syscall 2: update the key the dump's previous GET_NEXT_KEY returned (key 1 until there is one) on cpu 1");
  });

  it("shrinks to the single datapath move a failure needs", () => {
    const r = fc.check(fc.property(interleavingArb({ keys: 7, possibleCpus: 2 }),
      (steps) => !steps.some((s) => s.ops.some((o) => o.kind === "delete" && o.key === 3))), { seed: 8 });
    expect(r.failed).toBe(true);
    expect(r.counterexample![0]).toEqual([{ at: 0, ops: [{ kind: "delete", key: 3, cpu: 0, recent: undefined }] }]);
  });
});

describe("programs as JSON", () => {
  it("serialise as their spec and readable op lines (for the CLI's --json)", () => {
    const [p] = fc.sample(programArb({ possibleCpus: 2, maxOps: 5 }).filter((q) => q.ops.length > 0), { numRuns: 1, seed: 12 });
    const j = JSON.parse(JSON.stringify(p)) as { spec: MapSpec; ops: string[] };
    expect(j.spec).toEqual(p!.spec);
    expect(j.ops).toEqual(formatProgram(p!).split("\n").slice(1).map((l) => l.replace(/^\s*\d+\. /, "")));
  });
});
