// Programs loaded with BTF on the real bpf(2): prog_btf_fd, func_info and line_info through the
// kernel driver, the verifier's refusals as 6.18 words them, and bpf_prog_info's btf_id. Every
// fd is closed; the file ends with the fds it started with (kernelForFile).
import { expect, it } from "vitest";
import {
  BPF_FUNC_INFO, BPF_LINE_INFO, BtfBuilder, BtfIntEncoding, decodeProgInfo, Errno, PROG_INFO_SIZE, PROG_LOAD_ATTR, ProgType,
  type Driver, type Layout,
} from "@bpfkit/core";
import type { KernelProgLoadAttr } from "@bpfkit/driver-kernel";
import { describeKernel, kernelForFile, noVmlinuxBtf, vmlinuxStructs, withFds } from "./helpers.js";

const k = kernelForFile();


/** One instruction: opcode, dst and src registers, offset, immediate. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return [...b];
}
const EXIT = insn(0x95, 0, 0, 0, 0);
const R0_0 = insn(0xb7, 0, 0, 0, 0);

/** `call sub` (BPF_CALL, src_reg BPF_PSEUDO_CALL, imm = the callee's distance); exit; sub: r0 = 0; exit. */
const TWO_FUNCS = new Uint8Array([...insn(0x85, 0, 1, 0, 1), ...EXIT, ...R0_0, ...EXIT]);
/** sub's first instruction in TWO_FUNCS. */
const SUB_AT = 2;

/**
 * bpf_loop(1, cb, NULL, 0) with `cb` passed by ld_imm64 src_reg BPF_PSEUDO_FUNC (a callback,
 * which needs func_info); cb returns 0. cb starts at instruction 8.
 */
const LOOP = new Uint8Array([
  ...insn(0xb7, 1, 0, 0, 1), ...insn(0x18, 2, 4, 0, 6), ...insn(0, 0, 0, 0, 0),
  ...insn(0xb7, 3, 0, 0, 0), ...insn(0xb7, 4, 0, 0, 0), ...insn(0x85, 0, 0, 0, 181), ...R0_0, ...EXIT,
  ...R0_0, ...EXIT,
]);
const CB_AT = 8;

/** BTF with `int`, `int (void)`, FUNC main and FUNC sub (static), and strings for line_info. */
function progBtf() {
  const b = new BtfBuilder();
  const int = b.int("int", 4, BtfIntEncoding.SIGNED);
  const proto = b.funcProto(int, []);
  const main = b.func("main", proto);
  const sub = b.func("sub", proto);
  const file = b.addString("prog.c");
  const line = b.addString("return sub();");
  return { blob: b.encode(), int, main, sub, file, line };
}

/** Packed records of `recSize` bytes, each row's u32 words from the record's start. */
function records(rows: readonly (readonly number[])[], recSize: number): Uint8Array {
  const out = new Uint8Array(rows.length * recSize);
  const dv = new DataView(out.buffer);
  rows.forEach((row, i) => row.forEach((w, j) => dv.setUint32(i * recSize + 4 * j, w, true)));
  return out;
}

interface Loaded {
  fd: number;
  log: string[];
}

/** A socket filter loaded with a level-1 log: its fd or -errno, and the log's lines. */
function load(d: Driver, attr: Partial<KernelProgLoadAttr>): Loaded {
  const log = new Uint8Array(1 << 16);
  const fd = d.progLoad({ progType: ProgType.SocketFilter, insns: TWO_FUNCS, license: "GPL", logLevel: 1, log, ...attr } as KernelProgLoadAttr);
  return { fd, log: Buffer.from(log.subarray(0, log.indexOf(0))).toString("latin1").split("\n").filter((l) => l !== "") };
}

function progInfo(d: Driver, fd: number) {
  const buf = new Uint8Array(PROG_INFO_SIZE);
  expect(d.objGetInfoByFd(fd, buf)).toBe(PROG_INFO_SIZE);
  return decodeProgInfo(buf);
}

/** The members of the running kernel's struct that starts with `first`, as "name byte-offset". */
function kernelMembers(first: readonly string[]): string[] {
  return vmlinuxStructs().find((s) => first.every((n, i) => s.members[i]?.startsWith(`${n} `)))?.members ?? [];
}

