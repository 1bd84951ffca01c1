// A Driver wrapper for the dump: counts what it asked of the kernel, so its DumpStats can be
// checked against the truth, and remembers the keys the walk was just handed. Only the dump goes
// through it (the setup and the checks use the driver itself, the datapath acts beside it).
import { type Driver, Errno, wrapDriver } from "@bpfkit/core";

export interface DumpCalls {
  nextKey: number;
  lookup: number;
  /** Lookups that found the key gone (ENOENT). */
  lookupFailed: number;
  /** LOOKUP_BATCH calls. */
  batch: number;
  /** Elements the batch calls returned, and what the last call returned. */
  batchElements: number;
  lastBatchCount: number;
  /** The keys the last two GET_NEXT_KEY calls returned, newest first (for an aimed datapath). */
  readonly recent: Uint8Array[];
}

/**
 * `onNextKey`: called with each key a GET_NEXT_KEY returned (the kernel datapath aims at it).
 * `beforeRead`: called just before each lookup and LOOKUP_BATCH call.
 * `onNextKeyFrom`: called with each key passed to GET_NEXT_KEY (not NULL), before the call.
 */
export function countingDriver(inner: Driver, onNextKey?: (key: Uint8Array) => void,
  beforeRead?: () => void, onNextKeyFrom?: (key: Uint8Array) => void): { driver: Driver; calls: DumpCalls } {
  const calls: DumpCalls = { nextKey: 0, lookup: 0, lookupFailed: 0, batch: 0, batchElements: 0, lastBatchCount: 0, recent: [] };
  const driver = wrapDriver(inner, {
    mapGetNextKey(f, key, next) {
      if (key !== null) onNextKeyFrom?.(key);
      const r = inner.mapGetNextKey(f, key, next);
      calls.nextKey++;
      if (r === 0) {
        calls.recent.unshift(next.slice());
        calls.recent.length = Math.min(calls.recent.length, 2);
        onNextKey?.(next);
      }
      return r;
    },
    mapLookupElem(f, key, value, flags) {
      beforeRead?.();
      const r = inner.mapLookupElem(f, key, value, flags);
      calls.lookup++;
      if (r === -Errno.ENOENT) calls.lookupFailed++;
      return r;
    },
    mapLookupBatch(f, inBatch, outBatch, keys, values, count) {
      calls.batch++;
      beforeRead?.();
      const r = inner.mapLookupBatch(f, inBatch, outBatch, keys, values, count);
      const ok = r.errno === 0 || r.errno === Errno.ENOENT;
      calls.lastBatchCount = ok ? r.count : 0;
      calls.batchElements += calls.lastBatchCount;
      return r;
    },
  });
  return { driver, calls };
}

/** Zeroes the counts (after opening a map through the wrapper, before the dump). */
export function resetCalls(calls: DumpCalls): void {
  calls.nextKey = calls.lookup = calls.lookupFailed = calls.batch = calls.batchElements = calls.lastBatchCount = 0;
  calls.recent.length = 0;
}
