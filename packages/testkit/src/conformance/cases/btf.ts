// BTF through the Driver's optional btf methods: BPF_BTF_LOAD's checks (kernel/bpf/btf.c,
// btf_parse: the header, the sections, each kind's meta and resolve checks), ids and
// bpf_btf_info, and BPF_MAP_CREATE with BTF (syscall.c map_create, map_check_btf). Every
// expected answer was probed on 6.18 through the kernel driver. A driver without btfLoad skips
// the whole group. The blobs are written word by word (../btf-blob.ts), malformed ones too.
import { type BtfInfo, type Driver } from "@bpfkit/core";
import { CaseSkipped, expectBytes, fail, show, type Expect } from "../assert.js";
import {
  BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, btfArray, btfBlob, btfEnum, btfFuncProto, btfInfo, btfInt, BtfKind, btfRef,
  btfStrings, btfStruct, pairBlob,
} from "../btf-blob.js";
import type { CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { ARRAY, Checks, EXIST, F_LOCK, HASH, LPM_TRIE, LRU_HASH, NOEXIST, openUntilGone, PERCPU_HASH } from "./common.js";

type BtfDriver = Driver & Required<Pick<Driver, "btfLoad" | "btfGetFdById" | "btfGetNextId" | "btfGetInfo">>;

/** The driver, or a skip where it has no BTF (the four methods come together: assertDriver). */
function btfDriver(ctx: CaseContext): BtfDriver {
  const d = ctx.driver;
  if (typeof d.btfLoad !== "function") {
    throw new CaseSkipped(`${d.kind} has no btfLoad (optional, with btfGetFdById, btfGetNextId and btfGetInfo: a driver without BTF)`);
  }
  return d as BtfDriver;
}

/** BTF_LOAD's raw result; a BTF fd it returns is closed after the case. */
function load(ctx: CaseContext, btf: Uint8Array, logBuf?: Uint8Array, logLevel?: number): number {
  const d = btfDriver(ctx);
  const attr = logBuf === undefined ? (logLevel === undefined ? { btf } : { btf, logLevel }) : { btf, logBuf, logLevel };
  return ctx.own(d.btfLoad(attr));
}

/** A load that must succeed. */
function mustLoad(ctx: CaseContext, btf: Uint8Array, what: string): number {
  const fd = load(ctx, btf);
  if (fd < 0) fail(`${what}: BTF_LOAD failed with ${show(fd)}`);
  return fd;
}

/** bpf_btf_info of an fd that must answer. */
function btfInfoOf(ctx: CaseContext, fd: number, data: Uint8Array | null = null): BtfInfo {
  const r = btfDriver(ctx).btfGetInfo(fd, data);
  if (typeof r === "number") fail(`OBJ_GET_INFO_BY_FD of BTF fd ${fd} failed with ${show(r)}`);
  return r;
}


/** Names used by the type rows: string offsets in `S.bytes`. */
const S = btfStrings("int", "pair", "a", "b", "1abc", "t", "f", "e", "x", "_ok.name", "ok_name", "long");
const o = S.off as Record<string, number>;
/** [1] int, the first type of every row. */
const INT = btfInt(o.int!, 4, 32, BTF_INT_SIGNED);

/** Each blob with the errno BTF_LOAD answers for it, and what it checks. */
function headerRows(): Array<[what: string, blob: Uint8Array, want: Expect]> {
  const valid = pairBlob();
  const typeBytes = valid.length - 24 - pairStrings().length;
  const nonZeroTail = new Uint8Array(8);
  nonZeroTail[7] = 1;
  const strings = pairStrings();
  const startNotNul = strings.slice();
  startNotNul[0] = 0x41;
  const endNotNul = strings.slice();
  endNotNul[endNotNul.length - 1] = 0x41;
  return [
    ["the valid blob", valid, "OK"],
    ["an empty blob (hdr_len not found)", new Uint8Array(0), "EINVAL"],
    ["8 bytes: the header cut before its sections", valid.subarray(0, 8), "EINVAL"],
    ["23 bytes: the header cut in str_len", valid.subarray(0, 23), "EINVAL"],
    ["the magic byte-swapped (0x9feb)", pairBlob({ magic: 0x9feb }), "EINVAL"],
    ["magic 0", pairBlob({ magic: 0 }), "EINVAL"],
    // btf_parse_hdr's "Unsupported version" and "Unsupported flags" are ENOTSUPP (524), not EINVAL.
    ["version 2", pairBlob({ version: 2 }), "ENOTSUPP"],
    ["version 0", pairBlob({ version: 0 }), "ENOTSUPP"],
    ["flags 1", pairBlob({ flags: 1 }), "ENOTSUPP"],
    ["hdr_len 20 (shorter than struct btf_header)", pairBlob({ hdrLen: 20 }), "EINVAL"],
    ["hdr_len 0", pairBlob({ hdrLen: 0 }), "EINVAL"],
    ["hdr_len 32 with a zero tail", pairBlob({ hdrLen: 32 }), "OK"],
    ["hdr_len 32 with a non-zero tail", pairBlob({ hdrLen: 32, tail: nonZeroTail }), "E2BIG"],
    ["hdr_len past the end of the blob", pairBlob({ hdrLen: 4096 }).subarray(0, 200), "EINVAL"],
    ["type_off 2 (not 4-aligned)", pairBlob({ typeOff: 2 }), "EINVAL"],
    ["type_len not a multiple of 4", pairBlob({ typeLen: typeBytes - 2 }), "EINVAL"],
    ["type_len 0 (no types)", btfBlob({ types: [], strings }), "EINVAL"],
    ["type section past the end", pairBlob({ typeLen: typeBytes + 4096 }), "EINVAL"],
    ["str_off past the end", pairBlob({ strOff: 4096 }), "EINVAL"],
    ["str_len past the end", pairBlob({ strLen: strings.length + 1 }), "EINVAL"],
    ["sections overlapping (str_off inside the types)", pairBlob({ strOff: typeBytes - 4 }), "EINVAL"],
    ["a gap between the sections", pairBlob({ strOff: typeBytes + 4 }), "EINVAL"],
    ["the strings first, then the types (String section is not at the end)", btfBlob({ types: pairTypes(), strings: padTo4(strings), strOff: 0, typeOff: padTo4(strings).length }), "EINVAL"],
    ["str_len 0", btfBlob({ types: INT.map((w, i) => (i === 0 ? 0 : w)), strings: new Uint8Array(0) }), "EINVAL"],
    ["the string section's first byte not NUL", btfBlob({ types: pairTypes(), strings: startNotNul }), "EINVAL"],
    ["the string section's last byte not NUL", btfBlob({ types: pairTypes(), strings: endNotNul }), "EINVAL"],
    ["the blob over 16 MiB (BTF_MAX_SIZE)", new Uint8Array(16 * 1024 * 1024 + 1), "E2BIG"],
  ];
}

function pairStrings(): Uint8Array {
  return btfStrings("int", "pair", "a", "b").bytes;
}

function pairTypes(): number[] {
  const s = btfStrings("int", "pair", "a", "b").off as Record<string, number>;
  return [...btfInt(s.int!, 4, 32, BTF_INT_SIGNED), ...btfStruct(s.pair!, 8, [[s.a!, 1, 0], [s.b!, 1, 32]])];
}

function padTo4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(b.length / 4) * 4);
  out.set(b);
  return out;
}

