// Operation programs: one map spec and a sequence of bpf(2) map operations on it. Drawn as
// recipes (key-pool indexes, value numbers) and resolved into concrete bytes, so fast-check
// shrinks the spec, the key pool and the op list independently and prints concrete programs.
import {
  BPF_ANY, BPF_EXIST, BPF_MAP_TYPE_ARRAY, BPF_F_LOCK, BPF_F_ZERO_SEED, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_PROG_ARRAY, isHashMapType, BPF_F_NO_COMMON_LRU, BPF_F_RDONLY, BPF_F_WRONLY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_NOEXIST, assertOptionKeys, isPageSize, mapTypeName, optionKeys, userValueSize, describeValue } from "@bpfkit/core";
import fc from "fast-check";
import { brief as hex } from "../model/bytes.js";
import { effectiveMaxEntries } from "../model/create-check.js";
import { keyFromMaterial, keyMaterialArb, valueFromSeed } from "./keys.js";
import { FD_VALUE_MAP_TYPES, type MapSpec, type MapSpecOptions, SPEC_MAP_TYPES, isKeylessMapType, mapSpecArb } from "./map-spec.js";
import { widenSpec } from "./wide-spec.js";
import { type BtfDraw, btfDrawArb, formatSpecBtf, lockOp, withBtf } from "./btf-spec.js";
import { type WideDraw, insertWideOps, mmapableFor, wideDrawArb } from "./wide-ops.js";
import { BPF_MAP_TYPE_RINGBUF, RING_PAGE, type RingDraw, type RingOp, formatRingOp, isRingOp, ringDrawArb, ringOps, ringSpec } from "./ring-ops.js";
import { BPF_MAP_TYPE_USER_RINGBUF, type UserRingDraw, type UserRingOp, formatUserRingOp, isUserRingOp, userRingDrawArb, userRingProgram } from "./user-ring-ops.js";
import { BPF_MAP_TYPE_PERF_EVENT_ARRAY, type PerfDraw, type PerfOp, formatPerfOp, isPerfOp, perfDrawArb, perfProgram } from "./perf-ops.js";

/**
 * One step of a differential program: a Driver call (or a short sequence, such as a whole walk) on the program's
 * map, with its arguments.
 */
