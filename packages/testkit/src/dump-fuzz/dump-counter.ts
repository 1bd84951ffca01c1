// A Driver wrapper around the map being dumped: counts what the dump asked of the kernel (so its
// DumpStats can be checked against the truth) and narrows each LOOKUP_BATCH to a few elements,
// so the datapath gets between batch calls as it does between walk steps.
import { type Driver, Errno, wrapDriver } from "@bpfkit/core";

export interface DumpCalls {
  nextKey: number;
  lookup: number;
  /** Lookups that found the key gone (ENOENT). */
  lookupFailed: number;
  /** LOOKUP_BATCH calls as the dump saw them. */
  batch: number;
  /** Elements the batch calls returned, and what the last call returned. */
  batchElements: number;
  lastBatchCount: number;
  /** The keys the last two GET_NEXT_KEY calls returned, newest first (for an aimed datapath). */
  readonly recent: Uint8Array[];
}

export function countingDriver(inner: Driver, fd: number, batchCap: number): { driver: Driver; calls: DumpCalls } {
  const calls: DumpCalls = { nextKey: 0, lookup: 0, lookupFailed: 0, batch: 0, batchElements: 0, lastBatchCount: 0, recent: [] };
  const driver = wrapDriver(inner, {
    mapGetNextKey(f, key, next) {
      const r = inner.mapGetNextKey(f, key, next);
      if (f === fd) {
        calls.nextKey++;
        if (r === 0) {
          calls.recent.unshift(next.slice());
          calls.recent.length = Math.min(calls.recent.length, 2);
        }
      }
      return r;
    },
    mapLookupElem(f, key, value, flags) {
      const r = inner.mapLookupElem(f, key, value, flags);
      if (f === fd) {
        calls.lookup++;
        if (r === -Errno.ENOENT) calls.lookupFailed++;
      }
      return r;
    },
    mapLookupBatch(f, inBatch, outBatch, keys, values, count) {
      if (f !== fd) return inner.mapLookupBatch(f, inBatch, outBatch, keys, values, count);
      calls.batch++;
      let r = inner.mapLookupBatch(f, inBatch, outBatch, keys, values, Math.min(count, batchCap));
      // A bucket bigger than the cap: ask for what the caller has room for, as it asked.
      if (r.errno === Errno.ENOSPC && r.count === 0 && batchCap < count) {
        r = inner.mapLookupBatch(f, inBatch, outBatch, keys, values, count);
      }
      const ok = r.errno === 0 || r.errno === Errno.ENOENT;
      calls.lastBatchCount = ok ? r.count : 0;
      calls.batchElements += calls.lastBatchCount;
      return r;
    },
  });
  return { driver, calls };
}
