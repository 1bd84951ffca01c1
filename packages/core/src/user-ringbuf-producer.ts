// A BPF_MAP_TYPE_USER_RINGBUF written from user space, as libbpf's user_ring_buffer__reserve,
// __submit and __discard write one (kernel/bpf/ringbuf.c is the reader: __bpf_user_ringbuf_peek).
// Two mappings: the consumer position's page, read-only (the kernel moves it as a program drains),
// and the producer position's page followed by the data, mapped twice in a row so that a record
// that wraps is written straight on. A reservation writes the record's header BUSY and moves the
// producer position past it (a release store, so the kernel never sees the position before the
// header); submit writes the sample, then the header without BUSY (again a release store, which
// the kernel's smp_load_acquire of the header pairs with). Every access is a copy through the
// driver (mmapRead, mmapWrite). One producer per ring, as libbpf's: the producer position is
// only ever written here.
import type { AbortSignalLike } from "./abort-signal.js";
import { Errno } from "./errno.js";
import type { BpfError } from "./errors.js";
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, RingPages, type RingPagesInit } from "./ring-pages.js";
import { describeValue } from "./describe-value.js";

/**
 * The largest sample a drain hands a program: a dynptr's size is 24 bits (DYNPTR_MAX_SIZE), and
 * the kernel's drain answers E2BIG for a longer one, for ever (it never moves past it).
 */
export const USER_RINGBUF_MAX_SAMPLE = (1 << 24) - 1;

/** What `BpfUserRingBuf.producer()` hands a UserRingBufProducer: the reader's init, its mappings the other way round. */
export interface UserRingBufProducerInit extends Omit<RingPagesInit, "consumer" | "data"> {
  /** `mapMmap`'s handle for the consumer position's page (offset 0, one page, read-only). */
  consumer: number;
  /** `mapMmap`'s handle for the producer position's page and the data twice (from one page on, writable). */
  data: number;
}

/** Options of `reserveBlocking`. */
export interface UserRingBufWaitOptions {
  /** Give up after this many ms and resolve undefined. Default: wait until there is room or the producer is closed. */
  timeoutMs?: number;
  /**
   * How often to look for room, in ms (default 10, at most 2^31-1), where the producer cannot
   * sleep until a drain wakes it: a driver without `mapPoll`; and, at most this often, a ring
   * with some room but not enough (the kernel reports it writable, so only time tells when a
   * drain made more), looked at again at once, then after 1, 2, 4, … ms.
   */
  pollMs?: number;
  /** Stops the wait (an AbortController's signal): the promise rejects with the signal's reason. */
  signal?: AbortSignalLike;
}


/**
 * A sample lost while still reserved (never submitted, discarded or closed) is discarded when
 * collected: its BUSY record would otherwise stop every drain of the ring for good, and a pinned
 * ring outlives this process. The held value holds the producer (the sample held it anyway).
 */
const discardLost = new FinalizationRegistry<{ producer: UserRingBufProducer; pos: bigint }>(({ producer, pos }) => {
  discardLostSample(producer, pos);
});
/** The producer's private discard of a lost sample, given to the registry by the class. */
let discardLostSample: (producer: UserRingBufProducer, pos: bigint) => void;

/** A record's size in the ring: its header and sample, rounded up to 8. */
const recordBytes = (size: number) => Math.ceil((size + BPF_RINGBUF_HDR_SZ) / 8) * 8;

/** What a sample asks of its producer: its commit, and errors that name the map. */
export interface UserRingBufSampleHost {
  /** Writes the sample (unless discarded) and its header without BUSY. */
  commit(op: string, data: Uint8Array, discard: boolean): void;
  /** `op`'s error, naming the map. */
  error(op: string, errno: number, why: string): BpfError;
}

/**
 * A record reserved in a user ring buffer (from `UserRingBufProducer.reserve`): fill `data`, then
 * `submit()` it, or `discard()` it. Until then it is BUSY: a program's drain stops at it, so
 * records reserved after it wait for it too. One dropped unsubmitted is discarded when the
 * garbage collector takes it.
 */
export class UserRingBufSample {
  /** The sample's bytes, zeroed at reserve: what submit() copies into the ring. */
  readonly data: Uint8Array;
  readonly #host: UserRingBufSampleHost;
  #state: "reserved" | "submitted" | "discarded" | "closed" = "reserved";

  /** Made by `UserRingBufProducer.reserve`. */
  constructor(host: UserRingBufSampleHost, size: number) {
    this.#host = host;
    this.data = new Uint8Array(size);
  }

  /** The sample's size in bytes. */
  get size(): number {
    return this.data.length;
  }

  /** Still reserved: neither submitted nor discarded (nor dropped by the producer's close()). */
  isPending(): boolean {
    return this.#state === "reserved";
  }

