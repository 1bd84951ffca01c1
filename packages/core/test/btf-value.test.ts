// formatBtfValue / formatBtfJson / formatBtfText against what bpftool printed for the same BTF and bytes
// (fixtures/btf-bpftool-formatted.json, recorded by scripts/btf-bpftool-oracle.py from the cases
// in support/btf-cases.ts), and properties: any bytes of the right size format, and unsigned
// integers read as the codec decodes them.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  array, btfForMap, BtfBuilder, BtfError, BtfIntEncoding, formatBtfJson, formatBtfText, formatBtfValue, parseBtf, struct, u16, u32, u64, u8,
  type Btf,
} from "@bpfkit/core";
import { btfCases, ctKey, mixed, oracleInput } from "./support/btf-cases.js";

const fixture = JSON.parse(readFileSync(new URL("./fixtures/btf-bpftool-formatted.json", import.meta.url), "utf8")) as {
  cases: Record<string, string>; plain: Record<string, string>;
};

/** The "formatted" object bpftool writes for one entry, as text. */
function formatted(btf: Btf, keyTypeId: number, valueTypeId: number, key: Uint8Array, value: Uint8Array): string {
  return `"formatted":{"key":${formatBtfJson(btf, keyTypeId, key)},"value":${formatBtfJson(btf, valueTypeId, value)}}`;
}

// bpftool's json_writer writes a backslash inside a string as `\n` (jsonw_puts); we write `\\`.
const bpftoolEscapes = (s: string): string => s.replaceAll("\\\\", "\\n");

/** One entry as `bpftool map dump` (plain) prints it inside its list. */
function plainEntry(btf: Btf, keyTypeId: number, valueTypeId: number, key: Uint8Array, value: Uint8Array): string {
  return `{\n        "key": ${formatBtfText(btf, keyTypeId, key, 2)},\n        "value": ${formatBtfText(btf, valueTypeId, value, 2)}\n    }`;
}

function expectLikeBpftool(stdout: string, plain: string): void {
  for (const c of btfCases()) {
    const btf = parseBtf(c.btf);
    for (const [k, v] of c.entries) {
      const ours = formatted(btf, c.keyTypeId, c.valueTypeId, k, v);
      expect(stdout.includes(ours) || stdout.includes(bpftoolEscapes(ours)), `${c.name}: bpftool printed ${ours}`).toBe(true);
      const text = plainEntry(btf, c.keyTypeId, c.valueTypeId, k, v);
      expect(plain.includes(text) || plain.includes(bpftoolEscapes(text)), `${c.name}: bpftool printed\n${text}`).toBe(true);
    }
  }
}

describe("formatBtfJson prints what bpftool -j map dump prints under \"formatted\"", () => {
  for (const c of btfCases()) {
    it(c.name, () => {
      const stdout = fixture.cases[c.name];
      expect(stdout, `a recorded dump for ${c.name}`).toBeDefined();
      const btf = parseBtf(c.btf);
      for (const [k, v] of c.entries) {
        const ours = formatted(btf, c.keyTypeId, c.valueTypeId, k, v);
        expect(stdout!.includes(ours) || stdout!.includes(bpftoolEscapes(ours)), `bpftool printed ${ours}`).toBe(true);
      }
    });
    it(`${c.name}, in bpftool map dump's plain form (formatBtfText)`, () => {
      const plain = fixture.plain[c.name];
      expect(plain, `a recorded plain dump for ${c.name}`).toBeDefined();
      const btf = parseBtf(c.btf);
      for (const [k, v] of c.entries) {
        const text = plainEntry(btf, c.keyTypeId, c.valueTypeId, k, v);
        expect(plain!.includes(text) || plain!.includes(bpftoolEscapes(text)), `bpftool printed\n${text}`).toBe(true);
      }
    });
  }

  const root = process.getuid?.() === 0;
  const hasPython = (() => { try { execFileSync("python3", ["--version"], { stdio: "ignore" }); return true; } catch { return false; } })();
  const why = !existsSync("/usr/sbin/bpftool") ? "/usr/sbin/bpftool is absent" : !root ? "not root (BPF_BTF_LOAD needs CAP_BPF)"
    : !hasPython ? "python3 (which runs scripts/btf-bpftool-oracle.py) is absent" : undefined;
  if (why !== undefined) console.log(`btf-value: skipping the live bpftool comparison: ${why}`);
  it.skipIf(why !== undefined)("and so does this machine's bpftool, live (the cases loaded and dumped now)", () => {
    const out = JSON.parse(execFileSync("python3", [new URL("../../../scripts/btf-bpftool-oracle.py", import.meta.url).pathname], {
      input: oracleInput(btfCases()), encoding: "utf8",
    })) as { name: string; stdout: string; plain: string }[];
    expectLikeBpftool(out.map((o) => o.stdout).join("\n"), out.map((o) => o.plain).join("\n"));
  });
});

