// The conformance suite on the real kernel: one test per case. Runs for real here (root); the
// exact single-CPU LRU cases run with the main thread pinned to CPU 0 (taskset), where every
// bpf(2) call of this process happens.
import { describe, it } from "vitest";
import { allGroups, canPinCpu, defineConformanceTests, onCpu0 } from "../src/conformance/index.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();
if (kernel.unavailable !== undefined) {
  describe("conformance: kernel", () => {
    it.skip(`kernel driver unavailable: ${kernel.unavailable}`, () => {});
  });
} else {
  const pin = canPinCpu();
  if (!pin) console.warn("conformance: kernel — taskset cannot pin this process; the exact LRU cases are skipped");
  // This process is root: the capability-gate cases run on the simulator (the kernel's are in
  // driver-kernel's tests, as nobody in a child process).
  defineConformanceTests({ describe, it }, "conformance: kernel", () => kernel.create(), {
    groups: allGroups.filter((g) => g !== "unprivileged"),
    exactLru: pin,
    pinCpu: pin ? onCpu0 : undefined,
  });
}
