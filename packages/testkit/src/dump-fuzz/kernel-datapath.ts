// Runs the kernel datapath thread (kernel-worker-source.ts) around a dump: one worker for a
// whole fuzz run, told per case which map to churn; the main thread dumps while it works.
import { once } from "node:events";
import { createRequire } from "node:module";
import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type DatapathRecord, newDatapathRecord } from "./datapath.js";
import { KERNEL_WORKER_SOURCE } from "./kernel-worker-source.js";
import type { KeyUniverse } from "./universe.js";

/** koffi as the kernel driver loads it: from @bpfkit/driver-kernel's own dependencies. */
export function resolveKoffi(): string {
  const req = createRequire(import.meta.url);
  try {
    return req.resolve("koffi");
  } catch {
    // testkit does not depend on koffi itself: look beside @bpfkit/driver-kernel.
    for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        const pkg = realpathSync(join(dir, "node_modules", "@bpfkit", "driver-kernel"));
        return req.resolve("koffi", { paths: [pkg] });
      } catch {
        // keep walking up
      }
    }
    throw new Error("the kernel datapath thread cannot find koffi (install @bpfkit/driver-kernel)");
  }
}

export interface ChurnPlan {
  readonly mapId: number;
  readonly universe: KeyUniverse;
  /** Universe keys the thread may update and delete. */
  readonly ids: readonly number[];
  readonly seed: number;
  /** Share of updates among its operations (the rest are deletes). */
  readonly updateShare: number;
}

interface ChurnReply {
  seq: number;
  error?: string;
  touched: number[];
  deleted: number[];
  written: number[];
  maxVersion: [number, number][];
  ops: number;
  seconds: number;
}

export class KernelDatapath {
  private seq = 0;
  private constructor(private readonly worker: Worker) {}

  static start(): KernelDatapath {
    // Kept referenced: the run awaits its messages, and stop() always ends it.
    const worker = new Worker(KERNEL_WORKER_SOURCE, { eval: true, workerData: { koffiPath: resolveKoffi() } });
    return new KernelDatapath(worker);
  }

  /**
   * Starts churning, runs `dump` once the thread has made its first operation, then stops it.
   * `dump` gets `aim`: tell it the id of the key the dump just reached (undefined: none), and the
   * thread goes at that key half the time, where the plan lets it touch that key; and
   * `committed`: per key, the last version whose update has returned (0: none yet), which a read
   * that starts later must see or pass.
   */
  async around<T>(plan: ChurnPlan, dump: (aim: (id: number | undefined) => void, committed: Int32Array) => T): Promise<{ result: T; record: DatapathRecord }> {
    const ctl = new Int32Array(new SharedArrayBuffer(12));
    const committed = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, plan.universe.size)));
    const aim = (id: number | undefined) => Atomics.store(ctl, 2, id === undefined ? 0 : id + 1);
    const u = plan.universe;
    const keys = new Uint8Array(u.size * u.spec.keySize);
    u.keys.forEach((k, i) => keys.set(k, i * u.spec.keySize));
    const seq = ++this.seq;
    this.worker.postMessage({
      cmd: "churn", seq, ctl: ctl.buffer, committed: committed.buffer, mapId: plan.mapId, keys, keySize: u.spec.keySize, ids: plan.ids,
      seed: plan.seed, updateShare: plan.updateShare, userValueSize: u.userValueSize, slot: u.slot,
      cpus: u.cpus, valueSize: u.spec.valueSize,
    });
    let result: T;
    try {
      if (plan.ids.length > 0 && Atomics.wait(ctl, 0, 0, 10_000) === "timed-out") {
        throw new Error("the kernel datapath thread did not start within 10 s");
      }
      result = dump(aim, committed);
    } finally {
      // Always: a thread left churning would never read another message.
      Atomics.store(ctl, 1, 1);
    }
    // Messages arrive only once this thread yields, so listening now misses none; a reply to an
    // earlier, abandoned churn is skipped by its sequence number.
    let msg: ChurnReply;
    do [msg] = (await once(this.worker, "message")) as [ChurnReply];
    while (msg.seq !== seq);
    if (msg.error !== undefined) throw new Error(`kernel datapath thread: ${msg.error}`);
    const record = newDatapathRecord(false);
    msg.touched.forEach((id) => record.touched.add(id));
    msg.deleted.forEach((id) => record.deleted.add(id));
    msg.written.forEach((id) => record.written.add(id));
    msg.maxVersion.forEach(([id, v]) => record.maxVersion.set(id, v));
    record.ops = msg.ops;
    record.seconds = msg.seconds;
    return { result, record };
  }

  /** Ends the thread: it frees its memory and exits; one that does not within 5 s is terminated. */
  async stop(): Promise<void> {
    const exited = once(this.worker, "exit");
    this.worker.postMessage({ cmd: "exit" });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => { timer = setTimeout(() => resolve("late"), 5000); });
    try {
      if (await Promise.race([exited, late]) === "late") await this.worker.terminate();
    } finally {
      clearTimeout(timer);
    }
  }
}
