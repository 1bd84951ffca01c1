// The kernel's perf producer: each call loads a socket filter that calls bpf_perf_event_output
// once (programs.ts) and runs it by BPF_PROG_TEST_RUN with this thread pinned to the CPU asked
// for (sched_setaffinity, as the exact LRU cases are), so BPF_F_CURRENT_CPU and the event's CPU check
// see that CPU; it returns the helper's answer from the run's retval. A sample up to 512 bytes
// goes from the program's stack; a larger one from the value of an ARRAY the producer fills first.
import { assertBytes, assertFd, BpfError, errnoName, type Driver } from "@bpfkit/core";
import { onCpu } from "../conformance/pin-cpu.js";
import { MAX_STACK_SAMPLE, perfOutputFromValueProgram, perfOutputProgram } from "./programs.js";
import { MAX_PERF_SAMPLE, perfFlagsArg, type PerfProducer } from "./producer.js";

/** A socket filter's context: a packet (the helper reads none of it). */
const PACKET = new Uint8Array(14);
const SOCKET_FILTER = 1, ARRAY = 2;

/**
 * A PerfProducer over a driver with progLoad and progTestRun (the kernel driver) on Linux.
 * Every call loads, runs and closes one program; a program the verifier refuses (the
 * fd is no PERF_EVENT_ARRAY, say) or a run that fails is a BpfError naming the map fd. The
 * helper's long comes back through the run's u32 retval, sign-extended (0 or -errno).
 */
export function kernelPerfProducer(driver: Driver): PerfProducer {
  if (typeof driver.progTestRun !== "function") {
    throw new TypeError(`kernelPerfProducer: ${driver.kind} has no progTestRun, so no program can be run to produce samples`);
  }
  const testRun = driver.progTestRun.bind(driver);
  let closed = false;
  /** The staging ARRAY for samples past the stack, and its value size. */
  let staging: { fd: number; size: number } | undefined;

  const stage = (data: Uint8Array, op: string): number => {
    if (staging === undefined || staging.size < data.length) {
      if (staging !== undefined) driver.close(staging.fd);
      staging = undefined;
      const size = Math.max(data.length, 4096);
      const fd = driver.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: size, maxEntries: 1 });
      if (fd < 0) throw new BpfError({ errno: -fd, op, message: `${op}: cannot create the ${size}-byte staging ARRAY (${errnoName(-fd)})` });
      staging = { fd, size };
    }
    const value = new Uint8Array(staging.size);
    value.set(data);
    const r = driver.mapUpdateElem(staging.fd, new Uint8Array(4), value);
    if (r < 0) throw new BpfError({ errno: -r, op, message: `${op}: cannot fill the staging ARRAY (${errnoName(-r)})` });
    return staging.fd;
  };

  return {
    output(mapFd, cpu, data, flags) {
      const op = "bpf_perf_event_output";
      if (closed) throw new Error(`${op}: the producer is closed`);
      assertFd(mapFd, op);
      assertBytes(data, "data", op);
      const f = BigInt(perfFlagsArg(flags, op));
      if (!Number.isInteger(cpu) || cpu < 0 || cpu >= driver.possibleCpus) throw new RangeError(`${op}: cpu ${cpu} is not below possibleCpus ${driver.possibleCpus}`);
      if (data.length > MAX_PERF_SAMPLE) throw new RangeError(`${op}: a ${data.length}-byte sample is past the producer's ${MAX_PERF_SAMPLE}`);
      const insns = data.length <= MAX_STACK_SAMPLE ? perfOutputProgram(mapFd, data, f)
        : perfOutputFromValueProgram(mapFd, stage(data, op), data.length, f);
      const fd = driver.progLoad({ progType: SOCKET_FILTER, insns, license: "GPL", progName: "bpfkit_perf" });
      if (fd < 0) {
        throw new BpfError({
          errno: -fd, op, message: `${op} on map fd ${mapFd}: the verifier refused the program (${errnoName(-fd)}; EINVAL for a map that is no PERF_EVENT_ARRAY, EBADF for an fd not open)`,
        });
      }
      try {
        const r = onCpu(cpu, () => testRun(fd, { dataIn: PACKET }));
        if (r.errno !== 0) throw new BpfError({ errno: r.errno, op, message: `${op} on map fd ${mapFd}: BPF_PROG_TEST_RUN failed (${errnoName(r.errno)})` });
        return r.retval | 0;
      } finally {
        driver.close(fd);
      }
    },
    close() {
      closed = true;
      if (staging !== undefined) driver.close(staging.fd);
      staging = undefined;
    },
  };
}
