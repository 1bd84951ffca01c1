// Argument checks of this driver beyond core's driver-checks.ts: u64 flags and optional values.
import { describeValue } from "@bpfkit/core";

/** An optional u64 given as a JS number (flags): a non-negative safe integer, default 0. */
export function u64Arg(v: unknown, what: string, op: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`${op}: ${what} must be an integer, got ${describeValue(v)}`);
  }
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: ${what} ${v} is not a u64 this driver can pass`);
  return v;
}

/** An optional u32 (ids, types, flags); default 0. */
export function u32Arg(v: unknown, what: string, op: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`${op}: ${what} must be an integer, got ${describeValue(v)}`);
  }
  if (v < 0 || v > 0xffff_ffff) throw new RangeError(`${op}: ${what} ${v} is not a u32`);
  return v;
}

/** An optional string without NUL bytes (license, names). */
export function cStringArg(v: unknown, what: string, op: string): string {
  if (v === undefined) return "";
  if (typeof v !== "string") throw new TypeError(`${op}: ${what} must be a string, got ${describeValue(v)}`);
  if (v.includes("\0")) throw new TypeError(`${op}: ${what} ${JSON.stringify(v)} holds a NUL byte`);
  return v;
}
