// How keys and values become the bytes a BPF map holds. A codec is a fixed size, an encoder that
// writes exactly that many bytes, a decoder that returns a fresh value, and a formatter for
// dumps and the cache. The struct builder lays fields out as gcc does for the datapath's C
// structs (natural alignment, padding zeroed), because the kernel hashes and compares the raw
// key bytes: garbage in a padding byte is a different key.
import { formatIpv4, formatIpv6, parseIpv4Into, parseIpv6 } from "./ip.js";
import { recordShape } from "./codec-shape.js";
import { assertOptionKeys, STRUCT_OPTIONS_KEYS } from "./option-keys.js";
import { describeValue } from "./describe-value.js";
import { field } from "./codec-field.js";

/** How a key or value is laid out in the map's bytes: its size, and how to encode, decode and print it. */
export interface Codec<T> {
  /** Bytes. */
  readonly size: number;
  /** Writes exactly `size` bytes at the start of `out`. */
  encode(value: T, out: Uint8Array): void;
  /** Returns a new T from the first `size` bytes. */
  decode(bytes: Uint8Array): T;
  /** Used by dump() and the cache; without it, values print as hex. */
  format?(value: T): string;
}

/** A codec that knows its C alignment and works at an offset: the parts of a struct. */
export interface FieldCodec<T> extends Codec<T> {
  /** For messages: `u32`, `be16`, `struct{ip,port}`. */
  readonly name: string;
  /** C alignment in bytes. */
  readonly align: number;
  /** Writes exactly `size` bytes of `value` at `offset` in `out`. */
  encodeAt(value: T, out: Uint8Array, offset: number): void;
  /** Returns a new value from the `size` bytes at `offset`. */
  decodeAt(bytes: Uint8Array, offset: number): T;
  format(value: T): string;
}

/** The value type a codec encodes. */
export type CodecType<C> = C extends Codec<infer T> ? T : never;

// ---- helpers over any codec ----

const hexDigits = "0123456789abcdef";
/** Lower-case hex, two digits a byte, no separators. */
export function hex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += hexDigits[bytes[i]! >> 4]! + hexDigits[bytes[i]! & 15]!;
  return s;
}

function isField<T>(c: Codec<T>): c is FieldCodec<T> {
  return typeof (c as Partial<FieldCodec<T>>).encodeAt === "function" &&
    typeof (c as Partial<FieldCodec<T>>).decodeAt === "function";
}

/** A codec's C alignment: its own, or 1 for a plain Codec (a byte blob). */
export function alignOf(c: Codec<unknown>): number {
  const a = (c as Partial<FieldCodec<unknown>>).align;
  return typeof a === "number" && a > 0 ? a : 1;
}

function nameOf(c: Codec<unknown>): string {
  const n = (c as Partial<FieldCodec<unknown>>).name;
  return typeof n === "string" ? n : `codec(${c.size})`;
}

/** Encodes at an offset, through `encodeAt` when the codec has it (no subarray). */
export function encodeAt<T>(c: Codec<T>, value: T, out: Uint8Array, offset: number): void {
  if (isField(c)) c.encodeAt(value, out, offset);
  else c.encode(value, out.subarray(offset, offset + c.size));
}

/** Decodes a value at an offset, through `decodeAt` when the codec has it (no subarray). */
export function decodeAt<T>(c: Codec<T>, bytes: Uint8Array, offset: number): T {
  return isField(c) ? c.decodeAt(bytes, offset) : c.decode(bytes.subarray(offset, offset + c.size));
}

/** The codec's own text, or the encoded bytes in hex. */
export function formatWith<T>(c: Codec<T>, value: T): string {
  if (typeof c.format === "function") return c.format(value);
  const b = new Uint8Array(c.size);
  c.encode(value, b);
  return hex(b);
}

/** A new buffer of `c.size` bytes holding `value`. */
export function encodeToBytes<T>(c: Codec<T>, value: T): Uint8Array {
  const b = new Uint8Array(c.size);
  c.encode(value, b);
  return b;
}

// ---- integers ----

/** Host byte order: what the kernel uses for attrs, keys and values (kernel-maps.md). */
export const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Writer = (v: number, out: Uint8Array, o: number) => void;
type Reader = (b: Uint8Array, o: number) => number;