export type Op =
  | { kind: "update"; key: Uint8Array; value: Uint8Array; flags: number }
  | { kind: "lookup"; key: Uint8Array; flags: number }
  | { kind: "delete"; key: Uint8Array }
  | { kind: "nextKey"; key: Uint8Array | null }
  /** `flags` (BPF_F_LOCK) only in programs whose value has BTF. */
  | { kind: "lookupAndDelete"; key: Uint8Array; flags?: number }
  /**
   * `restart` starts from NULL; otherwise it goes on from the last batch's out token.
   * `elemFlags` (BPF_F_LOCK) only in programs whose value has BTF.
   */
  | { kind: "lookupBatch"; count: number; restart: boolean; del: boolean; elemFlags?: number }
  | { kind: "updateBatch"; keys: Uint8Array[]; values: Uint8Array[]; elemFlags: number }
  | { kind: "deleteBatch"; keys: Uint8Array[] }
  /** A whole GET_NEXT_KEY walk from NULL. */
  | { kind: "walk" }
  /**
   * bpf_map_lookup_elem by a BPF program (lruEviction programs only): unlike the syscall's, it
   * marks an LRU element referenced, the second chance eviction gives (diff/program-lookup.ts).
   */
  | { kind: "progLookup"; key: Uint8Array }
  // Keyless maps (queue, stack, bloom filter), whose commands take no key:
  /** UPDATE: a queue or stack pushes `value`, a bloom filter adds it. */
  | { kind: "push"; value: Uint8Array; flags: number }
  /** LOOKUP of a queue or stack: the value a pop would give, left in place. */
  | { kind: "peek"; flags: number }
  /** LOOKUP_AND_DELETE of a queue or stack (a bloom filter refuses it). */
  | { kind: "pop" }
  /** LOOKUP of a bloom filter: is `value` (perhaps) in it? */
  | { kind: "query"; value: Uint8Array; flags: number }
  | { kind: "freeze" }
  /** Go on through a new fd from MAP_GET_FD_BY_ID with these open flags (0, RDONLY, WRONLY; wide: any). */
  | { kind: "reopen"; openFlags: number }
  // Wide programs only (ProgramOptions.wide):
  /** OBJ_PIN the fd ops go through, at the program's path on the runner's bpffs. */
  | { kind: "pin" }
  /** Go on through a new fd from OBJ_GET of the program's path with these file flags. */
  | { kind: "objGet"; fileFlags: number }
  /** MAP_FREEZE through a fresh read-write fd from MAP_GET_FD_BY_ID, not the one ops go through. */
  | { kind: "freezeOther" }
  /** A batch lookup of `count` on another map (a HASH or ARRAY of 64 with 24 entries): its out token is the next "from last token". */
  | { kind: "foreignToken"; count: number }
  /** Maps of maps and PROG_ARRAY: a map fd as the value, the map's own or a second outer map's. */
  | { kind: "fdValue"; key: Uint8Array; which: "self" | "other" }
  /** Maps of maps and PROG_ARRAY: update a second map of the same spec (sharing the inner maps or programs), then look the key up there. */
  | { kind: "otherUpdate"; key: Uint8Array; value: Uint8Array }
  /**
   * mmap of `length` bytes from `offset` through the fd ops go through, writable or not; where it
   * maps, `value` written at byte `at` (when writable and it fits), the mapping read back, then
   * unmapped, or kept to the end (so a later freeze meets a writable mapping).
   */
  | { kind: "mmap"; length: number; offset: number; writable: boolean; at: number; value: Uint8Array; keep: boolean }
  // Ring buffers (BPF_MAP_TYPE_RINGBUF): a program's helpers and a reader's step (ring-ops.ts).
  | RingOp
  // USER_RINGBUF: a writer's steps through its mapping, a program's drain, polls (user-ring-ops.ts).
  | UserRingOp
  // PERF_EVENT_ARRAY: events opened and mapped, slots set, a program's outputs, a reader's steps, polls (perf-ops.ts).
  | PerfOp;

/** A random program for the differential runner: a map to create and the operations to run on it. */
export interface Program {
  /** The map the program creates first. */
  readonly spec: MapSpec;
  /** Per-CPU values are sized for this many CPUs: the drivers compared must agree. */
  readonly possibleCpus: number;
  /** The operations, run in order, each answer compared between the drivers. */
  readonly ops: readonly Op[];
}

/** What `programArb` draws: the map shapes (as `MapSpecOptions`), the CPUs, and the programs' length and mix. */
export interface ProgramOptions extends MapSpecOptions {
  /** The CPUs per-CPU values are sized for: both drivers' possible CPUs. */
  possibleCpus: number;
  /**
   * The page both drivers map in (`driverPageSize`), default 4096: a ring's size, its mappings and
   * a reader's ring-sized steps, and an mmapable array's ranges, are drawn in 4 KiB pages and
   * scaled to it, so a seed draws the same programs at every page size.
   */
  pageSize?: number;
  /**
   * Besides MapSpecOptions' types, BPF_MAP_TYPE_RINGBUF: ring programs (ring-ops.ts), one in eight
   * among other types, or all of them alone. Neither the model nor a driver without a ring
   * buffer producer (testkit's ringbufProducerFor) runs them. BPF_MAP_TYPE_USER_RINGBUF
   * (user-ring-ops.ts) and BPF_MAP_TYPE_PERF_EVENT_ARRAY (perf-ops.ts) likewise, together one in
   * EVENT_SHARE among other types (drawn after everything else, so that every other program is the
   * one the seed drew without them), or shared evenly with RINGBUF when only these are given; a
   * driver with no drain program or no perf events and producer does not run them.
   */
  types?: readonly number[];
  /** Longest op list. Default 40. */
  maxOps?: number;
  /** Largest key pool. Default 12. */
  maxKeys?: number;
  /** Draw MAP_FREEZE now and then. Default true. */
  freeze?: boolean;
  /**
   * Let LRU programs use more keys than the map holds, so they evict, and make one plain lookup
   * in two a BPF program's (`progLookup`, which marks the element). The kernel's eviction is
   * exact only with every syscall on one CPU (kernel-maps.md §7.4): run such programs pinned.
   */
  lruEviction?: boolean;
}

