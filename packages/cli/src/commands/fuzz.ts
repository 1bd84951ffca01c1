// `bpfkit fuzz diff|btf|dump`: testkit's differential runners (the same random programs, or the
// same random BTF blobs, on two drivers, every answer compared) and its dump-reliability fuzzer,
// from the command line.
import type { Driver } from "@bpfkit/core";
import { sysAdminMissing } from "@bpfkit/driver-kernel";
import { CliError, ExitCode, usageError } from "../cli-error.js";
import { kernelUnavailableReason } from "../driver-select.js";
import { flag, intOption, str, type Command, type OptionValues } from "../command.js";
import type { Ctx } from "../context.js";
import { loadImplementations } from "../dump-implementations.js";
import { mapTypeKernelName, parseMapType } from "../names.js";

function seedOpt(opts: OptionValues): number | undefined {
  const v = str(opts, "seed");
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Math.abs(Number(v)) > 0x7fffffff) throw usageError(`--seed ${v}: expected a 32-bit integer`);
  return Number(v);
}

/** `--path`: fast-check's replay path as a run prints it, `4:0:0:2` (else fast-check's own error, exit 1). */
function pathOpt(opts: OptionValues, seed: number | undefined): string | undefined {
  const v = str(opts, "path");
  if (v === undefined) return undefined;
  if (!/^\d+(:\d+)*$/.test(v)) throw usageError(`--path ${JSON.stringify(v)}: expected the path a run printed, numbers joined by ':' (as 4:0:0:2)`);
  if (seed === undefined) throw usageError("--path needs the --seed it was printed with");
  return v;
}

/** `--types`: map types by name or number, comma-separated, each one the runner draws programs for (`drawn`). */
function typesOpt(opts: OptionValues, drawn: readonly number[]): number[] | undefined {
  const v = str(opts, "types");
  if (v === undefined) return undefined;
  return v.split(",").map((name) => {
    const t = parseMapType(name.trim());
    if (t === undefined || name.trim() === "") throw usageError(`--types ${v}: ${JSON.stringify(name)} is no map type (names as map create takes them, or numbers)`);
    // A type no program is drawn for would compare only refused creates, and agree.
    if (!drawn.includes(t)) {
      throw usageError(`--types ${v}: fuzz diff draws no programs for ${mapTypeKernelName(t)}`,
        `its types: ${drawn.map(mapTypeKernelName).join(",")}`);
    }
    return t;
  });
}

function side(opts: OptionValues, name: string, dflt: "sim" | "kernel" | "model"): "sim" | "kernel" | "model" {
  const v = str(opts, name) ?? dflt;
  if (v !== "sim" && v !== "kernel" && v !== "model") throw usageError(`--${name} ${v}: expected sim, kernel or model`);
  return v;
}

/** The options of a differential runner: how many cases, the seed and path that replay one, the two drivers. */
function pairOptions(cases: string): Command["options"] {
  return {
    runs: { type: "string", arg: "N", help: `${cases} (default 100)` },
    seed: { type: "string", arg: "S", help: "fast-check seed (default random; the summary prints it)" },
    path: { type: "string", arg: "P", help: "with --seed: replay one counterexample" },
    left: { type: "string", arg: "DRIVER", help: "default sim" },
    right: { type: "string", arg: "DRIVER", help: "default kernel" },
  };
}

/**
 * A differential runner's command line (pairOptions'): no arguments, the seed and path, the two
 * sides (never --driver, which would be ignored), and --runs. A bad --runs is exit 2 before the
 * kernel is asked about (not exit 3 on a host without it).
 */
function pairArgs(args: readonly string[], opts: OptionValues, command: string) {
  if (args.length > 0) throw usageError(`unexpected ${JSON.stringify(args.join(" "))}`);
  const seed = seedOpt(opts);
  const path = pathOpt(opts, seed);
  if (str(opts, "driver") !== undefined) throw usageError(`${command} compares two drivers: choose them with --left and --right, not --driver`);
  const left = side(opts, "left", "sim");
  const right = side(opts, "right", "kernel");
  const runs = intOption(opts, "runs", 1) ?? 100;
  return { seed, path, left, right, runs };
}

