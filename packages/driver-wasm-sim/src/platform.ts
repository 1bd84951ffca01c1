// The one place in the simulator's TypeScript that reaches for the host: the possible-CPU count
// that per-CPU values are sized by. Everything else is pure, so the simulator runs on macOS,
// Windows and in browsers. No static `node:` import: `process.getBuiltinModule` (Node ≥ 20.16)
// is looked up at run time, and every failure falls back to the default.

import { countCpuList } from "@bpfkit/core";

const FALLBACK_CPUS = 4;

type ReadFileSync = (path: string, encoding: "utf8") => string;

function nodeReadFileSync(): ReadFileSync | undefined {
  const proc = (globalThis as { process?: { platform?: string; getBuiltinModule?: (id: string) => unknown } }).process;
  if (proc?.platform !== "linux" || typeof proc.getBuiltinModule !== "function") return undefined;
  const fs = proc.getBuiltinModule("node:fs") as { readFileSync?: ReadFileSync } | undefined;
  return typeof fs?.readFileSync === "function" ? fs.readFileSync : undefined;
}

/** The host's `num_possible_cpus()` on Linux; 4 elsewhere or when it cannot be read. */
export function hostPossibleCpus(): number {
  try {
    const read = nodeReadFileSync();
    if (read === undefined) return FALLBACK_CPUS;
    return countCpuList(read("/sys/devices/system/cpu/possible", "utf8"));
  } catch {
    return FALLBACK_CPUS;
  }
}
