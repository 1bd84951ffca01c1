// The host's possible-CPU count: what the kernel sizes per-CPU values by.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parseCpuList } from "@bpfkit/core";
import { POSSIBLE_CPUS_PATH, readPossibleCpus } from "@bpfkit/driver-kernel";

describe("readPossibleCpus", () => {
  it("reads this host's possible mask", () => {
    expect(readPossibleCpus()).toBe(parseCpuList(readFileSync(POSSIBLE_CPUS_PATH, "utf8")).length);
    expect(readPossibleCpus()).toBeGreaterThan(0);
  });
});
