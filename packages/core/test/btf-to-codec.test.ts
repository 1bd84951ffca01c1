// Codecs from BTF (codecFromBtf): the inverse of btfForMap over random codecs, every struct and
// union of this host's vmlinux against formatBtfValue's reading of the same bytes, each kind's
// rule (bitfields of both BTF styles, anonymous members, unions, bools, enums, floats,
// __int128), the errors, and a map made with BTF on each driver read and written by it.
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  BtfBuilder, btfCodecs, BtfError, BtfIntEncoding, BtfKind, btfForMap, codecFromBtf, encodeToBytes, formatBtfValue, i16, i32, i64, i8,
  parseBtf, rawCodecs, struct, u16, u32, u64, u8, ipv4, be16, type BpfMap, type Codec, type StructCodec,
} from "@bpfkit/core";
import { codecArb } from "./support/codec-arb.js";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver } from "./support/env.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const PLAIN_INTS = new Set<Codec<unknown>>([u8, u16, u32, u64, i8, i16, i32, i64]);

/** The codec of a type built by `build` in a fresh builder. */
function codecOf(build: (b: BtfBuilder) => number): Codec<unknown> {
  const b = new BtfBuilder();
  const id = build(b);
  return codecFromBtf(parseBtf(b.encode()), id);
}

describe("codecFromBtf over btfForMap's types (the inverse)", () => {
  it("is the codec's size, encodes back the bytes the codec wrote, and reads its integer fields as the codec does", () => {
    fc.assert(fc.property(codecArb, fc.uint8Array({ minLength: 4096, maxLength: 4096 }), (c, noise) => {
      const m = btfForMap(null, c);
      const d = codecFromBtf(parseBtf(m.btf), m.valueTypeId);
      expect(d.size).toBe(c.size);
      // A value the codec made (its padding zeroed), from random bytes.
      const v = c.decode(noise.subarray(0, c.size));
      let canonical: Uint8Array;
      try {
        canonical = encodeToBytes(c, v);
      } catch {
        fc.pre(false); // bytes the codec reads but would not write (an lpmKey's prefixlen past its bits)
        return;
      }
      const read = d.decode(canonical);
      expect(encodeToBytes(d, read)).toEqual(canonical);
      const fields = (c as Partial<StructCodec<unknown>>).fields;
      if (fields !== undefined) {
        for (const f of fields) if (PLAIN_INTS.has(f.codec)) expect((read as Record<string, unknown>)[f.name]).toBe((v as Record<string, unknown>)[f.name]);
      }
    }), { numRuns: 400 });
  });

  it("reads a Cilium-shaped key and value by name: network-order fields as the host-order number of their bytes, as bpftool prints them", () => {
    const key = struct({ ip: ipv4, port: be16, proto: u8 }, { name: "tuple" });
    const m = btfForMap(key, struct({ packets: u64, bytes: u64 }, { name: "stats" }));
    const btf = parseBtf(m.btf);
    const k = codecFromBtf(btf, m.keyTypeId);
    const bytes = encodeToBytes(key, { ip: "10.0.0.1", port: 443, proto: 6 });
    expect(k.decode(bytes)).toEqual({ ip: 0x0100000a, port: 47873, proto: 6 });
    expect(k.format!(k.decode(bytes))).toBe("{ip=16777226 port=47873 proto=6}");
    expect((k as { name: string }).name).toBe(`struct tuple [${m.keyTypeId}]`);
    expect(codecFromBtf(btf, m.valueTypeId).decode(new Uint8Array(16).fill(1))).toEqual({ packets: 0x0101010101010101n, bytes: 0x0101010101010101n });
  });
});

