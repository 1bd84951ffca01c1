// The socket filters the kernel's ring buffer producer runs: each calls one or two ringbuf
// helpers on a map and returns what they gave in r0. The map goes in by ld_imm64 with
// BPF_PSEUDO_MAP_FD, the sample's bytes by stores of immediates (on the stack for
// bpf_ringbuf_output, straight into the reserved sample for reserve + submit).

/** Helper ids of include/uapi/linux/bpf.h (`FN(ringbuf_output)` is the 130th after `unspec`). */
export const RINGBUF_OUTPUT = 130;
export const RINGBUF_RESERVE = 131;
export const RINGBUF_SUBMIT = 132;
export const RINGBUF_DISCARD = 133;
export const RINGBUF_QUERY = 134;

/** MAX_BPF_STACK: the largest sample bpf_ringbuf_output can send from the stack. */
export const MAX_OUTPUT_SAMPLE = 512;

const EAGAIN = 11;

/** One 8-byte instruction: opcode, destination and source registers, offset, immediate. */
export function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm | 0, true);
  return [...b];
}

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R6 = 6, R7 = 7, R10 = 10;
/** r_dst = imm (BPF_ALU64 | BPF_MOV | BPF_K). */
export const mov = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
/** r_dst = r_src (BPF_ALU64 | BPF_MOV | BPF_X). */
export const movReg = (dst: number, src: number) => insn(0xbf, dst, src, 0, 0);
/** r_dst += imm (BPF_ALU64 | BPF_ADD | BPF_K). */
export const add = (dst: number, imm: number) => insn(0x07, dst, 0, 0, imm);
const rsh = (dst: number, imm: number) => insn(0x77, dst, 0, 0, imm); // BPF_ALU64 | BPF_RSH | BPF_K
/** A helper call (BPF_JMP | BPF_CALL). */
export const call = (helper: number) => insn(0x85, 0, 0, 0, helper);
/** BPF_JMP | BPF_EXIT. */
export const exit = () => insn(0x95, 0, 0, 0, 0);
/** if r_reg != 0 skip `skip` instructions (BPF_JMP | BPF_JNE | BPF_K). */
export const jne0 = (reg: number, skip: number) => insn(0x55, reg, 0, skip, 0);

/** ld_imm64 of a 64-bit value (two instruction slots); `src` 1 makes it BPF_PSEUDO_MAP_FD. */
export function ldImm64(dst: number, value: bigint, src = 0): number[] {
  const lo = Number(BigInt.asUintN(32, value)), hi = Number(BigInt.asUintN(32, value >> 32n));
  return [...insn(0x18, dst, src, 0, lo), ...insn(0, 0, 0, 0, hi)];
}

const loadMap = (mapFd: number) => ldImm64(R1, BigInt(mapFd), 1);

/** A store's offset is an s16: past this the base register moves on. */
const MAX_OFF = 0x7ff8;

/**
 * Stores of `data` at `reg + base`: a doubleword (BPF_ST | BPF_MEM | BPF_DW, its immediate
 * sign-extended) where the 8 bytes allow it, else words, then a half-word and a byte for the tail.
 * Offsets are s16, so for a sample past 32 KiB `reg` is moved on (by 32 KiB at a time) and must
 * be a copy the caller may change.
 */
