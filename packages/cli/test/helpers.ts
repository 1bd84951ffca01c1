// Runs the real `bpfkit` command in-process over a given driver, capturing what it prints.
import type { Driver } from "@bpfkit/core";
import { captureIo, main } from "../src/index.js";

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** A `bpfkit` bound to one driver (the same world across calls, as a host is). */
export function cliOver(driver: Driver, env: Record<string, string> = {}): (...argv: string[]) => Promise<Run> {
  return async (...argv) => {
    const io = captureIo({ env, createDriver: () => driver, kernelAvailable: () => undefined });
    const code = await main(argv, io);
    return { code, out: io.text(), err: io.errText() };
  };
}

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export function u64le(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}

/** The two-instruction socket filter of kernel-maps.md §2: r0 = 0; exit. */
export const SOCKET_FILTER_INSNS = Uint8Array.of(
  0xb7, 0, 0, 0, 0, 0, 0, 0, // mov r0, 0
  0x95, 0, 0, 0, 0, 0, 0, 0, // exit
);
