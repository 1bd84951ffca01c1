// A reliable dump of one's own for `bpfkit fuzz dump --implementation`: Cilium's v1.7 walk
// (GET_NEXT_KEY, then a lookup of each key; when a key vanishes mid-walk, go back to the last
// key that was read instead of starting over), delivering each key once, in plain JavaScript
// with no imports. From the repository's root:
//
//   bpfkit fuzz dump --driver sim --implementation examples/dump-implementation/walk-once.mjs
//
// The export's name picks the algorithm it stands for: walkOnce (`--algorithm walk-once`, each
// key delivered once); `walk` would be held to the seed's walk, which delivers the key it falls
// back to a second time; `batch` to BPF_MAP_LOOKUP_BATCH's.
// The fuzzer calls walkOnce(target, sink, stats, maxEntries, batchSize) once per dump, with a
// datapath changing the map in between the syscalls, and checks every invariant of a reliable
// dump on what reached `sink` and in `stats`. Break something (deliver `cur` before its lookup
// succeeds, or miscount a stat) and it prints the smallest case that shows it.

const ENOENT = 2;

/** Types whose keys are indexes (arrays, arrays of fds): a lookup's ENOENT there is an empty slot. */
const INDEXED = new Set([2, 3, 4, 6, 8, 12, 14, 15, 16, 17, 20]);

export function walkOnce(target, sink, stats) {
  const { driver, fd, keySize, valueSize } = target;
  const prev = new Uint8Array(keySize), cur = new Uint8Array(keySize), next = new Uint8Array(keySize);
  const val = new Uint8Array(valueSize);
  let prevValid = false;
  let repeat = false; // the fallback key is looked up again, as the seed does, but not delivered again
  stats.algorithm = "walk";
  stats.completed = false;

  const first = driver.mapGetNextKey(fd, null, cur);
  if (first < 0) {
    stats.lookup = 1;
    if (first === -ENOENT) { stats.completed = true; return; }
    throw new Error(`get first key: errno ${-first}`);
  }
  const budget = 4 * stats.maxEntries; // the seed's maxLookups
  for (stats.lookup = 1; stats.lookup <= budget; stats.lookup++) {
    const nextErr = driver.mapGetNextKey(fd, cur, next);
    const le = driver.mapLookupElem(fd, cur, val);
    if (le === -ENOENT && INDEXED.has(target.mapType)) {
      // An empty slot of an array of fds: no element, and the index is still there.
      if (nextErr === -ENOENT) { stats.completed = true; return; }
      if (nextErr < 0) throw new Error(`get next key: errno ${-nextErr}`);
      cur.set(next);
      continue;
    }
    if (le < 0) {
      if (le !== -ENOENT) throw new Error(`lookup: errno ${-le}`);
      stats.lookupFailed++;
      if (prevValid) {
        // The key vanished: go on from the last one read, which is still a known position.
        cur.set(prev);
        prevValid = false;
        repeat = true;
        stats.keyFallback++;
      } else {
        cur.set(next);
        repeat = false;
        stats.interrupted++;
      }
      continue;
    }
    if (repeat) repeat = false;
    else {
      stats.delivered++;
      sink(cur, 0, val, 0);
    }
    if (nextErr < 0) {
      if (nextErr === -ENOENT) { stats.completed = true; return; }
      throw new Error(`get next key: errno ${-nextErr}`);
    }
    prev.set(cur);
    prevValid = true;
    cur.set(next);
  }
  const e = new Error("maximum number of lookups reached");
  e.name = "MaxLookupError";
  throw e;
}