/** Exit 3 when a side is the kernel and it cannot be used here as root. */
async function needKernel(ctx: Ctx, what: string, sides: readonly string[], hint: string): Promise<void> {
  if (!sides.includes("kernel")) return;
  const why = (await kernelUnavailableReason(ctx.io)) ?? sysAdminMissing();
  if (why !== undefined) throw new CliError(`${what} against the kernel: ${why}`, ExitCode.permission, hint);
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
  usage: "fuzz diff [--runs N] [--seed S] [--left sim|kernel|model] [--right sim|kernel|model] [--types LIST] [--lru-eviction] [--plain] [--path P] [--json]",
  details: "testkit's differential runner: random operation programs (updates, lookups, deletes, next-key walks, batches)\n" +
    "over random maps, on both drivers; on a difference, fast-check shrinks it to a minimal program and prints it with\n" +
    "the seed and path that replay it. Exit code 5 when the drivers differ. The kernel side needs root (CAP_SYS_ADMIN).\n" +
    "--lru-eviction compares LRU eviction: LRU maps of 8 to 16 entries, programs that outgrow them and look keys up\n" +
    "by a BPF program too (which marks an element, as a syscall does not), the process pinned to CPU 0 (the kernel\n" +
    "evicts deterministically only on one CPU; Linux).\n" +
    "Unless the model takes part, programs are wide: map flags, two create faults at once, sizes at the limits, varied\n" +
    "inner maps, u32-edge keys, flags past u32, big batches, pins, foreign batch tokens, map fds as values, and (one\n" +
    "in five) a map created with BTF whose value holds a bpf_spin_lock or a bpf_timer, its ops taking BPF_F_LOCK. --plain\n" +
    "leaves those out and draws the programs a seed drew before they came (to replay such a seed and path).\n" +
    "Unless the model takes part, one program in eight is a ring buffer's, in place of the one the seed drew before\n" +
    "(with --plain too): outputs, reserves (submitted or discarded, one or two held at once)\n" +
    "and queries run as a program's helpers (on the kernel by BPF_PROG_TEST_RUN), and reader steps that move the\n" +
    "consumer position, each compared by the positions and the record headers and samples.\n" +
    "Unless the model takes part, one program in ten is a USER_RINGBUF's or a PERF_EVENT_ARRAY's, in place of the one\n" +
    "the seed drew before (with --plain too). A user ring's writer reserves, commits, discards and writes records\n" +
    "through its mapping where libbpf would find room (some malformed or left BUSY), a program drains it (each drain's\n" +
    "answer and the size, first and last u64 of every sample it saw are compared) and polls ask for room. A perf\n" +
    "event array's events are opened per CPU and mapped, its slots set and cleared, programs output samples on a\n" +
    "CPU (its slot, a slot by index, past the map), a reader moves data_tail and polls; every record a reader may\n" +
    "read is compared (a sample's padding, which the kernel never writes, and a lost record's event id are not).\n" +
    "--types draws only the map types listed (names as map create takes them, or numbers), e.g.\n" +
    "--types user_ringbuf,perf_event_array; a type it draws no programs for is refused (it would compare only\n" +
    "refused creates), and the error lists the ones it draws.",
  options: {
    ...pairOptions("programs to run"),
    "lru-eviction": { type: "boolean", help: "LRU programs that evict, pinned to CPU 0" },
    plain: { type: "boolean", help: "no wide programs: what seeds drew before them (but for the ring, user ring and perf programs)" },
    types: { type: "string", arg: "LIST", help: "only these map types, comma-separated (ringbuf,user_ringbuf,perf_event_array, …)" },
  },
  examples: [
    "bpfkit fuzz diff --runs 500", "bpfkit fuzz diff --left model --right kernel --seed 42", "bpfkit fuzz diff --lru-eviction --runs 1000",
    "bpfkit fuzz diff --types user_ringbuf,perf_event_array --runs 300",
  ],
  async run(ctx, args, opts) {
    const { seed, path, left, right, runs } = pairArgs(args, opts, "fuzz diff");
    const { runDifferential, PROGRAM_MAP_TYPES } = await import("@bpfkit/testkit");
    const types = typesOpt(opts, PROGRAM_MAP_TYPES);
    // With CAP_BPF alone the kernel works but refuses the BPF_F_ZERO_SEED and open-by-id its
    // programs use, which the simulator (as root) allows: every run would be a false difference.
    await needKernel(ctx, "fuzz diff", [left, right], "run as root, or compare the simulator with the reference model: --left model --right sim");
    const program = { ...(flag(opts, "plain") ? { wide: false } : {}), ...(types !== undefined ? { types } : {}) };
    const progress = throttled(ctx);
    const summary = await runDifferential({
      left, right, runs, lruEviction: flag(opts, "lru-eviction"), ...(Object.keys(program).length > 0 ? { program } : {}),
      ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}),
      onProgress: (p) => progress(`${p.shrinking ? "shrinking" : "program"} ${p.run}/${p.runs}, ${p.ops} ops…`),
    });
    ctx.progress(undefined);
    ctx.emit(() => `${summary.report.trimEnd()}\n`, () => summary);
    return summary.ok ? 0 : ExitCode.divergence;
  },
};

