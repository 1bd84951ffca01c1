// MapMemory.loadField / storeField: one field of a struct value, read or written alone (cilium/ebpf's
// Variable.Get and Set over a `.bss`-like struct). The point is the bytes not touched: a counter a
// program bumps beside a knob the agent sets survives the set, where load-modify-store writes it
// back stale.
import { expect, it } from "vitest";
import { BPF_F_MMAPABLE, BPF_MAP_TYPE_ARRAY, createBpf, pad, struct, u16, u32, u64, u8 } from "@bpfkit/core";
import { createSimDriver, typedDatapath } from "@bpfkit/driver-wasm-sim";
import { eachDriver } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

// enabled at 0, mode at 2, hits at 8, threshold at 16: holes at 1 and 4..7, stride 24.
const bss = struct({ enabled: u8, mode: u16, hits: u64, threshold: u32, _p: pad(4) }, { name: "bss" });
const spec = (name: string) => ({ name, type: BPF_MAP_TYPE_ARRAY, key: u32, value: bss, maxEntries: 2, flags: BPF_F_MMAPABLE });

eachDriver("MapMemory.loadField / storeField", (get) => {
  it("a field is read and written at its offset in value i, and nothing else changes", () => {
    const env = get();
    const m = env.map(spec("mmf_rw"));
    m.openOrCreate();
    using mem = m.memory();
    expect(mem.stride).toBe(24);
    m.update(1, { enabled: 1, mode: 7, hits: 5n, threshold: 9 });
    expect(mem.loadField(1, "mode")).toBe(7);
    expect(mem.loadField(1, "hits")).toBe(5n);
    // A program bumps hits between the agent's read and its write of another field.
    const before = mem.load(1);
    m.update(1, { ...before, hits: 6n });
    mem.storeField(1, "threshold", 100);
    expect(m.lookup(1)).toEqual({ enabled: 1, mode: 7, hits: 6n, threshold: 100 });
    // Only the field's bytes: value 0 and the holes stay zero.
    const raw = new Uint8Array(48);
    mem.readAt(0, raw);
    expect([...raw.subarray(0, 24)]).toEqual(new Array(24).fill(0));
    expect([...raw.subarray(24 + 16, 24 + 20)]).toEqual([100, 0, 0, 0]);
  });

  it("a bad name, a non-struct value, a bad index or value, read-only memory: each refused naming the map, nothing written", () => {
    const env = get();
    const m = env.map(spec("mmf_bad"));
    m.openOrCreate();
    using mem = m.memory();
    // @ts-expect-error not a field of the struct
    expect(thrown(() => mem.loadField(0, "treshold")).message).toBe('loadField mmf_bad: the value has no field "treshold" (did you mean "threshold"?)');
    // @ts-expect-error padding holds no value
    expect(thrown(() => mem.storeField(0, "_p", 0)).message).toBe('storeField mmf_bad: the value has no field "_p" (fields: enabled, mode, hits, threshold)');
    expect(thrown(() => mem.loadField(2, "hits"))).toBeInstanceOf(RangeError);
    const e = thrown(() => mem.storeField(0, "mode", 70000));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^storeField mmf_bad: bad value for field "mode": /);
    // @ts-expect-error a u64 takes a bigint or a number
    expect(thrown(() => mem.storeField(0, "hits", "x"))).toBeInstanceOf(TypeError);
    expect(m.lookup(0)).toEqual({ enabled: 0, mode: 0, hits: 0n, threshold: 0 });

    const plain = env.map({ name: "mmf_u64", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 1, flags: BPF_F_MMAPABLE });
    plain.openOrCreate();
    using pm = plain.memory();
    // @ts-expect-error a bigint value has no fields
    expect(thrown(() => pm.loadField(0, "x")).message).toBe("loadField mmf_u64: the value codec is not a struct(), so its values have no fields: use load and store");

    // A field codec that refuses the bytes it reads: named by the map, the op and the field.
    const picky = struct({ tag: { size: 4, encode: (v: number, out: Uint8Array) => void out.set([v, 0, 0, 0]),
      decode: (b: Uint8Array) => { if (b[0] !== 1) throw new RangeError(`tag ${b[0]} is unknown`); return 1; } } });
    const pm2 = env.map({ name: "mmf_picky", type: BPF_MAP_TYPE_ARRAY, key: u32, value: picky, maxEntries: 1, flags: BPF_F_MMAPABLE });
    pm2.openOrCreate();
    using pk = pm2.memory();
    const d = thrown(() => pk.loadField(0, "tag"));
    expect(d).toBeInstanceOf(RangeError);
    expect(d.message).toBe('loadField mmf_picky: field "tag" cannot be decoded: tag 0 is unknown');
    pk.storeField(0, "tag", 1);
    expect(pk.loadField(0, "tag")).toBe(1);

    using ro = m.memory({ writable: false });
    expect(ro.loadField(0, "enabled")).toBe(0);
    expect(thrownBpfError(() => ro.storeField(0, "enabled", 1)).code).toBe("EACCES");
    mem.close();
    expect(thrownBpfError(() => mem.loadField(0, "hits")).code).toBe("EBADF");
  });
});

it("on the simulator, a program's counter bumps survive the agent's field writes between them", () => {
  const sim = createSimDriver();
  const m = createBpf({ driver: sim }).newMap(spec("mmf_prog"));
  m.openOrCreate();
  try {
    using mem = m.memory();
    const prog = typedDatapath(sim, m);
    for (let i = 0; i < 5; i++) {
      const v = prog.lookup(0)!;
      expect(prog.update(0, { ...v, hits: v.hits + 1n })).toBe(0);
      mem.storeField(0, "threshold", i);
    }
    expect(mem.load(0)).toEqual({ enabled: 0, mode: 0, hits: 5n, threshold: 4 });
  } finally {
    m.close();
  }
});
