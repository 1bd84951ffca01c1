// testkit's perf producer on both drivers: bpf_perf_event_output from a program on a chosen CPU
// lands in that CPU's event's ring as the same PERF_RECORD_SAMPLE, from the stack or (past 512
// bytes) from the producer's staging ARRAY; the helper's errnos come back as they are; flags a
// producer cannot send are refused before any program runs.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { perfProducerFor } from "../src/perf/producer.js";
import { driversUnderTest } from "../src/drivers.js";

const PEA = 4;
const openFds = () => readdirSync("/proc/self/fd").length;
const u32 = (n: number) => Uint8Array.of(n, n >> 8, n >> 16, n >>> 24);

for (const under of driversUnderTest()) {
  describe.skipIf(under.unavailable !== undefined)(`perf producer on the ${under.name} driver`, () => {
    it("writes each CPU's samples into that CPU's event, the bytes as the kernel lays them out", () => {
      const before = openFds();
      const d = under.create();
      const p = perfProducerFor(d)!;
      const page = d.pageSize ?? 4096;
      const cpus = Math.min(d.possibleCpus, 2);
      const map = d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: d.possibleCpus });
      const evs: number[] = [], rings: number[] = [];
      try {
        for (let cpu = 0; cpu < cpus; cpu++) {
          evs.push(d.perfEventOpen!({ cpu }));
          expect(d.mapUpdateElem(map, u32(cpu), u32(evs[cpu]!))).toBe(0);
          rings.push(d.mapMmap!(evs[cpu]!, 3 * page, true));
          expect(rings[cpu]).toBeGreaterThanOrEqual(0);
        }
        const big = Uint8Array.from({ length: 1000 }, (_, i) => (i * 13) & 0xff);
        for (let cpu = 0; cpu < cpus; cpu++) {
          expect(p.output(map, cpu, Uint8Array.of(cpu + 1, 2, 3))).toBe(0);
          expect(p.output(map, cpu, big, cpu), "past the stack, by index").toBe(0);
        }
        for (let cpu = 0; cpu < cpus; cpu++) {
          const b = new Uint8Array(16 + 1016);
          expect(d.mmapRead!(rings[cpu]!, page, b)).toBe(0);
          expect(Buffer.from(b.subarray(0, 16)).toString("hex")).toBe(`0900000001001000040000000${cpu + 1}020300`);
          const dv = new DataView(b.buffer);
          expect([dv.getUint16(16 + 6, true), dv.getUint32(16 + 8, true)]).toEqual([1016, 1004]);
          expect(b.subarray(16 + 12, 16 + 12 + 1000)).toEqual(big);
        }
        expect(p.output(map, 0, Uint8Array.of(1), d.possibleCpus), "an index past the map").toBe(-7);
        expect(() => p.output(map, 0, Uint8Array.of(1), 2 ** 32), "BPF_F_CTXLEN_MASK bits").toThrow(RangeError);
        expect(() => p.output(map, d.possibleCpus, Uint8Array.of(1))).toThrow(RangeError);
        expect(() => p.output(map, 0, new Uint8Array((1 << 20) + 1))).toThrow(RangeError);
      } finally {
        p.close();
        for (const r of rings) d.munmap!(r);
        for (const fd of [...evs, map]) d.close(fd);
      }
      expect(openFds(), "the producer's programs and staging map closed").toBe(before);
    });
  });
}
