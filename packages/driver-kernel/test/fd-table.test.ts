// The fd-shape table (fd-shapes.ts) at its edges: fd numbers past the table's first size, and
// a number the driver closed (or lost behind its back) that comes back as another map or as a
// program. A row the table failed to record, or kept after the number changed hands, would size
// a call for the wrong object.
import { closeSync, openSync } from "node:fs";
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, Errno, ProgType } from "@bpfkit/core";
import { createBehindTheDriver, describeKernel, kernelForFile, readU32, RET0_INSNS, u32 } from "./helpers.js";

const k = kernelForFile();

/** Holds every free fd number below `n` with /dev/null, so the next new fd is `n`; returns a release. */
function occupyBelow(n: number): () => void {
  const held: number[] = [];
  for (;;) {
    const fd = openSync("/dev/null", "r");
    if (fd >= n) {
      closeSync(fd);
      break;
    }
    held.push(fd);
    if (fd === n - 1) break;
  }
  return () => {
    for (const fd of held) closeSync(fd);
  };
}

describeKernel("kernel driver: the fd-shape table", () => {
  it("maps at fd 256 (the table's first size exactly) and past its first doubling are sized like any other", () => {
    const { d } = k;
    // The table starts with 256 rows and grows on demand: 256 is the first number past it, and
    // 700 is past what one doubling gives (under the common soft limit of 1024 open files).
    for (const want of [256, 700]) {
      const release = occupyBelow(want);
      let fd = -1;
      try {
        fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 2 });
      } finally {
        release();
      }
      try {
        expect(fd).toBe(want);
        // A row that was not recorded makes the driver treat the map as an unknown fd: no size
        // check, and NULL for every output the kernel would write.
        expect(() => d.mapLookupElem(fd, u32(1), new Uint8Array(4))).toThrow(/needs 8/);
        expect(d.mapUpdateElem(fd, u32(1), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(0);
        const out = new Uint8Array(8);
        expect(d.mapLookupElem(fd, u32(1), out)).toBe(0);
        expect(out).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
        const next = new Uint8Array(4);
        expect(d.mapGetNextKey(fd, null, next)).toBe(0);
        expect(readU32(next)).toBe(1);
      } finally {
        d.close(fd);
      }
    }
  });

  it("a number closed through the driver and reused by a map it did not make is learnt anew", () => {
    const { d } = k;
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    const key = new Uint8Array(4), value8 = new Uint8Array(8);
    // Now the hot path remembers fd as key 4, value 8.
    expect(d.mapLookupElem(fd, key, value8)).toBe(0);
    expect(d.close(fd)).toBe(0);
    // The lowest free number again, for a 16-byte-value map made with a bare bpf(2). A row (or
    // hot copy) kept after close would take the 8-byte buffer, and the kernel would write 16.
    const other = createBehindTheDriver(16);
    try {
      expect(other).toBe(fd);
      expect(() => d.mapLookupElem(other, key, value8)).toThrow(/needs 16/);
      expect(() => d.mapUpdateElem(other, key, value8)).toThrow(/needs 16/);
      const value16 = new Uint8Array(16).fill(5);
      expect(d.mapUpdateElem(other, key, value16)).toBe(0);
      const out = new Uint8Array(16);
      expect(d.mapLookupElem(other, key, out)).toBe(0);
      expect(out).toEqual(value16);
    } finally {
      expect(d.close(other)).toBe(0);
    }
    expect(d.mapLookupElem(other, key, value8)).toBe(-Errno.EBADF);
  });

  it("a number closed behind the driver's back and reused by PROG_LOAD is no map to the driver", () => {
    const { d } = k;
    const stale = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(d.mapLookupElem(stale, new Uint8Array(4), new Uint8Array(8))).toBe(0);
    closeSync(stale);
    const prog = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" });
    try {
      expect(prog).toBe(stale);
      // Buffers of other sizes than the old map's: a stale row would make this a RangeError;
      // the fd is a program, so the kernel is asked, and says EINVAL.
      expect(d.mapLookupElem(prog, new Uint8Array(8), new Uint8Array(16))).toBe(-Errno.EINVAL);
      expect(d.mapUpdateElem(prog, new Uint8Array(2), new Uint8Array(2))).toBe(-Errno.EINVAL);
    } finally {
      expect(d.close(prog)).toBe(0);
    }
  });
});
