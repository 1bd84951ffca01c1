// mmap of a BPF_F_MMAPABLE array in the simulator: mapMmap's errnos in the kernel's order, the
// mapping's bytes being the map's values (syscalls, the datapath and the mapping see the same
// bytes), the map outliving its fds while mapped, FREEZE's EBUSY under a writable mapping, and
// copies surviving wasm memory growth. Every errno and order here was checked on 6.18 with
// scripts/probe-mmap.py (mmap(2) on bpf fds from Python).
import { BPF_F_MMAPABLE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, createBpf, Errno, MapType, u32 as u32Codec, u64 as u64Codec } from "@bpfkit/core";
import type { MapCreateAttr } from "@bpfkit/core";
import { typedDatapath } from "@bpfkit/driver-wasm-sim";
import type { SimSyscall } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { errName, hex, mapInfo, sim, trappingEngine, u32 } from "./sim-helpers.js";

const HASH = 1, ARRAY = 2, PERCPU_ARRAY = 6;
const PAGE = 4096;
const arr = (more: Partial<MapCreateAttr> = {}): MapCreateAttr =>
  ({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: BPF_F_MMAPABLE, ...more });
const bytes = (...b: number[]) => Uint8Array.from(b);
/** A socket filter that returns 0: an fd that is not a map. */
const RET0 = bytes(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);

