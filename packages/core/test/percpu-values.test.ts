// Per-CPU values: one 8-byte aligned slot per possible CPU, padding zeroed, and a map type that
// is per-CPU only through newPerCpuMap/newPerCpuHashMap (a plain newMap would size its values for
// one CPU and every read would fail).
import { describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, bytes, hex, newPerCpuMap, perCpuValues, u16, u32 } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";
import { thrown } from "./support/thrown.js";

describe("perCpuValues", () => {
  it("needs at least one CPU", () => {
    expect(() => perCpuValues(u32, 0)).toThrow(/^perCpuValues: cpus must be a positive integer, got 0$/);
    expect(() => perCpuValues(u32, 1.5)).toThrow(RangeError);
    expect(perCpuValues(u32, 1).size).toBe(8);
  });

  it("each value sits in its own 8-byte slot and the padding after it is zeroed", () => {
    const c = perCpuValues(u16, 2);
    expect(c.size).toBe(16);
    const out = new Uint8Array(16).fill(0xee);
    c.encode([0x0102, 0x0304], out);
    expect(hex(out)).toBe(hex(new Uint8Array([...u16Bytes(0x0102), 0, 0, 0, 0, 0, 0, ...u16Bytes(0x0304), 0, 0, 0, 0, 0, 0])));
    expect(c.decode(out)).toEqual([0x0102, 0x0304]);
  });

  it("a bad CPU's value is named, keeping RangeError for out-of-range and TypeError for the wrong type", () => {
    const c = perCpuValues(u16, 2);
    const range = thrown(() => c.encode([1, 70000], new Uint8Array(16)));
    expect(range).toBeInstanceOf(RangeError);
    expect(range.message).toMatch(/^percpu\(u16\)\[2\]: CPU 1: u16: 70000 is outside/);
    const type = thrown(() => c.encode([1, "x" as never], new Uint8Array(16)));
    expect(type).toBeInstanceOf(TypeError);
    expect(type.message).toMatch(/^percpu\(u16\)\[2\]: CPU 1: /);
  });

  it("takes any codec of a whole size, bytes(0) included (as newMap does); refuses a size that is not one", () => {
    const empty = perCpuValues(bytes(0), 2);
    expect(empty.size).toBe(0);
    expect(empty.decode(new Uint8Array(0))).toEqual([new Uint8Array(0), new Uint8Array(0)]);
    for (const size of [-1, 1.5, "4"]) {
      expect(() => perCpuValues({ ...u32, size } as never, 2)).toThrow(new TypeError("perCpuValues: inner must be a Codec (size, encode, decode)"));
    }
  });

  it("needs exactly one value per CPU, and buffers of the whole size", () => {
    const c = perCpuValues(u32, 2);
    expect(() => c.encode([1], new Uint8Array(16))).toThrow(/expected 2 values \(one per possible CPU\), got 1/);
    expect(() => c.encode([1, 2, 3], new Uint8Array(16))).toThrow(/expected 2 values \(one per possible CPU\), got 3/);
    expect(() => c.encode([1, 2], new Uint8Array(15))).toThrow(/needs 16 bytes, output has 15/);
    expect(() => c.decode(new Uint8Array(15))).toThrow(/needs 16 bytes, got 15/);
  });
});

function u16Bytes(v: number): number[] {
  const b = new Uint8Array(2);
  u16.encode(v, b);
  return [...b];
}

eachDriver("per-CPU map types", (get) => {
  it("newMap refuses a per-CPU type and says which constructor takes one", () => {
    const env = get();
    const e = thrown(() => env.bpf.newMap({ name: "pc", type: BPF_MAP_TYPE_PERCPU_HASH, key: u32, value: u32, maxEntries: 4 }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe("newMap pc: per-CPU map values are one per CPU; use bpf.newPerCpuMap (any per-CPU type) or bpf.newPerCpuHashMap");
  });

  it("bpf.newPerCpuMap, the method the newMap error names, makes any per-CPU type with one value per CPU", () => {
    const env = get();
    const cpus = env.driver.possibleCpus;
    const a = env.track(env.bpf.newPerCpuMap({ name: "pca", type: BPF_MAP_TYPE_PERCPU_ARRAY, key: u32, value: u32, maxEntries: 2 }));
    a.openOrCreate();
    a.update(1, Array.from({ length: cpus }, (_, i) => i + 1));
    expect(a.lookup(1)).toEqual(Array.from({ length: cpus }, (_, i) => i + 1));
    expect(a.info().type).toBe(BPF_MAP_TYPE_PERCPU_ARRAY);
    const h = env.track(env.bpf.newPerCpuMap({ name: "pch", key: u32, value: u32, maxEntries: 2 }));
    h.openOrCreate();
    expect(h.info().type).toBe(BPF_MAP_TYPE_PERCPU_HASH);
    const e = thrown(() => env.bpf.newPerCpuMap({ name: "pc", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4 }));
    expect([e instanceof TypeError, e.message]).toEqual([true, "newPerCpuMap pc: map type 1 is not a per-CPU type"]);
  });

  it("newPerCpuMap refuses a type that is not per-CPU", () => {
    const env = get();
    const e = thrown(() => newPerCpuMap(env.bpf, { name: "pc", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4 }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe(`newPerCpuMap pc: map type ${BPF_MAP_TYPE_HASH} is not a per-CPU type`);
  });
});
