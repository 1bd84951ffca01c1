// The differential runner: the same random program on two drivers, every answer compared. On a
// difference fast-check shrinks the program to a minimal one, and the summary carries it, the
// first step where the drivers part, and the seed and path that replay it.
import fc from "fast-check";
import { BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, assertOptionKeys, driverPageSize, optionKeys } from "@bpfkit/core";
import { FD_VALUE_MAP_TYPES, SPEC_MAP_TYPES } from "../arbitraries/map-spec.js";
import { type Program, type ProgramOptions, formatProgram, programArb } from "../arbitraries/program.js";
import { BPF_MAP_TYPE_RINGBUF } from "../arbitraries/ring-ops.js";
import { BPF_MAP_TYPE_USER_RINGBUF } from "../arbitraries/user-ring-ops.js";
import { BPF_MAP_TYPE_PERF_EVENT_ARRAY } from "../arbitraries/perf-ops.js";
import { canPinCpu, onCpu0Async } from "../conformance/pin-cpu.js";
import { NotModelledError } from "../model/create-check.js";
import { type Divergence, firstDivergence, formatDivergence } from "./compare.js";
import { type DriverChoice, type ResolvedDriver, resolvePair } from "./driver-choice.js";
import { type ProgramTrace, type RunProgramOptions, runProgram } from "./run-program.js";
import { type PrivateBpffs, mountPrivateBpffs } from "../bpffs.js";

/** How far a differential run has got, as `onProgress` is told after each program. */
export interface DifferentialProgress {
  /** Programs run so far, shrink attempts included. */
  readonly run: number;
  /** Programs asked for. */
  readonly runs: number;
  /** Driver calls made so far, both drivers together. */
  readonly ops: number;
  /** True once a difference was found and fast-check is making it smaller. */
  readonly shrinking: boolean;
}

/** `runDifferential`'s options; any other key is a TypeError. */
export interface DifferentialOptions {
  /** Default "sim". */
  left?: DriverChoice;
  /** Default "kernel". */
  right?: DriverChoice;
  /** Programs to run. Default 100. */
  runs?: number;
  /** fast-check seed; the summary reports the one used. Default: random. */
  seed?: number;
  /** With `seed`, replays one counterexample path a summary printed. */
  path?: string;
  /** Called after every program (including shrink attempts). */
  onProgress?: (p: DifferentialProgress) => void;
  /**
   * Shapes of the programs (map types, sizes, lengths). Default types: every modelled type, and
   * maps of maps and PROG_ARRAY when no side is the model. `wide` (default: true when no side is
   * the model and without lruEviction) adds what the plain draws never reach: map flags, double
   * create faults, limit sizes, varied inner maps, edge keys and flags, big batches, pins,
   * foreign tokens, map fds as values, values with a bpf_spin_lock or a bpf_timer (created with
   * BTF) and BPF_F_LOCK on their ops; the runner then mounts a private bpffs per driver.
   */
  program?: Partial<Omit<ProgramOptions, "possibleCpus" | "pageSize" | "lruEviction">>;
  /**
   * Let LRU programs evict. The kernel's eviction is exact only with every syscall on one CPU
   * (kernel-maps.md §7.4), so the run is pinned to CPU 0 (Linux: sched_setaffinity). The model does not
   * evict early as the kernel does: compare the simulator with the kernel.
   */
  lruEviction?: boolean;
  /** Shrink a counterexample (default true); false reports the first one found, as found. */
  shrink?: boolean;
}

/** How many calls one driver answered in a differential run, and how fast. */
export interface DriverThroughput {
  /** The driver's name, as in the summary's `left` or `right`. */
  readonly name: string;
  /** Driver calls made. */
  readonly ops: number;
  /** Seconds spent inside the driver. */
  readonly seconds: number;
  /** Driver calls per second spent inside the driver. */
  readonly opsPerSecond: number;
}

