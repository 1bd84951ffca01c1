// A ring buffer on a kernel with 16 or 64 KiB pages (arm64), played by the simulator's pageSize:
// the ring's size must be a multiple of that page, its data starts two of them in, and the reader
// finds records there, across the ring's end too. A reader that counted in 4 KiB pages mapped the
// data at an offset off a page (EINVAL) or read the producer's page as records.
import { describe, expect, it } from "vitest";
import { createBpf, driverPageSize, memoryLogger, RingBufReader } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { thrown } from "./support/thrown.js";

const bytesFrom = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

for (const pageSize of [16384, 65536]) {
  describe(`BpfRingBuf on a ${pageSize / 1024} KiB-page kernel (the simulator's pageSize)`, () => {
    it("the ring's size is checked against the driver's page before any syscall, naming it", () => {
      const sim = createSimDriver({ pageSize });
      expect(driverPageSize(sim)).toBe(pageSize);
      const bpf = createBpf({ driver: sim, logger: memoryLogger() });
      const e = thrown(() => bpf.newRingBuf({ name: "small", maxEntries: 4096 }));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`newRingBuf small: maxEntries is the ring's size in bytes, a power of 2 and a multiple of the page size (${pageSize}), got 4096`);
      const rb = bpf.newRingBuf({ name: "one_page", maxEntries: pageSize });
      rb.openOrCreateUnpinned();
      expect(rb.info().maxEntries).toBe(pageSize);
      rb.close();
    });

    it("records come out in order, whole, across the ring's end, with the room given back", () => {
      const sim = createSimDriver({ pageSize });
      const rb = createBpf({ driver: sim, logger: memoryLogger() }).newRingBuf({ name: "events", maxEntries: pageSize });
      rb.openOrCreateUnpinned();
      using r = rb.reader();
      const ring = { fd: rb.getFd() };
      // Records of a quarter ring less the header: three fit, the fourth waits for room.
      const n = pageSize / 4 - 8;
      let from = 0;
      for (let round = 0; round < 6; round++) {
        const sent: Uint8Array[] = [];
        for (let i = 0; i < 3; i++) {
          const s = bytesFrom(n - (round % 3) * 8, from++);
          expect(sim.datapath.ringbufOutput(ring, s)).toBe(0);
          sent.push(s);
        }
        const got: Uint8Array[] = [];
        expect(r.drain((s) => got.push(s))).toBe(3);
        // Buffer.equals: vitest's deep equality walks 16 KiB samples byte by byte, slowly.
        expect(got.map((g, i) => g.length === sent[i]!.length && Buffer.from(g).equals(sent[i]!))).toEqual([true, true, true]);
        expect(r.available()).toBe(0);
      }
      // A reserved record is BUSY at the head, then submitted: readInto takes it.
      const held = sim.datapath.ringbufReserve(ring, 5);
      expect(held).toBeGreaterThanOrEqual(0);
      expect(r.read()).toBeUndefined();
      sim.datapath.ringbufWrite(held, 0, bytesFrom(5, 200));
      sim.datapath.ringbufSubmit(held);
      const buf = new Uint8Array(16);
      expect(r.readInto(buf)).toBe(5);
      expect(buf.subarray(0, 5)).toEqual(bytesFrom(5, 200));
      rb.close();
    });
  });
}

describe("RingBufReader's pageSize", () => {
  it("a page size no kernel has is a RangeError naming the ring, before anything is read", () => {
    const sim = createSimDriver();
    for (const pageSize of [0, 1000, 6144]) {
      expect(() => new RingBufReader({ driver: sim, consumer: 0, data: 1, size: 4096, pageSize, name: "rb", path: "" }))
        .toThrow(new RangeError(`RingBufReader rb: pageSize must be a power of 2 of at least 4096, got ${pageSize}`));
    }
  });
});
