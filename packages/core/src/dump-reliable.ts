// The two ways to read a whole map while the datapath changes it.
//
// 1. The v1.7 walk (Cilium's DumpReliablyWithCallback, pkg-bpf-behaviour.md §7.9), kept exactly:
//    GET_NEXT_KEY(cur) is asked *before* cur is looked up, so a successful lookup proves that
//    `next` really followed `cur`; when `cur` vanished the walk falls back once to the last
//    confirmed key, else goes on from `next` (which the kernel made the first key: a restart).
//    What it guarantees when it completes: every key that nobody touched during the dump is
//    delivered at least once, and every delivered key was in the map when it was looked up.
//    Keys can be delivered more than once (each restart walks again), and a key *updated*
//    during the dump can be missed: a HASH/LRU update re-links the element at the head of its
//    bucket (kernel-maps.md §5.2), possibly behind the walk. The budget is 4 × MaxEntries
//    lookups (MaxLookupError).
//
// 2. BPF_MAP_LOOKUP_BATCH (kernel-maps.md §10). For the hash family the token is a bucket index
//    and the kernel copies whole buckets under the bucket lock. A key's bucket is fixed for the
//    map's life (jhash of the key with the map's seed), and the token only moves forward, so
//    every bucket is copied exactly once per dump. Hence, with "present for the whole dump"
//    meaning in the map (updates allowed, never deleted) from before the dump's first
//    LOOKUP_BATCH call until after its last:
//      - every key present for the whole dump is delivered exactly once, however other keys
//        churn and however often it is itself updated;
//      - any other key (inserted, deleted, or deleted and re-inserted during the dump) is
//        delivered at most once;
//      - every delivered key and value was in the map at the moment its bucket was copied.
//    Other batch-capable types (arrays, LPM) use a key token: the kernel resumes with
//    GET_NEXT_KEY(token). Array slots never vanish, so arrays are exactly-once too. For LPM, a
//    token key deleted between two calls (also by the callback itself) makes the kernel restart
//    from the first entry. The trie's order is a pure function of the keys (kernel-maps.md
//    §9.3), so the dump drops every key that does not come after the last one it delivered
//    (they were delivered before, or were inserted behind the walk), counts in `interrupted`
//    each restart that hands out keys again, and LPM is exactly-once too; the restarts' re-reads count against the same
//    4 × MaxEntries budget. On the kernel (6.18, and every kernel with this trie code) LPM
//    GET_NEXT_KEY also races with a concurrent *update* of the entry it resumes from: the
//    replaced node no longer matches its parent's left child, so the kernel skips the sibling
//    subtree and untouched keys are missed (docs/kernel-notes.md, with a probe). Both
//    algorithms walk LPM with GET_NEXT_KEY, so neither can promise more for LPM while the
//    datapath writes to it; with no concurrent writes, every key is delivered.
import { BPF_MAP_TYPE_LPM_TRIE, batchTokenSize, isHashMapType, isIndexedMapType } from "./constants.js";
import type { Driver } from "./driver.js";
import { checkBatchResult, driverContractError, isNegErrno } from "./driver-contract.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError, MaxLookupError } from "./errors.js";
import type { DumpStats } from "./dump-stats.js";
import { LpmResume } from "./lpm-order.js";
import { copyBytes } from "./small-bytes.js";

/** What the dump algorithms need of an open map. */
export interface DumpTarget {
  /** The driver to make the calls through (with the syscall hook, if any). */
  readonly driver: Driver;
  /** The open map's fd. */
  readonly fd: number;
  /** The map's type, which decides the batch token's size and how a walk resumes (arrays, LPM tries). */
  readonly mapType: number;
  /** Bytes of one key. */
  readonly keySize: number;
  /** Bytes of one user-space value (per-CPU: every CPU's slot). */
  readonly valueSize: number;
  /** For error messages. */
  readonly name: string;
  /** The map's pin, where it has one: the errors carry it (`BpfError.path`), as element calls' do. */
  readonly path?: string;
  /** The kernel's max_entries, where known: the batch helpers' errors name it for a full map. */
  readonly maxEntries?: number;
  /** The public call the errors name (`dumpReliablyWithCallback`, `keys`); default `dump` (`entries` for iterateMap). */
  readonly op?: string;
  /**
   * Throws when the map was closed since this target was made. The walks call it after handing
   * out an element, since the callback may close the map and the next map opened gets its fd
   * number: reading on would read that other map.
   */
  readonly checkOpen?: () => void;
  /** Why the kernel said `errno` to this map, where its text misleads (an fd opened write-only's EPERM). */
  readonly explain?: (errno: number) => string | undefined;
}

/** `${op} ${name}: <errno text>`, with the target's reading of the errno in parentheses. */
export function targetErrorMessage(target: DumpTarget, op: string, errno: number): string {
  const why = target.explain?.(errno);
  return `${op} ${target.name}: ${errnoText(errno)}${why !== undefined ? ` (${why})` : ""}`;
}

/**
 * Receives one element as views into reused buffers: the key at `keys[koff, koff+keySize)`,
 * the value at `values[voff, voff+valueSize)`. Valid only during the call.
 */