export type OpRecipe =
  | { kind: "update"; k: number; v: number; flags: number }
  | { kind: "lookup"; k: number; flags: number }
  | { kind: "delete"; k: number }
  | { kind: "nextKey"; k: number | null }
  | { kind: "lookupAndDelete"; k: number }
  | { kind: "lookupBatch"; count: number; restart: boolean; del: boolean }
  | { kind: "updateBatch"; ks: number[]; v: number; elemFlags: number }
  | { kind: "deleteBatch"; ks: number[] }
  | { kind: "walk" }
  | { kind: "freeze" }
  | { kind: "reopen"; openFlags: number };

const keyIndex = fc.nat(63);
const valueSeed = fc.nat(255);
const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

function opRecipeArb(freeze: boolean): fc.Arbitrary<OpRecipe> {
  const updateFlags = fc.oneof(weighted(10, fc.constant(BPF_ANY)), weighted(4, fc.constant(BPF_NOEXIST)),
    weighted(4, fc.constant(BPF_EXIST)), weighted(1, fc.constantFrom(3, BPF_F_LOCK, 8)));
  const lookupFlags = fc.oneof(weighted(18, fc.constant(0)), weighted(1, fc.constantFrom(BPF_F_LOCK, 1)));
  const batchFlags = fc.oneof(weighted(18, fc.constant(0)), weighted(1, fc.constantFrom(BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK)));
  const arms: { weight: number; arbitrary: fc.Arbitrary<OpRecipe> }[] = [
    weighted(30, fc.record({ kind: fc.constant("update" as const), k: keyIndex, v: valueSeed, flags: updateFlags })),
    weighted(14, fc.record({ kind: fc.constant("lookup" as const), k: keyIndex, flags: lookupFlags })),
    weighted(12, fc.record({ kind: fc.constant("delete" as const), k: keyIndex })),
    weighted(10, fc.record({ kind: fc.constant("nextKey" as const), k: fc.option(keyIndex, { freq: 4, nil: null }) })),
    weighted(5, fc.record({ kind: fc.constant("lookupAndDelete" as const), k: keyIndex })),
    weighted(10, fc.record({ kind: fc.constant("lookupBatch" as const), count: fc.nat(12), restart: fc.boolean(), del: fc.oneof(weighted(2, fc.constant(false)), weighted(1, fc.constant(true))) })),
    weighted(6, fc.record({ kind: fc.constant("updateBatch" as const), ks: fc.array(keyIndex, { maxLength: 6 }), v: valueSeed, elemFlags: batchFlags })),
    weighted(5, fc.record({ kind: fc.constant("deleteBatch" as const), ks: fc.array(keyIndex, { maxLength: 6 }) })),
    weighted(4, fc.constant({ kind: "walk" as const })),
  ];
  if (freeze) arms.push(weighted(1, fc.constant({ kind: "freeze" as const })));
  arms.push(weighted(2, fc.record({ kind: fc.constant("reopen" as const), openFlags: fc.constantFrom(0, BPF_F_RDONLY, BPF_F_WRONLY) })));
  return fc.oneof(...arms);
}

/** A hash map whose order depends on a random seed (no BPF_F_ZERO_SEED): compare it unordered. */
export function isOrderFree(spec: MapSpec): boolean {
  return isHashMapType(spec.mapType) && (spec.mapFlags & BPF_F_ZERO_SEED) === 0;
}

/** How many distinct keys a program may use: LRU maps must never reach eviction (§7). */
export function keyPoolLimit(spec: MapSpec, possibleCpus: number, lruEviction = false): number {
  if (lruEviction || spec.mapType !== BPF_MAP_TYPE_LRU_HASH && spec.mapType !== BPF_MAP_TYPE_LRU_PERCPU_HASH) return Infinity;
  const max = effectiveMaxEntries(spec, possibleCpus);
  // Per-CPU LRU lists give each CPU max/ncpus nodes (§7.3); the common list keeps free nodes
  // on each CPU's local list. A quarter of what one CPU can reach never evicts (probe_hash_order).
  const reach = spec.mapFlags & BPF_F_NO_COMMON_LRU ? Math.floor(max / possibleCpus) : max;
  return Math.max(1, Math.floor(reach / 4));
}

