// Starting a kernel-side helper thread (churn-worker.mjs, pin-get-worker.mjs) and waiting until
// it is really running, so a test's main thread acts while the other thread does.
import { Worker } from "node:worker_threads";

/** What the plain-JS workers load koffi from (they cannot import the TS sources). */
export const koffiFrom = new URL("../../../driver-kernel/package.json", import.meta.url).pathname;

export interface RunningWorker {
  /** Waits for the worker to exit (after the test told it to stop); throws its error. */
  join(): Promise<void>;
}

/** Starts `url` with `workerData` and resolves once `ready()`, or rejects with the worker's error or after 20 s. */
export async function startWorker(url: URL, workerData: unknown, ready: () => boolean, what: string): Promise<RunningWorker> {
  const worker = new Worker(url, { workerData });
  let failed: Error | undefined;
  worker.on("error", (e) => { failed = e; });
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const t0 = Date.now();
  while (!ready()) {
    if (failed !== undefined) throw failed;
    if (Date.now() - t0 > 20_000) throw new Error(`${what} made no progress in 20 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    async join() {
      await exited;
      if (failed !== undefined) throw failed;
    },
  };
}
