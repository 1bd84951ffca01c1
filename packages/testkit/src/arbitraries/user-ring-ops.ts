// USER_RINGBUF programs for the differential runner: a ring of 4 to 16 KiB (RINGBUF's create
// rules, ringbuf_map_alloc being the same for both) and what its two sides do. User space writes
// records through its writable mapping as testkit's UserRingWriter does, where libbpf's reserve
// finds room: reservations held BUSY and committed later (in any order, as samples or
// discarded), committed records written at once, malformed ones (a header length past the
// producer position or the ring, both state bits), producer positions off 8 or behind the
// consumer's; a program drains it (bpf_user_ringbuf_drain, with
// each flag); a poll asks whether the writer has room. Sizes may be relative to the room, as a
// RINGBUF program's are.
import { BPF_MAP_TYPE_USER_RINGBUF } from "@bpfkit/core";
import fc from "fast-check";
import type { MapSpec } from "./map-spec.js";
import type { Op } from "./program.js";
import { RING_PAGE, type RingFileRecipe, type RingMutation, type RingSize, ringFileArms, ringFileOp, ringShapeArb, ringSpec, sizeArb } from "./ring-ops.js";

/** USER_RINGBUF's map type number, for `types`. */
export { BPF_MAP_TYPE_USER_RINGBUF };

/**
 * A record the writer writes: `size` bytes (the first u64 the record's serial number, or
 * DRAIN_STOP_VALUE with `stop`, the rest from `fill`), committed as a sample, discarded, or left
 * BUSY; its header as it should be, or `long` (64 bytes longer: past the producer position),
 * `huge` (the ring's size: E2BIG) or `bothBits` (BUSY and DISCARD).
 */
export interface UserRingRecord {
  size: RingSize;
  state: "sample" | "discard" | "busy";
  header: "ok" | "long" | "huge" | "bothBits";
  stop: boolean;
  fill: number;
}

/** The ops of USER_RINGBUF programs (the element calls, freeze, reopen and mmap come from `Op`). */
export type UserRingOp =
  /** The writer reserves a record of `size` (its header BUSY, the producer position moved past it) and holds it; where it fits. */
  | { kind: "urReserve"; size: RingSize; fill: number }
  /** The writer commits its `which`-th held reservation (modulo how many it holds), as a sample or discarded. */
  | { kind: "urCommit"; which: number; discard: boolean }
  /** The writer writes each of `records` that fits from the producer position on and moves it past them, plus `extra` bytes; BUSY ones it holds. */
  | { kind: "urWrite"; records: UserRingRecord[]; extra: number }
  /**
   * The writer stores the consumer's or its own position plus `d` (a u64) as the producer
   * position: behind the consumer's, off 8, or far ahead (where a header past the ring is E2BIG).
   */
  | { kind: "urProducer"; from: "consumer" | "producer"; d: number }
  /** A program's bpf_user_ringbuf_drain with `flags`. */
  | { kind: "urDrain"; flags: number }
  /** A poll of the ring's fd: has the writer room (EPOLLOUT)? */
  | { kind: "urPoll" };

/** Whether an op is one of USER_RINGBUF's own. */
export function isUserRingOp(op: { kind: string }): op is UserRingOp {
  return USER_RING_KINDS.has(op.kind);
}
const USER_RING_KINDS = new Set(["urReserve", "urCommit", "urWrite", "urProducer", "urDrain", "urPoll"]);

/** What `userRingDrawArb` draws: a ring's shape and its ops. */
export interface UserRingDraw {
  size: number;
  numa: boolean;
  broken: RingMutation | null;
  ops: (UserRingOp | RingFileRecipe)[];
}

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const sampleSize = sizeArb(fc.oneof(fc.nat(64), fc.integer({ min: 65, max: 3000 })));

