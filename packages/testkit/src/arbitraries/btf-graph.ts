// Random BTF blobs for the BPF_BTF_LOAD differential: a graph of types over every kind the
// checker knows, drawn so that most blobs load or fail deep in btf_parse (members that fit
// their struct, references mostly backwards, offsets in order), with faults drawn on top (a
// word changed, a name past the strings, a header field, the string section's edges) and now
// and then raw byte changes. Written word by word, not by core's BtfBuilder, which refuses
// the bad names and shapes the checker must answer.
import fc from "fast-check";
import { BTF_HDR_LEN, BTF_MAGIC, BtfKind, btfInfo } from "../conformance/btf-blob.js";

const K = BtfKind;

/** A type id as drawn: relative to the type that names it, absolute, or one of the edges. */
export type BtfRef =
  | { readonly back: number } // the type `back + 1` before this one (void before the first)
  | { readonly fwd: number } // the type `fwd + 1` after this one (maybe past the end)
  | { readonly id: number } // this id, maybe forward, itself, or past the end
  | { readonly edge: "void" | "end" | "max" | "past-max" | "u32" }
  | { readonly last: BtfCategory; readonly skip: number }; // the nearest earlier type of a category (skipping some), else void

/** What a clean reference looks for: any type, an INT, a type with a size, a FUNC_PROTO, a VAR, what a DECL_TAG may name. */
export type BtfCategory = "any" | "int" | "sized" | "proto" | "var" | "taggable";

/** One word of a type: a number, a type id to resolve, or a name to place in the strings. */
export type BtfWord = number | { readonly ref: BtfRef } | { readonly name: string } | { readonly auto: AutoWord };

/**
 * A word the encoder fills in once every type is placed: a struct's size past its last member,
 * a DATASEC's size past its last variable, a variable's offset after the one before, its size.
 */
export type AutoWord = "struct-size" | "sec-size" | "var-off" | "var-size";

/** One drawn type: its kind (for the listing), and its words (name_off, info, size/type, then the kind's own). */
export interface BtfTypeDraw {
  /** BTF_KIND_* (or a number no kernel knows). */
  readonly kind: number;
  /** Its words as drawn, resolved by the encoder. */
  readonly words: readonly BtfWord[];
}

/** A fault applied to the encoded blob. */
export type BtfFault =
  | { readonly f: "word"; readonly at: number; readonly how: "zero" | "ones" | "inc" | "dec" | "bit"; readonly bit: number }
  | { readonly f: "name-off"; readonly type: number; readonly where: "str-len" | "last" | "huge" | "mid" }
  | { readonly f: "vlen"; readonly type: number; readonly delta: 1 | -1 }
  | { readonly f: "header"; readonly field: HeaderField; readonly value: number }
  | { readonly f: "hdr-tail"; readonly extra: number; readonly nonZero: boolean }
  | { readonly f: "strings"; readonly how: "no-final-nul" | "first-not-nul" | "empty" | "append" | "first" }
  | { readonly f: "byte"; readonly at: number; readonly xor: number }
  | { readonly f: "cut"; readonly keep: number };

type HeaderField = "magic" | "version" | "flags" | "hdr_len" | "type_off" | "type_len" | "str_off" | "str_len";

/** A whole blob as drawn: the types and the faults, in the order applied. */
export interface BtfGraph {
  /** The types, id 1 first. */
  readonly types: readonly BtfTypeDraw[];
  /** What is broken on top, in order. */
  readonly faults: readonly BtfFault[];
}

const KIND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(K).map(([n, k]) => [k, n]));

/**
 * Names that are C identifiers, special struct names, tag values, and names the checker refuses
 * (or, at 512 characters, the longest it takes: 513 is one too many).
 * No string here is, or ends in, the name of one of vmlinux's structs ("node" is one): only a
 * kptr's struct names one on purpose (KERNEL_STRUCTS), and a name offset moved into a string
 * names its end.
 */
const IDENTS = ["a", "b", "x", "val", "int", "long", "char", "u32", "__u64", "pair", "elem", "_", "A1", ".data", "\xe9t\xe9"];
const SPECIAL = ["bpf_spin_lock", "bpf_res_spin_lock", "bpf_timer", "bpf_wq", "bpf_task_work", "bpf_list_head", "bpf_list_node",
  "bpf_rb_root", "bpf_rb_node", "bpf_refcount"];
const TAGS = ["kptr", "kptr_untrusted", "percpu_kptr", "uptr", "rcu", "user", "contains:pair:nd", "contains:elem:a", "contains:", "tag"];
const BAD = ["1a", "a-b", "a b", "a.b.", "\x7f", "a\x01", "..", "x".repeat(128), "y".repeat(511), "z".repeat(512), "w".repeat(513)];
/**
 * Structs of vmlinux a kptr may name (btf_parse_kptr looks its struct up there): with a destructor
 * kfunc on 6.18 (task_struct, cgroup, bpf_cpumask) and without (a referenced kptr to one is ENOENT).
 * A simulator compared with the kernel is given the kernel's BTF to know them.
 */
const KERNEL_STRUCTS = ["task_struct", "cgroup", "bpf_cpumask", "node", "list_head", "file", "sk_buff"];
/** Each special struct's size (btf_parse_fields wants exactly it). */
const SPECIAL_SIZE: Record<string, number> = { bpf_spin_lock: 4, bpf_res_spin_lock: 4, bpf_timer: 16, bpf_wq: 16, bpf_task_work: 8,
  bpf_list_head: 16, bpf_list_node: 24, bpf_rb_root: 16, bpf_rb_node: 32, bpf_refcount: 4 };

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
/** `clean` when the graph is drawn to load, else one in `odds` draws `wild`. */
const mostly = <T>(wild: boolean, clean: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, odds = 4) =>
  wild ? fc.oneof(weighted(odds, clean), weighted(1, odd)) : clean;

/**
 * The draws of one graph. Clean graphs name types by category (the nearest earlier int, sized
 * type, prototype, …) and keep every field in range, so most load and their maps go through
 * map_check_btf; wild ones draw every field from its edges too, and references anywhere.
 */
