// The dump-reliability fuzzer: random maps, a datapath that deletes and inserts while a reliable
// dump runs (simulator: the interleaving hook, deterministic from the seed; kernel: a second
// thread), and the invariants of check-dump.ts on every dump of every algorithm asked for.
import {
  BPF_ANY, BPF_MAP_TYPE_LPM_TRIE, BPF_F_NO_PREALLOC, BatchScratch, type BpfMap, type Driver, type DumpStats, type DumpTarget, type RawSink,
  assertOptionKeys, batchDump, bytes, createBpf, decodeMapInfo, isHashMapType, isPerCpuMapType, newDumpStats, newPerCpuMap, optionKeys,
  silentLogger, walkDump,
} from "@bpfkit/core";
import { mountPrivateBpffs } from "../bpffs.js";
import fc from "fast-check";
import { type DriverChoice, resolveDriver } from "../diff/driver-choice.js";
import { type Delivery, type DumpFuzzAlgorithm, checkDump, raceMisses, racyReads } from "./check-dump.js";
import { type DumpCase, dumpCaseArb, formatDumpCase } from "./dump-case.js";
import { countingDriver, resetCalls } from "./dump-counter.js";
import { DumpTrace } from "./dump-trace.js";
import { type DatapathRecord, newDatapathRecord } from "./datapath.js";
import type { HeldValues } from "./held.js";
import { KernelDatapath } from "./kernel-datapath.js";
import { type SimDatapathRun, attachSimDatapath, isSimDriver } from "./sim-datapath.js";
import { simulatorPerCase } from "./sim-per-case.js";
import { KeyUniverse } from "./universe.js";

/**
 * Dumps the whole map into `sink`, keeping `stats`; throws MaxLookupError past the budget.
 * `batchSize`: elements per LOOKUP_BATCH call, kept small so the datapath gets in between.
 */
export type DumpImplementation = (target: DumpTarget, sink: RawSink, stats: DumpStats, maxEntries: number, batchSize: number) => void;

/** Core's algorithms, as the fuzzer runs them. */
export const CORE_DUMPS: Record<Exclude<DumpFuzzAlgorithm, "map">, DumpImplementation> = {
  walk: (target, sink, stats) => walkDump(target, sink, stats),
  "walk-once": (target, sink, stats) => walkDump(target, sink, stats, true),
  batch: (target, sink, stats, maxEntries, batchSize) => {
    if (!batchDump(target, sink, stats, new BatchScratch(), maxEntries, batchSize)) throw new Error("LOOKUP_BATCH is not supported for this map type");
  },
};

/** How far a dump fuzz run has got, as `onProgress` is told after each case. */
export interface DumpFuzzProgress {
  /** Cases run so far, shrinking runs included. */
  readonly run: number;
  /** Cases asked for (`runs`). */
  readonly runs: number;
  /** Dumps made so far (one per case and algorithm). */
  readonly dumps: number;
  /** True once a case has failed: fast-check is now looking for a smaller one. */
  readonly shrinking: boolean;
}

/** `runDumpFuzz`'s options; any other key is a TypeError. */
export interface DumpFuzzOptions {
  /**
   * "sim" (default), "kernel", or a Driver: a simulator's datapath acts through its hook, a
   * driver of kind "kernel" gets the datapath thread, any other is dumped without a datapath
   * (the report says so). "sim" is a fresh simulator for each case, so that a map's hash seed,
   * which the simulator draws from its map ids as the kernel draws at random, is the same when
   * the case is replayed; so is a function that makes simulators, called once per case. A given
   * simulator is shared by all cases, and a replay by `path` may then meet other hash seeds.
   */
  driver?: DriverChoice;
  /** Cases to run (each dumped once per algorithm). Default 100. */
  runs?: number;
  /**
   * fast-check's seed: the same seed draws the same cases (default: from the clock and pid, printed in the
   * summary).
   */
  seed?: number;
  /** With `seed`, replays one counterexample path a summary printed. */
  path?: string;
  /**
   * "both" is walk and batch; "all" adds `walk-once` and `map` (BpfMap's public dump). Default:
   * the algorithms `implementations` replaces, else "both".
   */
  algorithm?: DumpFuzzAlgorithm | "both" | "all";
  /** Map types to draw from (default DUMP_FUZZ_MAP_TYPES). */
  types?: readonly number[];
  /** Largest max_entries (default 48). */
  maxEntries?: number;
  /**
   * The dump code under test, per algorithm: default core's `walkDump` and `batchDump`. A
   * replacement (your own dump, or a deliberately broken one) gets the same checks.
   */
  implementations?: Partial<Record<Exclude<DumpFuzzAlgorithm, "map">, DumpImplementation>>;
  /** Called after each case (shrinking runs included), to show progress. */
  onProgress?: (p: DumpFuzzProgress) => void;
}