describe("mapMmap: the kernel's checks, in its order", () => {
  it("answers each refusal as the kernel does", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const id = mapInfo(d, a).id;
    const ro = d.mapGetFdById(id, BPF_F_RDONLY), wo = d.mapGetFdById(id, BPF_F_WRONLY);
    const hash = d.mapCreate(arr({ mapType: HASH, mapFlags: 0 }));
    const hashRo = d.mapGetFdById(mapInfo(d, hash).id, BPF_F_RDONLY);
    const hashWo = d.mapGetFdById(mapInfo(d, hash).id, BPF_F_WRONLY);
    const pcpu = d.mapCreate(arr({ mapType: PERCPU_ARRAY, mapFlags: 0 }));
    const plain = d.mapCreate(arr({ mapFlags: 0 }));
    const plainRop = d.mapCreate(arr({ mapFlags: BPF_F_RDONLY_PROG }));
    const rop = d.mapCreate(arr({ mapFlags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG }));
    const frozenRop = d.mapCreate(arr({ mapFlags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG }));
    expect(d.mapFreeze(frozenRop)).toBe(0);
    const big = d.mapCreate(arr({ valueSize: 4000, maxEntries: 3 })); // 12000 bytes: 3 pages
    const small = d.mapCreate(arr({ valueSize: 4, maxEntries: 1024 })); // stride 8: 2 pages
    const prog = d.progLoad({ progType: 1, insns: RET0, license: "GPL" });
    const bad = 999;
    const answers: Array<[string, number, number, boolean, number?]> = [
      // sys_mmap checks the offset before it looks at the fd; do_mmap the length after.
      ["EINVAL", bad, PAGE, false, 1],
      ["EBADF", bad, 0, false],
      ["EINVAL", a, 0, false],
      ["EINVAL", a, PAGE, false, 1],
      ["EINVAL", ro, 0, true],
      // get_unmapped_area finds no hole that large before the file is looked at.
      ["ENOMEM", wo, 2 ** 47, false],
      ["ENOMEM", prog, 2 ** 47, false],
      // MAP_SHARED: PROT_WRITE needs a file open for writing, any mapping one open for reading.
      ["EACCES", ro, PAGE, true],
      ["EACCES", wo, PAGE, false],
      ["EACCES", hashWo, PAGE, false],
      // No mmap in the file: a program, stdin.
      ["ENODEV", prog, PAGE, false],
      ["ENODEV", 0, PAGE, true],
      // bpf_map_mmap: a type without map_mmap first, even through a read-only fd.
      ["ENOTSUPP", hash, PAGE, true],
      ["ENOTSUPP", hashRo, PAGE, false],
      ["ENOTSUPP", pcpu, PAGE, false],
      // A read-only fd's mapping is not shared, which bpf_map_mmap refuses.
      ["EINVAL", ro, PAGE, false],
      ["EINVAL", ro, 2 * PAGE, false],
      // Writable: frozen before BPF_F_RDONLY_PROG, both before BPF_F_MMAPABLE.
      ["EPERM", frozenRop, PAGE, true],
      ["EACCES", rop, PAGE, true],
      ["EACCES", rop, 2 * PAGE, true],
      ["EACCES", plainRop, PAGE, true],
      ["EINVAL", plainRop, PAGE, false],
      ["EINVAL", plain, PAGE, true],
      ["EINVAL", plain, PAGE, false],
      // array_map_mmap: offset + the page-rounded length within the values' pages.
      ["EINVAL", a, PAGE + 1, true],
      ["EINVAL", a, PAGE, true, PAGE],
      ["EINVAL", a, 2 ** 46, false],
      ["EINVAL", big, 4 * PAGE, true],
      ["EINVAL", big, 2 * PAGE, true, 2 * PAGE],
      ["EINVAL", big, 1, true, 3 * PAGE],
      ["EINVAL", big, PAGE, true, 2 ** 40],
      ["EINVAL", small, 2 * PAGE + 1, true],
      ["OK", a, PAGE, true],
      ["OK", a, 1, true],
      ["OK", a, PAGE, false],
      ["OK", rop, PAGE, false],
      ["OK", frozenRop, PAGE, false],
      ["OK", big, 3 * PAGE, true],
      ["OK", big, PAGE, true, 2 * PAGE],
      ["OK", small, 2 * PAGE, true],
    ];
    for (const [want, fd, length, writable, offset] of answers) {
      const r = d.mapMmap(fd, length, writable, offset);
      expect(errName(r), `mapMmap(fd ${fd}, ${length}, ${writable}, ${offset ?? 0})`).toBe(want);
      if (r >= 0) expect(d.munmap(r)).toBe(0);
    }
  });

  it("a frozen map maps read-only, not writable; a map created BPF_F_RDONLY or BPF_F_WRONLY not at all", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    expect(d.mapFreeze(a)).toBe(0);
    const r = d.mapMmap(a, PAGE, false);
    expect(r).toBeGreaterThanOrEqual(0);
    expect(errName(d.mapMmap(a, PAGE, true))).toBe("EPERM");
    expect(d.munmap(r)).toBe(0);
    expect(errName(d.mapMmap(d.mapCreate(arr({ mapFlags: BPF_F_MMAPABLE | BPF_F_RDONLY })), PAGE, false))).toBe("EINVAL");
    expect(errName(d.mapMmap(d.mapCreate(arr({ mapFlags: BPF_F_MMAPABLE | BPF_F_WRONLY })), PAGE, false))).toBe("EACCES");
  });

  it("refuses bad arguments with a TypeError or RangeError before the call", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    expect(() => d.mapMmap(a, 1.5, false)).toThrow(new TypeError("mapMmap: length must be an integer, got 1.5"));
    expect(() => d.mapMmap(a, -1, false)).toThrow(RangeError);
    expect(() => d.mapMmap(a, PAGE, "yes" as unknown as boolean)).toThrow(new TypeError('mapMmap: writable must be a boolean, got "yes"'));
    expect(() => d.mapMmap(a, PAGE, false, -PAGE)).toThrow(new RangeError(`mapMmap: offset ${-PAGE} is not a byte count this driver can pass`));
    expect(() => d.mapMmap("3" as unknown as number, PAGE, false)).toThrow(TypeError);
    const m = d.mapMmap(a, PAGE, true);
    expect(() => d.mmapRead(m, 0, [0] as unknown as Uint8Array)).toThrow(new TypeError("mmapRead: dst must be a Uint8Array, got Array"));
    expect(() => d.mmapWrite(m, 0, new Uint16Array(1) as unknown as Uint8Array)).toThrow(new TypeError("mmapWrite: src must be a Uint8Array, got Uint16Array"));
    // A handle that is no integer is the caller's mistake, not a handle that happens to be unmapped.
    for (const h of [1.5, "0", null, -0.5]) {
      expect(() => d.mmapRead(h as unknown as number, 0, new Uint8Array(1))).toThrow(/^mmapRead: mapping must be an integer, got /);
      expect(() => d.mmapWrite(h as unknown as number, 0, new Uint8Array(1))).toThrow(/^mmapWrite: mapping must be an integer, got /);
    }
    expect(() => d.mmapWrite(m, 0.5, new Uint8Array(1))).toThrow(TypeError);
    expect(() => d.munmap(null as unknown as number)).toThrow(TypeError);
    expect(d.munmap(m)).toBe(0);
  });
});

