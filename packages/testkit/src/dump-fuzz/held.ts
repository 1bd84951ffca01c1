// What each key holds at every moment of a simulator dump. The simulator runs the datapath only
// between syscalls, and every syscall is atomic, so a value a dump reads is the one its key held
// when the dump's latest syscall ran: exactly one version per CPU slot. The only thing the
// fuzzer cannot see is LRU eviction, which makes a key absent and, once the datapath writes it
// again, gives it a fresh element whose other CPUs' slots are zero.

/**
 * A key as a read sees it: null when it is not in the map, else per CPU slot the versions it
 * may hold (null in the list: the slot is all zeros, a CPU no write reached).
 */
export type HeldSlots = readonly (readonly (number | null)[])[] | null;

export class HeldValues {
  readonly #slots = new Map<number, (number | null)[][]>();

  /**
   * `present`: the keys in the map as the dump starts, each holding version 0 (the setup's) in
   * every slot. `lru`: the map may evict a key the fuzzer believes present.
   */
  constructor(present: Iterable<number>, private readonly cpus: number, private readonly lru: boolean) {
    for (const id of present) this.#slots.set(id, Array.from({ length: cpus }, () => [0]));
  }

  /**
   * A BPF program wrote `version` into `cpu`'s slot. A key already there keeps its other slots;
   * a new element's other slots are zero (and under LRU an element the fuzzer believes present
   * may have been evicted and be new).
   */
  updated(id: number, cpu: number, version: number): void {
    const old = this.#slots.get(id);
    const slots = Array.from({ length: this.cpus }, (_, c): (number | null)[] => {
      if (c === cpu || this.cpus === 1) return [version];
      if (old === undefined) return [null];
      const kept = old[c]!;
      return this.lru && !kept.includes(null) ? [...kept, null] : kept;
    });
    this.#slots.set(id, slots);
  }

  deleted(id: number): void {
    this.#slots.delete(id);
  }

  /** What key `id` holds now: a copy, so later writes leave it be. */
  at(id: number): HeldSlots {
    const s = this.#slots.get(id);
    return s === undefined ? null : s.map((slot) => [...slot]);
  }
}

/** A slot's possible versions as words: "version 3", "all zeros or version 3". */
export function describeHeld(slot: readonly (number | null)[]): string {
  return slot.map((v) => (v === null ? "all zeros" : `version ${v}`)).join(" or ");
}
