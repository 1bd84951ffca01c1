// Raw records in a USER_RINGBUF through any driver's mmap, for the cases core's producer would
// never write: a header with any bits, a length past the producer position or the ring, a
// producer position that is no multiple of 8 or behind the consumer's. The kernel checks each
// record before a drain's callback sees it; the simulator must answer the same (the drain cases
// below run on both and are compared).
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, driverPageSize, Errno, errnoName, type Driver } from "@bpfkit/core";
import { ringSample } from "../arbitraries/ring-ops.js";
import { releaseAll } from "../release-all.js";

/** One record to write: its sample's length (the header's low 30 bits) and state. */
export interface RawUserRecord {
  /** The sample's bytes; the first 8 (when there are 8) are `value` as a little-endian u64. */
  len: number;
  /** `value` in the sample's first u64 (default: the record's index + 1). */
  value?: bigint;
  /** The sample's bytes after the first u64 come from this (testkit's ringSample); default 0s. */
  fill?: number;
  /** Left BUSY (reserved, never submitted) or marked DISCARD; default neither. */
  state?: "busy" | "discard";
  /** The header's len word as written, instead of `len` with the state's bits (a malformed record). */
  rawLen?: number;
}

/** A USER_RINGBUF's mappings as a producer has them: the consumer page read-only, the producer page and data writable. */
export class UserRingWriter {
  /** The driver's page size: where the data starts in the producer's mapping. */
  readonly page: number;
  readonly #d: Driver;
  readonly #cons: number;
  readonly #prod: number;
  readonly #size: number;
  readonly #u64 = new Uint8Array(8);
  readonly #u64View = new DataView(this.#u64.buffer);

  /** Maps the ring behind `fd` (its size is `size`, max_entries) through `d`; throws when either mapping is refused. */
  constructor(d: Driver, fd: number, size: number) {
    this.#d = d;
    this.#size = size;
    this.page = driverPageSize(d);
    const cons = d.mapMmap!(fd, this.page, false, 0);
    if (cons < 0) throw new Error(`UserRingWriter: mmap of the consumer page: ${errnoName(-cons)}`);
    const prod = d.mapMmap!(fd, this.page + 2 * size, true, this.page);
    if (prod < 0) {
      d.munmap!(cons);
      throw new Error(`UserRingWriter: mmap of the producer page and data: ${errnoName(-prod)}`);
    }
    this.#cons = cons;
    this.#prod = prod;
  }

  /** The consumer position, as the kernel's drain last stored it. */
  consumerPos(): bigint {
    this.#d.mmapRead!(this.#cons, 0, this.#u64);
    return this.#u64View.getBigUint64(0, true);
  }

  /** The producer position. */
  producerPos(): bigint {
    const r = this.#d.mmapRead!(this.#prod, 0, this.#u64);
    if (r < 0) throw new Error(`UserRingWriter: reading the producer position: ${errnoName(-r)}`);
    return this.#u64View.getBigUint64(0, true);
  }

  /** Stores `pos` (taken mod 2^64) as the producer position, whatever the records say. */
  setProducerPos(pos: bigint): void {
    this.#u64View.setBigUint64(0, BigInt.asUintN(64, pos), true);
    this.#store(0, this.#u64, "the producer position");
  }

