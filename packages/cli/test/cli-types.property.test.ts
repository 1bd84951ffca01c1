// Property: what `bpfkit map dump` prints for any key or value can be typed back into
// `bpfkit map update` and gives the same bytes — for every scalar type, arrays and nested structs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseType } from "../src/index.js";

const SCALARS = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "be16", "be32", "be64", "ipv4", "ipv6", "mac", "bytes[3]"];

/** Type specs: scalars, arrays of them, and structs of those (two levels), with padding fields. */
const specArb: fc.Arbitrary<string> = fc.letrec<{ spec: string; leaf: string }>((tie) => ({
  leaf: fc.oneof(
    fc.constantFrom(...SCALARS),
    fc.tuple(fc.constantFrom(...SCALARS), fc.integer({ min: 1, max: 3 })).map(([s, n]) => `${s}[${n}]`),
  ),
  spec: fc.oneof(
    { weight: 2, arbitrary: tie("leaf") },
    {
      weight: 1,
      arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: tie("leaf") }, { weight: 1, arbitrary: fc.constant("pad[2]") }), { minLength: 1, maxLength: 4 })
        .chain((members) => fc.boolean().map((nest) => (nest ? [...members, "struct{x:u16,y:ipv4}"] : members)))
        .filter((members) => members.some((m) => !m.startsWith("pad")))
        .map((members) => `struct{${members.map((m, i) => `f${i}:${m}`).join(",")}}`),
    },
  ),
})).spec;

describe("key and value text round-trips", () => {
  it("property: parse(format(bytes)) gives the bytes back (padding zeroed), for random types and bytes", () => {
    fc.assert(fc.property(specArb, fc.infiniteStream(fc.integer({ min: 0, max: 255 })), (spec, stream) => {
      const t = parseType(spec);
      const raw = Uint8Array.from(stream.take(t.size));
      // What the map would hold once written through the codec: padding bytes are zero.
      const canonical = new Uint8Array(t.size);
      t.codec.encodeAt(t.codec.decodeAt(raw, 0), canonical, 0);
      const text = t.format(raw, 0);
      const back = new Uint8Array(t.size);
      t.parse(text, back, 0);
      expect(Array.from(back), `${spec}: ${text}`).toEqual(Array.from(canonical));
    }), { numRuns: 300, seed: 20261127 });
  });

  it("LPM prefixes round-trip for every prefix length", () => {
    const t = parseType("lpm4");
    for (let len = 0; len <= 32; len++) {
      const b = new Uint8Array(8);
      t.parse(`10.20.30.40/${len}`, b, 0);
      expect(t.format(b, 0)).toBe(`10.20.30.40/${len}`);
    }
  });
});
