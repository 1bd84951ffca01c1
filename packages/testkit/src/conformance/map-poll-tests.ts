// Driver.mapPoll's contract as tests for any driver that has it: poll(2) of a map's fd, as a ring
// buffer's reader waits. The kernel's rules it follows (kernel/bpf/ringbuf.c): ringbuf_map_poll_kern
// reports a ring readable while its consumer position is behind its producer position; a wait
// that found it empty ends when bpf_ringbuf_commit wakes the ring (BPF_RB_FORCE_WAKEUP, or no
// BPF_RB_NO_WAKEUP and the record committed is the one the consumer position points at);
// bpf_map_poll answers EPOLLERR for a map type without poll. The driver's own: the answers as
// numbers, the timeout, the signal, and close() ending a wait on its fd with EBADF. The
// conformance cases are synchronous, and a wait is not, so these are registered apart.
import { BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, driverPageSize, type Driver } from "@bpfkit/core";
import { ringbufProducerFor, type RingbufProducer } from "../ringbuf/producer.js";
import { UserRingWriter } from "../ringbuf/user-ring-writer.js";
import { settledWithin } from "../settled-within.js";
import { CaseSkipped, expectEqual, expectList, expectResult, fail } from "./assert.js";
import { skipTest, type TestApi } from "./define-tests.js";

const RINGBUF = 27, USER_RINGBUF = 31, HASH = 1;
const BPF_RB_CONS_POS = 2, BPF_RB_PROD_POS = 3;
const EBADF = 9, EINVAL = 22;
/** r0 = 0; exit: the smallest socket filter. */
const RETURN_0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
/** How long a wait that should end may take (real time: a kernel wake-up comes from irq_work). */
const ENDS_WITHIN = 2000;
/** How long a wait that should not end is watched. */
const STAYS_FOR = 60;

/** What a mapPoll case is given: the driver, a producer, and helpers that clean up after it. */
export interface PollWorld {
  /** The driver under test. */
  readonly d: Driver;
  /** Writes records as a program would (`ringbufProducerFor(d)`). */
  readonly producer: RingbufProducer;
  /** A new 4 KiB RINGBUF, closed after the case. */
  ring(): number;
  /** Checks and remembers an fd, closed after the case. */
  track(fd: number): number;
  /** `d.mapPoll(fd, timeoutMs, signal)`. */
  poll(fd: number, timeoutMs: number, signal?: AbortSignal): Promise<number>;
  /** Takes every record: the consumer position written up to the producer's, as a reader does. */
  consumeAll(fd: number): void;
}

/** One mapPoll case: its name, and a run that throws a ConformanceError on a broken rule. */
export interface PollCase {
  /** What the case checks, as the test's name. */
  readonly name: string;
  /** Runs the case: resolves, or rejects with a ConformanceError naming the call. */
  run(w: PollWorld): Promise<void>;
}

async function endsWith(p: Promise<number>, want: number | "pending", what: string, ms = ENDS_WITHIN): Promise<void> {
  const got = await settledWithin(p, ms);
  if (got !== want) fail(`${what}: expected ${want === "pending" ? `no answer within ${ms} ms` : want}, got ${got === "pending" ? `no answer within ${ms} ms` : got}`);
}

function throwsA(fn: () => unknown, kind: typeof TypeError | typeof RangeError, what: string): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof kind) return;
    fail(`${what}: expected a ${kind.name} thrown before any wait, got ${String(e)}`);
  }
  fail(`${what}: expected a ${kind.name} thrown before any wait, got none`);
}

