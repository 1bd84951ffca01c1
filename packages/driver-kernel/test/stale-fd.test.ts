// An fd closed behind the driver's back (fs.closeSync here; another worker's driver in real
// life) whose number the kernel hands to a much bigger map made outside the driver. The driver
// still believes the old shape, so it sizes the call for 8-byte values while the kernel writes
// 1 MiB. The scratch block's guard page turns that into EFAULT: without it the kernel would
// write a megabyte over the process's heap and report success.
import { closeSync } from "node:fs";
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, decodeMapInfo, Errno, MAP_INFO_SIZE, ProgType } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { mountPrivateBpffs } from "../../testkit/src/bpffs.js";
import { createBehindTheDriver, describeKernel, kernelForFile, RET0_INSNS } from "./helpers.js";

kernelForFile(); // the fd count after the file equals the count before
const MIB = 1 << 20;

describeKernel("kernel driver: an fd reused behind its back", () => {
  it("a kernel write longer than the driver's stale shape faults on the guard page, and the driver goes on", () => {
    // A fresh driver: its block is the initial few KiB, far smaller than 1 MiB.
    const d = createKernelDriver();
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(fd).toBeGreaterThanOrEqual(0);
    const key = new Uint8Array(4), value = new Uint8Array(8);
    expect(d.mapLookupElem(fd, key, value)).toBe(0);

    closeSync(fd);
    const big = createBehindTheDriver(MIB);
    try {
      // The lowest free number: the driver's old fd, now a map with 1 MiB values.
      expect(big).toBe(fd);
      // An element lookup (the value region) and a batch (the auxiliary region): each is sized
      // for 8-byte values, each kernel write runs on into the guard.
      expect(d.mapLookupElem(fd, key, value)).toBe(-Errno.EFAULT);
      const batch = d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(4), new Uint8Array(8), 1);
      expect(batch.errno).toBe(Errno.EFAULT);
      // The block is still the driver's and still works, for a new map and for this one's keys.
      const next = new Uint8Array(4);
      expect(d.mapGetNextKey(fd, null, next)).toBe(0);
      expect(next).toEqual(new Uint8Array(4));
      const other = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 });
      try {
        expect(d.mapUpdateElem(other, Uint8Array.of(1, 0, 0, 0), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(0);
        const out = new Uint8Array(8);
        expect(d.mapLookupElem(other, Uint8Array.of(1, 0, 0, 0), out)).toBe(0);
        expect(out).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      } finally {
        d.close(other);
      }
    } finally {
      d.close(big);
    }
  });
});

describeKernel("kernel driver: a number closed behind its back and handed out again through the driver", () => {
  it("OBJ_GET, MAP_GET_FD_BY_ID and PROG_LOAD replace the stale shape with what the new fd is", () => {
    const d = createKernelDriver();
    const fs = mountPrivateBpffs(d);
    try {
      const big = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 64, maxEntries: 1 });
      expect(d.mapUpdateElem(big, new Uint8Array(4), new Uint8Array(64).fill(7))).toBe(0);
      expect(d.objPin(big, `${fs.path}/big`)).toBe(0);
      const info = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(big, info)).toBeGreaterThan(0);
      const id = decodeMapInfo(info).id;
      expect(d.close(big)).toBe(0);
      const key = new Uint8Array(4), value8 = new Uint8Array(8), value64 = new Uint8Array(64);
      for (const reopen of [() => d.objGet(`${fs.path}/big`), () => d.mapGetFdById(id)]) {
        // A small map the hot path remembers, closed with fs.closeSync: the driver still knows it.
        const small = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
        expect(d.mapLookupElem(small, key, value8)).toBe(0);
        closeSync(small);
        const fd = reopen();
        try {
          expect(fd).toBe(small);
          expect(() => d.mapLookupElem(fd, key, value8)).toThrow(/needs 64/);
          expect(d.mapLookupElem(fd, key, value64)).toBe(0);
          expect(value64[63]).toBe(7);
        } finally {
          d.close(fd);
        }
      }
      const small = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
      expect(d.mapLookupElem(small, key, value8)).toBe(0);
      closeSync(small);
      const prog = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" });
      try {
        expect(prog).toBe(small);
        // A program is no map: the kernel says so, nothing is staged for the old shape.
        expect(d.mapLookupElem(prog, key, value8)).toBe(-Errno.EINVAL);
      } finally {
        d.close(prog);
      }
      expect(d.host.unlink(`${fs.path}/big`)).toBe(0);
    } finally {
      fs.dispose();
    }
  });
});
