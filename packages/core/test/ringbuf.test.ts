// BpfRingBuf and RingBufReader: records a program writes (on the kernel, a program run by
// BPF_PROG_TEST_RUN; on the simulator, its datapath) come out of the reader in order, whole,
// across the end of the ring, with discarded ones passed over and the room given back; refusals
// are the kernel's errnos, explained.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BPF_MAP_TYPE_RINGBUF, BPF_RB_FORCE_WAKEUP, BpfError, BpfRingBuf, createBpf, Errno, memoryLogger, u32, wrapDriver, type RingBufReader, type UserRingBufProducer,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { ringbufProducerFor, type RingbufProducer } from "@bpfkit/testkit";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, type Env } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

/** `n` bytes counting up from `from`: each record tells itself from its neighbours. */
const bytesFrom = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

eachDriver("BpfRingBuf: records from programs through the reader", (get) => {
  let producer: RingbufProducer;
  beforeEach(() => {
    const p = ringbufProducerFor(get().driver);
    if (p === undefined) throw new Error(`no ring buffer producer for the ${get().kind} driver`);
    producer = p;
  });
  afterEach(() => producer.close());

  /** A fresh 4 KiB ring (pinned) and its reader, both closed after the test. */
  function ring(env: Env, name = "rb_events", size = 4096): { rb: BpfRingBuf; r: RingBufReader } {
    const rb = env.track(env.bpf.newRingBuf({ name, maxEntries: size }));
    expect(rb.openOrCreate()).toBe(true);
    return { rb, r: env.track(rb.reader()) };
  }

  it("records come out in order, each its own bytes, then undefined; the room goes back", () => {
    const env = get();
    const { rb, r } = ring(env);
    expect(rb.info()).toMatchObject({ type: BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    expect([r.read(), r.available(), r.size]).toEqual([undefined, 0, 4096]);
    const fd = rb.getFd();
    for (const [n, from] of [[1, 10], [8, 20], [13, 30]] as const) expect(producer.output(fd, bytesFrom(n, from))).toBe(0);
    // Each record is an 8-byte header and its sample, rounded up to 8: 16 + 16 + 24.
    expect(r.available()).toBe(56);
    expect(r.read()).toEqual(bytesFrom(1, 10));
    expect(r.available()).toBe(40);
    expect(r.read()).toEqual(bytesFrom(8, 20));
    expect(r.read()).toEqual(bytesFrom(13, 30));
    expect([r.read(), r.available()]).toEqual([undefined, 0]);
    expect(producer.query(fd, 2 /* BPF_RB_CONS_POS */)).toBe(56n);
  });

  it("readInto fills the caller's buffer; one too short is a RangeError that takes nothing", () => {
    const env = get();
    const { rb, r } = ring(env);
    const fd = rb.getFd();
    for (const [n, from] of [[3, 1], [9, 2], [0, 3]] as const) expect(producer.output(fd, bytesFrom(n, from))).toBe(0);
    expect(producer.reserveDiscard(fd, 4)).toBe(0);
    expect(producer.output(fd, bytesFrom(5, 4))).toBe(0);
    const buf = new Uint8Array(8).fill(0xee);
    expect(r.readInto(buf)).toBe(3);
    expect(buf).toEqual(Uint8Array.of(...bytesFrom(3, 1), 0xee, 0xee, 0xee, 0xee, 0xee));
    const left = r.available();
    expect(() => r.readInto(buf)).toThrow(new RangeError("readInto rb_events: the next sample is 9 bytes and dst holds 8: nothing was taken"));
    expect(r.available()).toBe(left);
    const big = new Uint8Array(16);
    expect(r.readInto(big)).toBe(9);
    expect(big.subarray(0, 9)).toEqual(bytesFrom(9, 2));
    expect(r.readInto(new Uint8Array(0))).toBe(0);
    // The discarded record is passed over, as read() does.
    expect(r.readInto(big)).toBe(5);
    expect(big.subarray(0, 5)).toEqual(bytesFrom(5, 4));
    expect([r.readInto(big), r.available()]).toEqual([undefined, 0]);
    expect(() => r.readInto([1, 2] as never)).toThrow(new TypeError("readInto rb_events: dst must be a Uint8Array"));
    r.close();
    expect(thrownBpfError(() => r.readInto(big)).errno).toBe(Errno.EBADF);
  });

  it("a discarded record is passed over; a reserved-then-submitted one reads as an output one", () => {
    const env = get();
    const { rb, r } = ring(env);
    const fd = rb.getFd();
    expect(producer.output(fd, bytesFrom(4, 1))).toBe(0);
    expect(producer.reserveDiscard(fd, 24)).toBe(0);
    expect(producer.reserveSubmit(fd, bytesFrom(5, 2))).toBe(0);
    const got: Uint8Array[] = [];
    expect(r.drain((s) => got.push(s))).toBe(2);
    expect(got).toEqual([bytesFrom(4, 1), bytesFrom(5, 2)]);
    expect(r.available()).toBe(0);
  });

  it("across the end of the ring, records read whole, many times over", () => {
    const env = get();
    const { rb, r } = ring(env);
    const fd = rb.getFd();
    // 8 + 200 bytes a record: 4096 is no multiple of 208, so records straddle the end.
    for (let i = 0; i < 60; i++) {
      expect(producer.output(fd, bytesFrom(200, i))).toBe(0);
      if (i % 3 === 2) {
        const got: Uint8Array[] = [];
        expect(r.drain((s) => got.push(s))).toBe(3);
        expect(got).toEqual([bytesFrom(200, i - 2), bytesFrom(200, i - 1), bytesFrom(200, i)]);
      }
    }
    expect(producer.query(fd, 3 /* BPF_RB_PROD_POS */)).toBe(60n * 208n);
  });

  it("a full ring refuses the program (EAGAIN) until the reader takes a record", () => {
    const env = get();
    const { rb, r } = ring(env);
    const fd = rb.getFd();
    let n = 0;
    while (producer.output(fd, bytesFrom(504, n)) === 0) n++;
    // The producer never comes a whole ring ahead of the consumer: 7 records of 512 fit in 4096.
    expect(n).toBe(7);
    expect(producer.output(fd, bytesFrom(504, 99))).toBe(-Errno.EAGAIN);
    expect(r.read()).toEqual(bytesFrom(504, 0));
    expect(producer.output(fd, bytesFrom(504, 7))).toBe(0);
    expect(producer.output(fd, bytesFrom(504, 99))).toBe(-Errno.EAGAIN);
    const got: Uint8Array[] = [];
    expect(r.drain((s) => got.push(s), { max: 3 })).toBe(3);
    expect(got).toEqual([1, 2, 3].map((i) => bytesFrom(504, i)));
    expect(r.available()).toBe(4 * 512);
  });

  it("drain's callback that throws has had its record: the next drain starts after it", () => {
    const env = get();
    const { rb, r } = ring(env);
    for (let i = 0; i < 3; i++) producer.output(rb.getFd(), bytesFrom(3, i));
    const boom = new Error("callback");
    expect(() => r.drain(() => { throw boom; })).toThrow(boom);
    const rest: Uint8Array[] = [];
    expect(r.drain((s) => rest.push(s))).toBe(2);
    expect(rest).toEqual([bytesFrom(3, 1), bytesFrom(3, 2)]);
  });

  it("drain's callback that takes records itself (read, drain) or closes the reader: no record twice, no EBADF", () => {
    const env = get();
    const { rb, r } = ring(env);
    const fd = rb.getFd();
    for (let i = 0; i < 6; i++) expect(producer.output(fd, bytesFrom(3, i))).toBe(0);
    // A two-record message: the callback reads the second half itself; then a nested drain.
    const seen: Uint8Array[] = [];
    expect(r.drain((s) => {
      seen.push(s);
      if (seen.length === 1) seen.push(r.read()!);
      if (seen.length === 3) expect(r.drain((t) => seen.push(t), { max: 2 })).toBe(2);
    })).toBe(3);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5].map((i) => bytesFrom(3, i)));
    expect([r.available(), producer.query(fd, 2 /* BPF_RB_CONS_POS */)]).toEqual([0, 6n * 16n]);
    // Shutting down from the callback: drain returns what it took, the rest stays in the ring.
    for (let i = 0; i < 3; i++) expect(producer.output(fd, bytesFrom(3, i))).toBe(0);
    expect(r.drain(() => r.close())).toBe(1);
    expect(producer.query(fd, 2 /* BPF_RB_CONS_POS */)).toBe(7n * 16n);
  });

  it("next() waits for a record and resolves undefined after its timeout; for await ends when the reader closes", async () => {
    const env = get();
    const { rb, r } = ring(env);
    const fd = rb.getFd();
    expect(await r.next({ timeoutMs: 20, pollMs: 5 })).toBeUndefined();
    setTimeout(() => producer.output(fd, bytesFrom(6, 7)), 15);
    expect(await r.next({ pollMs: 2 })).toEqual(bytesFrom(6, 7));
    await expect(r.next({ signal: {} as never })).rejects.toThrow(new TypeError("next rb_events: options.signal must be an AbortSignal"));
    await expect(r.next({ pollMs: 0 })).rejects.toThrow(RangeError);
    // Past setTimeout's longest delay a timer fires after 1 ms: refused, not polled every 1 ms.
    await expect(r.next({ pollMs: 2 ** 31, timeoutMs: 5 })).rejects.toThrow(new RangeError(`next rb_events: options.pollMs must be a number > 0 and ≤ ${2 ** 31 - 1}, got ${2 ** 31}`));
    await expect(r.next({ timeoutMs: -1 })).rejects.toThrow(RangeError);
    const abort = new AbortController();
    const waiting = r.next({ signal: abort.signal });
    abort.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    producer.output(fd, bytesFrom(2, 1));
    producer.output(fd, bytesFrom(2, 2));
    const seen: Uint8Array[] = [];
    for await (const s of r) {
      seen.push(s);
      if (seen.length === 2) setTimeout(() => r.close(), 5);
    }
    expect(seen).toEqual([bytesFrom(2, 1), bytesFrom(2, 2)]);
    expect(r.isOpen()).toBe(false);
  });

  it("the reader holds the map: after the ring's close() it still reads what programs wrote", () => {
    const env = get();
    const rb = env.track(env.bpf.newRingBuf({ name: "rb_held", maxEntries: 8192 }));
    rb.openOrCreateUnpinned();
    const fd = rb.getFd();
    const id = rb.info().id;
    const r = env.track(rb.reader());
    expect(producer.output(fd, bytesFrom(9, 3))).toBe(0);
    rb.close();
    expect(r.read()).toEqual(bytesFrom(9, 3));
    const again = env.driver.mapGetFdById(id);
    expect(again).toBeGreaterThanOrEqual(0);
    env.driver.close(again);
    r.close();
    r.close();
    const e = thrownBpfError(() => r.read());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EBADF, "read", "rb_held"]);
  });

  it("openRingBuf opens the pin; a read-only open maps nothing, and says why", () => {
    const env = get();
    const { rb } = ring(env, "rb_pin");
    const same = env.track(env.otherBpf().openRingBuf("rb_pin"));
    expect(same.maxEntries).toBe(4096);
    using r2 = same.reader();
    producer.output(rb.getFd(), bytesFrom(3, 3));
    expect(r2.read()).toEqual(bytesFrom(3, 3));
    const ro = env.track(env.otherBpf().openRingBuf("rb_pin", { readOnly: true }));
    const e = thrownBpfError(() => ro.reader());
    expect([e.op, e.map]).toEqual(["reader", "rb_pin"]);
    expect(e.message).toMatch(/: permission denied \(mmap of the consumer position's page, writable: the ring buffer was opened read-only \(BPF_F_RDONLY\): a reader maps its pages, which the kernel allows only through an fd that reads and writes; open it read-write\)$/);
  });

  it("a frozen ring maps no reader: the kernel maps no page of a frozen map writable, and the error says why", () => {
    const env = get();
    const rb = env.track(env.bpf.newRingBuf({ name: "rb_frozen", maxEntries: 4096 }));
    rb.openOrCreate();
    rb.freeze();
    const before = openFdsOf(env.driver);
    const e = thrownBpfError(() => rb.reader());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EPERM, "reader", "rb_frozen"]);
    expect(e.message).toBe("reader rb_frozen: operation not permitted (mmap of the consumer position's page, writable: the ring buffer is frozen (BPF_MAP_FREEZE): " +
      "the kernel maps no page of a frozen map writable, and a reader must write the consumer position)");
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("positions no reader wrote are refused by name: EINVAL, nothing read", () => {
    const env = get();
    const { rb, r } = ring(env);
    producer.output(rb.getFd(), bytesFrom(3, 3));
    // Another writer of the consumer page moves it past the producer.
    const h = env.driver.mapMmap!(rb.getFd(), 4096, true, 0);
    expect(h).toBeGreaterThanOrEqual(0);
    try {
      expect(env.driver.mmapWrite!(h, 0, Uint8Array.of(64, 0, 0, 0, 0, 0, 0, 0))).toBe(0);
      const e = thrownBpfError(() => r.read());
      expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "read", "rb_events"]);
      expect(e.message).toMatch(/the producer position 16 is behind the consumer position 64/);
    } finally {
      env.driver.munmap!(h);
    }
  });

  it("a header whose length runs past the producer position is refused by name: EINVAL, nothing taken", () => {
    const env = get();
    const { rb, r } = ring(env);
    const fd = rb.getFd();
    // A 16-byte sample whose first 8 bytes read as the header of a 256-byte record.
    expect(producer.output(fd, Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9))).toBe(0);
    // Another writer of the consumer page moves it into that sample.
    const h = env.driver.mapMmap!(fd, 4096, true, 0);
    expect(h).toBeGreaterThanOrEqual(0);
    try {
      expect(env.driver.mmapWrite!(h, 0, Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0))).toBe(0);
      const e = thrownBpfError(() => r.read());
      expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "read", "rb_events"]);
      expect(e.message).toMatch(/a record of 256 bytes at position 8 runs past the producer position \(16 bytes ahead\)/);
      // Nothing taken: the consumer position stays where the other writer put it.
      expect([producer.query(fd, 2 /* BPF_RB_CONS_POS */), r.available()]).toEqual([8n, 16]);
    } finally {
      env.driver.munmap!(h);
    }
  });
});