/** mapPoll's cases, in order; `defineMapPollTests` registers one test per case. */
export const mapPollCases: readonly PollCase[] = [
  {
    name: "an empty ring: 0 at once for a timeout of 0, 0 when the timeout passes",
    async run({ ring, poll }) {
      const fd = ring();
      expectEqual(await poll(fd, 0), 0, "poll(empty, 0)");
      expectEqual(await poll(fd, 20), 0, "poll(empty, 20 ms)");
    },
  },
  {
    name: "a ring holding a record is readable at once, whatever flags it was committed with",
    async run({ ring, poll, producer }) {
      const fd = ring();
      expectResult(producer.output(fd, Uint8Array.of(1, 2, 3), BPF_RB_NO_WAKEUP), "OK", "output with NO_WAKEUP");
      expectEqual(await poll(fd, 0), 1, "poll(ring with a record, 0)");
      await endsWith(poll(fd, Number.POSITIVE_INFINITY), 1, "poll(ring with a record, Infinity)");
      // A discarded record still counts: the consumer position is behind the producer's.
      const other = ring();
      expectResult(producer.reserveDiscard(other, 8, BPF_RB_NO_WAKEUP), "OK", "reserve + discard");
      expectEqual(await poll(other, 0), 1, "poll(ring with a discarded record, 0)");
    },
  },
  {
    name: "a wait ends with 1 when a program commits the record the consumer position points at",
    async run({ ring, poll, producer, consumeAll }) {
      const fd = ring();
      let w = poll(fd, 10_000);
      expectResult(producer.output(fd, Uint8Array.of(7)), "OK", "output");
      await endsWith(w, 1, "the wait, after an output");
      // After a reader took it, the next record is the one the consumer points at again: submit
      // and discard commit the same way.
      consumeAll(fd);
      expectEqual(await poll(fd, 0), 0, "poll(consumed ring, 0)");
      w = poll(fd, 10_000);
      expectResult(producer.reserveSubmit(fd, Uint8Array.of(8, 9)), "OK", "reserve + submit");
      await endsWith(w, 1, "the wait, after a submit");
      consumeAll(fd);
      w = poll(fd, 10_000);
      expectResult(producer.reserveDiscard(fd, 16), "OK", "reserve + discard");
      await endsWith(w, 1, "the wait, after a discard");
      expectEqual(producer.query(fd, BPF_RB_CONS_POS), 32n, "the consumer position");
    },
  },
  {
    name: "NO_WAKEUP wakes no one, nor does a record behind it; FORCE_WAKEUP does",
    async run({ ring, poll, producer }) {
      const fd = ring();
      const w = poll(fd, 10_000);
      expectResult(producer.output(fd, Uint8Array.of(1), BPF_RB_NO_WAKEUP), "OK", "output with NO_WAKEUP");
      // The consumer points at the first record, not at this one: no wake-up without FORCE.
      expectResult(producer.output(fd, Uint8Array.of(2)), "OK", "output behind it");
      await endsWith(w, "pending", "the wait, after NO_WAKEUP then a plain record", STAYS_FOR);
      expectResult(producer.output(fd, Uint8Array.of(3), BPF_RB_FORCE_WAKEUP), "OK", "output with FORCE_WAKEUP");
      await endsWith(w, 1, "the wait, after FORCE_WAKEUP");
    },
  },
  {
    name: "a wait with records there but no wake-up times out with 0",
    async run({ ring, poll, producer }) {
      const fd = ring();
      const w = poll(fd, 50);
      expectResult(producer.reserveSubmit(fd, Uint8Array.of(4), BPF_RB_NO_WAKEUP), "OK", "submit with NO_WAKEUP");
      expectEqual(await w, 0, "the 50 ms wait");
      expectEqual(await poll(fd, 0), 1, "poll(ring with the record, 0)");
    },
  },
  {
    name: "every wait on the ring ends, through any of its fds; another ring's does not",
    async run({ d, ring, track, poll, producer }) {
      const a = ring(), b = ring();
      const dupA = typeof d.dup === "function" ? track(d.dup(a)) : a;
      const waits = [poll(a, 10_000), poll(a, 10_000), poll(dupA, 10_000)];
      const other = poll(b, 10_000);
      expectResult(producer.output(a, Uint8Array.of(5)), "OK", "output on ring a");
      const all = await settledWithin(Promise.all(waits), ENDS_WITHIN);
      expectList<number | string>(all === "pending" ? ["no answer"] : all, [1, 1, 1], "the three waits on ring a (two on its fd, one on a dup)");
      await endsWith(other, "pending", "the wait on ring b", STAYS_FOR);
      expectResult(producer.output(b, Uint8Array.of(6)), "OK", "output on ring b");
      await endsWith(other, 1, "the wait on ring b, after its output");
    },
  },
  {
    name: "an abort ends the wait with 0; a signal aborted before the call answers 0 first, whatever the fd",
    async run({ ring, poll, producer }) {
      const fd = ring(), other = ring();
      const ac = new AbortController();
      const w = poll(fd, Number.POSITIVE_INFINITY, ac.signal);
      await endsWith(w, "pending", "the wait before the abort", 30);
      ac.abort(new Error("stop"));
      await endsWith(w, 0, "the wait, aborted");
      await endsWith(poll(fd, 10_000, ac.signal), 0, "a wait with an aborted signal");
      expectResult(producer.output(other, Uint8Array.of(2)), "OK", "output");
      expectEqual(await poll(other, 0, ac.signal), 0, "poll(readable ring, aborted signal)");
      expectEqual(await poll(9999, 0, ac.signal), 0, "poll(fd not open, aborted signal)");
      // The ring was never woken: a record now still wakes a new wait.
      const again = poll(fd, 10_000);
      expectResult(producer.output(fd, Uint8Array.of(1)), "OK", "output");
      await endsWith(again, 1, "a new wait, after an output");
    },
  },
  {
    name: "close() of the fd during a wait ends it with -EBADF; a wait through a dup lives on",
    async run({ d, track, poll, producer }) {
      const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: driverPageSize(d) });
      expectResult(fd, "OK", "create a RINGBUF");
      const dup = typeof d.dup === "function" ? track(d.dup(fd)) : -1;
      const w = poll(fd, Number.POSITIVE_INFINITY);
      const viaDup = dup >= 0 ? poll(dup, 10_000) : undefined;
      expectResult(d.close(fd), "OK", "close of the waited fd");
      await endsWith(w, -EBADF, "the wait on the closed fd");
      if (viaDup !== undefined) {
        await endsWith(viaDup, "pending", "the wait through the dup", 30);
        expectResult(producer.output(dup, Uint8Array.of(1)), "OK", "output through the dup");
        await endsWith(viaDup, 1, "the wait through the dup, after an output");
      }
    },
  },
  {
    name: "a USER_RINGBUF is ready (EPOLLOUT) while producer less consumer position is below its size",
    async run({ d, track, poll }) {
      const page = driverPageSize(d);
      const fd = track(d.mapCreate({ mapType: USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: page }));
      expectEqual(await poll(fd, 0), 1, "poll(empty USER_RINGBUF, 0)");
      await endsWith(poll(fd, 10_000), 1, "poll(empty USER_RINGBUF, 10 s)");
      const w = new UserRingWriter(d, fd, page);
      try {
        w.setProducerPos(BigInt(page - 8));
        expectEqual(await poll(fd, 0), 1, "poll(USER_RINGBUF with 8 bytes of room, 0)");
        w.setProducerPos(BigInt(page));
        expectEqual(await poll(fd, 0), 0, "poll(full USER_RINGBUF, 0)");
        expectEqual(await poll(fd, 20), 0, "poll(full USER_RINGBUF, 20 ms)");
        // ringbuf_avail_data_sz is an unsigned long: a producer position behind the consumer's is no room.
        w.setProducerPos(2n ** 64n - 8n);
        expectEqual(await poll(fd, 0), 0, "poll(USER_RINGBUF, producer behind the consumer)");
        w.setProducerPos(0n);
      } finally {
        w.close();
      }
    },
  },
  {
    name: "refusals: an fd not open is -EBADF, a map type without poll -EINVAL; a program is readable",
    async run({ d, track, poll }) {
      const hash = track(d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      expectEqual(await poll(hash, 10_000), -EINVAL, "poll(HASH, 10 s)");
      expectEqual(await poll(hash, 0), -EINVAL, "poll(HASH, 0)");
      expectEqual(await poll(9999, 10_000), -EBADF, "poll(fd not open)");
      expectEqual(await poll(-1, 10_000), -EBADF, "poll(-1)");
      const prog = track(d.progLoad({ progType: 1, insns: RETURN_0, license: "GPL" }));
      await endsWith(poll(prog, 10_000), 1, "poll(a program's fd)");
    },
  },
  {
    name: "bad arguments throw before any wait: the fd, the timeout, the signal",
    async run({ d, ring }) {
      const fd = ring();
      const mapPoll = d.mapPoll!.bind(d) as (fd: unknown, timeoutMs: unknown, signal?: unknown) => Promise<number>;
      for (const bad of [1.5, Number.NaN, "3"]) throwsA(() => mapPoll(bad, 0), TypeError, `fd ${String(bad)}`);
      for (const bad of [-1, 2 ** 31, Number.NaN, 1.5]) throwsA(() => mapPoll(fd, bad), RangeError, `timeoutMs ${bad}`);
      throwsA(() => mapPoll(fd, "10"), TypeError, `timeoutMs "10"`);
      throwsA(() => mapPoll(fd, 0, {}), TypeError, "a signal that is no AbortSignal");
    },
  },
];

