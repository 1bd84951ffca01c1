import { describe, expect, it } from "vitest";
import { E, Engine, T, u32 } from "./engine-harness.js";

const MiB = 1 << 20;

describe("engine memory (issue 3 item 7)", () => {
  it("answers ENOMEM over the limit, at create and on growth, without trapping; nothing is lost", () => {
    const eng = new Engine();
    eng.x.setMemoryLimit(8 * MiB);
    expect(eng.tryCreate({ type: T.ARRAY, keySize: 4, valueSize: 1024, maxEntries: 16 * 1024 })).toBe(E.ENOMEM);
    expect(eng.tryCreate({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 1 << 22 })).toBe(E.ENOMEM);
    // Trie nodes are allocated per entry, so a huge LPM max_entries costs nothing up front.
    const lpm = eng.tryCreate({ type: T.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 0xffffffff, flags: 1 });
    if (typeof lpm === "number") throw new Error(`LPM create: ${lpm}`);
    lpm.free();
    // A preallocated hash takes all its elements at creation (76 MiB here); a NO_PREALLOC one
    // allocates per insert, so it meets the limit on growth.
    expect(eng.tryCreate({ type: T.HASH, keySize: 4, valueSize: 64, maxEntries: 1 << 20 })).toBe(E.ENOMEM);
    const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 64, maxEntries: 1 << 20, flags: 1 });
    const v = new Uint8Array(64);
    let k = 0, err = 0;
    for (; k < 1 << 20; k++) {
      v[0] = k & 0xff;
      err = m.update(u32(k), v);
      if (err !== 0) break;
    }
    expect(err).toBe(E.ENOMEM);
    expect(k).toBeGreaterThan(1000);
    expect(eng.x.memory.buffer.byteLength).toBeLessThanOrEqual(8 * MiB);
    expect(m.count()).toBe(k);
    expect(m.lookup(u32(k - 1)).value[0]).toBe((k - 1) & 0xff);
    expect(m.lookup(u32(k)).err).toBe(E.ENOENT);
    // Freeing gives the memory back: the same map fits again, with no growth.
    const before = eng.x.memory.buffer.byteLength;
    m.free();
    const again = eng.create({ type: T.HASH, keySize: 4, valueSize: 64, maxEntries: 1 << 20, flags: 1 });
    for (let i = 0; i < k; i++) expect(again.update(u32(i), v)).toBe(0);
    expect(eng.x.memory.buffer.byteLength).toBe(before);
    again.free();
  });

  it("an LPM insert that meets the limit is ENOMEM and leaves the entry count as it was", () => {
    const eng = new Engine();
    eng.x.setMemoryLimit(2 * MiB);
    const m = eng.create({ type: T.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 1 << 20, flags: 1 });
    let k = 0, err = 0;
    for (; k < 1 << 20; k++) {
      err = m.update(Uint8Array.from([...u32(32), ...u32(k * 2654435761)]), u32(k));
      if (err !== 0) break;
    }
    expect(err).toBe(E.ENOMEM);
    expect(m.count()).toBe(k);
    // The count decides ENOSPC: a leaked one would fill the trie early.
    eng.x.setMemoryLimit(0);
    expect(m.update(Uint8Array.from([...u32(32), ...u32(k * 2654435761)]), u32(k))).toBe(0);
    expect(m.count()).toBe(k + 1);
    m.free();
  });

  it("reuses freed memory: create/fill/free cycles of every kind do not grow memory", () => {
    const eng = new Engine();
    const cycle = () => {
      const maps = [
        eng.create({ type: T.HASH, keySize: 8, valueSize: 16, maxEntries: 5000 }),
        eng.create({ type: T.LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 3000 }),
        eng.create({ type: T.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4000, flags: 1 }),
        eng.create({ type: T.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4000 }),
      ];
      for (let i = 0; i < 4000; i++) {
        maps[0]!.update(Uint8Array.from([...u32(i), 1, 2, 3, 4]), new Uint8Array(16));
        maps[1]!.update(u32(i), new Uint8Array(8));
        maps[2]!.update(Uint8Array.from([...u32(32), ...u32(i * 7919)]), u32(i));
      }
      maps.forEach((m) => m.free());
    };
    cycle();
    const used = eng.x.memoryUsed();
    const size = eng.x.memory.buffer.byteLength;
    for (let i = 0; i < 4; i++) cycle();
    expect(eng.x.memoryUsed()).toBe(used);
    expect(eng.x.memory.buffer.byteLength).toBe(size);
  });

  it("holds a 1M-entry HASH with 8-byte keys and values in ≤ 96 MiB of wasm memory", () => {
    const x = new Engine().x;
    const n = 1_000_000;
    const h = x.mapCreate(T.HASH, 8, 8, n, 0, 2, 0);
    expect(h).toBeGreaterThan(0);
    const s = x.scratch(16);
    let dv = new DataView(x.memory.buffer);
    for (let i = 0; i < n; i++) {
      if (dv.buffer.byteLength === 0) dv = new DataView(x.memory.buffer);
      dv.setUint32(s, i, true);
      dv.setUint32(s + 4, i ^ 0x5a5a5a5a, true);
      dv.setFloat64(s + 8, i, true);
      const r = x.mapUpdate(h, s, s + 8, 0);
      if (r !== 0) throw new Error(`insert ${i}: ${r}`);
    }
    expect(x.mapCount(h)).toBe(n);
    dv = new DataView(x.memory.buffer);
    dv.setUint32(s, n - 1, true);
    dv.setUint32(s + 4, (n - 1) ^ 0x5a5a5a5a, true);
    expect(x.mapLookup(h, s, s + 8)).toBe(0);
    expect(new DataView(x.memory.buffer).getFloat64(s + 8, true)).toBe(n - 1);
    expect(x.memory.buffer.byteLength).toBeLessThanOrEqual(96 * MiB);
    x.mapFree(h);
    expect(x.memoryUsed()).toBeLessThan(MiB);
  });
});

