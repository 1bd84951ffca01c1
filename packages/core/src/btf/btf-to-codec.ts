// Codecs made from BTF: a map someone else made, read and written by the types its BTF names,
// with no codec written by hand. The inverse of btf-codec.ts (codecs → BTF). Layout comes from
// the BTF alone (each member's bit offset, each type's size), never from C's rules, so packed
// structs, explicit padding and bitfields are read where the compiler put them.
import { bytes, i16, i32, i64, i8, u16, u32, u64, u8, type FieldCodec } from "../codec.js";
import { field } from "../codec-field.js";
import { describeValue } from "../describe-value.js";
import { BtfError, BtfIntEncoding, BtfKind, btfKindName, type BtfInt, type BtfType } from "./btf-format.js";
import type { Btf } from "./btf-parse.js";

const MAX_DEPTH = 64;

/**
 * A codec for BTF type `typeId` of `btf` (a map's key or value: `codecFromBtf(b.spec,
 * b.valueTypeId)` with `b = map.btf()`), laid out exactly as the BTF says:
 * - integers of 1, 2 and 4 bytes are numbers and of 8 bytes bigints (u8…u64, i8…i64 by the
 *   encoding), a BOOL a boolean, an `__int128` a bigint, any other size its bytes; a pointer is a
 *   u64; an enum its underlying integer (ENUM64 a bigint); a FLOAT of 4 or 8 bytes a number;
 * - an array a JS array (a `char[N]` too: its bytes as numbers);
 * - a struct or union an object of its members by name, the members of an anonymous struct or
 *   union member taken into it as C reaches them; a bitfield a number (a bigint past 32 bits);
 *   bytes no member covers are zeroed on encode;
 * - a union decodes every member; encode writes the members given, in declaration order, so
 *   pass only the one you set (a decoded union encodes back to its bytes, but for a _Bool in it:
 *   any byte but 0 reads as true and writes as 1);
 * - typedefs and qualifiers are looked through.
 * Host order, as the kernel keeps a map's bytes: big-endian BTF is a BtfError, as is a type with
 * no layout (void, a function, a forward declaration), or a struct in which two members take one
 * name once anonymous members are taken in.
 */
export function codecFromBtf(btf: Btf, typeId: number): FieldCodec<unknown> {
  if (!btf.littleEndian) throw new BtfError("codecFromBtf: big-endian BTF (codecs read host order; bpf(2) here is little-endian)");
  const l = new Maker(btf).make(typeId, 0);
  // Zeroed once, here: the parts below write only their own bytes, so that a union's members,
  // each written in turn, leave what an earlier one wrote where a later one has padding.
  return field<unknown>(l.name, l.size, l.align, (v, out, o) => { out.fill(0, o, o + l.size); l.write(v, out, o); }, l.read, l.format);
}

/** A type's layout: writes only the bytes its members cover (no zeroing), reads them all. */
interface Layout {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  write(v: unknown, out: Uint8Array, o: number): void;
  read(b: Uint8Array, o: number): unknown;
  format(v: unknown): string;
}

/** A codec of core's as a layout: it writes exactly its own bytes. */
function leaf(c: FieldCodec<unknown>): Layout {
  return { name: c.name, size: c.size, align: c.align, write: c.encodeAt, read: c.decodeAt, format: c.format };
}

/** A member as the object holds it: a codec at a byte offset, or a bitfield. */
interface Entry {
  readonly key: string;
  /** Within a union (this composite or an anonymous one taken in): written only when given. */
  readonly optional: boolean;
  readonly byteOffset: number;
  readonly layout: Layout | null;
  readonly bits: Bitfield | null;
}

interface Bitfield {
  readonly bitOffset: number;
  readonly width: number;
  readonly signed: boolean;
}

class Maker {
  private readonly cache = new Map<number, Layout>();
  constructor(private readonly btf: Btf) {}

  make(id: number, depth: number): Layout {
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit;
    if (depth > MAX_DEPTH) throw new BtfError(`codecFromBtf: type ${id} nests more than ${MAX_DEPTH} deep (a loop?)`);
    const t = this.btf.typeById(id);
    const c = this.kind(id, t, depth);
    this.cache.set(id, c);
    return c;
  }

