// The same random run on the simulator and the kernel: outputs of random sizes into one event's
// ring (through testkit's perf producer), a reader that moves data_tail to a random record
// boundary, and a poll after each step. Every answer, data_head, the bytes each output added
// (a PERF_RECORD_LOST's event id aside: the kernel's ids are global) and each poll must agree:
// the full ring, the lost counts, the wraps and the wake-ups held to the kernel beyond the
// conformance cases' fixed sequences.
import { describe, expect, it } from "vitest";
import type { Driver } from "@bpfkit/core";
import { Prng } from "../src/conformance/prng.js";
import { kernelUnderTest, simUnderTest } from "../src/drivers.js";
import { perfProducerFor } from "../src/perf/producer.js";

const PEA = 4, LOST = 2;
const u32 = (n: number) => Uint8Array.of(n, n >> 8, n >> 16, n >>> 24);

async function trace(d: Driver, seed: number, steps: number): Promise<string[]> {
  const rnd = new Prng(seed);
  const page = d.pageSize ?? 4096;
  const attr = rnd.pick([{ wakeupEvents: 1 }, { wakeupEvents: 3 }, { wakeupEvents: 0 }, { wakeupWatermark: 700 }]);
  const p = perfProducerFor(d)!;
  const map = d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: d.possibleCpus });
  const ev = d.perfEventOpen!({ cpu: 0, ...attr });
  const ring = d.mapMmap!(ev, 2 * page, true);
  const out: string[] = [`attr ${JSON.stringify(attr)}`];
  try {
    expect(d.mapUpdateElem(map, u32(0), u32(ev))).toBe(0);
    const word = (at: number) => {
      const b = new Uint8Array(8);
      expect(d.mmapRead!(ring, at, b)).toBe(0);
      return Number(new DataView(b.buffer).getBigUint64(0, true));
    };
    /** `n` data bytes from position `pos`, wrapping. */
    const at = (pos: number, n: number) => {
      const b = new Uint8Array(n);
      for (let done = 0; done < n;) {
        const off = (pos + done) % page;
        const k = Math.min(n - done, page - off);
        const part = new Uint8Array(k);
        expect(d.mmapRead!(ring, page + off, part)).toBe(0);
        b.set(part, done);
        done += k;
      }
      return b;
    };
    const bounds: number[] = [0];
    let tail = 0;
    for (let step = 0; step < steps; step++) {
      if (rnd.next() < 0.85) {
        const size = rnd.pick([0, 1, 4, 8, 13, 84, 200, 500, 600, 1500]);
        const head = word(1024);
        const r = p.output(map, 0, rnd.bytes(size));
        const now = word(1024);
        const added = at(head, now - head);
        // A lost record's id is the kernel's global event id: masked.
        if (added.length >= 24 && new DataView(added.buffer).getUint32(0, true) === LOST) {
          added.fill(0, 8, 16);
          bounds.push(head + 24);
        }
        if (now !== head) bounds.push(now);
        out.push(`out ${size}: ${r} head ${now} ${Buffer.from(added).toString("hex")}`);
      } else {
        const later = bounds.filter((b) => b >= tail);
        tail = rnd.pick(later);
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt(tail), true);
        expect(d.mmapWrite!(ring, 1032, b)).toBe(0);
        out.push(`tail ${tail}`);
      }
      out.push(`poll ${await d.mapPoll!(ev, 0)}`);
    }
  } finally {
    p.close();
    d.munmap!(ring);
    d.close(ev);
    d.close(map);
  }
  return out;
}

const kernel = kernelUnderTest();
describe.skipIf(kernel.unavailable !== undefined)("perf events: the simulator against the kernel, random runs", () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: every answer, head, record and poll agrees`, async () => {
      const sim = await trace(simUnderTest().create(), seed, 90);
      const real = await trace(kernel.create(), seed, 90);
      expect(sim).toEqual(real);
      // The run did reach a full ring, lost samples, and wrote a PERF_RECORD_LOST after.
      expect(real.some((l) => l.includes(": -28 "))).toBe(true);
      expect(real.some((l) => / head \d+ 02000000/.test(l))).toBe(true);
    }, 60_000);
  }
});
