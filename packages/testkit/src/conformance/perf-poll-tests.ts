// poll(2) of a BPF output event's fd (Driver.mapPoll), as a perf reader waits, for any driver
// with perfEventOpen and mapPoll. The kernel's rules (kernel/events/core.c perf_poll,
// kernel/events/ring_buffer.c perf_output_begin, perf_output_sample, perf_output_put_handle):
// an output wakes the event when rb->wakeup moved, by one every wakeup_events samples (unless
// the watermark bit is set) or by the watermark as the head passes it (wakeup_watermark, or
// half the data when none); perf_poll answers the wake-ups since the last poll and takes them
// (rb->poll exchanged for 0), so a second poll with no new wake-up is not readable whatever
// the ring holds; an event with no ring never wakes. Checked on 6.18 through the kernel driver
// (docs/probes/perf_event_array.mjs). The waits are asynchronous, so these cases are apart
// from the synchronous conformance cases of cases/perf.ts.
import { driverPageSize, type Driver } from "@bpfkit/core";
import { perfProducerFor, type PerfProducer } from "../perf/producer.js";
import { settledWithin } from "../settled-within.js";
import { CaseSkipped, expectEqual, expectResult, fail } from "./assert.js";
import { skipTest, type TestApi } from "./define-tests.js";

const PEA = 4;
const EBADF = 9, EINVAL = 22;
const ENDS_WITHIN = 2000;
const STAYS_FOR = 60;

/** What a perf poll case is given. */
export interface PerfPollWorld {
  /** The driver under test. */
  readonly d: Driver;
  /** Writes samples as a program on a CPU would (`perfProducerFor(d)`). */
  readonly producer: PerfProducer;
  /** Checks and remembers an fd, closed after the case. */
  track(fd: number): number;
  /** A PERF_EVENT_ARRAY with an event on CPU 0 in slot 0 (its wake-up rule `attr`), its ring of 1 + 1 pages mapped writable. */
  ring(attr?: { wakeupEvents?: number; wakeupWatermark?: number }): { map: number; ev: number; out(n: number): number };
}

/** One perf poll case. */
export interface PerfPollCase {
  /** What the case checks, as the test's name. */
  readonly name: string;
  /** Runs the case: resolves, or rejects with a ConformanceError naming the call. */
  run(w: PerfPollWorld): Promise<void>;
}

/** A sample of `n` bytes. */
const sample = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

async function endsWith(p: Promise<number>, want: number | "pending", what: string, ms = ENDS_WITHIN): Promise<void> {
  const got = await settledWithin(p, ms);
  if (got !== want) fail(`${what}: expected ${want === "pending" ? `no answer within ${ms} ms` : want}, got ${got === "pending" ? `no answer within ${ms} ms` : got}`);
}

/** Which of `count` outputs of 96-byte records made the event readable, as a string of 0s and 1s. */
async function readableAfterEach(w: PerfPollWorld, attr: { wakeupEvents?: number; wakeupWatermark?: number }, count: number): Promise<string> {
  const r = w.ring(attr);
  let seen = "";
  for (let i = 0; i < count; i++) {
    expectResult(r.out(84), "OK", `output ${i + 1}`);
    seen += String(await w.d.mapPoll!(r.ev, 0));
  }
  return seen;
}

/**
 * Which of `count` outputs of 96-byte records wake, as the kernel counts: rb->wakeup moves by the
 * watermark when the new head is past it by more, and by one every `every` samples (none with
 * the watermark bit); an output wakes when it moved. A string of 0s and 1s.
 */
function wakeups(count: number, every: number, mark: number): string {
  let wakeup = 0, events = 0, out = "";
  for (let i = 1; i <= count; i++) {
    const before = wakeup;
    if (i * 96 - wakeup > mark) wakeup += mark;
    if (every !== 0 && ++events >= every) {
      events -= every;
      wakeup++;
    }
    out += wakeup !== before ? "1" : "0";
  }
  return out;
}

