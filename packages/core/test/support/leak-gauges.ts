// What a long-running service could leak, read at one moment: open fds, the registry, timers
// and other handles, the JS heap after a full collection, the simulator's wasm memory, and the
// kernel driver's fd-shape table and scratch block. A churn reads these before and after.
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import type { Bpf, Driver } from "@bpfkit/core";
import { shapes } from "../../../driver-kernel/src/fd-shapes.js";
import { openFdsOf } from "./bpf-world.js";

// gc() without --expose-gc on the command line: a context made after the flag is set has it.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

export interface Gauges {
  fds: number;
  /** Paths in the registry (getOpenMaps). */
  openMaps: number;
  /** Timers, handles and requests the event loop holds. */
  resources: number;
  /** Sim: bytes its maps and scratch use, and the wasm memory's size; kernel: 0. */
  wasmUsed: number;
  wasmBytes: number;
  /** Kernel: slots of the process's fd-shape table, and the driver's scratch regions; sim: 0. */
  shapeSlots: number;
  scratchBytes: number;
}

/** The counts that must not move across a churn that leaves what is live as it was. */
export function gauges(driver: Driver, bpf: Bpf): Gauges {
  const sim = driver.kind === "sim" ? (driver as Driver & { memoryUsage(): { used: number; wasmBytes: number } }).memoryUsage() : undefined;
  // The scratch regions are the kernel driver's own fields (Scratch): read here, not exported.
  const k = driver as unknown as { keyCap?: number; valueCap?: number; auxCap?: number };
  return {
    fds: openFdsOf(driver),
    openMaps: bpf.getOpenMaps().length,
    resources: process.getActiveResourcesInfo().length,
    wasmUsed: sim?.used ?? 0,
    wasmBytes: sim?.wasmBytes ?? 0,
    shapeSlots: driver.kind === "kernel" ? shapes.length : 0,
    scratchBytes: driver.kind === "kernel" ? (k.keyCap ?? 0) * 2 + (k.valueCap ?? 0) + (k.auxCap ?? 0) : 0,
  };
}

/** The JS heap in use after full collections, in bytes. */
export function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}
