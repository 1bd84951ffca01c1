// Many more cases than the project's tests run: the differential runner (model vs kernel, sim vs
// kernel) and the dump fuzzer (sim, kernel) over BPFKIT_SOAK_RUNS cases each, seeds from
// BPFKIT_SOAK_SEED on. Prints every summary with its throughput; fails on any difference.
import { describe, expect, it } from "vitest";
import { KEYLESS_MAP_TYPES } from "../src/arbitraries/map-spec.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { runDumpFuzz } from "../src/dump-fuzz/run-dump-fuzz.js";
import { driversUnderTest } from "../src/drivers.js";

const runs = Number(process.env.BPFKIT_SOAK_RUNS ?? 5000);
const seed = Number(process.env.BPFKIT_SOAK_SEED ?? Date.now() % 1_000_000);
const drivers = driversUnderTest();
const kernel = drivers.find((d) => d.name === "kernel");
const sim = drivers.find((d) => d.name === "sim");
const useKernel = kernel !== undefined && kernel.unavailable === undefined;
if (kernel !== undefined && !useKernel) console.log(`soak without the kernel: ${kernel.unavailable}`);
const progress = (what: string) => (p: { run: number; runs: number }) => {
  if (p.run % 1000 === 0) console.log(`${what}: ${p.run}/${p.runs}`);
};

describe(`soak: ${runs} cases per run, seed ${seed}`, () => {
  it.runIf(useKernel)("model vs kernel", async () => {
    const s = await runDifferential({ left: "model", right: "kernel", runs, seed, onProgress: progress("model vs kernel") });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel)("model vs kernel, queues, stacks and bloom filters (ZERO_SEED and random seeds)", async () => {
    const s = await runDifferential({ left: "model", right: "kernel", runs, seed, program: { types: KEYLESS_MAP_TYPES, zeroSeed: "sometimes" } });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel && sim !== undefined)("sim vs kernel, queues, stacks and bloom filters", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs, seed, program: { types: KEYLESS_MAP_TYPES, zeroSeed: "sometimes" } });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel && sim !== undefined)("sim vs kernel", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs, seed, onProgress: progress("sim vs kernel") });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel && sim !== undefined)("sim vs kernel, LRU eviction pinned to CPU 0", async () => {
    const s = await runDifferential({
      left: "sim", right: "kernel", runs, seed, lruEviction: true,
      program: { types: [9, 10], maxEntries: 32, maxKeys: 60, maxOps: 100 },
    });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel && sim !== undefined)("sim vs kernel, maps of maps and PROG_ARRAY", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs, seed, program: { types: [3, 12, 13] } });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel && sim !== undefined)("sim vs kernel, hash maps with random seeds (unordered)", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs, seed, program: { zeroSeed: "never" } });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel && sim !== undefined)("sim vs kernel, invalid create specs", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs, seed, program: { invalid: "always", maxOps: 4 } });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(sim !== undefined)("dump fuzz on the simulator", async () => {
    const s = await runDumpFuzz({ driver: "sim", runs, seed, algorithm: "all", onProgress: progress("dump fuzz sim") });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
  it.runIf(useKernel)("dump fuzz on the kernel", async () => {
    const s = await runDumpFuzz({ driver: "kernel", runs: Math.ceil(runs / 5), seed, maxEntries: 512, algorithm: "all", onProgress: progress("dump fuzz kernel") });
    console.log(s.report);
    expect(s.ok).toBe(true);
  });
});