  /** Copies `data` into the ring and clears BUSY: the next drain hands the record to the program. */
  submit(): void {
    this.#commit("submit", false);
  }

  /** Marks the record DISCARD: drains pass over it (the kernel counts it in neither the answer nor the callbacks). */
  discard(): void {
    this.#commit("discard", true);
  }

  #commit(op: "submit" | "discard", discard: boolean): void {
    const state = this.#state;
    if (state !== "reserved") {
      const was = state === "closed" ? "discarded by the producer's close()" : state;
      throw this.#host.error(op, state === "closed" ? Errno.EBADF : Errno.EINVAL,
        `the sample was already ${was}: a reservation is submitted or discarded once`);
    }
    this.#host.commit(op, this.data, discard);
    this.#state = discard ? "discarded" : "submitted";
  }

  /** The producer's close(): the record was discarded for it. */
  dropped(): void {
    this.#state = "closed";
  }
}

/**
 * Writes records into a user ring buffer for programs to drain (from `BpfUserRingBuf.producer()`).
 * `reserve(size)` gives a sample to fill and submit (or undefined when the ring has no room now);
 * `reserveBlocking` waits for room; `write(bytes)` reserves, fills and submits in one call. Records
 * reach the program in the order reserved. The producer holds the map as an fd does, until
 * `close()`.
 */
export class UserRingBufProducer extends RingPages {
  /**
   * Samples reserved and not yet committed, by position: close() discards them, or every drain
   * would stop at them. Weakly held, with their sizes: a sample lost unsubmitted is collected
   * and discarded (discardLost).
   */
  readonly #pending = new Map<bigint, { size: number; sample: WeakRef<UserRingBufSample> }>();

  /** Made by `BpfUserRingBuf.producer()`, which maps the pages first. */
  constructor(init: UserRingBufProducerInit) {
    super(init, "producer", "UserRingBufProducer");
  }

  /**
   * Bytes a reservation can take now: the ring's size less what lies between the consumer and
   * the producer position (records not yet drained, BUSY ones included). A record takes its
   * sample's size plus an 8-byte header, rounded up to 8.
   */
  room(): number {
    const op = "room";
    this.live(op);
    const { cons, prod } = this.#positions(op);
    return this.size - this.#used(op, cons, prod);
  }

  /**
   * Reserves a record of `size` bytes (libbpf's user_ring_buffer__reserve): its sample, BUSY
   * until submitted or discarded, or undefined when the ring has no room for it now. `size` is
   * 0 to 2^24 - 1 (a dynptr's largest: the kernel's drain refuses a longer one with E2BIG) and
   * its record, with the 8-byte header and rounded up to 8, must fit in the ring: a RangeError
   * otherwise, before the ring is touched. A 0-byte record, as libbpf's and the kernel's take it,
   * is its header alone: the drain calls the program back with an empty dynptr (6.18).
   */
  reserve(size: number): UserRingBufSample | undefined {
    return this.#reserve("reserve", size);
  }

  /**
   * As `reserve`, waiting for room: the sample, or undefined after `timeoutMs` or when the
   * producer is closed meanwhile. The wait sleeps until a program's drain wakes the ring (the
   * driver's `mapPoll`, epoll's EPOLLOUT on the kernel), as libbpf's
   * user_ring_buffer__reserve_blocking does; without `mapPoll` it looks every `pollMs`.
   */
  async reserveBlocking(size: number, options?: UserRingBufWaitOptions): Promise<UserRingBufSample | undefined> {
    const op = "reserveBlocking";
    // Bad sizes throw now, not after a wait.
    this.#checkSize(op, size);
    // Stalled while there is room, but too little: the ring stays writable, so no wake-up says
    // when a drain made more.
    return this.waitFor(op, options, () => this.#reserve(op, size), () => this.room() > 0);
  }

  /**
   * Reserves a record for `bytes`, copies them in and submits it: true, or false when the ring
   * has no room for it now (nothing written). The size rules are reserve's.
   */
  write(bytes: Uint8Array): boolean {
    const op = "write";
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`${op} ${this.mapName}: bytes must be a Uint8Array`);
    const s = this.#reserve(op, bytes.length);
    if (s === undefined) return false;
    s.data.set(bytes);
    s.submit();
    return true;
  }

  /**
   * Discards every sample still reserved (a BUSY record would stop every later drain), unmaps the
   * ring and closes the producer's fd, which ends a wait in `reserveBlocking` (it resolves
   * undefined); later calls throw EBADF. A munmap that fails stays held, for close() again to
   * retry (RingPages.close).
   */
  override close(): void {
    super.close();
  }

  /** close()'s first step: every sample still reserved is discarded while the ring is mapped. */
  protected override closing(): unknown {
    let discardError: unknown;
    for (const [pos, { size, sample }] of this.#pending) {
      const s = sample.deref();
      try {
        this.#commit("close", pos, s?.data ?? new Uint8Array(size), true);
      } catch (e) {
        discardError ??= e;
      }
      if (s !== undefined) {
        s.dropped();
        discardLost.unregister(s);
      }
    }
    this.#pending.clear();
    return discardError;
  }

