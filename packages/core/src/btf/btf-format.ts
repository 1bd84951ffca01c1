// BTF's wire format as include/uapi/linux/btf.h (6.18) declares it, and the type model the parser
// gives and the builder takes: one object per `struct btf_type` with its trailing records read
// into named fields, so that nothing above this file handles info bits or vlen.

/** `BTF_MAGIC`: the first u16 of every BTF blob (0xeB9F; read byte-swapped it says big endian). */
export const BTF_MAGIC = 0xeb9f;
/** `BTF_VERSION`: the only version the kernel accepts. */
export const BTF_VERSION = 1;
/** `sizeof(struct btf_header)`: what a blob's header is today (`hdr_len`); a longer one is skipped. */
export const BTF_HEADER_SIZE = 24;
/** `BTF_MAX_VLEN`: the most members, params, values or vars one type may have (vlen is 16 bits). */
export const BTF_MAX_VLEN = 0xffff;
/**
 * The highest type id BTF's format can name (`BTF_MAX_TYPE`, 2^20 - 1). The kernel keeps types
 * only below it: its table of BTF_MAX_TYPE entries holds void too, and a type past it is dropped.
 */
export const BTF_MAX_TYPE = 0x000f_ffff;

/** `BTF_KIND_*`: a type's kind, bits 24-28 of `btf_type.info`. UNKN (0) is only void, id 0. */
export const BtfKind = {
  UNKN: 0, INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9,
  CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17,
  TYPE_TAG: 18, ENUM64: 19,
} as const;
/** One of the `BtfKind` values. */
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

const kindNames = Object.fromEntries(Object.entries(BtfKind).map(([k, v]) => [v, k])) as Record<number, string>;
/** The kernel's name of a kind without `BTF_KIND_` (`STRUCT`, `FUNC_PROTO`), as `bpftool btf dump` prints it; `kind(N)` for an unknown one. */
export function btfKindName(kind: number): string {
  return kindNames[kind] ?? `kind(${kind})`;
}

/** `BTF_INT_*`: an INT's encoding bits (at most one of them is set). */
export const BtfIntEncoding = { NONE: 0, SIGNED: 1, CHAR: 2, BOOL: 4 } as const;
/** One of the `BtfIntEncoding` values. */
export type BtfIntEncoding = (typeof BtfIntEncoding)[keyof typeof BtfIntEncoding];

/** `BTF_FUNC_*`: a FUNC's linkage (in its vlen bits). */
export const BtfFuncLinkage = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;
/** `BTF_VAR_*`: a VAR's linkage (`struct btf_var`). */
export const BtfVarLinkage = { STATIC: 0, GLOBAL_ALLOCATED: 1, GLOBAL_EXTERN: 2 } as const;

/** Void: type id 0, which every BTF has and none encodes. */
export interface BtfVoid {
  /** `BtfKind.UNKN`. */
  readonly kind: typeof BtfKind.UNKN;
  /** Always "". */
  readonly name: "";
}

/** BTF_KIND_INT: `size` bytes holding `bits` bits from `bitOffset` (both 0..128), with an encoding. */
export interface BtfInt {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.INT;
  /** The C name (`unsigned int`, `long long`, `_Bool`). */
  readonly name: string;
  /** Bytes: 1, 2, 4, 8 or 16. */
  readonly size: number;
  /** `BtfIntEncoding`: 0 (unsigned), SIGNED, CHAR or BOOL. */
  readonly encoding: number;
  /** `BTF_INT_OFFSET`: where the value starts inside the int, in bits (0 for every compiler's output). */
  readonly bitOffset: number;
  /** `BTF_INT_BITS`: the value's width in bits. */
  readonly bits: number;
}

/** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG: a kind that names one other type. */
export interface BtfRef<K extends BtfKind> {
  /** The discriminant: `BtfKind`. */
  readonly kind: K;
  /** A TYPEDEF's or TYPE_TAG's name; "" for the others. */
  readonly name: string;
  /** The type pointed to, aliased or qualified (0 is void). */
  readonly target: number;
}

/** BTF_KIND_ARRAY: `nelems` elements of `elem`, indexed by `index` (an INT; the kernel wants one). */
export interface BtfArray {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.ARRAY;
  /** Always "": arrays have no name. */
  readonly name: "";
  /** The element type's id. */
  readonly elem: number;
  /** The index type's id. */
  readonly index: number;
  /** Elements (0 for a flexible array). */
  readonly nelems: number;
}

/** One member of a STRUCT or UNION (`struct btf_member`). */
export interface BtfMember {
  /** "" for an anonymous struct or union member. */
  readonly name: string;
  /** The member's type id. */
  readonly type: number;
  /** Bits from the start of the struct. */
  readonly bitOffset: number;
  /** A bitfield's width in bits, 0 for a member that is not a bitfield (kind_flag's high byte). */
  readonly bitfieldSize: number;
}

/** BTF_KIND_STRUCT and BTF_KIND_UNION: `size` bytes, and members at bit offsets. */
export interface BtfComposite<K extends typeof BtfKind.STRUCT | typeof BtfKind.UNION> {
  /** The discriminant: `BtfKind`. */
  readonly kind: K;
  /** "" for an anonymous struct or union. */
  readonly name: string;
  /** sizeof, in bytes. */
  readonly size: number;
  /** In declaration order. */
  readonly members: readonly BtfMember[];
}

