// The wide ops of a program: a few extra steps slipped in among the plain ones, where the plain
// recipes never go. Array indexes and LPM prefix lengths at the u32 edges, update and lookup
// flags past u32 (and the non-u64s a driver refuses with a TypeError or RangeError, as the
// Driver contract says), batches of more than 12, the map opened by pin or with bad open flags,
// frozen through another fd, a batch token from another map, and map fds as values: the map's
// own, a second outer map's, and inner maps shared between two outer maps.
import {
  BPF_F_MMAPABLE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PROG_ARRAY,
  userValueSize,
} from "@bpfkit/core";
import fc from "fast-check";
import { putU32le } from "../model/bytes.js";
import { keyFromMaterial } from "./keys.js";
import { FD_VALUE_MAP_TYPES, type MapSpec, isKeylessMapType } from "./map-spec.js";
import { type Op, isOrderFree } from "./program.js";
import { type WideSpecDraw, wideSpecDrawArb } from "./wide-spec.js";

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

type ElemOp = "update" | "lookup" | "delete" | "nextKey" | "lookupAndDelete" | "deleteBatch";
type BatchOp = "lookupBatch" | "lookupAndDeleteBatch" | "updateBatch" | "deleteBatch";

export type WideRecipe =
  /** An element op on an index or prefix length at an edge (arrays and LPM only). */
  | { kind: "edgeKey"; op: ElemOp; edge: number; k: number; v: number }
  | { kind: "bigFlags"; op: "update" | "lookup" | "updateBatch"; k: number; v: number; flags: number }
  | { kind: "bigBatch"; op: BatchOp; n: number; restart: boolean; v: number }
  | { kind: "pin" }
  | { kind: "objGet"; fileFlags: number }
  | { kind: "reopen"; openFlags: number }
  | { kind: "freezeOther" }
  | { kind: "foreignToken"; count: number; then: number }
  | { kind: "fdValue"; k: number; which: "self" | "other" }
  | { kind: "otherUpdate"; k: number; v: number }
  /** mmap of one of `mmapRange`'s ranges, a value written at index `k`, kept or unmapped. */
  | { kind: "mmap"; range: number; writable: boolean; k: number; v: number; keep: boolean; mmapable: boolean; retype: boolean };

/** A program's wide draws: over its spec, and the extra ops with where each goes. */
export interface WideDraw {
  spec: WideSpecDraw;
  ops: { at: number; r: WideRecipe }[];
}

/** Flags past u32, and ones no driver passes: past 2^53, negative, fractional. */
const BIG_FLAGS = [2 ** 32, 2 ** 32 + 1, 2 ** 32 + 2, 2 ** 32 + 4, 2 ** 40, 2 ** 53 - 1, 2 ** 53, -1, 1.5];
/** Open flags: RDONLY and WRONLY together, and bits that are no open flag. */
const OPEN_FLAGS = [0, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY | BPF_F_WRONLY, 1, 4, 0x20, 0x80, 2 ** 31, 0xffffffff];

const keyIndex = fc.nat(63);
const valueSeed = fc.nat(255);

const wideRecipeArb: fc.Arbitrary<WideRecipe> = fc.oneof(
  weighted(6, fc.record({ kind: fc.constant("edgeKey" as const), op: fc.constantFrom<ElemOp>("update", "lookup", "delete", "nextKey", "lookupAndDelete", "deleteBatch"), edge: fc.nat(15), k: keyIndex, v: valueSeed })),
  weighted(3, fc.record({ kind: fc.constant("bigFlags" as const), op: fc.constantFrom("update" as const, "lookup" as const, "updateBatch" as const), k: keyIndex, v: valueSeed, flags: fc.constantFrom(...BIG_FLAGS) })),
  weighted(4, fc.record({ kind: fc.constant("bigBatch" as const), op: fc.constantFrom<BatchOp>("lookupBatch", "lookupAndDeleteBatch", "updateBatch", "deleteBatch"), n: fc.integer({ min: 13, max: 300 }), restart: fc.boolean(), v: valueSeed })),
  weighted(2, fc.constant({ kind: "pin" as const })),
  weighted(3, fc.record({ kind: fc.constant("objGet" as const), fileFlags: fc.constantFrom(...OPEN_FLAGS) })),
  weighted(2, fc.record({ kind: fc.constant("reopen" as const), openFlags: fc.constantFrom(...OPEN_FLAGS.slice(3)) })),
  weighted(2, fc.constant({ kind: "freezeOther" as const })),
  weighted(3, fc.record({ kind: fc.constant("foreignToken" as const), count: fc.integer({ min: 1, max: 30 }), then: fc.integer({ min: 0, max: 12 }) })),
  weighted(2, fc.record({ kind: fc.constant("fdValue" as const), k: keyIndex, which: fc.constantFrom("self" as const, "other" as const) })),
  weighted(2, fc.record({ kind: fc.constant("otherUpdate" as const), k: keyIndex, v: valueSeed })),
  weighted(3, fc.record({ kind: fc.constant("mmap" as const), range: fc.nat(7), writable: fc.boolean(), k: keyIndex, v: valueSeed, keep: fc.boolean(),
    mmapable: fc.oneof(weighted(3, fc.constant(true)), weighted(1, fc.constant(false))),
    retype: fc.oneof(weighted(2, fc.constant(false)), weighted(1, fc.constant(true))) })),
);

