// Cilium's WithPressureMetric and UpdatePressureMetricWithSize: a map's entries over its max
// entries, reported to metrics.mapPressure as the cache changes, or as a GC counts them.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, Errno, createBpf, ipv4, lpmKey, memoryLogger, newPerCpuMap, u32, type Bpf } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { eachDriver, testMapSpec, type Env } from "./support/env.js";
import { ManualClock } from "./support/manual-clock.js";

function withPressure(env: Env): { bpf: Bpf; seen: string[] } {
  const seen: string[] = [];
  const bpf = createBpf({ driver: env.driver, mapRoot: env.root,
    metrics: { mapPressure: (name, p) => seen.push(`${name} ${p}`) } });
  return { bpf, seen };
}

eachDriver("map pressure metric", (get) => {
  it("follows the entries written and deleted, named without cilium_ (Cilium's NonPrefixedName)", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const m = env.track(bpf.newMap({ ...testMapSpec("cilium_policy_00042"), maxEntries: 4 }).withPressureMetric());
    m.openOrCreate();
    m.update(1, 1);
    m.update(2, 2);
    m.update(2, 3);                   // the same key again: no change
    m.delete(1);
    m.updateBatch([5, 6], [5, 6]);
    m.deleteBatch([5]);
    expect(m.lookupAndDelete(6)).toBe(6);
    m.deleteAll();
    expect(seen).toEqual(["policy_00042 0.25", "policy_00042 0.5", "policy_00042 0.25", "policy_00042 0.5",
      "policy_00042 0.75", "policy_00042 0.5", "policy_00042 0.25", "policy_00042 0"]);
  });

  it("counts a failed write the resolver has yet to retry, as Cilium's len(cache) does", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const clock = new ManualClock();
    const m = env.track(bpf.newMap({ ...testMapSpec("cilium_ipcache"), maxEntries: 2 }).withCache({ clock }));
    m.openOrCreate();
    m.update(1, 1);
    m.withPressureMetric();           // keeps the cache it has, and reports what it holds
    m.update(2, 2);
    expect(() => m.update(3, 3)).toThrow(expect.objectContaining({ errno: Errno.E2BIG }));
    expect(seen).toEqual(["ipcache 0.5", "ipcache 1", "ipcache 1.5"]);
  });

  it("without withCache, deleteAll leaves nothing for a resolver, even a key someone else deleted first", () => {
    const env = get();
    const { bpf } = withPressure(env);
    const m = env.track(bpf.newMap({ ...testMapSpec("cilium_lb4"), maxEntries: 4 }).withPressureMetric());
    m.openOrCreate();
    m.update(1, 1);
    m.update(2, 2);
    // Another process deletes 2: the keys-only cache still counts it, and deleteAll never meets it.
    env.track(env.otherBpf().openMap(m.path(), { key: u32, value: u32 })).delete(2);
    m.deleteAll();
    expect(m.lookup(1)).toBeUndefined();
    expect([m.outstandingErrors, m.getModel().cache]).toEqual([0, undefined]);
    expect(m.resolveErrorsNow().scanned).toBe(0);
  });

  it("without withCache, counts keys alone: a failed write or delete changes nothing and is not retried (Cilium's !withValueCache)", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const m = env.track(bpf.newMap({ ...testMapSpec("cilium_lb4"), maxEntries: 2 }).withPressureMetric());
    m.openOrCreate();
    m.update(1, 1);
    m.update(2, 2);
    expect(() => m.update(3, 3)).toThrow(expect.objectContaining({ errno: Errno.E2BIG }));
    expect(() => m.delete(9)).toThrow(expect.objectContaining({ errno: Errno.ENOENT }));
    // Nothing awaits a resolver, and the model shows no cache: none was asked for.
    expect([m.outstandingErrors, m.getModel().cache]).toEqual([0, undefined]);
    m.delete(1);
    const run = m.resolveErrorsNow();
    expect([run.scanned, run.resolved]).toEqual([0, 0]);
    expect(m.lookup(3)).toBeUndefined();
    expect(seen).toEqual(["lb4 0.5", "lb4 1", "lb4 0.5"]);
    // withCache later keeps the keys counted, and from then on failures are kept for the resolver.
    m.withCache({ clock: new ManualClock() });
    m.update(2, 5);
    expect(seen).toEqual(["lb4 0.5", "lb4 1", "lb4 0.5"]);
    expect(m.getModel().cache?.map((e) => e.desiredAction)).toEqual(["sync"]);
  });

  it("an LPM trie reports too; an LRU map only what updatePressureMetricWithSize says", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const lpm = env.track(bpf.newMap({ name: "cilium_ipcache", type: BPF_MAP_TYPE_LPM_TRIE, key: lpmKey(ipv4), value: u32,
      maxEntries: 8, flags: 1 }).withPressureMetric());
    lpm.openOrCreate();
    lpm.update({ prefixLen: 8, data: "10.0.0.0" }, 1);
    const lru = env.track(bpf.newMap({ ...testMapSpec("cilium_ct4_global"), type: BPF_MAP_TYPE_LRU_HASH, flags: 0, maxEntries: 8 })
      .withPressureMetric());
    lru.openOrCreate();
    lru.update(1, 1);
    lru.update(2, 2);
    lru.updatePressureMetricWithSize(6);
    expect(seen).toEqual(["ipcache 0.125", "ct4_global 0.75"]);
    expect(() => lru.updatePressureMetricWithSize(-1)).toThrow(RangeError);
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, "3" as unknown as number]) {
      expect(() => lru.updatePressureMetricWithSize(bad), String(bad)).toThrow(
        new RangeError(`updatePressureMetricWithSize cilium_ct4_global: size must be a non-negative integer, got ${typeof bad === "string" ? `"${bad}"` : String(bad)}`));
    }
  });

  it("a failed delete of a key the cache did not hold counts, to-be-deleted, as Cilium's len(cache) does", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const m = env.track(bpf.newMap({ ...testMapSpec("cilium_a"), type: BPF_MAP_TYPE_ARRAY, flags: 0, maxEntries: 4 })
      .withCache({ clock: new ManualClock() }).withPressureMetric());
    m.openOrCreate();
    expect(() => m.delete(1)).toThrow(expect.objectContaining({ errno: Errno.EINVAL }));  // an array slot cannot be deleted
    expect(seen).toEqual(["a 0", "a 0.25"]);
  });

  it("a per-CPU LRU map is left to updatePressureMetricWithSize as well", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const m = env.track(newPerCpuMap(bpf, { name: "cilium_snat", type: BPF_MAP_TYPE_LRU_PERCPU_HASH, key: u32, value: u32, maxEntries: 8 })
      .withPressureMetric());
    m.openOrCreate();
    m.update(1, new Array(env.driver.possibleCpus).fill(1));
    m.updatePressureMetricWithSize(2);
    expect(seen).toEqual(["snat 0.25"]);
  });

  it("an LRU map keeps no keys for it: a conntrack-like churn of new keys holds nothing past what the kernel holds", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const lru = env.track(bpf.newMap({ ...testMapSpec("cilium_ct4_global"), type: BPF_MAP_TYPE_LRU_HASH, flags: 0, maxEntries: 8 })
      .withPressureMetric());
    lru.openOrCreate();
    for (let k = 0; k < 500; k++) lru.update(k, k);
    lru.lookupAndDelete(499);
    // A key cache would have kept all 499 keys the kernel evicted or still holds; withCache()
    // takes over what a key cache holds, so the model shows it.
    lru.withCache({ clock: new ManualClock() });
    expect(lru.getModel().cache).toEqual([]);
    expect(seen).toEqual([]);
    // The HASH beside it still counts its keys, and withCache still takes them over.
    const hash = env.track(bpf.newMap({ ...testMapSpec("cilium_lb4"), maxEntries: 8 }).withPressureMetric());
    hash.openOrCreate();
    hash.update(1, 1);
    hash.withCache({ clock: new ManualClock() });
    expect(hash.getModel().cache?.map((e) => e.desiredAction)).toEqual(["sync"]);
    expect(seen).toEqual(["lb4 0.125"]);
  });

  it("an LRU pin opened through a HASH spec keeps no keys either: the type is the map's, not the spec's", () => {
    const env = get();
    const { bpf } = withPressure(env);
    const pinned = env.track(bpf.newMap({ ...testMapSpec("cilium_ct4_global"), type: BPF_MAP_TYPE_LRU_HASH, flags: 0, maxEntries: 8 }));
    pinned.openOrCreate();
    // open() takes the pin as it is (the seed's Open checks no properties).
    const m = env.track(bpf.newMap({ ...testMapSpec("cilium_ct4_global"), flags: 0, maxEntries: 8 }).withPressureMetric());
    m.open();
    expect(m.info().type).toBe(BPF_MAP_TYPE_LRU_HASH);
    for (let k = 0; k < 100; k++) m.update(k, k);
    m.withCache({ clock: new ManualClock() });
    expect(m.getModel().cache).toEqual([]);
  });

  it("an LRU map given withCache() still caches what it writes: only the cache of keys alone is off", () => {
    const env = get();
    const lru = env.track(env.bpf.newMap({ ...testMapSpec("cilium_ct4_global"), type: BPF_MAP_TYPE_LRU_HASH, flags: 0, maxEntries: 8 })
      .withPressureMetric().withCache({ clock: new ManualClock() }));
    lru.openOrCreate();
    lru.update(1, 10);
    expect(lru.getModel().cache?.map((e) => [e.key, e.value, e.desiredAction])).toEqual([["1", "10", "sync"]]);
  });

  it("reports nothing without withPressureMetric, or without a mapPressure hook", () => {
    const env = get();
    const { bpf, seen } = withPressure(env);
    const plain = env.track(bpf.newMap({ ...testMapSpec("cilium_a"), type: BPF_MAP_TYPE_ARRAY, flags: 0 }).withCache());
    plain.openOrCreate();
    plain.update(1, 1);
    plain.updatePressureMetricWithSize(3);
    expect(seen).toEqual([]);
    const noHook = env.track(env.bpf.newMap(testMapSpec("cilium_b")).withPressureMetric());
    noHook.openOrCreate();
    noHook.update(1, 1);
    noHook.updatePressureMetricWithSize(3);
  });
});

