import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Engine } from "./engine-harness.js";
import { refJhash } from "./engine-ref.js";


describe("engine jhash", () => {
  const eng = new Engine();
  const bytes = (...b: number[]) => new Uint8Array(b);

  it("matches the kernel-verified vectors of kernel-maps.md §5.1 (seed 0)", () => {
    expect(eng.jhash(bytes(0, 0, 0, 0))).toBe(0x049396b8);
    expect(eng.jhash(bytes(1, 0, 0, 0))).toBe(0x72a82a9b);
    expect(eng.jhash(bytes(2, 0, 0, 0))).toBe(0xee626cca);
    expect(eng.jhash(bytes(3, 0, 0, 0))).toBe(0x9917754f);
    expect(eng.jhash(new TextEncoder().encode("abc"))).toBe(0x0e397631);
    expect(eng.jhash(new Uint8Array(8))).toBe(0x58c184bf);
    expect(eng.jhash(new Uint8Array(13).fill(1))).toBe(0x10bdc9d1);
  });

  it("property: equals the byte-wise reference for every length 0..80 and any seed", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.nat({ max: 0xffffffff }), (key, seed) => {
        expect(eng.jhash(key, seed)).toBe(refJhash(key, seed));
      }),
      { numRuns: 500 },
    );
  });
});
