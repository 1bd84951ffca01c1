// onCpu0Async holds the thread on CPU 0 across awaits: runs that overlap on one thread (two
// differential runs awaited together) share the pin, which the last one out takes off, so none
// runs unpinned while another still needs CPU 0, and the thread's mask comes back at the end.
import { setThreadCpuAffinity, threadCpuAffinity } from "@bpfkit/driver-kernel";
import { afterEach, describe, expect, it } from "vitest";
import { canPinCpu, onCpu, onCpu0Async } from "../src/conformance/pin-cpu.js";

const turn = () => new Promise<void>((r) => setImmediate(r));

describe.skipIf(!canPinCpu())("onCpu0Async", () => {
  const start = canPinCpu() ? threadCpuAffinity() : [];
  afterEach(() => {
    expect(setThreadCpuAffinity(start)).toBe(0);
  });

  it("two overlapping runs: each sees CPU 0 only until it ends, and the thread's mask is back after the last", async () => {
    const seen: string[] = [];
    const run = (name: string, turns: number) => onCpu0Async(async () => {
      for (let i = 0; i < turns; i++) {
        seen.push(`${name} ${threadCpuAffinity().join(",")}`);
        await turn();
      }
      seen.push(`${name} ${threadCpuAffinity().join(",")}`);
    });
    // a starts first and ends first: b is still running when a's pin comes off.
    await Promise.all([run("a", 1), run("b", 3)]);
    expect(seen.filter((s) => !s.endsWith(" 0")), "every step ran on CPU 0 alone").toEqual([]);
    expect(threadCpuAffinity()).toEqual(start);
  });

  it("onCpu inside a run pins to its CPU and gives CPU 0 back; a run that throws still restores", async () => {
    const last = start[start.length - 1]!;
    await expect(onCpu0Async(async () => {
      expect(onCpu(last, () => threadCpuAffinity())).toEqual([last]);
      expect(threadCpuAffinity()).toEqual([0]);
      await turn();
      throw new Error("boom");
    })).rejects.toThrow("boom");
    expect(threadCpuAffinity()).toEqual(start);
  });
});