function resolve(spec: MapSpec, possibleCpus: number, root: Uint8Array, material: Uint8Array[], recipes: OpRecipe[], lruEviction: boolean,
  wide: WideDraw | null, types: readonly number[], page: number, btf: BtfDraw | null): Program {
  if (wide !== null) spec = mmapableFor(widenSpec(spec, wide.spec), wide.ops, types.includes(BPF_MAP_TYPE_ARRAY), page);
  if (btf !== null) spec = withBtf(spec, btf, types);
  // LPM pool keys all branch off one root (keyFromMaterial): independent random keys seldom
  // share leading bits, so lookups never met a shorter covering prefix nor the trie's glue nodes.
  const pool = material.slice(0, keyPoolLimit(spec, possibleCpus, lruEviction)).map((m) => keyFromMaterial(spec, m, root));
  const key = (i: number) => pool[i % pool.length]!;
  // A value past a few MiB belongs to a spec whose create fails (E2BIG): no bytes for it.
  const value = (n: number) => (userValueSize(spec.mapType, spec.valueSize, possibleCpus) > MAX_VALUE_BYTES ? new Uint8Array(0) : valueFromSeed(spec, possibleCpus, n));
  // Elements of a MiB and more (sizes at kmalloc's limit): a few ops are enough.
  if (userValueSize(spec.mapType, spec.valueSize, possibleCpus) > 1 << 16) recipes = recipes.slice(0, 6);
  // Without BPF_F_ZERO_SEED the kernel's hash seed is random: only next-key from NULL (empty or
  // not) and unordered walks compare; batches that follow an order become walks.
  const free = isOrderFree(spec);
  const ops = isKeylessMapType(spec.mapType) ? recipes.flatMap((r) => keylessOps(r, spec, pool.length, value)) : recipes.map((r): Op => {
    if (free && r.kind === "nextKey") return { kind: "nextKey", key: null };
    // Under lruEviction one plain lookup in two is a program's, which marks the element (§7.1):
    // syscalls alone mark only replaced elements, which rotation moves on before a shrink sees them.
    if (lruEviction && r.kind === "lookup" && r.flags === 0 && r.k % 2 === 1) return { kind: "progLookup", key: key(r.k) };
    if (free && r.kind === "lookupBatch") return { kind: "walk" };
    switch (r.kind) {
      case "update": return { kind: "update", key: key(r.k), value: value(r.v), flags: r.flags };
      case "lookup": return { kind: "lookup", key: key(r.k), flags: r.flags };
      case "delete": return { kind: "delete", key: key(r.k) };
      case "nextKey": return { kind: "nextKey", key: r.k === null ? null : key(r.k) };
      case "lookupAndDelete": return { kind: "lookupAndDelete", key: key(r.k) };
      case "lookupBatch": return { kind: "lookupBatch", count: r.count, restart: r.restart, del: r.del };
      case "updateBatch": return { kind: "updateBatch", keys: r.ks.map(key), values: r.ks.map((_, i) => value(r.v + i)), elemFlags: r.elemFlags };
      case "deleteBatch": return { kind: "deleteBatch", keys: r.ks.map(key) };
      default: return r;
    }
  });
  // BPF_F_LOCK on the plain ops the draw picks, before the wide ones go in among them.
  const locked = btf === null ? ops : ops.map((op) => lockOp(op, btf));
  if (wide !== null) insertWideOps(locked, wide.ops, { spec, possibleCpus, page, key, value, lruEviction });
  return withToString({ spec, possibleCpus, ops: locked });
}

const NO_KEY = new Uint8Array(0);

