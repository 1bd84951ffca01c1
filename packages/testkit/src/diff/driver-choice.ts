// How a runner is told which drivers to use: a Driver, a factory, or a name the CLI can pass
// straight through. Names load their package lazily, so a runner imports neither koffi nor the
// simulator until it is asked for one.
import type { Driver } from "@bpfkit/core";
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

/** A DriverChoice as a named Driver; a named simulator or model gets `possibleCpus` when given. */
export async function resolveDriver(choice: DriverChoice, possibleCpus?: number): Promise<ResolvedDriver> {
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
      return { name: "sim", driver: createSimDriver(possibleCpus !== undefined ? { possibleCpus } : undefined) };
    }
    case "model":
      return { name: "model", driver: createModelDriver(possibleCpus !== undefined ? { possibleCpus } : {}) };
    default:
      throw new TypeError(`unknown driver ${JSON.stringify(choice)}: expected "sim", "kernel", "model" or a Driver`);
  }
}

const rank = (c: DriverChoice) => (typeof c !== "string" ? 0 : c === "kernel" ? 1 : c === "sim" ? 2 : 3);

/**
 * Resolves two choices so that they agree on possible CPUs: the one with a fixed count (a given
 * Driver, then the kernel) goes first, and a named simulator or model takes its count.
 */
export async function resolvePair(left: DriverChoice, right: DriverChoice): Promise<[ResolvedDriver, ResolvedDriver]> {
  const swap = rank(right) < rank(left);
  const a = await resolveDriver(swap ? right : left);
  const b = await resolveDriver(swap ? left : right, a.driver.possibleCpus);
  const [l, r] = swap ? [b, a] : [a, b];
  if (l.driver.possibleCpus !== r.driver.possibleCpus) {
    throw new RangeError(`drivers disagree on possible CPUs: ${l.name} has ${l.driver.possibleCpus}, ${r.name} has ${r.driver.possibleCpus}; per-CPU values would not compare`);
  }
  if (l.name === r.name) return [{ ...l, name: `${l.name} (left)` }, { ...r, name: `${r.name} (right)` }];
  return [l, r];
}
