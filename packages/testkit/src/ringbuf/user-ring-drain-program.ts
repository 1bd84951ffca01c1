// The kernel's USER_RINGBUF consumer: a socket filter that calls bpf_user_ringbuf_drain (helper
// 209) with a callback, run once by BPF_PROG_TEST_RUN on a 14-byte packet (nothing is attached to
// the host). For each sample the callback finds the sample's size (bpf_dynptr_read of one byte
// succeeds only below it: a binary search, branch-free so that the verifier walks one path),
// reads its first and last u64 (0 where it is shorter), adds the first u64 (DRAIN_EMPTY_VALUE
// for an empty sample, so a drain's sum shows the callback ran on one), and 1, into an ARRAY's
// value (sum, count), and keeps (size, first, last) of the first DRAIN_SAMPLE_SLOTS
// samples after them; it answers 1 (stop) for DRAIN_STOP_VALUE. The program returns the drain's
// answer. The callback is passed by ld_imm64 src_reg BPF_PSEUDO_FUNC,
// which the verifier takes only with BTF func_info naming both functions (the callback static).
import { BtfBuilder, BtfIntEncoding, BpfError, errnoName, type Driver } from "@bpfkit/core";
import { insn } from "./programs.js";
import type { KernelProgLoadAttr } from "@bpfkit/driver-kernel";
import { DRAIN_EMPTY_VALUE, DRAIN_SAMPLE_SLOTS, DRAIN_STOP_VALUE, simUserRingDrain, type UserRingDrain } from "./user-ring-writer.js";
import { releaseAll } from "../release-all.js";

const SOCKET_FILTER = 1, ARRAY = 2;
const PACKET = new Uint8Array(14);
/** Helper ids (include/uapi/linux/bpf.h). */
const MAP_LOOKUP_ELEM = 1, DYNPTR_READ = 201, USER_RINGBUF_DRAIN = 209;
const BPF_PSEUDO_MAP_FD = 1, BPF_PSEUDO_FUNC = 4;
const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R10 = 10;
/** A sample's size is searched bit by bit from this one down: sizes below 2^22 (a ring of 2 MiB). */
const SIZE_BITS = 22;
/** The ARRAY's value: sum and count, then (size, first, last) per kept sample. */
const VALUE_SIZE = 16 + 24 * DRAIN_SAMPLE_SLOTS;

const mov = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
const movReg = (dst: number, src: number) => insn(0xbf, dst, src, 0, 0);
const addImm = (dst: number, imm: number) => insn(0x07, dst, 0, 0, imm);
const call = (helper: number) => insn(0x85, 0, 0, 0, helper);
const exit = () => insn(0x95, 0, 0, 0, 0);
const ldImm64 = (dst: number, src: number, imm: number) => [...insn(0x18, dst, src, 0, imm), ...insn(0, 0, 0, 0, 0)];

/** Where the callback starts: after the main function's 8 slots. */
export const DRAIN_CALLBACK_AT = 8;

