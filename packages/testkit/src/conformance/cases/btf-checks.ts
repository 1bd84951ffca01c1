// BPF_BTF_LOAD's checker (kernel/bpf/btf.c btf_parse) and MAP_CREATE with BTF, check by check:
// each blob below breaks one rule, and the errno is the one 6.18 answers (found with
// docs/probes/btf_load.py and btf_maps.py). The blobs are raw words, written here on purpose: no
// builder would make most of them, and the cases must not share a builder's bugs.
import { Errno, type BtfLoadAttr, type Driver } from "@bpfkit/core";
import { CaseSkipped, expectEqual, expectResult, expectThrows, fail, show, type Expect } from "../assert.js";
import type { CaseContext } from "../context.js";
import { readU32, u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { btfInfo, BtfKind } from "../btf-blob.js";
import { ANY, ARRAY, Checks, EXIST, F, F_LOCK, HASH, NOEXIST, QUEUE, openUntilGone } from "./common.js";

type BtfDriver = Driver & Required<Pick<Driver, "btfLoad" | "btfGetFdById" | "btfGetNextId" | "btfGetInfo">>;

/** The driver's BTF methods, or a skip: they are optional (all four or none). */
function btfOf(ctx: CaseContext): BtfDriver {
  const d = ctx.driver;
  if (d.btfLoad === undefined || d.btfGetFdById === undefined || d.btfGetNextId === undefined || d.btfGetInfo === undefined) {
    throw new CaseSkipped(`${d.kind} has no BTF methods (optional: btfLoad, btfGetFdById, btfGetNextId, btfGetInfo)`);
  }
  return d as BtfDriver;
}

// ------------------------------------------------------------------ raw BTF

const K = BtfKind;
const info = btfInfo;

/** A string section: "\0" then these names, and each name's offset. */
function stringSection(names: readonly string[]): { bytes: Uint8Array; off: Record<string, number> } {
  let text = "\0";
  const off: Record<string, number> = {};
  for (const n of names) {
    off[n] = text.length;
    text += `${n}\0`;
  }
  return { bytes: new TextEncoder().encode(text), off };
}

/** The string section of the cases: "\0" then these names; `S.name` is a name's offset. */
const NAMES = ["int", "long", "bpf_spin_lock", "val", "lock", "x", "k", ".data", "v", "bpf_timer", "t", "tag", "kptr", "f", "a", "p", "e", "E1"];
const STRINGS = stringSection(NAMES);
const S = STRINGS.off;

interface Hdr {
  magic?: number; version?: number; flags?: number; hdrLen?: number; typeOff?: number; typeLen?: number; strOff?: number; strLen?: number;
  /** Bytes between the 24-byte header and the sections (with hdrLen past 24). */
  tail?: Uint8Array;
}

/**
 * A blob: the header (each field overridable), the type words, the strings — the sections always
 * where a valid header would put them, whatever the header says (btf-blob.ts's `btfBlob` puts
 * them where the header says instead): a header that lies about them is what these cases test.
 */
export function btfBlob(words: readonly number[], strings: Uint8Array = STRINGS.bytes, h: Hdr = {}): Uint8Array {
  const types = new Uint8Array(words.length * 4);
  const tv = new DataView(types.buffer);
  words.forEach((w, i) => tv.setUint32(i * 4, w >>> 0, true));
  const tail = h.tail ?? new Uint8Array(0);
  const out = new Uint8Array(24 + tail.length + types.length + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, h.magic ?? 0xeb9f, true);
  out[2] = h.version ?? 1;
  out[3] = h.flags ?? 0;
  dv.setUint32(4, h.hdrLen ?? 24 + tail.length, true);
  dv.setUint32(8, h.typeOff ?? 0, true);
  dv.setUint32(12, h.typeLen ?? types.length, true);
  dv.setUint32(16, h.strOff ?? types.length, true);
  dv.setUint32(20, h.strLen ?? strings.length, true);
  out.set(tail, 24);
  out.set(types, 24 + tail.length);
  out.set(strings, 24 + tail.length + types.length);
  return out;
}

const INT = [S.int!, info(K.INT), 4, (1 << 24) | 32];
const LONG = (name = S.long!) => [name, info(K.INT), 8, 64];

/** Valid BTF of many kinds: the base of the mutation cases. Ids in the comments. */
export const RICH_TYPES: readonly number[] = [
  ...INT, // 1 int
  0, info(K.ARRAY), 0, 1, 1, 4, // 2 int[4]
  S.e!, info(K.ENUM, 1), 4, S.E1!, 7, // 3 enum e { E1 = 7 }
  0, info(K.PTR), 1, // 4 int *
  S.t!, info(K.TYPEDEF), 4, // 5 typedef int *t
  0, info(K.FUNC_PROTO, 2), 1, S.a!, 1, S.p!, 5, // 6 int (int a, t p)
  S.f!, info(K.FUNC), 6, // 7 int f(int a, t p)
  S.v!, info(K.VAR), 2, 1, // 8 int v[4], global
  S[".data"]!, info(K.DATASEC, 1), 16, 8, 0, 16, // 9 .data { v }
  S.tag!, info(K.DECL_TAG), 7, 0xffffffff, // 10 tag on f
  0, info(K.CONST), 4, // 11 const (int *)
  S.k!, info(K.STRUCT, 3), 32, S.a!, 2, 0, S.p!, 5, 128, S.e!, 3, 192, // 12 struct k { int a[4]; t p; enum e e }
  S.x!, info(K.FLOAT), 8, // 13 double x
  S.kptr!, info(K.TYPE_TAG), 12, // 14 kptr-tagged struct k
  S.val!, info(K.UNION, 2), 8, S.a!, 1, 0, S.x!, 13, 0, // 15 union val { int a; double x }
  S.long!, info(K.ENUM64, 1), 8, S.E1!, 1, 2, // 16 enum64 long { E1 = 1 + (2 << 32) }
  S.x!, info(K.FWD, 0, true), 0, // 17 union x (forward)
];

/** A value with a bpf_spin_lock: 1 int, 2 struct bpf_spin_lock, 3 struct val { lock; int x }, … */
const LOCK_TYPES: readonly number[] = [
  ...INT, // 1 int
  S.bpf_spin_lock!, info(K.STRUCT, 1), 4, S.val!, 1, 0, // 2 struct bpf_spin_lock { int val }
  S.val!, info(K.STRUCT, 2), 8, S.lock!, 2, 0, S.x!, 1, 32, // 3 struct val { lock; int x }
  S.k!, info(K.STRUCT, 1), 8, S.x!, 5, 0, // 4 struct k { long x }
  ...LONG(S.x!), // 5 long (unsigned)
  S.val!, info(K.STRUCT, 1), 12, S.x!, 1, 64, // 6 struct val of 12 bytes
  S.val!, info(K.STRUCT, 2), 8, S.x!, 1, 0, S.lock!, 1, 32, // 7 struct val { int x; int lock } (no special field)
  S.v!, info(K.VAR), 1, 1, // 8 int v
  S[".data"]!, info(K.DATASEC, 1), 4, 8, 0, 4, // 9 .data { v }
  0, info(K.ARRAY), 0, 5, 1, 2, // 10 long[2]
  S.bpf_timer!, info(K.STRUCT, 1), 16, S.x!, 10, 0, // 11 struct bpf_timer { long x[2] }
  S.t!, info(K.STRUCT, 2), 24, S.t!, 11, 0, S.x!, 5, 128, // 12 struct t { struct bpf_timer t; long x }
];

/**
 * What the BPF_F_LOCK cases start from: LOCK_TYPES loaded (type 3 is `struct val { lock; int x }`,
 * 7 the same layout without a lock), their checks, and a value of `val`'s layout.
 */
function lockedCase(ctx: CaseContext, title: string) {
  const d = btfOf(ctx);
  const b = ctx.own(d.btfLoad({ btf: btfBlob(LOCK_TYPES) }));
  expectResult(b, "OK", "load");
  const val = (lock: number, x: number) => new Uint8Array([...u32(lock), ...u32(x)]);
  return { d, b, c: new Checks(title), val };
}

type Row = readonly [what: string, blob: Uint8Array, want: Expect];

/** Loads each blob (no log) and checks the errno; a blob that loads is closed. */
function loadTable(ctx: CaseContext, title: string, rows: readonly Row[]): void {
  const d = btfOf(ctx);
  const c = new Checks(title);
  for (const [what, blob, want] of rows) {
    const r = ctx.own(d.btfLoad({ btf: blob }));
    c.result(r, want, what);
  }
  c.done();
}

// ------------------------------------------------------------------ mutations (the property)

/** xorshift32: the mutations are the same on every driver and every run. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/**
 * The mutated blobs of the property case: RICH_TYPES' blob and LOCK_TYPES' with one to three
 * changes each (a bit flipped, a byte set, a header length moved by -4..4, the blob cut short).
 */
export function btfMutations(count = MUTATION_ERRNOS.length, seed = 2026): Uint8Array[] {
  const r = xorshift32(seed);
  const bases = [btfBlob(RICH_TYPES), btfBlob(LOCK_TYPES)];
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    let m = bases[r() % bases.length]!.slice();
    const steps = 1 + (r() % 3);
    for (let s = 0; s < steps && m.length > 0; s++) {
      const k = r() % 6;
      if (k <= 2) m[r() % m.length]! ^= 1 << (r() % 8);
      else if (k === 3) m[r() % m.length] = r() & 0xff;
      else if (k === 4 && m.length >= 24) {
        const at = 4 + 4 * (r() % 5);
        const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
        dv.setUint32(at, (dv.getUint32(at, true) + (r() % 9) - 4) >>> 0, true);
      } else m = m.slice(0, r() % m.length);
    }
    out.push(m);
  }
  return out;
}

