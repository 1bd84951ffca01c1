// The kernel driver's mmap four (src/mmap.ts): the checks that keep JS off memory that is not
// mapped, or not mapped writable. Each would otherwise be a SIGSEGV, which no try/catch survives;
// the process living on through every call here is the point. The kernel's own answers are the
// conformance group `mmap`'s (testkit).
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it, vi } from "vitest";
import { BPF_F_SEGV_ON_FAULT, BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_ARRAY, decodeMapInfo, Errno, MAP_INFO_SIZE, type Driver } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { type MappedKind, MmapTable } from "../src/mmap.js";
import { type Libc, loadLibc } from "../src/native.js";
import { describeKernel, kernelForFile, u32, withFds } from "./helpers.js";

const k = kernelForFile(); // the fd count after the file equals the count before
const MMAPABLE = 0x400;
const PAGE = 4096;
type Mmap = Required<Pick<Driver, "mapMmap" | "mmapRead" | "mmapWrite" | "munmap">>;
const mm = (d: Driver) => d as Driver & Mmap;
const mmapable = (maxEntries = 4, valueSize = 8) => ({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize, maxEntries, mapFlags: MMAPABLE });

/** This process's mappings of BPF maps, as /proc/self/maps lists them. */
function bpfMappings(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes("bpf-map")).length;
}

