// A value printed by its BTF type as `bpftool -j map dump` prints it under "formatted"
// (tools/bpf/bpftool/btf_dumper.c): integers by their width and encoding, bitfields and
// __int128 as "0x…" strings, char arrays that hold a C string as that string, enums by name,
// structs and unions as objects of every member, pointers as numbers. Where bpftool is wrong
// this is not: a printable `"` or `\` CHAR is escaped (bpftool prints invalid JSON), a BOOL reads
// its own size (bpftool reads 4 bytes), FLOAT prints its number (bpftool stops with an error),
// and TYPE_TAG is skipped like the other modifiers.
import { BtfError, BtfIntEncoding, BtfKind, btfKindName, type BtfInt, type BtfType } from "./btf-format.js";
import type { Btf } from "./btf-parse.js";

// What the walk makes: JSON with exact integers. A `Raw` is printed differently in JSON and in
// bpftool's plain text: bitfields and __int128 ("0x5" and 0x5), a non-printable CHAR ("\u0001"
// and 0x1), a pointer (a number and %p).
type Node = number | bigint | boolean | string | Raw | Node[] | Obj;
class Raw { constructor(readonly value: unknown, readonly json: string, readonly plain: string) {} }
class Obj { constructor(readonly entries: [string, Node][]) {} }

const hexRaw = (v: bigint): Raw => new Raw(`0x${v.toString(16)}`, `"0x${v.toString(16)}"`, `0x${v.toString(16)}`);

const MAX_DEPTH = 64;
const MAX_EMPTY_ELEMENTS = 1 << 16;
const ascii = new TextDecoder();

