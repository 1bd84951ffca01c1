// Writes BTF as the kernel's btf_parse reads it: a 24-byte header, the type section, then the
// string section, little endian, strings de-duplicated. The builder checks what the wire format
// cannot hold (a vlen over 65535, a bitfield offset over 2^24, a name that is not a string); what
// the kernel's checker would refuse beyond that (a struct member past its size, a loop) is the
// kernel's or the simulator's to say.
import {
  BTF_HEADER_SIZE, BTF_MAGIC, BTF_MAX_TYPE, BTF_MAX_VLEN, BTF_VERSION, BtfError, BtfIntEncoding, BtfKind, btfKindName,
  type BtfEnumValue, type BtfMember, type BtfParam, type BtfType, type BtfVarSecinfo,
} from "./btf-format.js";
import type { Btf } from "./btf-parse.js";
import { describeValue } from "../describe-value.js";

/** What a `BtfBuilder` starts from. */
export interface BtfBuilderOptions {
  /** Build split BTF on this base: ids start after its last type, strings after its strings. */
  base?: Btf;
}

/** A member as `struct()` and `union()` take it: `bitfieldSize` left out is 0. */
export type BtfMemberInit = Omit<BtfMember, "bitfieldSize"> & { bitfieldSize?: number };

/** Builds raw BTF type by type; each method returns the new type's id. */
export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strings: string[] = [""];
  private readonly stringOffsets = new Map<string, number>([["", 0]]);
  private stringBytes = 1;
  private readonly encoder = new TextEncoder();
  private readonly encoded: Uint8Array[] = [new Uint8Array(1)];
  private nextId: number;
  private readonly stringBase: number;

  /** An empty BTF (only void), or split BTF on `options.base`. */
  constructor(options: BtfBuilderOptions = {}) {
    this.nextId = options.base === undefined ? 1 : options.base.types.length;
    // Split BTF's strings continue after the base's; its own section still starts with a NUL
    // (as libbpf writes it), and "" is the base's offset 0.
    this.stringBase = options.base === undefined ? 0 : options.base.stringEnd;
  }

  /** The id the next type added gets. */
  get nextTypeId(): number {
    return this.nextId;
  }

  /** The offset of `s` in the string section, adding it once ("" is 0). */
  addString(s: string): number {
    checkName(s);
    if (s === "") return 0;
    let off = this.stringOffsets.get(s);
    if (off === undefined) {
      const b = this.encoder.encode(`${s}\0`);
      off = this.stringBase + this.stringBytes;
      this.stringOffsets.set(s, off);
      this.strings.push(s);
      this.encoded.push(b);
      this.stringBytes += b.length;
    }
    return off;
  }

  /** BTF_KIND_INT: `size` bytes (1, 2, 4, 8, 16), `bits` wide (default size × 8) at `bitOffset` (default 0). */
  int(name: string, size: number, encoding: number = BtfIntEncoding.NONE, bits = size * 8, bitOffset = 0): number {
    checkU(name, "INT encoding", encoding, 0x0f);
    checkU(name, "INT bits", bits, 0xff);
    checkU(name, "INT bit offset", bitOffset, 0xff);
    return this.type(BtfKind.INT, name, 0, false, u32(name, "INT size", size), [(encoding << 24 | bitOffset << 16 | bits) >>> 0]);
  }

  /** BTF_KIND_PTR to `target` (0: `void *`). */
  ptr(target: number): number { return this.ref(BtfKind.PTR, "", target); }
  /** BTF_KIND_TYPEDEF: `typedef target name`. */
  typedef(name: string, target: number): number { return this.ref(BtfKind.TYPEDEF, name, target); }
  /** BTF_KIND_VOLATILE on `target`. */
  volatile(target: number): number { return this.ref(BtfKind.VOLATILE, "", target); }
  /** BTF_KIND_CONST on `target`. */
  const(target: number): number { return this.ref(BtfKind.CONST, "", target); }
  /** BTF_KIND_RESTRICT on `target`. */
  restrict(target: number): number { return this.ref(BtfKind.RESTRICT, "", target); }
  /** BTF_KIND_TYPE_TAG `name` on `target`; `attribute` sets kind_flag (a plain attribute, 6.14+). */
  typeTag(name: string, target: number, attribute = false): number { return this.ref(BtfKind.TYPE_TAG, name, target, attribute); }

  /** BTF_KIND_ARRAY: `nelems` of `elem`, indexed by `index` (an INT id; the kernel checks it is one). */
  array(elem: number, index: number, nelems: number): number {
    return this.type(BtfKind.ARRAY, "", 0, false, 0, [id("array element", elem), id("array index", index), u32("array", "nelems", nelems)]);
  }

  /** BTF_KIND_STRUCT of `size` bytes; kind_flag is set when a member is a bitfield. */
  struct(name: string, size: number, members: readonly BtfMemberInit[]): number { return this.composite(BtfKind.STRUCT, name, size, members); }
  /** BTF_KIND_UNION of `size` bytes, its members at bit offset 0 (or as given). */
  union(name: string, size: number, members: readonly BtfMemberInit[]): number { return this.composite(BtfKind.UNION, name, size, members); }

  /** BTF_KIND_ENUM of `size` bytes (1, 2, 4); values must fit in 32 bits, signed or not as `signed` says. */
  enum(name: string, size: number, values: readonly BtfEnumValue[], signed = false): number {
    const [lo, hi] = signed ? [-(1n << 31n), (1n << 31n) - 1n] : [0n, (1n << 32n) - 1n];
    for (const v of checkValues(name, values)) {
      if (v.value < lo || v.value > hi) throw new BtfError(`ENUM ${JSON.stringify(name)}: ${v.name} = ${v.value} is outside [${lo}, ${hi}]`);
    }
    const words: number[] = [];
    for (const v of values) words.push(this.addString(v.name), Number(BigInt.asUintN(32, v.value)));
    return this.type(BtfKind.ENUM, name, values.length, signed, u32(name, "ENUM size", size), words);
  }

  /** BTF_KIND_ENUM64 of `size` bytes (usually 8); values as 64-bit, signed or not. */
  enum64(name: string, size: number, values: readonly BtfEnumValue[], signed = false): number {
    const [lo, hi] = signed ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n];
    for (const v of checkValues(name, values)) {
      if (v.value < lo || v.value > hi) throw new BtfError(`ENUM64 ${JSON.stringify(name)}: ${v.name} = ${v.value} is outside [${lo}, ${hi}]`);
    }
    const words: number[] = [];
    for (const v of values) {
      const u = BigInt.asUintN(64, v.value);
      words.push(this.addString(v.name), Number(u & 0xffff_ffffn), Number(u >> 32n));
    }
    return this.type(BtfKind.ENUM64, name, values.length, signed, u32(name, "ENUM64 size", size), words);
  }

  /** BTF_KIND_FWD: `struct name;`, or `union name;` with `union`. */
  fwd(name: string, union = false): number { return this.type(BtfKind.FWD, name, 0, union, 0, []); }

  /** BTF_KIND_FUNC `name` of FUNC_PROTO `proto`, with a `BtfFuncLinkage`. */
  func(name: string, proto: number, linkage = 0): number {
    checkU(name, "FUNC linkage", linkage, BTF_MAX_VLEN);
    return this.type(BtfKind.FUNC, name, linkage, false, id("func proto", proto), []);
  }

  /** BTF_KIND_FUNC_PROTO: returns `returnType` (0 void), takes `params` (a last of type 0 is `...`). */
  funcProto(returnType: number, params: readonly BtfParam[]): number {
    for (const p of checkList("FUNC_PROTO", "params", params)) { checkName(p.name); id("param", p.type); }
    id("return", returnType);
    const words: number[] = [];
    for (const p of params) words.push(this.addString(p.name), p.type);
    return this.type(BtfKind.FUNC_PROTO, "", params.length, false, returnType, words);
  }

  /** BTF_KIND_VAR `name` of `type`, with a `BtfVarLinkage`. */
  var(name: string, type: number, linkage = 0): number {
    return this.type(BtfKind.VAR, name, 0, false, id("var", type), [u32(name, "VAR linkage", linkage)]);
  }

  /** BTF_KIND_DATASEC `name` of `size` bytes holding `vars`. */
  datasec(name: string, size: number, vars: readonly BtfVarSecinfo[]): number {
    const words: number[] = [];
    for (const v of checkList(name, "vars", vars)) words.push(id("datasec var", v.type), u32(name, "var offset", v.offset), u32(name, "var size", v.size));
    checkName(name);
    return this.type(BtfKind.DATASEC, name, vars.length, false, u32(name, "DATASEC size", size), words);
  }

  /** BTF_KIND_FLOAT `name` of `size` bytes. */
  float(name: string, size: number): number { return this.type(BtfKind.FLOAT, name, 0, false, u32(name, "FLOAT size", size), []); }

  /** BTF_KIND_DECL_TAG `name` on `target` (componentIdx -1: the type itself, else a member or param). */
  declTag(name: string, target: number, componentIdx = -1, attribute = false): number {
    if (!Number.isInteger(componentIdx) || componentIdx < -1 || componentIdx > 0x7fff_ffff) {
      throw new BtfError(`DECL_TAG ${JSON.stringify(name)}: component_idx ${componentIdx} is not -1 or a member index`);
    }
    return this.type(BtfKind.DECL_TAG, name, 0, attribute, id("decl tag", target), [componentIdx >>> 0]);
  }

  /** Adds a type from the model (what `parseBtf` gives): the per-kind method its kind names. */
  add(t: BtfType): number {
    switch (t.kind) {
      case BtfKind.INT: return this.int(t.name, t.size, t.encoding, t.bits, t.bitOffset);
      case BtfKind.PTR: return this.ptr(t.target);
      case BtfKind.TYPEDEF: return this.typedef(t.name, t.target);
      case BtfKind.VOLATILE: return this.volatile(t.target);
      case BtfKind.CONST: return this.const(t.target);
      case BtfKind.RESTRICT: return this.restrict(t.target);
      case BtfKind.TYPE_TAG: return this.typeTag(t.name, t.target, t.attribute);
      case BtfKind.ARRAY: return this.array(t.elem, t.index, t.nelems);
      case BtfKind.STRUCT: return this.struct(t.name, t.size, t.members);
      case BtfKind.UNION: return this.union(t.name, t.size, t.members);
      case BtfKind.ENUM: return this.enum(t.name, t.size, t.values, t.signed);
      case BtfKind.ENUM64: return this.enum64(t.name, t.size, t.values, t.signed);
      case BtfKind.FWD: return this.fwd(t.name, t.union);
      case BtfKind.FUNC: return this.func(t.name, t.proto, t.linkage);
      case BtfKind.FUNC_PROTO: return this.funcProto(t.returnType, t.params);
      case BtfKind.VAR: return this.var(t.name, t.type, t.linkage);
      case BtfKind.DATASEC: return this.datasec(t.name, t.size, t.vars);
      case BtfKind.FLOAT: return this.float(t.name, t.size);
      case BtfKind.DECL_TAG: return this.declTag(t.name, t.target, t.componentIdx, t.attribute);
      default: throw new BtfError(`cannot add a type of kind ${btfKindName((t as { kind: number }).kind)}`);
    }
  }

  /** The raw BTF: header, types, strings (little endian), ready for BPF_BTF_LOAD or `parseBtf`. */
  encode(): Uint8Array {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + this.stringBytes);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, BTF_MAGIC, true);
    out[2] = BTF_VERSION;
    out[3] = 0;
    dv.setUint32(4, BTF_HEADER_SIZE, true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, typeLen, true);
    dv.setUint32(16, typeLen, true);
    dv.setUint32(20, this.stringBytes, true);
    for (let i = 0; i < this.words.length; i++) dv.setUint32(BTF_HEADER_SIZE + 4 * i, this.words[i]!, true);
    let at = BTF_HEADER_SIZE + typeLen;
    for (const b of this.encoded) { out.set(b, at); at += b.length; }
    return out;
  }

  private ref(kind: BtfKind, name: string, target: number, kflag = false): number {
    return this.type(kind, name, 0, kflag, id(`${btfKindName(kind)} target`, target), []);
  }

  private composite(kind: typeof BtfKind.STRUCT | typeof BtfKind.UNION, name: string, size: number, members: readonly BtfMemberInit[]): number {
    const what = `${btfKindName(kind)} ${JSON.stringify(name)}`;
    checkList(what, "members", members);
    const kflag = members.some((m) => (m.bitfieldSize ?? 0) !== 0);
    for (const m of members) {
      checkName(m.name);
      checkU(what, `member ${JSON.stringify(m.name)} bitfield size`, m.bitfieldSize ?? 0, 0xff);
      checkU(what, `member ${JSON.stringify(m.name)} bit offset`, m.bitOffset, kflag ? 0xff_ffff : 0xffff_ffff);
      id(`member ${JSON.stringify(m.name)}`, m.type);
    }
    u32(name, "size", size);
    checkName(name);
    // Checked whole before the first string is added: a refused type leaves nothing behind.
    const words: number[] = [];
    for (const m of members) words.push(this.addString(m.name), m.type, kflag ? (((m.bitfieldSize ?? 0) << 24) | m.bitOffset) >>> 0 : m.bitOffset);
    return this.type(kind, name, members.length, kflag, size, words);
  }

  private type(kind: BtfKind, name: string, vlen: number, kflag: boolean, sizeOrType: number, rest: readonly number[]): number {
    if (vlen > BTF_MAX_VLEN) throw new BtfError(`${btfKindName(kind)} ${JSON.stringify(name)}: ${vlen} entries, at most ${BTF_MAX_VLEN}`);
    // The kernel's table holds BTF_MAX_TYPE entries, void's among them: it loads a type of id
    // BTF_MAX_TYPE but drops it ("Exceeded max num of types"), so nothing may refer to it.
    if (this.nextId >= BTF_MAX_TYPE) throw new BtfError(`more than ${BTF_MAX_TYPE - 1} types (the kernel keeps ids below BTF_MAX_TYPE)`);
    const nameOff = this.addString(name);
    this.words.push(nameOff, ((kflag ? 1 << 31 : 0) | (kind << 24) | vlen) >>> 0, sizeOrType >>> 0);
    for (const w of rest) this.words.push(w);
    return this.nextId++;
  }
}

