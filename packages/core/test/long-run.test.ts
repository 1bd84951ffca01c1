// A service that runs for months (Cilium's agent) does what each phase below does, over and
// over. Nothing it holds may grow with the number of times it did so: after a phase has run many
// rounds, and left what is live as it found it, the fds, the registry, the timers, the
// simulator's wasm memory and the kernel driver's shape table and scratch are all as they were,
// and a second pass over every phase leaves the JS heap where the first left it.
import { expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BatchCursor, DUMMY_PROG_INSNS, bytes, createBpf, newDumpStats,
  newPerCpuMap, silentLogger, u32, u64, type Bpf, type BpfMap, type Driver, type MapSpec,
} from "@bpfkit/core";
import { eachDriver, type Env } from "./support/env.js";
import { gauges, heapAfterGc } from "./support/leak-gauges.js";

interface Service {
  readonly bpf: Bpf;
  readonly driver: Driver;
  readonly root: string;
  /** Maps open for the service's whole life, as an agent's are: a conntrack map and a policy map. */
  readonly ct: BpfMap<number, number>;
  readonly policy: BpfMap<number, number>;
}

const hash = (name: string, maxEntries = 64): MapSpec<number, number> =>
  ({ name, type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries, flags: BPF_F_NO_PREALLOC });

function swallow(f: () => unknown): void {
  try {
    f();
  } catch {
    // the churn provokes these errors on purpose
  }
}

