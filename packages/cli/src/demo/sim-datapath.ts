// The simulator demo's datapath: before each syscall-level call the GC makes, the simulator's
// interleaving hook lets a "BPF program" open or close flows through the datapath facet — what a
// busy node does between two syscalls, deterministic from the seed.
import { BPF_NOEXIST, type Driver } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { CliError, ExitCode } from "../cli-error.js";
import { ctKey, ctValue, flowKey, prng } from "./conntrack.js";
import type { ChurnPool, DatapathCounts, DemoDatapath } from "./datapath.js";

function asSim(d: Driver): SimDriver {
  const s = d as Partial<SimDriver>;
  if (typeof s.datapath?.update !== "function" || typeof s.setInterleavingHook !== "function") {
    throw new CliError(`the ${d.kind} driver has no datapath facet or interleaving hook`, ExitCode.failure, "run the demo with --driver sim or --driver kernel");
  }
  return d as SimDriver;
}

export interface SimDatapathOptions {
  seed: number;
  /** Datapath operations per syscall, on average. */
  rate: number;
  expires: bigint;
}

export async function startSimDatapath(d: Driver, mapFd: number, pool: ChurnPool, o: SimDatapathOptions): Promise<DemoDatapath> {
  const sim = asSim(d);
  const map = { fd: mapFd };
  const rand = prng(o.seed ^ 0xd47a);
  const key = new Uint8Array(ctKey.size);
  const value = new Uint8Array(ctValue.size);
  ctValue.encode({ expires: o.expires, packets: 1n }, value);
  const counts: DatapathCounts = { inserts: 0, deletes: 0 };
  const size = pool.to - pool.from;

  const act = () => {
    const i = pool.from + Math.floor(rand() * size);
    ctKey.encode(flowKey(i), key);
    if (pool.present[i - pool.from] === 1) {
      if (sim.datapath.delete(map, key, 0) === 0) counts.deletes++;
      pool.present[i - pool.from] = 0;
    } else {
      if (sim.datapath.update(map, key, value, BPF_NOEXIST, 0) === 0) counts.inserts++;
      pool.present[i - pool.from] = 1;
    }
  };
  const hook = () => {
    // `rate` operations per syscall on average: whole ones, then the fraction by chance.
    let n = Math.floor(o.rate) + (rand() < o.rate % 1 ? 1 : 0);
    while (n-- > 0) act();
  };
  return {
    description: `BPF programs (the simulator's datapath facet) opening and closing flows between syscalls, ${o.rate} per syscall on average`,
    counts: () => ({ ...counts }),
    during<T>(fn: () => T): T {
      sim.setInterleavingHook(hook);
      try {
        return fn();
      } finally {
        sim.setInterleavingHook(null);
      }
    },
    close: async () => {},
  };
}
