// The conformance suite's own cost: the whole suite once per driver (one fresh driver per case),
// so its share of the project's test time is a number, not a guess. ns/op is per case.

export const about = [
  "`runConformance` over every case (exact LRU on; the kernel pinned to CPU 0 for those), one fresh",
  "driver per case. ns/op is the wall time of the fastest run divided by the number of cases; the",
  "note gives the whole run in ms and the pass/fail/skip counts.",
].join("\n");

export async function run(ctx) {
  const testkit = await ctx.import("testkit");
  const kernel = await ctx.import("driver-kernel");
  const sim = await ctx.import("driver-wasm-sim");
  const groups = testkit.allGroups.filter((g) => g !== "unprivileged");
  const drivers = [["sim", () => sim.createSimDriver(), {}]];
  if (kernel.kernelDriverAvailable()) {
    drivers.push(["kernel", () => kernel.createKernelDriver(), testkit.canPinCpu() ? { pinCpu: testkit.onCpu0 } : {}]);
  }
  const rows = [];
  for (const [name, make, extra] of drivers) {
    const runs = ctx.quick ? 1 : 3;
    let best;
    for (let i = 0; i < runs; i++) {
      const r = testkit.runConformance(make, { groups, exactLru: true, ...extra });
      if (best === undefined || r.ms < best.ms) best = r;
    }
    const cases = best.passed + best.failed.length + best.skipped.length;
    rows.push({
      section: "conformance suite",
      case: `${name}: all cases`,
      ns_per_op: (best.ms * 1e6) / cases,
      note: `${Math.round(best.ms)} ms for ${cases} cases; ${best.passed} passed, ${best.failed.length} failed, ${best.skipped.length} skipped`,
    });
  }
  return rows;
}
