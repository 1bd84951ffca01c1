// A process, or a worker thread, must be able to end while a mapPoll wait is blocked in
// epoll_wait on a thread of libuv's pool: Node joins those threads on exit, and a worker's
// teardown waits for its pool calls to return. Each case runs in a child process (the driver
// transpiled from the sources), which must end with its own status, not hang.
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { transpileForChild } from "./child-copy.js";
import { describeKernel } from "./helpers.js";

let dir: string | undefined;

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A module that makes a ring and starts an endless wait on it (nothing is ever written to it). */
function waiter(dir: string): string {
  return `
    import { createKernelDriver } from ${JSON.stringify(join(dir, "driver-kernel", "index.js"))};
    const d = createKernelDriver();
    const fd = d.mapCreate({ mapType: 27 /* RINGBUF */, keySize: 0, valueSize: 0, maxEntries: 4096 });
    if (fd < 0) throw new Error("mapCreate: " + fd);
    export const waiting = d.mapPoll(fd, Number.POSITIVE_INFINITY);`;
}

/** Runs `script` as an ES module in a child node; its status, stderr and how long it took. */
function run(script: string): { status: number | null; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000, cwd: dir });
  return { status: r.status, stderr: r.stderr, ms: performance.now() - t0 };
}

describeKernel("kernel driver: a process ends while a mapPoll wait is blocked", () => {
  /** The driver's copy, with waiter.mjs beside it, and worker.mjs, which waits in a worker thread. */
  const prepare = (): string => {
    if (dir === undefined) {
      dir = transpileForChild("bpfkit-poll-exit-", { koffi: true });
      writeFileSync(join(dir, "waiter.mjs"), waiter(dir));
      writeFileSync(join(dir, "worker.mjs"), `import "./waiter.mjs";
        import { parentPort } from "node:worker_threads";
        parentPort.postMessage("waiting");`);
    }
    return dir;
  };

  it("process.exit() from a signal handler, as an agent's Ctrl-C does", () => {
    const d = prepare();
    const r = run(`
      await import(${JSON.stringify(join(d, "waiter.mjs"))});
      process.on("SIGINT", () => process.exit(7));
      setTimeout(() => process.kill(process.pid, "SIGINT"), 50);`);
    expect(r.stderr).toBe("");
    expect(r.status, `ended after ${r.ms.toFixed(0)} ms`).toBe(7);
  });

  it("an uncaught exception", () => {
    const d = prepare();
    const r = run(`
      await import(${JSON.stringify(join(d, "waiter.mjs"))});
      setTimeout(() => { throw new Error("boom"); }, 50);`);
    expect(r.stderr).toContain("boom");
    expect(r.status).toBe(1);
  });

  it("worker.terminate() and the main thread's process.exit() while workers wait", () => {
    const d = prepare();
    const r = run(`
      import { Worker } from "node:worker_threads";
      const start = () => new Promise((resolve) => {
        const w = new Worker(${JSON.stringify(join(d, "worker.mjs"))}, { execArgv: [] });
        w.once("message", () => resolve(w));
      });
      const a = await start();
      const t0 = performance.now();
      await a.terminate();
      const ms = performance.now() - t0;
      if (ms > 2000) throw new Error("terminate() took " + ms + " ms");
      await start();
      process.exit(5);`);
    expect(r.stderr).toBe("");
    expect(r.status, `ended after ${r.ms.toFixed(0)} ms`).toBe(5);
  });
});