function draws(wild: boolean) {
  const name = (anon: number) => {
    const ok = fc.oneof(weighted(anon, fc.constant("")), weighted(8, fc.constantFrom(...IDENTS)), weighted(1, fc.constantFrom(...SPECIAL)));
    return mostly(wild, ok, fc.oneof(fc.constantFrom(...BAD),
      fc.string({ unit: fc.constantFrom("a", "_", "1", ".", "-", " ", ":", "\xe9", "\xff", "\t"), minLength: 1, maxLength: 6 })), 8)
      .map((n): BtfWord => ({ name: n }));
  };
  const ident = mostly(wild, fc.constantFrom(...IDENTS), fc.constantFrom("", ...BAD), 8).map((n): BtfWord => ({ name: n }));
  const anon = mostly(wild, fc.constant(""), fc.constantFrom(...IDENTS), 12).map((n): BtfWord => ({ name: n }));
  const anyRef: fc.Arbitrary<BtfRef> = fc.oneof(
    weighted(8, fc.nat(6).map((back) => ({ back }))),
    weighted(3, fc.nat(24).map((id) => ({ id }))),
    weighted(2, fc.constant({ edge: "void" as const })),
    weighted(1, fc.constantFrom<BtfRef>({ edge: "end" }, { edge: "max" }, { edge: "past-max" }, { edge: "u32" })),
  );
  const ref = (cat: BtfCategory) => mostly(wild, fc.nat(3).map((skip): BtfRef => ({ last: cat, skip })), anyRef, 6).map((r): BtfWord => ({ ref: r }));
  const kf = mostly(wild, fc.constant(false), fc.constant(true), 10);
  const u32 = fc.oneof(weighted(6, fc.nat(64)), weighted(1, fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff, 0x10000000, 0xffff)));
  const head = (kind: number, nm: fc.Arbitrary<BtfWord>, third: fc.Arbitrary<BtfWord>, vlen: fc.Arbitrary<number> = fc.constant(0), flag = kf) =>
    fc.tuple(nm, flag, third, vlen).map(([n, f, t, v]) => [n, btfInfo(kind, v, f), t] as BtfWord[]);
  const one = (kind: number, words: fc.Arbitrary<BtfWord[]>) => words.map((w): BtfTypeDraw[] => [{ kind, words: w }]);

  const int = fc.tuple(
    head(K.INT, name(1), mostly(wild, fc.constantFrom(1, 2, 4, 8, 16), fc.constantFrom(0, 3, 32))),
    mostly(wild, fc.constantFrom(0, 0, 1, 1, 2, 4), fc.constantFrom(3, 8, 15)),
    mostly(wild, fc.oneof(weighted(8, fc.constant(0)), weighted(1, fc.nat(16))), fc.nat(130), 6),
    // -1 and below: all bits but a few; 8 or 16: whole bytes, fewer than the size (btf_type_int_is_regular's size).
    mostly(wild, fc.oneof(weighted(6, fc.constant(-1)), weighted(1, fc.nat(7).map((b) => -2 - b)), weighted(1, fc.constantFrom(8, 16))), fc.nat(129)),
  ).map(([h, enc, off, bits]) => {
    const size = h[2] as number;
    // -1: every bit of the size; -2 and below: that many bits fewer.
    const nr = bits < 0 ? Math.max(1, Math.min(8 * size, 128) + 1 + bits) : bits;
    return [...h, ((enc << 24) | (off << 16) | nr) >>> 0] as BtfWord[];
  });

  /** Pointers and modifiers are anonymous, typedefs and type tags named. */
  const refKind = fc.constantFrom(K.PTR, K.PTR, K.TYPEDEF, K.TYPEDEF, K.VOLATILE, K.CONST, K.RESTRICT, K.TYPE_TAG).chain((kind) => {
    const nm = kind === K.TYPEDEF ? ident : kind === K.TYPE_TAG ? mostly(wild, fc.constantFrom(...TAGS), fc.constant("")).map((n): BtfWord => ({ name: n })) : anon;
    const target = kind === K.PTR ? ref("any") : ref("sized");
    // A TYPE_TAG's kind_flag (an attribute tag) is allowed: drawn in clean graphs too.
    return one(kind, head(kind, nm, target, fc.constant(0), kind === K.TYPE_TAG ? fc.oneof(weighted(5, fc.constant(false)), weighted(1, fc.constant(true))) : kf));
  });

  const array = fc.tuple(head(K.ARRAY, anon, mostly(wild, fc.constant(0), fc.constant(4), 10)), ref("sized"), ref("int"),
    mostly(wild, fc.constantFrom(0, 1, 2, 4, 16), u32)).map(([h, elem, index, n]) => [...h, elem, index, n]);

  /** STRUCT/UNION members at rising offsets (bits; bitfield size and offset with kind_flag); size "auto" fits them. */
  const composite = fc.tuple(
    fc.constantFrom(K.STRUCT, K.STRUCT, K.UNION), name(3), fc.oneof(weighted(3, fc.constant(false)), weighted(1, fc.constant(true))),
    mostly(wild, fc.oneof(weighted(8, fc.constant(-1)), weighted(1, fc.constantFrom(0, 1, 4, 8, 16, 64))), u32),
    fc.array(fc.tuple(name(2), ref("sized"), mostly(wild, fc.oneof(weighted(4, fc.constantFrom(0, 8, 32, 64)), weighted(1, fc.nat(33))), fc.nat(70)),
      mostly(wild, fc.oneof(weighted(2, fc.constant(0)), weighted(1, fc.nat(33))), fc.nat(40))), { maxLength: 5 }),
  ).map(([kind, n, flag, size, ms]): BtfTypeDraw[] => {
    let off = 0;
    const members: BtfWord[] = [];
    for (const [mn, mt, delta, bits] of ms) {
      if (kind === K.STRUCT) off += delta;
      members.push(mn, mt, flag ? ((bits << 24) | (off & 0xffffff)) >>> 0 : off);
    }
    // -1: room for the members as laid out (the encoder adds the last member's size).
    return [{ kind, words: [n, btfInfo(kind, ms.length, flag), size < 0 ? { auto: "struct-size" } : size, ...members] }];
  });

  const enums = fc.tuple(fc.boolean(), name(2), fc.boolean(), mostly(wild, fc.constantFrom(4, 8, 1, 2), fc.constantFrom(0, 3, 16)),
    fc.array(fc.tuple(ident, fc.oneof(fc.nat(8), fc.constantFrom(-1, 0x7fffffff, -0x80000000)), fc.constantFrom(0, 1, 0xffffffff)), { maxLength: 4 }))
    .map(([wide, n, flag, size, vs]): BtfTypeDraw[] => {
      const kind = wide ? K.ENUM64 : K.ENUM;
      return [{ kind, words: [n, btfInfo(kind, vs.length, flag), size, ...vs.flatMap(([vn, v, hi]) => (wide ? [vn, v >>> 0, hi] : [vn, v >>> 0]))] }];
    });

  const fwd = one(K.FWD, head(K.FWD, ident, mostly(wild, fc.constant(0), fc.constant(4), 10), fc.constant(0), fc.boolean()));
  const float = one(K.FLOAT, head(K.FLOAT, ident, mostly(wild, fc.constantFrom(2, 4, 8, 12, 16), fc.constantFrom(0, 1, 3, 32))));

  /** A FUNC_PROTO and, mostly, a FUNC of it right after (linkage in vlen). */
  const func = fc.tuple(ref("sized"), fc.array(fc.tuple(mostly(wild, ident, anon, 6), ref("sized")), { maxLength: 4 }), fc.boolean(), fc.nat(3), ident,
    mostly(wild, fc.constantFrom(0, 1), fc.constantFrom(2, 3), 8), kf, mostly(wild, fc.constant(false), fc.constant(true), 6))
    .map(([ret, params, varargs, withFunc, fname, linkage, flag, voidRet]): BtfTypeDraw[] => {
      const ps: BtfWord[] = params.flatMap(([n, t]) => [n, t]);
      if (varargs) ps.push(0, 0);
      const n = params.length + (varargs ? 1 : 0);
      const proto: BtfTypeDraw = { kind: K.FUNC_PROTO, words: [0, btfInfo(K.FUNC_PROTO, n), voidRet ? 0 : ret, ...ps] };
      return withFunc > 0 ? [proto, { kind: K.FUNC, words: [fname, btfInfo(K.FUNC, linkage, flag), { ref: { back: 0 } }] }] : [proto];
    });
  const lonelyFunc = one(K.FUNC, head(K.FUNC, ident, ref("proto"), mostly(wild, fc.constantFrom(0, 1), fc.constantFrom(2, 3))));

  // A VAR's type: mostly one with a size, now and then any (a FWD, a FUNC_PROTO, void: refused).
  const variable = fc.tuple(ident, fc.oneof(weighted(15, ref("sized")), weighted(1, ref("any"))), mostly(wild, fc.constantFrom(0, 1), fc.constantFrom(2, 3)), kf).map(([n, t, linkage, flag]): BtfTypeDraw[] =>
    [{ kind: K.VAR, words: [n, btfInfo(K.VAR, 0, flag), t, linkage] }]);
  /**
   * A DATASEC of the vars before it (clean: its own, just before it), packed one after the other
   * unless drawn otherwise; one in six "high", in a section of 2 to 4 GiB with its variables'
   * offsets and sizes (some) near 4 GiB, where an end wraps past it (u32 arithmetic).
   */
  const highOff = fc.constantFrom(-1, 0x10000000, 0x7fffffff, 0x80000000, 0xe0000000, 0xf0000000);
  const highSize = fc.constantFrom(-1, 0x10000000, 0x30000000, 0x80000000, 0xf0000000);
  const datasec = fc.tuple(fc.array(variable, { minLength: wild ? 0 : 1, maxLength: wild ? 0 : 3 }), mostly(wild, fc.constantFrom(".data", ".bss", ".rodata", "license", ".data.x y"), fc.constantFrom("", "\x01")), kf,
    mostly(wild, fc.constant(-1), u32), fc.oneof(weighted(5, fc.constant(-1)), weighted(1, fc.constantFrom(0x80000000, 0xf0000000, 0xffffffff))),
    fc.array(fc.tuple(ref("var"), mostly(wild, fc.constant(-1), fc.nat(16)), mostly(wild, fc.constant(-1), fc.nat(16)), highOff, highSize), { minLength: 0, maxLength: 3 }))
    .map(([own, n, flag, drawnSize, high, drawn]): BtfTypeDraw[] => {
      const size = high < 0 ? drawnSize : high;
      const placed = drawn.map(([t, off, sz, hOff, hSize]) => [t, high < 0 ? off : hOff, high < 0 ? sz : hSize] as const);
      const vs = wild ? placed : own.map((_, i) => placed[i] ?? [{ ref: { last: "var" as const, skip: 0 } }, -1, -1] as const);
      const words: BtfWord[] = [{ name: n }, btfInfo(K.DATASEC, vs.length, flag), size < 0 ? { auto: "sec-size" } : size];
      vs.forEach(([t, off, sz], i) => {
        // Each variable a different one, in the order declared, unless wild.
        const r = typeof t !== "number" && "ref" in t && "last" in t.ref ? { ref: { last: "var" as const, skip: vs.length - 1 - i } } : t;
        words.push(r, off < 0 ? { auto: "var-off" } : off, sz < 0 ? { auto: "var-size" } : sz);
      });
      return [...own.flat(), { kind: K.DATASEC, words }];
    });

  /**
   * A DECL_TAG. Clean: on a struct of its own just before it (the whole or a member, now and then
   * one past the last), or on a TYPEDEF or VAR of it (where only the whole may be tagged). Wild:
   * anywhere, maybe without a value or with a vlen.
   */
  const declTag = fc.tuple(head(K.DECL_TAG, fc.oneof(weighted(wild ? 6 : 1, fc.oneof(fc.constantFrom(...TAGS).map((n): BtfWord => ({ name: n })), ident)),
    weighted(wild ? 1 : 0, fc.constant({ name: "" }))), wild ? ref("taggable") : fc.constant({ ref: { back: 0 } }), mostly(wild, fc.constant(0), fc.constant(1))),
  mostly(wild, fc.oneof(weighted(3, fc.constant(-1)), weighted(2, fc.nat(4))), fc.constantFrom(2, 100, 0x7fffffff, -2)), composite,
  fc.oneof(weighted(9, fc.constant("struct" as const)), weighted(1, fc.constantFrom("past" as const, "typedef" as const, "var" as const))))
    .map(([h, idx, target, on]): BtfTypeDraw[] => {
      if (wild) return [{ kind: K.DECL_TAG, words: [...h, idx >>> 0] }];
      const vlen = (target[0]!.words[1] as number) & 0xffff;
      const i = on === "past" ? vlen : idx < 0 || vlen === 0 ? -1 : idx % vlen;
      const via: BtfTypeDraw[] = on === "typedef" ? [{ kind: K.TYPEDEF, words: [{ name: "u32" }, btfInfo(K.TYPEDEF), { ref: { back: 0 } }] }]
        : on === "var" ? [{ kind: K.VAR, words: [{ name: "x" }, btfInfo(K.VAR), { ref: { back: 0 } }, 1] }] : [];
      return [...target, ...via, { kind: K.DECL_TAG, words: [...h, i >>> 0] }];
    });

  /** A struct the checker knows by name, at its size or not, with an int member or none, and a struct holding it. */
  const special = fc.tuple(fc.constantFrom(...SPECIAL), mostly(wild, fc.constant(-1), fc.constantFrom(0, 4, 8, 12, 16, 24, 32)), fc.boolean(),
    fc.constantFrom(0, 0, 4, 8, 6))
    .map(([n, size, member, at]): BtfTypeDraw[] => {
      const s = size < 0 ? SPECIAL_SIZE[n]! : size;
      const int: BtfTypeDraw = { kind: K.INT, words: [{ name: "int" }, btfInfo(K.INT), 4, 32] };
      const struct: BtfTypeDraw = member ? { kind: K.STRUCT, words: [{ name: n }, btfInfo(K.STRUCT, 1), s, { name: "val" }, { ref: { back: 0 } }, 0] }
        : { kind: K.STRUCT, words: [{ name: n }, btfInfo(K.STRUCT), s] };
      const holder: BtfTypeDraw = { kind: K.STRUCT, words: [{ name: "pair" }, btfInfo(K.STRUCT, 2), { auto: "struct-size" },
        { name: "a" }, { ref: { last: "int", skip: 0 } }, 0, { name: "b" }, { ref: { back: 0 } }, 8 * at] };
      return [int, struct, holder];
    });

  /**
   * A map value with special fields: a struct `pair` of members drawn among the special structs,
   * kptrs of each tag (PTR, TYPE_TAG, a struct or a FWD), arrays of them and a nested struct
   * holding one, placed at their alignment or off it, maybe a `contains:` tag on a member: what
   * btf_parse_fields reads at load (btf_parse_struct_metas) and at MAP_CREATE.
   */
  const value = fc.tuple(
    fc.array(fc.tuple(
      fc.constantFrom(...SPECIAL, "kptr", "kptr_untrusted", "percpu_kptr", "uptr", "rcu"),
      // 1: the field; 2, 3: an array of them; 11, 12: as many as BTF_FIELDS_MAX or one more; 0: a struct holding it
      fc.oneof(weighted(12, fc.constant(1)), weighted(2, fc.constantFrom(2, 3, 0)), weighted(2, fc.constantFrom(11, 12))),
      mostly(wild, fc.oneof(weighted(8, fc.constant(0)), weighted(1, fc.constantFrom(2, 4))), fc.constantFrom(2, 4, 6)), // bytes off its alignment
      fc.oneof(weighted(8, fc.constant(false)), weighted(1, fc.constant(true))), // the special struct one byte too big (a kptr: to a FWD)
      fc.oneof(weighted(15, fc.constant("")), weighted(1, fc.constantFrom("rcu", "kptr"))), // a kptr's second type tag
      fc.oneof(weighted(4, fc.constant("elem")), weighted(1, fc.constantFrom(...KERNEL_STRUCTS))), // a kptr's struct: the program's own, or the kernel's
    ), { minLength: 1, maxLength: 4 }),
    fc.oneof(weighted(3, fc.constant(-1)), weighted(1, fc.nat(4))), // a `contains:` tag on this member (-1: none)
    fc.constantFrom("contains:pair:nd", "contains:pair:a", "contains:elem:a", "contains:bpf_list_node:x", "contains:elem"),
    fc.oneof(weighted(12, fc.constant(false)), weighted(1, fc.constant(true))), // a bitfield member first (kind_flag)
  ).map(([fields, tagged, tag, bitfield]): BtfTypeDraw[] => {
    const out: BtfTypeDraw[] = [];
    const add = (t: BtfTypeDraw) => out.push(t) - 1;
    const int = add({ kind: K.INT, words: [{ name: "int" }, btfInfo(K.INT), 4, (1 << 24) | 32] });
    const members: [string, number, number, number, number][] = []; // name, local index of the type, size, alignment, bytes off it
    for (const [what, count, off, big, tag2, pointee] of fields) {
      let type: number, size: number, align: number;
      if (what in SPECIAL_SIZE) {
        size = SPECIAL_SIZE[what]! + (big ? 1 : 0);
        align = Math.min(8, SPECIAL_SIZE[what]!);
        type = out.length;
        out.push({ kind: K.STRUCT, words: [{ name: what }, btfInfo(K.STRUCT), size] });
      } else {
        // A kptr: PTR -> TYPE_TAG(what) -> struct elem or a kernel struct's name (or, drawn "big", a FWD).
        const target = big ? add({ kind: K.FWD, words: [{ name: pointee }, btfInfo(K.FWD), 0] })
          : add({ kind: K.STRUCT, words: [{ name: pointee }, btfInfo(K.STRUCT, 1), 4, { name: "a" }, { ref: { back: out.length - 1 - int } }, 0] });
        // PTR -> TYPE_TAG(what) [-> TYPE_TAG(tag2)] -> target: btf_find_kptr takes one tag only.
        const under = tag2 === "" ? target : add({ kind: K.TYPE_TAG, words: [{ name: tag2 }, btfInfo(K.TYPE_TAG), { ref: { back: out.length - 1 - target } }] });
        const tagT = out.length;
        out.push({ kind: K.TYPE_TAG, words: [{ name: what }, btfInfo(K.TYPE_TAG), { ref: { back: tagT - 1 - under } }] });
        type = out.length;
        out.push({ kind: K.PTR, words: [0, btfInfo(K.PTR), { ref: { back: 0 } }] });
        size = 8;
        align = 8;
      }
      if (count >= 2) {
        const arr = out.length;
        out.push({ kind: K.ARRAY, words: [0, btfInfo(K.ARRAY), 0, { ref: { back: arr - 1 - type } }, { ref: { back: arr - 1 - int } }, count] });
        type = arr;
        size *= count;
      } else if (count === 0) {
        const st = out.length;
        out.push({ kind: K.STRUCT, words: [{ name: "x" }, btfInfo(K.STRUCT, 1), size, { name: "f" }, { ref: { back: st - 1 - type } }, 0] });
        type = st;
      }
      members.push([what === "bpf_list_node" || what === "bpf_rb_node" ? "nd" : `f${members.length}`, type, size, align, off]);
    }
    const self = out.length;
    // With a bitfield, `int a:3, b:5;` first: btf_find_struct_field refuses a member off a byte.
    const head: BtfWord[] = bitfield ? [{ name: "a" }, { ref: { back: self - 1 - int } }, (3 << 24) >>> 0, { name: "b" }, { ref: { back: self - 1 - int } }, ((5 << 24) | 3) >>> 0]
      : [{ name: "a" }, { ref: { back: self - 1 - int } }, 0];
    const words: BtfWord[] = [{ name: "pair" }, btfInfo(K.STRUCT, members.length + head.length / 3, bitfield), 0, ...head];
    let at = 4;
    for (const [mname, type, size, align, off] of members) {
      at = Math.ceil(at / align) * align + off;
      words.push({ name: mname }, { ref: { back: self - 1 - type } }, 8 * at);
      at += size;
    }
    words[2] = at;
    out.push({ kind: K.STRUCT, words });
    if (tagged >= 0) out.push({ kind: K.DECL_TAG, words: [{ name: tag }, btfInfo(K.DECL_TAG), { ref: { back: 0 } }, tagged % (members.length + head.length / 3)] });
    return out;
  });

  /**
   * A graph root and its node (btf_parse_graph_root, btf_check_and_fixup_fields): struct elem
   * { int a; struct bpf_list_node nd; … } (or bpf_rb_node; maybe the other node too, maybe a
   * bpf_refcount) and struct pair { a lock; struct bpf_list_head h; } (or bpf_rb_root) with a
   * `contains:` tag on h. Drawn around each rule: the lock there or not, the node 8-aligned or 4
   * bytes off, two kinds of node with or without a refcount, a root whose value is its own struct
   * (a node that owns a root: ELOOP), a tag naming no struct, no node, or a member not the node.
   */
  const graph = fc.tuple(fc.constantFrom("list", "rb"), fc.oneof(weighted(6, fc.constant("spin")), weighted(1, fc.constantFrom("res", "none"))),
    fc.oneof(weighted(6, fc.constant(8)), weighted(1, fc.constant(4))), fc.oneof(weighted(3, fc.constant(false)), weighted(1, fc.constant(true))), fc.boolean(),
    fc.oneof(weighted(8, fc.constant("elem:nd")), weighted(2, fc.constantFrom("pair:nd", "nope:nd", "elem:a", "elem", "elem:"))))
    .map(([root, lock, nodeAt, twoNodes, refcount, contains]): BtfTypeDraw[] => {
      const out: BtfTypeDraw[] = [];
      const add = (t: BtfTypeDraw) => out.push(t) - 1;
      const special = (name: string) => add({ kind: K.STRUCT, words: [{ name }, btfInfo(K.STRUCT), SPECIAL_SIZE[name]!] });
      /** A struct of [name, local type index, byte offset, size] members, its size past the last, 8-aligned. */
      const struct = (name: string, ms: [string, number, number, number][]) => {
        const self = out.length;
        const size = Math.ceil(Math.max(...ms.map(([, , at, sz]) => at + sz)) / 8) * 8;
        return add({ kind: K.STRUCT, words: [{ name }, btfInfo(K.STRUCT, ms.length), size, ...ms.flatMap(([n, t, at]) => [{ name: n }, { ref: { back: self - 1 - t } }, 8 * at])] });
      };
      const int = add({ kind: K.INT, words: [{ name: "int" }, btfInfo(K.INT), 4, 32] });
      const [nodeName, otherName] = root === "list" ? ["bpf_list_node", "bpf_rb_node"] : ["bpf_rb_node", "bpf_list_node"];
      const node = special(nodeName);
      const elem: [string, number, number, number][] = [["a", int, 0, 4], ["nd", node, nodeAt, SPECIAL_SIZE[nodeName]!]];
      let at = Math.ceil((nodeAt + SPECIAL_SIZE[nodeName]!) / 8) * 8;
      if (twoNodes) {
        elem.push(["o", special(otherName), at, SPECIAL_SIZE[otherName]!]);
        at += SPECIAL_SIZE[otherName]!;
      }
      if (refcount) elem.push(["r", special("bpf_refcount"), at, 4]);
      struct("elem", elem);
      const pair: [string, number, number, number][] = [];
      if (lock !== "none") pair.push(["l", special(lock === "spin" ? "bpf_spin_lock" : "bpf_res_spin_lock"), 0, 4]);
      const h = pair.length;
      pair.push(["h", special(root === "list" ? "bpf_list_head" : "bpf_rb_root"), 8, 16]);
      if (contains.startsWith("pair:")) pair.push(["nd", node, 24, SPECIAL_SIZE[nodeName]!]);
      struct("pair", pair);
      add({ kind: K.DECL_TAG, words: [{ name: `contains:${contains}` }, btfInfo(K.DECL_TAG), { ref: { back: 0 } }, h] });
      return out;
    });

  /**
   * 28 to 36 modifiers, structs, arrays or pointers in a row, each on the one before or the next:
   * past MAX_RESOLVE_DEPTH (32) or just under. A forward chain may instead close into a ring (a
   * loop found at that depth), or follow a FUNC_PROTO that returns its middle, which resolves the
   * chain's second half first: the whole then resolves, and only btf_check_type_tags' walk of at
   * most 32 modifiers is left to refuse it.
   */
  const chain = fc.tuple(fc.integer({ min: 28, max: 36 }), fc.constantFrom("const", "volatile", "typedef", "struct", "array", "ptr", "tags", "tags-after"), fc.boolean(),
    fc.oneof(weighted(2, fc.constant("int" as const)), weighted(1, fc.constantFrom("ring" as const, "proto" as const))))
    .map(([drawnN, how, forward, end]): BtfTypeDraw[] => {
    // A ring is 31 to 33 long (the loop found just under, at, or past the depth), a chain after a
    // FUNC_PROTO 32 to 34 (the type tags' walk takes 32).
    const n = !forward || end === "int" ? drawnN : end === "ring" ? 31 + (drawnN % 3) : 32 + (drawnN % 3);
    // Backward, each on the one before, resolves one at a time; forward, each on the next, the
    // resolution's DFS goes down the whole chain at once.
    const int: BtfTypeDraw = { kind: K.INT, words: [{ name: "int" }, btfInfo(K.INT), 4, 32] };
    const proto: BtfTypeDraw = { kind: K.FUNC_PROTO, words: [0, btfInfo(K.FUNC_PROTO), { ref: { fwd: n >> 1 } }] };
    const out: BtfTypeDraw[] = forward ? (end === "proto" ? [proto] : []) : [int];
    for (let i = 0; i < n; i++) {
      const on = { ref: !forward ? { back: 0 } : end === "ring" && i === n - 1 ? { back: n - 1 } : { fwd: 0 } };
      if (how === "tags" || how === "tags-after") {
        // Followed from its head: type tags then modifiers, or (refused) modifiers then tags.
        const tag = (forward ? i < n >> 1 : i >= n >> 1) !== (how === "tags-after");
        out.push(tag ? { kind: K.TYPE_TAG, words: [{ name: "user" }, btfInfo(K.TYPE_TAG), on] } : { kind: K.CONST, words: [0, btfInfo(K.CONST), on] });
        continue;
      }
      if (how === "struct") out.push({ kind: K.STRUCT, words: [{ name: "elem" }, btfInfo(K.STRUCT, 1), 4, { name: "a" }, on, 0] });
      else if (how === "array") out.push({ kind: K.ARRAY, words: [0, btfInfo(K.ARRAY), 0, on, { ref: { id: 1 } }, 1] });
      else if (how === "typedef") out.push({ kind: K.TYPEDEF, words: [{ name: "u32" }, btfInfo(K.TYPEDEF), on] });
      else {
        const kind = how === "ptr" && i % 2 === 0 ? K.PTR : how === "volatile" && i % 2 === 1 ? K.VOLATILE : K.CONST;
        out.push({ kind, words: [0, btfInfo(kind), on] });
      }
    }
    return forward ? [...out, int] : out;
  });

  /**
   * Types that name each other, forward and back: a linked struct (a pointer to itself), two
   * structs through a pointer, and the loops resolution refuses (EEXIST): typedefs, arrays and
   * structs that hold themselves, modifiers in a ring.
   */
  const cycle = fc.constantFrom("list", "pair", "typedefs", "array", "struct", "modifiers", "ptr-typedef").map((how): BtfTypeDraw[] => {
    const int: BtfTypeDraw = { kind: K.INT, words: [{ name: "int" }, btfInfo(K.INT), 4, 32] };
    const fwd = (n: number): BtfWord => ({ ref: { fwd: n } });
    const back = (n: number): BtfWord => ({ ref: { back: n } });
    switch (how) {
      case "list": // struct elem { int a; struct elem *next; }
        return [int, { kind: K.STRUCT, words: [{ name: "elem" }, btfInfo(K.STRUCT, 2), 16, { name: "a" }, back(0), 0, { name: "b" }, fwd(0), 64] },
          { kind: K.PTR, words: [0, btfInfo(K.PTR), back(0)] }];
      case "pair": // struct pair { struct elem *p; } struct elem { struct pair q; int a; }
        return [int, { kind: K.STRUCT, words: [{ name: "pair" }, btfInfo(K.STRUCT, 1), 8, { name: "a" }, fwd(1), 0] },
          { kind: K.STRUCT, words: [{ name: "elem" }, btfInfo(K.STRUCT, 2), 12, { name: "q" }, back(0), 0, { name: "b" }, back(1), 64] },
          { kind: K.PTR, words: [0, btfInfo(K.PTR), back(0)] }];
      case "typedefs":
        return [{ kind: K.TYPEDEF, words: [{ name: "a" }, btfInfo(K.TYPEDEF), fwd(0)] }, { kind: K.TYPEDEF, words: [{ name: "b" }, btfInfo(K.TYPEDEF), back(0)] }];
      case "array":
        return [int, { kind: K.ARRAY, words: [0, btfInfo(K.ARRAY), 0, back(-1), back(0), 2] }];
      case "struct":
        return [{ kind: K.STRUCT, words: [{ name: "elem" }, btfInfo(K.STRUCT, 1), 4, { name: "a" }, back(-1), 0] }];
      case "modifiers":
        return [{ kind: K.CONST, words: [0, btfInfo(K.CONST), fwd(1)] }, { kind: K.VOLATILE, words: [0, btfInfo(K.VOLATILE), back(0)] },
          { kind: K.RESTRICT, words: [0, btfInfo(K.RESTRICT), back(0)] }];
      default: // typedef t -> struct { t *p; }: a loop through a pointer, which resolves
        return [{ kind: K.TYPEDEF, words: [{ name: "a" }, btfInfo(K.TYPEDEF), fwd(0)] },
          { kind: K.STRUCT, words: [0, btfInfo(K.STRUCT, 1), 8, { name: "p" }, fwd(0), 0] }, { kind: K.PTR, words: [0, btfInfo(K.PTR), back(1)] }];
    }
  });

  /** A kind number no kernel knows (0, 20, 31), with a few words. */
  const unknownKind = fc.constantFrom(0, 20, 31).map((kind): BtfTypeDraw[] => [{ kind, words: [0, btfInfo(kind), 4] }]);

  return fc.oneof(
    weighted(8, one(K.INT, int)),
    weighted(6, refKind),
    weighted(3, one(K.ARRAY, array)),
    weighted(6, composite),
    weighted(2, enums),
    weighted(1, fwd),
    weighted(1, float),
    weighted(3, func),
    weighted(2, variable),
    weighted(2, datasec),
    weighted(2, declTag),
    weighted(wild ? 1 : 0, lonelyFunc),
    weighted(2, special),
    weighted(3, value),
    weighted(1, chain),
    weighted(1, graph),
    weighted(1, cycle),
    weighted(wild ? 1 : 0, unknownKind),
  );
}

