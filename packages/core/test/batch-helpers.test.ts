// Batch helpers over BPF_MAP_*_BATCH (kernel-maps.md §10): cursors, whole buckets, partial
// counts on the error, and bad input refused before the syscall.
import { expect, it } from "vitest";
import {
  BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BatchCursor, BatchError, ipv4, lpmKey, u32,
} from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";

eachDriver("batch helpers", (get) => {
  it("lookupBatch with a cursor reads every element once, in a few calls", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 256 });
    m.openOrCreate();
    for (let k = 0; k < 200; k++) m.update(k, k + 1);
    const cursor = new BatchCursor();
    const got: Array<[number, number]> = [];
    let calls = 0;
    while (!cursor.done) {
      got.push(...m.lookupBatch(cursor, 32));
      calls++;
    }
    expect(calls).toBeGreaterThan(5);
    expect(got.map(([k]) => k).sort((a, b) => a - b)).toEqual([...Array(200).keys()]);
    for (const [k, v] of got) expect(v).toBe(k + 1);
    expect(m.lookupBatch(cursor)).toEqual([]);
  });

  it("updateBatch stops at the first error and reports how many it wrote (E2BIG after 4)", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 4 });
    m.openOrCreate();
    let err: unknown;
    try {
      m.updateBatch([0, 1, 2, 3, 4, 5], [10, 11, 12, 13, 14, 15]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BatchError);
    expect((err as BatchError).count).toBe(4);
    expect((err as BatchError).code).toBe("E2BIG");
    expect((err as Error).message).toBe("updateBatch cilium_test: argument list too long (the map is full: max_entries 4; after 4 elements)");
    expect([...m.keys()].sort()).toEqual([0, 1, 2, 3]);
  });

  it("deleteBatch stops at a missing key with the count deleted before it", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    for (const k of [0, 1, 2, 3]) m.update(k, k);
    expect(() => m.deleteBatch([0, 1, 9, 2])).toThrow(expect.objectContaining({ count: 2, code: "ENOENT",
      message: "deleteBatch cilium_test: no such file or directory (the key is not in the map; after 2 elements)" }));
    expect([...m.keys()].sort()).toEqual([2, 3]);
    expect(m.deleteBatch([2, 3])).toBe(2);
    expect(m.deleteBatch([])).toBe(0);
  });

  it("lookupAndDeleteBatch empties a hash; arrays have none (ENOTSUPP)", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 64 });
    m.openOrCreate();
    for (let k = 0; k < 50; k++) m.update(k, k);
    const cursor = new BatchCursor();
    const got: number[] = [];
    while (!cursor.done) for (const [k] of m.lookupAndDeleteBatch(cursor, 8)) got.push(k);
    expect(got.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    expect(m.getNextKey(null)).toBeUndefined();

    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 4 });
    a.openOrCreate();
    expect(() => a.lookupAndDeleteBatch(new BatchCursor())).toThrow(expect.objectContaining({ code: "ENOTSUPP", count: 0 }));
    // Not libc's "Unknown error 524": the message says what ENOTSUPP means.
    expect(() => a.lookupAndDeleteBatch(new BatchCursor())).toThrow(/arr: operation not supported by this map type or kernel \(ENOTSUPP, 524\)/);
  });

  it("LPM batches use key tokens; a cursor from a hash map is refused", () => {
    const env = get();
    const lpm = env.map({ name: "lpm", type: BPF_MAP_TYPE_LPM_TRIE, key: lpmKey(ipv4), value: u32, maxEntries: 16 });
    lpm.openOrCreate();
    lpm.updateBatch([{ prefixLen: 8, data: "10.0.0.0" }, { prefixLen: 16, data: "10.1.0.0" }, { prefixLen: 24, data: "10.1.1.0" }], [1, 2, 3]);
    const cursor = new BatchCursor();
    const got: number[] = [];
    while (!cursor.done) for (const [, v] of lpm.lookupBatch(cursor, 1)) got.push(v);
    expect(got.sort()).toEqual([1, 2, 3]);

    const h = env.map({ name: "h", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4 });
    h.openOrCreate();
    h.update(1, 1);
    const hc = new BatchCursor();
    h.lookupBatch(hc, 1);
    if (!hc.done) expect(() => lpm.lookupBatch(hc)).toThrow(/cursor belongs to another map/);
    else expect(hc.token).toBeNull();
  });

  it("bad input is refused before anything is written, naming the element", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    expect(() => m.updateBatch([1, 2], [1])).toThrow("updateBatch cilium_test: 2 keys but 1 values");
    expect(() => m.updateBatch([1, 2, -3], [1, 2, 3])).toThrow(/updateBatch \[2\] cilium_test: bad key/);
    expect(m.getNextKey(null)).toBeUndefined();
    expect(() => m.lookupBatch(new BatchCursor(), 0)).toThrow(/count must be a positive integer/);
    expect(() => m.lookupBatch({} as BatchCursor)).toThrow(/cursor must be a BatchCursor \(new BatchCursor\(\) starts at the first element\), got Object$/);
    expect(() => m.lookupBatch(undefined as never)).toThrow(/cursor must be a BatchCursor \(new BatchCursor\(\) starts at the first element\), got undefined$/);
  });
});

eachDriver("batch helpers on a read-only map", (get) => {
  it("an early error (EPERM on a frozen map) reports 0 applied, not the count passed in", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 1);
    expect(env.driver.mapFreeze(m.getFd())).toBe(0);
    expect(() => m.updateBatch([2, 3], [2, 3])).toThrow(expect.objectContaining({ code: "EPERM", count: 0 }));
    expect(() => m.deleteBatch([1])).toThrow(expect.objectContaining({ code: "EPERM", count: 0 }));
    expect(m.lookup(1)).toBe(1);
  });
});
