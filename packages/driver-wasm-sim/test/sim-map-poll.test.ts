// The simulator's mapPoll where the kernel cannot show it: a record still BUSY, a wake-up that
// depends on which record the consumer position points at when a program commits out of order,
// waits driven by vitest's fake timers (the wake-up is the commit itself, not a timer), what
// close() of one of two fds ends, and that no wait leaves a timer, a listener, an fd or a map
// reference behind. The rules are kernel/bpf/ringbuf.c's (6.18): ringbuf_map_poll_kern and
// bpf_ringbuf_commit; the shared cases are packages/testkit/test/map-poll.test.ts.
import { Errno, type AbortSignalLike } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sim } from "./sim-helpers.js";

const RINGBUF = 27, PAGE = 4096;
const NO_WAKEUP = 1, FORCE_WAKEUP = 2;
const PENDING = "pending";

/** What `p` has settled with by now (after the microtasks already queued), else "pending". */
const now = <T>(p: Promise<T>): Promise<T | typeof PENDING> => Promise.race([p, Promise.resolve(PENDING as typeof PENDING)]);
/** `now` of each. */
const allNow = <T>(ps: Promise<T>[]) => Promise.all(ps.map(now));

function ring(d: SimDriver): number {
  const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
  expect(fd).toBeGreaterThanOrEqual(0);
  return fd;
}

/** Writes the ring's consumer position, as a reader does through its mapping. */
function setConsumer(d: SimDriver, fd: number, pos: bigint): void {
  const m = d.mapMmap(fd, PAGE, true);
  expect(m).toBeGreaterThanOrEqual(0);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, pos, true);
  expect(d.mmapWrite(m, 0, b)).toBe(0);
  expect(d.munmap(m)).toBe(0);
}

/** An AbortSignal that counts the listeners added and removed through it. */
function countingSignal() {
  const ac = new AbortController();
  const counts = { added: 0, removed: 0 };
  const signal: AbortSignalLike = {
    get aborted() { return ac.signal.aborted; },
    get reason() { return ac.signal.reason as unknown; },
    addEventListener: (type, listener, options) => { counts.added++; ac.signal.addEventListener(type, listener, options); },
    removeEventListener: (type, listener) => { counts.removed++; ac.signal.removeEventListener(type, listener); },
  };
  return { signal, counts, abort: () => ac.abort() };
}

describe("sim mapPoll: what makes a ring readable", () => {
  it("a record reserved and not yet submitted (BUSY) makes the ring readable, as a discarded one does", async () => {
    const d = sim();
    const fd = ring(d);
    expect(await d.mapPoll(fd, 0)).toBe(0);
    const sample = d.datapath.ringbufReserve({ fd }, 8);
    expect(sample).toBeGreaterThanOrEqual(0);
    // ringbuf_avail_data_sz counts it: the producer position has moved, the record is BUSY.
    expect(await d.mapPoll(fd, 0)).toBe(1);
    expect(await d.mapPoll(fd, 10_000)).toBe(1);
    d.datapath.ringbufDiscard(sample, NO_WAKEUP);
    expect(await d.mapPoll(fd, 0)).toBe(1);
    // Taken: the consumer at the producer is empty again.
    setConsumer(d, fd, 16n);
    expect(await d.mapPoll(fd, 0)).toBe(0);
    // A consumer position past the producer's: prod - cons is not 0 (an unsigned long), so readable.
    setConsumer(d, fd, 24n);
    expect(await d.mapPoll(fd, 0)).toBe(1);
    expect(d.close(fd)).toBe(0);
  });

  it("fds 0-2 (files the simulator has no poll of) are -EINVAL; a closed fd is -EBADF", async () => {
    const d = sim();
    for (const fd of [0, 1, 2]) expect(await d.mapPoll(fd, 0)).toBe(-Errno.EINVAL);
    const fd = ring(d);
    expect(d.close(fd)).toBe(0);
    expect(await d.mapPoll(fd, 10_000)).toBe(-Errno.EBADF);
  });
});