describe("engine traps", () => {
  it("mapCreate's guards: zero sizes, zero max_entries, zero CPUs and impossible key sizes are EINVAL", () => {
    // The driver validates attrs first (§3.3); these keep a bad ABI call from laying out a map
    // the operations would then read past.
    const eng = new Engine();
    const ok = { keySize: 4, valueSize: 4, maxEntries: 4 };
    for (const type of [T.HASH, T.ARRAY, T.LRU_HASH, T.PERCPU_ARRAY, T.LPM_TRIE]) {
      const base = type === T.LPM_TRIE ? { ...ok, keySize: 8, flags: 1 } : ok;
      for (const bad of [{ keySize: 0 }, { valueSize: 0 }, { maxEntries: 0 }, { ncpus: 0 }]) {
        expect(eng.tryCreate({ type, ...base, ...bad }), `type ${type} ${JSON.stringify(bad)}`).toBe(E.EINVAL);
      }
      const m = eng.create({ type, ...base });
      m.free();
    }
    expect(eng.tryCreate({ type: T.ARRAY, ...ok, keySize: 8 })).toBe(E.EINVAL);
    expect(eng.tryCreate({ type: T.LPM_TRIE, ...ok, flags: 1 })).toBe(E.EINVAL);
    expect(eng.tryCreate({ type: 99, ...ok })).toBe(E.EINVAL);
  });

  it("a pointer outside memory throws a JS Error (never a silent state), and the engine keeps working", () => {
    const eng = new Engine();
    const m = eng.create({ type: T.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(m.update(u32(1), u32(2))).toBe(0);
    expect(() => eng.x.mapLookup(m.h, 0xfffffff0, 0)).toThrow(Error);
    expect(() => eng.x.mapUpdate(m.h, 0xfffffff0, 0xfffffff0, 0)).toThrow(/out of bounds/);
    expect(m.lookup(u32(1)).value).toEqual(u32(2));
    expect(m.count()).toBe(1);
    // An unknown handle is an errno, not a trap.
    expect(eng.x.mapLookup(9999, 0, 0)).toBe(-9);
    m.free();
  });
});

describe("engine element sizes (kernel-maps.md §4.1, §9)", () => {
  // bpf_mem_alloc gives each NO_PREALLOC hash element and LPM node one kmalloc of the object and
  // an 8-byte list node, at most KMALLOC_MAX_SIZE (4 MiB). Both sides of each boundary were
  // probed on 6.18; the conformance suite holds both drivers to the refusing side.
  it("an element of exactly what kmalloc gives is stored; 8 bytes more is ENOMEM on every insert", () => {
    const eng = new Engine();
    const KMAX = 4 * MiB;
    const shapes: Array<[string, number, number, number, Uint8Array]> = [
      // htab: 48 + round_up(key, 8) + round_up(value, 8) (per-CPU: + 8) + the list node
      ["HASH value", T.HASH, 4, KMAX - 64, u32(0)],
      ["PERCPU_HASH key", T.PERCPU_HASH, KMAX - 64, 1, new Uint8Array(KMAX - 64)],
      ["HASH_OF_MAPS key", T.HASH_OF_MAPS, KMAX - 64, 4, new Uint8Array(KMAX - 64)],
    ];
    for (const [what, type, keySize, valueSize, key] of shapes) {
      const fits = eng.create({ type, keySize, valueSize, maxEntries: 1, flags: 1, ncpus: 2 });
      const grown = eng.create({ type, keySize: keySize === 4 ? 4 : keySize + 1, valueSize: keySize === 4 ? valueSize + 1 : valueSize, maxEntries: 1, flags: 1, ncpus: 2 });
      const big = keySize === 4 ? key : new Uint8Array(keySize + 1);
      expect(fits.update(key, new Uint8Array(fits.valueBytes)), `${what}: exactly 4 MiB`).toBe(E.OK);
      expect(grown.update(big, new Uint8Array(grown.valueBytes)), `${what}: 8 bytes more`).toBe(E.ENOMEM);
      expect(grown.count(), `${what}: nothing stored`).toBe(0);
      fits.free();
      grown.free();
      // Preallocated maps take their elements from one vmalloc: the limit is not theirs.
      const prealloc = eng.create({ type, keySize: keySize === 4 ? 4 : keySize + 1, valueSize: keySize === 4 ? valueSize + 1 : valueSize, maxEntries: 1, ncpus: 2 });
      expect(prealloc.update(big, new Uint8Array(prealloc.valueBytes)), `${what}: preallocated`).toBe(E.OK);
      prealloc.free();
    }
    // A per-CPU element holds a pointer to its values, whatever their size: a 16-byte value fits too.
    const percpu = eng.create({ type: T.PERCPU_HASH, keySize: KMAX - 64, valueSize: 16, maxEntries: 1, flags: 1, ncpus: 2 });
    expect(percpu.update(new Uint8Array(KMAX - 64), new Uint8Array(percpu.valueBytes)), "PERCPU_HASH, 16-byte value").toBe(E.OK);
    percpu.free();
    // LPM: 24 (struct lpm_trie_node) + the key's data + the value + the list node.
    const key = new Uint8Array(260);
    key[0] = 8;
    const fits = eng.create({ type: T.LPM_TRIE, keySize: 260, valueSize: KMAX - 288, maxEntries: 2, flags: 1 });
    expect(fits.update(key, new Uint8Array(KMAX - 288)), "LPM node of exactly 4 MiB").toBe(E.OK);
    fits.free();
    const grown = eng.create({ type: T.LPM_TRIE, keySize: 260, valueSize: KMAX - 287, maxEntries: 2, flags: 1 });
    expect(grown.update(key, new Uint8Array(KMAX - 287)), "LPM node 1 byte more").toBe(E.ENOMEM);
    // A shorter key leaves room for the largest value trie_alloc allows.
    const short = eng.create({ type: T.LPM_TRIE, keySize: 8, valueSize: KMAX - 280, maxEntries: 2, flags: 1 });
    expect(short.update(key.subarray(0, 8), new Uint8Array(KMAX - 280)), "LPM key 8, largest value").toBe(E.OK);
    grown.free();
    short.free();
  });
});