function checkName(s: unknown): void {
  if (typeof s !== "string") throw new BtfError(`a name must be a string, got ${describeValue(s)}`);
  if (s.includes("\0")) throw new BtfError(`the name ${JSON.stringify(s)} holds a NUL`);
}

function checkU(what: string, field: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new BtfError(`${what}: ${field} ${v} is not an integer in [0, ${max}]`);
  return v;
}
function u32(what: string, field: string, v: number): number { return checkU(what, field, v, 0xffff_ffff); }
function id(field: string, v: number): number { return checkU("a type id", field, v, BTF_MAX_TYPE); }

function checkList<T>(what: string, field: string, list: readonly T[]): readonly T[] {
  if (!Array.isArray(list)) throw new BtfError(`${what}: ${field} must be an array`);
  if (list.length > BTF_MAX_VLEN) throw new BtfError(`${what}: ${list.length} ${field}, at most ${BTF_MAX_VLEN}`);
  return list;
}

function checkValues(name: string, values: readonly BtfEnumValue[]): readonly BtfEnumValue[] {
  checkList(`enum ${JSON.stringify(name)}`, "values", values);
  for (const v of values) checkName(v.name);
  for (const v of values) if (typeof v.value !== "bigint") throw new BtfError(`enum ${JSON.stringify(name)}: ${v.name}'s value must be a bigint`);
  return values;
}
