// The engine's mmapable region (assembly/mmap.ts): a BPF_F_MMAPABLE ARRAY's values fill whole
// 4 KiB pages, value i at i × roundUp(valueSize, 8), the tail zeroed; other maps have no region.
import { describe, expect, it } from "vitest";
import { E, Engine, T, hex, u32 } from "./engine-harness.js";

const MMAPABLE = 0x400;
const eng = new Engine();

describe("engine mmapable region", () => {
  it("owns whole pages: the values rounded up to 4 KiB", () => {
    const cases: Array<[number, number, number]> = [[8, 4, 1], [4, 1024, 2], [4, 1025, 3], [4000, 3, 3], [4096, 2, 2], [1, 1, 1]];
    for (const [valueSize, maxEntries, pages] of cases) {
      const m = eng.create({ type: T.ARRAY, keySize: 4, valueSize, maxEntries, flags: MMAPABLE });
      expect(eng.x.mapMmapPages(m.h), `${maxEntries} x ${valueSize}`).toBe(pages);
      expect(eng.x.mapMmapBase(m.h)).toBeGreaterThan(0);
      m.free();
    }
  });

  it("holds value i at i × roundUp(valueSize, 8), padding and tail zero, and what is written there is the value", () => {
    const m = eng.create({ type: T.ARRAY, keySize: 4, valueSize: 5, maxEntries: 3, flags: MMAPABLE });
    expect(m.update(u32(1), Uint8Array.from([1, 2, 3, 4, 5]))).toBe(0);
    const base = eng.x.mapMmapBase(m.h);
    expect(hex(eng.get(base, 24))).toBe("0000000000000000" + "0102030405000000" + "0000000000000000");
    expect(eng.get(base + 24, 4096 - 24).every((b) => b === 0)).toBe(true);
    eng.bytes().set([9, 9, 9, 9, 9], base + 16);
    expect(hex(m.lookup(u32(2)).value)).toBe("0909090909");
    m.free();
  });

  it("a plain array, a hash, or an unknown handle has none", () => {
    const plain = eng.create({ type: T.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    const hash = eng.create({ type: T.HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
    for (const m of [plain, hash]) {
      expect(eng.x.mapMmapPages(m.h)).toBe(-E.EINVAL);
      expect(eng.x.mapMmapBase(m.h)).toBe(0);
      m.free();
    }
    expect(eng.x.mapMmapPages(plain.h)).toBe(-9 /* EBADF */);
    expect(eng.x.mapMmapBase(plain.h)).toBe(0);
  });
});