eachDriver("BpfRingBuf: bad specs and drivers", (get) => {
  it("a size that is no power of 2 or no multiple of the page is a RangeError before any syscall", () => {
    const env = get();
    const before = openFdsOf(env.driver);
    for (const n of [4095, 6144, 2048, 3 * 4096]) {
      const e = thrown(() => env.bpf.newRingBuf({ name: "rb_bad", maxEntries: n }));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`newRingBuf rb_bad: maxEntries is the ring's size in bytes, a power of 2 and a multiple of the page size (4096), got ${n}`);
    }
    expect(thrown(() => env.bpf.newRingBuf({ name: "rb_bad", maxEntries: 4096, value: u32 } as never)).message).toMatch(/^newRingBuf rb_bad: unknown spec key "value"/);
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("a driver that cannot map memory: EOPNOTSUPP naming the driver", () => {
    const env = get();
    const bpf = createBpf({ driver: wrapDriver(env.driver, { kind: "old", mapMmap: null, mmapRead: null, mmapWrite: null, munmap: null }),
      mapRoot: env.root, logger: memoryLogger() });
    const rb = env.track(bpf.newRingBuf({ name: "rb_old", maxEntries: 4096 }));
    rb.openOrCreate();
    const e = thrownBpfError(() => rb.reader());
    expect(e).toBeInstanceOf(BpfError);
    expect([e.errno, e.message]).toEqual([Errno.EOPNOTSUPP,
      'reader rb_old: driver "old" cannot map memory (it has no mapMmap, an optional Driver method)']);
  });

  // A reader writes the consumer page and reads the rest; a producer the other way round.
  const sides = [
    { side: "reader", consumer: "the consumer position's page, writable", data: "the producer position's page and the data, read-only" },
    { side: "producer", consumer: "the consumer position's page, read-only", data: "the producer position's page and the data, writable" },
  ] as const;
  /** A ring of `side`'s type over a driver wrapped with `overrides`, opened. */
  const sideRing = (env: Env, side: "reader" | "producer", overrides: Parameters<typeof wrapDriver>[1]) => {
    const bpf = createBpf({ driver: wrapDriver(env.driver, overrides), mapRoot: env.root, logger: memoryLogger() });
    const spec = { name: `rb_${side}`, maxEntries: 4096 };
    const rb = env.track(side === "reader" ? bpf.newRingBuf(spec) : bpf.newUserRingBuf(spec));
    rb.openOrCreate();
    return { rb, open: () => (rb instanceof BpfRingBuf ? rb.reader() : rb.producer()) };
  };

  for (const { side, consumer, data } of sides) {
    it(`a ${side}'s refused mmap says which of its two mappings it was; nothing stays mapped`, () => {
      const env = get();
      for (const [refuse, what] of [[4096, data], [0, consumer]] as const) {
        const mapped: number[] = [], unmapped: number[] = [];
        const { open } = sideRing(env, side, {
          mapMmap: (fd, length, writable, offset) => {
            if (offset === refuse) return -Errno.ENOMEM;
            const h = env.driver.mapMmap!(fd, length, writable, offset);
            mapped.push(h);
            return h;
          },
          munmap: (h) => (unmapped.push(h), env.driver.munmap!(h)),
        });
        const before = openFdsOf(env.driver);
        const e = thrownBpfError(open);
        expect([e.errno, e.op]).toEqual([Errno.ENOMEM, side]);
        expect(e.message).toBe(`${side} rb_${side}: cannot allocate memory (mmap of ${what})`);
        expect(unmapped).toEqual(mapped);
        expect(openFdsOf(env.driver)).toBe(before);
      }
    });

    it(`a ${side}'s close() whose munmap fails names munmap and the mapping, frees the rest, and close() again retries it`, () => {
      const env = get();
      let consumerHandle = -1, failures = 1;
      const unmapped: number[] = [];
      const { open } = sideRing(env, side, {
        mapMmap: (fd, length, writable, offset) => {
          const h = env.driver.mapMmap!(fd, length, writable, offset);
          if (offset === 0) consumerHandle = h;
          return h;
        },
        munmap: (h) => {
          if (h === consumerHandle && failures-- > 0) return -Errno.EIO;
          unmapped.push(h);
          return env.driver.munmap!(h);
        },
      });
      const before = openFdsOf(env.driver);
      const s = open();
      const e = thrownBpfError(() => s.close());
      expect([e.errno, e.op]).toEqual([Errno.EIO, "close"]);
      expect(e.message).toBe(`close rb_${side}: input/output error (munmap of ${consumer}; it stays held: close() again retries it)`);
      // The other mapping and the side's fd went; the side is closed to every other call.
      expect(unmapped).toHaveLength(1);
      expect(unmapped).not.toContain(consumerHandle);
      expect(openFdsOf(env.driver)).toBe(before);
      expect(s.isOpen()).toBe(false);
      expect(thrownBpfError(() => ("available" in s ? s.available() : s.room())).errno).toBe(Errno.EBADF);
      s.close();
      expect(unmapped).toContain(consumerHandle);
      s.close();
      expect(unmapped).toHaveLength(2);
    });

    it(`a ${side} whose own fd of the ring cannot be made (dup) says so, and leaves nothing mapped`, () => {
      const env = get();
      let refuse = false;
      const mapped: number[] = [], unmapped: number[] = [];
      const { open } = sideRing(env, side, {
        mapMmap: (fd, length, writable, offset) => {
          const h = env.driver.mapMmap!(fd, length, writable, offset);
          mapped.push(h);
          return h;
        },
        munmap: (h) => (unmapped.push(h), env.driver.munmap!(h)),
        dup: (fd) => (refuse ? -Errno.EMFILE : env.driver.dup!(fd)),
      });
      const before = openFdsOf(env.driver);
      refuse = true;
      const e = thrownBpfError(open);
      expect([e.errno, e.op]).toEqual([Errno.EMFILE, side]);
      expect(e.message).toMatch(new RegExp(`^${side} rb_${side}: .* \\(the ${side}'s own fd of the ring, which it waits on, could not be made \\(dup\\)\\)$`));
      expect(mapped).toHaveLength(2);
      expect(unmapped).toEqual(mapped);
      expect(openFdsOf(env.driver)).toBe(before);
    });

    it(`a ${side}'s close() names every release that failed, with the first one's errno; an answer outside the contract is the driver's, and counts as freed`, () => {
      const env = get();
      let failing = true, broken = false;
      const answers = [-Errno.EIO, -Errno.ENOMEM];
      const unmapped: number[] = [];
      const { open } = sideRing(env, side, {
        munmap: (h) => {
          if (broken) return (env.driver.munmap!(h), 1);
          if (failing) return answers.shift()!;
          unmapped.push(h);
          return env.driver.munmap!(h);
        },
      });
      const s = open();
      const e = thrownBpfError(() => s.close());
      expect([e.errno, e.op]).toEqual([Errno.EIO, "close"]);
      expect(e.message).toBe(`close rb_${side}: input/output error (munmap of ${consumer}; munmap of ${data}: cannot allocate memory; they stay held: close() again retries them)`);
      failing = false;
      broken = true;
      const t = thrown(() => s.close());
      expect(t).toBeInstanceOf(TypeError);
      expect(t.message).toMatch(/^driver "[^"]+" broke the Driver contract: munmap returned 1, where it returns 0/);
      // What it held counts as freed: nothing is retried.
      broken = false;
      s.close();
      expect(unmapped).toEqual([]);
    });

    it(`a ${side}'s close() whose close of its fd fails does not close that number again: close(2) released it whatever it answered`, () => {
      const env = get();
      let failing = true;
      const closed: number[] = [];
      const { rb, open } = sideRing(env, side, {
        close: (fd) => {
          closed.push(fd);
          const r = env.driver.close(fd);
          // Linux frees the fd before the flush whose error close(2) reports.
          return failing ? (failing = false, -Errno.EIO) : r;
        },
      });
      const s = open();
      const before = closed.length;
      const e = thrownBpfError(() => s.close());
      expect([e.errno, e.op]).toEqual([Errno.EIO, "close"]);
      expect(e.message).toBe(`close rb_${side}: input/output error (close of the ${side}'s fd of the ring, which close(2) releases all the same)`);
      const pollFd = closed[before]!;
      // The number is free: the next fd may take it, and a retry would close that one.
      const reused = env.driver.dup!(rb.getFd());
      s.close();
      expect(closed.slice(before)).toEqual([pollFd]);
      if (reused === pollFd) expect(env.driver.close(reused)).toBe(0);
      else env.driver.close(reused);
    });
  }

  it("a producer's close() whose discard of a pending sample fails still unmaps the ring and closes its fd, then throws that failure", () => {
    const env = get();
    let fail = false;
    const mapped: number[] = [], unmapped: number[] = [];
    const { open } = sideRing(env, "producer", {
      mapMmap: (fd, length, writable, offset) => {
        const h = env.driver.mapMmap!(fd, length, writable, offset);
        mapped.push(h);
        return h;
      },
      mmapWrite: (h, off, src) => (fail ? -Errno.EIO : env.driver.mmapWrite!(h, off, src)),
      munmap: (h) => (unmapped.push(h), env.driver.munmap!(h)),
    });
    const before = openFdsOf(env.driver);
    const p = open() as UserRingBufProducer;
    const s = p.reserve(8)!;
    fail = true;
    const e = thrownBpfError(() => p.close());
    expect([e.errno, e.op, e.message]).toEqual([Errno.EIO, "close", "close rb_producer: input/output error"]);
    expect([p.isOpen(), s.isPending()]).toEqual([false, false]);
    expect(unmapped).toEqual(mapped);
    expect(openFdsOf(env.driver)).toBe(before);
    p.close();
    expect(unmapped).toEqual(mapped);
  });
});

// A record reserved and not yet submitted (a program on another CPU still writing it) cannot be
// held across a BPF_PROG_TEST_RUN on the kernel; the simulator's datapath holds one.
describe("BpfRingBuf on the simulator: a BUSY record holds up the ones behind it", () => {
  it("next() behind a BUSY head looks again at once, then less often, at most every pollMs", async () => {
    vi.useFakeTimers();
    try {
      const sim = createSimDriver();
      const rb = createBpf({ driver: sim, logger: memoryLogger() }).newRingBuf({ name: "busy_wait", maxEntries: 4096 });
      rb.openOrCreateUnpinned();
      using r = rb.reader();
      const ring = { fd: rb.getFd() };
      let got: Uint8Array | undefined | "pending" = "pending";
      const take = () => r.next({ pollMs: 1000 }).then((s) => { got = s; });
      // Held for a moment, as by a program on another CPU: the record comes within a few ms.
      let held = sim.datapath.ringbufReserve(ring, 2);
      let p = take();
      await vi.advanceTimersByTimeAsync(0);
      expect(got).toBe("pending");
      sim.datapath.ringbufWrite(held, 0, Uint8Array.of(6, 6));
      sim.datapath.ringbufSubmit(held);
      await vi.advanceTimersByTimeAsync(5);
      expect(got).toEqual(Uint8Array.of(6, 6));
      await p;
      // Held for 5 s: the looks have slowed to pollMs, and no slower.
      got = "pending";
      held = sim.datapath.ringbufReserve(ring, 1);
      p = take();
      await vi.advanceTimersByTimeAsync(5000);
      expect(got).toBe("pending");
      sim.datapath.ringbufWrite(held, 0, Uint8Array.of(7));
      sim.datapath.ringbufSubmit(held);
      await vi.advanceTimersByTimeAsync(1000);
      expect(got).toEqual(Uint8Array.of(7));
      await p;
      rb.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("behind a BUSY head the looks come at once, then after 1, 2, 4, … ms; a real wait in between starts them over", async () => {
    vi.useFakeTimers();
    try {
      const sim = createSimDriver();
      // A look is a read of the head record's header (the data starts a page into its mapping).
      let looks = 0;
      const d = wrapDriver(sim, { mmapRead: (h, off, dst) => {
        if (off >= 4096 && dst.length === 8) looks++;
        return sim.mmapRead!(h, off, dst);
      } });
      const rb = createBpf({ driver: d, logger: memoryLogger() }).newRingBuf({ name: "busy_looks", maxEntries: 4096 });
      rb.openOrCreateUnpinned();
      using r = rb.reader();
      const ring = { fd: rb.getFd() };
      const first = sim.datapath.ringbufReserve(ring, 8);
      let got: Uint8Array | undefined | "pending" = "pending";
      const p = r.next({ pollMs: 1000 }).then((s) => { got = s; });
      // The first look, the one after mapPoll said readable, and one at once; then 1, 2, 4, 8 ms apart.
      const seen: number[] = [];
      for (const step of [0, 1, 2, 4, 8]) {
        await vi.advanceTimersByTimeAsync(step);
        seen.push(looks);
      }
      expect(seen).toEqual([3, 4, 5, 6, 7]);
      // Discarded: the next look passes over it and the wait goes back to mapPoll.
      sim.datapath.ringbufDiscard(first);
      await vi.advanceTimersByTimeAsync(16);
      expect(looks).toBe(8);
      await vi.advanceTimersByTimeAsync(1000);
      expect([looks, got]).toEqual([8, "pending"]);
      // Another BUSY head, and a record behind it that wakes the ring: the looks start over.
      const second = sim.datapath.ringbufReserve(ring, 1);
      expect(sim.datapath.ringbufOutput(ring, Uint8Array.of(5), BPF_RB_FORCE_WAKEUP)).toBe(0);
      await vi.advanceTimersByTimeAsync(0);
      expect(looks).toBe(10);
      await vi.advanceTimersByTimeAsync(1);
      expect(looks).toBe(11);
      sim.datapath.ringbufWrite(second, 0, Uint8Array.of(4));
      sim.datapath.ringbufSubmit(second);
      await vi.advanceTimersByTimeAsync(2);
      expect(got).toEqual(Uint8Array.of(4));
      await p;
      rb.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("read() stops at it, then takes it and the rest once it is submitted; a discarded one is passed over", () => {
    const sim = createSimDriver();
    const rb = createBpf({ driver: sim, logger: memoryLogger() }).newRingBuf({ name: "busy", maxEntries: 4096 });
    rb.openOrCreateUnpinned();
    using r = rb.reader();
    const ring = { fd: rb.getFd() };
    const first = sim.datapath.ringbufReserve(ring, 5);
    const second = sim.datapath.ringbufReserve(ring, 3);
    expect(sim.datapath.ringbufOutput(ring, Uint8Array.of(9))).toBe(0);
    expect([r.read(), r.available()]).toEqual([undefined, 16 + 16 + 16]);
    sim.datapath.ringbufDiscard(second);
    expect(r.read()).toBeUndefined();
    sim.datapath.ringbufWrite(first, 0, bytesFrom(5, 1));
    sim.datapath.ringbufSubmit(first);
    const got: Uint8Array[] = [];
    expect(r.drain((s) => got.push(s))).toBe(2);
    expect(got).toEqual([bytesFrom(5, 1), Uint8Array.of(9)]);
    expect(r.available()).toBe(0);
    rb.close();
  });
});
