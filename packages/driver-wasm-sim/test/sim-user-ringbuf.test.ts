// BPF_MAP_TYPE_USER_RINGBUF in the simulator: create, mmap (roles swapped: the consumer page
// read-only, the producer page and data writable), memlock, poll (EPOLLOUT while there is room),
// and the datapath's bpf_user_ringbuf_drain with the kernel's record checks. The numbers are
// 6.18's (docs/probes/user_ringbuf.py; the drain cases are compared with a real program in
// packages/driver-kernel/test/user-ringbuf-drain.test.ts).
import { Errno } from "@bpfkit/core";
import { runUserRingDrainCase, simUserRingDrain, USER_RING_DRAIN_CASES, UserRingWriter } from "@bpfkit/testkit";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { sim } from "./sim-helpers.js";

const USER_RINGBUF = 31, RINGBUF = 27, ARRAY = 2, PAGE = 4096;

function ring(d: SimDriver, size = PAGE): number {
  const fd = d.mapCreate({ mapType: USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: size });
  expect(fd).toBeGreaterThanOrEqual(0);
  return fd;
}

describe("sim USER_RINGBUF: create, mmap, memlock", () => {
  it("is created under ringbuf_map_alloc's rules", () => {
    const d = sim();
    const bad = [
      { keySize: 4, valueSize: 0, maxEntries: PAGE }, { keySize: 0, valueSize: 4, maxEntries: PAGE },
      { keySize: 0, valueSize: 0, maxEntries: PAGE - 1 }, { keySize: 0, valueSize: 0, maxEntries: 3 * PAGE },
      { keySize: 0, valueSize: 0, maxEntries: PAGE, mapFlags: 8 /* BPF_F_RDONLY */ },
    ];
    for (const a of bad) expect(d.mapCreate({ mapType: USER_RINGBUF, ...a })).toBe(-Errno.EINVAL);
    const fd = d.mapCreate({ mapType: USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE, mapFlags: 4 /* NUMA_NODE */ });
    expect(fd).toBeGreaterThanOrEqual(0);
    // ringbuf_map_mem_usage, as 6.18's fdinfo says for a 4 KiB ring.
    const info = d.mapFdInfo(fd);
    expect(typeof info === "number" ? info : info.memlock).toBe(16728);
    expect(d.close(fd)).toBe(0);
  });

  it("maps the producer page and the data writable, never the consumer page", () => {
    const d = sim();
    const fd = ring(d);
    const cases: Array<[length: number, writable: boolean, offset: number, errno: number]> = [
      [PAGE, true, 0, Errno.EPERM], [2 * PAGE, true, 0, Errno.EPERM], [PAGE, false, 0, 0],
      [PAGE, true, PAGE, 0], [PAGE + 2 * PAGE, true, PAGE, 0], [2 * PAGE, true, 2 * PAGE, 0],
      [PAGE + 2 * PAGE + PAGE, true, PAGE, Errno.EINVAL], [2 * PAGE + 2 * PAGE, false, 0, 0],
      [3 * PAGE + 2 * PAGE, false, 0, Errno.EINVAL],
    ];
    for (const [length, writable, offset, errno] of cases) {
      const h = d.mapMmap(fd, length, writable, offset);
      expect([length, writable, offset, h < 0 ? -h : 0]).toEqual([length, writable, offset, errno]);
      if (h >= 0) expect(d.munmap(h)).toBe(0);
    }
    // A kernel-producer ring is the other way round.
    const rb = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
    expect(d.mapMmap(rb, PAGE, true, PAGE)).toBe(-Errno.EPERM);
    d.close(rb);
    d.close(fd);
  });

  it("element calls answer as a RINGBUF's, and the ringbuf helpers refuse it", () => {
    const d = sim();
    const fd = ring(d);
    const rb = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
    const k = new Uint8Array(0), v = new Uint8Array(0);
    expect(d.mapLookupElem(fd, k, v)).toBe(d.mapLookupElem(rb, k, v));
    expect(d.mapUpdateElem(fd, k, v, 0)).toBe(d.mapUpdateElem(rb, k, v, 0));
    expect(d.datapath.ringbufOutput({ fd }, new Uint8Array(8))).toBe(-Errno.EINVAL);
    expect(d.datapath.ringbufReserve({ fd }, 8)).toBe(-Errno.EINVAL);
    expect(d.datapath.ringbufQuery({ fd }, 0)).toBe(BigInt(-Errno.EINVAL));
    // And the drain takes nothing but a USER_RINGBUF.
    expect(d.datapath.userRingbufDrain({ fd: rb }, () => 0)).toBe(-Errno.EINVAL);
    const arr = d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(d.datapath.userRingbufDrain({ fd: arr }, () => 0)).toBe(-Errno.EINVAL);
    for (const f of [fd, rb, arr]) d.close(f);
  });
});