  private kind(id: number, t: BtfType, depth: number): Layout {
    switch (t.kind) {
      case BtfKind.INT: return leaf(intCodec(t));
      case BtfKind.PTR: return leaf(u64 as FieldCodec<unknown>);
      case BtfKind.ARRAY: return arrayLayout(this.make(t.elem, depth + 1), t.nelems);
      case BtfKind.STRUCT: case BtfKind.UNION: return this.composite(id, t, depth);
      case BtfKind.ENUM: case BtfKind.ENUM64: {
        const c = sizedInt(t.size, t.signed);
        if (c === null) throw new BtfError(`codecFromBtf: ${describe(this.btf, id)} is ${t.size} bytes, no integer size`);
        return leaf(c);
      }
      case BtfKind.FLOAT: return leaf(t.size === 4 || t.size === 8 ? floatCodec(t.size, t.name) : named(bytes(t.size), t.name) as FieldCodec<unknown>);
      case BtfKind.TYPEDEF: case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: case BtfKind.TYPE_TAG:
        return this.make(t.target, depth + 1);
      default:
        throw new BtfError(`codecFromBtf: ${describe(this.btf, id)} has no layout a codec can take`);
    }
  }

  private composite(id: number, t: Extract<BtfType, { kind: typeof BtfKind.STRUCT | typeof BtfKind.UNION }>, depth: number): Layout {
    const name = describe(this.btf, id);
    const entries: Entry[] = [];
    this.members(id, 0, t.kind === BtfKind.UNION, entries, depth);
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.key)) throw new BtfError(`codecFromBtf: ${name} has two members named "${e.key}" (anonymous members taken in)`);
      seen.add(e.key);
    }
    for (const e of entries) {
      const end = e.bits !== null ? Math.ceil((e.bits.bitOffset + e.bits.width) / 8) : e.byteOffset + e.layout!.size;
      if (end > t.size) throw new BtfError(`codecFromBtf: ${name}.${e.key} ends at byte ${end}, past the ${t.size} bytes of its type`);
    }
    const write = (v: unknown, out: Uint8Array, o: number): void => {
      if (v === null || typeof v !== "object") throw new TypeError(`${name}: expected an object, got ${describeValue(v)}`);
      const rec = v as Record<string, unknown>;
      for (const e of entries) {
        const fv = rec[e.key];
        if (fv === undefined) {
          if (e.optional) continue;
          throw new TypeError(`${name}: member "${e.key}" is missing`);
        }
        try {
          if (e.bits !== null) writeBits(out, o, e.bits, fv);
          else e.layout!.write(fv, out, o + e.byteOffset);
        } catch (err) {
          const x = err instanceof Error ? err : new Error(String(err));
          throw new (x instanceof RangeError ? RangeError : TypeError)(`${name}.${e.key}: ${x.message}`, { cause: err });
        }
      }
    };
    const read = (b: Uint8Array, o: number): unknown => {
      const rec: Record<string, unknown> = {};
      for (const e of entries) rec[e.key] = e.bits !== null ? readBits(b, o, e.bits) : e.layout!.read(b, o + e.byteOffset);
      return rec;
    };
    const format = (v: unknown): string => {
      const rec = v as Record<string, unknown>;
      const parts = entries.filter((e) => rec[e.key] !== undefined)
        .map((e) => `${e.key}=${e.bits !== null ? String(rec[e.key]) : e.layout!.format(rec[e.key])}`);
      return `{${parts.join(" ")}}`;
    };
    return { name, size: t.size, align: this.alignOf(id), write, read, format };
  }

  /** The entries of composite `id` placed `bitBase` bits into the outer one. */
  private members(id: number, bitBase: number, inUnion: boolean, out: Entry[], depth: number): void {
    if (depth > MAX_DEPTH) throw new BtfError(`codecFromBtf: type ${id} nests more than ${MAX_DEPTH} deep (a loop?)`);
    const t = this.btf.typeById(id);
    if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) throw new BtfError(`codecFromBtf: type ${id} is no struct or union`);
    const union = inUnion || t.kind === BtfKind.UNION;
    for (const m of t.members) {
      const at = bitBase + m.bitOffset;
      const resolved = this.btf.resolve(m.type);
      const mt = this.btf.typeById(resolved);
      if (m.name === "") {
        // An anonymous struct or union: C reaches its members as the outer one's.
        if (mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION) {
          if (at % 8 !== 0) throw new BtfError(`codecFromBtf: an anonymous member of ${describe(this.btf, id)} at bit ${at}, not a byte`);
          this.members(resolved, at, union, out, depth + 1);
        }
        // An unnamed bitfield (`int : 3;`) is padding.
        continue;
      }
      const bits = this.bitfield(m.bitfieldSize, mt, at);
      if (bits !== null) {
        out.push({ key: m.name, optional: union, byteOffset: at >>> 3, layout: null, bits });
        continue;
      }
      if (at % 8 !== 0) throw new BtfError(`codecFromBtf: ${describe(this.btf, id)}.${m.name} at bit ${at}, not a byte`);
      out.push({ key: m.name, optional: union, byteOffset: at / 8, layout: this.make(m.type, depth + 1), bits: null });
    }
  }

  /** A member that is a bitfield: kind_flag's width, or an INT narrower than its bytes (older BTF). */
  private bitfield(width: number, mt: BtfType, at: number): Bitfield | null {
    const isInt = mt.kind === BtfKind.INT;
    const signed = (isInt && (mt.encoding & BtfIntEncoding.SIGNED) !== 0) || ((mt.kind === BtfKind.ENUM || mt.kind === BtfKind.ENUM64) && mt.signed);
    if (width !== 0) return { bitOffset: at, width, signed };
    if (isInt && (mt.bitOffset !== 0 || mt.bits !== mt.size * 8)) return { bitOffset: at + mt.bitOffset, width: mt.bits, signed };
    return null;
  }

  /** C alignment: the largest of its scalars' (natural, at most 8), 1 for bytes. */
  private alignOf(id: number, depth = 0): number {
    if (depth > MAX_DEPTH) return 1;
    const t = this.btf.typeById(this.btf.resolve(id));
    switch (t.kind) {
      case BtfKind.INT: case BtfKind.ENUM: case BtfKind.ENUM64: case BtfKind.FLOAT: return Math.min(t.size & -t.size, 8) || 1;
      case BtfKind.PTR: return 8;
      case BtfKind.ARRAY: return this.alignOf(t.elem, depth + 1);
      case BtfKind.STRUCT: case BtfKind.UNION: {
        let a = 1;
        for (const m of t.members) a = Math.max(a, this.alignOf(m.type, depth + 1));
        return a;
      }
      default: return 1;
    }
  }
}

