// `bpfkit fuzz dump --implementation FILE`: one's own dump code, from an ES module, held to the
// fuzzer's invariants as runDumpFuzz's `implementations` option holds it.
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { DumpImplementation } from "@bpfkit/testkit";
import { CliError, ExitCode, usageError } from "./cli-error.js";
import { describeValue } from "@bpfkit/core";

export type ImplementedAlgorithm = "walk" | "walk-once" | "batch";
export type Implementations = Partial<Record<ImplementedAlgorithm, DumpImplementation>>;

/** Export names per algorithm: `walk-once` is no identifier, so a named export spells it walkOnce. */
const NAMED: Record<ImplementedAlgorithm, string> = { walk: "walk", "walk-once": "walkOnce", batch: "batch" };

/**
 * Imports `file` (relative to `cwd`) and takes its `walk`, `walkOnce` and `batch` exports, or a
 * default export object with keys `walk`, `walk-once` (or `walkOnce`) and `batch`.
 */
export async function loadImplementations(file: string, cwd: string): Promise<Implementations> {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((e as Error).message).includes(path)) {
      throw new CliError(`--implementation ${file}: no such file (${path})`, ExitCode.notFound);
    }
    throw new CliError(`--implementation ${file}: importing it failed: ${String(e)}`, ExitCode.failure,
      "a TypeScript file needs compiling first, or running bpfkit under a loader that imports .ts (npx tsx)");
  }
  const dflt = typeof mod.default === "object" && mod.default !== null ? mod.default as Record<string, unknown> : {};
  const out: Implementations = {};
  for (const [algorithm, name] of Object.entries(NAMED) as [ImplementedAlgorithm, string][]) {
    const v = mod[name] ?? dflt[algorithm] ?? dflt[name];
    if (v === undefined) continue;
    if (typeof v !== "function") throw usageError(`--implementation ${file}: its ${name} is ${describeValue(v)}, not a function (a DumpImplementation)`);
    out[algorithm] = v as DumpImplementation;
  }
  if (Object.keys(out).length === 0) {
    throw usageError(`--implementation ${file}: it exports none of walk, walkOnce and batch (each a DumpImplementation), nor a default object of them`);
  }
  return out;
}
