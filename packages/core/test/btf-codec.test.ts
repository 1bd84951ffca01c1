// BTF from codecs: each codec's C type, struct members at the codec's offsets, sizes equal to
// the codecs' (a property over random structs), and the choices for codecs BTF cannot see into.
// That the kernel loads this BTF and creates maps with it (anonymous structs included) is
// checked live in btf-value.test.ts, which loads the codec cases of support/btf-cases.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codecArb } from "./support/codec-arb.js";
import {
  aligned, array, be16, be32, be64, btfForMap, BtfBuilder, BtfError, BtfIntEncoding, BtfKind, btfTypeOfCodec, bytes, endpointKey,
  i16, i32, i64, i8, ipv4, ipv6, lpmKey, pad, parseBtf, struct, u16, u32, u64, u8, type Btf, type BtfTypedCodec, type Codec,
} from "@bpfkit/core";

function typeOf(codec: Codec<unknown>): { btf: Btf; id: number } {
  const m = btfForMap(null, codec);
  return { btf: parseBtf(m.btf), id: m.valueTypeId };
}

/** C spelling of a type, enough to compare: `__u32 -> unsigned int`, `__u8[16]`, `struct x`. */
function spell(btf: Btf, id: number): string {
  const t = btf.typeById(id);
  switch (t.kind) {
    case BtfKind.TYPEDEF: return `${t.name} -> ${spell(btf, t.target)}`;
    case BtfKind.INT: return `${t.name}${t.encoding === BtfIntEncoding.SIGNED ? " (signed)" : ""}`;
    case BtfKind.ARRAY: return `${btf.name(t.elem)}[${t.nelems}]`;
    case BtfKind.STRUCT: return `struct ${t.name || "(anon)"} { ${t.members.map((m) => `${m.name}@${m.bitOffset / 8}: ${btf.name(m.type) || spell(btf, m.type)}`).join("; ")} }`;
    default: return `kind ${t.kind}`;
  }
}

