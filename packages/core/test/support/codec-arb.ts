// Random codecs for properties over BTF: every leaf codec core has (ints of both orders,
// addresses, bytes, padding, arrays, lpmKey, a packed u64, endpointKey) and structs of them,
// packed or not, nested.
import fc from "fast-check";
import { aligned, array, be16, be32, be64, bytes, endpointKey, i16, i32, i64, i8, ipv4, ipv6, lpmKey, pad, struct, u16, u32, u64, u8, type Codec } from "@bpfkit/core";

const leaf: fc.Arbitrary<Codec<unknown>> = fc.oneof(
  fc.constantFrom<Codec<unknown>>(u8, u16, u32, u64, i8, i16, i32, i64, be16, be32, be64, ipv4, ipv6, endpointKey),
  fc.nat({ max: 9 }).map((n) => bytes(n) as Codec<unknown>),
  fc.integer({ min: 1, max: 5 }).map((n) => pad(n) as Codec<unknown>),
  fc.nat({ max: 4 }).map((n) => array(u16, n) as Codec<unknown>),
  fc.constantFrom(lpmKey(ipv4), aligned(u64, 1)) as fc.Arbitrary<Codec<unknown>>,
);

/** A leaf codec or a struct (fields f0, f1, …) of them, packed or not, a few levels deep. */
export const codecArb: fc.Arbitrary<Codec<unknown>> = fc.letrec<{ codec: Codec<unknown>; struct: Codec<unknown> }>((tie) => ({
  codec: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("struct")),
  struct: fc.tuple(fc.array(tie("codec"), { minLength: 1, maxLength: 5 }), fc.boolean()).map(([fields, packed]) =>
    struct(Object.fromEntries(fields.map((c, i) => [`f${i}`, c as Codec<unknown>])), { packed }) as Codec<unknown>),
})).codec;
