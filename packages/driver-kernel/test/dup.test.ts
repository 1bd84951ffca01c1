// Driver.dup on the kernel (fcntl F_DUPFD_CLOEXEC through koffi): the copy is a map the shape
// table knows from its first call, so the element hot path checks its buffers as it does the
// source's, whatever the number held before. The conformance group `dup` holds the kernel rules.
import { closeSync, openSync, readFileSync, readlinkSync } from "node:fs";
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, Errno, ProgType } from "@bpfkit/core";
import { shapeIndex, shapes, STRIDE } from "../src/fd-shapes.js";
import { createBehindTheDriver, describeKernel, kernelForFile, openFdCount, RET0_INSNS, u32 } from "./helpers.js";

const k = kernelForFile();
const dup = (fd: number): number => k.d.dup!(fd);
const row = (fd: number): number[] => {
  const at = shapeIndex(fd);
  return at < 0 ? [] : [...shapes.subarray(at, at + STRIDE)];
};
/** FD_CLOEXEC, as /proc/self/fdinfo's flags (octal, O_CLOEXEC = 02000000) say. */
const cloexec = (fd: number): boolean => {
  const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!;
  return (parseInt(flags, 8) & 0o2000000) !== 0;
};

describeKernel("kernel driver: dup", () => {
  it("the copy of a known map has the source's shape row at once: wrong buffers are RangeErrors, right ones reach the same map", () => {
    const { d } = k;
    const src = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 2 });
    const copy = dup(src);
    try {
      expect(copy).toBeGreaterThan(2);
      expect(row(copy)).toEqual(row(src));
      expect(readlinkSync(`/proc/self/fd/${copy}`)).toBe("anon_inode:bpf-map");
      expect(cloexec(copy)).toBe(true);
      expect(() => d.mapLookupElem(copy, u32(1), new Uint8Array(4))).toThrow(/needs 8/);
      expect(() => d.mapUpdateElem(copy, new Uint8Array(8), new Uint8Array(8))).toThrow(/needs 4/);
      expect(d.mapUpdateElem(copy, u32(1), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(0);
      const out = new Uint8Array(8);
      expect(d.mapLookupElem(src, u32(1), out)).toBe(0);
      expect(out).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    } finally {
      d.close(src);
      d.close(copy);
    }
  });

  it("a copy past the table's size grows the table and still takes the source's row", () => {
    const { d } = k;
    const src = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 24, maxEntries: 2 });
    // Hold every free number below 600 (/dev/null), so the copy lands past the table's rows.
    const held: number[] = [];
    for (let fd = openSync("/dev/null", "r"); ; fd = openSync("/dev/null", "r")) {
      held.push(fd);
      if (fd >= 599) break;
    }
    let copy = -1;
    try {
      copy = dup(src);
    } finally {
      for (const fd of held) closeSync(fd);
    }
    try {
      expect(copy).toBeGreaterThanOrEqual(600);
      expect(row(copy)).toEqual(row(src));
      expect(() => d.mapLookupElem(copy, u32(1), new Uint8Array(8))).toThrow(/needs 24/);
      expect(d.mapUpdateElem(copy, u32(1), new Uint8Array(24).fill(2))).toBe(0);
    } finally {
      d.close(src);
      d.close(copy);
    }
  });

  it("a per-CPU map's copy wants every possible CPU's slot, as the source does", () => {
    const { d } = k;
    const src = d.mapCreate({ mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
    const copy = dup(src);
    try {
      const all = 8 * d.possibleCpus;
      expect(() => d.mapLookupElem(copy, u32(1), new Uint8Array(4))).toThrow(new RegExp(`needs ${all}`));
      expect(d.mapUpdateElem(copy, u32(1), new Uint8Array(all).fill(3))).toBe(0);
      const out = new Uint8Array(all);
      expect(d.mapLookupElem(src, u32(1), out)).toBe(0);
      expect(out).toEqual(new Uint8Array(all).fill(3));
    } finally {
      d.close(src);
      d.close(copy);
    }
  });

  it("a number the hot path knew as another map, closed behind the driver's back, takes the copy's shape", () => {
    const { d } = k;
    const src = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 });
    const stale = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    // Now the hot path and the row say key 4, value 8 for this number.
    expect(d.mapLookupElem(stale, new Uint8Array(4), new Uint8Array(8))).toBe(0);
    closeSync(stale);
    const copy = dup(src);
    try {
      // The lowest free number: the one closed behind the driver's back.
      expect(copy).toBe(stale);
      expect(() => d.mapLookupElem(copy, new Uint8Array(4), new Uint8Array(8))).toThrow(/needs 16/);
      const v = new Uint8Array(16).fill(9);
      expect(d.mapUpdateElem(copy, new Uint8Array(4), v)).toBe(0);
      const out = new Uint8Array(16);
      expect(d.mapLookupElem(src, new Uint8Array(4), out)).toBe(0);
      expect(out).toEqual(v);
    } finally {
      d.close(src);
      d.close(copy);
    }
  });

  it("a program's copy that lands on a number the driver knew as a map (closed behind its back) has no row left", () => {
    const { d } = k;
    const prog = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" });
    const stale = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    // Now the hot path and the row say key 4, value 8 for this number.
    expect(d.mapLookupElem(stale, new Uint8Array(4), new Uint8Array(8))).toBe(0);
    closeSync(stale);
    const copy = dup(prog);
    try {
      expect(copy).toBe(stale);
      expect(shapeIndex(copy)).toBe(-1);
      // No stale shape to check a buffer against: the kernel answers, as for any program fd.
      expect(d.mapLookupElem(copy, new Uint8Array(4), new Uint8Array(4))).toBe(-Errno.EINVAL);
    } finally {
      d.close(prog);
      d.close(copy);
    }
  });

  it("the copy of a map the driver never saw (made with a bare bpf(2)) is learnt; a program's copy has no row", () => {
    const { d } = k;
    const foreign = createBehindTheDriver(16);
    const prog = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" });
    expect(shapeIndex(foreign)).toBe(-1);
    const copy = dup(foreign);
    const progCopy = dup(prog);
    try {
      expect(row(copy)[1]).toBe(16);
      expect(() => d.mapLookupElem(copy, new Uint8Array(4), new Uint8Array(8))).toThrow(/needs 16/);
      expect(shapeIndex(progCopy)).toBe(-1);
      expect(d.mapLookupElem(progCopy, new Uint8Array(4), new Uint8Array(4))).toBe(-Errno.EINVAL);
    } finally {
      for (const fd of [foreign, prog, copy, progCopy]) d.close(fd);
    }
  });

  it("closed and negative fds are EBADF without a new fd; the fd count is back after each copy is closed", () => {
    const { d } = k;
    const before = openFdCount();
    const src = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    d.close(src);
    expect([dup(src), dup(-1), dup(1 << 20)]).toEqual([-Errno.EBADF, -Errno.EBADF, -Errno.EBADF]);
    expect(openFdCount()).toBe(before);
    const again = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const copies = [dup(again), dup(again), dup(again)];
    expect(openFdCount()).toBe(before + 4);
    for (const fd of [again, ...copies]) expect(d.close(fd)).toBe(0);
    expect(openFdCount()).toBe(before);
    expect(() => dup(1.5)).toThrow(TypeError);
  });
});
