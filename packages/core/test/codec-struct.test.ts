// The struct builder against gcc: each layout here is also written as C, compiled, and its
// offsetof/sizeof/alignof printed, so "like gcc" is checked against gcc itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  aligned, alignOf, array, be16, bytes, encodeToBytes, hex, i64, ipv4, ipv6, pad, struct, u16, u32, u64, u8,
  type Codec, type StructCodec,
} from "@bpfkit/core";

interface Layout {
  name: string;
  c: string;
  codec: StructCodec<any>;
}

const inner = struct({ a: u8, b: u64 });
const layouts: Layout[] = [
  { name: "tuple", c: "struct tuple { __be32 ip; __be16 port; __u8 proto; };", codec: struct({ ip: ipv4, port: be16, proto: u8 }) },
  { name: "mixed", c: "struct mixed { __u8 a; __u64 b; __u16 c; __u32 d; __u8 e; };", codec: struct({ a: u8, b: u64, c: u16, d: u32, e: u8 }) },
  { name: "nested", c: "struct inner { __u8 a; __u64 b; }; struct nested { __u16 x; struct inner in; __u8 y; };", codec: struct({ x: u16, in: inner, y: u8 }) },
  { name: "arrays", c: "struct arrays { __u8 flags; __u32 ids[3]; __u8 mac[6]; __s64 t; };", codec: struct({ flags: u8, ids: array(u32, 3), mac: bytes(6), t: i64 }) },
  { name: "explicit_pad", c: "struct explicit_pad { __u16 family; __u8 pad1[2]; __u32 addr; __u8 pad2[3]; };", codec: struct({ family: u16, pad1: pad(2), addr: u32, pad2: pad(3) }) },
  { name: "v6key", c: "union v6addr { struct { __u32 p1, p2, p3, p4; }; __u8 addr[16]; }; struct v6key { union v6addr ip6; __u8 family; __u8 key; __u16 pad5; };", codec: struct({ ip6: ipv6, family: u8, key: u8, pad5: u16 }) },
  { name: "packed", c: "struct __attribute__((packed)) packed { __u8 a; __u32 b; __u16 c; };", codec: struct({ a: u8, b: u32, c: u16 }, { packed: true }) },
  { name: "byte_ip", c: "struct byte_ip { __u8 ip[4]; __u8 proto; };", codec: struct({ ip: aligned(ipv4, 1), proto: u8 }) },
];

let gcc: Record<string, { size: number; align: number; offsets: Record<string, number> }> = {};
let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bpfkit-struct-"));
  const lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <linux/types.h>"];
  for (const l of layouts) lines.push(l.c);
  lines.push("int main(void) {");
  for (const l of layouts) {
    lines.push(`printf("${l.name} size %zu align %zu\\n", sizeof(struct ${l.name}), _Alignof(struct ${l.name}));`);
    for (const f of l.codec.fields) {
      lines.push(`printf("${l.name} field ${f.name} %zu\\n", offsetof(struct ${l.name}, ${f.name}));`);
    }
  }
  lines.push("return 0; }");
  writeFileSync(join(dir, "layouts.c"), lines.join("\n"));
  execFileSync("gcc", ["-std=gnu11", "-o", join(dir, "layouts"), join(dir, "layouts.c")]);
  const out = execFileSync(join(dir, "layouts"), { encoding: "utf8" });
  gcc = {};
  for (const line of out.trim().split("\n")) {
    const [name, kind, a, b, c] = line.split(" ");
    gcc[name!] ??= { size: 0, align: 0, offsets: {} };
    if (kind === "size") {
      gcc[name!]!.size = Number(a);
      gcc[name!]!.align = Number(c);
    } else {
      gcc[name!]!.offsets[a!] = Number(b);
    }
  }
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("struct layout equals gcc's", () => {
  for (const l of layouts) {
    it(`${l.name}: sizeof, _Alignof and every offsetof`, () => {
      const g = gcc[l.name]!;
      expect(l.codec.size).toBe(g.size);
      expect(l.codec.align).toBe(g.align);
      expect(l.codec.offsets).toEqual(g.offsets);
    });
  }
  it("the brief's example: { ip: ipv4, port: be16, proto: u8 } is offsets 0, 4, 6 and size 8", () => {
    const c = layouts[0]!.codec;
    expect(c.offsets).toEqual({ ip: 0, port: 4, proto: 6 });
    expect(c.size).toBe(8);
  });
});

