// BpfUserRingBuf and UserRingBufProducer: records written from user space reach a program's
// bpf_user_ringbuf_drain (on the kernel, a real program run by BPF_PROG_TEST_RUN; on the
// simulator, its datapath) in order, whole, across the end of the ring, discarded ones passed
// over; BUSY ones hold the drain up; the room comes back as the program drains; a writer waits
// for it through mapPoll; bad input and misuse are errors naming the map and the call.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  BPF_MAP_TYPE_USER_RINGBUF, BpfError, BpfUserRingBuf, createBpf, Errno, memoryLogger, USER_RINGBUF_MAX_SAMPLE, wrapDriver, type UserRingBufProducer,
} from "@bpfkit/core";
import { DRAIN_EMPTY_VALUE, userRingDrainerFor, type KernelUserRingDrainer } from "@bpfkit/testkit";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, type Env } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

/** A sample whose first u64 is `v` (the drain programs add it up), `n` bytes long. */
function sample(v: number, n = 8): Uint8Array {
  const b = new Uint8Array(n);
  if (n >= 8) new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}

eachDriver("BpfUserRingBuf: records from user space to a program's drain", (get) => {
  let drainer: KernelUserRingDrainer;
  beforeEach(() => {
    const d = userRingDrainerFor(get().driver);
    if (d === undefined) throw new Error(`no USER_RINGBUF drain for the ${get().kind} driver`);
    drainer = d;
  });
  afterEach(() => drainer.close());

  /** A fresh 4 KiB user ring (pinned) and its producer, both closed after the test. */
  function ring(env: Env, name = "urb_events", size = 4096): { rb: BpfUserRingBuf; p: UserRingBufProducer; drain(flags?: number): { ret: number; sum: bigint; count: number } } {
    const rb = env.track(env.bpf.newUserRingBuf({ name, maxEntries: size }));
    expect(rb.openOrCreate()).toBe(true);
    return { rb, p: env.track(rb.producer()), drain: (flags = 0) => {
      // The answer, sum and count: the samples themselves are the differential runner's to compare.
      const { ret, sum, count } = drainer.drain(rb.getFd(), flags);
      return { ret, sum, count };
    } };
  }

  it("records reach the program in order; the room comes back as it drains", () => {
    const env = get();
    const { rb, p, drain } = ring(env);
    expect(rb.info()).toMatchObject({ type: BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    expect([p.room(), p.size]).toEqual([4096, 4096]);
    expect(p.write(sample(5))).toBe(true);
    expect(p.write(sample(7, 13))).toBe(true);
    const s = p.reserve(8)!;
    new DataView(s.data.buffer).setBigUint64(0, 30n, true);
    s.submit();
    // 16 + 24 + 16 bytes with their headers.
    expect(p.room()).toBe(4096 - 56);
    expect(drain()).toEqual({ ret: 3, sum: 42n, count: 3 });
    expect(p.room()).toBe(4096);
    expect(drain()).toEqual({ ret: 0, sum: 0n, count: 0 });
  });

  it("a reserved record holds the drain up until it is submitted; a discarded one is passed over", () => {
    const env = get();
    const { p, drain } = ring(env);
    const a = p.reserve(8)!, b = p.reserve(8)!, c = p.reserve(16)!;
    b.data.set(sample(2));
    b.submit();
    expect(drain()).toEqual({ ret: 0, sum: 0n, count: 0 });
    a.data.set(sample(1));
    a.submit();
    expect(a.isPending()).toBe(false);
    // a and b now; c is still BUSY.
    expect(drain()).toEqual({ ret: 2, sum: 3n, count: 2 });
    c.discard();
    expect(p.write(sample(4))).toBe(true);
    expect(drain()).toEqual({ ret: 1, sum: 4n, count: 1 });
  });

  it("a full ring takes nothing (reserve undefined, write false) until the program drains; records wrap the ring's end", () => {
    const env = get();
    const { p, drain } = ring(env);
    let n = 0;
    // 200-byte samples, 208 with their headers: 19 fill 3952 of 4096.
    while (p.write(sample(1, 200))) n++;
    expect(n).toBe(19);
    expect(p.reserve(200)).toBeUndefined();
    // libbpf's rule: the ring may fill to the byte (the kernel's poll says full at size).
    expect(p.write(sample(1, 136))).toBe(true);
    expect(p.room()).toBe(0);
    expect(drain()).toEqual({ ret: 20, sum: 20n, count: 20 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 7; i++) expect(p.write(sample(round * 10 + i, 200))).toBe(true);
      expect(drain()).toMatchObject({ ret: 7, count: 7, sum: BigInt(7 * round * 10 + 21) });
    }
  });

  it("a 0-byte record (libbpf's and the kernel's take it) is its header alone: the program is called back for it with an empty sample", () => {
    const env = get();
    const { p, drain } = ring(env);
    const s = p.reserve(0)!;
    expect([s.size, s.data.length, p.room()]).toEqual([0, 0, 4096 - 8]);
    s.submit();
    expect(p.write(new Uint8Array(0))).toBe(true);
    p.reserve(0)!.discard();
    expect(p.write(sample(9))).toBe(true);
    expect(p.room()).toBe(4096 - 40);
    // Two callbacks on an empty dynptr (DRAIN_EMPTY_VALUE each) and one on 9; the discarded one passed over.
    expect(drain()).toEqual({ ret: 3, sum: 2n * DRAIN_EMPTY_VALUE + 9n, count: 3 });
    expect(p.room()).toBe(4096);
  });

  it("bad sizes are RangeErrors and TypeErrors naming the map and the call, before the ring is touched", () => {
    const env = get();
    const { p } = ring(env);
    expect(() => p.reserve(-1)).toThrow(new RangeError("reserve urb_events: size must be 0 or more bytes, got -1"));
    expect(() => p.reserve(1.5)).toThrow(new TypeError("reserve urb_events: size must be an integer, got 1.5"));
    expect(() => p.reserve(4089)).toThrow(new RangeError("reserve urb_events: a sample of 4089 bytes takes 4104 with its 8-byte header, more than the ring's 4096: it can never fit"));
    expect(() => p.reserve(USER_RINGBUF_MAX_SAMPLE + 1)).toThrow(/^reserve urb_events: a sample of 16777216 bytes is more than a drain hands a program \(16777215/);
    expect(() => p.write([1] as never)).toThrow(new TypeError("write urb_events: bytes must be a Uint8Array"));
    expect(p.reserve(4088)).toBeDefined();
    expect(p.room()).toBe(0);
  });

  it("a sample is submitted or discarded once; after close() every call is EBADF and pending samples were discarded", () => {
    const env = get();
    const { rb, p, drain } = ring(env);
    const s = p.reserve(8)!;
    s.submit();
    let e = thrownBpfError(() => s.submit());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "submit", "urb_events"]);
    expect(e.message).toBe("submit urb_events: invalid argument (the sample was already submitted: a reservation is submitted or discarded once)");
    e = thrownBpfError(() => s.discard());
    expect([e.errno, e.op]).toEqual([Errno.EINVAL, "discard"]);
    const left = p.reserve(8)!;
    p.close();
    p.close();
    e = thrownBpfError(() => left.submit());
    expect([e.errno, e.op, e.message]).toEqual([Errno.EBADF, "submit",
      "submit urb_events: bad file descriptor (the sample was already discarded by the producer's close(): a reservation is submitted or discarded once)"]);
    e = thrownBpfError(() => p.reserve(8));
    expect([e.errno, e.op, e.map]).toEqual([Errno.EBADF, "reserve", "urb_events"]);
    expect(thrownBpfError(() => p.room()).errno).toBe(Errno.EBADF);
    // The discarded record does not hold the drain up: a new producer's record comes after it.
    using p2 = rb.producer();
    expect(p2.write(sample(9))).toBe(true);
    expect(drain()).toEqual({ ret: 2, sum: 9n, count: 2 });
  });

  it("a sample lost while reserved is discarded once collected: its BUSY record does not stop every later drain", async () => {
    const env = get();
    const { p, drain } = ring(env);
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // Reserved and dropped, never submitted: a BUSY record ahead of the next one.
    ((): void => void p.reserve(16))();
    expect(p.write(sample(6))).toBe(true);
    expect(drain(), "held up by the BUSY record").toEqual({ ret: 0, sum: 0n, count: 0 });
    let got = drain();
    for (let i = 0; i < 50 && got.ret === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 5));
      got = drain();
    }
    expect(got).toEqual({ ret: 1, sum: 6n, count: 1 });
    expect(p.room()).toBe(4096);
    // A sample kept and submitted is not touched by the collector.
    const kept = p.reserve(8)!;
    kept.data.set(sample(9));
    gc();
    await new Promise((r) => setTimeout(r, 5));
    kept.submit();
    expect(drain()).toEqual({ ret: 1, sum: 9n, count: 1 });
  });

  it("reserveBlocking waits for a drain to make room; it times out with undefined, and an abort rejects", async () => {
    const env = get();
    const { p, drain } = ring(env);
    expect(p.write(sample(1, 4088))).toBe(true);
    expect(await p.reserveBlocking(8, { timeoutMs: 30 })).toBeUndefined();
    const waiting = p.reserveBlocking(100, { timeoutMs: 10_000 });
    setTimeout(() => drain(), 20);
    const s = await waiting;
    expect(s?.size).toBe(100);
    s!.discard();
    expect(p.write(sample(1, 4088 - 112))).toBe(true);
    const ac = new AbortController();
    const aborted = p.reserveBlocking(8, { signal: ac.signal });
    ac.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
    // Bad input throws before any wait.
    await expect(p.reserveBlocking(-8)).rejects.toThrow(RangeError);
    await expect(p.reserveBlocking(8, { timeoutMs: -1 })).rejects.toThrow(RangeError);
    // close() ends a wait: it resolves undefined.
    const closed = p.reserveBlocking(8);
    setTimeout(() => p.close(), 10);
    expect(await closed).toBeUndefined();
  });

  it("the largest sample a drain hands a program (2^24 - 1 bytes, a dynptr's largest) is reserved, submitted and drained", () => {
    const env = get();
    const { p, drain } = ring(env, "urb_big", 2 ** 25);
    const s = p.reserve(USER_RINGBUF_MAX_SAMPLE)!;
    expect(s.size).toBe(USER_RINGBUF_MAX_SAMPLE);
    s.data.set(sample(11));
    s.submit();
    expect(drain()).toEqual({ ret: 1, sum: 11n, count: 1 });
  });

  it("a producer position no producer wrote (no multiple of 8) is refused by name: EINVAL, nothing written", () => {
    const env = get();
    const { rb, p } = ring(env);
    expect(p.write(sample(1))).toBe(true);
    // Another writer of the producer page (writable to anyone who maps it) moves the position 4 bytes on.
    const page = env.driver.pageSize ?? 4096;
    const h = env.driver.mapMmap!(rb.getFd(), page, true, page);
    expect(h).toBeGreaterThanOrEqual(0);
    try {
      expect(env.driver.mmapWrite!(h, 0, Uint8Array.of(20, 0, 0, 0, 0, 0, 0, 0))).toBe(0);
      for (const [op, call] of [["reserve", () => p.reserve(8)], ["room", () => p.room()]] as const) {
        const e = thrownBpfError(call);
        expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, op, "urb_events"]);
        expect(e.message).toBe(`${op} urb_events: invalid argument (the producer position 20 is no multiple of 8: ` +
          "the producer position was written by something else than this ring's producer)");
      }
    } finally {
      env.driver.munmap!(h);
    }
  });

  it("reserveBlocking with some room, but too little, does not spin on mapPoll (the ring stays writable): it looks again less and less often", async () => {
    const env = get();
    let polls = 0;
    const d = wrapDriver(env.driver, { mapPoll: (fd, ms, signal) => (polls++, env.driver.mapPoll!(fd, ms, signal)) });
    const rb = env.track(createBpf({ driver: d, mapRoot: env.root, logger: memoryLogger() }).newUserRingBuf({ name: "urb_spin", maxEntries: 4096 }));
    rb.openOrCreateUnpinned();
    using p = rb.producer();
    expect(p.write(sample(1, 4096 - 8 - 112))).toBe(true);
    expect(p.room()).toBe(112);
    expect(await p.reserveBlocking(200, { timeoutMs: 100 })).toBeUndefined();
    // One wait, which says the ring is writable; then looks at 0, 1, 2, 4, … ms, never mapPoll again.
    expect(polls).toBe(1);
  });

  it("openUserRingBuf opens the pin; a read-only open maps nothing, and says why; the spec's size is checked", () => {
    const env = get();
    const { p, drain } = ring(env, "urb_pin");
    p.close();
    const same = env.track(env.otherBpf().openUserRingBuf("urb_pin"));
    expect(same.maxEntries).toBe(4096);
    using p2 = same.producer();
    expect(p2.write(sample(3))).toBe(true);
    expect(drain().sum).toBe(3n);
    const before = openFdsOf(env.driver);
    const ro = env.track(env.otherBpf().openUserRingBuf("urb_pin", { readOnly: true }));
    const e = thrownBpfError(() => ro.producer());
    expect([e.op, e.map]).toEqual(["producer", "urb_pin"]);
    expect(e.message).toMatch(/\(mmap of the consumer position's page, read-only: the user ring buffer was opened read-only \(BPF_F_RDONLY\): a producer maps its pages, which the kernel allows only through an fd that reads and writes; open it read-write\)$/);
    ro.close();
    expect(openFdsOf(env.driver)).toBe(before);
    // Another type's open names this class; this one's refuses a RINGBUF.
    const err = thrown(() => env.otherBpf().openRingBuf("urb_pin"));
    expect(err).toBeInstanceOf(BpfError);
    expect(() => env.bpf.newUserRingBuf({ name: "urb_bad", maxEntries: 5000 })).toThrow(
      new RangeError("newUserRingBuf urb_bad: maxEntries is the ring's size in bytes, a power of 2 and a multiple of the page size (4096), got 5000"));
  });
});
