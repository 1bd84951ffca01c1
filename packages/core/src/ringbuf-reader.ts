// A BPF_MAP_TYPE_RINGBUF read from user space, as libbpf's ring_buffer__consume and cilium/ebpf's
// ringbuf.Reader read one (kernel/bpf/ringbuf.c): two mappings, the consumer position's page
// (the only writable one) and the producer position's page followed by the data, which the kernel
// maps twice in a row so that a record that wraps reads straight on. Records are taken in order;
// a BUSY one (reserved, not yet submitted) holds up those behind it; a discarded one is skipped;
// the consumer position is written back after each, which gives its room back to the programs.
// Every access is a copy through the driver (mmapRead, mmapWrite), never a view of the pages.
// Waiting is the driver's mapPoll on the reader's own fd (epoll on the kernel), or, for a driver
// without it, a look every `pollMs`.
import type { BpfError } from "./errors.js";
import { Errno } from "./errno.js";
import { assertOptionKeys } from "./option-keys.js";
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, RingPages, type RingBufWaitOptions, type RingPagesInit, waitOptions } from "./ring-pages.js";
import { describeValue } from "./describe-value.js";

/** What `BpfRingBuf.reader()` hands a RingBufReader: the two mappings (the consumer page writable) and the map's name. */
export type RingBufReaderInit = RingPagesInit;

/**
 * Reads the records programs write into a ring buffer (from `BpfRingBuf.reader()`). `read()`
 * takes the next record's sample (a copy) or says there is none yet; `drain()` takes all that are
 * ready; `next()` and `for await` wait for them. A ring buffer has one consumer: two readers (in
 * this process or another) take records from each other. The reader holds the map as an fd does,
 * until `close()`.
 */
export class RingBufReader extends RingPages {
  /** Writes of the consumer position so far: a drain callback that changes it has taken records itself. */
  #moves = 0;

  /** Made by `BpfRingBuf.reader()`, which maps the pages first. */
  constructor(init: RingBufReaderInit) {
    super(init, "reader", "RingBufReader");
  }

  /**
   * Bytes between the consumer and the producer position: records ready, records still BUSY and
   * discarded ones, with their headers (the kernel's BPF_RB_AVAIL_DATA).
   */
  available(): number {
    const op = "available";
    this.live(op);
    return this.#avail(op, this.readPos(op, this.consumerMapping), this.readPos(op, this.dataMapping));
  }

  /**
   * The next record's sample, a copy the caller keeps, and the record's room given back to the
   * programs; undefined when there is none yet (the ring is empty, or its next record is still
   * being written: BUSY). Discarded records are passed over.
   */
  read(): Uint8Array | undefined {
    let out: Uint8Array | undefined;
    this.#consume("read", 1, (s) => { out = s; });
    return out;
  }

  /**
   * As `read()`, into `dst` instead of a new array (cilium/ebpf's `ReadInto`): the sample's length
   * (its bytes are `dst.subarray(0, n)`), or undefined when there is none yet. A `dst` shorter
   * than the next sample is a RangeError that takes nothing, so a caller can grow its buffer
   * and call again; a ring's samples are at most `size - 16` bytes.
   */
  readInto(dst: Uint8Array): number | undefined {
    const op = "readInto";
    if (!(dst instanceof Uint8Array)) throw new TypeError(`${op} ${this.mapName}: dst must be a Uint8Array`);
    let n: number | undefined;
    this.#consume(op, 1, (s) => { n = s.length; }, dst);
    return n;
  }

  /**
   * Calls `onSample` with each record that is ready, in order (at most `max`), and returns how many
   * it took. A record's room goes back to the programs before its callback runs: a callback that
   * throws has had its record, and the error comes out of drain. The callback may take records
   * itself (`read()`, `drain()`: drain goes on after them) or `close()` the reader (drain returns).
   */
  drain(onSample: (sample: Uint8Array) => void, options?: { max?: number }): number {
    const op = "drain";
    if (typeof onSample !== "function") throw new TypeError(`${op} ${this.mapName}: onSample must be a function`);
    let max = Number.POSITIVE_INFINITY;
    if (options !== undefined) {
      if (options === null || typeof options !== "object") throw new TypeError(`${op} ${this.mapName}: options must be { max? }`);
      assertOptionKeys(options, ["max"], `${op} ${this.mapName}`, "options");
      if (options.max !== undefined) {
        if (!Number.isSafeInteger(options.max) || options.max < 0) throw new RangeError(`${op} ${this.mapName}: options.max must be an integer ≥ 0, got ${describeValue(options.max)}`);
        max = options.max;
      }
    }
    return this.#consume(op, max, onSample);
  }

