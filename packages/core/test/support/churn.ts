// Starts the churn worker (churn-worker.mjs) on a kernel map and waits until it is really
// changing the map, so a test's dumps or walks run while another thread inserts and deletes.
import { Worker } from "node:worker_threads";
import type { BpfMap } from "@bpfkit/core";
import type { Env } from "./env.js";

export interface Churn {
  /** Operations done so far. */
  ops(): number;
  stop(): Promise<void>;
}

export async function startChurn(env: Env, m: BpfMap<number, number>, churnKeys: number[], lag: number): Promise<Churn> {
  const counter = new SharedArrayBuffer(8);
  const shared = new Int32Array(counter);
  const worker = new Worker(new URL("./churn-worker.mjs", import.meta.url), {
    workerData: {
      koffiFrom: new URL("../../../driver-kernel/package.json", import.meta.url).pathname,
      mapId: env.bpf.getMapInfoByFd(m.getFd()).id, keySize: 4, valueSize: 4, churnKeys, counter, lag,
    },
  });
  let failed: Error | undefined;
  worker.on("error", (e) => { failed = e; });
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  // Wait until the worker is really changing the map.
  const t0 = Date.now();
  while (Atomics.load(shared, 0) < 1000) {
    if (failed !== undefined) throw failed;
    if (Date.now() - t0 > 20_000) throw new Error("churn worker made no progress in 20 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    ops: () => Atomics.load(shared, 0),
    async stop() {
      Atomics.store(shared, 1, 1);
      await exited;
      if (failed !== undefined) throw failed;
    },
  };
}

