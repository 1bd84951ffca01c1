// Reads what programs send through a BPF_MAP_TYPE_PERF_EVENT_ARRAY with bpf_perf_event_output,
// as cilium/ebpf's perf.Reader does: one BPF output event per CPU, each in the array's slot of its
// CPU (a program's output lands in the event of the CPU it runs on; the helper refuses another
// CPU's), each with its own ring (perf-ring.ts). Records come one at a time from the CPUs in turn;
// a wait sleeps in the driver's mapPoll on every CPU's event at once, or, for a driver without it,
// looks every `pollMs`. The reader holds its own fd of the array, so it reads on after the map
// object is closed, and its close() clears the slots it filled and frees the rest.
import { type AbortSignalLike } from "./abort-signal.js";
import { MAX_POLL_TIMEOUT_MS } from "./driver-checks.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import type { Driver } from "./driver.js";
import { Errno } from "./errno.js";
import type { BpfError } from "./errors.js";
import { mappingError, releaseEach, type MappedFrom, type Release } from "./mapping-errors.js";
import { meteredDriver, type MetricsHook } from "./metrics.js";
import { PerfRing, type PerfRecord } from "./perf-ring.js";
import { sleep, waitOptions, type RingBufWaitOptions } from "./ring-pages.js";

/** Options of `PerfReader.read` and its async iteration: those of RingBufReader.next. */
export type PerfReadOptions = RingBufWaitOptions;

/** One CPU as a reader holds it: its event's fd (in the array's slot `cpu`) and its ring's mapping. */
export interface PerfReaderSlot {
  /** The CPU the event counts on. */
  cpu: number;
  /** The array's slot it is in: the CPU's number, unless the reader was asked for another (bpftool's `cpu N index M`). */
  index: number;
  /** The event's fd (Driver.perfEventOpen), which the reader closes. */
  eventFd: number;
  /** mapMmap's handle of the event's ring (header page and data, writable), which the reader unmaps. */
  mapping: number;
}

/** What `BpfPerfEventArray.reader()` hands a PerfReader once every slot is filled. */
export interface PerfReaderInit {
  /** The driver that opened the events and mapped the rings. */
  driver: Driver;
  /** The reader's own fd of the array (a dup), through which it clears and fills the slots; closed by close(). */
  arrayFd: number;
  /** The CPUs, each with its event in its slot, in ascending order. */
  slots: readonly PerfReaderSlot[];
  /** Each ring's data size in bytes: a power of 2 of pages. */
  dataSize: number;
  /** The page size the rings are mapped in: the data starts one page in. */
  pageSize: number;
  /** The array's name, for errors. */
  name: string;
  /** The array's pin path ("" for none), for errors. */
  path: string;
  /** The Bpf's metrics hooks: `mapOp` for pause, resume and close, `syscall` for each slot's update or delete. */
  metrics?: MetricsHook;
  /** The name `mapOp` reports the array by (Cilium's common name). */
  commonName?: string;
}

/**
 * What a reader knows of its slots, shared with the finalizer: whether pause() was asked (until
 * resume()), and, slot by slot, whether the slot may still hold the reader's event (false once a
 * delete emptied it or found it empty). A pause() that could not empty a slot leaves it marked,
 * so a second pause() and close() try it again. `arrayFd` is the reader's fd of the array until
 * close() closes it (-1 then), as a slot's `mapping` and `eventFd` are until close() frees them.
 */
interface SlotState {
  paused: boolean;
  readonly filled: boolean[];
  arrayFd: number;
}

/** A reader lost without close() (or with a close() that failed): what it still holds is freed when collected. */
const freeLost = new FinalizationRegistry<{ driver: Driver; slots: readonly PerfReaderSlot[]; state: SlotState }>(
  ({ driver, slots, state }) => {
    const key = new Uint8Array(4);
    slots.forEach((s, i) => {
      if (state.filled[i] && state.arrayFd >= 0) {
        new DataView(key.buffer).setUint32(0, s.index, true);
        driver.mapDeleteElem(state.arrayFd, key);
      }
      if (s.mapping >= 0) driver.munmap!(s.mapping);
      if (s.eventFd >= 0) driver.close(s.eventFd);
    });
    if (state.arrayFd >= 0) driver.close(state.arrayFd);
  });

