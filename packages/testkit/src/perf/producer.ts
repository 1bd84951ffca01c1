// Something that writes samples into a PERF_EVENT_ARRAY's events as a program would, so that a
// test can check a perf reader on either driver: on the kernel a real socket filter run by
// BPF_PROG_TEST_RUN with this thread pinned to the CPU asked for (nothing is attached to the
// host), on the simulator its datapath facet.
import { BPF_F_CURRENT_CPU, type Driver, describeValue } from "@bpfkit/core";
import { isSimDriver } from "../dump-fuzz/sim-datapath.js";
import { kernelPerfProducer } from "./producer-kernel.js";
import { simPerfProducer } from "./producer-sim.js";

/**
 * BPF_F_CTXLEN_MASK: a socket filter's helper would append that many packet bytes; the
 * simulator has no packet, so both producers refuse these bits (RangeError).
 */
const CTXLEN_LOW = 2 ** 32, CTXLEN_END = 2 ** 52;

/** bpf_perf_event_output as programs call it. */
export interface PerfProducer {
  /**
   * bpf_perf_event_output(ctx, map, flags, data, data.length) from a program on `cpu`: 0 or
   * -errno (-ENOENT an empty slot, -E2BIG an index past max_entries, -EINVAL bad flags,
   * -EOPNOTSUPP an event of another CPU, -ENOSPC no room or no ring). `flags` (default
   * BPF_F_CURRENT_CPU) is the slot's index or BPF_F_CURRENT_CPU; `data` up to 1 MiB.
   */
  output(mapFd: number, cpu: number, data: Uint8Array, flags?: number): number;
  /** Releases what the producer holds (the kernel's staging map). */
  close(): void;
}

/** The largest sample a producer sends. */
export const MAX_PERF_SAMPLE = 1 << 20;

/** The checked flags (default BPF_F_CURRENT_CPU): TypeError or RangeError for what a producer cannot pass. */
export function perfFlagsArg(v: unknown, op: string): number {
  if (v === undefined) return BPF_F_CURRENT_CPU;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${op}: flags must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: flags ${v} is not a u64 this producer can pass`);
  if (Math.floor(v / CTXLEN_LOW) % (CTXLEN_END / CTXLEN_LOW) !== 0) {
    throw new RangeError(`${op}: flags ${v} set BPF_F_CTXLEN_MASK bits (a socket filter's packet bytes), which no producer sends`);
  }
  return v;
}

/** The producer for `driver`: a kernel driver with progTestRun, or a simulator; undefined for any other. */
export function perfProducerFor(driver: Driver): PerfProducer | undefined {
  if (isSimDriver(driver)) return simPerfProducer(driver);
  if (typeof driver.progTestRun === "function") return kernelPerfProducer(driver);
  return undefined;
}
