// PROG_LOAD with program BTF (prog_btf_fd, func_info, line_info), as the 6.18 verifier takes it
// (kernel/bpf/verifier.c): check_btf_info_early (the BTF by its fd, func_info's records) runs
// before the subprograms are found, check_btf_info (func_info against them, then line_info)
// after check_subprogs and before the ld_imm64s are resolved. Every answer was probed through
// the kernel driver. The programs are one function each, but for the early rules, which come
// before the verifier looks at any call (the simulator refuses BPF-to-BPF calls after them).
import type { Driver } from "@bpfkit/core";
import { CaseSkipped, fail, show, type Expect } from "../assert.js";
import { BTF_INT_SIGNED, btfBlob, btfFuncProto, btfInt, BtfKind, btfRef, btfStrings } from "../btf-blob.js";
import type { CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { ARRAY, Checks, openUntilGone } from "./common.js";
import { EXIT, insn, ldImm64 } from "./programs.js";

type BtfDriver = Driver & Required<Pick<Driver, "btfLoad" | "btfGetFdById" | "btfGetNextId" | "btfGetInfo">>;

function btfDriver(ctx: CaseContext): BtfDriver {
  const d = ctx.driver;
  if (typeof d.btfLoad !== "function") {
    throw new CaseSkipped(`${d.kind} has no btfLoad (optional, with btfGetFdById, btfGetNextId and btfGetInfo): no BTF to load a program with`);
  }
  return d as BtfDriver;
}

const S = btfStrings("int", "main", "sub", "prog.c", "return 0;", "myint", "tsub", "vsub");
/**
 * [1] int, [2] int (void), [3] FUNC main, [4] FUNC sub (static), [5] typedef myint, [6] myint
 * (void), [7] FUNC tsub, [8] void (void), [9] FUNC vsub, and the strings line_info names.
 */
const TYPES = [
  ...btfInt(S.off.int!, 4, 32, BTF_INT_SIGNED), ...btfFuncProto(1, []),
  ...btfRef(BtfKind.FUNC, S.off.main!, 2), ...btfRef(BtfKind.FUNC, S.off.sub!, 2),
  ...btfRef(BtfKind.TYPEDEF, S.off.myint!, 1), ...btfFuncProto(5, []), ...btfRef(BtfKind.FUNC, S.off.tsub!, 6),
  ...btfFuncProto(0, []), ...btfRef(BtfKind.FUNC, S.off.vsub!, 8),
];
const INT = 1, MAIN = 3, SUB = 4, TYPEDEF_SUB = 7, VOID_SUB = 9;
/** One past the last type id. */
const PAST_TYPES = 10;
const FILE = S.off["prog.c"]!, LINE = S.off["return 0;"]!;
/** One past the string section's last byte: no string starts there. */
const PAST_STRINGS = S.bytes.length;

/** r0 = 0; exit. */
const RET0 = [...insn(0xb7), ...EXIT];
/** `call sub` (BPF_PSEUDO_CALL); exit; sub: r0 = 0; exit. sub starts at insn 2. */
const TWO_FUNCS = [...insn(0x85, 0, 1, 0, 1), ...EXIT, ...RET0];
/** r0 = 0 as an ld_imm64 (insn 1 is its second half, code 0); exit. */
const LDIMM = [...ldImm64(0, 0, 0), ...EXIT];
/** A jump past the end (check_subprogs' "jump out of range"); exit. */
const JUMP_OUT = [...insn(0x05, 0, 0, 5), ...EXIT];
/** ld_imm64 r1 = map fd `fd`; r0 = 0; exit. */
const usingMap = (fd: number) => [...ldImm64(1, 1, fd), ...RET0];
/** `n` calls, each to a function of its own (r0 = 0; exit), then exit. */
function manyFunctions(n: number): number[] {
  const calls: number[] = [];
  for (let i = 0; i < n; i++) calls.push(...insn(0x85, 0, 1, 0, n - i + 2 * i));
  return [...calls, ...EXIT, ...Array.from({ length: n }, () => RET0).flat()];
}

/** Packed records of `recSize` bytes: each row's u32 words from its record's start (those that fit), the rest 0. */
function records(rows: readonly (readonly number[])[], recSize: number): Uint8Array {
  const out = new Uint8Array(rows.length * recSize);
  const dv = new DataView(out.buffer);
  rows.forEach((row, i) => row.forEach((w, j) => { if (4 * j + 4 <= recSize) dv.setUint32(i * recSize + 4 * j, w >>> 0, true); }));
  return out;
}
const funcs = (...rows: (readonly number[])[]) => records(rows, 8);
const lines = (...rows: (readonly number[])[]) => records(rows, 16);

interface Load {
  insns?: number[];
  progBtfFd?: number;
  funcInfo?: Uint8Array;
  funcInfoRecSize?: number;
  lineInfo?: Uint8Array;
  lineInfoRecSize?: number;
}

/** A socket filter's PROG_LOAD (RET0 unless `l.insns`); an fd it returns is closed after the case. */
function load(ctx: CaseContext, l: Load): number {
  const { insns = RET0, ...rest } = l;
  return ctx.own(ctx.driver.progLoad({ progType: 1, insns: Uint8Array.from(insns), license: "GPL", ...rest }));
}

/** The case's BTF, loaded; its fd is closed after the case. */
function progBtf(ctx: CaseContext): number {
  const fd = ctx.own(btfDriver(ctx).btfLoad({ btf: btfBlob({ types: TYPES, strings: S.bytes }) }));
  if (fd < 0) fail(`BTF_LOAD of the program BTF failed with ${show(fd)}`);
  return fd;
}

function btfIdOf(ctx: CaseContext, fd: number): number {
  const r = btfDriver(ctx).btfGetInfo(fd, null);
  if (typeof r === "number") fail(`bpf_btf_info of fd ${fd} failed with ${show(r)}`);
  return r.id;
}

/** bpf_prog_info's btf_id, nr_func_info and nr_line_info (offsets 128, 144, 148). */
function progBtfInfo(ctx: CaseContext, fd: number): string {
  const b = new Uint8Array(232);
  const r = ctx.driver.objGetInfoByFd(fd, b);
  if (r < 0) fail(`OBJ_GET_INFO_BY_FD of a program failed with ${show(r)}`);
  const dv = new DataView(b.buffer);
  return `btf_id ${dv.getUint32(128, true)}, nr_func_info ${dv.getUint32(144, true)}, nr_line_info ${dv.getUint32(148, true)}`;
}

/** Each row loaded, its answer compared. */
function rows(ctx: CaseContext, title: string, table: readonly (readonly [what: string, l: Load, want: Expect])[]): void {
  const c = new Checks(title);
  for (const [what, l, want] of table) c.result(load(ctx, l), want, what);
  c.done();
}

export const progBtfCases: ConformanceCase[] = [
  {
    name: "verifier.c check_btf_info_early: prog_btf_fd is read only with records; not open is EBADF, a map's or fd 0 EINVAL, for a program with a call too",
    group: "prog-btf",
    run(ctx) {
      const btf = progBtf(ctx);
      const map = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const f = funcs([0, MAIN]);
      rows(ctx, "prog_btf_fd", [
        ["no records, prog_btf_fd a map's and the rec sizes 3 and 5", { progBtfFd: map, funcInfoRecSize: 3, lineInfoRecSize: 5 }, "OK"],
        ["no records, prog_btf_fd not open", { progBtfFd: ctx.closedFd() }, "OK"],
        ["func_info, prog_btf_fd not open", { progBtfFd: ctx.closedFd(), funcInfo: f }, "EBADF"],
        ["func_info, prog_btf_fd a map's", { progBtfFd: map, funcInfo: f }, "EINVAL"],
        ["func_info, prog_btf_fd 0 (stdin, no BTF)", { progBtfFd: 0, funcInfo: f }, "EINVAL"],
        ["line_info alone, prog_btf_fd not open", { progBtfFd: ctx.closedFd(), lineInfo: lines([0, FILE, LINE, 1 << 10]) }, "EBADF"],
        ["func_info, the BTF's fd", { progBtfFd: btf, funcInfo: f }, "OK"],
        // The BTF is taken before add_subprog_and_kfunc looks at the call.
        ["a program with a call, prog_btf_fd not open", { insns: TWO_FUNCS, progBtfFd: ctx.closedFd(), funcInfo: funcs([0, MAIN], [2, SUB]) }, "EBADF"],
      ]);
    },
  },
  {
    name: "verifier.c check_btf_func_early: func_info_rec_size 8..252 in steps of 4; a record's bytes past 8 must be 0 (E2BIG)",
    group: "prog-btf",
    run(ctx) {
      const btf = progBtf(ctx);
      const at = (recSize: number, tail = 0) => {
        const r = records([[0, MAIN]], recSize);
        if (tail !== 0) r[recSize - 1] = tail;
        return { progBtfFd: btf, funcInfo: r, funcInfoRecSize: recSize };
      };
      rows(ctx, "func_info_rec_size", [
        ["rec size 4", at(4), "EINVAL"], ["rec size 10", at(10), "EINVAL"], ["rec size 256", at(256), "EINVAL"],
        ["rec size 4100 (past a page)", at(4100), "EINVAL"],
        ["rec size 8", at(8), "OK"], ["rec size 12, tail 0", at(12), "OK"], ["rec size 252, tail 0", at(252), "OK"],
        ["rec size 12, tail 1", at(12, 1), "E2BIG"], ["rec size 252, last byte 1", at(252, 1), "E2BIG"],
        // The first record's bad type is met before the second record's tail.
        ["record 0 of type INT, record 1 with a tail", { progBtfFd: btf, funcInfo: records([[0, INT], [1, MAIN, 1]], 12), funcInfoRecSize: 12 }, "EINVAL"],
        ["record 0 good, record 1 with a tail", { progBtfFd: btf, funcInfo: records([[0, MAIN], [1, MAIN, 1]], 12), funcInfoRecSize: 12 }, "E2BIG"],
        ["a program with a call, a tail", { insns: TWO_FUNCS, progBtfFd: btf, funcInfo: records([[0, MAIN, 1], [2, SUB]], 12), funcInfoRecSize: 12 }, "E2BIG"],
      ]);
    },
  },
  {
    name: "verifier.c check_btf_func_early and check_btf_func: insn_off 0 first and rising, each type a FUNC, one record per function",
    group: "prog-btf",
    run(ctx) {
      const btf = progBtf(ctx);
      const f = (...r: (readonly number[])[]) => ({ progBtfFd: btf, funcInfo: funcs(...r) });
      rows(ctx, "func_info records", [
        ["main at 0, a FUNC", f([0, MAIN]), "OK"],
        ["sub (another FUNC) for the main program", f([0, SUB]), "OK"],
        ["first insn_off 1", f([1, MAIN]), "EINVAL"],
        ["type INT", f([0, INT]), "EINVAL"],
        ["type 2, the FUNC_PROTO", f([0, 2]), "EINVAL"],
        ["type 0 (void)", f([0, 0]), "EINVAL"],
        ["type 10, past the last", f([0, PAST_TYPES]), "EINVAL"],
        ["two records at 0", f([0, MAIN], [0, SUB]), "EINVAL"],
        ["two records, rising, for one function", f([0, MAIN], [1, SUB]), "EINVAL"],
        ["a program with a call, first insn_off 1", { insns: TWO_FUNCS, ...f([1, MAIN], [2, SUB]) }, "EINVAL"],
        ["a program with a call, offsets falling", { insns: TWO_FUNCS, ...f([0, MAIN], [0, SUB]) }, "EINVAL"],
      ]);
    },
  },
  {
    name: "verifier.c check_btf_line: rec size 16..252, insn_off rising inside the program and not an ld_imm64's second half, strings inside the section",
    group: "prog-btf",
    run(ctx) {
      const btf = progBtf(ctx);
      const l = (insns: number[], lineInfo: Uint8Array, lineInfoRecSize?: number): Load =>
        ({ insns, progBtfFd: btf, funcInfo: funcs([0, MAIN]), lineInfo, ...(lineInfoRecSize === undefined ? {} : { lineInfoRecSize }) });
      const sized = (recSize: number, tail = 0) => {
        const r = records([[0, FILE, LINE, 1 << 10]], recSize);
        if (tail !== 0) r[recSize - 1] = tail;
        return l(RET0, r, recSize);
      };
      rows(ctx, "line_info", [
        ["one line at 0", l(RET0, lines([0, FILE, LINE, (3 << 10) | 7])), "OK"],
        ["a line on each insn", l(RET0, lines([0, FILE, LINE, 1 << 10], [1, FILE, LINE, 2 << 10])), "OK"],
        ["string offsets 0 (\"\")", l(RET0, lines([0, 0, 0, 0])), "OK"],
        ["line_info without func_info", { progBtfFd: btf, lineInfo: lines([0, FILE, LINE, 1 << 10]) }, "OK"],
        ["rec size 8", sized(8), "EINVAL"], ["rec size 12", sized(12), "EINVAL"], ["rec size 18", sized(18), "EINVAL"],
        ["rec size 256", sized(256), "EINVAL"], ["rec size 20, tail 0", sized(20), "OK"], ["rec size 252, tail 0", sized(252), "OK"],
        ["rec size 20, tail 1", sized(20, 1), "E2BIG"],
        ["first line at 1 (none for func#0)", l(RET0, lines([1, FILE, LINE, 1 << 10])), "EINVAL"],
        ["two lines at 0", l(RET0, lines([0, FILE, LINE, 1 << 10], [0, FILE, LINE, 2 << 10])), "EINVAL"],
        ["a line at 2, past the end", l(RET0, lines([0, FILE, LINE, 1 << 10], [2, FILE, LINE, 2 << 10])), "EINVAL"],
        ["a line on an ld_imm64's second half", l(LDIMM, lines([0, FILE, LINE, 1 << 10], [1, FILE, LINE, 2 << 10])), "EINVAL"],
        ["a line after the ld_imm64", l(LDIMM, lines([0, FILE, LINE, 1 << 10], [2, FILE, LINE, 2 << 10])), "OK"],
        ["file_name_off past the strings", l(RET0, lines([0, PAST_STRINGS, LINE, 1 << 10])), "EINVAL"],
        ["line_off past the strings", l(RET0, lines([0, FILE, PAST_STRINGS, 1 << 10])), "EINVAL"],
        ["line_off at the last NUL", l(RET0, lines([0, FILE, PAST_STRINGS - 1, 1 << 10])), "OK"],
        // func_info is matched before line_info is read.
        ["two func records for one function, a line with a tail", { progBtfFd: btf, funcInfo: funcs([0, MAIN], [1, SUB]), lineInfo: records([[0, FILE, LINE, 1 << 10, 1]], 20), lineInfoRecSize: 20 }, "EINVAL"],
      ]);
    },
  },
  {
    name: "verifier.c bpf_check: the BTF checks' place among the passes (early before check_subprogs, line_info after it, both before the ld_imm64s)",
    group: "prog-btf",
    run(ctx) {
      const btf = progBtf(ctx);
      const tail = (n: number) => { const r = records([[0, MAIN]], 12); r[11] = n; return r; };
      const lineTail = () => { const r = records([[0, FILE, LINE, 1 << 10]], 20); r[19] = 1; return r; };
      const noMap = ctx.closedFd();
      rows(ctx, "order", [
        ["a map fd not open, func_info with a tail", { insns: usingMap(noMap), progBtfFd: btf, funcInfo: tail(1), funcInfoRecSize: 12 }, "E2BIG"],
        ["a map fd not open, func_info of type INT", { insns: usingMap(noMap), progBtfFd: btf, funcInfo: funcs([0, INT]) }, "EINVAL"],
        ["a map fd not open, line_info with a tail", { insns: usingMap(noMap), progBtfFd: btf, funcInfo: funcs([0, MAIN]), lineInfo: lineTail(), lineInfoRecSize: 20 }, "E2BIG"],
        ["a map fd not open, good BTF", { insns: usingMap(noMap), progBtfFd: btf, funcInfo: funcs([0, MAIN]) }, "EBADF"],
        ["a jump out of range, func_info with a tail", { insns: JUMP_OUT, progBtfFd: btf, funcInfo: tail(1), funcInfoRecSize: 12 }, "E2BIG"],
        ["a jump out of range, line_info with a tail", { insns: JUMP_OUT, progBtfFd: btf, funcInfo: funcs([0, MAIN]), lineInfo: lineTail(), lineInfoRecSize: 20 }, "EINVAL"],
      ]);
    },
  },
  {
    name: "verifier.c add_subprog_and_kfunc, check_subprogs, check_btf_info: a program of several functions, up to resolve_pseudo_ldimm64",
    group: "prog-btf",
    run(ctx) {
      const btf = progBtf(ctx);
      // Each program starts with an ld_imm64 of a map fd that is not open: EBADF is the
      // answer of resolve_pseudo_ldimm64, so an earlier pass's refusal shows as another errno.
      const noMap = ldImm64(1, 1, ctx.closedFd());
      const call = (to: number) => insn(0x85, 0, 1, 0, to);
      /** noMap; call sub; exit; sub (insn 4): `body`; r0 = 0; exit. */
      const withSub = (...body: number[][]) => [...noMap, ...call(1), ...EXIT, ...body.flat(), ...RET0];
      const tailCall = insn(0x85, 0, 0, 0, 12), ldAbs = insn(0x20);
      const f = (...r: (readonly number[])[]) => ({ progBtfFd: btf, funcInfo: funcs(...r) });
      rows(ctx, "functions", [
        ["a call, the map fd", { insns: withSub() }, "EBADF"],
        ["a call, func_info for both", { insns: withSub(), ...f([0, MAIN], [4, SUB]) }, "EBADF"],
        ["a call, one func_info record", { insns: withSub(), ...f([0, MAIN]) }, "EINVAL"],
        ["a call, sub's record at 5", { insns: withSub(), ...f([0, MAIN], [5, SUB]) }, "EINVAL"],
        ["a call, a line for each function", { insns: withSub(), ...f([0, MAIN], [4, SUB]), lineInfo: lines([0, FILE, LINE, 1 << 10], [4, FILE, LINE, 2 << 10]) }, "EBADF"],
        ["a call, no line for sub", { insns: withSub(), ...f([0, MAIN], [4, SUB]), lineInfo: lines([0, FILE, LINE, 1 << 10]) }, "EINVAL"],
        ["a call, a line with a tail", { insns: withSub(), ...f([0, MAIN], [4, SUB]), lineInfo: records([[0, FILE, LINE, 1 << 10, 1], [4, FILE, LINE, 1 << 10]], 20), lineInfoRecSize: 20 }, "E2BIG"],
        ["a call past the end", { insns: [...noMap, ...call(5), ...EXIT] }, "EINVAL"],
        ["a call before the start", { insns: [...noMap, ...call(-5), ...EXIT] }, "EINVAL"],
        ["a jump from main into sub", { insns: [...noMap, ...call(2), ...insn(0x05, 0, 0, 1), ...EXIT, ...RET0] }, "EINVAL"],
        ["main not ending in exit", { insns: [...noMap, ...call(1), ...insn(0xb7), ...RET0] }, "EINVAL"],
        ["a tail call in sub, no BTF", { insns: withSub(tailCall) }, "EINVAL"],
        ["a tail call in main, no BTF", { insns: [...noMap, ...tailCall, ...call(1), ...EXIT, ...RET0] }, "EBADF"],
        ["a tail call in sub returning int", { insns: withSub(tailCall), ...f([0, MAIN], [4, SUB]) }, "EBADF"],
        ["a tail call in sub returning a typedef of int", { insns: withSub(tailCall), ...f([0, MAIN], [4, TYPEDEF_SUB]) }, "EBADF"],
        ["a tail call in sub returning void", { insns: withSub(tailCall), ...f([0, MAIN], [4, VOID_SUB]) }, "EINVAL"],
        ["an LD_ABS in sub, no BTF", { insns: withSub(ldAbs) }, "EINVAL"],
        ["an LD_ABS in sub returning void", { insns: withSub(ldAbs), ...f([0, MAIN], [4, VOID_SUB]) }, "EINVAL"],
        ["a callback (ld_imm64 BPF_PSEUDO_FUNC) past the end", { insns: [...noMap, ...ldImm64(2, 4, 50), ...RET0] }, "EINVAL"],
        ["a callback to a function of its own", { insns: [...noMap, ...ldImm64(2, 4, 3), ...RET0, ...RET0] }, "EBADF"],
        // BPF_MAX_SUBPROGS is 256, the main program one of them (255 besides it load on the kernel).
        ["256 functions besides main", { insns: manyFunctions(256) }, "E2BIG"],
        ["256 functions besides main, prog_btf_fd not open", { insns: manyFunctions(256), progBtfFd: ctx.closedFd(), funcInfo: funcs([0, MAIN]) }, "EBADF"],
      ]);
    },
  },
  {
    name: "syscall.c bpf_prog_get_info_by_fd: btf_id, nr_func_info and nr_line_info of a program loaded with BTF",
    group: "prog-btf",
    run(ctx) {
      const btf = progBtf(ctx);
      const id = btfIdOf(ctx, btf);
      const c = new Checks("prog info");
      const cases: [string, Load, string][] = [
        ["no BTF", {}, "btf_id 0, nr_func_info 0, nr_line_info 0"],
        ["func_info", { progBtfFd: btf, funcInfo: funcs([0, MAIN]) }, `btf_id ${id}, nr_func_info 1, nr_line_info 0`],
        ["func_info and 2 lines", { progBtfFd: btf, funcInfo: funcs([0, MAIN]), lineInfo: lines([0, FILE, LINE, 1 << 10], [1, FILE, LINE, 2 << 10]) }, `btf_id ${id}, nr_func_info 1, nr_line_info 2`],
        ["line_info alone", { progBtfFd: btf, lineInfo: lines([0, FILE, LINE, 1 << 10]) }, `btf_id ${id}, nr_func_info 0, nr_line_info 1`],
        ["records of 12 bytes", { progBtfFd: btf, funcInfo: records([[0, MAIN]], 12), funcInfoRecSize: 12 }, `btf_id ${id}, nr_func_info 1, nr_line_info 0`],
      ];
      for (const [what, l, want] of cases) {
        const fd = load(ctx, l);
        if (c.result(fd, "OK", what)) c.equal(progBtfInfo(ctx, fd), want, what);
      }
      c.done();
    },
  },
  {
    name: "btf.c btf_put: a program holds its BTF, reachable by id after its fd is closed, gone with the program",
    group: "prog-btf",
    run(ctx) {
      const d = btfDriver(ctx);
      const btf = progBtf(ctx);
      const id = btfIdOf(ctx, btf);
      const c = new Checks("the program's BTF");
      const prog = load(ctx, { progBtfFd: btf, funcInfo: funcs([0, MAIN]) });
      if (!c.result(prog, "OK", "load with func_info")) return c.done();
      ctx.close(btf);
      const again = ctx.own(d.btfGetFdById(id));
      if (c.result(again, "OK", "BTF_GET_FD_BY_ID after the BTF's fd is closed")) {
        c.equal(btfIdOf(ctx, again), id, "the same BTF");
        ctx.close(again);
      }
      ctx.close(prog);
      c.result(openUntilGone(d, () => d.btfGetFdById(id)), "ENOENT", "BTF_GET_FD_BY_ID once the program is closed");
      c.done();
    },
  },
  {
    name: "Driver.progLoad: funcInfo or lineInfo that is no whole number of records is a RangeError naming it, before any syscall",
    group: "prog-btf",
    run(ctx) {
      const d = ctx.driver;
      const base = { progType: 1, insns: Uint8Array.from(RET0), license: "GPL" };
      const c = new Checks("record arrays");
      const throws = (what: string, attr: object, want: RegExp) => {
        try {
          const r = ctx.own(d.progLoad({ ...base, ...attr }));
          c.equal(show(r), "a RangeError", what);
        } catch (e) {
          c.equal(e instanceof RangeError && want.test(e.message), true, `${what}: ${String(e)}`);
        }
      };
      throws("funcInfo of 12 bytes, records of 8", { funcInfo: new Uint8Array(12) }, /funcInfo is 12 bytes, not a whole number of 8-byte records/);
      throws("lineInfo of 20 bytes, records of 16", { lineInfo: new Uint8Array(20) }, /lineInfo is 20 bytes, not a whole number of 16-byte records/);
      throws("funcInfo of 8 bytes, records of 0", { funcInfo: new Uint8Array(8), funcInfoRecSize: 0 }, /funcInfo is 8 bytes/);
      throws("funcInfoRecSize 2^32", { funcInfoRecSize: 2 ** 32 }, /funcInfoRecSize 4294967296 is not a u32/);
      c.done();
    },
  },
];