/** Type sections (after [1] int) with what BTF_LOAD answers. */
function kindRows(): Array<[what: string, types: number[], want: Expect]> {
  const pair = (m: readonly (readonly [number, number, number])[], size = 8, kf = false) => btfStruct(o.pair!, size, m, kf);
  return [
    // INT (btf_int_check_meta)
    ["INT of 16 bytes, 128 bits", btfInt(o.x!, 16, 128), "OK"],
    ["INT of 129 bits", btfInt(o.x!, 16, 129), "EINVAL"],
    ["INT with bit offset + bits past its size (4 bytes, 1 + 32)", btfInt(o.x!, 4, 32, 0, 1), "EINVAL"],
    ["INT of 9 bits in 1 byte", btfInt(o.x!, 1, 9), "EINVAL"],
    // btf_int_check_meta takes any size the bits fit in, and 0 bits: only a map's key or
    // value, or a member, asks more of an INT.
    ["INT of 0 bits", btfInt(o.x!, 4, 0), "OK"],
    ["INT of 3 bytes", btfInt(o.x!, 3, 24), "OK"],
    ["INT of 32 bytes, 64 bits", btfInt(o.x!, 32, 64), "OK"],
    // "Unsupported encoding" is ENOTSUPP: more than one of SIGNED, CHAR, BOOL, or another bit.
    ["INT encoding SIGNED|CHAR (two flags)", btfInt(o.x!, 1, 8, BTF_INT_SIGNED | BTF_INT_CHAR), "ENOTSUPP"],
    ["INT encoding CHAR|BOOL", btfInt(o.x!, 1, 8, BTF_INT_CHAR | BTF_INT_BOOL), "ENOTSUPP"],
    ["INT encoding 8 (unknown)", btfInt(o.x!, 4, 32, 8), "ENOTSUPP"],
    ["INT encoding BOOL, 1 byte", btfInt(o.x!, 1, 8, BTF_INT_BOOL), "OK"],
    ["INT with vlen 1", [o.x!, btfInfo(BtfKind.INT, 1), 4, 32], "EINVAL"],
    ["INT with kind_flag", [o.x!, btfInfo(BtfKind.INT, 0, true), 4, 32], "EINVAL"],
    ["INT without a name", btfInt(0, 4, 32), "OK"],
    // ARRAY (btf_array_check_meta, btf_array_resolve)
    ["ARRAY of 4 ints indexed by int", btfArray(1, 1, 4), "OK"],
    ["ARRAY of void", btfArray(0, 1, 4), "EINVAL"],
    ["ARRAY indexed by void", btfArray(1, 0, 4), "EINVAL"],
    ["ARRAY with a name", [o.x!, ...btfArray(1, 1, 4).slice(1)], "EINVAL"],
    ["ARRAY of a type past the last", btfArray(9, 1, 4), "EINVAL"],
    // STRUCT (btf_struct_check_meta, btf_struct_resolve)
    ["STRUCT pair { int a; int b; }", pair([[o.a!, 1, 0], [o.b!, 1, 32]]), "OK"],
    ["STRUCT with a member past its size", pair([[o.a!, 1, 0], [o.b!, 1, 64]]), "EINVAL"],
    ["STRUCT with a member running past its size", pair([[o.a!, 1, 0], [o.b!, 1, 40]]), "EINVAL"],
    ["STRUCT with a member of a type past the last", pair([[o.a!, 1, 0], [o.b!, 9, 32]]), "EINVAL"],
    ["STRUCT with a member of void", pair([[o.a!, 0, 0]]), "EINVAL"],
    ["STRUCT with members out of order", pair([[o.a!, 1, 32], [o.b!, 1, 0]]), "EINVAL"],
    ["STRUCT with two members of one name", pair([[o.a!, 1, 0], [o.a!, 1, 32]]), "OK"],
    ["STRUCT with an int member at bit 4 (no kind_flag)", pair([[o.a!, 1, 4]]), "OK"],
    ["STRUCT with a struct member at bit 4 (not byte aligned)", [...pair([[o.a!, 1, 0], [o.b!, 1, 32]]), ...btfStruct(o.t!, 16, [[o.a!, 2, 4]])], "EINVAL"],
    ["STRUCT kind_flag, a 3-bit bitfield at bit 5", pair([[o.a!, 1, (3 << 24) | 5]], 8, true), "OK"],
    ["STRUCT kind_flag, a bitfield of a struct member", [...pair([[o.a!, 1, 0], [o.b!, 1, 32]]), ...btfStruct(o.t!, 16, [[o.a!, 2, (3 << 24) | 0]], true)], "EINVAL"],
    ["STRUCT without kind_flag, a bitfield size in the offset", pair([[o.a!, 1, (3 << 24) | 5]]), "EINVAL"],
    ["STRUCT named 1abc (not an identifier)", btfStruct(o["1abc"]!, 4, [[o.a!, 1, 0]]), "EINVAL"],
    ["STRUCT named _ok.name (a dot is allowed)", btfStruct(o["_ok.name"]!, 4, [[o.a!, 1, 0]]), "OK"],
    ["STRUCT with a member named 1abc", btfStruct(o.t!, 4, [[o["1abc"]!, 1, 0]]), "EINVAL"],
    ["STRUCT without a name, of size 0, no members", btfStruct(0, 0, []), "OK"],
    ["UNION { int a; int b; } both at 0", btfStruct(o.t!, 4, [[o.a!, 1, 0], [o.b!, 1, 0]], false, BtfKind.UNION), "OK"],
    // Modifiers and loops (btf_modifier_resolve, env_stack)
    // "Loop detected" is EEXIST: env_stack_push finds the type already being resolved.
    ["TYPEDEF t of itself (a loop)", btfRef(BtfKind.TYPEDEF, o.t!, 2), "EEXIST"],
    ["TYPEDEF t of int", btfRef(BtfKind.TYPEDEF, o.t!, 1), "OK"],
    ["TYPEDEF without a name", btfRef(BtfKind.TYPEDEF, 0, 1), "EINVAL"],
    ["CONST of a type past the last", btfRef(BtfKind.CONST, 0, 9), "EINVAL"],
    ["CONST ↔ VOLATILE loop", [...btfRef(BtfKind.CONST, 0, 3), ...btfRef(BtfKind.VOLATILE, 0, 2)], "EEXIST"],
    ["PTR to a type past the last", btfRef(BtfKind.PTR, 0, 9), "EINVAL"],
    ["PTR to itself (a loop too)", btfRef(BtfKind.PTR, 0, 2), "EEXIST"],
    ["STRUCT holding a PTR to itself (a list)", [...btfStruct(o.t!, 8, [[o.a!, 3, 0]]), ...btfRef(BtfKind.PTR, 0, 2)], "OK"],
    ["PTR with a name", btfRef(BtfKind.PTR, o.x!, 1), "EINVAL"],
    // ENUM (btf_enum_check_meta)
    ["ENUM e of 4 bytes { x = 1 }", btfEnum(o.e!, 4, [[o.x!, 1]]), "OK"],
    ["ENUM with vlen 0 (4 bytes)", btfEnum(o.e!, 4, []), "OK"],
    ["ENUM of 8 bytes, vlen 0", btfEnum(o.e!, 8, []), "OK"],
    ["ENUM of 1 byte", btfEnum(o.e!, 1, [[o.x!, 1]]), "OK"],
    ["ENUM of 0 bytes", btfEnum(o.e!, 0, []), "EINVAL"],
    ["ENUM of 3 bytes", btfEnum(o.e!, 3, [[o.x!, 1]]), "EINVAL"],
    ["ENUM of 16 bytes", btfEnum(o.e!, 16, [[o.x!, 1]]), "EINVAL"],
    ["ENUM with a value without a name", btfEnum(o.e!, 4, [[0, 1]]), "EINVAL"],
    // FUNC and FUNC_PROTO (btf_func_check, btf_func_proto_check)
    ["FUNC_PROTO int (int a)", btfFuncProto(1, [[o.a!, 1]]), "OK"],
    ["FUNC f of a FUNC_PROTO", [...btfFuncProto(1, [[o.a!, 1]]), ...btfRef(BtfKind.FUNC, o.f!, 2)], "OK"],
    ["FUNC f of an INT (not a FUNC_PROTO)", btfRef(BtfKind.FUNC, o.f!, 1), "EINVAL"],
    ["FUNC without a name", [...btfFuncProto(1, [[o.a!, 1]]), ...btfRef(BtfKind.FUNC, 0, 2)], "EINVAL"],
    ["FUNC_PROTO with a name", [o.x!, ...btfFuncProto(1, []).slice(1)], "EINVAL"],
    ["FUNC_PROTO with a void parameter in the middle", btfFuncProto(1, [[0, 0], [o.a!, 1]]), "EINVAL"],
    // Kinds and names
    ["kind 0 (BTF_KIND_UNKN)", [0, btfInfo(0), 0], "EINVAL"],
    ["kind 20 (past ENUM64)", [0, btfInfo(20), 0], "EINVAL"],
    ["a name_off past the string section", btfInt(4096, 4, 32), "EINVAL"],
  ];
}