describe("codecFromBtf, kind by kind", () => {
  it("bitfields (kind_flag): each at its bits, signed by its type, neighbours and holes kept apart; a value that does not fit is a RangeError naming it", () => {
    const c = codecOf((b) => {
      const uint = b.int("unsigned int", 4);
      const int = b.int("int", 4, BtfIntEncoding.SIGNED);
      const ull = b.int("unsigned long long", 8);
      return b.struct("flags", 16, [
        { name: "a", type: uint, bitOffset: 0, bitfieldSize: 3 },
        { name: "b", type: int, bitOffset: 3, bitfieldSize: 5 },
        { name: "c", type: uint, bitOffset: 13, bitfieldSize: 1 },
        { name: "wide", type: ull, bitOffset: 60, bitfieldSize: 40 },
      ]);
    });
    const v = { a: 5, b: -3, c: 1, wide: 0x8000000001n };
    const bytes = encodeToBytes(c, v);
    expect(c.decode(bytes)).toEqual(v);
    // a: bits 0-2 = 101; b: bits 3-7 = -3 (11101); bit 13 set; wide from bit 60.
    const lo = new DataView(bytes.buffer).getBigUint64(0, true), hi = new DataView(bytes.buffer).getBigUint64(8, true);
    expect(lo & 0xffn).toBe(0b11101_101n);
    expect((lo >> 8n) & 0xffn).toBe(0b0010_0000n);
    expect((lo >> 60n) | (hi << 4n)).toBe(0x8000000001n);
    expect(() => encodeToBytes(c, { ...v, a: 8 })).toThrow(/^struct flags \[\d+\]\.a: 8 does not fit 3 unsigned bits$/);
    expect(() => encodeToBytes(c, { ...v, b: -17 })).toThrow(RangeError);
    expect(() => encodeToBytes(c, { ...v, c: 0.5 })).toThrow(TypeError);
  });

  it("bitfields of older BTF (an INT narrower than its bytes, no kind_flag), and an unnamed bitfield taken as padding", () => {
    const c = codecOf((b) => {
      const three = b.int("unsigned int", 4, BtfIntEncoding.NONE, 3);
      const uint = b.int("unsigned int", 4);
      return b.struct("old", 4, [
        { name: "x", type: three, bitOffset: 0 },
        { name: "", type: uint, bitOffset: 3, bitfieldSize: 4 },
        { name: "y", type: three, bitOffset: 7 },
      ]);
    });
    const bytes = Uint8Array.of(0xff, 0xff, 0, 0);
    expect(c.decode(bytes)).toEqual({ x: 7, y: 7 });
    expect(encodeToBytes(c, { x: 7, y: 7 })).toEqual(Uint8Array.of(0x87, 0x03, 0, 0));
  });

  it("anonymous struct and union members are taken in, as C reaches them; a union writes the members given, in order", () => {
    const c = codecOf((b) => {
      const u32t = b.int("unsigned int", 4);
      const u8t = b.int("unsigned char", 1);
      const inner = b.struct("", 4, [{ name: "lo", type: b.int("unsigned short", 2), bitOffset: 0 }, { name: "hi", type: b.int("unsigned short", 2), bitOffset: 16 }]);
      const u = b.union("", 4, [{ name: "word", type: u32t, bitOffset: 0 }, { name: "", type: inner, bitOffset: 0 }, { name: "b0", type: u8t, bitOffset: 0 }]);
      return b.struct("outer", 8, [{ name: "id", type: u32t, bitOffset: 0 }, { name: "", type: u, bitOffset: 32 }]);
    });
    const bytes = Uint8Array.of(1, 0, 0, 0, 0x78, 0x56, 0x34, 0x12);
    const read = c.decode(bytes);
    expect(read).toEqual({ id: 1, word: 0x12345678, lo: 0x5678, hi: 0x1234, b0: 0x78 });
    expect(encodeToBytes(c, read)).toEqual(bytes);
    // Only one member of the union: the rest of it is zero.
    expect(encodeToBytes(c, { id: 1, b0: 0xaa })).toEqual(Uint8Array.of(1, 0, 0, 0, 0xaa, 0, 0, 0));
    expect(encodeToBytes(c, { id: 1, lo: 2 })).toEqual(Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0));
    // The struct's own member is required.
    expect(() => encodeToBytes(c, { word: 1 })).toThrow(/^struct outer \[\d+\]: member "id" is missing$/);
  });

  it("bool, __int128, enums (signed or not), float and double, pointers and char arrays", () => {
    const c = codecOf((b) => {
      const bool = b.int("_Bool", 1, BtfIntEncoding.BOOL);
      const i128 = b.int("__int128", 16, BtfIntEncoding.SIGNED);
      const e = b.enum("dir", 1, [{ name: "IN", value: 0n }, { name: "OUT", value: -1n }], true);
      const f = b.float("float", 4);
      const d = b.float("double", 8);
      const p = b.ptr(0);
      const chr = b.int("char", 1, BtfIntEncoding.CHAR);
      return b.struct("all", 64, [
        { name: "ok", type: bool, bitOffset: 0 }, { name: "dir", type: e, bitOffset: 8 }, { name: "f", type: f, bitOffset: 32 },
        { name: "p", type: p, bitOffset: 64 }, { name: "d", type: d, bitOffset: 128 }, { name: "big", type: i128, bitOffset: 256 },
        { name: "comm", type: b.array(chr, b.int("int", 4, BtfIntEncoding.SIGNED), 4), bitOffset: 384 },
      ]);
    });
    const v = { ok: true, dir: -1, f: 1.5, p: 0xffff888000000000n, d: -0.25, big: -(1n << 100n), comm: [0x6c, 0x73, 0, 0] };
    expect(c.decode(encodeToBytes(c, v))).toEqual(v);
    expect(() => encodeToBytes(c, { ...v, ok: 1 })).toThrow(TypeError);
  });

  it("what has no layout, big-endian BTF and two members of one name are BtfErrors", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, BtfIntEncoding.SIGNED);
    const fwd = b.fwd("later");
    const proto = b.funcProto(int, []);
    const dup = b.struct("dup", 8, [{ name: "x", type: int, bitOffset: 0 }, { name: "", type: b.struct("", 4, [{ name: "x", type: int, bitOffset: 0 }]), bitOffset: 32 }]);
    const btf = parseBtf(b.encode());
    expect(() => codecFromBtf(btf, 0)).toThrow(new BtfError("codecFromBtf: void has no layout a codec can take"));
    expect(() => codecFromBtf(btf, fwd)).toThrow(/fwd later .* has no layout/);
    expect(() => codecFromBtf(btf, proto)).toThrow(/func_proto .* has no layout/);
    expect(() => codecFromBtf(btf, dup)).toThrow(/struct dup \[\d+\] has two members named "x"/);
    expect(codecFromBtf(btf, int).size).toBe(4);
  });
});

