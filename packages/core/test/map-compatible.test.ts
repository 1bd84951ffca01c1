// BpfMap.checkCompatible: cilium/ebpf's MapSpec.Compatible, a comparison of a live map with a
// spec that changes nothing, where checkAndUpgrade and objCheck unpin what differs.
import { expect, it } from "vitest";
import {
  BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH, MapIncompatibleError, createBpf, ipv4, isNotExist,
  lpmKey, mapDifferences, memoryLogger, newPerCpuMap, u16, u32, u64,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

eachDriver("BpfMap.checkCompatible", (get) => {
  it("a pinned map made from the spec is compatible with it; each other property is a difference, and nothing changes", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    m.checkCompatible();
    m.checkCompatible(testMapSpec());
    const other = { ...testMapSpec(), type: BPF_MAP_TYPE_LRU_HASH, key: u64, value: u16, maxEntries: 32, flags: 0 };
    const e = thrown(() => m.checkCompatible(other)) as MapIncompatibleError;
    expect(e).toBeInstanceOf(MapIncompatibleError);
    expect(e.name).toBe("MapIncompatibleError");
    expect(e.differences).toEqual([
      { field: "mapType", map: BPF_MAP_TYPE_HASH, spec: BPF_MAP_TYPE_LRU_HASH },
      { field: "keySize", map: 4, spec: 8 },
      { field: "valueSize", map: 4, spec: 2 },
      { field: "maxEntries", map: 16, spec: 32 },
      { field: "flags", map: BPF_F_NO_PREALLOC, spec: 0 },
    ]);
    expect([e.map, e.path]).toEqual(["cilium_test", m.path()]);
    expect(e.message).toBe(`checkCompatible cilium_test: the map pinned at ${m.path()} is incompatible with the spec: ` +
      "type Hash (1), the spec wants LRUHash (9); key size 4, the spec wants 8; value size 4, the spec wants 2; " +
      "max entries 16, the spec wants 32; flags 0x1, the spec wants 0x0");
    // Still pinned, open and holding its data; and no warning logged, where objCheck logs each.
    expect(env.driver.host.stat(m.path()).errno).toBe(0);
    expect(m.lookup(1)).toBe(10);
    expect(env.logs.filter((l) => l.level !== "debug")).toEqual([]);
  });

  it("compares with what openOrCreate would create: the pre-allocation flag, and the fd's access flags, are not differences", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), flags: 0 });  // openOrCreate adds BPF_F_NO_PREALLOC
    m.openOrCreate();
    m.checkCompatible({ ...testMapSpec(), flags: 0 });
    m.checkCompatible({ ...testMapSpec(), flags: BPF_F_RDONLY });
    m.checkCompatible({ ...testMapSpec(), flags: BPF_F_WRONLY });
    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 4 });
    a.openOrCreate();
    a.checkCompatible();
    expect((thrown(() => a.checkCompatible({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 4, flags: BPF_F_NO_PREALLOC })) as MapIncompatibleError)
      .differences).toEqual([{ field: "flags", map: 0, spec: BPF_F_NO_PREALLOC }]);
  });

  it("flags print in hex, the map's and the spec's: a flag past 9 (ZERO_SEED, 0x40) reads as the kernel header writes it", () => {
    const env = get();
    const seeded = { ...testMapSpec(), flags: BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED };
    const m = env.map(seeded);
    m.openOrCreate();
    const e = thrown(() => m.checkCompatible(testMapSpec())) as MapIncompatibleError;
    expect(e.differences).toEqual([{ field: "flags", map: BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED, spec: BPF_F_NO_PREALLOC }]);
    expect(e.message).toMatch(/: flags 0x41, the spec wants 0x1$/);
    const plain = env.map(testMapSpec("plain"));
    plain.openOrCreate();
    expect((thrown(() => plain.checkCompatible(seeded)) as MapIncompatibleError).message).toMatch(/: flags 0x1, the spec wants 0x41$/);
  });

  it("a max_entries of 2^31 or more is read as the u32 it is: an LPM trie of 0xffffffff (nodes come as they are added) is compatible with its spec", () => {
    const env = get();
    const spec = { name: "lpm_wide", type: BPF_MAP_TYPE_LPM_TRIE, key: lpmKey(ipv4), value: u32, maxEntries: 0xffffffff, flags: BPF_F_NO_PREALLOC };
    const m = env.map(spec);
    m.openOrCreate();
    expect(env.bpf.getMapInfoByFd(m.getFd()).maxEntries).toBe(0xffffffff);
    m.checkCompatible();
    expect((thrown(() => m.checkCompatible({ ...spec, maxEntries: 0x7fffffff })) as MapIncompatibleError).differences)
      .toEqual([{ field: "maxEntries", map: 0xffffffff, spec: 0x7fffffff }]);
  });

  it("an LRU with NO_COMMON_LRU is compatible though the kernel rounded its max entries to the CPUs", () => {
    const env = get();
    const cpus = env.driver.possibleCpus;
    const spec = { name: "lru", type: BPF_MAP_TYPE_LRU_HASH, key: u32, value: u64, maxEntries: cpus + 1, flags: BPF_F_NO_COMMON_LRU };
    const m = env.map(spec);
    m.openOrCreate();
    m.checkCompatible();
    expect(() => m.checkCompatible({ ...spec, flags: 0 })).toThrow(MapIncompatibleError);
  });

  it("a map not open is read through its pin and left closed, even where its codecs would not open it", () => {
    const env = get();
    const made = env.map(testMapSpec());
    made.openOrCreate();
    made.close();
    const before = openFdsOf(env.driver);
    const wide = env.map({ name: "cilium_test", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 16, flags: BPF_F_NO_PREALLOC });
    const e = thrown(() => wide.checkCompatible()) as MapIncompatibleError;
    expect(e.differences).toEqual([{ field: "valueSize", map: 4, spec: 8 }]);
    expect(wide.isOpen()).toBe(false);
    made.checkCompatible();
    // The pin's fd was only borrowed, compatible or not.
    expect([made.isOpen(), openFdsOf(env.driver)]).toEqual([false, before]);
    const raw = env.track(env.bpf.openMap("cilium_test"));
    raw.checkCompatible(testMapSpec());
    const ghost = env.map(testMapSpec("ghost"));
    const missing = thrown(() => ghost.checkCompatible());
    expect([isNotExist(missing), (missing as Error).message.startsWith("checkCompatible ghost: ")]).toEqual([true, true]);
  });

  it("a map closed for good is EBADF, and not compared with whatever is pinned at its path since", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreateUnpinned();
    m.close();
    env.map(testMapSpec()).openOrCreate();
    const e = thrownBpfError(() => m.checkCompatible());
    expect([e.code, e.op]).toEqual(["EBADF", "checkCompatible"]);
  });

  it("the spec's type is the one getMapType gives: an LRU spec on a kernel without LRU is a HASH", () => {
    const env = get();
    const old = createBpf({ driver: env.driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger(),
      probe: (t) => t !== BPF_MAP_TYPE_LRU_HASH });
    const spec = { name: "lru", type: BPF_MAP_TYPE_LRU_HASH, key: u32, value: u64, maxEntries: 8 };
    const m = env.track(old.newMap(spec));
    m.openOrCreate();
    // An object not opened yet has the spec's own type until it opens.
    env.track(old.newMap(spec)).checkCompatible();
    expect(m.info().type).toBe(BPF_MAP_TYPE_HASH);
    m.checkCompatible();
    m.checkCompatible(spec);
    m.close();
    m.checkCompatible(spec);
  });

  it("a per-CPU spec is compared by one CPU's value, and a map opened by id by its fd", () => {
    const env = get();
    const spec = { name: "pcpu", type: BPF_MAP_TYPE_PERCPU_HASH, key: u32, value: u64, maxEntries: 8 };
    const m = env.track(newPerCpuMap(env.bpf, spec));
    m.openOrCreate();
    m.checkCompatible();
    m.checkCompatible(spec);
    expect(() => m.checkCompatible({ ...spec, type: BPF_MAP_TYPE_HASH })).toThrow(MapIncompatibleError);
    const byId = env.track(env.bpf.openMapById(m.info().id));
    byId.checkCompatible(spec);
    expect((thrown(() => byId.checkCompatible({ ...spec, maxEntries: 9 })) as MapIncompatibleError).path).toBe("");
  });

  it("bad specs are TypeErrors before any syscall", () => {
    const env = get();
    const m = env.map(testMapSpec());
    expect(thrown(() => m.checkCompatible({ ...testMapSpec(), maxEntrie: 3 } as never)).message)
      .toBe(`checkCompatible cilium_test: unknown spec key "maxEntrie" (did you mean "maxEntries"?)`);
    expect(thrown(() => m.checkCompatible({ ...testMapSpec(), key: undefined } as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => m.checkCompatible(null as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => m.checkCompatible({ ...testMapSpec(), flags: "0x1" } as never)).message)
      .toBe('checkCompatible cilium_test: spec.flags must be a u32, got "0x1"');
    expect(thrown(() => m.checkCompatible({ ...testMapSpec(), flags: -1 }))).toBeInstanceOf(TypeError);
  });

  it("mapDifferences rounds max entries for an LRU with NO_COMMON_LRU only", () => {
    const info = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 5, flags: 0 };
    // NO_COMMON_LRU is meaningless (the kernel's EINVAL) on a HASH: a flags difference, and the max entries as asked.
    expect(mapDifferences(info as never, { ...info, flags: BPF_F_NO_COMMON_LRU }, 4))
      .toEqual([{ field: "flags", map: 0, spec: BPF_F_NO_COMMON_LRU }]);
    const lru = { ...info, mapType: BPF_MAP_TYPE_LRU_HASH, maxEntries: 8, flags: BPF_F_NO_COMMON_LRU };
    expect(mapDifferences(lru as never, { ...lru, maxEntries: 5 }, 4)).toEqual([]);
  });
});