const headerFieldArb: fc.Arbitrary<{ field: HeaderField; value: number }> = fc.oneof(
  fc.constantFrom(0xeb9e, 0x9feb, 0).map((value) => ({ field: "magic" as const, value })),
  fc.constantFrom(0, 2).map((value) => ({ field: "version" as const, value })),
  fc.constantFrom(1, 0x80).map((value) => ({ field: "flags" as const, value })),
  fc.constantFrom(0, 8, 23, 25, 0xffffffff).map((value) => ({ field: "hdr_len" as const, value })),
  fc.tuple(fc.constantFrom<HeaderField>("type_off", "type_len", "str_off", "str_len"), fc.constantFrom(-4, -1, 1, 4, 0x1000000, -0x1000)).map(([field, value]) => ({ field, value })),
);

const faultArb: fc.Arbitrary<BtfFault> = fc.oneof(
  weighted(8, fc.record({ f: fc.constant("word" as const), at: fc.nat(400), how: fc.constantFrom("zero" as const, "ones" as const, "inc" as const, "dec" as const, "bit" as const), bit: fc.nat(31) })),
  weighted(2, fc.record({ f: fc.constant("name-off" as const), type: fc.nat(30), where: fc.constantFrom("str-len" as const, "last" as const, "huge" as const, "mid" as const) })),
  weighted(3, fc.record({ f: fc.constant("vlen" as const), type: fc.nat(30), delta: fc.constantFrom(1 as const, -1 as const) })),
  weighted(1, headerFieldArb.map((h) => ({ f: "header" as const, ...h }))),
  weighted(1, fc.record({ f: fc.constant("hdr-tail" as const), extra: fc.constantFrom(4, 8, 1), nonZero: fc.boolean() })),
  weighted(1, fc.record({ f: fc.constant("strings" as const), how: fc.constantFrom("no-final-nul" as const, "first-not-nul" as const, "empty" as const, "append" as const, "first" as const) })),
  weighted(2, fc.record({ f: fc.constant("byte" as const), at: fc.nat(600), xor: fc.integer({ min: 1, max: 255 }) })),
  weighted(1, fc.record({ f: fc.constant("cut" as const), keep: fc.nat(600) })),
);