describe.skipIf(!existsSync(VMLINUX))("codecFromBtf over this host's vmlinux", () => {
  it("makes a codec of each struct and union's size that reads its integer members as formatBtfValue does; writing back what it read is a projection", () => {
    const btf = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    const rand = fc.sample(fc.uint8Array({ minLength: 1 << 16, maxLength: 1 << 16 }), { seed: 2026, numRuns: 1 })[0]!;
    let made = 0, compared = 0;
    const failures: string[] = [];
    btf.types.forEach((t, id) => {
      if ((t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) || t.size === 0 || t.size > rand.length) return;
      const c = codecFromBtf(btf, id);
      made++;
      expect(c.size).toBe(t.size);
      const bytes = rand.subarray(0, t.size);
      const read = c.decode(bytes) as Record<string, unknown>;
      // Written back, what is read is written back alike: encode∘decode is a projection. (Not the
      // identity on random bytes: a _Bool byte of 7 reads as true and writes 1, and a union's
      // members overlap it; bytes no member covers come back zero.)
      const once = c.decode(encodeToBytes(c, read));
      expect(c.decode(encodeToBytes(c, once))).toEqual(once);
      const printed = formatBtfValue(btf, id, bytes) as Record<string, unknown>;
      for (const m of t.members) {
        const mt = btf.typeById(btf.resolve(m.type));
        if (m.name === "" || m.bitfieldSize !== 0 || mt.kind !== BtfKind.INT || mt.size > 4 || (mt.encoding & BtfIntEncoding.BOOL) !== 0) continue;
        compared++;
        if (read[m.name] !== printed[m.name]) failures.push(`${btf.name(id)}.${m.name}: ${String(read[m.name])} vs ${String(printed[m.name])}`);
      }
    });
    expect(failures.slice(0, 10)).toEqual([]);
    expect(made).toBeGreaterThan(5000);
    expect(compared).toBeGreaterThan(10_000);
  });
});

