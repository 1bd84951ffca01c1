// num_possible_cpus() as user space sees it: the CPU list in /sys/devices/system/cpu/possible.
import { readFileSync } from "node:fs";
import { countCpuList } from "@bpfkit/core";

/** The sysfs file that lists the host's possible CPUs (`0-3`): what per-CPU values are sized by. */
export const POSSIBLE_CPUS_PATH = "/sys/devices/system/cpu/possible";

/** The host's possible-CPU count, read once per call from sysfs. */
export function readPossibleCpus(path = POSSIBLE_CPUS_PATH): number {
  return countCpuList(readFileSync(path, "utf8"));
}
