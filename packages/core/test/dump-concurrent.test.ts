// Dumps while something else changes the map. On the kernel a worker thread with its own fd
// (MAP_GET_FD_BY_ID) inserts and deletes keys while the main thread dumps: Cilium's
// TestDumpReliablyWithCallback, then a harder mix with hundreds of churn keys present at once.
// The guarantees checked (dump-reliable.ts): the batch dump delivers every key present for the
// whole dump exactly once and churn keys at most once; the v1.7 walk delivers every stable key
// at least once or gives up with MaxLookupError; neither delivers a key that was never there.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, MaxLookupError, newDumpStats, u32, type BpfMap, type DumpAlgorithmChoice } from "@bpfkit/core";
import { kernelUnderTest } from "../../testkit/src/drivers.js";
import { startChurn } from "./support/churn.js";
import { makeEnv } from "./support/env.js";

const kernel = kernelUnderTest();

/** Runs one reliable dump; returns the delivered keys (with multiplicity) or "max" for MaxLookupError. */
function dumpOnce(m: BpfMap<number, number>, algorithm: DumpAlgorithmChoice, maxEntries?: number): Map<number, number[]> | "max" {
  const seen = new Map<number, number[]>();
  const stats = newDumpStats(m);
  if (maxEntries !== undefined) stats.maxEntries = maxEntries;
  try {
    m.dumpReliablyWithCallback((k, v) => {
      const l = seen.get(k);
      if (l === undefined) seen.set(k, [v]);
      else l.push(v);
    }, stats, { algorithm });
  } catch (e) {
    if (e instanceof MaxLookupError) return "max";
    throw e;
  }
  expect(stats.completed).toBe(true);
  return seen;
}

describe.skipIf(kernel.unavailable !== undefined)("reliable dump with a concurrent deleter [kernel]", () => {
  if (kernel.unavailable !== undefined) console.warn(`concurrent dump tests not run: ${kernel.unavailable}`);
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => { current = makeEnv(kernel); });
  afterEach(() => { current?.dispose(); current = undefined; });

  for (const algorithm of ["walk", "batch"] as const) {
    it(`TestDumpReliablyWithCallback (${algorithm}): 100 dumps, each MaxLookupError or exactly keys 4..255`, async () => {
      const env = current!.env;
      const m = env.map({ name: "cilium_dump_test", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 256 });
      m.openOrCreate();
      for (let k = 4; k < 256; k++) m.update(k, k + 100);
      const churn = await startChurn(env, m, [0, 1, 2], 1);
      const before = churn.ops();
      let complete = 0;
      try {
        for (let i = 0; i < 100; i++) {
          const got = dumpOnce(m, algorithm, i === 0 ? 1 : undefined);
          if (i === 0) expect(got).toBe("max");
          if (got === "max") continue;
          complete++;
          const bad: string[] = [];
          for (let k = 4; k < 256; k++) {
            const vals = got.get(k);
            if (vals === undefined) bad.push(`${k} missing`);
            else if (vals.some((v) => v !== k + 100)) bad.push(`${k} values ${vals}`);
            else if (algorithm === "batch" && vals.length !== 1) bad.push(`${k} delivered ${vals.length} times`);
          }
          for (const k of got.keys()) if (k >= 256) bad.push(`${k} foreign`);
          expect(bad).toEqual([]);
        }
      } finally {
        await churn.stop();
      }
      expect(churn.ops() - before).toBeGreaterThan(0);
      expect(complete).toBeGreaterThan(0);
    });
  }

  it("many churn keys present at once: batch exactly once for stable keys, walk at least once, nothing foreign", async () => {
    const env = current!.env;
    const m = env.map({ name: "cilium_dump_mix", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4096 });
    m.openOrCreate();
    for (let k = 0; k < 1500; k++) m.update(k, k + 100);
    const churnKeys = Array.from({ length: 3000 }, (_, i) => 10_000 + i);
    const churn = await startChurn(env, m, churnKeys, 400);
    let churnSeen = 0;
    let walkComplete = 0;
    try {
      for (let i = 0; i < 16; i++) {
        const algorithm = i % 2 === 0 ? "batch" : "walk";
        const got = dumpOnce(m, algorithm);
        if (got === "max") {
          expect(algorithm).toBe("walk"); // a bucket dump cannot run out of budget here
          continue;
        }
        if (algorithm === "walk") walkComplete++;
        const bad: string[] = [];
        for (let k = 0; k < 1500; k++) {
          const vals = got.get(k);
          if (vals === undefined) bad.push(`stable ${k} missing`);
          else if (algorithm === "batch" && vals.length !== 1) bad.push(`stable ${k} delivered ${vals.length} times`);
        }
        for (const [k, vals] of got) {
          const stable = k < 1500;
          const churned = k >= 10_000 && k < 13_000;
          if (!stable && !churned) bad.push(`foreign ${k}`);
          if (vals.some((v) => v !== k + 100)) bad.push(`${k} values ${vals}`);
          if (churned) {
            churnSeen++;
            if (algorithm === "batch" && vals.length !== 1) bad.push(`churn ${k} delivered ${vals.length} times`);
          }
        }
        expect(bad, `${algorithm} dump ${i}`).toEqual([]);
      }
    } finally {
      await churn.stop();
    }
    // The worker was really inside the dumps.
    expect(churnSeen).toBeGreaterThan(0);
    expect(walkComplete).toBeGreaterThan(0);
  });

  it("dumpWithCallback under churn skips vanished keys instead of aborting (API.md §4.6)", async () => {
    const env = current!.env;
    const m = env.map({ name: "cilium_dump_skip", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 1024 });
    m.openOrCreate();
    for (let k = 0; k < 300; k++) m.update(k, k + 100);
    const churn = await startChurn(env, m, Array.from({ length: 600 }, (_, i) => 5000 + i), 300);
    try {
      // Cilium v1.7 returned ENOENT from the dump whenever the walk's current key vanished;
      // here every dump completes and sees every stable key (vanished ones are in lookupFailed).
      for (let i = 0; i < 30; i++) {
        const stable = new Set<number>();
        const stats = m.dumpWithCallback((k) => { if (k < 300) stable.add(k); }, { algorithm: "walk" });
        expect(stats.completed).toBe(true);
        expect(stable.size).toBe(300);
      }
    } finally {
      await churn.stop();
    }
  });
});