/**
 * A recipe on a keyless map. GET_NEXT_KEY, DELETE and the batches are only ever refused there, so
 * two in three of the delete and next-key recipes become pops (queue, stack) or adds (bloom
 * filter) instead: queues and stacks drain as they fill, and meet a full map, BPF_EXIST's
 * overwrite of the oldest value and the ring's wrap. A bloom filter adds values from a pool
 * three times the key pool's size and queries from one twice that, so queries meet values
 * added, values never added, and (its bits filling up) false positives.
 */
function keylessOps(r: OpRecipe, spec: MapSpec, poolSize: number, value: (n: number) => Uint8Array): Op[] {
  const bloom = spec.mapType === BPF_MAP_TYPE_BLOOM_FILTER;
  const member = (k: number) => value(k % (3 * poolSize));
  const probe = (k: number, flags = 0): Op => ({ kind: "query", value: value(k % (6 * poolSize)), flags });
  // What a refused-anyway recipe becomes: a pop, or for a bloom filter an add (its bits must fill).
  const spare = (k: number): Op => (bloom ? { kind: "push", value: member(k), flags: BPF_ANY } : { kind: "pop" });
  switch (r.kind) {
    case "update": return [{ kind: "push", value: bloom ? member(r.k) : value(r.v), flags: r.flags }];
    case "lookup": return [bloom ? probe(r.k, r.flags) : { kind: "peek", flags: r.flags }];
    case "lookupAndDelete": return [{ kind: "pop" }];
    case "delete": return [r.k % 3 === 0 ? { kind: "delete", key: NO_KEY } : spare(r.k)];
    case "nextKey": return [r.k === null || r.k % 3 === 0 ? { kind: "nextKey", key: r.k === null ? null : NO_KEY } : spare(r.k)];
    case "lookupBatch": return [bloom && r.count % 3 !== 0 ? spare(r.count) : { kind: "lookupBatch", count: r.count, restart: r.restart, del: r.del }];
    case "updateBatch":
      // A bloom filter needs a dozen adds and more before its 64 bits give false positives.
      if (bloom && r.v % 3 !== 0) return r.ks.map(spare);
      return [{ kind: "updateBatch", keys: r.ks.map(() => NO_KEY), values: r.ks.map((_, i) => value(r.v + i)), elemFlags: r.elemFlags }];
    case "deleteBatch": return [{ kind: "deleteBatch", keys: r.ks.map(() => NO_KEY) }];
    default: return [r];
  }
}

const PROGRAM_OPTIONS_KEYS = optionKeys<ProgramOptions>({
  types: true, maxKeySize: true, maxValueSize: true, maxEntries: true, zeroSeed: true, accessFlags: true, invalid: true,
  possibleCpus: true, pageSize: true, maxOps: true, maxKeys: true, freeze: true, lruEviction: true, wide: true,
});

/**
 * Programs over specs from `mapSpecArb(options)`: a key pool, then the ops. LPM pool keys share
 * one drawn root's leading bits, each up to its own split bit, so nested prefixes (a lookup
 * matched by a shorter stored one) and siblings below a common prefix are common.
 */
