import { describe, expect, it } from "vitest";
import { ANY, E, EXIST, Engine, NOEXIST, T, hex, readU32, u32 } from "./engine-harness.js";

const eng = new Engine();

describe("engine ARRAY and PERCPU_ARRAY (kernel-maps.md §8)", () => {
  it("has every slot, zeroed; errs in the kernel's order", () => {
    const m = eng.create({ type: T.ARRAY, keySize: 4, valueSize: 3, maxEntries: 4 });
    expect(m.lookup(u32(3))).toEqual({ err: 0, value: new Uint8Array(3) });
    expect(m.lookup(u32(4)).err).toBe(E.ENOENT);
    expect(m.update(u32(1), Uint8Array.from([1, 2, 3]))).toBe(0);
    expect(hex(m.lookup(u32(1)).value)).toBe("010203");
    expect(m.update(u32(1), Uint8Array.from([4, 5, 6]), EXIST)).toBe(0);
    expect(m.update(u32(1), Uint8Array.from([7, 8, 9]), NOEXIST)).toBe(E.EEXIST);
    expect(m.update(u32(4), Uint8Array.from([7, 8, 9]), NOEXIST)).toBe(E.E2BIG); // bound before NOEXIST
    expect(m.update(u32(4), Uint8Array.from([7, 8, 9]), 3)).toBe(E.EINVAL); // flags before bound
    expect(hex(m.lookup(u32(1)).value)).toBe("040506");
    expect(m.delete(u32(1))).toBe(E.EINVAL);
    expect(m.lookupAndDelete(u32(1)).err).toBe(E.ENOTSUPP);
    expect(m.count()).toBe(0);
    m.free();
  });

  it("next-key: NULL or idx ≥ max gives 0, the last index ENOENT, else idx + 1", () => {
    const m = eng.create({ type: T.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3 });
    expect(readU32(m.nextKey(null).key)).toBe(0);
    expect(readU32(m.nextKey(u32(99)).key)).toBe(0);
    expect(readU32(m.nextKey(u32(1)).key)).toBe(2);
    expect(m.nextKey(u32(2)).err).toBe(E.ENOENT);
    expect(m.keys().map((k) => readU32(k))).toEqual([0, 1, 2]);
    m.free();
  });

  it("PERCPU_ARRAY keeps padding; the datapath reads and writes one CPU's slot", () => {
    const m = eng.create({ type: T.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, ncpus: 2 });
    expect(m.lookup(u32(1)).value).toEqual(new Uint8Array(16));
    const v = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
    expect(m.update(u32(1), v)).toBe(0);
    expect(hex(m.lookup(u32(1)).value)).toBe(hex(v));
    expect(hex(m.datapathLookup(u32(1), 1).value)).toBe("18191a1b");
    expect(m.datapathUpdate(u32(1), u32(0xdeadbeef), ANY, 1)).toBe(0);
    expect(hex(m.lookup(u32(1)).value)).toBe("1011121314151617efbeadde1c1d1e1f");
    m.free();
  });
});

describe("engine PROG_ARRAY and ARRAY_OF_MAPS: fd arrays of ids (§11)", () => {
  for (const type of [T.PROG_ARRAY, T.ARRAY_OF_MAPS]) {
    it(`type ${type}: only BPF_ANY, empty slots ENOENT, E2BIG past the end, empties in next-key`, () => {
      const m = eng.create({ type, keySize: 4, valueSize: 4, maxEntries: 3 });
      expect(m.lookup(u32(0)).err).toBe(E.ENOENT);
      expect(m.update(u32(0), u32(77))).toBe(0);
      expect(readU32(m.lookup(u32(0)).value)).toBe(77);
      expect(m.update(u32(0), u32(78), NOEXIST)).toBe(E.EINVAL);
      expect(m.update(u32(1), u32(78), EXIST)).toBe(E.EINVAL);
      expect(m.update(u32(3), u32(78), NOEXIST)).toBe(E.EINVAL); // flags before the bound
      expect(m.update(u32(3), u32(78))).toBe(E.E2BIG);
      expect(m.delete(u32(1))).toBe(E.ENOENT);
      expect(m.delete(u32(3))).toBe(E.E2BIG);
      expect(m.update(u32(2), u32(79))).toBe(0);
      expect(m.count()).toBe(2);
      expect(m.keys().map((k) => readU32(k))).toEqual([0, 1, 2]);
      expect(m.lookupAndDelete(u32(0)).err).toBe(E.ENOTSUPP);
      expect(m.delete(u32(0))).toBe(0);
      expect(m.lookup(u32(0)).err).toBe(E.ENOENT);
      expect(m.count()).toBe(1);
      eng.x.mapClear(m.h);
      expect(m.count()).toBe(0);
      expect(m.lookup(u32(2)).err).toBe(E.ENOENT);
      m.free();
    });
  }
});