/** One constant of an ENUM or ENUM64. */
export interface BtfEnumValue {
  /** The constant's name. */
  readonly name: string;
  /** Its value: sign-extended when the enum is signed, zero-extended when not. */
  readonly value: bigint;
}

/** BTF_KIND_ENUM (32-bit values) and BTF_KIND_ENUM64. */
export interface BtfEnumType<K extends typeof BtfKind.ENUM | typeof BtfKind.ENUM64> {
  /** The discriminant: `BtfKind`. */
  readonly kind: K;
  /** "" for an anonymous enum. */
  readonly name: string;
  /** Bytes: 1, 2, 4 or 8. */
  readonly size: number;
  /** kind_flag: whether the values are signed. */
  readonly signed: boolean;
  /** The constants, in declaration order. */
  readonly values: readonly BtfEnumValue[];
}

/** BTF_KIND_FWD: `struct name;` or `union name;` (kind_flag says which). */
export interface BtfFwd {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.FWD;
  /** The declared name. */
  readonly name: string;
  /** Whether it declares a union (else a struct). */
  readonly union: boolean;
}

/** BTF_KIND_FUNC: a function's name, its FUNC_PROTO and its linkage. */
export interface BtfFunc {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.FUNC;
  /** The function's name. */
  readonly name: string;
  /** Its FUNC_PROTO's id. */
  readonly proto: number;
  /** `BtfFuncLinkage`. */
  readonly linkage: number;
}

/** One parameter of a FUNC_PROTO (`struct btf_param`); a last one of type 0 is `...`. */
export interface BtfParam {
  /** "" when unnamed. */
  readonly name: string;
  /** The parameter's type id (0 and last: varargs). */
  readonly type: number;
}

/** BTF_KIND_FUNC_PROTO: a function's signature. */
export interface BtfFuncProto {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.FUNC_PROTO;
  /** Always "". */
  readonly name: "";
  /** The return type's id (0 for void). */
  readonly returnType: number;
  /** The parameters, in order. */
  readonly params: readonly BtfParam[];
}

/** BTF_KIND_VAR: a global variable, for a DATASEC. */
export interface BtfVar {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.VAR;
  /** The variable's name. */
  readonly name: string;
  /** Its type id. */
  readonly type: number;
  /** `BtfVarLinkage`. */
  readonly linkage: number;
}

/** One variable of a DATASEC (`struct btf_var_secinfo`). */
export interface BtfVarSecinfo {
  /** The VAR's type id. */
  readonly type: number;
  /** Bytes from the start of the section. */
  readonly offset: number;
  /** Bytes the variable takes. */
  readonly size: number;
}

/** BTF_KIND_DATASEC: a section (`.data`, `.bss`) and the variables in it. */
export interface BtfDatasec {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.DATASEC;
  /** The section's name. */
  readonly name: string;
  /** The section's size in bytes. */
  readonly size: number;
  /** Its variables, in offset order. */
  readonly vars: readonly BtfVarSecinfo[];
}

/** BTF_KIND_FLOAT: `float`, `double`, `long double`. */
export interface BtfFloat {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.FLOAT;
  /** The C name. */
  readonly name: string;
  /** Bytes: 2, 4, 8, 12 or 16. */
  readonly size: number;
}

/** BTF_KIND_DECL_TAG: `__attribute__((btf_decl_tag(name)))` on a type, a member or a parameter. */
export interface BtfDeclTag {
  /** The discriminant: `BtfKind`. */
  readonly kind: typeof BtfKind.DECL_TAG;
  /** The tag's text. */
  readonly name: string;
  /** The tagged type's id. */
  readonly target: number;
  /** -1: the type itself; else which member or parameter. */
  readonly componentIdx: number;
  /** kind_flag (6.14+): the tag is a plain `__attribute__((name))` rather than a btf_decl_tag. */
  readonly attribute: boolean;
}

/** BTF_KIND_TYPE_TAG: `__attribute__((btf_type_tag(name)))` on a pointee (`__user`, `__rcu`). */
export interface BtfTypeTag extends BtfRef<typeof BtfKind.TYPE_TAG> {
  /** kind_flag (6.14+): the tag is a plain `__attribute__((name))` rather than a btf_type_tag. */
  readonly attribute: boolean;
}

/** A BTF type, told apart by `kind`; `Btf.types[id]`. */
export type BtfType =
  | BtfVoid | BtfInt | BtfRef<typeof BtfKind.PTR> | BtfArray | BtfComposite<typeof BtfKind.STRUCT>
  | BtfComposite<typeof BtfKind.UNION> | BtfEnumType<typeof BtfKind.ENUM> | BtfFwd | BtfRef<typeof BtfKind.TYPEDEF>
  | BtfRef<typeof BtfKind.VOLATILE> | BtfRef<typeof BtfKind.CONST> | BtfRef<typeof BtfKind.RESTRICT> | BtfFunc
  | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag | BtfTypeTag | BtfEnumType<typeof BtfKind.ENUM64>;

/** BTF that cannot be read or built: `offset` is the byte in the blob where reading stopped (-1 when building). */
export class BtfError extends Error {
  /** Bytes from the start of the raw BTF (header included) of the field at fault; -1 for the builder. */
  readonly offset: number;

  /** `message` names the field; `offset` is where in the blob it is. */
  constructor(message: string, offset = -1) {
    super(offset >= 0 ? `BTF: ${message} (at byte ${offset})` : `BTF: ${message}`);
    this.name = "BtfError";
    this.offset = offset;
  }
}
