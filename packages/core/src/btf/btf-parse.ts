// Reads raw BTF (a `struct btf_header`, the type section, the string section) into the type
// model. It is not the kernel's checker (the simulator's btf_parse is): it refuses only what it
// cannot read without guessing (a bad header, a section or record past the end, an unknown kind,
// a name or type id that points nowhere), so that what it returns is never a misreading.
import {
  BTF_HEADER_SIZE, BTF_MAGIC, BTF_VERSION, BtfError, BtfKind, btfKindName,
  type BtfMember, type BtfType, type BtfVoid,
} from "./btf-format.js";

/** What `parseBtf` takes besides the bytes. */
export interface ParseBtfOptions {
  /**
   * The BTF this blob is split on (a module's BTF on vmlinux's): its type ids continue after the
   * base's last, and its string offsets after the base's strings.
   */
  base?: Btf;
}

const VOID: BtfVoid = Object.freeze({ kind: BtfKind.UNKN, name: "" as const });
// How deep sizeOf and resolve follow typedefs and modifiers before calling it a loop: libbpf's
// MAX_RESOLVE_DEPTH (btf__resolve_size). The kernel's constant of that name bounds only its
// resolve stack, so 6.18 loads a longer chain of types that each name one already resolved
// (2000 typedefs, probed): such BTF is refused here as a loop.
const MAX_RESOLVE_DEPTH = 32;
const SIZED = new Set<number>([BtfKind.INT, BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64, BtfKind.DATASEC, BtfKind.FLOAT]);
const MODIFIERS = new Set<number>([BtfKind.TYPEDEF, BtfKind.CONST, BtfKind.VOLATILE, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);

/** Parsed BTF: its types by id, their names, sizes, and the raw bytes it came from. */
export class Btf {
  /** Every type by id: `types[0]` is void; with a base, the base's types come first. */
  readonly types: readonly BtfType[];
  /** The bytes parsed (this blob only, not its base's). */
  readonly raw: Uint8Array;
  /** The BTF this one is split on, if any. */
  readonly base: Btf | undefined;
  /** The first type id this blob defines: 1, or the base's type count. */
  readonly startId: number;
  /** Whether the blob was little endian (the magic tells; bpftool reads both, so does this). */
  readonly littleEndian: boolean;
  /** The string offset this blob's strings start at: 0, or the end of the base's. */
  readonly stringStart: number;
  /** The string offset one past this blob's last string byte. */
  readonly stringEnd: number;
  private byName: Map<string, number[]> | undefined;

  /** Use `parseBtf`. */
  constructor(init: { types: readonly BtfType[]; raw: Uint8Array; base: Btf | undefined; littleEndian: boolean; stringStart: number; stringEnd: number }) {
    this.types = init.types;
    this.raw = init.raw;
    this.base = init.base;
    this.startId = init.base === undefined ? 1 : init.base.types.length;
    this.littleEndian = init.littleEndian;
    this.stringStart = init.stringStart;
    this.stringEnd = init.stringEnd;
  }

  /** The type with that id (0 is void); a RangeError for an id this BTF does not have. */
  typeById(id: number): BtfType {
    const t = Number.isInteger(id) && id >= 0 ? this.types[id] : undefined;
    if (t === undefined) throw new RangeError(`BTF: no type ${id} (the last is ${this.types.length - 1})`);
    return t;
  }

  /** The type's name, "" when anonymous (and for void). */
  name(id: number): string {
    return this.typeById(id).name;
  }

  /** The lowest id of a type with that name (and kind, if given), or undefined. */
  findByName(name: string, kind?: BtfKind): number | undefined {
    if (this.byName === undefined) {
      const m = new Map<string, number[]>();
      for (let id = 1; id < this.types.length; id++) {
        const n = this.types[id]!.name;
        if (n === "") continue;
        const ids = m.get(n);
        if (ids === undefined) m.set(n, [id]);
        else ids.push(id);
      }
      this.byName = m;
    }
    const ids = this.byName.get(name);
    if (ids === undefined) return undefined;
    return kind === undefined ? ids[0] : ids.find((id) => this.types[id]!.kind === kind);
  }

  /** The id past typedefs, const, volatile, restrict and type tags (0 stays 0). */
  resolve(id: number): number {
    let cur = id;
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      const t = this.typeById(cur);
      if (!MODIFIERS.has(t.kind)) return cur;
      cur = (t as { target: number }).target;
    }
    throw new BtfError(`type ${id}: more than ${MAX_RESOLVE_DEPTH} typedefs and modifiers (a loop?)`);
  }

  /**
   * sizeof the type in bytes, through typedefs and modifiers (a VAR: its type's); an array is
   * nelems × its element's size, a pointer 8. null for what has no size: void, FUNC,
   * FUNC_PROTO, FWD, DECL_TAG.
   */
  sizeOf(id: number): number | null {
    let cur = id;
    let mult = 1;
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      const t = this.typeById(cur);
      if (SIZED.has(t.kind)) return mult * (t as { size: number }).size;
      switch (t.kind) {
        case BtfKind.PTR: return mult * 8;
        case BtfKind.ARRAY: mult *= t.nelems; cur = t.elem; continue;
        case BtfKind.VAR: cur = t.type; continue;
        default:
          if (MODIFIERS.has(t.kind)) { cur = (t as { target: number }).target; continue; }
          return null;
      }
    }
    throw new BtfError(`type ${id}: more than ${MAX_RESOLVE_DEPTH} typedefs, modifiers and arrays (a loop?)`);
  }
}

