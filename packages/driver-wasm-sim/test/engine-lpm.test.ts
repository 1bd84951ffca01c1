import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ANY, E, EXIST, Engine, NOEXIST, T, hex, readU32, u32 } from "./engine-harness.js";
import { LpmModel } from "./engine-ref.js";

const eng = new Engine();

function lpmKey(plen: number, data: Uint8Array): Uint8Array {
  const k = new Uint8Array(4 + data.length);
  k.set(u32(plen));
  k.set(data, 4);
  return k;
}
const ip4 = (s: string) => Uint8Array.from(s.split(".").map(Number));
const v4 = (plen: number, ip: string) => lpmKey(plen, ip4(ip));
const show = (k: Uint8Array) => `${[...k.subarray(4)].join(".")}/${readU32(k)}`;

describe("engine LPM_TRIE (kernel-maps.md §9)", () => {
  it("walks the §9.3 example in the kernel's order", () => {
    const m = eng.create({ type: T.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 10, flags: 1 });
    for (const [p, ip] of [[16, "192.168.0.0"], [24, "192.168.0.0"], [24, "192.168.1.0"], [24, "192.168.128.0"]] as const) {
      expect(m.update(v4(p, ip), u32(p))).toBe(0);
    }
    expect(m.keys().map(show)).toEqual(["192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24", "192.168.0.0/16"]);
    // Absent keys (including an internal branching prefix) and prefixlen > max restart the walk.
    expect(show(m.nextKey(v4(23, "192.168.0.0")).key)).toBe("192.168.0.0/24");
    expect(show(m.nextKey(v4(33, "192.168.0.0")).key)).toBe("192.168.0.0/24");
    expect(m.nextKey(v4(16, "192.168.0.0")).err).toBe(E.ENOENT);
    m.free();
  });

  it("looks up the longest prefix, capped by the query's prefixlen", () => {
    const m = eng.create({ type: T.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 10, flags: 1 });
    m.update(v4(0, "0.0.0.0"), u32(0));
    m.update(v4(16, "192.168.0.0"), u32(16));
    m.update(v4(24, "192.168.1.0"), u32(24));
    expect(readU32(m.lookup(v4(32, "192.168.1.77")).value)).toBe(24);
    expect(readU32(m.lookup(v4(16, "192.168.1.77")).value)).toBe(16);
    expect(readU32(m.lookup(v4(32, "10.1.2.3")).value)).toBe(0);
    expect(m.lookup(v4(33, "192.168.1.77")).err).toBe(E.ENOENT);
    m.free();
  });

  it("replaces stored host bits on update, errs as the kernel does, and is ENOSPC when full", () => {
    const m = eng.create({ type: T.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 2, flags: 1 });
    expect(m.update(v4(24, "192.168.0.0"), u32(1))).toBe(0);
    expect(m.update(v4(24, "192.168.0.77"), u32(2), NOEXIST)).toBe(E.EEXIST);
    expect(m.update(v4(24, "192.168.0.77"), u32(2), EXIST)).toBe(0);
    expect(hex(m.nextKey(null).key)).toBe("18000000c0a8004d");
    expect(m.update(v4(25, "192.168.0.0"), u32(3), EXIST)).toBe(E.ENOENT);
    expect(m.update(v4(33, "192.168.0.0"), u32(3))).toBe(E.EINVAL);
    expect(m.update(v4(24, "192.168.0.0"), u32(3), 3)).toBe(E.EINVAL);
    expect(m.update(v4(24, "192.168.0.0"), u32(3), 4)).toBe(E.EINVAL);
    expect(m.update(v4(8, "10.0.0.0"), u32(3))).toBe(0);
    expect(m.update(v4(8, "11.0.0.0"), u32(3))).toBe(E.ENOSPC);
    expect(m.update(v4(8, "10.0.0.0"), u32(4))).toBe(0);
    expect(m.delete(v4(33, "10.0.0.0"))).toBe(E.EINVAL);
    expect(m.delete(v4(9, "10.0.0.0"))).toBe(E.ENOENT);
    expect(m.delete(v4(8, "10.9.9.9"))).toBe(0);
    expect(m.lookupAndDelete(v4(24, "192.168.0.0")).err).toBe(E.ENOTSUPP);
    expect(m.count()).toBe(1);
    m.free();
  });

  it("property: errnos, lookups, walk order and next-key equal a brute-force prefix set", () => {
    const dataSize = fc.constantFrom(1, 2, 3, 4, 16);
    fc.assert(
      fc.property(dataSize, fc.integer({ min: 1, max: 40 }), fc.infiniteStream(fc.nat()), fc.array(fc.nat(), { minLength: 1, maxLength: 150 }), (ds, maxEntries, rnd, seeds) => {
        const m = eng.create({ type: T.LPM_TRIE, keySize: 4 + ds, valueSize: 4, maxEntries, flags: 1 });
        const model = new LpmModel(ds, maxEntries);
        const it = rnd[Symbol.iterator]();
        const r = () => it.next().value as number;
        // Few base patterns, so prefixes nest and share often.
        const bases = Array.from({ length: 4 }, () => Uint8Array.from({ length: ds }, () => r() & 0xff));
        const randKey = () => {
          const data = bases[r() % 4]!.slice();
          data[r() % ds] ^= 1 << (r() % 8);
          const plen = r() % 10 === 0 ? ds * 8 + 1 : r() % (ds * 8 + 1);
          return { plen, data };
        };
        try {
          for (const s of seeds) {
            const { plen, data } = randKey();
            const op = s % 4;
            if (op <= 1) {
              const flags = [ANY, NOEXIST, EXIST, 3][r() % 4]!;
              const v = u32(s);
              expect(m.update(lpmKey(plen, data), v, flags)).toBe(model.update(plen, data, v, flags));
            } else if (op === 2) {
              expect(m.delete(lpmKey(plen, data))).toBe(model.delete(plen, data));
            } else {
              const want = model.lookup(plen, data);
              const got = m.lookup(lpmKey(plen, data));
              expect(got.err === 0 ? hex(got.value) : null).toBe(want ? hex(want.value) : null);
            }
          }
          const order = model.order();
          expect(m.keys().map(hex)).toEqual(order.map((e) => hex(lpmKey(e.plen, e.data))));
          expect(m.count()).toBe(order.length);
          for (let i = 0; i < 10; i++) {
            const k = i < order.length ? order[i]! : randKey();
            const want = model.nextKey(k);
            const got = m.nextKey(lpmKey(k.plen, k.data));
            expect(got.err === 0 ? hex(got.key) : null).toBe(want ? hex(lpmKey(want.plen, want.data)) : null);
          }
        } finally {
          m.free();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("scales: 100k IPv4 prefixes insert, look up and walk in the §9.3 order", () => {
    // Raw exports and one scratch region: this checks the engine's cost, not the harness's.
    const x = eng.x;
    const n = 100_000;
    const h = x.mapCreate(T.LPM_TRIE, 8, 4, n, 1, 2, 0);
    const s = eng.scratch(32);
    const prefix = (i: number) => [16 + (i % 17), Math.imul(i, 2654435761) >>> 0] as const;
    let dv = new DataView(x.memory.buffer);
    let stored = 0;
    for (let i = 0; i < n; i++) {
      if (dv.buffer.byteLength === 0) dv = new DataView(x.memory.buffer);
      const [p, ip] = prefix(i);
      dv.setUint32(s, p, true);
      dv.setUint32(s + 4, ip, false);
      dv.setUint32(s + 8, i, true);
      const r = x.mapUpdate(h, s, s + 8, 0);
      if (r === 0) stored++;
      else expect(r).toBe(-E.EEXIST);
    }
    expect(x.mapCount(h)).toBe(stored);
    dv = new DataView(x.memory.buffer);
    // A /32 query finds the stored prefix it was built from (or a longer one).
    for (let i = 0; i < n; i += 97) {
      const [p, ip] = prefix(i);
      dv.setUint32(s, 32, true);
      dv.setUint32(s + 4, ip, false);
      expect(x.mapLookup(h, s, s + 8)).toBe(0);
      expect(dv.getUint32(s + 8, true) % 17 + 16).toBeGreaterThanOrEqual(p);
    }
    // Each key is followed by its §9.3 successor: the walk is sorted by the comparator.
    let r = x.mapGetNextKey(h, 0, s + 16), walked = 0, pa = -1, ba = 0;
    while (r === 0) {
      const pb = dv.getUint32(s + 16, true), bb = dv.getUint32(s + 20, false);
      if (walked > 0) {
        const m = Math.min(pa, pb);
        const ma = m === 0 ? 0 : ba >>> (32 - m), mb = m === 0 ? 0 : bb >>> (32 - m);
        if (ma !== mb ? ma > mb : pa <= pb) throw new Error(`walk out of order at ${walked}`);
      }
      pa = pb; ba = bb; walked++;
      dv.setUint32(s, pb, true);
      dv.setUint32(s + 4, bb, false);
      r = x.mapGetNextKey(h, s, s + 16);
    }
    expect(r).toBe(-E.ENOENT);
    expect(walked).toBe(stored);
    x.mapFree(h);
  });
});