  /**
   * The next record's sample, waiting for it; undefined after `timeoutMs`, or when the reader is
   * closed (before the call or meanwhile: a `for await` ends). The wait sleeps until a program's
   * commit wakes the ring (the driver's `mapPoll`: epoll on the kernel), as libbpf's
   * ring_buffer__poll does, so a record submitted with BPF_RB_NO_WAKEUP waits for a commit with
   * BPF_RB_FORCE_WAKEUP or the timeout (plain commits behind it wake no one: the kernel wakes for
   * one only when the reader has caught up to it); without `mapPoll`, it looks every `pollMs`.
   */
  async next(options?: RingBufWaitOptions): Promise<Uint8Array | undefined> {
    // Stalled while bytes remain after mapPoll found the ring readable and read() took nothing:
    // the head is BUSY, and no wake-up will say when it is submitted. If none remain, read()
    // passed over discarded records only, and the next commit will wake the ring.
    return this.waitFor("next", options, () => this.read(), () => this.available() > 0);
  }

  /**
   * `for await (const sample of reader)`: every record as it comes, until the reader is closed.
   * `break` leaves the reader open; `records({ signal })` stops on an AbortSignal.
   */
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    return this.records();
  }

  /**
   * `for await (const sample of reader.records({ signal }))`: every record as it comes, until the
   * reader is closed, or until `signal` aborts, which rejects the loop's wait with the signal's
   * reason (as Node's `events.on` does) and leaves the reader open. `pollMs` is next()'s.
   */
  records(options?: Omit<RingBufWaitOptions, "timeoutMs">): AsyncGenerator<Uint8Array, void, undefined> {
    const where = `records ${this.mapName}`;
    if (options !== undefined && options !== null && typeof options === "object" && "timeoutMs" in options) {
      throw new TypeError(`${where}: options.timeoutMs has no meaning here: a loop waits for each record as long as it takes (use next({ timeoutMs }))`);
    }
    // Checked now, not at the loop's first step.
    const { pollMs, signal } = waitOptions(options, where);
    return this.#records({ pollMs, ...(signal !== undefined ? { signal } : {}) });
  }

  async *#records(wait: RingBufWaitOptions): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const s = await this.next(wait);
      if (s === undefined) return;
      yield s;
    }
  }

  /**
   * Takes up to `max` ready records, calling `deliver` with each sample (a new array, or the
   * start of `into`); how many it took.
   */
  #consume(op: string, max: number, deliver: (sample: Uint8Array) => void, into?: Uint8Array): number {
    const d = this.driver;
    this.live(op);
    const consumer = this.consumerMapping, data = this.dataMapping;
    let cons = this.readPos(op, consumer);
    let avail = this.#avail(op, cons, this.readPos(op, data));
    const header = this.header;
    let taken = 0;
    while (taken < max && avail > 0) {
      const at = this.dataOff + Number(cons & this.mask);
      this.check("mmapRead", d.mmapRead!(data, at, header), op);
      const len = this.headerView.getUint32(0, true);
      if ((len & BPF_RINGBUF_BUSY_BIT) !== 0) break;
      const sampleLen = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      const total = Math.ceil((sampleLen + BPF_RINGBUF_HDR_SZ) / 8) * 8;
      if (total > avail) throw this.#corrupt(op, `a record of ${sampleLen} bytes at position ${cons} runs past the producer position (${avail} bytes ahead)`);
      let sample: Uint8Array | undefined;
      if ((len & BPF_RINGBUF_DISCARD_BIT) === 0) {
        if (into !== undefined && into.length < sampleLen) {
          throw new RangeError(`${op} ${this.mapName}: the next sample is ${sampleLen} bytes and dst holds ${into.length}: nothing was taken`);
        }
        sample = into !== undefined ? into.subarray(0, sampleLen) : new Uint8Array(sampleLen);
        this.check("mmapRead", d.mmapRead!(data, at + BPF_RINGBUF_HDR_SZ, sample), op);
      }
      cons += BigInt(total);
      avail -= total;
      this.posView.setBigUint64(0, cons, true);
      this.check("mmapWrite", d.mmapWrite!(consumer, 0, this.pos), op);
      const moves = ++this.#moves;
      if (sample !== undefined) {
        taken++;
        deliver(sample);
        // The callback closed the reader, or took records itself (read, drain): stop, or go on
        // from where it left the consumer position, so that no record comes out twice.
        if (!this.isOpen()) break;
        if (this.#moves !== moves) {
          cons = this.readPos(op, consumer);
          avail = this.#avail(op, cons, this.readPos(op, data));
        }
      }
    }
    return taken;
  }

  /** Bytes from `cons` to `prod`, which the kernel keeps at most the data's size apart. */
  #avail(op: string, cons: bigint, prod: bigint): number {
    const ahead = prod - cons;
    if (ahead < 0n || ahead > BigInt(this.size)) {
      throw this.#corrupt(op, `the producer position ${prod} is ${ahead < 0n ? "behind" : "more than the ring's size ahead of"} the consumer position ${cons}`);
    }
    return Number(ahead);
  }

  /** The positions make no sense: another writer of the consumer page, or not a ring buffer's pages. */
  #corrupt(op: string, what: string): BpfError {
    return this.error(op, Errno.EINVAL, `${what}: the consumer position was written by something else than a reader of this ring`);
  }
}
