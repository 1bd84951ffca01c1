// BpfQueueMap's and BpfBloomFilter's element calls at their edges (queue-map.test.ts and
// bloom-filter.test.ts cover the everyday paths): what a mutation audit found no test for.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_STACK, Errno, u32, type BloomFilterSpec } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

function bloomSpec(hashFunctions?: number): BloomFilterSpec<number> {
  return { name: "cilium_b", value: u32, maxEntries: 64, ...(hashFunctions !== undefined ? { hashFunctions } : {}) };
}

eachDriver("keyless element edges", (get) => {
  it("push options that are no object are a TypeError naming push and the map", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap({ name: "cilium_q", value: u32, maxEntries: 2 }));
    for (const o of [true, 1, "overwrite", null]) {
      expect(() => q.push(1, o as never)).toThrow(new TypeError("push cilium_q: options must be { overwrite? }"));
    }
    expect(q.isOpen()).toBe(false);
  });

  it("a full stack says it is a stack", () => {
    const env = get();
    const s = env.track(env.bpf.newQueueMap({ name: "cilium_s", type: BPF_MAP_TYPE_STACK, value: u32, maxEntries: 1 }));
    s.openOrCreate();
    s.push(1);
    expect(thrownBpfError(() => s.push(2)).message).toMatch(/^push cilium_s: .*\(the stack is full \(1 values\)/);
  });

  it("drain's errors and metrics name drain, not pop", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap({ name: "cilium_q", value: u32, maxEntries: 2 }));
    q.openOrCreate();
    q.push(1);
    expect([...q.drain()]).toEqual([1]);
    expect(env.ops).toEqual(["q push success", "q drain success", "q drain success"]);
    const w = env.track(env.bpf.openQueueMap("cilium_q", u32, { writeOnly: true }));
    const e = thrownBpfError(() => [...w.drain()]);
    expect([e.errno, e.op]).toEqual([Errno.EPERM, "drain"]);
  });

  it("a filter opened with the kernel's default count (map_extra 0) has 5 hash functions; 8..15 read back whole", () => {
    const env = get();
    const b = env.track(env.bpf.newBloomFilter(bloomSpec()));
    b.openOrCreate();
    expect(b.info().mapExtra).toBe(0n);
    expect(env.track(env.bpf.openBloomFilter("cilium_b", u32)).hashFunctions).toBe(5);
    for (const n of [8, 15]) {
      const big = env.track(env.otherBpf().newBloomFilter(bloomSpec(n)));
      expect(big.openOrCreate()).toBe(true);
      expect(env.track(env.bpf.openBloomFilter({ id: big.info().id })).hashFunctions).toBe(n);
    }
  });
});
