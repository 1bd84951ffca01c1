// kernel-maps.md §10 through the driver: bucket tokens and their ENOSPC/ENOENT ends for the
// hash family, key tokens for the generic implementation, partial counts for update/delete
// batches, the support matrix, and buffers left as they were when the kernel wrote nothing.
import { expect, it } from "vitest";
import {
  BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PROG_ARRAY, BPF_F_NO_PREALLOC, BPF_NOEXIST, Errno,
  type Driver,
} from "@bpfkit/core";
import { describeKernel, kernelForFile, readU32, u32, walkKeys, withFds } from "./helpers.js";

const k = kernelForFile();
const { ENOENT, ENOSPC, E2BIG, EINVAL, ENOTSUPP } = Errno;

function u32s(bytes: Uint8Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => readU32(bytes, i * 4));
}

/** A ZERO_SEED hash (key 4, value 4) holding `keys`, each with value key + 100. */
function zeroSeedHash(d: Driver, keep: (fd: number) => number, maxEntries: number, keys: number[]): number {
  const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries, mapFlags: BPF_F_ZERO_SEED }));
  for (const key of keys) expect(d.mapUpdateElem(fd, u32(key), u32(key + 100))).toBe(0);
  return fd;
}

describeKernel("kernel driver: batch operations (§10)", () => {
  it("hash LOOKUP_BATCH walks whole buckets: [0,4] → 2, [2,1] → 6, [5,3] ENOENT → 8", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = zeroSeedHash(d, keep, 8, [0, 1, 2, 3, 4, 5]);
      const out = new Uint8Array(4), keys = new Uint8Array(8), values = new Uint8Array(8);
      const steps: Array<[number, number[], number]> = [[0, [0, 4], 2], [0, [2, 1], 6], [ENOENT, [5, 3], 8]];
      let token: Uint8Array | null = null;
      for (const [errno, want, next] of steps) {
        const r = d.mapLookupBatch(fd, token, out, keys, values, 2);
        expect(r).toEqual({ errno, count: 2 });
        expect(u32s(keys, 2)).toEqual(want);
        expect(u32s(values, 2)).toEqual(want.map((x) => x + 100));
        expect(readU32(out)).toBe(next);
        token = out.slice();
      }
    });
  });

  it("hash: a bucket that does not fit is ENOSPC with count 0 when nothing was copied", () => {
    const { d } = k;
    withFds(d, (keep) => {
      // 0, 8 and 16 share bucket 0 of 4 (§5.2).
      const fd = zeroSeedHash(d, keep, 4, [0, 8, 16]);
      const out = new Uint8Array(4).fill(0xaa), keys = new Uint8Array(8), values = new Uint8Array(8);
      expect(d.mapLookupBatch(fd, null, out, keys, values, 2)).toEqual({ errno: ENOSPC, count: 0 });
      expect(readU32(out)).toBe(0);
      const keys3 = new Uint8Array(12), values3 = new Uint8Array(12);
      expect(d.mapLookupBatch(fd, null, out, keys3, values3, 3)).toEqual({ errno: ENOENT, count: 3 });
      expect(u32s(keys3, 3)).toEqual([16, 8, 0]);
    });
  });

  it("hash: in_batch past the last bucket is ENOENT with count 0; count 0 writes nothing", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = zeroSeedHash(d, keep, 8, [1, 2]);
      const out = new Uint8Array(4).fill(0x5c), keys = new Uint8Array(8).fill(0x5c), values = new Uint8Array(8).fill(0x5c);
      expect(d.mapLookupBatch(fd, u32(8), out, keys, values, 2)).toEqual({ errno: ENOENT, count: 0 });
      out.fill(0x5c);
      expect(d.mapLookupBatch(fd, null, out, keys, values, 0)).toEqual({ errno: 0, count: 0 });
      expect([...out, ...keys, ...values].every((b) => b === 0x5c)).toBe(true);
    });
  });

  it("LOOKUP_AND_DELETE_BATCH removes exactly the elements it returns", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = zeroSeedHash(d, keep, 8, [0, 1, 2, 3, 4, 5]);
      const out = new Uint8Array(4), keys = new Uint8Array(8), values = new Uint8Array(8);
      expect(d.mapLookupAndDeleteBatch(fd, null, out, keys, values, 2)).toEqual({ errno: 0, count: 2 });
      expect(u32s(keys, 2)).toEqual([0, 4]);
      expect(walkKeys(d, fd, 4).map((x) => readU32(x))).toEqual([2, 1, 5, 3]);
    });
  });

  it("per-CPU values in a batch: element j's CPU slots start at j × cpus × slot", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const cpus = d.possibleCpus;
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      const v = (key: number) => new Uint8Array(8 * cpus).map((_, i) => key * 16 + i);
      for (const key of [1, 2]) expect(d.mapUpdateElem(fd, u32(key), v(key))).toBe(0);
      const keys = new Uint8Array(16), values = new Uint8Array(4 * 8 * cpus);
      // A values buffer sized by value_size alone would let the kernel write past it.
      expect(() => d.mapLookupBatch(fd, null, new Uint8Array(4), keys, new Uint8Array(16), 4)).toThrow(RangeError);
      const r = d.mapLookupBatch(fd, null, new Uint8Array(4), keys, values, 4);
      expect(r).toEqual({ errno: ENOENT, count: 2 });
      for (let j = 0; j < 2; j++) {
        expect(values.subarray(j * 8 * cpus, (j + 1) * 8 * cpus)).toEqual(v(readU32(keys, j * 4)));
      }
    });
  });

  it("generic (ARRAY): key tokens; an unknown in_batch restarts; ENOENT carries the last count", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 5 }));
      for (let i = 0; i < 5; i++) d.mapUpdateElem(fd, u32(i), u32(i * 10));
      const out = new Uint8Array(4), keys = new Uint8Array(12), values = new Uint8Array(12);
      expect(d.mapLookupBatch(fd, u32(99), out, keys, values, 3)).toEqual({ errno: 0, count: 3 });
      expect(u32s(keys, 3)).toEqual([0, 1, 2]);
      expect(readU32(out)).toBe(2);
      expect(d.mapLookupBatch(fd, out.slice(), out, keys, values, 3)).toEqual({ errno: ENOENT, count: 2 });
      expect(u32s(keys, 2)).toEqual([3, 4]);
      expect(u32s(values, 2)).toEqual([30, 40]);
      expect(readU32(out)).toBe(4);
      // Tokens are key-sized here: a 4-byte token for an 8-byte-key LPM is a RangeError.
      const lpm = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC }));
      expect(() => d.mapLookupBatch(lpm, null, new Uint8Array(4), new Uint8Array(8), new Uint8Array(4), 1)).toThrow(RangeError);
    });
  });

  it("UPDATE_BATCH stops at the first error with the applied count; NOEXIST is EINVAL, count untouched", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      const keys = new Uint8Array(24), values = new Uint8Array(24);
      for (let i = 0; i < 6; i++) {
        keys.set(u32(i), i * 4);
        values.set(u32(i + 1), i * 4);
      }
      expect(d.mapUpdateBatch(fd, keys, values, 6)).toEqual({ errno: E2BIG, count: 4 });
      expect(walkKeys(d, fd, 4)).toHaveLength(4);
      expect(d.mapUpdateBatch(fd, keys, values, 2, BPF_NOEXIST)).toEqual({ errno: EINVAL, count: 2 });
      expect(() => d.mapUpdateBatch(fd, keys, values.subarray(0, 20), 6)).toThrow(RangeError);
    });
  });

  it("DELETE_BATCH [0,1,9,2] with 9 missing is ENOENT after 2", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = zeroSeedHash(d, keep, 8, [0, 1, 2, 3]);
      const keys = new Uint8Array([...u32(0), ...u32(1), ...u32(9), ...u32(2)]);
      expect(d.mapDeleteBatch(fd, keys, 4)).toEqual({ errno: ENOENT, count: 2 });
      expect(walkKeys(d, fd, 4).map((x) => readU32(x)).sort()).toEqual([2, 3]);
    });
  });

  it("support matrix: ARRAY has no delete batches, PROG_ARRAY no batches at all (ENOTSUPP)", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const arr = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }));
      const pa = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }));
      const b4 = () => new Uint8Array(4);
      const out = new Uint8Array(4).fill(7), keys = new Uint8Array(4).fill(7), values = new Uint8Array(4).fill(7);
      expect(d.mapLookupAndDeleteBatch(arr, null, out, keys, values, 1)).toEqual({ errno: ENOTSUPP, count: 1 });
      // Nothing was written: the caller's buffers are as they were.
      expect([...out, ...keys, ...values].every((b) => b === 7)).toBe(true);
      expect(d.mapDeleteBatch(arr, b4(), 1).errno).toBe(ENOTSUPP);
      expect(d.mapLookupBatch(pa, null, b4(), b4(), b4(), 1).errno).toBe(ENOTSUPP);
      expect(d.mapLookupAndDeleteBatch(pa, null, b4(), b4(), b4(), 1).errno).toBe(ENOTSUPP);
      expect(d.mapUpdateBatch(pa, b4(), b4(), 1).errno).toBe(ENOTSUPP);
      expect(d.mapDeleteBatch(pa, b4(), 1).errno).toBe(ENOTSUPP);
    });
  });
});
