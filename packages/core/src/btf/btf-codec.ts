// BTF for bpfkit's codecs, so that a map created from codecs describes its key and value as a C
// user would have declared them: bpftool then prints its entries by field, and the kernel can
// find special fields in the value. Integers are the kernel headers' typedefs (`__u32` of
// `unsigned int`, `__be16` of `__u16`): that is what `bpftool btf dump … format c` and a C
// programmer reading it expect, and what Cilium's own BTF holds for the same maps.
import { codecShape } from "../codec-shape.js";
import { be16, be32, be64, i16, i32, i64, i8, ipv4, ipv6, u16, u32, u64, u8, type Codec, type StructCodec } from "../codec.js";
import { endpointKey } from "../endpoint.js";
import { BtfBuilder } from "./btf-builder.js";
import { BtfError, BtfIntEncoding } from "./btf-format.js";
import { parseBtf } from "./btf-parse.js";

/** A codec that describes itself in BTF: `btfTypeOfCodec` calls this instead of guessing. */
export interface BtfTypedCodec {
  /** Adds the codec's type (and what it needs) to `builder` and returns its id; its size must be the codec's. */
  btfType(builder: BtfBuilder): number;
}

/** A map's key and value as BTF, ready for BPF_BTF_LOAD and MapCreateAttr's btf ids. */
export interface MapBtf {
  /** The raw BTF holding both types. */
  btf: Uint8Array;
  /** The key's type id; 0 for a keyless map (a bloom filter: queues and stacks take no BTF). */
  keyTypeId: number;
  /** The value's type id. */
  valueTypeId: number;
}

// The C types each integer codec is, as <linux/types.h> and <asm-generic/int-ll64.h> spell them.
const INTS = new Map<Codec<unknown>, { typedef: string; c: string; size: number; signed: boolean }>([
  [u8, { typedef: "__u8", c: "unsigned char", size: 1, signed: false }],
  [u16, { typedef: "__u16", c: "unsigned short", size: 2, signed: false }],
  [u32, { typedef: "__u32", c: "unsigned int", size: 4, signed: false }],
  [u64, { typedef: "__u64", c: "unsigned long long", size: 8, signed: false }],
  [i8, { typedef: "__s8", c: "signed char", size: 1, signed: true }],
  [i16, { typedef: "__s16", c: "short", size: 2, signed: true }],
  [i32, { typedef: "__s32", c: "int", size: 4, signed: true }],
  [i64, { typedef: "__s64", c: "long long", size: 8, signed: true }],
]);
// Big-endian integers are `typedef __u16 __bitwise __be16;`: BTF has no byte order, so bpftool
// prints them as host-order numbers, as it does for Cilium's maps.
const BIG_ENDIAN = new Map<Codec<unknown>, { typedef: string; of: Codec<unknown> }>([
  [be16, { typedef: "__be16", of: u16 }], [be32, { typedef: "__be32", of: u32 }], [be64, { typedef: "__be64", of: u64 }],
  [ipv4, { typedef: "__be32", of: u32 }], // the datapath declares IPv4 addresses __be32
]);

const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Per builder: the ids of what was already added, so that each C type appears once.
const added = new WeakMap<BtfBuilder, Map<unknown, number>>();

function memo(b: BtfBuilder, key: unknown, make: () => number): number {
  let m = added.get(b);
  if (m === undefined) { m = new Map(); added.set(b, m); }
  let id = m.get(key);
  if (id === undefined) { id = make(); m.set(key, id); }
  return id;
}

function cInt(b: BtfBuilder, c: string, size: number, signed: boolean): number {
  return memo(b, `int ${c}`, () => b.int(c, size, signed ? BtfIntEncoding.SIGNED : BtfIntEncoding.NONE));
}

function intTypedef(b: BtfBuilder, codec: Codec<unknown>): number {
  const d = INTS.get(codec)!;
  return memo(b, d.typedef, () => b.typedef(d.typedef, cInt(b, d.c, d.size, d.signed)));
}

/** `__u8 [n]`, the type of raw bytes. */
function byteArray(b: BtfBuilder, n: number): number {
  return memo(b, `__u8[${n}]`, () => b.array(intTypedef(b, u8), cInt(b, "unsigned int", 4, false), n));
}

function isStruct(c: Codec<unknown>): c is StructCodec<unknown> {
  return Array.isArray((c as Partial<StructCodec<unknown>>).fields);
}

function isBtfTyped(c: Codec<unknown>): c is Codec<unknown> & BtfTypedCodec {
  return typeof (c as Partial<BtfTypedCodec>).btfType === "function";
}

