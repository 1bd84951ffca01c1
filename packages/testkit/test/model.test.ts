// The reference model: its hash, orders and batches against the kernel's own examples
// (kernel-maps.md), then against the running kernel on random programs (the kernel is ground truth).
import {
  BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_PRESERVE_ELEMS, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, Errno, type MapCreateAttr, errnoName, mapTypeName,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { hex, putU32le, u32le } from "../src/model/bytes.js";
import { jhash } from "../src/model/jhash.js";
import { createModelDriver } from "../src/model/model-driver.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { kernelUnderTest } from "../src/drivers.js";

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  putU32le(b, 0, n);
  return b;
};
const u64 = (n: number) => {
  const b = new Uint8Array(8);
  putU32le(b, 0, n);
  return b;
};

function walk(d: ReturnType<typeof createModelDriver>, fd: number, keySize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let cur: Uint8Array | null = null;
  const next = new Uint8Array(keySize);
  while (d.mapGetNextKey(fd, cur, next) === 0) {
    out.push(next.slice());
    cur = next.slice();
  }
  return out;
}

describe("model: kernel-maps.md examples", () => {
  it("jhash matches the §5.1 test vectors", () => {
    expect(jhash(u32(0))).toBe(0x049396b8);
    expect(jhash(u32(1))).toBe(0x72a82a9b);
    expect(jhash(u32(2))).toBe(0xee626cca);
    expect(jhash(u32(3))).toBe(0x9917754f);
    expect(jhash(new TextEncoder().encode("abc"))).toBe(0x0e397631);
    expect(jhash(new Uint8Array(8))).toBe(0x58c184bf);
    expect(jhash(new Uint8Array(13).fill(1))).toBe(0x10bdc9d1);
  });

  it("walks ZERO_SEED hash maps in the §5.3 orders", () => {
    const d = createModelDriver();
    const v = new Uint8Array(8);
    const fd16 = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: BPF_F_ZERO_SEED });
    for (let i = 0; i < 16; i++) expect(d.mapUpdateElem(fd16, u32(i), v)).toBe(0);
    expect(walk(d, fd16, 4).map((k) => u32le(k))).toEqual([10, 4, 15, 5, 0, 14, 7, 2, 13, 1, 8, 12, 11, 9, 6, 3]);
    const fd10 = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 8, maxEntries: 10, mapFlags: BPF_F_ZERO_SEED });
    for (let i = 0; i < 10; i++) d.mapUpdateElem(fd10, u64(i * 1000), v);
    expect(walk(d, fd10, 8).map((k) => u32le(k))).toEqual([7000, 4000, 2000, 9000, 1000, 6000, 3000, 5000, 8000, 0]);
    const fd3 = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 3, valueSize: 8, maxEntries: 4, mapFlags: BPF_F_ZERO_SEED });
    for (const s of ["abc", "foo", "bar", "zzz"]) d.mapUpdateElem(fd3, new TextEncoder().encode(s), v);
    expect(walk(d, fd3, 3).map((k) => new TextDecoder().decode(k))).toEqual(["bar", "abc", "zzz", "foo"]);
  });

  it("moves an updated HASH key to the head of its bucket (§5.2)", () => {
    const d = createModelDriver();
    const v = new Uint8Array(4);
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_ZERO_SEED });
    // 0, 8 and 16 collide in 4 buckets.
    for (const k of [0, 8, 16]) d.mapUpdateElem(fd, u32(k), v);
    const inBucket = (ks: Uint8Array[]) => ks.map((k) => u32le(k)).filter((k) => k % 8 === 0);
    expect(inBucket(walk(d, fd, 4))).toEqual([16, 8, 0]);
    d.mapUpdateElem(fd, u32(0), v);
    expect(inBucket(walk(d, fd, 4))).toEqual([0, 16, 8]);
  });

  it("batches whole buckets with the §10.1 tokens and errnos", () => {
    const d = createModelDriver();
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_ZERO_SEED });
    for (let i = 0; i < 6; i++) d.mapUpdateElem(fd, u32(i), u32(i));
    const keys = new Uint8Array(8);
    const values = new Uint8Array(8);
    const out = new Uint8Array(4);
    const calls: [number, number[], number][] = [];
    let token: Uint8Array | null = null;
    for (;;) {
      const r = d.mapLookupBatch(fd, token, out, keys, values, 2);
      calls.push([r.errno, Array.from({ length: r.count }, (_, i) => u32le(keys, 4 * i)), u32le(out)]);
      if (r.errno !== 0) break;
      token = out.slice();
    }
    expect(calls).toEqual([[0, [0, 4], 2], [0, [2, 1], 6], [Errno.ENOENT, [5, 3], 8]]);
  });

  it("a hash batch from a token at or past the last bucket is ENOENT with nothing, as the kernel's", () => {
    const d = createModelDriver();
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_ZERO_SEED });
    for (let i = 0; i < 6; i++) d.mapUpdateElem(fd, u32(i), u32(i));
    const out = new Uint8Array(4);
    // 8 entries: 8 buckets, 0 to 7; the token names the next bucket to visit.
    for (const token of [8, 9, 1000]) {
      expect(d.mapLookupBatch(fd, u32(token), out, new Uint8Array(32), new Uint8Array(32), 8)).toEqual({ errno: Errno.ENOENT, count: 0 });
    }
    expect(d.mapLookupBatch(fd, u32(7), out, new Uint8Array(32), new Uint8Array(32), 8).errno).toBe(Errno.ENOENT);
  });

  it("keeps a copy of each value written: a caller reusing its buffer does not change what is stored", () => {
    const d = createModelDriver();
    const specs = [
      { mapType: BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: 0 },
      { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 },
      { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC },
    ];
    for (const spec of specs) {
      const fd = d.mapCreate(spec);
      const key = new Uint8Array(spec.keySize);
      key[0] = spec.mapType === BPF_MAP_TYPE_ARRAY ? 1 : 8; // an index in range; LPM prefix /8
      const value = u32(7);
      expect(d.mapUpdateElem(fd, key, value), mapTypeName(spec.mapType)).toBe(0);
      value.fill(0xee);
      const out = new Uint8Array(4);
      expect(d.mapLookupElem(fd, key, out)).toBe(0);
      expect(u32le(out), mapTypeName(spec.mapType)).toBe(7);
    }
  });

  it("walks LPM entries in the §9.3 order, more specific first", () => {
    const d = createModelDriver();
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_NO_PREALLOC });
    const lpm = (len: number, a: number, b: number, c: number, e: number) => {
      const k = new Uint8Array([0, 0, 0, 0, a, b, c, e]);
      putU32le(k, 0, len);
      return k;
    };
    for (const k of [lpm(16, 192, 168, 0, 0), lpm(24, 192, 168, 0, 0), lpm(24, 192, 168, 1, 0), lpm(24, 192, 168, 128, 0)]) {
      expect(d.mapUpdateElem(fd, k, new Uint8Array(4))).toBe(0);
    }
    expect(walk(d, fd, 8).map(hex)).toEqual([
      hex(lpm(24, 192, 168, 0, 0)), hex(lpm(24, 192, 168, 1, 0)), hex(lpm(24, 192, 168, 128, 0)), hex(lpm(16, 192, 168, 0, 0)),
    ]);
    // 192.168.1.77/16 is capped at /16 (§9.1).
    const v = new Uint8Array(4);
    d.mapUpdateElem(fd, lpm(16, 192, 168, 0, 0), u32(16));
    d.mapUpdateElem(fd, lpm(24, 192, 168, 1, 0), u32(24));
    expect(d.mapLookupElem(fd, lpm(16, 192, 168, 1, 77), v)).toBe(0);
    expect(u32le(v)).toBe(16);
    expect(d.mapLookupElem(fd, lpm(32, 192, 168, 1, 77), v)).toBe(0);
    expect(u32le(v)).toBe(24);
    // A query longer than max_prefixlen (32 here) finds nothing, not even /0, which matches all (§9.1).
    d.mapUpdateElem(fd, lpm(0, 0, 0, 0, 0), u32(0));
    expect(d.mapLookupElem(fd, lpm(32, 10, 0, 0, 1), v)).toBe(0);
    expect(d.mapLookupElem(fd, lpm(33, 10, 0, 0, 1), v)).toBe(-Errno.ENOENT);
    // An update of 192.168.0.0/16 through other host bits stores the new key's bytes (§9.2).
    expect(d.mapUpdateElem(fd, lpm(16, 192, 168, 9, 9), u32(161))).toBe(0);
    expect(walk(d, fd, 8).map(hex)).toContain(hex(lpm(16, 192, 168, 9, 9)));
    expect(walk(d, fd, 8).map(hex)).not.toContain(hex(lpm(16, 192, 168, 0, 0)));
  });
});

