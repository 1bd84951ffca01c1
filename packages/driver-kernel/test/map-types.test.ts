// Every map type the simulator models, created and used through the kernel driver: element
// round trips, the per-CPU buffer layout, map-in-map and PROG_ARRAY values (fd in, id out),
// and OBJ_GET_INFO_BY_FD for maps and programs.
import { expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PROG_ARRAY, decodeMapInfo, decodeProgInfo, Errno, MAP_INFO_SIZE, PROG_INFO_SIZE,
  ProgType,
} from "@bpfkit/core";
import { readPossibleCpus, type KernelDriver } from "@bpfkit/driver-kernel";
import { describeKernel, kernelForFile, readU32, RET0_INSNS, u32, walkKeys, withFds } from "./helpers.js";

const k = kernelForFile();

interface Plain {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  flags?: number;
  key: Uint8Array;
}

const lpmKey = (prefixLen: number, a: number, b: number, c: number, d: number) =>
  new Uint8Array([prefixLen, 0, 0, 0, a, b, c, d]);

const plain: Plain[] = [
  { name: "HASH", type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, key: u32(7) },
  { name: "ARRAY", type: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, key: u32(3) },
  { name: "PERCPU_HASH", type: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, key: u32(7) },
  { name: "PERCPU_ARRAY", type: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 12, key: u32(3) },
  { name: "LRU_HASH", type: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, key: u32(7) },
  { name: "LRU_PERCPU_HASH", type: BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 1, key: u32(7) },
  { name: "LPM_TRIE", type: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 8, flags: BPF_F_NO_PREALLOC, key: lpmKey(24, 10, 1, 2, 0) },
];

/** Map names hold at most 15 bytes (kernel-maps.md §3.2). */
const mapName = (type: string) => `t_${type.toLowerCase()}`.slice(0, 15);

const perCpu = new Set([BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH]);