export function storeBytes(reg: number, base: number, data: Uint8Array): number[] {
  const out: number[] = [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let moved = 0;
  const at = (i: number, n: number) => {
    while (base + i + n - moved > MAX_OFF) {
      out.push(...add(reg, 0x8000));
      moved += 0x8000;
    }
    return base + i - moved;
  };
  let i = 0;
  for (; i + 8 <= data.length; i += 8) {
    const lo = dv.getInt32(i, true), hi = dv.getInt32(i + 4, true);
    if (hi === (lo < 0 ? -1 : 0)) out.push(...insn(0x7a, reg, 0, at(i, 8), lo));
    else out.push(...insn(0x62, reg, 0, at(i, 8), lo), ...insn(0x62, reg, 0, at(i, 8) + 4, hi));
  }
  if (i + 4 <= data.length) {
    out.push(...insn(0x62, reg, 0, at(i, 4), dv.getInt32(i, true)));
    i += 4;
  }
  if (i + 2 <= data.length) {
    out.push(...insn(0x6a, reg, 0, at(i, 2), dv.getInt16(i, true)));
    i += 2;
  }
  if (i < data.length) out.push(...insn(0x72, reg, 0, at(i, 1), data[i]!));
  return out;
}

/** r0 = bpf_ringbuf_output(map, data on the stack, data.length, flags); exit. */
export function outputProgram(mapFd: number, data: Uint8Array, flags: bigint): Uint8Array {
  // At least 8 bytes of stack, so that r2 points at initialised stack even for an empty sample.
  const room = Math.max(8, Math.ceil(data.length / 8) * 8);
  return Uint8Array.from([
    ...(data.length === 0 ? insn(0x7a, R10, 0, -8, 0) : storeBytes(R10, -room, data)),
    ...loadMap(mapFd),
    ...movReg(R2, R10), ...add(R2, -room),
    ...mov(R3, data.length),
    ...ldImm64(R4, flags),
    ...call(RINGBUF_OUTPUT),
    ...exit(),
  ]);
}

/**
 * r0 = bpf_ringbuf_reserve(map, size, 0); NULL returns -EAGAIN; else the sample is filled with
 * `data` (when given) and handed to submit or discard with `flags`, and the program returns 0.
 */
export function reserveProgram(mapFd: number, size: number, data: Uint8Array | null, commit: "submit" | "discard", flags: bigint): Uint8Array {
  return Uint8Array.from([
    ...loadMap(mapFd),
    ...mov(R2, size),
    ...mov(R3, 0),
    ...call(RINGBUF_RESERVE),
    ...jne0(R0, 2),
    ...mov(R0, -EAGAIN),
    ...exit(),
    // The stores go through a copy (r2): submit and discard want the sample's own pointer.
    ...(data === null ? [] : [...movReg(R2, R0), ...storeBytes(R2, 0, data)]),
    ...movReg(R1, R0),
    ...ldImm64(R2, flags),
    ...call(commit === "submit" ? RINGBUF_SUBMIT : RINGBUF_DISCARD),
    ...mov(R0, 0),
    ...exit(),
  ]);
}

/** How a reservePairProgram commits its two samples, and in which order. */
export interface PairCommit {
  /** The first sample reserved: submitted or discarded. */
  first: "submit" | "discard";
  /** The second sample reserved: submitted or discarded. */
  second: "submit" | "discard";
  /** Commit the second before the first (the first stays BUSY meanwhile either way). */
  secondFirst: boolean;
}

/**
 * Two reservations held at once: r6 = bpf_ringbuf_reserve(map, first, 0), r7 =
 * bpf_ringbuf_reserve(map, second, 0) while the first is still BUSY, then both committed as
 * `commit` says, each with `flags`. Returns 0; 1 when the second reserve was NULL (the first is then
 * committed alone); -EAGAIN when the first was. The samples are not written.
 */
export function reservePairProgram(mapFd: number, first: number, second: number, commit: PairCommit, flags: bigint): Uint8Array {
  const helper = (how: "submit" | "discard") => (how === "submit" ? RINGBUF_SUBMIT : RINGBUF_DISCARD);
  const release = (reg: number, how: "submit" | "discard") => [...movReg(R1, reg), ...ldImm64(R2, flags), ...call(helper(how))];
  const both = commit.secondFirst ? [...release(R7, commit.second), ...release(R6, commit.first)] : [...release(R6, commit.first), ...release(R7, commit.second)];
  return Uint8Array.from([
    ...loadMap(mapFd), ...mov(R2, first), ...mov(R3, 0), ...call(RINGBUF_RESERVE),
    ...jne0(R0, 2),
    ...mov(R0, -EAGAIN),
    ...exit(),
    ...movReg(R6, R0),
    ...loadMap(mapFd), ...mov(R2, second), ...mov(R3, 0), ...call(RINGBUF_RESERVE),
    // The second NULL: release the first (6 slots: ld_imm64 takes two), return 1.
    ...jne0(R0, 6),
    ...release(R6, commit.first), ...mov(R0, 1), ...exit(),
    ...movReg(R7, R0),
    ...both,
    ...mov(R0, 0),
    ...exit(),
  ]);
}

/** r0 = bpf_ringbuf_query(map, flags), shifted right by 32 when `high`; exit. */
export function queryProgram(mapFd: number, flags: bigint, high: boolean): Uint8Array {
  return Uint8Array.from([
    ...loadMap(mapFd),
    ...ldImm64(R2, flags),
    ...call(RINGBUF_QUERY),
    ...(high ? rsh(R0, 32) : []),
    ...exit(),
  ]);
}
