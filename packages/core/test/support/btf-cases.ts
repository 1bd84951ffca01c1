// Maps with BTF whose bpftool dump the BTF formatter must reproduce: the codecs' BTF
// (btfForMap) and a hand-built struct with every kind and quirk bpftool's btf_dumper has.
// scripts/btf-bpftool-oracle.py runs them on the kernel; test/fixtures/btf-bpftool-formatted.json
// holds what it printed.
import {
  array, be16, btfForMap, BtfBuilder, BtfIntEncoding, bytes, encodeToBytes, endpointKey, i16, i32, i64, i8, ipv4, ipv6,
  lpmKey, newEndpointKey, pad, struct, u16, u32, u64, u8, type Codec,
} from "@bpfkit/core";

/** One map: its BTF, its key and value types and sizes, and its entries' bytes. */
export interface BtfCase {
  name: string;
  btf: Uint8Array;
  keyTypeId: number;
  valueTypeId: number;
  keySize: number;
  valueSize: number;
  entries: [key: Uint8Array, value: Uint8Array][];
}

function fromCodecs<K, V>(name: string, key: Codec<K>, value: Codec<V>, entries: [K, V][]): BtfCase {
  const m = btfForMap(key as Codec<unknown>, value as Codec<unknown>);
  return {
    name, btf: m.btf, keyTypeId: m.keyTypeId, valueTypeId: m.valueTypeId, keySize: key.size, valueSize: value.size,
    entries: entries.map(([k, v]) => [encodeToBytes(key, k), encodeToBytes(value, v)]),
  };
}

/** The struct codecs of the "codec structs" case, for tests that decode its bytes too. */
export const ctKey = struct({ ip: ipv4, port: be16, proto: u8 }, { name: "ct_key" });
export const mixed = struct({ a: i8, b: i16, c: i32, d: i64, e: array(u16, 3), f: bytes(3), p: pad(1), g: ipv6, h: u64 });

function handBuilt(): BtfCase {
  const b = new BtfBuilder();
  const uint = b.int("unsigned int", 4);
  const chr = b.int("char", 1, BtfIntEncoding.SIGNED);
  const schar = b.int("signed char", 1, BtfIntEncoding.SIGNED);
  const cchar = b.int("cchar", 1, BtfIntEncoding.CHAR);
  const bool = b.int("_Bool", 1, BtfIntEncoding.BOOL);
  const ushort = b.int("unsigned short", 2);
  const i128 = b.int("__int128", 16, BtfIntEncoding.SIGNED);
  const u128 = b.int("unsigned __int128", 16);
  const e = b.enum("sgn", 4, [{ name: "MINUS", value: -2n }, { name: "TWO", value: 2n }], true);
  const eu = b.enum("uns", 4, [{ name: "ALL", value: 0xffff_ffffn }]);
  const e64 = b.enum64("big", 8, [{ name: "HI", value: 1n << 40n }, { name: "TOP", value: (1n << 64n) - 1n }]);
  const u32t = b.typedef("__u32", uint);
  const cv = b.const(b.volatile(u32t));
  const union = b.union("both", 4, [{ name: "x", type: uint, bitOffset: 0 }, { name: "y", type: b.array(b.typedef("__u8", b.int("unsigned char", 1)), uint, 4), bitOffset: 0 }]);
  const anon = b.union("", 4, [{ name: "w", type: uint, bitOffset: 0 }, { name: "h", type: ushort, bitOffset: 0 }]);
  const row = b.array(ushort, uint, 3);
  const s = b.struct("all", 128, [
    { name: "name", type: b.array(chr, uint, 8), bitOffset: 0 },
    { name: "raw", type: b.array(chr, uint, 4), bitOffset: 64 },
    { name: "c1", type: cchar, bitOffset: 96 },
    { name: "c2", type: cchar, bitOffset: 104 },
    { name: "flag", type: bool, bitOffset: 112 },
    { name: "e", type: e, bitOffset: 128 },
    { name: "e2", type: e, bitOffset: 160 },
    { name: "e3", type: eu, bitOffset: 192 },
    { name: "a", type: uint, bitOffset: 224, bitfieldSize: 3 },
    { name: "b", type: uint, bitOffset: 227, bitfieldSize: 5 },
    { name: "c", type: uint, bitOffset: 232, bitfieldSize: 20 },
    { name: "e64", type: e64, bitOffset: 256 },
    { name: "e64b", type: e64, bitOffset: 320 },
    { name: "u", type: union, bitOffset: 384 },
    { name: "ptr", type: b.ptr(0), bitOffset: 448 },
    { name: "grid", type: b.array(row, uint, 2), bitOffset: 512 },
    { name: "i128", type: i128, bitOffset: 640 },
    { name: "u128", type: u128, bitOffset: 768 },
    { name: "cv", type: cv, bitOffset: 896 },
    { name: "", type: anon, bitOffset: 928 },
    { name: "k", type: schar, bitOffset: 960 },
  ]);
  const v = new Uint8Array(128);
  const dv = new DataView(v.buffer);
  v.set(new TextEncoder().encode("hello"), 0);
  v.set([0x41, 0x01, 0x42, 0x00], 8);
  v[12] = 0x41; v[13] = 0x01; v[14] = 1;
  dv.setInt32(16, -2, true); dv.setInt32(20, 7, true); dv.setUint32(24, 0xffff_ffff, true);
  dv.setUint32(28, (5 | (17 << 3) | (0xabcde << 8)) >>> 0, true);
  dv.setBigUint64(32, 1n << 40n, true); dv.setBigUint64(40, 0x8000_0000_0000_0001n, true);
  dv.setUint32(48, 0x04030201, true);
  dv.setBigUint64(56, 0xffff_8880_0000_1234n, true);
  for (let i = 0; i < 6; i++) dv.setUint16(64 + 2 * i, i * 1000, true);
  dv.setBigInt64(80, -1n, true); dv.setBigInt64(88, -1n, true);
  dv.setBigUint64(96, 0x1234n, true); dv.setBigUint64(104, 0x1n, true);
  dv.setUint32(112, 4_000_000_000, true);
  dv.setUint32(116, 0x0001_0002, true);
  v[120] = 0xfe;
  const v2 = v.slice();
  v2.set([0x22, 0x5c, 0x00], 0); // a `"` and a `\`: still a string
  v2[12] = 0x7e; v2[13] = 0xff; v2[14] = 0;
  dv.setUint32(28, 0, true);
  return {
    name: "hand-built struct", btf: b.encode(), keyTypeId: uint, valueTypeId: s, keySize: 4, valueSize: 128,
    entries: [[new Uint8Array([1, 0, 0, 0]), v2], [new Uint8Array([2, 0, 0, 0]), v]],
  };
}