describe("a mapping's bytes are the map's values", () => {
  it("value i at i × roundUp(valueSize, 8): syscalls see mapping writes and the mapping sees syscall writes", () => {
    const d = sim();
    const a = d.mapCreate(arr({ valueSize: 5 }));
    const m = d.mapMmap(a, PAGE, true);
    expect(d.mmapWrite(m, 8, bytes(1, 2, 3, 4, 5))).toBe(0);
    const v = new Uint8Array(5);
    expect(d.mapLookupElem(a, u32(1), v)).toBe(0);
    expect(hex(v)).toBe("0102030405");
    expect(d.mapUpdateElem(a, u32(2), bytes(6, 7, 8, 9, 10))).toBe(0);
    const out = new Uint8Array(32);
    expect(d.mmapRead(m, 0, out)).toBe(0);
    expect(hex(out)).toBe("0000000000000000" + "0102030405000000" + "060708090a000000" + "0000000000000000");
    // The page's tail past the last value is the map's: zeroed, writable, read back.
    const tail = new Uint8Array(PAGE - 32);
    expect(d.mmapRead(m, 32, tail)).toBe(0);
    expect(tail.every((b) => b === 0)).toBe(true);
    expect(d.mmapWrite(m, PAGE - 4, bytes(0x74, 0x61, 0x69, 0x6c))).toBe(0);
    const t = new Uint8Array(4);
    expect(d.mmapRead(m, PAGE - 4, t)).toBe(0);
    expect(hex(t)).toBe("7461696c");
    expect(d.munmap(m)).toBe(0);
  });

  it("two mappings of one map, and a datapath update, all see the same bytes at once", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const m1 = d.mapMmap(a, PAGE, true), m2 = d.mapMmap(a, PAGE, false);
    expect(d.datapath.update({ fd: a }, u32(3), bytes(1, 1, 2, 3, 5, 8, 13, 21))).toBe(0);
    const v = new Uint8Array(8);
    expect(d.mmapRead(m2, 24, v)).toBe(0);
    expect(hex(v)).toBe("010102030508" + "0d15");
    expect(d.mmapWrite(m1, 24, bytes(0, 0, 0, 0, 0, 0, 0, 42))).toBe(0);
    expect(d.mmapRead(m2, 24, v)).toBe(0);
    expect(v[7]).toBe(42);
    expect(d.datapath.lookup({ fd: a }, u32(3), v)).toBe(0);
    expect(v[7]).toBe(42);
    expect(d.munmap(m1)).toBe(0);
    expect(d.munmap(m2)).toBe(0);
  });

  it("a mapping at an offset starts at that byte of the values", () => {
    const d = sim();
    const big = d.mapCreate(arr({ valueSize: 4096, maxEntries: 3 }));
    expect(d.mapUpdateElem(big, u32(2), new Uint8Array(4096).fill(0xab))).toBe(0);
    const m = d.mapMmap(big, PAGE, true, 2 * PAGE);
    const v = new Uint8Array(4);
    expect(d.mmapRead(m, 0, v)).toBe(0);
    expect(hex(v)).toBe("abababab");
    expect(d.mmapWrite(m, PAGE - 1, bytes(1))).toBe(0);
    const back = new Uint8Array(4096);
    expect(d.mapLookupElem(big, u32(2), back)).toBe(0);
    expect(back[4095]).toBe(1);
    expect(d.munmap(m)).toBe(0);
  });

  it("a typed datapath program's write is what mmapRead sees", () => {
    const d = sim();
    const bpf = createBpf({ driver: d });
    const counters = bpf.newMap({ name: "counters", type: MapType.Array, key: u32Codec, value: u64Codec, maxEntries: 2, flags: BPF_F_MMAPABLE });
    counters.openOrCreateUnpinned();
    try {
      expect(typedDatapath(d, counters).update(1, 0x1122334455667788n)).toBe(0);
      const m = d.mapMmap(counters.getFd(), 16, false);
      const v = new Uint8Array(8);
      expect(d.mmapRead(m, 8, v)).toBe(0);
      expect(hex(v)).toBe("8877665544332211");
      expect(d.munmap(m)).toBe(0);
    } finally {
      counters.close();
    }
  });

  it("copies through wasm memory as it is now: a growth between a write and a read breaks nothing", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const m = d.mapMmap(a, PAGE, true);
    expect(d.mmapWrite(m, 0, bytes(0xde, 0xad, 0xbe, 0xef))).toBe(0);
    const before = d.memoryUsage().wasmBytes;
    // A 4 MiB array grows the wasm memory, which detaches every view of the old buffer.
    const grow = d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 4096, maxEntries: 1024 });
    expect(grow).toBeGreaterThanOrEqual(0);
    expect(d.memoryUsage().wasmBytes).toBeGreaterThan(before);
    const v = new Uint8Array(4);
    expect(d.mmapRead(m, 0, v)).toBe(0);
    expect(hex(v)).toBe("deadbeef");
    expect(d.mmapWrite(m, 4, bytes(1, 2, 3, 4))).toBe(0);
    const all = new Uint8Array(8);
    expect(d.mapLookupElem(a, u32(0), all)).toBe(0);
    expect(hex(all)).toBe("deadbeef01020304");
    expect(d.munmap(m)).toBe(0);
    expect(d.close(grow)).toBe(0);
  });
});

