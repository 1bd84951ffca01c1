// The simulator's keyless datapath at its edges (sim-keyless.test.ts covers the everyday paths):
// what a mutation audit found no test for.
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { mapMemlock } from "../src/map-memlock.js";
import { errName, sim, u32 } from "./sim-helpers.js";

const BLOOM = 30, QUEUE = 22, STACK = 23;
const ZERO_SEED = 0x40;
const keyless = (mapType: number, more: object = {}) => ({ mapType, keySize: 0, valueSize: 4, maxEntries: 3, ...more });

describe("datapath push, pop and peek edges", () => {
  it("a bloom filter's peek asks about the value it is given, not the last one pushed", () => {
    const d = sim();
    const fd = d.mapCreate(keyless(BLOOM, { mapFlags: ZERO_SEED }));
    expect(d.datapath.push({ fd }, u32(5))).toBe(0);
    expect(errName(d.datapath.peek({ fd }, u32(6)))).toBe("ENOENT");
    expect(d.datapath.peek({ fd }, u32(5))).toBe(0);
  });

  it("push flags past u32 are EINVAL, not cut to their low word", () => {
    const d = sim();
    const fd = d.mapCreate(keyless(QUEUE));
    expect(errName(d.datapath.push({ fd }, u32(1), 2 ** 32))).toBe("EINVAL");
    expect(errName(d.datapath.pop({ fd }, u32(0)))).toBe("ENOENT");
  });

  it("without CAP_BPF, where unprivileged bpf is allowed, queues, stacks and bloom filters are EPERM (hashes are not)", () => {
    const d = createSimDriver({ privileged: false, unprivilegedBpfDisabled: 0 });
    for (const t of [QUEUE, STACK, BLOOM]) expect(errName(d.mapCreate(keyless(t))), `type ${t}`).toBe("EPERM");
    const fd = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(fd).toBeGreaterThanOrEqual(0);
    d.close(fd);
  });

  it("a bloom filter's memlock counts map_extra 0 as 5 hashes where 4 would give another bitset", () => {
    const shape = (mapExtra: bigint) => ({ mapType: BLOOM, keySize: 0, valueSize: 4, maxEntries: 150, mapFlags: 0, mapExtra });
    // 150 × 5 / 5 × 7 = 1050 bits → 2048 (256 bytes); 150 × 4 / 5 × 7 = 840 → 1024.
    expect(mapMemlock(shape(0n), 0, 2)).toBe(312 + 256);
    expect(mapMemlock(shape(5n), 0, 2)).toBe(312 + 256);
    expect(mapMemlock(shape(4n), 0, 2)).toBe(312 + 128);
  });
});
