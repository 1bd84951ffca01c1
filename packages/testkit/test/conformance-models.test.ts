// The suite's own models, checked against the kernel's published numbers (kernel-maps.md
// §5.3 walks (jhash's §5.1 vectors are checked in model.test.ts), §7.2/§7.3 counts from probe_lru*.txt, §9.3 order), so a
// conformance failure points at the driver, not at the model.
import { describe, expect, it } from "vitest";
import { HtabModel } from "../src/conformance/models/htab.js";
import { commonLruLive, effectiveLruMax, perCpuLruLive } from "../src/conformance/models/lru.js";
import { encodeLpmKey, lpmCompare, lpmMatch } from "../src/conformance/models/lpm.js";

const bytes = (...b: number[]) => new Uint8Array(b);
const u32 = (n: number) => bytes(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24);

describe("conformance models", () => {
  it("the hash-order model reproduces the §5.3 walk of u32 0..15 in 16 buckets", () => {
    const m = new HtabModel(16, true);
    for (let k = 0; k < 16; k++) m.update(u32(k));
    expect(m.order().map((h) => parseInt(h.slice(0, 2), 16))).toEqual([10, 4, 15, 5, 0, 14, 7, 2, 13, 1, 8, 12, 11, 9, 6, 3]);
  });

  it("the hash-order model: check order EEXIST/ENOENT before E2BIG, restart on an absent key", () => {
    const m = new HtabModel(2, true);
    expect(m.update(u32(1))).toBe("OK");
    expect(m.update(u32(2), 1)).toBe("OK");
    expect(m.update(u32(3), 2)).toBe("ENOENT");
    expect(m.update(u32(1), 1)).toBe("EEXIST");
    expect(m.update(u32(3))).toBe("E2BIG");
    expect(m.nextKey(u32(77))).toBe(m.order()[0]);
  });

  it("the common-LRU model gives the probed final counts (2 CPUs, N = 3M + 20)", () => {
    // probe_lru_model.txt: M → final count on the kernel pinned to CPU 0
    for (const [m, final] of [[1, 1], [8, 8], [33, 32], [100, 95], [128, 116], [129, 120], [255, 221]]) {
      const live = commonLruLive(m!, 2, 3 * m! + 20);
      expect(live[live.length - 1]!.size, `M=${m}`).toBe(final);
    }
  });

  it("the common-LRU model puts the first eviction where the kernel did (M=127: insert #125, M=1000: #897)", () => {
    for (const [m, first] of [[10, 11], [100, 101], [127, 125], [128, 129], [1000, 897]]) {
      const live = commonLruLive(m!, 2, m! + 10);
      const at = live.findIndex((s, i) => s.size < i + 1);
      expect(at + 1, `M=${m}`).toBe(first);
    }
  });

  it("the per-CPU LRU model: one CPU holds max/ncpus (M=100 → 50) and NO_COMMON_LRU rounds up", () => {
    const live = perCpuLruLive(100, 2, 320);
    expect(Math.max(...live.map((s) => s.size))).toBe(50);
    expect(effectiveLruMax(3, 2, true)).toBe(4);
    expect(effectiveLruMax(1, 2, true)).toBe(2);
    expect(effectiveLruMax(3, 2, false)).toBe(3);
  });

  it("the LPM model sorts more specific first and caps lookups at the query's prefixlen (§9.1, §9.3)", () => {
    const k = (a: number[], l: number) => ({ prefixlen: l, data: bytes(...a) });
    const set = [k([192, 168, 0, 0], 16), k([192, 168, 0, 0], 24), k([192, 168, 1, 0], 24), k([192, 168, 128, 0], 24)];
    const sorted = [...set].sort(lpmCompare).map((e) => `${e.data.join(".")}/${e.prefixlen}`);
    expect(sorted).toEqual(["192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24", "192.168.0.0/16"]);
    expect(lpmMatch(set, k([192, 168, 1, 77], 32), 32)).toBe(set[2]);
    expect(lpmMatch(set, k([192, 168, 1, 77], 16), 32)).toBe(set[0]);
    expect(lpmMatch(set, k([10, 0, 0, 1], 32), 32)).toBeUndefined();
    expect(encodeLpmKey(set[0]!, 8)).toEqual(bytes(16, 0, 0, 0, 192, 168, 0, 0));
  });
});