/** One broken invariant: the minimal case, the algorithm, what was wrong, and how to replay it. */
export interface DumpFuzzViolation {
  /** The map and datapath moves of the smallest case found that breaks the invariant. */
  readonly case: DumpCase;
  /** The dump algorithm that broke it. */
  readonly algorithm: DumpFuzzAlgorithm;
  /** What was wrong, one line per broken invariant. */
  readonly messages: readonly string[];
  /** The seed to replay it with. */
  readonly seed: number;
  /** fast-check's counterexample path: with `seed`, it replays exactly this case. */
  readonly path: string;
  /**
   * On the simulator, what the dump did in this case, line by line: each syscall (`#N`, numbered
   * as the case's "before syscall N"), its key and answer, each element handed to the sink, the
   * datapath's moves between them, and then the bytes of each key named. From a rerun of the
   * case, which the simulator makes exactly; empty on the kernel, whose thread does not replay.
   */
  readonly trace: readonly string[];
}

/** What `runDumpFuzz` found: `ok`, the counts, the violations with their minimal cases, and `report` in words. */
export interface DumpFuzzSummary {
  /** True when every invariant held on every dump. */
  readonly ok: boolean;
  /** The kind of the driver the dumps ran over. */
  readonly driver: string;
  /** The seed used: pass it (with a violation's `path`) to replay. */
  readonly seed: number;
  /** Cases run up to the first failure, or all of them (fast-check's numRuns; shrinking runs not counted). */
  readonly runs: number;
  /** Dumps made over all cases and algorithms. */
  readonly dumps: number;
  /** Dumps that completed, and that gave up with MaxLookupError. */
  readonly completed: number;
  /** Dumps that gave up with MaxLookupError. */
  readonly maxLookup: number;
  /** Walk disturbances summed over the dumps: how much the datapath got in the way. */
  readonly lookupFailed: number;
  /** Times a walk fell back to its previous confirmed key, summed over the dumps. */
  readonly keyFallback: number;
  /** Times a dump lost its place and went on from a key that may restart the map, summed over the dumps. */
  readonly interrupted: number;
  /**
   * Keys present throughout, untouched, that the kernel's GET_NEXT_KEY races (LPM, hash walks) skipped
   * (docs/kernel-notes.md): counted here rather than as violations, and 0 on the simulator.
   */
  readonly raceMisses: number;
  /** Values read half-written or recycled while a concurrent datapath thread wrote (kernel only). */
  readonly racyReads: number;
  /** Driver calls the dumps made, and their rate. */
  readonly dumpCalls: number;
  /** Driver calls per second of dump time. */
  readonly dumpCallsPerSecond: number;
  /** Datapath operations, and their rate. */
  readonly datapathOps: number;
  /** Datapath operations per second of datapath time. */
  readonly datapathOpsPerSecond: number;
  /** Wall-clock seconds the whole run took. */
  readonly seconds: number;
  /** The broken invariants, each with the minimal case fast-check shrank it to. */
  readonly violations: readonly DumpFuzzViolation[];
  /** The summary in words, as `bpfkit fuzz dump` prints it. */
  readonly report: string;
}

