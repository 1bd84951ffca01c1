// `bpfkit demo`: the README's main act. A conntrack table, a datapath that opens and closes
// flows, and Cilium's garbage collector dumping the table reliably while that happens.
import { createBpf, type Driver, type Logger } from "@bpfkit/core";
import { ExitCode, usageError } from "../cli-error.js";
import { intOption, noArgs, str, type Command } from "../command.js";
import type { Ctx } from "../context.js";
import { DEMO_BPFFS_BASE, DEMO_BPFFS_NAME, mountDemoBpffs } from "../demo/demo-bpffs.js";
import { formatDemo, demoPassed } from "../demo/format-demo.js";
import { startKernelDatapath } from "../demo/kernel-datapath.js";
import { DEFAULT_DEMO, runDemo, type DemoConfig } from "../demo/run-demo.js";
import { startSimDatapath } from "../demo/sim-datapath.js";

export const demoCommand: Command = {
  name: "demo",
  summary: "garbage-collect a conntrack table while a datapath changes it, and show what each dump saw",
  usage: "demo [--seed N] [--flows N] [--churn N] [--rate P] [--batch N] [--driver kernel|sim|auto] [--json]",
  details: "Fills a hash map with long-lived flows (some expired) and short-lived ones, then runs Cilium's conntrack GC\n" +
    "twice — dumpReliablyWithCallback with the v1.7 walk, then with bpfkit's batch dump — deleting expired flows from\n" +
    "the callback while the datapath opens and closes short-lived flows. On the simulator the datapath acts between\n" +
    "syscalls through the interleaving hook (deterministic from --seed); on the kernel it is a second thread.\n" +
    "The kernel run mounts a private bpffs under /tmp for its pin and unmounts it afterwards.\n" +
    "Exit code 1 if any check fails (a long-lived flow missed, a foreign key, a live flow deleted).",
  options: {
    seed: { type: "string", arg: "N", help: "seed for the table and the simulated datapath (default 1)" },
    flows: { type: "string", arg: "N", help: `long-lived flows (default ${DEFAULT_DEMO.flows})` },
    churn: { type: "string", arg: "N", help: `short-lived flows the datapath opens and closes (default ${DEFAULT_DEMO.churn})` },
    rate: { type: "string", arg: "P", help: "simulator: datapath operations per syscall (default 2)" },
    batch: { type: "string", arg: "N", help: `elements per BPF_MAP_LOOKUP_BATCH call in the batch pass (default ${DEFAULT_DEMO.batchSize})` },
  },
  examples: ["bpfkit demo", "bpfkit demo --driver sim --seed 7", "bpfkit demo --json"],
  async run(ctx, args, opts) {
    noArgs(this, args);
    const cfg: DemoConfig = {
      ...DEFAULT_DEMO,
      seed: intOption(opts, "seed", 0, 0xffffffff) ?? DEFAULT_DEMO.seed,
      flows: intOption(opts, "flows", 1, 30000) ?? DEFAULT_DEMO.flows,
      churn: intOption(opts, "churn", 1, 30000) ?? DEFAULT_DEMO.churn,
      batchSize: intOption(opts, "batch", 1, 1 << 20) ?? DEFAULT_DEMO.batchSize,
    };
    const rateText = str(opts, "rate");
    // Number("") is 0: an empty --rate would silently stop the datapath.
    const rate = rateText === undefined ? 2 : rateText.trim() === "" ? NaN : Number(rateText);
    if (!(rate >= 0 && rate <= 10)) throw usageError(`--rate ${rateText}: expected a number in [0, 10]`);
    cfg.maxEntries = Math.max(DEFAULT_DEMO.maxEntries, 2 ** Math.ceil(Math.log2(cfg.flows + cfg.churn + 1)));
    const d = await ctx.driver();
    const report = await withDemoBpf(ctx, d, (bpf, pin) => runDemo(bpf, { ...cfg, pin }, {
      datapath: (map, pool, now) => d.kind === "kernel"
        ? startKernelDatapath({ mapFd: map.getFd(), pool, seed: cfg.seed, expires: now + 300_000_000_000n })
        : startSimDatapath(d, map.getFd(), pool, { seed: cfg.seed, rate, expires: now + 300_000_000_000n }),
      onPass: (a) => ctx.progress(`GC pass with the ${a} dump…`),
    }));
    ctx.progress(undefined);
    const cmd = followUpCommand(ctx.io.env);
    ctx.emit(() => formatDemo(report, cmd), () => ({ ...report, passed: demoPassed(report) }));
    return demoPassed(report) ? 0 : ExitCode.failure;
  },
};

/**
 * How the reader types a bpfkit command again: `npm run bpfkit --` under this repository's own
 * `npm start` or `npm run bpfkit` (npm sets the script and package name), else `bpfkit` (npx,
 * an installed bin, or another project's script, which has no `bpfkit` script of its own).
 */
export function followUpCommand(env: Readonly<Record<string, string | undefined>>): string {
  const ownScript = env.npm_lifecycle_event === "start" || env.npm_lifecycle_event === "bpfkit";
  return ownScript && env.npm_package_name === "bpfkit-monorepo" ? "npm run bpfkit --" : "bpfkit";
}

/** A Bpf whose map root is a bpffs the demo owns: a private mount on the kernel, the simulator's own. */
async function withDemoBpf<T>(ctx: Ctx, d: Driver, fn: (bpf: ReturnType<typeof createBpf>, pin: boolean) => Promise<T>): Promise<T> {
  const logger: Logger = {
    debug() {}, info() {},
    warn: (m) => ctx.io.stderr(`bpfkit: ${m}\n`),
    error: (m) => ctx.io.stderr(`bpfkit: ${m}\n`),
  };
  // A run killed outright (SIGKILL, a crash) could not unmount: take its mount away now.
  if (d.kind === "kernel") (await import("@bpfkit/testkit")).sweepStaleBpffs(d, DEMO_BPFFS_BASE, DEMO_BPFFS_NAME);
  const fs = mountDemoBpffs(d);
  try {
    return await fn(createBpf({ driver: d, mapRoot: fs.path, logger }), fs.mounted);
  } finally {
    fs.dispose();
  }
}
