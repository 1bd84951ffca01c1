// `bpfkit fuzz diff|dump`: testkit's differential runner (the same random programs on two
// drivers, every answer compared) and its dump-reliability fuzzer, from the command line.
import { CliError, ExitCode, usageError } from "../cli-error.js";
import { str, type Command, type OptionValues } from "../command.js";
import type { Ctx } from "../context.js";
import { toJson } from "../format.js";

function count(opts: OptionValues, name: string, dflt: number): number {
  const v = str(opts, name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw usageError(`--${name} ${v}: expected a positive integer`);
  return Number(v);
}

function seedOpt(opts: OptionValues): number | undefined {
  const v = str(opts, "seed");
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Math.abs(Number(v)) > 0x7fffffff) throw usageError(`--seed ${v}: expected a 32-bit integer`);
  return Number(v);
}

function side(opts: OptionValues, name: string, dflt: "sim" | "kernel" | "model"): "sim" | "kernel" | "model" {
  const v = str(opts, name) ?? dflt;
  if (v !== "sim" && v !== "kernel" && v !== "model") throw usageError(`--${name} ${v}: expected sim, kernel or model`);
  return v;
}

/** Throttled progress: at most ~10 updates a second on a terminal. */
function throttled(ctx: Ctx): (text: string) => void {
  let last = 0;
  return (text) => {
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    ctx.progress(text);
  };
}

export const fuzzDiffCommand: Command = {
  name: "fuzz diff",
  summary: "run the same random map programs on two drivers and compare every answer",
  usage: "fuzz diff [--runs N] [--seed S] [--left sim|kernel|model] [--right sim|kernel|model] [--path P] [--json]",
  details: "testkit's differential runner: random operation programs (updates, lookups, deletes, next-key walks, batches)\n" +
    "over random maps, on both drivers; on a difference, fast-check shrinks it to a minimal program and prints it with\n" +
    "the seed and path that replay it. Exit code 5 when the drivers differ.",
  options: {
    runs: { type: "string", arg: "N", help: "programs to run (default 100)" },
    seed: { type: "string", arg: "S", help: "fast-check seed (default random; the summary prints it)" },
    path: { type: "string", arg: "P", help: "with --seed: replay one counterexample" },
    left: { type: "string", arg: "DRIVER", help: "default sim" },
    right: { type: "string", arg: "DRIVER", help: "default kernel" },
  },
  examples: ["bpfkit fuzz diff --runs 500", "bpfkit fuzz diff --left model --right kernel --seed 42"],
  async run(ctx, args, opts) {
    if (args.length > 0) throw usageError(`unexpected ${JSON.stringify(args.join(" "))}`);
    const { runDifferential } = await import("@bpfkit/testkit");
    const seed = seedOpt(opts);
    const path = str(opts, "path");
    if (path !== undefined && seed === undefined) throw usageError("--path needs the --seed it was printed with");
    const progress = throttled(ctx);
    const summary = await runDifferential({
      left: side(opts, "left", "sim"), right: side(opts, "right", "kernel"), runs: count(opts, "runs", 100),
      ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}),
      onProgress: (p) => progress(`${p.shrinking ? "shrinking" : "program"} ${p.run}/${p.runs}, ${p.ops} ops…`),
    });
    ctx.progress(undefined);
    ctx.emit(() => `${summary.report.trimEnd()}\n`, () => summary);
    return summary.ok ? 0 : ExitCode.divergence;
  },
};

/** The fuzzer's API as issue 5 names it; looked up at run time so the CLI builds before it lands. */
interface DumpFuzzSummary {
  ok: boolean;
  report?: string;
}
type RunDumpFuzz = (o: { driver: unknown; runs?: number; seed?: number; algorithm?: string; onProgress?: (p: { run: number; runs: number }) => void }) => Promise<DumpFuzzSummary> | DumpFuzzSummary;

export const fuzzDumpCommand: Command = {
  name: "fuzz dump",
  summary: "fuzz the reliable dump: random maps, a datapath changing them mid-dump, every invariant checked",
  usage: "fuzz dump [--runs N] [--seed S] [--algorithm walk|batch|auto] [--driver sim|kernel] [--json]",
  details: "testkit's dump-reliability fuzzer: every key present for the whole dump is delivered, nothing never present is\n" +
    "delivered, the dump ends within 4 × max_entries lookups, and the DumpStats counters agree.\n" +
    "On the simulator the datapath acts through the interleaving hook (deterministic from --seed); on the kernel it is a\n" +
    "second thread. Exit code 5 when an invariant breaks.",
  options: {
    runs: { type: "string", arg: "N", help: "dumps to run (default 100)" },
    seed: { type: "string", arg: "S", help: "seed (default random; the summary prints it)" },
    algorithm: { type: "string", arg: "walk|batch|auto", help: "which dump to fuzz (default auto)" },
  },
  async run(ctx, args, opts) {
    if (args.length > 0) throw usageError(`unexpected ${JSON.stringify(args.join(" "))}`);
    const testkit = (await import("@bpfkit/testkit")) as unknown as { runDumpFuzz?: RunDumpFuzz };
    if (typeof testkit.runDumpFuzz !== "function") {
      throw new CliError("this build of @bpfkit/testkit has no dump fuzzer (runDumpFuzz)", ExitCode.failure);
    }
    const algorithm = str(opts, "algorithm") ?? "auto";
    if (!["walk", "batch", "auto"].includes(algorithm)) throw usageError(`--algorithm ${algorithm}: expected walk, batch or auto`);
    const seed = seedOpt(opts);
    const driver = await ctx.driver();
    const progress = throttled(ctx);
    const summary = await testkit.runDumpFuzz({
      driver, runs: count(opts, "runs", 100), algorithm, ...(seed !== undefined ? { seed } : {}),
      onProgress: (p) => progress(`dump ${p.run}/${p.runs}…`),
    });
    ctx.progress(undefined);
    ctx.emit(() => summary.report !== undefined ? `${summary.report.trimEnd()}\n` : toJson(summary), () => summary);
    return summary.ok ? 0 : ExitCode.divergence;
  },
};
