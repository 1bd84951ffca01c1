// BpfBloomFilter: add and has through core, the hash count as map_extra, on both drivers.
import { expect, it } from "vitest";
import {
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BpfBloomFilter, Errno, u32, type BloomFilterSpec,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

function bloomSpec(hashFunctions?: number, name = "cilium_b"): BloomFilterSpec<number> {
  return { name, value: u32, maxEntries: 64, ...(hashFunctions !== undefined ? { hashFunctions } : {}) };
}

eachDriver("BpfBloomFilter", (get) => {
  it("has is false before add and true after; the map is a key-less BLOOM_FILTER with the kernel's 5 hashes", () => {
    const env = get();
    const b = env.track(env.bpf.newBloomFilter(bloomSpec()));
    expect(b.openOrCreate()).toBe(true);
    expect(b.has(7)).toBe(false);
    b.add(7);
    b.add(8);
    expect([b.has(7), b.has(8), b.has(9)]).toEqual([true, true, false]);
    expect(b.hashFunctions).toBe(5);
    expect(b.info()).toMatchObject({ type: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 64, mapExtra: 0n });
  });

  it("hashFunctions becomes map_extra, and bpf.openBloomFilter reads it back", () => {
    const env = get();
    const b = env.track(env.bpf.newBloomFilter(bloomSpec(3)));
    b.openOrCreate();
    b.add(1);
    expect(b.info().mapExtra).toBe(3n);
    const opened = env.track(env.bpf.openBloomFilter("cilium_b", u32));
    expect(opened).toBeInstanceOf(BpfBloomFilter);
    expect([opened.hashFunctions, opened.has(1), opened.has(2)]).toEqual([3, true, false]);
    const raw = env.track(env.bpf.openBloomFilter({ id: b.info().id }));
    expect(raw.has(new Uint8Array([1, 0, 0, 0]))).toBe(true);
  });

  it("hashFunctions outside 1..15 is a RangeError before any syscall", () => {
    const env = get();
    const before = openFdsOf(env.driver);
    for (const n of [0, 16, 2.5, -1, Number.NaN]) {
      expect(() => env.bpf.newBloomFilter(bloomSpec(n))).toThrow(/newBloomFilter cilium_b: hashFunctions must be an integer from 1 to 15/);
    }
    expect(() => env.bpf.newBloomFilter({ ...bloomSpec(), type: BPF_MAP_TYPE_HASH } as never)).toThrow(/spec/);
    expect(openFdsOf(env.driver)).toBe(before);
    expect(env.bpf.newBloomFilter(bloomSpec(15)).hashFunctions).toBe(15);
  });

  it("a pin with another hash count is re-created; the kernel's default and 5 are one count", () => {
    const env = get();
    env.track(env.bpf.newBloomFilter(bloomSpec())).openOrCreate();
    const five = env.track(env.otherBpf().newBloomFilter(bloomSpec(5)));
    expect(five.openOrCreate()).toBe(false);
    const four = env.track(env.otherBpf().newBloomFilter(bloomSpec(4)));
    expect(four.openOrCreate()).toBe(true);
    expect(four.info().mapExtra).toBe(4n);
    expect(env.logs.some((r) => r.msg === "Map extra mismatch for BPF map")).toBe(true);
    // A spec without a count takes the pin as it is.
    const any = env.track(env.otherBpf().newBloomFilter(bloomSpec()));
    expect(any.openOrCreate()).toBe(false);
    expect(any.info().mapExtra).toBe(4n);
  });

  it("hashFunctions is the map's once open: a spec without a count, or open() of a pin with another, says the pin's", () => {
    const env = get();
    const three = env.track(env.bpf.newBloomFilter(bloomSpec(3)));
    three.openOrCreate();
    three.close();
    const any = env.track(env.otherBpf().newBloomFilter(bloomSpec()));
    expect(any.hashFunctions).toBe(5);
    expect(any.openOrCreate()).toBe(false);
    expect(any.hashFunctions).toBe(3);
    const seven = env.track(env.otherBpf().newBloomFilter(bloomSpec(7)));
    seven.open();
    expect(seven.hashFunctions).toBe(3);
    // The first element call opens the pin lazily, and reads the count as open() does.
    const lazy = env.track(env.otherBpf().newBloomFilter(bloomSpec(7)));
    expect(lazy.has(1)).toBe(false);
    expect(lazy.hashFunctions).toBe(3);
    // One created here has the spec's count, the kernel's default 5 without one.
    const fresh = env.track(env.bpf.newBloomFilter(bloomSpec(undefined, "cilium_b2")));
    expect(fresh.openOrCreate()).toBe(true);
    expect(fresh.hashFunctions).toBe(5);
  });

  it("a read-only filter cannot add, a write-only one cannot tell (EPERM naming the mode and the op)", () => {
    const env = get();
    const b = env.track(env.bpf.newBloomFilter(bloomSpec()));
    b.openOrCreate();
    b.add(1);
    const r = env.track(env.bpf.openBloomFilter("cilium_b", u32, { readOnly: true }));
    expect(r.has(1)).toBe(true);
    const e = thrownBpfError(() => r.add(2));
    expect([e.errno, e.op, e.map]).toEqual([Errno.EPERM, "add", "cilium_b"]);
    expect(e.message).toMatch(/read-only/);
    const w = env.track(env.bpf.openBloomFilter("cilium_b", u32, { writeOnly: true }));
    w.add(2);
    expect(thrownBpfError(() => w.has(2)).message).toMatch(/^has cilium_b: .*write-only/);
    // In a bloom filter's words: it is never walked or dumped.
    expect(e.message).toBe("add cilium_b: operation not permitted (the map was opened read-only (BPF_F_RDONLY): " +
      "a bloom filter opened so can be asked (has), not added to)");
    expect(thrownBpfError(() => w.has(2)).message).toBe("has cilium_b: operation not permitted (the map was opened write-only " +
      "(BPF_F_WRONLY): a bloom filter opened so can be added to, not asked (has))");
    expect(b.has(2)).toBe(true);
  });

  it("openBloomFilter of a queue names openQueueMap; a closed filter opened by fd is EBADF", () => {
    const env = get();
    env.track(env.bpf.newQueueMap({ name: "cilium_q", value: u32, maxEntries: 2 })).openOrCreate();
    expect(thrownBpfError(() => env.bpf.openBloomFilter("cilium_q")).message).toMatch(/not a bloom filter: bpf.openQueueMap opens it/);
    const b = env.track(env.bpf.newBloomFilter(bloomSpec()));
    b.openOrCreate();
    const byFd = env.bpf.openBloomFilter({ fd: env.driver.objGet(b.path()) }, u32);
    byFd.add(3);
    byFd.close();
    const e = thrownBpfError(() => byFd.has(3));
    expect([e.errno, e.op]).toEqual([Errno.EBADF, "has"]);
    expect(b.has(3)).toBe(true);
  });

  it("reports add and has to the metrics hook; a 'no' from has is a success", () => {
    const env = get();
    const b = env.track(env.bpf.newBloomFilter(bloomSpec()));
    b.openOrCreate();
    b.add(1);
    b.has(1);
    b.has(2);
    expect(env.ops).toEqual(["b add success", "b has success", "b has success"]);
  });
});

eachDriver("CreateMapOptions.mapExtra", (get) => {
  it("is checked before any syscall: a bigint u64", () => {
    const env = get();
    const create = (mapExtra: unknown) => env.bpf.createMap(BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 8, 0, 0, "x", { mapExtra } as never);
    expect(() => create(3)).toThrow(/createMap x: options.mapExtra must be a bigint/);
    expect(() => create(-1n)).toThrow(RangeError);
    expect(() => create(1n << 64n)).toThrow(new RangeError("createMap x: options.mapExtra 18446744073709551616 is not a u64"));
    const fd = create(2n);
    try {
      expect(env.bpf.getMapInfoByFd(fd).mapExtra).toBe(2n);
    } finally {
      env.driver.close(fd);
    }
    expect(thrownBpfError(() => env.bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 8, 0, 0, "h", { mapExtra: 1n })).errno).toBe(Errno.EINVAL);
  });
});