const FIRST_INT: BtfTypeDraw = { kind: K.INT, words: [{ name: "int" }, btfInfo(K.INT), 4, (1 << 24) | 32] };

/** Random BTF graphs: up to `maxGroups` groups of types (a group is one type, a FUNC_PROTO and its FUNC, a chain, …), then faults. */
export function btfGraphArb(maxGroups = 10): fc.Arbitrary<BtfGraph> {
  return fc.record({
    // Three graphs in four drawn to load (at least one type), the rest wild.
    types: fc.oneof(
      // A clean graph starts with an int, so that what looks for one earlier finds it.
      weighted(3, fc.array(draws(false), { maxLength: maxGroups }).map((gs) => [FIRST_INT, ...gs.flat()])),
      weighted(1, fc.array(draws(true), { maxLength: maxGroups }).map((gs) => gs.flat())),
    ),
    // Half the blobs as drawn, the rest with one to three faults.
    faults: fc.oneof(weighted(5, fc.constant([])), weighted(4, fc.array(faultArb, { minLength: 1, maxLength: 1 })), weighted(1, fc.array(faultArb, { minLength: 2, maxLength: 3 }))),
  });
}

const CATEGORY: Record<BtfCategory, readonly number[]> = {
  any: Object.values(K),
  int: [K.INT],
  sized: [K.INT, K.INT, K.PTR, K.STRUCT, K.UNION, K.ENUM, K.ENUM64, K.ARRAY, K.TYPEDEF, K.FLOAT],
  proto: [K.FUNC_PROTO],
  var: [K.VAR],
  taggable: [K.STRUCT, K.UNION, K.VAR, K.FUNC, K.TYPEDEF],
};

