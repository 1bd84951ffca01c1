// The order of a ring's copies, which the other side relies on (kernel/bpf/ringbuf.c,
// kernel/events/ring_buffer.c): a position that frees room is stored only after the bytes it
// frees were copied out, and one that publishes a record only after the record's header says
// what it is. Each test runs a program at the instant the position is stored (a driver wrapped
// around the one under test), as a program on another CPU could run then, and checks what the
// user-space side copied.
import { afterEach, beforeEach, expect, it } from "vitest";
import { createBpf, memoryLogger, wrapDriver, type Driver, type DriverOverrides } from "@bpfkit/core";
import { ringbufProducerFor, userRingDrainerFor, type KernelUserRingDrainer, type RingbufProducer } from "@bpfkit/testkit";
import { eachDriver, type Env } from "./support/env.js";
import { perfOutputFor, type PerfOutput } from "./support/perf-producer.js";

/** `n` bytes counting up from `from`. */
const bytesFrom = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** A Bpf over `env`'s driver with `overrides`, on `env`'s root. */
function bpfOver(env: Env, overrides: DriverOverrides) {
  return createBpf({ driver: wrapDriver(env.driver, overrides), mapRoot: env.root, logger: memoryLogger() });
}

/** mapMmap as `d`'s, remembering the handle of the mapping made at `offset`. */
function mmapAt(d: Driver, offset: number, keep: (h: number) => void): NonNullable<DriverOverrides["mapMmap"]> {
  return (fd, length, writable, off) => {
    const h = d.mapMmap!(fd, length, writable, off);
    if (off === offset) keep(h);
    return h;
  };
}

eachDriver("RingBufReader: the consumer position moves only after the sample is copied", (get) => {
  let producer: RingbufProducer;
  beforeEach(() => {
    producer = ringbufProducerFor(get().driver)!;
  });
  afterEach(() => producer.close());

  it("a program that fills the room the moment it is given back does not change the sample read", () => {
    const env = get();
    let consumer = -1, fd = -1, refill = false;
    const bpf = bpfOver(env, {
      mapMmap: mmapAt(env.driver, 0, (h) => (consumer = h)),
      mmapWrite: (h, off, src) => {
        const r = env.driver.mmapWrite!(h, off, src);
        // The consumer position stored: a program writes into the room it freed, at once.
        if (h === consumer && refill) {
          refill = false;
          let n = 0;
          while (producer.output(fd, bytesFrom(8, 0xa0 + n)) === 0) n++;
          expect(n).toBeGreaterThan(32);
        }
        return r;
      },
    });
    const rb = env.track(bpf.newRingBuf({ name: "rb_order", maxEntries: 4096 }));
    rb.openOrCreate();
    fd = rb.getFd();
    const r = env.track(rb.reader());
    // Seven records of 512 bytes: 512 bytes left at the end, and the first record's room is the
    // next to be written once it is freed (the refill wraps over it).
    for (let i = 0; i < 7; i++) expect(producer.output(fd, bytesFrom(504, i))).toBe(0);
    refill = true;
    expect(r.read()).toEqual(bytesFrom(504, 0));
    expect(refill).toBe(false);
    for (let i = 1; i < 7; i++) expect(r.read()).toEqual(bytesFrom(504, i));
  });
});

eachDriver("UserRingBufProducer: the producer position moves only over a BUSY header, and BUSY clears only after the sample", (get) => {
  let drainer: KernelUserRingDrainer;
  beforeEach(() => {
    drainer = userRingDrainerFor(get().driver)!;
  });
  afterEach(() => drainer.close());

  /** A sample whose first u64 is `v` (the drain program adds them up). */
  const sample = (v: number): Uint8Array => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    return b;
  };

  it("a program that drains the moment a reservation is published finds it BUSY, and the moment it is submitted finds the sample", () => {
    const env = get();
    let data = -1, fd = -1;
    const drains: { ret: number; sum: bigint; count: number }[] = [];
    const page = env.driver.pageSize ?? 4096;
    const drainNow = () => {
      const { ret, sum, count } = drainer.drain(fd, 0);
      drains.push({ ret, sum, count });
    };
    const bpf = bpfOver(env, {
      mapMmap: mmapAt(env.driver, page, (h) => (data = h)),
      mmapWrite: (h, off, src) => {
        const r = env.driver.mmapWrite!(h, off, src);
        // The producer position stored, or a header stored without BUSY: a program drains at once.
        if (h === data && (off === 0 || (src.length === 8 && (src[3]! & 0x80) === 0))) drainNow();
        return r;
      },
    });
    const rb = env.track(bpf.newUserRingBuf({ name: "urb_order", maxEntries: 4096 }));
    rb.openOrCreate();
    fd = rb.getFd();
    const p = env.track(rb.producer());
    // Over a ring once round, so that the room a reservation takes holds old records' bytes.
    for (let i = 1; i <= 300; i++) {
      drains.length = 0;
      const s = p.reserve(16)!;
      s.data.set(sample(i));
      s.submit();
      // Published BUSY: nothing drained; submitted: the sample, whole.
      expect(drains, `record ${i}`).toEqual([{ ret: 0, sum: 0n, count: 0 }, { ret: 1, sum: BigInt(i), count: 1 }]);
    }
  });
});

eachDriver("PerfReader: data_tail moves only after the sample is copied", (get) => {
  let out: PerfOutput;
  beforeEach(() => {
    out = perfOutputFor(get().driver)!;
  });
  afterEach(() => out.close());

  it("a program that fills the room the moment it is given back does not change the sample read", () => {
    const env = get();
    const rings = new Set<number>();
    let fd = -1, refill = false;
    const bpf = bpfOver(env, {
      mapMmap: (evFd, length, writable, off) => {
        const h = env.driver.mapMmap!(evFd, length, writable, off);
        rings.add(h);
        return h;
      },
      mmapWrite: (h, off, src) => {
        const r = env.driver.mmapWrite!(h, off, src);
        // data_tail (perf_event_mmap_page, byte 1032) stored: a program on CPU 0 writes at once.
        if (rings.has(h) && off === 1032 && refill) {
          refill = false;
          expect(out.output(fd, bytesFrom(252, 0xf0), { cpu: 0 })).toBe(0);
        }
        return r;
      },
    });
    const arr = env.track(bpf.newPerfEventArray({ name: "perf_order" }));
    arr.openOrCreate();
    fd = arr.getFd();
    const r = env.track(arr.reader({ cpus: [0], perCpuBuffer: 4096 }));
    // Records of 264 bytes (the header, the raw size, 252 bytes and 4 of padding): 15 fill 3960
    // of 4096; one more fits only in the room the first gives back, and wraps over it.
    for (let i = 0; i < 15; i++) expect(out.output(fd, bytesFrom(252, i), { cpu: 0 })).toBe(0);
    expect(r.available()).toBe(15 * 264);
    refill = true;
    const first = r.readRecord()!;
    expect(refill).toBe(false);
    expect(first.rawSample.subarray(0, 252)).toEqual(bytesFrom(252, 0));
    for (let i = 1; i < 15; i++) expect(r.readRecord()!.rawSample.subarray(0, 252)).toEqual(bytesFrom(252, i));
    expect(r.readRecord()!.rawSample.subarray(0, 252)).toEqual(bytesFrom(252, 0xf0));
    expect(r.readRecord()).toBeUndefined();
  });
});