/**
 * Adds `codec`'s C type to `builder` and returns its id. The integer codecs are the kernel's
 * `__u32`, `__s64`, `__be16`…; `ipv4` is `__be32`; `ipv6` and `bytes(n)` are `__u8 [n]`; `array()`
 * an ARRAY of its element; `struct()` a STRUCT with each field at its offset (explicit `pad()`
 * fields are `__u8 [n]` members, alignment holes are left implicit as in C), named by the
 * struct's `name` option when that is a C identifier and anonymous otherwise (the kernel takes
 * an anonymous struct as a map's key or value); `lpmKey(data)` `struct { __u32 prefixlen; data; }`;
 * `endpointKey` Cilium's 20-byte `struct endpoint_key`. A codec with a `btfType` method
 * (`BtfTypedCodec`) describes itself. Any other codec is `__u8 [size]`: BTF is a description, an
 * opaque byte array of the right size is a true one, and refusing would keep BTF (and bpftool's
 * view, and special fields) from every map with a codec of the user's own.
 *
 * A struct field whose name is not a C identifier is a BtfError: the kernel refuses such BTF
 * whole (btf_name_valid_identifier), so the error is given here, naming the field.
 */
export function btfTypeOfCodec(builder: BtfBuilder, codec: Codec<unknown>): number {
  if (!(builder instanceof BtfBuilder)) throw new TypeError("btfTypeOfCodec: builder must be a BtfBuilder");
  if (codec === null || typeof codec !== "object" || !Number.isInteger(codec.size)) throw new TypeError("btfTypeOfCodec: codec must be a Codec");
  if (isBtfTyped(codec)) return memo(builder, codec, () => codec.btfType(builder));
  if (INTS.has(codec)) return intTypedef(builder, codec);
  const be = BIG_ENDIAN.get(codec);
  if (be !== undefined) return memo(builder, be.typedef, () => builder.typedef(be.typedef, intTypedef(builder, be.of)));
  if (codec === ipv6) return byteArray(builder, 16);
  if (codec === endpointKey) return memo(builder, codec, () => endpointKeyType(builder));
  const shape = codecShape(codec);
  if (shape !== undefined) {
    switch (shape.kind) {
      case "bytes": return byteArray(builder, codec.size);
      case "aligned": return btfTypeOfCodec(builder, shape.inner); // BTF has offsets, not alignment
      case "array": {
        const elem = btfTypeOfCodec(builder, shape.element);
        return memo(builder, codec, () => builder.array(elem, cInt(builder, "unsigned int", 4, false), shape.length));
      }
      case "lpmKey": {
        const data = btfTypeOfCodec(builder, shape.data);
        return memo(builder, codec, () => builder.struct("", codec.size, [
          { name: "prefixlen", type: intTypedef(builder, u32), bitOffset: 0 }, { name: "data", type: data, bitOffset: 32 },
        ]));
      }
    }
  }
  if (isStruct(codec)) return memo(builder, codec, () => structType(builder, codec));
  return byteArray(builder, codec.size);
}

function structType(b: BtfBuilder, codec: StructCodec<unknown>): number {
  const name = C_IDENTIFIER.test(codec.name) ? codec.name : "";
  const members = codec.fields.map((f) => {
    if (!C_IDENTIFIER.test(f.name)) {
      throw new BtfError(`struct ${codec.name}: field ${JSON.stringify(f.name)} is not a C identifier, which the kernel refuses in BTF`);
    }
    return { name: f.name, type: btfTypeOfCodec(b, f.codec), bitOffset: f.offset * 8 };
  });
  return b.struct(name, codec.size, members);
}

// Cilium's struct endpoint_key (bpf/lib/common.h) with bpfkit's field names: the address bytes
// (IPv4 in the first 4), family, key and the 2 bytes of padding.
function endpointKeyType(b: BtfBuilder): number {
  return b.struct("endpoint_key", 20, [
    { name: "ip", type: byteArray(b, 16), bitOffset: 0 }, { name: "family", type: intTypedef(b, u8), bitOffset: 128 },
    { name: "key", type: intTypedef(b, u8), bitOffset: 136 }, { name: "pad2", type: intTypedef(b, u16), bitOffset: 144 },
  ]);
}

/**
 * BTF for a map's key and value codecs in one blob (`key` null or undefined for a keyless map:
 * key id 0). Each type's size is checked against its codec's: a `BtfTypedCodec` that got it wrong
 * is a BtfError here rather than an EINVAL from BPF_MAP_CREATE.
 */
export function btfForMap(key: Codec<unknown> | null | undefined, value: Codec<unknown>): MapBtf {
  const b = new BtfBuilder();
  const keyTypeId = key === null || key === undefined ? 0 : btfTypeOfCodec(b, key);
  const valueTypeId = btfTypeOfCodec(b, value);
  const btf = b.encode();
  const parsed = parseBtf(btf);
  for (const [what, codec, id] of [["key", key, keyTypeId], ["value", value, valueTypeId]] as const) {
    if (codec === null || codec === undefined) continue;
    const size = parsed.sizeOf(id);
    if (size !== codec.size) throw new BtfError(`the ${what}'s BTF type (id ${id}) is ${size} bytes, its codec ${codecName(codec)} ${codec.size}`);
  }
  return { btf, keyTypeId, valueTypeId };
}

function codecName(c: Codec<unknown>): string {
  const n = (c as { name?: unknown }).name;
  return typeof n === "string" ? n : "(unnamed)";
}
