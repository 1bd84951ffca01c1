import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ANY, E, EXIST, Engine, F, NOEXIST, T, hex, readU32, u32, u64 } from "./engine-harness.js";
import { HtabModel } from "./engine-ref.js";

const eng = new Engine();
const walkU32 = (keys: Uint8Array[]) => keys.map((k) => readU32(k));

describe("engine hash family: order (kernel-maps.md §5)", () => {
  it("walks the §5.3 kernel examples exactly", () => {
    const a = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 16, flags: F.ZERO_SEED });
    for (let k = 0; k < 16; k++) expect(a.update(u32(k), u32(k))).toBe(0);
    expect(walkU32(a.keys())).toEqual([10, 4, 15, 5, 0, 14, 7, 2, 13, 1, 8, 12, 11, 9, 6, 3]);

    const b = eng.create({ type: T.HASH, keySize: 8, valueSize: 4, maxEntries: 10 });
    for (let i = 0; i < 10; i++) expect(b.update(u64(i * 1000), u32(i))).toBe(0);
    expect(b.keys().map((k) => Number(new DataView(k.buffer).getBigUint64(0, true))))
      .toEqual([7000, 4000, 2000, 9000, 1000, 6000, 3000, 5000, 8000, 0]);

    const c = eng.create({ type: T.HASH, keySize: 3, valueSize: 4, maxEntries: 4 });
    for (const s of ["abc", "foo", "bar", "zzz"]) expect(c.update(new TextEncoder().encode(s), u32(1))).toBe(0);
    expect(c.keys().map((k) => new TextDecoder().decode(k))).toEqual(["bar", "abc", "zzz", "foo"]);

    const d = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
    for (let k = 0; k < 6; k++) d.update(u32(k), u32(k));
    expect(walkU32(d.keys())).toEqual([0, 4, 2, 1, 5, 3]);
    [a, b, c, d].forEach((m) => m.free());
  });

  it("moves an updated key to its bucket's head for HASH and LRU_HASH; in place for per-CPU and HASH_OF_MAPS (§5.2)", () => {
    // 0, 8 and 16 collide in a 4-bucket map: insertion gives [16, 8, 0]. HASH_OF_MAPS updates in
    // place on 6.18, unlike §5.2's table: the kernel walked [16, 8, 0] again after updating 0.
    for (const [type, moved] of [[T.HASH, true], [T.LRU_HASH, true], [T.HASH_OF_MAPS, false],
      [T.PERCPU_HASH, false], [T.LRU_PERCPU_HASH, false]] as const) {
      const m = eng.create({ type, keySize: 4, valueSize: 4, maxEntries: 4 });
      for (const k of [0, 8, 16]) expect(m.update(u32(k), new Uint8Array(m.valueBytes))).toBe(0);
      expect(walkU32(m.keys())).toEqual([16, 8, 0]);
      expect(m.update(u32(0), new Uint8Array(m.valueBytes).fill(7), EXIST)).toBe(0);
      expect(walkU32(m.keys())).toEqual(moved ? [0, 16, 8] : [16, 8, 0]);
      expect(m.lookup(u32(0)).value.every((x) => x === 7)).toBe(true);
      m.free();
    }
  });

  it("restarts next-key from the first element for an absent key, ENOENT after the last", () => {
    const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
    expect(m.nextKey(null).err).toBe(E.ENOENT);
    for (let k = 0; k < 6; k++) m.update(u32(k), u32(k));
    expect(readU32(m.nextKey(u32(99)).key)).toBe(0);
    expect(readU32(m.nextKey(u32(1)).key)).toBe(5);
    expect(m.nextKey(u32(3)).err).toBe(E.ENOENT);
    m.free();
  });

  it("property: errnos, walk order and next-key from every key equal HtabModel for random op sequences", () => {
    const types = [T.HASH, T.PERCPU_HASH, T.HASH_OF_MAPS];
    fc.assert(
      fc.property(
        fc.constantFrom(...types), fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 20, 25),
        fc.constantFrom(1, 3, 8, 13, 100), fc.nat({ max: 0xffffffff }),
        fc.array(fc.tuple(fc.constantFrom("upd", "upd", "del"), fc.nat({ max: 40 }), fc.constantFrom(ANY, NOEXIST, EXIST, 3)), { maxLength: 120 }),
        (type, keySize, maxEntries, seed, ops) => {
          const valueSize = type === T.HASH_OF_MAPS ? 4 : 8;
          const m = eng.create({ type, keySize, valueSize, maxEntries, seed });
          const model = new HtabModel(maxEntries, type === T.HASH, seed);
          const key = (n: number) => { const k = new Uint8Array(keySize); k[0] = n; k[keySize - 1] ^= n * 7; return k; };
          try {
            for (const [op, n, flags] of ops) {
              if (op === "upd") expect(m.update(key(n), new Uint8Array(m.valueBytes).fill(n), flags)).toBe(model.update(key(n), flags));
              else expect(m.delete(key(n))).toBe(model.delete(key(n)));
            }
            const order = model.order().map(hex);
            expect(m.keys().map(hex)).toEqual(order);
            expect(m.count()).toBe(order.length);
            for (const k of [...model.order(), key(41)]) {
              const want = model.nextKey(k);
              const got = m.nextKey(k);
              expect(got.err === 0 ? hex(got.key) : null).toBe(want ? hex(want) : null);
            }
          } finally {
            m.free();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("engine hash family: errnos and capacity (§4.1, §5.4)", () => {
  it("is exactly max_entries, with existence checked before capacity", () => {
    for (const type of [T.HASH, T.PERCPU_HASH, T.HASH_OF_MAPS]) {
      const m = eng.create({ type, keySize: 4, valueSize: 4, maxEntries: 5 });
      const v = new Uint8Array(m.valueBytes);
      for (let k = 0; k < 5; k++) expect(m.update(u32(k), v, NOEXIST)).toBe(0);
      expect(m.update(u32(5), v)).toBe(E.E2BIG);
      expect(m.update(u32(5), v, EXIST)).toBe(E.ENOENT);
      expect(m.update(u32(1), v, NOEXIST)).toBe(E.EEXIST);
      expect(m.update(u32(1), v, ANY)).toBe(0);
      expect(m.update(u32(1), v, 3)).toBe(E.EINVAL);
      expect(m.update(u32(1), v, 4)).toBe(E.EINVAL);
      expect(m.delete(u32(2))).toBe(0);
      expect(m.delete(u32(2))).toBe(E.ENOENT);
      expect(m.update(u32(5), v)).toBe(0);
      expect(m.count()).toBe(5);
      m.free();
    }
  });

  it("lookup-and-delete returns the value and removes the key; HASH_OF_MAPS has none (ENOTSUPP)", () => {
    const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    m.update(u32(1), u32(9));
    const r = m.lookupAndDelete(u32(1));
    expect([r.err, readU32(r.value)]).toEqual([0, 9]);
    expect(m.lookupAndDelete(u32(1)).err).toBe(E.ENOENT);
    expect(m.lookup(u32(1)).err).toBe(E.ENOENT);
    const hom = eng.create({ type: T.HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4 });
    hom.update(u32(5), u32(1234));
    expect(hom.lookupAndDelete(u32(5)).err).toBe(E.ENOTSUPP);
    expect(readU32(hom.lookup(u32(5)).value)).toBe(1234);
    m.free();
    hom.free();
  });

  it("keeps per-CPU padding bytes verbatim (§6)", () => {
    for (const type of [T.PERCPU_HASH, T.LRU_PERCPU_HASH]) {
      for (const valueSize of [1, 3, 4, 8, 12]) {
        const m = eng.create({ type, keySize: 4, valueSize, maxEntries: 4, ncpus: 2 });
        const slot = (valueSize + 7) & ~7;
        expect(m.valueBytes).toBe(2 * slot);
        const v = Uint8Array.from({ length: 2 * slot }, (_, i) => 0x10 + i);
        expect(m.update(u32(1), v)).toBe(0);
        expect(hex(m.lookup(u32(1)).value)).toBe(hex(v));
        m.free();
      }
    }
  });

  it("datapath per-CPU updates: a new element gets cpu's slot and zeroes the others; an existing one only cpu's", () => {
    // Exactly what the kernel gave (scripts/probe-datapath-percpu.py: a socket filter calling
    // bpf_map_update_elem under BPF_PROG_TEST_RUN on CPU 1, 2 possible CPUs).
    for (const type of [T.PERCPU_HASH, T.LRU_PERCPU_HASH]) {
      const m = eng.create({ type, keySize: 4, valueSize: 4, maxEntries: 4, ncpus: 2 });
      expect(m.update(u32(1), new Uint8Array(16).fill(0xee))).toBe(0);
      expect(m.datapathUpdate(u32(2), u32(7), ANY, 1)).toBe(0);
      expect(hex(m.lookup(u32(2)).value)).toBe("00000000000000000700000000000000");
      expect(m.datapathUpdate(u32(1), u32(5), ANY, 1)).toBe(0);
      expect(hex(m.lookup(u32(1)).value)).toBe("eeeeeeeeeeeeeeee05000000eeeeeeee");
      expect(readU32(m.datapathLookup(u32(1), 1).value)).toBe(5);
      expect(readU32(m.datapathLookup(u32(1), 0).value)).toBe(0xeeeeeeee);
      expect(m.datapathLookup(u32(1), 2).err).toBe(E.EINVAL);
      expect(m.datapathDelete(u32(1), 0)).toBe(0);
      expect(m.lookup(u32(1)).err).toBe(E.ENOENT);
      m.free();
    }
  });

  it("clears on mapClear and is reusable", () => {
    const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 3 });
    for (let k = 0; k < 3; k++) m.update(u32(k), u32(k));
    eng.x.mapClear(m.h);
    expect(m.count()).toBe(0);
    expect(m.keys()).toEqual([]);
    for (let k = 3; k < 6; k++) expect(m.update(u32(k), u32(k))).toBe(0);
    expect(m.update(u32(9), u32(9))).toBe(E.E2BIG);
    m.free();
  });
});