/** `T x[n]`: a JS array; elements written as their layout writes them (no zeroing). */
function arrayLayout(elem: Layout, n: number): Layout {
  const name = `${elem.name}[${n}]`;
  return {
    name, size: elem.size * n, align: elem.align,
    write(v, out, o) {
      if (!Array.isArray(v)) throw new TypeError(`${name}: expected an array, got ${describeValue(v)}`);
      if (v.length !== n) throw new RangeError(`${name}: expected ${n} elements, got ${v.length}`);
      for (let i = 0; i < n; i++) elem.write(v[i], out, o + i * elem.size);
    },
    read(b, o) {
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) a[i] = elem.read(b, o + i * elem.size);
      return a;
    },
    format: (v) => `[${(v as unknown[]).map((x) => elem.format(x)).join(" ")}]`,
  };
}

function describe(btf: Btf, id: number): string {
  if (id === 0) return "void";
  const t = btf.typeById(id);
  return `${btfKindName(t.kind).toLowerCase()} ${t.name === "" ? "(anon)" : t.name} [${id}]`;
}

function named<T>(c: FieldCodec<T>, name: string): FieldCodec<T> {
  return field<T>(name, c.size, c.align, c.encodeAt, c.decodeAt, c.format);
}

/** An integer codec of `size` bytes, or null for another size. */
function sizedInt(size: number, signed: boolean): FieldCodec<unknown> | null {
  switch (size) {
    case 1: return (signed ? i8 : u8) as FieldCodec<unknown>;
    case 2: return (signed ? i16 : u16) as FieldCodec<unknown>;
    case 4: return (signed ? i32 : u32) as FieldCodec<unknown>;
    case 8: return (signed ? i64 : u64) as FieldCodec<unknown>;
    default: return null;
  }
}