describe("mmapRead, mmapWrite and munmap", () => {
  it("a range past the mapping's length is a RangeError, touching nothing; the length is the one asked, not the page", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const m = d.mapMmap(a, 10, true);
    expect(() => d.mmapRead(m, 0, new Uint8Array(11))).toThrow(new RangeError(`mmapRead: bytes 0..11 are past the 10 bytes of mapping ${m} (map id ${mapInfo(d, a).id})`));
    expect(() => d.mmapWrite(m, 8, bytes(1, 2, 3))).toThrow(RangeError);
    const v = new Uint8Array(8);
    expect(d.mapLookupElem(a, u32(1), v)).toBe(0);
    expect(hex(v)).toBe("0000000000000000");
    expect(d.mmapWrite(m, 8, bytes(1, 2))).toBe(0);
    expect(d.mmapRead(m, 10, new Uint8Array(0))).toBe(0);
    expect(d.munmap(m)).toBe(0);
  });

  it("checks a buffer's real length, which a subclass cannot misreport: a write never runs past the mapping", () => {
    const d = sim();
    const a = d.mapCreate(arr({ maxEntries: 1 }));
    const m = d.mapMmap(a, 8, true);
    class Short extends Uint8Array {
      override get length(): number { return 1; }
      override get byteLength(): number { return 1; }
    }
    expect(() => d.mmapWrite(m, 0, new Short(16).fill(0xff))).toThrow(new RangeError(`mmapWrite: bytes 0..16 are past the 8 bytes of mapping ${m} (map id ${mapInfo(d, a).id})`));
    const tail = new Uint8Array(8);
    const whole = d.mapMmap(a, PAGE, false);
    expect(d.mmapRead(whole, 8, tail)).toBe(0);
    expect(hex(tail)).toBe("0000000000000000");
    expect(() => d.mmapRead(m, 4, new Short(8))).toThrow(RangeError);
    expect(d.munmap(m) + d.munmap(whole)).toBe(0);
  });

  it("a handle that is not mapped is -EBADF (never made, unmapped, unmapped twice); a read-only mapping's write -EACCES", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    expect(d.mmapRead(0, 0, new Uint8Array(1))).toBe(-Errno.EBADF);
    expect(d.mmapWrite(-1, 0, new Uint8Array(1))).toBe(-Errno.EBADF);
    expect(d.munmap(7)).toBe(-Errno.EBADF);
    const ro = d.mapMmap(a, PAGE, false);
    expect(d.mmapWrite(ro, 0, bytes(1))).toBe(-Errno.EACCES);
    const v = new Uint8Array(1);
    expect(d.mmapRead(ro, 0, v)).toBe(0);
    expect(v[0]).toBe(0);
    expect(d.munmap(ro)).toBe(0);
    expect(d.munmap(ro)).toBe(-Errno.EBADF);
    expect(d.mmapRead(ro, 0, v)).toBe(-Errno.EBADF);
    expect(d.mmapWrite(ro, 0, v)).toBe(-Errno.EBADF);
  });

  it("handles are small integers, the lowest free first", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const h = [d.mapMmap(a, PAGE, false), d.mapMmap(a, PAGE, false), d.mapMmap(a, PAGE, false)];
    expect(h).toEqual([0, 1, 2]);
    expect(d.munmap(1)).toBe(0);
    expect(d.mapMmap(a, PAGE, true)).toBe(1);
    for (const x of h) expect(d.munmap(x)).toBe(0);
  });
});

