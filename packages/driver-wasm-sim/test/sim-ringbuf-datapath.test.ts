// A ring buffer's producer side in the simulator (the datapath facet's bpf_ringbuf_* helpers)
// and a reader written here against its mapping: headers and pg_off, positions, the room rule
// against the consumer AND the oldest BUSY record, wraps through the twice-mapped data, flags,
// and query. The numbers are what 6.18 answered to the same sequences, run as socket-filter
// programs by BPF_PROG_TEST_RUN (scripts/probe-ringbuf-sim.py).
import { Errno } from "@bpfkit/core";
import { ringbufProducerFor } from "@bpfkit/testkit";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { sim } from "./sim-helpers.js";

const RINGBUF = 27, HASH = 1;
const PAGE = 4096;
const BUSY = 0x80000000, DISCARD = 0x40000000;
const AVAIL_DATA = 0, RING_SIZE = 1, CONS_POS = 2, PROD_POS = 3;

/** A ring of `size` and mappings of it: the consumer page writable, everything read-only. */
function ring(d: SimDriver, size = PAGE) {
  const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: size });
  if (fd < 0) throw new Error(`mapCreate: ${fd}`);
  const cons = d.mapMmap(fd, PAGE, true, 0);
  const ro = d.mapMmap(fd, 2 * PAGE + 2 * size, false, 0);
  const u64At = (off: number) => {
    const b = new Uint8Array(8);
    d.mmapRead(ro, off, b);
    return new DataView(b.buffer).getBigUint64(0, true);
  };
  return {
    fd, size, ref: { fd },
    consPos: () => u64At(0),
    prodPos: () => u64At(PAGE),
    /** The kernel's pending_pos, the u64 after the producer position on its page. */
    pendingPos: () => u64At(PAGE + 8),
    setCons: (v: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, v, true);
      d.mmapWrite(cons, 0, b);
    },
    /** The header at position `pos`: [len with its bits, pg_off]. */
    hdr: (pos: bigint): [number, number] => {
      const b = new Uint8Array(8);
      d.mmapRead(ro, 2 * PAGE + Number(pos % BigInt(size)), b);
      const v = new DataView(b.buffer);
      return [v.getUint32(0, true), v.getUint32(4, true)];
    },
    /** `n` bytes from data offset `off` onward, read straight through the double mapping. */
    bytes: (off: number, n: number) => {
      const b = new Uint8Array(n);
      d.mmapRead(ro, 2 * PAGE + off, b);
      return b;
    },
  };
}

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed + i) & 0xff);

/**
 * A reader as cilium/ebpf's and libbpf's are: from the consumer position up to the producer's,
 * stop at a BUSY record, skip DISCARD ones, hand out the rest, and store the consumer position.
 */
function readAll(d: SimDriver, r: ReturnType<typeof ring>): Uint8Array[] {
  const out: Uint8Array[] = [];
  let cons = r.consPos();
  const prod = r.prodPos();
  while (cons < prod) {
    const [len] = r.hdr(cons);
    if ((len & BUSY) !== 0) break;
    const size = len & ~(BUSY | DISCARD) >>> 0;
    if ((len & DISCARD) === 0) out.push(r.bytes(Number(cons % BigInt(r.size)) + 8, size));
    cons += BigInt((size + 8 + 7) & ~7);
    r.setCons(cons);
  }
  return out;
}

