#!/usr/bin/env node
// Runs the whole suite once with vitest and ends with the plain line CI reads:
// `N passed, N failed` (skips, if any, on the line before). The exit code is vitest's.
// The whole suite (no arguments) first type-checks the tests (tsconfig.tests.json), since vitest
// only strips their types; that check counts as one test.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { testToolingUnsupported } from "./node-support.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const unsupported = testToolingUnsupported(process.versions.node);
if (unsupported !== undefined) {
  console.error(unsupported);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
// vitest's JSON report goes to a directory of this run's own, so that two runs (a test of this
// script runs it inside the suite) never read each other's.
const reportDir = mkdtempSync(join(tmpdir(), "bpfkit-test-report-"));
const report = join(reportDir, "vitest.json");
const errorsFile = join(reportDir, "errors");
// Gone however this script ends, a throw included (a report cut short, say).
process.on("exit", () => rmSync(reportDir, { recursive: true, force: true }));
let typecheck;
if (process.argv.length === 2) {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  typecheck = spawnSync(process.execPath, [tsc, "-p", "tsconfig.tests.json"], { cwd: root, stdio: "inherit" });
  console.log(typecheck.status === 0 ? "type check of the tests: ok" : "type check of the tests: FAILED");
}
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const errorsReporter = join(root, "scripts", "vitest-unhandled-errors.mjs");
const r = spawnSync(process.execPath, [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, `--reporter=${errorsReporter}`, ...process.argv.slice(2)], {
  cwd: root,
  env: { ...process.env, BPFKIT_TEST_ERRORS_FILE: errorsFile },
  stdio: "inherit",
});

let passed = 0, failed = 0, skipped = 0;
if (existsSync(report)) {
  const j = JSON.parse(readFileSync(report, "utf8"));
  passed = j.numPassedTests ?? 0;
  failed = j.numFailedTests ?? 0;
  skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  // A file that fails with no failed test (it failed to load, or a beforeAll or afterAll hook
  // threw, which vitest reports as its tests skipped) counts as one failure.
  for (const s of j.testResults ?? []) if (s.status === "failed" && !(s.assertionResults ?? []).some((a) => a.status === "failed")) failed++;
} else {
  failed = 1;
}
// Each error outside any test counts as one failure, whatever else failed: a test process that
// died (vitest lists its file passed, its unfinished tests pending) or an unhandled rejection.
const errors = existsSync(errorsFile) ? Number(readFileSync(errorsFile, "utf8")) : 0;
if (errors > 0) {
  console.log(`${errors} error${errors === 1 ? "" : "s"} outside any test (above: a test process that died, an unhandled rejection): counted as failures`);
  failed += errors;
}
// vitest failed and nothing above counts it (it found no test file, say).
if (r.status !== 0 && failed === 0) {
  console.log("vitest failed outside any test (its errors are above): counted as one failure");
  failed = 1;
}
if (typecheck !== undefined) {
  if (typecheck.status === 0) passed++;
  else failed++;
}
// CI reads the last line as exactly `N passed, N failed`; skips, if any, go on the line before.
if (skipped) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(r.status === 0 && failed === 0 ? 0 : r.status || 1);