describeKernel("kernel driver: map types", () => {
  it("possibleCpus is the count in /sys/devices/system/cpu/possible", () => {
    expect(k.d.possibleCpus).toBe(readPossibleCpus());
    expect(k.d.possibleCpus).toBeGreaterThan(0);
  });

  it.each(plain)("$name: create, update, lookup, next-key, info", (t) => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: t.type, keySize: t.keySize, valueSize: t.valueSize, maxEntries: 8, mapFlags: t.flags ?? 0, mapName: mapName(t.name) }));
      const slot = (t.valueSize + 7) & ~7;
      const userSize = perCpu.has(t.type) ? slot * d.possibleCpus : t.valueSize;
      const value = new Uint8Array(userSize).map((_, i) => (i * 7 + 1) & 0xff);
      // A value sized by valueSize alone is too short for per-CPU maps: RangeError, no syscall.
      if (userSize !== t.valueSize) {
        expect(() => d.mapUpdateElem(fd, t.key, new Uint8Array(t.valueSize))).toThrow(RangeError);
      }
      expect(d.mapUpdateElem(fd, t.key, value)).toBe(0);
      const out = new Uint8Array(userSize);
      expect(d.mapLookupElem(fd, t.key, out)).toBe(0);
      // Per-CPU padding bytes come back verbatim (kernel-maps.md §6).
      expect(out).toEqual(value);
      const first = new Uint8Array(t.keySize);
      expect(d.mapGetNextKey(fd, null, first)).toBe(0);
      if (t.type === BPF_MAP_TYPE_ARRAY || t.type === BPF_MAP_TYPE_PERCPU_ARRAY) {
        expect(readU32(first)).toBe(0);
        expect(walkKeys(d, fd, 4).map((x) => readU32(x))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      } else {
        expect(first).toEqual(t.key);
        expect(walkKeys(d, fd, t.keySize)).toHaveLength(1);
      }
      const info = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(fd, info)).toBe(MAP_INFO_SIZE);
      const mi = decodeMapInfo(info);
      expect(mi).toMatchObject({ type: t.type, keySize: t.keySize, valueSize: t.valueSize, maxEntries: 8, mapFlags: t.flags ?? 0, name: mapName(t.name) });
      expect(mi.id).toBeGreaterThan(0);
    });
  });

  it("a short info buffer gets exactly its length, never more", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      const backing = new Uint8Array(64).fill(0xee);
      const info = backing.subarray(0, 12);
      expect(d.objGetInfoByFd(fd, info)).toBe(12);
      expect(readU32(info, 0)).toBe(BPF_MAP_TYPE_HASH);
      expect(readU32(info, 8)).toBe(4);
      expect([...backing.subarray(12)].every((b) => b === 0xee)).toBe(true);
      // Larger than the struct: the kernel fills the struct and reports its size; the caller's
      // bytes past it stay as they were, not the zeroes the driver staged there.
      const big = new Uint8Array(MAP_INFO_SIZE + 40).fill(0xee);
      expect(d.objGetInfoByFd(fd, big)).toBe(MAP_INFO_SIZE);
      expect(readU32(big, 8)).toBe(4);
      expect([...big.subarray(MAP_INFO_SIZE)].every((b) => b === 0xee)).toBe(true);
    });
  });

  it("ARRAY_OF_MAPS and HASH_OF_MAPS take an inner fd and return its id", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const inner = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }));
      const innerInfo = new Uint8Array(MAP_INFO_SIZE);
      d.objGetInfoByFd(inner, innerInfo);
      const innerId = decodeMapInfo(innerInfo).id;
      for (const type of [BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS]) {
        const outer = keep(d.mapCreate({ mapType: type, keySize: 4, valueSize: 4, maxEntries: 4, innerMapFd: inner }));
        expect(d.mapUpdateElem(outer, u32(1), u32(inner))).toBe(0);
        const out = new Uint8Array(4);
        expect(d.mapLookupElem(outer, u32(1), out)).toBe(0);
        expect(readU32(out)).toBe(innerId);
        // A missing key/empty slot is ENOENT for both.
        expect(d.mapLookupElem(outer, u32(2), out)).toBe(-Errno.ENOENT);
      }
      // No template: EINVAL (fd 0 is not a map).
      expect(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4 })).toBe(-Errno.EINVAL);
    });
  });

  it("loads the two-instruction socket filter; PROG_ARRAY holds it and returns its id", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const prog = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", progName: "ret0" }));
      const info = new Uint8Array(PROG_INFO_SIZE);
      expect(d.objGetInfoByFd(prog, info)).toBe(PROG_INFO_SIZE);
      const pi = decodeProgInfo(info);
      expect(pi.type).toBe(ProgType.SocketFilter);
      expect(pi.name).toBe("ret0");
      expect(pi.gplCompatible).toBe(true);
      expect(pi.xlatedProgLen).toBe(16);
      expect(pi.id).toBeGreaterThan(0);

      const pa = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 }));
      expect(d.mapLookupElem(pa, u32(0), new Uint8Array(4))).toBe(-Errno.ENOENT);
      expect(d.mapUpdateElem(pa, u32(0), u32(prog))).toBe(0);
      const out = new Uint8Array(4);
      expect(d.mapLookupElem(pa, u32(0), out)).toBe(0);
      expect(readU32(out)).toBe(pi.id);
      // A map fd is not a program: EINVAL.
      expect(d.mapUpdateElem(pa, u32(1), u32(pa))).toBe(-Errno.EINVAL);
      expect(d.mapUpdateElem(pa, u32(4), u32(prog))).toBe(-Errno.E2BIG);
      expect(d.mapDeleteElem(pa, u32(0))).toBe(0);
      expect(d.mapDeleteElem(pa, u32(0))).toBe(-Errno.ENOENT);
      // By id, as bpftool does: GET_NEXT_ID finds it, GET_FD_BY_ID opens it.
      let id = 0, seen = false;
      while ((id = d.progGetNextId(id)) > 0) if (id === pi.id) { seen = true; break; }
      expect(seen).toBe(true);
      const again = keep(d.progGetFdById(pi.id));
      const info2 = new Uint8Array(PROG_INFO_SIZE);
      d.objGetInfoByFd(again, info2);
      expect(decodeProgInfo(info2).id).toBe(pi.id);
      // A prog id is not a map id (separate id spaces) unless a map happens to have it.
      expect(d.progGetFdById(0)).toBe(-Errno.ENOENT);
    });
  });

  it("a bad program is the kernel's EACCES/E2BIG, odd instruction bytes a RangeError", () => {
    const { d } = k;
    expect(() => d.progLoad({ progType: ProgType.SocketFilter, insns: new Uint8Array(12), license: "GPL" })).toThrow(RangeError);
    expect(() => d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL\0x" })).toThrow(TypeError);
    // `exit` alone reads an uninitialised r0: the verifier refuses it.
    const r = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS.subarray(8), license: "GPL" });
    expect(r).toBe(-Errno.EACCES);
    // No instructions at all: bpf_prog_load says E2BIG (insn_cnt 0 is out of range).
    expect(d.progLoad({ progType: ProgType.SocketFilter, insns: new Uint8Array(0), license: "GPL" })).toBe(-Errno.E2BIG);
  });

  it("PROG_LOAD with a log buffer returns the verifier's log, on failure and on success", () => {
    const { d } = k as { d: KernelDriver };
    const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, b.indexOf(0)));
    const log = new Uint8Array(4096);
    expect(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS.subarray(8), license: "GPL", logLevel: 1, log })).toBe(-Errno.EACCES);
    expect(text(log)).toMatch(/R0 !read_ok/);
    withFds(d, (keep) => {
      const ok = new Uint8Array(4096);
      keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logLevel: 2, log: ok }));
      expect(text(ok)).toMatch(/processed 2 insns/);
    });
    // A log too small for the text is the kernel's ENOSPC (the load fails); nothing is written past it.
    const backing = new Uint8Array(200).fill(0xcc);
    expect(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logLevel: 2, log: backing.subarray(0, 64) })).toBe(-Errno.ENOSPC);
    expect(backing.subarray(0, 64).includes(0)).toBe(true);
    expect(backing.subarray(64).every((b) => b === 0xcc)).toBe(true);
  });

  it("PROG_LOAD writes log_true_size back: a log buffer that long holds the verifier's log, with a buffer or none; 0 at level 0", () => {
    const { d } = k as { d: KernelDriver };
    withFds(d, (keep) => {
      for (const [insns, want] of [[RET0_INSNS, 0], [RET0_INSNS.subarray(8), -Errno.EACCES]] as const) {
        const load = (logLevel: number, log?: Uint8Array) => {
          const cell = new Uint32Array([0xdeadbeef]);
          const fd = d.progLoad({ progType: ProgType.SocketFilter, insns, license: "GPL", logLevel, ...(log ? { log } : {}), logTrueSize: cell });
          if (fd >= 0) keep(fd);
          return { fd, size: cell[0]! };
        };
        const measured = load(2);
        expect(measured.fd < 0 ? measured.fd : 0).toBe(want);
        expect(measured.size).toBeGreaterThan(20);
        // Cut short: ENOSPC, and the same size reported.
        expect(load(2, new Uint8Array(16))).toEqual({ fd: -Errno.ENOSPC, size: measured.size });
        const exact = new Uint8Array(measured.size);
        const whole = load(2, exact);
        expect(whole.fd < 0 ? whole.fd : 0).toBe(want);
        expect(whole.size).toBe(measured.size);
        expect(exact.indexOf(0)).toBe(measured.size - 1);
        expect(load(0).size).toBe(0);
      }
    });
    expect(() => d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logTrueSize: new Uint32Array(0) })).toThrow(RangeError);
  });

  it("an fd from elsewhere (dup'd by the kernel via GET_FD_BY_ID) is learnt through info-by-fd", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 2, valueSize: 3, maxEntries: 4 }));
      const info = new Uint8Array(MAP_INFO_SIZE);
      d.objGetInfoByFd(fd, info);
      const byId = keep(d.mapGetFdById(decodeMapInfo(info).id));
      const key = new Uint8Array([1, 2]);
      expect(() => d.mapUpdateElem(byId, key, new Uint8Array(3))).toThrow(RangeError);
      expect(d.mapUpdateElem(byId, key, new Uint8Array(8 * d.possibleCpus).fill(9))).toBe(0);
      const out = new Uint8Array(8 * d.possibleCpus);
      expect(d.mapLookupElem(fd, key, out)).toBe(0);
      expect(out.every((b) => b === 9)).toBe(true);
    });
  });
});