/**
 * Registers one test per mapPoll case under `describe(title)`, as defineConformanceTests does for
 * the synchronous cases: each makes a driver, skips (with the reason) when it has no mapPoll or
 * no ring buffer producer (`ringbufProducerFor`), and closes what it opened.
 */
export function defineMapPollTests(t: TestApi, title: string, makeDriver: () => Driver): void {
  t.describe(title, () => {
    for (const c of mapPollCases) {
      // A rest parameter keeps fn.length at 0: jest reads a declared parameter as `done`.
      t.it(c.name, async (...args: unknown[]) => {
        const d = makeDriver();
        const producer = typeof d.mapPoll === "function" ? ringbufProducerFor(d) : undefined;
        if (producer === undefined) {
          const reason = typeof d.mapPoll !== "function"
            ? `${d.kind} has no mapPoll (an optional Driver method)`
            : `${d.kind} has no ring buffer producer (ringbufProducerFor gives one for a driver with progTestRun, or the simulator)`;
          skipTest(args, c.name, reason);
          return;
        }
        const fds: number[] = [];
        const track = (fd: number): number => {
          expectResult(fd, "OK", "a new fd");
          fds.push(fd);
          return fd;
        };
        const world: PollWorld = {
          d, producer, track,
          ring: () => track(d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: driverPageSize(d) })),
          poll: (fd, timeoutMs, signal) => d.mapPoll!(fd, timeoutMs, signal),
          consumeAll(fd) {
            const cons = d.mapMmap?.(fd, driverPageSize(d), true);
            if (cons === undefined) throw new CaseSkipped(`${d.kind} cannot map memory, so no consumer position can be written`);
            expectResult(cons, "OK", "writable mmap of the consumer page");
            const b = new Uint8Array(8);
            new DataView(b.buffer).setBigUint64(0, producer.query(fd, BPF_RB_PROD_POS), true);
            expectResult(d.mmapWrite!(cons, 0, b), "OK", "write of the consumer position");
            expectResult(d.munmap!(cons), "OK", "munmap of the consumer page");
          },
        };
        try {
          await c.run(world);
        } catch (e) {
          if (!(e instanceof CaseSkipped)) throw e;
          skipTest(args, c.name, e.message);
        } finally {
          producer.close();
          for (const fd of fds) d.close(fd);
        }
      }, 60_000);
    }
  });
}
