// The engine's QUEUE/STACK ring and BLOOM_FILTER bitset (assembly/queue-stack.ts, bloom.ts),
// against small models: a bounded deque for the ring (its head and tail wrap at max + 1 slots),
// and for the bloom filter the bits jhash(value, seed + i) sets, with the u32 wrap of seed + i.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { E, Engine, EXIST, errno } from "./engine-harness.js";
import { refJhash } from "./engine-ref.js";

const QUEUE = 22, STACK = 23, BLOOM = 30;
const K = new Uint8Array(0);

describe("engine QUEUE and STACK", () => {
  it("a random walk of pushes (BPF_ANY, BPF_EXIST), peeks, pops and clears matches a bounded deque", () => {
    fc.assert(fc.property(
      fc.constantFrom(QUEUE, STACK), fc.integer({ min: 1, max: 9 }), fc.constantFrom(1, 3, 4, 8, 13),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffffff })), { maxLength: 200 }),
      (type, max, vs, ops) => {
        const eng = new Engine();
        const m = eng.create({ type, keySize: 0, valueSize: vs, maxEntries: max });
        const model: Uint8Array[] = [];
        const val = (n: number) => Uint8Array.from({ length: vs }, (_, i) => (n >>> (i % 3) * 8) & 0xff);
        const next = () => (type === QUEUE ? model[0] : model[model.length - 1]);
        for (const [op, n] of ops) {
          if (op < 4) {
            const flags = op === 3 ? EXIST : 0;
            const full = model.length === max;
            expect(m.update(K, val(n), flags)).toBe(full && flags === 0 ? E.E2BIG : 0);
            if (!full || flags !== 0) {
              if (full) model.shift();
              model.push(val(n));
            }
          } else if (op < 6) {
            const r = m.lookup(K);
            expect(r.err).toBe(model.length === 0 ? E.ENOENT : 0);
            if (model.length > 0) expect(r.value).toEqual(next());
          } else if (op < 9) {
            const r = m.lookupAndDelete(K);
            expect(r.err).toBe(model.length === 0 ? E.ENOENT : 0);
            if (model.length > 0) {
              expect(r.value).toEqual(next());
              if (type === QUEUE) model.shift();
              else model.pop();
            }
          } else {
            eng.x.mapClear(m.h);
            model.length = 0;
          }
          expect(m.count()).toBe(model.length);
        }
      },
    ), { numRuns: 150 });
  });

  it("refuses keys, next_key, delete and batches as the kernel does; value_size 0 or a key is EINVAL at create", () => {
    const eng = new Engine();
    const m = eng.create({ type: QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 });
    expect(m.delete(K)).toBe(E.EINVAL);
    expect(m.nextKey(null).err).toBe(E.EINVAL);
    expect(m.update(K, new Uint8Array(4), 1)).toBe(E.EINVAL);
    expect(m.update(K, new Uint8Array(4), 3)).toBe(E.EINVAL);
    expect(m.lookupBatch(null, 2, false, 0).err).toBe(E.ENOTSUPP);
    expect(errno(eng.x.mapUpdateBatch(m.h, 0, 0, 1))).toBe(E.ENOTSUPP);
    expect(errno(eng.x.mapDeleteBatch(m.h, 0, 1))).toBe(E.ENOTSUPP);
    expect(eng.tryCreate({ type: QUEUE, keySize: 4, valueSize: 4, maxEntries: 2 })).toBe(E.EINVAL);
    expect(eng.tryCreate({ type: STACK, keySize: 0, valueSize: 4, maxEntries: 2, extra: 1 })).toBe(E.EINVAL);
    expect(eng.tryCreate({ type: 1, keySize: 0, valueSize: 4, maxEntries: 2 })).toBe(E.EINVAL);
  });

  it("a ring too large for the memory limit is ENOMEM, and the engine still serves", () => {
    const eng = new Engine();
    eng.x.setMemoryLimit(2 << 20);
    expect(eng.tryCreate({ type: QUEUE, keySize: 0, valueSize: 1024, maxEntries: 4096 })).toBe(E.ENOMEM);
    expect(eng.tryCreate({ type: STACK, keySize: 0, valueSize: 0x7fffffff, maxEntries: 0xffffffff })).toBe(E.ENOMEM);
    const m = eng.create({ type: STACK, keySize: 0, valueSize: 4, maxEntries: 4 });
    expect(m.update(K, new Uint8Array([1, 2, 3, 4]))).toBe(0);
  });
});