/** Type ids as the encoder resolves them for the type at `self` (1-based) of `kinds.length`. */
function resolveRef(r: BtfRef, self: number, kinds: readonly number[]): number {
  const count = kinds.length;
  if ("back" in r) return Math.max(0, self - 1 - r.back);
  if ("fwd" in r) return self + 1 + r.fwd;
  if ("last" in r) {
    const want = CATEGORY[r.last];
    const found: number[] = [];
    for (let id = self - 1; id >= 1; id--) if (want.includes(kinds[id - 1]!)) found.push(id);
    return found.length === 0 ? 0 : found[r.skip % found.length]!;
  }
  if ("id" in r) return r.id;
  switch (r.edge) {
    case "void": return 0;
    case "end": return count + 1;
    case "max": return 0xffffe;
    case "past-max": return 0xfffff;
    case "u32": return 0xffffffff;
  }
}

/** The size a type has as far as the encoder can tell (for "auto" sizes), or undefined. */
function sizeOf(types: readonly number[][], id: number, depth = 0): number | undefined {
  const t = types[id - 1];
  if (t === undefined || depth > 40) return undefined;
  const kind = (t[1]! >>> 24) & 0x1f;
  switch (kind) {
    case K.INT: case K.ENUM: case K.ENUM64: case K.STRUCT: case K.UNION: case K.FLOAT: case K.DATASEC: return t[2];
    case K.PTR: return 8;
    case K.TYPEDEF: case K.VOLATILE: case K.CONST: case K.RESTRICT: case K.TYPE_TAG: case K.VAR: return sizeOf(types, t[2]!, depth + 1);
    case K.ARRAY: {
      const e = sizeOf(types, t[3]!, depth + 1);
      return e === undefined ? undefined : Math.min(e * t[5]!, 0xffffffff);
    }
    default: return undefined;
  }
}