export type RawSink = (keys: Uint8Array, koff: number, values: Uint8Array, voff: number) => void;

/** `step` is the failing command ("lookup", "get next key"), named after the call that made it. */
function dumpError(target: DumpTarget, step: string, errno: number): BpfError {
  const op = `${target.op ?? "dump"} (${step})`;
  return new BpfError({ errno, op, map: target.name, path: target.path, message: targetErrorMessage(target, op, errno) });
}

/** The lookup budget of the seed: `MaxEntries * 4` in uint32 arithmetic. */
export function lookupBudget(stats: DumpStats): number {
  return Math.imul(stats.maxEntries >>> 0, 4) >>> 0;
}

/**
 * The v1.7 reliable walk, counter for counter. Throws MaxLookupError when the budget runs out,
 * a BpfError for a next-key or lookup error other than a vanished key (ENOENT).
 * The seed also treats every lookup error as "vanished"; a permission error (a write-only fd)
 * would then spin to the budget, so only ENOENT falls back here.
 *
 * After a fallback the seed looks the previous key up again and hands it out a second time.
 * `skipFallbackRepeat` (dumpWithCallback, which is not bound to the seed's callbacks) walks the
 * same way but does not deliver that key again: it was delivered just before.
 */
export function walkDump(target: DumpTarget, sink: RawSink, stats: DumpStats, skipFallbackRepeat = false): void {
  const { driver, fd, keySize } = target;
  const prev = new Uint8Array(keySize);
  const cur = new Uint8Array(keySize);
  const next = new Uint8Array(keySize);
  const val = new Uint8Array(target.valueSize);
  let prevValid = false;
  let repeat = false;
  const indexed = isIndexedMapType(target.mapType);
  stats.algorithm = "walk";
  // Per dump, like lookup: a DumpStats reused after a completed dump must not say a dump that
  // gave up completed.
  stats.completed = false;

  const first = driver.mapGetNextKey(fd, null, cur);
  if (first !== 0 && !isNegErrno(first)) throw driverContractError(driver, "mapGetNextKey", first, "0");
  if (first < 0) {
    stats.lookup = 1;
    if (first === -Errno.ENOENT) {
      stats.completed = true;
      return;
    }
    throw dumpError(target, "get first key", -first);
  }
  const maxLookup = lookupBudget(stats);
  for (stats.lookup = 1; stats.lookup <= maxLookup; stats.lookup++) {
    const nextErr = driver.mapGetNextKey(fd, cur, next);
    const le = driver.mapLookupElem(fd, cur, val);
    // One comparison each on success; a positive errno would deliver stale buffers.
    if (nextErr !== 0 && !isNegErrno(nextErr)) throw driverContractError(driver, "mapGetNextKey", nextErr, "0");
    if (le !== 0 && !isNegErrno(le)) throw driverContractError(driver, "mapLookupElem", le, "0");
    if (le === -Errno.ENOENT && indexed) {
      // An fd array's empty slot is no element, and its index stays: go on from it. (The seed
      // took it for a vanished key and fell back to it until the budget ran out.)
      if (nextErr === -Errno.ENOENT) {
        stats.completed = true;
        return;
      }
      if (nextErr < 0) throw dumpError(target, "get next key", -nextErr);
      copyBytes(cur, next);
      continue;
    }
    if (le < 0) {
      if (le !== -Errno.ENOENT) throw dumpError(target, "lookup", -le);
      stats.lookupFailed++;
      if (prevValid) {
        copyBytes(cur, prev);
        prevValid = false;
        repeat = skipFallbackRepeat;
        stats.keyFallback++;
      } else {
        // `next` is the real successor, or the first key when `cur` was already gone. (When
        // `cur` was the fallback key, it vanished too: what comes next was never delivered.)
        copyBytes(cur, next);
        repeat = false;
        stats.interrupted++;
      }
      continue;
    }
    if (repeat) {
      repeat = false;
    } else {
      stats.delivered++;
      sink(cur, 0, val, 0);
    }
    if (nextErr < 0) {
      if (nextErr === -Errno.ENOENT) {
        stats.completed = true;
        return;
      }
      throw dumpError(target, "get next key", -nextErr);
    }
    target.checkOpen?.();
    copyBytes(prev, cur);
    prevValid = true;
    copyBytes(cur, next);
  }
  throw new MaxLookupError();
}

/** Buffers a map keeps for batch dumps, so a dump allocates nothing per element. */
export class BatchScratch {
  /** Elements one LOOKUP_BATCH call may return. */
  capacity = 0;
  // Annotated: inferred, the .d.ts would say Uint8Array<ArrayBuffer>, which TS < 5.7 rejects.
  /** Room for `capacity` packed keys. */
  keys: Uint8Array = new Uint8Array(0);
  /** Room for `capacity` packed values. */
  values: Uint8Array = new Uint8Array(0);
  /** The batch token the next call resumes from. */
  inToken: Uint8Array = new Uint8Array(0);
  /** Where the kernel writes the token to resume after this call. */
  outToken: Uint8Array = new Uint8Array(0);
  /** undefined until the first try; false once the kernel said it has no LOOKUP_BATCH here. */
  supported: boolean | undefined = undefined;
  /** True while a dump uses these buffers (a callback that dumps the same map gets fresh ones). */
  busy = false;

