// parseBtf on the running kernel's BTF (the source of layout.ts and bpf-enums.ts, so the two
// must agree), on split BTF, on big-endian BTF, and on every way a blob can be unreadable.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BATCH_ATTR, BPF_MAP_INFO, BPF_PROG_INFO, BTF_ENUM_BPF_ATTACH_TYPE, BTF_ENUM_BPF_CMD, BTF_ENUM_BPF_MAP_TYPE,
  BTF_ENUM_BPF_PROG_TYPE, Btf, BtfBuilder, BtfError, BtfIntEncoding, BtfKind, ELEM_ATTR, ID_ATTR, INFO_ATTR,
  MAP_CREATE_ATTR, OBJ_ATTR, PROG_ATTACH_ATTR, PROG_LOAD_ATTR, PROG_TEST_RUN_ATTR, parseBtf, type Layout,
} from "@bpfkit/core";
import { btfBlob, BtfKind as BlobKind, btfInt, btfRef, btfStrings } from "../../testkit/src/conformance/btf-blob.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const hasVmlinux = existsSync(VMLINUX);
if (!hasVmlinux) console.log(`btf-parse: skipping the vmlinux tests: ${VMLINUX} is absent (no kernel BTF here)`);

/** Every member's byte offset by name, anonymous structs and unions flattened as C sees them. */
function flatOffsets(btf: Btf, id: number, base = 0, out = new Map<string, { offset: number; type: number }>()): Map<string, { offset: number; type: number }> {
  const t = btf.typeById(btf.resolve(id));
  if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) return out;
  for (const m of t.members) {
    const at = base + m.bitOffset / 8;
    if (m.name === "") flatOffsets(btf, m.type, at, out);
    else if (!out.has(m.name)) out.set(m.name, { offset: at, type: m.type });
  }
  return out;
}

function expectLayoutMatches(btf: Btf, fields: Map<string, { offset: number; type: number }>, layout: Layout<string>): void {
  for (const f of layout.fields) {
    const m = fields.get(f.name);
    expect(m, `${layout.name}.${f.name}`).toBeDefined();
    expect(m!.offset, `${layout.name}.${f.name} offset`).toBe(f.offset);
    if (f.kind !== "bytes") expect(btf.sizeOf(m!.type), `${layout.name}.${f.name} size`).toBe(f.size);
    else expect(btf.sizeOf(m!.type), `${layout.name}.${f.name} size`).toBe(f.size);
  }
}

