// Starts the churn worker (churn-worker.mjs) on a kernel map and waits until it is really
// changing the map, so a test's dumps or walks run while another thread inserts and deletes.
import type { BpfMap } from "@bpfkit/core";
import type { Env } from "./env.js";
import { koffiFrom, startWorker } from "./worker.js";

export interface Churn {
  /** Operations done so far. */
  ops(): number;
  stop(): Promise<void>;
}

export async function startChurn(env: Env, m: BpfMap<number, number>, churnKeys: number[], lag: number): Promise<Churn> {
  const counter = new SharedArrayBuffer(8);
  const shared = new Int32Array(counter);
  const data = { koffiFrom, mapId: env.bpf.getMapInfoByFd(m.getFd()).id, keySize: 4, valueSize: 4, churnKeys, counter, lag };
  // Wait until the worker is really changing the map.
  const worker = await startWorker(new URL("./churn-worker.mjs", import.meta.url), data,
    () => Atomics.load(shared, 0) >= 1000, "churn worker");
  return {
    ops: () => Atomics.load(shared, 0),
    async stop() {
      Atomics.store(shared, 1, 1);
      await worker.join();
    },
  };
}