  static {
    discardLostSample = (producer, pos) => producer.#discardLost(pos);
  }

  /**
   * For the collector: the sample reserved at `pos` was lost unsubmitted; its record is marked
   * DISCARD so that drains pass over it. Nothing when it was committed or the producer closed.
   */
  #discardLost(pos: bigint): void {
    const p = this.#pending.get(pos);
    if (p === undefined || !this.isOpen()) return;
    try {
      this.#commit("discard", pos, new Uint8Array(p.size), true);
    } catch {
      // A finalizer has no caller to tell: the record stays BUSY, as it was.
    }
  }

  /**
   * A sample's submit or discard: the sample's bytes (not for a discard), then its header
   * without BUSY in one release store.
   */
  #commit(op: string, pos: bigint, data: Uint8Array, discard: boolean): void {
    const d = this.driver;
    this.live(op);
    const mapping = this.dataMapping;
    if (!discard && data.length > 0) {
      this.check("mmapWrite", d.mmapWrite!(mapping, this.dataOff + Number((pos + BigInt(BPF_RINGBUF_HDR_SZ)) & this.mask), data), op);
    }
    this.headerView.setUint32(0, (data.length | (discard ? BPF_RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
    this.headerView.setUint32(4, 0, true);
    this.check("mmapWrite", d.mmapWrite!(mapping, this.dataOff + Number(pos & this.mask), this.header), op);
    this.#pending.delete(pos);
  }

  #checkSize(op: string, size: unknown): asserts size is number {
    if (typeof size !== "number" || !Number.isInteger(size)) {
      throw new TypeError(`${op} ${this.mapName}: size must be an integer, got ${describeValue(size)}`);
    }
    if (size < 0) throw new RangeError(`${op} ${this.mapName}: size must be 0 or more bytes, got ${size}`);
    if (size > USER_RINGBUF_MAX_SAMPLE) {
      throw new RangeError(`${op} ${this.mapName}: a sample of ${size} bytes is more than a drain hands a program ` +
        `(${USER_RINGBUF_MAX_SAMPLE}, a dynptr's largest: the kernel would answer every drain E2BIG)`);
    }
    if (recordBytes(size) > this.size) {
      throw new RangeError(`${op} ${this.mapName}: a sample of ${size} bytes takes ${recordBytes(size)} with its 8-byte header, ` +
        `more than the ring's ${this.size}: it can never fit`);
    }
  }

  #reserve(op: string, size: number): UserRingBufSample | undefined {
    this.#checkSize(op, size);
    const d = this.driver;
    this.live(op);
    const mapping = this.dataMapping;
    const { cons, prod } = this.#positions(op);
    const total = recordBytes(size);
    if (this.size - this.#used(op, cons, prod) < total) return undefined;
    // The header first, BUSY, then the position past it: the kernel reads the position before the header.
    this.headerView.setUint32(0, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    this.headerView.setUint32(4, 0, true);
    this.check("mmapWrite", d.mmapWrite!(mapping, this.dataOff + Number(prod & this.mask), this.header), op);
    this.posView.setBigUint64(0, BigInt.asUintN(64, prod + BigInt(total)), true);
    this.check("mmapWrite", d.mmapWrite!(mapping, 0, this.pos), op);
    const s: UserRingBufSample = new UserRingBufSample({
      commit: (cop, data, discard) => {
        this.#commit(cop, prod, data, discard);
        discardLost.unregister(s);
      },
      error: (eop, errno, why) => this.error(eop, errno, why),
    }, size);
    this.#pending.set(prod, { size, sample: new WeakRef(s) });
    discardLost.register(s, { producer: this, pos: prod }, s);
    return s;
  }

  /** Both positions: the consumer's with acquire ordering (a drain's room), the producer's (this producer's own). */
  #positions(op: string): { cons: bigint; prod: bigint } {
    return { cons: this.readPos(op, this.consumerMapping), prod: this.readPos(op, this.dataMapping) };
  }

  /** Bytes from `cons` to `prod`: at most the ring's size, and `prod` a multiple of 8, or someone else wrote the positions. */
  #used(op: string, cons: bigint, prod: bigint): number {
    const ahead = prod - cons;
    if (ahead < 0n || ahead > BigInt(this.size) || prod % 8n !== 0n) {
      const why = prod % 8n !== 0n ? "no multiple of 8" : `${ahead < 0n ? "behind" : "more than the ring's size ahead of"} the consumer position ${cons}`;
      throw this.error(op, Errno.EINVAL, `the producer position ${prod} is ${why}: the producer position was written by something else than this ring's producer`);
    }
    return Number(ahead);
  }
}