// bpftool's quirk: it reads an enum as signed by its size and compares with each constant's
// 32 bits, so an unsigned 1-byte enum's 200 is printed as -56.
function smallEnum(): BtfCase {
  const b = new BtfBuilder();
  const key = b.int("unsigned int", 4);
  const e = b.enum("small", 1, [{ name: "BIG", value: 200n }, { name: "ONE", value: 1n }]);
  const s = b.struct("", 2, [{ name: "big", type: e, bitOffset: 0 }, { name: "one", type: e, bitOffset: 8 }]);
  return {
    name: "1-byte enum", btf: b.encode(), keyTypeId: key, valueTypeId: s, keySize: 4, valueSize: 2,
    entries: [[new Uint8Array([1, 0, 0, 0]), new Uint8Array([200, 1])]],
  };
}

// Bitfields the old way, without kind_flag: INTs narrower than their bytes, members at bit
// offsets (the kernel refuses such INTs in a kind_flag struct).
function oldBitfields(): BtfCase {
  const b = new BtfBuilder();
  const key = b.int("unsigned int", 4);
  const u24 = b.int("u24", 4, 0, 24);
  const nib = b.int("nibble", 1, 0, 4);
  const s = b.struct("old", 8, [{ name: "odd", type: u24, bitOffset: 0 }, { name: "lo", type: nib, bitOffset: 32 }, { name: "hi", type: nib, bitOffset: 36 }]);
  return {
    name: "old-style bitfields", btf: b.encode(), keyTypeId: key, valueTypeId: s, keySize: 4, valueSize: 8,
    entries: [[new Uint8Array([1, 0, 0, 0]), new Uint8Array([0x56, 0x34, 0x12, 0xff, 0xa5, 0, 0, 0])]],
  };
}