/** x86-64's page: what the drivers map in unless they say otherwise (`pageSize`). */
const PAGE = 4096;
/** How many ranges mmapRange has, and which of them start at the second page. */
const MMAP_RANGES = 8;
const SECOND_PAGE_RANGES: readonly number[] = [3, 7];

/**
 * `spec`, made mappable where one of the mmap draws asks for it (`mmapable`): an ARRAY gains
 * BPF_F_MMAPABLE, and, where the draw says `retype` and ARRAY is among the types the caller
 * allows, another map becomes an mmapable ARRAY of its value size (up to 256 bytes) and access
 * flags, with up to 1100 entries (several pages of 8-byte values), and at least two pages of
 * values where the draw's range starts at the second page. The spec draws alone seldom make one,
 * and mapping anything else only meets refusals; without the two pages no mapping at an offset
 * ever succeeded (a simulator that ignored the offset agreed with the kernel on every run).
 */
export function mmapableFor(spec: MapSpec, draws: readonly { r: WideRecipe }[], arrayAllowed: boolean, page = PAGE): MapSpec {
  const ask = draws.find((d): d is { r: Extract<WideRecipe, { kind: "mmap" }> } => d.r.kind === "mmap" && d.r.mmapable);
  if (ask === undefined) return spec;
  // Bit 31 may be set among the flags: OR in JS is signed, the flags are not.
  if (spec.mapType === BPF_MAP_TYPE_ARRAY) return { ...spec, mapFlags: (spec.mapFlags | BPF_F_MMAPABLE) >>> 0 };
  if (!ask.r.retype || !arrayAllowed) return spec;
  const access = spec.mapFlags & (BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  const valueSize = spec.valueSize >= 1 && spec.valueSize <= 256 ? spec.valueSize : 8;
  // 2 pages are at most 1024 values (8-byte ones) of 4 KiB pages: within the 1100 (16384 of
  // 64 KiB ones: the cap grows with the page).
  const least = SECOND_PAGE_RANGES.includes(ask.r.range % MMAP_RANGES) ? Math.ceil((2 * page) / (Math.ceil(valueSize / 8) * 8)) : 1;
  return {
    mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize,
    maxEntries: Math.min(Math.max(spec.maxEntries, least), 1100 * (page / PAGE)), mapFlags: (access | BPF_F_MMAPABLE) >>> 0,
  };
}


/**
 * The range `range` picks for an mmap of `spec`'s values (max_entries × round_up(value_size, 8)):
 * the values, their whole pages, a page past them, the second page, nothing, an offset off a
 * page, a single byte, and the values from the second page on.
 */
export function mmapRange(spec: MapSpec, range: number, page = PAGE): { offset: number; length: number } {
  const values = spec.maxEntries * Math.ceil(spec.valueSize / 8) * 8;
  const pages = Math.ceil(values / page) * page;
  const ranges = [[0, values], [0, pages], [0, pages + page], [page, page], [0, 0], [1, values], [0, 1], [page, values]] as const;
  const [offset, length] = ranges[range % MMAP_RANGES]!;
  return { offset, length };
}

/** The wide draws of a program of at most `maxOps` plain ops; most programs get one to four extra ops. */
export function wideDrawArb(maxOps: number): fc.Arbitrary<WideDraw> {
  return fc.record({
    spec: wideSpecDrawArb(),
    ops: fc.array(fc.record({ at: fc.nat(maxOps), r: wideRecipeArb }), { maxLength: 4 }),
  });
}

interface Resolving {
  spec: MapSpec;
  possibleCpus: number;
  /** The drivers' page: mmap ranges are counted in it. */
  page: number;
  key: (i: number) => Uint8Array;
  value: (n: number) => Uint8Array;
  lruEviction: boolean;
}

const isArrayIndexed = (t: number) => t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY || t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_PROG_ARRAY;
const isLru = (t: number) => t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
/** Batch buffers stay below this many bytes. */
const BATCH_BYTES = 1 << 20;

/**
 * Index or prefix length `edge` picks: around max_entries (max_prefixlen) and at the u32 edges;
 * 0xffffffff and 0x80000000 twice, as the edges a sign or an overflow would trip.
 */
export function edgeValue(spec: MapSpec, edge: number): number {
  const around = spec.mapType === BPF_MAP_TYPE_LPM_TRIE ? 8 * (spec.keySize - 4) : spec.maxEntries;
  const edges = [around - 1, around, around + 1, around + 2, around + 8, 255, 256, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0xffffffff, 0x80000000];
  return edges[edge % edges.length]! >>> 0;
}

/** Inserts the ops `draws` stand for among `ops`, each before the plain op at its `at` (or last). */
export function insertWideOps(ops: Op[], draws: readonly { at: number; r: WideRecipe }[], c: Resolving): void {
  // Last position first, so that earlier positions still name the plain ops they were drawn for.
  const placed = draws.map((d, i) => ({ at: Math.min(d.at, ops.length), i, ops: wideOps(d.r, c) }))
    .sort((a, b) => b.at - a.at || b.i - a.i);
  for (const p of placed) ops.splice(p.at, 0, ...p.ops);
}

function wideOps(r: WideRecipe, c: Resolving): Op[] {
  const { spec } = c;
  const t = spec.mapType;
  const fdValued = FD_VALUE_MAP_TYPES.includes(t);
  switch (r.kind) {
    case "edgeKey": {
      // Hash keys are bytes: nothing is at an edge there.
      if (!isArrayIndexed(t) && t !== BPF_MAP_TYPE_LPM_TRIE) return [];
      if (spec.keySize < 4) return [];
      const key = c.key(r.k).slice();
      putU32le(key, 0, edgeValue(spec, r.edge));
      switch (r.op) {
        case "update": return [{ kind: "update", key, value: c.value(r.v), flags: 0 }];
        case "lookup": return [{ kind: "lookup", key, flags: 0 }];
        case "delete": return [{ kind: "delete", key }];
        case "nextKey": return [{ kind: "nextKey", key }];
        case "lookupAndDelete": return [{ kind: "lookupAndDelete", key }];
        case "deleteBatch": return [{ kind: "deleteBatch", keys: [c.key(r.k), key] }];
      }
      return [];
    }
    case "bigFlags":
      if (isKeylessMapType(t) && r.op !== "updateBatch") {
        if (r.op === "update") return [{ kind: "push", value: c.value(r.v), flags: r.flags }];
        return [t === BPF_MAP_TYPE_BLOOM_FILTER ? { kind: "query", value: c.value(r.v), flags: r.flags } : { kind: "peek", flags: r.flags }];
      }
      switch (r.op) {
        case "update": return [{ kind: "update", key: c.key(r.k), value: c.value(r.v), flags: r.flags }];
        case "lookup": return [{ kind: "lookup", key: c.key(r.k), flags: r.flags }];
        case "updateBatch": return [{ kind: "updateBatch", keys: [c.key(r.k)], values: [c.value(r.v)], elemFlags: r.flags }];
      }
      return [];
    case "bigBatch": {
      const elem = spec.keySize + userValueSize(t, spec.valueSize, c.possibleCpus);
      const n = Math.max(1, Math.min(r.n, Math.floor(BATCH_BYTES / Math.max(1, elem))));
      if (r.op === "lookupBatch" || r.op === "lookupAndDeleteBatch") {
        // As the plain ops do: a random hash seed leaves batches in no comparable order.
        if (isOrderFree(spec)) return [{ kind: "walk" }];
        return [{ kind: "lookupBatch", count: n, restart: r.restart, del: r.op === "lookupAndDeleteBatch" }];
      }
      // LRU maps must not evict (keyPoolLimit): their batches repeat the pool's keys.
      const keys = Array.from({ length: n }, (_, i) => (isLru(t) && !c.lruEviction ? c.key(i) : seqKey(spec, i)));
      if (r.op === "deleteBatch") return [{ kind: "deleteBatch", keys }];
      return [{ kind: "updateBatch", keys, values: keys.map((_, i) => c.value(r.v + i)), elemFlags: 0 }];
    }
    case "pin": return [{ kind: "pin" }];
    case "objGet": return [{ kind: "pin" }, { kind: "objGet", fileFlags: r.fileFlags }];
    case "reopen": return [{ kind: "reopen", openFlags: r.openFlags }];
    case "freezeOther": return [{ kind: "freezeOther" }];
    case "foreignToken": return isOrderFree(spec) ? [] : [{ kind: "foreignToken", count: r.count }, { kind: "lookupBatch", count: r.then, restart: false, del: false }];
    case "fdValue": return fdValued ? [{ kind: "fdValue", key: c.key(r.k), which: r.which }] : [];
    case "otherUpdate": return fdValued ? [{ kind: "otherUpdate", key: c.key(r.k), value: c.value(r.v) }] : [];
    case "mmap": {
      const { offset, length } = mmapRange(spec, r.range, c.page);
      const stride = Math.ceil(spec.valueSize / 8) * 8;
      return [{ kind: "mmap", offset, length, writable: r.writable, at: (r.k % Math.max(1, spec.maxEntries)) * stride, value: c.value(r.v), keep: r.keep }];
    }
  }
}

/** The i-th of a run of distinct keys of `spec`'s shape (an index, a prefix, or i's bytes). */
function seqKey(spec: MapSpec, i: number): Uint8Array {
  const m = new Uint8Array(8);
  if (spec.mapType === BPF_MAP_TYPE_LPM_TRIE) {
    m[0] = Math.min(255, 8 * (spec.keySize - 4));
    putU32le(m, 1, i * 2654435761);
  } else {
    putU32le(m, 0, i);
    putU32le(m, 4, i * 2654435761);
  }
  return keyFromMaterial(spec, m);
}
