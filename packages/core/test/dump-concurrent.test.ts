// Dumps while something else changes the map. On the kernel a worker thread with its own fd
// (MAP_GET_FD_BY_ID) inserts and deletes keys while the main thread dumps: Cilium's
// TestDumpReliablyWithCallback, then a harder mix with hundreds of churn keys present at once.
// The guarantees checked (dump-reliable.ts): the batch dump delivers every key present for the
// whole dump exactly once and churn keys at most once; the v1.7 walk delivers every stable key
// at least once or gives up with MaxLookupError; neither delivers a key that was never there.
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, MaxLookupError, newDumpStats, u32, type BpfMap, type DumpAlgorithmChoice } from "@bpfkit/core";
import { kernelUnderTest } from "../../testkit/src/drivers.js";
import { makeEnv, type Env } from "./support/env.js";

const kernel = kernelUnderTest();

interface Churn {
  /** Operations done so far. */
  ops(): number;
  stop(): Promise<void>;
}

async function startChurn(env: Env, m: BpfMap<number, number>, churnKeys: number[], lag: number): Promise<Churn> {
  const counter = new SharedArrayBuffer(8);
  const shared = new Int32Array(counter);
  const worker = new Worker(new URL("./support/churn-worker.mjs", import.meta.url), {
    workerData: {
      koffiFrom: new URL("../../driver-kernel/package.json", import.meta.url).pathname,
      mapId: env.bpf.getMapInfoByFd(m.getFd()).id, keySize: 4, valueSize: 4, churnKeys, counter, lag,
    },
  });
  let failed: Error | undefined;
  worker.on("error", (e) => { failed = e; });
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  // Wait until the worker is really changing the map.
  const t0 = Date.now();
  while (Atomics.load(shared, 0) < 1000) {
    if (failed !== undefined) throw failed;
    if (Date.now() - t0 > 20_000) throw new Error("churn worker made no progress in 20 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    ops: () => Atomics.load(shared, 0),
    async stop() {
      Atomics.store(shared, 1, 1);
      await exited;
      if (failed !== undefined) throw failed;
    },
  };
}

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
          for (let k = 4; k < 256; k++) {
            const vals = got.get(k);
            expect(vals, `key ${k}`).toBeDefined();
            for (const v of vals!) expect(v).toBe(k + 100);
            if (algorithm === "batch") expect(vals!.length, `key ${k} delivered once`).toBe(1);
          }
          for (const k of got.keys()) expect(k < 256).toBe(true);
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
    for (let k = 0; k < 2000; k++) m.update(k, k + 100);
    const churnKeys = Array.from({ length: 4000 }, (_, i) => 10_000 + i);
    const churn = await startChurn(env, m, churnKeys, 500);
    let churnSeen = 0;
    let walkComplete = 0;
    try {
      for (let i = 0; i < 24; i++) {
        const algorithm = i % 2 === 0 ? "batch" : "walk";
        const got = dumpOnce(m, algorithm);
        if (got === "max") {
          expect(algorithm).toBe("walk"); // a bucket dump cannot run out of budget here
          continue;
        }
        if (algorithm === "walk") walkComplete++;
        for (let k = 0; k < 2000; k++) {
          const vals = got.get(k);
          expect(vals, `stable key ${k} (${algorithm})`).toBeDefined();
          if (algorithm === "batch") expect(vals!.length, `stable key ${k} once`).toBe(1);
          for (const v of vals!) expect(v).toBe(k + 100);
        }
        for (const [k, vals] of got) {
          const stable = k < 2000;
          const churned = k >= 10_000 && k < 14_000;
          expect(stable || churned, `foreign key ${k}`).toBe(true);
          if (churned) {
            churnSeen++;
            for (const v of vals) expect(v).toBe(k + 100);
            if (algorithm === "batch") expect(vals.length, `churn key ${k} at most once`).toBe(1);
          }
        }
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