  /** Sizes the buffers for `capacity` elements of `target`; a no-op when they already fit. */
  fit(target: DumpTarget, capacity: number): void {
    const tokenSize = batchTokenSize(target.mapType, target.keySize);
    if (this.inToken.byteLength !== tokenSize) {
      this.inToken = new Uint8Array(tokenSize);
      this.outToken = new Uint8Array(tokenSize);
    }
    if (this.capacity !== capacity || this.keys.byteLength !== capacity * target.keySize ||
      this.values.byteLength !== capacity * target.valueSize) {
      this.resize(target, capacity);
    }
  }

  /** Allocates the key and value buffers anew for `capacity` elements of `target`. */
  resize(target: DumpTarget, capacity: number): void {
    this.capacity = capacity;
    this.keys = new Uint8Array(capacity * target.keySize);
    this.values = new Uint8Array(capacity * target.valueSize);
  }
}

/**
 * About 128 KiB of keys and values per call (decoding from a buffer that stays in the CPU's
 * cache measured faster than fewer, larger calls), never more elements than the map can hold.
 */
export function defaultBatchCount(target: DumpTarget, maxEntries: number): number {
  const per = Math.max(1, target.keySize + target.valueSize);
  return Math.max(1, Math.min(maxEntries > 0 ? maxEntries : 1, Math.floor((128 << 10) / per)));
}

/** Errnos with which LOOKUP_BATCH says "not for this map type" (kernel-maps.md §10.3). */
export function isBatchUnsupported(errno: number): boolean {
  return errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP || errno === Errno.EINVAL ||
    errno === Errno.ENOSYS;
}

/**
 * A whole-map dump through BPF_MAP_LOOKUP_BATCH. Returns false, having delivered nothing, when
 * the kernel has no batch lookup for this map (ENOTSUPP/EINVAL on the first call); the caller
 * then walks. A bucket larger than the buffer (ENOSPC with nothing copied) grows the buffer and
 * asks again from the same bucket. `stats.lookup` counts elements read, against the same
 * 4 × MaxEntries budget as the walk.
 */
export function batchDump(target: DumpTarget, sink: RawSink, stats: DumpStats, scratch: BatchScratch,
  maxEntries: number, batchSize = defaultBatchCount(target, maxEntries)): boolean {
  if (scratch.supported === false) return false;
  scratch.fit(target, batchSize);
  const { driver, fd, keySize, valueSize } = target;
  const maxLookup = lookupBudget(stats);
  // The budget is per dump, as the walk's `for stats.lookup = 1` makes it in the seed: a GC that
  // passes one DumpStats to every run (Cilium's conntrack GC does) must not run out of it.
  stats.lookup = 0;
  stats.completed = false;
  let first = true;
  const lpm = target.mapType === BPF_MAP_TYPE_LPM_TRIE ? new LpmResume(keySize) : undefined;
  for (;;) {
    const res = driver.mapLookupBatch(fd, first ? null : scratch.inToken, scratch.outToken,
      scratch.keys, scratch.values, scratch.capacity);
    checkBatchResult(driver, "mapLookupBatch", res, scratch.capacity);
    stats.batches++;
    const errno = res.errno;
    if (errno === Errno.ENOSPC && res.count === 0) {
      // One bucket holds more elements than the buffer: the kernel copies buckets whole.
      // A bucket never holds more than the map does; past that ENOSPC is not about room.
      if (!isHashMapType(target.mapType) || scratch.capacity > 2 * Math.max(1, maxEntries)) {
        throw dumpError(target, "lookup batch", errno);
      }
      scratch.resize(target, scratch.capacity * 2);
      continue;
    }
    if (errno !== 0 && errno !== Errno.ENOENT) {
      if (first && scratch.supported === undefined && isBatchUnsupported(errno)) {
        scratch.supported = false;
        return false;
      }
      throw dumpError(target, "lookup batch", errno);
    }
    scratch.supported = true;
    stats.algorithm = "batch";
    const n = res.count;
    if (stats.lookup + n > maxLookup) {
      stats.lookup = maxLookup + 1;
      throw new MaxLookupError();
    }
    stats.lookup += n;
    const keys = scratch.keys;
    const values = scratch.values;
    for (let i = 0; i < n; i++) {
      if (lpm !== undefined && !lpm.accept(keys, i * keySize, stats)) continue;
      stats.delivered++;
      sink(keys, i * keySize, values, i * valueSize);
    }
    // ENOENT ends the walk, and may come with the last elements (kernel-maps.md §10.1).
    if (errno === Errno.ENOENT) {
      stats.completed = true;
      return true;
    }
    if (n === 0) throw dumpError(target, "lookup batch made no progress", Errno.EIO);
    target.checkOpen?.();
    const t = scratch.inToken;
    scratch.inToken = scratch.outToken;
    scratch.outToken = t;
    first = false;
  }
}