/** A program on which the two drivers answered differently, shrunk, and how to replay it. */
export interface Counterexample {
  /** The minimal program after shrinking. */
  readonly program: Program;
  /** Where the two drivers first answer differently. */
  readonly divergence: Divergence;
  /** The seed to replay it with. */
  readonly seed: number;
  /** fast-check's counterexample path: with `seed`, it replays exactly this program. */
  readonly path: string;
  /** How many times fast-check made the program smaller. */
  readonly shrinks: number;
}

/** What `runDifferential` found: `ok`, the counts, each driver's throughput, the shrunk counterexamples, and `report` in words. */
export interface DifferentialSummary {
  /** True when the drivers agreed on every program. */
  readonly ok: boolean;
  /** The name of the left driver (`sim`, `kernel`, `model`, …). */
  readonly left: string;
  /** The name of the right driver. */
  readonly right: string;
  /** The seed used: pass it (with a counterexample's `path`) to replay. */
  readonly seed: number;
  /** Programs run before stopping (a difference stops the run). */
  readonly runs: number;
  /** Programs that fell outside the model and were skipped. */
  readonly skipped: number;
  /** Driver calls, both drivers. */
  readonly ops: number;
  /** Wall-clock seconds the whole run took. */
  readonly seconds: number;
  /** Each driver's calls and time, left then right. */
  readonly drivers: readonly [DriverThroughput, DriverThroughput];
  /** Empty when the drivers agreed on every program; else the shrunk counterexample's. */
  readonly divergences: readonly Counterexample[];
  /** A readable multi-line report: the summary, and the counterexample if any. */
  readonly report: string;
}

/** What lruEviction draws unless `program` says otherwise: LRU maps their programs outgrow. */
const EVICTING = { types: [BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH], maxEntries: 16, maxKeys: 48, maxOps: 80 };

const DIFFERENTIAL_OPTIONS_KEYS = optionKeys<DifferentialOptions>({
  left: true, right: true, runs: true, seed: true, path: true, onProgress: true, program: true, lruEviction: true, shrink: true,
});
/** `program` is ProgramOptions without what runDifferential sets itself. */
const PROGRAM_KEYS = optionKeys<NonNullable<DifferentialOptions["program"]>>({
  types: true, maxKeySize: true, maxValueSize: true, maxEntries: true, zeroSeed: true, accessFlags: true, invalid: true,
  maxOps: true, maxKeys: true, freeze: true, wide: true,
});

/**
 * Runs `runs` random programs on two drivers and compares every answer; on a difference, shrinks
 * to a minimal program, printed in `report` with the seed and path that replay it. Resolves with
 * a summary (never rejects for a difference; `ok` says it).
 */
export async function runDifferential(options: DifferentialOptions = {}): Promise<DifferentialSummary> {
  // Before any driver is made: a run that ignored a misspelt option would report a false pass.
  assertOptionKeys(options, DIFFERENTIAL_OPTIONS_KEYS, "runDifferential", "options");
  assertOptionKeys(options.program, PROGRAM_KEYS, "runDifferential", "program option");
  const [left, right] = await resolvePair(options.left ?? "sim", options.right ?? "kernel");
  const runs = options.runs ?? 100;
  const lruEviction = options.lruEviction ?? false;
  if (lruEviction && !canPinCpu()) throw new Error("runDifferential: lruEviction needs to pin this thread to CPU 0 (Linux, with the kernel driver's koffi)");
  // Maps of maps, PROG_ARRAY, ring buffers, user rings and perf event arrays too, unless the
  // model (which does not cover them) takes part.
  const withModel = left.driver.kind === "model" || right.driver.kind === "model";
  const types = options.program?.types ?? (lruEviction ? EVICTING.types : withModel ? SPEC_MAP_TYPES
    : [...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, BPF_MAP_TYPE_PERF_EVENT_ARRAY]);
  // Eviction needs more distinct keys than an LRU map holds: with the default pool of 12 and
  // LRU maps of 8 to 64 entries, almost no program evicted (mutation testing found a wrong
  // victim in 1 seed of 5). Under lruEviction maps are small and the pool large.
  const evicting = lruEviction ? { maxKeys: EVICTING.maxKeys, maxEntries: EVICTING.maxEntries, maxOps: EVICTING.maxOps } : {};
  const wide = options.program?.wide ?? (!withModel && !lruEviction);
  // Ring sizes, mappings and reader steps are scaled to the pair's page (resolvePair made it one).
  const arb = programArb({ ...evicting, ...options.program, types, wide, possibleCpus: left.driver.possibleCpus, pageSize: driverPageSize(left.driver), lruEviction });
  // Wide programs pin: a private bpffs per driver, or none for either (their pin ops then say so).
  const mounts = wide ? mountBoth(left, right) : [];
  try {
    return await differential(options, left, right, arb, runs, lruEviction, mounts.map((m) => m.path));
  } finally {
    for (const m of mounts) m.dispose();
  }
}

