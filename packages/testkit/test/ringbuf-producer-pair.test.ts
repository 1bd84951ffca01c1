// RingbufProducer.reservePair on both drivers: one program holding two reservations, so that the
// second reserve meets the first still BUSY. The room is bounded by the consumer position and by
// that record (pending_pos), as docs/kernel-notes.md measured: with the consumer position written
// to 2008 in a 4 KiB ring, a program holding 2000 bytes cannot reserve 2500 more, and can 1000.
import { type Driver, Errno } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { driversUnderTest } from "../src/drivers.js";
import { type RingbufProducer, ringbufProducerFor } from "../src/ringbuf/producer.js";
import type { PairCommit } from "../src/ringbuf/programs.js";

const RINGBUF = 27, PAGE = 4096;

/** A 4 KiB ring with its consumer position at `cons`, for `fn`; it gets the ring's pages as a reader. */
function withRing(d: Driver, cons: bigint, fn: (p: RingbufProducer, fd: number, read: () => { prod: bigint; pending: bigint; hdr: (at: number) => number }) => void): void {
  const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
  expect(fd).toBeGreaterThanOrEqual(0);
  const p = ringbufProducerFor(d)!;
  const all = d.mapMmap!(fd, 4 * PAGE, false);
  const c = d.mapMmap!(fd, PAGE, true);
  try {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, cons, true);
    expect(d.mmapWrite!(c, 0, b)).toBe(0);
    const read = () => {
      const pages = new Uint8Array(4 * PAGE);
      expect(d.mmapRead!(all, 0, pages)).toBe(0);
      const v = new DataView(pages.buffer);
      return { prod: v.getBigUint64(PAGE, true), pending: v.getBigUint64(PAGE + 8, true), hdr: (at: number) => v.getUint32(2 * PAGE + at, true) };
    };
    fn(p, fd, read);
  } finally {
    p.close();
    d.munmap!(all);
    d.munmap!(c);
    d.close(fd);
  }
}

const SUBMIT_BOTH: PairCommit = { first: "submit", second: "submit", secondFirst: false };

for (const du of driversUnderTest()) {
  describe.skipIf(du.unavailable !== undefined)(`RingbufProducer.reservePair on the ${du.name} driver`, () => {
    it("the second reserve's room is bounded by the first, still BUSY: 2500 bytes do not fit, 1000 do", () => {
      const d = du.create();
      withRing(d, 2008n, (p, fd, read) => {
        // 2008 + 2504 - 2008 is within the ring, but 4520 - 0 (the BUSY record's position) is not.
        expect(p.reservePair(fd, 2000, 2500, SUBMIT_BOTH)).toBe(1);
        const r = read();
        expect([r.prod, r.hdr(0)]).toEqual([2008n, 2000]);
      });
      withRing(d, 2008n, (p, fd, read) => {
        expect(p.reservePair(fd, 2000, 1000, { first: "discard", second: "submit", secondFirst: true })).toBe(0);
        const r = read();
        expect([r.prod, r.hdr(0), r.hdr(2008)]).toEqual([3016n, 0x4000_0000 | 2000, 1000]);
        // pending_pos moves only in a reserve: the second's found the first BUSY at 0.
        expect(r.pending).toBe(0n);
      });
    });

    it("a first reserve with no room is -EAGAIN and writes nothing; commit flags are not checked", () => {
      const d = du.create();
      withRing(d, 0n, (p, fd, read) => {
        expect(p.reservePair(fd, 4081, 0, SUBMIT_BOTH)).toBe(-Errno.EAGAIN);
        expect(read().prod).toBe(0n);
        expect(p.reservePair(fd, 8, 16, { first: "submit", second: "discard", secondFirst: false }, 0x80)).toBe(0);
        const r = read();
        expect([r.prod, r.hdr(0), r.hdr(16)]).toEqual([40n, 8, 0x4000_0000 | 16]);
      });
    });
  });
}
