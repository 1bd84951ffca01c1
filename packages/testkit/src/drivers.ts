// The drivers a test suite runs over. The simulator is always there; the kernel is there when
// bpf(2) works (here and in CI: root). Where it does not, the kernel's entry says why, so a
// suite can print the reason rather than pass silently.
import type { Driver } from "@bpfkit/core";
import { createKernelDriver, kernelDriverAvailable } from "@bpfkit/driver-kernel";
import { createSimDriver, type SimDriverOptions } from "@bpfkit/driver-wasm-sim";

export interface DriverUnderTest {
  readonly name: "sim" | "kernel";
  /** Undefined when usable, else why not. */
  readonly unavailable: string | undefined;
  create(): Driver;
}

export function simUnderTest(options?: SimDriverOptions): DriverUnderTest {
  return { name: "sim", unavailable: undefined, create: () => createSimDriver(options) };
}

let warned = false;

export function kernelUnderTest(): DriverUnderTest {
  let why: string | undefined;
  try {
    why = kernelDriverAvailable() ? undefined : "bpf(2) is not usable here (needs Linux and root or CAP_BPF)";
  } catch (e) {
    why = `bpf(2) is not usable here: ${(e as Error).message}`;
  }
  // Every suite that skips its kernel half says why, once per process, so a skip is never silent.
  if (why !== undefined && !warned) {
    warned = true;
    console.warn(`kernel tests skipped: ${why}`);
  }
  return { name: "kernel", unavailable: why, create: () => createKernelDriver() };
}

/**
 * Both drivers. BPFKIT_DRIVERS=sim or =kernel narrows the list (the env var selects backends,
 * as Kysely's suites do).
 */
export function driversUnderTest(options?: SimDriverOptions): DriverUnderTest[] {
  const all = [simUnderTest(options), kernelUnderTest()];
  const only = process.env.BPFKIT_DRIVERS?.split(",").map((s) => s.trim()).filter(Boolean);
  return only && only.length > 0 ? all.filter((d) => only.includes(d.name)) : all;
}
