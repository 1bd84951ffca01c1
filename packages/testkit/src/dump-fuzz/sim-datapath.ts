// The simulator's datapath for a dump: before the dump's n-th syscall the interleaving hook runs
// the BPF-program operations the case scheduled for n, through the datapath facet. Deterministic:
// the same case replays the same dump exactly.
import { BPF_ANY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import type { InterleavingStep } from "../arbitraries/interleaving.js";
import { type DatapathRecord, newDatapathRecord } from "./datapath.js";
import { HeldValues } from "./held.js";
import type { DumpTrace } from "./dump-trace.js";
import type { KeyUniverse } from "./universe.js";

export interface SimDatapathRun {
  readonly record: DatapathRecord;
  /** What each key holds after the datapath's latest moves: what the dump's next read sees. */
  readonly held: HeldValues;
  /** Syscalls the dump made while attached. */
  syscalls(): number;
  detach(): void;
}

/**
 * `recent(i)`: the key the dump's last (0) or previous (1) GET_NEXT_KEY returned, for ops that
 * aim at the dump. `present`: the keys in the map as the dump starts, each at version 0.
 */
export function attachSimDatapath(sim: SimDriver, fd: number, universe: KeyUniverse,
  steps: readonly InterleavingStep[], recent: (back: 0 | 1) => Uint8Array | undefined,
  present: Iterable<number>, trace?: DumpTrace): SimDatapathRun {
  const record = newDatapathRecord(true);
  const t = universe.spec.mapType;
  const held = new HeldValues(present, universe.cpus, t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH);
  const map = { fd };
  const scratch = new Uint8Array(universe.spec.valueSize);
  let n = 0;
  let next = 0;
  let ns = 0n;
  sim.setInterleavingHook(() => {
    const t0 = process.hrtime.bigint();
    while (next < steps.length && steps[next]!.at <= n) {
      for (const op of steps[next]!.ops) {
        const aimed = op.recent === undefined ? undefined : recent(op.recent);
        const id = aimed === undefined ? op.key : universe.idOf(aimed);
        if (id === undefined) continue;
        const key = universe.keys[id]!;
        record.ops++;
        let r: number;
        const version = (record.maxVersion.get(id) ?? 0) + 1;
        if (op.kind === "update") {
          r = sim.datapath.update(map, key, universe.slotValue(id, version), BPF_ANY, op.cpu);
          if (r === 0) {
            record.touched.add(id);
            record.written.add(id);
            record.maxVersion.set(id, version);
            held.updated(id, op.cpu, version);
          }
        } else if (op.kind === "delete") {
          r = sim.datapath.delete(map, key, op.cpu);
          if (r === 0) {
            record.touched.add(id);
            record.deleted.add(id);
            held.deleted(id);
          }
        } else {
          r = sim.datapath.lookup(map, key, scratch, op.cpu);
        }
        if (trace !== undefined) {
          const aim = aimed === undefined ? "" : ` (the key the dump's ${op.recent === 0 ? "last" : "previous"} GET_NEXT_KEY returned)`;
          const what = op.kind === "update" && r === 0 ? ` to v${version}` : "";
          trace.datapath(`${op.kind} ${trace.key(key)}${what}${aim} on cpu ${op.cpu}${r < 0 ? ` → ${trace.errno(r)}` : ""}`);
        }
      }
      next++;
    }
    n++;
    ns += process.hrtime.bigint() - t0;
  });
  return {
    record,
    held,
    syscalls: () => n,
    detach() {
      sim.setInterleavingHook(null);
      record.seconds = Number(ns) / 1e9;
    },
  };
}

/** A simulator driver has the datapath facet and the interleaving hook. */
export function isSimDriver(d: unknown): d is SimDriver {
  return typeof d === "object" && d !== null && "datapath" in d && "setInterleavingHook" in d;
}
