import { describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, Errno } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";

describe("smoke", () => {
  it("hash roundtrip", () => {
    const d = createKernelDriver();
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16, mapName: "smoke" });
    expect(fd).toBeGreaterThan(0);
    const k = new Uint8Array([1, 0, 0, 0]);
    const v = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(d.mapUpdateElem(fd, k, v)).toBe(0);
    const out = new Uint8Array(8);
    expect(d.mapLookupElem(fd, k, out)).toBe(0);
    expect([...out]).toEqual([...v]);
    const nk = new Uint8Array(4);
    expect(d.mapGetNextKey(fd, null, nk)).toBe(0);
    expect([...nk]).toEqual([...k]);
    expect(d.mapGetNextKey(fd, k, nk)).toBe(-Errno.ENOENT);
    expect(() => d.mapLookupElem(fd, new Uint8Array(3), out)).toThrow(RangeError);
    expect(d.close(fd)).toBe(0);
    expect(d.mapLookupElem(fd, k, out)).toBe(-Errno.EBADF);
  });
});