/** The blob's parts before the faults: type words and the string section (Latin-1 names). */
function encodeTypes(types: readonly BtfTypeDraw[]): { words: number[][]; strings: number[] } {
  const strings: number[] = [0];
  const offsets = new Map<string, number>([["", 0]]);
  const nameOff = (s: string) => {
    let off = offsets.get(s);
    if (off === undefined) {
      off = strings.length;
      offsets.set(s, off);
      for (let i = 0; i < s.length; i++) strings.push(s.charCodeAt(i) & 0xff);
      strings.push(0);
    }
    return off;
  };
  const kinds = types.map((t) => t.kind);
  const out: number[][] = [];
  types.forEach((t, i) => {
    const self = i + 1;
    // Auto sizes last: they need the sizes of the types they name, which may come later.
    out.push(t.words.map((w) => (typeof w === "number" ? w >>> 0 : "ref" in w ? resolveRef(w.ref, self, kinds) : "auto" in w ? 0 : nameOff(w.name))));
  });
  types.forEach((t, i) => {
    const words = out[i]!;
    let secOff = 0;
    t.words.forEach((w, j) => {
      if (typeof w === "number" || !("auto" in w)) return;
      if (w.auto === "struct-size") {
        // A struct's size: past its last member (bits at the member's offset word, plus its type's size).
        const vlen = words[1]! & 0xffff;
        const flag = (words[1]! >>> 31) !== 0;
        let end = 0;
        for (let m = 0; m < vlen; m++) {
          const off = words[3 + 3 * m + 2]!;
          const bits = flag ? off & 0xffffff : off;
          const sz = sizeOf(out, words[3 + 3 * m + 1]!) ?? 4;
          end = Math.max(end, Math.ceil(bits / 8) + sz);
        }
        words[j] = Math.min(end, 0xffffffff) >>> 0;
      } else if (w.auto === "var-size") {
        words[j] = (sizeOf(out, words[j - 2]!) ?? 4) >>> 0;
      } else if (w.auto === "var-off") {
        words[j] = secOff;
        secOff += sizeOf(out, words[j - 1]!) ?? 4;
      }
    });
    t.words.forEach((w, j) => {
      if (typeof w !== "number" && "auto" in w && w.auto === "sec-size") {
        let end = 0;
        for (let v = 0; v < (words[1]! & 0xffff); v++) end = Math.max(end, words[3 + 3 * v + 1]! + words[3 + 3 * v + 2]!);
        words[j] = end >>> 0;
      }
    });
  });
  return { words: out, strings };
}

