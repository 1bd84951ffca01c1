// The raw batch helpers (lookupBatchRaw and friends, exported for callers that hold an fd, not
// a BpfMap): their own checks, which BpfMap's checks in front of them hide from the other tests.
import { expect, it } from "vitest";
import {
  BPF_F_ZERO_SEED, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BatchCursor, ipv4, lookupBatchRaw, lpmKey, u32,
} from "@bpfkit/core";
import { jhash } from "../../testkit/src/model/jhash.js";
import { eachDriver, testMapSpec } from "./support/env.js";

eachDriver("raw batch helpers", (get) => {
  it("lookupBatchRaw refuses a count below 1 and a cursor whose token is another map's size", () => {
    const env = get();
    const h = env.map(testMapSpec());
    h.openOrCreate();
    h.update(1, 1);
    const lpm = env.map({ name: "lpm", type: BPF_MAP_TYPE_LPM_TRIE, key: lpmKey(ipv4), value: u32, maxEntries: 16 });
    lpm.openOrCreate();
    lpm.update({ prefixLen: 8, data: "10.0.0.0" }, 1);
    lpm.update({ prefixLen: 16, data: "10.1.0.0" }, 2);
    const target = (fd: number, mapType: number, keySize: number) =>
      ({ driver: env.driver, fd, mapType, keySize, valueSize: 4, name: "raw" });
    const ht = target(h.getFd(), BPF_MAP_TYPE_HASH, 4);
    const lt = target(lpm.getFd(), BPF_MAP_TYPE_LPM_TRIE, 8);
    expect(() => lookupBatchRaw(ht, new BatchCursor(), 0, false)).toThrow("lookupBatch raw: count must be a positive integer (at most 2^32-1), got 0");
    // A hash token is a 4-byte bucket index; an LPM token is a whole 8-byte key.
    const cursor = new BatchCursor();
    const first = lookupBatchRaw(lt, cursor, 1, false);
    expect([first.count, cursor.done, cursor.token?.length]).toEqual([1, false, 8]);
    expect(() => lookupBatchRaw(ht, cursor, 1, false)).toThrow("lookupBatch raw: the cursor belongs to another map (token of 8 bytes, this map's is 4)");
    // Refused before any syscall: the cursor still goes on where it was in the LPM trie.
    const rest = lookupBatchRaw(lt, cursor, 4, false);
    expect([rest.count, cursor.done]).toEqual([1, true]);
  });

  it("lookupBatchRaw grows its buffer past a bucket of 9 (ENOSPC, doubling from 1 to 16) and returns it whole", () => {
    const env = get();
    // Nine keys in bucket 0 of a 64-bucket ZERO_SEED map (kernel-maps.md §5.1: bucket = jhash & 63).
    const colliding: number[] = [];
    const kb = new Uint8Array(4);
    for (let k = 0; colliding.length < 9; k++) {
      u32.encode(k, kb);
      if ((jhash(kb, 0) & 63) === 0) colliding.push(k);
    }
    const m = env.map({ name: "coll9", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 64, flags: BPF_F_ZERO_SEED });
    m.openOrCreate();
    for (const k of colliding) m.update(k, k);
    const raw = lookupBatchRaw({ driver: env.driver, fd: m.getFd(), mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, name: "coll9" },
      new BatchCursor(), 1, false);
    expect(raw.count).toBe(9);
    expect(raw.keys.length).toBe(16 * 4);
    const got = Array.from({ length: raw.count }, (_, i) => u32.decodeAt(raw.keys, i * 4));
    expect(got.sort((a, b) => a - b)).toEqual(colliding);
  });
});