describe("sim mapPoll: wake-ups (bpf_ringbuf_commit)", () => {
  afterEach(() => { vi.useRealTimers(); });

  it("a submit of the record the consumer points at wakes, after later records were committed; reserve does not", async () => {
    vi.useFakeTimers();
    const d = sim();
    const fd = ring(d);
    const w = d.mapPoll(fd, 10_000);
    const first = d.datapath.ringbufReserve({ fd }, 4);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await now(w), "reserve wakes no one").toBe(PENDING);
    // Records behind the BUSY one: the consumer points at the first, so none of these wakes.
    expect(d.datapath.ringbufOutput({ fd }, Uint8Array.of(1))).toBe(0);
    const third = d.datapath.ringbufReserve({ fd }, 4);
    d.datapath.ringbufSubmit(third);
    expect(await now(w)).toBe(PENDING);
    d.datapath.ringbufSubmit(first);
    expect(await now(w)).toBe(1);
    expect(vi.getTimerCount(), "the wait's timer is gone").toBe(0);
    expect(d.close(fd)).toBe(0);
  });

  it("only the two low bits of submit's u64 flags count: FORCE_WAKEUP past 2^32 wakes, NO_WAKEUP past 2^32 silences", async () => {
    vi.useFakeTimers();
    const d = sim();
    const fd = ring(d);
    let w = d.mapPoll(fd, 10_000);
    // The consumer points at this record, but NO_WAKEUP (bit 0) is set.
    let s = d.datapath.ringbufReserve({ fd }, 4);
    d.datapath.ringbufSubmit(s, 2 ** 32 + NO_WAKEUP);
    expect(await now(w)).toBe(PENDING);
    // Not the consumer's record, but FORCE_WAKEUP (bit 1) is set.
    s = d.datapath.ringbufReserve({ fd }, 4);
    d.datapath.ringbufSubmit(s, 2 ** 40 + FORCE_WAKEUP);
    expect(await now(w)).toBe(1);
    // A bit 2^32 alone is neither: the consumer's record wakes as with flags 0.
    setConsumer(d, fd, 32n);
    w = d.mapPoll(fd, 10_000);
    s = d.datapath.ringbufReserve({ fd }, 4);
    d.datapath.ringbufDiscard(s, 2 ** 32);
    expect(await now(w)).toBe(1);
    expect(d.close(fd)).toBe(0);
  });

  it("a wake-up that finds the ring empty leaves the wait, and the consumer moving wakes no one", async () => {
    vi.useFakeTimers();
    const d = sim();
    const fd = ring(d);
    const w = d.mapPoll(fd, 10_000);
    const s = d.datapath.ringbufReserve({ fd }, 8);
    // A reader that skipped the BUSY record: consumer == producer, so poll finds nothing.
    setConsumer(d, fd, 16n);
    expect(await now(w), "user space's consumer write is no wake-up").toBe(PENDING);
    d.datapath.ringbufSubmit(s, FORCE_WAKEUP);
    expect(await now(w), "woken, but epoll's poll finds the ring empty").toBe(PENDING);
    // The consumer points at the next record's offset (16): its commit wakes the wait.
    expect(d.datapath.ringbufOutput({ fd }, Uint8Array.of(9))).toBe(0);
    expect(await now(w)).toBe(1);
    expect(d.close(fd)).toBe(0);
  });
});

