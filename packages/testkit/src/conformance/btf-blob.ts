// Raw BTF written word by word, for the `btf` cases: a header whose every field can be set,
// a type section of u32 words, and a string section. Deliberately not core's BtfBuilder: the
// cases need blobs no builder would make (a bad magic, overlapping sections, a struct member
// past its struct), and a case should not share its blobs' bugs with the code under test.

/** BTF_KIND_* (include/uapi/linux/btf.h). */
export const BtfKind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

/** An INT's encoding bit: signed. */
export const BTF_INT_SIGNED = 1;
/** An INT's encoding bit: a char (printed as one). */
export const BTF_INT_CHAR = 2;
/** An INT's encoding bit: a bool. */
export const BTF_INT_BOOL = 4;

/** The header's magic (0xeB9F, little-endian on the hosts bpfkit runs on). */
export const BTF_MAGIC = 0xeb9f;
/** sizeof(struct btf_header). */
export const BTF_HDR_LEN = 24;

/** `struct btf_type`'s info word: vlen in bits 0-15, kind in 24-28, kind_flag in 31. */
export function btfInfo(kind: number, vlen = 0, kindFlag = false): number {
  return ((kindFlag ? 0x8000_0000 : 0) | ((kind & 0x1f) << 24) | (vlen & 0xffff)) >>> 0;
}

/** An INT: name, size in bytes, bits, encoding (BTF_INT_*), bit offset. */
export function btfInt(nameOff: number, size: number, bits: number, encoding = 0, offset = 0): number[] {
  return [nameOff, btfInfo(BtfKind.INT), size, ((encoding & 0xf) << 24 | (offset & 0xff) << 16 | (bits & 0xff)) >>> 0];
}

/** A STRUCT (or UNION with `kind`) of members `[nameOff, type, offset]`, offsets in bits (or bitfield-size << 24 | bit offset with kindFlag). */
export function btfStruct(nameOff: number, size: number, members: readonly (readonly [number, number, number])[], kindFlag = false, kind: number = BtfKind.STRUCT): number[] {
  return [nameOff, btfInfo(kind, members.length, kindFlag), size, ...members.flatMap(([n, t, o]) => [n, t, o >>> 0])];
}

/** An ARRAY of `nelems` elements of `type`, indexed by `indexType`. */
export function btfArray(type: number, indexType: number, nelems: number): number[] {
  return [0, btfInfo(BtfKind.ARRAY), 0, type, indexType, nelems];
}

/** An ENUM of `size` bytes with values `[nameOff, value]` (signed with kindFlag). */
export function btfEnum(nameOff: number, size: number, values: readonly (readonly [number, number])[], kindFlag = false): number[] {
  return [nameOff, btfInfo(BtfKind.ENUM, values.length, kindFlag), size, ...values.flatMap(([n, v]) => [n, v >>> 0])];
}

/** A kind whose third word is a type id: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, TYPE_TAG. */
export function btfRef(kind: number, nameOff: number, type: number, vlen = 0): number[] {
  return [nameOff, btfInfo(kind, vlen), type];
}

/** A FUNC_PROTO returning `ret` with parameters `[nameOff, type]`. */
export function btfFuncProto(ret: number, params: readonly (readonly [number, number])[]): number[] {
  return [0, btfInfo(BtfKind.FUNC_PROTO, params.length), ret, ...params.flatMap(([n, t]) => [n, t])];
}

/**
 * A string section from names: "\0" then each name and its NUL. `off` gives each name's
 * offset, as a type's name_off wants it.
 */
export function btfStrings(...names: string[]): { bytes: Uint8Array; off: Record<string, number> } {
  const off: Record<string, number> = {};
  let text = "\0";
  for (const n of names) {
    if (!(n in off)) {
      off[n] = Buffer.byteLength(text);
      text += `${n}\0`;
    }
  }
  return { bytes: new Uint8Array(Buffer.from(text, "utf8")), off };
}

/** What `btfBlob` writes; every header field defaults to what a valid blob has. */
export interface BtfBlobParts {
  /** The type section, as u32 words (little-endian). */
  types: readonly number[];
  /** The string section. */
  strings: Uint8Array;
  /** Default 0xeB9F. */
  magic?: number;
  /** Default 1. */
  version?: number;
  /** Default 0. */
  flags?: number;
  /** Default 24; more puts `tail` (zeros by default) between the 24 header bytes and the sections. */
  hdrLen?: number;
  /** The bytes past the 24 known header bytes, when hdrLen is larger. */
  tail?: Uint8Array;
  /** Offsets are from the end of the header (hdr_len); default: types at 0, strings right after. */
  typeOff?: number;
  /** Default: the type words' bytes. */
  typeLen?: number;
  /** Default: right after the type section. */
  strOff?: number;
  /** Default: the string section's bytes. */
  strLen?: number;
}

/** A raw BTF blob: header, then the type words, then the strings, at the offsets the header says by default. */
export function btfBlob(p: BtfBlobParts): Uint8Array {
  const hdrLen = p.hdrLen ?? BTF_HDR_LEN;
  const typeBytes = 4 * p.types.length;
  const typeOff = p.typeOff ?? 0;
  const strOff = p.strOff ?? typeOff + typeBytes;
  const body = Math.max(typeOff + typeBytes, strOff + p.strings.length);
  const out = new Uint8Array(Math.max(hdrLen, BTF_HDR_LEN) + body);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, p.magic ?? BTF_MAGIC, true);
  dv.setUint8(2, p.version ?? 1);
  dv.setUint8(3, p.flags ?? 0);
  dv.setUint32(4, hdrLen >>> 0, true);
  dv.setUint32(8, typeOff >>> 0, true);
  dv.setUint32(12, (p.typeLen ?? typeBytes) >>> 0, true);
  dv.setUint32(16, strOff >>> 0, true);
  dv.setUint32(20, (p.strLen ?? p.strings.length) >>> 0, true);
  if (p.tail !== undefined) out.set(p.tail.subarray(0, Math.max(0, hdrLen - BTF_HDR_LEN)), BTF_HDR_LEN);
  const start = Math.max(hdrLen, BTF_HDR_LEN);
  p.types.forEach((w, i) => dv.setUint32(start + typeOff + 4 * i, w >>> 0, true));
  // Strings last: where a case makes the sections overlap, the type words it wrote stay whole.
  if (strOff + p.strings.length <= body) {
    for (let i = 0; i < p.strings.length; i++) {
      if (strOff + i >= typeOff && strOff + i < typeOff + typeBytes) continue;
      out[start + strOff + i] = p.strings[i]!;
    }
  }
  return out;
}

/**
 * The blob most cases start from: [1] int (4 bytes, signed), [2] struct pair { int a; int b; }
 * (8 bytes), with their names. `types`/`strings` replace the sections, other fields the header's.
 */
export function pairBlob(over: Partial<BtfBlobParts> = {}): Uint8Array {
  const s = btfStrings("int", "pair", "a", "b");
  const types = [
    ...btfInt(s.off.int!, 4, 32, BTF_INT_SIGNED),
    ...btfStruct(s.off.pair!, 8, [[s.off.a!, 1, 0], [s.off.b!, 1, 32]]),
  ];
  return btfBlob({ types, strings: s.bytes, ...over });
}
