// The kernel's ring buffer producer: socket filters run once by BPF_PROG_TEST_RUN write records
// a mapping of the ring then reads. The record format itself is the conformance group
// `ringbuf`'s; here, what the producer adds: its argument checks, the 512-byte stack limit of
// output, the full u64 of query, the errors for a map that is no ring, and no fd left behind.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BpfError, Errno, wrapDriver, type Driver } from "@bpfkit/core";
import { ringbufProducerFor, type RingbufProducer } from "../src/index.js";
import { kernelUnderTest } from "../src/drivers.js";
import { kernelRingbufProducer } from "../src/ringbuf/producer-kernel.js";

const kernel = kernelUnderTest();
const RINGBUF = 27, PAGE = 4096;

/** A 4 KiB ring, its read-only mapping of every page and its writable consumer page, for `fn`. */
function withRing<T>(fn: (d: Driver, p: RingbufProducer, fd: number, read: (at: number, n: number) => Uint8Array, setConsumer: (pos: bigint) => void) => T): T {
  const d = kernel.create();
  const before = readdirSync("/proc/self/fd").length;
  const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
  expect(fd).toBeGreaterThanOrEqual(0);
  const p = ringbufProducerFor(d)!;
  const all = d.mapMmap!(fd, 4 * PAGE, false), cons = d.mapMmap!(fd, PAGE, true);
  try {
    const read = (at: number, n: number) => {
      const b = new Uint8Array(n);
      expect(d.mmapRead!(all, at, b)).toBe(0);
      return b;
    };
    const setConsumer = (pos: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, pos, true);
      expect(d.mmapWrite!(cons, 0, b)).toBe(0);
    };
    return fn(d, p, fd, read, setConsumer);
  } finally {
    p.close();
    d.munmap!(all);
    d.munmap!(cons);
    d.close(fd);
    expect(readdirSync("/proc/self/fd").length, "fds after the test").toBe(before);
  }
}

const u32At = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