export function programArb(options: ProgramOptions): fc.Arbitrary<Program> {
  assertOptionKeys(options, PROGRAM_OPTIONS_KEYS, "programArb", "options");
  // mapSpecArb refuses keys it does not know: hand it only the spec's.
  const { possibleCpus: _c, pageSize: _p, maxOps: _o, maxKeys: _k, freeze: _f, lruEviction: _l, wide: _w, ...specOptions } = options;
  const page = options.pageSize ?? RING_PAGE;
  // Draws scale by page / 4096: anything but a page a kernel can have makes fractional rings.
  if (!isPageSize(page)) throw new RangeError(`programArb: options.pageSize must be a power of 2 of at least 4096, got ${describeValue(page)}`);
  // Ring buffers, user rings and perf event arrays are drawn apart (ring-ops.ts, user-ring-ops.ts,
  // perf-ops.ts): mapSpecArb draws the other types.
  const types = options.types ?? SPEC_MAP_TYPES;
  const rings = types.includes(BPF_MAP_TYPE_RINGBUF);
  const eventKinds = EVENT_TYPES.filter((t) => types.includes(t));
  const apart = types.filter((t) => t === BPF_MAP_TYPE_RINGBUF || EVENT_TYPES.includes(t));
  const ringOnly = apart.length > 0 && apart.length === types.length;
  if (apart.length > 0 && !ringOnly) specOptions.types = types.filter((t) => !apart.includes(t));
  const maxOps = options.maxOps ?? 40;
  // Material for the widest key: LPM takes a prefixlen and a split byte before the data.
  const materialLength = Math.max(20, (options.maxKeySize ?? 16) + 2);
  const ringDraw = ringDrawArb(maxOps, options.invalid ?? "never");
  const eventDraw = eventDrawArb(eventKinds, maxOps, options.invalid ?? "never");
  // Among other types one program in EVENT_SHARE; alone, as often as a ring's each.
  const events: fc.Arbitrary<EventDraw | null> = eventDraw === null ? fc.constant(null)
    : !ringOnly ? fc.oneof(weighted(EVENT_SHARE - 1, fc.constant(null)), weighted(1, eventDraw))
    : rings ? fc.oneof(weighted(1, fc.constant(null)), weighted(eventKinds.length, eventDraw)) : eventDraw;
  return fc.record({
    spec: ringOnly ? fc.constant(null) : mapSpecArb(specOptions),
    // Under lruEviction the pool must outgrow the map: fast-check's default size keeps arrays to
    // about 10 elements whatever maxKeys says, so it is drawn at "medium" there.
    material: fc.array(keyMaterialArb(materialLength), { minLength: 1, maxLength: ringOnly ? 1 : options.maxKeys ?? 12, ...(options.lruEviction === true ? { size: "medium" as const } : {}) }),
    recipes: ringOnly ? fc.constant<OpRecipe[]>([]) : fc.array(opRecipeArb(options.freeze ?? true), { maxLength: maxOps, size: "medium" }),
    // Drawn last, so programs of other map types are the ones the same seed always gave.
    // At any length, so that wide keys' late data bytes are drawn too (material seldom reaches them).
    root: fc.uint8Array({ maxLength: materialLength, size: "max" }),
    // Wide draws last of all, so that underneath a wide program lies the plain one the seed gave.
    wide: options.wide === true && !ringOnly ? wideDrawArb(maxOps) : fc.constant(null),
    // After those: a ring program stands in for one program in RING_SHARE; the others are the
    // programs the seed gave before rings were drawn.
    ring: !rings ? fc.constant(null) : ringOnly ? ringDraw : fc.oneof(weighted(RING_SHARE - 1, fc.constant(null)), weighted(1, ringDraw)),
    // Last of all: one wide program in BTF_SHARE gets a value with special fields (btf-spec.ts);
    // the others are the programs the seed gave before. Not under lruEviction (LRU maps take no lock).
    btf: options.wide === true && !ringOnly && options.lruEviction !== true
      ? fc.oneof(weighted(BTF_SHARE - 1, fc.constant(null)), weighted(1, btfDrawArb())) : fc.constant(null),
    // After all of those: a user ring's or perf event array's program stands in for the one drawn.
    events,
  }).map(({ spec, root, material, recipes, wide, ring, btf, events }) => {
    if (events !== null) return resolveEvents(events, options.possibleCpus, page);
    if (ring !== null) return resolveRing(ring, options.possibleCpus, page);
    return resolve(spec!, options.possibleCpus, root, material, recipes, options.lruEviction ?? false, wide,
      types, page, btf);
  });
}

/** Among mixed types, one program in this many is a ring buffer's (each costs the kernel a program load per op). */
const RING_SHARE = 8;
/** One wide program in this many has a value with a spin lock or a timer. */
const BTF_SHARE = 5;

function resolveRing(d: RingDraw, possibleCpus: number, page: number): Program {
  const spec = ringSpec(d, page);
  return withToString({ spec, possibleCpus, ops: ringOps(spec, d.ops, page) });
}

/**
 * Every map type `programArb`'s `types` draws programs for: SPEC_MAP_TYPES, the fd-valued types,
 * ring buffers, user ring buffers and perf event arrays. Another type would draw nothing but
 * refused creates, on both sides alike.
 */
export const PROGRAM_MAP_TYPES: readonly number[] = [
  ...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, BPF_MAP_TYPE_PERF_EVENT_ARRAY,
];