describeKernel("kernel driver: programs with BTF (prog_btf_fd, func_info, line_info)", () => {
  it.skipIf(noVmlinuxBtf !== undefined)("PROG_LOAD_ATTR is the running kernel's BPF_PROG_LOAD struct through log_true_size; bpf_func_info and bpf_line_info its records", () => {
    // attach_prog_fd shares an anonymous union with attach_btf_obj_fd: the struct's member there has no name.
    const names = PROG_LOAD_ATTR.fields.map((f) => f.name === "attach_prog_fd" ? "" : f.name);
    expect(kernelMembers(names).slice(0, names.length)).toEqual(PROG_LOAD_ATTR.fields.map((f, i) => `${names[i]} ${f.offset}`));
    for (const l of [BPF_FUNC_INFO, BPF_LINE_INFO] as Layout<string>[]) {
      const fields = l.fields.map((f) => f.name);
      expect(kernelMembers(fields), l.name).toEqual(l.fields.map((f) => `${f.name} ${f.offset}`));
    }
    expect([BPF_FUNC_INFO.size, BPF_LINE_INFO.size]).toEqual([8, 16]);
  });

  it("a BPF-to-BPF call loads with func_info: btf_id, nr_func_info and nr_line_info in its info", () => {
    const { d } = k;
    const t = progBtf();
    withFds(d, (keep) => {
      const btf = keep(d.btfLoad!({ btf: t.blob }));
      const btfId = (d.btfGetInfo!(btf, null) as { id: number }).id;
      const plain = keep(load(d, {}).fd);
      expect(progInfo(d, plain)).toMatchObject({ btfId: 0, nrFuncInfo: 0, nrLineInfo: 0 });
      const funcInfo = records([[0, t.main], [SUB_AT, t.sub]], 8);
      const withFuncs = keep(load(d, { progBtfFd: btf, funcInfo }).fd);
      expect(progInfo(d, withFuncs)).toMatchObject({ btfId, nrFuncInfo: 2, nrLineInfo: 0 });
      const lineInfo = records([[0, t.file, t.line, (3 << 10) | 5], [SUB_AT, t.file, t.line, 7 << 10]], 16);
      const withLines = keep(load(d, { progBtfFd: btf, funcInfo, lineInfo }).fd);
      expect(progInfo(d, withLines)).toMatchObject({ btfId, nrFuncInfo: 2, nrLineInfo: 2 });
      // Records larger than the kernel's struct load when their tail is zero.
      const wide = keep(load(d, { progBtfFd: btf, funcInfo: records([[0, t.main, 0], [SUB_AT, t.sub, 0]], 12), funcInfoRecSize: 12 }).fd);
      expect(progInfo(d, wide).nrFuncInfo).toBe(2);
    });
  });

  it("a callback (BPF_PSEUDO_FUNC for bpf_loop) is refused without func_info, as 6.18 says it, and loads with it", () => {
    const { d } = k;
    const t = progBtf();
    withFds(d, (keep) => {
      const bare = load(d, { insns: LOOP });
      expect(bare.fd).toBe(-Errno.EINVAL);
      expect(bare.log).toContain("missing btf func_info");
      const btf = keep(d.btfLoad!({ btf: t.blob }));
      const ok = load(d, { insns: LOOP, progBtfFd: btf, funcInfo: records([[0, t.main], [CB_AT, t.sub]], 8) });
      expect(keep(ok.fd)).toBeGreaterThan(2);
      expect(progInfo(d, ok.fd).nrFuncInfo).toBe(2);
    });
  });

  it("the verifier's refusals: rec size, offsets, types, counts, the BTF fd, line_info", () => {
    const { d } = k;
    const t = progBtf();
    withFds(d, (keep) => {
      const btf = keep(d.btfLoad!({ btf: t.blob }));
      const map = keep(d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }));
      const funcInfo = records([[0, t.main], [SUB_AT, t.sub]], 8);
      const f = (rows: number[][], recSize = 8) => ({ progBtfFd: btf, funcInfo: records(rows, recSize), funcInfoRecSize: recSize });
      const cases: [string, Partial<KernelProgLoadAttr>, number, string | undefined][] = [
        ["rec size 4", f([[0], [SUB_AT]], 4), Errno.EINVAL, "invalid func info rec size 4"],
        ["rec size 10", f([[0, t.main], [SUB_AT, t.sub]], 10), Errno.EINVAL, "invalid func info rec size 10"],
        ["rec size 256 (past 252)", f([[0, t.main], [SUB_AT, t.sub]], 256), Errno.EINVAL, "invalid func info rec size 256"],
        ["a nonzero tail", f([[0, t.main, 1], [SUB_AT, t.sub, 0]], 12), Errno.E2BIG, "nonzero tailing record in func info"],
        ["first insn_off 1", f([[1, t.main], [SUB_AT, t.sub]]), Errno.EINVAL, "nonzero insn_off 1 for the first func info record"],
        ["offsets not rising", f([[0, t.main], [0, t.sub]]), Errno.EINVAL, "same or smaller insn offset (0) than previous func info record (0)"],
        ["type an INT", f([[0, t.int], [SUB_AT, t.sub]]), Errno.EINVAL, `invalid type id ${t.int} in func info`],
        ["type past the last", f([[0, 99], [SUB_AT, t.sub]]), Errno.EINVAL, "invalid type id 99 in func info"],
        ["one record, two functions", f([[0, t.main]]), Errno.EINVAL, "number of funcs in func_info doesn't match number of subprogs"],
        ["sub's record elsewhere", f([[0, t.main], [3, t.sub]]), Errno.EINVAL, "func_info BTF section doesn't match subprog layout in BPF program"],
        ["prog_btf_fd not open", { progBtfFd: 9999, funcInfo }, Errno.EBADF, undefined],
        ["prog_btf_fd a map", { progBtfFd: map, funcInfo }, Errno.EINVAL, undefined],
        ["line rec size 12", { progBtfFd: btf, funcInfo, lineInfo: records([[0, t.file, t.line], [SUB_AT, t.file, t.line]], 12), lineInfoRecSize: 12 }, Errno.EINVAL, undefined],
        ["line first at 1", { progBtfFd: btf, funcInfo, lineInfo: records([[1, t.file, t.line, 1 << 10], [SUB_AT, t.file, t.line, 1 << 10]], 16) }, Errno.EINVAL, "missing bpf_line_info for func#0"],
        ["no line for sub", { progBtfFd: btf, funcInfo, lineInfo: records([[0, t.file, t.line, 1 << 10]], 16) }, Errno.EINVAL, "missing bpf_line_info for 1 funcs starting from func#1"],
        ["line past the end", { progBtfFd: btf, funcInfo, lineInfo: records([[0, t.file, t.line, 1 << 10], [9, t.file, t.line, 1 << 10]], 16) }, Errno.EINVAL, "Invalid line_info[1].insn_off:9 (prev_offset:0 prog->len:4)"],
        ["line string past the end", { progBtfFd: btf, funcInfo, lineInfo: records([[0, 9999, t.line, 1 << 10], [SUB_AT, t.file, t.line, 1 << 10]], 16) }, Errno.EINVAL, "Invalid line_info[0].line_off or .file_name_off"],
      ];
      for (const [what, attr, errno, line] of cases) {
        const r = load(d, attr);
        expect(r.fd, what).toBe(-errno);
        // Some of the kernel's lines end without a newline: the next line runs on.
        if (line !== undefined) expect(r.log.some((l) => l.startsWith(line)), `${what}: ${JSON.stringify(r.log)}`).toBe(true);
      }
      // The rec size is not looked at when there are no records, nor the BTF fd.
      expect(keep(load(d, { progBtfFd: map, funcInfoRecSize: 3, lineInfoRecSize: 5 }).fd)).toBeGreaterThan(2);
    });
  });

  it("the program holds its BTF: closing the BTF's fd leaves it reachable by id while the program lives", () => {
    const { d } = k;
    const t = progBtf();
    withFds(d, (keep) => {
      const btf = d.btfLoad!({ btf: t.blob });
      expect(btf).toBeGreaterThan(2);
      const prog = keep(load(d, { progBtfFd: btf, funcInfo: records([[0, t.main], [SUB_AT, t.sub]], 8) }).fd);
      d.close(btf);
      const id = progInfo(d, prog).btfId;
      const again = keep(d.btfGetFdById!(id));
      expect(d.btfGetInfo!(again, null)).toMatchObject({ id, btfSize: t.blob.length });
    });
  });

  it("a record array that is no whole number of records is a RangeError naming it, before any syscall", () => {
    const { d } = k;
    const attr = { progType: ProgType.SocketFilter, insns: TWO_FUNCS, license: "GPL" };
    expect(() => d.progLoad({ ...attr, funcInfo: new Uint8Array(12) })).toThrow(/BPF_PROG_LOAD: funcInfo is 12 bytes, not a whole number of 8-byte records \(funcInfoRecSize\)/);
    expect(() => d.progLoad({ ...attr, lineInfo: new Uint8Array(20) })).toThrow(/lineInfo is 20 bytes, not a whole number of 16-byte records/);
    expect(() => d.progLoad({ ...attr, funcInfo: new Uint8Array(8), funcInfoRecSize: 0 })).toThrow(RangeError);
    expect(() => d.progLoad({ ...attr, funcInfoRecSize: -1 })).toThrow(/funcInfoRecSize -1 is not a u32/);
    expect(() => d.progLoad({ ...attr, funcInfo: [0, 0] as unknown as Uint8Array })).toThrow(TypeError);
    expect(() => d.progLoad({ ...attr, progBtfFd: 1.5 })).toThrow(TypeError);
  });
});
