// createSimDriver: option checks and defaults, then a fresh engine instance per simulator, so
// every simulator is its own world (its own maps, ids, fds, bpffs and clock).
import { DEFAULT_PAGE_SIZE, assertOptionKeys, optionKeys, describeValue } from "@bpfkit/core";
import type { EngineExports } from "./engine-abi.js";
import { instantiateEngine } from "./engine.js";
import { hostPossibleCpus } from "./platform.js";
import { SimDriverImpl } from "./sim-driver.js";
import type { SimDriver, SimDriverOptions } from "./sim-driver.js";

const SIM_DRIVER_OPTIONS_KEYS = optionKeys<SimDriverOptions>({
  possibleCpus: true, seed: true, privileged: true, unprivilegedBpfDisabled: true, bpffsMount: true, memoryLimit: true,
  syscallNs: true, memlock: true, engine: true, pageSize: true, kernelBtf: true,
});

/** The page sizes the simulator models: 4 KiB (x86-64's, arm64's smallest) to 64 KiB (arm64's largest). */
const MAX_PAGE_SIZE = 65536;

/** Two wasm pages: the engine's own (its static data) and one for maps. */
const MIN_MEMORY_LIMIT = 2 * 65536;

function checkOptions(o: SimDriverOptions): void {
  const int = (v: unknown, what: string, min: number, max: number) => {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`createSimDriver: ${what} must be an integer, got ${describeValue(v)}`);
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
  if (o.kernelBtf !== undefined && !(o.kernelBtf instanceof Uint8Array)) {
    throw new TypeError(`createSimDriver: kernelBtf must be a Uint8Array of BTF (/sys/kernel/btf/vmlinux), got ${describeValue(o.kernelBtf)}`);
  }
  if (o.pageSize !== undefined) {
    const p = o.pageSize;
    if (typeof p !== "number" || !Number.isInteger(p)) throw new TypeError(`createSimDriver: pageSize must be an integer, got ${describeValue(p)}`);
    if (p < DEFAULT_PAGE_SIZE || p > MAX_PAGE_SIZE || (p & (p - 1)) !== 0) {
      throw new RangeError(`createSimDriver: pageSize ${p} is not a page size a kernel has: give a power of 2 from ` +
        `${DEFAULT_PAGE_SIZE} to ${MAX_PAGE_SIZE} (4096, 16384 or 65536 as arm64 kernels are built), or leave it out for 4096`);
    }
  }
}

/**
 * Tells the engine its PAGE_SHIFT. An engine is set for every simulator, since one may be passed
 * on (testkit's simulatorPerCase) from a simulator with another page size.
 */
function setEnginePage(engine: EngineExports, pageSize: number): void {
  if (engine.setPageShift === undefined) {
    if (pageSize === DEFAULT_PAGE_SIZE) return; // an engine from before the option: 4 KiB pages
    throw new TypeError(`createSimDriver: pageSize ${pageSize} needs an engine with setPageShift; this one has 4096-byte pages only`);
  }
  const r = engine.setPageShift(Math.log2(pageSize));
  if (r < 0) {
    throw new Error(`createSimDriver: the engine refused pageSize ${pageSize} (errno ${-r})` +
      (r === -16 ? ": it still holds maps laid out in another page size" : ""));
  }
}

/** A new simulated host: bpffs at /sys/fs/bpf, no maps, fds 0–2 taken by stdio. */
export function createSimDriver(options: SimDriverOptions = {}): SimDriver {
  checkOptions(options);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const engine = (options.engine ?? instantiateEngine)();
  setEnginePage(engine, pageSize);
  return new SimDriverImpl(engine, options, options.possibleCpus ?? hostPossibleCpus(), pageSize);
}