// Field codes for a reference checked after all types are read (forward references are legal).
const REF_FIELDS = ["type", "member type", "array element type", "array index type", "return type", "param type", "var type", "datasec var type", "func proto"];

/**
 * Reads raw BTF. Little-endian BTF is what the kernel loads on the machines bpf(2) runs on;
 * big-endian BTF (the magic reads 0x9feb) is read too, as bpftool does. Anything it cannot read
 * is a `BtfError` naming the field and its byte offset.
 */
export function parseBtf(raw: Uint8Array, options: ParseBtfOptions = {}): Btf {
  if (!(raw instanceof Uint8Array)) throw new TypeError("parseBtf: raw must be a Uint8Array");
  const base = options.base;
  if (base !== undefined && !(base instanceof Btf)) throw new TypeError("parseBtf: options.base must be a Btf");
  if (raw.length < BTF_HEADER_SIZE) throw new BtfError(`${raw.length} bytes is shorter than a btf_header (${BTF_HEADER_SIZE})`, 0);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic !== BTF_MAGIC && magic !== 0x9feb) throw new BtfError(`magic is 0x${magic.toString(16)}, not 0xeb9f`, 0);
  const le = magic === BTF_MAGIC;
  if (base !== undefined && base.littleEndian !== le) throw new BtfError("split BTF and its base differ in byte order", 0);
  if (raw[2] !== BTF_VERSION) throw new BtfError(`version is ${raw[2]}, not ${BTF_VERSION}`, 2);
  if (raw[3] !== 0) throw new BtfError(`flags are 0x${raw[3]!.toString(16)}, none is defined`, 3);
  const hdrLen = dv.getUint32(4, le);
  if (hdrLen < BTF_HEADER_SIZE) throw new BtfError(`hdr_len ${hdrLen} is shorter than a btf_header (${BTF_HEADER_SIZE})`, 4);
  if (hdrLen > raw.length) throw new BtfError(`hdr_len ${hdrLen} is past the end of the ${raw.length} bytes`, 4);
  const typeOff = dv.getUint32(8, le), typeLen = dv.getUint32(12, le);
  const strOff = dv.getUint32(16, le), strLen = dv.getUint32(20, le);
  const typeStart = hdrLen + typeOff, typeEnd = typeStart + typeLen;
  const strStart = hdrLen + strOff, strEnd = strStart + strLen;
  if (typeEnd > raw.length) throw new BtfError(`the type section (type_off ${typeOff}, type_len ${typeLen}) runs past the end of the ${raw.length} bytes`, 8);
  if (strEnd > raw.length) throw new BtfError(`the string section (str_off ${strOff}, str_len ${strLen}) runs past the end of the ${raw.length} bytes`, 16);
  if (typeStart < strEnd && strStart < typeEnd && typeLen > 0 && strLen > 0) throw new BtfError("the type and string sections overlap", 8);
  if (base === undefined && strLen > 0 && raw[strStart] !== 0) throw new BtfError("the string section does not start with the empty string", strStart);

  const stringBase = base === undefined ? 0 : base.stringEnd;
  const strings = new StringReader(raw, strStart, strLen, stringBase, base);
  const types: BtfType[] = base === undefined ? [VOID] : base.types.slice();
  // Every type id a type names, with the byte it sits at, checked once all ids are known.
  let refs = new Uint32Array(1024);
  let nrefs = 0;
  const ref = (id: number, at: number, field: number): number => {
    if (nrefs + 3 > refs.length) { const r = new Uint32Array(refs.length * 2); r.set(refs); refs = r; }
    refs[nrefs++] = id; refs[nrefs++] = at; refs[nrefs++] = field;
    return id;
  };
  const u32 = (at: number): number => dv.getUint32(at, le);
  const name = (at: number): string => strings.at(u32(at), at);

  let p = typeStart;
  while (p < typeEnd) {
    const at = p;
    const id = types.length;
    if (at + 12 > typeEnd) throw new BtfError(`type ${id}: a btf_type needs 12 bytes, ${typeEnd - at} are left in the type section`, at);
    const info = u32(at + 4);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kflag = info >>> 31 === 1;
    const sizeOrType = u32(at + 8);
    // Bytes after the btf_type this kind has, before reading any of them.
    let extra: number;
    switch (kind) {
      case BtfKind.INT: case BtfKind.VAR: case BtfKind.DECL_TAG: extra = 4; break;
      case BtfKind.ARRAY: extra = 12; break;
      case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM64: case BtfKind.DATASEC: extra = 12 * vlen; break;
      case BtfKind.ENUM: case BtfKind.FUNC_PROTO: extra = 8 * vlen; break;
      case BtfKind.PTR: case BtfKind.FWD: case BtfKind.TYPEDEF: case BtfKind.VOLATILE: case BtfKind.CONST:
      case BtfKind.RESTRICT: case BtfKind.FUNC: case BtfKind.FLOAT: case BtfKind.TYPE_TAG: extra = 0; break;
      default: throw new BtfError(`type ${id}: unknown kind ${kind} in info 0x${info.toString(16)}`, at + 4);
    }
    p = at + 12;
    if (p + extra > typeEnd) throw new BtfError(`type ${id} (${btfKindName(kind)}, vlen ${vlen}): needs ${extra} more bytes, ${typeEnd - p} are left in the type section`, at + 4);
    const n = name(at);
    let t: BtfType;
    switch (kind) {
      case BtfKind.INT: {
        const e = u32(p);
        t = { kind, name: n, size: sizeOrType, encoding: (e >>> 24) & 0x0f, bitOffset: (e >>> 16) & 0xff, bits: e & 0xff };
        break;
      }
      case BtfKind.PTR: case BtfKind.TYPEDEF: case BtfKind.VOLATILE: case BtfKind.CONST: case BtfKind.RESTRICT:
        t = { kind, name: n, target: ref(sizeOrType, at + 8, 0) };
        break;
      case BtfKind.TYPE_TAG:
        t = { kind, name: n, target: ref(sizeOrType, at + 8, 0), attribute: kflag };
        break;
      case BtfKind.ARRAY:
        t = { kind, name: "", elem: ref(u32(p), p, 2), index: ref(u32(p + 4), p + 4, 3), nelems: u32(p + 8) };
        break;
      case BtfKind.STRUCT: case BtfKind.UNION: {
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const m = p + 12 * i;
          const off = u32(m + 8);
          members[i] = kflag
            ? { name: name(m), type: ref(u32(m + 4), m + 4, 1), bitOffset: off & 0xffffff, bitfieldSize: off >>> 24 }
            : { name: name(m), type: ref(u32(m + 4), m + 4, 1), bitOffset: off, bitfieldSize: 0 };
        }
        t = { kind, name: n, size: sizeOrType, members };
        break;
      }
      case BtfKind.ENUM: {
        const values = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const v = p + 8 * i;
          values[i] = { name: name(v), value: BigInt(kflag ? dv.getInt32(v + 4, le) : u32(v + 4)) };
        }
        t = { kind, name: n, size: sizeOrType, signed: kflag, values };
        break;
      }
      case BtfKind.ENUM64: {
        const values = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const v = p + 12 * i;
          const u = (BigInt(u32(v + 8)) << 32n) | BigInt(u32(v + 4));
          values[i] = { name: name(v), value: kflag ? BigInt.asIntN(64, u) : u };
        }
        t = { kind, name: n, size: sizeOrType, signed: kflag, values };
        break;
      }
      case BtfKind.FWD:
        t = { kind, name: n, union: kflag };
        break;
      case BtfKind.FUNC:
        t = { kind, name: n, proto: ref(sizeOrType, at + 8, 8), linkage: vlen };
        break;
      case BtfKind.FUNC_PROTO: {
        const params = new Array(vlen);
        for (let i = 0; i < vlen; i++) params[i] = { name: name(p + 8 * i), type: ref(u32(p + 8 * i + 4), p + 8 * i + 4, 5) };
        t = { kind, name: "", returnType: ref(sizeOrType, at + 8, 4), params };
        break;
      }
      case BtfKind.VAR:
        t = { kind, name: n, type: ref(sizeOrType, at + 8, 6), linkage: u32(p) };
        break;
      case BtfKind.DATASEC: {
        const vars = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const v = p + 12 * i;
          vars[i] = { type: ref(u32(v), v, 7), offset: u32(v + 4), size: u32(v + 8) };
        }
        t = { kind, name: n, size: sizeOrType, vars };
        break;
      }
      case BtfKind.FLOAT:
        t = { kind, name: n, size: sizeOrType };
        break;
      default: // DECL_TAG, the last kind the switch above lets through
        t = { kind: BtfKind.DECL_TAG, name: n, target: ref(sizeOrType, at + 8, 0), componentIdx: dv.getInt32(p, le), attribute: kflag };
        break;
    }
    types.push(t);
    p += extra;
  }
  for (let i = 0; i < nrefs; i += 3) {
    if (refs[i]! >= types.length) {
      throw new BtfError(`${REF_FIELDS[refs[i + 2]!]} ${refs[i]} is past the last type (${types.length - 1})`, refs[i + 1]!);
    }
  }
  return new Btf({ types, raw, base, littleEndian: le, stringStart: stringBase, stringEnd: stringBase + strLen });
}

