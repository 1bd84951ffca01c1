// Batch helpers: the raw BPF_MAP_*_BATCH commands (kernel-maps.md §10) behind a cursor, with the
// two things every caller gets wrong done once: a hash bucket larger than the buffer (ENOSPC with
// nothing copied: grow and ask again from the same bucket), and ENOENT arriving *with* the last
// elements. Update and delete batches stop at the first error; the count applied before it is
// reported on the error (`BatchError.count`).
import { batchTokenSize, isHashMapType } from "./constants.js";
import { checkBatchResult } from "./driver-contract.js";
import { deleteRefusal, lookupRefusal, updateRefusal } from "./elem-refusal.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError, type BpfErrorInit } from "./errors.js";
import type { DumpTarget } from "./dump-reliable.js";

/** A batch that stopped part-way: `count` elements were applied (or read) before `errno`. */
export class BatchError extends BpfError {
  /** Elements applied (or read) before the error. */
  readonly count: number;
  /** Makes the error from a BpfError's fields and the count applied before it. */
  constructor(init: BpfErrorInit & { count: number }) {
    super(init);
    this.name = "BatchError";
    this.count = init.count;
  }
}

/** ENOSPC growth stops here: no bucket of a real map holds 16 M elements. */
const MAX_BATCH_GROWTH = 1 << 24;

/** Where a batch lookup goes on from. A new cursor starts at the beginning of the map. */
export class BatchCursor {
  /** The kernel's out_batch of the last call; null before the first call. */
  token: Uint8Array | null = null;
  /** True once the kernel said ENOENT: the map was walked to its end. */
  done = false;
}

/** What one batch lookup call returned: `count` packed keys and values. */
export interface RawBatch {
  /** Elements in `keys`/`values`. */
  count: number;
  /** The keys, packed: `count` × key size bytes are meaningful. */
  keys: Uint8Array;
  /** The values, packed: `count` × value size bytes are meaningful (per-CPU: every CPU's slot). */
  values: Uint8Array;
}

/** `why` reads the errno for the element it stopped at (elem-refusal.ts), where it misleads. */
function batchError(target: DumpTarget, op: string, errno: number, count: number,
  why: string | undefined = target.explain?.(errno), aboutKey = false): BatchError {
  const after = `after ${count} element${count === 1 ? "" : "s"}`;
  return new BatchError({ errno, op, map: target.name, path: target.path, count, aboutKey,
    message: `${op} ${target.name}: ${errnoText(errno)} (${why !== undefined ? `${why}; ` : ""}${after})` });
}

/**
 * One LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH) call from `cursor`, for up to `maxCount`
 * elements; more when one hash bucket holds more (buckets come whole). Advances the cursor.
 */
export function lookupBatchRaw(target: DumpTarget, cursor: BatchCursor, maxCount: number, del: boolean, elemFlags = 0): RawBatch {
  const op = del ? "lookupAndDeleteBatch" : "lookupBatch";
  if (!Number.isInteger(maxCount) || maxCount < 1 || maxCount > 0xffffffff) {
    throw new RangeError(`${op} ${target.name}: count must be a positive integer (at most 2^32-1), got ${maxCount}`);
  }
  if (cursor.done) return { count: 0, keys: new Uint8Array(0), values: new Uint8Array(0) };
  const tokenSize = batchTokenSize(target.mapType, target.keySize);
  if (cursor.token !== null && cursor.token.length !== tokenSize) {
    throw new RangeError(`${op} ${target.name}: the cursor belongs to another map (token of ${cursor.token.length} bytes, this map's is ${tokenSize})`);
  }
  const out = new Uint8Array(tokenSize);
  let capacity = maxCount;
  for (;;) {
    const keys = new Uint8Array(capacity * target.keySize);
    const values = new Uint8Array(capacity * target.valueSize);
    const res = del
      ? target.driver.mapLookupAndDeleteBatch(target.fd, cursor.token, out, keys, values, capacity, elemFlags)
      : target.driver.mapLookupBatch(target.fd, cursor.token, out, keys, values, capacity, elemFlags);
    checkBatchResult(target.driver, del ? "mapLookupAndDeleteBatch" : "mapLookupBatch", res, capacity);
    if (res.errno === Errno.ENOSPC && res.count === 0 && isHashMapType(target.mapType) &&
      capacity < MAX_BATCH_GROWTH) {
      capacity *= 2;
      continue;
    }
    // Nothing is handed out on an error, so the count reported is 0 (the kernel also leaves
    // `count` as it was on early errors such as EPERM or ENOTSUPP).
    if (res.errno !== 0 && res.errno !== Errno.ENOENT) {
      throw batchError(target, op, res.errno, 0, lookupRefusal(res.errno, elemFlags, `a ${op === "lookupBatch" ? "lookup" : "lookup-and-delete"} batch`) ?? target.explain?.(res.errno));
    }
    if (res.errno === Errno.ENOENT) cursor.done = true;
    else if (res.count > 0 || isHashMapType(target.mapType)) cursor.token = out;
    return { count: res.count, keys, values };
  }
}

/**
 * Elements applied before a write batch failed. The kernel stops at the first failing element,
 * so a count of `count` or more means it failed before touching any (an early error leaves
 * `count` as passed in).
 */
function applied(res: { count: number }, count: number): number {
  return res.count >= count ? 0 : res.count;
}

/** UPDATE_BATCH of `count` packed elements; returns `count` or throws BatchError with the count applied. */
export function updateBatchRaw(target: DumpTarget, keys: Uint8Array, values: Uint8Array, count: number, elemFlags: number): number {
  if (count === 0) return 0;
  const res = target.driver.mapUpdateBatch(target.fd, keys, values, count, elemFlags);
  checkBatchResult(target.driver, "mapUpdateBatch", res, count);
  if (res.errno !== 0) {
    const why = target.maxEntries !== undefined ? updateRefusal(target.mapType, res.errno, elemFlags, target.maxEntries) : undefined;
    throw batchError(target, "updateBatch", res.errno, applied(res, count), why, true);
  }
  return res.count;
}

/** DELETE_BATCH of `count` packed keys; returns `count` or throws BatchError with the count deleted. */
export function deleteBatchRaw(target: DumpTarget, keys: Uint8Array, count: number): number {
  if (count === 0) return 0;
  const res = target.driver.mapDeleteBatch(target.fd, keys, count);
  checkBatchResult(target.driver, "mapDeleteBatch", res, count);
  if (res.errno !== 0) {
    const why = target.maxEntries !== undefined ? deleteRefusal(target.mapType, res.errno, target.maxEntries) : undefined;
    throw batchError(target, "deleteBatch", res.errno, applied(res, count), why, true);
  }
  return res.count;
}