function mountBoth(left: ResolvedDriver, right: ResolvedDriver): PrivateBpffs[] {
  const done: PrivateBpffs[] = [];
  try {
    for (const r of [left, right]) done.push(mountPrivateBpffs(r.driver));
    return done;
  } catch {
    for (const m of done) m.dispose();
    return [];
  }
}

async function differential(options: DifferentialOptions, left: ResolvedDriver, right: ResolvedDriver, arb: fc.Arbitrary<Program>,
  runs: number, lruEviction: boolean, bpffs: string[]): Promise<DifferentialSummary> {
  const seed = options.seed ?? ((Date.now() ^ (process.pid << 16)) | 0);
  const envs = [0, 1].map((i) => (bpffs[i] === undefined ? {} : { bpffs: bpffs[i]! }));
  const t0 = performance.now();
  const tally: { run: number; skipped: number; failed: boolean; calls: number[]; secs: number[]; notModelled?: NotModelledError } = {
    run: 0, skipped: 0, failed: false, calls: [0, 0], secs: [0, 0],
  };
  // What the first failing run and the last (the minimal program) saw: if the minimal program
  // does not diverge again on replay, these say which step differed and what each driver said.
  const seen: { first?: string; last?: { program: Program; text: string } } = {};

  // Async only for the polls of user rings and perf events, whose answers come as promises.
  const property = fc.asyncProperty(arb, async (program) => {
    const a = tryRun(left, program, envs[0]!, tally);
    // A program the left driver cannot run is skipped without the right's run.
    const b = a === undefined ? undefined : tryRun(right, program, envs[1]!, tally);
    tally.run++;
    if (a === undefined || b === undefined) {
      tally.skipped++;
      fc.pre(false);
      return true;
    }
    await Promise.all([a.settled, b.settled]);
    tally.calls[0]! += a.calls;
    tally.calls[1]! += b.calls;
    tally.secs[0]! += a.seconds;
    tally.secs[1]! += b.seconds;
    const d = firstDivergence(program, a, b);
    if (d !== undefined) {
      tally.failed = true;
      const text = formatDivergence(d, left.name, right.name);
      seen.first ??= `${formatProgram(program)}\n${text}`;
      seen.last = { program, text };
    }
    options.onProgress?.({ run: tally.run, runs, ops: tally.calls[0]! + tally.calls[1]!, shrinking: tally.failed });
    return d === undefined;
  });
  const check = () => fc.check(property, {
    numRuns: runs, seed, ...(options.path !== undefined ? { path: options.path } : {}),
    // Skips are rare (LRU pools are kept small); never let them end the run early.
    maxSkipsPerRun: 1000,
    endOnFailure: options.shrink === false,
  });
  const details = await (lruEviction ? onCpu0Async(check) : check());
  const divergences: Counterexample[] = [];
  if (details.failed) {
    if (details.counterexample === null) {
      // fast-check gives up when (nearly) every program is skipped: say which driver could run none.
      if (tally.notModelled !== undefined && tally.skipped >= tally.run - runs) {
        throw new Error(`runDifferential: ${tally.skipped} of ${tally.run} programs skipped, ${tally.notModelled.message}: choose types both drivers run`, { cause: tally.notModelled });
      }
      throw details.errorInstance ?? new Error("the differential run failed without a counterexample");
    }
    const program = details.counterexample[0];
    let d: Divergence | undefined;
    try {
      const replay = async () => firstDivergence(program, await settled(runProgram(left.driver, program, envs[0])), await settled(runProgram(right.driver, program, envs[1])));
      d = await (lruEviction ? onCpu0Async(replay) : replay());
    } catch (e) {
      throw new Error(`replaying the minimal program threw: ${(e as Error).message}\n${formatProgram(program)}`, { cause: e });
    }
    if (d === undefined) {
      // fast-check's own error here says only "Property failed by returning false": name the
      // run and show the program, so that the flake can be chased.
      const shown = formatProgram(program);
      const when = seen.last !== undefined && formatProgram(seen.last.program) === shown
        ? `\nwhen it diverged:\n${seen.last.text}` : "";
      const first = seen.first === undefined || seen.first.startsWith(`${shown}\n`) ? ""
        : `\nthe first failing program, before shrinking:\n${seen.first}`;
      throw new Error(
        `the minimal program diverged once but not on replay (a driver is not deterministic; ` +
          `seed ${details.seed}, path "${details.counterexamplePath ?? ""}"):\n${shown}${when}${first}`,
        { cause: details.errorInstance ?? undefined },
      );
    }
    divergences.push({ program, divergence: d, seed: details.seed, path: details.counterexamplePath ?? "", shrinks: details.numShrinks });
  }
  const seconds = (performance.now() - t0) / 1000;
  const throughput = (i: 0 | 1, r: ResolvedDriver): DriverThroughput => ({
    name: r.name, ops: tally.calls[i]!, seconds: tally.secs[i]!,
    opsPerSecond: tally.secs[i]! > 0 ? tally.calls[i]! / tally.secs[i]! : 0,
  });
  const summary = {
    ok: divergences.length === 0, left: left.name, right: right.name, seed,
    runs: details.numRuns, skipped: tally.skipped, ops: tally.calls[0]! + tally.calls[1]!, seconds,
    drivers: [throughput(0, left), throughput(1, right)] as const, divergences,
  };
  let report = formatSummary(summary);
  // A replay that agrees is said so: "agree on 1 programs" alone reads like a fresh run.
  if (options.path !== undefined && summary.ok) report += `\n  the program at path "${options.path}" did not reproduce: the drivers agree on it`;
  return { ...summary, report };
}

