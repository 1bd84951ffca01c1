// Each mutant breaks one kernel rule around the simulator; the conformance cases named for it
// must fail on the mutant and pass on the unmutated simulator (else "caught" means nothing).
import { describe, expect, it } from "vitest";
import { formatReport, mutants, runConformance } from "../src/conformance/index.js";
import { simUnderTest } from "../src/drivers.js";

const sim = simUnderTest();

describe("conformance mutants (simulator)", () => {
  it("there are at least 10 mutants, each with cases that should catch it", () => {
    expect(mutants.length).toBeGreaterThanOrEqual(10);
    for (const m of mutants) expect(m.caughtBy.length).toBeGreaterThan(0);
  });

  for (const m of mutants) {
    it(`caught: ${m.name}`, () => {
      const options = { only: m.caughtBy, exactLru: true };
      const clean = runConformance(() => sim.create(), options);
      expect(clean.passed, "the catching cases select something").toBeGreaterThan(0);
      expect(clean.failed, `unmutated simulator must pass:\n${formatReport(clean)}`).toEqual([]);
      const mutated = runConformance(() => m.wrap(sim.create()), options);
      expect(mutated.failed.length, `mutant slipped through:\n${formatReport(mutated)}`).toBeGreaterThan(0);
      expect(mutated.passed + mutated.failed.length).toBe(clean.passed);
    });
  }
});
