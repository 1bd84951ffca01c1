// One CPU's perf event ring, as user space reads it (kernel/events/ring_buffer.c): the mapping's
// first page is the event's perf_event_mmap_page, whose data_head the kernel moves on as it
// writes records and whose data_tail user space moves on as it takes them; 2^n data pages follow.
// Unlike a RINGBUF's, the data is mapped once, so a record that runs past the end is read in two
// copies. data_head is read with acquire ordering and data_tail written with release ordering
// (the driver's mmapRead/mmapWrite of 8 aligned bytes), as perf_output_put_handle pairs them:
// the bytes of a record are read only after the head that covers them, and the kernel overwrites
// them only after the tail that frees them.
import type { Driver } from "./driver.js";
import type { BpfError } from "./errors.js";
import { Errno } from "./errno.js";
import { checkMappingCall, mappingError, type MappedFrom } from "./mapping-errors.js";

/** A record's type (perf_event_header.type): samples lost since the last record that got room. */
export const PERF_RECORD_LOST = 2;
/** A record's type: one sample, here a program's bpf_perf_event_output (PERF_SAMPLE_RAW). */
export const PERF_RECORD_SAMPLE = 9;

/** perf_event_mmap_page's data_head, a u64 the kernel writes. */
const DATA_HEAD = 1024;
/** perf_event_mmap_page's data_tail, a u64 the reader writes. */
const DATA_TAIL = 1032;
/** struct perf_event_header: u32 type, u16 misc, u16 size (of the whole record). */
const HEADER = 8;
/** A LOST record: the header, u64 id, u64 lost. */
const LOST_SIZE = HEADER + 16;
/** A SAMPLE's raw data starts after the header and its u32 size. */
const RAW_AT = HEADER + 4;

/**
 * What a perf reader hands back, as cilium/ebpf's perf.Record: a sample, or the count of samples
 * the kernel could not write because the ring was full.
 */
export interface PerfRecord {
  /** The CPU whose ring the record was in: the one the program ran on. */
  cpu: number;
  /** The array's slot that CPU's event is in (the CPU's number, but for a reader given an `index`). */
  index: number;
  /**
   * The bytes the program passed to bpf_perf_event_output, a copy the caller keeps; empty for a
   * lost-samples record. The kernel pads a sample so that its record ends 8-byte aligned and
   * counts the padding in the raw size: a sample of n bytes comes back with (n + 4) rounded up
   * to 8, minus 4, bytes (0 to 7 more, which hold whatever the kernel's padding holds).
   */
  rawSample: Uint8Array;
  /** Samples the kernel dropped since the last record it wrote here (PERF_RECORD_LOST); 0 for a sample. */
  lostSamples: number;
  /** Bytes still waiting in this CPU's ring after this record (as far as the reader last looked). */
  remaining: number;
}

/** What a PerfRing needs: the driver and the mapping of the event's ring. */
export interface PerfRingInit {
  driver: Driver;
  /** The CPU the event counts on. */
  cpu: number;
  /** The array's slot the event is in. */
  index: number;
  /** mapMmap's handle of the ring: the header page then the data, mapped writable from offset 0. */
  mapping: number;
  /** Where the data starts in the mapping: one page. */
  dataOffset: number;
  /** The data's size in bytes: a power of 2 of pages. */
  dataSize: number;
  /** Whom errors name. */
  from: MappedFrom;
}

/** One CPU's ring: takes the records in order, freeing each one's room as it goes. */
export class PerfRing {
  readonly cpu: number;
  readonly index: number;
  readonly mapping: number;
  readonly #driver: Driver;
  readonly #dataOffset: number;
  readonly #dataSize: number;
  readonly #mask: bigint;
  readonly #from: MappedFrom;
  readonly #word = new Uint8Array(8);
  readonly #wordView = new DataView(this.#word.buffer);
  readonly #head = new Uint8Array(LOST_SIZE);
  readonly #headView = new DataView(this.#head.buffer);
  /** The reader's position: where the next record starts. */
  #tail: bigint;
  /** data_head as last read: records up to it are complete. */
  #seen: bigint;