export const btfCases: ConformanceCase[] = [
  {
    name: "btf.c BTF_LOAD: a valid blob (int, struct) loads; bpf_btf_info: id, size, name \"\", not kernel BTF, the exact bytes back",
    group: "btf",
    run(ctx) {
      const d = btfDriver(ctx);
      const blob = pairBlob();
      const fd = mustLoad(ctx, blob, "the valid blob");
      const c = new Checks("BTF_LOAD and bpf_btf_info");
      const info = btfInfoOf(ctx, fd);
      c.equal(info.id > 0, true, `the id (${info.id}) is positive`);
      c.equal(info.btfSize, blob.length, "btf_size");
      c.equal(info.name, "", "name");
      c.equal(info.kernelBtf, false, "kernel_btf");
      const data = new Uint8Array(blob.length);
      const again = btfInfoOf(ctx, fd, data);
      c.equal(again.id, info.id, "the id asked again");
      c.step(() => expectBytes(data, blob, "the raw data"));
      const short = new Uint8Array(10).fill(0xee);
      c.equal(btfInfoOf(ctx, fd, short).btfSize, blob.length, "btf_size with a 10-byte data");
      c.step(() => expectBytes(short, blob.subarray(0, 10), "a 10-byte data gets the first 10 bytes"));
      const long = new Uint8Array(blob.length + 8).fill(0xee);
      btfInfoOf(ctx, fd, long);
      c.step(() => expectBytes(long.subarray(blob.length), new Uint8Array(8).fill(0xee), "bytes of data past btf_size are left as they were"));
      const kind = d.host.objKind?.(fd);
      if (typeof kind === "object") c.equal(kind.kind, "btf", "host.objKind of the fd");
      // A second load of the same bytes is another object, with another id.
      const second = mustLoad(ctx, blob, "the same blob again");
      c.equal(btfInfoOf(ctx, second).id !== info.id, true, "a second load has its own id");
      c.done();
    },
  },
  {
    name: "btf.c btf_parse_hdr, btf_check_sec_info, btf_parse_str_sec: the header's and the sections' checks",
    group: "btf",
    run(ctx) {
      btfDriver(ctx);
      const c = new Checks("BTF_LOAD of a blob");
      for (const [what, blob, want] of headerRows()) {
        const fd = load(ctx, blob);
        c.result(fd, want, what);
        if (fd >= 0) ctx.close(fd);
      }
      c.done();
    },
  },
  {
    name: "btf.c btf_check_all_metas, btf_check_all_types: each kind's checks (INT, ARRAY, STRUCT, modifiers and loops, ENUM, FUNC), names",
    group: "btf",
    run(ctx) {
      btfDriver(ctx);
      const c = new Checks("BTF_LOAD of a type section");
      for (const [what, types, want] of kindRows()) {
        const fd = load(ctx, btfBlob({ types: [...INT, ...types], strings: S.bytes }));
        c.result(fd, want, what);
        if (fd >= 0) ctx.close(fd);
      }
      c.done();
    },
  },
  {
    name: "btf.c btf_parse, log.c: the log at level 1 (NUL-terminated, for a refused blob and a valid one), ENOSPC, and the log arguments' EINVAL",
    group: "btf",
    run(ctx) {
      btfDriver(ctx);
      const c = new Checks("BTF_LOAD's log");
      const log = new Uint8Array(4096).fill(0xff);
      c.result(load(ctx, pairBlob({ magic: 0x1234 }), log, 1), "EINVAL", "a bad magic at level 1");
      const nul = log.indexOf(0);
      c.equal(nul > 0, true, `the log is non-empty and NUL-terminated (first NUL at ${nul})`);
      const ok = new Uint8Array(4096);
      c.result(load(ctx, pairBlob(), ok, 1), "OK", "the valid blob at level 1");
      c.equal(ok.indexOf(0) > 0, true, "a valid blob's level-1 log is non-empty too (the header, each type)");
      // A log with room for its NUL only: the text does not fit.
      const tiny = new Uint8Array(1).fill(0xff);
      c.result(load(ctx, pairBlob({ magic: 0x1234 }), tiny, 1), "ENOSPC", "a refused blob with a 1-byte log");
      c.equal(tiny[0], 0, "the 1-byte log holds its NUL");
      c.result(load(ctx, pairBlob(), new Uint8Array(1), 1), "ENOSPC", "a valid blob with a 1-byte log at level 1");
      c.result(load(ctx, pairBlob(), new Uint8Array(1), 2), "ENOSPC", "a valid blob with a 1-byte log at level 2");
      // bpf_verifier_log_attr_valid: a buffer and a size come together, and a buffer needs a level.
      c.result(load(ctx, pairBlob(), new Uint8Array(64)), "EINVAL", "a log buffer without a level");
      c.result(load(ctx, pairBlob(), new Uint8Array(64), 0), "EINVAL", "a log buffer at level 0");
      c.result(load(ctx, pairBlob(), new Uint8Array(0), 1), "EINVAL", "a 0-byte log buffer at level 1");
      c.result(load(ctx, pairBlob(), undefined, 1), "OK", "level 1 without a buffer (the log is lost)");
      c.result(load(ctx, pairBlob(), new Uint8Array(256), 16), "EINVAL", "level 16 (past BPF_LOG_MASK)");
      c.result(load(ctx, pairBlob(), undefined, 16), "EINVAL", "level 16 without a buffer");
      c.done();
    },
  },
  {
    name: "btf.c BTF_GET_NEXT_ID, BTF_GET_FD_BY_ID: a load's id is walked to and opens; ENOENT for id 0 and past the last; closing its last fd frees the id",
    group: "btf",
    run(ctx) {
      const d = btfDriver(ctx);
      const blob = pairBlob();
      const fd = mustLoad(ctx, blob, "the valid blob");
      const id = btfInfoOf(ctx, fd).id;
      const c = new Checks("BTF ids");
      const seen: number[] = [];
      let next = d.btfGetNextId(0);
      for (; next > 0 && seen.length < 1_000_000; next = d.btfGetNextId(next)) seen.push(next);
      c.result(next, "ENOENT", "BTF_GET_NEXT_ID past the last id");
      c.equal(seen.includes(id), true, `the walk from 0 includes the load's id ${id}`);
      c.equal(seen.every((x, i) => i === 0 || x > seen[i - 1]!), true, "the walk ascends");
      // As for maps and programs: a start id past INT_MAX is EINVAL.
      c.result(d.btfGetNextId(0x7fff_ffff), "EINVAL", "BTF_GET_NEXT_ID(INT_MAX)");
      c.result(d.btfGetNextId(0xffff_ffff), "EINVAL", "BTF_GET_NEXT_ID(0xffffffff)");
      const byId = ctx.own(d.btfGetFdById(id));
      if (c.result(byId, "OK", "BTF_GET_FD_BY_ID of the load's id")) {
        c.equal(byId !== fd, true, "a new fd");
        const data = new Uint8Array(blob.length);
        c.equal(btfInfoOf(ctx, byId, data).id, id, "the new fd's id");
        c.step(() => expectBytes(data, blob, "the new fd's raw data"));
        ctx.close(byId);
      }
      c.result(ctx.own(d.btfGetFdById(0)), "ENOENT", "BTF_GET_FD_BY_ID(0)");
      c.result(ctx.own(d.btfGetFdById(0xffff_fff0)), "ENOENT", "BTF_GET_FD_BY_ID of an id nothing has");
      ctx.close(fd);
      c.result(ctx.own(d.btfGetFdById(id)), "ENOENT", "BTF_GET_FD_BY_ID once the only fd is closed");
      c.done();
    },
  },
  {
    name: "syscall.c bpf_obj_get_info_by_fd with bpf_btf_info: EINVAL for a map's and a program's fd (never their info), EBADFD for a closed fd",
    group: "btf",
    run(ctx) {
      const d = btfDriver(ctx);
      const c = new Checks("bpf_btf_info of an fd that is no BTF");
      const m = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
      const data = new Uint8Array(32).fill(0xee);
      c.result(errOf(d.btfGetInfo(m, data)), "EINVAL", "a map's fd");
      c.result(errOf(d.btfGetInfo(ctx.prog(), data)), "EINVAL", "a program's fd");
      c.step(() => expectBytes(data, new Uint8Array(32).fill(0xee), "data after the refusals"));
      c.result(errOf(d.btfGetInfo(ctx.closedFd(), null)), "EBADFD", "a closed fd");
      c.result(errOf(d.btfGetInfo(-1, null)), "EBADFD", "fd -1");
      // And the other way: a BTF fd is no map.
      const btf = mustLoad(ctx, pairBlob(), "the valid blob");
      c.result(d.mapLookupElem(btf, new Uint8Array(4), new Uint8Array(8)), "EINVAL", "a map lookup on a BTF fd");
      c.result(d.mapUpdateElem(btf, new Uint8Array(4), new Uint8Array(8)), "EINVAL", "a map update on a BTF fd");
      c.done();
    },
  },
  {
    name: "syscall.c map_create with BTF: HASH with key int and value struct; bpf_map_info's btf_id and type ids; elements as without BTF",
    group: "btf",
    run(ctx) {
      const d = btfDriver(ctx);
      const btf = mustLoad(ctx, pairBlob(), "the valid blob");
      const id = btfInfoOf(ctx, btf).id;
      const m = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: 2 });
      const c = new Checks("a map with BTF");
      const info = ctx.info(m);
      c.equal(info.btfId, id, "bpf_map_info.btf_id");
      c.equal(info.btfKeyTypeId, 1, "bpf_map_info.btf_key_type_id");
      c.equal(info.btfValueTypeId, 2, "bpf_map_info.btf_value_type_id");
      const value = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      c.result(d.mapUpdateElem(m, new Uint8Array(4), value), "OK", "update");
      c.step(() => expectBytes(ctx.get(m, new Uint8Array(4), 8), value, "lookup"));
      // btf_fd without type ids is not read: a map without BTF.
      const plain = ctx.tryCreate({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 1, btfFd: btf });
      if (c.result(plain, "OK", "btf_fd without type ids")) c.equal(ctx.info(plain).btfId, 0, "its btf_id");
      c.done();
    },
  },
  {
    name: "syscall.c map_create, map_check_btf: sizes against the types, a key type without a value type, types that have no size, a btf_fd that is no BTF",
    group: "btf",
    run(ctx) {
      btfDriver(ctx);
      // [1] int, [2] struct pair (8 bytes), [3] FUNC_PROTO int (int a), [4] FUNC f, [5] PTR to int
      // (8 bytes), [6] VAR v (int, global), [7] DATASEC .data (4 bytes: v).
      const s = btfStrings("int", "pair", "a", "b", "f", "v", ".data");
      const so = s.off as Record<string, number>;
      const types = [
        ...btfInt(so.int!, 4, 32, BTF_INT_SIGNED),
        ...btfStruct(so.pair!, 8, [[so.a!, 1, 0], [so.b!, 1, 32]]),
        ...btfFuncProto(1, [[so.a!, 1]]),
        ...btfRef(BtfKind.FUNC, so.f!, 3),
        ...btfRef(BtfKind.PTR, 0, 1),
        so.v!, btfInfo(BtfKind.VAR), 1, 1,
        so[".data"]!, btfInfo(BtfKind.DATASEC, 1), 4, 6, 0, 4,
      ];
      const btf = mustLoad(ctx, btfBlob({ types, strings: s.bytes }), "int, pair, FUNC_PROTO, FUNC, PTR, VAR, DATASEC");
      const dataArray = { mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, btfKeyTypeId: 0, btfValueTypeId: 7 };
      const base = { mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 1, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: 2 };
      const c = new Checks("MAP_CREATE with BTF");
      const rows: Array<[string, object, Expect]> = [
        ["the valid HASH", {}, "OK"],
        ["a key type without a value type", { btfValueTypeId: 0 }, "EINVAL"],
        ["value_size 4 for an 8-byte value type", { valueSize: 4 }, "EINVAL"],
        ["value_size 16 for an 8-byte value type", { valueSize: 16 }, "EINVAL"],
        ["key_size 8 for a 4-byte key type", { keySize: 8 }, "EINVAL"],
        ["a HASH without a key type", { btfKeyTypeId: 0 }, "EINVAL"],
        ["a value type past the last", { btfValueTypeId: 8 }, "EINVAL"],
        ["a key type past the last", { btfKeyTypeId: 8 }, "EINVAL"],
        ["a value type that is a FUNC_PROTO", { btfValueTypeId: 3 }, "EINVAL"],
        ["a value type that is a FUNC", { btfValueTypeId: 4 }, "EINVAL"],
        ["a value type that is a PTR (8 bytes)", { btfValueTypeId: 5 }, "OK"],
        ["a key type that is the struct (8 bytes) with key_size 8", { keySize: 8, btfKeyTypeId: 2 }, "OK"],
        // array_map_check_btf: only a one-element ARRAY whose value is a DATASEC (a .data
        // section) may leave the key type out.
        ["an ARRAY without a key type, value DATASEC, max_entries 1", dataArray, "OK"],
        ["the same ARRAY with max_entries 2", { ...dataArray, maxEntries: 2 }, "EINVAL"],
        ["the same ARRAY with value_size 8 (the DATASEC is 4)", { ...dataArray, valueSize: 8 }, "EINVAL"],
        ["an ARRAY without a key type, value struct", { ...dataArray, valueSize: 8, btfValueTypeId: 2 }, "EINVAL"],
        ["an ARRAY with key int, value DATASEC", { ...dataArray, btfKeyTypeId: 1 }, "OK"],
        ["btf_fd of a map", { btfFd: ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }) }, "EINVAL"],
        ["btf_fd of a program", { btfFd: ctx.prog() }, "EINVAL"],
        ["btf_fd closed", { btfFd: ctx.closedFd() }, "EBADF"],
      ];
      for (const [what, change, want] of rows) c.result(ctx.tryCreate({ ...base, ...change }), want, what);
      c.done();
    },
  },
  {
    name: "btf.c btf_parse_fields, syscall.c map_check_btf: a struct bpf_spin_lock in the value; BPF_F_LOCK; the map types that may hold one",
    group: "btf",
    run(ctx) {
      const d = btfDriver(ctx);
      // [1] int, [2] struct bpf_spin_lock { int val; }, [3] struct v { int a; struct bpf_spin_lock l; } (8 bytes).
      const s = btfStrings("int", "bpf_spin_lock", "val", "v", "a", "l");
      const so = s.off as Record<string, number>;
      const types = [
        ...btfInt(so.int!, 4, 32, BTF_INT_SIGNED),
        ...btfStruct(so.bpf_spin_lock!, 4, [[so.val!, 1, 0]]),
        ...btfStruct(so.v!, 8, [[so.a!, 1, 0], [so.l!, 2, 32]]),
      ];
      const btf = mustLoad(ctx, btfBlob({ types, strings: s.bytes }), "a value struct with a bpf_spin_lock");
      const c = new Checks("a spin lock in the value");
      const locked = (mapType: number, extra: object = {}) =>
        ({ mapType, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: 3, ...extra });
      c.result(ctx.tryCreate(locked(PERCPU_HASH)), "EOPNOTSUPP", "PERCPU_HASH");
      c.result(ctx.tryCreate(locked(LRU_HASH)), "EOPNOTSUPP", "LRU_HASH");
      c.result(ctx.tryCreate(locked(LPM_TRIE, { keySize: 8, btfKeyTypeId: 3, mapFlags: 1 })), "EOPNOTSUPP", "LPM_TRIE");
      const key = new Uint8Array(4), value = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      // The lock's bytes are never the caller's: an update leaves them, a lookup gives them as 0.
      const afterLock = new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0]);
      for (const [name, mapType] of [["HASH", HASH], ["ARRAY", ARRAY]] as const) {
        const m = ctx.tryCreate(locked(mapType));
        if (!c.result(m, "OK", name)) continue;
        c.result(d.mapUpdateElem(m, key, value, F_LOCK), "OK", `${name}: update with BPF_F_LOCK`);
        const out = new Uint8Array(8).fill(0xee);
        c.result(d.mapLookupElem(m, key, out, F_LOCK), "OK", `${name}: lookup with BPF_F_LOCK`);
        c.step(() => expectBytes(out, afterLock, `${name}: the value looked up with BPF_F_LOCK`));
        out.fill(0xee);
        c.result(d.mapLookupElem(m, key, out), "OK", `${name}: lookup without it`);
        c.step(() => expectBytes(out, afterLock, `${name}: the value looked up without BPF_F_LOCK`));
        c.result(d.mapUpdateElem(m, key, value, F_LOCK | EXIST), "OK", `${name}: update with BPF_F_LOCK | BPF_EXIST`);
        c.result(d.mapUpdateElem(m, key, value, F_LOCK | NOEXIST), "EEXIST", `${name}: update with BPF_F_LOCK | BPF_NOEXIST of a present key`);
        c.result(d.mapLookupElem(m, key, out, 8), "EINVAL", `${name}: lookup with flag 8`);
      }
      // A map without BTF has no lock: BPF_F_LOCK is EINVAL both ways.
      const plain = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
      c.result(d.mapUpdateElem(plain, key, value, F_LOCK), "EINVAL", "update with BPF_F_LOCK, no BTF");
      c.result(d.mapLookupElem(plain, key, new Uint8Array(8), F_LOCK), "EINVAL", "lookup with BPF_F_LOCK, no BTF");
      // Two locks in one struct: the load itself is refused (one bpf_spin_lock a struct).
      const two = btfBlob({ types: [...types.slice(0, 4 + 3 + 3), ...btfStruct(so.v!, 8, [[so.l!, 2, 0], [so.a!, 2, 32]])], strings: s.bytes });
      c.result(load(ctx, two), "E2BIG", "a struct with two bpf_spin_locks");
      c.done();
    },
  },
  {
    name: "btf.c btf_put: a map holds its BTF (by id, with every BTF fd closed); the id is gone once the map is freed",
    group: "btf",
    run(ctx) {
      const d = btfDriver(ctx);
      const btf = mustLoad(ctx, pairBlob(), "the valid blob");
      const id = btfInfoOf(ctx, btf).id;
      const m = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 1, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: 2 });
      ctx.close(btf);
      const c = new Checks("the BTF's lifetime");
      const held = ctx.own(d.btfGetFdById(id));
      if (c.result(held, "OK", "BTF_GET_FD_BY_ID with only the map holding it")) ctx.close(held);
      c.equal(ctx.info(m).btfId, id, "the map's btf_id");
      ctx.close(m);
      // The kernel frees a map (and puts its BTF) in deferred work: the id goes soon after.
      c.result(openUntilGone(d, () => d.btfGetFdById(id)), "ENOENT", `BTF_GET_FD_BY_ID(${id}) within 5 s of the map's close`);
      c.done();
    },
  },
];

/** A btfGetInfo answer as a number: the -errno, or 0 for an info. */
function errOf(r: BtfInfo | number): number {
  return typeof r === "number" ? r : 0;
}