describe.skipIf(!hasVmlinux)("parseBtf on /sys/kernel/btf/vmlinux", () => {
  const raw = hasVmlinux ? new Uint8Array(readFileSync(VMLINUX)) : new Uint8Array(0);
  let btf: Btf;

  it("parses it whole in well under a second", () => {
    parseBtf(raw); // warm the JIT once; the second parse is what a CLI pays after start-up
    const t0 = performance.now();
    btf = parseBtf(raw);
    const ms = performance.now() - t0;
    console.log(`btf-parse: ${btf.types.length - 1} types from ${raw.length} bytes in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
    expect(btf.types[0]).toEqual({ kind: BtfKind.UNKN, name: "" });
    expect(btf.raw).toBe(raw);
    expect(btf.startId).toBe(1);
    expect(btf.littleEndian).toBe(true);
    const int = btf.typeById(btf.findByName("int", BtfKind.INT)!);
    expect(int).toEqual({ kind: BtfKind.INT, name: "int", size: 4, encoding: BtfIntEncoding.SIGNED, bitOffset: 0, bits: 32 });
  });

  it("struct bpf_map_info and bpf_prog_info have layout.ts's offsets and sizes", () => {
    for (const layout of [BPF_MAP_INFO, BPF_PROG_INFO] as Layout<string>[]) {
      const id = btf.findByName(layout.name, BtfKind.STRUCT)!;
      expect(id, layout.name).toBeGreaterThan(0);
      expect(btf.sizeOf(id), `sizeof(struct ${layout.name})`).toBe(layout.size);
      expectLayoutMatches(btf, flatOffsets(btf, id), layout);
    }
  });

  it("each of union bpf_attr's commands has layout.ts's offsets and sizes", () => {
    const attr = btf.typeById(btf.findByName("bpf_attr", BtfKind.UNION)!);
    if (attr.kind !== BtfKind.UNION) throw new Error("bpf_attr is not a union");
    const layouts = [MAP_CREATE_ATTR, ELEM_ATTR, BATCH_ATTR, OBJ_ATTR, ID_ATTR, INFO_ATTR, PROG_LOAD_ATTR, PROG_ATTACH_ATTR, PROG_TEST_RUN_ATTR] as Layout<string>[];
    for (const layout of layouts) {
      // The union's member (an anonymous struct, or `batch`, `info`, `test`) holding every field.
      const candidates = attr.members.map((m) => flatOffsets(btf, m.type)).filter((f) => layout.fields.every((x) => f.has(x.name)));
      expect(candidates.length, `a member of union bpf_attr with every field of ${layout.name}`).toBeGreaterThan(0);
      expectLayoutMatches(btf, candidates[0]!, layout);
    }
  });

  it("enum bpf_cmd, bpf_map_type, bpf_prog_type and bpf_attach_type are bpf-enums.ts's, in order", () => {
    for (const e of [BTF_ENUM_BPF_CMD, BTF_ENUM_BPF_MAP_TYPE, BTF_ENUM_BPF_PROG_TYPE, BTF_ENUM_BPF_ATTACH_TYPE]) {
      const t = btf.typeById(btf.findByName(e.name, BtfKind.ENUM)!);
      if (t.kind !== BtfKind.ENUM) throw new Error(`${e.name} is not an ENUM`);
      expect(t.values.map((v) => [v.name, Number(v.value)])).toEqual(e.values);
    }
  });

  // The uapi numbers that live in anonymous enums (the ring helpers' flags, BPF_F_* helper flags,
  // a ring record header's bits) are not in bpf-enums.ts's four: each flat BPF_* export that
  // names a constant of any vmlinux enum must have its value, and the ring ones must be found.
  it("every BPF_* constant core exports that a vmlinux enum names, anonymous ones included, has the kernel's value", async () => {
    const core = await import("@bpfkit/core");
    const kernel = new Map<string, bigint[]>();
    for (const t of btf.types) {
      if (t.kind !== BtfKind.ENUM && t.kind !== BtfKind.ENUM64) continue;
      for (const v of t.values) kernel.set(v.name, [...(kernel.get(v.name) ?? []), BigInt(v.value)]);
    }
    const checked: string[] = [];
    for (const [name, value] of Object.entries(core)) {
      if (!/^BPF_/.test(name) || typeof value !== "number" || !kernel.has(name)) continue;
      expect(kernel.get(name), name).toContain(BigInt(value));
      checked.push(name);
    }
    for (const name of ["BPF_RB_NO_WAKEUP", "BPF_RB_FORCE_WAKEUP", "BPF_RB_AVAIL_DATA", "BPF_RB_RING_SIZE", "BPF_RB_CONS_POS",
      "BPF_RB_PROD_POS", "BPF_F_INDEX_MASK", "BPF_F_CURRENT_CPU", "BPF_RINGBUF_BUSY_BIT", "BPF_RINGBUF_HDR_SZ", "BPF_F_LOCK", "BPF_NOEXIST"]) {
      expect(checked, `${name} is checked against vmlinux`).toContain(name);
    }
  });

  it("reads split BTF on it: ids after the base's last, names from both string sections", () => {
    const b = new BtfBuilder({ base: btf });
    const mapInfo = btf.findByName("bpf_map_info", BtfKind.STRUCT)!;
    const u32 = btf.findByName("__u32", BtfKind.TYPEDEF)!;
    const ptr = b.ptr(mapInfo);
    const s = b.struct("split_demo", 16, [{ name: "id", type: u32, bitOffset: 0 }, { name: "info", type: ptr, bitOffset: 64 }]);
    b.typedef("bpf_map_info", s); // a name the base has: its string is its own copy
    const split = parseBtf(b.encode(), { base: btf });
    expect(split.startId).toBe(btf.types.length);
    expect(ptr).toBe(btf.types.length);
    expect(split.types.length).toBe(btf.types.length + 3);
    expect(split.typeById(s)).toEqual({
      kind: BtfKind.STRUCT, name: "split_demo", size: 16,
      members: [{ name: "id", type: u32, bitOffset: 0, bitfieldSize: 0 }, { name: "info", type: ptr, bitOffset: 64, bitfieldSize: 0 }],
    });
    expect(split.sizeOf(s + 1)).toBe(16);
    expect(split.name(mapInfo)).toBe("bpf_map_info");
    expect(split.findByName("bpf_map_info")).toBe(mapInfo);
    expect(split.findByName("bpf_map_info", BtfKind.TYPEDEF)).toBe(s + 1);
    expect(split.stringStart).toBe(btf.stringEnd);
    // Without the base its ids point nowhere.
    expect(() => parseBtf(b.encode())).toThrow(BtfError);
  });

  const modules = hasVmlinux ? readdirSync("/sys/kernel/btf").filter((f) => f !== "vmlinux") : [];
  if (hasVmlinux && modules.length === 0) console.log("btf-parse: skipping modules' split BTF: /sys/kernel/btf holds only vmlinux here");
  it.skipIf(modules.length === 0)(`parses every module's BTF split on vmlinux (${modules.length} here)`, () => {
    for (const m of modules) {
      const split = parseBtf(new Uint8Array(readFileSync(`/sys/kernel/btf/${m}`)), { base: btf });
      expect(split.startId, m).toBe(btf.types.length);
      for (let id = split.startId; id < split.types.length; id++) split.sizeOf(id);
    }
  });
});

// A small BTF with one of everything the tests below poke at.
function small(): { raw: Uint8Array; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const uint = b.int("unsigned int", 4);
  const u32 = b.typedef("__u32", uint);
  const cu32 = b.const(u32);
  const arr = b.array(cu32, uint, 3);
  const s = b.struct("pair", 16, [{ name: "a", type: u32, bitOffset: 0 }, { name: "b", type: arr, bitOffset: 32 }]);
  const fp = b.funcProto(0, []);
  const fn = b.func("f", fp);
  const fwd = b.fwd("later");
  const ptr = b.ptr(fwd);
  const loop1 = b.typedef("loop1", 11);
  const loop2 = b.typedef("loop2", loop1);
  return { raw: b.encode(), ids: { uint, u32, cu32, arr, s, fp, fn, fwd, ptr, loop1, loop2 } };
}

describe("Btf's lookups", () => {
  const { raw, ids } = small();
  const btf = parseBtf(raw);

  it("sizeOf goes through typedefs, modifiers and arrays; void, FUNC, FUNC_PROTO and FWD have none", () => {
    expect(btf.sizeOf(ids.u32!)).toBe(4);
    expect(btf.sizeOf(ids.arr!)).toBe(12);
    expect(btf.sizeOf(ids.s!)).toBe(16);
    expect(btf.sizeOf(ids.ptr!)).toBe(8);
    for (const id of [0, ids.fp!, ids.fn!, ids.fwd!]) expect(btf.sizeOf(id)).toBeNull();
  });

  it("resolve skips typedefs and modifiers, not arrays or pointers", () => {
    expect(btf.resolve(ids.cu32!)).toBe(ids.uint);
    expect(btf.resolve(ids.arr!)).toBe(ids.arr);
    expect(btf.resolve(ids.ptr!)).toBe(ids.ptr);
    expect(btf.resolve(0)).toBe(0);
  });

  it("a typedef loop is a BtfError, not a hang", () => {
    expect(() => btf.resolve(ids.loop1!)).toThrow(/more than 32 typedefs/);
    expect(() => btf.sizeOf(ids.loop2!)).toThrow(BtfError);
  });

  it("findByName finds the lowest id, by kind when asked; typeById refuses an id it lacks", () => {
    expect(btf.findByName("__u32")).toBe(ids.u32);
    expect(btf.findByName("__u32", BtfKind.STRUCT)).toBeUndefined();
    expect(btf.findByName("nothing")).toBeUndefined();
    expect(btf.name(ids.s!)).toBe("pair");
    expect(() => btf.typeById(btf.types.length)).toThrow(RangeError);
    expect(() => btf.typeById(-1)).toThrow(RangeError);
  });
});

/** The same BTF in big endian: the header's fields and every u32 of the type section swapped. */
function toBigEndian(raw: Uint8Array): Uint8Array {
  const out = raw.slice();
  const le = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const be = new DataView(out.buffer);
  be.setUint16(0, le.getUint16(0, true), false);
  for (let at = 4; at < 24; at += 4) be.setUint32(at, le.getUint32(at, true), false);
  const start = 24 + le.getUint32(8, true);
  for (let at = start; at < start + le.getUint32(12, true); at += 4) be.setUint32(at, le.getUint32(at, true), false);
  return out;
}

describe("parseBtf's byte order", () => {
  it("reads big-endian BTF (magic 0x9feb) as bpftool does, to the same types", () => {
    const { raw } = small();
    const b = new BtfBuilder();
    b.enum("e", 4, [{ name: "M", value: -5n }], true);
    b.enum64("e64", 8, [{ name: "N", value: (1n << 64n) - 2n }]);
    b.declTag("t", 1, -1);
    for (const blob of [raw, b.encode()]) {
      const be = parseBtf(toBigEndian(blob));
      expect(be.littleEndian).toBe(false);
      expect(be.types).toEqual(parseBtf(blob).types);
    }
  });
});

describe("parseBtf on as many types as the kernel loads", () => {
  // The kernel loads a blob of any count of types up to BTF_MAX_SIZE, keeping ids below
  // BTF_MAX_TYPE and dropping the rest (conformance §btf-check.12): its raw bytes read back
  // whole, so the reader takes every type, as libbpf does.
  it("reads 0x100000 types, past BTF_MAX_TYPE, whole", () => {
    const n = 0x100000;
    const types: number[] = [];
    for (let i = 0; i < n; i++) types.push(...btfRef(BlobKind.PTR, 0, i === n - 1 ? 1 : 0));
    const btf = parseBtf(btfBlob({ types, strings: btfStrings().bytes }));
    expect(btf.types.length).toBe(n + 1);
    expect(btf.typeById(n)).toEqual({ kind: BtfKind.PTR, name: "", target: 1 });
  });
});

describe("split BTF", () => {
  it("names from the base's strings, and its own section need not start with the empty string", () => {
    const bb = new BtfBuilder();
    const uint = bb.int("unsigned int", 4);
    const baseTd = bb.typedef("base_name", uint);
    const base = parseBtf(bb.encode());
    // By hand: the builder puts every split name in the split's own strings, after a NUL. The
    // kernel and libbpf ask only base BTF's strings to start with one.
    const types = [...btfRef(BlobKind.TYPEDEF, base.stringEnd, baseTd), ...btfRef(BlobKind.TYPEDEF, bb.addString("base_name"), uint)];
    const raw = btfBlob({ types, strings: new TextEncoder().encode("own\0") });
    const split = parseBtf(raw, { base });
    expect([split.name(baseTd + 1), split.name(baseTd + 2)]).toEqual(["own", "base_name"]);
    expect(split.stringEnd).toBe(base.stringEnd + 4);
  });

  it("split on split BTF names a string of its base's base", () => {
    const bb = new BtfBuilder();
    const uint = bb.int("unsigned int", 4);
    const base = parseBtf(bb.encode());
    const mid = new BtfBuilder({ base });
    const td = mid.typedef("mid_name", uint);
    const middle = parseBtf(mid.encode(), { base });
    const top = parseBtf(btfBlob({ types: btfRef(BlobKind.TYPEDEF, bb.addString("unsigned int"), td), strings: new Uint8Array(0) }), { base: middle });
    expect(top.typeById(td + 1)).toEqual({ kind: BtfKind.TYPEDEF, name: "unsigned int", target: td });
  });

  it("split BTF in the other byte order than its base is refused", () => {
    const bb = new BtfBuilder();
    bb.int("unsigned int", 4);
    const base = parseBtf(bb.encode());
    const split = new BtfBuilder({ base });
    split.ptr(1);
    expect(() => parseBtf(toBigEndian(split.encode()), { base })).toThrow(/split BTF and its base differ in byte order/);
  });
});

describe("parseBtf refuses what it cannot read, naming the field and its byte", () => {
  const { raw } = small();
  const patched = (at: number, v: number, bytes: 1 | 2 | 4 = 4): Uint8Array => {
    const r = raw.slice();
    const dv = new DataView(r.buffer);
    if (bytes === 4) dv.setUint32(at, v, true);
    else if (bytes === 2) dv.setUint16(at, v, true);
    else r[at] = v;
    return r;
  };
  const typeLen = new DataView(raw.buffer).getUint32(12, true);
  const strStart = 24 + typeLen;
  const strLen = new DataView(raw.buffer).getUint32(20, true);
  const cases: [string, Uint8Array, RegExp, number][] = [
    ["a blob shorter than the header", raw.subarray(0, 23), /shorter than a btf_header/, 0],
    ["a wrong magic", patched(0, 0x1234, 2), /magic is 0x1234/, 0],
    ["version 2", patched(2, 2, 1), /version is 2/, 2],
    ["a flag", patched(3, 1, 1), /flags are 0x1/, 3],
    ["hdr_len 16", patched(4, 16), /hdr_len 16 is shorter/, 4],
    ["hdr_len past the end", patched(4, raw.length + 1), /hdr_len \d+ is past the end/, 4],
    ["a type section past the end", patched(12, raw.length), /type section .* runs past the end/, 8],
    ["a string section past the end", patched(20, raw.length), /string section .* runs past the end/, 16],
    ["a string section not starting with NUL", patched(strStart, 0x41, 1), /does not start with the empty string/, strStart],
    ["an unknown kind", patched(24 + 4, 20 << 24), /type 1: unknown kind 20/, 28],
    ["a name_off past the strings", patched(24, 1 << 20), /name_off 1048576 is past the string section/, 24],
    // INT 16 bytes, TYPEDEF 12, CONST 12, ARRAY 24: the struct's info is at 24 + 64 + 4.
    ["a struct's vlen past the section", patched(92, (4 << 24) | 1000), /type 5 \(STRUCT, vlen 1000\): needs 12000 more bytes/, 92],
    ["a type id past the last", patched(24 + 16 + 8, 99), /type 99 is past the last type \(11\)/, 24 + 16 + 8],
    ["a type id just past the last", patched(24 + 16 + 8, 12), /type 12 is past the last type \(11\)/, 24 + 16 + 8],
    ["a name_off at the end of the strings", patched(24, strLen), new RegExp(`name_off ${strLen} is past the string section`), 24],
    ["a string without its NUL", (() => { const r = raw.slice(); r[r.length - 1] = 0x41; return r; })(), /has no NUL/, 24 + 16 + 8 - 8],
  ];
  for (const [what, blob, message, offset] of cases) {
    it(what, () => {
      let err: unknown;
      try { parseBtf(blob); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(BtfError);
      expect((err as BtfError).message).toMatch(message);
      if (what !== "a string without its NUL") expect((err as BtfError).offset).toBe(offset);
      expect((err as BtfError).message).toContain(`(at byte ${(err as BtfError).offset})`);
    });
  }

  it("a type cut short inside the section", () => {
    const r = raw.slice();
    new DataView(r.buffer).setUint32(12, typeLen - 2, true); // the last type loses 2 bytes
    expect(() => parseBtf(r)).toThrow(/needs 12 bytes, 10 are left|needs \d+ more bytes/);
  });

  it("a last string whose NUL lies just past the section, ASCII or not", () => {
    for (const last of ["tail", "tä"]) {
      const b = new BtfBuilder();
      b.typedef(last, 0);
      const r = b.encode();
      const dv = new DataView(r.buffer);
      dv.setUint32(20, dv.getUint32(20, true) - 1, true); // the NUL is still there, outside the section
      expect(() => parseBtf(r), last).toThrow(/name_off 1: the string has no NUL before the end of the section/);
    }
  });

  it("overlapping type and string sections", () => {
    const s = btfStrings("int");
    // The strings start 4 bytes into the type section (a 0 word there: the empty string).
    const r = btfBlob({ types: [...btfInt(s.off.int!, 4, 32), ...btfRef(BlobKind.PTR, 0, 0)], strings: s.bytes, strOff: 16 + 4 });
    expect(() => parseBtf(r)).toThrow(/the type and string sections overlap \(at byte 8\)/);
  });

  it("a type cut short where the blob ends (the type section last)", () => {
    const s = btfStrings("int");
    const types = [...btfInt(s.off.int!, 4, 32), ...btfRef(BlobKind.PTR, 0, 1)];
    const strOff = 0, typeOff = 8; // the 5 bytes of strings, then the types at a 4-byte boundary
    const whole = btfBlob({ types, strings: s.bytes, strOff, typeOff });
    const r = whole.slice(0, whole.length - 2);
    new DataView(r.buffer).setUint32(12, 4 * types.length - 2, true);
    expect(() => parseBtf(r)).toThrow(/type 2: a btf_type needs 12 bytes, 10 are left in the type section \(at byte 48\)/);
  });

  it("not bytes, or a base that is not a Btf, is a TypeError", () => {
    expect(() => parseBtf([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => parseBtf(raw, { base: {} as Btf })).toThrow(TypeError);
  });
});