eachDriver("codecFromBtf on a map made with BTF", (env) => {
  const maps: BpfMap<unknown, unknown>[] = [];
  afterEach(() => { for (const m of maps.splice(0)) m.close(); });

  it("a map someone made with BTF, opened with codecs from its BTF, is read and written by field name", () => {
    const { bpf } = env();
    const key = struct({ ip: ipv4, port: be16, proto: u8 }, { name: "tuple" });
    const value = struct({ packets: u64, bytes: u64 }, { name: "flow_stats" });
    const made = bpf.newMap({ name: "btf_typed", type: 1, key, value, maxEntries: 8, btf: true }) as BpfMap<unknown, unknown>;
    maps.push(made);
    made.openOrCreate();
    made.update({ ip: "10.0.0.1", port: 443, proto: 6 }, { packets: 2n, bytes: 180n });
    const raw = bpf.openMap("btf_typed", rawCodecs) as BpfMap<unknown, unknown>;
    maps.push(raw);
    const b = raw.btf()!;
    const typed = bpf.openMap("btf_typed", { key: codecFromBtf(b.spec, b.keyTypeId), value: codecFromBtf(b.spec, b.valueTypeId) }) as BpfMap<unknown, unknown>;
    maps.push(typed);
    expect([...typed.entries()]).toEqual([[{ ip: 0x0100000a, port: 47873, proto: 6 }, { packets: 2n, bytes: 180n }]]);
    typed.update({ ip: 0x0100000a, port: 47873, proto: 6 }, { packets: 3n, bytes: 240n });
    expect(made.lookup({ ip: "10.0.0.1", port: 443, proto: 6 })).toEqual({ packets: 3n, bytes: 240n });
    // btfCodecs does the same in one step.
    const chosen = bpf.openMap("btf_typed", btfCodecs);
    maps.push(chosen);
    expect(chosen.lookup({ ip: 0x0100000a, port: 47873, proto: 6 })).toEqual({ packets: 3n, bytes: 240n });
    made.unpin();
  });

  it("btfCodecs: a per-CPU value is one typed value per CPU; a map without BTF is a TypeError naming it, and no fd stays open", () => {
    const { bpf, driver } = env();
    const value = struct({ hits: u32, last: u64 }, { name: "counter" });
    const made = bpf.newPerCpuHashMap({ name: "btf_pcpu", key: u32, value, maxEntries: 4, btf: true }) as BpfMap<unknown, unknown>;
    maps.push(made);
    made.openOrCreate();
    const cpus = driver.possibleCpus;
    const per = Array.from({ length: cpus }, (_, i) => ({ hits: i, last: BigInt(i) * 10n }));
    made.update(1, per);
    const typed = bpf.openMap("btf_pcpu", btfCodecs);
    maps.push(typed);
    expect(typed.lookup(1)).toEqual(per);
    const plain = bpf.newMap({ name: "btf_none", type: 1, key: u32, value: u32, maxEntries: 1 });
    maps.push(plain as BpfMap<unknown, unknown>);
    plain.openOrCreate();
    const fds = openFdsOf(driver);
    expect(() => bpf.openMap("btf_none", btfCodecs)).toThrow(new TypeError(`openMap ${bpf.mapPath("btf_none")}: the codec chooser threw: btfCodecs: the map has no BTF (created without it): open it with rawCodecs or codecs of your own`));
    expect(openFdsOf(driver)).toEqual(fds);
    made.unpin();
    plain.unpin();
  });
});
