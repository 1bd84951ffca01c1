// Fuzz throughput: testkit's differential runner and dump-reliability fuzzer on a fixed seed,
// reported per driver call, so "how many cases fit in CI" is a number.

export const about = [
  "`runDifferential` (fixed seed, every program: one map created, its ops, a final walk, closed)",
  "and `runDumpFuzz` (both algorithms, a datapath churning). ns/op is the time inside one driver",
  "per driver call (the runners measure it); the note gives ops/s and the whole run.",
].join("\n");

export async function run(ctx) {
  const testkit = await ctx.import("testkit");
  const kernel = await ctx.import("driver-kernel");
  const haveKernel = kernel.kernelDriverAvailable();
  const runs = ctx.quick ? 100 : 1000;
  const rows = [];
  const diff = async (left, right) => {
    const s = await testkit.runDifferential({ left, right, runs, seed: 1 });
    for (const d of s.drivers) {
      rows.push({
        section: "fuzz throughput",
        case: `diff ${s.left} vs ${s.right}: ${d.name}`,
        ns_per_op: (d.seconds * 1e9) / d.ops,
        note: `${Math.round(d.opsPerSecond)} ops/s; ${s.runs} programs, ${s.ops} ops in ${s.seconds.toFixed(1)} s; ${s.ok ? "agree" : "DIFFER"}`,
      });
    }
  };
  await diff("model", "sim");
  if (haveKernel) {
    await diff("model", "kernel");
    await diff("sim", "kernel");
  }
  for (const driver of haveKernel ? ["sim", "kernel"] : ["sim"]) {
    const s = await testkit.runDumpFuzz({ driver, runs: driver === "kernel" ? runs / 5 : runs, seed: 1, ...(driver === "kernel" ? { maxEntries: 256 } : {}) });
    rows.push({
      section: "fuzz throughput",
      case: `dump fuzz on ${driver}`,
      ns_per_op: 1e9 / s.dumpCallsPerSecond,
      note: `${Math.round(s.dumpCallsPerSecond)} dump calls/s, datapath ${Math.round(s.datapathOpsPerSecond)} ops/s; ${s.dumps} dumps in ${s.seconds.toFixed(1)} s; ${s.ok ? "invariants held" : "INVARIANT BROKEN"}`,
    });
  }
  return rows;
}