it("only a leading cilium_ is dropped from the name; a map with no max entries reports 0, not Infinity", () => {
  const seen: string[] = [];
  const bpf = createBpf({ driver: createSimDriver(), mapRoot: "/sys/fs/bpf", metrics: { mapPressure: (name, p) => seen.push(`${name} ${p}`) } });
  const m = bpf.newMap({ ...testMapSpec("my_cilium_x"), maxEntries: 4 }).withPressureMetric();
  m.updatePressureMetricWithSize(1);
  const empty = bpf.newMap({ ...testMapSpec("cilium_none"), maxEntries: 0 }).withPressureMetric();
  empty.updatePressureMetricWithSize(3);
  expect(seen).toEqual(["my_cilium_x 0.25", "none 0"]);
});

it("a mapPressure hook that throws is logged once and does not undo the write", () => {
  const logger = memoryLogger();
  const bpf = createBpf({ driver: createSimDriver(), mapRoot: "/sys/fs/bpf", logger,
    metrics: { mapPressure: () => { throw new Error("gauge down"); } } });
  const m = bpf.newMap(testMapSpec("cilium_x")).withPressureMetric();
  m.openOrCreate();
  m.update(1, 1);
  m.update(2, 2);
  expect(m.lookup(2)).toBe(2);
  expect(logger.records.filter((r) => r.msg.startsWith("metrics hook mapPressure threw"))).toHaveLength(1);
  expect(() => createBpf({ driver: createSimDriver(), metrics: { mapPressure: 1 as never } }))
    .toThrow("createBpf: metrics.mapPressure must be a function");
});
