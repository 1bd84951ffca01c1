// The kernel's ring buffer producer: each call loads a small socket filter that calls the ringbuf
// helpers on the map (programs.ts), runs it once by BPF_PROG_TEST_RUN on a 14-byte packet (nothing
// is attached to the host), closes it, and returns the helper's answer from the run's retval.
import { assertBytes, assertFd, BpfError, errnoName, type Driver, describeValue } from "@bpfkit/core";
import { MAX_OUTPUT_SAMPLE, type PairCommit, outputProgram, queryProgram, reservePairProgram, reserveProgram } from "./programs.js";
import type { RingbufProducer } from "./producer.js";

/** A socket filter's smallest packet: an Ethernet header (ETH_HLEN). */
const PACKET = new Uint8Array(14);
const SOCKET_FILTER = 1;
/** A reserve's size goes in a 32-bit immediate the verifier reads as signed. */
const MAX_RESERVE = 0x7fff_ffff;

/** Helper flags: a non-negative safe integer (the helpers take a u64), default 0. */
function flagsArg(v: unknown, op: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${op}: flags must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: flags ${v} is not a u64 this producer can pass`);
  return BigInt(v);
}

/**
 * A RingbufProducer over a driver with progLoad and progTestRun (the kernel driver). Every call
 * loads, runs and closes one program, so the producer holds nothing between calls; a program the
 * verifier refuses (the fd is no RINGBUF, say) or a run that fails is a BpfError naming the map fd.
 *
 * - `output` sends the sample from the program's stack: at most MAX_OUTPUT_SAMPLE (512) bytes,
 *   a RangeError past that.
 * - `reserveSubmit` stores the sample straight into the reserved record, so its size is bounded
 *   by the ring only (up to 2^31 - 1 bytes in the program; the kernel refuses more than the ring
 *   can hold with NULL, which is -EAGAIN here as it is for a full ring). About one instruction
 *   per 4 bytes: the largest sample of a 1 MiB ring loads and runs in well under a second.
 * - Results come from the run's retval, a u32: the helper's long, cut to 32 bits and sign-extended
 *   back (0 or -errno). `query` runs twice, once for the low and once for the high 32 bits of the
 *   u64 (nothing else runs between the two on this thread).
 */
export function kernelRingbufProducer(driver: Driver): RingbufProducer {
  if (typeof driver.progTestRun !== "function") {
    throw new TypeError(`kernelRingbufProducer: ${driver.kind} has no progTestRun, so no program can be run to produce records`);
  }
  const testRun = driver.progTestRun.bind(driver);
  let closed = false;

  /** Loads `insns`, runs it once, closes it: the retval as a u32. */
  const runOnce = (op: string, mapFd: number, insns: Uint8Array): number => {
    if (closed) throw new Error(`${op}: the producer is closed`);
    const fd = driver.progLoad({ progType: SOCKET_FILTER, insns, license: "GPL", progName: "bpfkit_ringbuf" });
    if (fd < 0) {
      throw new BpfError({
        errno: -fd, op, message: `${op} on map fd ${mapFd}: the verifier refused the program (${errnoName(-fd)}; EINVAL for a map that is no RINGBUF, EBADF for an fd not open)`,
      });
    }
    try {
      const r = testRun(fd, { dataIn: PACKET });
      if (r.errno !== 0) throw new BpfError({ errno: r.errno, op, message: `${op} on map fd ${mapFd}: BPF_PROG_TEST_RUN failed (${errnoName(r.errno)})` });
      return r.retval >>> 0;
    } finally {
      driver.close(fd);
    }
  };

  return {
    output(mapFd, data, flags) {
      const op = "bpf_ringbuf_output";
      assertFd(mapFd, op);
      assertBytes(data, "data", op);
      const f = flagsArg(flags, op);
      if (data.length > MAX_OUTPUT_SAMPLE) {
        throw new RangeError(`${op}: a ${data.length}-byte sample does not fit the program's ${MAX_OUTPUT_SAMPLE}-byte stack (reserveSubmit has no such limit)`);
      }
      return runOnce(op, mapFd, outputProgram(mapFd, data, f)) | 0;
    },
    reserveSubmit(mapFd, data, flags) {
      const op = "bpf_ringbuf_reserve + bpf_ringbuf_submit";
      assertFd(mapFd, op);
      assertBytes(data, "data", op);
      const f = flagsArg(flags, op);
      if (data.length > MAX_RESERVE) throw new RangeError(`${op}: a ${data.length}-byte sample is past what a program's reserve can ask`);
      return runOnce(op, mapFd, reserveProgram(mapFd, data.length, data, "submit", f)) | 0;
    },
    reserveDiscard(mapFd, size, flags) {
      const op = "bpf_ringbuf_reserve + bpf_ringbuf_discard";
      assertFd(mapFd, op);
      if (typeof size !== "number" || !Number.isInteger(size)) throw new TypeError(`${op}: size must be an integer, got ${describeValue(size)}`);
      if (size < 0 || size > MAX_RESERVE) throw new RangeError(`${op}: size ${size} is not a reserve a program can ask (0..2^31 - 1)`);
      const f = flagsArg(flags, op);
      return runOnce(op, mapFd, reserveProgram(mapFd, size, null, "discard", f)) | 0;
    },
    reservePair(mapFd, first, second, commit: PairCommit, flags) {
      const op = "bpf_ringbuf_reserve twice, then submit or discard";
      assertFd(mapFd, op);
      for (const [what, size] of [["first", first], ["second", second]] as const) {
        if (typeof size !== "number" || !Number.isInteger(size)) throw new TypeError(`${op}: the ${what} size must be an integer, got ${describeValue(size)}`);
        if (size < 0 || size > MAX_RESERVE) throw new RangeError(`${op}: the ${what} size ${size} is not a reserve a program can ask (0..2^31 - 1)`);
      }
      const f = flagsArg(flags, op);
      return runOnce(op, mapFd, reservePairProgram(mapFd, first, second, commit, f)) | 0;
    },
    query(mapFd, flags) {
      const op = "bpf_ringbuf_query";
      assertFd(mapFd, op);
      if (typeof flags !== "number" || !Number.isInteger(flags)) throw new TypeError(`${op}: flags must be an integer, got ${describeValue(flags)}`);
      const f = flagsArg(flags, op);
      const lo = runOnce(op, mapFd, queryProgram(mapFd, f, false));
      const hi = runOnce(op, mapFd, queryProgram(mapFd, f, true));
      return (BigInt(hi) << 32n) | BigInt(lo);
    },
    close() {
      closed = true;
    },
  };
}
