// MapSpec.btf: the maps a BpfMap (and a bloom filter) creates carry BTF from its codecs, on every
// create path; BpfMap.btf() reads a map's BTF back. On each driver: bpf_map_info's ids, the BTF
// parsed back, per-CPU values, keyless maps, the refusals before any syscall, a driver without
// the BTF methods, an upgrade of the pin, and no fd left behind.
import { expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_STACK, BpfError,
  btfForMap, bytes, createBpf, lpmKey, Errno, formatBtfValue, ipv4, parseBtf, rawCodecs, struct, u16, u32, u64, wrapDriver, type Codec,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";
import { eachDriver } from "./support/env.js";

const ctKey = struct({ addr: ipv4, port: u16 }, { name: "ct_key" });
const ctValue = struct({ packets: u64, bytes: u64 }, { name: "ct_value" });

eachDriver("MapSpec.btf", (env) => {
  const spec = (name: string, maxEntries = 4) =>
    ({ name, type: BPF_MAP_TYPE_HASH, key: ctKey, value: ctValue, maxEntries, btf: true }) as const;

  it("openOrCreate creates the map with the codecs' BTF: its ids in bpf_map_info, and btf() parses back what btfForMap built", () => {
    const { bpf } = env();
    const m = env().map(spec("btf_ct"));
    expect(m.openOrCreate()).toBe(true);
    const info = m.info();
    const want = btfForMap(ctKey, ctValue);
    expect(info.btfId).toBeGreaterThan(0);
    expect({ key: info.btfKeyTypeId, value: info.btfValueTypeId }).toEqual({ key: want.keyTypeId, value: want.valueTypeId });
    const b = m.btf()!;
    expect(b).toMatchObject({ id: info.btfId, size: want.btf.length, name: "", kernelBtf: false, keyTypeId: want.keyTypeId, valueTypeId: want.valueTypeId });
    expect(b.spec.raw).toEqual(want.btf);
    expect(b.spec.types).toEqual(parseBtf(want.btf).types);
    // What a user of a map they did not make prints it with.
    m.update({ addr: "10.0.0.1", port: 80 }, { packets: 3n, bytes: 300n });
    const other = bpf.openMapById(info.id, rawCodecs);
    env().track(other);
    const ob = other.btf()!;
    const [k, v] = [...other.entries()][0]!;
    expect(formatBtfValue(ob.spec, ob.keyTypeId, k)).toEqual({ addr: 16777226, port: 80 });
    expect(formatBtfValue(ob.spec, ob.valueTypeId, v)).toEqual({ packets: 3, bytes: 300 });
  });

  it("is off by default, as the seed: no BTF, and btf() is null", () => {
    const m = env().map({ name: "btf_none", type: BPF_MAP_TYPE_HASH, key: ctKey, value: ctValue, maxEntries: 4 });
    m.openOrCreate();
    expect(m.info()).toMatchObject({ btfId: 0, btfKeyTypeId: 0, btfValueTypeId: 0 });
    expect(m.btf()).toBeNull();
  });

  it("openOrCreateUnpinned and openParallel create with it too", () => {
    const u = env().map(spec("btf_unpinned"));
    expect(u.openOrCreateUnpinned()).toBe(true);
    expect(u.info().btfId).toBeGreaterThan(0);
    const first = env().map({ ...spec("btf_par"), btf: false });
    first.openOrCreate();
    first.close();
    const p = env().map(spec("btf_par"));
    expect(p.openParallel()).toBe(true);
    expect(p.inParallelMode).toBe(true);
    expect(p.info().btfId).toBeGreaterThan(0);
  });

  it("a per-CPU map's value type is one CPU's value, not the per-CPU array", () => {
    const { bpf } = env();
    const h = env().track(bpf.newPerCpuHashMap({ name: "btf_pcpu", key: u32, value: ctValue, maxEntries: 4, btf: true }));
    const a = env().track(bpf.newPerCpuMap({ name: "btf_pcpu_arr", type: BPF_MAP_TYPE_PERCPU_ARRAY, key: u32, value: u32, maxEntries: 2, btf: true }));
    for (const [m, value] of [[h, ctValue], [a, u32]] as const) {
      m.openOrCreate();
      const b = m.btf()!;
      expect(b.spec.sizeOf(b.valueTypeId)).toBe(value.size);
      expect(b.valueTypeId).toBe(btfForMap(u32, value as Codec<unknown>).valueTypeId);
    }
    expect(h.btf()!.spec.name(h.btf()!.valueTypeId)).toBe("ct_value");
  });

  it("a bloom filter's BTF has the value's type and key type id 0; a queue, stack or ring buffer refuses btf with a TypeError", () => {
    const { bpf } = env();
    const f = env().track(bpf.newBloomFilter({ name: "btf_bloom", value: ctKey, maxEntries: 16, btf: true }));
    f.openOrCreate();
    const info = f.info();
    expect(info.btfId).toBeGreaterThan(0);
    expect(info.btfKeyTypeId).toBe(0);
    const b = f.btf()!;
    expect(b.keyTypeId).toBe(0);
    expect(b.spec.name(b.valueTypeId)).toBe("ct_key");
    const plain = env().track(bpf.newBloomFilter({ name: "btf_bloom_none", value: u32, maxEntries: 16 }));
    plain.openOrCreate();
    expect(plain.btf()).toBeNull();
    const queue = { name: "btf_q", value: u32, maxEntries: 4, btf: true };
    expect(() => bpf.newQueueMap(queue as never)).toThrow(TypeError);
    expect(() => bpf.newQueueMap({ ...queue, type: BPF_MAP_TYPE_STACK } as never)).toThrow(/newQueueMap btf_q: a queue or stack takes no BTF/);
    expect(() => bpf.newRingBuf({ name: "btf_rb", maxEntries: 4096, btf: true } as never))
      .toThrow(/newRingBuf btf_rb: a ring buffer takes no BTF: it has no key or value/);
    // btf: false asks for no BTF, which these types have anyway: no unknown-key error.
    const q = env().track(bpf.newQueueMap({ ...queue, name: "btf_q_no", btf: false } as never));
    q.openOrCreate();
    expect(q.info().btfId).toBe(0);
    const rb = env().track(bpf.newRingBuf({ name: "btf_rb_no", maxEntries: 4096, btf: false } as never));
    rb.openOrCreate();
    expect(rb.info().btfId).toBe(0);
  });

  it("refuses, before any syscall, a codec BTF cannot describe, a map of maps, and a btf that is not a boolean", () => {
    const { bpf, driver } = env();
    const before = openFdsOf(driver);
    const bad = struct({ "not-c": u32 });
    expect(() => bpf.newMap({ name: "btf_bad", type: BPF_MAP_TYPE_HASH, key: u32, value: bad, maxEntries: 4, btf: true }))
      .toThrow(/newMap btf_bad: spec.btf is true, and the codecs have no BTF .*"not-c" is not a C identifier/);
    expect(() => bpf.newMap({ name: "btf_mim", type: BPF_MAP_TYPE_ARRAY_OF_MAPS, key: u32, value: u32, maxEntries: 4, innerId: 0, btf: true }))
      .toThrow(/newMap btf_mim: a map of maps takes no BTF/);
    expect(() => bpf.newMap({ name: "btf_str", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4, btf: "yes" as never }))
      .toThrow(/newMap btf_str: btf must be a boolean/);
    // Without btf, the same codec is fine: BTF is only built when asked for.
    expect(() => bpf.newMap({ name: "btf_bad", type: BPF_MAP_TYPE_HASH, key: u32, value: bad, maxEntries: 4 })).not.toThrow();
    expect(openFdsOf(driver)).toBe(before);
  });

  it("a driver without the BTF methods: EOPNOTSUPP naming the map and the driver at the create, nothing opened or pinned", () => {
    const { driver, root } = env();
    const before = openFdsOf(driver);
    const old = wrapDriver(driver, { kind: "nobtf", btfLoad: null, btfGetFdById: null, btfGetNextId: null, btfGetInfo: null });
    const bpf = createBpf({ driver: old, mapRoot: root, mapPrefix: "tc/globals" });
    const m = bpf.newMap(spec("btf_old"));
    let err: unknown;
    try {
      m.openOrCreate();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).errno).toBe(Errno.EOPNOTSUPP);
    expect((err as BpfError).message).toMatch(/openOrCreate btf_old: .*driver "nobtf" has no BTF methods/);
    expect(m.isOpen()).toBe(false);
    expect(driver.host.stat(m.path()).errno).toBe(Errno.ENOENT);
    expect(openFdsOf(driver)).toBe(before);
    // A pin made elsewhere is opened without a create: no BTF is needed for that.
    env().map({ ...spec("btf_old"), btf: false }).openOrCreate();
    expect(m.openOrCreate()).toBe(false);
    m.close();
  });

  it("an upgrade of the pin re-creates it with BTF; an existing pin is not compared by BTF", () => {
    const { bpf, driver } = env();
    const before = openFdsOf(driver);
    const small = bpf.newMap(spec("btf_up", 4));
    small.openOrCreate();
    const firstId = small.info().id;
    small.close();
    const big = bpf.newMap(spec("btf_up", 8));
    expect(big.openOrCreate()).toBe(true);
    expect(big.info()).toMatchObject({ maxEntries: 8 });
    expect(big.info().id).not.toBe(firstId);
    expect(big.btf()!.valueTypeId).toBe(btfForMap(ctKey, ctValue).valueTypeId);
    big.close();
    // Pinned without BTF, opened by a spec with it: kept as it is (as the kernel name is).
    const bare = bpf.newMap({ ...spec("btf_bare"), btf: false });
    bare.openOrCreate();
    bare.close();
    const withBtf = bpf.newMap(spec("btf_bare"));
    expect(withBtf.openOrCreate()).toBe(false);
    expect(withBtf.btf()).toBeNull();
    withBtf.close();
    expect(openFdsOf(driver)).toBe(before);
  });

  it("btf() leaves no fd open, and names the map when it cannot read", () => {
    const { driver } = env();
    const m = env().map(spec("btf_fds"));
    m.openOrCreate();
    const before = openFdsOf(driver);
    for (let i = 0; i < 3; i++) m.btf();
    expect(openFdsOf(driver)).toBe(before);
    m.close();
    m.unpin();
    expect(() => m.btf()).toThrow(/btf btf_fds: /);
  });
});

