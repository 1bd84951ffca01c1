// BpfMap.lookupAndDelete and BpfMap.freeze, beyond the seed (cilium/ebpf's Map.LookupAndDelete
// and Map.Freeze): one syscall each, on both drivers, with the cache and the metrics kept right.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LRU_HASH, BatchCursor, createBpf, memoryLogger, newPerCpuMap, u32, u64, wrapDriver } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

eachDriver("BpfMap.lookupAndDelete and freeze", (get) => {
  it("lookupAndDelete returns the value and removes the key; a missing key is undefined", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    m.update(2, 20);
    expect(m.lookupAndDelete(1)).toBe(10);
    expect(m.lookup(1)).toBeUndefined();
    expect(m.lookup(2)).toBe(20);
    expect(m.lookupAndDelete(1)).toBeUndefined();
    expect(env.ops.filter((o) => o.includes("lookupAndDelete"))).toEqual(["test lookupAndDelete success", "test lookupAndDelete fail"]);
    const lru = env.map({ name: "lru", type: BPF_MAP_TYPE_LRU_HASH, key: u32, value: u64, maxEntries: 8 });
    lru.openOrCreate();
    lru.update(7, 70n);
    expect(lru.lookupAndDelete(7)).toBe(70n);
    expect([...lru.keys()]).toEqual([]);
  });

  it("lookupAndDelete on a per-CPU hash returns every CPU's value", () => {
    const env = get();
    const m = env.track(newPerCpuMap(env.bpf, { name: "pcpu", key: u32, value: u64, maxEntries: 4 }));
    m.openOrCreate();
    const cpus = env.driver.possibleCpus;
    const values = Array.from({ length: cpus }, (_, i) => BigInt(i + 1));
    m.update(3, values);
    expect(m.lookupAndDelete(3)).toEqual(values);
    expect(m.lookup(3)).toBeUndefined();
  });

  it("lookupAndDelete on an array is the kernel's ENOTSUPP, and the element stays", () => {
    const env = get();
    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 2 });
    a.openOrCreate();
    a.update(0, 5);
    const e = thrownBpfError(() => a.lookupAndDelete(0));
    expect([e.code, e.op, e.message]).toEqual(["ENOTSUPP", "lookupAndDelete", "lookupAndDelete arr: operation not supported by this map type or kernel (ENOTSUPP, 524)"]);
    expect(a.lookup(0)).toBe(5);
  });

  it("with a cache, lookupAndDelete drops the entry whether or not the key was there", () => {
    const env = get();
    const m = env.map(testMapSpec()).withCache();
    m.openOrCreate();
    m.update(1, 10);
    m.update(2, 20);
    expect(m.lookupAndDelete(1)).toBe(10);
    // Gone behind the cache's back: the cache must not re-insert it later.
    m.update(3, 30);
    expect(env.driver.mapDeleteElem(m.getFd(), Uint8Array.of(3, 0, 0, 0))).toBe(0);
    expect(m.lookupAndDelete(3)).toBeUndefined();
    expect(m.getModel().cache!.map((e) => e.key)).toEqual(["2"]);
    expect(m.outstandingErrors).toBe(0);
  });

  it("freeze makes updates and deletes EPERM for user space, keeps lookups, and a second freeze is EPERM too", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    m.freeze();
    // Each EPERM says the map is frozen (its fdinfo tells), not a bare "operation not permitted".
    const frozen = "the map is frozen (BPF_MAP_FREEZE): user space may look it up, walk and dump it, not update or delete; programs may still write it";
    for (const [op, call] of [["update", () => m.update(2, 20)], ["delete", () => m.delete(1)], ["lookupAndDelete", () => m.lookupAndDelete(1)]] as const) {
      const e = thrownBpfError(call);
      expect([e.code, e.op, e.message]).toEqual(["EPERM", op, `${op} cilium_test: operation not permitted (${frozen})`]);
    }
    expect(m.lookup(1)).toBe(10);
    // map_freeze asks for write access first, and a frozen map's fds have none.
    const again = thrownBpfError(() => m.freeze());
    expect([again.code, again.op, again.message]).toEqual(["EPERM", "freeze", "freeze cilium_test: operation not permitted (the map is frozen already (BPF_MAP_FREEZE))"]);
    expect(env.ops.filter((o) => o.includes("freeze"))).toEqual(["test freeze success", "test freeze fail"]);
  });

  it("the batch calls that write say a frozen map is frozen too; a batch lookup still answers", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    m.freeze();
    const frozen = "the map is frozen (BPF_MAP_FREEZE): user space may look it up, walk and dump it, not update or delete; programs may still write it";
    for (const [op, call] of [
      ["updateBatch", () => m.updateBatch([2], [20])],
      ["deleteBatch", () => m.deleteBatch([1])],
      ["lookupAndDeleteBatch", () => m.lookupAndDeleteBatch(new BatchCursor())],
    ] as const) {
      const e = thrownBpfError(call);
      expect([e.code, e.op], op).toEqual(["EPERM", op]);
      expect(e.message, op).toMatch(new RegExp(`^${op} cilium_test: operation not permitted \\(`));
      expect(e.message, op).toContain(frozen);
    }
    expect(m.lookupBatch(new BatchCursor())).toEqual([[1, 10]]);
  });

  it("without fdinfo (a driver without mapFdInfo), a frozen map's EPERM stays the kernel's, claiming nothing", () => {
    const env = get();
    const bpf = createBpf({ driver: wrapDriver(env.driver, { mapFdInfo: null }), mapRoot: env.root, logger: memoryLogger() });
    const m = env.track(bpf.newMap(testMapSpec("blind_frozen")));
    m.openOrCreate();
    m.freeze();
    const e = thrownBpfError(() => m.update(1, 1));
    expect([e.code, e.message]).toEqual(["EPERM", "update blind_frozen: operation not permitted"]);
  });
});