/** What 6.18 answered for each of btfMutations() (docs/probes/btf_load.py): 0 loaded, else the errno. */
const MUTATION_ERRNOS: readonly number[] = [
  22, 22, 22, 22, 22, 0, 22, 22, 22, 22, 22, 7, 22, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 524, 7, 22,
  22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 0,
  22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 22, 7, 22, 22, 22, 0, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 7,
  22, 22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 0, 7,
  22, 22, 22, 22, 7, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 22, 22, 22, 22, 0, 22, 0, 22, 22, 22, 22,
  22, 22, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 7, 22, 22, 22, 0, 22, 22, 22, 22, 7, 22,
  22, 22, 22, 22, 22, 22, 7, 22, 0, 22, 22, 0, 0, 22, 22, 0, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 0,
  22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 22, 7, 22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 7, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 7, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  0, 22, 22, 7, 0, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 7, 22, 22, 22, 22, 22, 22, 22, 22, 22,
  22, 22, 22, 22, 22, 22, 7, 0, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 22, 22, 7, 22, 22, 22, 22, 0,
  22, 22, 22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 22, 22, 22, 22, 22, 22, 0, 22, 0, 22, 22, 22, 22, 22, 22, 22,
  22, 22, 22, 22, 22, 22, 22, 22, 0, 22, 22, 7, 22, 22, 22, 22, 22, 22, 0, 0, 0, 22, 22, 22, 22, 22, 22, 0, 22,
  22, 22, 22, 22,
];

/**
 * Names of §btf-check.14, a string section of its own (`NAMES` must stay as it is: the mutated
 * blobs of §btf-check.9 are built on it): the special structs of a graph root, tags, and names at
 * KSYM_NAME_LEN.
 */
const EDGE = stringSection(["int", "bpf_spin_lock", "bpf_list_head", "bpf_list_node", "bpf_timer", "elem", "pair", "nd", "h", "l", "a", "b", "p",
  "kptr", "rcu", "contains:elem:nd", "contains:elem", "contains:pair:nd", "x".repeat(512), "y".repeat(513)]);
const E = EDGE.off;
const edgeBlob = (words: readonly number[]) => btfBlob(words, EDGE.bytes);
/** 1 int, then `bpf_spin_lock` (2), `bpf_list_head` (3), `bpf_list_node` (4): structs known by name, at their sizes. */
const GRAPH_BASE = [E.int!, info(K.INT), 4, 32, E.bpf_spin_lock!, info(K.STRUCT), 4, E.bpf_list_head!, info(K.STRUCT), 16, E.bpf_list_node!, info(K.STRUCT), 24];

/**
 * A list root and its node: 5 struct pair { [struct bpf_spin_lock l;] struct bpf_list_head h at
 * 8; [struct bpf_list_node nd at 24] }, 6 struct elem { int a; struct bpf_list_node nd at
 * `nodeAt` }, 7 the `contains:` tag on h. The root's struct comes first: btf_parse_struct_metas
 * goes by id, so the root's checks of the node come before the node struct's own search.
 */
function graphBlob(o: { nodeAt?: number; lock?: boolean; tag?: string; ownNode?: boolean } = {}): Uint8Array {
  const lock = o.lock ?? true;
  const pair = [...(lock ? [E.l!, 2, 0] : []), E.h!, 3, 64, ...(o.ownNode === true ? [E.nd!, 4, 192] : [])];
  return edgeBlob([...GRAPH_BASE,
    E.pair!, info(K.STRUCT, pair.length / 3), o.ownNode === true ? 48 : 24, ...pair,
    E.elem!, info(K.STRUCT, 2), 32, E.a!, 1, 0, E.nd!, 4, 8 * (o.nodeAt ?? 8),
    E[o.tag ?? "contains:elem:nd"]!, info(K.DECL_TAG), 5, lock ? 1 : 0]);
}

/** `n` CONSTs in a row from id `from`, each on the next; the last on `last`. */
const constRun = (from: number, n: number, last: number) => Array.from({ length: n }, (_, i) => [0, info(K.CONST), i === n - 1 ? last : from + i + 1]).flat();

// ------------------------------------------------------------------ the cases

