// num_possible_cpus() as user space sees it: the CPU list in /sys/devices/system/cpu/possible.
import { readFileSync } from "node:fs";
import { countCpuList } from "@bpfkit/core";

export const POSSIBLE_CPUS_PATH = "/sys/devices/system/cpu/possible";

/** The host's possible-CPU count, read once per call from sysfs. */
export function readPossibleCpus(path = POSSIBLE_CPUS_PATH): number {
  return countCpuList(readFileSync(path, "utf8"));
}