class Walker {
  private readonly dv: DataView;
  constructor(private readonly btf: Btf, private readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** btf_dumper_do_type: the type at `at`, `bitOffset` (0..7) bits into its first byte. */
  type(id: number, bitOffset: number, at: number, depth: number): Node {
    if (depth > MAX_DEPTH) throw new BtfError(`type ${id}: nested more than ${MAX_DEPTH} deep (a loop?)`);
    const t = this.btf.typeById(id);
    switch (t.kind) {
      case BtfKind.INT: return this.int(t, bitOffset, at);
      case BtfKind.STRUCT: case BtfKind.UNION: {
        const entries: [string, Node][] = [];
        for (const m of t.members) {
          const off = at + (m.bitOffset >>> 3);
          entries.push([m.name, m.bitfieldSize !== 0 ? this.bitfield(m.bitfieldSize, m.bitOffset & 7, off) : this.type(m.type, m.bitOffset & 7, off, depth + 1)]);
        }
        return new Obj(entries);
      }
      case BtfKind.ARRAY: {
        if (this.isString(t.elem, t.nelems, at)) {
          // Bytes 0x20..0x7e up to the NUL: ASCII, so one decode (no spread of a long array).
          return ascii.decode(this.bytes.subarray(at, this.bytes.indexOf(0, at)));
        }
        const size = this.btf.sizeOf(t.elem);
        if (size === null) throw new BtfError(`type ${id}: an ARRAY of ${btfKindName(this.btf.typeById(this.btf.resolve(t.elem)).kind)}, which has no size`);
        // Zero-sized elements fit any bytes, so the size check above does not bound the count.
        if (size === 0 && t.nelems > MAX_EMPTY_ELEMENTS) throw new BtfError(`type ${id}: ${t.nelems} elements of 0 bytes, over ${MAX_EMPTY_ELEMENTS}`);
        const out: Node[] = new Array(t.nelems);
        for (let i = 0; i < t.nelems; i++) out[i] = this.type(t.elem, 0, at + i * size, depth + 1);
        return out;
      }
      case BtfKind.ENUM: {
        let v: bigint;
        switch (t.size) {
          case 1: v = BigInt(this.byte(at) << 24 >> 24); break;
          case 2: v = BigInt((this.byte(at) | this.byte(at + 1) << 8) << 16 >> 16); break;
          case 4: v = BigInt(this.u32(at) | 0); break;
          case 8: v = BigInt.asIntN(64, this.u64(at)); break;
          default: throw new BtfError(`type ${id}: an ENUM of ${t.size} bytes`);
        }
        // bpftool reads every enum as signed by its size and compares it with each constant's
        // 32 bits, sign-extended (an unsigned 1-byte enum's 200 is then never found).
        const hit = t.values.find((e) => BigInt.asIntN(32, e.value) === v);
        return hit !== undefined ? hit.name : v;
      }
      case BtfKind.ENUM64: {
        const u = this.u64(at);
        const hit = t.values.find((e) => BigInt.asUintN(64, e.value) === u);
        return hit !== undefined ? hit.name : BigInt.asIntN(64, u); // jsonw_int: signed
      }
      case BtfKind.PTR: {
        const p = this.u64(at);
        return new Raw(p, String(p), p === 0n ? "(nil)" : `0x${p.toString(16)}`); // glibc's %p
      }
      case BtfKind.TYPEDEF: case BtfKind.VOLATILE: case BtfKind.CONST: case BtfKind.RESTRICT: case BtfKind.TYPE_TAG:
        return this.type(t.target, bitOffset, at, depth + 1);
      case BtfKind.VAR: return new Obj([[t.name, this.type(t.type, bitOffset, at, depth + 1)]]);
      case BtfKind.DATASEC: return new Obj([[t.name, t.vars.map((v) => this.type(v.type, 0, at + v.offset, depth + 1))]]);
      case BtfKind.FLOAT:
        if (t.size === 4) return this.inBounds(at, 4) ? this.dv.getFloat32(at, true) : 0;
        if (t.size === 8) return this.inBounds(at, 8) ? this.dv.getFloat64(at, true) : 0;
        return hexRaw(this.le(at, t.size));
      default:
        throw new BtfError(`type ${id} is a ${btfKindName(t.kind)}, which a value cannot be`);
    }
  }

  // btf_dumper_int
  private int(t: BtfInt, bitOffset: number, at: number): Node {
    if (bitOffset !== 0 || t.bitOffset !== 0 || (t.bits & 7) !== 0) return this.intBits(t, bitOffset, at);
    if (t.bits === 128) return hexRaw(this.le(at, 16));
    switch (t.encoding) {
      case BtfIntEncoding.NONE: case BtfIntEncoding.SIGNED: {
        const signed = t.encoding === BtfIntEncoding.SIGNED;
        switch (t.bits) {
          case 8: return signed ? this.byte(at) << 24 >> 24 : this.byte(at);
          case 16: { const v = this.byte(at) | this.byte(at + 1) << 8; return signed ? v << 16 >> 16 : v; }
          case 32: return signed ? this.u32(at) | 0 : this.u32(at);
          case 64: return signed ? BigInt.asIntN(64, this.u64(at)) : this.u64(at);
          default: return this.intBits(t, bitOffset, at);
        }
      }
      case BtfIntEncoding.CHAR: {
        const c = this.byte(at);
        if (c >= 0x20 && c <= 0x7e) return String.fromCharCode(c);
        return new Raw(String.fromCharCode(c), `"\\u00${c.toString(16).padStart(2, "0")}"`, `0x${c.toString(16)}`);
      }
      case BtfIntEncoding.BOOL: return this.le(at, Math.min(t.size, 16)) !== 0n;
      default: throw new BtfError(`INT ${JSON.stringify(t.name)} has encoding ${t.encoding}, which is none of SIGNED, CHAR, BOOL`);
    }
  }

  // btf_dumper_int_bits: an INT that is not whole bytes, or not at a byte boundary.
  private intBits(t: BtfInt, bitOffset: number, at: number): Raw {
    const total = bitOffset + t.bitOffset;
    return this.bitfield(t.bits, total & 7, at + (total >>> 3));
  }

  // btf_dumper_bitfield: `bits` bits from `bitOffset` in the bytes at `at`, zero-extended, in hex.
  private bitfield(bits: number, bitOffset: number, at: number): Raw {
    const n = Math.ceil((bitOffset + bits) / 8);
    return hexRaw((this.le(at, Math.min(n, 16)) >> BigInt(bitOffset)) & ((1n << BigInt(Math.min(bits, 128))) - 1n));
  }

  // bpftool's is_str_array: an array of a 1-byte INT that is CHAR-encoded or named "char"
  // (through modifiers, not typedefs) whose bytes are printable up to a NUL inside it.
  private isString(elem: number, nelems: number, at: number): boolean {
    if (nelems === 0) return false;
    let e: BtfType = this.btf.typeById(elem);
    for (let i = 0; i < MAX_DEPTH && (e.kind === BtfKind.CONST || e.kind === BtfKind.VOLATILE || e.kind === BtfKind.RESTRICT || e.kind === BtfKind.TYPE_TAG); i++) {
      e = this.btf.typeById(e.target);
    }
    if (e.kind !== BtfKind.INT || e.size !== 1) return false;
    if (e.encoding !== BtfIntEncoding.CHAR && e.name !== "char") return false;
    for (let i = 0; i < nelems; i++) {
      const c = this.byte(at + i);
      if (c === 0) return at + i < this.bytes.length;
      if (c <= 0x1f || c >= 0x7f) return false;
    }
    return false;
  }

  private inBounds(at: number, n: number): boolean { return at >= 0 && at + n <= this.bytes.length; }
  // Bytes past the end read as zero: a bitfield's last byte can lie past a malformed struct's.
  private byte(at: number): number { return at < this.bytes.length ? this.bytes[at]! : 0; }
  private u32(at: number): number { return (this.byte(at) | this.byte(at + 1) << 8 | this.byte(at + 2) << 16 | this.byte(at + 3) << 24) >>> 0; }
  private u64(at: number): bigint { return (BigInt(this.u32(at + 4)) << 32n) | BigInt(this.u32(at)); }
  private le(at: number, n: number): bigint {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.byte(at + i));
    return v;
  }
}

