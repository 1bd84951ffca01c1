// One racer of proc-races.test.ts: a child process or a worker thread that loads bpfkit itself
// (the built dist/, as a user's process does: its own module instances, registry, kernel driver,
// scratch block and fd-shape table) and acts on the pins of the test's private bpffs at the same
// moment as the other racers. Plain JS, because neither can load the TS sources the tests run.
//
// The racers line up on a barrier kept in a BPF array pinned by the test: racer i writes the
// step it reached into slot i and spins until every slot has reached it. Spinning on a map
// lookup (about a microsecond) lets them start within microseconds of each other, which a pipe
// or a message cannot. Results go back as one JSON line (stdout, or the worker's message).
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { createBpf, MapType, memoryLogger, u32 } from "../../dist/index.js";
import { createKernelDriver } from "../../../driver-kernel/dist/index.js";

const args = isMainThread ? JSON.parse(process.argv[2]) : workerData;
const { root, me, racers, rounds, scenario } = args;

const bpf = createBpf({ driver: createKernelDriver(), mapRoot: root, logger: memoryLogger() });
const barrier = bpf.openMap("barrier", { key: u32, value: u32 });
let step = 0;
/** Waits until every racer has come here (the n-th call of each meets the n-th of the others). */
function lineUp() {
  step++;
  barrier.update(me, step);
  for (let i = 0; i < racers; i++) {
    for (let spins = 0; barrier.lookup(i) < step; spins++) {
      if (spins > 50_000_000) throw new Error(`racer ${me}: racer ${i} never reached step ${step}`);
    }
  }
}

const spec = (name, maxEntries) => ({ name, type: MapType.Hash, key: u32, value: u32, maxEntries });
const idOf = (fd) => bpf.getMapInfoByFd(fd).id;
function pinnedId(name) {
  try {
    const fd = bpf.objGet(bpf.mapPath(name));
    try {
      return idOf(fd);
    } finally {
      bpf.driver.close(fd);
    }
  } catch (e) {
    return String(e);
  }
}

if (scenario === "churn") {
  // Another process's writes, until the test sets the stop slot (slot `racers`); slot `me`
  // says it has started.
  const flows = bpf.openMap("flows", { key: u32, value: u32 });
  let ops = 0;
  for (let i = 0; barrier.lookup(racers) === 0; i++) {
    // Fill eight keys, then take them out from the first key on, as the test's deleteAll does:
    // both go for the same key at the same time.
    for (let k = 0; k < 8; k++) flows.update(k, i);
    for (let k = flows.getNextKey(null); k !== undefined; k = flows.getNextKey(null)) {
      try {
        flows.delete(k);
      } catch {
        // the test's deleteAll took it first
      }
    }
    ops += 16;
    if (ops >= 1000) barrier.update(me, 1);
  }
  flows.close();
  barrier.close();
  const line = JSON.stringify([{ me, ops }]);
  if (isMainThread) process.stdout.write(`${line}\n`);
  else parentPort.postMessage(line);
  process.exit(0);
}

const results = [];
for (let r = 0; r < rounds; r++) {
  const name = `race${r}`;
  // "create": every racer opens or creates a path that does not exist yet. "upgrade": the test
  // pinned it with 4 entries, every racer wants 8 (a property change). "parallel": the old agent
  // holds the map open, the new one (racer 0) opens it in parallel mode while the others open it.
  // "siblings": every racer upgrades a pin of its own in the same directory (the same pid, for
  // worker threads: their swap names must not collide).
  const m = bpf.newMap(spec(scenario === "siblings" ? `${name}-${me}` : name, scenario === "create" ? 4 : 8));
  const out = { r, me };
  lineUp();
  try {
    out.isNew = scenario === "parallel" && me === 0 ? m.openParallel() : m.openOrCreate();
    out.id = idOf(m.getFd());
  } catch (e) {
    out.error = String(e);
  }
  lineUp();
  out.pinned = pinnedId(scenario === "siblings" ? `${name}-${me}` : name);
  if (out.error === undefined) {
    // What one racer writes the others read through their own fds: one map, not several.
    m.update(me, r);
  }
  lineUp();
  if (out.error === undefined) {
    out.seen = [];
    for (let i = 0; i < racers; i++) out.seen.push(safeLookup(m, i));
  }
  lineUp();
  m.close();
  results.push(out);
}
barrier.close();

function safeLookup(m, k) {
  try {
    return m.lookup(k);
  } catch {
    return null;
  }
}

const line = JSON.stringify(results);
if (isMainThread) process.stdout.write(`${line}\n`);
else parentPort.postMessage(line);