/**
 * Create rules no arbitrary draws (NUMA nodes, PRESERVE_ELEMS, the longest names): each spec with the kernel's
 * answer on this one-node host (NUMA_NO_NODE, 0xffffffff, asks for no node).
 */
const RARE_CREATES: [string, MapCreateAttr, string][] = [
  ["HASH on node 0", { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NUMA_NODE, numaNode: 0 }, "OK"],
  ["HASH on node 1, which is not there", { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NUMA_NODE, numaNode: 1 }, "EINVAL"],
  ["PERCPU_HASH on node 0", { mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NUMA_NODE, numaNode: 0 }, "EINVAL"],
  ["PERCPU_HASH on no node", { mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NUMA_NODE, numaNode: 0xffffffff }, "OK"],
  ["LRU_HASH with per-CPU lists on node 0", { mapType: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU, numaNode: 0 }, "EINVAL"],
  ["LRU_HASH on node 0", { mapType: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_NUMA_NODE, numaNode: 0 }, "OK"],
  ["PERCPU_ARRAY on node 0", { mapType: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NUMA_NODE, numaNode: 0 }, "EINVAL"],
  ["ARRAY on node 0", { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NUMA_NODE, numaNode: 0 }, "OK"],
  ["ARRAY with PRESERVE_ELEMS (perf event arrays only)", { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_PRESERVE_ELEMS }, "EINVAL"],
  ["a name of 15 bytes", { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0, mapName: "abcdefghijklmno" }, "OK"],
  ["a name of 16 bytes, with no room for its NUL", { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0, mapName: "abcdefghijklmnop" }, "EINVAL"],
  ["LPM_TRIE on node 0", { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE, numaNode: 0 }, "OK"],
];