/** An AbortSignal of the reader's own, which ends the waits on the other CPUs once one is readable. */
class WaitEnd implements AbortSignalLike {
  aborted = false;
  readonly reason = undefined;
  readonly #listeners = new Set<() => void>();
  addEventListener(_type: "abort", listener: () => void): void {
    this.#listeners.add(listener);
  }
  removeEventListener(_type: "abort", listener: () => void): void {
    this.#listeners.delete(listener);
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    for (const l of [...this.#listeners]) l();
    this.#listeners.clear();
  }
}

/**
 * Reads the records programs send through a perf event array (from `BpfPerfEventArray.reader()`,
 * cilium/ebpf's `perf.NewReader`). `readRecord()` takes the next record of any CPU, or says there
 * is none; `read()` and `for await` wait for one. A record is a sample (`rawSample`) or a count
 * of samples lost to a full ring (`lostSamples`). `pause()` empties the slots (programs' output
 * is then -ENOENT, as cilium/ebpf's Pause), `resume()` fills them again; `close()` frees it all.
 */
export class PerfReader implements Disposable {
  /** Each CPU's ring's data size in bytes (cilium/ebpf's BufferSize). */
  readonly bufferSize: number;
  /** The CPUs read, in ascending order. */
  readonly cpus: readonly number[];
  /** The slots the reader fills, one per CPU of `cpus` (the same numbers, unless it was given an `index`). */
  readonly indexes: readonly number[];
  readonly #driver: Driver;
  readonly #slotDriver: Driver;
  readonly #from: MappedFrom;
  readonly #slots: readonly PerfReaderSlot[];
  readonly #rings: readonly PerfRing[];
  readonly #metrics: MetricsHook | undefined;
  readonly #commonName: string;
  readonly #key = new Uint8Array(4);
  readonly #keyView = new DataView(this.#key.buffer);
  readonly #value = new Uint8Array(4);
  readonly #valueView = new DataView(this.#value.buffer);
  /** Shared with the finalizer: which slots may still hold the reader's events. */
  readonly #state: SlotState;
  #open = true;
  /** The ring readRecord() looks at first: the one after the last that gave a record. */
  #cursor = 0;

  /** Made by `BpfPerfEventArray.reader()`, which opens the events, maps them and fills the slots first. */
  constructor(init: PerfReaderInit) {
    this.#driver = init.driver;
    this.#metrics = init.metrics;
    this.#slotDriver = init.metrics?.syscall !== undefined ? meteredDriver(init.driver, init.metrics) : init.driver;
    this.#commonName = init.commonName ?? init.name;
    this.#from = { name: init.name, path: init.path };
    this.#slots = init.slots.map((s) => ({ ...s }));
    this.#state = { paused: false, filled: this.#slots.map(() => true), arrayFd: init.arrayFd };
    this.cpus = Object.freeze(this.#slots.map((s) => s.cpu));
    this.indexes = Object.freeze(this.#slots.map((s) => s.index));
    this.bufferSize = init.dataSize;
    this.#rings = this.#slots.map((s) => new PerfRing({ driver: init.driver, cpu: s.cpu, index: s.index, mapping: s.mapping,
      dataOffset: init.pageSize, dataSize: init.dataSize, from: this.#from }));
    freeLost.register(this, { driver: init.driver, slots: this.#slots, state: this.#state }, this);
  }

  /** False once closed. */
  isOpen(): boolean {
    return this.#open;
  }

  /** True between pause() and resume(), also after a pause() that threw (pause() again retries the slots it could not empty). */
  isPaused(): boolean {
    return this.#state.paused;
  }

  /** Bytes waiting in the rings, all CPUs together (records not yet read, with their headers). */
  available(): number {
    const op = "available";
    this.#live(op);
    let n = 0;
    for (const r of this.#rings) n += r.available(op);
    return n;
  }

  /**
   * The next record of any CPU, or undefined when every ring is empty; its room goes back to the
   * programs at once. The CPUs take turns, a record each, so a busy one does not starve the others
   * (records of one CPU come in the order they were written; across CPUs there is no order).
   * A sample past 64 KiB, which the kernel cannot size in a perf record (its u16 size wraps), is
   * a BpfError E2BIG, and passed over: the next call reads on after it. A ring that makes no sense
   * at the reader's position (a record's size or data_head impossible there: its data_tail was
   * written by something else) is a BpfError EINVAL saying how many bytes were dropped: the
   * reader moves on to data_head, where the kernel's next record starts, and the next call goes
   * on with that CPU and the others.
   */
  readRecord(): PerfRecord | undefined {
    return this.#next("readRecord", undefined);
  }

  /**
   * As `readRecord()`, into `rec` (cilium/ebpf's ReadInto): its fields are overwritten, and the
   * sample goes into the memory of `rec.rawSample` where that holds it (a new view of it, from
   * its start), else into a new array, which later calls then reuse; so a loop that passes the
   * same record allocates no sample memory once it has seen its largest. A `rawSample` of yours
   * is written only within its own bytes, never past them into the buffer it views. True when a record was
   * read, false (and `rec` untouched) when every ring is empty.
   */
  readRecordInto(rec: PerfRecord): boolean {
    const op = "readRecordInto";
    if (rec === null || typeof rec !== "object") throw new TypeError(`${op} ${this.#from.name}: rec must be a PerfRecord to fill`);
    return this.#next(op, rec) !== undefined;
  }

  #next(op: string, into: PerfRecord | undefined): PerfRecord | undefined {
    this.#live(op);
    const rings = this.#rings;
    for (let i = 0; i < rings.length; i++) {
      const at = (this.#cursor + i) % rings.length;
      let rec: PerfRecord | undefined;
      try {
        rec = rings[at]!.next(op, into);
      } catch (e) {
        // A ring that failed (and passed over what failed) has had its turn: the others go first.
        this.#cursor = (at + 1) % rings.length;
        throw e;
      }
      if (rec !== undefined) {
        this.#cursor = (at + 1) % rings.length;
        return rec;
      }
    }
    return undefined;
  }

  /**
   * The next record, waiting for one (cilium/ebpf's Read); undefined after `timeoutMs`, or when
   * the reader is closed (before the call or meanwhile: a `for await` ends). The wait sleeps until
   * a CPU's event wakes, which is after each sample by default, or, with the reader's `watermark`
   * or `wakeupEvents`, once that many bytes or samples wait in one ring; when the timeout comes
   * the rings are looked at once more, so records below the watermark are not left behind. An
   * aborted `signal` rejects with its reason.
   */
  async read(options?: PerfReadOptions): Promise<PerfRecord | undefined> {
    const op = "read";
    const { timeoutMs, pollMs, signal } = waitOptions(options, `${op} ${this.#from.name}`);
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted === true) throw signal.reason;
      if (!this.isOpen()) return undefined;
      const rec = this.readRecord();
      if (rec !== undefined) return rec;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      if (typeof this.#driver.mapPoll !== "function") {
        await sleep(Math.min(pollMs, left), signal);
        continue;
      }
      const wait = left === Number.POSITIVE_INFINITY ? left : Math.min(Math.ceil(left), MAX_POLL_TIMEOUT_MS);
      await this.#waitAny(op, wait, signal);
    }
  }

  /** Waits on every CPU's event until one is readable, the time is up, `signal` aborts or the reader closes. */
  async #waitAny(op: string, wait: number, signal: AbortSignalLike | undefined): Promise<void> {
    const end = new WaitEnd();
    const onAbort = (): void => end.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const d = this.#driver;
      const polls = this.#slots.map((s) => d.mapPoll!(s.eventFd, wait, end));
      await Promise.race(polls);
      end.abort();
      for (const r of await Promise.all(polls)) {
        if (r !== 0 && r !== 1 && !isNegErrno(r)) throw driverContractError(d, "mapPoll", r, "1, 0 or -errno");
        // After close() (which closes the events: EBADF) read() ends at isOpen().
        if (r < 0 && this.isOpen()) throw this.#error(op, -r, "waiting on the CPUs' perf events (mapPoll)");
      }
    } finally {
      end.abort();
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * `for await (const rec of reader)`: every record as it comes, until the reader is closed.
   * `break` leaves the reader open; `records({ signal })` stops on an AbortSignal.
   */
  [Symbol.asyncIterator](): AsyncGenerator<PerfRecord, void, undefined> {
    return this.records();
  }

  /**
   * `for await (const rec of reader.records({ signal }))`: every record as it comes, until the
   * reader is closed, or until `signal` aborts, which rejects the loop's wait with the signal's
   * reason and leaves the reader open.
   */
  records(options?: Omit<PerfReadOptions, "timeoutMs">): AsyncGenerator<PerfRecord, void, undefined> {
    const where = `records ${this.#from.name}`;
    if (options !== undefined && options !== null && typeof options === "object" && "timeoutMs" in options) {
      throw new TypeError(`${where}: options.timeoutMs has no meaning here: a loop waits for each record as long as it takes (use read({ timeoutMs }))`);
    }
    const { pollMs, signal } = waitOptions(options, where);
    return this.#records({ pollMs, ...(signal !== undefined ? { signal } : {}) });
  }

  async *#records(wait: PerfReadOptions): AsyncGenerator<PerfRecord, void, undefined> {
    for (;;) {
      const rec = await this.read(wait);
      if (rec === undefined) return;
      yield rec;
    }
  }

  /**
   * Empties the reader's slots of the array (cilium/ebpf's Pause): programs' bpf_perf_event_output
   * answers -ENOENT until resume(), and nothing wakes a wait. Records already in the rings are
   * still read. Every slot is tried; when one cannot be emptied the first failure is thrown, the
   * reader is paused all the same (resume() fills every slot), and that slot is tried again by
   * the next pause() and by close(). Pausing a reader whose slots are all empty does nothing.
   */
  pause(): void {
    const op = "pause";
    this.#live(op);
    const { filled } = this.#state;
    if (this.#state.paused && !filled.includes(true)) return;
    this.#state.paused = true;
    const failed = this.#emptySlots(op);
    this.#report(op, failed === undefined);
    if (failed !== undefined) throw failed;
  }

  /** Puts each CPU's event back in its slot (cilium/ebpf's Resume), over whatever another reader put there meanwhile. */
  resume(): void {
    const op = "resume";
    this.#live(op);
    const state = this.#state;
    if (!state.paused) return;
    for (const [i, s] of this.#slots.entries()) {
      const r = this.#setSlot(s.index, s.eventFd);
      if (r < 0) {
        // Nothing half-done: the slots filled so far are emptied again, and the reader stays paused.
        for (let j = 0; j < i; j++) {
          if (this.#clearSlot(this.#slots[j]!.index) === 0) state.filled[j] = false;
        }
        this.#report(op, false);
        throw this.#error(op, -r, `putting CPU ${s.cpu}'s event in slot ${s.index}`);
      }
      state.filled[i] = true;
    }
    state.paused = false;
    this.#report(op, true);
  }

  /**
   * Empties the slots that may still hold the reader's events (all but those pause() emptied),
   * unmaps the rings and closes the events and the reader's fd of the array, which ends a wait in
   * `read()` (it resolves undefined); later calls throw EBADF. Every step is tried even when one
   * fails (the first slot that could not be emptied is thrown, else every munmap and close that
   * failed, named); a ring that could not be unmapped stays held: close() again retries it (as the
   * collector does, for a reader dropped). An fd is not retried: close(2) released it whatever
   * it answered. Closing after everything was given back is a no-op.
   */
  close(): void {
    const op = "close";
    const state = this.#state;
    const slots = this.#slots;
    if (!this.#open && state.arrayFd < 0 && slots.every((s) => s.mapping < 0 && s.eventFd < 0)) return;
    this.#open = false;
    const failed = state.arrayFd >= 0 ? this.#emptySlots(op) : undefined;
    const d = this.#driver;
    const steps: Release[] = [];
    for (const s of slots) {
      if (s.mapping >= 0) steps.push({ call: "munmap", what: `CPU ${s.cpu}'s ring`, run: () => d.munmap!(s.mapping), freed: () => (s.mapping = -1) });
      if (s.eventFd >= 0) steps.push({ call: "close", what: `CPU ${s.cpu}'s perf event`, run: () => d.close(s.eventFd), freed: () => (s.eventFd = -1) });
    }
    // Closed even with a slot not emptied, which the kernel empties only once the array's file
    // goes (perf_event_fd_array_release; never with BPF_F_PRESERVE_ELEMS): this fd is a dup, and
    // the map's own fd holds that file.
    if (state.arrayFd >= 0) {
      steps.push({ call: "close", what: "the reader's fd of the array", run: () => d.close(state.arrayFd), freed: () => (state.arrayFd = -1) });
    }
    const error = releaseEach(d, this.#from, op, steps);
    if (state.arrayFd < 0 && slots.every((s) => s.mapping < 0 && s.eventFd < 0)) freeLost.unregister(this);
    this.#report(op, failed === undefined && error === undefined);
    if (failed !== undefined) throw failed;
    if (error !== undefined) throw error;
  }

  /** `using reader = events.reader()` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  #setSlot(index: number, eventFd: number): number {
    this.#keyView.setUint32(0, index, true);
    this.#valueView.setUint32(0, eventFd, true);
    return this.#slotCall("mapUpdateElem", this.#slotDriver.mapUpdateElem(this.#state.arrayFd, this.#key, this.#value, 0));
  }

  /**
   * Deletes every slot that may still hold the reader's event, going on past a failure (the first
   * is handed back); a slot found empty (ENOENT) counts as emptied, one that failed stays marked.
   */
  #emptySlots(op: string): BpfError | TypeError | undefined {
    const { filled } = this.#state;
    let failed: BpfError | TypeError | undefined;
    for (const [i, s] of this.#slots.entries()) {
      if (!filled[i]) continue;
      const r = this.#tryClearSlot(s.index);
      if (r === 0 || r === -Errno.ENOENT) filled[i] = false;
      else failed ??= typeof r === "number" ? this.#error(op, -r, `clearing CPU ${s.cpu}'s slot ${s.index}`) : r;
    }
    return failed;
  }

  #clearSlot(index: number): number {
    this.#keyView.setUint32(0, index, true);
    return this.#slotCall("mapDeleteElem", this.#slotDriver.mapDeleteElem(this.#state.arrayFd, this.#key));
  }

  /** #clearSlot, its driver-contract TypeError handed back rather than thrown: pause and close go on to the other slots. */
  #tryClearSlot(index: number): number | TypeError {
    try {
      return this.#clearSlot(index);
    } catch (e) {
      if (e instanceof TypeError) return e;
      throw e;
    }
  }

  #slotCall(method: string, r: number): number {
    if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, method, r, "0");
    return r;
  }

  #report(op: string, ok: boolean): void {
    this.#metrics?.mapOp?.(this.#commonName, op, ok ? "success" : "fail");
  }

  #live(op: string): void {
    if (!this.#open) throw this.#error(op, Errno.EBADF, "the reader is closed: close() was called");
  }

  #error(op: string, errno: number, why?: string): BpfError {
    return mappingError(this.#from, op, errno, why);
  }
}
