// perfEventOpen: the BPF output event a PERF_EVENT_ARRAY slot holds. The kernel takes its fd as
// the slot's value, maps its ring ((1 + 2^n) pages: the perf_event_mmap_page, then the data),
// and a socket filter's bpf_perf_event_output run by BPF_PROG_TEST_RUN lands there as one
// PERF_RECORD_SAMPLE: a u32 raw size, then the raw bytes padded so the record ends 8-aligned.
import { expect, it } from "vitest";
import { Errno, ProgType } from "@bpfkit/core";
import { describeKernel, kernelForFile, readU32, readU64, u32, withFds } from "./helpers.js";
import { insn } from "../../testkit/src/ringbuf/programs.js";

const k = kernelForFile();
const PAGE = 4096;
const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
const PERF_RECORD_SAMPLE = 9;

/** A socket filter: bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, &u64 0x1122334455667788, 8); return 0. */
function outputProg(mapFd: number): Uint8Array {
  return new Uint8Array([
    ...insn(0xbf, 6, 1, 0, 0), // r6 = r1 (ctx)
    ...insn(0x18, 1, 0, 0, 0x55667788), ...insn(0, 0, 0, 0, 0x11223344), // r1 = 0x1122334455667788
    ...insn(0x7b, 10, 1, -8, 0), // *(u64 *)(r10 - 8) = r1
    ...insn(0xbf, 1, 6, 0, 0), // r1 = ctx
    ...insn(0x18, 2, 1, 0, mapFd), ...insn(0, 0, 0, 0, 0), // r2 = map (BPF_PSEUDO_MAP_FD)
    ...insn(0x18, 3, 0, 0, -1), ...insn(0, 0, 0, 0, 0), // r3 = BPF_F_CURRENT_CPU (0xffffffff)
    ...insn(0xbf, 4, 10, 0, 0), // r4 = r10
    ...insn(0x07, 4, 0, 0, -8), // r4 += -8
    ...insn(0xb7, 5, 0, 0, 8), // r5 = 8
    ...insn(0x85, 0, 0, 0, 25), // call bpf_perf_event_output
    ...insn(0xb7, 0, 0, 0, 0), // r0 = 0
    ...insn(0x95, 0, 0, 0, 0), // exit
  ]);
}

describeKernel("kernel driver: perfEventOpen", () => {
  it("opens a BPF output event per CPU, refuses a CPU that is not there, and checks its arguments before the syscall", () => {
    const { d } = k;
    withFds(d, (keep) => {
      for (let cpu = 0; cpu < d.possibleCpus; cpu++) keep(d.perfEventOpen!({ cpu }));
      keep(d.perfEventOpen!({ cpu: 0, wakeupWatermark: 4096 }));
      keep(d.perfEventOpen!({ cpu: 0, wakeupEvents: 4 }));
    });
    expect(d.perfEventOpen!({ cpu: d.possibleCpus + 1000 })).toBe(-Errno.EINVAL);
    expect(() => d.perfEventOpen!({ cpu: -1 })).toThrow(RangeError);
    // perf_event_open(2)'s cpu is an int: 2^31 is no CPU number, refused before any syscall.
    expect(() => d.perfEventOpen!({ cpu: 2 ** 31 })).toThrow(/cpu 2147483648 is not a CPU number/);
    expect(() => d.perfEventOpen!({ cpu: 0.5 })).toThrow(TypeError);
    expect(() => d.perfEventOpen!({ cpu: 0, wakeupEvents: 2 ** 32 })).toThrow(RangeError);
    expect(() => d.perfEventOpen!({ cpu: 0, wakeupEvents: 1, wakeupWatermark: 1 })).toThrow(/not both/);
    expect(() => d.perfEventOpen!(null as never)).toThrow(TypeError);
  });

  it("a program's bpf_perf_event_output lands in the ring of the event in its CPU's slot, as one PERF_RECORD_SAMPLE", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const cpus = d.possibleCpus;
      const map = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: cpus }));
      const rings: number[] = [];
      for (let cpu = 0; cpu < cpus; cpu++) {
        const ev = keep(d.perfEventOpen!({ cpu }));
        expect(d.mapUpdateElem(map, u32(cpu), u32(ev)), "the event's fd as the slot's value").toBe(0);
        const ring = d.mapMmap!(ev, 2 * PAGE, true);
        expect(ring, "a header page and one data page").toBeGreaterThanOrEqual(0);
        rings.push(ring);
      }
      try {
        // A map's fd is no perf event: the slot refuses it.
        expect(d.mapUpdateElem(map, u32(0), u32(map))).toBe(-Errno.EBADF);
        const prog = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: outputProg(map), license: "GPL" }));
        const run = d.progTestRun!(prog, { dataIn: new Uint8Array(64) });
        expect(run.errno).toBe(0);
        const word = (ring: number, at: number) => {
          const b = new Uint8Array(8);
          expect(d.mmapRead!(ring, at, b)).toBe(0);
          return b;
        };
        // data_offset and data_size say where the records are.
        expect(readU64(word(rings[0]!, 1040))).toBe(BigInt(PAGE));
        expect(readU64(word(rings[0]!, 1048))).toBe(BigInt(PAGE));
        const heads = rings.map((r) => readU64(word(r, 1024)));
        // The run happened on one CPU: one ring holds the record, the others nothing.
        expect(heads.filter((h) => h > 0n)).toEqual([24n]);
        const ring = rings[heads.findIndex((h) => h > 0n)]!;
        const rec = new Uint8Array(24);
        expect(d.mmapRead!(ring, PAGE, rec)).toBe(0);
        expect(readU32(rec, 0)).toBe(PERF_RECORD_SAMPLE);
        expect(new DataView(rec.buffer).getUint16(6, true), "the record's size").toBe(24);
        // 8 header bytes, a 4-byte size, 8 data bytes, 4 bytes of padding counted in the size.
        expect(readU32(rec, 8)).toBe(12);
        expect(readU64(rec, 12)).toBe(0x1122334455667788n);
      } finally {
        for (const r of rings) d.munmap!(r);
      }
    });
  });
});
