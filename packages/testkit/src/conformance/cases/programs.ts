// PROG_LOAD as 6.18 answers it for the programs bpfkit and its feature probes load: the attr
// rules of bpf_prog_load (attach types, per-type return ranges), ld_imm64 map references, and
// the bpf_prog_info a loaded program reports. Checked as root on this kernel.
import type { ConformanceCase } from "../types.js";
import { readU32 } from "../context.js";
import type { CaseContext } from "../context.js";
import { Checks } from "./common.js";

/** One 8-byte instruction. */
export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = code;
  b[1] = dst | (src << 4);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}

export const EXIT = insn(0x95);

/** r0 = imm; exit */
export function ret(imm: number): Uint8Array {
  return Uint8Array.from([...insn(0xb7, 0, 0, 0, imm), ...EXIT]);
}

/** ld_imm64 r`dst` with src_reg `src`, imm `lo` and second half imm `hi`. */
export function ldImm64(dst: number, src: number, lo: number, hi = 0): number[] {
  return [...insn(0x18, dst, src, 0, lo), ...insn(0, 0, 0, 0, hi)];
}

/** PROG_LOAD's raw result; an fd it returns is closed after the case. */
export function load(ctx: CaseContext, progType: number, insns: Uint8Array | number[], expectedAttachType = 0): number {
  const bytes = insns instanceof Uint8Array ? insns : Uint8Array.from(insns);
  return ctx.own(ctx.driver.progLoad({ progType, insns: bytes, license: "GPL", expectedAttachType }));
}

/** The bpf_prog_info fields these cases compare. */
export function progInfo(ctx: CaseContext, fd: number): { xlated: number; verified: number; nrMapIds: number; ksyms: number; funcLens: number } {
  const b = new Uint8Array(232);
  const r = ctx.driver.objGetInfoByFd(fd, b);
  if (r < 0) throw new Error(`OBJ_GET_INFO_BY_FD of a program failed (${r})`);
  return { xlated: readU32(b, 20), nrMapIds: readU32(b, 52), ksyms: readU32(b, 104), funcLens: readU32(b, 108), verified: readU32(b, 216) };
}

export const progInfoCases: ConformanceCase[] = [
  {
    name: "prog info: nr_jited_ksyms and nr_jited_func_lens are 1 for a program of one function; xlated and verified counts",
    group: "prog-load",
    run(ctx) {
      const c = new Checks("prog info");
      const fd = load(ctx, 1, ret(0));
      if (c.result(fd, "OK", "load r0 = 0; exit")) {
        const i = progInfo(ctx, fd);
        c.equal(i.ksyms, 1, "nr_jited_ksyms (func_cnt ?: 1)");
        c.equal(i.funcLens, 1, "nr_jited_func_lens (func_cnt ?: 1)");
        c.equal(i.xlated, 16, "xlated_prog_len");
        c.equal(i.verified, 2, "verified_insns");
      }
      c.done();
    },
  },
];
