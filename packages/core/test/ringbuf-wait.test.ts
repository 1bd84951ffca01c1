// RingBufReader.next() waits on the ring's fd through the driver's mapPoll (epoll on the kernel),
// as libbpf's ring_buffer__poll does: it sleeps until a program's commit wakes the ring, rather
// than looking every pollMs. What that changes for a user, on both drivers: a record comes as it
// is committed, whatever pollMs; a record committed with BPF_RB_NO_WAKEUP waits for a wake-up or
// the timeout; close() and an abort end a wait at once; the reader's own fd comes and goes with it.
import { getEventListeners } from "node:events";
import { readdirSync, readlinkSync } from "node:fs";
import { afterEach, beforeEach, expect, it } from "vitest";
import { BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BpfError, createBpf, Errno, memoryLogger, wrapDriver, type Bpf, type BpfRingBuf, type Driver, type RingBufReader } from "@bpfkit/core";
import { ringbufProducerFor, settledWithin, type RingbufProducer } from "@bpfkit/testkit";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, type Env } from "./support/env.js";


const later = (ms: number, fn: () => void) => setTimeout(fn, ms);

/**
 * The map fds open, as `env`'s driver sees them: on the kernel those of this process that name a
 * map (the driver's epoll fd and eventfd come and go with its waits, a moment after they end).
 */
function mapFds(env: Env): number {
  if (env.kind === "sim") return openFdsOf(env.driver);
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === "anon_inode:bpf-map") n++;
    } catch {
      // readdir's own fd, gone by now
    }
  }
  return n;
}

/** A Bpf over a wrapped driver, on the test's bpffs. */
const bpfOver = (env: Env, driver: Driver): Bpf => createBpf({ driver, mapRoot: env.root, logger: memoryLogger() });