/** Each round leaves the maps, pins and programs live as it found them. */
const phases: Record<string, (s: Service, i: number) => void> = {
  "create, open, reopen, close, unpin"({ bpf }, i) {
    const m = bpf.newMap(hash("cilium_cc"));
    m.openOrCreate();
    m.update(i & 63, i);
    m.close();
    const again = bpf.newMap(hash("cilium_cc"));
    again.open();
    again.reopen();
    again.lookup(1);
    again.close();
    again.lookup(1); // opens the pin again, lazily
    again.close();
    m.unpin();
  },
  "a Bpf per round"({ driver, root }) {
    const b = createBpf({ driver, mapRoot: root, logger: silentLogger });
    b.getMapType(BPF_MAP_TYPE_LRU_HASH);
    b.haveMapType(BPF_MAP_TYPE_LPM_TRIE);
    const m = b.newMap(hash("cilium_cb"));
    m.openOrCreate();
    m.close();
    m.unpin();
  },
  "withCache: the resolver started by failures, stopped by close"({ bpf }, i) {
    const m = bpf.newMap(hash("cilium_cache", 4)).withCache();
    m.openOrCreate();
    for (let k = 0; k < 8; k++) swallow(() => m.update(k, i)); // E2BIG past 4: the resolver is armed
    swallow(() => m.delete(100));
    m.resolveErrorsNow();
    m.close();
    m.open(); // restarted with errors outstanding: armed again
    m.withCache(); // replaces the cache, stopping the old one's resolver
    swallow(() => m.update(9, i));
    m.close();
    m.unpin();
  },
  "long-lived maps: pressure on a hash and an LRU map, a cache with its resolver"({ bpf, ct, policy }, i) {
    const h = bpf.newMap(hash("cilium_press")).withPressureMetric();
    h.openOrCreate();
    for (let k = 0; k < 8; k++) h.update(k, i);
    for (let k = 0; k < 8; k++) swallow(() => h.delete(k));
    h.close();
    h.unpin();
    // New flows every round, as a conntrack map sees them: the kernel evicts the old ones.
    for (let k = 0; k < 256; k++) ct.update(i * 256 + k, k);
    // Endpoints come and go; a write past max entries waits for the resolver, a delete drops it.
    for (let k = 0; k < 20; k++) swallow(() => policy.update(i * 20 + k, k));
    for (let k = 0; k < 20; k++) swallow(() => policy.delete(i * 20 + k));
    policy.resolveErrorsNow();
  },
  "dumps of every kind, abandoned iterators, callbacks that throw"({ bpf }) {
    const m = bpf.newMap(hash("cilium_dump"));
    m.openOrCreate();
    for (let k = 0; k < 20; k++) m.update(k, k);
    m.dumpWithCallback(() => {});
    m.dumpWithCallback(() => {}, { algorithm: "walk" });
    m.dumpReliablyWithCallback(() => {}, newDumpStats(m), { algorithm: "batch" });
    m.dumpReliablyWithCallback(() => {}, newDumpStats(m), { algorithm: "walk" });
    m.dump();
    swallow(() => m.dumpWithCallback(() => { throw new Error("callback"); }));
    swallow(() => m.dumpReliablyWithCallback(() => { throw new Error("callback"); }, newDumpStats(m), { algorithm: "walk" }));
    m.dumpWithCallback(() => m.dumpWithCallback(() => {})); // a dump inside a dump of the same map
    for (const [k] of m.entries()) if (k >= 0) break;
    for (const k of m.keys()) if (k >= 0) break;
    m.entries().next(); // never finished, never returned
    swallow(() => { for (const _ of m.entries()) throw new Error("loop body"); });
    m.close();
    m.unpin();
  },
  "batch helpers, a cursor abandoned half-way"({ bpf }) {
    const m = bpf.newMap(hash("cilium_batch"));
    m.openOrCreate();
    const keys = Array.from({ length: 20 }, (_, k) => k);
    m.updateBatch(keys, keys);
    m.lookupBatch(new BatchCursor(), 5);
    const all = new BatchCursor();
    while (!all.done) m.lookupBatch(all, 7);
    m.deleteBatch(keys.slice(0, 10));
    const drain = new BatchCursor();
    while (!drain.done) m.lookupAndDeleteBatch(drain, 4);
    swallow(() => m.deleteBatch([1000]));
    m.close();
    m.unpin();
  },
  "maps of maps, inner maps opened by id"({ bpf }, i) {
    const template = bpf.newMap(hash("cilium_tmpl", 4));
    template.openOrCreateUnpinned();
    const outer = bpf.newMap({ ...hash("cilium_outer", 4), type: i % 2 ? BPF_MAP_TYPE_HASH_OF_MAPS : BPF_MAP_TYPE_ARRAY_OF_MAPS,
      flags: 0, innerId: template.getFd() });
    outer.openOrCreate();
    const inner = bpf.newMap(hash("cilium_inner", 4));
    inner.openOrCreateUnpinned();
    outer.update(1, inner.getFd());
    const byId = bpf.openMapById(outer.lookup(1)!, { key: u32, value: u32 });
    byId.update(1, 2);
    byId.close();
    inner.close();
    outer.dumpWithCallback(() => {});
    outer.close();
    outer.unpin();
    template.close();
  },
  "per-CPU maps"({ bpf, driver }, i) {
    const values = Array.from({ length: driver.possibleCpus }, (_, c) => BigInt(c + i));
    const h = bpf.newPerCpuHashMap({ name: "cilium_pcpu", key: u32, value: u64, maxEntries: 16 });
    h.openOrCreate();
    h.update(1, values);
    h.lookup(1);
    h.dumpWithCallback(() => {});
    h.close();
    h.unpin();
    const a = newPerCpuMap(bpf, { name: "cilium_pcpua", type: BPF_MAP_TYPE_PERCPU_ARRAY, key: u32, value: u64, maxEntries: 4 });
    a.openOrCreate();
    a.update(1, values);
    for (const _ of a.entries()) break;
    a.close();
    a.unpin();
  },
  "programs loaded, pinned, opened by id, closed"({ bpf, driver, root }) {
    const fd = driver.progLoad({ progType: 1, insns: DUMMY_PROG_INSNS, license: "GPL" });
    expect(fd).toBeGreaterThanOrEqual(0);
    const info = bpf.getProgInfoByFd(fd);
    driver.close(bpf.getProgFdById(info.id));
    bpf.objPin(fd, `${root}/prog`);
    bpf.objClose(bpf.objGet(`${root}/prog`));
    driver.host.unlink(`${root}/prog`);
    driver.close(fd);
  },
  "errors: no pin, bad keys, a map closed for good, a pin of another shape"({ bpf }) {
    const m = bpf.newMap(hash("cilium_err"));
    swallow(() => m.lookup(1));
    m.openOrCreateUnpinned();
    swallow(() => m.update(-1, 1));
    swallow(() => m.lookup("x" as unknown as number));
    swallow(() => m.delete(5));
    m.close();
    swallow(() => m.lookup(1));
    swallow(() => m.dumpWithCallback(() => {}));
    swallow(() => m.reopen());
    swallow(() => bpf.openMap("cilium_missing"));
    swallow(() => bpf.openMapById(0x7ffffff0));
    const pinned = bpf.newMap(hash("cilium_shape"));
    pinned.openOrCreate();
    swallow(() => bpf.newMap({ name: "cilium_shape", type: BPF_MAP_TYPE_HASH, key: u32, value: bytes(8), maxEntries: 64 }).open());
    pinned.close();
    pinned.unpin();
  },
  "the registry: openMap, getMap, getOpenMaps"({ bpf }) {
    const m = bpf.newMap(hash("cilium_reg"));
    m.openOrCreate();
    const raw = bpf.openMap("cilium_reg");
    const typed = bpf.openMap(m.path(), { key: u32, value: u32 });
    expect(bpf.getMap("cilium_reg")).toBe(typed);
    bpf.getOpenMaps();
    raw.close();
    typed.close();
    m.close();
    m.unpin();
  },
  "objPin, objGet, property upgrades, parallel mode"({ bpf, driver, root }, i) {
    const m = bpf.newMap(hash("cilium_pin"));
    m.openOrCreateUnpinned();
    bpf.objPin(m.getFd(), `${root}/pin`);
    const fd = bpf.objGet(`${root}/pin`);
    swallow(() => bpf.objPin(fd, `${root}/pin`)); // EEXIST
    bpf.objClose(fd);
    driver.host.unlink(`${root}/pin`);
    m.close();
    const up = bpf.newMap(hash("cilium_up", 16 + (i % 2)));
    up.openOrCreate(); // re-created: max entries changed since the last round
    up.checkAndUpgrade({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 99, flags: BPF_F_NO_PREALLOC });
    up.close();
    const par = bpf.newMap(hash("cilium_par"));
    par.openParallel();
    par.endParallelMode();
    par.close();
    par.unpin();
  },
};