const recordArb: fc.Arbitrary<UserRingRecord> = fc.record({
  size: sampleSize,
  state: fc.oneof(weighted(10, fc.constant("sample" as const)), weighted(2, fc.constant("discard" as const)), weighted(1, fc.constant("busy" as const))),
  header: fc.oneof(weighted(40, fc.constant("ok" as const)), weighted(1, fc.constantFrom("long" as const, "huge" as const, "bothBits" as const))),
  stop: fc.oneof(weighted(15, fc.constant(false)), weighted(1, fc.constant(true))),
  fill: fc.nat(255),
});

function userRingOpArb(): fc.Arbitrary<UserRingOp | RingFileRecipe> {
  return fc.oneof(
    weighted(6, fc.record({ kind: fc.constant("urReserve" as const), size: sampleSize, fill: fc.nat(255) })),
    weighted(6, fc.record({ kind: fc.constant("urCommit" as const), which: fc.nat(3), discard: fc.oneof(weighted(3, fc.constant(false)), weighted(1, fc.constant(true))) })),
    weighted(10, fc.record({
      kind: fc.constant("urWrite" as const), records: fc.array(recordArb, { minLength: 1, maxLength: 4 }),
      extra: fc.oneof(weighted(50, fc.constant(0)), weighted(1, fc.constantFrom(4, 8, 1))),
    })),
    weighted(2, fc.record({ kind: fc.constant("urProducer" as const), from: fc.constantFrom("consumer" as const, "producer" as const), d: fc.constantFrom(-16, -8, -4, 0, 4, 8, 65536) })),
    weighted(9, fc.record({ kind: fc.constant("urDrain" as const), flags: fc.oneof(weighted(10, fc.constant(0)), weighted(3, fc.constantFrom(1, 2, 3)), weighted(1, fc.constantFrom(4, 8))) })),
    weighted(3, fc.constant({ kind: "urPoll" as const })),
    ...ringFileArms(),
  );
}

/** A USER_RINGBUF's shape (as a RINGBUF's) and up to `maxOps` ops; with `invalid`, now and then a broken spec. */
export function userRingDrawArb(maxOps: number, invalid: "never" | "sometimes" | "always"): fc.Arbitrary<UserRingDraw> {
  return ringShapeArb(invalid, fc.array(userRingOpArb(), { maxLength: maxOps, size: "medium" }));
}

/** The spec and ops a draw stands for with `page`-byte pages. */
export function userRingProgram(d: UserRingDraw, page = RING_PAGE): { spec: MapSpec; ops: Op[] } {
  const spec = ringSpec(d, page, BPF_MAP_TYPE_USER_RINGBUF);
  const ops = d.ops.map((r): Op => (isUserRingOp(r) ? r : ringFileOp(spec, r, page)));
  return { spec, ops };
}

const sizeText = (s: RingSize) => (s.of === "bytes" ? `${s.n}` : `${s.of}${s.d < 0 ? "" : "+"}${s.d}`);
const recordText = (r: UserRingRecord) => `${sizeText(r.size)}${r.state === "sample" ? "" : ` ${r.state}`}` +
  `${r.header === "ok" ? "" : ` header ${r.header}`}${r.stop ? " stop" : ""} (fill ${r.fill.toString(16)})`;

/** A USER_RINGBUF op as a line: `user ring write [24 (fill 3), 8 discard (fill 0)]`. */
export function formatUserRingOp(op: UserRingOp): string {
  switch (op.kind) {
    case "urReserve": return `user ring reserve ${sizeText(op.size)} bytes (fill ${op.fill.toString(16)}), held`;
    case "urCommit": return `user ring ${op.discard ? "discard" : "submit"} held reservation ${op.which}`;
    case "urWrite": return `user ring write [${op.records.map(recordText).join(", ")}]${op.extra === 0 ? "" : `, producer +${op.extra}`}`;
    case "urProducer": return `user ring producer position = ${op.from}${op.d < 0 ? "" : "+"}${op.d}`;
    case "urDrain": return `bpf_user_ringbuf_drain${op.flags === 0 ? "" : ` flags ${op.flags}`}`;
    case "urPoll": return "poll the user ring";
  }
}