  constructor(init: PerfRingInit) {
    this.cpu = init.cpu;
    this.index = init.index;
    this.mapping = init.mapping;
    this.#driver = init.driver;
    this.#dataOffset = init.dataOffset;
    this.#dataSize = init.dataSize;
    this.#mask = BigInt(init.dataSize - 1);
    this.#from = init.from;
    // A new event's tail is 0; a ring mapped again goes on from where its last reader stopped.
    this.#tail = this.#readWord("reader", DATA_TAIL);
    this.#seen = this.#tail;
  }

  /** Bytes between the reader's position and data_head, read now. */
  available(op: string): number {
    this.#seen = this.#loadHead(op);
    return Number(this.#seen - this.#tail);
  }

  /**
   * The next record, or undefined when the ring holds none. Records of other types (a BPF output
   * event writes only SAMPLE and LOST) are passed over. With `into`, the record is written there
   * and its sample into `into.rawSample`'s memory where that holds it (cilium/ebpf's ReadInto).
   */
  next(op: string, into?: PerfRecord): PerfRecord | undefined {
    for (;;) {
      if (this.#tail === this.#seen) {
        this.#seen = this.#loadHead(op);
        if (this.#tail === this.#seen) return undefined;
      }
      const avail = Number(this.#seen - this.#tail);
      const head = this.#head;
      const first = Math.min(avail, LOST_SIZE);
      this.#copy(op, this.#tail, head.subarray(0, first));
      const type = this.#headView.getUint32(0, true);
      const size = this.#headView.getUint16(6, true);
      if (size < HEADER || size % 8 !== 0 || size > avail) {
        throw this.#corrupt(op, `a record of ${size} bytes at position ${this.#tail} (${avail} bytes up to data_head)`);
      }
      let record: PerfRecord | undefined;
      if (type === PERF_RECORD_SAMPLE) {
        const raw = size >= RAW_AT ? this.#headView.getUint32(HEADER, true) : -1;
        if (raw < 0) throw this.#corrupt(op, `a sample record of ${size} bytes at position ${this.#tail}`);
        if (RAW_AT + raw > size) throw this.#passOver(op, raw, size);
        const sample = reuse(into?.rawSample, raw);
        this.#copy(op, this.#tail + BigInt(RAW_AT), sample);
        record = this.#fill(into, sample, 0);
      } else if (type === PERF_RECORD_LOST) {
        if (size < LOST_SIZE) throw this.#corrupt(op, `a lost-samples record of ${size} bytes at position ${this.#tail}`);
        record = this.#fill(into, reuse(into?.rawSample, 0), Number(this.#headView.getBigUint64(HEADER + 8, true)));
      }
      this.#moveTail(op, this.#tail + BigInt(size));
      if (record !== undefined) {
        record.remaining = Number(this.#seen - this.#tail);
        return record;
      }
    }
  }

  #fill(into: PerfRecord | undefined, rawSample: Uint8Array, lostSamples: number): PerfRecord {
    if (into === undefined) return { cpu: this.cpu, index: this.index, rawSample, lostSamples, remaining: 0 };
    into.cpu = this.cpu;
    into.index = this.index;
    into.rawSample = rawSample;
    into.lostSamples = lostSamples;
    return into;
  }

  /** data_head, with acquire ordering, checked against the reader's position. */
  #loadHead(op: string): bigint {
    const head = this.#readWord(op, DATA_HEAD);
    const ahead = head - this.#tail;
    if (ahead < 0n || ahead > BigInt(this.#dataSize)) {
      throw this.#corrupt(op, `data_head ${head} is ${ahead < 0n ? "behind" : "more than the ring's size ahead of"} the reader's position ${this.#tail}`);
    }
    return head;
  }

  #readWord(op: string, at: number): bigint {
    checkMappingCall(this.#driver, this.#from, "mmapRead", this.#driver.mmapRead!(this.mapping, at, this.#word), op);
    return this.#wordView.getBigUint64(0, true);
  }

  /** `dst.length` bytes of the data from position `pos`, in two copies where they run past the end. */
  #copy(op: string, pos: bigint, dst: Uint8Array): void {
    if (dst.length === 0) return;
    const at = Number(pos & this.#mask);
    const first = Math.min(dst.length, this.#dataSize - at);
    const d = this.#driver;
    checkMappingCall(d, this.#from, "mmapRead", d.mmapRead!(this.mapping, this.#dataOffset + at, dst.subarray(0, first)), op);
    if (first < dst.length) {
      checkMappingCall(d, this.#from, "mmapRead", d.mmapRead!(this.mapping, this.#dataOffset, dst.subarray(first)), op);
    }
  }

  /**
   * A sample longer than its record: the kernel's header.size is a u16, so a program's sample
   * past 64 KiB wraps it, and data_head moves by the wrapped size, where the next record goes.
   * The record is passed over as the kernel counted it, so the records after it are read, and
   * the error says why this one was not.
   */
  #passOver(op: string, raw: number, size: number): BpfError {
    const at = this.#tail;
    this.#moveTail(op, at + BigInt(size));
    return mappingError(this.#from, op, Errno.E2BIG,
      `CPU ${this.cpu}'s perf ring: a sample of ${raw} raw bytes in a record of ${size} at position ${at}: a program sent a sample ` +
      `past 64 KiB, more than a perf record's u16 size holds (the kernel wrapped it); the record was passed over`);
  }

  /** The reader's position moves to `pos`, and data_tail with it (release: the bytes before it are read before the kernel may write over them). */
  #moveTail(op: string, pos: bigint): void {
    this.#tail = pos;
    this.#wordView.setBigUint64(0, pos, true);
    checkMappingCall(this.#driver, this.#from, "mmapWrite", this.#driver.mmapWrite!(this.mapping, DATA_TAIL, this.#word), op);
  }

  /**
   * The ring makes no sense at the reader's position: data_tail was written by something else (a
   * second mapping of the event, another process), or this is not a perf event's ring. The reader
   * resyncs: the kernel publishes data_head only at a record's end (perf_output_put_handle), so
   * data_head is the one position known to start a record, and the reader moves there, dropping
   * what lies between, and says so once; the next read goes on with this CPU and the others.
   * libbpf's perf_event_read_simple trusts header.size (a size of 0 never moves on, and
   * perf_buffer stops at an unknown type with data_tail left before it, so every poll stops there
   * again), and cilium/ebpf's reader parses by type, never by size, reaching data_head only when a
   * sample's size runs past it; a reader that kept its position would fail at every read and hold
   * up the other CPUs, which the reader asks in turn.
   */
  #corrupt(op: string, what: string): BpfError {
    const at = this.#tail;
    const head = this.#readWord(op, DATA_HEAD);
    this.#moveTail(op, head);
    this.#seen = head;
    const dropped = head >= at
      ? `the reader dropped the ${head - at} bytes from there up to data_head ${head}`
      : `the reader moved back to data_head ${head}, dropping nothing`;
    return mappingError(this.#from, op, Errno.EINVAL,
      `CPU ${this.cpu}'s perf ring: ${what}: data_tail was written by something else than this reader; ${dropped} and reads on from there`);
  }
}

/** The memory of samples the readers made: theirs to write whole, where a caller's is not. */
const ownSamples = new WeakSet<ArrayBufferLike>();

/**
 * `n` bytes over the memory of `old` where it has room (from its start), else a new array. The
 * room is `old` itself, or, for memory a reader made, up to its end (a smaller sample's view of
 * it grows back): a caller's view of a larger buffer (a pooled Node Buffer, a slice of its own)
 * is never written past its end.
 */
function reuse(old: Uint8Array | undefined, n: number): Uint8Array {
  if (old instanceof Uint8Array) {
    const room = ownSamples.has(old.buffer) ? old.buffer.byteLength - old.byteOffset : old.byteLength;
    if (room >= n) return new Uint8Array(old.buffer, old.byteOffset, n);
  }
  const fresh = new Uint8Array(n);
  ownSamples.add(fresh.buffer);
  return fresh;
}
