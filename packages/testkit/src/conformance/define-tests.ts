// The conformance suite as test-framework tests: one test per case. The framework is passed
// in (vitest's or jest's `describe` and `it`), so testkit depends on neither.
import type { Driver } from "@bpfkit/core";
import { runCase, selectCases } from "./run.js";
import type { ConformanceOptions } from "./types.js";

/** The parts of a test framework used: vitest and jest both fit. */
export interface TestApi {
  /** Groups the tests `fn` registers under `name`. */
  describe(name: string, fn: () => void): void;
  /** Registers one test; `timeout` is in milliseconds. */
  it(name: string, fn: (...args: unknown[]) => void, timeout?: number): void;
}

/**
 * Skips the running test with `reason` through the framework's test context (`args[0]`) when it
 * has `skip` (vitest); under one without it (jest), the test passes after printing the reason.
 */
export function skipTest(args: unknown[], name: string, reason: string): void {
  const tctx = args[0] as { skip?: (note?: string) => void } | undefined;
  if (tctx?.skip) tctx.skip(reason);
  else console.warn(`skipped ${name}: ${reason}`);
}

/**
 * Registers one test per conformance case under `describe(title)`. A case the options cannot
 * run (exact LRU without `exactLru`) calls the framework's `skip(reason)` when it has one, so
 * the reason shows; under a framework without it, the test passes after printing the reason.
 */
export function defineConformanceTests(t: TestApi, title: string, makeDriver: () => Driver, options: ConformanceOptions = {}): void {
  t.describe(title, () => {
    for (const c of selectCases(options)) {
      // A rest parameter keeps fn.length at 0: jest reads a declared parameter as `done`.
      t.it(c.name, (...args: unknown[]) => {
        const o = runCase(c, makeDriver, options);
        if (o.status === "failed") {
          const e = new Error(o.message);
          // The stack of what the driver threw, not of this line: it names the driver call.
          if (o.stack !== undefined) e.stack = `Error: ${o.message}\n    ${o.stack.replace(/\n/g, "\n    ")}`;
          throw e;
        }
        if (o.status === "skipped") skipTest(args, c.name, o.reason);
      }, 60_000);
    }
  });
}
