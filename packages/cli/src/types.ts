// Key and value types on the command line: `u32`, `be16`, `ipv4`, `lpm4`, `u8[6]`,
// `struct{ip:ipv4,port:be16,proto:u8}`. Each is one of core's codecs (so a struct is laid out
// exactly as `struct()` lays it out for a program, gcc's natural alignment and padding) plus a
// reader that turns command-line text into the codec's value.
import {
  array, be16, be32, be64, bytes, i16, i32, i64, i8, ipv4, ipv6, lpmKey, pad, struct, u16, u32, u64, u8,
  type FieldCodec,
} from "@bpfkit/core";
import { usageError } from "./cli-error.js";
import { hex } from "./format.js";

/**
 * A key or value type as the command line names it (`u32`, `ipv4`, `struct{…}`): its codec, and how to parse and
 * print it.
 */
export interface ValueType {
  /** The spec text, normalised. */
  readonly spec: string;
  /** Bytes of the type. */
  readonly size: number;
  /** C alignment. */
  readonly align: number;
  /** The core codec this type encodes with. */
  readonly codec: FieldCodec<any>;
  /** Writes exactly `size` bytes at `off`; throws a usage error naming what was wrong. */
  parse(text: string, out: Uint8Array, off: number): void;
  /** The value at `off` in `bytes` as text, for table output. */
  format(bytes: Uint8Array, off: number): string;
  /** The value at `off` in `bytes` as a JSON value, for `--json` output. */
  json(bytes: Uint8Array, off: number): unknown;
}

/** Parses a type spec; the map's key/value sizes are checked where the map is known. */
export function parseType(spec: string): ValueType {
  const p = new SpecParser(spec);
  const t = p.type();
  p.end();
  return t;
}

/** What a type is made of: a codec, text → value, value → JSON. */
interface Reader {
  codec: FieldCodec<any>;
  spec: string;
  read(text: string): unknown;
  json(v: unknown): unknown;
}

function toType(r: Reader): ValueType {
  return {
    spec: r.spec, size: r.codec.size, align: r.codec.align, codec: r.codec,
    parse(text, out, off) {
      const v = r.read(text);
      try {
        r.codec.encodeAt(v, out, off);
      } catch (e) {
        throw usageError(`${JSON.stringify(text.trim())} as ${r.spec}: ${(e as Error).message}`);
      }
    },
    format: (b, off) => r.codec.format(r.codec.decodeAt(b, off)),
    json: (b, off) => r.json(r.codec.decodeAt(b, off)),
  };
}

/** The raw type for `n` bytes: hex in and out (and IP text for 4- and 16-byte fields). */
export function bytesType(n: number): ValueType {
  const t = toType(bytesReader(n));
  return { ...t, format: (b, off) => hex(b.subarray(off, off + n)), json: (b, off) => hex(b.subarray(off, off + n)) };
}

function bytesReader(n: number): Reader {
  return {
    codec: bytes(n), spec: `bytes[${n}]`,
    read(text) {
      const t = text.trim();
      if (n === 4 && IPV4.test(t)) return ipBytes(ipv4, t);
      if (n === 16 && t.includes(":") && !/^0x/i.test(t)) return ipBytes(ipv6, t);
      const b = parseHexBytes(t, n);
      if (b.length !== n) {
        throw usageError(`${JSON.stringify(t)} is ${b.length} byte${b.length === 1 ? "" : "s"}, ${n} are needed`,
          `give ${n} hex bytes, like '${hex(new Uint8Array(Math.min(n, 8)).map((_, i) => i))}${n > 8 ? " …" : ""}' or 0x${"00".repeat(Math.min(n, 8))}${n > 8 ? "…" : ""}, or a type with --key-type/--value-type`);
      }
      return b;
    },
    json: (v) => hex(v as Uint8Array),
  };
}

