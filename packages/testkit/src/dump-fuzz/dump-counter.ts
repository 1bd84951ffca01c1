// A Driver wrapper for the dump: counts what it asked of the kernel, so its DumpStats can be
// checked against the truth, and remembers the keys the walk was just handed. Only the dump goes
// through it (the setup and the checks use the driver itself, the datapath acts beside it).
import { type Driver, Errno, wrapDriver } from "@bpfkit/core";
import { hex } from "../model/bytes.js";
import type { DumpTrace } from "./dump-trace.js";

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
 * `trace`: where each call goes, with its key and answer.
 */
export function countingDriver(inner: Driver, onNextKey?: (key: Uint8Array) => void,
  beforeRead?: () => void, onNextKeyFrom?: (key: Uint8Array) => void, trace?: DumpTrace): { driver: Driver; calls: DumpCalls } {
  const calls: DumpCalls = { nextKey: 0, lookup: 0, lookupFailed: 0, batch: 0, batchElements: 0, lastBatchCount: 0, recent: [] };
  const driver = wrapDriver(inner, {
    mapGetNextKey(f, key, next) {
      if (key !== null) onNextKeyFrom?.(key);
      const from = trace?.key(key);
      const r = inner.mapGetNextKey(f, key, next);
      calls.nextKey++;
      if (trace !== undefined) trace.call(`GET_NEXT_KEY ${from} → ${r === 0 ? trace.key(next) : trace.errno(r)}`);
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
      if (trace !== undefined) trace.call(`LOOKUP ${trace.key(key)} → ${r === 0 ? "found" : trace.errno(r)}`);
      if (r === -Errno.ENOENT) calls.lookupFailed++;
      return r;
    },
    mapLookupBatch(f, inBatch, outBatch, keys, values, count, elemFlags) {
      calls.batch++;
      beforeRead?.();
      const r = inner.mapLookupBatch(f, inBatch, outBatch, keys, values, count, elemFlags);
      const ok = r.errno === 0 || r.errno === Errno.ENOENT;
      if (trace !== undefined) {
        const size = count > 0 ? keys.byteLength / count : 0;
        const got = Array.from({ length: ok ? r.count : 0 }, (_, i) => trace.key(keys.subarray(i * size, (i + 1) * size)));
        trace.call(`LOOKUP_BATCH ${inBatch === null ? "from the start" : `from token ${hex(inBatch)}`}, up to ${count} → ` +
          `${ok ? `${r.count} (${got.join(", ")})` : ""}${r.errno !== 0 ? `${ok ? " " : ""}${trace.errno(r.errno)}` : ""}` +
          `${r.errno === 0 ? `, next token ${hex(outBatch)}` : ""}`);
      }
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