// Straight-line byte moves per width and order: a Uint8Array store keeps the low 8 bits, and
// the shifts sign-extend for the signed readers. (A per-byte loop with 2 ** n was 10x slower.)
const writers: Record<string, Writer> = {
  "1": (v, out, o) => { out[o] = v; },
  "2le": (v, out, o) => { out[o] = v; out[o + 1] = v >>> 8; },
  "2be": (v, out, o) => { out[o] = v >>> 8; out[o + 1] = v; },
  "4le": (v, out, o) => { out[o] = v; out[o + 1] = v >>> 8; out[o + 2] = v >>> 16; out[o + 3] = v >>> 24; },
  "4be": (v, out, o) => { out[o] = v >>> 24; out[o + 1] = v >>> 16; out[o + 2] = v >>> 8; out[o + 3] = v; },
};
const readers: Record<string, Reader> = {
  "1u": (b, o) => b[o]!,
  "1s": (b, o) => (b[o]! << 24) >> 24,
  "2leu": (b, o) => b[o]! | (b[o + 1]! << 8),
  "2les": (b, o) => ((b[o]! | (b[o + 1]! << 8)) << 16) >> 16,
  "2beu": (b, o) => (b[o]! << 8) | b[o + 1]!,
  "2bes": (b, o) => (((b[o]! << 8) | b[o + 1]!) << 16) >> 16,
  "4leu": (b, o) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0,
  "4les": (b, o) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24),
  "4beu": (b, o) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0,
  "4bes": (b, o) => (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!,
};

function intCodec(name: string, size: 1 | 2 | 4, signed: boolean, littleEndian: boolean): FieldCodec<number> {
  const bits = size * 8;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const order = size === 1 ? "" : littleEndian ? "le" : "be";
  const write = writers[`${size}${order}`]!;
  const read = readers[`${size}${order}${signed ? "s" : "u"}`]!;
  return field<number>(name, size, size,
    (v, out, o) => {
      if (typeof v !== "number" || !Number.isInteger(v)) {
        throw new TypeError(`${name}: expected an integer, got ${describeValue(v)}`);
      }
      if (v < min || v > max) throw new RangeError(`${name}: ${v} is outside [${min}, ${max}]`);
      write(v, out, o);
    },
    read,
    (v) => String(v));
}

// One 8-byte scratch for 64-bit values, viewed as bytes and as a host-order 64-bit integer:
// the bigint split and join happen without allocating anything but the result.
const scratchBytes = new Uint8Array(8);
const scratchU64 = new BigUint64Array(scratchBytes.buffer);
const scratchI64 = new BigInt64Array(scratchBytes.buffer);

function int64Codec(name: string, signed: boolean, littleEndian: boolean): FieldCodec<bigint> {
  const min = signed ? -(1n << 63n) : 0n;
  const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
  const straight = littleEndian === hostIsLittleEndian;
  return field<bigint>(name, 8, 8,
    (v, out, o) => {
      let x: bigint;
      if (typeof v === "bigint") x = v;
      else if (typeof v === "number" && Number.isSafeInteger(v)) x = BigInt(v);
      else throw new TypeError(`${name}: expected a bigint (or a safe integer), got ${describeValue(v)}`);
      if (x < min || x > max) throw new RangeError(`${name}: ${x} is outside [${min}, ${max}]`);
      if (signed) scratchI64[0] = x;
      else scratchU64[0] = x;
      if (straight) for (let i = 0; i < 8; i++) out[o + i] = scratchBytes[i]!;
      else for (let i = 0; i < 8; i++) out[o + i] = scratchBytes[7 - i]!;
    },
    (b, o) => {
      // An unsigned host-order value under 2^32 (most counters) is one BigInt of a number: a
      // bigint read from a BigUint64Array costs a few ns more.
      if (straight && !signed && littleEndian && (b[o + 4]! | b[o + 5]! | b[o + 6]! | b[o + 7]!) === 0) {
        return BigInt((b[o]! | b[o + 1]! << 8 | b[o + 2]! << 16 | b[o + 3]! << 24) >>> 0);
      }
      if (straight) for (let i = 0; i < 8; i++) scratchBytes[i] = b[o + i]!;
      else for (let i = 0; i < 8; i++) scratchBytes[7 - i] = b[o + i]!;
      return signed ? scratchI64[0]! : scratchU64[0]!;
    },
    (v) => String(v));
}