describe("ringbuf datapath: what 6.18 answered", () => {
  it("writes headers with the sample's length and the page offset from the ring's start, positions rounded to 8", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    expect(dp.ringbufOutput(r.ref, pattern(13, 1))).toBe(0);
    expect([r.consPos(), r.prodPos()]).toEqual([0n, 24n]);
    expect(r.hdr(0n)).toEqual([13, 3]);
    expect(Buffer.from(r.bytes(8, 16)).toString("hex")).toBe("0102030405060708090a0b0c0d000000");
    expect(dp.ringbufOutput(r.ref, new Uint8Array(0))).toBe(0);
    expect(r.prodPos()).toBe(32n);
    expect(r.hdr(24n)).toEqual([0, 3]);
    // Output's flags: only the two wake-up bits.
    expect(dp.ringbufOutput(r.ref, new Uint8Array(8), 3)).toBe(0);
    expect(dp.ringbufOutput(r.ref, new Uint8Array(8), 4)).toBe(-Errno.EINVAL);
    expect(dp.ringbufOutput(r.ref, new Uint8Array(8), 2 ** 32)).toBe(-Errno.EINVAL); // a u64 bit past 31
    expect(dp.ringbufOutput(r.ref, new Uint8Array(8), 1)).toBe(0);
    expect(r.prodPos()).toBe(64n);
    // Reserve's flags: any is the kernel's NULL.
    expect(dp.ringbufReserve(r.ref, 8, 1)).toBe(-Errno.EINVAL);
    const s = dp.ringbufReserve(r.ref, 5);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(r.hdr(64n)).toEqual([(5 | BUSY) >>> 0, 3]);
    dp.ringbufDiscard(s);
    expect(r.prodPos()).toBe(80n);
    expect(r.hdr(64n)).toEqual([(5 | DISCARD) >>> 0, 3]);
    // Submit's flags are not checked.
    const t = dp.ringbufReserve(r.ref, 8);
    dp.ringbufSubmit(t, 0xff);
    expect(r.prodPos()).toBe(96n);
    // Each reserve stepped pending_pos over the committed records before it: to the last one's start.
    expect(r.pendingPos()).toBe(80n);
    expect([AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS, 4].map((f) => dp.ringbufQuery(r.ref, f))).toEqual([96n, 4096n, 0n, 96n, 0n]);
  });

  it("keeps one byte of the ring free: a record the ring's size never fits, the last free bytes do", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    for (let i = 0; i < 4; i++) dp.ringbufSubmit(dp.ringbufReserve(r.ref, 16));
    expect(r.prodPos()).toBe(96n);
    expect(dp.ringbufReserve(r.ref, 4088)).toBe(-Errno.E2BIG); // 4096 with its header
    expect(dp.ringbufReserve(r.ref, 4089)).toBe(-Errno.E2BIG);
    expect(dp.ringbufOutput(r.ref, new Uint8Array(4088))).toBe(-Errno.EAGAIN);
    dp.ringbufSubmit(dp.ringbufReserve(r.ref, 3984));
    expect(r.prodPos()).toBe(4088n);
    expect(dp.ringbufReserve(r.ref, 0)).toBe(-Errno.EAGAIN);
    expect(dp.ringbufQuery(r.ref, AVAIL_DATA)).toBe(4088n);
  });

  it("wraps a record past the data's end, which the mapping reads straight on", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    dp.ringbufSubmit(dp.ringbufReserve(r.ref, 4080));
    r.setCons(4088n);
    expect(dp.ringbufQuery(r.ref, CONS_POS)).toBe(4088n);
    expect(dp.ringbufOutput(r.ref, pattern(400, 7))).toBe(0);
    expect([r.consPos(), r.prodPos()]).toEqual([4088n, 4496n]);
    expect(r.hdr(4088n)).toEqual([400, 3]);
    expect(r.bytes(4096, 400)).toEqual(pattern(400, 7));
    expect(r.bytes(0, 8)).toEqual(pattern(8, 7));
  });

  it("has no room with the consumer position ahead of the producer's or a ring behind it", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    dp.ringbufSubmit(dp.ringbufReserve(r.ref, 4080));
    r.setCons(4088n);
    dp.ringbufOutput(r.ref, pattern(400, 7));
    r.setCons(4596n);
    expect(dp.ringbufOutput(r.ref, new Uint8Array(8))).toBe(-Errno.EAGAIN);
    expect(dp.ringbufQuery(r.ref, AVAIL_DATA)).toBe(2n ** 64n - 100n);
    r.setCons(0n);
    expect(dp.ringbufOutput(r.ref, new Uint8Array(8))).toBe(-Errno.EAGAIN);
    expect(r.prodPos()).toBe(4496n);
  });

  it("numbers pg_off by the header's page, from 3", () => {
    const d = sim();
    const r = ring(d, 4 * PAGE);
    const dp = d.datapath;
    for (let i = 0; i < 5; i++) dp.ringbufOutput(r.ref, pattern(504, i));
    let n = 0;
    for (;;) {
      const s = dp.ringbufReserve(r.ref, 2000);
      if (s < 0) break;
      dp.ringbufSubmit(s);
      n++;
    }
    expect(n).toBe(6);
    const seen: Array<[number, number, number]> = [];
    for (let p = 0n; p < r.prodPos();) {
      const [len, pg] = r.hdr(p);
      seen.push([Number(p), len, pg]);
      p += BigInt((len + 8 + 7) & ~7);
    }
    expect(seen).toEqual([[0, 504, 3], [512, 504, 3], [1024, 504, 3], [1536, 504, 3], [2048, 504, 3], [2560, 2000, 3],
      [4568, 2000, 4], [6576, 2000, 4], [8584, 2000, 5], [10592, 2000, 5], [12600, 2000, 6]]);
  });

  it("bounds the room by the oldest BUSY record as well as by the consumer", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    // The consumer position set ahead: alone it would allow both records below.
    r.setCons(2008n);
    const a = dp.ringbufReserve(r.ref, 2000);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(dp.ringbufReserve(r.ref, 2500)).toBe(-Errno.EAGAIN);
    expect(r.pendingPos()).toBe(0n);
    const b = dp.ringbufReserve(r.ref, 1000);
    expect(b).toBeGreaterThanOrEqual(0);
    dp.ringbufDiscard(b);
    dp.ringbufDiscard(a);
    expect(r.prodPos()).toBe(3016n);
    // Once the old record is committed, the room is the consumer's again: 5528 - 2008 <= 4095.
    const c = dp.ringbufReserve(r.ref, 2500);
    expect(c).toBeGreaterThanOrEqual(0);
    expect(r.pendingPos()).toBe(3016n);
    dp.ringbufSubmit(c);
  });

  it("shows pending_pos on the producer page, stepped by each reserve, as 6.18 did", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    r.setCons(2008n);
    const a = dp.ringbufReserve(r.ref, 2000);
    expect(dp.ringbufReserve(r.ref, 2500)).toBe(-Errno.EAGAIN);
    dp.ringbufDiscard(a);
    expect([r.prodPos(), r.pendingPos()]).toEqual([2008n, 0n]);
    expect(dp.ringbufOutput(r.ref, new Uint8Array(8))).toBe(0);
    expect(r.pendingPos()).toBe(2008n);
    // A record larger than the ring is refused before pending_pos is stepped; one of its exact size after.
    expect(dp.ringbufReserve(r.ref, 4089)).toBe(-Errno.E2BIG);
    expect(r.pendingPos()).toBe(2008n);
    expect(dp.ringbufReserve(r.ref, 4088)).toBe(-Errno.E2BIG);
    expect(r.pendingPos()).toBe(2024n);
  });
});

