// Ring buffer programs for the differential runner: a BPF_MAP_TYPE_RINGBUF of 4 to 16 KiB and
// ops that a program and a reader would do on it. Producer ops (output, reserve + submit or
// discard, query) run as a program would (testkit's ringbufProducerFor); a reader step writes
// the consumer position through a writable mapping of the consumer page. Sizes may be relative
// to the room the ring has left when the op runs, so that programs meet the exact edge of the
// room rule, which a drawn byte count would almost never hit.
import {
  BPF_ANY, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_WRONLY, BPF_MAP_TYPE_RINGBUF,
} from "@bpfkit/core";
import fc from "fast-check";
import type { MapSpec } from "./map-spec.js";
import type { Op } from "./program.js";

/** RINGBUF's map type number, for `types`. */
export { BPF_MAP_TYPE_RINGBUF };

/**
 * The page the draws count in (x86-64's). A draw's ring sizes and the distances a reader step
 * moves by are in these units; on a kernel with larger pages (arm64's 16 or 64 KiB) they are
 * scaled by `page / RING_PAGE` when the program is made (`ringSpec`, `ringOps`), so that a seed
 * draws the same programs at every page size, only larger.
 */
export const RING_PAGE = 4096;

/** How many draw pages a `page`-byte page is: 1, 4 or 16. */
const pagesOf = (page: number) => page / RING_PAGE;

/**
 * A sample's size: `bytes` as it is; `room` the largest sample the ring has room for when the op
 * runs, plus `d`; `ring` the ring's size plus `d` (size − 16 is the largest sample ever).
 */
export type RingSize = { of: "bytes"; n: number } | { of: "room"; d: number } | { of: "ring"; d: number };

/**
 * Where a reader step moves the consumer position: past the next `n` records (up to the producer,
 * or a record still BUSY), to the producer position plus `d` (a u64: negative goes back, and past
 * the producer every reserve is EAGAIN; `lessRing` also takes the ring's size off, so that the
 * room left is a record or none), or to `pos`.
 */
export type RingConsume = { by: "records"; n: number } | { by: "producer"; d: number; lessRing: boolean } | { by: "at"; pos: number };

/** The ops of ring programs (the element ops, freeze, reopen and mmap come from `Op`). */
export type RingOp =
  /** bpf_ringbuf_output of `size` bytes made from `fill`, with `flags`. */
  | { kind: "rbOutput"; size: RingSize; fill: number; flags: number }
  /** bpf_ringbuf_reserve of `size`, then submit (the sample filled from `fill`) or discard, with `flags`. */
  | { kind: "rbReserve"; size: RingSize; fill: number; flags: number; discard: boolean }
  /**
   * One program holding two reservations (`second`'s "room" is what the first leaves), both then
   * submitted or discarded with `flags`, the second first or not: the second meets the first BUSY.
   */
  | { kind: "rbPair"; first: RingSize; second: RingSize; discardFirst: boolean; discardSecond: boolean; secondFirst: boolean; flags: number }
  /** bpf_ringbuf_query with `flags` (0..3, or one that is none). */
  | { kind: "rbQuery"; flags: number }
  /** A reader: writes the consumer position through the consumer page mapped writable, then reads the ring. */
  | { kind: "rbConsume"; to: RingConsume };

/** Whether an op is one of the ring's own. */
export function isRingOp(op: { kind: string }): op is RingOp {
  return op.kind === "rbOutput" || op.kind === "rbReserve" || op.kind === "rbPair" || op.kind === "rbQuery" || op.kind === "rbConsume";
}

/** A ring's sizes: powers of 2 and whole pages, small enough that programs fill and wrap them. */
export const RING_SIZES: readonly number[] = [4096, 8192, 16384];

/** Create rules a broken ring spec breaks (each EINVAL), besides the valid NUMA node 0. */
export const RING_MUTATIONS = ["size12288", "size2048", "size0", "key4", "value8", "noPrealloc", "rdonly", "wronly", "mmapable"] as const;
/** The name of a ring create rule a broken spec breaks, as in `RING_MUTATIONS`. */
export type RingMutation = (typeof RING_MUTATIONS)[number];

/** What `ringDrawArb` draws: a ring spec and its ops. */
export interface RingDraw {
  size: number;
  numa: boolean;
  broken: RingMutation | null;
  ops: RingRecipe[];
}

