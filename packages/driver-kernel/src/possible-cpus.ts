// num_possible_cpus() as user space sees it: per-CPU values hold one slot per *possible* CPU
// (kernel-maps.md §6), which is the CPU list in /sys/devices/system/cpu/possible.
import { readFileSync } from "node:fs";

export const POSSIBLE_CPUS_PATH = "/sys/devices/system/cpu/possible";

/**
 * The CPU numbers in a kernel CPU list (`0-3,5`, `0`, `0-1\n`), ascending and without
 * duplicates. Throws a SyntaxError for anything else, including an empty list.
 */
export function parseCpuList(text: string): number[] {
  const body = text.trim();
  if (body === "") throw new SyntaxError("cpu list is empty");
  const cpus = new Set<number>();
  for (const part of body.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new SyntaxError(`cpu list ${JSON.stringify(text)}: bad range ${JSON.stringify(part)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 1 << 20) throw new SyntaxError(`cpu list ${JSON.stringify(text)}: bad range ${JSON.stringify(part)}`);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** How many CPUs a cpu list names: `0-3,5` is 5. */
export function countCpuList(text: string): number {
  return parseCpuList(text).length;
}

/** The host's possible-CPU count, read once per call from sysfs. */
export function readPossibleCpus(path = POSSIBLE_CPUS_PATH): number {
  return countCpuList(readFileSync(path, "utf8"));
}