function ipBytes(c: FieldCodec<string>, text: string): Uint8Array {
  const b = new Uint8Array(c.size);
  try {
    c.encodeAt(text, b, 0);
  } catch (e) {
    throw usageError((e as Error).message);
  }
  return b;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * `0a 00 00 01`, `0a000001`, `0x0a000001`, `0x0a 0x00 0x00 0x01`: bytes in the order written. A
 * lone digit is one byte (`1 0 0 0`); a longer token with an odd number of digits is refused,
 * since no one place for the missing nibble is the obvious one. bpftool's leading `hex` is taken
 * and makes the bytes hex whatever they look like. Without it, bpftool reads a bare token as a
 * decimal byte (strtoul, base 0), so bytes it could read too, with a bare 10 or more among them, are
 * refused rather than read as another key: `10 0 0 1` and `10 00 00 01` are 0a 00 00 01 there.
 * `size`, the bytes wanted: bpftool takes exactly one token per byte, and refuses other counts.
 */
export function parseHexBytes(text: string, size?: number): Uint8Array {
  const out: number[] = [];
  const toks = text.split(/[\s,]+/).filter(Boolean);
  if (toks.length === 1 && toks[0]!.toLowerCase() === "hex") throw usageError("`hex` and no bytes after it", "like hex 0a 00 00 01");
  const saidHex = toks.length > 1 && toks[0]!.toLowerCase() === "hex";
  if (saidHex) toks.shift();
  const decimalLooking = saidHex ? undefined : toks.find((t) => /^[1-9][0-9]$/.test(t));
  if (decimalLooking !== undefined && toks.some((t) => /^[0-9a-f]$/i.test(t))) {
    throw usageError(`${JSON.stringify(decimalLooking)} beside one-digit bytes: bpftool reads it as decimal ${decimalLooking}, bpfkit as hex 0x${decimalLooking}`,
      `bytes are hex here: write each as two digits ('0a 00 00 01' for bpftool's 10 0 0 1, '${decimalLooking} 00 …' for 0x${decimalLooking}), or put \`hex\` first`);
  }
  // Bytes bpftool reads too (one per token, as many as `size`), one of them a decimal 10 or more:
  // its key, not the one bpfkit would read, is what a bpftool user means, so neither is guessed.
  const bpftoolCount = size === undefined ? toks.length > 1 : toks.length === size;
  const asBpftool = saidHex || !bpftoolCount ? undefined : bpftoolBytes(toks);
  if (asBpftool !== undefined && toks.some((t) => /^[1-9][0-9]{1,2}$/.test(t))) {
    const written = toks.join(" ");
    const couldBeHex = toks.every((t) => t.replace(/^0x/i, "").length <= 2);
    throw usageError(`${JSON.stringify(written)} would be decimal bytes to bpftool (${hex(asBpftool)}); bpfkit reads bytes as hex`,
      `write them in hex ('${hex(asBpftool)}')${couldBeHex ? `, or put \`hex\` first if they are hex already (hex ${written})` : ""}`);
  }
  for (const tok of toks) {
    let h = tok.replace(/^0x/i, "");
    if (!/^[0-9a-f]+$/i.test(h)) throw usageError(`${JSON.stringify(tok)} is not hex`, "bytes are hex: '0a 00 00 01' or 0x0a000001");
    if (h.length === 1) h = "0" + h;
    else if (h.length % 2 === 1) {
      throw usageError(`${JSON.stringify(tok)} has an odd number of hex digits (${h.length})`, "write each byte as two digits: 0x00100000 or '00 10 00 00'");
    }
    for (let i = 0; i < h.length; i += 2) out.push(parseInt(h.slice(i, i + 2), 16));
  }
  return Uint8Array.from(out);
}

/**
 * What bpftool makes of `toks` without `hex`, one byte per token (strtoul, base 0: 0x hex, a
 * leading 0 octal, else decimal), or undefined where it would refuse them (a token it cannot
 * read, or one that is not a byte): bytes it refuses cannot be mistaken for its own.
 */
function bpftoolBytes(toks: readonly string[]): Uint8Array | undefined {
  const out: number[] = [];
  for (const t of toks) {
    const m = /^0x([0-9a-f]{1,2})$/i.exec(t);
    const v = m ? parseInt(m[1]!, 16) : /^0[0-7]*$/.test(t) ? parseInt(t, 8) : /^[1-9][0-9]*$/.test(t) ? Number(t) : NaN;
    if (!(v <= 0xff)) return undefined;
    out.push(v);
  }
  return Uint8Array.from(out);
}

function intReader(codec: FieldCodec<number> | FieldCodec<bigint>, big: boolean): Reader {
  const spec = codec.name;
  return {
    codec, spec,
    read(text) {
      const t = oneWord(text, spec);
      if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(t)) throw usageError(`${JSON.stringify(t)} is not a ${spec} number`, "numbers are decimal or 0x hex");
      const neg = t.startsWith("-");
      const v = BigInt(neg ? t.slice(1) : t) * (neg ? -1n : 1n);
      if (big) return v;
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw usageError(`${t} does not fit in ${spec}`);
      return Number(v);
    },
    json: (v) => v,
  };
}

function textReader(codec: FieldCodec<string>): Reader {
  return { codec, spec: codec.name, read: (t) => oneWord(t, codec.name), json: (v) => v };
}

/**
 * A scalar's text, which is one word: `value 5 --value-type u64 junk` must not read as the
 * number "5 junk" (the word after it is a typo, or a flag word where none may stand).
 */
function oneWord(text: string, spec: string): string {
  const t = text.trim();
  const words = t.split(/\s+/);
  if (words.length > 1) throw usageError(`${JSON.stringify(t)}: one ${spec} was expected, and ${JSON.stringify(words.slice(1).join(" "))} follows it`);
  return t;
}

const macCodec: FieldCodec<string> = (() => {
  const raw = bytes(6);
  const fmt = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
  return {
    name: "mac", size: 6, align: 1,
    encode: (v: string, out: Uint8Array) => raw.encode(macBytes(v), out),
    decode: (b: Uint8Array) => fmt(raw.decode(b)),
    encodeAt: (v: string, out: Uint8Array, o: number) => raw.encodeAt(macBytes(v), out, o),
    decodeAt: (b: Uint8Array, o: number) => fmt(raw.decodeAt(b, o)),
    format: (v: string) => v,
  };
})();

function macBytes(v: string): Uint8Array {
  if (!/^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i.test(v)) throw new TypeError(`mac: ${JSON.stringify(v)} is not a MAC address (like 02:00:00:00:00:01)`);
  return Uint8Array.from(v.split(":").map((h) => parseInt(h, 16)));
}

const scalars: Record<string, () => Reader> = {
  u8: () => intReader(u8, false), u16: () => intReader(u16, false), u32: () => intReader(u32, false),
  u64: () => intReader(u64, true), i8: () => intReader(i8, false), i16: () => intReader(i16, false),
  i32: () => intReader(i32, false), i64: () => intReader(i64, true), be16: () => intReader(be16, false),
  be32: () => intReader(be32, false), be64: () => intReader(be64, true),
  ipv4: () => textReader(ipv4), ipv6: () => textReader(ipv6), mac: () => textReader(macCodec),
};

/** The kernel's LPM key, `struct bpf_lpm_trie_key_u8 { u32 prefixlen; u8 data[]; }`. */
function lpmReader(family: 4 | 6): Reader {
  const addr = family === 4 ? ipv4 : ipv6;
  const bits = family === 4 ? 32 : 128;
  return {
    codec: lpmKey(addr), spec: `lpm${family}`,
    read(text) {
      const t = text.trim();
      const slash = t.lastIndexOf("/");
      const lenText = slash < 0 ? String(bits) : t.slice(slash + 1);
      if (!/^\d+$/.test(lenText) || Number(lenText) > bits) {
        throw usageError(`${JSON.stringify(t)} is not an IPv${family} prefix`, family === 4 ? "like 10.0.0.0/8" : "like fd00::/64");
      }
      return { prefixLen: Number(lenText), data: slash < 0 ? t : t.slice(0, slash) };
    },
    json: (v) => { const k = v as { prefixLen: number; data: string }; return `${k.data}/${k.prefixLen}`; },
  };
}

function arrayReader(elem: Reader, n: number): Reader {
  return {
    codec: array(elem.codec, n), spec: `${elem.spec}[${n}]`,
    read(text) {
      const items = splitItems(stripBrackets(text, "[", "]"));
      if (items.length !== n) throw usageError(`${elem.spec}[${n}] needs ${n} items, got ${items.length}`, `like [${Array.from({ length: Math.min(n, 3) }, () => "0").join(",")}${n > 3 ? ",…" : ""}]`);
      return items.map((it) => elem.read(it));
    },
    json: (v) => (v as unknown[]).map((x) => elem.json(x)),
  };
}

function structReader(members: Array<{ name: string; r: Reader }>): Reader {
  const spec = `struct{${members.map((m) => `${m.name}:${m.r.spec}`).join(",")}}`;
  const codec = struct(Object.fromEntries(members.map((m) => [m.name, m.r.codec])), { name: spec });
  const valued = members.filter((m) => !m.r.spec.startsWith("pad["));
  return {
    codec, spec,
    read(text) {
      const items = splitItems(stripBrackets(text, "{", "}"));
      const out: Record<string, unknown> = {};
      // IPv6 text (fe80::1) looks like `name:value` too: the value is named only if every item
      // looks so and one of them names a field of this struct.
      const names = items.map((it) => /^([A-Za-z_]\w*)\s*[:=]/.exec(it)?.[1]);
      const named = items.length > 0 && names.every((n) => n !== undefined) && names.some((n) => valued.some((f) => f.name === n));
      if (named) {
        for (const it of items) {
          const m = /^([A-Za-z_]\w*)\s*[:=]\s*([\s\S]*)$/.exec(it)!;
          const f = valued.find((x) => x.name === m[1]);
          if (!f) throw usageError(`no field ${m[1]} in ${spec}`);
          out[f.name] = f.r.read(m[2]!);
        }
        const missing = valued.filter((f) => !(f.name in out)).map((f) => f.name);
        if (missing.length > 0) throw usageError(`missing field${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of ${spec}`);
        return out;
      }
      if (items.length !== valued.length) {
        throw usageError(`${spec} needs ${valued.length} fields, got ${items.length}`, `like {${valued.map((f) => `${f.name}:…`).join(",")}} or the ${valued.length} values in order`);
      }
      items.forEach((it, i) => { out[valued[i]!.name] = valued[i]!.r.read(it); });
      return out;
    },
    json: (v) => Object.fromEntries(valued.map((f) => [f.name, f.r.json((v as Record<string, unknown>)[f.name])])),
  };
}

function stripBrackets(text: string, open: string, close: string): string {
  const t = text.trim();
  return t.startsWith(open) && t.endsWith(close) ? t.slice(1, -1) : t;
}

/** Splits on top-level commas (or blanks when there are no commas), keeping nested {…}/[…]. */
function splitItems(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let cur = "";
  const hasComma = topLevelHas(text, ",");
  for (const ch of text) {
    if (ch === "{" || ch === "[") depth++;
    if (ch === "}" || ch === "]") depth--;
    if (depth === 0 && (hasComma ? ch === "," : /\s/.test(ch))) {
      if (cur.trim() !== "") items.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim() !== "") items.push(cur.trim());
  return items;
}

function topLevelHas(text: string, c: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    else if (depth === 0 && ch === c) return true;
  }
  return false;
}

class SpecParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  type(): ValueType {
    return toType(this.reader());
  }

  private reader(): Reader {
    this.ws();
    const word = this.ident();
    let t: Reader;
    if (word === "struct") {
      this.expect("{");
      const members: Array<{ name: string; r: Reader }> = [];
      for (;;) {
        this.ws();
        if (this.peek() === "}") break;
        const name = this.ident();
        this.expect(":");
        members.push({ name, r: this.reader() });
        this.ws();
        if (this.peek() === ",") { this.pos++; continue; }
        break;
      }
      this.expect("}");
      if (members.length === 0) throw this.fail("a struct needs at least one field");
      const dup = members.find((m, i) => members.findIndex((x) => x.name === m.name) !== i);
      if (dup) throw this.fail(`field ${dup.name} appears twice`);
      t = structReader(members);
    } else if (word === "lpm4" || word === "lpm6") {
      t = lpmReader(word === "lpm4" ? 4 : 6);
    } else if (word === "bytes" || word === "hex") {
      this.expect("[");
      t = bytesReader(this.count());
      this.expect("]");
    } else if (word === "pad") {
      this.expect("[");
      const n = this.count();
      this.expect("]");
      t = { codec: pad(n), spec: `pad[${n}]`, read: () => undefined, json: () => undefined };
    } else {
      const s = scalars[word]?.();
      if (!s) throw this.fail(`unknown type ${word} (known: ${Object.keys(scalars).join(", ")}, lpm4, lpm6, bytes[N], struct{…}, T[N])`);
      t = s;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== "[") return t;
      this.pos++;
      const n = this.count();
      this.expect("]");
      t = arrayReader(t, n);
    }
  }

  end(): void {
    this.ws();
    if (this.pos !== this.src.length) throw this.fail(`unexpected ${JSON.stringify(this.src.slice(this.pos))}`);
  }

  private count(): number {
    this.ws();
    const m = /^\d+/.exec(this.src.slice(this.pos));
    if (!m || Number(m[0]) < 1) throw this.fail("expected a count ≥ 1");
    this.pos += m[0].length;
    return Number(m[0]);
  }
  private ident(): string {
    this.ws();
    const m = /^[A-Za-z_]\w*/.exec(this.src.slice(this.pos));
    if (!m) throw this.fail("expected a name");
    this.pos += m[0].length;
    return m[0];
  }
  private expect(c: string): void {
    this.ws();
    if (this.src[this.pos] !== c) throw this.fail(`expected ${c}`);
    this.pos++;
  }
  private peek(): string | undefined {
    return this.src[this.pos];
  }
  private ws(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }
  private fail(msg: string) {
    return usageError(`type ${JSON.stringify(this.src)}: ${msg} at column ${this.pos + 1}`);
  }
}