/** Among other types, one program in this many is a user ring's or a perf event array's (their kernel side loads a program per drain or output). */
const EVENT_SHARE = 10;
/** The types drawn as EventDraws. */
const EVENT_TYPES: readonly number[] = [BPF_MAP_TYPE_USER_RINGBUF, BPF_MAP_TYPE_PERF_EVENT_ARRAY];
type EventDraw = { kind: "userRing"; d: UserRingDraw } | { kind: "perf"; d: PerfDraw };

/** A user ring's or perf event array's draw, among the kinds `types` holds; null for neither. */
function eventDrawArb(types: readonly number[], maxOps: number, invalid: "never" | "sometimes" | "always"): fc.Arbitrary<EventDraw> | null {
  const arms: fc.Arbitrary<EventDraw>[] = [];
  if (types.includes(BPF_MAP_TYPE_USER_RINGBUF)) arms.push(userRingDrawArb(maxOps, invalid).map((d) => ({ kind: "userRing" as const, d })));
  if (types.includes(BPF_MAP_TYPE_PERF_EVENT_ARRAY)) arms.push(perfDrawArb(maxOps, invalid).map((d) => ({ kind: "perf" as const, d })));
  if (arms.length < 2) return arms[0] ?? null;
  // Perf programs are the rarer kind: each output loads and runs a program on the kernel, pinned to its CPU.
  return fc.oneof(weighted(2, arms[0]!), weighted(1, arms[1]!));
}

function resolveEvents(e: EventDraw, possibleCpus: number, page: number): Program {
  const { spec, ops } = e.kind === "userRing" ? userRingProgram(e.d, page) : perfProgram(e.d, possibleCpus, page);
  return withToString({ spec, possibleCpus, ops });
}

const FLAG_NAMES: Record<number, string> = { 0: "ANY", 1: "NOEXIST", 2: "EXIST", 4: "F_LOCK" };
/** Values of more bytes than this are not built (their specs' creates fail first). */
const MAX_VALUE_BYTES = 8 << 20;
const flagName = (f: number) => FLAG_NAMES[f] ??
  (Number.isInteger(f) && f > 4 && f < 8 && FLAG_NAMES[f & ~4] !== undefined ? `${FLAG_NAMES[f & ~4]!}|F_LOCK` : `flags=${f}`);

/** The seed's map type names lack the keyless types: cilium/ebpf's names for them. */
const KEYLESS_NAMES: Record<number, string> = { 22: "Queue", 23: "Stack", 27: "RingBuf", 30: "BloomFilter", 31: "UserRingBuf" };
const typeName = (t: number) => KEYLESS_NAMES[t] ?? mapTypeName(t);

/** `HASH key 4 value 8 max 3 flags 0x40 name "fuzz_map"`. */
export function formatSpec(spec: MapSpec): string {
  const name = spec.mapName !== undefined ? ` name ${JSON.stringify(spec.mapName)}` : "";
  const numa = spec.numaNode !== undefined ? ` numa_node ${spec.numaNode}` : "";
  const variants = spec.innerVariants !== undefined ? spec.innerVariants.map((v, i) => `, inner${i + 3} ${v}`).join("") : "";
  const inner = spec.inner !== undefined ? ` inner (${formatSpec(spec.inner)}; inner0, inner1 alike, inner2 value +4${variants})`
    : spec.mapType === BPF_MAP_TYPE_PROG_ARRAY ? " (values: prog0, prog1, a map fd, a closed fd)" : "";
  const extra = spec.mapExtra !== undefined ? ` map_extra ${spec.mapExtra}` : "";
  return `${typeName(spec.mapType)} key ${spec.keySize} value ${spec.valueSize} max ${spec.maxEntries} flags 0x${spec.mapFlags.toString(16)}${extra}${numa}${name}${inner}${formatSpecBtf(spec)}`;
}

