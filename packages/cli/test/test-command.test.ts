// The repository's own test command (scripts/test.mjs, what `npm test` and CI run) counts every
// way a run can fail in its last line, `N passed, N failed`, which CI reads: a failing hook, and
// a test process that the watchdog (scripts/vitest-watchdog.mjs) kills because its event loop
// stopped, which vitest alone would wait on for ever. Kept beside node-support.test.ts: both
// check the repository around the packages, not the CLI.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { watchdogLimitMs } from "../../../scripts/vitest-watchdog-limit.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const fixtures = join(root, "packages", "cli", "test", "fixtures", "test-command");

interface Run {
  status: number | null;
  output: string;
  ms: number;
}

/** How long a run may take before it is killed, with vitest and its test processes (its group). */
const RUN_LIMIT_MS = 40_000;

/** scripts/test.mjs on the fixtures named, with the watchdog's limit at `limitMs`. */
function testCommand(files: string[], limitMs: number): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, "scripts", "test.mjs"), "--config", join(fixtures, "vitest.config.mjs"), ...files], {
    cwd: root,
    env: { ...process.env, BPFKIT_TEST_WATCHDOG_MS: String(limitMs), NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that a run the watchdog fails to end leaves no spinning process.
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr.on("data", (b: Buffer) => (output += b.toString()));
  const timer = setTimeout(() => {
    output += `\n(killed after ${RUN_LIMIT_MS} ms)`;
    process.kill(-child.pid!, "SIGKILL");
  }, RUN_LIMIT_MS);
  return new Promise((resolve) => child.on("close", (status) => {
    clearTimeout(timer);
    resolve({ status, output, ms: performance.now() - started });
  }));
}

function lastLine(output: string): string {
  return output.trimEnd().split("\n").at(-1) ?? "";
}

describe("scripts/test.mjs", () => {
  it("counts a file whose beforeAll throws as a failure, where vitest fails no test of it", async () => {
    const r = await testCommand(["passes.fixture.ts", "hook-throws.fixture.ts"], 60_000);
    expect(r.output).toContain("the fixture's beforeAll fails");
    expect(lastLine(r.output)).toBe("1 passed, 1 failed");
    expect(r.status).not.toBe(0);
  });

  it("passes a run that passes, with exit status 0", async () => {
    const r = await testCommand(["passes.fixture.ts"], 60_000);
    expect(lastLine(r.output)).toBe("1 passed, 0 failed");
    expect(r.status).toBe(0);
  });

  it("fails, naming the test, a file whose event loop never turns, once the watchdog's limit passes", async () => {
    const r = await testCommand(["passes.fixture.ts", "never-yields.fixture.ts"], 2_000);
    expect(r.output).toMatch(/bpfkit test watchdog: this test file's event loop has not turned for \d+ s \(limit 2 s; BPFKIT_TEST_WATCHDOG_MS sets it\)/);
    expect(r.output).toContain("Running: never-yields.fixture.ts > a loop of settled promises > never yields");
    expect(r.output).toContain("1 error outside any test (above: a test process that died, an unhandled rejection): counted as failures");
    expect(lastLine(r.output)).toBe("1 passed, 1 failed");
    expect(r.status).not.toBe(0);
    // Killed near its limit, not by this test's own timeout.
    expect(r.ms).toBeLessThan(30_000);
  });

  it("counts a file whose process the watchdog killed as a failure beside another file's failure, where vitest reports its test pending and the file passed", async () => {
    const r = await testCommand(["hook-throws.fixture.ts", "never-yields.fixture.ts"], 2_000);
    expect(r.output).toContain("Running: never-yields.fixture.ts > a loop of settled promises > never yields");
    expect(lastLine(r.output)).toBe("0 passed, 2 failed");
    expect(r.status).not.toBe(0);
  });

  it("counts an unhandled rejection as a failure beside another file's failure", async () => {
    const r = await testCommand(["hook-throws.fixture.ts", "stray-rejection.fixture.ts"], 60_000);
    expect(r.output).toContain("the fixture's stray rejection");
    expect(lastLine(r.output)).toBe("1 passed, 2 failed");
    expect(r.status).not.toBe(0);
  });

  it("counts a file killed in its module code, before any test of it was collected, beside another file's failure, and names the file", async () => {
    const r = await testCommand(["hook-throws.fixture.ts", "module-hangs.fixture.ts"], 2_000);
    expect(r.output).toMatch(/bpfkit test watchdog: this test file's event loop has not turned .* Running: \S*module-hangs\.fixture\.ts \(its module code, before its first test\)\n/);
    expect(lastLine(r.output)).toBe("0 passed, 2 failed");
    expect(r.status).not.toBe(0);
  });
});

describe("scripts/vitest-watchdog.mjs", () => {
  it("waits three minutes by default, three times the suite's test timeout, and takes BPFKIT_TEST_WATCHDOG_MS in whole ms ≥ 2000 (two beats)", () => {
    expect(watchdogLimitMs({})).toBe(180_000);
    expect(watchdogLimitMs({ BPFKIT_TEST_WATCHDOG_MS: "" })).toBe(180_000);
    expect(watchdogLimitMs({ BPFKIT_TEST_WATCHDOG_MS: "2500" })).toBe(2_500);
    for (const bad of ["1999", "1000", "2.5", "soon", "-1"]) {
      expect(() => watchdogLimitMs({ BPFKIT_TEST_WATCHDOG_MS: bad })).toThrow(
        `BPFKIT_TEST_WATCHDOG_MS must be a whole number of ms ≥ 2000, got ${JSON.stringify(bad)}`);
    }
  });
});