function intCodec(t: BtfInt): FieldCodec<unknown> {
  const signed = (t.encoding & BtfIntEncoding.SIGNED) !== 0;
  // An INT that is its own bitfield (bits < its bytes): read in place.
  if (t.bitOffset !== 0 || t.bits !== t.size * 8) {
    const bits: Bitfield = { bitOffset: t.bitOffset, width: t.bits, signed };
    return field<unknown>(t.name, t.size, Math.min(t.size & -t.size, 8) || 1,
      (v, out, o) => { out.fill(0, o, o + t.size); writeBits(out, o, bits, v); }, (b, o) => readBits(b, o, bits), String);
  }
  if ((t.encoding & BtfIntEncoding.BOOL) !== 0 && t.size === 1) return boolCodec(t.name);
  if (t.size === 16) return int128Codec(t.name, signed);
  return sizedInt(t.size, signed) ?? named(bytes(t.size), t.name) as FieldCodec<unknown>;
}

function boolCodec(name: string): FieldCodec<unknown> {
  return field<unknown>(name, 1, 1, (v, out, o) => {
    if (typeof v !== "boolean") throw new TypeError(`${name}: expected a boolean, got ${describeValue(v)}`);
    out[o] = v ? 1 : 0;
  }, (b, o) => b[o] !== 0, String);
}

function floatCodec(size: 4 | 8, name: string): FieldCodec<unknown> {
  return field<unknown>(name, size, size, (v, out, o) => {
    if (typeof v !== "number") throw new TypeError(`${name}: expected a number, got ${describeValue(v)}`);
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    if (size === 4) dv.setFloat32(o, v, true);
    else dv.setFloat64(o, v, true);
  }, (b, o) => {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return size === 4 ? dv.getFloat32(o, true) : dv.getFloat64(o, true);
  }, String);
}

function int128Codec(name: string, signed: boolean): FieldCodec<unknown> {
  const bits: Bitfield = { bitOffset: 0, width: 128, signed };
  return field<unknown>(name, 16, 16, (v, out, o) => writeBits(out, o, bits, v), (b, o) => readBits(b, o, bits), String);
}

/** The bitfield's bits, little-endian as x86-64 and arm64 lay them: a number up to 32 bits, else a bigint. */
function readBits(b: Uint8Array, o: number, f: Bitfield): number | bigint {
  const first = o + (f.bitOffset >>> 3);
  const shift = f.bitOffset & 7;
  const last = o + ((f.bitOffset + f.width + 7) >>> 3);
  let v = 0n;
  for (let i = last - 1; i >= first; i--) v = (v << 8n) | BigInt(b[i]!);
  v = (v >> BigInt(shift)) & ((1n << BigInt(f.width)) - 1n);
  if (f.signed && f.width > 0 && (v >> BigInt(f.width - 1)) === 1n) v -= 1n << BigInt(f.width);
  return f.width <= 32 ? Number(v) : v;
}

function writeBits(out: Uint8Array, o: number, f: Bitfield, value: unknown): void {
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) v = BigInt(value);
  else throw new TypeError(`expected an integer, got ${describeValue(value)}`);
  const w = BigInt(f.width);
  const min = f.signed ? -(1n << (w - 1n)) : 0n;
  const max = f.signed ? (1n << (w - 1n)) - 1n : (1n << w) - 1n;
  if (f.width === 0 || v < min || v > max) throw new RangeError(`${String(value)} does not fit ${f.width} ${f.signed ? "signed" : "unsigned"} bits`);
  const mask = (1n << w) - 1n;
  const shift = BigInt(f.bitOffset & 7);
  const first = o + (f.bitOffset >>> 3);
  const last = o + ((f.bitOffset + f.width + 7) >>> 3);
  let cur = 0n;
  for (let i = last - 1; i >= first; i--) cur = (cur << 8n) | BigInt(out[i]!);
  cur = (cur & ~(mask << shift)) | ((v & mask) << shift);
  for (let i = first; i < last; i++) {
    out[i] = Number(cur & 0xffn);
    cur >>= 8n;
  }
}