export const fuzzBtfCommand: Command = {
  name: "fuzz btf",
  summary: "load the same random BTF blobs on two drivers and compare every errno and log byte",
  usage: "fuzz btf [--runs N] [--seed S] [--left sim|kernel] [--right sim|kernel] [--path P] [--json]",
  details: "testkit's BTF differential: random type graphs over every BTF kind (ints, pointers, arrays, structs and unions\n" +
    "with bitfields, enums, functions and their prototypes, variables and data sections, floats, decl and type tags,\n" +
    "structs named bpf_spin_lock, bpf_timer, …, graph roots, kptrs to the program's structs and a few of the kernel's,\n" +
    "loops and long modifier chains), with faults on top (a word, a name past the strings, a header field, the\n" +
    "string section's edges, raw bytes), loaded with BPF_BTF_LOAD at a drawn log level (BPF_LOG_FIXED or not) into\n" +
    "a buffer of 1 byte to 64 KiB or the log's own length give or take a byte. The errno, btf_log_true_size and\n" +
    "every byte of the log buffer are compared; for a blob that loads, up to three maps are created on it (HASH,\n" +
    "ARRAY, LRU, per-CPU, LPM trie, queue, stack, bloom filter, global-data arrays, and now and then a map type that\n" +
    "refuses BTF its own way) with drawn key and value type ids, and their answers compared too. On a difference,\n" +
    "fast-check shrinks it to a minimal blob, printed in hex with the seed and path that replay it. Exit code 5 when\n" +
    "the drivers differ.\n" +
    "Against the kernel the simulator is given this host's /sys/kernel/btf/vmlinux (where it is absent, a note says\n" +
    "so). The kernel side needs root (CAP_SYS_ADMIN). The model has no BTF: it cannot take part.",
  options: pairOptions("blobs to load"),
  examples: ["bpfkit fuzz btf --runs 1000", "bpfkit fuzz btf --seed 42 --runs 300 --json"],
  async run(ctx, args, opts) {
    const { seed, path, left, right, runs } = pairArgs(args, opts, "fuzz btf");
    if (left === "model" || right === "model") throw usageError("fuzz btf: the model has no BTF methods; compare sim and kernel");
    const { runBtfDifferential } = await import("@bpfkit/testkit");
    await needKernel(ctx, "fuzz btf", [left, right], "run as root: the kernel is the only reference for BTF (the model has none)");
    // A simulator side is the io's own where it makes one (tests pass a prepared simulator).
    const driver = async (name: "sim" | "kernel") => (name === "sim" && ctx.io.createDriver !== undefined ? await ctx.io.createDriver("sim") : name);
    const progress = throttled(ctx);
    const summary = await runBtfDifferential({
      left: await driver(left), right: await driver(right), runs, ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}),
      onProgress: (p) => progress(`${p.shrinking ? "shrinking" : "blob"} ${p.run}/${p.runs}…`),
    });
    ctx.progress(undefined);
    ctx.emit(() => `${summary.report.trimEnd()}\n`, () => summary);
    return summary.ok ? 0 : ExitCode.divergence;
  },
};

const DUMP_FUZZ_CHOICES = ["walk", "walk-once", "batch", "map", "both", "all"] as const;
type DumpFuzzChoice = (typeof DUMP_FUZZ_CHOICES)[number];
const isDumpFuzzChoice = (a: string): a is DumpFuzzChoice => (DUMP_FUZZ_CHOICES as readonly string[]).includes(a);

/**
 * `first`, then a new simulator per call: the io's own where it makes one at once, else testkit's
 * simulatorPerCase (a new host on the last one's wasm engine where it can).
 */
async function freshSims(ctx: Ctx, first: Driver): Promise<() => Driver> {
  const { simulatorPerCase } = await import("@bpfkit/testkit");
  const next = simulatorPerCase(await import("@bpfkit/driver-wasm-sim"), { possibleCpus: first.possibleCpus });
  let used = false;
  return () => {
    if (!used) {
      used = true;
      return first;
    }
    const d = ctx.io.createDriver?.("sim");
    if (d !== undefined && !(d instanceof Promise)) return d;
    return next();
  };
}