describe("a mapping holds the map", () => {
  it("the map and its id outlive every fd while mapped, and go with the munmap", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const id = mapInfo(d, a).id;
    const m = d.mapMmap(a, PAGE, true);
    expect(d.mmapWrite(m, 0, bytes(0x70, 0x65, 0x72, 0x73))).toBe(0);
    expect(d.close(a)).toBe(0);
    expect(d.liveMapIds()).toContain(id);
    const again = d.mapGetFdById(id);
    expect(again).toBeGreaterThanOrEqual(0);
    const v = new Uint8Array(8);
    expect(d.mapLookupElem(again, u32(0), v)).toBe(0);
    expect(hex(v)).toBe("7065727300000000");
    expect(d.close(again)).toBe(0);
    expect(d.liveMapIds()).toContain(id);
    expect(d.munmap(m)).toBe(0);
    expect(d.liveMapIds()).not.toContain(id);
    expect(errName(d.mapGetFdById(id))).toBe("ENOENT");
  });

  it("a pin and a mapping each keep it; the last of them to go frees it", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const id = mapInfo(d, a).id;
    const m1 = d.mapMmap(a, PAGE, false), m2 = d.mapMmap(a, PAGE, true);
    expect(d.close(a)).toBe(0);
    expect(d.munmap(m2)).toBe(0);
    expect(d.liveMapIds()).toContain(id);
    expect(d.munmap(m1)).toBe(0);
    expect(d.liveMapIds()).not.toContain(id);
  });
});

