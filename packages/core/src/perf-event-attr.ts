// Driver.perfEventOpen's attributes checked once for every driver: what no perf_event_attr can
// say is a TypeError or RangeError before any syscall, and the wake-up rule comes out as the
// attr's one field holds it.
import type { PerfEventOpenAttr } from "./driver.js";
import { describeValue } from "./describe-value.js";

/** The wake-up rule of perf_event_attr: `wakeup_events`, or with `watermark` set `wakeup_watermark`. */
export interface PerfWakeup {
  /** wakeup_events (samples), or wakeup_watermark (bytes) when `watermark`. */
  readonly wakeup: number;
  /** The attr's `watermark` bit: wake by bytes waiting, not by samples. */
  readonly watermark: boolean;
}

function u32(v: unknown, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`perfEventOpen: ${what} must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > 0xffff_ffff) throw new RangeError(`perfEventOpen: ${what} ${v} is not a u32`);
  return v;
}

/** The CPU and wake-up rule of `attr`; TypeError or RangeError for what no perf_event_attr says. */
export function checkPerfEventOpenAttr(attr: PerfEventOpenAttr): { cpu: number; wakeup: PerfWakeup } {
  if (attr === null || typeof attr !== "object") throw new TypeError("perfEventOpen: attr must be an object");
  const cpu = attr.cpu;
  if (typeof cpu !== "number" || !Number.isInteger(cpu)) throw new TypeError(`perfEventOpen: cpu must be an integer, got ${describeValue(cpu)}`);
  // The syscall takes an int; -1 (any CPU) needs a pid, which this event never has.
  if (cpu < 0 || cpu > 0x7fff_ffff) throw new RangeError(`perfEventOpen: cpu ${cpu} is not a CPU number`);
  if (attr.wakeupWatermark !== undefined) {
    if (attr.wakeupEvents !== undefined) throw new TypeError("perfEventOpen: give wakeupEvents or wakeupWatermark, not both (one field of perf_event_attr holds either)");
    return { cpu, wakeup: { wakeup: u32(attr.wakeupWatermark, "wakeupWatermark", 0), watermark: true } };
  }
  return { cpu, wakeup: { wakeup: u32(attr.wakeupEvents, "wakeupEvents", 1), watermark: false } };
}