describe("engine BLOOM_FILTER", () => {
  /** bloom_map_alloc's bitset bits for sizes without u32 overflow. */
  const bits = (max: number, k: number) => {
    const b = Math.floor((max * k) / 5) * 7;
    return b <= 64 ? 64 : 2 ** Math.ceil(Math.log2(b));
  };

  it("every peek is the jhash model's, for any seed (seed + i wraps at 2^32), hash count and value size", () => {
    fc.assert(fc.property(
      fc.constantFrom(0, 1, 0xfffffffe, 0x9e3779b9), fc.integer({ min: 0, max: 15 }), fc.constantFrom(1, 3, 4, 6, 8, 16),
      fc.constantFrom(1, 5, 40, 300, 4096),
      (seed, extra, vs, max) => {
        const eng = new Engine();
        const k = extra === 0 ? 5 : extra;
        const n = bits(max, k);
        const m = eng.create({ type: BLOOM, keySize: 0, valueSize: vs, maxEntries: max, seed, extra });
        const val = (x: number) => Uint8Array.from({ length: vs }, (_, i) => (Math.imul(x + 1, 2654435761) >>> (i * 3)) & 0xff);
        const set = new Set<number>();
        const bitsOf = (v: Uint8Array) => Array.from({ length: k }, (_, i) => refJhash(v, (seed + i) >>> 0) & (n - 1));
        for (let x = 0; x < 3 * max && x < 200; x++) {
          expect(m.update(K, val(x))).toBe(0);
          for (const b of bitsOf(val(x))) set.add(b);
        }
        for (let x = 0; x < 400; x++) {
          const s = eng.put(val(x));
          const want = bitsOf(val(x)).every((b) => set.has(b));
          expect(errno(eng.x.mapLookup(m.h, s, s))).toBe(want ? 0 : E.ENOENT);
        }
      },
    ), { numRuns: 60 });
  });

  it("push takes only BPF_ANY; delete and next_key are EOPNOTSUPP, pop ENOTSUPP; clear empties the bitset", () => {
    const eng = new Engine();
    const m = eng.create({ type: BLOOM, keySize: 0, valueSize: 4, maxEntries: 4 });
    const v = new Uint8Array([9, 9, 9, 9]);
    expect(m.update(K, v, 1)).toBe(E.EINVAL);
    expect(m.update(K, v, 2)).toBe(E.EINVAL);
    expect(m.update(K, v)).toBe(0);
    const s = eng.put(v);
    expect(eng.x.mapLookup(m.h, s, s)).toBe(0);
    expect(m.delete(K)).toBe(95);
    expect(m.nextKey(null).err).toBe(95);
    expect(m.lookupAndDelete(K).err).toBe(E.ENOTSUPP);
    expect(m.count()).toBe(0);
    eng.x.mapClear(m.h);
    const s2 = eng.put(v);
    expect(errno(eng.x.mapLookup(m.h, s2, s2))).toBe(E.ENOENT);
    expect(eng.tryCreate({ type: BLOOM, keySize: 0, valueSize: 4, maxEntries: 4, extra: 16 })).toBe(E.EINVAL);
  });

  it("the 2^32-bit bitset of an overflowing max × hashes is ENOMEM under a limit, not a trap", () => {
    const eng = new Engine();
    eng.x.setMemoryLimit(8 << 20);
    expect(eng.tryCreate({ type: BLOOM, keySize: 0, valueSize: 4, maxEntries: 0xffffffff, extra: 15 })).toBe(E.ENOMEM);
    expect(eng.tryCreate({ type: BLOOM, keySize: 0, valueSize: 4, maxEntries: 0x40000000 })).toBe(E.ENOMEM);
    expect(eng.create({ type: BLOOM, keySize: 0, valueSize: 4, maxEntries: 8 }).update(K, new Uint8Array(4))).toBe(0);
  });
});
