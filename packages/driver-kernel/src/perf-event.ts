// perf_event_open(2)'s `struct perf_event_attr` for the event a PERF_EVENT_ARRAY slot holds: a
// software BPF output event on one CPU, sampling raw data at every output. Only the first
// PERF_ATTR_SIZE_VER0 bytes are passed (attr.size says so), so the kernel reads no more.
import type { PerfWakeup } from "@bpfkit/core";

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

/** Writes the attr into `dv` (zeroed for PERF_ATTR_SIZE bytes by the caller). */
export function writePerfEventAttr(dv: DataView, c: PerfWakeup): void {
  dv.setUint32(AT.type, PERF_TYPE_SOFTWARE, true);
  dv.setUint32(AT.size, PERF_ATTR_SIZE, true);
  dv.setBigUint64(AT.config, BigInt(PERF_COUNT_SW_BPF_OUTPUT), true);
  dv.setBigUint64(AT.samplePeriod, 1n, true);
  dv.setBigUint64(AT.sampleType, BigInt(PERF_SAMPLE_RAW), true);
  dv.setBigUint64(AT.flags, c.watermark ? WATERMARK : 0n, true);
  dv.setUint32(AT.wakeup, c.wakeup, true);
}
