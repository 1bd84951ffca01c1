// runConformance: every case on a fresh driver, a plain report back. No test framework.
import { assertOptionKeys, optionKeys, type Driver } from "@bpfkit/core";
import { CaseSkipped } from "./assert.js";
import { conformanceCases } from "./cases/index.js";
import { CaseContext } from "./context.js";
import type { CaseOutcome, ConformanceCase, ConformanceOptions, ConformanceReport } from "./types.js";

const CONFORMANCE_OPTIONS_KEYS = optionKeys<ConformanceOptions>({
  groups: true, only: true, exclude: true, bpffs: true, exactLru: true, pinCpu: true, privileged: true,
});

/** The cases `options` selects (by group and name), in spec order. */
export function selectCases(options: ConformanceOptions = {}): ConformanceCase[] {
  assertOptionKeys(options, CONFORMANCE_OPTIONS_KEYS, "selectCases", "options");
  return conformanceCases.filter((c) =>
    (options.groups === undefined || options.groups.includes(c.group)) &&
    (options.only === undefined || options.only.some((s) => c.name.includes(s))));
}

/** A TypeError unless `exclude` is absent or a list of `{ match, reason }` with non-empty strings. */
function checkExclude(exclude: unknown): void {
  if (exclude === undefined) return;
  const ok = (e: unknown) => e !== null && typeof e === "object" &&
    typeof (e as { match?: unknown }).match === "string" && (e as { match: string }).match !== "" &&
    typeof (e as { reason?: unknown }).reason === "string" && (e as { reason: string }).reason !== "";
  if (!Array.isArray(exclude) || !exclude.every(ok)) {
    throw new TypeError("conformance options: exclude must be a list of { match, reason }, each a non-empty string");
  }
}

/** Why a case cannot run with these options, or undefined. */
export function skipReason(c: ConformanceCase, options: ConformanceOptions): string | undefined {
  assertOptionKeys(options, CONFORMANCE_OPTIONS_KEYS, "skipReason", "options");
  checkExclude(options.exclude);
  const excluded = options.exclude?.find((e) => c.name.includes(e.match));
  if (excluded !== undefined) return `excluded: ${excluded.reason}`;
  if (c.group === "lru-exact" && !options.exactLru) {
    return "the exact single-CPU LRU sequences (kernel-maps.md §7.2/§7.3) need a driver that runs every syscall on one CPU: pass exactLru (and pinCpu for the kernel)";
  }
  if (c.group === "unprivileged" && options.privileged !== false) {
    return "the capability-gate cases (kernel-maps.md §3.1) need a driver without CAP_BPF/CAP_SYS_ADMIN: pass privileged: false";
  }
  if (c.group !== "unprivileged" && options.privileged === false) {
    return "needs a privileged driver (every capability)";
  }
  return undefined;
}

/** Runs one case on a fresh driver from `makeDriver`. */
export function runCase(c: ConformanceCase, makeDriver: () => Driver, options: ConformanceOptions = {}): CaseOutcome {
  assertOptionKeys(options, CONFORMANCE_OPTIONS_KEYS, "runCase", "options");
  const why = skipReason(c, options);
  if (why !== undefined) return { status: "skipped", reason: why };
  const driver = makeDriver();
  const ctx = new CaseContext(driver, options);
  let outcome: CaseOutcome;
  try {
    const body = () => c.run(ctx);
    if (c.group === "lru-exact" && options.pinCpu) options.pinCpu(body);
    else body();
    outcome = { status: "passed" };
  } catch (e) {
    if (e instanceof CaseSkipped) outcome = { status: "skipped", reason: e.message };
    else if (!(e instanceof Error)) outcome = { status: "failed", message: String(e) };
    else if (e.name === "ConformanceError") outcome = { status: "failed", message: e.message };
    else outcome = { status: "failed", message: `${e.name}: ${e.message}`, ...framesOf(e) };
  }
  // A failed cleanup fails the case whatever it did, and is said after its own failure: a mount
  // left on the host outlives the run.
  const problems = ctx.cleanup();
  if (problems.length > 0) {
    const cleanup = `cleanup failed: ${problems.join("; ")}`;
    outcome = outcome.status === "failed" ? { ...outcome, message: `${outcome.message}\n${cleanup}` } : { status: "failed", message: cleanup };
  }
  return outcome;
}

/** The `at …` lines of an exception's stack (a driver's throw: where it came from), if any. */
function framesOf(e: Error): { stack?: string } {
  const frames = (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)).map((l) => l.trim());
  return frames.length > 0 ? { stack: frames.slice(0, 8).join("\n") } : {};
}

/**
 * Runs the conformance suite (kernel-maps.md, API.md §2) over drivers from `makeDriver`, one
 * fresh driver per case, and reports what passed, failed and was skipped.
 */
export function runConformance(makeDriver: () => Driver, options: ConformanceOptions = {}): ConformanceReport {
  assertOptionKeys(options, CONFORMANCE_OPTIONS_KEYS, "runConformance", "options");
  const t0 = performance.now();
  const report: ConformanceReport = { driver: "", passed: 0, passedNames: [], failed: [], skipped: [], ms: 0 };
  let kind: string | undefined;
  const make = () => {
    const d = makeDriver();
    kind ??= d.kind;
    return d;
  };
  for (const c of selectCases(options)) {
    const o = runCase(c, make, options);
    if (o.status === "passed") {
      report.passed++;
      report.passedNames.push(c.name);
    } else if (o.status === "failed") {
      report.failed.push({ name: c.name, message: o.message, ...(o.stack !== undefined ? { stack: o.stack } : {}) });
    } else {
      report.skipped.push({ name: c.name, reason: o.reason });
    }
  }
  report.driver = kind ?? "";
  report.ms = performance.now() - t0;
  return report;
}

/** A readable summary: one line per failure and skip, then `N passed, N failed, N skipped`. */
export function formatReport(r: ConformanceReport): string {
  const lines: string[] = [];
  for (const f of r.failed) {
    lines.push(`FAIL ${f.name}\n  ${f.message.replace(/\n/g, "\n  ")}`);
    if (f.stack !== undefined) lines.push(`    ${f.stack.replace(/\n/g, "\n    ")}`);
  }
  for (const s of r.skipped) lines.push(`SKIP ${s.name}: ${s.reason}`);
  lines.push(`${r.driver}: ${r.passed} passed, ${r.failed.length} failed, ${r.skipped.length} skipped (${Math.round(r.ms)} ms)`);
  return lines.join("\n");
}
