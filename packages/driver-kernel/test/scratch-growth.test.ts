// What happens to a new fd when the driver cannot size its scratch block for the map: no 6.18
// map has values large enough (over 2 GiB), so the block's growth is made to fail here.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH } from "@bpfkit/core";
import { createKernelDriver, type KernelDriver } from "@bpfkit/driver-kernel";
import { mountPrivateBpffs } from "../../testkit/src/bpffs.js";
import { describeKernel, kernelForFile, openFdCount, u32, u64 } from "./helpers.js";

kernelForFile(); // the fd count after the file equals the count before

const HASH = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 };

/** `d` whose scratch block refuses, with `error`, to grow for a map's values while `fn` runs. */
function withFailingGrowth<T>(d: KernelDriver, error: Error, fn: () => T): T {
  type Ensure = (keyBytes: number, valueBytes: number, auxBytes?: number) => void;
  const own = d as unknown as { ensure: Ensure };
  const real = own.ensure;
  own.ensure = function (this: unknown, k, v, a) {
    if (v > 0) throw error;
    real.call(this, k, v, a);
  };
  try {
    return fn();
  } finally {
    delete (own as { ensure?: unknown }).ensure;
  }
}

describeKernel("kernel driver: a new fd when the scratch block cannot grow", () => {
  it("a map too big to stage (RangeError) keeps its fd, from create and from get-by-id; its element calls size the block themselves", () => {
    const d = createKernelDriver();
    const fd = withFailingGrowth(d, new RangeError("too big to stage"), () => d.mapCreate(HASH));
    expect(fd).toBeGreaterThanOrEqual(0);
    // The element call that needs the room grows the block itself (it can again now).
    expect(d.mapUpdateElem(fd, u32(1), u64(2))).toBe(0);
    const again = withFailingGrowth(d, new RangeError("too big to stage"), () => d.mapGetFdById(idOf(d, fd)));
    expect(again).toBeGreaterThan(fd);
    expect(d.close(again)).toBe(0);
    expect(d.close(fd)).toBe(0);
  });

  it("any other failure closes the new fd before it is thrown: create, and get-by-id or OBJ_GET of a map the driver must learn", () => {
    const d = createKernelDriver();
    const before = openFdCount();
    const oom = new Error("no memory for the scratch block");
    expect(() => withFailingGrowth(d, oom, () => d.mapCreate(HASH))).toThrow(oom);
    expect(openFdCount()).toBe(before);
    const fd = d.mapCreate(HASH);
    const id = idOf(d, fd);
    // A fresh driver has not learnt this map: getting it by id must learn its shape, and fails.
    const other = createKernelDriver();
    expect(() => withFailingGrowth(other, oom, () => other.mapGetFdById(id))).toThrow(oom);
    expect(openFdCount()).toBe(before + 1);
    // The same for a pin: OBJ_GET learns the map's shape as it opens it, not at its first use.
    const fs = mountPrivateBpffs(d);
    try {
      expect(d.objPin(fd, `${fs.path}/m`)).toBe(0);
      const pinned = openFdCount();
      const third = createKernelDriver();
      expect(() => withFailingGrowth(third, oom, () => third.objGet(`${fs.path}/m`))).toThrow(oom);
      expect(openFdCount()).toBe(pinned);
      expect(d.host.unlink(`${fs.path}/m`)).toBe(0);
    } finally {
      fs.dispose();
    }
    expect(d.close(fd)).toBe(0);
    expect(openFdCount()).toBe(before);
  });
});

function idOf(d: KernelDriver, fd: number): number {
  const info = new Uint8Array(80);
  expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
  return new DataView(info.buffer).getUint32(4, true);
}
