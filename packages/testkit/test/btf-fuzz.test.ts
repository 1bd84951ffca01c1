// The BTF differential (runBtfDifferential): the simulator against the kernel for a fixed seed,
// and against a simulator with one rule broken, which it must catch and shrink.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { btfCaseArb, encodeBtfGraph, runBtfDifferential } from "../src/index.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();
const BPF_LOG_FIXED = 8;

/**
 * A simulator that ignores BPF_LOG_FIXED beside a level: a log too long for its buffer keeps its
 * end, not its start (FIXED alone is still a level).
 */
function ignoresLogFixed(): Driver {
  const sim = createSimDriver();
  const level = (l = 0) => ((l & ~BPF_LOG_FIXED) !== 0 ? l & ~BPF_LOG_FIXED : l);
  return Object.assign(Object.create(sim) as Driver, {
    btfLoad: (attr: Parameters<NonNullable<Driver["btfLoad"]>>[0]) => sim.btfLoad({ ...attr, logLevel: level(attr.logLevel) }),
  });
}

describe("runBtfDifferential", () => {
  it("draws blobs that reach the checker's depth: most past the header, many that load", () => {
    const sim = createSimDriver();
    let loaded = 0, header = 0;
    const cases = fc.sample(btfCaseArb(), { numRuns: 400, seed: 1 });
    for (const c of cases) {
      const log = new Uint8Array(1 << 16);
      const fd = sim.btfLoad({ btf: encodeBtfGraph(c.graph), logBuf: log, logLevel: 1 });
      if (fd >= 0) {
        loaded++;
        sim.close(fd);
      } else if (!new TextDecoder().decode(log).includes("\n[")) header++;
    }
    // Nearly a quarter loads (the graph-root, decl-tag and kptr draws are made to fail one rule
    // now and then); the header and string checks stop at most a third.
    expect(loaded).toBeGreaterThan(85);
    expect(header).toBeLessThan(135);
  });

  it("reports a simulator that ignores BPF_LOG_FIXED, shrunk to a fixed log too short for its text", async () => {
    const s = await runBtfDifferential({ left: "sim", right: ignoresLogFixed, runs: 300, seed: 7 });
    expect(s.ok).toBe(false);
    const [c] = s.divergences;
    expect(c!.divergence.what).toBe("load");
    expect(c!.case.log.level & BPF_LOG_FIXED).toBe(BPF_LOG_FIXED);
    // Only a log that does not fit shows which end is kept.
    expect(c!.divergence.left).toMatch(/^load: ENOSPC/);
    expect(s.report).toContain(`replay: seed 7, path "${c!.path}"`);
    // The path replays that case alone.
    const again = await runBtfDifferential({ left: "sim", right: ignoresLogFixed, seed: 7, path: c!.path });
    expect(again.divergences[0]?.blob).toBe(c!.blob);
  });

  it.skipIf(kernel.unavailable !== undefined || !existsSync("/sys/kernel/btf/vmlinux"))(
    "against the kernel the simulator gets this host's BTF: one made without it is found on a referenced kptr to a kernel struct", async () => {
      const k = kernel.create();
      const bare = await runBtfDifferential({ left: createSimDriver({ possibleCpus: k.possibleCpus }), right: k, runs: 1500, seed: 3 });
      expect(bare.ok).toBe(false);
      expect(bare.divergences[0]!.divergence.right).toMatch(/^load: ENOENT/);
      // Named, the simulator is made with /sys/kernel/btf/vmlinux: the same blobs agree.
      const named = await runBtfDifferential({ left: "sim", right: "kernel", runs: bare.runs, seed: 3 });
      expect(named.ok, named.report).toBe(true);
      expect(named.report).not.toContain("note:");
    });

  it.skipIf(kernel.unavailable !== undefined)("seed 20261129: the simulator and the kernel agree on 1500 blobs, their logs and their maps", async () => {
    const s = await runBtfDifferential({ left: "sim", right: "kernel", runs: 1500, seed: 20261129 });
    expect(s.ok, s.report).toBe(true);
    expect(s.runs).toBe(1500);
    expect(s.loaded).toBeGreaterThan(200);
    expect(s.mapAnswers.OK ?? 0).toBeGreaterThan(80);
  });
});
