// BTF as a C header (formatBtfC): declarators, order and layout by hand-made BTF, then held to
// gcc: this host's vmlinux header compiles, every struct, union, enum and typedef has the BTF's
// size and every member its offset (static asserts), and every bitfield sets exactly its BTF
// bits (a program that sets each to all ones and looks at the bytes).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BtfBuilder, BtfIntEncoding, BtfKind, formatBtfC, parseBtf, type Btf } from "@bpfkit/core";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const gcc = spawnSync("gcc", ["--version"]).status === 0 ? undefined : "gcc is not on PATH";
if (gcc !== undefined) console.log(`btf-c: skipping the gcc checks: ${gcc}`);
const dir = mkdtempSync(join(tmpdir(), "bpfkit-btf-c-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The header's declarations only, without the guard and pragmas. */
function body(btf: Btf): string {
  const h = formatBtfC(btf);
  return h.slice(h.indexOf("#endif\n\n") + 8, h.lastIndexOf("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX")).trim();
}

/** Compiles `header` and `main` with gcc and runs the program: its stdout. */
function compileAndRun(header: string, main: string): string {
  writeFileSync(join(dir, "types.h"), header);
  // No libc header: vmlinux.h declares what they do (va_list, …), as for a BPF program.
  writeFileSync(join(dir, "check.c"), `#include "types.h"\n${main}\n`);
  execFileSync("gcc", ["-DBPF_NO_PRESERVE_ACCESS_INDEX", "-Wall", "-Werror", "-Wno-unused", "-o", join(dir, "check"), join(dir, "check.c")], { stdio: "pipe" });
  return execFileSync(join(dir, "check"), { encoding: "utf8" });
}

/** Static asserts of each uniquely named struct's, union's, enum's and typedef's size and member offsets; runtime checks of each bitfield's bits. */
function layoutChecks(btf: Btf): { asserts: string; bitfields: string; counts: { sizes: number; offsets: number; bitfields: number } } {
  const kinds = new Map<string, number>();
  for (const t of btf.types) if (t.name !== "" && [BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64, BtfKind.TYPEDEF].includes(t.kind as never)) {
    const ns = t.kind === BtfKind.TYPEDEF ? `t ${t.name}` : `s ${t.name}`;
    kinds.set(ns, (kinds.get(ns) ?? 0) + 1);
  }
  const asserts: string[] = [], bits: string[] = [];
  const counts = { sizes: 0, offsets: 0, bitfields: 0 };
  const isConst = (id: number): boolean => {
    for (let cur = id, i = 0; i < 64; i++) {
      const t = btf.typeById(cur);
      if (t.kind === BtfKind.CONST) return true;
      if (t.kind !== BtfKind.TYPEDEF && t.kind !== BtfKind.VOLATILE && t.kind !== BtfKind.RESTRICT && t.kind !== BtfKind.TYPE_TAG) return false;
      cur = t.target;
    }
    return false;
  };
  const members = (id: number, base: number, path: string[], out: (name: string, bitOffset: number, width: number) => void) => {
    const t = btf.typeById(btf.resolve(id));
    if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) return;
    for (const m of t.members) {
      const mt = btf.typeById(btf.resolve(m.type));
      const narrow = mt.kind === BtfKind.INT && (mt.bits !== mt.size * 8 || mt.bitOffset !== 0);
      if (m.name === "") {
        if (m.bitfieldSize === 0 && !narrow) members(m.type, base + m.bitOffset, path, out);
        continue;
      }
      const width = m.bitfieldSize !== 0 ? m.bitfieldSize : narrow ? (mt as { bits: number }).bits : 0;
      if (width !== 0 && isConst(m.type)) continue; // a const bitfield cannot be set to look at its bits
      out(m.name, base + m.bitOffset + (narrow ? (mt as { bitOffset: number }).bitOffset : 0), m.bitfieldSize !== 0 ? m.bitfieldSize : narrow ? (mt as { bits: number }).bits : 0);
    }
  };
  btf.types.forEach((t, id) => {
    if (t.name === "") return;
    const size = btf.sizeOf(id);
    if (t.kind === BtfKind.TYPEDEF) {
      if (kinds.get(`t ${t.name}`) !== 1 || size === null) return;
      asserts.push(`_Static_assert(sizeof(${t.name}) == ${size}, "${t.name}");`);
      counts.sizes++;
      return;
    }
    if (kinds.get(`s ${t.name}`) !== 1) return;
    const c = t.kind === BtfKind.STRUCT ? "struct" : t.kind === BtfKind.UNION ? "union" : t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64 ? "enum" : undefined;
    if (c === undefined) return;
    const T = `${c} ${t.name}`;
    asserts.push(`_Static_assert(sizeof(${T}) == ${size}, "${t.name}");`);
    counts.sizes++;
    if (c === "enum") return;
    members(id, 0, [], (name, bitOffset, width) => {
      if (width === 0) {
        asserts.push(`_Static_assert(__builtin_offsetof(${T}, ${name}) == ${bitOffset / 8}, "${t.name}.${name}");`);
        counts.offsets++;
        return;
      }
      // Set to all ones in zeroed bytes: exactly bits [bitOffset, bitOffset + width) are set.
      const want = new Uint8Array(size!);
      for (let b = bitOffset; b < bitOffset + width; b++) want[b >> 3]! |= 1 << (b & 7);
      const first = bitOffset >> 3, last = (bitOffset + width - 1) >> 3;
      const hex = Array.from(want.subarray(first, last + 1), (x) => `\\x${x.toString(16).padStart(2, "0")}`).join("");
      bits.push(`{ ${T} x; __builtin_memset(&x, 0, sizeof x); x.${name} = -1; const unsigned char *p = (const unsigned char *)&x; ` +
        `for (unsigned i = 0; i < sizeof x; i++) if ((i < ${first} || i > ${last}) && p[i]) { __builtin_printf("${t.name}.${name}: byte %u\\n", i); break; } ` +
        `if (__builtin_memcmp(p + ${first}, "${hex}", ${last - first + 1})) __builtin_printf("${t.name}.${name}: bits\\n"); }`);
      counts.bitfields++;
    });
  });
  return { asserts: asserts.join("\n"), bitfields: bits.join("\n"), counts };
}

describe("formatBtfC: declarators, order and layout", () => {
  it("writes pointers to arrays and functions, const pointers, arrays of function pointers and varargs as C spells them", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, BtfIntEncoding.SIGNED);
    const char = b.int("char", 1, BtfIntEncoding.CHAR);
    const fn = b.funcProto(int, [{ name: "fmt", type: b.ptr(b.const(char)) }, { name: "", type: 0 }]);
    const arr = b.array(int, int, 4);
    b.struct("decls", 80, [
      { name: "pa", type: b.ptr(arr), bitOffset: 0 },
      { name: "fp", type: b.ptr(fn), bitOffset: 64 },
      { name: "cp", type: b.const(b.ptr(int)), bitOffset: 128 },
      { name: "fps", type: b.array(b.ptr(fn), int, 2), bitOffset: 192 },
      { name: "pp", type: b.ptr(b.const(b.ptr(char))), bitOffset: 320 },
      { name: "vol", type: b.volatile(int), bitOffset: 384 },
      { name: "m", type: b.array(b.array(char, int, 3), int, 2), bitOffset: 416 },
    ]);
    b.typedef("handler_t", b.ptr(b.funcProto(0, [])));
    expect(body(parseBtf(b.encode()))).toBe([
      "struct decls {",
      "\tint (*pa)[4];",
      "\tint (*fp)(const char *fmt, ...);",
      "\tint *const cp;",
      "\tint (*fps[2])(const char *fmt, ...);",
      "\tchar *const *pp;",
      "\tvolatile int vol;",
      "\tchar m[2][3];",
      "\tshort: 16;",
      "\tint: 32;",
      "\tlong: 64;",
      "\tlong: 64;",
      "};",
      "",
      "typedef void (*handler_t)(void);",
    ].join("\n"));
  });

  it("defines what a struct holds by value first, declares what it points at, and writes anonymous members inline", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, BtfIntEncoding.SIGNED);
    const node = b.fwd("node"); // 2
    const nodePtr = b.ptr(node); // 3
    // struct list { struct node *head; struct inner in; union { int a; int b; }; }, with inner
    // (5), the union (6) and list_t (7) after it in the BTF.
    const list = b.struct("list", 16, [
      { name: "head", type: nodePtr, bitOffset: 0 },
      { name: "in", type: 5, bitOffset: 64 },
      { name: "", type: 6, bitOffset: 96 },
    ]);
    expect(b.struct("inner", 4, [{ name: "v", type: int, bitOffset: 0 }])).toBe(5);
    expect(b.union("", 4, [{ name: "a", type: int, bitOffset: 0 }, { name: "b", type: int, bitOffset: 0 }])).toBe(6);
    expect(b.typedef("list_t", list)).toBe(7);
    b.struct("node", 8, [{ name: "owner", type: b.ptr(7), bitOffset: 0 }]);
    expect(body(parseBtf(b.encode()))).toBe([
      "struct node;", "",
      "struct inner {", "\tint v;", "};", "",
      "struct list {", "\tstruct node *head;", "\tstruct inner in;", "\tunion {", "\t\tint a;", "\t\tint b;", "\t};", "};", "",
      "typedef struct list list_t;", "",
      "struct node {", "\tlist_t *owner;", "};",
    ].join("\n"));
  });

  it("bitfields, gaps and a packed struct keep the BTF's offsets; an enum of 1 byte is packed; a second struct of one name is ___2", () => {
    const b = new BtfBuilder();
    const uint = b.int("unsigned int", 4);
    const u64 = b.int("unsigned long long", 8);
    b.struct("flags", 16, [
      { name: "a", type: uint, bitOffset: 0, bitfieldSize: 3 },
      { name: "b", type: uint, bitOffset: 5, bitfieldSize: 2 },
      { name: "x", type: u64, bitOffset: 64 },
    ]);
    b.struct("tight", 12, [{ name: "lo", type: uint, bitOffset: 0 }, { name: "v", type: u64, bitOffset: 32 }]);
    b.enum("small", 1, [{ name: "S_A", value: 1n }, { name: "S_B", value: 2n }]);
    b.struct("flags", 4, [{ name: "only", type: uint, bitOffset: 0 }]);
    b.struct("tail", 16, [{ name: "x", type: u64, bitOffset: 0 }, { name: "b", type: b.int("unsigned char", 1), bitOffset: 64 }]);
    expect(body(parseBtf(b.encode()))).toBe([
      "struct flags {", "\tunsigned int a: 3;", "\tunsigned char: 2;", "\tunsigned int b: 2;", "\tunsigned long long x;", "};", "",
      "struct tight {", "\tunsigned int lo;", "\tunsigned long long v;", "} __attribute__((packed));", "",
      "enum small {", "\tS_A = 1,", "\tS_B = 2,", "} __attribute__((packed));", "",
      "struct flags___2 {", "\tunsigned int only;", "};", "",
      // The tail C pads by itself takes no padding member.
      "struct tail {", "\tunsigned long long x;", "\tunsigned char b;", "};",
    ].join("\n"));
  });

  it("refuses a guard that is no C identifier", () => {
    expect(() => formatBtfC(parseBtf(new BtfBuilder().encode()), { guard: "my-guard" })).toThrow(TypeError);
  });
});