/** The program's instructions: main (drain with `flags`), then the callback. */
export function userRingDrainProgram(ringFd: number, arrayFd: number, flags: number): Uint8Array {
  const main = [
    ...ldImm64(R1, BPF_PSEUDO_MAP_FD, ringFd),
    // imm: the callback's distance from the instruction after this ld_imm64's first slot.
    ...ldImm64(R2, BPF_PSEUDO_FUNC, DRAIN_CALLBACK_AT - 3),
    ...mov(R3, 0),
    ...mov(R4, flags),
    ...call(USER_RINGBUF_DRAIN),
    ...exit(),
  ];
  /** r0 = bpf_dynptr_read(r10 + at, len, the sample, r4, 0), r4 set before. */
  const read = (at: number, len: number) => [...movReg(R1, R10), ...addImm(R1, at), ...mov(R2, len), ...movReg(R3, R6), ...mov(R5, 0), ...call(DYNPTR_READ)];
  const search: number[] = [];
  for (let b = SIZE_BITS - 1; b >= 0; b--) {
    search.push(
      ...movReg(R4, R8), ...addImm(R4, 2 ** b - 1), ...read(-24, 1),
      ...insn(0x77, R0, 0, 0, 63), // r0 >>= 63: 1 when the read failed
      ...insn(0xa7, R0, 0, 0, 1), // r0 ^= 1
      ...insn(0x67, R0, 0, 0, b), // r0 <<= b
      ...insn(0x0f, R8, R0, 0, 0), // r8 += r0
    );
  }
  const tail = [
    ...insn(0x79, R7, R10, -8, 0), // r7 = the first u64
    ...insn(0x55, R8, 0, 1, 0), // if r8 != 0 goto +1
    ...mov(R7, Number(DRAIN_EMPTY_VALUE)), // an empty sample (an empty dynptr)
    ...insn(0x62, R10, 0, -32, 0), // *(u32 *)(r10 - 32) = 0: the key
    ...ldImm64(R1, BPF_PSEUDO_MAP_FD, arrayFd),
    ...movReg(R2, R10), ...addImm(R2, -32),
    ...call(MAP_LOOKUP_ELEM),
    ...insn(0x15, R0, 0, 14, 0), // if r0 == 0 goto answer
    ...insn(0x79, R1, R0, 8, 0), // r1 = count
    ...insn(0x79, R2, R0, 0, 0), ...insn(0x0f, R2, R7, 0, 0), ...insn(0x7b, R0, R2, 0, 0), // sum += r7
    ...movReg(R2, R1), ...addImm(R2, 1), ...insn(0x7b, R0, R2, 8, 0), // count += 1
    ...insn(0x35, R1, 0, 6, DRAIN_SAMPLE_SLOTS), // if r1 >= slots goto answer
    ...insn(0x27, R1, 0, 0, 24), // r1 *= 24
    ...insn(0x0f, R0, R1, 0, 0), // r0 += r1: the sample's slot, 16 bytes on
    ...insn(0x7b, R0, R8, 16, 0),
    ...insn(0x7b, R0, R7, 24, 0),
    ...insn(0x79, R1, R10, -16, 0), ...insn(0x7b, R0, R1, 32, 0),
    // answer:
    ...mov(R0, 0),
    ...insn(0x55, R7, 0, 1, Number(DRAIN_STOP_VALUE)), // if r7 != STOP goto +1
    ...mov(R0, 1),
    ...exit(),
  ];
  const callback = [
    ...movReg(R6, R1),
    ...insn(0x7a, R10, 0, -8, 0), // *(u64 *)(r10 - 8) = 0: the first u64
    ...insn(0x7a, R10, 0, -16, 0), // *(u64 *)(r10 - 16) = 0: the last
    ...insn(0x7a, R10, 0, -24, 0), // the byte each probe reads
    ...mov(R8, 0),
    ...search,
    ...mov(R4, 0), ...read(-8, 8),
    // At size - 8: a sample under 8 bytes makes it a u32 past the sample, so the read fails.
    ...movReg(R4, R8), ...addImm(R4, -8), ...read(-16, 8),
    ...tail,
  ];
  if (main.length !== DRAIN_CALLBACK_AT * 8) throw new Error("userRingDrainProgram: the main function's length changed");
  return Uint8Array.from([...main, ...callback]);
}

/** BTF naming the two functions (`int main(void)`, static `int cb(void)`), and their func_info records. */
export function userRingDrainBtf(): { blob: Uint8Array; funcInfo: Uint8Array } {
  const b = new BtfBuilder();
  const int = b.int("int", 4, BtfIntEncoding.SIGNED);
  const proto = b.funcProto(int, []);
  const main = b.func("drain_main", proto);
  const cb = b.func("drain_cb", proto);
  const funcInfo = new Uint8Array(16);
  const dv = new DataView(funcInfo.buffer);
  dv.setUint32(0, 0, true);
  dv.setUint32(4, main, true);
  dv.setUint32(8, DRAIN_CALLBACK_AT, true);
  dv.setUint32(12, cb, true);
  return { blob: b.encode(), funcInfo };
}

/** A kernel drain: the program and its ARRAY, made once; `close()` closes them. */
export interface KernelUserRingDrainer {
  /** Drains a USER_RINGBUF by its fd as the program does. */
  drain: UserRingDrain;
  /** Frees what the drainer holds (the kernel's ARRAY and BTF). */
  close(): void;
}

/**
 * A UserRingDrain over a driver with progLoad, progTestRun and btfLoad (the kernel driver). Each
 * drain loads the program for the ring (its fd goes into the instructions), zeroes the ARRAY,
 * runs the program once and reads the sum and count back. A load the verifier refuses is a
 * BpfError with the verifier's log.
 */
