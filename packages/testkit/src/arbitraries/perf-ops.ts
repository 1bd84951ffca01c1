// PERF_EVENT_ARRAY programs for the differential runner: a map of slots (one per CPU, one, or
// more than the CPUs), mostly set up first with an event per CPU in its slot, BPF output events opened per CPU (perfEventOpen) with a wake-up rule and
// their rings mapped (writable: the reader owns data_tail; read-only: the kernel overwrites; or
// not at all), slots filled with events and emptied, outputs from a program on a CPU (its own
// slot, a slot by index, an index past the map, bad flags), a reader moving data_tail past
// records, polls, and an event's fd closed while its slot and mapping hold it.
import { BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_MAP_TYPE_PERF_EVENT_ARRAY } from "@bpfkit/core";
import fc from "fast-check";
import type { MapSpec } from "./map-spec.js";
import type { Op } from "./program.js";
import { RING_PAGE } from "./ring-ops.js";

/** PERF_EVENT_ARRAY's map type number, for `types`. */
export { BPF_MAP_TYPE_PERF_EVENT_ARRAY };

/** BPF_F_PRESERVE_ELEMS: the slots outlive the map file that filled them. */
export const BPF_F_PRESERVE_ELEMS = 1 << 11;

/** The wake-up rules an event is opened with (PerfEventOpenAttr). */
export const PERF_WAKEUPS = [{ wakeupEvents: 1 }, { wakeupEvents: 3 }, { wakeupEvents: 0 }, { wakeupWatermark: 700 }] as const;

/** The ops of PERF_EVENT_ARRAY programs (lookups, deletes, freeze and reopen come from `Op`). */
export type PerfOp =
  /**
   * perf_event_open of a BPF output event on `cpu` (possibleCpus: one past them) with
   * PERF_WAKEUPS[`wakeup`], then its ring of `dataPages` data pages mapped writable, read-only
   * or not at all. A program holds at most four events.
   */
  | { kind: "peOpen"; cpu: number; wakeup: number; dataPages: number; mapping: "rw" | "ro" | "none" }
  /** MAP_UPDATE_ELEM of slot `slot` with event `event`'s fd (modulo the events opened; "map": the map's own fd). */
  | { kind: "peSet"; slot: number; event: number | "map" }
  /** bpf_perf_event_output of `size` bytes from `fill`, by a program on `cpu`, into its CPU's slot, slot `to`, or with flags past the index. */
  | { kind: "peOutput"; cpu: number; to: "current" | number | "badFlags"; size: number; fill: number }
  /** A reader moves event `event`'s data_tail past `records` records (at most to data_head). */
  | { kind: "peRead"; event: number; records: number }
  /** A poll of event `event`'s fd. */
  | { kind: "pePoll"; event: number }
  /** close() of event `event`'s fd: its slots and mapping keep it. */
  | { kind: "peClose"; event: number };

const PERF_KINDS = new Set(["peOpen", "peSet", "peOutput", "peRead", "pePoll", "peClose"]);

/** Whether an op is one of PERF_EVENT_ARRAY's own. */
export function isPerfOp(op: { kind: string }): op is PerfOp {
  return PERF_KINDS.has(op.kind);
}

/** Create rules a broken spec breaks (each EINVAL). */
export const PERF_MUTATIONS = ["key8", "value8", "max0", "mmapable", "rdonlyProg", "noPrealloc"] as const;
type PerfMutation = (typeof PERF_MUTATIONS)[number];

type PerfRecipe =
  | Exclude<PerfOp, { kind: "peOutput" | "peSet" }>
  | { kind: "peSet"; slot: number; event: number | "map" }
  | { kind: "peOutput"; cpu: number; to: "current" | "badFlags" | { slot: number }; size: number | "page" | "pageLess8"; fill: number }
  | { kind: "lookup" | "delete"; slot: number }
  | { kind: "freeze" }
  | { kind: "reopen"; openFlags: number };

