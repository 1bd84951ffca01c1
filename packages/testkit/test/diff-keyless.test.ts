// The differential runner on queues, stacks and bloom filters: mutants of the model's tables (a
// wrong pop order, a wrong overwrite, a wrong bloom hash) are caught and shrunk; a bloom filter
// with a random seed is compared loosely only where it must be; a driver that cannot create these
// maps (a simulator without them) is a difference at the create, not a crash.
import {
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, type Driver, Errno, wrapDriver,
} from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { KEYLESS_MAP_TYPES, isKeylessMapType } from "../src/arbitraries/map-spec.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { BloomTable } from "../src/model/bloom-table.js";
import { jhash } from "../src/model/jhash.js";
import { createModelDriver } from "../src/model/model-driver.js";
import { QueueStackTable } from "../src/model/queue-stack-table.js";
import type { ModelTable } from "../src/model/table.js";

/** The model with `patch` applied to the table of every map it creates. */
function patched(patch: (t: ModelTable) => void): () => Driver {
  return () => {
    const m = createModelDriver();
    return wrapDriver(m, {
      kind: "mutant",
      mapCreate(attr) {
        const fd = m.mapCreate(attr);
        if (fd >= 0) patch(m.tableOf(fd)!);
        return fd;
      },
    });
  };
}

const mutants: Record<string, [number[], (t: ModelTable) => void, RegExp]> = {
  // A queue whose pop takes the newest value, as a stack's does (its peek stays right).
  "a queue that pops its newest value": [[BPF_MAP_TYPE_QUEUE], (t) => {
    if (!(t instanceof QueueStackTable) || t.lifo) return;
    t.lookupAndDelete = (_k, v) => {
      if (t.items.length === 0) return -Errno.ENOENT;
      v.set(t.items.pop()!);
      return 0;
    };
  }, /pop|final/],
  // BPF_EXIST on a full queue or stack that drops the newest value instead of the oldest.
  "an overwrite of the newest value instead of the oldest": [[BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK], (t) => {
    if (!(t instanceof QueueStackTable)) return;
    const update = t.update.bind(t);
    t.update = (k, v, flags) => {
      if (flags === 2 && t.items.length >= t.maxEntries) t.items.pop();
      return update(k, v, flags);
    };
  }, /pop|peek|final/],
  // A bloom filter hashing with seed + i + 1: every added value still answers 0, so only false
  // positives (never-added values whose bits all happen to be set) tell it from the kernel's.
  "a bloom filter hashing with seed + i + 1": [[BPF_MAP_TYPE_BLOOM_FILTER], (t) => {
    if (!(t instanceof BloomTable)) return;
    t.bitsOf = (v) => Array.from({ length: t.nrHashFuncs }, (_, i) => (jhash(v, t.seed + i + 1) & t.mask) >>> 0);
  }, /query|final/],
};

describe("differential runner: keyless mutants of the model are caught and shrunk", () => {
  for (const [name, [types, patch, step]] of Object.entries(mutants)) {
    it(`finds "${name}" and shrinks it`, async () => {
      const program = { types, zeroSeed: "sometimes" as const };
      const s = await runDifferential({ left: patched(patch), right: "model", runs: 500, seed: 42, program });
      expect(s.ok).toBe(false);
      const c = s.divergences[0]!;
      expect(c.divergence.left).not.toMatch(/throws/);
      expect(c.divergence.what).toMatch(step);
      expect(c.program.ops.length).toBeLessThanOrEqual(12);
      // The seed and path replay it.
      const again = await runDifferential({ left: patched(patch), right: "model", runs: 1, seed: c.seed, path: c.path, program });
      expect(again.divergences[0]?.divergence).toEqual(c.divergence);
    });
  }

  it("a wrong bloom hash goes unseen without ZERO_SEED: a never-added value may then answer either way", async () => {
    const [, patch] = mutants["a bloom filter hashing with seed + i + 1"]!;
    const s = await runDifferential({ left: patched(patch), right: "model", runs: 500, seed: 42, program: { types: [BPF_MAP_TYPE_BLOOM_FILTER], zeroSeed: "never" } });
    expect(s.ok).toBe(true);
  });

  it("but without ZERO_SEED, an added value that answers ENOENT is still a difference", async () => {
    const forgetful = patched((t) => {
      if (!(t instanceof BloomTable)) return;
      // Answers each add as the kernel does, and keeps none of its bits.
      const update = t.update.bind(t);
      t.update = (k, v, flags) => {
        const r = update(k, v, flags);
        t.bits.clear();
        return r;
      };
    });
    const s = await runDifferential({ left: forgetful, right: "model", runs: 300, seed: 42, program: { types: [BPF_MAP_TYPE_BLOOM_FILTER], zeroSeed: "never" } });
    expect(s.ok).toBe(false);
    expect(s.divergences[0]!.divergence.left).toMatch(/ENOENT/);
    expect(s.divergences[0]!.divergence.right).toMatch(/ok/);
  });
});

describe("differential runner: a driver without keyless maps", () => {
  it("is a difference at the create (EINVAL against ok), reported and shrunk like any other", async () => {
    // As the simulator was before it had these types: every keyless create is EINVAL.
    const without = () => {
      const m = createModelDriver();
      return wrapDriver(m, { kind: "without", mapCreate: (a) => (isKeylessMapType(a.mapType) ? -Errno.EINVAL : m.mapCreate(a)) });
    };
    const s = await runDifferential({ left: without, right: "model", runs: 100, seed: 5, program: { types: KEYLESS_MAP_TYPES } });
    expect(s.ok).toBe(false);
    const d = s.divergences[0]!.divergence;
    expect([d.what, d.left, d.right]).toEqual(["create", "create EINVAL", "create ok"]);
    expect(s.divergences[0]!.program.ops).toEqual([]);
    expect(s.report).toMatch(/without vs model: DIFFER/);
  });
});
