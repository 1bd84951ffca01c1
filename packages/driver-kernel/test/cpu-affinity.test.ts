// threadCpuAffinity and setThreadCpuAffinity: sched_getaffinity/sched_setaffinity of the calling
// thread, which the exact LRU and perf tests pin with. What the kernel says of this thread
// (/proc/thread-self/status's Cpus_allowed_list, /proc/thread-self/stat's CPU) is the judge.
// No bpf(2) is involved, so they run without privilege too.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { setThreadCpuAffinity, threadCpuAffinity } from "@bpfkit/driver-kernel";
import { Errno } from "@bpfkit/core";

/** The kernel's list of this thread's CPUs ("0-1", "0,2-3"), expanded. */
function allowed(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync("/proc/thread-self/status", "utf8"))![1]!;
  return list.split(",").flatMap((r) => {
    const [a, b] = r.split("-").map(Number) as [number, number | undefined];
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
  });
}

/** The CPU this thread last ran on: field 39 of /proc/thread-self/stat, after the comm's ")". */
function lastCpu(): number {
  const stat = readFileSync("/proc/thread-self/stat", "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[36]);
}

describe.skipIf(process.platform !== "linux")("the calling thread's CPU affinity", () => {
  const start = process.platform === "linux" ? threadCpuAffinity() : [];
  afterEach(() => {
    expect(setThreadCpuAffinity(start)).toBe(0);
  });

  it("reads what the kernel lists for this thread", () => {
    expect(threadCpuAffinity()).toEqual(allowed());
    expect(start.length).toBeGreaterThan(0);
  });

  it("pins this thread to one CPU, moving it there at once, and puts the mask back", () => {
    for (const cpu of [start[start.length - 1]!, start[0]!]) {
      expect(setThreadCpuAffinity([cpu])).toBe(0);
      expect(allowed()).toEqual([cpu]);
      expect(threadCpuAffinity()).toEqual([cpu]);
      expect(lastCpu()).toBe(cpu);
    }
    expect(setThreadCpuAffinity(start)).toBe(0);
    expect(allowed()).toEqual(start);
  });

  it("a CPU that is not online is the kernel's EINVAL, and the mask stays; bad lists are RangeErrors", () => {
    expect(setThreadCpuAffinity([1023])).toBe(-Errno.EINVAL);
    expect(allowed()).toEqual(start);
    expect(() => setThreadCpuAffinity([])).toThrow(new RangeError("setThreadCpuAffinity: cpus must be a non-empty array of CPU numbers"));
    expect(() => setThreadCpuAffinity([1024])).toThrow(new RangeError("setThreadCpuAffinity: 1024 is not a CPU number below 1024"));
    expect(() => setThreadCpuAffinity([-1])).toThrow(RangeError);
    expect(() => setThreadCpuAffinity([0.5])).toThrow(RangeError);
    expect(() => setThreadCpuAffinity("0" as unknown as number[])).toThrow(RangeError);
  });
});