function walk(btf: Btf, typeId: number, bytes: Uint8Array, what: string): Node {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what}: bytes must be a Uint8Array`);
  const size = btf.sizeOf(typeId);
  if (size === null) throw new BtfError(`${what}: type ${typeId} (${btfKindName(btf.typeById(typeId).kind)}) has no size, a value cannot be of it`);
  if (bytes.length < size) throw new RangeError(`${what}: type ${typeId} is ${size} bytes, got ${bytes.length}`);
  return new Walker(btf, bytes).type(typeId, 0, 0, 0);
}

function toValue(n: Node): unknown {
  if (typeof n === "bigint") return Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === n ? Number(n) : n;
  if (n instanceof Raw) return typeof n.value === "bigint" ? toValue(n.value) : n.value;
  if (Array.isArray(n)) return n.map(toValue);
  if (n instanceof Obj) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of n.entries) o[k] = toValue(v);
    return o;
  }
  return n;
}

function toJson(n: Node): string {
  if (typeof n === "bigint" || typeof n === "number" || typeof n === "boolean") return String(n);
  if (typeof n === "string") return JSON.stringify(n);
  if (n instanceof Raw) return n.json;
  if (Array.isArray(n)) return `[${n.map(toJson).join(",")}]`;
  return `{${n.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
}

// bpftool's json_writer in pretty mode, which `bpftool map dump` uses for BTF values: a name
// starts a new line indented four spaces a level, array elements do not, and a closing bracket
// goes on its own line unless the container is empty.
class PrettyWriter {
  text = "";
  private sep = "";
  constructor(private depth: number) {}
  node(n: Node): void {
    if (Array.isArray(n)) {
      this.begin("[");
      for (const e of n) this.node(e);
      this.end("]");
    } else if (n instanceof Obj) {
      this.begin("{");
      for (const [k, v] of n.entries) {
        this.text += this.sep;
        this.eol();
        this.sep = "";
        this.text += `${JSON.stringify(k)}: `;
        this.node(v);
      }
      this.end("}");
    } else {
      this.text += this.sep;
      this.text += n instanceof Raw ? n.plain : typeof n === "string" ? JSON.stringify(n) : String(n);
      this.sep = ",";
    }
  }
  private begin(c: string): void { this.text += this.sep + c; this.depth++; this.sep = ""; }
  private end(c: string): void {
    this.depth--;
    if (this.sep !== "") this.eol();
    this.text += c;
    this.sep = ",";
  }
  private eol(): void { this.text += `\n${"    ".repeat(this.depth)}`; }
}

/**
 * The value in `bytes` as type `typeId` of `btf`, as `bpftool -j map dump` shows it under
 * "formatted": numbers for integers (a 64-bit one past 2^53 as a bigint: bpftool prints every
 * digit), "0x…" strings for bitfields and __int128, a string for a char array holding a C string,
 * an enum's constant name (its number when none matches), an object per struct or union (an
 * anonymous member under "", so two of them share a key: `formatBtfJson` keeps both).
 * `bytes` shorter than the type is a RangeError; a type no value can have (void, FUNC, FWD) a
 * BtfError. Any bytes of the right size format.
 */
export function formatBtfValue(btf: Btf, typeId: number, bytes: Uint8Array): unknown {
  return toValue(walk(btf, typeId, bytes, "formatBtfValue"));
}

/**
 * The same as JSON text, exactly as bpftool writes it (no spaces; 64-bit integers with every
 * digit; every member, anonymous ones included).
 */
export function formatBtfJson(btf: Btf, typeId: number, bytes: Uint8Array): string {
  return toJson(walk(btf, typeId, bytes, "formatBtfJson"));
}

/**
 * The same in `bpftool map dump`'s plain form (no -j): json_writer's pretty layout with bitfields
 * and __int128 as bare 0x… numbers, a non-printable CHAR as 0x…, a pointer as %p. `depth` is how
 * many levels deep bpftool would print it (2 for an entry's "key" and "value"), which sets the
 * indentation of the lines after the first.
 */
export function formatBtfText(btf: Btf, typeId: number, bytes: Uint8Array, depth = 0): string {
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`formatBtfText: depth ${depth} is not a non-negative integer`);
  const w = new PrettyWriter(depth);
  w.node(walk(btf, typeId, bytes, "formatBtfText"));
  return w.text;
}