describe("struct encoding", () => {
  const tuple = struct({ ip: ipv4, port: be16, proto: u8 });
  const arbTuple = fc.record({
    ip: fc.ipV4(),
    port: fc.integer({ min: 0, max: 0xffff }),
    proto: fc.integer({ min: 0, max: 0xff }),
  });

  it("decode(encode(x)) = x for every tuple", () => {
    fc.assert(fc.property(arbTuple, (t) => JSON.stringify(tuple.decode(encodeToBytes(tuple, t))) === JSON.stringify(t)));
  });

  it("padding bytes are zero whatever was in the buffer (the kernel hashes them)", () => {
    fc.assert(fc.property(arbTuple, fc.integer({ min: 0, max: 255 }), (t, junk) => {
      const out = new Uint8Array(tuple.size).fill(junk);
      tuple.encode(t, out);
      return out[7] === 0;
    }));
  });

  it("a codec with only one of encodeAt and decodeAt is used through encode and decode", () => {
    const halves = [
      { size: 2, encode: u16.encode, decode: u16.decode, decodeAt: () => { throw new Error("not this"); } },
      { size: 2, encode: u16.encode, decode: u16.decode, encodeAt: () => { throw new Error("not this"); } },
    ];
    for (const half of halves) {
      const c = struct({ a: u8, h: half as Codec<number> });
      expect(c.decode(encodeToBytes(c, { a: 1, h: 0x1234 }))).toEqual({ a: 1, h: 0x1234 });
    }
  });

  it("pad fields are zeroed whatever was in the buffer, in a struct and on their own", () => {
    const c = struct({ a: u8, p: pad(3), b: u32 });
    const out = new Uint8Array(c.size).fill(0xff);
    c.encode({ a: 1, b: 2 }, out);
    expect(hex(out)).toBe("01000000" + hex(encodeToBytes(u32, 2)));
    const alone = new Uint8Array(5).fill(0xff);
    pad(3).encodeAt(undefined, alone, 1);
    expect(hex(alone)).toBe("ff000000ff");
  });

  it("each field is written and read at its own offset: ipv6, an aligned() field and a plain codec after others", () => {
    // A plain codec whose decode reads every byte it is given, as a char[] name codec might.
    const plain: Codec<number> = { size: 2, encode: (v, out) => out.fill(v, 0, 2), decode: (b) => b.length * 1000 + b[0]! };
    const c = struct({ a: u8, ip: ipv6, b: u8, v4: aligned(ipv4, 1), p: plain, n: u16 });
    expect(c.offsets).toEqual({ a: 0, ip: 4, b: 20, v4: 21, p: 25, n: 28 });
    const v = { a: 1, ip: "2001:db8::2", b: 3, v4: "10.0.0.4", p: 5, n: 6 };
    const out = encodeToBytes(c, v);
    expect(hex(out)).toBe("01000000" + "20010db8" + "00".repeat(11) + "02" + "03" + "0a000004" + "0505" + "00" + hex(encodeToBytes(u16, 6)) + "0000");
    expect(c.decode(out)).toEqual({ ...v, p: 2005 });
  });

  it("is named by its value fields: pad fields are left out", () => {
    expect(struct({ a: u8, p: pad(3), b: u32 }).name).toBe("struct{a,b}");
  });

  it("places fields at their offsets in network or host order", () => {
    const b = encodeToBytes(tuple, { ip: "10.0.0.1", port: 80, proto: 6 });
    expect(hex(b)).toBe("0a000001" + "0050" + "06" + "00");
  });

  it("nested structs and arrays round-trip; pad fields are left out of the value", () => {
    const c = struct({ x: u16, in: inner, ids: array(u32, 2), p: pad(4), y: u8 });
    const v = { x: 7, in: { a: 1, b: 2n ** 63n }, ids: [1, 0xffffffff], y: 9 };
    const got = c.decode(encodeToBytes(c, v));
    expect(got).toEqual(v);
    expect(Object.keys(got)).toEqual(["x", "in", "ids", "y"]);
  });

  it("formats as {name=value ...} with each field's own format", () => {
    expect(tuple.format({ ip: "192.0.2.1", port: 443, proto: 17 })).toBe("{ip=192.0.2.1 port=443 proto=17}");
  });

  it("a missing or bad field is an error naming the struct and the field", () => {
    expect(() => encodeToBytes(tuple, { ip: "10.0.0.1", port: 80 } as never)).toThrow(/field "proto" is missing/);
    expect(() => encodeToBytes(tuple, { ip: "10.0.0.1", port: 70000, proto: 6 })).toThrow(RangeError);
    expect(() => encodeToBytes(tuple, { ip: "10.0.0.1", port: 70000, proto: 6 })).toThrow(/struct\{ip,port,proto\}\.port: be16/);
    expect(() => encodeToBytes(tuple, { ip: "10.0.0.256", port: 1, proto: 6 })).toThrow(/ipv4: "10.0.0.256" is not an IPv4 address/);
    expect(() => encodeToBytes(tuple, null as never)).toThrow(TypeError);
    expect(() => struct({ a: 5 as never })).toThrow(/field "a" is not a codec/);
  });

  it("alignOf of a plain Codec is 1; aligned() needs a power of two", () => {
    expect(alignOf({ size: 3, encode() {}, decode: () => 0 })).toBe(1);
    expect(() => aligned(u8, 3)).toThrow(RangeError);
  });
});
