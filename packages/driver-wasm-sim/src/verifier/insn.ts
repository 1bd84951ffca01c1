// BPF instruction encoding (include/uapi/linux/bpf.h) and the opcodes 6.18 accepts from user
// space (bpf_opcode_in_insntable).
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const CLS = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;
/** BPF_OP of ALU and JMP classes. */
export const OP = {
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70, NEG: 0x80,
  MOD: 0x90, XOR: 0xa0, MOV: 0xb0, ARSH: 0xc0, END: 0xd0,
} as const;
export const JOP = {
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40, JNE: 0x50, JSGT: 0x60, JSGE: 0x70, CALL: 0x80,
  EXIT: 0x90, JLT: 0xa0, JLE: 0xb0, JSLT: 0xc0, JSLE: 0xd0, JCOND: 0xe0,
} as const;
/** BPF_SRC: the register form (and, for BPF_END, BPF_TO_BE). */
export const SRC_X = 0x08;
export const LD_IMM64 = 0x18;
/** ld_imm64 src_reg values. */
export const PSEUDO = { MAP_FD: 1, MAP_VALUE: 2, BTF_ID: 3, FUNC: 4, MAP_IDX: 5, MAP_IDX_VALUE: 6 } as const;
/** The kernel's hidden scratch register (BPF_REG_AX) that rewrites use. */
export const REG_AX = 11;
export const MAX_BPF_REG = 11;
export const REG_FP = 10;

export const cls = (code: number): number => code & 0x07;
export const op = (code: number): number => code & 0xf0;
export const isX = (code: number): boolean => (code & SRC_X) !== 0;
export const isJmpClass = (code: number): boolean => cls(code) === CLS.JMP || cls(code) === CLS.JMP32;

export function decode(bytes: Uint8Array): Insn[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    out.push({ code: bytes[at]!, dst: bytes[at + 1]! & 0x0f, src: bytes[at + 1]! >> 4, off: dv.getInt16(at + 2, true), imm: dv.getInt32(at + 4, true) });
  }
  return out;
}

export const insnEqual = (a: Insn, b: Insn): boolean =>
  a.code === b.code && a.dst === b.dst && a.src === b.src && a.off === b.off && a.imm === b.imm;

/** A conditional jump (insn_is_cond_jump): every JMP32 but JA, every JMP but JA, EXIT and CALL. */
export function isCondJump(code: number): boolean {
  const o = op(code);
  if (cls(code) === CLS.JMP32) return o !== JOP.JA;
  if (cls(code) !== CLS.JMP) return false;
  return o !== JOP.JA && o !== JOP.EXIT && o !== JOP.CALL;
}

/** A jump's target offset: JMP32|JA (gotol) keeps it in imm. */
export const jumpOff = (i: Insn): number => (i.code === (CLS.JMP32 | JOP.JA) ? i.imm : i.off);

// Read off the 6.18 kernel: every code that is not refused as "unknown opcode" (0x0d, BPF_JMP |
// BPF_JA | BPF_X, came later).
const INSN_TABLE = new Set<number>([
  0x04, 0x05, 0x06, 0x07, 0x0c, 0x0f, 0x14, 0x15, 0x16, 0x17, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x24, 0x25,
  0x26, 0x27, 0x28, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x34, 0x35, 0x36, 0x37, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
  0x44, 0x45, 0x46, 0x47, 0x48, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x54, 0x55, 0x56, 0x57, 0x5c, 0x5d, 0x5e,
  0x5f, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x71, 0x72,
  0x73, 0x74, 0x75, 0x76, 0x77, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x81, 0x84, 0x85, 0x87, 0x89,
  0x91, 0x94, 0x95, 0x97, 0x9c, 0x9f, 0xa4, 0xa5, 0xa6, 0xa7, 0xac, 0xad, 0xae, 0xaf, 0xb4, 0xb5, 0xb6,
  0xb7, 0xbc, 0xbd, 0xbe, 0xbf, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd3, 0xd4,
  0xd5, 0xd6, 0xd7, 0xdb, 0xdc, 0xdd, 0xde, 0xe5, LD_IMM64,
]);

export const opcodeInInsnTable = (code: number): boolean => INSN_TABLE.has(code);
