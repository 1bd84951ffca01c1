import { describe, expect, it } from "vitest";
import { E, Engine, F, T, hex, readU32, u32 } from "./engine-harness.js";
import { HtabModel } from "./engine-ref.js";

const eng = new Engine();
const ids = (keys: Uint8Array[]) => keys.map((k) => readU32(k));
const walk = (m: ReturnType<typeof eng.create>) => ids(m.keys());

describe("engine batches: hash family bucket tokens (kernel-maps.md §10.1)", () => {
  const make = () => {
    const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 8, flags: F.ZERO_SEED });
    for (let k = 0; k < 6; k++) m.update(u32(k), u32(100 + k));
    return m;
  };

  it("copies whole buckets: the §10.1 example, count=2 per call", () => {
    const m = make();
    let r = m.lookupBatch(null, 2);
    expect([r.err, ids(r.keys), ids(r.values), readU32(r.outToken)]).toEqual([0, [0, 4], [100, 104], 2]);
    r = m.lookupBatch(r.outToken, 2);
    expect([r.err, ids(r.keys), ids(r.values), readU32(r.outToken)]).toEqual([0, [2, 1], [102, 101], 6]);
    r = m.lookupBatch(r.outToken, 2);
    expect([r.err, ids(r.keys), ids(r.values), readU32(r.outToken)]).toEqual([E.ENOENT, [5, 3], [105, 103], 8]);
    m.free();
  });

  it("ends with ENOENT and a count; in_batch ≥ n_buckets is ENOENT with count 0; count 0 is a no-op", () => {
    const m = make();
    let r = m.lookupBatch(null, 100);
    expect([r.err, r.count, ids(r.keys), readU32(r.outToken)]).toEqual([E.ENOENT, 6, [0, 4, 2, 1, 5, 3], 8]);
    r = m.lookupBatch(u32(8), 4);
    expect([r.err, r.count, readU32(r.outToken)]).toEqual([E.ENOENT, 0, 0]);
    r = m.lookupBatch(u32(7), 4);
    expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([E.ENOENT, [3], 8]);
    r = m.lookupBatch(null, 0);
    expect([r.err, r.count, readU32(r.outToken)]).toEqual([0, 0, 0]);
    m.free();
  });

  it("is ENOSPC only when the first non-empty bucket does not fit", () => {
    const model = new HtabModel(64, true);
    const seen = new Map<number, number[]>();
    let trio: number[] = [];
    for (let k = 0; trio.length < 3; k++) {
      const b = model.bucket(u32(k));
      seen.set(b, [...(seen.get(b) ?? []), k]);
      if (seen.get(b)!.length === 3) trio = seen.get(b)!;
    }
    const bucket = model.bucket(u32(trio[0]!));
    for (const del of [false, true]) {
      const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 64, flags: F.ZERO_SEED });
      for (const k of trio) m.update(u32(k), u32(k));
      m.update(u32(1_000_000), u32(1));
      expect(bucket).toBe(61); // as on the kernel (results/probe_batch.txt)
      let r = m.lookupBatch(null, 3, del);
      expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([0, [1_000_000], 61]);
      r = m.lookupBatch(u32(bucket), 2, del);
      expect([r.err, r.count, readU32(r.outToken)]).toEqual([E.ENOSPC, 0, 61]);
      // From bucket 0: with 1000000 still there it fits and the call stops before bucket 61;
      // once LOOKUP_AND_DELETE_BATCH took it, only empty buckets precede 61: ENOSPC.
      r = m.lookupBatch(u32(0), 2, del);
      expect([r.err, r.count, readU32(r.outToken)]).toEqual(del ? [E.ENOSPC, 0, 61] : [0, 1, 61]);
      expect(m.count()).toBe(del ? 3 : 4);
      r = m.lookupBatch(u32(bucket), 4, del);
      expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([E.ENOENT, [...trio].reverse(), 64]);
      expect(m.count()).toBe(del ? 0 : 4);
      m.free();
    }
  });

  it("LOOKUP_AND_DELETE_BATCH removes exactly what it returned", () => {
    const m = make();
    let r = m.lookupBatch(null, 3, true);
    expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([0, [0, 4, 2], 3]);
    expect(walk(m)).toEqual([1, 5, 3]);
    r = m.lookupBatch(r.outToken, 3, true);
    expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([E.ENOENT, [1, 5, 3], 8]);
    expect(walk(m)).toEqual([]);
    m.free();
  });

  it("gives per-CPU values in the §6 layout and HASH_OF_MAPS ids; LRU and per-CPU delete too", () => {
    const p = eng.create({ type: T.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4, ncpus: 2 });
    p.update(u32(1), Uint8Array.from([10, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa, 11, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa]));
    const r = p.lookupBatch(null, 4);
    expect([r.err, hex(r.values[0]!)]).toEqual([E.ENOENT, "0a000000aaaaaaaa0b000000aaaaaaaa"]);
    expect(p.lookupBatch(null, 4, true).count).toBe(1);
    expect(p.count()).toBe(0);
    const l = eng.create({ type: T.LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4, ncpus: 2 });
    for (let k = 0; k < 4; k++) l.update(u32(k), new Uint8Array(16));
    expect(l.lookupBatch(null, 8, true)).toMatchObject({ err: E.ENOENT, count: 4 });
    expect(l.count()).toBe(0);
    for (let k = 0; k < 4; k++) expect(l.update(u32(k), new Uint8Array(16))).toBe(0);
    expect(l.count()).toBe(4);
    [p, l].forEach((m) => m.free());
  });
});