const LE = hostIsLittleEndian;
/** Host-order integers, as `__u8`, `__u16`, `__u32`, `__s32`… in the datapath's C. */
export const u8: FieldCodec<number> = intCodec("u8", 1, false, LE);
/** Host-order `__u16`, alignment 2. */
export const u16: FieldCodec<number> = intCodec("u16", 2, false, LE);
/** Host-order `__u32`, alignment 4. */
export const u32: FieldCodec<number> = intCodec("u32", 4, false, LE);
/** Host-order `__s8`, alignment 1. */
export const i8: FieldCodec<number> = intCodec("i8", 1, true, LE);
/** Host-order `__s16`, alignment 2. */
export const i16: FieldCodec<number> = intCodec("i16", 2, true, LE);
/** Host-order `__s32`, alignment 4. */
export const i32: FieldCodec<number> = intCodec("i32", 4, true, LE);
/** 64-bit integers are bigints (numbers above 2^53 lose bits); encode also takes safe integers. */
export const u64: FieldCodec<bigint> = int64Codec("u64", false, LE);
/** Host-order `__s64` as a bigint, alignment 8; encode also takes safe integers. */
export const i64: FieldCodec<bigint> = int64Codec("i64", true, LE);
/** Network byte order (`__be16`, `__be32`, `__be64`): ports, addresses in Cilium's maps. */
export const be16: FieldCodec<number> = intCodec("be16", 2, false, false);
/** Network byte order `__be32` (an IPv4 address as a number, for one), alignment 4. */
export const be32: FieldCodec<number> = intCodec("be32", 4, false, false);
/** Network byte order `__be64` as a bigint, alignment 8. */
export const be64: FieldCodec<bigint> = int64Codec("be64", false, false);

// ---- bytes, arrays, padding ----

/** `n` raw bytes (`__u8 x[n]`, alignment 1); decode copies, format is hex. */
export function bytes(n: number): FieldCodec<Uint8Array> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bytes(${n}): size must be a non-negative integer`);
  const name = `bytes(${n})`;
  return recordShape(field<Uint8Array>(name, n, 1,
    (v, out, o) => {
      if (!(v instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array, got ${describeValue(v)}`);
      if (v.length !== n) throw new RangeError(`${name}: expected ${n} bytes, got ${v.length}`);
      out.set(v, o);
    },
    (b, o) => b.slice(o, o + n),
    (v) => hex(v)), { kind: "bytes" });
}

/** A fixed C array `T x[n]` (alignment of T); values are JS arrays of length n. */
export function array<T>(element: Codec<T>, n: number): FieldCodec<T[]> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`array(${nameOf(element)}, ${n}): length must be a non-negative integer`);
  const es = element.size;
  const name = `${nameOf(element)}[${n}]`;
  return recordShape(field<T[]>(name, es * n, alignOf(element),
    (v, out, o) => {
      if (!Array.isArray(v)) throw new TypeError(`${name}: expected an array, got ${describeValue(v)}`);
      if (v.length !== n) throw new RangeError(`${name}: expected ${n} elements, got ${v.length}`);
      for (let i = 0; i < n; i++) encodeAt(element, v[i] as T, out, o + i * es);
    },
    (b, o) => {
      const a = new Array<T>(n);
      for (let i = 0; i < n; i++) a[i] = decodeAt(element, b, o + i * es);
      return a;
    },
    (v) => `[${v.map((x) => formatWith(element, x)).join(" ")}]`), { kind: "array", element: element as Codec<unknown>, length: n });
}

/** Explicit padding (`__u8 pad[n]`): written as zeros, left out of decoded structs. */
export interface PadCodec extends FieldCodec<undefined> {
  /** Marks the codec as padding, which struct() leaves out of decoded values. */
  readonly isPadding: true;
}

/** Explicit padding of `n` bytes (`__u8 pad[n]`): written as zeros, left out of decoded structs. */
export function pad(n: number): PadCodec {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`pad(${n}): size must be a non-negative integer`);
  const base = field<undefined>(`pad(${n})`, n, 1, (_v, out, o) => { out.fill(0, o, o + n); }, () => undefined, () => "");
  return Object.freeze({ ...base, isPadding: true as const });
}

function isPad(c: Codec<unknown>): boolean {
  return (c as Partial<PadCodec>).isPadding === true;
}

/** Gives a codec a different C alignment (`__attribute__((aligned(n)))`, or 1 for packed). */
export function aligned<T>(c: Codec<T>, align: number): FieldCodec<T> {
  if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) {
    throw new RangeError(`aligned(${nameOf(c)}, ${align}): alignment must be a power of two`);
  }
  return recordShape(field<T>(nameOf(c), c.size, align,
    (v, out, o) => encodeAt(c, v, out, o), (b, o) => decodeAt(c, b, o), (v) => formatWith(c, v)), { kind: "aligned", inner: c as Codec<unknown> });
}

// ---- structs ----