describe("formatBtfValue", () => {
  const { btf: raw, keyTypeId, valueTypeId } = btfForMap(ctKey, mixed);
  const btf = parseBtf(raw);

  it("gives numbers, a bigint past 2^53, strings for bitfields and char arrays, enum names", () => {
    const c = btfCases().find((x) => x.name === "hand-built struct")!;
    const hb = parseBtf(c.btf);
    const v = formatBtfValue(hb, c.valueTypeId, c.entries[1]![1]) as Record<string, unknown>;
    expect(v).toMatchObject({
      name: "hello", raw: [65, 1, 66, 0], c1: "A", c2: "\u0001", flag: true, e: "MINUS", e2: 7, e3: "ALL", e64: "HI",
      e64b: -9223372036854775807n, ptr: 18446612682070037044n, grid: [[0, 1000, 2000], [3000, 4000, 5000]],
      i128: "0xffffffffffffffffffffffffffffffff", u128: "0x10000000000001234", cv: 4000000000, "": { w: 65538, h: 2 }, k: -2,
    });
    expect(formatBtfValue(btf, valueTypeId, new Uint8Array(mixed.size)))
      .toEqual({ a: 0, b: 0, c: 0, d: 0, e: [0, 0, 0], f: [0, 0, 0], p: [0], g: new Array(16).fill(0), h: 0 });
  });

  it("formats any bytes of the right size without throwing, and its JSON text parses", () => {
    const hb = btfCases().find((x) => x.name === "hand-built struct")!;
    const cases: [Btf, number, number][] = [[btf, keyTypeId, ctKey.size], [btf, valueTypeId, mixed.size], [parseBtf(hb.btf), hb.valueTypeId, 128]];
    for (const [b, id, size] of cases) {
      fc.assert(fc.property(fc.uint8Array({ minLength: size, maxLength: size }), (bytes) => {
        formatBtfValue(b, id, bytes);
        formatBtfText(b, id, bytes, 2);
        JSON.parse(formatBtfJson(b, id, bytes));
      }), { numRuns: 200 });
    }
  });

  it("reads unsigned integers as the codecs decode them", () => {
    const value = struct({ a: u8, b: u16, c: u32, d: u64, e: array(u32, 2) });
    const m = btfForMap(null, value);
    const b = parseBtf(m.btf);
    fc.assert(fc.property(fc.uint8Array({ minLength: value.size, maxLength: value.size }), (bytes) => {
      const decoded = value.decode(bytes);
      const shown = formatBtfValue(b, m.valueTypeId, bytes) as { d: number | bigint };
      expect(shown).toEqual({ ...decoded, d: shown.d });
      expect(BigInt(shown.d)).toBe(decoded.d);
      expect(typeof shown.d === "number").toBe(decoded.d <= BigInt(Number.MAX_SAFE_INTEGER));
    }));
  });

  it("refuses bytes shorter than the type, and a type no value can be, naming both", () => {
    expect(() => formatBtfValue(btf, valueTypeId, new Uint8Array(3))).toThrow(new RangeError(`formatBtfValue: type ${valueTypeId} is ${mixed.size} bytes, got 3`));
    const b = new BtfBuilder();
    const fwd = b.fwd("x");
    const fp = b.funcProto(0, []);
    const p = parseBtf(b.encode());
    expect(() => formatBtfValue(p, fwd, new Uint8Array(8))).toThrow(BtfError);
    expect(() => formatBtfJson(p, fp, new Uint8Array(8))).toThrow(/type 2 \(FUNC_PROTO\) has no size/);
    expect(() => formatBtfValue(p, 0, new Uint8Array(8))).toThrow(/type 0 \(UNKN\) has no size/);
  });

  it("prints FLOAT as its number (bpftool stops at FLOAT) and a CHAR `\"` as valid JSON", () => {
    const b = new BtfBuilder();
    const f = b.float("double", 8);
    const c = b.int("c", 1, BtfIntEncoding.CHAR);
    const p = parseBtf(b.encode());
    const bytes = new Uint8Array(new Float64Array([1.5]).buffer);
    expect(formatBtfValue(p, f, bytes)).toBe(1.5);
    expect(formatBtfJson(p, c, new Uint8Array([0x22]))).toBe(`"\\""`);
    expect(formatBtfJson(p, c, new Uint8Array([0x80]))).toBe(`"\\u0080"`);
  });

  it("reads a 4-byte FLOAT as a float, a _Bool by its whole size, through a type tag, and a small pointer as a number", () => {
    const b = new BtfBuilder();
    const f = b.float("float", 4);
    const bool = b.int("_Bool", 2, BtfIntEncoding.BOOL);
    const tagged = b.typeTag("user", b.int("unsigned int", 4));
    const ptr = b.ptr(0);
    const p = parseBtf(b.encode());
    expect(formatBtfValue(p, f, new Uint8Array(new Float32Array([-2.5]).buffer))).toBe(-2.5);
    expect(formatBtfValue(p, bool, new Uint8Array([0, 1]))).toBe(true);
    expect(formatBtfValue(p, bool, new Uint8Array([0, 0]))).toBe(false);
    expect(formatBtfJson(p, tagged, new Uint8Array([7, 0, 0, 0]))).toBe("7");
    expect(formatBtfValue(p, ptr, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]))).toBe(1); // a pointer under 2^53 is a number
  });

  it("a char array that runs past a malformed struct's bytes is no string: its NUL is not in them", () => {
    const b = new BtfBuilder();
    const s = b.struct("short", 4, [{ name: "text", type: b.array(b.int("char", 1, BtfIntEncoding.SIGNED), b.int("unsigned int", 4), 8), bitOffset: 0 }]);
    const p = parseBtf(b.encode());
    expect(formatBtfValue(p, s, new TextEncoder().encode("abcd"))).toEqual({ text: [97, 98, 99, 100, 0, 0, 0, 0] });
  });

  it("BTF that loops (parseBtf reads it; the kernel would refuse it) is a BtfError, not a stack overflow or a hang", () => {
    const b = new BtfBuilder();
    const uint = b.int("unsigned int", 4);
    const self = b.struct("self", 4, [{ name: "again", type: b.nextTypeId, bitOffset: 0 }]);
    const constLoop = b.const(b.nextTypeId);
    const s = b.struct("holder", 8, [{ name: "text", type: b.array(constLoop, uint, 8), bitOffset: 0 }]);
    const p = parseBtf(b.encode());
    expect(() => formatBtfValue(p, self, new Uint8Array(4))).toThrow(/type \d+: nested more than 64 deep/);
    expect(() => formatBtfValue(p, s, new Uint8Array(8))).toThrow(BtfError);
  });

  it("prints a long C string in a char array, and refuses a huge array of empty elements", () => {
    const b = new BtfBuilder();
    const uint = b.int("unsigned int", 4);
    const text = b.array(b.int("char", 1, BtfIntEncoding.SIGNED), uint, 200_000);
    const empty = b.array(b.struct("", 0, []), uint, 0xffff_ffff);
    const p = parseBtf(b.encode());
    const bytes = new Uint8Array(200_000).fill(0x61);
    bytes[199_999] = 0;
    expect(formatBtfValue(p, text, bytes)).toBe("a".repeat(199_999));
    expect(() => formatBtfValue(p, empty, new Uint8Array(0))).toThrow(/4294967295 elements of 0 bytes/);
  });

  it("formatBtfText: a null pointer as glibc's %p prints it, empty containers on one line", () => {
    const b = new BtfBuilder();
    const uint = b.int("unsigned int", 4);
    const s = b.struct("s", 8, [{ name: "p", type: b.ptr(0), bitOffset: 0 }, { name: "none", type: b.array(uint, uint, 0), bitOffset: 64 }, { name: "e", type: b.struct("", 0, []), bitOffset: 64 }]);
    const p = parseBtf(b.encode());
    expect(formatBtfText(p, s, new Uint8Array(8))).toBe(`{\n    "p": (nil),\n    "none": [],\n    "e": {}\n}`);
    expect(formatBtfText(p, s, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 1)).toBe(`{\n        "p": 0x1,\n        "none": [],\n        "e": {}\n    }`);
    expect(formatBtfJson(p, s, new Uint8Array(8))).toBe(`{"p":0,"none":[],"e":{}}`);
    expect(() => formatBtfText(p, s, new Uint8Array(8), -1)).toThrow(RangeError);
  });
});