describe.skipIf(kernel.unavailable !== undefined)("ring buffer producer: the kernel's (test-run socket filters)", () => {
  it("ringbufProducerFor gives it for the kernel driver; each helper's record lands in the ring, and no program fd is left", () => {
    withRing((_d, p, fd, read) => {
      expect(p.output(fd, Uint8Array.of(1, 2, 3, 4, 5))).toBe(0);
      expect(p.reserveSubmit(fd, new Uint8Array(13).map((_, i) => 0xa0 + i))).toBe(0);
      expect(p.reserveDiscard(fd, 3)).toBe(0);
      expect(p.output(fd, new Uint8Array(0))).toBe(0);
      const data = read(2 * PAGE, 64);
      expect([u32At(data, 0), u32At(data, 16), u32At(data, 40), u32At(data, 56)]).toEqual([5, 13, 0x4000_0003, 0]);
      expect(data.subarray(8, 13)).toEqual(Uint8Array.of(1, 2, 3, 4, 5));
      expect(data.subarray(24, 37)).toEqual(new Uint8Array(13).map((_, i) => 0xa0 + i));
      expect(p.query(fd, 3)).toBe(64n);
    });
  });

  it("every byte pattern of a sample goes through the stores (doublewords, words, a half-word, a byte), from 1 to 512 bytes by output", () => {
    withRing((_d, p, fd, read, setConsumer) => {
      // Doublewords whose high half is and is not the sign extension of the low half.
      const edges = Uint8Array.of(0, 0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, ...new Uint8Array(8).fill(0xff),
        ...new Uint8Array(8), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0, 0, 0, 0, 0);
      for (let n of [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 100, 255, 512, -edges.length]) {
        // 0x00, 0x7f, 0x80, 0xff and the rest: sign-extended immediates of every shape.
        const sample = n < 0 ? edges : new Uint8Array(n).map((_, i) => [0, 0xff, 0x80, 0x7f, 0x01, 0xfe][i % 6]! ^ (i >> 3));
        n = sample.length;
        const at = Number(p.query(fd, 3));
        expect(p.output(fd, sample), `output of ${n}`).toBe(0);
        expect(read(2 * PAGE + (at % PAGE), 8 + n).subarray(8), `output of ${n}`).toEqual(sample);
        setConsumer(BigInt(at + Math.ceil((n + 8) / 8) * 8));
        const at2 = Number(p.query(fd, 3));
        expect(p.reserveSubmit(fd, sample), `reserve of ${n}`).toBe(0);
        expect(read(2 * PAGE + (at2 % PAGE), 8 + n).subarray(8), `reserve of ${n}`).toEqual(sample);
        setConsumer(BigInt(at2 + Math.ceil((n + 8) / 8) * 8));
      }
    });
  });

  it("reserveSubmit writes a sample past the stores' 32 KiB offsets: the largest a 64 KiB ring holds (65520 bytes), read back whole", () => {
    const d = kernel.create();
    const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 16 });
    expect(fd).toBeGreaterThanOrEqual(0);
    const p = ringbufProducerFor(d)!;
    const h = d.mapMmap!(fd, 2 * PAGE + (1 << 16), false);
    try {
      const sample = new Uint8Array((1 << 16) - 16).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
      expect(p.reserveSubmit(fd, sample)).toBe(0);
      const got = new Uint8Array(8 + sample.length);
      expect(d.mmapRead!(h, 2 * PAGE, got)).toBe(0);
      expect([u32At(got, 0), u32At(got, 4)]).toEqual([sample.length, 3]);
      expect(got.subarray(8)).toEqual(sample);
      expect(p.query(fd, 3)).toBe(BigInt(1 << 16) - 8n);
    } finally {
      p.close();
      d.munmap!(h);
      d.close(fd);
    }
  });

  it("query gives the whole u64 (two runs: the low and the high 32 bits of the retval)", () => {
    withRing((_d, p, fd, _read, setConsumer) => {
      setConsumer(0x1_2345_6789_abcdn);
      expect(p.query(fd, 2)).toBe(0x1_2345_6789_abcdn);
      expect(p.query(fd, 0)).toBe(BigInt.asUintN(64, -0x1_2345_6789_abcdn));
      expect(p.query(fd, 1)).toBe(4096n);
      expect(p.query(fd, 4)).toBe(0n);
    });
  });

  it("a helper's errno comes back sign-extended: EINVAL for output's unknown flags, EAGAIN for no room", () => {
    withRing((_d, p, fd) => {
      expect(p.output(fd, Uint8Array.of(1), 4)).toBe(-Errno.EINVAL);
      expect(p.output(fd, Uint8Array.of(1), 3)).toBe(0);
      expect(p.reserveSubmit(fd, new Uint8Array(4081))).toBe(-Errno.EAGAIN);
      expect(p.reserveDiscard(fd, 100_000)).toBe(-Errno.EAGAIN);
    });
  });

  it("bad input is a TypeError or RangeError naming the helper; a sample past the 512-byte stack is a RangeError for output only", () => {
    withRing((_d, p, fd) => {
      expect(() => p.output(fd, new Uint8Array(513))).toThrow(new RangeError("bpf_ringbuf_output: a 513-byte sample does not fit the program's 512-byte stack (reserveSubmit has no such limit)"));
      expect(p.reserveSubmit(fd, new Uint8Array(513).fill(3))).toBe(0);
      expect(() => p.output(fd, [1, 2] as never)).toThrow(new TypeError("bpf_ringbuf_output: data must be a Uint8Array, got Array"));
      expect(() => p.reserveSubmit(fd, "ab" as never)).toThrow(TypeError);
      expect(() => p.output("3" as never, Uint8Array.of(1))).toThrow(/bpf_ringbuf_output: fd must be an integer/);
      expect(() => p.output(fd, Uint8Array.of(1), -1)).toThrow(new RangeError("bpf_ringbuf_output: flags -1 is not a u64 this producer can pass"));
      expect(() => p.output(fd, Uint8Array.of(1), 0.5)).toThrow(new TypeError("bpf_ringbuf_output: flags must be an integer, got 0.5"));
      expect(() => p.reserveDiscard(fd, -1)).toThrow(RangeError);
      expect(() => p.reserveDiscard(fd, 2 ** 31)).toThrow(/size 2147483648 is not a reserve a program can ask/);
      expect(() => p.reserveDiscard(fd, 1.5)).toThrow(TypeError);
      expect(() => p.query(fd, undefined as never)).toThrow(new TypeError("bpf_ringbuf_query: flags must be an integer, got undefined"));
      expect(p.query(fd, 3)).toBe(528n);
    });
  });

  it("a map that is no ring buffer, or an fd not open, is a BpfError naming the map fd; a closed producer refuses", () => {
    withRing((d, p, fd) => {
      const array = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 8, maxEntries: 1 });
      try {
        let e: unknown;
        try {
          p.output(array, Uint8Array.of(1));
        } catch (x) {
          e = x;
        }
        expect(e).toBeInstanceOf(BpfError);
        expect((e as BpfError).errno).toBe(Errno.EINVAL);
        expect((e as BpfError).message).toBe(`bpf_ringbuf_output on map fd ${array}: the verifier refused the program (EINVAL; EINVAL for a map that is no RINGBUF, EBADF for an fd not open)`);
        expect(() => p.query(0x3fff_fff0, 0)).toThrow(/^bpf_ringbuf_query on map fd 1073741808: the verifier refused the program \(EBADF;/);
      } finally {
        d.close(array);
      }
      const q = kernelRingbufProducer(d);
      q.close();
      expect(() => q.output(fd, Uint8Array.of(1))).toThrow("bpf_ringbuf_output: the producer is closed");
    });
  });

  it("needs progTestRun: a driver without it gets no producer from ringbufProducerFor, and a TypeError from kernelRingbufProducer", () => {
    const without = wrapDriver(kernel.create(), { progTestRun: null, kind: "no-test-run" });
    expect(ringbufProducerFor(without)).toBeUndefined();
    expect(() => kernelRingbufProducer(without)).toThrow(new TypeError("kernelRingbufProducer: no-test-run has no progTestRun, so no program can be run to produce records"));
  });
});
