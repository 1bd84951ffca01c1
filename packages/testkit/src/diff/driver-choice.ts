// How a runner is told which drivers to use: a Driver, a factory, or a name the CLI can pass
// straight through. Names load their package lazily, so a runner imports neither koffi nor the
// simulator until it is asked for one.
import { DEFAULT_PAGE_SIZE, driverPageSize, type Driver } from "@bpfkit/core";
import { createModelDriver } from "../model/model-driver.js";

/** A driver a runner can make by name: the simulator, the kernel, or testkit's TypeScript model. */
export type DriverName = "sim" | "kernel" | "model";
/** Which driver a runner uses: a Driver, a function that makes one, or a `DriverName`. */
export type DriverChoice = Driver | (() => Driver) | DriverName;

/** A driver together with the name runners report it by. */
export interface ResolvedDriver {
  /** The name reports use: the driver's kind, with ` (left)` or ` (right)` added when both sides have the same. */
  readonly name: string;
  /** The driver itself. */
  readonly driver: Driver;
}

/**
 * A DriverChoice as a named Driver; a named simulator or model gets `possibleCpus` when given,
 * and a named simulator `pageSize` (an arm64 kernel's 16 or 64 KiB, say) and `kernelBtf` (the
 * kernel's own BTF, createSimDriver's option).
 */
export async function resolveDriver(choice: DriverChoice, possibleCpus?: number, pageSize?: number, kernelBtf?: Uint8Array): Promise<ResolvedDriver> {
  if (typeof choice === "function") {
    const driver = choice();
    return { name: driver.kind, driver };
  }
  if (typeof choice === "object") return { name: choice.kind, driver: choice };
  switch (choice) {
    case "kernel": {
      const { createKernelDriver } = await import("@bpfkit/driver-kernel");
      return { name: "kernel", driver: createKernelDriver() };
    }
    case "sim": {
      const { createSimDriver } = await import("@bpfkit/driver-wasm-sim");
      return { name: "sim", driver: createSimDriver({
        ...(possibleCpus !== undefined ? { possibleCpus } : {}),
        ...(pageSize !== undefined && pageSize !== DEFAULT_PAGE_SIZE ? { pageSize } : {}),
        ...(kernelBtf !== undefined ? { kernelBtf } : {}),
      }) };
    }
    case "model":
      return { name: "model", driver: createModelDriver(possibleCpus !== undefined ? { possibleCpus } : {}) };
    default:
      throw new TypeError(`unknown driver ${JSON.stringify(choice)}: expected "sim", "kernel", "model" or a Driver`);
  }
}

const rank = (c: DriverChoice) => (typeof c !== "string" ? 0 : c === "kernel" ? 1 : c === "sim" ? 2 : 3);

/**
 * Resolves two choices so that they agree on possible CPUs and the page size: the one with fixed
 * ones (a given Driver, then the kernel) goes first, and a named simulator or model takes its
 * count (and a simulator its page). Two that still disagree are a RangeError: per-CPU values, or
 * mappings and ring buffers, would not compare. A named simulator gets `kernelBtf` when given.
 */
export async function resolvePair(left: DriverChoice, right: DriverChoice, kernelBtf?: Uint8Array): Promise<[ResolvedDriver, ResolvedDriver]> {
  const swap = rank(right) < rank(left);
  const a = await resolveDriver(swap ? right : left, undefined, undefined, kernelBtf);
  const b = await resolveDriver(swap ? left : right, a.driver.possibleCpus, driverPageSize(a.driver), kernelBtf);
  let [l, r] = swap ? [b, a] : [a, b];
  if (l.name === r.name) [l, r] = [{ ...l, name: `${l.name} (left)` }, { ...r, name: `${r.name} (right)` }];
  if (l.driver.possibleCpus !== r.driver.possibleCpus) {
    throw new RangeError(`drivers disagree on possible CPUs: ${l.name} has ${l.driver.possibleCpus}, ${r.name} has ${r.driver.possibleCpus}; per-CPU values would not compare`);
  }
  if (driverPageSize(l.driver) !== driverPageSize(r.driver)) {
    throw new RangeError(`drivers disagree on the page size: ${l.name} has ${driverPageSize(l.driver)}, ${r.name} has ${driverPageSize(r.driver)}; mappings and ring buffers would not compare`);
  }
  return [l, r];
}