describe("BPF_MAP_FREEZE and writable mappings (the map's writecnt)", () => {
  it("is EBUSY while a writable mapping exists, and 0 once the last is unmapped", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const w1 = d.mapMmap(a, PAGE, true), w2 = d.mapMmap(a, PAGE, true);
    expect(errName(d.mapFreeze(a))).toBe("EBUSY");
    expect(d.munmap(w1)).toBe(0);
    expect(errName(d.mapFreeze(a))).toBe("EBUSY");
    expect(d.munmap(w2)).toBe(0);
    expect(d.mapFreeze(a)).toBe(0);
    expect(errName(d.mapFreeze(a))).toBe("EPERM");
  });

  it("a read-only mapping does not hold it off; through a read-only fd the answer stays EPERM", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const w = d.mapMmap(a, PAGE, true);
    const ro = d.mapGetFdById(mapInfo(d, a).id, BPF_F_RDONLY);
    expect(errName(d.mapFreeze(ro))).toBe("EPERM");
    expect(d.munmap(w)).toBe(0);
    const r = d.mapMmap(a, PAGE, false);
    expect(d.mapFreeze(a)).toBe(0);
    expect(d.munmap(r)).toBe(0);
  });
});

describe("the simulator's facets", () => {
  it("mapMmap and munmap are syscalls: faults and the hook reach them; mmapRead and mmapWrite are memory, and do not", () => {
    const d = sim();
    const a = d.mapCreate(arr());
    const seen: Array<[SimSyscall, number | undefined]> = [];
    d.setInterleavingHook((op, call) => { seen.push([op, call.fd]); });
    d.faults.inject("mapMmap", { errno: Errno.EINTR });
    expect(d.mapMmap(a, PAGE, true)).toBe(-Errno.EINTR);
    // The failed call made no mapping and took no writecnt.
    expect(d.mmapRead(0, 0, new Uint8Array(1))).toBe(-Errno.EBADF);
    const m = d.mapMmap(a, PAGE, true);
    expect(m).toBe(0);
    const t0 = d.clock.now();
    expect(d.mmapWrite(m, 0, bytes(1))).toBe(0);
    expect(d.mmapRead(m, 0, new Uint8Array(1))).toBe(0);
    expect(d.clock.now()).toBe(t0);
    d.faults.inject("munmap", { errno: Errno.EINTR });
    expect(d.munmap(m)).toBe(-Errno.EINTR);
    expect(errName(d.mapFreeze(a))).toBe("EBUSY");
    expect(d.munmap(m)).toBe(0);
    d.setInterleavingHook(null);
    expect(seen).toEqual([["mapMmap", a], ["mapMmap", a], ["munmap", undefined], ["mapFreeze", a], ["munmap", undefined]]);
  });

  it("an mmapable array's region is whole pages of the engine's memory, counted as memoryLimit counts the rest", () => {
    const d = sim();
    const used = () => d.memoryUsage().used;
    const warm = d.mapCreate(arr({ mapFlags: 0, maxEntries: 1 }));
    const u0 = used();
    const plain = d.mapCreate(arr({ mapFlags: 0, maxEntries: 1 }));
    const u1 = used();
    const a = d.mapCreate(arr({ maxEntries: 1 }));
    // The same header; 8 bytes of values take a 16-byte block, the mmapable region a page.
    expect(used() - u1 - (u1 - u0)).toBe(PAGE - 16);
    expect(d.close(plain) + d.close(a) + d.close(warm)).toBe(0);
  });
});

describe("an engine that trapped", () => {
  it("leaves no mapping usable: mmapRead and mmapWrite say the driver is broken, as every call does", () => {
    const trap = { on: false };
    const d = sim({ engine: trappingEngine(trap) });
    const a = d.mapCreate(arr());
    const m = d.mapMmap(a, PAGE, true);
    expect(d.mmapWrite(m, 0, bytes(1))).toBe(0);
    trap.on = true;
    expect(() => d.mapUpdateElem(a, u32(1), new Uint8Array(8))).toThrow(/broken.*mapUpdateElem.*unreachable/);
    expect(() => d.mmapRead(m, 0, new Uint8Array(1))).toThrow(/broken/);
    expect(() => d.mmapWrite(m, 0, bytes(2))).toThrow(/broken/);
    expect(() => d.munmap(m)).toThrow(/broken/);
  });
});
