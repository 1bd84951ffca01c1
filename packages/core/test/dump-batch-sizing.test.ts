// The batch dump's buffer sizing and its no-progress guard, which the dumps' results do not
// show: a buffer sized past the map or far below 128 KiB still delivers every element, only
// with more memory or more syscalls, so these look at the buffer and at the calls made.
import { expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_HASH, BatchScratch, BpfError, batchDump, newDumpStats, u32, type Driver,
} from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

eachDriver("batch dump sizing", (get) => {
  it("the default buffer holds about 128 KiB of elements, never more than the map can hold", () => {
    const env = get();
    for (const [maxEntries, expected] of [[16, 16], [20_000, (128 << 10) / 8]] as const) {
      const m = env.map({ name: `sized_${maxEntries}`, type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries, flags: BPF_F_NO_PREALLOC });
      m.openOrCreate();
      for (let k = 0; k < 5; k++) m.update(k, k);
      const scratch = new BatchScratch();
      const target = { driver: env.driver, fd: m.getFd(), mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, name: m.name() };
      const seen: number[] = [];
      const stats = newDumpStats(maxEntries);
      expect(batchDump(target, (keys, ko) => seen.push(u32.decodeAt(keys, ko)), stats, scratch, maxEntries)).toBe(true);
      expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
      // 16 → the map's size; 20000 u32 → u32 → 16384 elements of 8 bytes, one call for all.
      expect(scratch.capacity).toBe(expected);
      expect(stats.batches).toBe(1);
    }
  });
});

it("a LOOKUP_BATCH that returns nothing and does not say ENOENT is an error (EIO), not an endless loop", () => {
  // No real map answers this way; a driver that did would otherwise make the dump spin on the
  // same token without ever touching its lookup budget (0 elements read per call).
  let calls = 0;
  const driver = {
    mapLookupBatch: () => {
      if (++calls > 5) throw new Error("the dump kept asking");
      return { errno: 0, count: 0 };
    },
  } as unknown as Driver;
  const target = { driver, fd: 1000, mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, name: "stuck" };
  const stats = newDumpStats(16);
  let err: unknown;
  try {
    batchDump(target, () => {}, stats, new BatchScratch(), 16);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BpfError);
  expect((err as BpfError).message).toBe("dump (lookup batch made no progress) stuck: input/output error");
  expect([calls, stats.completed]).toEqual([1, false]);
});
