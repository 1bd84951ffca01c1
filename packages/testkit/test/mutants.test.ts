// Each mutant breaks one kernel rule around a driver; the conformance cases named for it must
// fail on the mutant and pass on the unmutated driver (else "caught" means nothing). The
// simulator is the fast home of the mutants; the same decorators around the real kernel show
// the cases catch the broken rule there too, whatever the simulator's own state.
import { describe, expect, it } from "vitest";
import type { Driver } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { formatReport, mutants, onCpu0, runConformance } from "../src/conformance/index.js";
import { kernelUnderTest, simUnderTest } from "../src/drivers.js";

type Mutant = (typeof mutants)[number];

/** `m` around `d`: what the cases then see of the driver. */
type Mutate = (m: Mutant, d: Driver) => Driver;

/**
 * A mutant around the simulator that is still a simulator to testkit: the inner one's datapath
 * and interleaving hook, so that the ring buffer producer (its datapath) writes the records the
 * mutated mappings are then read through.
 */
const simMutate: Mutate = (m, d) => Object.assign(m.wrap(d), {
  datapath: (d as SimDriver).datapath,
  setInterleavingHook: (d as SimDriver).setInterleavingHook.bind(d),
  getInterleavingHook: (d as SimDriver).getInterleavingHook.bind(d),
});

function mutantTests(title: string, make: () => Driver, pinCpu?: <T>(fn: () => T) => T, mutate: Mutate = (m, d) => m.wrap(d)): void {
  describe(title, () => {
    for (const m of mutants) {
      it(`caught: ${m.name}`, (t) => {
        const lacks = (m.needs ?? []).filter((n) => typeof make()[n] !== "function");
        if (lacks.length > 0) {
          t.skip(`the driver has no ${lacks.join(", ")}: the cases that catch it skip`);
          return;
        }
        const options = { only: m.caughtBy, exactLru: true, pinCpu };
        const clean = runConformance(make, options);
        expect(clean.passed, "the catching cases select something").toBeGreaterThan(0);
        expect(clean.failed, `the unmutated driver must pass:\n${formatReport(clean)}`).toEqual([]);
        const mutated = runConformance(() => mutate(m, make()), options);
        expect(mutated.failed.length, `mutant slipped through:\n${formatReport(mutated)}`).toBeGreaterThan(0);
        expect(mutated.passed + mutated.failed.length).toBe(clean.passed);
      });
    }
  });
}

it("there are at least 10 mutants, each with cases that should catch it", () => {
  expect(mutants.length).toBeGreaterThanOrEqual(10);
  for (const m of mutants) expect(m.caughtBy.length).toBeGreaterThan(0);
  expect(new Set(mutants.map((m) => m.name)).size).toBe(mutants.length);
});

const sim = simUnderTest();
mutantTests("conformance mutants around the simulator", () => sim.create(), undefined, simMutate);

const kernel = kernelUnderTest();
if (kernel.unavailable === undefined) {
  mutantTests("conformance mutants around the kernel", () => kernel.create(), onCpu0);
} else {
  it.skip(`conformance mutants around the kernel: ${kernel.unavailable}`, () => {});
}
