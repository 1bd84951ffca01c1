// The open-maps registry (map_register_linux.go), one per Bpf instance: pin path → the BpfMap
// object that opened it. Unregistering checks the object (API.md §4.7): closing a second object
// for the same path must not hide the first one from getMap/getOpenMaps.
import type { Logger } from "./logger.js";

export class MapRegistry<M> {
  readonly #maps = new Map<string, M>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Overwrites any entry for `path`, as the seed does. */
  register(path: string, m: M): void {
    this.#maps.set(path, m);
    this.#logger.debug("Registered BPF map", { path });
  }

  /** Removes the entry for `path` only when it is `m`; true when it did. */
  unregister(path: string, m: M): boolean {
    if (this.#maps.get(path) !== m) return false;
    this.#maps.delete(path);
    this.#logger.debug("Unregistered BPF map", { path });
    return true;
  }

  get(path: string): M | undefined {
    return this.#maps.get(path);
  }

  /** A snapshot, so callers may close maps while going through it. */
  all(): M[] {
    return [...this.#maps.values()];
  }

  get size(): number {
    return this.#maps.size;
  }
}
