// One dump-fuzz case: a map, what is in it before the dump, what the datapath may add, the
// lookup budget, how many elements one LOOKUP_BATCH may return, and the datapath's moves.
import {
  BPF_F_NO_PREALLOC, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
  assertOptionKeys, isHashMapType, optionKeys,
} from "@bpfkit/core";
import fc from "fast-check";
import { type InterleavingStep, formatInterleaving, interleavingArb } from "../arbitraries/interleaving.js";
import { type MapSpec } from "../arbitraries/map-spec.js";
import { formatSpec } from "../arbitraries/program.js";

/**
 * The map types the dump fuzzer draws from unless `types` says otherwise: the hash family (LRU and per-CPU too),
 * the arrays and the LPM trie.
 */
export const DUMP_FUZZ_MAP_TYPES: readonly number[] = [
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LPM_TRIE,
];

/**
 * One dump-fuzz case: the map, the keys before the dump and those only the datapath adds, the budget, the batch
 * size and the datapath's moves.
 */
export interface DumpCase {
  /** The map the case creates. */
  readonly spec: MapSpec;
  /** Universe keys 0 … initial−1 are in the map before the dump (arrays: every slot). */
  readonly initial: number;
  /** Keys initial … initial+fresh−1 only the datapath inserts. */
  readonly fresh: number;
  /** `stats.maxEntries` (the budget is 4 × this); undefined: the map's max_entries. */
  readonly budgetEntries: number | undefined;
  /** Elements one LOOKUP_BATCH call asks for (a bigger bucket makes the dump grow its buffer). */
  readonly batchCap: number;
  /** Simulator: what the datapath does before which of the dump's syscalls. */
  readonly interleaving: readonly InterleavingStep[];
  /** Kernel: seeds the datapath thread's choice of operations. */
  readonly seed: number;
}

/** What `dumpCaseArb` draws: the CPUs values are sized for, the map types, and the largest max_entries. */
export interface DumpCaseOptions {
  /** The CPUs per-CPU values and datapath moves are drawn for: the driver's possible CPUs. */
  possibleCpus: number;
  /** The map types to draw from (default `DUMP_FUZZ_MAP_TYPES`). */
  types?: readonly number[];
  /** Largest max_entries. Default 48. */
  maxEntries?: number;
}

const INTERLEAVING_KEYS = 256;

const DUMP_CASE_OPTIONS_KEYS = optionKeys<DumpCaseOptions>({ possibleCpus: true, types: true, maxEntries: true });

/** Dump-fuzz cases; shrinking goes to a small HASH, fewer keys, and fewer, earlier datapath moves. */
export function dumpCaseArb(o: DumpCaseOptions): fc.Arbitrary<DumpCase> {
  assertOptionKeys(o, DUMP_CASE_OPTIONS_KEYS, "dumpCaseArb", "options");
  const types = o.types ?? DUMP_FUZZ_MAP_TYPES;
  return fc.record({
    type: fc.constantFrom(...types),
    keyExtra: fc.nat(8),
    valueSize: fc.integer({ min: 8, max: 24 }),
    maxEntries: fc.integer({ min: 1, max: o.maxEntries ?? 48 }),
    noPrealloc: fc.boolean(),
    zeroSeed: fc.boolean(),
    fill: fc.integer({ min: 0, max: 100 }),
    fresh: fc.nat(16),
    tightBudget: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }) }),
    batchCap: fc.integer({ min: 1, max: 8 }),
    interleaving: interleavingArb({ keys: INTERLEAVING_KEYS, possibleCpus: o.possibleCpus }),
    seed: fc.integer(),
  }).map((d): DumpCase => {
    const t = d.type;
    let flags = 0;
    let keySize = 4 + d.keyExtra;
    if (t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY) keySize = 4;
    if (t === BPF_MAP_TYPE_LPM_TRIE) {
      keySize = 8 + Math.min(d.keyExtra, 4);
      flags |= BPF_F_NO_PREALLOC;
    }
    if (isHashMapType(t)) {
      if (d.zeroSeed) flags |= BPF_F_ZERO_SEED;
      if (d.noPrealloc && (t === BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE_PERCPU_HASH)) flags |= BPF_F_NO_PREALLOC;
    }
    const spec: MapSpec = { mapType: t, keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, mapFlags: flags };
    const isArray = t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY;
    const initial = isArray ? d.maxEntries : Math.round((d.fill / 100) * d.maxEntries);
    const fresh = isArray ? 0 : d.fresh;
    const universe = initial + fresh;
    const interleaving = universe === 0 ? [] : d.interleaving.map((s) => ({
      at: s.at, ops: s.ops.map((op) => ({ ...op, key: op.key % universe })),
    }));
    return withToString({ spec, initial, fresh, budgetEntries: d.tightBudget, batchCap: d.batchCap, interleaving, seed: d.seed });
  });
}

/** A case as readable lines: the map, its contents, the budget, the datapath schedule. */
export function formatDumpCase(c: DumpCase): string {
  const lines = [
    `map ${formatSpec(c.spec)}; ${c.initial} keys before the dump, ${c.fresh} more the datapath may insert`,
    `budget 4 × ${c.budgetEntries ?? `${c.spec.maxEntries} (max_entries)`}; at most ${c.batchCap} elements per LOOKUP_BATCH; datapath seed ${c.seed}`,
  ];
  if (c.interleaving.length > 0) lines.push(formatInterleaving(c.interleaving).replace(/^/gm, "  "));
  return lines.join("\n");
}

function withToString(c: DumpCase): DumpCase {
  Object.defineProperty(c, fc.toStringMethod, { value: () => `\n${formatDumpCase(c)}`, enumerable: false });
  return c;
}
