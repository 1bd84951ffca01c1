// The open-maps registry (map_register_linux.go), one per Bpf instance: pin path → the BpfMap
// object that opened it. Unregistering checks the object (API.md §4.7): closing a second object
// for the same path must not hide the first one from getMap/getOpenMaps. The seed keeps one
// object per path, so a second object opened there took the slot, and closing it emptied the
// slot while the first was still open; here each path keeps its open objects, newest last.
import type { Logger } from "./logger.js";

/** The open maps of one Bpf instance by pin path (the seed's map registry), which `getMap` and `getOpenMaps` read. */
export class MapRegistry<M> {
  /** Per path, the objects registered there and not yet unregistered, in registration order. */
  readonly #maps = new Map<string, M[]>();
  readonly #logger: Logger;

  /** Makes an empty registry that logs (de)registrations to `logger` at debug level. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Makes `m` the object for `path` (the seed overwrites); one registered earlier comes back when `m` goes. */
  register(path: string, m: M): void {
    const list = this.#maps.get(path);
    if (list === undefined) {
      this.#maps.set(path, [m]);
    } else {
      const i = list.indexOf(m);
      if (i >= 0) list.splice(i, 1);
      list.push(m);
    }
    this.#logger.debug("Registered BPF map", { path });
  }

  /** Removes `m` from `path` (never another object); true when it was registered there. */
  unregister(path: string, m: M): boolean {
    const list = this.#maps.get(path);
    const i = list === undefined ? -1 : list.indexOf(m);
    if (i < 0) return false;
    list!.splice(i, 1);
    if (list!.length === 0) this.#maps.delete(path);
    this.#logger.debug("Unregistered BPF map", { path });
    return true;
  }

  /** The object registered last for `path` and still registered. */
  get(path: string): M | undefined {
    const list = this.#maps.get(path);
    return list === undefined ? undefined : list[list.length - 1];
  }

  /** One object per path (as get gives it); a snapshot, so callers may close maps while going through it. */
  all(): M[] {
    return [...this.#maps.values()].map((list) => list[list.length - 1]!);
  }

  /** Paths with an object registered. */
  get size(): number {
    return this.#maps.size;
  }
}
