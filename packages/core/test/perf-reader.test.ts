// PerfReader over a BPF_MAP_TYPE_PERF_EVENT_ARRAY, as cilium/ebpf's perf.Reader: an event per
// CPU in its slot, its ring mapped; records come back with their CPU, the raw sample as the
// kernel padded it, the samples a full ring lost, and what remains; a record that runs past the
// ring's end is read whole; a ring whose data_tail something else moved is resynced at
// data_head, once, while the other CPUs read on; pause() empties the slots, close() frees
// everything it made.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { afterEach, beforeEach, expect, it } from "vitest";
import { BpfError, createBpf, Errno, memoryLogger, u32, wrapDriver, type BpfPerfEventArray, type PerfReader, type PerfRecord } from "@bpfkit/core";
import { perfProducerFor, settledWithin } from "@bpfkit/testkit";
import { eachDriver, type Env } from "./support/env.js";
import { perfOutputFor, type PerfOutput } from "./support/perf-producer.js";
import { thrown } from "./support/thrown.js";
import { openFdsOf } from "./support/bpf-world.js";

const PAGE = 4096;

/**
 * What a reader holds, as `env`'s driver shows it: on the kernel this process's fds by what they
 * are (perf events, BPF maps, all) and its mappings of perf event rings; on the simulator its
 * open fds (events and maps alike: its rings have no fd).
 */
function fds(env: Env): { perf: number; maps: number; all: number; rings: number } {
  if (env.kind === "sim") return { perf: 0, maps: 0, all: openFdsOf(env.driver), rings: 0 };
  let perf = 0, maps = 0, all = 0;
  const rings = readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.endsWith("anon_inode:[perf_event]")).length;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const l = readlinkSync(`/proc/self/fd/${fd}`);
      all++;
      if (l === "anon_inode:[perf_event]") perf++;
      if (l === "anon_inode:bpf-map") maps++;
    } catch {
      // readdir's own fd, gone by now
    }
  }
  return { perf, maps, all, rings };
}

const u32At = (b: Uint8Array, at = 0) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

function drain(r: PerfReader): PerfRecord[] {
  const out: PerfRecord[] = [];
  for (let rec = r.readRecord(); rec !== undefined; rec = r.readRecord()) out.push(rec);
  return out;
}

