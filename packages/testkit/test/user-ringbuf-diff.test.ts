// Core's UserRingBufProducer against a program's drain, random sequences on the kernel (a real
// drain program run by BPF_PROG_TEST_RUN) and on the simulator (its datapath): reserves (0-byte
// ones among them) held and submitted or discarded out of order, writes up to a full ring, wraps
// of an 8 KiB ring, drains with each flag. Both must give the same trace: what each call
// answered, the room after it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createBpf, type Driver, type UserRingBufSample } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { userRingDrainerFor } from "../src/index.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();
const USER_RINGBUF = 31, SIZE = 8192;

type Op =
  | { op: "write"; size: number }
  | { op: "reserve"; size: number }
  | { op: "commit"; which: number; discard: boolean }
  | { op: "drain"; flags: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("write" as const), size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 500, max: 3000 })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("reserve" as const), size: fc.integer({ min: 0, max: 700 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("commit" as const), which: fc.nat(5), discard: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("drain" as const), flags: fc.constantFrom(0, 1, 2) }) },
);

/** Runs `ops` on `d`: one line per op, what it answered and the room after it. */
function trace(d: Driver, ops: readonly Op[]): string[] {
  const drainer = userRingDrainerFor(d)!;
  const fd = d.mapCreate({ mapType: USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: SIZE });
  if (fd < 0) throw new Error(`mapCreate: ${fd}`);
  const ring = createBpf({ driver: d }).openUserRingBuf({ fd });
  const p = ring.producer();
  const held: UserRingBufSample[] = [];
  const out: string[] = [];
  let n = 0;
  try {
    for (const o of ops) {
      let said: string;
      // Each sample's first u64 is its number, so a drain's sum says which records it took.
      const fill = (s: UserRingBufSample) => {
        if (s.size >= 8) new DataView(s.data.buffer).setBigUint64(0, BigInt(++n), true);
      };
      if (o.op === "write") {
        const s = p.reserve(o.size);
        if (s !== undefined) {
          fill(s);
          s.submit();
        }
        said = String(s !== undefined);
      } else if (o.op === "reserve") {
        const s = p.reserve(o.size);
        if (s !== undefined) {
          fill(s);
          held.push(s);
        }
        said = String(s !== undefined);
      } else if (o.op === "commit") {
        const s = held.splice(o.which % Math.max(1, held.length), 1)[0];
        if (s === undefined) said = "none held";
        else {
          if (o.discard) s.discard();
          else s.submit();
          said = o.discard ? "discarded" : "submitted";
        }
      } else {
        const r = drainer.drain(fd, o.flags);
        said = `${r.ret} ${r.sum} ${r.count}`;
      }
      out.push(`${JSON.stringify(o)} → ${said}, room ${p.room()}`);
    }
    return out;
  } finally {
    p.close();
    ring.close();
    drainer.close();
  }
}

describe.skipIf(kernel.unavailable !== undefined)("UserRingBufProducer and a program's drain: the simulator as the kernel", () => {
  it("property: random producer and drain sequences give the same trace on both", () => {
    const k = kernel.create();
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 24 }), (ops) => {
      const onKernel = trace(k, ops);
      const onSim = trace(createSimDriver({ possibleCpus: 2 }), ops);
      expect(onSim).toEqual(onKernel);
    }), { numRuns: 40 });
  });
});
