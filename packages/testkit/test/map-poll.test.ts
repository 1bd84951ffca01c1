// Driver.mapPoll on both drivers: poll(2) of a map's fd, as a reader waits for a ring buffer's
// records. The kernel's rules it follows (kernel/bpf/ringbuf.c): ringbuf_map_poll_kern reports
// a ring readable while its consumer position is behind its producer position; a wait that found
// it empty ends when bpf_ringbuf_commit wakes the ring (BPF_RB_FORCE_WAKEUP, or no
// BPF_RB_NO_WAKEUP and the record committed is the one the consumer position points at);
// bpf_map_poll answers EPOLLERR for a map type without poll. What is the driver's own: the answers
// as numbers, the timeout, the signal, and close() ending a wait on its fd with EBADF.
import { readdirSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Errno, type Driver } from "@bpfkit/core";
import { driversUnderTest } from "../src/drivers.js";
import { ringbufProducerFor, type RingbufProducer } from "../src/ringbuf/producer.js";
import { settledWithin } from "../src/settled-within.js";

const RINGBUF = 27, HASH = 1, PAGE = 4096;
const BPF_RB_NO_WAKEUP = 1, BPF_RB_FORCE_WAKEUP = 2;
const BPF_RB_CONS_POS = 2, BPF_RB_PROD_POS = 3;
/** r0 = 0; exit: the smallest socket filter. */
const RETURN_0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);

const openFds = () => readdirSync("/proc/self/fd").length;

