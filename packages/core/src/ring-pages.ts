// What a ring's reader (RINGBUF) and a user ring's producer (USER_RINGBUF) share: the two
// mappings of its pages (the consumer position's page; the producer position's page followed by
// the data, mapped twice in a row), the positions read through them, the copies' errors naming
// the map, close(), and the wait on the ring's fd (the driver's mapPoll: epoll on the kernel; or,
// for a driver without it, a look every `pollMs`). Every access is a copy through the driver
// (mmapRead, mmapWrite), never a view of the pages.
import { isAbortSignalLike, type AbortSignalLike } from "./abort-signal.js";
import { MAX_POLL_TIMEOUT_MS } from "./driver-checks.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import type { Driver } from "./driver.js";
import { Errno } from "./errno.js";
import type { BpfError } from "./errors.js";
import { checkMappingCall, mappingError, releaseEach, type Release } from "./mapping-errors.js";
import { assertOptionKeys } from "./option-keys.js";
import { driverPageSize, isPageSize } from "./page-size.js";
import { describeValue } from "./describe-value.js";

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

/** Options of a ring's waits: `RingBufReader.next` and its async iteration. */
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

/**
 * What a ring's reader or producer is made from (`RingMap.mapSide`): the two mappings and the
 * map's name. For a RINGBUF's reader the consumer page is the writable one; for a USER_RINGBUF's
 * producer the data is.
 */
export interface RingPagesInit {
  /** The driver that made the mappings. */
  driver: Driver;
  /** `mapMmap`'s handle for the consumer position's page (offset 0, one page). */
  consumer: number;
  /** `mapMmap`'s handle for the producer position's page and the data twice (from one page on). */
  data: number;
  /** The data's size in bytes: the map's max_entries, a power of 2. */
  size: number;
  /** The page size the mappings are in (the data starts one page into `data`); default: the driver's. */
  pageSize?: number;
  /**
   * The side's own fd of the ring, which its waits go through (`driver.mapPoll`) and `close()`
   * closes; -1 (or absent) for none: waits look every `pollMs`.
   */
  pollFd?: number;
  /** The map's name, for errors. */
  name: string;
  /** The map's pin path ("" for none), for errors. */
  path: string;
}

const WAIT_OPTION_KEYS = ["timeoutMs", "pollMs", "signal"] as const;
const DEFAULT_POLL_MS = 10;

/**
 * The two mappings of a ring as errors name them, for a side that writes the consumer position
 * (a RINGBUF's reader) or the producer position and the data (a USER_RINGBUF's producer).
 */
export function ringMappings(writesConsumer: boolean): { consumer: string; data: string } {
  const prot = (writable: boolean): string => (writable ? "writable" : "read-only");
  return {
    consumer: `the consumer position's page, ${prot(writesConsumer)}`,
    data: `the producer position's page and the data, ${prot(!writesConsumer)}`,
  };
}

/** What a side still holds: its two mappings and its fd, each -1 once given back. */
interface Held {
  consumer: number;
  data: number;
  pollFd: number;
}

/** A side lost without close() (or with a close() that failed) frees what it still holds when collected. */
const unmapLost = new FinalizationRegistry<{ driver: Driver; held: Held }>(({ driver, held }) => {
  if (held.consumer >= 0) driver.munmap!(held.consumer);
  if (held.data >= 0) driver.munmap!(held.data);
  if (held.pollFd >= 0) driver.close(held.pollFd);
});

/**
 * A ring's pages as one side holds them: a RingBufReader or a UserRingBufProducer. It holds the
 * map as an fd does, until `close()`.
 */
