// The engine's bloom bitset size at the edges of bloom_map_alloc's arithmetic: max × hashes is
// divided by 5 before it is multiplied by 7, so sizes whose rounding straddles a power of two
// tell that order apart (47 × 1: 63 bits → 64, where 47 × 7 / 5 = 65 would give 128).
import { describe, expect, it } from "vitest";
import { E, Engine, errno } from "./engine-harness.js";
import { refJhash } from "./engine-ref.js";

const BLOOM = 30;
const K = new Uint8Array(0);

describe("engine BLOOM_FILTER bitset sizing", () => {
  it("divides by 5 before multiplying by 7: peeks match a bitset of the kernel's size where the order matters", () => {
    for (const [max, k, nBits] of [[47, 1, 64], [93, 1, 128], [184, 1, 256], [31, 3, 128]] as const) {
      const eng = new Engine();
      const m = eng.create({ type: BLOOM, keySize: 0, valueSize: 4, maxEntries: max, seed: 0, extra: k });
      const val = (x: number) => new Uint8Array([x & 0xff, (x >>> 8) & 0xff, 0, 0]);
      const set = new Set<number>();
      const bitsOf = (v: Uint8Array) => Array.from({ length: k }, (_, i) => refJhash(v, i) & (nBits - 1));
      for (let x = 0; x < max; x++) {
        expect(m.update(K, val(x))).toBe(0);
        for (const b of bitsOf(val(x))) set.add(b);
      }
      for (let x = 0; x < 1000; x++) {
        const s = eng.put(val(x));
        const want = bitsOf(val(x)).every((b) => set.has(b));
        expect(errno(eng.x.mapLookup(m.h, s, s)), `max ${max} k ${k} value ${x}`).toBe(want ? 0 : E.ENOENT);
      }
    }
  });
});