eachDriver("MapSpec.btf and the map types' own rules", (env) => {
  it("an LPM trie with an lpmKey and an array with a u32 key take it; the kernel's EINVAL for other keys says the rule", () => {
    const trie = env().map({ name: "btf_lpm", type: BPF_MAP_TYPE_LPM_TRIE, key: lpmKey(ipv4), value: u32, maxEntries: 4,
      flags: BPF_F_NO_PREALLOC, btf: true });
    trie.openOrCreate();
    expect(trie.btf()!.spec.sizeOf(trie.btf()!.keyTypeId)).toBe(8);
    const arr = env().map({ name: "btf_arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: ctValue, maxEntries: 4, btf: true });
    arr.openOrCreate();
    expect(arr.info().btfId).toBeGreaterThan(0);
    const badArr = env().map({ name: "btf_arr_bytes", type: BPF_MAP_TYPE_ARRAY, key: bytes(4), value: u32, maxEntries: 4, btf: true });
    const e1 = thrownBpfError(() => badArr.openOrCreate());
    expect(e1.errno).toBe(Errno.EINVAL);
    expect(e1.message).toMatch(/^openOrCreate btf_arr_bytes: .*an array's key type must be a 4-byte integer/);
    const badTrie = env().map({ name: "btf_lpm_bytes", type: BPF_MAP_TYPE_LPM_TRIE, key: bytes(8), value: u32, maxEntries: 4,
      flags: BPF_F_NO_PREALLOC, btf: true });
    const e2 = thrownBpfError(() => badTrie.openOrCreate());
    expect(e2.errno).toBe(Errno.EINVAL);
    expect(e2.message).toMatch(/^openOrCreate btf_lpm_bytes: .*an LPM trie's key type must be a struct/);
  });
});