/** What `perfDrawArb` draws: the map's slots and flags, events set up first (or none), and the ops. */
export interface PerfDraw {
  entries: "cpus" | "one" | "more";
  flags: number;
  broken: PerfMutation | null;
  /** An event per CPU (at most four), opened with PERF_WAKEUPS[`wakeup`], mapped writable, each in its CPU's slot. */
  setup: { wakeup: number; dataPages: number } | null;
  ops: PerfRecipe[];
}

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
/** Slots and CPUs are drawn as small numbers and taken modulo what the program has. */
const small = fc.nat(15);

function perfRecipeArb(): fc.Arbitrary<PerfRecipe> {
  return fc.oneof(
    weighted(5, fc.record({
      kind: fc.constant("peOpen" as const),
      cpu: fc.oneof(weighted(12, small), weighted(1, fc.constant(-1))),
      wakeup: fc.nat(PERF_WAKEUPS.length - 1),
      dataPages: fc.oneof(weighted(8, fc.constant(1)), weighted(2, fc.constant(2)), weighted(1, fc.constantFrom(4, 3))),
      mapping: fc.oneof(weighted(8, fc.constant("rw" as const)), weighted(1, fc.constantFrom("ro" as const, "none" as const))),
    })),
    weighted(5, fc.record({ kind: fc.constant("peSet" as const), slot: small, event: fc.oneof(weighted(12, fc.nat(3)), weighted(1, fc.constant("map" as const))) })),
    weighted(16, fc.record({
      kind: fc.constant("peOutput" as const), cpu: small,
      to: fc.oneof(weighted(8, fc.constant("current" as const)), weighted(3, small.map((slot) => ({ slot }))), weighted(1, fc.constant("badFlags" as const))),
      size: fc.oneof(weighted(6, fc.nat(64)), weighted(4, fc.constantFrom(100, 200, 500, 600, 1500, 2000)), weighted(1, fc.constantFrom("page" as const, "pageLess8" as const))),
      fill: fc.nat(255),
    })),
    weighted(6, fc.record({ kind: fc.constant("peRead" as const), event: fc.nat(3), records: fc.oneof(fc.nat(3), fc.constant(1000)) })),
    weighted(4, fc.record({ kind: fc.constant("pePoll" as const), event: fc.nat(3) })),
    weighted(1, fc.record({ kind: fc.constant("peClose" as const), event: fc.nat(3) })),
    weighted(2, fc.record({ kind: fc.constantFrom("lookup" as const, "delete" as const), slot: small })),
    weighted(1, fc.constant({ kind: "freeze" as const })),
    weighted(1, fc.record({ kind: fc.constant("reopen" as const), openFlags: fc.constantFrom(0, BPF_F_RDONLY, BPF_F_WRONLY) })),
  );
}

/** A PERF_EVENT_ARRAY's shape and up to `maxOps` ops; with `invalid`, now and then a broken spec. */
export function perfDrawArb(maxOps: number, invalid: "never" | "sometimes" | "always"): fc.Arbitrary<PerfDraw> {
  const broken: fc.Arbitrary<PerfMutation | null> = invalid === "never" ? fc.constant(null)
    : invalid === "always" ? fc.constantFrom(...PERF_MUTATIONS)
    : fc.oneof(weighted(4, fc.constant(null)), weighted(1, fc.constantFrom(...PERF_MUTATIONS)));
  return fc.record({
    entries: fc.oneof(weighted(4, fc.constant("cpus" as const)), weighted(1, fc.constantFrom("one" as const, "more" as const))),
    flags: fc.oneof(weighted(8, fc.constant(0)), weighted(1, fc.constantFrom(BPF_F_PRESERVE_ELEMS, BPF_F_NUMA_NODE))),
    broken,
    setup: fc.oneof(weighted(1, fc.constant(null)), weighted(5, fc.record({ wakeup: fc.nat(PERF_WAKEUPS.length - 1), dataPages: fc.constantFrom(1, 1, 2) }))),
    ops: fc.array(perfRecipeArb(), { maxLength: maxOps, size: "medium" }),
  });
}