/** One drawn op of a ring program. */
export type RingRecipe =
  | RingOp
  | { kind: "elem"; which: "lookup" | "update" | "delete" | "nextKey" | "pop" | "lookupBatch" | "updateBatch" | "deleteBatch" }
  | { kind: "freeze" }
  | { kind: "reopen"; openFlags: number }
  | { kind: "mmap"; range: number; writable: boolean; at: number; keep: boolean };

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/** A sample size: bytes drawn from `bytes`, or relative to the room or to the ring. */
export function sizeArb(bytes: fc.Arbitrary<number>): fc.Arbitrary<RingSize> {
  return fc.oneof(
    weighted(4, bytes.map((n) => ({ of: "bytes" as const, n }))),
    weighted(3, fc.integer({ min: -9, max: 9 }).map((d) => ({ of: "room" as const, d }))),
    weighted(1, fc.constantFrom(-17, -16, -15, -9, -8, 0, 1).map((d) => ({ of: "ring" as const, d }))),
  );
}

/** Output and submit flags: the two wake-up bits, and bits that are none (output: EINVAL). */
const producerFlags = fc.oneof(weighted(10, fc.constant(0)), weighted(3, fc.constantFrom(1, 2, 3)), weighted(2, fc.constantFrom(4, 8, 0x80, 2 ** 32)));

function ringRecipeArb(): fc.Arbitrary<RingRecipe> {
  const fill = fc.nat(255);
  return fc.oneof(
    weighted(10, fc.record({ kind: fc.constant("rbOutput" as const), size: sizeArb(fc.oneof(fc.nat(64), fc.constantFrom(100, 256, 511, 512))), fill, flags: producerFlags })),
    weighted(8, fc.record({
      kind: fc.constant("rbReserve" as const), size: sizeArb(fc.oneof(fc.nat(64), fc.integer({ min: 65, max: 3000 }))), fill, flags: producerFlags,
      discard: fc.constant(false),
    })),
    weighted(3, fc.record({
      kind: fc.constant("rbReserve" as const), size: sizeArb(fc.oneof(fc.nat(64), fc.integer({ min: 65, max: 3000 }), fc.constant(0x7fffffff))), fill, flags: producerFlags,
      discard: fc.constant(true),
    })),
    weighted(6, fc.record({
      kind: fc.constant("rbPair" as const), first: sizeArb(fc.oneof(fc.nat(64), fc.integer({ min: 65, max: 3000 }))),
      second: sizeArb(fc.oneof(fc.nat(64), fc.integer({ min: 65, max: 3000 }))), discardFirst: fc.boolean(), discardSecond: fc.boolean(),
      secondFirst: fc.boolean(), flags: producerFlags,
    })),
    weighted(3, fc.record({ kind: fc.constant("rbQuery" as const), flags: fc.oneof(weighted(6, fc.constantFrom(0, 1, 2, 3)), weighted(1, fc.constantFrom(4, 0xff, 2 ** 32))) })),
    weighted(8, fc.record({
      kind: fc.constant("rbConsume" as const),
      to: fc.oneof(
        weighted(6, fc.oneof(fc.nat(4), fc.constant(1000)).map((n) => ({ by: "records" as const, n }))),
        weighted(2, fc.constantFrom(0, 8, 16, 4096, -8).map((d) => ({ by: "producer" as const, d, lessRing: false }))),
        // Half a ring ahead of the producer: a record BUSY at the producer position then bounds
        // a second reserve more tightly than the consumer position does (pending_pos).
        weighted(2, fc.constantFrom(2048, 8192).map((d) => ({ by: "producer" as const, d, lessRing: false }))),
        weighted(1, fc.constantFrom(-8, 0, 8, 16).map((d) => ({ by: "producer" as const, d, lessRing: true }))),
        weighted(1, fc.constantFrom(0, 3, 8, 4096).map((pos) => ({ by: "at" as const, pos }))),
      ),
    })),
    ...ringFileArms(),
  );
}

/** What ring programs of both kinds do to the map besides their own ops: element calls, freeze, reopen, mmap. */
export type RingFileRecipe = Extract<RingRecipe, { kind: "elem" | "freeze" | "reopen" | "mmap" }>;

