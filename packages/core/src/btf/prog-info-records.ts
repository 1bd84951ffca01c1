// The records PROG_LOAD's func_info and line_info carry (`struct bpf_func_info`,
// `struct bpf_line_info`), packed as ProgLoadAttr's funcInfo and lineInfo take them. The
// encoders check what the records cannot hold (a u32 past 2^32, a line past 2^22, a column past
// 1023); what the verifier refuses (a first insn_off not 0, offsets not rising, a type that is
// no FUNC) is the kernel's or the simulator's to say.
import { BPF_FUNC_INFO, BPF_LINE_INFO } from "../layout.js";
import { describeValue } from "../describe-value.js";

/** One `struct bpf_func_info`: a function of the program from instruction `insnOff` on, and its BTF FUNC. */
export interface BpfFuncInfo {
  /** `insn_off`: the function's first instruction (0 for the main program). */
  insnOff: number;
  /** `type_id`: its BTF_KIND_FUNC in the program's BTF. */
  typeId: number;
}

/** One `struct bpf_line_info`: the source line instructions from `insnOff` on came from. */
export interface BpfLineInfo {
  /** `insn_off`: the first instruction of the line. */
  insnOff: number;
  /** `file_name_off`: the file's name, a string offset in the program's BTF (`BtfBuilder.addString`). */
  fileNameOff: number;
  /** `line_off`: the line's text, a string offset in the program's BTF. */
  lineOff: number;
  /** The line number, under 2^22 (BPF_LINE_INFO_LINE_NUM: `line_col >> 10`). */
  line: number;
  /** The column, under 1024 (BPF_LINE_INFO_LINE_COL: `line_col & 0x3ff`); 0 when left out. */
  column?: number;
}

const MAX_LINE = (1 << 22) - 1;
const MAX_COLUMN = 0x3ff;

function checkU32(where: string, field: string, v: unknown, max = 0xffff_ffff): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${where}: ${field} must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > max) throw new RangeError(`${where}: ${field} ${v} is not in [0, ${max}]`);
  return v;
}

function checkList<T>(what: string, list: readonly T[]): readonly T[] {
  if (!Array.isArray(list)) throw new TypeError(`${what}: records must be an array`);
  return list;
}

/** `records` as packed `struct bpf_func_info` (8 bytes each): ProgLoadAttr.funcInfo, with funcInfoRecSize left out. */
export function encodeFuncInfo(records: readonly BpfFuncInfo[]): Uint8Array {
  const size = BPF_FUNC_INFO.size, off = BPF_FUNC_INFO.off;
  const out = new Uint8Array(checkList("encodeFuncInfo", records).length * size);
  const dv = new DataView(out.buffer);
  records.forEach((r, i) => {
    const where = `encodeFuncInfo: record ${i}`;
    if (typeof r !== "object" || r === null) throw new TypeError(`${where} must be an object`);
    dv.setUint32(i * size + off.insn_off, checkU32(where, "insnOff", r.insnOff), true);
    dv.setUint32(i * size + off.type_id, checkU32(where, "typeId", r.typeId), true);
  });
  return out;
}

/** `records` as packed `struct bpf_line_info` (16 bytes each): ProgLoadAttr.lineInfo, with lineInfoRecSize left out. */
export function encodeLineInfo(records: readonly BpfLineInfo[]): Uint8Array {
  const size = BPF_LINE_INFO.size, off = BPF_LINE_INFO.off;
  const out = new Uint8Array(checkList("encodeLineInfo", records).length * size);
  const dv = new DataView(out.buffer);
  records.forEach((r, i) => {
    const where = `encodeLineInfo: record ${i}`;
    if (typeof r !== "object" || r === null) throw new TypeError(`${where} must be an object`);
    const at = i * size;
    dv.setUint32(at + off.insn_off, checkU32(where, "insnOff", r.insnOff), true);
    dv.setUint32(at + off.file_name_off, checkU32(where, "fileNameOff", r.fileNameOff), true);
    dv.setUint32(at + off.line_off, checkU32(where, "lineOff", r.lineOff), true);
    const line = checkU32(where, "line", r.line, MAX_LINE);
    const column = checkU32(where, "column", r.column ?? 0, MAX_COLUMN);
    dv.setUint32(at + off.line_col, ((line << 10) | column) >>> 0, true);
  });
  return out;
}

/** Packed `struct bpf_func_info` records back into objects (`recSize` bytes each, 8 by default). */
export function decodeFuncInfo(bytes: Uint8Array, recSize: number = BPF_FUNC_INFO.size): BpfFuncInfo[] {
  return recordsOf("decodeFuncInfo", bytes, recSize, BPF_FUNC_INFO.size).map((dv) => ({
    insnOff: dv.getUint32(BPF_FUNC_INFO.off.insn_off, true), typeId: dv.getUint32(BPF_FUNC_INFO.off.type_id, true),
  }));
}

/** Packed `struct bpf_line_info` records back into objects (`recSize` bytes each, 16 by default). */
export function decodeLineInfo(bytes: Uint8Array, recSize: number = BPF_LINE_INFO.size): BpfLineInfo[] {
  const off = BPF_LINE_INFO.off;
  return recordsOf("decodeLineInfo", bytes, recSize, BPF_LINE_INFO.size).map((dv) => {
    const lineCol = dv.getUint32(off.line_col, true);
    return {
      insnOff: dv.getUint32(off.insn_off, true), fileNameOff: dv.getUint32(off.file_name_off, true),
      lineOff: dv.getUint32(off.line_off, true), line: lineCol >>> 10, column: lineCol & MAX_COLUMN,
    };
  });
}

function recordsOf(what: string, bytes: Uint8Array, recSize: number, known: number): DataView[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what}: bytes must be a Uint8Array`);
  checkU32(what, "recSize", recSize);
  if (recSize < known) throw new RangeError(`${what}: recSize ${recSize} is shorter than the kernel's ${known}-byte record`);
  if (bytes.length % recSize !== 0) throw new RangeError(`${what}: ${bytes.length} bytes are not a whole number of ${recSize}-byte records`);
  const out: DataView[] = [];
  for (let at = 0; at < bytes.length; at += recSize) out.push(new DataView(bytes.buffer, bytes.byteOffset + at, recSize));
  return out;
}
