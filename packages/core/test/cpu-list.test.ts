// The CPU list parser both drivers size per-CPU values by: comma-separated numbers and ranges.
import { describe, expect, it } from "vitest";
import { countCpuList, parseCpuList } from "@bpfkit/core";

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

  it("a list of only whitespace is empty, and says so rather than blaming a range", () => {
    for (const text of ["", "\n", " \t"]) expect(() => parseCpuList(text)).toThrow(new SyntaxError("cpu list is empty"));
  });

  it("a CPU number past 2^20 is refused, not expanded: a corrupt list must not build a huge array", () => {
    expect(() => parseCpuList("0-1048577")).toThrow(/bad range "0-1048577"/);
    expect(() => parseCpuList("4294967295")).toThrow(SyntaxError);
    expect(parseCpuList("1048576")).toEqual([1048576]);
  });
});