const u32 = (n: number) => Uint8Array.of(n, n >>> 8, n >>> 16, n >>> 24);

/**
 * The spec and ops a draw stands for with `possibleCpus` CPUs and `page`-byte pages: slots
 * modulo max_entries + 1 (so the index past the map comes up), CPUs modulo possibleCpus (an
 * open's -1 is the one past them), a `page` sample one whose record is a whole data page (which
 * never fits: CIRC_SPACE leaves a byte), `pageLess8` one 8 bytes shorter.
 */
export function perfProgram(d: PerfDraw, possibleCpus: number, page = RING_PAGE): { spec: MapSpec; ops: Op[] } {
  const maxEntries = d.entries === "cpus" ? possibleCpus : d.entries === "one" ? 1 : possibleCpus + 2;
  const spec: MapSpec = { mapType: BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries, mapFlags: d.flags };
  if (d.flags === BPF_F_NUMA_NODE) spec.numaNode = 0;
  switch (d.broken) {
    case null: break;
    case "key8": spec.keySize = 8; break;
    case "value8": spec.valueSize = 8; break;
    case "max0": spec.maxEntries = 0; break;
    case "mmapable": spec.mapFlags |= BPF_F_MMAPABLE; break;
    case "rdonlyProg": spec.mapFlags |= BPF_F_RDONLY_PROG; break;
    case "noPrealloc": spec.mapFlags |= BPF_F_NO_PREALLOC; break;
  }
  const slot = (n: number) => n % (maxEntries + 1);
  const setup: Op[] = [];
  for (let cpu = 0; d.setup !== null && cpu < Math.min(4, possibleCpus); cpu++) {
    setup.push({ kind: "peOpen", cpu, wakeup: d.setup.wakeup, dataPages: d.setup.dataPages, mapping: "rw" }, { kind: "peSet", slot: cpu, event: cpu });
  }
  const ops = d.ops.map((r): Op => {
    switch (r.kind) {
      case "peOpen": return { ...r, cpu: r.cpu < 0 ? possibleCpus : r.cpu % possibleCpus };
      case "peSet": return { ...r, slot: slot(r.slot) };
      case "peOutput": {
        // A sample record: an 8-byte header, the u32 raw size, the bytes, padding to 8.
        const size = r.size === "page" ? page - 12 : r.size === "pageLess8" ? page - 20 : r.size;
        return { ...r, cpu: r.cpu % possibleCpus, to: typeof r.to === "object" ? slot(r.to.slot) : r.to, size };
      }
      case "lookup": return { kind: "lookup", key: u32(slot(r.slot)), flags: 0 };
      case "delete": return { kind: "delete", key: u32(slot(r.slot)) };
      default: return r;
    }
  });
  return { spec, ops: [...setup, ...ops] };
}

/** A PERF_EVENT_ARRAY op as a line: `bpf_perf_event_output of 13 bytes (fill 2a) on cpu 1 to its CPU's slot`. */
export function formatPerfOp(op: PerfOp): string {
  switch (op.kind) {
    case "peOpen": return `perf_event_open on cpu ${op.cpu} ${JSON.stringify(PERF_WAKEUPS[op.wakeup])}, ${op.mapping === "none" ? "not mapped" : `${op.dataPages} data pages mapped ${op.mapping === "rw" ? "writable" : "read-only"}`}`;
    case "peSet": return `update slot ${op.slot} = ${op.event === "map" ? "the map's own fd" : `event ${op.event}`}`;
    case "peOutput": {
      const to = op.to === "current" ? "its CPU's slot" : op.to === "badFlags" ? "flags past the index" : `slot ${op.to}`;
      return `bpf_perf_event_output of ${op.size} bytes (fill ${op.fill.toString(16)}) on cpu ${op.cpu} to ${to}`;
    }
    case "peRead": return `read event ${op.event}: data_tail past ${op.records === 1000 ? "every record" : `${op.records} records`}`;
    case "pePoll": return `poll event ${op.event}`;
    case "peClose": return `close event ${op.event}'s fd`;
  }
}