/** The trace once its polls' lines hold their answers. */
async function settled(t: ProgramTrace): Promise<ProgramTrace> {
  await t.settled;
  return t;
}

function tryRun(r: ResolvedDriver, program: Program, env: RunProgramOptions, tally: { notModelled?: NotModelledError }) {
  try {
    return runProgram(r.driver, program, env);
  } catch (e) {
    if (e instanceof NotModelledError) {
      tally.notModelled = e;
      return undefined;
    }
    throw e;
  }
}

/** The summary as readable lines: the verdict, per-driver throughput, the counterexample. */
export function formatSummary(s: Omit<DifferentialSummary, "report">): string {
  const rate = (t: DriverThroughput) => `${t.name} ${Math.round(t.opsPerSecond).toLocaleString("en-US")} ops/s (${t.ops} ops in ${t.seconds.toFixed(2)} s)`;
  const lines = [
    `${s.left} vs ${s.right}: ${s.ok ? "agree" : "DIFFER"} on ${s.runs} programs${s.skipped ? ` (${s.skipped} skipped)` : ""}, ${s.ops} ops in ${s.seconds.toFixed(2)} s, seed ${s.seed}`,
    `  ${rate(s.drivers[0])}`,
    `  ${rate(s.drivers[1])}`,
  ];
  for (const c of s.divergences) {
    lines.push(`minimal counterexample after ${c.shrinks} shrinks (replay: seed ${c.seed}, path "${c.path}"):`);
    lines.push(formatProgram(c.program).replace(/^/gm, "  "));
    lines.push(formatDivergence(c.divergence, s.left, s.right).replace(/^/gm, "  "));
  }
  return lines.join("\n");
}