eachDriver("RingBufReader.next: waiting on the ring's fd", (get) => {
  let producer: RingbufProducer;
  beforeEach(() => {
    producer = ringbufProducerFor(get().driver)!;
  });
  afterEach(() => producer.close());

  function ring(env: Env): { rb: BpfRingBuf; r: RingBufReader; fd: number } {
    const rb = env.track(env.bpf.newRingBuf({ name: "rb_wait", maxEntries: 4096 }));
    expect(rb.openOrCreate()).toBe(true);
    return { rb, r: env.track(rb.reader()), fd: rb.getFd() };
  }

  it("a record comes as the program commits it, however long pollMs is: no look by timer", async () => {
    const { r, fd } = ring(get());
    // Polling would look once, after min(pollMs, timeoutMs) = 10 s.
    later(20, () => producer.output(fd, Uint8Array.of(1, 2)));
    expect(await settledWithin(r.next({ pollMs: 60_000, timeoutMs: 10_000 }), 3000)).toEqual(Uint8Array.of(1, 2));
    later(20, () => producer.reserveSubmit(fd, Uint8Array.of(3)));
    expect(await settledWithin(r.next({ pollMs: 60_000 }), 3000)).toEqual(Uint8Array.of(3));
  });

  it("a record committed with BPF_RB_NO_WAKEUP waits for the next wake-up, or the timeout's last look", async () => {
    const { r, fd } = ring(get());
    let p = r.next({ pollMs: 60_000, timeoutMs: 200 });
    later(10, () => producer.output(fd, Uint8Array.of(4), BPF_RB_NO_WAKEUP));
    expect(await settledWithin(p, 100)).toBe("pending");
    // At the timeout next() looks once more and finds it.
    expect(await settledWithin(p, 3000)).toEqual(Uint8Array.of(4));
    p = r.next({ pollMs: 60_000 });
    later(10, () => {
      producer.output(fd, Uint8Array.of(5), BPF_RB_NO_WAKEUP);
      // Not the record the consumer points at: no wake-up without FORCE.
      producer.output(fd, Uint8Array.of(6));
    });
    expect(await settledWithin(p, 100)).toBe("pending");
    producer.output(fd, Uint8Array.of(7), BPF_RB_FORCE_WAKEUP);
    expect(await settledWithin(p, 3000)).toEqual(Uint8Array.of(5));
    const rest: Uint8Array[] = [];
    r.drain((s) => rest.push(s));
    expect(rest).toEqual([Uint8Array.of(6), Uint8Array.of(7)]);
  });

  it("a discarded record that wakes the wait is passed over, and the wait goes back to sleep in mapPoll, not by timer", async () => {
    const { r, fd } = ring(get());
    const p = r.next({ pollMs: 60_000 });
    // The discard's commit wakes the ring (the consumer points at it); the reader skips it and
    // finds the ring empty: nothing is BUSY, so the record after it must come without a timer.
    later(10, () => producer.reserveDiscard(fd, 8));
    later(60, () => producer.output(fd, Uint8Array.of(8)));
    expect(await settledWithin(p, 3000)).toEqual(Uint8Array.of(8));
  });

  it("ready records are handed out without the event loop turning; the loop turns once the ring is empty and the wait sleeps (docs: under a flood)", async () => {
    const { r, fd } = ring(get());
    for (let i = 0; i < 100; i++) producer.output(fd, Uint8Array.of(i));
    let firedAt = -1;
    let taken = 0;
    setTimeout(() => (firedAt = taken), 0);
    setImmediate(() => (firedAt = firedAt < 0 ? taken : firedAt));
    for await (const sample of r) {
      expect(sample).toEqual(Uint8Array.of(taken));
      if (++taken === 100) break;
    }
    expect(firedAt).toBe(-1);
    // The empty ring's wait sleeps in mapPoll: the timers run before a record comes.
    later(20, () => producer.output(fd, Uint8Array.of(100)));
    expect(await settledWithin(r.next({ pollMs: 60_000 }), 3000)).toEqual(Uint8Array.of(100));
    expect(firedAt).toBe(100);
  });

  it("close() ends a wait at once with undefined; an abort at once with its reason", async () => {
    const { r } = ring(get());
    const ac = new AbortController();
    const aborted = r.next({ signal: ac.signal, pollMs: 60_000 });
    later(10, () => ac.abort(new Error("stop")));
    await expect(settledWithin(aborted, 3000)).rejects.toThrow("stop");
    const waiting = r.next({ pollMs: 60_000 });
    later(10, () => r.close());
    expect(await settledWithin(waiting, 3000)).toBeUndefined();
  });

  it("the reader waits on its own fd: it lives on after the map's close(), and its close() gives it back", async () => {
    const env = get();
    const before = mapFds(env);
    const { rb, r } = ring(env);
    // The map's fd and the reader's.
    expect(mapFds(env)).toBe(before + 2);
    const again = env.track(env.bpf.openRingBuf(rb.path()));
    rb.close();
    later(20, () => producer.output(again.getFd(), Uint8Array.of(8)));
    expect(await settledWithin(r.next({ pollMs: 60_000 }), 3000)).toEqual(Uint8Array.of(8));
    again.close();
    expect(mapFds(env)).toBe(before + 1);
    r.close();
    expect(mapFds(env)).toBe(before);
  });

  it("records({ signal }): a loop that an abort ends with its reason, leaving the reader open", async () => {
    const { r, fd } = ring(get());
    const ac = new AbortController();
    const seen: number[] = [];
    later(10, () => {
      producer.output(fd, Uint8Array.of(1));
      producer.output(fd, Uint8Array.of(2));
    });
    const loop = (async () => {
      for await (const s of r.records({ signal: ac.signal })) {
        seen.push(s[0]!);
        if (seen.length === 2) later(10, () => ac.abort(new Error("done")));
      }
    })();
    await expect(settledWithin(loop, 3000)).rejects.toThrow("done");
    expect(seen).toEqual([1, 2]);
    expect(r.isOpen()).toBe(true);
    expect(producer.output(fd, Uint8Array.of(3))).toBe(0);
    expect(r.read()).toEqual(Uint8Array.of(3));
    // Options are checked when the loop is made, not at its first step.
    expect(() => r.records({ timeoutMs: 5 } as never)).toThrow(TypeError);
    expect(() => r.records({ pollMs: 0 })).toThrow(RangeError);
    expect(() => r.records({ signal: {} as never })).toThrow(TypeError);
    expect(() => r.records({ bogus: 1 } as never)).toThrow(TypeError);
  });

  it("timeoutMs 0 looks once without waiting: the record there, else undefined at once", async () => {
    const { r, fd } = ring(get());
    expect(await settledWithin(r.next({ timeoutMs: 0 }), 1000)).toBeUndefined();
    expect(producer.output(fd, Uint8Array.of(4))).toBe(0);
    expect(await settledWithin(r.next({ timeoutMs: 0 }), 1000)).toEqual(Uint8Array.of(4));
  });

  it("a wait leaves no listener on its signal once it ends, with mapPoll or looking every pollMs", async () => {
    const env = get();
    const { r } = ring(env);
    const ac = new AbortController();
    expect(await r.next({ signal: ac.signal, timeoutMs: 30, pollMs: 1 })).toBeUndefined();
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    const rb = env.track(bpfOver(env, wrapDriver(env.driver, { mapPoll: null })).newRingBuf({ name: "rb_nopoll", maxEntries: 4096 }));
    rb.openOrCreateUnpinned();
    using polled = rb.reader();
    expect(await polled.next({ signal: ac.signal, timeoutMs: 30, pollMs: 1 })).toBeUndefined();
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("a driver without mapPoll: next() looks every pollMs, and the reader holds no fd", async () => {
    const env = get();
    const d = wrapDriver(env.driver, { mapPoll: null });
    const rb = env.track(bpfOver(env, d).newRingBuf({ name: "rb_nopoll", maxEntries: 4096 }));
    rb.openOrCreateUnpinned();
    const before = mapFds(env);
    const r = rb.reader();
    expect(mapFds(env)).toBe(before);
    later(20, () => producer.output(rb.getFd(), Uint8Array.of(9), BPF_RB_NO_WAKEUP));
    // No wake-up: only the look every 5 ms finds it.
    expect(await settledWithin(r.next({ pollMs: 5 }), 3000)).toEqual(Uint8Array.of(9));
    r.close();
  });

  it("a mapPoll refusal is a BpfError naming the ring and next(); an answer outside the contract is the driver's", async () => {
    const env = get();
    for (const [answer, check] of [
      [-Errno.EIO, (e: unknown) => {
        expect(e).toBeInstanceOf(BpfError);
        expect([(e as BpfError).errno, (e as BpfError).op, (e as BpfError).map]).toEqual([Errno.EIO, "next", "rb_refused"]);
        expect((e as Error).message).toMatch(/mapPoll/);
      }],
      [7, (e: unknown) => expect((e as Error).message).toMatch(/mapPoll.*7/)],
    ] as const) {
      const d = wrapDriver(env.driver, { mapPoll: () => Promise.resolve(answer) });
      const rb = bpfOver(env, d).newRingBuf({ name: "rb_refused", maxEntries: 4096 });
      rb.openOrCreateUnpinned();
      const r = rb.reader();
      try {
        check(await r.next().then(() => undefined, (e: unknown) => e));
      } finally {
        r.close();
        rb.close();
      }
    }
  });
});