for (const under of driversUnderTest()) {
  describe.skipIf(under.unavailable !== undefined)(`Driver.mapPoll on the ${under.name} driver`, () => {
    let d: Driver;
    let producer: RingbufProducer;
    let fds: number[];
    let fdsBefore: number;

    beforeEach(() => {
      fdsBefore = openFds();
      d = under.create();
      if (typeof d.mapPoll !== "function") throw new Error(`the ${under.name} driver has no mapPoll`);
      producer = ringbufProducerFor(d)!;
      fds = [];
    });

    afterEach(async () => {
      producer.close();
      for (const fd of fds) d.close(fd);
      // The kernel driver's epoll fd and eventfd live only while a wait does: once every wait has
      // ended its worker returns and closes them (a moment after the last promise settles).
      if (under.name === "kernel") {
        for (let i = 0; i < 100 && openFds() !== fdsBefore; i++) await new Promise((r) => setTimeout(r, 10));
        expect(openFds(), "fds after the test: every wait's epoll fd and eventfd closed").toBe(fdsBefore);
      }
    });

    const track = (fd: number): number => {
      expect(fd).toBeGreaterThanOrEqual(0);
      fds.push(fd);
      return fd;
    };
    const ring = () => track(d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE }));
    const poll = (fd: number, timeoutMs: number, signal?: AbortSignal) => d.mapPoll!(fd, timeoutMs, signal);
    /** Takes every record: the consumer position written up to the producer's, as a reader does. */
    const consumeAll = (fd: number) => {
      const cons = d.mapMmap!(fd, PAGE, true);
      expect(cons).toBeGreaterThanOrEqual(0);
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, producer.query(fd, BPF_RB_PROD_POS), true);
      expect(d.mmapWrite!(cons, 0, b)).toBe(0);
      expect(d.munmap!(cons)).toBe(0);
    };

    it("an empty ring: 0 at once for a timeout of 0, 0 when the timeout passes", async () => {
      const fd = ring();
      expect(await poll(fd, 0)).toBe(0);
      expect(await poll(fd, 20)).toBe(0);
    });

    it("a ring holding a record is readable at once, whatever flags it was committed with", async () => {
      const fd = ring();
      expect(producer.output(fd, Uint8Array.of(1, 2, 3), BPF_RB_NO_WAKEUP)).toBe(0);
      expect(await poll(fd, 0)).toBe(1);
      expect(await settledWithin(poll(fd, Number.POSITIVE_INFINITY), 2000)).toBe(1);
      // A discarded record still counts: the consumer position is behind the producer's.
      const other = ring();
      expect(producer.reserveDiscard(other, 8, BPF_RB_NO_WAKEUP)).toBe(0);
      expect(await poll(other, 0)).toBe(1);
    });

    it("a wait ends with 1 when a program commits the record the consumer position points at", async () => {
      const fd = ring();
      let w = poll(fd, 10_000);
      expect(producer.output(fd, Uint8Array.of(7))).toBe(0);
      expect(await settledWithin(w, 2000)).toBe(1);
      // After a reader took it, the next record is the one the consumer points at again: submit
      // and discard commit the same way.
      consumeAll(fd);
      expect(await poll(fd, 0)).toBe(0);
      w = poll(fd, 10_000);
      expect(producer.reserveSubmit(fd, Uint8Array.of(8, 9))).toBe(0);
      expect(await settledWithin(w, 2000)).toBe(1);
      consumeAll(fd);
      w = poll(fd, 10_000);
      expect(producer.reserveDiscard(fd, 16)).toBe(0);
      expect(await settledWithin(w, 2000)).toBe(1);
      expect(producer.query(fd, BPF_RB_CONS_POS)).toBe(32n);
    });

    it("NO_WAKEUP wakes no one, nor does a record behind it; FORCE_WAKEUP does", async () => {
      const fd = ring();
      const w = poll(fd, 10_000);
      expect(producer.output(fd, Uint8Array.of(1), BPF_RB_NO_WAKEUP)).toBe(0);
      // The consumer points at the first record, not at this one: no wake-up without FORCE.
      expect(producer.output(fd, Uint8Array.of(2))).toBe(0);
      expect(await settledWithin(w, 60)).toBe("pending");
      expect(producer.output(fd, Uint8Array.of(3), BPF_RB_FORCE_WAKEUP)).toBe(0);
      expect(await settledWithin(w, 2000)).toBe(1);
    });

    it("a wait with records there but no wake-up times out with 0", async () => {
      const fd = ring();
      const w = poll(fd, 50);
      expect(producer.reserveSubmit(fd, Uint8Array.of(4), BPF_RB_NO_WAKEUP)).toBe(0);
      expect(await w).toBe(0);
      expect(await poll(fd, 0)).toBe(1);
    });

    it("every wait on the ring ends, through any of its fds; another ring's does not", async () => {
      const a = ring(), b = ring();
      const dupA = typeof d.dup === "function" ? track(d.dup(a)) : a;
      const waits = [poll(a, 10_000), poll(a, 10_000), poll(dupA, 10_000)];
      const other = poll(b, 10_000);
      expect(producer.output(a, Uint8Array.of(5))).toBe(0);
      expect(await settledWithin(Promise.all(waits), 2000)).toEqual([1, 1, 1]);
      expect(await settledWithin(other, 60)).toBe("pending");
      expect(producer.output(b, Uint8Array.of(6))).toBe(0);
      expect(await settledWithin(other, 2000)).toBe(1);
    });

    it("an abort ends the wait with 0; a signal aborted before the call answers 0", async () => {
      const fd = ring(), other = ring();
      const ac = new AbortController();
      const w = poll(fd, Number.POSITIVE_INFINITY, ac.signal);
      expect(await settledWithin(w, 30)).toBe("pending");
      ac.abort(new Error("stop"));
      expect(await settledWithin(w, 2000)).toBe(0);
      expect(await settledWithin(poll(fd, 10_000, ac.signal), 2000)).toBe(0);
      // It answers first, whatever the fd: one with a record, one not open.
      expect(producer.output(other, Uint8Array.of(2))).toBe(0);
      expect([await poll(other, 0, ac.signal), await poll(9999, 0, ac.signal)]).toEqual([0, 0]);
      // The ring was never woken: a record now still wakes a new wait.
      const again = poll(fd, 10_000);
      expect(producer.output(fd, Uint8Array.of(1))).toBe(0);
      expect(await settledWithin(again, 2000)).toBe(1);
    });

    it("close() of the fd during a wait ends it with -EBADF; a wait through a dup lives on", async () => {
      const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
      expect(fd).toBeGreaterThanOrEqual(0);
      const dup = typeof d.dup === "function" ? track(d.dup(fd)) : -1;
      const w = poll(fd, Number.POSITIVE_INFINITY);
      const viaDup = dup >= 0 ? poll(dup, 10_000) : undefined;
      expect(d.close(fd)).toBe(0);
      expect(await settledWithin(w, 2000)).toBe(-Errno.EBADF);
      if (viaDup !== undefined) {
        expect(await settledWithin(viaDup, 30)).toBe("pending");
        expect(producer.output(dup, Uint8Array.of(1))).toBe(0);
        expect(await settledWithin(viaDup, 2000)).toBe(1);
      }
    });

    it("refusals: an fd not open is -EBADF, a map type without poll -EINVAL; a program is readable", async () => {
      const hash = track(d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      expect(await poll(hash, 10_000)).toBe(-Errno.EINVAL);
      expect(await poll(hash, 0)).toBe(-Errno.EINVAL);
      expect(await poll(9999, 10_000)).toBe(-Errno.EBADF);
      expect(await poll(-1, 10_000)).toBe(-Errno.EBADF);
      const prog = track(d.progLoad({ progType: 1, insns: RETURN_0, license: "GPL" }));
      expect(await settledWithin(poll(prog, 10_000), 2000)).toBe(1);
    });

    it("bad arguments throw before any wait: the fd, the timeout, the signal", () => {
      const fd = ring();
      for (const bad of [1.5, Number.NaN, "3"]) expect(() => d.mapPoll!(bad as number, 0), String(bad)).toThrow(TypeError);
      for (const bad of [-1, 2 ** 31, Number.NaN, 1.5]) expect(() => poll(fd, bad), String(bad)).toThrow(RangeError);
      expect(() => d.mapPoll!(fd, "10" as unknown as number)).toThrow(TypeError);
      expect(() => d.mapPoll!(fd, 0, {} as AbortSignal)).toThrow(TypeError);
    });
  });
}
