// A BPF_MAP_TYPE_RINGBUF read from user space, as libbpf's ring_buffer__consume and cilium/ebpf's
// ringbuf.Reader read one (kernel/bpf/ringbuf.c): two mappings, the consumer position's page
// (the only writable one) and the producer position's page followed by the data, which the kernel
// maps twice in a row so that a record that wraps reads straight on. Records are taken in order;
// a BUSY one (reserved, not yet submitted) holds up those behind it; a discarded one is skipped;
// the consumer position is written back after each, which gives its room back to the programs.
// Every access is a copy through the driver (mmapRead, mmapWrite), never a view of the pages.
// Waiting is the driver's mapPoll on the reader's own fd (epoll on the kernel), or, for a driver
// without it, a look every `pollMs`.
import { isAbortSignalLike, type AbortSignalLike } from "./abort-signal.js";
import { MAX_POLL_TIMEOUT_MS } from "./driver-checks.js";
import type { BpfError } from "./errors.js";
import { Errno } from "./errno.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { checkMappingCall, mappingError } from "./mapping-errors.js";
import type { Driver } from "./driver.js";
import { assertOptionKeys } from "./option-keys.js";
import { driverPageSize, isPageSize } from "./page-size.js";

/** A record's header: `len` (with the two bits below) then `pg_off`, 8 bytes before its sample. */
export const BPF_RINGBUF_HDR_SZ = 8;
/** In a header's `len`: the record is reserved and not yet submitted or discarded. */
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
/** In a header's `len`: the record was discarded; a reader skips it. */
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;

/**
 * x86-64's page size, which a ring's layout (the consumer page, the producer page, then the data)
 * is in there. A reader goes by its driver's `pageSize` (`driverPageSize`), which is this by default.
 */
export const RINGBUF_PAGE_SIZE = 4096;

/** Options of `RingBufReader.next` and its async iteration. */
export interface RingBufWaitOptions {
  /** Give up after this many ms and resolve undefined. Default: wait until a record comes or the reader is closed. */
  timeoutMs?: number;
  /**
   * How often to look for a record while none is there, in ms (default 10, at most 2^31-1,
   * setTimeout's longest), where the reader cannot sleep until a program wakes it: a driver
   * without `mapPoll`; and, at most this often, a record still BUSY at the head of the ring (a
   * program on another CPU between reserve and submit: the ring stays readable, so only time
   * tells when it is done), looked at again at once, then after 1, 2, 4, … ms.
   */
  pollMs?: number;
  /** Stops the wait (an AbortController's signal): the promise rejects with the signal's reason. */
  signal?: AbortSignalLike;
}

/** What `BpfRingBuf.reader()` hands a RingBufReader: the two mappings and the map's name. */
export interface RingBufReaderInit {
  /** The driver that made the mappings. */
  driver: Driver;
  /** `mapMmap`'s handle for the consumer position's page (offset 0, one page, writable). */
  consumer: number;
  /** `mapMmap`'s handle for the producer position's page and the data twice (from one page on). */
  data: number;
  /** The data's size in bytes: the map's max_entries, a power of 2. */
  size: number;
  /** The page size the mappings are in (the data starts one page into `data`); default: the driver's. */
  pageSize?: number;
  /**
   * The reader's own fd of the ring, which `next()` waits on through `driver.mapPoll` and
   * `close()` closes; -1 (or absent) for none: waits look every `pollMs`.
   */
  pollFd?: number;
  /** The map's name, for errors. */
  name: string;
  /** The map's pin path ("" for none), for errors. */
  path: string;
}

const WAIT_OPTION_KEYS = ["timeoutMs", "pollMs", "signal"] as const;
const DEFAULT_POLL_MS = 10;

/** A reader lost without close() is unmapped (and its fd closed) when collected: nothing else can reach them. */
const unmapLost = new FinalizationRegistry<{ driver: Driver; consumer: number; data: number; pollFd: number }>(({ driver, consumer, data, pollFd }) => {
  driver.munmap!(consumer);
  driver.munmap!(data);
  if (pollFd >= 0) driver.close(pollFd);
});

/**
 * Reads the records programs write into a ring buffer (from `BpfRingBuf.reader()`). `read()`
 * takes the next record's sample (a copy) or says there is none yet; `drain()` takes all that are
 * ready; `next()` and `for await` wait for them. A ring buffer has one consumer: two readers (in
 * this process or another) take records from each other. The reader holds the map as an fd does,
 * until `close()`.
 */
export class RingBufReader implements Disposable {
  /** The data's size in bytes (max_entries). */
  readonly size: number;
  readonly #driver: Driver;
  readonly #mask: bigint;
  /** Where the data starts in the data mapping: after the producer position's page. */
  readonly #dataOff: number;
  readonly #name: string;
  readonly #path: string;
  readonly #pos = new Uint8Array(8);
  readonly #posView = new DataView(this.#pos.buffer);
  readonly #header = new Uint8Array(BPF_RINGBUF_HDR_SZ);
  readonly #headerView = new DataView(this.#header.buffer);
  #consumer: number;
  #data: number;
  #pollFd: number;
  /** Writes of the consumer position so far: a drain callback that changes it has taken records itself. */
  #moves = 0;

