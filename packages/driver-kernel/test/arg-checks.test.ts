// The driver's own argument checks (args.ts): a u64 flag the driver cannot pass exactly, or a
// u32 field that is negative, fractional or past 2^32, is a RangeError/TypeError before bpf(2).
// Without them each would reach the attr as another number (2^64 → 0, -1 → 0xffffffff,
// 0.5 → 0): a call the caller did not ask for, which the kernel may well accept.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, decodeMapInfo, Errno, MAP_INFO_SIZE } from "@bpfkit/core";
import { describeKernel, kernelForFile, u32, walkKeys, withFds } from "./helpers.js";

const k = kernelForFile();
const hash = (extra: object = {}) => ({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, ...extra });

describeKernel("kernel driver: flags and u32 fields are checked before bpf(2)", () => {
  it("u64 flags: past 2^53 a RangeError (2^64 would reach the attr as 0, a plain update), on elements and batches", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(hash()));
      expect(() => d.mapUpdateElem(fd, u32(1), u32(1), 2 ** 64)).toThrow(RangeError);
      expect(() => d.mapLookupElem(fd, u32(1), new Uint8Array(4), 2 ** 64)).toThrow(RangeError);
      expect(() => d.mapUpdateBatch(fd, u32(1), u32(1), 1, 2 ** 64)).toThrow(RangeError);
      expect(() => d.mapUpdateBatch(fd, u32(1), u32(1), 1, -1)).toThrow(RangeError);
      expect(() => d.mapUpdateBatch(fd, u32(1), u32(1), 1, 0.5)).toThrow(TypeError);
      // Nothing was written by any of them.
      expect(walkKeys(d, fd, 4)).toEqual([]);
      // The largest flag the driver can pass exactly still reaches the kernel, which refuses it.
      expect(d.mapUpdateElem(fd, u32(1), u32(1), Number.MAX_SAFE_INTEGER)).toBe(-Errno.EINVAL);
    });
  });

  it("u32 fields: past 2^32 or negative is a RangeError, fractional a TypeError (none wraps into the attr)", () => {
    const { d } = k;
    // Each of these would otherwise create a map: 2^32 and 0.5 reach map_flags as 0.
    for (const mapFlags of [2 ** 32, -1]) expect(() => d.mapCreate(hash({ mapFlags }))).toThrow(RangeError);
    expect(() => d.mapCreate(hash({ mapFlags: 0.5 }))).toThrow(TypeError);
    expect(() => d.mapCreate(hash({ numaNode: 2 ** 32 }))).toThrow(RangeError);
    expect(() => d.objGet("/nonexistent", 2 ** 32)).toThrow(RangeError);
    expect(() => d.objGet("/nonexistent", -1)).toThrow(RangeError);
    expect(() => d.objGet("/nonexistent", 1.5)).toThrow(TypeError);
    expect(() => d.mapGetFdById(1, 2 ** 32)).toThrow(RangeError);
    expect(() => d.progAttach(0, 0, -1)).toThrow(RangeError);
    expect(() => d.progAttach(0, 0, 0, 0.5)).toThrow(TypeError);
  });

  it("mapExtra: a bigint u64; a number, a negative or a value past 2^64 throws before bpf(2), and 2^32 reaches the kernel whole", () => {
    const { d } = k;
    const bloom = (mapExtra: unknown) => ({ mapType: 30, keySize: 0, valueSize: 4, maxEntries: 4, mapExtra }) as never;
    expect(() => d.mapCreate(bloom(3))).toThrow(/: mapExtra must be a bigint, got 3$/);
    expect(() => d.mapCreate(bloom(-1n))).toThrow(RangeError);
    expect(() => d.mapCreate(bloom(1n << 64n))).toThrow(RangeError);
    // The high word reaches map_extra: a bloom filter refuses any bit past the low 4 (truncated, it would be 0 and OK).
    expect(d.mapCreate(bloom(1n << 32n))).toBe(-Errno.EINVAL);
    // 2^64 − 1 is a u64: the kernel, not the driver, refuses it.
    expect(d.mapCreate(bloom((1n << 64n) - 1n))).toBe(-Errno.EINVAL);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(bloom(7n)));
      const info = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
      expect(decodeMapInfo(info).mapExtra).toBe(7n);
    });
  });

  it("every op that takes an fd refuses a fractional, non-number or out-of-range one before bpf(2)", () => {
    const { d } = k;
    // Without the check 1.5 would reach the attr as fd 1, "3" as fd 3: another object than asked.
    for (const bad of [1.5, "3", Number.NaN]) {
      const fd = bad as number;
      expect(() => d.mapFreeze(fd)).toThrow(TypeError);
      expect(() => d.objPin(fd, "/nonexistent/pin")).toThrow(TypeError);
      expect(() => d.progAttach(fd, 0, 0)).toThrow(TypeError);
      expect(() => d.progAttach(0, fd, 0)).toThrow(TypeError);
      expect(() => d.mapCreate(hash({ innerMapFd: fd }))).toThrow(TypeError);
      expect(() => d.mapDeleteElem(fd, u32(0))).toThrow(TypeError);
      expect(() => d.mapUpdateBatch(fd, u32(0), u32(0), 1)).toThrow(TypeError);
      expect(() => d.mapDeleteBatch(fd, u32(0), 1)).toThrow(TypeError);
      expect(() => d.host.objKind!(fd)).toThrow(TypeError);
    }
    for (const far of [2 ** 32 + 1, -(2 ** 40)]) {
      expect(() => d.mapFreeze(far)).toThrow(RangeError);
      expect(() => d.objPin(far, "/nonexistent/pin")).toThrow(RangeError);
      expect(() => d.progAttach(far, 0, 0)).toThrow(RangeError);
    }
  });
});
