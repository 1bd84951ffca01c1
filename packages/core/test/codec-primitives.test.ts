import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  array, be16, be32, be64, bytes, encodeToBytes, formatWith, hex, i16, i32, i64, i8, u16, u32, u64, u8,
  type Codec, type FieldCodec,
} from "@bpfkit/core";

function roundTrip<T>(c: Codec<T>, v: T): T {
  return c.decode(encodeToBytes(c, v));
}

describe("integer codecs", () => {
  const cases: Array<[FieldCodec<number>, number, number]> = [
    [u8, 0, 0xff], [u16, 0, 0xffff], [u32, 0, 0xffffffff], [i8, -128, 127], [i16, -32768, 32767],
    [i32, -(2 ** 31), 2 ** 31 - 1], [be16, 0, 0xffff], [be32, 0, 0xffffffff],
  ];
  for (const [c, min, max] of cases) {
    it(`${c.name}: decode(encode(x)) = x for every x in [${min}, ${max}]`, () => {
      fc.assert(fc.property(fc.integer({ min, max }), (x) => roundTrip(c, x) === x));
    });
    it(`${c.name}: size and alignment are the C type's`, () => {
      expect(c.align).toBe(c.size);
    });
    it(`${c.name}: out-of-range and non-integers are rejected before writing`, () => {
      const out = new Uint8Array(c.size).fill(0xaa);
      expect(() => c.encode(max + 1, out)).toThrow(RangeError);
      expect(() => c.encode(min - 1, out)).toThrow(RangeError);
      expect(() => c.encode(1.5, out)).toThrow(TypeError);
      expect(() => c.encode("1" as unknown as number, out)).toThrow(TypeError);
      expect([...out].every((b) => b === 0xaa)).toBe(true);
    });
  }

  it("host order is little-endian here and network order is big-endian", () => {
    expect([...encodeToBytes(u32, 0x01020304)]).toEqual([4, 3, 2, 1]);
    expect([...encodeToBytes(be32, 0x01020304)]).toEqual([1, 2, 3, 4]);
    expect([...encodeToBytes(be16, 80)]).toEqual([0, 80]);
    expect([...encodeToBytes(i32, -2)]).toEqual([0xfe, 0xff, 0xff, 0xff]);
  });

  it("matches DataView for every u32 and i32 (the kernel's host-order bytes)", () => {
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (x) => {
      const dv = new DataView(new ArrayBuffer(4));
      dv.setInt32(0, x, true);
      return hex(encodeToBytes(i32, x)) === hex(new Uint8Array(dv.buffer));
    }));
  });

  it("short input or output is a RangeError that names the codec", () => {
    expect(() => u32.decode(new Uint8Array(3))).toThrow(/u32: needs 4 bytes/);
    expect(() => u32.encode(1, new Uint8Array(2))).toThrow(/u32: needs 4 bytes/);
    expect(() => u32.encodeAt(1, new Uint8Array(6), 3)).toThrow(RangeError);
  });

  it("encodeAt/decodeAt work at an offset and leave other bytes alone", () => {
    const b = new Uint8Array(8).fill(7);
    u16.encodeAt(0x0102, b, 3);
    expect([...b]).toEqual([7, 7, 7, 2, 1, 7, 7, 7]);
    expect(u16.decodeAt(b, 3)).toBe(0x0102);
  });
});