describe("ringbuf datapath: a reader over it", () => {
  it("reads every submitted record in order, skipping discarded ones, over many wraps", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const expected: Uint8Array[] = [];
    const got: Uint8Array[] = [];
    let written = 0n;
    for (let i = 0; i < 6000; i++) {
      const size = rand(4) === 0 ? rand(1500) : rand(64);
      const data = pattern(size, i);
      const how = rand(3);
      let ok: boolean;
      if (how === 0) {
        ok = dp.ringbufOutput(r.ref, data) === 0;
        if (ok) expected.push(data);
      } else {
        const s = dp.ringbufReserve(r.ref, size);
        ok = s >= 0;
        if (ok) {
          dp.ringbufWrite(s, 0, data);
          if (how === 1) {
            dp.ringbufSubmit(s);
            expected.push(data);
          } else {
            dp.ringbufDiscard(s);
          }
        }
      }
      if (ok) written += BigInt((size + 8 + 7) & ~7);
      // A reader that falls behind now and then: the producer meets a full ring.
      if (!ok || rand(5) === 0) got.push(...readAll(d, r));
    }
    got.push(...readAll(d, r));
    expect(written).toBeGreaterThan(50n * BigInt(r.size));
    expect(r.prodPos()).toBe(written);
    expect(r.consPos()).toBe(written);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
  });

  it("stops at a BUSY record, whatever was committed after it, until it is submitted", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    expect(dp.ringbufOutput(r.ref, pattern(10, 1))).toBe(0);
    const held = dp.ringbufReserve(r.ref, 20, 0, 1);
    dp.ringbufWrite(held, 0, pattern(20, 2));
    expect(dp.ringbufOutput(r.ref, pattern(30, 3), 0, 0)).toBe(0);
    expect(readAll(d, r)).toEqual([pattern(10, 1)]);
    expect(r.consPos()).toBe(24n);
    expect(readAll(d, r)).toEqual([]);
    dp.ringbufSubmit(held);
    expect(readAll(d, r)).toEqual([pattern(20, 2), pattern(30, 3)]);
    expect(r.consPos()).toBe(r.prodPos());
  });

  it("writes a sample in pieces, wrapping with the record", () => {
    const d = sim();
    const r = ring(d);
    const dp = d.datapath;
    dp.ringbufSubmit(dp.ringbufReserve(r.ref, 4064));
    readAll(d, r);
    const s = dp.ringbufReserve(r.ref, 64); // header at 4072, sample 4080..4143: wraps at 4096
    dp.ringbufWrite(s, 0, pattern(10, 50));
    dp.ringbufWrite(s, 10, pattern(54, 60));
    dp.ringbufSubmit(s);
    const want = new Uint8Array(64);
    want.set(pattern(10, 50));
    want.set(pattern(54, 60), 10);
    expect(readAll(d, r)).toEqual([want]);
  });
});

