// The seed's DumpStats: what one reliable dump saw. Cilium's CT/NAT garbage collectors read these
// counters to judge how much a concurrent datapath disturbed a walk.
import { describeValue } from "./describe-value.js";

/** Which algorithm produced a dump: the v1.7 next-key walk, or BPF_MAP_LOOKUP_BATCH. */
export type DumpAlgorithm = "walk" | "batch";

/** The seed's DumpStats: what a dump did (lookups, fallbacks, restarts, batches), made by `newDumpStats(map)`. */
export interface DumpStats {
  /** When the dump started (wall clock). */
  started: Date | undefined;
  /** When the dump returned, on every path (wall clock). */
  finished: Date | undefined;
  /**
   * Lookups made by the walk; elements read by a batch dump. Counted from 0 by each dump, against
   * that dump's budget (the seed's loop sets it); the other counters but `completed` add up over
   * the dumps that share a DumpStats, as in the seed.
   */
  lookup: number;
  /** Walk lookups that found the key gone (it vanished after next-key returned it). */
  lookupFailed: number;
  /** The seed documents it and never counts it; kept for field parity, always 0. */
  prevKeyUnavailable: number;
  /** Times the walk fell back to the previous confirmed key. */
  keyFallback: number;
  /** The lookup budget is 4 × this; 0 gives MaxLookupError on any non-empty map. */
  maxEntries: number;
  /** Times the walk lost its place and went on from a key that may restart the map. */
  interrupted: number;
  /** True when the dump reached the end of the map; set false as each dump starts. */
  completed: boolean;
  // ---- beyond the seed
  /** The algorithm that ran (after `auto` chose). */
  algorithm: DumpAlgorithm | undefined;
  /** BPF_MAP_LOOKUP_BATCH calls made (0 for the walk). */
  batches: number;
  /** Elements handed to the callback. */
  delivered: number;
}

/** The seed's NewDumpStats: every counter zero, `maxEntries` from the map (or the number given). */
export function newDumpStats(map: { readonly mapInfo: { readonly maxEntries: number } } | number): DumpStats {
  const maxEntries = typeof map === "number" ? map : (map as { mapInfo?: { maxEntries?: unknown } } | null)?.mapInfo?.maxEntries;
  if (typeof maxEntries !== "number" || !Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new TypeError(`newDumpStats: map must be a BpfMap or a max entries count (a non-negative integer), got ${describeValue(map)}`);
  }
  return {
    started: undefined, finished: undefined, lookup: 0, lookupFailed: 0, prevKeyUnavailable: 0,
    keyFallback: 0, maxEntries, interrupted: 0, completed: false,
    algorithm: undefined, batches: 0, delivered: 0,
  };
}

/** Finished − Started in milliseconds, or undefined while either is unset. */
export function dumpDuration(stats: DumpStats): number | undefined {
  if (stats.started === undefined || stats.finished === undefined) return undefined;
  return stats.finished.getTime() - stats.started.getTime();
}
