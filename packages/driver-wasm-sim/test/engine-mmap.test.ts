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

describe("engine page size (setPageShift)", () => {
  it("takes PAGE_SHIFT 12 to 16, and none while a map lives", () => {
    const own = new Engine();
    const set = own.x.setPageShift!;
    expect([11, 17, 0, 64].map((s) => set(s))).toEqual([-E.EINVAL, -E.EINVAL, -E.EINVAL, -E.EINVAL]);
    const m = own.create({ type: T.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: MMAPABLE });
    expect(set(16)).toBe(-16 /* EBUSY */);
    expect(set(12)).toBe(0); // the page it has: nothing changes
    m.free();
    expect(set(16)).toBe(0);
  });

  it("sizes an mmapable array's region in its pages", () => {
    const own = new Engine();
    expect(own.x.setPageShift!(16)).toBe(0);
    const cases: Array<[number, number, number]> = [[8, 4, 1], [8, 8192, 1], [8, 8193, 2], [4096, 33, 3]];
    for (const [valueSize, maxEntries, pages] of cases) {
      const m = own.create({ type: T.ARRAY, keySize: 4, valueSize, maxEntries, flags: MMAPABLE });
      expect(own.x.mapMmapPages(m.h), `${maxEntries} x ${valueSize}`).toBe(pages);
      expect(own.get(own.x.mapMmapBase(m.h), 65536).every((b) => b === 0)).toBe(true);
      m.free();
    }
  });

  it("lays a ring out in its pages: the producer position a page on, the data two pages on, pg_off >> PAGE_SHIFT", () => {
    const own = new Engine();
    expect(own.x.setPageShift!(14)).toBe(0);
    const page = 16384;
    const h = own.x.mapCreate(27, 0, 0, 2 * page, 0, 1, 0, 0);
    expect(h).toBeGreaterThan(0);
    expect(own.x.mapMmapPages(h)).toBe(4);
    // Records of 4096 bytes (4088-byte samples): the fifth starts on the second data page.
    for (let i = 0; i < 5; i++) expect(own.x.ringbufReserve(h, 4088n)).toBe(i * 4096);
    const base = own.x.mapMmapBase(h);
    const dv = new DataView(own.x.memory.buffer);
    expect(dv.getBigUint64(base + page, true)).toBe(5n * 4096n);
    expect([0, 1, 2, 3, 4].map((i) => dv.getUint32(base + 2 * page + i * 4096 + 4, true))).toEqual([3, 3, 3, 3, 4]);
    expect(own.x.ringbufCommit(h, 4 * 4096, 0)).toBe(0);
    expect(dv.getUint32(base + 2 * page + 4 * 4096, true)).toBe(4088);
    own.x.mapFree(h);
  });
});