function service(env: Env): Service {
  // A Bpf of its own: the env's memory logger and metrics hook keep every record by design.
  const bpf = createBpf({ driver: env.driver, mapRoot: env.root, logger: silentLogger,
    metrics: { mapOp() {}, syscall() {}, mapPressure() {} } });
  const ct = env.track(bpf.newMap({ ...hash("cilium_ct4_global", 64), type: BPF_MAP_TYPE_LRU_HASH, flags: 0 }).withPressureMetric());
  ct.openOrCreate();
  const policy = env.track(bpf.newMap(hash("cilium_policy_00042", 16)).withCache().withPressureMetric());
  policy.openOrCreate();
  return { bpf, driver: env.driver, root: env.root, ct, policy };
}

const ROUNDS = 60;
/** Rounds of each phase in one pass of the heap test. */
const PASS = 40;

eachDriver("a long-running service", (get) => {
  for (const [name, round] of Object.entries(phases)) {
    it(`${name}: ${ROUNDS} rounds leave every gauge as it was`, () => {
      const s = service(get());
      for (let i = 0; i < 10; i++) round(s, i); // first-use growth: probes, scratch, tables
      const before = gauges(s.driver, s.bpf);
      for (let i = 10; i < 10 + ROUNDS; i++) round(s, i);
      expect(gauges(s.driver, s.bpf)).toEqual(before);
    });
  }

  it("a second pass over every phase leaves the JS heap where the first left it", () => {
    const s = service(get());
    const pass = (from: number) => {
      for (const round of Object.values(phases)) for (let i = from; i < from + PASS; i++) round(s, i);
    };
    pass(0);
    const heap = heapAfterGc();
    pass(PASS);
    // A pass writes 10240 new LRU keys: kept, they would take some 5 MB.
    const grown = heapAfterGc() - heap;
    expect(grown).toBeLessThan(1.5 * 2 ** 20);
  });
});