/** One op as a line: `update 01000000 = 0a0b0c0d NOEXIST`. */
export function formatOp(op: Op): string {
  if (isRingOp(op)) return formatRingOp(op);
  if (isUserRingOp(op)) return formatUserRingOp(op);
  if (isPerfOp(op)) return formatPerfOp(op);
  const keyText = (k: Uint8Array) => (k.length === 0 ? "(no key)" : hex(k));
  const keysText = (ks: readonly Uint8Array[]) => (ks.length > 0 && ks[0]!.length === 0 ? `${ks.length} × no key` : ks.map(hex).join(" "));
  switch (op.kind) {
    case "update": return `update ${hex(op.key)} = ${hex(op.value)} ${flagName(op.flags)}`;
    case "lookup": return `lookup ${hex(op.key)}${op.flags ? ` ${flagName(op.flags)}` : ""}`;
    case "delete": return `delete ${keyText(op.key)}`;
    case "nextKey": return `next-key ${op.key === null ? "NULL" : keyText(op.key)}`;
    case "lookupAndDelete": return `lookup-and-delete ${hex(op.key)}${op.flags ? ` ${flagName(op.flags)}` : ""}`;
    case "lookupBatch": return `${op.del ? "lookup-and-delete-batch" : "lookup-batch"} count ${op.count} ${op.restart ? "from NULL" : "from last token"}` +
      `${op.elemFlags ? ` elem_flags ${op.elemFlags}` : ""}`;
    case "updateBatch": return `update-batch [${keysText(op.keys)}]${op.elemFlags ? ` elem_flags ${op.elemFlags}` : ""}`;
    case "deleteBatch": return `delete-batch [${keysText(op.keys)}]`;
    case "walk": return "walk";
    case "progLookup": return `program lookup ${hex(op.key)}`;
    case "push": return `push ${hex(op.value)} ${flagName(op.flags)}`;
    case "peek": return `peek${op.flags ? ` ${flagName(op.flags)}` : ""}`;
    case "pop": return "pop";
    case "query": return `query ${hex(op.value)}${op.flags ? ` ${flagName(op.flags)}` : ""}`;
    case "freeze": return "freeze";
    case "reopen": return `reopen by id${op.openFlags === 0 ? "" : op.openFlags === BPF_F_RDONLY ? " read-only" : op.openFlags === BPF_F_WRONLY ? " write-only" : ` flags 0x${op.openFlags.toString(16)}`}`;
    case "pin": return "pin";
    case "objGet": return `open the pin${op.fileFlags === 0 ? "" : ` flags 0x${op.fileFlags.toString(16)}`}`;
    case "freezeOther": return "freeze through another fd";
    case "foreignToken": return `lookup-batch count ${op.count} on another map (its token is the next "last token")`;
    case "fdValue": return `update ${hex(op.key)} = ${op.which === "self" ? "the map's own fd" : "the other map's fd"}`;
    case "otherUpdate": return `update the other map ${hex(op.key)} = ${hex(op.value)}`;
    case "mmap": return `mmap ${op.length} bytes from ${op.offset}${op.writable ? " writable" : " read-only"}` +
      `${op.writable ? `, write ${hex(op.value)} at ${op.at}` : ""}, read back${op.keep ? ", keep it mapped" : ", munmap"}`;
  }
}

/** A program as numbered lines, for counterexamples. */
export function formatProgram(p: Program): string {
  const lines = [`create ${formatSpec(p.spec)} (cpus ${p.possibleCpus})`];
  p.ops.forEach((op, i) => lines.push(`${String(i + 1).padStart(3)}. ${formatOp(op)}`));
  return lines.join("\n");
}

/** fast-check prints a program as its lines; JSON (the CLI's --json) carries the lines too. */
function jsonSpec(spec: MapSpec): unknown {
  return spec.mapExtra === undefined ? spec : { ...spec, mapExtra: String(spec.mapExtra) };
}

function withToString(p: Program): Program {
  Object.defineProperty(p, fc.toStringMethod, { value: () => `\n${formatProgram(p)}`, enumerable: false });
  Object.defineProperty(p, "toJSON", {
    // map_extra is a bigint, which JSON cannot carry: its decimal text instead.
    value: () => ({ spec: jsonSpec(p.spec), possibleCpus: p.possibleCpus, ops: p.ops.map(formatOp) }), enumerable: false,
  });
  return p;
}
