// A conntrack garbage collector in the manner of Cilium's ctmap GC: walk the table with the
// reliable dump and delete every entry whose expiry has passed, while the datapath keeps adding,
// refreshing and closing connections underneath.
//
// The races it must survive, and how:
//  - the datapath closes (deletes) an entry between the dump reading it and the GC deleting it:
//    the delete answers ENOENT, which is counted, not an error;
//  - entries vanish under the walk itself: the reliable dump asks for the next key before it
//    looks the current one up, falls back or restarts (DumpStats says how often), and gives up
//    with MaxLookupError after 4 × maxEntries lookups rather than spinning; the GC then reports
//    an incomplete pass and the next pass picks up what this one missed.
import { type Bpf, type BpfMap, type DumpStats, MaxLookupError, newDumpStats } from "@bpfkit/core";
import type { CtEntry, CtKey } from "./conntrack.js";

export interface GcResult {
  /** Entries the dump delivered. */
  scanned: number;
  /** Expired entries this pass deleted. */
  deleted: number;
  /** Expired entries the datapath had already removed when the GC got to them. */
  alreadyGone: number;
  /** Deletes that failed for another reason (left for the next pass). */
  failed: number;
  /** False when the dump gave up (MaxLookupError): some entries were not looked at. */
  complete: boolean;
  /** The time entries were judged against (ns, CLOCK_MONOTONIC). */
  now: bigint;
  dump: DumpStats;
}

export interface GcOptions {
  /** "walk" is Cilium v1.7's algorithm; "auto" (default) uses batches where the kernel has them. */
  algorithm?: "auto" | "walk" | "batch";
  /** Called for each failed delete (default: ignore; the next pass retries). */
  onError?: (key: CtKey, error: Error) => void;
}

export function runConntrackGc(bpf: Bpf, map: BpfMap<CtKey, CtEntry>, options: GcOptions = {}): GcResult {
  const now = bpf.getMtime();
  const stats = newDumpStats(map.mapInfo.maxEntries);
  const result: GcResult = { scanned: 0, deleted: 0, alreadyGone: 0, failed: 0, complete: true, now, dump: stats };
  try {
    map.dumpReliablyWithCallback((key, entry) => {
      result.scanned++;
      if (entry.expires >= now) return;
      // Deleting inside the callback is safe: the walk already holds the next key.
      const { error } = map.deleteWithErrno(key);
      if (error === undefined) result.deleted++;
      else if (error.code === "ENOENT") result.alreadyGone++;
      else {
        result.failed++;
        options.onError?.(key, error);
      }
    }, stats, { algorithm: options.algorithm ?? "auto" });
  } catch (e) {
    if (!(e instanceof MaxLookupError)) throw e;
    result.complete = false;
  }
  return result;
}