interface CaseResult {
  messages: string[];
  completed: boolean;
  maxLookup: boolean;
  lookupFailed: number;
  keyFallback: number;
  interrupted: number;
  raceMisses: number;
  racyReads: number;
  calls: number;
  callSeconds: number;
  record: DatapathRecord;
  /** With `traced`: what the dump did (DumpFuzzViolation.trace). */
  trace: string[];
}

const DUMP_FUZZ_OPTIONS_KEYS = optionKeys<DumpFuzzOptions>({
  driver: true, runs: true, seed: true, path: true, algorithm: true, types: true, maxEntries: true, implementations: true,
  onProgress: true,
});
const IMPLEMENTATION_KEYS = optionKeys<NonNullable<DumpFuzzOptions["implementations"]>>({ walk: true, "walk-once": true, batch: true });

/**
 * Dumps `runs` random maps with each algorithm asked for while a datapath churns them, checking
 * every invariant of check-dump.ts; on a violation, shrinks to a minimal case. Resolves with a
 * summary (`ok` false and the minimal case in `violations` when an invariant broke).
 */
export async function runDumpFuzz(options: DumpFuzzOptions = {}): Promise<DumpFuzzSummary> {
  // Before any driver is made: a run that ignored a misspelt option would report a false pass.
  assertOptionKeys(options, DUMP_FUZZ_OPTIONS_KEYS, "runDumpFuzz", "options");
  assertOptionKeys(options.implementations, IMPLEMENTATION_KEYS, "runDumpFuzz", "implementations");
  const choice = options.driver ?? "sim";
  const { name, driver } = await resolveDriver(choice);
  if (driver.kind === "model") throw new TypeError("runDumpFuzz needs a driver with a datapath: the simulator or the kernel");
  // The fuzzer's own simulator: a fresh one per case (see DumpFuzzOptions.driver).
  const freshSim: (() => Driver) | undefined = choice === "sim"
    ? simulatorPerCase(await import("@bpfkit/driver-wasm-sim"), { possibleCpus: driver.possibleCpus })
    : typeof choice === "function" && isSimDriver(driver) ? choice : undefined;
  const runs = options.runs ?? 100;
  const seed = options.seed ?? ((Date.now() ^ (process.pid << 16)) | 0);
  // Without `algorithm`, the ones `implementations` replaces: fuzzing core's others is not asked for.
  const replaced = (["walk", "walk-once", "batch"] as const).filter((a) => options.implementations?.[a] !== undefined);
  const algorithms: DumpFuzzAlgorithm[] = options.algorithm === undefined && replaced.length > 0 ? [...replaced]
    : options.algorithm === undefined || options.algorithm === "both"
      ? ["walk", "batch"] : options.algorithm === "all" ? ["walk", "walk-once", "batch", "map"] : [options.algorithm];
  // BpfMap needs a bpffs root: the simulator's own, else a private mount (never the host's).
  const bpffs = algorithms.includes("map") && !isSimDriver(driver) ? mountPrivateBpffs(driver) : undefined;
  const root = bpffs?.path ?? "/sys/fs/bpf";
  const kernel = !isSimDriver(driver) && driver.kind === "kernel" ? KernelDatapath.start() : undefined;
  const t0 = performance.now();
  const tot = { run: 0, dumps: 0, completed: 0, maxLookup: 0, lookupFailed: 0, keyFallback: 0, interrupted: 0, raceMisses: 0, racyReads: 0, calls: 0, callSeconds: 0, dpOps: 0, dpSeconds: 0 };
  let failing = false;
  let lastFailure: { c: DumpCase; algorithm: DumpFuzzAlgorithm; messages: string[] } | undefined;

  const arb = dumpCaseArb({
    possibleCpus: driver.possibleCpus,
    ...(options.types !== undefined ? { types: options.types } : {}),
    ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
  });
  const property = fc.asyncProperty(arb, async (c) => {
    tot.run++;
    let ok = true;
    for (const algorithm of algorithms) {
      const impl = algorithm === "map" ? undefined : options.implementations?.[algorithm] ?? CORE_DUMPS[algorithm];
      const r = await runCase(freshSim !== undefined ? freshSim() : driver, kernel, root, c, algorithm, impl);
      tot.dumps++;
      if (r.completed) tot.completed++;
      if (r.maxLookup) tot.maxLookup++;
      tot.lookupFailed += r.lookupFailed;
      tot.keyFallback += r.keyFallback;
      tot.interrupted += r.interrupted;
      tot.raceMisses += r.raceMisses;
      tot.racyReads += r.racyReads;
      tot.calls += r.calls;
      tot.callSeconds += r.callSeconds;
      tot.dpOps += r.record.ops;
      tot.dpSeconds += r.record.seconds;
      if (r.messages.length > 0) {
        ok = false;
        failing = true;
        lastFailure = { c, algorithm, messages: r.messages };
        break;
      }
    }
    options.onProgress?.({ run: tot.run, runs, dumps: tot.dumps, shrinking: failing });
    return ok;
  });
  let details: fc.RunDetails<[DumpCase]>;
  try {
    details = await fc.check(property, { numRuns: runs, seed, ...(options.path !== undefined ? { path: options.path } : {}) });
  } finally {
    await kernel?.stop();
    bpffs?.dispose();
  }
  const violations: DumpFuzzViolation[] = [];
  if (details.failed) {
    if (lastFailure === undefined || details.counterexample === null) throw details.errorInstance ?? new Error("the dump fuzz failed without a counterexample");
    const c = details.counterexample[0];
    const algorithm = lastFailure.algorithm;
    // The minimal case once more, traced: on the simulator the rerun is the same dump.
    let trace: string[] = [];
    if (kernel === undefined && isSimDriver(driver)) {
      const impl = algorithm === "map" ? undefined : options.implementations?.[algorithm] ?? CORE_DUMPS[algorithm];
      const again = await runCase(freshSim !== undefined ? freshSim() : driver, undefined, root, c, algorithm, impl, true);
      trace = again.trace;
      if (again.messages.join("\n") !== lastFailure.messages.join("\n")) trace.push("(this rerun of the case did not break the same way: a simulator shared by the cases carries state from one to the next)");
    }
    violations.push({ case: c, algorithm, messages: lastFailure.messages, seed: details.seed, path: details.counterexamplePath ?? "", trace });
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = {
    ok: violations.length === 0, driver: name, seed, runs: details.numRuns, dumps: tot.dumps,
    completed: tot.completed, maxLookup: tot.maxLookup, lookupFailed: tot.lookupFailed,
    keyFallback: tot.keyFallback, interrupted: tot.interrupted, raceMisses: tot.raceMisses, racyReads: tot.racyReads, dumpCalls: tot.calls,
    dumpCallsPerSecond: tot.callSeconds > 0 ? tot.calls / tot.callSeconds : 0,
    datapathOps: tot.dpOps, datapathOpsPerSecond: tot.dpSeconds > 0 ? tot.dpOps / tot.dpSeconds : 0,
    seconds, violations,
  };
  let report = formatDumpFuzzSummary(s, algorithms, kernel !== undefined);
  if (options.path !== undefined && s.ok) report += `\n  the case at path "${options.path}" did not reproduce: no invariant broke`;
  if (kernel === undefined && !isSimDriver(driver)) {
    report += `\n  no datapath: a ${driver.kind} driver that is not a simulator (a wrapper hides its datapath and hook) is dumped while nothing changes it`;
  }
  return { ...s, report };
}

let mapCounter = 0;

async function runCase(driver: Driver, kernel: KernelDatapath | undefined, root: string, c: DumpCase,
  algorithm: DumpFuzzAlgorithm, implementation: DumpImplementation | undefined, traced = false): Promise<CaseResult> {
  const spec = c.spec;
  const u = new KeyUniverse(spec, c.initial + c.fresh, driver.possibleCpus);
  let simRun: SimDatapathRun | undefined;
  const trace = traced ? new DumpTrace(u, () => (simRun?.syscalls() ?? 0) - 1) : undefined;
  // The kernel datapath thread aims at the key the walk just reached (see KernelDatapath.around).
  let aim: ((id: number | undefined) => void) | undefined;
  // And what it has committed: before each read, the versions that read must see or pass.
  let committed: Int32Array | undefined;
  const floor = new Int32Array(u.size);
  const snapshot = () => {
    if (committed !== undefined) for (let i = 0; i < floor.length; i++) floor[i] = Atomics.load(committed, i);
  };
  // On the kernel, which keys the dump walked from: only those can start a hash next-key race.
  const nextKeyFrom = kernel !== undefined ? new Set<number>() : undefined;
  const from = nextKeyFrom === undefined ? undefined : (k: Uint8Array) => {
    const id = u.idOf(k);
    if (id !== undefined) nextKeyFrom.add(id);
  };
  const { driver: counted, calls } = countingDriver(driver, (k) => aim?.(u.idOf(k)), snapshot, from, trace);
  // `map`: created and dumped by core's BpfMap over the counting driver; else a raw map.
  const map = algorithm === "map" ? openBpfMap(counted, root, spec) : undefined;
  const fd = map?.getFd() ?? driver.mapCreate(spec);
  if (fd < 0) throw new Error(`dump fuzz: creating ${formatDumpCase(c)} failed with errno ${-fd}`);
  try {
    for (let i = 0; i < c.initial; i++) {
      const r = driver.mapUpdateElem(fd, u.keys[i]!, u.userValue(i, 0), BPF_ANY);
      if (r < 0) throw new Error(`dump fuzz: filling key ${i} failed with errno ${-r}`);
    }
    // LRU maps may evict while they fill: what is there is what the dump starts from.
    const before = present(driver, fd, u);
    resetCalls(calls);
    nextKeyFrom?.clear();
    const target: DumpTarget = { driver: counted, fd, mapType: spec.mapType, keySize: spec.keySize, valueSize: u.userValueSize, name: "dump-fuzz" };
    const stats = newDumpStats(c.budgetEntries ?? spec.maxEntries);
    const deliveries: Delivery[] = [];
    // On the simulator, what the key held when the dump read it: the state after its latest syscall.
    let held: HeldValues | undefined;
    // On the kernel, the version its datapath thread had committed for the key when the read began.
    const deliver = (key: Uint8Array, slots: Delivery["slots"]) => {
      trace?.deliver(key, slots);
      const id = held === undefined && committed === undefined ? undefined : u.idOf(key);
      if (id === undefined) deliveries.push({ key, slots });
      else if (held !== undefined) deliveries.push({ key, slots, held: held.at(id) });
      else deliveries.push({ key, slots, atLeast: floor[id]! });
    };
    const sink = (keys: Uint8Array, ko: number, values: Uint8Array, vo: number) => {
      deliver(keys.slice(ko, ko + spec.keySize), u.decode(values, vo));
    };
    let callSeconds = 0;
    const dump = (): unknown => {
      const t = performance.now();
      try {
        if (map !== undefined) {
          map.dumpReliablyWithCallback((k, v) => deliver(k, u.decode(userValue(u, v))), stats, { batchSize: c.batchCap });
        } else {
          implementation!(target, sink, stats, spec.maxEntries, c.batchCap);
        }
        return undefined;
      } catch (e) {
        return e;
      } finally {
        callSeconds = (performance.now() - t) / 1000;
      }
    };
    let error: unknown;
    let record: DatapathRecord;
    if (isSimDriver(driver)) {
      const run = attachSimDatapath(driver, fd, u, c.interleaving, (back) => calls.recent[back], before, trace);
      simRun = run;
      held = run.held;
      try {
        error = dump();
      } finally {
        run.detach();
      }
      record = run.record;
    } else if (kernel !== undefined) {
      const info = new Uint8Array(104);
      driver.objGetInfoByFd(fd, info);
      // The thread churns the fresh keys and every third key present before: the rest stay put.
      const ids = [...Array(u.size).keys()].filter((i) => i >= c.initial || i % 3 === 0);
      ({ result: error, record } = await kernel.around({ mapId: decodeMapInfo(info).id, universe: u, ids, seed: c.seed, updateShare: 0.5 }, (a, c) => {
        aim = a;
        committed = c;
        try {
          return dump();
        } finally {
          aim = undefined;
          committed = undefined;
        }
      }));
    } else {
      error = dump();
      record = newDatapathRecord(false);
    }
    const after = present(driver, fd, u);
    const run = { algorithm, universe: u, before, after, record, deliveries, error, stats, calls,
      nextKeyRace: kernel !== undefined && nextKeyRaces(spec.mapType, algorithm), concurrentWriters: kernel !== undefined,
      ...(nextKeyFrom !== undefined ? { nextKeyFrom } : {}) };
    const messages = checkDump(run);
    if (messages.length > 0) {
      const { recent: _, ...counted } = calls;
      messages.push(`${STATS_CONTEXT}${JSON.stringify({ ...stats, started: undefined, finished: undefined })}; calls ${JSON.stringify(counted)}; ${error === undefined ? "returned" : `threw ${String(error)}`})`);
    }
    return {
      messages, completed: stats.completed, maxLookup: error !== undefined && (error as Error).name === "MaxLookupError",
      lookupFailed: stats.lookupFailed, keyFallback: stats.keyFallback, interrupted: stats.interrupted,
      raceMisses: raceMisses(run).length, racyReads: racyReads(run), calls: calls.nextKey + calls.lookup + calls.batch, callSeconds, record,
      trace: trace === undefined ? [] : [...trace.lines, `   ${error === undefined ? "returned" : `threw ${String(error)}`}`, ...(trace.legend() !== "" ? [`(${trace.legend()})`] : [])],
    };
  } finally {
    if (map !== undefined) map.close();
    else driver.close(fd);
  }
}

/**
 * Whether the kernel's GET_NEXT_KEY may skip keys nobody touched while another CPU writes
 * (docs/kernel-notes.md): always for an LPM trie (its generic LOOKUP_BATCH walks by next-key
 * too); for the hash family only in a walk, since its LOOKUP_BATCH goes by bucket index under
 * the bucket lock.
 */
function nextKeyRaces(mapType: number, algorithm: DumpFuzzAlgorithm): boolean {
  if (mapType === BPF_MAP_TYPE_LPM_TRIE) return true;
  return isHashMapType(mapType) && (algorithm === "walk" || algorithm === "walk-once");
}

/** A BpfMap for `spec` with byte codecs (per-CPU: one value per CPU), created unpinned. */
function openBpfMap(driver: Driver, root: string, spec: DumpCase["spec"]): BpfMap<Uint8Array, Uint8Array | Uint8Array[]> {
  const bpf = createBpf({ driver, mapRoot: root, logger: silentLogger, preAllocateMaps: (spec.mapFlags & BPF_F_NO_PREALLOC) === 0 });
  const common = { name: `dump_fuzz_${mapCounter++}`, key: bytes(spec.keySize), maxEntries: spec.maxEntries, flags: spec.mapFlags };
  // One type for both: the fuzzer compares values as bytes, or per-CPU arrays of bytes.
  type AnyValueMap = BpfMap<Uint8Array, Uint8Array | Uint8Array[]>;
  const m = isPerCpuMapType(spec.mapType)
    ? newPerCpuMap(bpf, { ...common, type: spec.mapType, value: bytes(spec.valueSize) }) as unknown as AnyValueMap
    : bpf.newMap({ ...common, type: spec.mapType, value: bytes(spec.valueSize) }) as unknown as AnyValueMap;
  m.openOrCreateUnpinned();
  return m;
}

/** A BpfMap's value as the user-space layout: per-CPU values at their 8-aligned slots. */
function userValue(u: KeyUniverse, v: Uint8Array | Uint8Array[]): Uint8Array {
  if (!Array.isArray(v)) return v;
  const out = new Uint8Array(u.userValueSize);
  v.forEach((cpu, i) => out.set(cpu, i * u.slot));
  return out;
}

function present(driver: Driver, fd: number, u: KeyUniverse): Set<number> {
  const out = new Set<number>();
  const value = new Uint8Array(u.userValueSize);
  u.keys.forEach((k, i) => {
    if (driver.mapLookupElem(fd, k, value) === 0) out.add(i);
  });
  return out;
}

/** How a violation's last message starts: the dump's stats and calls, context for the ✗ lines above it. */
const STATS_CONTEXT = "(stats ";

/** The summary as readable lines: the verdict, outcomes, throughput, the minimal failing case. */
export function formatDumpFuzzSummary(s: Omit<DumpFuzzSummary, "report">, algorithms: readonly string[], threaded: boolean): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const lines = [
    `dump fuzz on ${s.driver} (${algorithms.length > 1 ? `${algorithms.slice(0, -1).join(", ")} and ${algorithms.at(-1)}` : algorithms[0]}): ${s.ok ? "all invariants held" : "INVARIANT BROKEN"} in ${s.dumps} dumps of ${s.runs} cases, ${s.seconds.toFixed(2)} s, seed ${s.seed}`,
    `  ${s.completed} completed, ${s.maxLookup} gave up (MaxLookupError); walk lookups failed ${s.lookupFailed} times (${s.keyFallback} fallbacks); ${s.interrupted} restarts (walks, and LPM batches whose resume key was deleted)`,
    ...(s.raceMisses > 0 ? [`  ${s.raceMisses} untouched keys skipped by the kernel's GET_NEXT_KEY races with concurrent writes (docs/kernel-notes.md)`] : []),
    ...(s.racyReads > 0 ? [`  ${s.racyReads} values read half-written or from a recycled element while the datapath thread wrote (the kernel copies values without a lock)`] : []),
    // The thread's aim is timing: on a loaded or one-CPU machine it may never land between a
    // walk's next-key and its lookup, and a pass then says little about a walk's fallbacks.
    ...(threaded && s.dumps > 0 && s.lookupFailed === 0 && algorithms.some((a) => a === "walk" || a === "walk-once")
      ? ["  the datapath thread never made a walk's lookup miss: the vanished-key race went unexercised in this run (the two threads may have shared a CPU); run again, or with more runs"]
      : []),
    `  dumps: ${n(s.dumpCallsPerSecond)} driver calls/s (${s.dumpCalls} calls); datapath${threaded ? " thread" : ""}: ${n(s.datapathOpsPerSecond)} ops/s (${s.datapathOps} ops)`,
  ];
  for (const v of s.violations) {
    lines.push(`minimal case (${v.algorithm}; replay: seed ${v.seed}, path "${v.path}"${threaded ? "; a thread's timing may not replay exactly" : ""}):`);
    lines.push(formatDumpCase(v.case).replace(/^/gm, "  "));
    for (const m of v.messages) lines.push(m.startsWith(STATS_CONTEXT) ? `    ${m}` : `  ✗ ${m}`);
    // The path indexes cases drawn from these options: with others it names another case.
    lines.push(`  to replay it: the same driver, algorithm, types, maxEntries and implementations, with seed ${v.seed} and path "${v.path}" (runs does not matter)`);
    if (v.trace.length > 0) {
      lines.push(`  what the dump did (#N: its syscall N, as "before syscall N" counts them; the datapath moves just before it):`);
      for (const t of v.trace) lines.push(`    ${t}`);
    }
  }
  return lines.join("\n");
}