/** The perf event poll cases, in order; `definePerfPollTests` registers one test per case. */
export const perfPollCases: readonly PerfPollCase[] = [
  {
    name: "perf_output_sample: wakeup_events 1 wakes at every sample, 3 at every third; a poll takes the wake-up (a second poll is 0 though records wait)",
    async run(w) {
      const page = driverPageSize(w.d);
      const count = Math.min(24, Math.floor((page - 1) / 96));
      expectEqual(await readableAfterEach(w, { wakeupEvents: 1 }, count), wakeups(count, 1, page / 2), "wakeup_events 1");
      // With 4 KiB pages "001001001001001001001101": the 22nd output crosses the watermark (half the data).
      expectEqual(await readableAfterEach(w, { wakeupEvents: 3 }, count), wakeups(count, 3, page / 2), "wakeup_events 3");
      const r = w.ring({ wakeupEvents: 1 });
      expectResult(r.out(8), "OK", "an output");
      expectEqual(await w.d.mapPoll!(r.ev, 0), 1, "the first poll");
      expectEqual(await w.d.mapPoll!(r.ev, 0), 0, "a second poll, the record still there");
    },
  },
  {
    name: "ring_buffer.c perf_output_begin: the watermark wakes as the head passes it, by the bytes given (200) or, with none or 0, half the data; wakeup_events 0 leaves only it",
    async run(w) {
      const page = driverPageSize(w.d);
      const count = Math.min(24, Math.floor((page - 1) / 96));
      const byMark = (mark: number) => wakeups(count, 0, mark);
      expectEqual(await readableAfterEach(w, { wakeupWatermark: 200 }, count), byMark(200), "a watermark of 200 bytes");
      expectEqual(await readableAfterEach(w, { wakeupWatermark: 0 }, count), byMark(page / 2), "a watermark of 0 (half the data)");
      expectEqual(await readableAfterEach(w, { wakeupEvents: 0 }, count), byMark(page / 2), "wakeup_events 0");
    },
  },
  {
    name: "perf_poll: a wait ends with 1 at the output that wakes, not before; an event with no ring never wakes; close() of its fd ends a wait with -EBADF; the PERF_EVENT_ARRAY has no poll (-EINVAL)",
    async run(w) {
      const { d } = w;
      const r = w.ring({ wakeupEvents: 2 });
      const wait = d.mapPoll!(r.ev, 10_000);
      expectResult(r.out(8), "OK", "the first output");
      await endsWith(wait, "pending", "the wait after one of two samples", STAYS_FOR);
      expectResult(r.out(8), "OK", "the second output");
      await endsWith(wait, 1, "the wait after the second sample");
      expectEqual(await d.mapPoll!(r.map, 0), -EINVAL, "poll of the PERF_EVENT_ARRAY");
      const bare = d.perfEventOpen!({ cpu: 0 });
      expectResult(bare, "OK", "an event with no ring");
      expectEqual(await d.mapPoll!(bare, 0), 0, "poll of an event with no ring");
      const closing = d.mapPoll!(bare, 10_000);
      expectResult(d.close(bare), "OK", "close of the event's fd");
      await endsWith(closing, -EBADF, "the wait on the closed fd");
    },
  },
];

/**
 * Registers one test per perf poll case under `describe(title)`: each makes a driver, skips
 * (with the reason) when it has no perfEventOpen, mapPoll or mapMmap, or no perf producer
 * (`perfProducerFor`), and closes what it opened.
 */
export function definePerfPollTests(t: TestApi, title: string, makeDriver: () => Driver): void {
  t.describe(title, () => {
    for (const c of perfPollCases) {
      t.it(c.name, async (...args: unknown[]) => {
        const d = makeDriver();
        const lacks = (["perfEventOpen", "mapPoll", "mapMmap", "mmapRead", "mmapWrite", "munmap"] as const).filter((m) => typeof d[m] !== "function");
        const producer = lacks.length === 0 ? perfProducerFor(d) : undefined;
        if (producer === undefined) {
          skipTest(args, c.name, lacks.length > 0 ? `${d.kind} has no ${lacks.join(", ")} (optional Driver methods)`
            : `${d.kind} has no perf producer (perfProducerFor gives one for a driver with progTestRun, or the simulator)`);
          return;
        }
        const fds: number[] = [];
        const maps: number[] = [];
        const track = (fd: number): number => {
          expectResult(fd, "OK", "a new fd");
          fds.push(fd);
          return fd;
        };
        const world: PerfPollWorld = {
          d, producer, track,
          ring(attr = {}) {
            const map = track(d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: d.possibleCpus }));
            const ev = track(d.perfEventOpen!({ cpu: 0, ...attr }));
            expectResult(d.mapUpdateElem(map, new Uint8Array(4), Uint8Array.of(ev, ev >> 8, ev >> 16, ev >>> 24)), "OK", "slot 0 ← the event");
            const h = d.mapMmap!(ev, 2 * driverPageSize(d), true);
            expectResult(h, "OK", "mmap of the event's ring");
            maps.push(h);
            return { map, ev, out: (n) => producer.output(map, 0, sample(n)) };
          },
        };
        try {
          await c.run(world);
        } catch (e) {
          if (!(e instanceof CaseSkipped)) throw e;
          skipTest(args, c.name, e.message);
        } finally {
          producer.close();
          for (const h of maps) d.munmap!(h);
          // A case may have closed one itself (EBADF then, harmless).
          for (const fd of fds) d.close(fd);
        }
      }, 60_000);
    }
  });
}
