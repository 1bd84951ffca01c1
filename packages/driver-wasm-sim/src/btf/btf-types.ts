// A parsed BTF object as the checker leaves it: the types by id (0 is void), their raw words,
// the string section, and what resolution found (each type's resolved id and size). Map
// creation and the special-field search read it; nothing here checks anything.

export const BTF_KIND = {
  UNKN: 0, INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9,
  CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17,
  TYPE_TAG: 18, ENUM64: 19,
} as const;

/** btf_kind_str: the kind's name in the log. */
export const KIND_STR = [
  "UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE", "CONST",
  "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64",
];

/** One `struct btf_type` and the words after it, by byte offset in the BTF data. */
export interface BtfType {
  /** Byte offset of the `struct btf_type` in the data (-1 for void). */
  readonly at: number;
  readonly nameOff: number;
  readonly info: number;
  readonly kind: number;
  readonly vlen: number;
  readonly kflag: boolean;
  /** `size` or `type`, the same u32. */
  readonly sizeType: number;
}

export const VOID: BtfType = { at: -1, nameOff: 0, info: 0, kind: 0, vlen: 0, kflag: false, sizeType: 0 };

export class BtfData {
  readonly dv: DataView;
  /** Types by id: types[0] is void. */
  readonly types: BtfType[] = [VOID];
  /** What resolution recorded per type id (btf->resolved_ids, resolved_sizes). */
  resolvedIds: Uint32Array = new Uint32Array(0);
  resolvedSizes: Uint32Array = new Uint32Array(0);
  /** The kernel's struct names a kptr's struct is looked up in (btf_parse_kptr); null: none. */
  kernelStructs: ReadonlySet<string> | null = null;

  constructor(
    /** The raw BTF as loaded (a copy: the caller's buffer may change). */
    readonly data: Uint8Array,
    /** Absolute byte offset of the string section, and its length. */
    readonly strStart: number,
    readonly strLen: number,
  ) {
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  u32(at: number): number {
    return this.dv.getUint32(at, true);
  }

  byId(id: number): BtfType | null {
    return id >= 0 && id < this.types.length ? this.types[id]! : null;
  }

  /** btf_str_by_offset: the NUL-terminated string at `off`, or null past the section. */
  str(off: number): string | null {
    if (off >= this.strLen) return null;
    let end = this.strStart + off;
    const stop = this.strStart + this.strLen;
    while (end < stop && this.data[end] !== 0) end++;
    return latin1(this.data.subarray(this.strStart + off, end));
  }

  /** __btf_name_by_offset: "(anon)" for 0, the string, or "(invalid-name-offset)". */
  nameOf(off: number): string {
    if (off === 0) return "(anon)";
    return this.str(off) ?? "(invalid-name-offset)";
  }

  /** The i-th u32 after the btf_type header of `t`. */
  word(t: BtfType, i: number): number {
    return this.u32(t.at + 12 + 4 * i);
  }
}

/** Bytes as the kernel's %s prints them: one char per byte. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

export const isModifier = (t: BtfType) =>
  t.kind === BTF_KIND.TYPEDEF || t.kind === BTF_KIND.VOLATILE || t.kind === BTF_KIND.CONST ||
  t.kind === BTF_KIND.RESTRICT || t.kind === BTF_KIND.TYPE_TAG;
export const isVoid = (t: BtfType) => t === VOID;
export const isStruct = (t: BtfType) => t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION;
export const isPtr = (t: BtfType) => t.kind === BTF_KIND.PTR;
export const isArray = (t: BtfType) => t.kind === BTF_KIND.ARRAY;
export const isInt = (t: BtfType) => t.kind === BTF_KIND.INT;
export const isVar = (t: BtfType) => t.kind === BTF_KIND.VAR;
export const isDatasec = (t: BtfType) => t.kind === BTF_KIND.DATASEC;
export const isDeclTag = (t: BtfType) => t.kind === BTF_KIND.DECL_TAG;
export const isFunc = (t: BtfType) => t.kind === BTF_KIND.FUNC;
export const isFuncProto = (t: BtfType) => t.kind === BTF_KIND.FUNC_PROTO;
export const isFwd = (t: BtfType) => t.kind === BTF_KIND.FWD;
export const isTypeTag = (t: BtfType) => t.kind === BTF_KIND.TYPE_TAG;

/** btf_type_nosize: void, FWD, FUNC, FUNC_PROTO (and DECL_TAG) have no size. */
export const noSize = (t: BtfType | null) =>
  t === null || isVoid(t) || isFwd(t) || isFunc(t) || isFuncProto(t) || isDeclTag(t);

/** btf_type_has_size: `size` is the size. */
export const hasSize = (t: BtfType) =>
  t.kind === BTF_KIND.INT || t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION || t.kind === BTF_KIND.ENUM ||
  t.kind === BTF_KIND.DATASEC || t.kind === BTF_KIND.FLOAT || t.kind === BTF_KIND.ENUM64;

/** BTF_INT_BITS, BTF_INT_OFFSET, BTF_INT_ENCODING of an INT's word. */
export const intBits = (w: number) => w & 0xff;
export const intOffset = (w: number) => (w >>> 16) & 0xff;
export const intEncoding = (w: number) => (w >>> 24) & 0x0f;

/** btf_type_int_is_regular: no bit offset, a whole u8/u16/u32/u64/u128. */
export function intIsRegular(btf: BtfData, t: BtfType, expectedSize = 0): boolean {
  const w = btf.word(t, 0);
  const bits = intBits(w);
  const bytes = (bits + 7) >>> 3;
  return (bits & 7) === 0 && intOffset(w) === 0 && bytes <= 16 && bytes !== 0 && (bytes & (bytes - 1)) === 0 &&
    (expectedSize === 0 || bytes === expectedSize);
}

/**
 * btf_type_id_size: the type with a size that `id` stands for (modifiers and VARs followed
 * through what resolution recorded), its id and size; null for a type without one.
 */
export function typeIdSize(btf: BtfData, id: number): { t: BtfType; id: number; size: number } | null {
  let t = btf.byId(id);
  if (t === null || noSize(t)) return null;
  if (hasSize(t)) return { t, id, size: t.sizeType };
  if (isArray(t)) return { t, id, size: btf.resolvedSizes[id]! };
  if (isPtr(t)) return { t, id, size: 8 };
  if (!isModifier(t) && !isVar(t)) return null;
  const rid = btf.resolvedIds[id]!;
  t = btf.byId(rid);
  if (t === null || noSize(t)) return null;
  if (hasSize(t)) return { t, id: rid, size: t.sizeType };
  if (isArray(t)) return { t, id: rid, size: btf.resolvedSizes[rid]! };
  if (isPtr(t)) return { t, id: rid, size: 8 };
  return null;
}

/** btf_type_skip_modifiers: follows modifiers; the type and its id. */
export function skipModifiers(btf: BtfData, id: number): { t: BtfType | null; id: number } {
  let t = btf.byId(id);
  while (t !== null && isModifier(t)) {
    id = t.sizeType;
    t = btf.byId(id);
  }
  return { t, id };
}