/** The draws of the element calls a ring refuses, freeze, reopen and mmap, with their weights among ring ops. */
export function ringFileArms(): { weight: number; arbitrary: fc.Arbitrary<RingFileRecipe> }[] {
  return [
    weighted(3, fc.record({ kind: fc.constant("elem" as const), which: fc.constantFrom("lookup" as const, "update" as const, "delete" as const, "nextKey" as const, "pop" as const, "lookupBatch" as const, "updateBatch" as const, "deleteBatch" as const) })),
    weighted(1, fc.constant({ kind: "freeze" as const })),
    weighted(1, fc.record({ kind: fc.constant("reopen" as const), openFlags: fc.constantFrom(0, BPF_F_RDONLY, BPF_F_WRONLY) })),
    weighted(2, fc.record({ kind: fc.constant("mmap" as const), range: fc.nat(RING_RANGES - 1), writable: fc.boolean(), at: fc.constantFrom(0, 64), keep: fc.boolean() })),
  ];
}

/** A ring spec and up to `maxOps` ops; with `invalid`, now and then a broken spec. */
export function ringDrawArb(maxOps: number, invalid: "never" | "sometimes" | "always"): fc.Arbitrary<RingDraw> {
  return ringShapeArb(invalid, fc.array(ringRecipeArb(), { maxLength: maxOps, size: "medium" }));
}

/** A ring's size, NUMA flag and broken rule as ringDrawArb draws them, with `ops`. */
export function ringShapeArb<T>(invalid: "never" | "sometimes" | "always", ops: fc.Arbitrary<T[]>): fc.Arbitrary<{ size: number; numa: boolean; broken: RingMutation | null; ops: T[] }> {
  const broken: fc.Arbitrary<RingMutation | null> = invalid === "never" ? fc.constant(null)
    : invalid === "always" ? fc.constantFrom(...RING_MUTATIONS)
    : fc.oneof(weighted(4, fc.constant(null)), weighted(1, fc.constantFrom(...RING_MUTATIONS)));
  return fc.record({
    size: fc.constantFrom(...RING_SIZES),
    numa: fc.oneof(weighted(7, fc.constant(false)), weighted(1, fc.constant(true))),
    broken,
    ops,
  });
}

/**
 * The spec a draw stands for on a kernel of `page`-byte pages: a ring of `size` (scaled to the
 * page; a RINGBUF, or `mapType`'s USER_RINGBUF, which ringbuf_map_alloc makes by the same rules),
 * NUMA node 0 or not, with its one rule broken (`size12288` is three pages, `size2048`
 * half of one, as they are in 4 KiB pages).
 */
export function ringSpec(d: Pick<RingDraw, "size" | "numa" | "broken">, page = RING_PAGE, mapType = BPF_MAP_TYPE_RINGBUF): MapSpec {
  const k = pagesOf(page);
  const s: MapSpec = { mapType, keySize: 0, valueSize: 0, maxEntries: d.size * k, mapFlags: 0 };
  if (d.numa) {
    s.mapFlags |= BPF_F_NUMA_NODE;
    s.numaNode = 0;
  }
  switch (d.broken) {
    case null: break;
    case "size12288": s.maxEntries = 12288 * k; break;
    case "size2048": s.maxEntries = 2048 * k; break;
    case "size0": s.maxEntries = 0; break;
    case "key4": s.keySize = 4; break;
    case "value8": s.valueSize = 8; break;
    case "noPrealloc": s.mapFlags |= BPF_F_NO_PREALLOC; break;
    case "rdonly": s.mapFlags |= BPF_F_RDONLY; break;
    case "wronly": s.mapFlags |= BPF_F_WRONLY; break;
    case "mmapable": s.mapFlags |= BPF_F_MMAPABLE; break;
  }
  return s;
}

const RING_RANGES = 8;
const NO_KEY = new Uint8Array(0);

/**
 * The mmap range `range` picks on a ring of `size` bytes: the consumer page (the one writable
 * mapping), one byte of it, it and the producer page, the producer page, the whole ring (both
 * position pages and the data twice), a page past that, the second copy of the data alone, and an
 * offset off a page.
 */
export function ringMmapRange(size: number, range: number, page = RING_PAGE): { offset: number; length: number } {
  const whole = 2 * page + 2 * size;
  const ranges = [[0, page], [0, 1], [0, 2 * page], [page, page], [0, whole], [0, whole + page],
    [2 * page + size, size], [1, page]] as const;
  const [offset, length] = ranges[range % RING_RANGES]!;
  return { offset, length };
}

