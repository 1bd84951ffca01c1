// The distance behind every "did you mean …?": core's option keys and the CLI's words.
import { expect, it } from "vitest";
import { editDistance } from "@bpfkit/core";

it("counts inserts, deletes, substitutions and a swap of neighbours as one edit each", () => {
  expect(editDistance("hash", "hash")).toBe(0);
  expect(editDistance("hsah", "hash")).toBe(1);            // a swap, not two substitutions
  expect(editDistance("lru_hsh", "lru_hash")).toBe(1);
  expect(editDistance("kernelname", "kernelName".toLowerCase())).toBe(0);
  expect(editDistance("noprealloc", "no_prealloc")).toBe(1);
  expect(editDistance("", "array")).toBe(5);
  expect(editDistance("lpm", "percpu_array")).toBe(11);
});

it("stops at the cap once the answer is at least that", () => {
  expect(editDistance("lpm", "percpu_array", 3)).toBe(3);
  expect(editDistance("hsah", "hash", 3)).toBe(1);
  expect(editDistance("abcdef", "uvwxyz", 2)).toBe(2);
});