describe("sim mapPoll under vitest's fake timers", () => {
  afterEach(() => { vi.useRealTimers(); });

  it("a wait ends at a datapath commit with no timer advanced, and with 0 when the timers reach its timeout", async () => {
    vi.useFakeTimers();
    const d = sim();
    const fd = ring(d);
    const woken = d.mapPoll(fd, 5_000);
    expect(vi.getTimerCount()).toBe(1);
    expect(d.datapath.ringbufOutput({ fd }, Uint8Array.of(1, 2))).toBe(0);
    expect(await now(woken)).toBe(1);
    expect(vi.getTimerCount(), "the woken wait's timer is cleared").toBe(0);

    setConsumer(d, fd, 16n);
    const timedOut = d.mapPoll(fd, 5_000);
    vi.advanceTimersByTime(4_999);
    expect(await now(timedOut)).toBe(PENDING);
    vi.advanceTimersByTime(1);
    expect(await now(timedOut)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);

    // Infinity sets no timer at all; 0 answers without one.
    const forever = d.mapPoll(fd, Number.POSITIVE_INFINITY);
    expect(vi.getTimerCount()).toBe(0);
    expect(await d.mapPoll(fd, 0)).toBe(0);
    vi.advanceTimersByTime(2 ** 31);
    expect(await now(forever)).toBe(PENDING);
    expect(d.datapath.ringbufOutput({ fd }, Uint8Array.of(3), FORCE_WAKEUP)).toBe(0);
    expect(await now(forever)).toBe(1);
    expect(d.close(fd)).toBe(0);
  });

  it("every way a wait ends removes its timer and its abort listener", async () => {
    vi.useFakeTimers();
    const d = sim();
    const fd = ring(d);
    const sig = countingSignal();
    const ends = [
      d.mapPoll(fd, 1_000, sig.signal), // the timer
      d.mapPoll(fd, 60_000, sig.signal), // the abort
    ];
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(await now(ends[0]!)).toBe(0);
    sig.abort();
    expect(await now(ends[1]!)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(sig.counts).toEqual({ added: 2, removed: 2 });
    // An aborted signal answers at once, adding nothing.
    expect(await d.mapPoll(fd, 60_000, sig.signal)).toBe(0);
    expect(sig.counts).toEqual({ added: 2, removed: 2 });

    const live = countingSignal();
    const viaDup = d.dup(fd);
    const more = [d.mapPoll(fd, 60_000, live.signal), d.mapPoll(viaDup, 60_000, live.signal)];
    expect(d.close(viaDup)).toBe(0); // close
    expect(await now(more[1]!)).toBe(-Errno.EBADF);
    expect(d.datapath.ringbufOutput({ fd }, Uint8Array.of(1))).toBe(0); // the wake-up
    expect(await now(more[0]!)).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(live.counts).toEqual({ added: 2, removed: 2 });
    expect(d.close(fd)).toBe(0);
  });
});

describe("sim mapPoll: close and what a wait holds", () => {
  afterEach(() => { vi.useRealTimers(); });

  it("closing a dup's fd ends the waits through it alone; the original fd's wait goes on", async () => {
    vi.useFakeTimers();
    const d = sim();
    const fd = ring(d);
    const dup = d.dup(fd);
    const other = ring(d);
    const viaFd = [d.mapPoll(fd, 10_000), d.mapPoll(fd, Number.POSITIVE_INFINITY)];
    const viaDup = [d.mapPoll(dup, 10_000), d.mapPoll(dup, Number.POSITIVE_INFINITY)];
    const onOther = d.mapPoll(other, 10_000);
    expect(d.close(dup)).toBe(0);
    expect(await allNow(viaDup)).toEqual([-Errno.EBADF, -Errno.EBADF]);
    for (const w of [...viaFd, onOther]) expect(await now(w)).toBe(PENDING);
    // A close that fails (an injected EINTR) closes nothing, so ends no wait.
    d.faults.inject("close", { errno: Errno.EINTR });
    expect(d.close(fd)).toBe(-Errno.EINTR);
    for (const w of viaFd) expect(await now(w)).toBe(PENDING);
    expect(d.datapath.ringbufOutput({ fd }, Uint8Array.of(1))).toBe(0);
    expect(await allNow(viaFd)).toEqual([1, 1]);
    expect(await now(onOther)).toBe(PENDING);
    expect(d.close(other)).toBe(0);
    expect(await now(onOther)).toBe(-Errno.EBADF);
    expect(d.close(fd)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a wait takes no fd and no reference: the map goes with its last fd, and the fd numbers come back", async () => {
    const d = sim();
    const first = ring(d);
    const dup = d.dup(first);
    const ids = d.liveMapIds();
    expect(ids).toHaveLength(1);
    const waits = [d.mapPoll(first, Number.POSITIVE_INFINITY), d.mapPoll(dup, Number.POSITIVE_INFINITY)];
    // Neither the waits nor anything they made took an fd: the next is the one after the dup.
    const probe = d.dup(first);
    expect(probe).toBe(dup + 1);
    expect(d.close(probe)).toBe(0);
    expect(d.close(dup)).toBe(0);
    expect(d.close(first)).toBe(0);
    expect(await allNow(waits)).toEqual([-Errno.EBADF, -Errno.EBADF]);
    // The last fd closed during its wait frees the map: the wait held no reference.
    expect(d.liveMapIds()).toEqual([]);
    // A new ring takes the same fd, and a wait on it is a fresh one: no stale waiter answers.
    const again = ring(d);
    expect(again).toBe(first);
    const w = d.mapPoll(again, 50);
    expect(await now(w)).toBe(PENDING);
    expect(await w).toBe(0);
    expect(d.close(again)).toBe(0);
    expect(d.liveMapIds()).toEqual([]);
  });
});