export function kernelUserRingDrainer(d: Driver): KernelUserRingDrainer {
  if (typeof d.progTestRun !== "function" || typeof d.btfLoad !== "function") {
    throw new TypeError(`kernelUserRingDrainer: ${d.kind} has no progTestRun or btfLoad`);
  }
  const { blob, funcInfo } = userRingDrainBtf();
  const btf = d.btfLoad({ btf: blob });
  if (btf < 0) throw new BpfError({ errno: -btf, op: "btfLoad", message: `kernelUserRingDrainer: BTF_LOAD: ${errnoName(-btf)}` });
  const array = d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: VALUE_SIZE, maxEntries: 1 });
  if (array < 0) {
    d.close(btf);
    throw new BpfError({ errno: -array, op: "mapCreate", message: `kernelUserRingDrainer: the ARRAY: ${errnoName(-array)}` });
  }
  const key = new Uint8Array(4), value = new Uint8Array(VALUE_SIZE);
  const dv = new DataView(value.buffer);
  const drain: UserRingDrain = (ringFd, flags) => {
    value.fill(0);
    if (d.mapUpdateElem(array, key, value, 0) !== 0) throw new Error("kernelUserRingDrainer: zeroing the ARRAY failed");
    const log = new Uint8Array(1 << 16);
    const fd = d.progLoad({
      progType: SOCKET_FILTER, insns: userRingDrainProgram(ringFd, array, flags), license: "GPL", progName: "bpfkit_urbdrain",
      progBtfFd: btf, funcInfo, logLevel: 1, log,
    } as KernelProgLoadAttr);
    if (fd < 0) {
      const text = Buffer.from(log.subarray(0, Math.max(0, log.indexOf(0)))).toString("latin1").trim().split("\n").slice(-6).join(" | ");
      throw new BpfError({ errno: -fd, op: "progLoad", message: `bpf_user_ringbuf_drain on map fd ${ringFd}: the verifier refused the program (${errnoName(-fd)}): ${text}` });
    }
    try {
      const r = d.progTestRun!(fd, { dataIn: PACKET });
      if (r.errno !== 0) throw new BpfError({ errno: r.errno, op: "progTestRun", message: `bpf_user_ringbuf_drain on map fd ${ringFd}: BPF_PROG_TEST_RUN failed (${errnoName(r.errno)})` });
      if (d.mapLookupElem(array, key, value) !== 0) throw new Error("kernelUserRingDrainer: reading the ARRAY failed");
      const count = Number(dv.getBigUint64(8, true));
      const samples = Array.from({ length: Math.min(count, DRAIN_SAMPLE_SLOTS) }, (_, i) => ({
        size: Number(dv.getBigUint64(16 + 24 * i, true)), first: dv.getBigUint64(24 + 24 * i, true), last: dv.getBigUint64(32 + 24 * i, true),
      }));
      return { ret: r.retval | 0, sum: dv.getBigUint64(0, true), count, samples };
    } finally {
      d.close(fd);
    }
  };
  return {
    drain,
    close() {
      releaseAll([() => d.close(array), () => d.close(btf)]);
    },
  };
}

/**
 * A drain for `d`'s USER_RINGBUFs as a program runs it: the simulator's datapath, or the kernel's
 * program (loaded per drain); undefined for a driver that can run neither. `close()` frees what
 * the kernel's holds.
 */
export function userRingDrainerFor(d: Driver): KernelUserRingDrainer | undefined {
  switch (userRingDrainKind(d)) {
    case "sim": return { drain: simUserRingDrain(d as unknown as Parameters<typeof simUserRingDrain>[0]), close() {} };
    case "program": return kernelUserRingDrainer(d);
    case undefined: return undefined;
  }
}

/** How `d` drains a USER_RINGBUF: the simulator's datapath, a program it loads and runs, or not at all. */
export function userRingDrainKind(d: Driver): "sim" | "program" | undefined {
  const sim = d as Partial<{ kind: string; datapath: { userRingbufDrain?: unknown } }>;
  if (d.kind === "sim" && typeof sim.datapath?.userRingbufDrain === "function") return "sim";
  if (typeof d.progTestRun === "function" && typeof d.btfLoad === "function") return "program";
  return undefined;
}