export const btfCheckCases: ConformanceCase[] = [
  {
    name: "§btf-check.1 btf_parse_hdr and the sections: magic, version, flags, a longer header's tail, no data, the sections tiling the rest",
    group: "btf",
    run(ctx) {
      const good = btfBlob(INT);
      const tail4 = new Uint8Array(4);
      loadTable(ctx, "header", [
        ["a valid int", good, "OK"],
        ["no bytes", new Uint8Array(0), "EINVAL"],
        ["7 bytes: no hdr_len", good.slice(0, 7), "EINVAL"],
        ["hdr_len past the data", btfBlob(INT, undefined, { hdrLen: 200 }), "EINVAL"],
        ["bad magic", btfBlob(INT, undefined, { magic: 0x9feb }), "EINVAL"],
        ["version 2", btfBlob(INT, undefined, { version: 2 }), "ENOTSUPP"],
        ["flags 1", btfBlob(INT, undefined, { flags: 1 }), "ENOTSUPP"],
        ["hdr_len 28, zero tail", btfBlob(INT, undefined, { tail: tail4 }), "OK"],
        ["hdr_len 28, non-zero tail", btfBlob(INT, undefined, { tail: new Uint8Array([0, 0, 1, 0]) }), "E2BIG"],
        ["a header and nothing else", good.slice(0, 24), "EINVAL"],
        ["hdr_len 16: the lengths read as 0", btfBlob(INT, undefined, { hdrLen: 16 }), "EINVAL"],
        ["type section past the data", btfBlob(INT, undefined, { typeLen: 1000 }), "EINVAL"],
        ["a gap before the types", btfBlob(INT, undefined, { typeOff: 4, typeLen: 12 }), "EINVAL"],
        ["overlapping sections", btfBlob(INT, undefined, { strOff: 8 }), "EINVAL"],
        ["str_off past the data", btfBlob(INT, undefined, { strOff: 4000 }), "EINVAL"],
        ["bytes after the strings", btfBlob(INT, undefined, { strLen: STRINGS.bytes.length - 1 }), "EINVAL"],
        // Only an empty type section can sit at an unaligned offset with the strings at the end.
        ["unaligned type_off", btfBlob([], new Uint8Array([0, 0x61, 0]), { typeOff: 3, typeLen: 0, strOff: 0 }), "EINVAL"],
        ["no types", btfBlob([], STRINGS.bytes), "EINVAL"],
        ["strings not starting with NUL", btfBlob(INT, new Uint8Array([0x61, ...STRINGS.bytes])), "EINVAL"],
        ["strings not ending with NUL", btfBlob(INT, new Uint8Array([...STRINGS.bytes, 0x61])), "EINVAL"],
      ]);
    },
  },
  {
    name: "§btf-check.2 btf_check_meta: each kind's words, names, vlen, kind_flag and sizes (ENOTSUPP for an unknown int encoding)",
    group: "btf",
    run(ctx) {
      loadTable(ctx, "check_meta", [
        ["all kinds", btfBlob(RICH_TYPES), "OK"],
        ["a type cut short", btfBlob(INT.slice(0, 2)), "EINVAL"],
        ["info bits outside the mask", btfBlob([S.int!, info(K.INT) | 0x10000000, 4, 32]), "EINVAL"],
        ["kind 0", btfBlob([0, 0, 4, 32]), "EINVAL"],
        ["kind 20", btfBlob([0, info(20), 4, 32]), "EINVAL"],
        ["name offset past the strings", btfBlob([999, info(K.INT), 4, 32]), "EINVAL"],
        ["int: no int word", btfBlob([S.int!, info(K.INT), 4]), "EINVAL"],
        ["int: vlen 1", btfBlob([S.int!, info(K.INT, 1), 4, 32]), "EINVAL"],
        ["int: kind_flag", btfBlob([S.int!, info(K.INT, 0, true), 4, 32]), "EINVAL"],
        ["int: bits 28-31 of the int word", btfBlob([S.int!, info(K.INT), 4, 0x1000_0020]), "EINVAL"],
        ["int: 129 bits", btfBlob([S.int!, info(K.INT), 32, 129]), "EINVAL"],
        ["int: 33 bits in 4 bytes", btfBlob([S.int!, info(K.INT), 4, 33]), "EINVAL"],
        ["int: encoding 3", btfBlob([S.int!, info(K.INT), 4, (3 << 24) | 32]), "ENOTSUPP"],
        ["int: bool", btfBlob([S.int!, info(K.INT), 1, (4 << 24) | 8]), "OK"],
        ["int: no name", btfBlob([0, info(K.INT), 4, 32]), "OK"],
        ["ptr: with a name", btfBlob([...INT, S.p!, info(K.PTR), 1]), "EINVAL"],
        ["ptr: type id past BTF_MAX_TYPE", btfBlob([...INT, 0, info(K.PTR), 0x100000]), "EINVAL"],
        ["ptr: kind_flag", btfBlob([...INT, 0, info(K.PTR, 0, true), 1]), "EINVAL"],
        ["typedef: no name", btfBlob([...INT, 0, info(K.TYPEDEF), 1]), "EINVAL"],
        ["typedef: name starting with a digit", btfBlob([0, info(K.INT), 4, 32, 1, info(K.TYPEDEF), 1], new TextEncoder().encode("\x001int\0")), "EINVAL"],
        ["typedef: name starting with a dot", btfBlob([0, info(K.INT), 4, 32, 1, info(K.TYPEDEF), 1], new TextEncoder().encode("\0.int\0")), "OK"],
        ["type_tag: kind_flag allowed", btfBlob([...INT, S.tag!, info(K.TYPE_TAG, 0, true), 1]), "OK"],
        ["type_tag: no name", btfBlob([...INT, 0, info(K.TYPE_TAG), 1]), "EINVAL"],
        ["array: a name", btfBlob([...INT, S.a!, info(K.ARRAY), 0, 1, 1, 4]), "EINVAL"],
        ["array: size not 0", btfBlob([...INT, 0, info(K.ARRAY), 4, 1, 1, 4]), "EINVAL"],
        ["array: elem 0", btfBlob([...INT, 0, info(K.ARRAY), 0, 0, 1, 4]), "EINVAL"],
        ["array: index 0", btfBlob([...INT, 0, info(K.ARRAY), 0, 1, 0, 4]), "EINVAL"],
        ["struct: members cut short", btfBlob([...INT, S.k!, info(K.STRUCT, 2), 8, S.a!, 1, 0]), "EINVAL"],
        ["struct: member type 0", btfBlob([...INT, S.k!, info(K.STRUCT, 1), 4, S.a!, 0, 0]), "EINVAL"],
        ["struct: members out of order", btfBlob([...INT, S.k!, info(K.STRUCT, 2), 8, S.a!, 1, 32, S.p!, 1, 0]), "EINVAL"],
        ["struct: member offset past its size", btfBlob([...INT, S.k!, info(K.STRUCT, 1), 4, S.a!, 1, 64]), "EINVAL"],
        ["union: a member not at 0", btfBlob([...INT, S.k!, info(K.UNION, 1), 8, S.a!, 1, 32]), "EINVAL"],
        ["struct: member name with a dash", btfBlob([0, info(K.INT), 4, 32, 0, info(K.STRUCT, 1), 4, 1, 1, 0], new TextEncoder().encode("\0a-b\0")), "EINVAL"],
        ["struct: names with a Latin-1 letter", btfBlob([0, info(K.INT), 4, 32, 1, info(K.STRUCT, 1), 4, 1, 1, 0], new Uint8Array([0, 0x61, 0xe9, 0])), "OK"],
        ["enum: size 3", btfBlob([S.e!, info(K.ENUM, 1), 3, S.E1!, 1]), "EINVAL"],
        ["enum: size 0", btfBlob([S.e!, info(K.ENUM, 0), 0]), "EINVAL"],
        ["enum: a value without a name", btfBlob([S.e!, info(K.ENUM, 1), 4, 0, 1]), "EINVAL"],
        ["enum: value name past the strings", btfBlob([S.e!, info(K.ENUM, 1), 4, 999, 1]), "EINVAL"],
        ["enum64: size 16", btfBlob([S.e!, info(K.ENUM64, 1), 16, S.E1!, 1, 0]), "EINVAL"],
        ["fwd: type not 0", btfBlob([S.x!, info(K.FWD), 1]), "EINVAL"],
        ["fwd: no name", btfBlob([0, info(K.FWD), 0]), "EINVAL"],
        ["func: linkage extern (2)", btfBlob([0, info(K.FUNC_PROTO), 0, S.f!, info(K.FUNC, 2), 1]), "EINVAL"],
        ["func: linkage global (1)", btfBlob([0, info(K.FUNC_PROTO), 0, S.f!, info(K.FUNC, 1), 1]), "OK"],
        ["func_proto: a name", btfBlob([S.f!, info(K.FUNC_PROTO), 0]), "EINVAL"],
        ["var: linkage 2", btfBlob([...INT, S.v!, info(K.VAR), 1, 2]), "EINVAL"],
        ["var: type 0", btfBlob([...INT, S.v!, info(K.VAR), 0, 0]), "EINVAL"],
        ["datasec: size 0", btfBlob([...INT, S.v!, info(K.VAR), 1, 1, S[".data"]!, info(K.DATASEC, 1), 0, 2, 0, 4]), "EINVAL"],
        ["datasec: variables overlapping", btfBlob([...INT, S.v!, info(K.VAR), 1, 1, S[".data"]!, info(K.DATASEC, 2), 8, 2, 0, 4, 2, 2, 4]), "EINVAL"],
        ["datasec: variable past the section", btfBlob([...INT, S.v!, info(K.VAR), 1, 1, S[".data"]!, info(K.DATASEC, 1), 4, 2, 2, 4]), "EINVAL"],
        // The end of a variable is u32 arithmetic: past 4 GiB it wraps and passes; the sizes' sum does not wrap.
        ["datasec: a variable whose end wraps past 4 GiB", btfBlob([...INT, S.v!, info(K.VAR), 1, 1, S[".data"]!, info(K.DATASEC, 1), 0xf000_0000, 2, 0xe000_0000, 0x3000_0000]), "OK"],
        ["datasec: sizes summing past the section", btfBlob([...INT, S.v!, info(K.VAR), 1, 1, S.a!, info(K.VAR), 1, 1, S[".data"]!, info(K.DATASEC, 2), 0xf000_0000,
          2, 0xe000_0000, 0xf000_0000, 3, 0xd000_0000, 0x1000_0000]), "EINVAL"],
        ["float: size 3", btfBlob([S.x!, info(K.FLOAT), 3]), "EINVAL"],
        ["float: size 12", btfBlob([S.x!, info(K.FLOAT), 12]), "OK"],
        ["decl_tag: component_idx -2", btfBlob([...INT, S.v!, info(K.VAR), 1, 1, S.tag!, info(K.DECL_TAG), 2, 0xfffffffe]), "EINVAL"],
        ["decl_tag: no value", btfBlob([...INT, S.v!, info(K.VAR), 1, 1, 0, info(K.DECL_TAG), 2, 0xffffffff]), "EINVAL"],
      ]);
    },
  },
  {
    name: "§btf-check.3 resolution: references to nothing, loops (EEXIST), chains deeper than 32 (E2BIG), members against struct sizes, arrays, func protos, decl tags",
    group: "btf",
    run(ctx) {
      const constChain = (n: number) => {
        const w = [...INT];
        for (let i = 0; i < n; i++) w.push(0, info(K.CONST), i + 3);
        w.push(0, info(K.PTR), 1);
        return btfBlob(w);
      };
      loadTable(ctx, "resolve", [
        ["ptr to a type past the end", btfBlob([0, info(K.PTR), 5]), "EINVAL"],
        ["ptr to void", btfBlob([0, info(K.PTR), 0]), "OK"],
        ["const void", btfBlob([0, info(K.CONST), 0]), "OK"],
        ["typedef of a VAR", btfBlob([...INT, S.v!, info(K.VAR), 1, 0, S.t!, info(K.TYPEDEF), 2]), "EINVAL"],
        ["const -> volatile -> const: a loop", btfBlob([0, info(K.CONST), 2, 0, info(K.VOLATILE), 1]), "EEXIST"],
        ["ptr -> const -> ptr: a loop", btfBlob([0, info(K.PTR), 2, 0, info(K.CONST), 1]), "EEXIST"],
        ["struct holding itself", btfBlob([S.k!, info(K.STRUCT, 1), 4, S.a!, 1, 0]), "EEXIST"],
        ["struct holding a pointer to itself", btfBlob([S.k!, info(K.STRUCT, 1), 8, S.p!, 2, 0, 0, info(K.PTR), 1]), "OK"],
        ["a chain of 31 forward consts", constChain(31), "OK"],
        ["a chain of 32 forward consts", constChain(32), "E2BIG"],
        ["member of type FWD", btfBlob([S.x!, info(K.FWD), 0, S.k!, info(K.STRUCT, 1), 4, S.a!, 1, 0]), "EINVAL"],
        ["member of type FUNC_PROTO", btfBlob([0, info(K.FUNC_PROTO), 0, S.k!, info(K.STRUCT, 1), 4, S.a!, 1, 0]), "EINVAL"],
        ["int member past the struct", btfBlob([...INT, S.k!, info(K.STRUCT, 1), 6, S.a!, 1, 24]), "EINVAL"],
        ["int member ending at the struct end", btfBlob([...INT, S.k!, info(K.STRUCT, 1), 6, S.a!, 1, 16]), "OK"],
        ["ptr member past the struct", btfBlob([...INT, 0, info(K.PTR), 1, S.k!, info(K.STRUCT, 1), 4, S.p!, 2, 0]), "EINVAL"],
        ["ptr member not byte aligned", btfBlob([...INT, 0, info(K.PTR), 1, S.k!, info(K.STRUCT, 1), 16, S.p!, 2, 4]), "EINVAL"],
        ["kflag: bitfield wider than the int", btfBlob([...INT, S.k!, info(K.STRUCT, 1, true), 4, S.a!, 1, 33 << 24]), "EINVAL"],
        ["kflag: bitfield of 3 bits", btfBlob([...INT, S.k!, info(K.STRUCT, 1, true), 4, S.a!, 1, (3 << 24) | 5]), "OK"],
        ["kflag: bitfield on a pointer", btfBlob([...INT, 0, info(K.PTR), 1, S.k!, info(K.STRUCT, 1, true), 8, S.p!, 2, 1 << 24]), "EINVAL"],
        ["kflag: enum bitfield over 32 bits", btfBlob([S.e!, info(K.ENUM, 1), 4, S.E1!, 1, S.k!, info(K.STRUCT, 1, true), 8, S.a!, 1, 33 << 24]), "EINVAL"],
        ["float member misaligned", btfBlob([S.x!, info(K.FLOAT), 8, S.k!, info(K.STRUCT, 1), 16, S.a!, 1, 32]), "EINVAL"],
        ["array index not an int", btfBlob([...INT, 0, info(K.PTR), 1, 0, info(K.ARRAY), 0, 1, 2, 4]), "EINVAL"],
        ["array of a 3-bit int", btfBlob([S.int!, info(K.INT), 1, 3, 0, info(K.ARRAY), 0, 1, 1, 4]), "EINVAL"],
        ["array overflowing U32_MAX", btfBlob([...INT, 0, info(K.ARRAY), 0, 1, 1, 0x40000000]), "EINVAL"],
        ["array of 0x7fffffff 2-byte ints: U32_MAX - 1 bytes", btfBlob([S.int!, info(K.INT), 2, 16, 0, info(K.ARRAY), 0, 1, 1, 0x7fffffff]), "OK"],
        ["struct with an array member past it", btfBlob([...INT, 0, info(K.ARRAY), 0, 1, 1, 4, S.k!, info(K.STRUCT, 1), 12, S.a!, 2, 0]), "EINVAL"],
        ["var of a FUNC_PROTO", btfBlob([0, info(K.FUNC_PROTO), 0, S.v!, info(K.VAR), 1, 0]), "EINVAL"],
        ["datasec of a non-VAR", btfBlob([...INT, S[".data"]!, info(K.DATASEC, 1), 4, 1, 0, 4]), "EINVAL"],
        ["datasec variable smaller than its type", btfBlob([...LONG(), S.v!, info(K.VAR), 1, 0, S[".data"]!, info(K.DATASEC, 1), 8, 2, 0, 4]), "EINVAL"],
        ["func of an int", btfBlob([...INT, S.f!, info(K.FUNC), 1]), "EINVAL"],
        ["func with an unnamed argument", btfBlob([...INT, 0, info(K.FUNC_PROTO, 1), 1, 0, 1, S.f!, info(K.FUNC), 2]), "EINVAL"],
        ["func_proto returning a VAR", btfBlob([...INT, S.v!, info(K.VAR), 1, 0, 0, info(K.FUNC_PROTO), 2]), "EINVAL"],
        ["func_proto argument of a FWD", btfBlob([S.x!, info(K.FWD), 0, 0, info(K.FUNC_PROTO, 1), 0, S.a!, 1]), "EINVAL"],
        ["func_proto vararg with a name", btfBlob([...INT, 0, info(K.FUNC_PROTO, 2), 1, S.a!, 1, S.p!, 0]), "EINVAL"],
        ["func_proto vararg", btfBlob([...INT, 0, info(K.FUNC_PROTO, 2), 1, S.a!, 1, 0, 0]), "OK"],
        ["decl_tag on an int", btfBlob([...INT, S.tag!, info(K.DECL_TAG), 1, 0xffffffff]), "EINVAL"],
        ["decl_tag on a var's component", btfBlob([...INT, S.v!, info(K.VAR), 1, 0, S.tag!, info(K.DECL_TAG), 2, 0]), "EINVAL"],
        ["decl_tag on member 1 of a 1-member struct", btfBlob([...INT, S.k!, info(K.STRUCT, 1), 4, S.a!, 1, 0, S.tag!, info(K.DECL_TAG), 2, 1]), "EINVAL"],
        ["decl_tag on member 0", btfBlob([...INT, S.k!, info(K.STRUCT, 1), 4, S.a!, 1, 0, S.tag!, info(K.DECL_TAG), 2, 0]), "OK"],
      ]);
    },
  },
  {
    name: "§btf-check.4 btf_check_type_tags and the struct metas: type tags before other modifiers only; a struct with two bpf_spin_locks is E2BIG, one with a lock it cannot use EFAULT",
    group: "btf",
    run(ctx) {
      const lockStruct = (members: number[], size: number) => [...INT, S.bpf_spin_lock!, info(K.STRUCT, 1), 4, S.val!, 1, 0, S.val!, info(K.STRUCT, members.length / 3), size, ...members];
      loadTable(ctx, "type tags and metas", [
        ["type_tag -> const -> int", btfBlob([...INT, S.tag!, info(K.TYPE_TAG), 3, 0, info(K.CONST), 1]), "OK"],
        ["const -> type_tag -> int", btfBlob([...INT, 0, info(K.CONST), 3, S.tag!, info(K.TYPE_TAG), 1]), "EINVAL"],
        ["a struct with a bpf_spin_lock", btfBlob(lockStruct([S.lock!, 2, 0, S.x!, 1, 32], 8)), "OK"],
        ["a struct with two", btfBlob(lockStruct([S.lock!, 2, 0, S.x!, 1, 32, S.lock!, 2, 64], 12)), "E2BIG"],
        ["a bpf_spin_lock at byte 2", btfBlob(lockStruct([S.x!, 1, 0, S.lock!, 2, 16], 8)), "EFAULT"],
        ["a bpf_spin_lock of 8 bytes", btfBlob([...INT, S.bpf_spin_lock!, info(K.STRUCT, 1), 8, S.val!, 1, 0, S.val!, info(K.STRUCT, 1), 8, S.lock!, 2, 0]), "EFAULT"],
        ["a kptr to a struct in a struct", btfBlob([...INT, S.k!, info(K.STRUCT, 1), 4, S.a!, 1, 0, S.kptr!, info(K.TYPE_TAG), 2, 0, info(K.PTR), 3, S.val!, info(K.STRUCT, 1), 8, S.p!, 4, 0]), "OK"],
        ["a kptr to an int in a struct", btfBlob([...INT, S.kptr!, info(K.TYPE_TAG), 1, 0, info(K.PTR), 2, S.val!, info(K.STRUCT, 1), 8, S.p!, 3, 0]), "OK"],
      ]);
    },
  },
  {
    name: "§btf-check.5 bpf_btf_load's attributes: 16 MiB at most (E2BIG), the log's level and buffer (EINVAL), a log too short (ENOSPC, even for BTF that loads), a level without a buffer",
    group: "btf",
    run(ctx) {
      const d = btfOf(ctx);
      const c = new Checks("btf_load attrs");
      const good = btfBlob(INT);
      c.result(ctx.own(d.btfLoad({ btf: new Uint8Array((16 << 20) + 1) })), "E2BIG", "16 MiB + 1 bytes");
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: new Uint8Array(4096) })), "EINVAL", "a buffer at level 0");
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: new Uint8Array(4096), logLevel: 16 })), "EINVAL", "level 16 (past BPF_LOG_MASK)");
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: new Uint8Array(0), logLevel: 1 })), "EINVAL", "a buffer of 0 bytes");
      c.result(ctx.own(d.btfLoad({ btf: good, logLevel: 1 })), "OK", "level 1 without a buffer");
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: new Uint8Array(16), logLevel: 1 })), "ENOSPC", "level 1, 16 bytes of log for valid BTF");
      c.result(ctx.own(d.btfLoad({ btf: btfBlob(INT, undefined, { magic: 1 }), logBuf: new Uint8Array(16), logLevel: 1 })), "ENOSPC", "level 1, 16 bytes, bad magic: ENOSPC wins");
      const log = new Uint8Array(4096);
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: log, logLevel: 1 })), "OK", "level 1, 4 KiB");
      const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0)));
      const want = "magic: 0xeb9f\nversion: 1\nflags: 0x0\nhdr_len: 24\ntype_off: 0\ntype_len: 16\nstr_off: 16\nstr_len: " +
        `${STRINGS.bytes.length}\nbtf_total_size: ${good.length}\n[1] INT int size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n`;
      c.equal(text, want, "the log of a valid int");
      // The checker writes its text and a NUL, nothing after: the caller's bytes there stay.
      const marked = new Uint8Array(4096).fill(0xee);
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: marked, logLevel: 1 })), "OK", "level 1, 4 KiB of 0xee");
      c.equal(marked.indexOf(0), want.length, "the NUL right after the log");
      c.equal(marked.subarray(want.length + 1).every((b) => b === 0xee), true, "the bytes past the NUL left as they were");
      // The exact length matters: a buffer of the log's length + 1 holds it, one byte less is ENOSPC.
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: new Uint8Array(want.length + 1), logLevel: 1 })), "OK", "a log buffer of exactly the log and its NUL");
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: new Uint8Array(want.length), logLevel: 1 })), "ENOSPC", "one byte short");
      // Too short: the rotating log keeps the end, BPF_LOG_FIXED (8) the start, NUL-terminated.
      const rot = new Uint8Array(16), fixed = new Uint8Array(16);
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: rot, logLevel: 1 })), "ENOSPC", "rotating, 16 bytes");
      c.result(ctx.own(d.btfLoad({ btf: good, logBuf: fixed, logLevel: 1 | 8 })), "ENOSPC", "fixed, 16 bytes");
      c.equal(new TextDecoder().decode(rot.subarray(0, 15)), want.slice(-15), "the rotating log's last 15 bytes");
      c.equal(new TextDecoder().decode(fixed.subarray(0, 15)), want.slice(0, 15), "the fixed log's first 15 bytes");
      c.equal(rot[15], 0, "NUL after the rotating log");
      const bad = new Uint8Array(4096);
      c.result(ctx.own(d.btfLoad({ btf: btfBlob([0, info(K.PTR), 5]), logBuf: bad, logLevel: 1 })), "EINVAL", "ptr to nothing, logged");
      const badText = new TextDecoder().decode(bad.subarray(0, bad.indexOf(0)));
      c.equal(badText.endsWith("[1] PTR (anon) type_id=5\n[1] PTR (anon) type_id=5 Invalid type_id\n"), true, `the log ends with the failing type (got ${JSON.stringify(badText.slice(-80))})`);
      c.done();
    },
  },
  {
    name: "§btf-check.6 BTF objects: ids (GET_NEXT_ID, GET_FD_BY_ID), info (size, a prefix of the data, name \"\"), the generic OBJ_GET_INFO_BY_FD, pins and map calls refused, a map holding its BTF",
    group: "btf",
    run(ctx) {
      const d = btfOf(ctx);
      const blob = btfBlob(LOCK_TYPES);
      const fd = ctx.own(d.btfLoad({ btf: blob }));
      expectResult(fd, "OK", "load");
      const full = d.btfGetInfo(fd, null);
      if (typeof full === "number") fail(`btfGetInfo: ${show(full)}`);
      expectEqual(full.btfSize, blob.length, "btf_size");
      expectEqual(full.name, "", "name");
      expectEqual(full.kernelBtf, false, "kernel_btf");
      const prefix = new Uint8Array(10).fill(0xee);
      const again = d.btfGetInfo(fd, prefix);
      if (typeof again === "number") fail(`btfGetInfo with data: ${show(again)}`);
      expectEqual(Buffer.from(prefix).toString("hex"), Buffer.from(blob.subarray(0, 10)).toString("hex"), "the first 10 bytes copied");
      const longer = new Uint8Array(blob.length + 4).fill(0xee);
      d.btfGetInfo(fd, longer);
      expectEqual(Buffer.from(longer.subarray(blob.length)).toString("hex"), "eeeeeeee", "bytes past the data untouched");
      // The id walk finds it (among the kernel's own BTF objects on a real kernel).
      let id = 0, seen = false;
      for (let i = 0; i < 100_000; i++) {
        const next = d.btfGetNextId(id);
        if (next < 0) {
          expectResult(next, "ENOENT", "the end of the walk");
          break;
        }
        if (next === full.id) seen = true;
        id = next;
      }
      expectEqual(seen, true, `id ${full.id} found by BTF_GET_NEXT_ID`);
      expectResult(d.btfGetNextId(0x7fffffff), "EINVAL", "start id INT_MAX");
      const byId = ctx.own(d.btfGetFdById(full.id));
      expectResult(byId, "OK", "GET_FD_BY_ID");
      const viaId = d.btfGetInfo(byId, null);
      expectEqual(typeof viaId === "number" ? viaId : viaId.id, full.id, "the same object by id");
      // The generic call answers struct bpf_btf_info: id at 12, btf_size at 8.
      const raw = new Uint8Array(32);
      expectResult(d.objGetInfoByFd(fd, raw), "OK", "OBJ_GET_INFO_BY_FD on a BTF fd");
      expectEqual(readU32(raw, 12), full.id, "bpf_btf_info.id");
      expectEqual(readU32(raw, 8), blob.length, "bpf_btf_info.btf_size");
      if (d.host.objKind !== undefined) expectEqual(JSON.stringify(d.host.objKind(fd)), JSON.stringify({ kind: "btf" }), "objKind");
      const c = new Checks("refusals");
      c.result(d.objPin(fd, ctx.pinPath("btf")), "EINVAL", "pin of a BTF fd");
      c.result(d.mapLookupElem(fd, u32(0), new Uint8Array(4)), "EINVAL", "lookup on a BTF fd");
      c.result(d.mapFreeze(fd), "EINVAL", "freeze of a BTF fd");
      const map = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const mapInfo = d.btfGetInfo(map, null);
      c.result(typeof mapInfo === "number" ? mapInfo : 0, "EINVAL", "btfGetInfo of a map fd");
      const closed = d.btfGetInfo(ctx.closedFd(), null);
      c.result(typeof closed === "number" ? closed : 0, "EBADFD", "btfGetInfo of an fd not open");
      c.result(d.btfGetFdById(0x7ffffff0), "ENOENT", "GET_FD_BY_ID of an id not in use");
      c.done();
      // A map created with it holds it: closing every fd leaves the id while the map lives.
      const m = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: fd, btfKeyTypeId: 1, btfValueTypeId: 3 });
      const mi = ctx.info(m);
      expectEqual([mi.btfId, mi.btfKeyTypeId, mi.btfValueTypeId].join(","), `${full.id},1,3`, "bpf_map_info's btf_id and type ids");
      ctx.close(fd);
      ctx.close(byId);
      const held = ctx.own(d.btfGetFdById(full.id));
      expectResult(held, "OK", "GET_FD_BY_ID while only the map holds it");
      ctx.close(held);
      ctx.close(m);
      expectResult(openUntilGone(d, () => d.btfGetFdById(full.id)), "ENOENT", "the id after the map and every fd are gone");
    },
  },
  {
    name: "§btf-check.7 map_check_btf: type sizes, the key id without a value id, the BTF fd, each map type's rule, special fields and the map types that take them",
    group: "btf",
    run(ctx) {
      const d = btfOf(ctx);
      const b = ctx.own(d.btfLoad({ btf: btfBlob(LOCK_TYPES) }));
      expectResult(b, "OK", "load");
      const inner = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const c = new Checks("map_check_btf");
      const row = (what: string, t: number, k: number, v: number, max: number, keyId: number, valueId: number, want: Expect, extra: Record<string, number> = {}) =>
        c.result(ctx.tryCreate({ mapType: t, keySize: k, valueSize: v, maxEntries: max, btfFd: b, btfKeyTypeId: keyId, btfValueTypeId: valueId, ...extra }), want, what);
      row("hash int -> struct val (a spin lock)", HASH, 4, 8, 4, 1, 3, "OK");
      row("a key id without a value id", HASH, 4, 8, 4, 1, 0, "EINVAL");
      row("hash: key id 0", HASH, 4, 8, 4, 0, 3, "EINVAL");
      row("btf fd not open", HASH, 4, 8, 4, 1, 3, "EBADF", { btfFd: ctx.closedFd() });
      row("btf fd 0 (stdin)", HASH, 4, 8, 4, 1, 3, "EINVAL", { btfFd: 0 });
      row("btf fd of a map", HASH, 4, 8, 4, 1, 3, "EINVAL", { btfFd: inner });
      row("no type ids: the btf fd is not read", HASH, 4, 8, 4, 0, 0, "OK", { btfFd: ctx.closedFd() });
      row("value size differs", HASH, 4, 12, 4, 1, 3, "EINVAL");
      row("key size differs", HASH, 8, 8, 4, 1, 3, "EINVAL");
      row("key id past the types", HASH, 4, 8, 4, 99, 3, "EINVAL");
      row("value of the lock struct itself", HASH, 4, 4, 4, 1, 2, "OK");
      row("array: int key", ARRAY, 4, 8, 4, 1, 3, "OK");
      row("array: a struct key of 8", ARRAY, 8, 8, 4, 4, 3, "EINVAL");
      row("array: keyless .data, 1 entry", ARRAY, 4, 4, 1, 0, 9, "OK");
      row("array: keyless .data, 2 entries", ARRAY, 4, 4, 2, 0, 9, "EINVAL");
      row("array: keyless int", ARRAY, 4, 4, 1, 0, 1, "EINVAL");
      row("percpu array: keyless .data", 6, 4, 4, 1, 0, 9, "EINVAL");
      row("percpu hash: a spin lock", 5, 4, 8, 4, 1, 3, "EOPNOTSUPP");
      row("lru hash: a spin lock", 9, 4, 8, 4, 1, 3, "EOPNOTSUPP");
      row("lru hash: a bpf_timer", 9, 4, 24, 4, 1, 12, "OK");
      row("hash: a bpf_timer", HASH, 4, 24, 4, 1, 12, "OK");
      row("percpu hash: a bpf_timer", 5, 4, 24, 4, 1, 12, "EOPNOTSUPP");
      row("spin lock with BPF_F_RDONLY_PROG", HASH, 4, 8, 4, 1, 3, "EACCES", { mapFlags: F.RDONLY_PROG });
      row("prog array with an int key", 3, 4, 4, 4, 1, 1, "OK");
      row("prog array: key id 0", 3, 4, 4, 4, 0, 1, "EINVAL");
      row("array of maps", 12, 4, 4, 4, 1, 1, "ENOTSUPP", { innerMapFd: inner });
      row("hash of maps", 13, 4, 4, 4, 1, 1, "ENOTSUPP", { innerMapFd: inner });
      row("queue: value id only", 22, 0, 4, 4, 0, 1, "EINVAL");
      row("stack: value id only", 23, 0, 4, 4, 0, 1, "EINVAL");
      row("bloom filter: value id only", 30, 0, 4, 4, 0, 1, "OK");
      row("bloom filter: a key id", 30, 0, 4, 4, 1, 1, "EINVAL");
      row("lpm trie: a struct key", 11, 8, 4, 4, 4, 1, "OK", { mapFlags: F.NO_PREALLOC });
      row("lpm trie: an 8-byte int key", 11, 8, 4, 4, 5, 1, "EINVAL", { mapFlags: F.NO_PREALLOC });
      row("lpm trie: key id 0", 11, 8, 4, 4, 0, 1, "EINVAL", { mapFlags: F.NO_PREALLOC });
      row("ring buffer: value id only", 27, 0, 0, ctx.page, 0, 1, "EINVAL");
      c.done();
    },
  },
  {
    name: "§btf-check.8 BPF_F_LOCK on a value with a bpf_spin_lock: lookups read the lock as zeros, updates keep their flags' meaning; an F_LOCK update of a hash element keeps its place in the bucket; a mmapable array of it cannot be mapped, nor the map frozen",
    group: "btf",
    run(ctx) {
      const { d, b, c, val } = lockedCase(ctx, "F_LOCK");
      const hex = (r: number, v: Uint8Array) => (r < 0 ? show(r) : Buffer.from(v).toString("hex"));
      for (const [name, t] of [["hash", HASH], ["array", ARRAY]] as const) {
        const m = ctx.create({ mapType: t, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3 });
        const k = u32(1);
        c.result(d.mapUpdateElem(m, k, val(0xddccbbaa, 5), F_LOCK), "OK", `${name}: F_LOCK update`);
        const out = new Uint8Array(8);
        c.equal(hex(d.mapLookupElem(m, k, out), out), "0000000005000000", `${name}: plain lookup`);
        c.equal(hex(d.mapLookupElem(m, k, out, F_LOCK), out), "0000000005000000", `${name}: F_LOCK lookup`);
        c.result(d.mapUpdateElem(m, k, val(1, 6), F_LOCK | NOEXIST), "EEXIST", `${name}: F_LOCK|NOEXIST on a key there`);
        c.result(d.mapUpdateElem(m, k, val(1, 6), F_LOCK | EXIST), "OK", `${name}: F_LOCK|EXIST`);
        c.equal(hex(d.mapLookupElem(m, k, out), out), "0000000006000000", `${name}: after F_LOCK|EXIST`);
        c.result(d.mapUpdateElem(m, k, val(1, 6), F_LOCK | 8), "EINVAL", `${name}: F_LOCK with flag 8`);
        c.result(d.mapLookupElem(m, k, out, 8), "EINVAL", `${name}: lookup with flag 8`);
        c.result(d.mapUpdateElem(m, k, val(0x11111111, 7), ANY), "OK", `${name}: plain update`);
        c.equal(hex(d.mapLookupElem(m, k, out), out), "0000000007000000", `${name}: the lock reads as 0 after a plain update too`);
      }
      const noLock = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 7 });
      c.result(d.mapUpdateElem(noLock, u32(1), val(1, 2), F_LOCK), "EINVAL", "F_LOCK on a BTF value without a lock");
      c.result(d.mapLookupElem(noLock, u32(1), new Uint8Array(8), F_LOCK), "EINVAL", "F_LOCK lookup on it");
      const h = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3 });
      const keys = new Uint8Array([...u32(1), ...u32(2)]);
      const vals = new Uint8Array([...val(9, 1), ...val(9, 2)]);
      const ub = d.mapUpdateBatch(h, keys, vals, 2, F_LOCK);
      c.result(ub.errno === 0 ? 0 : -ub.errno, "OK", "update batch with F_LOCK");
      const ub2 = d.mapUpdateBatch(h, keys, vals, 2, F_LOCK | NOEXIST);
      c.result(ub2.errno === 0 ? 0 : -ub2.errno, "EINVAL", "update batch with F_LOCK|NOEXIST");
      const out2 = new Uint8Array(8);
      c.equal(hex(d.mapLookupAndDeleteElem(h, u32(2), out2), out2), "0000000002000000", "lookup-and-delete reads the lock as 0");
      const mm = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 512, mapFlags: F.MMAPABLE, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3 });
      if (d.mapMmap !== undefined) c.result(ctx.mmap(mm, ctx.page, false), "ENOTSUPP", "mmap of a mmapable array with a spin lock");
      // htab_map_update_elem: with BPF_F_LOCK an element that is there is written in place and
      // keeps its place in its bucket; a plain update links a new element at the bucket's head.
      // Keys 0 and 0xb7 share a bucket of a ZERO_SEED hash of 2 (found by the differential fuzzer).
      const z = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 2, mapFlags: F.ZERO_SEED, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3 });
      const [first, second] = [u32(0xb7), u32(0)];
      ctx.put(z, first, val(0, 1));
      ctx.put(z, second, val(0, 2));
      const order = () => ctx.walkHex(z, 4).join(" ");
      c.equal(order(), "00000000 b7000000", "one bucket: the key added last walks first");
      c.result(d.mapUpdateElem(z, first, val(0, 3), F_LOCK), "OK", "F_LOCK update of the key walked second");
      c.equal(order(), "00000000 b7000000", "the order after it (in place)");
      const zb = d.mapUpdateBatch(z, first, val(0, 4), 1, F_LOCK);
      c.result(zb.errno === 0 ? 0 : -zb.errno, "OK", "update batch of it with F_LOCK");
      c.equal(order(), "00000000 b7000000", "the order after the F_LOCK batch (in place)");
      c.equal(hex(d.mapLookupElem(z, first, out2), out2), "0000000004000000", "the value the F_LOCK batch wrote");
      c.result(d.mapUpdateElem(z, first, val(0, 5), ANY), "OK", "a plain update of it");
      c.equal(order(), "b7000000 00000000", "the order after the plain update (moved to the head)");
      // map_freeze refuses a value with special fields before it looks at the fd's mode.
      c.result(d.mapFreeze(h), "ENOTSUPP", "freeze of a hash with a spin lock");
      const ro = ctx.own(d.mapGetFdById(ctx.info(h).id, F.RDONLY));
      c.result(d.mapFreeze(ro), "ENOTSUPP", "freeze through a read-only fd of it");
      c.result(d.mapUpdateElem(h, u32(3), val(0, 3), ANY), "OK", "an update after the refused freeze");
      c.result(d.mapFreeze(noLock), "OK", "freeze of a BTF value without special fields");
      c.done();
    },
  },
  {
    name: "§btf-check.10 map-in-map with BTF: an inner map's special fields must be the template's (bpf_map_meta_equal), and the outer map holds the template's BTF",
    group: "btf",
    run(ctx) {
      const d = btfOf(ctx);
      const b1 = ctx.own(d.btfLoad({ btf: btfBlob(LOCK_TYPES) }));
      const b2 = ctx.own(d.btfLoad({ btf: btfBlob(LOCK_TYPES) }));
      expectResult(b1, "OK", "load");
      const lockHash = (b: number, valueId = 3) => ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: valueId });
      const plainHash = () => ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
      const tmpl = lockHash(b1);
      const outer = ctx.create({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: tmpl });
      const c = new Checks("inner maps");
      const slot = (o: number, inner: number, what: string, want: Expect) => c.result(d.mapUpdateElem(o, u32(0), u32(inner)), want, what);
      slot(outer, lockHash(b1), "a spin-lock inner map of the same BTF", "OK");
      slot(outer, lockHash(b2), "of another BTF with the same layout", "OK");
      slot(outer, plainHash(), "an inner map without BTF", "EINVAL");
      slot(outer, lockHash(b1, 7), "a BTF value without special fields", "EINVAL");
      const outer2 = ctx.create({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: plainHash() });
      slot(outer2, lockHash(b1), "a plain template, a spin-lock inner map", "EINVAL");
      slot(outer2, lockHash(b1, 7), "a plain template, a BTF inner map without fields", "OK");
      c.done();
      // The outer map keeps the template's BTF: its id outlives the template and every fd.
      const b3 = ctx.own(d.btfLoad({ btf: btfBlob(LOCK_TYPES) }));
      const info = d.btfGetInfo(b3, null);
      if (typeof info === "number") fail(`btfGetInfo: ${show(info)}`);
      const t3 = lockHash(b3);
      const o3 = ctx.create({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: t3 });
      ctx.close(t3);
      ctx.close(b3);
      const held = ctx.own(d.btfGetFdById(info.id));
      expectResult(held, "OK", "the template's BTF by id while only the outer map holds it");
      ctx.close(held);
      ctx.close(o3);
      expectResult(openUntilGone(d, () => d.btfGetFdById(info.id)), "ENOENT", "the template's BTF id once the outer map is gone");
    },
  },
  {
    name: "§btf-check.11 BPF_F_LOCK on lookup-and-delete and on the lookup batches: the lock reads as zeros; another flag bit, the lock on a value without one, or any flag on a queue is EINVAL, each at its place among the fd, mode and type checks",
    group: "btf",
    run(ctx) {
      const { d, b, c, val } = lockedCase(ctx, "F_LOCK reads");
      const hex = (v: Uint8Array) => Buffer.from(v).toString("hex");
      const batch = (r: { errno: number; count: number }) => `${r.errno === 0 ? "OK" : show(-r.errno)} count ${r.count}`;
      const lockMap = (t: number) => ctx.create({ mapType: t, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3 });
      // ZERO_SEED, so that both drivers walk the hash in one order.
      const h = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: F.ZERO_SEED, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3 });
      const noLock = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 7 });
      for (let k = 1; k <= 3; k++) {
        ctx.put(h, u32(k), val(0xaabbccdd, k));
        ctx.put(noLock, u32(k), val(0xaabbccdd, k));
      }
      // map_lookup_and_delete_elem: flag bits first (before the fd), then the fd and its mode,
      // then a queue's flags and the lock's presence, then the key.
      const out = new Uint8Array(8);
      c.result(d.mapLookupAndDeleteElem(h, u32(1), out, F_LOCK), "OK", "lookup-and-delete with F_LOCK");
      c.equal(hex(out), "0000000001000000", "its value, the lock read as zeros");
      c.result(d.mapLookupElem(h, u32(1), out), "ENOENT", "the key is gone after it");
      c.result(d.mapLookupAndDeleteElem(h, u32(1), out, F_LOCK), "ENOENT", "F_LOCK on a missing key");
      c.result(d.mapLookupAndDeleteElem(h, u32(2), out, 8), "EINVAL", "flag 8");
      c.result(d.mapLookupAndDeleteElem(h, u32(2), out, F_LOCK | 8), "EINVAL", "F_LOCK|8");
      c.result(d.mapLookupAndDeleteElem(noLock, u32(2), out, F_LOCK), "EINVAL", "F_LOCK on a value without a lock");
      c.result(d.mapLookupElem(noLock, u32(2), out), "OK", "…which deleted nothing");
      const ro = ctx.own(d.mapGetFdById(ctx.info(h).id, F.RDONLY));
      c.result(d.mapLookupAndDeleteElem(ro, u32(2), out, F_LOCK), "EPERM", "F_LOCK through a read-only fd (the mode before the lock)");
      c.result(d.mapLookupAndDeleteElem(ro, u32(2), out, 8), "EINVAL", "flag 8 through a read-only fd (the bits before the mode)");
      const arr = lockMap(ARRAY);
      c.result(d.mapLookupAndDeleteElem(arr, u32(0), out, F_LOCK), "ENOTSUPP", "F_LOCK on an array with a lock (the type after the lock)");
      c.result(d.mapLookupAndDeleteElem(arr, u32(0), out, 8), "EINVAL", "flag 8 on an array");
      const q = ctx.create({ mapType: QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 });
      c.result(d.mapUpdateElem(q, new Uint8Array(0), u32(7), ANY), "OK", "push onto a queue");
      const qv = new Uint8Array(4);
      c.result(d.mapLookupAndDeleteElem(q, new Uint8Array(0), qv, F_LOCK), "EINVAL", "pop with F_LOCK");
      c.result(d.mapLookupAndDeleteElem(q, new Uint8Array(0), qv, 0), "OK", "pop without flags, the value still there");
      c.equal(hex(qv), "07000000", "the popped value");
      const gone = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
      ctx.close(gone);
      c.result(d.mapLookupAndDeleteElem(gone, u32(2), out, 8), "EINVAL", "flag 8 on a closed fd (the bits before the fd)");
      c.result(d.mapLookupAndDeleteElem(gone, u32(2), out, F_LOCK), "EBADF", "F_LOCK on a closed fd");
      // The lookup batches (generic_map_lookup_batch, htab's): elem_flags after the command's
      // support, before a count of 0.
      const keys = new Uint8Array(16), vals = new Uint8Array(32), tok = new Uint8Array(4);
      c.equal(batch(d.mapLookupBatch(h, null, tok, keys, vals, 4, F_LOCK)), "ENOENT count 2", "hash lookup batch with F_LOCK");
      c.equal(hex(vals.subarray(0, 16)), "00000000020000000000000003000000", "its values, the locks read as zeros");
      c.equal(batch(d.mapLookupBatch(h, null, tok, keys, vals, 4, 8)), "EINVAL count 4", "hash lookup batch with flag 8");
      c.equal(batch(d.mapLookupBatch(h, null, tok, keys, vals, 0, 8)), "EINVAL count 0", "flag 8 with count 0");
      c.equal(batch(d.mapLookupBatch(noLock, null, tok, keys, vals, 4, F_LOCK)), "EINVAL count 4", "F_LOCK on a value without a lock");
      c.equal(batch(d.mapLookupBatch(noLock, null, tok, keys, vals, 0, F_LOCK)), "EINVAL count 0", "…with count 0");
      ctx.put(arr, u32(1), val(0xaabbccdd, 9));
      const ak = new Uint8Array(16), atok = new Uint8Array(4);
      c.equal(batch(d.mapLookupBatch(arr, null, atok, ak, vals, 4, F_LOCK)), "OK count 4", "array lookup batch with F_LOCK");
      c.equal(hex(vals.subarray(8, 16)), "0000000009000000", "element 1, the lock read as zeros");
      c.equal(batch(d.mapLookupBatch(arr, null, atok, ak, vals, 4, 8)), "EINVAL count 4", "array lookup batch with flag 8");
      c.equal(batch(d.mapLookupAndDeleteBatch(arr, null, atok, ak, vals, 4, 8)), "ENOTSUPP count 4", "array lookup-and-delete batch, flag 8 (no such command first)");
      c.equal(batch(d.mapLookupAndDeleteBatch(h, null, tok, keys, vals, 4, 8)), "EINVAL count 4", "hash lookup-and-delete batch with flag 8");
      c.equal(batch(d.mapLookupAndDeleteBatch(h, null, tok, keys, vals, 4, F_LOCK)), "ENOENT count 2", "hash lookup-and-delete batch with F_LOCK");
      c.equal(hex(vals.subarray(0, 16)), "00000000020000000000000003000000", "its values");
      c.result(d.mapGetNextKey(h, null, new Uint8Array(4)), "ENOENT", "the hash is empty after it");
      c.done();
    },
  },
  {
    name: "§btf-check.9 mutated blobs (a property: for each blob the driver answers what 6.18 answered, errno for errno)",
    group: "btf",
    run(ctx) {
      const d = btfOf(ctx);
      const blobs = btfMutations();
      const bad: string[] = [];
      blobs.forEach((blob, i) => {
        const r = ctx.own(d.btfLoad({ btf: blob }));
        if (r >= 0) ctx.close(r);
        const got = r >= 0 ? 0 : -r;
        if (got !== MUTATION_ERRNOS[i]) bad.push(`#${i}: expected ${MUTATION_ERRNOS[i] === 0 ? "OK" : show(-MUTATION_ERRNOS[i]!)}, got ${show(r)}`);
      });
      if (bad.length > 0) fail(`${bad.length} of ${blobs.length} mutated blobs differ:\n  - ${bad.slice(0, 20).join("\n  - ")}`);
      expectEqual(Errno.EINVAL, 22, "errno numbering");
    },
  },
  {
    name: "§btf-check.12 btf_add_type's table: ids up to 0xffffe; a type past it is checked, logged (\"Exceeded max num of types\") and dropped, and the load goes on, so only a reference to a dropped type fails",
    group: "btf",
    run(ctx) {
      const d = btfOf(ctx);
      const c = new Checks("btf_add_type");
      // 0x100000 PTRs, the smallest type (12 MiB, under BTF_MAX_SIZE): the table holds
      // BTF_MAX_TYPE entries with void's, so ids 0xfffff and 0x100000 are dropped.
      const ptrs = (firstTarget: number) => {
        const words = new Array<number>(3 * 0x100000);
        for (let i = 0; i < 0x100000; i++) {
          words[3 * i] = 0;
          words[3 * i + 1] = info(K.PTR);
          words[3 * i + 2] = i === 0 ? firstTarget : 0;
        }
        return btfBlob(words);
      };
      const kept = ctx.own(d.btfLoad({ btf: ptrs(0xffffe) }));
      c.result(kept, "OK", "type 1 points at 0xffffe, the last id kept");
      if (kept >= 0) {
        const map = (keyId: number, valueId: number) =>
          ctx.tryCreate({ mapType: HASH, keySize: 8, valueSize: 8, maxEntries: 1, btfFd: kept, btfKeyTypeId: keyId, btfValueTypeId: valueId });
        c.result(map(0xffffe, 0xffffe), "OK", "a map of type 0xffffe");
        c.result(map(0xffffe, 0xfffff), "EINVAL", "a map of type 0xfffff (dropped)");
      }
      const dropped = ptrs(0xfffff);
      c.result(ctx.own(d.btfLoad({ btf: dropped })), "EINVAL", "type 1 points at 0xfffff (dropped)");
      const want = "[1048575] PTR (anon) type_id=0\nExceeded max num of types[1048576] PTR (anon) type_id=0\n" +
        "Exceeded max num of types[1] PTR (anon) type_id=1048575 Invalid type_id\n";
      const log = new Uint8Array(want.length + 1);
      c.result(ctx.own(d.btfLoad({ btf: dropped, logBuf: log, logLevel: 1 })), "ENOSPC", "the same with a short log");
      c.equal(new TextDecoder().decode(log.subarray(0, want.length)), want, "the log's end");
      c.done();
    },
  },
  {
    name: "§btf-check.13 btf_log_true_size: the bytes the whole log needed, its NUL included, at every level, fixed or rotating, with any buffer or none, for BTF that loads or not; 0 at level 0 and when the load fails before the log begins",
    group: "btf",
    run(ctx) {
      const d = btfOf(ctx);
      const c = new Checks("btf_log_true_size");
      // The cell's second word shows the driver writes one u32 and no more.
      const trueSize = (attr: Omit<BtfLoadAttr, "logTrueSize">, want: Expect, what: string): number => {
        const cell = new Uint32Array([0xdeadbeef, 0xfeedface]);
        c.result(ctx.own(d.btfLoad({ ...attr, logTrueSize: cell })), want, what);
        c.equal(cell[1], 0xfeedface, `${what}: the cell's second word untouched`);
        return cell[0]!;
      };
      const logged = (buf: Uint8Array) => buf.indexOf(0);
      for (const [title, btf, want] of [["an int", btfBlob(INT), "OK"], ["a ptr to nothing", btfBlob([0, info(K.PTR), 5]), "EINVAL"],
        ["a bad magic", btfBlob(INT, undefined, { magic: 1 }), "EINVAL"]] as const) {
        const whole = new Uint8Array(4096);
        const n = trueSize({ btf, logBuf: whole, logLevel: 1 }, want, `${title}, level 1, 4 KiB`);
        c.equal(n > 1 && n === logged(whole) + 1, true, `${title}: ${n} is the log's ${logged(whole)} bytes and its NUL`);
        c.equal(trueSize({ btf, logLevel: 1 }, want, `${title}, level 1, no buffer`), n, `${title}: counted without a buffer`);
        c.equal(trueSize({ btf, logBuf: new Uint8Array(4096), logLevel: 2 }, want, `${title}, level 2`), n, `${title}: level 2`);
        c.equal(trueSize({ btf, logBuf: new Uint8Array(16), logLevel: 1 }, "ENOSPC", `${title}, rotating, 16 bytes`), n, `${title}: a rotating log cut short`);
        c.equal(trueSize({ btf, logBuf: new Uint8Array(16), logLevel: 1 | 8 }, "ENOSPC", `${title}, fixed, 16 bytes`), n, `${title}: a fixed log cut short`);
        // What it promises: a buffer of that size holds the log, one byte less does not.
        c.equal(trueSize({ btf, logBuf: new Uint8Array(n), logLevel: 1 }, want, `${title}, a buffer of ${n}`), n, `${title}: in a buffer of its size`);
        c.equal(trueSize({ btf, logBuf: new Uint8Array(n - 1), logLevel: 1 }, "ENOSPC", `${title}, a buffer of ${n - 1}`), n, `${title}: one byte short`);
        c.equal(trueSize({ btf }, want, `${title}, level 0`), 0, `${title}: level 0`);
      }
      const good = btfBlob(INT);
      c.equal(trueSize({ btf: new Uint8Array((16 << 20) + 1), logLevel: 1 }, "E2BIG", "16 MiB + 1 bytes"), 0, "E2BIG before the log");
      c.equal(trueSize({ btf: good, logBuf: new Uint8Array(64) }, "EINVAL", "a buffer at level 0"), 0, "the log's attributes refused");
      c.equal(trueSize({ btf: good, logBuf: new Uint8Array(64), logLevel: 16 }, "EINVAL", "level 16"), 0, "level 16 refused");
      // The cell is the driver's contract, checked before the call.
      for (const [bad, cls, what] of [[new Uint8Array(4), TypeError, "a Uint8Array"], [[0], TypeError, "an array"],
        [new Uint32Array(0), RangeError, "an empty Uint32Array"], [new Proxy(new Uint32Array(1), {}), TypeError, "a Proxy"]] as const) {
        expectThrows(() => ctx.own(d.btfLoad({ btf: good, logLevel: 1, logTrueSize: bad as unknown as Uint32Array })), cls, `logTrueSize ${what}`);
      }
      c.done();
    },
  },
  {
    name: "§btf-check.14 edges: a name of KSYM_NAME_LEN, a loop closing at the resolution's depth, 32 modifiers for the type tags' walk, a decl tag through a typedef, graph roots (the lock, the node's alignment, a `contains:` without a node, a root owning itself), a kptr's two tags, BTF_FIELDS_MAX, a bitfield beside a lock, a misaligned timer, an array's key",
    group: "btf",
    run(ctx) {
      // A FUNC_PROTO returning the middle of a chain resolves its second half first, so the whole
      // resolves and only btf_check_type_tags' walk (32 modifiers) is left to refuse it.
      const fromMiddle = (n: number) => edgeBlob([0, info(K.FUNC_PROTO), 2 + (n >> 1), ...constRun(2, n, n + 2), E.int!, info(K.INT), 4, 32]);
      loadTable(ctx, "edges", [
        ["a typedef named with 512 characters", edgeBlob([E.int!, info(K.INT), 4, 32, E["x".repeat(512)]!, info(K.TYPEDEF), 1]), "OK"],
        ["a typedef named with 513", edgeBlob([E.int!, info(K.INT), 4, 32, E["y".repeat(513)]!, info(K.TYPEDEF), 1]), "EINVAL"],
        ["a ring of 31 consts: a loop", edgeBlob(constRun(1, 31, 1)), "EEXIST"],
        ["a ring of 32: the depth, before the loop", edgeBlob(constRun(1, 32, 1)), "E2BIG"],
        ["32 consts resolved from the middle", fromMiddle(32), "OK"],
        ["33 consts resolved from the middle", fromMiddle(33), "ELOOP"],
        ["decl_tag on member 0 through a typedef", edgeBlob([E.int!, info(K.INT), 4, 32, E.pair!, info(K.STRUCT, 1), 4, E.a!, 1, 0,
          E.p!, info(K.TYPEDEF), 2, E.kptr!, info(K.DECL_TAG), 3, 0]), "EINVAL"],
        ["a list root, its lock, its node", graphBlob(), "OK"],
        ["a list root without a lock", graphBlob({ lock: false }), "EINVAL"],
        ["a list node 4 bytes off its alignment", graphBlob({ nodeAt: 4 }), "EINVAL"],
        ["contains: a struct and no node", graphBlob({ tag: "contains:elem" }), "EINVAL"],
        ["a root whose value is its own struct, a node too", graphBlob({ tag: "contains:pair:nd", ownNode: true }), "ELOOP"],
        ["a bitfield off a byte beside a lock", edgeBlob([E.int!, info(K.INT), 4, 32, E.bpf_spin_lock!, info(K.STRUCT), 4,
          E.pair!, info(K.STRUCT, 3, true), 8, E.a!, 1, 3 << 24, E.b!, 1, (5 << 24) | 3, E.l!, 2, 32]), "EINVAL"],
      ]);
      // At MAP_CREATE a value whose field search fails has no record (the error is dropped), so a
      // read-only map takes it: BPF_F_RDONLY_PROG (EACCES with special fields) shows which it is.
      // 1 int, 2 struct bpf_timer, 3 { int a; timer at byte 4 } (wants 8: no field), 4 the timer
      // at 8, 5 a 4-byte int of 16 bits, 6 elem, 7 kptr tag, 8 its PTR, 9 an `rcu` tag on 6, 10
      // a `kptr` tag on that, 11 its PTR, 12 { int a; a kptr with two tags }, then arrays of 11
      // and 12 kptrs (13, 15) and structs of them (14, 16).
      const d = btfOf(ctx);
      const b = ctx.own(d.btfLoad({ btf: edgeBlob([E.int!, info(K.INT), 4, 32, E.bpf_timer!, info(K.STRUCT), 16,
        E.pair!, info(K.STRUCT, 2), 20, E.a!, 1, 0, E.h!, 2, 32, E.elem!, info(K.STRUCT, 2), 24, E.a!, 1, 0, E.h!, 2, 64,
        E.int!, info(K.INT), 4, 16,
        E.elem!, info(K.STRUCT, 1), 4, E.a!, 1, 0, E.kptr!, info(K.TYPE_TAG), 6, 0, info(K.PTR), 7,
        E.rcu!, info(K.TYPE_TAG), 6, E.kptr!, info(K.TYPE_TAG), 9, 0, info(K.PTR), 10, E.pair!, info(K.STRUCT, 2), 16, E.a!, 1, 0, E.p!, 11, 64,
        0, info(K.ARRAY), 0, 8, 1, 11, E.pair!, info(K.STRUCT, 1), 88, E.p!, 13, 0,
        0, info(K.ARRAY), 0, 8, 1, 12, E.pair!, info(K.STRUCT, 1), 96, E.p!, 15, 0]) }));
      expectResult(b, "OK", "load");
      const c = new Checks("edges of map_check_btf");
      const row = (what: string, t: number, k: number, v: number, keyId: number, valueId: number, want: Expect, flags = 0) =>
        c.result(ctx.tryCreate({ mapType: t, keySize: k, valueSize: v, maxEntries: 4, mapFlags: flags, btfFd: b, btfKeyTypeId: keyId, btfValueTypeId: valueId }), want, what);
      row("percpu hash: a bpf_timer at byte 4 (no field)", 5, 4, 20, 1, 3, "OK");
      row("percpu hash: a bpf_timer at byte 8", 5, 4, 24, 1, 4, "EOPNOTSUPP");
      row("array: a 4-byte int key of 16 bits", ARRAY, 4, 4, 5, 1, "EINVAL");
      row("array: a 4-byte int key of 32 bits", ARRAY, 4, 4, 1, 1, "OK");
      row("read-only hash: a kptr with two type tags (no field)", HASH, 4, 16, 1, 12, "OK", F.RDONLY_PROG);
      row("read-only hash: an array of 11 kptrs (BTF_FIELDS_MAX)", HASH, 4, 88, 1, 14, "EACCES", F.RDONLY_PROG);
      row("read-only hash: an array of 12 (E2BIG: no record)", HASH, 4, 96, 1, 16, "OK", F.RDONLY_PROG);
      c.done();
    },
  },
];