describe("btfTypeOfCodec", () => {
  it("gives each integer codec the kernel headers' typedef", () => {
    const want: [Codec<unknown>, string][] = [
      [u8, "__u8 -> unsigned char"], [u16, "__u16 -> unsigned short"], [u32, "__u32 -> unsigned int"],
      [u64, "__u64 -> unsigned long long"], [i8, "__s8 -> signed char (signed)"], [i16, "__s16 -> short (signed)"],
      [i32, "__s32 -> int (signed)"], [i64, "__s64 -> long long (signed)"], [be16, "__be16 -> __u16 -> unsigned short"],
      [be32, "__be32 -> __u32 -> unsigned int"], [be64, "__be64 -> __u64 -> unsigned long long"],
      [ipv4, "__be32 -> __u32 -> unsigned int"], [aligned(ipv4, 1), "__be32 -> __u32 -> unsigned int"],
    ];
    for (const [codec, text] of want) {
      const { btf, id } = typeOf(codec);
      expect(spell(btf, id), (codec as unknown as { name: string }).name).toBe(text);
      expect(btf.sizeOf(id)).toBe(codec.size);
    }
  });

  it("gives bytes(n) and ipv6 __u8 arrays, array() an ARRAY of its element indexed by an INT", () => {
    expect(spell(typeOf(bytes(5)).btf, typeOf(bytes(5)).id)).toBe("__u8[5]");
    expect(spell(typeOf(ipv6).btf, typeOf(ipv6).id)).toBe("__u8[16]");
    const { btf, id } = typeOf(array(be16, 3));
    expect(spell(btf, id)).toBe("__be16[3]");
    const t = btf.typeById(id);
    expect(t.kind === BtfKind.ARRAY && btf.typeById(t.index)).toMatchObject({ kind: BtfKind.INT, name: "unsigned int" });
  });

  it("lays a struct out at the codec's offsets, named by its name option, anonymous otherwise", () => {
    const ct = struct({ ip: ipv4, port: be16, proto: u8, p: pad(1), n: u32 }, { name: "ct_key" });
    const { btf, id } = typeOf(ct);
    expect(spell(btf, id)).toBe("struct ct_key { ip@0: __be32; port@4: __be16; proto@6: __u8; p@7: __u8[1]; n@8: __u32 }");
    expect(btf.sizeOf(id)).toBe(12);
    const anon = typeOf(struct({ a: u8, b: u64 }));
    expect(spell(anon.btf, anon.id)).toBe("struct (anon) { a@0: __u8; b@8: __u64 }");
    expect(anon.btf.sizeOf(anon.id)).toBe(16); // the tail padding is the struct's size, as in C
  });

  it("gives lpmKey a struct { __u32 prefixlen; data } and endpointKey Cilium's struct endpoint_key", () => {
    const k = typeOf(lpmKey(ipv6));
    expect(spell(k.btf, k.id)).toBe("struct (anon) { prefixlen@0: __u32; data@4: __u8[16] }");
    expect(k.btf.sizeOf(k.id)).toBe(20);
    const e = typeOf(endpointKey);
    expect(spell(e.btf, e.id)).toBe("struct endpoint_key { ip@0: __u8[16]; family@16: __u8; key@17: __u8; pad2@18: __u16 }");
    expect(e.btf.sizeOf(e.id)).toBe(20);
  });

  it("adds each C type once per builder", () => {
    const b = new BtfBuilder();
    const s = struct({ a: u32, b: u32, c: be32, d: array(u32, 2) });
    btfTypeOfCodec(b, s);
    btfTypeOfCodec(b, u32);
    const btf = parseBtf(b.encode());
    const names = btf.types.map((t) => t.name).filter((n) => n !== "");
    expect(names.sort()).toEqual(["__be32", "__u32", "unsigned int"]);
    expect(btfTypeOfCodec(b, s)).toBe(btfTypeOfCodec(b, s));
  });

  it("describes a codec it cannot see into as __u8 [size], and a BtfTypedCodec as it says", () => {
    const custom: Codec<string> = { size: 6, encode: () => {}, decode: () => "" };
    expect(spell(typeOf(custom).btf, typeOf(custom).id)).toBe("__u8[6]");
    const typed: Codec<number> & BtfTypedCodec = { size: 4, encode: () => {}, decode: () => 0, btfType: (b) => b.typedef("my_id", b.int("int", 4, BtfIntEncoding.SIGNED)) };
    const t = typeOf(typed);
    expect(spell(t.btf, t.id)).toBe("my_id -> int (signed)");
    const wrong: Codec<number> & BtfTypedCodec = { size: 4, encode: () => {}, decode: () => 0, btfType: (b) => b.int("char", 1) };
    expect(() => btfForMap(u32, wrong)).toThrow(new BtfError("the value's BTF type (id 3) is 1 bytes, its codec (unnamed) 4"));
    expect(() => btfForMap(wrong, u32)).toThrow(new BtfError("the key's BTF type (id 1) is 1 bytes, its codec (unnamed) 4"));
  });

  it("refuses a struct field whose name the kernel would refuse, naming it", () => {
    expect(() => btfForMap(struct({ "src-ip": ipv4 }, { name: "k" }), u32)).toThrow(/struct k: field "src-ip" is not a C identifier/);
  });

  it("btfForMap: key id 0 for a keyless map, both types in one blob otherwise", () => {
    const keyless = btfForMap(undefined, u64);
    expect(keyless.keyTypeId).toBe(0);
    expect(parseBtf(keyless.btf).name(keyless.valueTypeId)).toBe("__u64");
    const m = btfForMap(u32, u32);
    expect(m.keyTypeId).toBe(m.valueTypeId);
  });
});

// ---- every struct's BTF is its codec's size, with members at its offsets ----

describe("btfForMap's types", () => {
  it("are each as large as their codec, and a struct's members sit at the codec's offsets", () => {
    fc.assert(fc.property(codecArb, codecArb, (key, value) => {
      const m = btfForMap(key, value);
      const btf = parseBtf(m.btf);
      expect(btf.sizeOf(m.keyTypeId)).toBe(key.size);
      expect(btf.sizeOf(m.valueTypeId)).toBe(value.size);
      const fields = (value as { fields?: { name: string; offset: number; codec: Codec<unknown> }[] }).fields;
      if (fields !== undefined) {
        const t = btf.typeById(m.valueTypeId);
        if (t.kind !== BtfKind.STRUCT) throw new Error("a struct codec's type is not a STRUCT");
        expect(t.members.map((x) => [x.name, x.bitOffset / 8, btf.sizeOf(x.type)])).toEqual(fields.map((f) => [f.name, f.offset, f.codec.size]));
      }
    }), { numRuns: 300 });
  });
});
