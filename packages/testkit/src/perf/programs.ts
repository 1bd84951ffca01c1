// The socket filters the kernel's perf producer runs: each calls bpf_perf_event_output (for a
// socket filter, bpf_skb_event_output) on a PERF_EVENT_ARRAY once and returns what it gave in
// r0. The sample comes from the program's stack, or, past the stack's 512 bytes, from the value
// of an ARRAY the producer filled first.
import { insn, ldImm64, storeBytes } from "../ringbuf/programs.js";

/** `FN(perf_event_output)`, the 25th helper after `unspec`. */
export const PERF_EVENT_OUTPUT = 25;
const MAP_LOOKUP_ELEM = 1;
/** MAX_BPF_STACK: the largest sample a program sends from its stack. */
export const MAX_STACK_SAMPLE = 512;

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R10 = 10;
const mov = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
const movReg = (dst: number, src: number) => insn(0xbf, dst, src, 0, 0);
const add = (dst: number, imm: number) => insn(0x07, dst, 0, 0, imm);
const call = (helper: number) => insn(0x85, 0, 0, 0, helper);
const exit = () => insn(0x95, 0, 0, 0, 0);
const loadMap = (reg: number, mapFd: number) => ldImm64(reg, BigInt(mapFd), 1);

/** r0 = bpf_perf_event_output(ctx, map, flags, data on the stack, data.length); exit. */
export function perfOutputProgram(mapFd: number, data: Uint8Array, flags: bigint): Uint8Array {
  // At least 8 bytes of stack, so that r4 points at initialised stack even for an empty sample.
  const room = Math.max(8, Math.ceil(data.length / 8) * 8);
  return Uint8Array.from([
    ...movReg(R6, R1),
    ...(data.length === 0 ? insn(0x7a, R10, 0, -8, 0) : storeBytes(R10, -room, data)),
    ...movReg(R1, R6),
    ...loadMap(R2, mapFd),
    ...ldImm64(R3, flags),
    ...movReg(R4, R10), ...add(R4, -room),
    ...mov(R5, data.length),
    ...call(PERF_EVENT_OUTPUT),
    ...exit(),
  ]);
}

/**
 * r0 = bpf_perf_event_output(ctx, map, flags, the value of `valueMapFd`'s key 0, size); exit.
 * `valueMapFd` is an ARRAY whose values are at least `size` bytes; a missing value returns -1.
 */
export function perfOutputFromValueProgram(mapFd: number, valueMapFd: number, size: number, flags: bigint): Uint8Array {
  return Uint8Array.from([
    ...movReg(R6, R1),
    ...insn(0x62, R10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0
    ...loadMap(R1, valueMapFd),
    ...movReg(R2, R10), ...add(R2, -4),
    ...call(MAP_LOOKUP_ELEM),
    ...insn(0x55, R0, 0, 2, 0), // if r0 != 0 goto +2
    ...mov(R0, -1),
    ...exit(),
    ...movReg(R4, R0),
    ...movReg(R1, R6),
    ...loadMap(R2, mapFd),
    ...ldImm64(R3, flags),
    ...mov(R5, size),
    ...call(PERF_EVENT_OUTPUT),
    ...exit(),
  ]);
}