eachDriver("PerfReader: a perf event array read as cilium/ebpf's perf.Reader", (get) => {
  let out: PerfOutput;
  beforeEach(() => {
    out = perfOutputFor(get().driver)!;
    expect(out, "a producer of samples on this driver").toBeDefined();
  });
  afterEach(() => out.close());

  function events(env: Env, name = "cilium_events"): { arr: BpfPerfEventArray; fd: number } {
    const arr = env.track(env.bpf.newPerfEventArray({ name }));
    expect(arr.openOrCreate()).toBe(true);
    expect(arr.maxEntries).toBe(env.driver.possibleCpus);
    return { arr, fd: arr.getFd() };
  }

  it("fills a slot per CPU; a program's output comes back as one record of its CPU, the raw sample padded as the kernel pads it", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE }));
    expect(r.cpus).toEqual(Array.from({ length: env.driver.possibleCpus }, (_, i) => i));
    expect(r.bufferSize).toBe(PAGE);
    expect(r.readRecord()).toBeUndefined();
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(0);
    const rec = r.readRecord()!;
    expect(rec.cpu).toBeGreaterThanOrEqual(0);
    expect(rec.cpu).toBeLessThan(env.driver.possibleCpus);
    // 8 header bytes, the u32 size, 8 bytes and 4 of padding: the raw size says 12.
    expect(rec.rawSample.length).toBe(12);
    expect(rec.rawSample.subarray(0, 8)).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(rec.lostSamples).toBe(0);
    expect(rec.remaining).toBe(0);
    expect(r.readRecord()).toBeUndefined();
    // 4 bytes need no padding; 5 take 7 more (4 + 5 rounds up to 16).
    out.output(fd, Uint8Array.of(9, 9, 9, 9));
    out.output(fd, Uint8Array.of(1, 2, 3, 4, 5));
    const two = drain(r).map((x) => x.rawSample.length).sort();
    expect(two).toEqual([12, 4]);
    expect(r.available()).toBe(0);
  });

  it("readRecordInto fills the caller's record, its sample in the memory of the last one where it fits (cilium/ebpf's ReadInto)", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [0] }));
    const rec: PerfRecord = { cpu: -1, index: -1, rawSample: new Uint8Array(0), lostSamples: 9, remaining: -1 };
    expect(r.readRecordInto(rec)).toBe(false);
    expect(rec.cpu, "untouched").toBe(-1);
    out.output(fd, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), { cpu: 0 });
    out.output(fd, Uint8Array.of(9, 9, 9, 9), { cpu: 0 });
    expect(r.readRecordInto(rec)).toBe(true);
    expect(rec).toEqual({ cpu: 0, index: 0, rawSample: rec.rawSample, lostSamples: 0, remaining: 16 });
    expect([...rec.rawSample.subarray(0, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const memory = rec.rawSample.buffer;
    expect(r.readRecordInto(rec)).toBe(true);
    expect([...rec.rawSample]).toEqual([9, 9, 9, 9]);
    expect(rec.rawSample.buffer, "the smaller sample reuses the larger one's memory").toBe(memory);
    out.output(fd, Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1), { cpu: 0 });
    expect(r.readRecordInto(rec)).toBe(true);
    expect([...rec.rawSample.subarray(0, 8)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(rec.rawSample.buffer, "a larger one grows back into that memory").toBe(memory);
    expect(() => r.readRecordInto(null as never)).toThrow(/rec must be a PerfRecord/);
  });

  it("readRecordInto writes a sample into the caller's rawSample only within it, never past its end into the buffer under it", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [0] }));
    // The caller's view of 4 bytes at the start of its own 64 (as a pooled Node Buffer is).
    const pool = new Uint8Array(64).fill(0xee);
    const rec: PerfRecord = { cpu: -1, index: -1, rawSample: pool.subarray(0, 4), lostSamples: 0, remaining: 0 };
    out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 });
    out.output(fd, Uint8Array.of(5, 6, 7, 8, 9, 10, 11, 12), { cpu: 0 });
    expect(r.readRecordInto(rec)).toBe(true);
    expect(rec.rawSample.buffer, "a sample that fits goes into the caller's view").toBe(pool.buffer);
    expect([...pool.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    expect(r.readRecordInto(rec)).toBe(true);
    expect([...rec.rawSample.subarray(0, 8)]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(rec.rawSample.buffer, "a larger one gets memory of its own").not.toBe(pool.buffer);
    expect([...pool.subarray(4)], "the bytes past the caller's view").toEqual(new Array(60).fill(0xee));
  });

  it("a sample past 64 KiB (its u16 record size wrapped by the kernel) is an E2BIG naming the map, passed over: the reader goes on", () => {
    const env = get();
    const { arr, fd } = events(env);
    const producer = perfProducerFor(env.driver)!;
    try {
      const r = env.track(arr.reader({ perCpuBuffer: 256 * 1024, cpus: [0] }));
      // 66000 bytes: a record of 66016, whose header says 480, and data_head moves by 480.
      expect(producer.output(fd, 0, new Uint8Array(66000).fill(7))).toBe(0);
      expect(producer.output(fd, 0, Uint8Array.of(1, 2, 3, 4))).toBe(0);
      const e = thrown(() => r.readRecord()) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect([e.errno, e.op, e.map]).toEqual([Errno.E2BIG, "readRecord", "cilium_events"]);
      expect(e.message).toMatch(/CPU 0's perf ring: a sample of 66004 raw bytes in a record of 480 at position 0: a program sent a sample past 64 KiB/);
      const next = r.readRecord()!;
      expect([...next.rawSample]).toEqual([1, 2, 3, 4]);
      expect(r.readRecord()).toBeUndefined();
    } finally {
      producer.close();
    }
  });

  /**
   * A reader of CPU 0 and, where there is one, CPU 1 (`two`), whose events the test can reach:
   * `moveTail(cpu)` maps that CPU's ring a second time, writable, as something other than the
   * reader would, and writes data_tail = data_head through it, freeing the ring's room for the
   * kernel behind the reader's back.
   */
  function readerWithRings(env: Env): { fd: number; r: PerfReader; two: boolean; moveTail(cpu: number): void; head(cpu: number): bigint; lapOver(type: number, size: number): { at: bigint; sample: Uint8Array }; close(): void } {
    const { arr, fd } = events(env);
    const two = env.driver.possibleCpus > 1;
    const eventFds = new Map<number, number>();
    const spy = env.track(createBpf({
      driver: wrapDriver(env.driver, { perfEventOpen: (a) => {
        const fd = env.driver.perfEventOpen!(a);
        if (fd >= 0) eventFds.set(a.cpu, fd);
        return fd;
      } }), mapRoot: env.root, logger: memoryLogger(),
    }).openPerfEventArray(arr.path()));
    const r = spy.reader({ perCpuBuffer: PAGE, cpus: two ? [0, 1] : [0] });
    const mappings = new Map<number, number>();
    const word = new Uint8Array(8);
    const mapped = (cpu: number): number => {
      let m = mappings.get(cpu);
      if (m === undefined) {
        m = env.driver.mapMmap!(eventFds.get(cpu)!, 2 * PAGE, true);
        expect(m, "a second writable mapping of the ring").toBeGreaterThanOrEqual(0);
        mappings.set(cpu, m);
      }
      return m;
    };
    return {
      fd, r, two,
      moveTail(cpu) {
        const m = mapped(cpu);
        expect(env.driver.mmapRead!(m, 1024, word)).toBe(0);
        expect(env.driver.mmapWrite!(m, 1032, word)).toBe(0);
      },
      head(cpu) {
        expect(env.driver.mmapRead!(mapped(cpu), 1024, word)).toBe(0);
        return new DataView(word.buffer).getBigUint64(0, true);
      },
      /**
       * On CPU 0: two 24-byte records, of which the reader takes the first; then something else
       * frees the ring, and the kernel's next lap writes over the second record (at `at`): 14
       * records of 272 bytes, one of 16, and one of 272 (`sample`, 256 bytes of 0xcc) whose bytes
       * 236 on land on `at` and hold a header of `type` and `size`. data_head ends at `at` + 4120,
       * a whole ring past the reader's last look.
       */
      lapOver(type, size) {
        const at = this.head(0) + 24n;
        out.output(fd, new Uint8Array(12), { cpu: 0, repeat: 2 });
        expect(r.readRecord()!.cpu).toBe(0);
        this.moveTail(0);
        for (let i = 0; i < 14; i++) {
          out.output(fd, new Uint8Array(256), { cpu: 0 });
          this.moveTail(0);
        }
        out.output(fd, new Uint8Array(4), { cpu: 0 });
        this.moveTail(0);
        const sample = new Uint8Array(256).fill(0xcc);
        new DataView(sample.buffer).setUint32(236, type, true);
        new DataView(sample.buffer).setUint32(240, size << 16, true);
        out.output(fd, sample, { cpu: 0 });
        expect(this.head(0)).toBe(at + 4120n);
        return { at, sample };
      },
      close() {
        for (const m of mappings.values()) expect(env.driver.munmap!(m)).toBe(0);
        r.close();
      },
    };
  }

  it("data_head more than a ring ahead (data_tail moved by something else): one EINVAL saying what was dropped, then the reader goes on, the other CPUs too", () => {
    const { fd, r, two, moveTail, close } = readerWithRings(get());
    try {
      // 16 records of 272 bytes (a 256-byte sample): 4352 bytes past the reader, which read none,
      // the kernel finding room for each because data_tail is moved up to data_head after it.
      for (let i = 0; i < 16; i++) {
        expect(out.output(fd, new Uint8Array(256).fill(i), { cpu: 0 })).toBe(0);
        moveTail(0);
      }
      const e = thrown(() => r.readRecord()) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "readRecord", "cilium_events"]);
      expect(e.message).toBe("readRecord cilium_events: invalid argument (CPU 0's perf ring: data_head 4352 is more than the ring's size ahead of the reader's " +
        "position 0: data_tail was written by something else than this reader; the reader dropped the 4352 bytes from there up to data_head 4352 and reads on from there)");
      if (two) expect(out.output(fd, Uint8Array.of(1, 1, 1, 1), { cpu: 1 })).toBe(0);
      expect(out.output(fd, Uint8Array.of(2, 2, 2, 2), { cpu: 0 })).toBe(0);
      // CPU 0 had its turn in the failed read: CPU 1 goes first.
      expect(drain(r).map((x) => [x.cpu, [...x.rawSample]])).toEqual([...(two ? [[1, [1, 1, 1, 1]]] : []), [0, [2, 2, 2, 2]]]);
    } finally {
      close();
    }
  });

  it("a record whose size makes no sense where the reader stands: one EINVAL saying what was dropped, the other CPUs read meanwhile, then the reader goes on", () => {
    const rings = readerWithRings(get());
    const { fd, r, two, close } = rings;
    try {
      // Two 24-byte records; the reader takes the first, and knows the second ends at data_head 48.
      // The kernel's next lap, behind its back, puts there a header of a SAMPLE of 5 bytes.
      rings.lapOver(9, 5);
      if (two) expect(out.output(fd, Uint8Array.of(1, 1, 1, 1), { cpu: 1 })).toBe(0);
      // The CPUs take turns: CPU 1's record first, then CPU 0's ring fails, once.
      if (two) expect(r.readRecord()!.cpu).toBe(1);
      const e = thrown(() => r.readRecord()) as BpfError;
      expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "readRecord", "cilium_events"]);
      expect(e.message).toMatch(/\(CPU 0's perf ring: a record of 5 bytes at position 24 \(24 bytes up to data_head\): data_tail was written by something else than this reader; the reader dropped the 4120 bytes from there up to data_head 4144 and reads on from there\)$/);
      expect(r.readRecord(), "nothing after data_head").toBeUndefined();
      if (two) expect(out.output(fd, Uint8Array.of(1, 1, 1, 1), { cpu: 1 })).toBe(0);
      expect(out.output(fd, Uint8Array.of(2, 2, 2, 2), { cpu: 0 })).toBe(0);
      expect(drain(r).map((x) => [x.cpu, [...x.rawSample]]).sort()).toEqual([...(two ? [[1, [1, 1, 1, 1]]] : []), [0, [2, 2, 2, 2]]].sort());
      expect(r.available()).toBe(0);
    } finally {
      close();
    }
  });

  it("a record of another type is passed over; one whose size makes no sense for what it says it is is one EINVAL, and the reader goes on at data_head", () => {
    const rings = readerWithRings(get());
    const { r, close } = rings;
    try {
      // `error`: what the EINVAL says of the record, "@" where its position goes.
      const cases: { type: number; size: number; error?: string }[] = [
        // PERF_RECORD_COMM, say: not the BPF output event's, but whole.
        { type: 3, size: 24 },
        { type: 3, size: 20, error: "a record of 20 bytes @ (24 bytes up to data_head)" },
        { type: 3, size: 0, error: "a record of 0 bytes @ (24 bytes up to data_head)" },
        { type: 2 /* PERF_RECORD_LOST */, size: 16, error: "a lost-samples record of 16 bytes @" },
        { type: 9 /* PERF_RECORD_SAMPLE */, size: 8, error: "a sample record of 8 bytes @" },
      ];
      for (const c of cases) {
        const what = `type ${c.type}, size ${c.size}`;
        // At the second of two records, the header of this case (see lapOver).
        const { at, sample } = rings.lapOver(c.type, c.size);
        if (c.error === undefined) {
          // Passed over: the lap's 16 records follow, the last one the sample above.
          const got = drain(r);
          expect(got.map((x) => x.rawSample.length), what).toEqual([...new Array(14).fill(260), 4, 260]);
          expect(got.at(-1)!.rawSample.subarray(0, 256), what).toEqual(sample);
        } else {
          const e = thrown(() => r.readRecord()) as BpfError;
          expect([e.errno, e.op], what).toEqual([Errno.EINVAL, "readRecord"]);
          expect(e.message, what).toBe(`readRecord cilium_events: invalid argument (CPU 0's perf ring: ${c.error.replace("@", `at position ${at}`)}: ` +
            `data_tail was written by something else than this reader; the reader dropped the 4120 bytes from there up to data_head ${at + 4120n} and reads on from there)`);
          expect(r.readRecord(), what).toBeUndefined();
        }
      }
    } finally {
      close();
    }
  });

  it("a record that runs past the ring's end is read whole, and records of one CPU come in order", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE }));
    // 24-byte records (a 12-byte sample): the 171st starts 16 bytes before the end of 4096.
    const got: number[] = [];
    for (let round = 0; round < 3; round++) {
      expect(out.output(fd, new Uint8Array(12).fill(0xaa), { cpu: 0, count: true, repeat: 100 })).toBe(0);
      for (const rec of drain(r)) {
        expect(rec.cpu).toBe(0);
        expect(rec.rawSample.length).toBe(12);
        expect(rec.rawSample.subarray(4)).toEqual(new Uint8Array(8).fill(0xaa));
        got.push(u32At(rec.rawSample));
      }
    }
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it("the CPUs take turns, a record each, so a busy CPU does not hold up the others", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE }));
    const cpus = Math.min(env.driver.possibleCpus, 3);
    // Three records from each CPU in turn: CPU c's counters are 3c+1, 3c+2, 3c+3.
    for (let c = 0; c < cpus; c++) out.output(fd, new Uint8Array(4), { cpu: c, count: true, repeat: 3 });
    const got = drain(r).map((x) => [x.cpu, u32At(x.rawSample)]);
    expect(got.map(([c]) => c)).toEqual([0, 1, 2].flatMap(() => Array.from({ length: cpus }, (_, c) => c)));
    // Each CPU's own records in the order it wrote them.
    for (let c = 0; c < cpus; c++) expect(got.filter(([x]) => x === c).map(([, n]) => n)).toEqual([1, 2, 3].map((i) => c * 3 + i));
  });

  it("a full ring loses samples: a lost-samples record says how many, before the next sample that found room; remaining counts down", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: 100 }));
    expect(r.bufferSize, "rounded up to a page").toBe(PAGE);
    // 170 records of 24 bytes fill 4080 of 4096 bytes; the other 30 find no room.
    out.output(fd, new Uint8Array(12), { cpu: 0, count: true, repeat: 200 });
    const first = r.readRecord()!;
    expect(first.remaining).toBe(169 * 24);
    const rest = drain(r);
    expect(rest.length).toBe(169);
    expect(rest.at(-1)!.remaining).toBe(0);
    expect(u32At(rest.at(-1)!.rawSample)).toBe(170);
    expect(rest.every((x) => x.lostSamples === 0)).toBe(true);
    out.output(fd, new Uint8Array(12), { cpu: 0, count: true });
    const [lost, next] = drain(r);
    expect(lost).toEqual({ cpu: 0, index: 0, rawSample: new Uint8Array(0), lostSamples: 30, remaining: 24 });
    expect(u32At(next!.rawSample)).toBe(201);
  });

  it("pause() empties the slots (the program's output is -ENOENT), resume() fills them again; records already there are read", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE }));
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4))).toBe(0);
    r.pause();
    expect(r.isPaused()).toBe(true);
    r.pause();
    expect(out.output(fd, Uint8Array.of(5, 6, 7, 8))).toBe(-Errno.ENOENT);
    expect(drain(r).map((x) => [...x.rawSample])).toEqual([[1, 2, 3, 4]]);
    r.resume();
    expect(r.isPaused()).toBe(false);
    expect(out.output(fd, Uint8Array.of(9, 9, 9, 9))).toBe(0);
    expect(drain(r).map((x) => [...x.rawSample])).toEqual([[9, 9, 9, 9]]);
    expect(env.ops.filter((o) => / (reader|pause|resume|close) /.test(o))).toEqual(
      ["events reader success", "events pause success", "events resume success"]);
    r.close();
    expect(env.ops.at(-1)).toBe("events close success");
  });

  it("close() empties the slots, unmaps the rings and closes every fd it opened; later calls are EBADF naming the map and the call", () => {
    const env = get();
    const { arr, fd } = events(env);
    const before = fds(env);
    const r = arr.reader({ perCpuBuffer: 2 * PAGE });
    const during = fds(env);
    expect(during.all - before.all, "an event per CPU and the reader's own fd of the array").toBe(env.driver.possibleCpus + 1);
    if (env.kind === "kernel") {
      expect(during.perf - before.perf, "an event per CPU").toBe(env.driver.possibleCpus);
      expect(during.maps - before.maps, "the reader's own fd of the array").toBe(1);
      expect(during.rings - before.rings, "a ring per CPU").toBe(env.driver.possibleCpus);
    }
    r.close();
    expect(fds(env)).toEqual(before);
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4)), "the slots are empty").toBe(-Errno.ENOENT);
    r.close();
    const e = thrown(() => r.readRecord()) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.errno).toBe(Errno.EBADF);
    expect(e.message).toBe("readRecord cilium_events: bad file descriptor (the reader is closed: close() was called)");
    expect((thrown(() => r.pause()) as BpfError).op).toBe("pause");
    // A paused reader's close() has no slots to empty.
    const p = arr.reader({ perCpuBuffer: PAGE });
    p.pause();
    p.close();
    expect(fds(env)).toEqual(before);
  });

  it("pause() and close() go on past a driver breaking its contract on one slot: every slot is tried, close() frees all, the first failure is thrown", () => {
    const env = get();
    const { arr, fd } = events(env);
    const broken = env.track(createBpf({
      driver: wrapDriver(env.driver, { mapDeleteElem: (f, k) => (k[0] === 0 ? 1 : env.driver.mapDeleteElem(f, k)) }), mapRoot: env.root, logger: memoryLogger(),
    }).openPerfEventArray(arr.path()));
    const before = fds(env);
    const contract = /broke the Driver contract: mapDeleteElem returned 1/;
    const last = env.driver.possibleCpus - 1;
    const p = broken.reader({ perCpuBuffer: PAGE });
    expect(() => p.pause()).toThrow(contract);
    if (last > 0) expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: last }), "the other slots were emptied").toBe(-Errno.ENOENT);
    expect(() => p.close(), "close() tries again the slot pause() could not empty").toThrow(contract);
    expect(fds(env)).toEqual(before);
    const r = broken.reader({ perCpuBuffer: PAGE });
    expect(() => r.close()).toThrow(contract);
    expect(r.isOpen()).toBe(false);
    expect(fds(env), "the rings unmapped, the events and the reader's fd closed").toEqual(before);
    if (last > 0) expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: last })).toBe(-Errno.ENOENT);
  });

  it("close() whose munmap of a ring fails names munmap and the CPU's ring, frees the rest, and close() again retries it", () => {
    const env = get();
    const { arr } = events(env);
    let first = -1, failures = 1;
    const unmapped: number[] = [];
    const failing = env.track(createBpf({
      driver: wrapDriver(env.driver, {
        mapMmap: (f, length, writable, offset) => {
          const h = env.driver.mapMmap!(f, length, writable, offset);
          if (first < 0) first = h;
          return h;
        },
        munmap: (h) => {
          if (h === first && failures-- > 0) return -Errno.EIO;
          unmapped.push(h);
          return env.driver.munmap!(h);
        },
      }), mapRoot: env.root, logger: memoryLogger(),
    }).openPerfEventArray(arr.path()));
    const before = fds(env);
    const r = failing.reader({ perCpuBuffer: PAGE, cpus: [0] });
    const e = thrown(() => r.close()) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect([e.errno, e.op]).toEqual([Errno.EIO, "close"]);
    expect(e.message).toBe("close cilium_events: input/output error (munmap of CPU 0's ring; it stays held: close() again retries it)");
    expect(r.isOpen()).toBe(false);
    expect(unmapped).toEqual([]);
    // The event and the reader's fd of the array are closed all the same; the ring stays mapped.
    expect({ ...fds(env), rings: 0 }).toEqual({ ...before, rings: 0 });
    r.close();
    expect(unmapped).toEqual([first]);
    expect(fds(env)).toEqual(before);
    r.close();
    expect(unmapped).toEqual([first]);
  });

  it("close() whose close of the reader's fd of the array fails uses that number no more: close(2) released it whatever it answered", () => {
    const env = get();
    const { arr } = events(env);
    let arrayFd = -1, failClose = false;
    const calls: string[] = [];
    const flaky = env.track(createBpf({
      driver: wrapDriver(env.driver, {
        dup: (f) => (arrayFd = env.driver.dup!(f)),
        mapDeleteElem: (f, k) => (calls.push(`delete ${f}`), env.driver.mapDeleteElem(f, k)),
        close: (f) => {
          calls.push(`close ${f}`);
          const r = env.driver.close(f);
          // Linux frees the fd before the flush whose error close(2) reports.
          return failClose && f === arrayFd ? -Errno.EIO : r;
        },
      }), mapRoot: env.root, logger: memoryLogger(),
    }).openPerfEventArray(arr.path()));
    const before = fds(env);
    const r = flaky.reader({ perCpuBuffer: PAGE, cpus: [0] });
    r.pause();
    calls.length = 0;
    failClose = true;
    const e = thrown(() => r.close()) as BpfError;
    expect([e.errno, e.op]).toEqual([Errno.EIO, "close"]);
    expect(e.message).toBe("close cilium_events: input/output error (close of the reader's fd of the array, which close(2) releases all the same)");
    expect(calls.at(-1)).toBe(`close ${arrayFd}`);
    expect(fds(env)).toEqual(before);
    calls.length = 0;
    r.close();
    expect(calls).toEqual([]);
  });

  it("a slot pause() could not empty stays the reader's to empty: a second pause() and close() try it again; resume() fills every slot", () => {
    const env = get();
    const { arr, fd } = events(env);
    const last = env.driver.possibleCpus - 1;
    // Slot 0's delete is EBUSY once after each arm().
    let busy = false;
    const ops: string[] = [];
    const flaky = env.track(createBpf({
      driver: wrapDriver(env.driver, { mapDeleteElem: (f, k) => {
        if (k[0] === 0 && busy) {
          busy = false;
          return -Errno.EBUSY;
        }
        return env.driver.mapDeleteElem(f, k);
      } }), mapRoot: env.root, logger: memoryLogger(), metrics: { mapOp: (name, op, outcome) => ops.push(`${name} ${op} ${outcome}`) },
    }).openPerfEventArray(arr.path()));
    const arm = (): void => {
      busy = true;
    };
    const r = flaky.reader({ perCpuBuffer: PAGE });
    arm();
    const e = thrown(() => r.pause()) as BpfError;
    expect([e.errno, e.op, e.message]).toEqual([Errno.EBUSY, "pause", "pause cilium_events: device or resource busy (clearing CPU 0's slot 0)"]);
    expect(r.isPaused()).toBe(true);
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 }), "slot 0 still holds the event").toBe(0);
    if (last > 0) expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: last })).toBe(-Errno.ENOENT);
    r.pause();
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 }), "the second pause() emptied it").toBe(-Errno.ENOENT);
    r.pause();
    r.resume();
    expect(r.isPaused()).toBe(false);
    for (const cpu of new Set([0, last])) expect(out.output(fd, Uint8Array.of(5, 6, 7, 8), { cpu })).toBe(0);
    expect(drain(r).map((x) => [x.cpu, x.rawSample[0]]).sort()).toEqual([[0, 1], [0, 5], ...(last > 0 ? [[last, 5]] : [])]);
    arm();
    expect(() => r.pause()).toThrow(/clearing CPU 0's slot 0/);
    r.close();
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 }), "close() emptied what pause() could not").toBe(-Errno.ENOENT);
    expect(ops.filter((o) => / (pause|resume|close) /.test(o))).toEqual(
      ["events pause fail", "events pause success", "events resume success", "events pause fail", "events close success"]);
  });

  it("a reader that fails half-way leaves nothing behind: the slots it filled are emptied, its events, rings and fd closed", () => {
    const env = get();
    const { arr, fd } = events(env);
    const last = env.driver.possibleCpus - 1;
    const before = fds(env);
    const failing = (overrides: Parameters<typeof wrapDriver>[1]) =>
      env.track(createBpf({ driver: wrapDriver(env.driver, overrides), mapRoot: env.root, logger: memoryLogger() }).openPerfEventArray(arr.path()));
    const busy = failing({ mapUpdateElem: (f, k, v, fl) => (k[0] === last ? -Errno.EBUSY : env.driver.mapUpdateElem(f, k, v, fl)) });
    const e = thrown(() => busy.reader({ perCpuBuffer: PAGE })) as BpfError;
    expect([e.errno, e.message]).toEqual([Errno.EBUSY, `reader cilium_events: device or resource busy (putting CPU ${last}'s event in slot ${last})`]);
    // Asked before the arrays' close(), which would have the kernel empty the slots filled through them.
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 }), "CPU 0's slot was emptied again").toBe(-Errno.ENOENT);
    const full = failing({ perfEventOpen: (a) => (a.cpu === last ? -Errno.EMFILE : env.driver.perfEventOpen!(a)) });
    expect((thrown(() => full.reader({ perCpuBuffer: PAGE })) as BpfError).message).toMatch(new RegExp(`\\(opening CPU ${last}'s perf event \\(perf_event_open\\)\\)$`));
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 })).toBe(-Errno.ENOENT);
    const unmappable = failing({ mapMmap: () => -Errno.ENOMEM });
    expect((thrown(() => unmappable.reader({ perCpuBuffer: PAGE, cpus: [0] })) as BpfError).message).toBe("reader cilium_events: cannot allocate memory " +
      "(mmap of CPU 0's ring, its header page and 1 page of data, writable: past the perf_event_mlock_kb limit without CAP_IPC_LOCK? A smaller perCpuBuffer needs less)");
    // A CPU that is not online (ENODEV) is left out, and logged, unless it was asked for.
    const logger = memoryLogger();
    const offline = env.track(createBpf({ driver: wrapDriver(env.driver, { perfEventOpen: (a) => (a.cpu === last && last > 0 ? -Errno.ENODEV : env.driver.perfEventOpen!(a)) }),
      mapRoot: env.root, logger }).openPerfEventArray(arr.path()));
    if (last > 0) {
      const some = offline.reader({ perCpuBuffer: PAGE });
      expect(some.cpus).toEqual(Array.from({ length: last }, (_, i) => i));
      expect(logger.records.filter((r) => r.level !== "debug").map((r) => [r.level, r.msg, r.fields])).toEqual([
        ["info", "CPU is not online: its perf event cannot be opened, and the reader leaves its slot empty", { map: "cilium_events", cpu: last }]]);
      some.close();
      expect((thrown(() => offline.reader({ cpus: [last] })) as BpfError).errno).toBe(Errno.ENODEV);
      const asked = thrown(() => offline.reader({ cpus: [0, last] })) as BpfError;
      expect([asked.errno, asked.message]).toEqual([Errno.ENODEV, `reader cilium_events: no such device (opening CPU ${last}'s perf event (perf_event_open))`]);
    }
    offline.close();
    busy.close();
    full.close();
    unmappable.close();
    expect(fds(env)).toEqual(before);
  });

  it("a resume() that cannot fill a slot empties again the slots it filled: nothing half-done, the reader stays paused", () => {
    const env = get();
    const { arr, fd } = events(env);
    const cpus = env.driver.possibleCpus > 1 ? [0, 1] : [0];
    const failing = cpus.at(-1)!;
    let refuse = false;
    const flaky = env.track(createBpf({
      driver: wrapDriver(env.driver, { mapUpdateElem: (f, k, v, flags) => (refuse && k[0] === failing ? -Errno.E2BIG : env.driver.mapUpdateElem(f, k, v, flags)) }),
      mapRoot: env.root, logger: memoryLogger(),
    }).openPerfEventArray(arr.path()));
    const r = flaky.reader({ perCpuBuffer: PAGE, cpus });
    r.pause();
    refuse = true;
    const e = thrown(() => r.resume()) as BpfError;
    expect([e.errno, e.op]).toEqual([Errno.E2BIG, "resume"]);
    expect(e.message).toMatch(new RegExp(`\\(putting CPU ${failing}'s event in slot ${failing}\\)$`));
    expect(r.isPaused()).toBe(true);
    for (const cpu of cpus) expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu }), `slot ${cpu} empty`).toBe(-Errno.ENOENT);
    refuse = false;
    r.resume();
    for (const cpu of cpus) expect(out.output(fd, Uint8Array.of(5, 6, 7, 8), { cpu })).toBe(0);
    expect(drain(r).map((x) => x.cpu).sort()).toEqual(cpus);
    r.close();
  });

  it("a slot something else emptied counts as emptied: pause() and close() do not fail on it", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [0] }));
    const slot0 = new Uint8Array(4);
    // bpftool map delete, say.
    expect(env.driver.mapDeleteElem(fd, slot0)).toBe(0);
    r.pause();
    r.resume();
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 })).toBe(0);
    expect(env.driver.mapDeleteElem(fd, slot0)).toBe(0);
    r.close();
    expect(env.ops.filter((o) => / (pause|resume|close) /.test(o))).toEqual(
      ["events pause success", "events resume success", "events close success"]);
  });

  it("a paused reader's close() leaves alone the slots another reader filled meanwhile", () => {
    const env = get();
    const { arr, fd } = events(env);
    const paused = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [0] }));
    paused.pause();
    const other = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [0] }));
    paused.close();
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 }), "the other reader's event is in slot 0").toBe(0);
    expect([...other.readRecord()!.rawSample]).toEqual([1, 2, 3, 4]);
  });
  it("a reader whose slot cannot be filled leaves that slot as it was: another reader's event stays in it", () => {
    const env = get();
    const { arr, fd } = events(env);
    const first = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [0] }));
    const refusing = env.track(createBpf({ driver: wrapDriver(env.driver, { mapUpdateElem: () => -Errno.E2BIG }), mapRoot: env.root, logger: memoryLogger() })
      .openPerfEventArray(arr.path()));
    const e = thrown(() => refusing.reader({ perCpuBuffer: PAGE, cpus: [0] })) as BpfError;
    expect([e.errno, e.op]).toEqual([Errno.E2BIG, "reader"]);
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 }), "the first reader's event is still in slot 0").toBe(0);
    expect([...first.readRecord()!.rawSample]).toEqual([1, 2, 3, 4]);
  });

  it("a CPU past the array's slots is read through another slot given as index", () => {
    const env = get();
    const last = env.driver.possibleCpus - 1;
    if (last === 0) return;
    const arr = env.track(env.bpf.newPerfEventArray({ name: "narrow", maxEntries: 1 }));
    arr.openOrCreate();
    expect(() => arr.reader({ cpus: [last] })).toThrow(new RegExp(`CPU ${last} has no slot: the array has 1 \\(maxEntries\\)`));
    const r = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [last], index: 0 }));
    expect([r.cpus, r.indexes]).toEqual([[last], [0]]);
    expect(out.output(arr.getFd(), Uint8Array.of(1, 2, 3, 4), { cpu: last, flags: 0n })).toBe(0);
    expect(drain(r).map((x) => [x.cpu, x.index, ...x.rawSample])).toEqual([[last, 0, 1, 2, 3, 4]]);
  });

  it("the reader holds its own fd of the array: it reads on after the map object is closed", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE }));
    const prog = out;
    // The program holds the map by the fd it was loaded with: load it before the close.
    const keep = env.driver.dup!(fd);
    try {
      arr.close();
      expect(prog.output(keep, Uint8Array.of(4, 3, 2, 1))).toBe(0);
      expect([...r.readRecord()!.rawSample]).toEqual([4, 3, 2, 1]);
    } finally {
      env.driver.close(keep);
    }
  });

  it("read() waits on every CPU's event: a record comes as it is written; undefined at the timeout or on close(); an abort rejects", async () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE }));
    setTimeout(() => out.output(fd, Uint8Array.of(7, 7, 7, 7)), 20);
    const rec = await settledWithin(r.read({ timeoutMs: 10_000, pollMs: 60_000 }), 3000);
    expect(rec === "pending" ? rec : [...rec!.rawSample]).toEqual([7, 7, 7, 7]);
    const t0 = performance.now();
    expect(await r.read({ timeoutMs: 50 })).toBeUndefined();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    const ac = new AbortController();
    const aborted = r.read({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop")), 20);
    await expect(settledWithin(aborted, 3000)).rejects.toThrow("stop");
    const closing = r.read();
    setTimeout(() => r.close(), 20);
    expect(await settledWithin(closing, 3000)).toBeUndefined();
    expect(await r.read()).toBeUndefined();
    // A driver without mapPoll: the reader looks every pollMs.
    const polling = createBpf({ driver: wrapDriver(env.driver, { mapPoll: null }), mapRoot: env.root, logger: memoryLogger() });
    const pr = env.track(env.track(polling.openPerfEventArray(arr.path())).reader({ perCpuBuffer: PAGE }));
    setTimeout(() => out.output(fd, Uint8Array.of(6, 6, 6, 6)), 20);
    const polled = await settledWithin(pr.read({ pollMs: 5, timeoutMs: 10_000 }), 3000);
    expect(polled === "pending" ? polled : [...polled!.rawSample]).toEqual([6, 6, 6, 6]);
  });

  it("a watermark holds the wake-up until that many bytes wait; the timeout's last look still finds what is there", async () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE, watermark: 100 }));
    const p = r.read({ timeoutMs: 400, pollMs: 60_000 });
    await new Promise((res) => setTimeout(res, 20));
    out.output(fd, new Uint8Array(12), { cpu: 0 });
    expect(await settledWithin(p, 150)).toBe("pending");
    expect((await settledWithin(p, 3000) as PerfRecord).rawSample.length).toBe(12);
    // Five records of 24 bytes pass 100: the wait ends long before its timeout.
    const q = r.read({ timeoutMs: 60_000, pollMs: 60_000 });
    await new Promise((res) => setTimeout(res, 20));
    out.output(fd, new Uint8Array(12), { cpu: 0, repeat: 5 });
    expect(await settledWithin(q, 3000)).not.toBe("pending");
    expect(drain(r).length).toBe(4);
  });

  it("for await reads every record until the reader is closed", async () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: PAGE }));
    out.output(fd, new Uint8Array(4), { cpu: 0, count: true, repeat: 3 });
    const seen: number[] = [];
    for await (const rec of r) {
      seen.push(u32At(rec.rawSample));
      if (seen.length === 3) setTimeout(() => r.close(), 10);
    }
    expect(seen).toEqual([1, 2, 3]);
  });

  it("cpus chooses the slots; perCpuBuffer rounds up to a power of 2 of pages", () => {
    const env = get();
    const { arr, fd } = events(env);
    const r = env.track(arr.reader({ perCpuBuffer: 4 * PAGE + 1, cpus: [0] }));
    expect(r.cpus).toEqual([0]);
    expect(r.bufferSize).toBe(8 * PAGE);
    expect(out.output(fd, Uint8Array.of(1, 1, 1, 1), { cpu: 0 })).toBe(0);
    // Only CPU 0's slot is filled: asking for CPU 1's slot from CPU 0 finds it empty.
    if (env.driver.possibleCpus > 1) expect(out.output(fd, Uint8Array.of(1, 1, 1, 1), { cpu: 0, flags: 1n })).toBe(-Errno.ENOENT);
    expect(drain(r).length).toBe(1);
  });

  it("index puts one CPU's event in another slot (bpftool's cpu N index M): a program that outputs to that slot reaches it", () => {
    const env = get();
    const arr = env.track(env.bpf.newPerfEventArray({ name: "indexed", maxEntries: 2 }));
    arr.openOrCreate();
    const fd = arr.getFd();
    const r = env.track(arr.reader({ perCpuBuffer: PAGE, cpus: [0], index: 1 }));
    expect([r.cpus, r.indexes]).toEqual([[0], [1]]);
    const answers = [out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0, flags: 1n }), out.output(fd, Uint8Array.of(5, 6, 7, 8), { cpu: 0 })];
    expect(answers, "slot 1 holds CPU 0's event; slot 0 is empty").toEqual([0, -Errno.ENOENT]);
    expect(drain(r).map((x) => [x.cpu, x.index, ...x.rawSample])).toEqual([[0, 1, 1, 2, 3, 4]]);
    r.close();
    expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0, flags: 1n }), "close() emptied slot 1").toBe(-Errno.ENOENT);
    expect(() => arr.reader({ index: 1 })).toThrow(/options.index needs exactly one CPU in options.cpus/);
    expect(() => arr.reader({ cpus: [0], index: 2 })).toThrow(/options.index 2 is past the array's 2 slots/);
  });

  it("bad options, a map of another type and a driver without perf events are refused, naming the map and the call, with nothing left open", () => {
    const env = get();
    const { arr } = events(env);
    const before = fds(env);
    const cpus = env.driver.possibleCpus;
    for (const [opts, re] of [
      [{ perCpuBuffer: 0 }, /reader cilium_events: options.perCpuBuffer must be a number of bytes from 1 to 2\^30, got 0/],
      [{ perCpuBuffer: 1.5 }, /perCpuBuffer/],
      [{ perCpuBuffer: PAGE, watermark: PAGE }, /options.watermark must be a number of bytes from 1 to less than the ring's 4096, got 4096/],
      [{ watermark: 8, wakeupEvents: 2 }, /not both/],
      [{ wakeupEvents: 0 }, /wakeupEvents must be a u32 of at least 1/],
      [{ cpus: [] }, /options.cpus is empty/],
      [{ cpus: [0, 0] }, /holds CPU 0 twice/],
      [{ cpus: [cpus] }, new RegExp(`CPU ${cpus} is not a possible CPU`)],
      [{ cpus: [-1] }, /not a CPU number/],
      [{ perCpuBufer: 4096 }, /perCpuBufer/],
    ] as const) {
      expect(() => arr.reader(opts as never), JSON.stringify(opts)).toThrow(re);
    }
    expect(fds(env)).toEqual(before);
    const small = env.track(env.bpf.newPerfEventArray({ name: "small_events", maxEntries: 1 }));
    small.openOrCreate();
    if (cpus > 1) expect(() => small.reader({ cpus: [1] })).toThrow(/CPU 1 has no slot: the array has 1 \(maxEntries\)/);
    expect(env.track(small.reader({ perCpuBuffer: PAGE })).cpus).toEqual([0]);
    const hash = env.map({ name: "not_events", type: 1, key: u32, value: u32, maxEntries: 1 });
    hash.openOrCreate();
    const e = thrown(() => env.bpf.openPerfEventArray("not_events")) as BpfError;
    expect(e.errno).toBe(Errno.EINVAL);
    expect(e.message).toMatch(/^openPerfEventArray .*not_events is a .* map \(type 1\), not a perf event array: bpf.openMap opens it/);
    const pinned = env.track(env.bpf.openPerfEventArray("cilium_events"));
    expect(pinned.maxEntries).toBe(cpus);
    expect(() => env.bpf.newPerfEventArray({ name: "x", maxEntries: 0 })).toThrow(/maxEntries must be a u32 of at least 1/);
    expect(() => env.bpf.newPerfEventArray({ name: "x", btf: true } as never)).toThrow(/btf/);
    // A read-only fd writes no slot: the kernel's EPERM, explained.
    const ro = env.track(env.bpf.openPerfEventArray(arr.path(), { readOnly: true }));
    const denied = thrown(() => ro.reader({ perCpuBuffer: PAGE })) as BpfError;
    expect([denied.errno, denied.message]).toEqual([Errno.EPERM, "reader cilium_events: operation not permitted (putting CPU 0's event in slot 0: " +
      "the array was opened read-only (BPF_F_RDONLY), and a reader writes its slots; open it read-write)"]);
    const bare = createBpf({ driver: wrapDriver(env.driver, { perfEventOpen: null }), mapRoot: env.root, logger: memoryLogger() });
    const other = env.track(bare.openPerfEventArray(arr.path()));
    other.open();
    const held = fds(env);
    const refused = thrown(() => other.reader()) as BpfError;
    expect(refused.errno).toBe(Errno.EOPNOTSUPP);
    expect(refused.message).toMatch(/^reader cilium_events: driver "\w+" cannot read perf event arrays \(it has no perfEventOpen, an optional Driver method\)$/);
    expect(fds(env)).toEqual(held);
  });
});
