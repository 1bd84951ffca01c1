// PERF_EVENT_ARRAY and BPF output events in the simulator: the slots' rules, the event's ring
// (mmap rules, the header page, records byte for byte, a full ring and PERF_RECORD_LOST,
// overwrite when mapped read-only) and poll's wake-ups. The numbers and bytes are what 6.18
// answered to the same sequences (docs/probes/perf_event_array.mjs); the conformance group
// `perf` holds the same rules against the kernel.
import { Errno } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { hex, sim, u32 } from "./sim-helpers.js";

const PEA = 4, PAGE = 4096;
const pat = (n: number, s = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + s) & 0xff);

function setup(d: SimDriver, pages = 2, writable = true, attr: { wakeupEvents?: number; wakeupWatermark?: number } = {}) {
  const map = d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: d.possibleCpus });
  const ev = d.perfEventOpen({ cpu: 0, ...attr });
  expect(d.mapUpdateElem(map, u32(0), u32(ev))).toBe(0);
  const ring = d.mapMmap(ev, pages * PAGE, writable);
  expect(ring).toBeGreaterThanOrEqual(0);
  const read = (at: number, n: number) => {
    const b = new Uint8Array(n);
    expect(d.mmapRead(ring, at, b)).toBe(0);
    return b;
  };
  const u64 = (at: number) => new DataView(read(at, 8).buffer).getBigUint64(0, true);
  const setTail = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    expect(d.mmapWrite(ring, 1032, b)).toBe(0);
  };
  const out = (data: Uint8Array, flags?: number, cpu?: number) => d.datapath.perfEventOutput({ fd: map }, data, flags ?? 0xffffffff, cpu ?? 0);
  return { map, ev, ring, read, head: () => Number(u64(1024)), u64, setTail, out };
}