describe.skipIf(gcc !== undefined)("formatBtfC held to gcc", () => {
  it("the hand-made cases compile, and their sizes, offsets and bits are the BTF's", () => {
    const b = new BtfBuilder();
    const uint = b.int("unsigned int", 4);
    const int = b.int("int", 4, BtfIntEncoding.SIGNED);
    const u64 = b.int("unsigned long long", 8);
    b.struct("flags", 16, [
      { name: "a", type: uint, bitOffset: 0, bitfieldSize: 3 }, { name: "b", type: int, bitOffset: 5, bitfieldSize: 2 },
      { name: "c", type: u64, bitOffset: 30, bitfieldSize: 40 }, { name: "x", type: uint, bitOffset: 96 },
    ]);
    b.struct("tight", 12, [{ name: "lo", type: uint, bitOffset: 0 }, { name: "v", type: u64, bitOffset: 32 }]);
    b.struct("wide", 64, [{ name: "lo", type: uint, bitOffset: 0 }, { name: "hi", type: u64, bitOffset: 256 }]);
    b.union("u", 32, [{ name: "a", type: uint, bitOffset: 0 }, { name: "b", type: u64, bitOffset: 0 }]);
    // `enum e` and a declared-only `struct e` are one tag to C: the second is renamed.
    b.enum("e", 4, [{ name: "E_ONE", value: 1n }]);
    b.struct("holder", 8, [{ name: "p", type: b.ptr(b.fwd("e")), bitOffset: 0 }]);
    // A typedef and an enumerator are both ordinary identifiers: the later one is renamed.
    b.typedef("E_TWO", uint);
    b.enum("", 4, [{ name: "E_TWO", value: 2n }]);
    const btf = parseBtf(b.encode());
    expect(formatBtfC(btf)).toContain("\tstruct e___2 *p;");
    expect(formatBtfC(btf)).toContain("\tE_TWO___2 = 2,");
    const { asserts, bitfields, counts } = layoutChecks(btf);
    expect(counts).toEqual({ sizes: 7, offsets: 8, bitfields: 3 });
    expect(compileAndRun(formatBtfC(btf), `${asserts}\nint main(void) {\n${bitfields}\nreturn 0;\n}`)).toBe("");
  });

  it.skipIf(!existsSync(VMLINUX))("this host's vmlinux compiles, every uniquely named type has its BTF size, every member its offset and every bitfield its bits", () => {
    const btf = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    const { asserts, bitfields, counts } = layoutChecks(btf);
    expect(counts.sizes).toBeGreaterThan(10_000);
    expect(counts.offsets).toBeGreaterThan(50_000);
    expect(counts.bitfields).toBeGreaterThan(1_000);
    expect(compileAndRun(formatBtfC(btf), `${asserts}\nint main(void) {\n${bitfields}\nreturn 0;\n}`)).toBe("");
  });
});