// What the cases above leave out: enums of 2 and 8 bytes (bpftool reads them signed), a signed
// ENUM64's negative constant, the ends of the printable range in a char array, a char array
// through a type tag (and one through a typedef, which bpftool does not take for a string),
// INTs that start inside a byte (BTF_INT_OFFSET, a member's bit offset, a typedef's), a
// bitfield across a byte boundary, and a DATASEC's variables at their offsets.
function edges(): BtfCase[] {
  const b = new BtfBuilder();
  const uint = b.int("unsigned int", 4);
  const chr = b.int("char", 1, BtfIntEncoding.SIGNED);
  const e16 = b.enum("e16", 2, [{ name: "NEG", value: -2n }], true);
  const wide = b.enum("wide", 8, [{ name: "W", value: 5n }]);
  const s64 = b.enum64("s64", 8, [{ name: "MINUS_ONE", value: -1n }, { name: "MIN", value: -(1n << 63n) }], true);
  const bits = b.struct("bits", 4, [{ name: "lo", type: uint, bitOffset: 4, bitfieldSize: 6 }]);
  const s = b.struct("edges", 64, [
    { name: "e16", type: e16, bitOffset: 0 },
    { name: "e16b", type: e16, bitOffset: 16 },
    { name: "wide", type: wide, bitOffset: 32 },
    { name: "s64", type: s64, bitOffset: 96 },
    { name: "s64b", type: s64, bitOffset: 160 },
    { name: "printable", type: b.array(chr, uint, 4), bitOffset: 224 },
    { name: "us", type: b.array(chr, uint, 4), bitOffset: 256 },
    { name: "del", type: b.array(chr, uint, 4), bitOffset: 288 },
    { name: "tagged", type: b.array(b.typeTag("user", chr), uint, 4), bitOffset: 320 },
    { name: "off4", type: b.int("hi4", 1, BtfIntEncoding.NONE, 4, 4), bitOffset: 352 },
    { name: "mid", type: b.int("unsigned char", 1), bitOffset: 364 },
    { name: "n", type: b.typedef("nib_t", b.int("nibble", 1, BtfIntEncoding.NONE, 4)), bitOffset: 372 },
    { name: "bits", type: bits, bitOffset: 384 },
    { name: "td", type: b.array(b.typedef("char_t", chr), uint, 4), bitOffset: 416 },
  ]);
  const data = b.datasec(".data", 12, [
    { type: b.var("counter", uint, 1), offset: 4, size: 4 }, { type: b.var("flags", b.int("unsigned short", 2), 1), offset: 8, size: 2 },
  ]);
  const v = new Uint8Array(64);
  const dv = new DataView(v.buffer);
  dv.setInt16(0, -2, true); dv.setInt16(2, -3, true);
  dv.setBigInt64(4, -1n, true);
  dv.setBigInt64(12, -1n, true); dv.setBigInt64(20, -5n, true);
  v.set([0x20, 0x7e, 0x41, 0], 28); // printable: " ~A"
  v.set([0x41, 0x1f, 0x42, 0], 32); // 0x1f: not a string
  v.set([0x41, 0x7f, 0x42, 0], 36); // 0x7f: not a string
  v.set([0x68, 0x69, 0, 0], 40);
  v[44] = 0xa5; // off4: the high nibble, 0xa
  v[45] = 0x7b; v[46] = 0x0c; // mid: bits 4..11 from byte 45, 0xc7; n: the high nibble of byte 46, 0
  dv.setUint32(48, 0x3f << 4, true); // bits.lo: 6 bits across bytes 48 and 49
  v.set([0x68, 0x69, 0, 0], 52); // td: a typedef of char is no char to bpftool, so numbers
  const d = new Uint8Array(12);
  new DataView(d.buffer).setUint32(4, 77, true);
  new DataView(d.buffer).setUint16(8, 9, true);
  const raw = b.encode();
  const key = new Uint8Array([1, 0, 0, 0]);
  return [
    { name: "edges", btf: raw, keyTypeId: uint, valueTypeId: s, keySize: 4, valueSize: 64, entries: [[key, v]] },
    { name: "datasec", btf: raw, keyTypeId: uint, valueTypeId: data, keySize: 4, valueSize: 12, entries: [[key, d]] },
  ];
}

/** Every case, in a fixed order. */
export function btfCases(): BtfCase[] {
  return [
    fromCodecs("u32 to u64", u32, u64, [[1, 0n], [2, 2n ** 53n + 1n], [3, 2n ** 64n - 1n]]),
    fromCodecs("codec structs", ctKey, mixed, [
      [{ ip: "10.0.0.1", port: 443, proto: 6 }, { a: -1, b: -300, c: -70000, d: -(2n ** 60n), e: [1, 2, 65535], f: new Uint8Array([0xde, 0xad, 0x01]), g: "f00d::1", h: 2n ** 63n }],
      [{ ip: "192.168.1.200", port: 53, proto: 17 }, { a: 127, b: 32767, c: 2 ** 31 - 1, d: 2n ** 63n - 1n, e: [0, 0, 0], f: new Uint8Array(3), g: "::", h: 0n }],
    ]),
    fromCodecs("lpm key and endpoint key", lpmKey(ipv4), endpointKey, [
      [{ prefixLen: 24, data: "10.1.2.0" }, newEndpointKey("10.1.2.3")],
      [{ prefixLen: 32, data: "1.2.3.4" }, newEndpointKey("f00d::2")],
    ]),
    handBuilt(),
    smallEnum(),
    oldBitfields(),
    ...edges(),
  ];
}

/** The cases as scripts/btf-bpftool-oracle.py reads them. */
export function oracleInput(cases: BtfCase[]): string {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  return JSON.stringify(cases.map((c) => ({
    name: c.name, btf: hex(c.btf), keyTypeId: c.keyTypeId, valueTypeId: c.valueTypeId, keySize: c.keySize, valueSize: c.valueSize,
    entries: c.entries.map(([k, v]) => [hex(k), hex(v)]),
  })));
}
