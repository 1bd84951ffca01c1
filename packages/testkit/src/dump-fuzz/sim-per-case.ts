// A simulator per dump case, without a new wasm memory per case. A case's maps get their hash
// seeds from the simulator's map ids, so a replay of one case matches the run only if every case
// starts on a new host; but a new wasm memory per case (its page faults, then its collection)
// made runs several times slower. A new simulator therefore takes over the previous one's wasm
// engine when that one holds no map any more: the host (ids, fds, bpffs, seeds) is new, and the
// engine's heap holds nothing a map could see.
import type { EngineExports, SimDriver, SimDriverOptions } from "@bpfkit/driver-wasm-sim";

/** What it needs of @bpfkit/driver-wasm-sim (imported lazily by its callers). */
export interface SimModule {
  /** `@bpfkit/driver-wasm-sim`'s createSimDriver. */
  createSimDriver(options?: SimDriverOptions): SimDriver;
  /** `@bpfkit/driver-wasm-sim`'s instantiateEngine: a new wasm engine, with its own memory. */
  instantiateEngine(): EngineExports;
}

/**
 * A factory for `runDumpFuzz`'s `driver`: each call a new simulated host with `options`. The
 * simulator returned before must not be used once the next is made (its engine may be reused).
 */
export function simulatorPerCase(sim: SimModule, options: Omit<SimDriverOptions, "engine"> = {}): () => SimDriver {
  let last: { driver: SimDriver; engine: EngineExports } | undefined;
  return () => {
    const engine = last !== undefined && last.driver.liveMapIds().length === 0 ? last.engine : sim.instantiateEngine();
    const driver = sim.createSimDriver({ ...options, engine: () => engine });
    last = { driver, engine };
    return driver;
  };
}