/** What `driver` answers to each of RARE_CREATES, as [name, "OK" or the errno name]. */
function rareCreates(driver: { mapCreate(a: MapCreateAttr): number; close(fd: number): number }): [string, string][] {
  return RARE_CREATES.map(([name, attr]) => {
    const fd = driver.mapCreate(attr);
    if (fd >= 0) driver.close(fd);
    return [name, fd >= 0 ? "OK" : errnoName(-fd)];
  });
}

describe("model: create rules the arbitraries never draw", () => {
  it("NUMA nodes, PRESERVE_ELEMS and 16-byte names get the kernel's answers from the model and the simulator", () => {
    const want = RARE_CREATES.map(([name, , answer]) => [name, answer]);
    expect(rareCreates(createModelDriver())).toEqual(want);
    expect(rareCreates(createSimDriver())).toEqual(want);
  });
});

const kernel = kernelUnderTest();
describe.runIf(kernel.unavailable === undefined)("model vs kernel", () => {
  it("property: on random programs over every modelled type, every answer of the model equals the kernel's", async () => {
    const s = await runDifferential({ left: "model", right: "kernel", runs: 300, seed: 0x5eed });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    expect(s.runs).toBe(300);
  });

  it("the kernel answers the rare creates as the model's table says", () => {
    expect(rareCreates(kernel.create())).toEqual(RARE_CREATES.map(([name, , answer]) => [name, answer]));
  });

  it("property: invalid create specs get the kernel's errno from the model", async () => {
    const s = await runDifferential({ left: "model", right: "kernel", runs: 200, seed: 0xbad, program: { invalid: "always", maxOps: 3 } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
  });
});
if (kernel.unavailable !== undefined) console.log(`model vs kernel skipped: ${kernel.unavailable}`);