describe("simulator: PERF_EVENT_ARRAY", () => {
  it("creates as 6.18 does: a 4-byte key and value, PRESERVE_ELEMS its own, no program access flags", () => {
    const d = sim({ possibleCpus: 2 });
    const c = (o: object) => {
      const fd = d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: 2, ...o });
      if (fd >= 0) d.close(fd);
      return fd >= 0 ? 0 : fd;
    };
    expect([c({}), c({ valueSize: 8 }), c({ keySize: 8 }), c({ maxEntries: 0 }), c({ mapFlags: 1 << 11 }), c({ mapFlags: 1 << 7 }),
      c({ mapFlags: 1 << 8 }), c({ mapFlags: 1 << 10 }), c({ mapFlags: 1 << 12 }), c({ mapFlags: 1 << 3 }), c({ mapFlags: 1 }), c({ mapFlags: 1 << 6 })])
      .toEqual([0, -22, -22, -22, 0, -22, -22, -22, -22, 0, -22, -22]);
  });

  it("takes only a perf event's fd in a slot; lookups and batches are ENOTSUPP, deletes and walks as an array", () => {
    const d = sim({ possibleCpus: 2 });
    const m = d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: 2 });
    const ev0 = d.perfEventOpen({ cpu: 0 }), ev1 = d.perfEventOpen({ cpu: 1 });
    const v = new Uint8Array(4), nk = new Uint8Array(4);
    const b8 = () => new Uint8Array(8);
    expect([
      d.mapUpdateElem(m, u32(0), u32(ev0)), d.mapUpdateElem(m, u32(0), u32(ev1)), d.mapUpdateElem(m, u32(1), u32(m)),
      d.mapUpdateElem(m, u32(1), u32(9999)), d.mapUpdateElem(m, u32(1), u32(0)), d.mapUpdateElem(m, u32(1), u32(ev0), 1),
      d.mapUpdateElem(m, u32(2), u32(ev0)), d.mapUpdateElem(m, u32(2), u32(9999)), d.mapUpdateElem(m, u32(2), u32(ev0), 1),
      d.mapLookupElem(m, u32(0), v), d.mapLookupElem(m, u32(1), v), d.mapLookupElem(m, u32(2), v), d.mapLookupElem(m, u32(0), v, 4),
      d.mapGetNextKey(m, null, nk), d.mapGetNextKey(m, u32(1), nk), d.mapLookupAndDeleteElem(m, u32(0), v),
    ]).toEqual([0, 0, -9, -9, -9, -22, -7, -7, -22, -524, -524, -524, -22, 0, -2, -524]);
    expect(d.mapLookupBatch(m, null, new Uint8Array(4), b8(), b8(), 2)).toEqual({ errno: 524, count: 2 });
    expect(d.mapUpdateBatch(m, u32(0), u32(ev0), 1)).toEqual({ errno: 524, count: 1 });
    expect(d.mapDeleteBatch(m, u32(1), 1)).toEqual({ errno: 524, count: 1 });
    expect([d.mapDeleteElem(m, u32(0)), d.mapDeleteElem(m, u32(0)), d.mapDeleteElem(m, u32(2))]).toEqual([0, -2, -7]);
    expect(d.mapFdInfo(m)).toMatchObject({ memlock: 328 });
    // A perf event's fd is no bpf object.
    expect(d.objGetInfoByFd(ev0, new Uint8Array(80))).toBe(-Errno.EINVAL);
    expect(d.mapMmap(m, PAGE, false)).toBe(-Errno.ENOTSUPP);
  });

  it("empties the slots a map file filled when its last fd closes, unless BPF_F_PRESERVE_ELEMS", () => {
    for (const preserve of [false, true]) {
      const d = sim({ possibleCpus: 2 });
      const a = d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: preserve ? 1 << 11 : 0 });
      const ev = d.perfEventOpen({ cpu: 0 });
      const b = d.mapGetFdById(1);
      const c = d.dup(b);
      expect(d.mapUpdateElem(b, u32(0), u32(ev))).toBe(0);
      d.close(c);
      expect(d.mapDeleteElem(a, u32(0)), "a dup's close leaves the file open").toBe(0);
      expect(d.mapUpdateElem(b, u32(0), u32(ev))).toBe(0);
      d.close(b);
      expect(d.mapDeleteElem(a, u32(0))).toBe(preserve ? 0 : -Errno.ENOENT);
      expect(d.mapUpdateElem(a, u32(0), u32(ev))).toBe(0);
      d.close(ev);
      expect(d.mapDeleteElem(a, u32(0)), "the slot holds the event, not its fd").toBe(0);
    }
  });

  it("opens an event per CPU and refuses one past them, or without privilege", () => {
    const d = sim({ possibleCpus: 2 });
    expect(d.perfEventOpen({ cpu: 1 })).toBeGreaterThan(2);
    expect(d.perfEventOpen({ cpu: 2 })).toBe(-Errno.EINVAL);
    expect(() => d.perfEventOpen({ cpu: -1 })).toThrow(RangeError);
    // perf_event_open(2)'s cpu is an int: 2^31 is no CPU number, refused before any syscall.
    expect(() => d.perfEventOpen({ cpu: 2 ** 31 })).toThrow(/cpu 2147483648 is not a CPU number/);
    expect(() => d.perfEventOpen({ cpu: 0, wakeupEvents: 1, wakeupWatermark: 1 })).toThrow(/not both/);
    expect(sim({ privileged: false }).perfEventOpen({ cpu: 0 })).toBe(-Errno.EACCES);
  });

  it("maps a ring of one header page and 2^n data pages at offset 0, and a second mapping must match it", () => {
    const d = sim({ possibleCpus: 2 });
    const fresh = (pages: number, writable = true, offset = 0) => {
      const ev = d.perfEventOpen({ cpu: 0 });
      const r = d.mapMmap(ev, pages * PAGE, writable, offset);
      if (r >= 0) d.munmap(r);
      d.close(ev);
      return r >= 0 ? 0 : r;
    };
    expect([1, 2, 3, 4, 5, 6, 7, 9, 10, 17].map((n) => fresh(n))).toEqual([0, 0, 0, -22, 0, -22, -22, 0, -22, 0]);
    expect([fresh(2, true, PAGE), fresh(2, false), fresh(0)]).toEqual([-22, 0, -22]);
    const ev = d.perfEventOpen({ cpu: 0 });
    const first = d.mapMmap(ev, 2 * PAGE, true);
    expect([d.mapMmap(ev, 3 * PAGE, true), d.mapMmap(ev, PAGE, true)]).toEqual([-22, -22]);
    const ro = d.mapMmap(ev, 2 * PAGE, false);
    expect(ro).toBeGreaterThanOrEqual(0);
    expect(d.mmapWrite(ro, 1032, new Uint8Array(8))).toBe(-Errno.EACCES);
    d.munmap(ro);
    d.munmap(first);
    // The ring went with its last mapping: any size again.
    const again = d.mapMmap(ev, 5 * PAGE, true);
    expect(again).toBeGreaterThanOrEqual(0);
    d.munmap(again);
  });

  it("writes the header page and PERF_RECORD_SAMPLEs as 6.18 does", () => {
    const d = sim({ possibleCpus: 2 });
    const s = setup(d);
    const words: Record<number, string> = {};
    const hdr = s.read(0, PAGE);
    for (let i = 0; i < PAGE; i += 8) {
      const w = new DataView(hdr.buffer).getBigUint64(i, true);
      if (w !== 0n && i !== 24 && i !== 32) words[i] = w.toString(16);
    }
    expect(words).toEqual({ 8: "2", 40: "2", 72: "60", 1040: "1000", 1048: "1000" });
    let pos = 0;
    const records: string[] = [];
    for (const n of [0, 1, 4, 5, 8, 12, 13]) {
      expect(s.out(pat(n, n))).toBe(0);
      records.push(hex(s.read(PAGE + pos, s.head() - pos)));
      pos = s.head();
    }
    expect(records).toEqual([
      "09000000010010000400000000000000",
      "09000000010010000400000001000000",
      "090000000100100004000000040b1219",
      "09000000010018000c000000050c131a2100000000000000",
      "09000000010018000c000000080f161d242b323900000000",
      "09000000010018000c0000000c131a21282f363d444b5259",
      "0900000001002000140000000d141b222930373e454c535a6100000000000000",
    ]);
  });

  it("answers as the helper does: empty slot, index past the map, flags, another CPU's event, no ring", () => {
    const d = sim({ possibleCpus: 2 });
    const s = setup(d);
    const ev1 = d.perfEventOpen({ cpu: 1 });
    d.mapUpdateElem(s.map, u32(1), u32(ev1));
    const empty = d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect([
      d.datapath.perfEventOutput({ fd: empty }, pat(8), 0xffffffff, 0), s.out(pat(8), 5), s.out(pat(8), 1, 0), s.out(pat(8), 2 ** 52),
      s.out(pat(8), 0, 1), s.out(pat(8), undefined, 1),
    ]).toEqual([-2, -7, -95, -22, -95, -28]);
    expect(d.datapath.perfEventOutput({ fd: s.ev }, pat(8)), "not a map").toBe(-Errno.EINVAL);
    expect(d.datapath.lookup({ fd: s.map }, u32(0), new Uint8Array(4)), "no program looks a slot up").toBe(-Errno.EINVAL);
    d.munmap(s.ring);
    expect(s.out(pat(8))).toBe(-Errno.ENOSPC);
  });

  it("fills the ring to one byte short, counts what it drops, and writes PERF_RECORD_LOST before the next sample", () => {
    const d = sim({ possibleCpus: 2 });
    const s = setup(d);
    const rs = Array.from({ length: 45 }, (_, i) => s.out(pat(84, i)));
    expect(rs.filter((r) => r === 0).length).toBe(42);
    expect(rs.slice(42)).toEqual([-28, -28, -28]);
    expect(s.head()).toBe(4032);
    s.setTail(96);
    expect(s.out(pat(84, 99))).toBe(0);
    s.setTail(256);
    expect(s.out(pat(84, 99))).toBe(0);
    expect(s.head()).toBe(4248);
    // The LOST record: type 2, misc 0, size 24, the event's id, 3 lost; then the sample, wrapping.
    const lost = s.read(PAGE + 4032, 24);
    expect(hex(lost.subarray(0, 8))).toBe("0200000000001800");
    expect(new DataView(lost.buffer).getBigUint64(16, true)).toBe(3n);
    expect(hex(s.read(PAGE + 4056, 16))).toBe("090000000100600054000000636a7178");
  });

  it("overwrites old records when the first mapping is read-only, and refuses output with no data pages", () => {
    const d = sim({ possibleCpus: 2 });
    const s = setup(d, 2, false);
    expect(new Set(Array.from({ length: 50 }, (_, i) => s.out(pat(84, i))))).toEqual(new Set([0]));
    expect([s.head(), Number(s.u64(1032))]).toEqual([4800, 0]);
    d.munmap(s.ring);
    const hdrOnly = d.mapMmap(s.ev, PAGE, true);
    expect(s.out(pat(8))).toBe(-Errno.ENOSPC);
    const b = new Uint8Array(16);
    d.mmapRead(hdrOnly, 1024, b);
    expect(hex(b)).toBe("00".repeat(16));
    d.munmap(hdrOnly);
  });

  it("writes a record past 64 KiB as the kernel does: header.size and the reservation wrap at u16", () => {
    const d = sim({ possibleCpus: 2 });
    const s = setup(d, 33);
    let last = 0;
    const seen: Array<[number, string]> = [];
    for (const n of [65516, 65520, 65528, 66000]) {
      expect(s.out(pat(n))).toBe(0);
      seen.push([s.head() - last, hex(s.read(PAGE + (last % (32 * PAGE)), 12))]);
      last = s.head();
      s.setTail(last);
    }
    expect(seen).toEqual([[65528, "090000000100f8ffecff0000"], [0, "0900000001000000f4ff0000"], [8, "0900000001000800fcff0000"],
      [480, "090000000100e001d4010100"]]);
  });

  it("wakes poll as wakeup_events and the watermark say, and a poll takes the wake-up", async () => {
    const runs: string[] = [];
    for (const attr of [{ wakeupEvents: 1 }, { wakeupEvents: 3 }, { wakeupEvents: 0 }, { wakeupWatermark: 200 }, { wakeupWatermark: 0 }]) {
      const d = sim({ possibleCpus: 2 });
      const s = setup(d, 2, true, attr);
      let seen = "";
      for (let i = 0; i < 24; i++) {
        s.out(pat(84, i));
        seen += String(await d.mapPoll(s.ev, 0));
      }
      runs.push(seen);
    }
    expect(runs).toEqual([
      "111111111111111111111111", "001001001001001001001101", "000000000000000000000100", "001010101010101010101010",
      "000000000000000000000100",
    ]);
    const d = sim({ possibleCpus: 2 });
    const s = setup(d);
    const wait = d.mapPoll(s.ev, 10_000);
    expect(s.out(pat(8))).toBe(0);
    expect(await wait).toBe(1);
    expect(await d.mapPoll(s.ev, 0), "the wait took the wake-up").toBe(0);
    const unmapped = d.perfEventOpen({ cpu: 0 });
    expect(await d.mapPoll(unmapped, 0)).toBe(0);
    const closing = d.mapPoll(unmapped, 10_000);
    d.close(unmapped);
    expect(await closing).toBe(-Errno.EBADF);
    expect(await d.mapPoll(s.map, 0), "the map itself has no poll").toBe(-Errno.EINVAL);
  });
});
