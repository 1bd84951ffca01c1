// A vitest reporter for scripts/test.mjs: writes how many errors the run had outside any test
// (vitest's "Errors" line) to the file BPFKIT_TEST_ERRORS_FILE names. Each is a test process that
// died (the watchdog of vitest-watchdog.mjs killed it, or it crashed), even before a test of its
// file was collected, or an unhandled rejection; the JSON report has no place for them, and lists
// a file whose process died as passed.
import { writeFileSync } from "node:fs";

export default class UnhandledErrorsReporter {
  onTestRunEnd(_testModules, unhandledErrors) {
    const file = process.env.BPFKIT_TEST_ERRORS_FILE;
    if (file !== undefined && file !== "") writeFileSync(file, String(unhandledErrors.length));
  }
}