type FieldMap = Record<string, Codec<any>>;
/** The decoded shape of a struct: every field but the padding. */
export type StructType<F extends FieldMap> = {
  [K in keyof F as F[K] extends PadCodec ? never : K]: CodecType<F[K]>;
};

/** One field of a struct codec: its name, byte offset and codec. */
export interface StructField {
  /** The field's name, as given to `struct()`. */
  readonly name: string;
  /** Bytes from the start of the struct (`offsetof`). */
  readonly offset: number;
  /** The field's codec. */
  readonly codec: Codec<unknown>;
}

/** A codec for a C struct made by `struct()`: its fields laid out as gcc would, with their offsets. */
export interface StructCodec<T> extends FieldCodec<T> {
  /** Every field (padding too) in declaration order, with its offset. */
  readonly fields: readonly StructField[];
  /** Offsets by field name: `offsetof` in C. */
  readonly offsets: Readonly<Record<string, number>>;
}

/** How `struct()` lays out its fields, and the name it gives the codec. */
export interface StructOptions {
  /** `__attribute__((packed))`: no padding and alignment 1. */
  packed?: boolean;
  /** Name for messages. */
  name?: string;
}

function roundUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * A C struct, laid out like gcc on the platforms bpf(2) runs on: each field at the next
 * multiple of its alignment, the struct aligned to its largest member and its size rounded up to
 * that. Padding bytes are zeroed on encode. Fields are encoded in declaration order.
 *
 * `struct({ ip: ipv4, port: be16, proto: u8 })` is `{ __be32 ip; __be16 port; __u8 proto; }`:
 * offsets 0, 4, 6 and size 8.
 */
export function struct<F extends FieldMap>(fieldMap: F, options: StructOptions = {}): StructCodec<StructType<F>> {
  if (options === null || typeof options !== "object") throw new TypeError("struct: options must be { packed?, name? }");
  assertOptionKeys(options, STRUCT_OPTIONS_KEYS, options.name !== undefined ? `struct ${String(options.name)}` : "struct", "options");
  const packed = options.packed === true;
  const names = Object.keys(fieldMap);
  const fields: StructField[] = [];
  const codecs: Codec<unknown>[] = [];
  const valueFields: boolean[] = [];
  let offset = 0;
  let align = 1;
  for (const n of names) {
    const c = fieldMap[n];
    if (c === undefined || typeof c.encode !== "function" || typeof c.decode !== "function" || !Number.isInteger(c.size)) {
      throw new TypeError(`struct: field "${n}" is not a codec`);
    }
    const a = packed ? 1 : alignOf(c);
    offset = roundUp(offset, a);
    align = Math.max(align, a);
    fields.push(Object.freeze({ name: n, offset, codec: c }));
    codecs.push(c);
    valueFields.push(!isPad(c));
    offset += c.size;
  }
  const size = roundUp(offset, align);
  const name = options.name ?? `struct{${names.filter((_, i) => valueFields[i]).join(",")}}`;
  const offs = new Array<number>(fields.length);
  for (let i = 0; i < fields.length; i++) offs[i] = fields[i]!.offset;
  const count = fields.length;
  // Resolved once: each field's offset-taking encoder and decoder.
  const encs = codecs.map((c) => (isField(c) ? c.encodeAt : (v: unknown, out: Uint8Array, o: number) => c.encode(v, out.subarray(o, o + c.size))));
  const decs = codecs.map((c) => (isField(c) ? c.decodeAt : (b: Uint8Array, o: number) => c.decode(b.subarray(o, o + c.size))));
  // The bytes no value field covers (alignment holes, the tail, pad fields), zeroed on encode.
  const holes: number[] = [];
  {
    const covered = new Uint8Array(size);
    for (let i = 0; i < count; i++) if (valueFields[i]) covered.fill(1, offs[i]!, offs[i]! + codecs[i]!.size);
    for (let i = 0; i < size; i++) if (covered[i] === 0) holes.push(i);
  }

  const enc = (v: StructType<F>, out: Uint8Array, o: number): void => {
    if (v === null || typeof v !== "object") throw new TypeError(`${name}: expected an object, got ${describeValue(v)}`);
    for (let i = 0; i < holes.length; i++) out[o + holes[i]!] = 0;
    const rec = v as Record<string, unknown>;
    for (let i = 0; i < count; i++) {
      if (!valueFields[i]) continue;
      const fv = rec[names[i]!];
      if (fv === undefined) throw new TypeError(`${name}: field "${names[i]}" is missing`);
      try {
        encs[i]!(fv, out, o + offs[i]!);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        const Ctor = err instanceof RangeError ? RangeError : TypeError;
        throw new Ctor(`${name}.${names[i]}: ${err.message}`, { cause: e });
      }
    }
  };
  const dec = (b: Uint8Array, o: number): StructType<F> => {
    const rec: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) if (valueFields[i]) rec[names[i]!] = decs[i]!(b, o + offs[i]!);
    return rec as StructType<F>;
  };
  const fmt = (v: StructType<F>): string => {
    const rec = v as Record<string, unknown>;
    let s = "{";
    for (let i = 0; i < count; i++) {
      if (!valueFields[i]) continue;
      if (s.length > 1) s += " ";
      s += `${names[i]}=${formatWith(codecs[i]!, rec[names[i]!])}`;
    }
    return `${s}}`;
  };
  const base = field<StructType<F>>(name, size, align, enc, dec, fmt);
  return Object.freeze({
    ...base,
    fields: Object.freeze(fields),
    offsets: Object.freeze(Object.fromEntries(fields.map((f) => [f.name, f.offset]))),
  });
}

