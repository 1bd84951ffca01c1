// The scratch block (scratch.ts) the kernel reads and writes: it grows for a map's values, its
// guard page sits right after its last byte, a block it replaces gets its guard page's access
// back before it is freed, a batch whose results end on the block's last byte fits, and a map
// another driver learnt is staged only where this driver's own regions fit it.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { describeKernel, kernelForFile, withFds } from "./helpers.js";

const k = kernelForFile();

const PROT_NONE = 0;
const PROT_READ_WRITE = 3;

/** The parts of a driver's block a test looks at. */
interface Inside {
  native: { mprotect: (addr: number, len: number, prot: number) => number; koffi: { free: (p: unknown) => void } };
  held: { block: unknown; guard: number; page: number };
  base: number;
  u8: Uint8Array;
}

describeKernel("kernel driver: the scratch block", () => {
  it("grows for a map's values alone, guards its end, and frees a block it replaces with the guard unprotected", () => {
    const d = createKernelDriver();
    const inside = d as unknown as Inside;
    const libc = inside.native;
    const calls: string[] = [];
    const mprotect = libc.mprotect, free = libc.koffi.free;
    const blocks = new Map<unknown, string>();
    const name = (b: unknown) => blocks.get(b) ?? blocks.set(b, `block${blocks.size}`).get(b)!;
    (libc as { mprotect: unknown }).mprotect = (addr: number, len: number, prot: number) => {
      calls.push(`mprotect ${addr} ${len} ${prot}`);
      return mprotect(addr, len, prot);
    };
    (libc.koffi as { free: unknown }).free = (p: unknown) => {
      calls.push(`free ${name(p)}`);
      free(p);
    };
    try {
      const first = { ...inside.held };
      name(first.block);
      withFds(d, (keep) => {
        // Key 4, value 64 KiB: only the value region is too small for this map.
        const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 1 << 16, maxEntries: 1 }));
        const second = { ...inside.held };
        expect(second.block).not.toBe(first.block);
        // The new guard is the page right after the block's last byte, and is PROT_NONE; the old
        // block got its guard page's access back, then was freed.
        expect(second.guard).toBe(inside.base + inside.u8.byteLength);
        expect(calls).toEqual([
          `mprotect ${second.guard} ${second.page} ${PROT_NONE}`,
          `mprotect ${first.guard} ${first.page} ${PROT_READ_WRITE}`,
          `free ${name(first.block)}`,
        ]);
        const value = new Uint8Array(1 << 16).map((_, i) => i * 7);
        expect(d.mapUpdateElem(fd, new Uint8Array(4), value)).toBe(0);
        const out = new Uint8Array(1 << 16);
        expect(d.mapLookupElem(fd, new Uint8Array(4), out)).toBe(0);
        expect(Buffer.from(out).equals(value)).toBe(true);
      });
    } finally {
      (libc as { mprotect: unknown }).mprotect = mprotect;
      (libc.koffi as { free: unknown }).free = free;
    }
  });

  it("a replaced block whose guard page cannot get its access back is leaked, never freed", () => {
    const d = createKernelDriver();
    const inside = d as unknown as Inside;
    const libc = inside.native;
    const mprotect = libc.mprotect, free = libc.koffi.free;
    const old = inside.held.block;
    let oldFreed = false;
    // Every unprotect fails: malloc must never get back a page it cannot touch. (Should the old
    // block reach free, it is only noted: freeing it for real would crash the process later.)
    (libc as { mprotect: unknown }).mprotect = (addr: number, len: number, prot: number) => (prot === PROT_READ_WRITE ? -1 : mprotect(addr, len, prot));
    (libc.koffi as { free: unknown }).free = (p: unknown) => {
      if (p === old) oldFreed = true;
      else free(p);
    };
    try {
      withFds(d, (keep) => {
        const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 1 << 16, maxEntries: 1 }));
        expect(inside.held.block).not.toBe(old);
        expect(oldFreed).toBe(false);
        const value = new Uint8Array(1 << 16).map((_, i) => i * 5);
        expect(d.mapUpdateElem(fd, new Uint8Array(4), value)).toBe(0);
        const out = new Uint8Array(1 << 16);
        expect(d.mapLookupElem(fd, new Uint8Array(4), out)).toBe(0);
        expect(Buffer.from(out).equals(value)).toBe(true);
      });
    } finally {
      (libc as { mprotect: unknown }).mprotect = mprotect;
      (libc.koffi as { free: unknown }).free = free;
    }
  });

  it("a batch whose results end on (or just past) a page boundary of the block fits it", () => {
    const main = k.d;
    const n = 3000;
    withFds(main, (keep) => {
      // One-byte values: the batch's room is 8-byte tokens, 4-byte keys and n bytes of values, so
      // across the counts below its end lands on every offset near several page boundaries.
      const fd = keep(main.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 1, maxEntries: n }));
      const keys = new Uint8Array(4 * n), values = new Uint8Array(n);
      const kv = new DataView(keys.buffer);
      for (let i = 0; i < n; i++) {
        kv.setUint32(4 * i, i, true);
        values[i] = (i * 13 + 1) & 0xff;
      }
      expect(main.mapUpdateBatch(fd, keys, values, n)).toEqual({ errno: 0, count: n });
      const outKeys = new Uint8Array(4 * n), outValues = new Uint8Array(n);
      let wrong = 0;
      for (let count = 1; count < n; count++) {
        // A fresh driver each time: its block is sized for this batch alone, not doubled from
        // an earlier one, so the values region ends where the arithmetic puts it.
        const d = createKernelDriver();
        const r = d.mapLookupBatch(fd, null, new Uint8Array(4), outKeys, outValues, count);
        if (r.errno !== 0 || r.count !== count || !Buffer.from(outValues.subarray(0, count)).equals(values.subarray(0, count))) wrong++;
      }
      expect(wrong).toBe(0);
    });
  });

  it("a map another driver learnt is staged in this driver's block, when only its key or only its value outgrows it", () => {
    const { d } = k;
    withFds(d, (keep) => {
      // Made through d: the shared table knows them, a fresh driver's block (64-byte key and
      // 256-byte value regions) fits neither. Each overruns one region only, so the hot path's
      // fit check must look at both.
      const bigValue = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 1 << 16, maxEntries: 1 }));
      const bigKey = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 200, valueSize: 4, maxEntries: 2 }));
      const value = new Uint8Array(1 << 16).map((_, i) => i * 3);
      expect(d.mapUpdateElem(bigValue, new Uint8Array(4), value)).toBe(0);
      const out = new Uint8Array(1 << 16);
      expect(createKernelDriver().mapLookupElem(bigValue, new Uint8Array(4), out)).toBe(0);
      expect(Buffer.from(out).equals(value)).toBe(true);
      const key = new Uint8Array(200).map((_, i) => i + 1);
      expect(createKernelDriver().mapUpdateElem(bigKey, key, Uint8Array.of(1, 2, 3, 4))).toBe(0);
      const four = new Uint8Array(4);
      expect(d.mapLookupElem(bigKey, key, four)).toBe(0);
      expect(four).toEqual(Uint8Array.of(1, 2, 3, 4));
      const next = new Uint8Array(200);
      expect(createKernelDriver().mapGetNextKey(bigKey, null, next)).toBe(0);
      expect(next).toEqual(key);
    });
  });
});
