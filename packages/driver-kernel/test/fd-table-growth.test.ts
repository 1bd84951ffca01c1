// The fd-shape table's first growth in a fresh process, straight to an fd number more than four
// times its first 256 rows. A table that only doubled would drop the row at create, and again
// when the first call learns the fd from the kernel (one more doubling, 1024 rows): the map
// would stay unknown, with no size checks and NULL for every output. Below 1024 that second
// doubling hides the fault, so fd-table.test.ts (256, then 700) cannot see it. Node raises the
// soft limit on open files to the hard one, which is far above 1100 here.
import { closeSync, openSync } from "node:fs";
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH } from "@bpfkit/core";
import { describeKernel, kernelForFile, u32 } from "./helpers.js";

const k = kernelForFile();

describeKernel("kernel driver: the fd-shape table's first growth", () => {
  it("a first map at fd 1100 is recorded at create, past what doubling 256 rows twice holds", () => {
    const { d } = k;
    const held: number[] = [];
    let fd = -1;
    try {
      // The next free number is 1100: every lower one is held by /dev/null.
      for (let n = openSync("/dev/null", "r"); ; n = openSync("/dev/null", "r")) {
        if (n >= 1100) {
          closeSync(n);
          break;
        }
        held.push(n);
        if (n === 1099) break;
      }
      fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 2 });
    } finally {
      for (const n of held) closeSync(n);
    }
    try {
      expect(fd).toBe(1100);
      expect(() => d.mapLookupElem(fd, u32(1), new Uint8Array(4))).toThrow(/needs 8/);
      expect(d.mapUpdateElem(fd, u32(1), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(0);
      const out = new Uint8Array(8);
      expect(d.mapLookupElem(fd, u32(1), out)).toBe(0);
      expect(out).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    } finally {
      d.close(fd);
    }
  });
});