describe("engine batches: generic key tokens and update/delete (§10.2, §10.3)", () => {
  it("ARRAY: key tokens, restart on a missing in-token, ENOENT with a count at the end", () => {
    const m = eng.create({ type: T.ARRAY, keySize: 4, valueSize: 4, maxEntries: 5 });
    for (let i = 0; i < 5; i++) m.update(u32(i), u32(200 + i));
    let r = m.lookupBatch(null, 2);
    expect([r.err, ids(r.keys), ids(r.values), readU32(r.outToken)]).toEqual([0, [0, 1], [200, 201], 1]);
    r = m.lookupBatch(r.outToken, 2);
    expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([0, [2, 3], 3]);
    r = m.lookupBatch(r.outToken, 2);
    expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([E.ENOENT, [4], 4]);
    r = m.lookupBatch(u32(99), 2);
    expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([0, [0, 1], 1]);
    expect(m.lookupBatch(null, 2, true).err).toBe(E.ENOTSUPP);
    expect(m.deleteBatch([u32(0)]).err).toBe(E.ENOTSUPP);
    expect(m.updateBatch([0, 1, 7, 2].map(u32), [1, 2, 3, 4].map(u32))).toEqual({ err: E.E2BIG, count: 2 });
    m.free();
  });

  it("LPM_TRIE: key tokens in trie order; delete batch works; no lookup-and-delete", () => {
    const m = eng.create({ type: T.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 10, flags: F.NO_PREALLOC });
    const key = (p: number, ip: number) => { const k = new Uint8Array(8); k.set(u32(p)); new DataView(k.buffer).setUint32(4, ip, false); return k; };
    for (const [p, ip] of [[16, 0xc0a80000], [24, 0xc0a80000], [24, 0xc0a80100], [24, 0xc0a88000]] as const) m.update(key(p, ip), u32(p));
    let r = m.lookupBatch(null, 10, false, 8);
    expect([r.err, r.keys.map(hex), hex(r.outToken)]).toEqual([E.ENOENT,
      ["18000000c0a80000", "18000000c0a80100", "18000000c0a88000", "10000000c0a80000"], "10000000c0a80000"]);
    r = m.lookupBatch(null, 2, false, 8);
    expect([r.err, r.count, hex(r.outToken)]).toEqual([0, 2, "18000000c0a80100"]);
    expect(m.lookupBatch(null, 2, true, 8).err).toBe(E.ENOTSUPP);
    expect(m.deleteBatch([key(24, 0xc0a80000), key(8, 0x0a000000), key(16, 0xc0a80000)])).toEqual({ err: E.ENOENT, count: 1 });
    expect(m.count()).toBe(3);
    m.free();
  });

  it("ARRAY_OF_MAPS skips empty slots; out_batch is the last key visited", () => {
    const m = eng.create({ type: T.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 3 });
    m.update(u32(1), u32(4242));
    let r = m.lookupBatch(null, 3);
    expect([r.err, ids(r.keys), ids(r.values), readU32(r.outToken)]).toEqual([E.ENOENT, [1], [4242], 2]);
    r = m.lookupBatch(u32(0), 3);
    expect([r.err, ids(r.keys), readU32(r.outToken)]).toEqual([E.ENOENT, [1], 2]);
    expect(m.deleteBatch([u32(1)]).err).toBe(E.ENOTSUPP);
    m.free();
  });

  it("hash update/delete batches stop at the first error with the partial count", () => {
    const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 4, flags: F.ZERO_SEED });
    expect(m.updateBatch([0, 1, 2, 3, 4, 5].map(u32), [0, 1, 2, 3, 4, 5].map(u32))).toEqual({ err: E.E2BIG, count: 4 });
    expect(walk(m)).toEqual([0, 2, 3, 1]);
    expect(m.deleteBatch([0, 1, 9, 2].map(u32))).toEqual({ err: E.ENOENT, count: 2 });
    expect(walk(m)).toEqual([2, 3]);
    expect(m.updateBatch([], [])).toEqual({ err: 0, count: 0 });
    m.free();
  });

  it("PROG_ARRAY has no batch operations (ENOTSUPP)", () => {
    const m = eng.create({ type: T.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(m.lookupBatch(null, 2).err).toBe(E.ENOTSUPP);
    expect(m.lookupBatch(null, 2, true).err).toBe(E.ENOTSUPP);
    expect(m.updateBatch([u32(0)], [u32(1)]).err).toBe(E.ENOTSUPP);
    expect(m.deleteBatch([u32(0)]).err).toBe(E.ENOTSUPP);
    m.free();
  });
});
