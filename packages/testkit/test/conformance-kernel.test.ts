// The conformance suite on the real kernel: one test per case. Runs for real here (root); the
// exact single-CPU LRU cases run with this thread pinned to CPU 0 (sched_setaffinity), where
// every bpf(2) call of this process happens.
import { describe, expect, it } from "vitest";
import { optionalDriverMethodNames } from "@bpfkit/core";
import { allGroups, canPinCpu, defineConformanceTests, onCpu0 } from "../src/conformance/index.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();
if (kernel.unavailable !== undefined) {
  describe("conformance: kernel", () => {
    it.skip(`kernel driver unavailable: ${kernel.unavailable}`, () => {});
  });
} else {
  const pin = canPinCpu();
  if (!pin) console.warn("conformance: kernel — this thread cannot be pinned to a CPU; the exact LRU cases are skipped");
  // This process is root: the capability-gate cases run on the simulator (the kernel's are in
  // driver-kernel's tests, as nobody in a child process).
  // A skip must not hide a kernel driver that lost an optional method: the groups that need one
  // (dup, fdinfo, mmap) skip on a driver without it, so the kernel's must have them all.
  it("the kernel driver has every optional method, so no group skips for want of one", () => {
    const d = kernel.create();
    for (const m of optionalDriverMethodNames) expect(typeof d[m], m).toBe("function");
  });
  defineConformanceTests({ describe, it }, "conformance: kernel", () => kernel.create(), {
    groups: allGroups.filter((g) => g !== "unprivileged"),
    exactLru: pin,
    pinCpu: pin ? onCpu0 : undefined,
  });
}
