// The drivers a test suite runs over. The simulator is always there; the kernel is there when
// bpf(2) works (here and in CI: root). Where it does not, the kernel's entry says why, so a
// suite can print the reason rather than pass silently.
import type { Driver } from "@bpfkit/core";
import { createKernelDriver, kernelDriverUnavailable, sysAdminMissing } from "@bpfkit/driver-kernel";
import { createSimDriver, type SimDriverOptions } from "@bpfkit/driver-wasm-sim";

/** A driver a suite runs over, by name: `unavailable` says why it cannot run here, else `create()` makes one. */
export interface DriverUnderTest {
  /** Which driver it is: the simulator or the kernel. */
  readonly name: "sim" | "kernel";
  /** Undefined when usable, else why not. */
  readonly unavailable: string | undefined;
  /** Makes a new driver of this kind; call it only when `unavailable` is undefined. */
  create(): Driver;
}

/** The simulator as a driver under test: always available. */
export function simUnderTest(options?: SimDriverOptions): DriverUnderTest {
  return { name: "sim", unavailable: undefined, create: () => createSimDriver(options) };
}

let warned = false;

/**
 * Why a suite's kernel half cannot run here, or undefined. The suites mount private bpffs and
 * open objects by id, which need CAP_SYS_ADMIN: with CAP_BPF alone they skip, saying so.
 */
export function kernelTestsUnavailable(): string | undefined {
  const why = kernelDriverUnavailable();
  if (why !== undefined) return why;
  const gap = sysAdminMissing();
  return gap !== undefined ? `the kernel tests need root: ${gap}` : undefined;
}

/** The kernel as a driver under test, or why it cannot be one here (printed once per process). */
export function kernelUnderTest(): DriverUnderTest {
  const why = kernelTestsUnavailable();
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
