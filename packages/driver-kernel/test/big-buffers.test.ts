// Keys and values larger than the scratch block's first regions: the block grows (and moves),
// and maps created before and after keep round-tripping through both the fast and checked
// paths, singly and in batches.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_NOEXIST, Errno, ProgType } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { RET0_INSNS, describeKernel, kernelForFile, walkKeys, withFds } from "./helpers.js";

const k = kernelForFile();
const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
/** Byte equality without vitest's element-by-element diffing (slow on 100 KB). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describeKernel("kernel driver: large keys and values", () => {
  it("a batch that needs megabytes of scratch gives the room back as it ends, having read every result first", () => {
    const d = createKernelDriver();
    const block = () => (d as unknown as { u8: Uint8Array }).u8.byteLength;
    const n = 200_000; // 0.8 MB of keys and 1.6 MB of values in one call
    const keys = new Uint8Array(4 * n), values = new Uint8Array(8 * n);
    const kv = new DataView(keys.buffer), vv = new DataView(values.buffer);
    for (let i = 0; i < n; i++) {
      kv.setUint32(4 * i, i, true);
      vv.setUint32(8 * i, i * 3, true);
      vv.setUint32(8 * i + 4, ~i, true);
    }
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: n }));
      expect(d.mapUpdateBatch(fd, keys, values, n)).toEqual({ errno: 0, count: n });
      // Kept between calls: at most 1 MiB of batch room (plus the regions), not the 2.4 MB used.
      expect(block()).toBeLessThan(2 ** 21);
      const outKeys = new Uint8Array(4 * n), outValues = new Uint8Array(8 * n);
      const r = d.mapLookupBatch(fd, null, new Uint8Array(4), outKeys, outValues, n);
      expect(r).toEqual({ errno: Errno.ENOENT, count: n });
      expect(block()).toBeLessThan(2 ** 21);
      // Every element came out before the block was given back: each key with its own value.
      const ok = new DataView(outKeys.buffer), ov = new DataView(outValues.buffer);
      const seen = new Uint8Array(n);
      let wrong = 0;
      for (let j = 0; j < n; j++) {
        const i = ok.getUint32(4 * j, true);
        if (i >= n || ov.getUint32(8 * j, true) !== i * 3 || ov.getUint32(8 * j + 4, true) !== (~i >>> 0)) wrong++;
        else seen[i] = 1;
      }
      expect(wrong).toBe(0);
      expect(seen.every((b) => b === 1)).toBe(true);
      // The element paths work from the new block.
      const one = new Uint8Array(8);
      expect(d.mapLookupElem(fd, keys.subarray(4 * 7, 4 * 8), one)).toBe(0);
      expect(one).toEqual(values.subarray(8 * 7, 8 * 8));
      expect(d.mapDeleteBatch(fd, keys, n)).toEqual({ errno: 0, count: n });
      expect(block()).toBeLessThan(2 ** 21);
      expect(d.mapGetNextKey(fd, null, new Uint8Array(4))).toBe(-Errno.ENOENT);
      // A program load with a 3 MiB verifier log: the log comes out, then the room goes back.
      const log = new Uint8Array(3 << 20);
      const prog = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logLevel: 1, log }));
      expect(prog).toBeGreaterThanOrEqual(0);
      expect(Buffer.from(log.subarray(0, log.indexOf(0))).toString()).toMatch(/processed 2 insns/);
      expect(block()).toBeLessThan(2 ** 21);
    });
  });

  it("a block kept large because its trim found no memory is not doubled past 2 GiB by the next batch", () => {
    const d = createKernelDriver();
    const koffi = (d as unknown as { native: { koffi: { alloc: (type: string, n: number) => unknown } } }).native.koffi;
    const alloc = koffi.alloc;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 1, maxEntries: 4 }));
      for (let i = 0; i < 4; i++) expect(d.mapUpdateElem(fd, pattern(4, i), pattern(1, i))).toBe(0);
      // 1.25 GiB of batch room; the trim after it (to 1 MiB) finds no memory, so the block keeps
      // its 1.25 GiB. The buffers are never touched past the four elements: they stay virtual.
      const first = 2 ** 28;
      koffi.alloc = (type, n) => {
        if (n < 2 ** 30) throw new Error("no memory (injected)");
        return alloc(type, n);
      };
      try {
        const r = d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(first * 4), new Uint8Array(first), first);
        expect(r).toEqual({ errno: Errno.ENOENT, count: 4 });
      } finally {
        koffi.alloc = alloc;
      }
      // 1.56 GiB: twice the kept room is past what a block can be, this call alone is not.
      const second = 2 ** 28 + 2 ** 26;
      const r = d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(second * 4), new Uint8Array(second), second);
      expect(r).toEqual({ errno: Errno.ENOENT, count: 4 });
    });
  });

  it("a small map keeps working after a large map grows the scratch block", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const small = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 }));
      expect(d.mapUpdateElem(small, pattern(4, 1), pattern(8, 2))).toBe(0);
      const big = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 300, valueSize: 5_000, maxEntries: 4 }));
      for (let i = 0; i < 3; i++) expect(d.mapUpdateElem(big, pattern(300, i), pattern(5_000, i + 10))).toBe(0);
      expect(d.mapUpdateElem(big, pattern(300, 0), pattern(5_000, 0), BPF_NOEXIST)).toBe(-Errno.EEXIST);
      const out = new Uint8Array(5_000);
      expect(d.mapLookupElem(big, pattern(300, 1), out)).toBe(0);
      expect(out).toEqual(pattern(5_000, 11));
      expect(walkKeys(d, big, 300).map((key) => key[0]).sort()).toEqual([0, 1, 2].map((i) => pattern(300, i)[0]).sort());
      expect(d.mapLookupAndDeleteElem(big, pattern(300, 2), out)).toBe(0);
      expect(out).toEqual(pattern(5_000, 12));
      expect(d.mapDeleteElem(big, pattern(300, 0))).toBe(0);
      const small8 = new Uint8Array(8);
      expect(d.mapLookupElem(small, pattern(4, 1), small8)).toBe(0);
      expect(small8).toEqual(pattern(8, 2));
      // A batch of large elements, through the auxiliary region.
      const keys = new Uint8Array(4 * 300), values = new Uint8Array(4 * 5_000);
      const r = d.mapLookupBatch(big, null, new Uint8Array(4), keys, values, 4);
      expect(r).toEqual({ errno: Errno.ENOENT, count: 1 });
      expect(keys.subarray(0, 300)).toEqual(pattern(300, 1));
      expect(values.subarray(0, 5_000)).toEqual(pattern(5_000, 11));
    });
  });

  it("a second driver uses a large map the first one made (shared fd table, its own block)", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const big = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 200, valueSize: 100_000, maxEntries: 4 }));
      // A fresh driver's block is small; its first call on `big` must grow it, not overrun it.
      const other = createKernelDriver();
      expect(other.mapUpdateElem(big, pattern(200, 1), pattern(100_000, 2))).toBe(0);
      const out = new Uint8Array(100_000);
      expect(createKernelDriver().mapLookupElem(big, pattern(200, 1), out)).toBe(0);
      expect(same(out, pattern(100_000, 2))).toBe(true);
      const next = new Uint8Array(200);
      expect(createKernelDriver().mapGetNextKey(big, null, next)).toBe(0);
      expect(next).toEqual(pattern(200, 1));
      expect(createKernelDriver().mapLookupAndDeleteElem(big, pattern(200, 1), out)).toBe(0);
      expect(createKernelDriver().mapDeleteElem(big, pattern(200, 1))).toBe(-Errno.ENOENT);
      expect(() => other.mapLookupElem(big, pattern(200, 1), new Uint8Array(8))).toThrow(RangeError);
    });
  });

  it("per-CPU values above 64 bytes per element round-trip in full", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 100, maxEntries: 2 }));
      const size = 104 * d.possibleCpus;
      const v = pattern(size, 5);
      expect(d.mapUpdateElem(fd, pattern(4, 0), v)).toBe(0);
      const out = new Uint8Array(size);
      expect(d.mapLookupElem(fd, pattern(4, 0), out)).toBe(0);
      expect(out).toEqual(v);
      expect(() => d.mapLookupElem(fd, pattern(4, 0), new Uint8Array(100))).toThrow(RangeError);
    });
  });
});

describeKernel("kernel driver: the hot fd each driver remembers", () => {
  it("a map closed through another driver and a new map under the same fd number are checked anew", () => {
    const { d } = k;
    const other = createKernelDriver();
    // d's hot path remembers `first` (key 4, value 8) after this lookup.
    const first = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(first).toBeGreaterThanOrEqual(0);
    expect(d.mapUpdateElem(first, pattern(4, 1), pattern(8, 2))).toBe(0);
    const out8 = new Uint8Array(8);
    expect(d.mapLookupElem(first, pattern(4, 1), out8)).toBe(0);
    expect(out8).toEqual(pattern(8, 2));
    // Closed by `other`: d must not keep treating the number as a key-4/value-8 map.
    expect(other.close(first)).toBe(0);
    expect(d.mapLookupElem(first, pattern(4, 1), out8)).toBe(-Errno.EBADF);
    // The kernel gives the lowest free fd: the new map (value 64) takes the same number.
    const second = other.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 64, maxEntries: 4 });
    try {
      expect(second).toBe(first);
      expect(other.mapUpdateElem(second, pattern(4, 1), pattern(64, 3))).toBe(0);
      // An 8-byte value buffer would let the kernel write 64 bytes: the old shape is gone.
      expect(() => d.mapLookupElem(second, pattern(4, 1), out8)).toThrow(RangeError);
      expect(() => d.mapUpdateElem(second, pattern(4, 1), out8)).toThrow(RangeError);
      const out64 = new Uint8Array(64);
      expect(d.mapLookupElem(second, pattern(4, 1), out64)).toBe(0);
      expect(out64).toEqual(pattern(64, 3));
      const next = new Uint8Array(4);
      expect(d.mapGetNextKey(second, null, next)).toBe(0);
      expect(d.mapGetNextKey(second, next, next)).toBe(-Errno.ENOENT);
      expect(d.mapDeleteElem(second, pattern(4, 1))).toBe(0);
    } finally {
      d.close(second);
    }
  });

  it("a batch whose buffers need 2 GiB or more, or whose block with its guard would, is a RangeError before bpf(2), and deletes nothing", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 1, maxEntries: 4 }));
      for (let i = 0; i < 4; i++) expect(d.mapUpdateElem(fd, pattern(4, i), pattern(1, i))).toBe(0);
      // count × key_size is exactly 2^31: in 32-bit arithmetic the values region's offset went
      // negative and the kernel was pointed 2 GiB below the block (it deleted the elements,
      // then failed the copy with EFAULT). The buffers are never touched, so they stay virtual.
      const count = 2 ** 29;
      const keys = new Uint8Array(count * 4), values = new Uint8Array(count);
      // Each names its command, not only the package whose scratch block is too small.
      const tooBig = (op: string) => new RegExp(`^${op}: this call needs \\d+ bytes of scratch`);
      expect(() => d.mapLookupAndDeleteBatch(fd, null, new Uint8Array(4), keys, values, count)).toThrow(RangeError);
      expect(() => d.mapLookupAndDeleteBatch(fd, null, new Uint8Array(4), keys, values, count)).toThrow(tooBig("BPF_MAP_LOOKUP_AND_DELETE_BATCH"));
      expect(() => d.mapLookupBatch(fd, null, new Uint8Array(4), keys, values, count)).toThrow(tooBig("BPF_MAP_LOOKUP_BATCH"));
      expect(() => d.mapUpdateBatch(fd, keys, values, count)).toThrow(tooBig("BPF_MAP_UPDATE_BATCH"));
      expect(() => d.mapDeleteBatch(fd, keys, count)).toThrow(tooBig("BPF_MAP_DELETE_BATCH"));
      expect(walkKeys(d, fd, 4)).toHaveLength(4);
      // A block one page under 2 GiB: with its page of slack and its guard page it is past what
      // koffi.alloc takes, so it too is this RangeError, not koffi's Error from the allocation.
      // A fresh driver's block: its element regions, the two 8-byte tokens, 4 + 1 bytes an element.
      const fresh = createKernelDriver();
      const { auxOff, page } = fresh as unknown as { auxOff: number; page: number };
      const edge = 2 * Math.floor((2 ** 31 - page - auxOff - 16) / 10);
      expect(Math.ceil((auxOff + 16 + 5 * edge) / page) * page).toBe(2 ** 31 - page);
      const edgeKeys = new Uint8Array(edge * 4), edgeValues = new Uint8Array(edge);
      expect(() => fresh.mapLookupBatch(fd, null, new Uint8Array(4), edgeKeys, edgeValues, edge)).toThrow(tooBig("BPF_MAP_LOOKUP_BATCH"));
      // The driver goes on with batches it can stage, even past half of the limit: 1.25 GiB,
      // then 1.56 GiB, which the block's usual doubling (to 2.5 GiB) would have refused.
      for (const n of [2 ** 28, 2 ** 28 + 2 ** 26]) {
        const r = d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(n * 4), new Uint8Array(n), n);
        expect(r).toEqual({ errno: Errno.ENOENT, count: 4 });
      }
      const few = new Uint8Array(16), fewValues = new Uint8Array(4);
      expect(d.mapLookupBatch(fd, null, new Uint8Array(4), few, fewValues, 4).count).toBe(4);
    });
  });
});
