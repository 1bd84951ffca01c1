// Bad input never reaches the kernel as a short buffer and never crashes the process: it is a
// TypeError or RangeError before any syscall, or the kernel's own -errno.
import { expect, it } from "vitest";
import {
  BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, Errno, MAX_BPF_MAP_TYPE, ProgType,
} from "@bpfkit/core";
import { createKernelDriver, type KernelDriver } from "@bpfkit/driver-kernel";
import { describeKernel, kernelForFile, openFdCount, readU32, RET0_INSNS, u32, walkKeys, withFds } from "./helpers.js";

const k = kernelForFile();
const hash = (extra: object = {}) => ({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, ...extra });

describeKernel("kernel driver: bad input", () => {
  it("fds: negative and closed are the kernel's EBADF; fractional, NaN, strings are TypeErrors", () => {
    const { d } = k;
    const key = u32(0), value = new Uint8Array(4);
    expect(d.mapLookupElem(-1, key, value)).toBe(-Errno.EBADF);
    expect(d.mapUpdateElem(-7, key, value)).toBe(-Errno.EBADF);
    expect(d.mapFreeze(-1)).toBe(-Errno.EBADF);
    expect(d.close(-1)).toBe(-Errno.EBADF);
    const fd = d.mapCreate(hash());
    expect(d.close(fd)).toBe(0);
    expect(d.mapLookupElem(fd, key, value)).toBe(-Errno.EBADF);
    expect(d.mapGetNextKey(fd, null, value)).toBe(-Errno.EBADF);
    expect(d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(4), new Uint8Array(4), 1).errno).toBe(Errno.EBADF);
    expect(d.close(fd)).toBe(-Errno.EBADF);
    for (const bad of [1.5, Number.NaN, "3", null, undefined, 2n]) {
      expect(() => d.mapLookupElem(bad as number, key, value)).toThrow(TypeError);
      expect(() => d.close(bad as number)).toThrow(TypeError);
      expect(() => d.objGetInfoByFd(bad as number, new Uint8Array(8))).toThrow(TypeError);
    }
    expect(() => d.mapDeleteElem(2 ** 40, key)).toThrow(RangeError);
    // The driver's own message, not the engine's "cannot mix BigInt" from an arithmetic check.
    expect(() => d.mapLookupElem(2n as unknown as number, key, value)).toThrow(/BPF_MAP_LOOKUP_ELEM: fd must be an integer/);
    expect(() => d.mapUpdateElem(-1, key, value, 1n as unknown as number)).toThrow(/BPF_MAP_UPDATE_ELEM: flags must be an integer/);
  });

  it("an open fd that is not a map is EINVAL, with the caller's buffers untouched", () => {
    const { d } = k;
    const value = new Uint8Array(64).fill(9);
    expect(d.mapLookupElem(0, new Uint8Array(4), value)).toBe(-Errno.EINVAL);
    expect(value.every((b) => b === 9)).toBe(true);
    expect(d.mapLookupBatch(1, null, new Uint8Array(4), value, value, 4)).toEqual({ errno: Errno.EINVAL, count: 4 });
    expect(value.every((b) => b === 9)).toBe(true);
    // Buffers far larger than a fresh driver's block: staged all the same (the kernel may read
    // the key), so the answer is still the kernel's, not the engine's RangeError from a copy.
    const fresh = createKernelDriver();
    const big = new Uint8Array(1 << 16).fill(9);
    expect(fresh.mapLookupElem(0, big, big)).toBe(-Errno.EINVAL);
    expect(fresh.mapUpdateElem(0, big, big)).toBe(-Errno.EINVAL);
    expect(createKernelDriver().mapDeleteElem(0, big)).toBe(-Errno.EINVAL);
    expect(createKernelDriver().mapGetNextKey(0, big, big)).toBe(-Errno.EINVAL);
    expect(createKernelDriver().mapLookupAndDeleteElem(0, big, big)).toBe(-Errno.EINVAL);
    expect(big.every((b) => b === 9)).toBe(true);
  });

  it("wrong key/value sizes are RangeErrors naming the op and map, and change nothing", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(hash({ mapFlags: BPF_F_ZERO_SEED })));
      expect(d.mapUpdateElem(fd, u32(1), u32(10))).toBe(0);
      expect(() => d.mapUpdateElem(fd, new Uint8Array(3), u32(1))).toThrow(/BPF_MAP_UPDATE_ELEM: key is 3 bytes, map fd \d+ needs 4/);
      expect(() => d.mapUpdateElem(fd, u32(1), new Uint8Array(5))).toThrow(RangeError);
      expect(() => d.mapLookupElem(fd, u32(1), new Uint8Array(3))).toThrow(RangeError);
      expect(() => d.mapGetNextKey(fd, u32(1), new Uint8Array(8))).toThrow(RangeError);
      expect(() => d.mapLookupAndDeleteElem(fd, u32(1), new Uint8Array(0))).toThrow(RangeError);
      expect(() => d.mapDeleteElem(fd, new Uint8Array(40))).toThrow(RangeError);
      expect(() => d.mapLookupBatch(fd, new Uint8Array(8), new Uint8Array(4), new Uint8Array(8), new Uint8Array(8), 2)).toThrow(RangeError);
      expect(() => d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(7), new Uint8Array(8), 2)).toThrow(RangeError);
      expect(() => d.mapDeleteBatch(fd, new Uint8Array(4), 2)).toThrow(RangeError);
      expect(() => d.mapUpdateElem(fd, [1, 0, 0, 0] as unknown as Uint8Array, u32(1))).toThrow(TypeError);
      expect(() => d.mapLookupElem(fd, u32(1), null as unknown as Uint8Array)).toThrow(TypeError);
      const out = new Uint8Array(4);
      expect(d.mapLookupElem(fd, u32(1), out)).toBe(0);
      expect(readU32(out)).toBe(10);
      expect(walkKeys(d, fd, 4)).toEqual([u32(1)]);
    });
  });

  it("flags and counts: fractional is a TypeError, negative or above u64/u32 a RangeError", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(hash()));
      expect(() => d.mapUpdateElem(fd, u32(1), u32(1), 0.5)).toThrow(TypeError);
      expect(() => d.mapUpdateElem(fd, u32(1), u32(1), -1)).toThrow(RangeError);
      expect(() => d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(4), new Uint8Array(4), 2 ** 32)).toThrow(RangeError);
      expect(() => d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(4), new Uint8Array(4), -1)).toThrow(RangeError);
      // A huge count with small buffers: the buffers cannot hold it.
      expect(() => d.mapUpdateBatch(fd, new Uint8Array(4), new Uint8Array(4), 0xffff_ffff)).toThrow(RangeError);
      // Large flags reach the kernel as they are, and it says EINVAL.
      expect(d.mapUpdateElem(fd, u32(1), u32(1), 2 ** 40)).toBe(-Errno.EINVAL);
    });
  });

  it("MAP_CREATE: unknown type, zero or absurd sizes, bad names", () => {
    const { d } = k;
    expect(d.mapCreate(hash({ mapType: MAX_BPF_MAP_TYPE }))).toBe(-Errno.EINVAL);
    expect(d.mapCreate(hash({ mapType: 999 }))).toBe(-Errno.EINVAL);
    expect(d.mapCreate(hash({ keySize: 0 }))).toBe(-Errno.EINVAL);
    expect(d.mapCreate(hash({ maxEntries: 0 }))).toBe(-Errno.EINVAL);
    expect(d.mapCreate(hash({ maxEntries: 2 ** 31 + 1 }))).toBe(-Errno.E2BIG);
    expect(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 0x8000_0000, maxEntries: 1 })).toBe(-Errno.E2BIG);
    expect(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 8, valueSize: 4, maxEntries: 1 })).toBe(-Errno.EINVAL);
    expect(() => d.mapCreate(hash({ keySize: 2 ** 32 }))).toThrow(RangeError);
    expect(() => d.mapCreate(hash({ valueSize: -1 }))).toThrow(RangeError);
    expect(() => d.mapCreate(hash({ maxEntries: 1.5 }))).toThrow(TypeError);
    expect(() => d.mapCreate(hash({ mapType: "hash" }))).toThrow(TypeError);
    expect(() => d.mapCreate(null as unknown as never)).toThrow(TypeError);
    expect(() => d.mapCreate(hash({ mapName: "a\0b" }))).toThrow(TypeError);
    expect(d.mapCreate(hash({ mapName: "sixteen_chars_xx" }))).toBe(-Errno.EINVAL);
    expect(d.mapCreate(hash({ mapName: "bad-name" }))).toBe(-Errno.EINVAL);
    // 15 bytes then a character that does not fit: its first byte is the 16th, not a NUL.
    expect(d.mapCreate(hash({ mapName: "abcdefghijklmno\u20ac" }))).toBe(-Errno.EINVAL);
    expect(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", progName: "abcdefghijklmno\u00e9" })).toBe(-Errno.EINVAL);
    expect(() => d.mapCreate(hash({ innerMapFd: 0.5 }))).toThrow(TypeError);
  });

  it("paths: NUL bytes and non-strings are TypeErrors, for bpf(2) and the host services", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(hash()));
      expect(() => d.objPin(fd, "/tmp/a\0b")).toThrow(TypeError);
      expect(() => d.objGet("/tmp/a\0b")).toThrow(TypeError);
      expect(() => d.objGet(42 as unknown as string)).toThrow(TypeError);
      expect(() => d.objPin(fd, "")).toThrow(TypeError);
      expect(() => d.host.statfsType("/tmp\0")).toThrow(TypeError);
      expect(() => d.host.mkdirAll("/tmp/x\0y", 0o700)).toThrow(TypeError);
      expect(() => d.host.mount("bpf", "/tmp/\0", "bpf")).toThrow(TypeError);
      // A path that is too long is the kernel's ENAMETOOLONG, not a crash.
      expect(d.objGet(`/tmp/${"x".repeat(5000)}`)).toBe(-Errno.ENAMETOOLONG);
    });
  });

  it("PROG_LOAD sizes the call by the buffers' real lengths, read once: lying getters neither leak the fd nor stretch log_size", () => {
    const d = k.d as KernelDriver;
    const before = openFdCount();
    // A log whose byteLength getter says 128 at first and 1 MiB afterwards: log_size was 1 MiB
    // (far past the staged bytes), and copying the log back threw after the load, fd and all.
    class Liar extends Uint8Array {
      reads = 0;
      override get byteLength(): number {
        return this.reads++ < 3 ? 128 : 1 << 20;
      }
    }
    const log = new Liar(4096);
    const fd = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logLevel: 1, log });
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(new TextDecoder().decode(log.subarray(0, log.indexOf(0)))).toMatch(/processed 2 insns/);
    expect(d.close(fd)).toBe(0);
    // An insns getter that hands over other instructions on a later read: the one read is used.
    let reads = 0;
    const attr = { progType: ProgType.SocketFilter, license: "GPL", get insns() { return reads++ === 0 ? RET0_INSNS : new Uint8Array(8 * 4096); } };
    const fd2 = d.progLoad(attr);
    expect(reads).toBe(1);
    expect(fd2).toBeGreaterThanOrEqual(0);
    expect(d.close(fd2)).toBe(0);
    expect(openFdCount()).toBe(before);
  });

  it("a detached buffer is an empty one: the kernel's answer, not the engine's TypeError after the syscall", () => {
    const { d } = k;
    const detached = () => {
      const b = new Uint8Array(8);
      structuredClone(b.buffer, { transfer: [b.buffer] });
      expect(b.byteLength).toBe(0);
      return b;
    };
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(hash()));
      // info_len 0: the kernel writes nothing and says so.
      expect(d.objGetInfoByFd(fd, detached())).toBe(0);
      // No instructions: insn_cnt 0 is E2BIG.
      expect(d.progLoad({ progType: ProgType.SocketFilter, insns: detached(), license: "GPL" })).toBe(-Errno.E2BIG);
      // A 0-byte token: a QUEUE's (key_size 0) batch token, or in_batch on an fd that is no map.
      const queue = keep(d.mapCreate({ mapType: 22, keySize: 0, valueSize: 4, maxEntries: 2 }));
      expect(d.mapLookupBatch(queue, null, detached(), detached(), new Uint8Array(4), 1).errno).toBe(Errno.ENOTSUPP);
      expect(d.mapLookupBatch(0, detached(), detached(), detached(), detached(), 1).errno).toBe(Errno.EINVAL);
    });
  });

  it("programs and info: bad types and lengths are caught; absurd info lengths are the kernel's E2BIG", () => {
    const { d } = k;
    expect(() => d.progLoad({ progType: ProgType.SocketFilter, insns: "b7" as unknown as Uint8Array, license: "GPL" })).toThrow(TypeError);
    expect(() => d.progLoad({ progType: -1, insns: RET0_INSNS, license: "GPL" })).toThrow(RangeError);
    expect(() => d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: 3 as unknown as string })).toThrow(TypeError);
    expect(d.progLoad({ progType: 999, insns: RET0_INSNS, license: "GPL" })).toBe(-Errno.EINVAL);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(hash()));
      expect(() => d.objGetInfoByFd(fd, {} as Uint8Array)).toThrow(TypeError);
      expect(d.objGetInfoByFd(fd, new Uint8Array(8192))).toBe(-Errno.E2BIG);
      // info_len is a u32: a 4 GiB buffer must not wrap to info_len 0 and "succeed" with nothing.
      // (Never touched, so the 4 GiB stay virtual.)
      expect(d.objGetInfoByFd(fd, new Uint8Array(2 ** 32))).toBe(-Errno.E2BIG);
      expect(d.objGetInfoByFd(fd, new Uint8Array(0))).toBe(0);
      expect(d.objGetInfoByFd(0, new Uint8Array(8))).toBe(-Errno.EINVAL);
    });
  });
});