// ---- addresses ----

/**
 * An IPv4 address as a dotted-quad string ↔ 4 bytes in network order. Aligned like `__be32`
 * (how the datapath declares addresses); use `aligned(ipv4, 1)` for a `__u8 [4]` field.
 */
export const ipv4: FieldCodec<string> = field<string>("ipv4", 4, 4,
  (v, out, o) => {
    if (typeof v !== "string") throw new TypeError(`ipv4: expected a dotted-quad string, got ${describeValue(v)}`);
    if (!parseIpv4Into(v, out, o)) {
      out.fill(0, o, o + 4);
      throw new TypeError(`ipv4: ${describeValue(v)} is not an IPv4 address`);
    }
  },
  (b, o) => formatIpv4(b, o),
  (v) => v);

/**
 * An IPv6 address as RFC 5952 text ↔ 16 bytes in network order, aligned like `union v6addr`
 * (four `__u32`). Decoding gives the canonical text, so `::FFFF:1.2.3.4` comes back as
 * `::ffff:1.2.3.4`.
 */
export const ipv6: FieldCodec<string> = field<string>("ipv6", 16, 4,
  (v, out, o) => {
    if (typeof v !== "string") throw new TypeError(`ipv6: expected an IPv6 string, got ${describeValue(v)}`);
    const b = parseIpv6(v);
    if (b === undefined) throw new TypeError(`ipv6: ${describeValue(v)} is not an IPv6 address`);
    out.set(b, o);
  },
  (b, o) => formatIpv6(b, o),
  (v) => v);

/** An LPM trie key: `struct bpf_lpm_trie_key { __u32 prefixlen; __u8 data[]; }`. */
export interface LpmKey<T> {
  /** `prefixlen`: how many leading bits of `data` the key matches. */
  prefixLen: number;
  /** The address (or other data) the prefix is taken from. */
  data: T;
}

/**
 * The key of an LPM_TRIE map over `data` (for example `lpmKey(ipv4)`, 8 bytes). The data
 * starts right after the 4-byte prefix length whatever its own alignment, as in the kernel's
 * flexible array; prefixLen may not exceed the data's bits.
 */
export function lpmKey<T>(data: Codec<T>): FieldCodec<LpmKey<T>> {
  const maxBits = data.size * 8;
  const name = `lpmKey(${nameOf(data)})`;
  return recordShape(field<LpmKey<T>>(name, 4 + data.size, 4,
    (v, out, o) => {
      if (v === null || typeof v !== "object") throw new TypeError(`${name}: expected { prefixLen, data }, got ${describeValue(v)}`);
      const p = v.prefixLen;
      // A missing or non-number prefixLen is the wrong type; a number out of range, a RangeError.
      if (typeof p !== "number") throw new TypeError(`${name}: prefixLen must be a number, got ${describeValue(p)}`);
      if (!Number.isInteger(p) || p < 0 || p > maxBits) {
        throw new RangeError(`${name}: prefixLen ${describeValue(p)} is not an integer in [0, ${maxBits}]`);
      }
      u32.encodeAt(p, out, o);
      encodeAt(data, v.data, out, o + 4);
    },
    (b, o) => ({ prefixLen: u32.decodeAt(b, o), data: decodeAt(data, b, o + 4) }),
    (v) => `${formatWith(data, v.data)}/${v.prefixLen}`), { kind: "lpmKey", data: data as Codec<unknown> });
}
