// updateBatch and deleteBatch report one metrics op per call, success or failure, as update
// and delete do per element.
import { expect, it } from "vitest";
import { eachDriver, testMapSpec } from "./support/env.js";

eachDriver("batch metrics", (get) => {
  it("updateBatch and deleteBatch count as one update and one delete, failed or not", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 2 });
    m.openOrCreate();
    env.ops.length = 0;
    expect(m.updateBatch([1, 2], [1, 2])).toBe(2);
    expect(() => m.updateBatch([3], [3])).toThrow(expect.objectContaining({ code: "E2BIG" }));
    expect(m.deleteBatch([1])).toBe(1);
    expect(() => m.deleteBatch([9])).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(env.ops).toEqual(["test update success", "test update fail", "test delete success", "test delete fail"]);
  });
});
