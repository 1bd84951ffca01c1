// The possible-CPU list parser: kernel CPU lists are comma-separated numbers and ranges.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { countCpuList, parseCpuList, POSSIBLE_CPUS_PATH, readPossibleCpus } from "@bpfkit/driver-kernel";

describe("parseCpuList", () => {
  it.each([
    ["0", [0]],
    ["0-1\n", [0, 1]],
    ["0-3,5", [0, 1, 2, 3, 5]],
    ["2,0-1", [0, 1, 2]],
    ["0-1,1-2", [0, 1, 2]],
    [" 4-6 , 8 ", [4, 5, 6, 8]],
  ])("%j → %j", (text, cpus) => {
    expect(parseCpuList(text)).toEqual(cpus);
    expect(countCpuList(text)).toBe(cpus.length);
  });

  it.each(["", "\n", "a", "0-", "-1", "3-1", "0,,1", "0-1-2", "1.5"])("rejects %j", (text) => {
    expect(() => parseCpuList(text)).toThrow(SyntaxError);
  });

  it("reads this host's possible mask", () => {
    expect(readPossibleCpus()).toBe(parseCpuList(readFileSync(POSSIBLE_CPUS_PATH, "utf8")).length);
    expect(readPossibleCpus()).toBeGreaterThan(0);
  });
});