describeKernel("kernel driver: mmap of a BPF_F_MMAPABLE array", () => {
  it("reads and writes go to the map's values; every mapping made is gone after munmap", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      const before = bpfMappings();
      const h = d.mapMmap(fd, PAGE, true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(bpfMappings()).toBe(before + 1);
      expect(d.mmapWrite(h, 8, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(0);
      const v = new Uint8Array(8);
      expect(d.mapLookupElem(fd, u32(1), v)).toBe(0);
      expect(v).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      expect(d.mapUpdateElem(fd, u32(3), new Uint8Array(8).fill(9))).toBe(0);
      const got = new Uint8Array(8);
      expect(d.mmapRead(h, 24, got)).toBe(0);
      expect(got).toEqual(new Uint8Array(8).fill(9));
      expect(d.munmap(h)).toBe(0);
      expect(bpfMappings()).toBe(before);
    });
  });

  it("handles are small integers, the lowest free one reused", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      const a = d.mapMmap(fd, 8, false), b = d.mapMmap(fd, 8, false);
      expect(b).toBe(a + 1);
      expect(d.munmap(a)).toBe(0);
      const c = d.mapMmap(fd, 8, false);
      expect(c).toBe(a);
      expect(d.munmap(b)).toBe(0);
      expect(d.munmap(c)).toBe(0);
    });
  });

  it("a range past the mapping's length is a RangeError naming the call, before any copy", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      // 32 bytes asked for: the kernel maps the whole page, but the mapping is what was asked.
      const h = d.mapMmap(fd, 32, true);
      try {
        const dst = new Uint8Array(8).fill(0xee);
        expect(() => d.mmapRead(h, 25, dst)).toThrow(/^mmapRead: 8 bytes at offset 25 run past mapping \d+, which is 32 bytes$/);
        expect(dst).toEqual(new Uint8Array(8).fill(0xee));
        expect(() => d.mmapRead(h, 33, new Uint8Array(0))).toThrow(RangeError);
        expect(() => d.mmapRead(h, -1, new Uint8Array(1))).toThrow(/^mmapRead: offset -1/);
        expect(() => d.mmapWrite(h, 32, new Uint8Array(1))).toThrow(/^mmapWrite: 1 bytes at offset 32 run past/);
        expect(() => d.mmapWrite(h, 0, new Uint8Array(33))).toThrow(RangeError);
        expect(() => d.mmapWrite(h, -8, new Uint8Array(1))).toThrow(RangeError);
        // Nothing was written by the refused writes; the edges themselves are fine.
        const all = new Uint8Array(32);
        expect(d.mmapRead(h, 0, all)).toBe(0);
        expect(all).toEqual(new Uint8Array(32));
        expect(d.mmapRead(h, 32, new Uint8Array(0))).toBe(0);
        expect(d.mmapWrite(h, 24, new Uint8Array(8).fill(1))).toBe(0);
      } finally {
        expect(d.munmap(h)).toBe(0);
      }
    });
  });

  it("after munmap the handle is EBADF for every call, and a second munmap too; the process lives on", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      const h = d.mapMmap(fd, PAGE, true);
      expect(d.munmap(h)).toBe(0);
      expect(d.mmapRead(h, 0, new Uint8Array(8))).toBe(-Errno.EBADF);
      expect(d.mmapWrite(h, 0, new Uint8Array(8))).toBe(-Errno.EBADF);
      expect(d.munmap(h)).toBe(-Errno.EBADF);
      // EBADF comes before the range: an unmapped handle has no length to check against.
      expect(d.mmapRead(h, 1 << 30, new Uint8Array(8))).toBe(-Errno.EBADF);
      for (const never of [-1, 1000, 2 ** 31]) {
        expect(d.mmapRead(never, 0, new Uint8Array(1))).toBe(-Errno.EBADF);
        expect(d.munmap(never)).toBe(-Errno.EBADF);
      }
    });
  });

  it("a write through a read-only mapping is EACCES, not a fault; the bytes stay", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      expect(d.mapUpdateElem(fd, u32(0), new Uint8Array(8).fill(5))).toBe(0);
      const h = d.mapMmap(fd, PAGE, false);
      try {
        expect(d.mmapWrite(h, 0, new Uint8Array(8))).toBe(-Errno.EACCES);
        const v = new Uint8Array(8);
        expect(d.mmapRead(h, 0, v)).toBe(0);
        expect(v).toEqual(new Uint8Array(8).fill(5));
      } finally {
        expect(d.munmap(h)).toBe(0);
      }
    });
  });

  it("an fd that is neither a map nor a perf event (a file) is ENODEV, nothing left mapped: a load past a file's end would be SIGBUS", () => {
    const d = mm(k.d);
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-mmap-"));
    const path = join(dir, "empty");
    writeFileSync(path, "");
    const fd = openSync(path, "r+");
    try {
      const mapped = () => readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.endsWith(path)).length;
      for (const writable of [false, true]) {
        const h = d.mapMmap(fd, PAGE, writable);
        // Before the fix the mapping was made, and this read was SIGBUS: the test process died.
        if (h >= 0) d.mmapRead(h, 0, new Uint8Array(8));
        expect(h, `writable ${writable}`).toBe(-Errno.ENODEV);
        expect(mapped()).toBe(0);
      }
      // The kernel's own answers come first: an offset off a page is still EINVAL.
      expect(d.mapMmap(fd, PAGE, false, 1)).toBe(-Errno.EINVAL);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it("a map's fd closed behind the driver's back and reused by a file is ENODEV too: what the fd is now decides, not what the driver remembers", () => {
    const d = mm(k.d);
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-mmap-"));
    const path = join(dir, "empty");
    writeFileSync(path, "");
    const mapFd = d.mapCreate(mmapable());
    expect(mapFd).toBeGreaterThanOrEqual(0);
    closeSync(mapFd);
    const fd = openSync(path, "r+");
    try {
      expect(fd, "the map's number, now a file's").toBe(mapFd);
      const h = d.mapMmap(fd, PAGE, false);
      // Before the fix the driver took it for the map it made, and this read was SIGBUS.
      if (h >= 0) d.mmapRead(h, 0, new Uint8Array(8));
      expect(h).toBe(-Errno.ENODEV);
    } finally {
      d.close(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it("an ARENA made with BPF_F_SEGV_ON_FAULT is ENOTSUPP, nothing left mapped: a load of a page no program allocated is SIGSEGV; one without it maps", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const arena = (flags: number) => keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARENA, keySize: 0, valueSize: 0, maxEntries: 4, mapFlags: MMAPABLE | flags }));
      const before = bpfMappings();
      for (const writable of [false, true]) {
        // A fresh one each: an arena maps at one address only, the first mmap's.
        const h = d.mapMmap(arena(BPF_F_SEGV_ON_FAULT), 4 * PAGE, writable);
        // Before the fix the mapping was made, and this read was SIGSEGV: the test process died.
        if (h >= 0) d.mmapRead(h, 0, new Uint8Array(8));
        expect(h, `writable ${writable}`).toBe(-Errno.ENOTSUPP);
        expect(bpfMappings()).toBe(before);
      }
      // Without the flag a page user space touches is allocated then: it reads as zeros.
      const plain = arena(0);
      const h = d.mapMmap(plain, 4 * PAGE, true);
      expect(h).toBeGreaterThanOrEqual(0);
      const got = new Uint8Array(8).fill(1);
      expect(d.mmapRead(h, PAGE, got)).toBe(0);
      expect(got).toEqual(new Uint8Array(8));
      expect(d.munmap(h)).toBe(0);
    });
  });

  it("no mapping is left by refused calls, nor by many made and unmapped", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      const plain = keep(d.mapCreate({ ...mmapable(), mapFlags: 0 }));
      const before = bpfMappings();
      expect(d.mapMmap(plain, PAGE, false)).toBe(-Errno.EINVAL);
      expect(d.mapMmap(fd, PAGE + 1, false)).toBe(-Errno.EINVAL);
      expect(d.mapMmap(fd, 0, false)).toBe(-Errno.EINVAL);
      const handles: number[] = [];
      for (let i = 0; i < 64; i++) handles.push(d.mapMmap(fd, PAGE, i % 2 === 0));
      expect(bpfMappings()).toBe(before + 64);
      for (const h of handles) expect(d.munmap(h)).toBe(0);
      expect(bpfMappings()).toBe(before);
      // The table reuses its slots: the next handle is the first again.
      const again = d.mapMmap(fd, 8, false);
      expect(again).toBe(handles[0]);
      expect(d.munmap(again)).toBe(0);
    });
  });

  it("argument checks: TypeErrors and RangeErrors naming the call, before mmap(2)", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      const before = bpfMappings();
      const call = (...a: unknown[]) => () => (d.mapMmap as (...x: unknown[]) => number)(...a);
      expect(call(0.5, PAGE, false)).toThrow(/^mmap: fd must be an integer, got 0.5$/);
      expect(call("3", PAGE, false)).toThrow(TypeError);
      expect(call(fd, 1.5, false)).toThrow(/^mmap: length must be an integer, got 1.5$/);
      expect(call(fd, "4096", false)).toThrow(TypeError);
      expect(call(fd, -1, false)).toThrow(RangeError);
      expect(call(fd, PAGE, 1)).toThrow(/^mmap: writable must be a boolean, got 1$/);
      expect(call(fd, PAGE, undefined)).toThrow(TypeError);
      expect(call(fd, PAGE, false, 0.5)).toThrow(/^mmap: offset must be an integer/);
      expect(call(fd, PAGE, false, null)).toThrow(TypeError);
      expect(call(fd, PAGE, false, -PAGE)).toThrow(RangeError);
      expect(bpfMappings()).toBe(before);
      const h = d.mapMmap(fd, PAGE, true);
      try {
        const read = (...a: unknown[]) => () => (d.mmapRead as (...x: unknown[]) => number)(...a);
        const write = (...a: unknown[]) => () => (d.mmapWrite as (...x: unknown[]) => number)(...a);
        expect(read(h, 0, [0, 0])).toThrow(/^mmapRead: dst must be a Uint8Array, got Array$/);
        expect(read(h, 0.5, new Uint8Array(1))).toThrow(/^mmapRead: offset must be an integer/);
        expect(read("0", 0, new Uint8Array(1))).toThrow(/^mmapRead: mapping must be an integer handle/);
        expect(write(h, 0, new DataView(new ArrayBuffer(1)))).toThrow(/^mmapWrite: src must be a Uint8Array/);
        expect(write(h, undefined, new Uint8Array(1))).toThrow(TypeError);
        expect(() => (d.munmap as (x: unknown) => number)(null)).toThrow(/^munmap: mapping must be an integer handle, got null$/);
        expect(() => (d.munmap as (x: unknown) => number)(0.5)).toThrow(TypeError);
      } finally {
        expect(d.munmap(h)).toBe(0);
      }
    });
  });

  it("a subarray's own bytes only: a view into a bigger buffer copies its length, at its offset", () => {
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      const h = d.mapMmap(fd, 32, true);
      try {
        const backing = new Uint8Array(64).map((_, i) => i);
        expect(d.mmapWrite(h, 0, backing.subarray(40, 48))).toBe(0);
        const out = new Uint8Array(16).fill(0xff);
        expect(d.mmapRead(h, 0, out.subarray(4, 12))).toBe(0);
        expect([...out]).toEqual([255, 255, 255, 255, 40, 41, 42, 43, 44, 45, 46, 47, 255, 255, 255, 255]);
      } finally {
        expect(d.munmap(h)).toBe(0);
      }
    });
  });

  it("8 bytes on an 8-byte boundary are one atomic load or store of the word (a ring's positions and headers); the rest are plain copies", () => {
    // On arm64 only the acquire and release order of these accesses keeps a reader from seeing a
    // record committed before its bytes: x86-64 cannot show a reordering, so the test looks at
    // which accesses are atomic, and at their values.
    const d = mm(k.d);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate(mmapable()));
      const h = d.mapMmap(fd, 32, true);
      const load = vi.spyOn(Atomics, "load"), store = vi.spyOn(Atomics, "store");
      try {
        const w = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0x88);
        expect(d.mmapWrite(h, 16, w)).toBe(0);
        expect(store).toHaveBeenCalledTimes(1);
        expect(store.mock.calls[0]![1]).toBe(2);
        expect(store.mock.calls[0]![2]).toBe(0x8807060504030201n);
        const got = new Uint8Array(8);
        expect(d.mmapRead(h, 16, got)).toBe(0);
        expect(load).toHaveBeenCalledTimes(1);
        expect(load.mock.results[0]!.value).toBe(0x8807060504030201n);
        expect(got).toEqual(w);
        // Off the boundary, shorter or longer: copies, with the same bytes.
        expect(d.mmapWrite(h, 4, Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9))).toBe(0);
        expect(d.mmapWrite(h, 24, Uint8Array.of(5, 5, 5, 5))).toBe(0);
        const all = new Uint8Array(32);
        expect(d.mmapRead(h, 0, all)).toBe(0);
        expect(d.mmapRead(h, 8, new Uint8Array(4))).toBe(0);
        expect(store).toHaveBeenCalledTimes(1);
        expect(load).toHaveBeenCalledTimes(1);
        expect([...all]).toEqual([0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 0x88, 5, 5, 5, 5, 0, 0, 0, 0]);
      } finally {
        load.mockRestore();
        store.mockRestore();
        expect(d.munmap(h)).toBe(0);
      }
    });
  });

  it("pageSize is the host's (getconf PAGESIZE): a mapping of one page more than a page's values reaches the second page", () => {
    const page = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim());
    expect(k.d.pageSize).toBe(page);
    const d = mm(k.d);
    withFds(d, (keep) => {
      // Two pages of u64 values: the second page's first value is at pageSize.
      const fd = keep(d.mapCreate(mmapable((2 * page) / 8, 8)));
      expect(d.mapUpdateElem(fd, u32(page / 8), Uint8Array.of(7, 0, 0, 0, 0, 0, 0, 0))).toBe(0);
      const h = d.mapMmap(fd, 8, false, page);
      expect(h).toBeGreaterThanOrEqual(0);
      const got = new Uint8Array(8);
      expect(d.mmapRead(h, 0, got)).toBe(0);
      expect(got[0]).toBe(7);
      expect(d.munmap(h)).toBe(0);
      // Half a page in is off a page: the kernel's EINVAL.
      expect(d.mapMmap(fd, 8, false, page / 2)).toBe(-Errno.EINVAL);
    });
  });

  it("a driver dropped with a mapping live unmaps it when collected, and the map it held goes", async () => {
    // gc() without --expose-gc on the command line: a context made after the flag is set has it.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const before = bpfMappings();
    const id = (() => {
      const d = mm(createKernelDriver());
      const fd = d.mapCreate(mmapable());
      const info = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
      expect(d.mapMmap(fd, PAGE, true)).toBeGreaterThanOrEqual(0);
      expect(d.close(fd)).toBe(0);
      return decodeMapInfo(info).id;
    })();
    expect(bpfMappings()).toBe(before + 1);
    for (let i = 0; i < 100 && bpfMappings() > before; i++) {
      gc();
      await sleep(10);
    }
    expect(bpfMappings()).toBe(before);
    expect(k.d.mapGetFdById(id)).toBe(-Errno.ENOENT);
  });
});