  /**
   * Writes `records` from the producer position on (headers and samples; a sample may wrap
   * through the second mapping of the data), then moves the producer position past them. `extra`
   * is added to the new position (an odd one makes it no multiple of 8).
   */
  write(records: readonly RawUserRecord[], extra = 0): void {
    let pos = this.producerPos();
    const mask = BigInt(this.#size - 1);
    records.forEach((r, i) => {
      const off = this.page + Number(pos & mask);
      const bits = r.state === "busy" ? BPF_RINGBUF_BUSY_BIT : r.state === "discard" ? BPF_RINGBUF_DISCARD_BIT : 0;
      const hdr = new Uint8Array(BPF_RINGBUF_HDR_SZ);
      new DataView(hdr.buffer).setUint32(0, (r.rawLen ?? (r.len | bits)) >>> 0, true);
      // Only as much of the sample as the ring holds (a malformed record's length may pass it).
      const n = Math.min(r.len, this.#size - BPF_RINGBUF_HDR_SZ);
      const sample = r.fill === undefined ? new Uint8Array(n) : ringSample(n, r.fill);
      if (n >= 8) new DataView(sample.buffer).setBigUint64(0, r.value ?? BigInt(i + 1), true);
      this.#store(off + BPF_RINGBUF_HDR_SZ, sample, "a sample");
      this.#store(off, hdr, "a record header");
      pos += BigInt(Math.ceil((r.len + BPF_RINGBUF_HDR_SZ) / 8) * 8);
    });
    this.setProducerPos(pos + BigInt(extra));
  }

  /**
   * Commits the record at `pos` as a producer does (its header's BUSY bit cleared, DISCARD set
   * for `discard`), whatever the header held: `len` is its sample's length.
   */
  commit(pos: bigint, len: number, discard: boolean): void {
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, (len | (discard ? BPF_RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
    this.#store(this.page + Number(pos & BigInt(this.#size - 1)), hdr, "a record header");
  }

  /** Stores `bytes` at `off` of the producer mapping; a refused store throws, so no write is lost unseen. */
  #store(off: number, bytes: Uint8Array, what: string): void {
    const r = this.#d.mmapWrite!(this.#prod, off, bytes);
    if (r < 0) throw new Error(`UserRingWriter: writing ${what} at offset ${off}: ${errnoName(-r)}`);
  }

  /** Unmaps both mappings: the second even when the first munmap throws (which is then thrown). */
  close(): void {
    releaseAll([() => this.#d.munmap!(this.#cons), () => this.#d.munmap!(this.#prod)]);
  }
}

/** One drain case: records written, then two drains (a bad record answers every drain the same). */
export interface UserRingDrainCase {
  /** What the case shows, as a test's name. */
  name: string;
  /** The ring's size (max_entries); default 4096. */
  size?: number;
  /** Records drained and the positions moved before the case's own records (to make them wrap). */
  before?: readonly RawUserRecord[];
  /** The records the two drains meet. */
  records: readonly RawUserRecord[];
  /** Added to the producer position after the records. */
  extra?: number;
  /** The producer position set outright after the records (a position behind the consumer's). */
  producerPos?: bigint;
  /** The drain's flags. */
  flags?: number;
  /** What 6.18 answered to the two drains: [answer, sum of first u64s, callbacks, consumer position after]. */
  drains: readonly (readonly [ret: number, sum: bigint, count: number, consumerPos: bigint])[];
}

/** What a drain did: its answer, the sum of the first u64s and the count its callback saw, the consumer position after it. */
export interface UserRingDrainOutcome {
  /** bpf_user_ringbuf_drain's answer: the records called back for, or -errno. */
  ret: number;
  /** The first u64s of the samples the callback saw (0 for one shorter than 8 bytes). */
  sum: bigint;
  /** How many times the callback ran. */
  count: number;
  /** The consumer position after the drain. */
  consumerPos: bigint;
}

/** A record whose first u64 is this makes the drain programs' callback answer 1 (stop). */
export const DRAIN_STOP_VALUE = 1_000_000n;
/** What the drain programs' callback adds for an empty (0-byte) sample, where a shorter one adds 0. */
export const DRAIN_EMPTY_VALUE = 1n << 30n;

/** Cases of the kernel's record checks (__bpf_user_ringbuf_peek) and the drain's answers. */
export const USER_RING_DRAIN_CASES: readonly UserRingDrainCase[] = [
  { name: "an empty ring drains nothing", records: [],
    drains: [[0, 0n, 0, 0n], [0, 0n, 0, 0n]] },
  { name: "three records, in order", records: [{ len: 8 }, { len: 16, value: 40n }, { len: 13, value: 2n }],
    drains: [[3, 43n, 3, 64n], [0, 0n, 0, 64n]] },
  { name: "a discarded record is skipped and not counted", records: [{ len: 8 }, { len: 8, state: "discard", value: 99n }, { len: 8, value: 5n }],
    drains: [[2, 6n, 2, 48n], [0, 0n, 0, 48n]] },
  { name: "a BUSY record stops the drain before it", records: [{ len: 8 }, { len: 8, state: "busy" }, { len: 8, value: 7n }],
    drains: [[1, 1n, 1, 16n], [0, 0n, 0, 16n]] },
  { name: "a record shorter than 8 bytes reaches the callback (its read fails, nothing is added)", records: [{ len: 3 }, { len: 8, value: 9n }],
    drains: [[2, 9n, 2, 32n], [0, 0n, 0, 32n]] },
  { name: "a 0-byte record reaches the callback as an empty dynptr, and is counted; the next one follows 8 bytes on", records: [{ len: 0 }, { len: 8, value: 9n }, { len: 0 }],
    drains: [[3, 2n * DRAIN_EMPTY_VALUE + 9n, 3, 32n], [0, 0n, 0, 32n]] },
  { name: "a 0-byte record discarded or BUSY is passed over or waited for as any other", records: [{ len: 0, state: "discard" }, { len: 8, value: 9n }, { len: 0, state: "busy" }, { len: 8, value: 5n }],
    drains: [[1, 9n, 1, 24n], [0, 0n, 0, 24n]] },
  { name: "the callback's 1 stops after its record", records: [{ len: 8 }, { len: 8, value: DRAIN_STOP_VALUE }, { len: 8, value: 3n }],
    drains: [[2, 1n + DRAIN_STOP_VALUE, 2, 32n], [1, 3n, 1, 48n]] },
  { name: "a producer position that is no multiple of 8 is EINVAL before any record", records: [{ len: 8 }], extra: 4,
    drains: [[-Errno.EINVAL, 0n, 0, 0n], [-Errno.EINVAL, 0n, 0, 0n]] },
  { name: "a record running past the producer position is EINVAL, after the good ones", records: [{ len: 8 }, { len: 8, rawLen: 64 }],
    drains: [[-Errno.EINVAL, 1n, 1, 16n], [-Errno.EINVAL, 0n, 0, 16n]] },
  { name: "a record longer than the ring is E2BIG", records: [{ len: 8, rawLen: 8192 }], producerPos: 0x10000n,
    drains: [[-Errno.E2BIG, 0n, 0, 0n], [-Errno.E2BIG, 0n, 0, 0n]] },
  { name: "a producer position behind the consumer's is an empty ring", before: [{ len: 8 }], records: [{ len: 8 }], producerPos: 8n,
    drains: [[0, 0n, 0, 16n], [0, 0n, 0, 16n]] },
  { name: "a record that wraps round the data's end reads straight on", before: [{ len: 4072 }], records: [{ len: 24, value: 77n }],
    drains: [[1, 77n, 1, 4112n], [0, 0n, 0, 4112n]] },
  { name: "BPF_RB_NO_WAKEUP and BPF_RB_FORCE_WAKEUP drain as 0 does", records: [{ len: 8 }, { len: 8 }], flags: 3,
    drains: [[2, 3n, 2, 32n], [0, 0n, 0, 32n]] },
  { name: "the program's sum of first u64s wraps as a u64", records: [{ len: 8, value: 1n << 63n }, { len: 8, value: (1n << 63n) + 5n }],
    drains: [[2, 5n, 2, 32n], [0, 0n, 0, 32n]] },
  { name: "flags past the two wake-up bits are EINVAL, nothing taken", records: [{ len: 8 }], flags: 4,
    drains: [[-Errno.EINVAL, 0n, 0, 0n], [-Errno.EINVAL, 0n, 0, 0n]] },
];

/** How many samples of one drain a drain program keeps (size, first and last u64). */
export const DRAIN_SAMPLE_SLOTS = 32;

/** A sample as a drain's callback saw it: its size, its first and last u64 (0 where it is under 8 bytes). */
export interface DrainedSample {
  /** The sample's size in bytes, as the callback's dynptr has it. */
  size: number;
  /** Its first u64 (0 for a sample under 8 bytes). */
  first: bigint;
  /** Its last u64, the 8 bytes before its end (0 for a sample under 8 bytes). */
  last: bigint;
}

/**
 * A drain of a USER_RINGBUF as a program runs it: its answer, what its callback summed and
 * counted, and the first DRAIN_SAMPLE_SLOTS samples it saw.
 */
export type UserRingDrain = (fd: number, flags: number) => { ret: number; sum: bigint; count: number; samples: DrainedSample[] };

/**
 * Runs a case on `d`: creates the ring, writes the case's records, drains twice with `drain`
 * (the kernel's program or the simulator's datapath), and answers both outcomes. Every fd and
 * mapping it made is closed.
 */
export function runUserRingDrainCase(d: Driver, c: UserRingDrainCase, drain: UserRingDrain): UserRingDrainOutcome[] {
  const size = c.size ?? 4096;
  const fd = d.mapCreate({ mapType: 31, keySize: 0, valueSize: 0, maxEntries: size });
  if (fd < 0) throw new Error(`runUserRingDrainCase ${c.name}: mapCreate: ${fd}`);
  const w = new UserRingWriter(d, fd, size);
  try {
    if (c.before !== undefined) {
      w.write(c.before);
      drain(fd, 0);
    }
    w.write(c.records, c.extra ?? 0);
    if (c.producerPos !== undefined) w.setProducerPos(c.producerPos);
    const out: UserRingDrainOutcome[] = [];
    for (let i = 0; i < 2; i++) out.push({ ...drain(fd, c.flags ?? 0), consumerPos: w.consumerPos() });
    return out;
  } finally {
    w.close();
    d.close(fd);
  }
}

/** The simulator's drain, with the callback the kernel's drain program has (user-ring-drain-program.ts). */
export function simUserRingDrain(d: { datapath: { userRingbufDrain(map: { fd: number }, cb: (s: Uint8Array) => number | void, flags?: number): number } }): UserRingDrain {
  return (fd, flags) => {
    let sum = 0n, count = 0;
    const samples: DrainedSample[] = [];
    const ret = d.datapath.userRingbufDrain({ fd }, (s) => {
      count++;
      // bpf_dynptr_read of 8 bytes fails on a shorter sample: the program adds nothing, or
      // DRAIN_EMPTY_VALUE for an empty one (its size search finds 0).
      const u64 = (at: number) => (s.length >= 8 ? new DataView(s.buffer, s.byteOffset + at, 8).getBigUint64(0, true) : 0n);
      const v = s.length === 0 ? DRAIN_EMPTY_VALUE : u64(0);
      // The program adds in a u64, which wraps.
      sum = BigInt.asUintN(64, sum + v);
      if (samples.length < DRAIN_SAMPLE_SLOTS) samples.push({ size: s.length, first: v, last: u64(s.length - 8) });
      return v === DRAIN_STOP_VALUE ? 1 : 0;
    }, flags);
    return { ret, sum, count, samples };
  };
}
