// What a user of BpfMap.memory() is told when the kernel says no in the places the mapping is the
// cause: a freeze under a writable mapping (EBUSY), a write through memory that memory() chose to
// map read-only, and BPF_F_MMAPABLE on a type that cannot be mapped. Each bare errno sent users
// hunting elsewhere: EBUSY reads as "try again", EINVAL at create as a bad size.
import { expect, it } from "vitest";
import {
  BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, u32, u64,
  type MapSpec,
} from "@bpfkit/core";
import { eachDriver } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

const arraySpec = (name: string, flags = BPF_F_MMAPABLE): MapSpec<number, bigint> =>
  ({ name, type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 4, flags });

eachDriver("BpfMap.memory: the errors a mapping causes, explained", (get) => {
  it("freeze under a writable mapping, this Bpf's or another's, is EBUSY naming the mapping", () => {
    const env = get();
    const m = env.map(arraySpec("mme_cfg"));
    m.openOrCreate();
    // Another "process" holds the writable mapping: the pin opened by a second Bpf.
    const other = env.track(env.otherBpf().openMap(m.path(), { key: u32, value: u64 }));
    const mem = other.memory();
    const e = thrownBpfError(() => m.freeze());
    expect([e.code, e.op, e.map]).toEqual(["EBUSY", "freeze", "mme_cfg"]);
    expect(e.message).toBe("freeze mme_cfg: device or resource busy (a writable mapping of its memory exists " +
      "(memory(), here or in another process): close it, or map with { writable: false }, before freezing)");
    mem.close();
    m.freeze();
  });

  it("a write through memory mapped read-only for a frozen map says the map is frozen", () => {
    const env = get();
    const m = env.map(arraySpec("mme_frozen"));
    m.openOrCreate();
    m.freeze();
    using mem = m.memory();
    expect(mem.writable).toBe(false);
    const e = thrownBpfError(() => mem.store(0, 1n));
    expect([e.code, e.op, e.map]).toEqual(["EACCES", "store", "mme_frozen"]);
    expect(e.message).toBe("store mme_frozen: permission denied (the memory is mapped read-only: memory() mapped it " +
      "read-only because the map is frozen (BPF_MAP_FREEZE), and the kernel maps such a map writable for no one)");
    expect(m.lookup(0)).toBe(0n);
  });

  it("a write through memory mapped read-only for BPF_F_RDONLY_PROG says so; one asked read-only says how to ask", () => {
    const env = get();
    const m = env.map(arraySpec("mme_rdprog", BPF_F_MMAPABLE | BPF_F_RDONLY_PROG));
    m.openOrCreate();
    using mem = m.memory();
    expect(thrownBpfError(() => mem.writeAt(0, new Uint8Array(1))).message).toContain(
      "memory() mapped it read-only because the map was made with BPF_F_RDONLY_PROG");
    const plain = env.map(arraySpec("mme_ro"));
    plain.openOrCreate();
    using ro = plain.memory({ writable: false });
    expect(thrownBpfError(() => ro.store(0, 1n)).message).toContain("map it with memory({ writable: true })");
  });

  it("BPF_F_MMAPABLE on a per-CPU array or a hash is EINVAL at create, naming the flag", () => {
    const env = get();
    const pc = env.track(env.bpf.newPerCpuMap({ name: "mme_pc", type: BPF_MAP_TYPE_PERCPU_ARRAY, key: u32, value: u64, maxEntries: 4, flags: BPF_F_MMAPABLE }));
    const e = thrownBpfError(() => pc.openOrCreate());
    expect(e.code).toBe("EINVAL");
    expect(e.message).toMatch(/: invalid argument \(BPF_F_MMAPABLE is taken by an ARRAY \(and an ARENA\) only, not by a PerCPUArray\)$/);
    const h = env.map({ name: "mme_h", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 4, flags: BPF_F_MMAPABLE });
    expect(thrownBpfError(() => h.openOrCreate()).message).toMatch(/not by a Hash\)$/);
    // An mmapable ARRAY refused for another reason gets no such hint.
    const z = env.map({ ...arraySpec("mme_z"), maxEntries: 0 });
    expect(thrownBpfError(() => z.openOrCreate()).message).not.toContain("BPF_F_MMAPABLE");
  });
});
