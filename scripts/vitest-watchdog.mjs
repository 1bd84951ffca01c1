// vitest setup file: ends a test file's process whose event loop has not turned for a long time,
// naming the test that held it. vitest's testTimeout is a timer in the same process, so a test
// that never yields (a loop of promises that settle at once, such as a ring wait polling a fd
// that is always ready) is never timed out: without this, the run would hang until CI's own
// limit. A worker thread, which runs beside the test's thread, watches a beat the test's thread
// gives from a timer; when the beat stops for BPFKIT_TEST_WATCHDOG_MS (default 180 s, three
// times the test timeout, so a slow test still fails by its timeout first), it writes which test
// was running to stderr and kills the process. vitest reports that as an error of the run ("Worker
// exited unexpectedly"; the file itself shows as passed, its tests pending), which
// scripts/test.mjs counts as a failure.
import { relative } from "node:path";
import { isMainThread, Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { BEAT_MS, watchdogLimitMs } from "./vitest-watchdog-limit.mjs";

/** Bytes of the running test's name kept for the message. */
const NAME_BYTES = 1024;

// [0]: beats; [1]: the running test's name length in bytes. The name's bytes follow.
const shared = new SharedArrayBuffer(8 + NAME_BYTES);
const words = new Int32Array(shared, 0, 2);
const nameBytes = new Uint8Array(shared, 8, NAME_BYTES);
const encoder = new TextEncoder();

function setRunning(name) {
  const { written } = encoder.encodeInto(name, nameBytes);
  Atomics.store(words, 1, written);
}

// The watcher: it sleeps in Atomics.wait (so it needs no event loop of its own to keep time)
// and looks at the beat once a second, timing on the monotonic clock (a step of the wall clock
// must not look like a stop).
const watcher = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const words = new Int32Array(workerData.shared, 0, 2);
const nameBytes = new Uint8Array(workerData.shared, 8, ${NAME_BYTES});
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let last = Atomics.load(words, 0);
let since = performance.now();
for (;;) {
  Atomics.wait(sleeper, 0, 0, ${BEAT_MS});
  const beat = Atomics.load(words, 0);
  const now = performance.now();
  if (beat !== last) { last = beat; since = now; continue; }
  if (now - since < workerData.limitMs) continue;
  const len = Atomics.load(words, 1);
  const name = new TextDecoder().decode(nameBytes.slice(0, len));
  writeSync(2, "\\nbpfkit test watchdog: this test file's event loop has not turned for " +
    Math.round((now - since) / 1000) + " s (limit " + workerData.limitMs / 1000 + " s; BPFKIT_TEST_WATCHDOG_MS sets it), " +
    "so vitest's timeout cannot fire. Running: " + name + "\\nKilling the test process.\\n");
  process.kill(process.pid, "SIGKILL");
}
`;

// Only in a process of the file's own (vitest's forks pool, as vitest.config.ts sets): under
// --pool=threads the file runs in a worker thread of vitest's own process, which a kill would end
// with every other file.
if (isMainThread) {
  const limitMs = watchdogLimitMs();
  const worker = new Worker(watcher, {
    eval: true,
    workerData: { shared, limitMs },
    stdout: false,
    stderr: false,
  });
  // The watcher must not keep the process alive, and must be running (its thread and fds made)
  // before any test takes a count of open fds or threads.
  worker.unref();
  await new Promise((resolve, reject) => {
    worker.once("online", resolve);
    worker.once("error", reject);
  });
  setInterval(() => Atomics.add(words, 0, 1), BEAT_MS).unref();
}

// Between tests the name says which file, and that a hook or the file's own code was running.
// Until its first hook, the file's module code runs (imports, top-level awaits, describe bodies).
let file = relative(process.cwd(), expect.getState().testPath ?? "") || "(the test file)";
setRunning(`${file} (its module code, before its first test)`);
beforeAll(({}, suite) => {
  file = suite.file?.name ?? suite.name;
  setRunning(`${file} (a hook)`);
});
beforeEach((ctx) => setRunning(`${file} > ${fullName(ctx.task)}`));
afterEach(() => setRunning(`${file} (a hook)`));
afterAll(() => setRunning(`${file} (a hook)`));

function fullName(task) {
  const parts = [];
  for (let t = task; t !== undefined && t.type !== undefined && t !== t.file; t = t.suite) parts.unshift(t.name);
  return parts.join(" > ");
}