/** Names by string offset, decoded once: an all-ASCII section as one JS string, else name by name. */
class StringReader {
  private readonly ascii: string | undefined;
  private readonly cache = new Map<number, string>();
  private readonly decoder = new TextDecoder();

  constructor(private readonly raw: Uint8Array, private readonly start: number, private readonly len: number,
    private readonly offsetBase: number, private readonly base: Btf | undefined) {
    let ascii = true;
    for (let i = start; i < start + len; i++) if (raw[i]! >= 0x80) { ascii = false; break; }
    this.ascii = ascii ? this.decoder.decode(raw.subarray(start, start + len)) : undefined;
  }

  /** The NUL-terminated string at `off` (a name_off read at byte `at`). */
  at(off: number, at: number): string {
    if (off < this.offsetBase) return baseString(this.base!, off, at);
    const rel = off - this.offsetBase;
    if (rel >= this.len) throw new BtfError(`name_off ${off} is past the string section (it ends at ${this.offsetBase + this.len})`, at);
    if (this.ascii !== undefined) {
      if (rel === 0 && this.offsetBase === 0) return "";
      const end = this.ascii.indexOf("\0", rel);
      if (end < 0) throw new BtfError(`name_off ${off}: the string has no NUL before the end of the section`, at);
      return this.ascii.slice(rel, end);
    }
    let s = this.cache.get(rel);
    if (s === undefined) {
      const end = this.raw.indexOf(0, this.start + rel);
      if (end < 0 || end >= this.start + this.len) throw new BtfError(`name_off ${off}: the string has no NUL before the end of the section`, at);
      s = this.decoder.decode(this.raw.subarray(this.start + rel, end));
      this.cache.set(rel, s);
    }
    return s;
  }
}

// A base's string, read from its raw bytes again: split BTF names base strings rarely (its
// own types' names are mostly its own).
function baseString(base: Btf, off: number, at: number): string {
  if (off < base.stringStart) return baseString(base.base!, off, at);
  const dv = new DataView(base.raw.buffer, base.raw.byteOffset, base.raw.byteLength);
  const le = base.littleEndian;
  const strStart = dv.getUint32(4, le) + dv.getUint32(16, le);
  const s = strStart + off - base.stringStart;
  const end = base.raw.indexOf(0, s);
  if (end < 0) throw new BtfError(`name_off ${off}: the base's string has no NUL`, at);
  return new TextDecoder().decode(base.raw.subarray(s, end));
}