describe("ringbuf datapath: arguments and lifetimes", () => {
  it("refuses maps that are no ring buffer, and missing ones, as a program could not call them", () => {
    const d = sim();
    const hash = d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    const r = ring(d);
    const dp = d.datapath;
    expect(dp.ringbufOutput({ fd: hash }, new Uint8Array(8))).toBe(-Errno.EINVAL);
    expect(dp.ringbufReserve({ fd: hash }, 8)).toBe(-Errno.EINVAL);
    expect(dp.ringbufQuery({ fd: hash }, 0)).toBe(-BigInt(Errno.EINVAL));
    expect(dp.ringbufOutput({ fd: 99 }, new Uint8Array(8))).toBe(-Errno.EBADF);
    expect(dp.ringbufQuery({ id: 9999 }, 0)).toBe(-BigInt(Errno.ENOENT));
    // Nor do the element helpers take a ring buffer.
    expect(dp.lookup(r.ref, new Uint8Array(0), new Uint8Array(0))).toBe(-Errno.EINVAL);
    expect(dp.push(r.ref, new Uint8Array(0))).toBe(-Errno.EINVAL);
  });

  it("throws TypeError and RangeError naming the call for bad arguments", () => {
    const d = sim({ possibleCpus: 2 });
    const r = ring(d);
    const dp = d.datapath;
    expect(() => dp.ringbufOutput(r.ref, [1, 2] as unknown as Uint8Array)).toThrow(/datapath\.ringbufOutput/);
    expect(() => dp.ringbufOutput(r.ref, new Uint8Array(1), 1.5)).toThrow(TypeError);
    expect(() => dp.ringbufOutput(r.ref, new Uint8Array(1), 0, 2)).toThrow(RangeError);
    expect(() => dp.ringbufReserve(r.ref, -1)).toThrow(/datapath\.ringbufReserve: size/);
    expect(() => dp.ringbufReserve(r.ref, 1.5)).toThrow(TypeError);
    expect(() => dp.ringbufSubmit(7)).toThrow(/datapath\.ringbufSubmit: sample 7 is not reserved/);
    const s = dp.ringbufReserve(r.ref, 8);
    expect(() => dp.ringbufWrite(s, 4, new Uint8Array(5))).toThrow(/datapath\.ringbufWrite: bytes 4\.\.9 are past the 8 bytes of sample/);
    expect(() => dp.ringbufWrite(s, -1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => dp.ringbufQuery(r.ref, undefined as unknown as number)).toThrow(/datapath\.ringbufQuery: flags/);
    dp.ringbufDiscard(s);
    expect(() => dp.ringbufDiscard(s)).toThrow(/datapath\.ringbufDiscard: sample \d+ is not reserved/);
    expect(() => dp.ringbufWrite(s, 0, new Uint8Array(1))).toThrow(RangeError);
  });

  it("gives a size past UINT_MAX / 4 E2BIG, as every record the ring cannot hold", () => {
    const d = sim();
    const r = ring(d);
    expect(d.datapath.ringbufReserve(r.ref, 2 ** 30)).toBe(-Errno.E2BIG);
    expect(d.datapath.ringbufReserve(r.ref, 2 ** 40)).toBe(-Errno.E2BIG);
    expect(d.datapath.ringbufOutput(r.ref, new Uint8Array(5000))).toBe(-Errno.EAGAIN);
  });

  it("keeps the map while a sample is held, as the program holding it does", () => {
    const d = sim();
    const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
    const id = d.liveMapIds().at(-1)!;
    const s = d.datapath.ringbufReserve({ fd }, 8);
    expect(d.close(fd)).toBe(0);
    expect(d.liveMapIds()).toContain(id);
    d.datapath.ringbufSubmit(s);
    expect(d.liveMapIds()).not.toContain(id);
  });
});

describe("simRingbufProducer", () => {
  it("is what ringbufProducerFor gives a simulator, over the same helpers", () => {
    const d = sim();
    const r = ring(d);
    const p = ringbufProducerFor(d)!;
    expect(p.output(r.fd, pattern(3, 1))).toBe(0);
    expect(p.reserveSubmit(r.fd, pattern(5, 2), 1)).toBe(0);
    expect(p.reserveDiscard(r.fd, 7)).toBe(0);
    expect(p.output(r.fd, pattern(3, 1), 8)).toBe(-Errno.EINVAL);
    expect(p.reserveSubmit(r.fd, new Uint8Array(4088))).toBe(-Errno.EAGAIN);
    expect(p.reserveDiscard(r.fd, 5000)).toBe(-Errno.EAGAIN);
    expect(p.query(r.fd, PROD_POS)).toBe(48n);
    expect(readAll(d, r)).toEqual([pattern(3, 1), pattern(5, 2)]);
    p.close();
  });
});