describeKernel("kernel driver: which bytes of a writable mapping that is no map's take a store", () => {
  // No PMU here has an AUX area, so a perf event's mapping at a non-zero offset cannot be made;
  // the table is given shared anonymous memory in its place, and told what the fd is.
  const libc = loadLibc();
  const MAP_ANONYMOUS = 0x20;
  const anon: Libc = { ...libc, mmap: (a, length, prot, flags) => libc.mmap(a, length, prot, flags | MAP_ANONYMOUS, -1, 0) };
  const stores = (kind: MappedKind, offset: number): number[] => {
    const t = new MmapTable(anon, PAGE);
    const h = t.map(0, 3 * PAGE, true, offset, () => kind);
    try {
      return [0, PAGE - 8, PAGE, 2 * PAGE].map((at) => t.write(h, at, new Uint8Array(8)));
    } finally {
      t.unmap(h);
    }
  };

  it("a perf event's ring at offset 0: its first page (the header perf_mmap_fault makes writable) only", () => {
    expect(stores("perf", 0)).toEqual([0, 0, -Errno.EACCES, -Errno.EACCES]);
  });

  it("a perf event's AUX area (any other offset): none of it, as perf_mmap_fault makes no page of it writable", () => {
    expect(stores("perf", PAGE)).toEqual([-Errno.EACCES, -Errno.EACCES, -Errno.EACCES, -Errno.EACCES]);
  });

  it("a map's mapping at any offset: all of it (the kernel refuses a writable mapping of a map's read-only pages)", () => {
    expect(stores("map", PAGE)).toEqual([0, 0, 0, 0]);
  });

  it("a munmap(2) that fails keeps its mapping under its handle: the next mapping gets another, and unmap again frees it", () => {
    // munmap(2) refused leaves the pages mapped; a handle given out again would have a retry
    // (RingPages.close, MapMemory.close) unmap the next mapping instead.
    let fail = true;
    const koffi = Object.assign(Object.create(libc.koffi) as Libc["koffi"], { errno: () => Errno.ENOMEM });
    const flaky: Libc = { ...anon, koffi, munmap: (addr, length) => (fail ? (fail = false, -1) : libc.munmap(addr, length)) };
    const t = new MmapTable(flaky, PAGE);
    const h = t.map(0, PAGE, true, 0, () => "map");
    expect(t.write(h, 0, Uint8Array.of(7, 0, 0, 0, 0, 0, 0, 0))).toBe(0);
    expect(t.unmap(h)).toBe(-Errno.ENOMEM);
    const back = new Uint8Array(8);
    expect(t.read(h, 0, back)).toBe(0);
    expect(back[0]).toBe(7);
    const next = t.map(0, PAGE, true, 0, () => "map");
    expect(next).not.toBe(h);
    expect(t.unmap(h)).toBe(0);
    expect(t.unmap(h)).toBe(-Errno.EBADF);
    expect(t.unmap(next)).toBe(0);
  });
});
