// The kernel demo's datapath: a worker thread with its own kernel driver, opening and closing
// churn flows as fast as bpf(2) goes while the main thread dumps. It uses the main thread's fd
// (a process's threads share fds; MAP_GET_FD_BY_ID would need CAP_SYS_ADMIN), which the main
// thread closes only after the worker has exited. Presence and counters are SharedArrayBuffers.
import { Worker } from "node:worker_threads";
import { errnoName, errnoText } from "@bpfkit/core";
import { CliError, ExitCode } from "../cli-error.js";
import type { ChurnPool, DatapathCounts, DemoDatapath } from "./datapath.js";

/**
 * Control words: [0] run (1) / pause (0), [1] stop, [2] ready, [3] inserts, [4] deletes,
 * [5] failed, [6] steps (every update or delete tried, whatever its answer).
 */
const RUN = 0, STOP = 1, READY = 2, INSERTS = 3, DELETES = 4, FAILED = 5, STEPS = 6;

/** How long a pass waits for the thread's first step: on a loaded machine it may not be running yet. */
const FIRST_STEP_MS = 2000;

export interface KernelDatapathOptions {
  /** The map's fd, open in this thread until close() has returned. */
  mapFd: number;
  pool: ChurnPool;
  seed: number;
  /** CLOCK_MONOTONIC ns a new flow expires at. */
  expires: bigint;
}

/** The compiled worker (it runs from dist; the sources' vitest run uses the build too). */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith(".ts")
    ? new URL("../../dist/demo/kernel-datapath-worker.js", here)
    : new URL("./kernel-datapath-worker.js", here);
}

export async function startKernelDatapath(o: KernelDatapathOptions): Promise<DemoDatapath> {
  const control = new Int32Array(new SharedArrayBuffer(7 * 4));
  const presentSab = new SharedArrayBuffer(o.pool.present.length);
  const present = new Int8Array(presentSab);
  present.set(o.pool.present);
  const worker = new Worker(workerUrl(), {
    workerData: { mapFd: o.mapFd, from: o.pool.from, to: o.pool.to, present: presentSab, control: control.buffer, seed: o.seed, expires: o.expires },
  });
  let error: Error | undefined;
  worker.on("error", (e) => { error = e; });
  // Listened for from the start: a worker that stops on an errno may exit long before close().
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  // Wait until the worker is ready, so the first dump already races with it.
  const deadline = Date.now() + 10_000;
  while (Atomics.load(control, READY) === 0 && error === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  if (error !== undefined || Atomics.load(control, READY) !== 1) {
    await worker.terminate();
    throw new CliError(`the datapath thread did not start: ${error?.message ?? "no answer in 10 s"}`, ExitCode.failure);
  }
  return {
    description: "a second thread (its own kernel driver) opening and closing flows as fast as bpf(2) allows",
    counts: (): DatapathCounts => ({ inserts: Atomics.load(control, INSERTS), deletes: Atomics.load(control, DELETES) }),
    during<T>(fn: () => T): T {
      Atomics.store(control, RUN, 1);
      Atomics.notify(control, RUN);
      // The pass starts once the thread has taken a step, so that it races the dump rather than
      // waking when a short pass is already over (bounded: a stuck thread is reported at close).
      const before = Atomics.load(control, STEPS);
      const until = Date.now() + FIRST_STEP_MS;
      while (Atomics.load(control, STEPS) === before && Atomics.load(control, FAILED) === 0 && Date.now() < until) {
        Atomics.wait(control, STEPS, before, 1);
      }
      try {
        return fn();
      } finally {
        Atomics.store(control, RUN, 0);
        o.pool.present.set(present);
      }
    },
    async close() {
      Atomics.store(control, STOP, 1);
      Atomics.store(control, RUN, 1);
      Atomics.notify(control, RUN);
      await exited;
      o.pool.present.set(present);
      if (error !== undefined) throw new CliError(`the datapath thread failed: ${error.message}`, ExitCode.failure);
      const failed = Atomics.load(control, FAILED);
      if (failed !== 0) throw new CliError(`the datapath thread's update or delete failed: ${errnoName(failed)} (${errnoText(failed)})`, ExitCode.failure);
    },
  };
}

export const CONTROL = { RUN, STOP, READY, INSERTS, DELETES, FAILED, STEPS } as const;
