// perf_event_open(2)'s `struct perf_event_attr` for the event a PERF_EVENT_ARRAY slot holds: a
// software BPF output event on one CPU, sampling raw data at every output. Only the first
// PERF_ATTR_SIZE_VER0 bytes are passed (attr.size says so), so the kernel reads no more.
import type { PerfEventOpenAttr } from "@bpfkit/core";

/** PERF_ATTR_SIZE_VER0: every field this event sets lies within it. */
export const PERF_ATTR_SIZE = 64;
/** PERF_FLAG_FD_CLOEXEC. */
export const PERF_FLAG_FD_CLOEXEC = 1 << 3;

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_SAMPLE_RAW = 1 << 10;
/** The `watermark` bit of the attr's flag word: wake by bytes (wakeup_watermark), not by samples. */
const WATERMARK = 1n << 14n;

/** Byte offsets of `struct perf_event_attr`'s fields used here. */
const AT = { type: 0, size: 4, config: 8, samplePeriod: 16, sampleType: 24, flags: 40, wakeup: 48 } as const;

/** The checked attributes: the CPU and the wake-up rule. */
export interface PerfEventConfig {
  cpu: number;
  config: { wakeup: number; watermark: boolean };
}

function u32(v: unknown, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`perfEventOpen: ${what} must be an integer, got ${v === null ? "null" : typeof v}`);
  if (v < 0 || v > 0xffff_ffff) throw new RangeError(`perfEventOpen: ${what} ${v} is not a u32`);
  return v;
}

/** TypeError or RangeError for attributes no perf_event_attr can say, before any syscall. */
export function perfEventConfig(attr: PerfEventOpenAttr): PerfEventConfig {
  if (attr === null || typeof attr !== "object") throw new TypeError("perfEventOpen: attr must be an object");
  const cpu = attr.cpu;
  if (typeof cpu !== "number" || !Number.isInteger(cpu)) throw new TypeError(`perfEventOpen: cpu must be an integer, got ${cpu === null ? "null" : typeof cpu}`);
  // The syscall takes an int; -1 (any CPU) needs a pid, which this event never has.
  if (cpu < 0 || cpu > 0x7fff_ffff) throw new RangeError(`perfEventOpen: cpu ${cpu} is not a CPU number`);
  if (attr.wakeupWatermark !== undefined) {
    if (attr.wakeupEvents !== undefined) throw new TypeError("perfEventOpen: give wakeupEvents or wakeupWatermark, not both (one field of perf_event_attr holds either)");
    return { cpu, config: { wakeup: u32(attr.wakeupWatermark, "wakeupWatermark", 0), watermark: true } };
  }
  return { cpu, config: { wakeup: u32(attr.wakeupEvents, "wakeupEvents", 1), watermark: false } };
}

/** Writes the attr into `dv` (zeroed for PERF_ATTR_SIZE bytes by the caller). */
export function writePerfEventAttr(dv: DataView, c: PerfEventConfig["config"]): void {
  dv.setUint32(AT.type, PERF_TYPE_SOFTWARE, true);
  dv.setUint32(AT.size, PERF_ATTR_SIZE, true);
  dv.setBigUint64(AT.config, BigInt(PERF_COUNT_SW_BPF_OUTPUT), true);
  dv.setBigUint64(AT.samplePeriod, 1n, true);
  dv.setBigUint64(AT.sampleType, BigInt(PERF_SAMPLE_RAW), true);
  dv.setBigUint64(AT.flags, c.watermark ? WATERMARK : 0n, true);
  dv.setUint32(AT.wakeup, c.wakeup, true);
}