export abstract class RingPages implements Disposable {
  /** The data's size in bytes (max_entries). */
  readonly size: number;
  /** The driver that made the mappings. */
  protected readonly driver: Driver;
  /** `size - 1`: a position's offset in the data. */
  protected readonly mask: bigint;
  /** Where the data starts in the data mapping: after the producer position's page. */
  protected readonly dataOff: number;
  /** The map's name and pin path, for errors. */
  protected readonly mapName: string;
  readonly #path: string;
  /** "reader" or "producer", for errors. */
  readonly #role: string;
  /** A position's 8 bytes, and a record header's, for the copies. */
  protected readonly pos: Uint8Array = new Uint8Array(8);
  protected readonly posView: DataView = new DataView(this.pos.buffer);
  protected readonly header: Uint8Array = new Uint8Array(BPF_RINGBUF_HDR_SZ);
  protected readonly headerView: DataView = new DataView(this.header.buffer);
  readonly #mappings: { consumer: string; data: string };
  /** Shared with the finalizer: what close() has not yet given back. */
  readonly #held: Held;
  #open = true;

  /** Takes over the mappings and the fd of `init` (made by `RingMap.mapSide`); `who` names the class in errors. */
  protected constructor(init: RingPagesInit, role: "reader" | "producer", who: string) {
    if (init.pageSize !== undefined && !isPageSize(init.pageSize)) {
      throw new RangeError(`${who} ${init.name}: pageSize must be a power of 2 of at least 4096, got ${describeValue(init.pageSize)}`);
    }
    this.driver = init.driver;
    this.#held = { consumer: init.consumer, data: init.data, pollFd: init.pollFd ?? -1 };
    this.size = init.size;
    this.mask = BigInt(init.size - 1);
    this.dataOff = init.pageSize ?? driverPageSize(init.driver);
    this.mapName = init.name;
    this.#path = init.path;
    this.#role = role;
    this.#mappings = ringMappings(role === "reader");
    unmapLost.register(this, { driver: init.driver, held: this.#held }, this);
  }

  /** False once closed. */
  isOpen(): boolean {
    return this.#open;
  }

  /** The consumer position's mapping (-1 once closed). */
  protected get consumerMapping(): number {
    return this.#open ? this.#held.consumer : -1;
  }

  /** The producer position's and the data's mapping (-1 once closed). */
  protected get dataMapping(): number {
    return this.#open ? this.#held.data : -1;
  }

  /**
   * Unmaps the ring (munmap of both mappings) and closes the side's fd, which ends a wait (it
   * resolves undefined); later calls throw EBADF. An error `closing()` returns is thrown once the
   * ring is unmapped. Every step is tried; a munmap or close that fails is named in the error.
   * A mapping a munmap could not give back stays held: close() again retries it (as the
   * collector does, for a side dropped). The fd is not: close(2) released it whatever it
   * answered. Closing after everything was given back is a no-op.
   */
  close(): void {
    const held = this.#held;
    let closingError: unknown;
    if (this.#open) {
      closingError = this.closing();
      this.#open = false;
    }
    const d = this.driver;
    const steps: Release[] = [];
    if (held.consumer >= 0) steps.push({ call: "munmap", what: this.#mappings.consumer, run: () => d.munmap!(held.consumer), freed: () => (held.consumer = -1) });
    if (held.data >= 0) steps.push({ call: "munmap", what: this.#mappings.data, run: () => d.munmap!(held.data), freed: () => (held.data = -1) });
    if (held.pollFd >= 0) steps.push({ call: "close", what: `the ${this.#role}'s fd of the ring`, run: () => d.close(held.pollFd), freed: () => (held.pollFd = -1) });
    if (steps.length === 0) return;
    const error = releaseEach(d, { name: this.mapName, path: this.#path }, "close", steps);
    if (held.consumer < 0 && held.data < 0 && held.pollFd < 0) unmapLost.unregister(this);
    if (closingError !== undefined) throw closingError;
    if (error !== undefined) throw error;
  }

  /** `using` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** What a side does first in close(), while the ring is still mapped; an error to throw after. */
  protected closing(): unknown {
    return undefined;
  }

  /** EBADF once closed. */
  protected live(op: string): void {
    if (!this.#open) throw this.error(op, Errno.EBADF, `the ${this.#role} is closed: close() was called`);
  }

  /** The u64 position at the start of a mapping (the consumer's or the producer's page), read with acquire ordering. */
  protected readPos(op: string, mapping: number): bigint {
    this.check("mmapRead", this.driver.mmapRead!(mapping, 0, this.pos), op);
    return this.posView.getBigUint64(0, true);
  }

  /**
   * Calls `take` until it gives something, waiting between calls for the ring's fd (mapPoll) or
   * a timer: what `take` gave, or undefined after `timeoutMs` or once closed. While `stalled()`
   * holds after mapPoll said the ring was ready (a record still BUSY at a reader's head, or room
   * too small for a producer's record), no wake-up will come, so it looks again at once, then
   * after 1, 2, 4, … ms, up to every `pollMs`.
   */
  protected async waitFor<T>(op: string, options: RingBufWaitOptions | undefined, take: () => T | undefined,
    stalled: () => boolean): Promise<T | undefined> {
    const { timeoutMs, pollMs, signal } = waitOptions(options, `${op} ${this.mapName}`);
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    let ready = false;
    let stalls = 0;
    for (;;) {
      if (signal?.aborted === true) throw signal.reason;
      if (!this.isOpen()) return undefined;
      const got = take();
      if (got !== undefined) return got;
      if (ready) ready = stalled();
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      if (this.#held.pollFd < 0) {
        await sleep(Math.min(pollMs, left), signal);
        continue;
      }
      if (ready) {
        const ms = Math.min(pollMs, stalls === 0 ? 0 : 2 ** (stalls - 1));
        stalls++;
        await sleep(Math.min(ms, left), signal);
        continue;
      }
      stalls = 0;
      const wait = left === Number.POSITIVE_INFINITY ? left : Math.min(Math.ceil(left), MAX_POLL_TIMEOUT_MS);
      const r = await this.driver.mapPoll!(this.#held.pollFd, wait, signal);
      if (r !== 0 && r !== 1 && !isNegErrno(r)) throw driverContractError(this.driver, "mapPoll", r, "1, 0 or -errno");
      // After close() (which closes the fd: EBADF) the loop ends at isOpen().
      if (r < 0 && this.isOpen()) throw this.error(op, -r, "waiting on the ring's fd (mapPoll)");
      ready = r === 1;
    }
  }

  /** A mapping call's result checked: its errno as an error naming the map, or a contract error. */
  protected check(method: string, r: number, op: string): void {
    checkMappingCall(this.driver, { name: this.mapName, path: this.#path }, method, r, op);
  }

  /** `op`'s error, naming the map. */
  protected error(op: string, errno: number, why?: string): BpfError {
    return mappingError({ name: this.mapName, path: this.#path }, op, errno, why);
  }
}

/** `options` of next() (and of a user ring's reserveBlocking and PerfReader.read()), checked, with the defaults filled in. */
export function waitOptions(options: RingBufWaitOptions | undefined, where: string): { timeoutMs?: number; pollMs: number; signal?: AbortSignalLike } {
  if (options === undefined) return { pollMs: DEFAULT_POLL_MS };
  if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be { timeoutMs?, pollMs?, signal? }`);
  assertOptionKeys(options, WAIT_OPTION_KEYS, where, "options");
  const { timeoutMs, pollMs = DEFAULT_POLL_MS, signal } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !(timeoutMs >= 0))) {
    throw new RangeError(`${where}: options.timeoutMs must be a number ≥ 0, got ${describeValue(timeoutMs)}`);
  }
  // setTimeout takes at most 2^31-1 ms: a longer interval would fire after 1 ms, every time.
  if (typeof pollMs !== "number" || !(pollMs > 0) || !(pollMs <= MAX_POLL_TIMEOUT_MS)) {
    throw new RangeError(`${where}: options.pollMs must be a number > 0 and ≤ ${MAX_POLL_TIMEOUT_MS}, got ${describeValue(pollMs)}`);
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