  /** Made by `BpfRingBuf.reader()`, which maps the pages first. */
  constructor(init: RingBufReaderInit) {
    this.#driver = init.driver;
    this.#consumer = init.consumer;
    this.#data = init.data;
    this.#pollFd = init.pollFd ?? -1;
    this.size = init.size;
    this.#mask = BigInt(init.size - 1);
    if (init.pageSize !== undefined && !isPageSize(init.pageSize)) {
      throw new RangeError(`RingBufReader ${init.name}: pageSize must be a power of 2 of at least 4096, got ${String(init.pageSize)}`);
    }
    this.#dataOff = init.pageSize ?? driverPageSize(init.driver);
    this.#name = init.name;
    this.#path = init.path;
    unmapLost.register(this, { driver: init.driver, consumer: init.consumer, data: init.data, pollFd: this.#pollFd }, this);
  }

  /** False once closed. */
  isOpen(): boolean {
    return this.#consumer >= 0;
  }

  /**
   * Bytes between the consumer and the producer position: records ready, records still BUSY and
   * discarded ones, with their headers (the kernel's BPF_RB_AVAIL_DATA).
   */
  available(): number {
    const op = "available";
    this.#live(op);
    return this.#avail(op, this.#readPos(op, this.#consumer), this.#readPos(op, this.#data));
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
    if (!(dst instanceof Uint8Array)) throw new TypeError(`${op} ${this.#name}: dst must be a Uint8Array`);
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
    if (typeof onSample !== "function") throw new TypeError(`${op} ${this.#name}: onSample must be a function`);
    let max = Number.POSITIVE_INFINITY;
    if (options !== undefined) {
      if (options === null || typeof options !== "object") throw new TypeError(`${op} ${this.#name}: options must be { max? }`);
      assertOptionKeys(options, ["max"], `${op} ${this.#name}`, "options");
      if (options.max !== undefined) {
        if (!Number.isSafeInteger(options.max) || options.max < 0) throw new RangeError(`${op} ${this.#name}: options.max must be an integer ≥ 0, got ${String(options.max)}`);
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
    const op = "next";
    const { timeoutMs, pollMs, signal } = waitOptions(options, `${op} ${this.#name}`);
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    // Set when mapPoll found the ring readable. If read() then takes nothing while bytes remain,
    // the head is BUSY, and no wake-up will say when it is submitted (the ring stays readable):
    // look again soon, then less often, up to every pollMs (a program holds a reservation for
    // microseconds; libbpf spins there). If none remain, read() passed over discarded records
    // only, and the next commit will wake the ring: the wait is mapPoll's again.
    let stalled = false;
    let stalls = 0;
    for (;;) {
      if (signal?.aborted === true) throw signal.reason;
      if (!this.isOpen()) return undefined;
      const s = this.read();
      if (s !== undefined) return s;
      if (stalled && this.available() === 0) stalled = false;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      if (this.#pollFd < 0) {
        await sleep(Math.min(pollMs, left), signal);
        continue;
      }
      if (stalled) {
        // 0, 1, 2, 4, … ms, at most pollMs.
        const ms = Math.min(pollMs, stalls === 0 ? 0 : 2 ** (stalls - 1));
        stalls++;
        await sleep(Math.min(ms, left), signal);
        continue;
      }
      stalls = 0;
      const wait = left === Number.POSITIVE_INFINITY ? left : Math.min(Math.ceil(left), MAX_POLL_TIMEOUT_MS);
      const r = await this.#driver.mapPoll!(this.#pollFd, wait, signal);
      if (r !== 0 && r !== 1 && !isNegErrno(r)) throw driverContractError(this.#driver, "mapPoll", r, "1, 0 or -errno");
      // After close() (which closes the fd: EBADF) the loop ends at isOpen().
      if (r < 0 && this.isOpen()) throw this.#error(op, -r, "waiting on the ring's fd (mapPoll)");
      stalled = r === 1;
    }
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
    const where = `records ${this.#name}`;
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
   * Unmaps the ring (munmap of both mappings) and closes the reader's fd, which ends a wait in
   * `next()` (it resolves undefined); later calls throw EBADF. Closing twice is a no-op.
   */
  close(): void {
    const c = this.#consumer, d = this.#data, p = this.#pollFd;
    if (c < 0) return;
    this.#consumer = this.#data = this.#pollFd = -1;
    unmapLost.unregister(this);
    const rc = this.#driver.munmap!(c);
    const rd = this.#driver.munmap!(d);
    const rp = p >= 0 ? this.#driver.close(p) : 0;
    this.#check("munmap", rd, "close");
    this.#check("munmap", rc, "close");
    this.#check("close", rp, "close");
  }

  /** `using reader = ring.reader()` unmaps at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Takes up to `max` ready records, calling `deliver` with each sample (a new array, or the
   * start of `into`); how many it took.
   */
  #consume(op: string, max: number, deliver: (sample: Uint8Array) => void, into?: Uint8Array): number {
    const d = this.#driver;
    const consumer = this.#live(op), data = this.#data;
    let cons = this.#readPos(op, consumer);
    let avail = this.#avail(op, cons, this.#readPos(op, data));
    const header = this.#header;
    let taken = 0;
    while (taken < max && avail > 0) {
      const at = this.#dataOff + Number(cons & this.#mask);
      this.#check("mmapRead", d.mmapRead!(data, at, header), op);
      const len = this.#headerView.getUint32(0, true);
      if ((len & BPF_RINGBUF_BUSY_BIT) !== 0) break;
      const sampleLen = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      const total = Math.ceil((sampleLen + BPF_RINGBUF_HDR_SZ) / 8) * 8;
      if (total > avail) throw this.#corrupt(op, `a record of ${sampleLen} bytes at position ${cons} runs past the producer position (${avail} bytes ahead)`);
      let sample: Uint8Array | undefined;
      if ((len & BPF_RINGBUF_DISCARD_BIT) === 0) {
        if (into !== undefined && into.length < sampleLen) {
          throw new RangeError(`${op} ${this.#name}: the next sample is ${sampleLen} bytes and dst holds ${into.length}: nothing was taken`);
        }
        sample = into !== undefined ? into.subarray(0, sampleLen) : new Uint8Array(sampleLen);
        this.#check("mmapRead", d.mmapRead!(data, at + BPF_RINGBUF_HDR_SZ, sample), op);
      }
      cons += BigInt(total);
      avail -= total;
      this.#posView.setBigUint64(0, cons, true);
      this.#check("mmapWrite", d.mmapWrite!(consumer, 0, this.#pos), op);
      const moves = ++this.#moves;
      if (sample !== undefined) {
        taken++;
        deliver(sample);
        // The callback closed the reader, or took records itself (read, drain): stop, or go on
        // from where it left the consumer position, so that no record comes out twice.
        if (this.#consumer < 0) break;
        if (this.#moves !== moves) {
          cons = this.#readPos(op, consumer);
          avail = this.#avail(op, cons, this.#readPos(op, data));
        }
      }
    }
    return taken;
  }

  /** The u64 position at the start of a mapping (the consumer's or the producer's page). */
  #readPos(op: string, mapping: number): bigint {
    this.#check("mmapRead", this.#driver.mmapRead!(mapping, 0, this.#pos), op);
    return this.#posView.getBigUint64(0, true);
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
    return this.#error(op, Errno.EINVAL, `${what}: the consumer position was written by something else than a reader of this ring`);
  }

  #live(op: string): number {
    if (this.#consumer < 0) throw this.#error(op, Errno.EBADF, "the reader is closed: close() was called");
    return this.#consumer;
  }

  #check(method: string, r: number, op: string): void {
    checkMappingCall(this.#driver, { name: this.#name, path: this.#path }, method, r, op);
  }

  #error(op: string, errno: number, why?: string): BpfError {
    return mappingError({ name: this.#name, path: this.#path }, op, errno, why);
  }
}

/** `options` of next() (and of a user ring's reserveBlocking and PerfReader.read()), checked, with the defaults filled in. */
export function waitOptions(options: RingBufWaitOptions | undefined, where: string): { timeoutMs?: number; pollMs: number; signal?: AbortSignalLike } {
  if (options === undefined) return { pollMs: DEFAULT_POLL_MS };
  if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be { timeoutMs?, pollMs?, signal? }`);
  assertOptionKeys(options, WAIT_OPTION_KEYS, where, "options");
  const { timeoutMs, pollMs = DEFAULT_POLL_MS, signal } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !(timeoutMs >= 0))) {
    throw new RangeError(`${where}: options.timeoutMs must be a number ≥ 0, got ${String(timeoutMs)}`);
  }
  // setTimeout takes at most 2^31-1 ms: a longer interval would fire after 1 ms, every time.
  if (typeof pollMs !== "number" || !(pollMs > 0) || !(pollMs <= MAX_POLL_TIMEOUT_MS)) {
    throw new RangeError(`${where}: options.pollMs must be a number > 0 and ≤ ${MAX_POLL_TIMEOUT_MS}, got ${String(pollMs)}`);
  }
  if (signal !== undefined && !isAbortSignalLike(signal)) {
    throw new TypeError(`${where}: options.signal must be an AbortSignal`);
  }
  return { ...(timeoutMs !== undefined ? { timeoutMs } : {}), pollMs, ...(signal !== undefined ? { signal } : {}) };
}

/** A timer of `ms`, cut short (rejecting) by `signal`. */
export function sleep(ms: number, signal: AbortSignalLike | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
