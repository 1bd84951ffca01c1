// Datapath interleavings: which map operations a "BPF program" performs at which points of a
// dump. A point is the index of a syscall the dump makes (the simulator's interleaving hook runs
// before each), so a shrunk interleaving reads "before the dump's 3rd syscall, delete key 5".
import { assertOptionKeys, optionKeys } from "@bpfkit/core";
import fc from "fast-check";

/** One map operation a simulated BPF program performs: update, delete or lookup of a key, on a CPU. */
export interface DatapathOp {
  /** update is BPF_ANY (insert or replace); lookup marks LRU elements referenced. */
  readonly kind: "update" | "delete" | "lookup";
  /** Index into the fuzz case's key universe. */
  readonly key: number;
  /** The CPU the program runs on. */
  readonly cpu: number;
  /**
   * Aim at the dump instead of `key`: 0 = the key its last GET_NEXT_KEY returned, 1 = the one
   * before (the walk's fallback). Deleting those is the race the reliable walk exists for.
   */
  readonly recent?: 0 | 1 | undefined;
}

/** Datapath operations to run just before one of the code's syscalls. */
export interface InterleavingStep {
  /** Runs before the dump's `at`-th syscall (0-based). */
  readonly at: number;
  /** The operations, run in order. */
  readonly ops: readonly DatapathOp[];
}

/** What `interleavingArb` draws: the keys and CPUs, how late and how many steps. */
export interface InterleavingOptions {
  /** Keys the datapath may touch: indexes in [0, keys). */
  keys: number;
  /** The CPUs an operation may run on: indexes in [0, possibleCpus). */
  possibleCpus: number;
  /** Latest syscall index a step may name. Default 48. */
  maxAt?: number;
  /** Most steps. Default 24. */
  maxSteps?: number;
}

/** One datapath operation on keys [0, keys) and CPUs [0, possibleCpus); shrinks to a delete of key 0 on CPU 0. */
export function datapathOpArb(keys: number, possibleCpus: number): fc.Arbitrary<DatapathOp> {
  return fc.record({
    kind: fc.oneof({ weight: 3, arbitrary: fc.constant("delete" as const) }, { weight: 3, arbitrary: fc.constant("update" as const) },
      { weight: 1, arbitrary: fc.constant("lookup" as const) }),
    key: fc.nat(Math.max(0, keys - 1)),
    cpu: fc.nat(Math.max(0, possibleCpus - 1)),
    recent: fc.option(fc.constantFrom(0 as const, 1 as const), { freq: 2, nil: undefined }),
  });
}

const INTERLEAVING_OPTIONS_KEYS = optionKeys<InterleavingOptions>({ keys: true, possibleCpus: true, maxAt: true, maxSteps: true });

/** Steps sorted by `at`; shrinking drops steps and ops, and moves them earlier. */
export function interleavingArb(o: InterleavingOptions): fc.Arbitrary<InterleavingStep[]> {
  assertOptionKeys(o, INTERLEAVING_OPTIONS_KEYS, "interleavingArb", "options");
  const step = fc.record({
    at: fc.nat(o.maxAt ?? 48),
    ops: fc.array(datapathOpArb(o.keys, o.possibleCpus), { minLength: 1, maxLength: 3 }),
  });
  return fc.array(step, { maxLength: o.maxSteps ?? 24 }).map((steps) => readable([...steps].sort((a, b) => a.at - b.at)));
}

/** A schedule as lines: `before syscall 3: delete key 5 on cpu 1`. */
export function formatInterleaving(steps: readonly InterleavingStep[]): string {
  return steps.map((s) => `before syscall ${s.at}: ${s.ops.map((o) => `${o.kind} ${formatTarget(o)} on cpu ${o.cpu}`).join(", ")}`).join("\n");
}

/**
 * Which key an op goes at. An aimed op ignores `key` while the dump has a GET_NEXT_KEY answer
 * to aim at: printing `key` alone would name a key the op never touched.
 */
function formatTarget(o: DatapathOp): string {
  if (o.recent === undefined) return `key ${o.key}`;
  return `the key the dump's ${o.recent === 0 ? "last" : "previous"} GET_NEXT_KEY returned (key ${o.key} until there is one)`;
}

// fast-check prints a counterexample with this, so a failing property shows the schedule in words.
function readable(steps: InterleavingStep[]): InterleavingStep[] {
  Object.defineProperty(steps, fc.toStringMethod, { value: () => `[${steps.length === 0 ? "" : `\n${formatInterleaving(steps)}\n`}]`, enumerable: false });
  return steps;
}