/** The raw blob of a graph, faults applied. */
export function encodeBtfGraph(g: BtfGraph): Uint8Array {
  const { words, strings: strList } = encodeTypes(g.types);
  let strings = Uint8Array.from(strList);
  let flat = words.flat();
  let hdrLen = BTF_HDR_LEN;
  let tail: Uint8Array = new Uint8Array(0);
  let stringsFirst = false;
  const header: Partial<Record<HeaderField, number>> = {};
  const typeStart = (type: number) => {
    let at = 0;
    for (let i = 0; i < type && i < words.length; i++) at += words[i]!.length;
    return at;
  };
  const post: BtfFault[] = [];
  for (const f of g.faults) {
    switch (f.f) {
      case "word": {
        if (flat.length === 0) break;
        const at = f.at % flat.length;
        const w = flat[at]!;
        flat = [...flat];
        flat[at] = (f.how === "zero" ? 0 : f.how === "ones" ? 0xffffffff : f.how === "inc" ? w + 1 : f.how === "dec" ? w - 1 : w ^ (1 << f.bit)) >>> 0;
        break;
      }
      case "name-off": {
        if (words.length === 0) break;
        const at = typeStart(f.type % words.length);
        flat = [...flat];
        flat[at] = f.where === "str-len" ? strings.length : f.where === "last" ? strings.length - 1 : f.where === "huge" ? 0x7fffffff : Math.max(0, strings.length >> 1);
        break;
      }
      case "vlen": {
        if (words.length === 0) break;
        const at = typeStart(f.type % words.length) + 1;
        flat = [...flat];
        const info = flat[at]!;
        flat[at] = ((info & 0xffff0000) | ((info + f.delta) & 0xffff)) >>> 0;
        break;
      }
      case "header": header[f.field] = f.value; break;
      case "hdr-tail":
        hdrLen = BTF_HDR_LEN + f.extra;
        tail = new Uint8Array(f.extra).fill(f.nonZero ? 1 : 0);
        break;
      case "strings":
        if (f.how === "no-final-nul") strings = Uint8Array.from([...strings, 0x61]);
        else if (f.how === "first-not-nul") strings = Uint8Array.from([0x61, ...strings.subarray(1)]);
        else if (f.how === "empty") strings = new Uint8Array(0);
        else if (f.how === "append") strings = Uint8Array.from([...strings, 0x62, 0]);
        else stringsFirst = true;
        break;
      default: post.push(f);
    }
  }
  const typeBytes = flat.length * 4;
  // The string section before the types (not at the end; the types maybe unaligned).
  const typeAt = stringsFirst ? strings.length : 0, strAt = stringsFirst ? 0 : typeBytes;
  const out = new Uint8Array(hdrLen + typeBytes + strings.length);
  const dv = new DataView(out.buffer);
  const rel = (field: HeaderField, base: number) => (header[field] === undefined ? base : (base + header[field]!) >>> 0);
  dv.setUint16(0, header.magic ?? BTF_MAGIC, true);
  out[2] = header.version ?? 1;
  out[3] = header.flags ?? 0;
  dv.setUint32(4, header.hdr_len ?? hdrLen, true);
  dv.setUint32(8, rel("type_off", typeAt), true);
  dv.setUint32(12, rel("type_len", typeBytes), true);
  dv.setUint32(16, rel("str_off", strAt), true);
  dv.setUint32(20, rel("str_len", strings.length), true);
  out.set(tail, BTF_HDR_LEN);
  flat.forEach((w, i) => dv.setUint32(hdrLen + typeAt + 4 * i, w >>> 0, true));
  out.set(strings, hdrLen + strAt);
  let blob = out;
  for (const f of post) {
    if (f.f === "byte" && blob.length > 0) {
      blob = blob.slice();
      blob[f.at % blob.length] ^= f.xor;
    } else if (f.f === "cut") blob = blob.slice(0, f.keep % (blob.length + 1));
  }
  return blob;
}

/** The size of type `id` of a graph (before its faults) as far as the encoder can tell: a map's key or value size for it. */
export function btfGraphTypeSize(g: BtfGraph, id: number): number | undefined {
  return sizeOf(encodeTypes(g.types).words, id);
}
/** A graph as readable lines: each type's id, kind and words (names quoted), then the faults. */
export function formatBtfGraph(g: BtfGraph): string {
  const kinds = g.types.map((t) => t.kind);
  const lines = g.types.map((t, i) => {
    const words = t.words.map((w) => (typeof w === "number" ? `${w >>> 0}` : "ref" in w ? `->${resolveRef(w.ref, i + 1, kinds)}`
      : "auto" in w ? `(${w.auto})` : JSON.stringify(w.name)));
    return `[${i + 1}] ${KIND_NAMES[t.kind] ?? `kind ${t.kind}`} ${words.join(" ")}`;
  });
  for (const f of g.faults) lines.push(`fault ${JSON.stringify(f)}`);
  return lines.join("\n");
}