const ELEM_OPS: Record<Extract<RingRecipe, { kind: "elem" }>["which"], Op> = {
  lookup: { kind: "peek", flags: 0 },
  update: { kind: "push", value: NO_KEY, flags: BPF_ANY },
  delete: { kind: "delete", key: NO_KEY },
  nextKey: { kind: "nextKey", key: null },
  pop: { kind: "pop" },
  lookupBatch: { kind: "lookupBatch", count: 4, restart: true, del: false },
  updateBatch: { kind: "updateBatch", keys: [NO_KEY, NO_KEY], values: [NO_KEY, NO_KEY], elemFlags: 0 },
  deleteBatch: { kind: "deleteBatch", keys: [NO_KEY] },
};

/**
 * The ops a draw stands for on `spec` with `page`-byte pages: the element calls a ring refuses, as
 * their keyless forms; a reader step's ring-sized distances (a page, half a ring) scaled to the page.
 */
export function ringOps(spec: MapSpec, recipes: readonly RingRecipe[], page = RING_PAGE): Op[] {
  const k = pagesOf(page);
  // The drawn distances of 2048 bytes or more are fractions of a 4 KiB-page ring; the small ones
  // (0, 3, 8, 16) are about records and stay.
  const scaled = (v: number) => (Math.abs(v) >= 2048 ? v * k : v);
  return recipes.map((r): Op => {
    switch (r.kind) {
      case "elem": case "freeze": case "reopen": case "mmap": return ringFileOp(spec, r, page);
      case "rbConsume": {
        const to = r.to;
        if (k === 1 || to.by === "records") return r;
        return { ...r, to: to.by === "at" ? { ...to, pos: scaled(to.pos) } : { ...to, d: scaled(to.d) } };
      }
      default: return r;
    }
  });
}

/** The op a ring's element call, freeze, reopen or mmap recipe stands for on `spec` with `page`-byte pages. */
export function ringFileOp(spec: MapSpec, r: RingFileRecipe, page = RING_PAGE): Op {
  switch (r.kind) {
    case "elem": return ELEM_OPS[r.which];
    case "mmap": {
      const { offset, length } = ringMmapRange(spec.maxEntries, r.range, page);
      // At 0, the u64 written is the consumer position itself (8).
      return { kind: "mmap", offset, length, writable: r.writable, at: r.at, value: Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0), keep: r.keep };
    }
    default: return r;
  }
}

const sizeText = (s: RingSize) => (s.of === "bytes" ? `${s.n}` : `${s.of}${s.d < 0 ? "" : "+"}${s.d}`);
const flagsText = (f: number) => (f === 0 ? "" : ` flags 0x${f.toString(16)}`);

/** A ring op as a line: `ringbuf output room-3 bytes (fill 2a) flags 0x4`. */
export function formatRingOp(op: RingOp): string {
  switch (op.kind) {
    case "rbOutput": return `ringbuf output ${sizeText(op.size)} bytes (fill ${op.fill.toString(16)})${flagsText(op.flags)}`;
    case "rbReserve": return `ringbuf reserve ${sizeText(op.size)} bytes, ${op.discard ? "discard" : `fill ${op.fill.toString(16)}, submit`}${flagsText(op.flags)}`;
    case "rbPair": {
      const how = (discard: boolean) => (discard ? "discard" : "submit");
      const order = op.secondFirst ? `${how(op.discardSecond)} the second, ${how(op.discardFirst)} the first`
        : `${how(op.discardFirst)} the first, ${how(op.discardSecond)} the second`;
      return `ringbuf reserve ${sizeText(op.first)} bytes and ${sizeText(op.second)} more, ${order}${flagsText(op.flags)}`;
    }
    case "rbQuery": return `ringbuf query flags ${op.flags}`;
    case "rbConsume":
      switch (op.to.by) {
        case "records": return `consume ${op.to.n} records`;
        case "producer": return `consume to producer${op.to.lessRing ? "-ring" : ""}${op.to.d < 0 ? "" : "+"}${op.to.d}`;
        case "at": return `consume to ${op.to.pos}`;
      }
  }
}

/** The sample bytes of a ring op: `n` bytes from `fill`, none alike with their neighbours. */
export function ringSample(n: number, fill: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (fill * 31 + i * 7 + 1) & 0xff;
  return out;
}
