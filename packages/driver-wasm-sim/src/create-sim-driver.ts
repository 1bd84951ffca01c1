// createSimDriver: option checks and defaults, then a fresh engine instance per simulator, so
// every simulator is its own world (its own maps, ids, fds, bpffs and clock).
import { assertOptionKeys, optionKeys } from "@bpfkit/core";
import { instantiateEngine } from "./engine.js";
import { hostPossibleCpus } from "./platform.js";
import { SimDriverImpl } from "./sim-driver.js";
import type { SimDriver, SimDriverOptions } from "./sim-driver.js";

const SIM_DRIVER_OPTIONS_KEYS = optionKeys<SimDriverOptions>({
  possibleCpus: true, seed: true, privileged: true, unprivilegedBpfDisabled: true, bpffsMount: true, memoryLimit: true,
  syscallNs: true, memlock: true, engine: true,
});

/** Two wasm pages: the engine's own (its static data) and one for maps. */
const MIN_MEMORY_LIMIT = 2 * 65536;

function checkOptions(o: SimDriverOptions): void {
  const int = (v: unknown, what: string, min: number, max: number) => {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`createSimDriver: ${what} must be an integer, got ${typeof v}`);
    if (v < min || v > max) throw new RangeError(`createSimDriver: ${what} ${v} is outside [${min}, ${max}]`);
  };
  if (typeof o !== "object" || o === null) throw new TypeError("createSimDriver: options must be an object");
  assertOptionKeys(o, SIM_DRIVER_OPTIONS_KEYS, "createSimDriver", "options");
  int(o.possibleCpus, "possibleCpus", 1, 8192);
  int(o.seed, "seed", 0, 0xffffffff);
  int(o.unprivilegedBpfDisabled, "unprivilegedBpfDisabled", 0, 2);
  int(o.memoryLimit, "memoryLimit", 1, 0xffffffff);
  if (o.memoryLimit !== undefined && o.memoryLimit < MIN_MEMORY_LIMIT) {
    // Read as "bytes maps may use", a small limit booted a simulator where every map was ENOMEM.
    throw new RangeError(`createSimDriver: memoryLimit ${o.memoryLimit} leaves no room for any map: it caps the ` +
      `simulator's whole wasm memory in 64 KiB pages (rounded down), and the first page is the engine's own; ` +
      `give at least ${MIN_MEMORY_LIMIT}`);
  }
  int(o.syscallNs, "syscallNs", 0, 1e12);
  if (o.privileged !== undefined && typeof o.privileged !== "boolean") throw new TypeError("createSimDriver: privileged must be a boolean");
  if (o.bpffsMount !== undefined && o.bpffsMount !== null && (typeof o.bpffsMount !== "string" || !o.bpffsMount.startsWith("/"))) {
    throw new TypeError("createSimDriver: bpffsMount must be an absolute path or null");
  }
  if (o.memlock !== undefined && (typeof o.memlock !== "bigint" || o.memlock < 0n)) throw new TypeError("createSimDriver: memlock must be a non-negative bigint");
  if (o.engine !== undefined && typeof o.engine !== "function") throw new TypeError("createSimDriver: engine must be a function returning the engine's exports");
}

/** A new simulated host: bpffs at /sys/fs/bpf, no maps, fds 0–2 taken by stdio. */
export function createSimDriver(options: SimDriverOptions = {}): SimDriver {
  checkOptions(options);
  const engine = (options.engine ?? instantiateEngine)();
  return new SimDriverImpl(engine, options, options.possibleCpus ?? hostPossibleCpus());
}