export const fuzzDumpCommand: Command = {
  name: "fuzz dump",
  summary: "fuzz the reliable dump: random maps, a datapath changing them mid-dump, every invariant checked",
  usage: "fuzz dump [--runs N] [--seed S] [--path P] [--algorithm walk|walk-once|batch|map|both|all] [--implementation FILE] [--driver sim|kernel] [--json]",
  details: "testkit's dump-reliability fuzzer over core's dump algorithms: every key present for the whole dump is\n" +
    "delivered, nothing never present is delivered, the dump ends within 4 × max_entries lookups, and the DumpStats\n" +
    "counters agree. On the simulator the datapath acts through the interleaving hook (deterministic from --seed);\n" +
    "on the kernel it is a second thread, and it needs root (CAP_SYS_ADMIN). Exit code 5 when an invariant breaks.\n" +
    "--implementation fuzzes your own dump code instead of core's: an ES module exporting walk, walkOnce or batch,\n" +
    "each a testkit DumpImplementation (target, sink, stats, maxEntries, batchSize) => void (or a default object of\n" +
    "them); --algorithm then defaults to what it exports. examples/dump-implementation/walk-once.mjs in the\n" +
    "repository is one, a plain-JS v1.7 walk to start from.",
  options: {
    runs: { type: "string", arg: "N", help: "random maps to dump (default 100)" },
    seed: { type: "string", arg: "S", help: "seed (default random; the summary prints it)" },
    path: { type: "string", arg: "P", help: "with --seed: replay one counterexample" },
    algorithm: { type: "string", arg: "walk|walk-once|batch|map|both|all", help: "which dump to fuzz (default both: walk and batch; all adds walk-once, dumpWithCallback's walk, and map, BpfMap's reliable dump)" },
    implementation: { type: "string", arg: "FILE", help: "an ES module whose walk, walkOnce and batch exports replace core's dumps" },
  },
  // Every example runs as written (the test resolves the module from the repository's root).
  examples: [
    "bpfkit fuzz dump --driver sim --runs 200 --seed 1",
    "bpfkit fuzz dump --driver kernel --algorithm batch",
    "bpfkit fuzz dump --driver sim --implementation examples/dump-implementation/walk-once.mjs   # from the repository's root",
  ],
  async run(ctx, args, opts) {
    if (args.length > 0) throw usageError(`unexpected ${JSON.stringify(args.join(" "))}`);
    const file = str(opts, "implementation");
    const implementations = file === undefined ? undefined : await loadImplementations(file, process.cwd());
    // Without --algorithm, the fuzzer takes the ones the module implements (else both).
    const given = str(opts, "algorithm");
    if (given !== undefined && !isDumpFuzzChoice(given)) throw usageError(`--algorithm ${given}: expected ${DUMP_FUZZ_CHOICES.join(", ")}`);
    const algorithm = given ?? (implementations !== undefined ? undefined : "both");
    const seed = seedOpt(opts);
    const path = pathOpt(opts, seed);
    // Read before the driver is made: a bad --runs is exit 2 whatever the driver.
    const runs = intOption(opts, "runs", 1) ?? 100;
    const { runDumpFuzz } = await import("@bpfkit/testkit");
    const driver = await ctx.driver();
    // Its datapath thread opens the map by id, which CAP_BPF alone may not do.
    const gap = driver.kind === "kernel" ? sysAdminMissing() : undefined;
    if (gap !== undefined) throw new CliError(`fuzz dump on the kernel: ${gap}`, ExitCode.permission, "run as root, or fuzz the simulator with --driver sim");
    const progress = throttled(ctx);
    // The fuzzer awaits its kernel datapath thread through a message port; whether that holds
    // the event loop is the fuzzer's business, so the command holds it until the run ends.
    const keepAlive = setInterval(() => {}, 60_000);
    let summary;
    try {
      summary = await runDumpFuzz({
        // A simulator afresh for each case (as testkit's "sim"), so that a printed path replays
        // the same maps with the same hash seeds.
        driver: driver.kind === "sim" ? await freshSims(ctx, driver) : driver, runs, ...(algorithm !== undefined ? { algorithm } : {}),
        ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}),
        ...(implementations !== undefined ? { implementations } : {}),
        onProgress: (p) => progress(`${p.shrinking ? "shrinking" : "map"} ${p.run}/${p.runs}, ${p.dumps} dumps…`),
      });
    } finally {
      clearInterval(keepAlive);
    }
    ctx.progress(undefined);
    // The command that replays the minimal case: the same driver and --algorithm, its seed and path.
    const replay = summary.violations.map((v) => `  replay: bpfkit fuzz dump --driver ${summary.driver}${algorithm !== undefined ? ` --algorithm ${algorithm}` : ""}${file !== undefined ? ` --implementation ${file}` : ""} --seed ${v.seed} --path ${v.path}\n`).join("");
    ctx.emit(() => `${summary.report.trimEnd()}\n${replay}`, () => summary);
    return summary.ok ? 0 : ExitCode.divergence;
  },
};
