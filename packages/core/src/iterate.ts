// entries()/keys(): a lazy walk for TypeScript callers, the safe level over GET_NEXT_KEY (as
// cilium/ebpf's MapIterator is). The next key is fetched *before* the current element is handed
// out, so the loop body may delete the element it was given. A key that vanished between
// next-key and lookup is skipped; the walk then resumes after the last element it yielded, and
// only when that one vanished too does the kernel restart it from the first key (hash maps and
// LPM restart on an unknown key, kernel-maps.md §5.3). Restarts can repeat keys, so they are
// bounded: past `maxRestarts` the walk throws IterationAbortedError. Resuming repeats nothing,
// but a datapath that deletes each successor before its lookup could hold the walk there for
// ever, so more than max_entries keys vanishing in a row, with nothing yielded, aborts it too.
// An empty slot of an fd array (PROG_ARRAY, ARRAY_OF_MAPS) is no element: it is passed over.
import { isIndexedMapType } from "./constants.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { Errno } from "./errno.js";
import { BpfError, IterationAbortedError } from "./errors.js";
import { targetErrorMessage, type DumpTarget } from "./dump-reliable.js";
import { assertOptionKeys, ITERATE_OPTIONS_KEYS } from "./option-keys.js";
import { copyBytes } from "./small-bytes.js";

/** Options of `entries()`, `keys()` and `iterateMap`. */
export interface IterateOptions {
  /** Restarts allowed before IterationAbortedError (default 16). */
  maxRestarts?: number;
}

/**
 * How many times an iteration starts again from the first key before it gives up, unless `maxRestarts` says
 * otherwise.
 */
export const DEFAULT_MAX_RESTARTS = 16;

/** `step` is the failing command ("lookup", "get next key"), named after the call that made it. */
function iterError(target: DumpTarget, step: string, errno: number): BpfError {
  const op = `${target.op ?? "entries"} (${step})`;
  return new BpfError({ errno, op, map: target.name, path: target.path, message: targetErrorMessage(target, op, errno) });
}

/**
 * Yields `make(key, value)` for each element; `make` must copy what it keeps (the buffers are
 * reused). `target()` is asked for the open map at the start, so a lazily opened map opens on
 * the first `next()`.
 */
export function iterateMap<T>(target: () => DumpTarget, make: (key: Uint8Array, value: Uint8Array) => T,
  options: IterateOptions = {}): Generator<T, void, undefined> {
  // Here, not in the generator: its body runs only at the first next().
  assertOptionKeys(options, ITERATE_OPTIONS_KEYS, "iterateMap", "options");
  return iterate(target, make, options);
}

function* iterate<T>(target: () => DumpTarget, make: (key: Uint8Array, value: Uint8Array) => T,
  options: IterateOptions): Generator<T, void, undefined> {
  const t = target();
  const { driver, fd, keySize } = t;
  const maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
  const prev = new Uint8Array(keySize);
  const cur = new Uint8Array(keySize);
  const next = new Uint8Array(keySize);
  const val = new Uint8Array(t.valueSize);
  let prevValid = false;
  let restarts = 0;
  // More keys than the map holds vanishing in a row: something deletes each key the walk reaches.
  const maxVanished = t.maxEntries !== undefined && t.maxEntries > 0 ? t.maxEntries : Infinity;
  let vanished = 0;
  const indexed = isIndexedMapType(t.mapType);

  let r = driver.mapGetNextKey(fd, null, cur);
  if (r !== 0 && !isNegErrno(r)) throw driverContractError(driver, "mapGetNextKey", r, "0");
  if (r === -Errno.ENOENT) return;
  if (r < 0) throw iterError(t, "get first key", -r);
  for (;;) {
    const nextErr = driver.mapGetNextKey(fd, cur, next);
    const le = driver.mapLookupElem(fd, cur, val);
    // A positive errno would pass for a key or a value here: the walk would read stale buffers.
    if (nextErr !== 0 && !isNegErrno(nextErr)) throw driverContractError(driver, "mapGetNextKey", nextErr, "0");
    if (le !== 0 && !isNegErrno(le)) throw driverContractError(driver, "mapLookupElem", le, "0");
    if (le === -Errno.ENOENT && indexed) {
      // An fd array's empty slot: no element, and an index that stays, so go on from it.
      if (nextErr === -Errno.ENOENT) return;
      if (nextErr < 0) throw iterError(t, "get next key", -nextErr);
      copyBytes(cur, next);
      continue;
    }
    if (le === -Errno.ENOENT) {
      if (++vanished > maxVanished) throw new IterationAbortedError(`${t.op ?? "entries"} ${t.name}`, restarts, vanished);
      // `cur` vanished. The successor of the last yielded key, if that key still exists
      // (proved by a lookup after the next-key call), is where the walk should go on.
      if (prevValid) {
        r = driver.mapGetNextKey(fd, prev, cur);
        if (r === -Errno.ENOENT) return; // prev was the last key
        if (r < 0) throw iterError(t, "get next key", -r);
        if (driver.mapLookupElem(fd, prev, val) >= 0) continue;
      } else {
        if (nextErr === -Errno.ENOENT) return;
        if (nextErr < 0) throw iterError(t, "get next key", -nextErr);
        copyBytes(cur, next);
      }
      // Either `prev` is gone too, or nothing was yielded yet: `cur` may be the first key.
      prevValid = false;
      if (++restarts > maxRestarts) throw new IterationAbortedError(`${t.op ?? "entries"} ${t.name}`, restarts - 1);
      continue;
    }
    if (le < 0) throw iterError(t, "lookup", -le);
    const item = make(cur, val);
    vanished = 0;
    if (nextErr === -Errno.ENOENT) {
      yield item;
      return;
    }
    if (nextErr < 0) throw iterError(t, "get next key", -nextErr);
    copyBytes(prev, cur);
    prevValid = true;
    copyBytes(cur, next);
    yield item;
    t.checkOpen?.();
  }
}