describe("64-bit codecs", () => {
  for (const [c, min, max] of [[u64, 0n, 2n ** 64n - 1n], [i64, -(2n ** 63n), 2n ** 63n - 1n], [be64, 0n, 2n ** 64n - 1n]] as const) {
    it(`${c.name}: decode(encode(x)) = x for every bigint in range`, () => {
      fc.assert(fc.property(fc.bigInt({ min, max }), (x) => roundTrip(c, x) === x));
    });
    it(`${c.name}: out of range is a RangeError, a float a TypeError; the ends themselves round-trip`, () => {
      expect([roundTrip(c, min), roundTrip(c, max)]).toEqual([min, max]);
      expect(() => encodeToBytes(c, max + 1n)).toThrow(RangeError);
      expect(() => encodeToBytes(c, min - 1n)).toThrow(RangeError);
      expect(() => encodeToBytes(c, 0.5 as unknown as bigint)).toThrow(TypeError);
    });
  }
  it("u64 decodes values under 2^32 (its fast path) and just past it exactly, at any offset", () => {
    const edges = [0n, 1n, 255n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n, 0x1_0000_00ffn, 0xff_0000_0000n, 2n ** 63n];
    for (const x of edges) expect(roundTrip(u64, x)).toBe(x);
    // Values near the boundary, where the high half is or is not zero, at an odd offset.
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 34n }), fc.nat(5), (x, at) => {
      const b = new Uint8Array(16).fill(0xee);
      u64.encodeAt(x, b, at);
      return u64.decodeAt(b, at) === x;
    }));
  });

  it("u64 takes safe integers too and gives bigints back", () => {
    expect(u64.decode(encodeToBytes(u64, 42 as unknown as bigint))).toBe(42n);
    expect(i64.decode(encodeToBytes(i64, -(2 ** 53 - 1) as unknown as bigint))).toBe(-(2n ** 53n - 1n));
    // A number past 2^53 may already be rounded: it must come as a bigint.
    for (const unsafe of [2 ** 53, 2 ** 60, -(2 ** 53)]) {
      expect(() => encodeToBytes(i64, unsafe as unknown as bigint)).toThrow(`i64: expected a bigint (or a safe integer), got ${unsafe}`);
    }
    expect(u64.format(2n ** 64n - 1n)).toBe("18446744073709551615");
    expect([...encodeToBytes(be64, 0x0102030405060708n)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe("bytes and arrays", () => {
  it("bytes(n): round trip of any n bytes, decode copies", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (b) => {
      const c = bytes(b.length);
      const enc = encodeToBytes(c, b);
      const dec = c.decode(enc);
      enc.fill(0xee);
      return hex(dec) === hex(b);
    }));
  });
  it("bytes(n) rejects another length and formats as hex", () => {
    expect(() => encodeToBytes(bytes(4), new Uint8Array(3))).toThrow(/bytes\(4\): expected 4 bytes, got 3/);
    expect(() => encodeToBytes(bytes(4), [1, 2, 3, 4] as unknown as Uint8Array)).toThrow(TypeError);
    expect(bytes(3).format(new Uint8Array([0, 0xab, 0x10]))).toBe("00ab10");
    expect(() => bytes(-1)).toThrow(RangeError);
  });
  it("array(u16, 3): round trip of any 3 u16s; wrong length rejected", () => {
    const c = array(u16, 3);
    expect(c.size).toBe(6);
    expect(c.align).toBe(2);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 3, maxLength: 3 }),
      (a) => JSON.stringify(roundTrip(c, a)) === JSON.stringify(a)));
    expect(() => encodeToBytes(c, [1, 2])).toThrow(/expected 3 elements, got 2/);
    expect(c.format([1, 2, 3])).toBe("[1 2 3]");
  });
  it("a long string in an error is cut to its first 64 characters", () => {
    const long = "x".repeat(65);
    expect(() => encodeToBytes(u32, long as never)).toThrow(`u32: expected an integer, got "${"x".repeat(64)}…"`);
    expect(() => encodeToBytes(u32, long.slice(1) as never)).toThrow(`u32: expected an integer, got "${"x".repeat(64)}"`);
  });
  it("a codec without format prints as hex", () => {
    const plain: Codec<number> = { size: 2, encode: (v, out) => { out[0] = v; out[1] = 0xff; }, decode: (b) => b[0]! };
    expect(formatWith(plain, 0x12)).toBe("12ff");
  });
});