describe("sim USER_RINGBUF: bpf_user_ringbuf_drain", () => {
  for (const c of USER_RING_DRAIN_CASES) {
    it(c.name, () => {
      const d = sim();
      const out = runUserRingDrainCase(d, c, simUserRingDrain(d));
      expect(out.map((o) => [o.ret, o.sum, o.count, o.consumerPos])).toEqual(c.drains);
    });
  }

  it("a drain from inside a drain's callback is EBUSY; after it, drains work again", () => {
    const d = sim();
    const fd = ring(d);
    const w = new UserRingWriter(d, fd, PAGE);
    w.write([{ len: 8 }, { len: 8 }]);
    const inner: number[] = [];
    expect(d.datapath.userRingbufDrain({ fd }, () => { inner.push(d.datapath.userRingbufDrain({ fd }, () => 0)); })).toBe(2);
    expect(inner).toEqual([-Errno.EBUSY, -Errno.EBUSY]);
    w.write([{ len: 8 }]);
    expect(d.datapath.userRingbufDrain({ fd }, () => 0)).toBe(1);
    w.close();
    d.close(fd);
  });

  it("a callback answering other than 0 or 1 is a RangeError; a throwing one leaves its record", () => {
    const d = sim();
    const fd = ring(d);
    const w = new UserRingWriter(d, fd, PAGE);
    w.write([{ len: 8 }]);
    expect(() => d.datapath.userRingbufDrain({ fd }, () => 2)).toThrow(/answered 2/);
    expect(() => d.datapath.userRingbufDrain({ fd }, () => { throw new Error("boom"); })).toThrow("boom");
    expect(w.consumerPos()).toBe(0n);
    expect(d.datapath.userRingbufDrain({ fd }, () => 0)).toBe(1);
    w.close();
    d.close(fd);
  });

  it("stops after BPF_MAX_USER_RINGBUF_SAMPLES records, discarded ones counted", () => {
    const d = sim();
    // 2^21 bytes: 131072 + 10 records of 8 bytes (16 with their headers) fit.
    const size = 1 << 22;
    const fd = ring(d, size);
    const w = new UserRingWriter(d, fd, size);
    const n = 131072 + 10;
    w.write(Array.from({ length: n }, (_, i) => (i === 0 ? { len: 8, state: "discard" as const } : { len: 8 })));
    expect(d.datapath.userRingbufDrain({ fd }, () => 0)).toBe(131071);
    expect(d.datapath.userRingbufDrain({ fd }, () => 0)).toBe(10);
    w.close();
    d.close(fd);
  });
});

describe("sim USER_RINGBUF: mapPoll is EPOLLOUT while there is room", () => {
  it("ready while producer - consumer < size; a drain wakes a writer waiting for room", async () => {
    const d = sim();
    const fd = ring(d);
    const w = new UserRingWriter(d, fd, PAGE);
    expect(await d.mapPoll(fd, 0)).toBe(1);
    w.setProducerPos(BigInt(PAGE - 8));
    expect(await d.mapPoll(fd, 0)).toBe(1);
    w.setProducerPos(BigInt(PAGE));
    expect(await d.mapPoll(fd, 0)).toBe(0);
    // Behind the consumer: an unsigned long's wrap, no room.
    w.setProducerPos(2n ** 64n - 8n);
    expect(await d.mapPoll(fd, 0)).toBe(0);
    w.setProducerPos(0n);
    w.write([{ len: PAGE - 8 }]);
    expect(w.producerPos()).toBe(BigInt(PAGE));
    const waiting = d.mapPoll(fd, 5000);
    // A drain with NO_WAKEUP wakes no one, though it made room.
    expect(d.datapath.userRingbufDrain({ fd }, () => 0, 1)).toBe(1);
    expect(await Promise.race([waiting, new Promise((r) => setTimeout(() => r("pending"), 20))])).toBe("pending");
    // A drain that found nothing wakes no one either; FORCE_WAKEUP does.
    expect(d.datapath.userRingbufDrain({ fd }, () => 0)).toBe(0);
    expect(await Promise.race([waiting, new Promise((r) => setTimeout(() => r("pending"), 20))])).toBe("pending");
    expect(d.datapath.userRingbufDrain({ fd }, () => 0, 2)).toBe(0);
    expect(await waiting).toBe(1);
    w.close();
    d.close(fd);
  });

  it("a drain that took records wakes the writer", async () => {
    const d = sim();
    const fd = ring(d);
    const w = new UserRingWriter(d, fd, PAGE);
    w.write([{ len: PAGE - 8 }]);
    const waiting = d.mapPoll(fd, 5000);
    expect(d.datapath.userRingbufDrain({ fd }, () => 0)).toBe(1);
    expect(await waiting).toBe(1);
    w.close();
    d.close(fd);
  });
});
