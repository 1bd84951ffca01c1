// Driver.mapPoll over epoll(7). Every wait of a thread (the main one, or a worker_threads
// thread, which has its own module instance) shares one epoll instance, watched by a single
// epoll_wait on a thread of libuv's pool (koffi's async call): waits block neither the event
// loop nor more than one thread of the pool (4 by default, for the whole process, shared with fs
// and dns), however many there are. The epoll fd and an eventfd, which ends the pool thread's
// epoll_wait when the last wait goes, exist only while some wait does: an idle process holds no
// fd and no thread for them.
// Node joins libuv's threads when a process exits (and a worker's teardown waits for its thread
// pool calls to return), so an epoll_wait still blocked would hang process.exit() for ever: the
// process's "exit" event wakes it through the eventfd, and a worker_threads thread, which a
// terminate() ends with no event, waits in slices of WORKER_SLICE_MS.
import { isMainThread } from "node:worker_threads";
import { assertPollArgs, Errno, type AbortSignalLike } from "@bpfkit/core";
import type { Libc } from "./native.js";

const OP = "mapPoll";
const EPOLL_CLOEXEC = 0o2000000, EFD_CLOEXEC = 0o2000000, EFD_NONBLOCK = 0o4000;
const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
const EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8;
const POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLNVAL = 0x20;
/**
 * What a wait asks for: readable or writable. A RINGBUF's poll answers only EPOLLIN (records to
 * read) and a USER_RINGBUF's only EPOLLOUT (room to write), so one wait serves both rings.
 */
const READY = POLLIN | POLLOUT;
/** Events one epoll_wait hands back; more ready fds come in the next round. */
const MAX_EVENTS = 32;
/** Failed epoll_waits in a row before the waits are ended (EINTR is the only expected failure). */
const MAX_FAILURES = 3;
/** A worker thread's epoll_wait timeout: how long worker.terminate() may wait for it to return. */
const WORKER_SLICE_MS = 200;
/**
 * struct epoll_event: `u32 events` then `u64 data`, packed on x86-64 (12 bytes) and naturally
 * aligned elsewhere (16, data at 8).
 */
const EVENT_SIZE = process.arch === "x64" ? 12 : 16;
const DATA_AT = process.arch === "x64" ? 4 : 8;

/** One mapPoll call waiting. */
interface Waiter {
  readonly fd: number;
  /** Resolves the call's promise and drops its timer and abort listener; later calls do nothing. */
  settle(result: number): void;
}

/** An fd in the epoll set: its waits, and the tag its events carry (so a stale event of a reused fd number is told apart). */
interface Watched {
  readonly tag: number;
  readonly waiters: Set<Waiter>;
}

/** A JS thread's waits: one per module instance (the main thread's, or a worker_threads thread's). */
export class EpollWaits {
  #epfd = -1;
  #evfd = -1;
  /** An epoll_wait is running on a pool thread: #events is its, and the instance must stay open. */
  #watching = false;
  #failures = 0;
  #nextTag = 1;
  readonly #watched = new Map<number, Watched>();
  /** The pool thread's epoll_wait writes here: an ArrayBuffer's own memory, which V8 never moves. */
  readonly #events = new Uint8Array(new ArrayBuffer(MAX_EVENTS * EVENT_SIZE));
  readonly #eventsView = new DataView(this.#events.buffer);
  readonly #event = new Uint8Array(EVENT_SIZE);
  readonly #eventView = new DataView(this.#event.buffer);
  readonly #pollfd = new Uint8Array(8);
  readonly #pollfdView = new DataView(this.#pollfd.buffer);
  /** What a read of the eventfd resets it into. */
  readonly #word = new Uint8Array(8);
  /** What a kick writes to the eventfd: a u64 count of 1. */
  readonly #one = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0);
  #exitHooked = false;

  constructor(private readonly libc: Libc) {}

  /** Driver.mapPoll: see its contract in @bpfkit/core's driver.ts. */
  wait(fd: number, timeoutMs: number, signal?: AbortSignalLike): Promise<number> {
    assertPollArgs(fd, timeoutMs, signal, OP);
    // An aborted signal answers first, whatever the fd, as the simulator does.
    if (signal?.aborted === true) return Promise.resolve(0);
    if (fd < 0) return Promise.resolve(-Errno.EBADF);
    const now = this.#pollNow(fd);
    if (now !== 0 || timeoutMs === 0) return Promise.resolve(now);
    const watched = this.#watch(fd);
    if (typeof watched === "number") return Promise.resolve(watched);
    return new Promise<number>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let done = false;
      const onAbort = (): void => this.#drop(w, 0);
      const w: Waiter = {
        fd,
        settle: (result) => {
          if (done) return;
          done = true;
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        },
      };
      watched.waiters.add(w);
      if (timeoutMs !== Number.POSITIVE_INFINITY) timer = setTimeout(() => this.#drop(w, 0), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#run();
    });
  }

  /** Before the driver closes `fd`: its waits end with -EBADF, and it leaves the epoll set. */
  forget(fd: number): void {
    const watched = this.#watched.get(fd);
    if (watched === undefined) return;
    this.#unwatch(fd);
    for (const w of watched.waiters) w.settle(-Errno.EBADF);
    this.#stopIfIdle();
  }

  /** poll(2) with no timeout: 1 ready (readable, or a USER_RINGBUF writable), 0 not, -EBADF for an fd not open, -EINVAL for EPOLLERR (a map type with no poll). */
  #pollNow(fd: number): number {
    const p = this.#pollfd;
    const dv = this.#pollfdView;
    dv.setInt32(0, fd, true);
    dv.setInt16(4, READY, true);
    dv.setInt16(6, 0, true);
    const r = this.libc.poll(p, 1, 0);
    if (r < 0) return -this.libc.koffi.errno();
    const revents = dv.getInt16(6, true);
    if ((revents & POLLNVAL) !== 0) return -Errno.EBADF;
    if ((revents & POLLERR) !== 0) return -Errno.EINVAL;
    return (revents & READY) !== 0 ? 1 : 0;
  }

  /** Puts `fd` in the epoll set (opening the instance first): its entry, or -errno. */
  #watch(fd: number): Watched | number {
    const known = this.#watched.get(fd);
    if (known !== undefined) return known;
    const opened = this.#open();
    if (opened < 0) return opened;
    const tag = this.#nextTag;
    this.#nextTag = (tag % 0xffff_ffff) + 1;
    const r = this.#ctl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLOUT, tag);
    if (r < 0) {
      this.#stopIfIdle();
      return r;
    }
    const watched: Watched = { tag, waiters: new Set() };
    this.#watched.set(fd, watched);
    return watched;
  }

  /** Takes `fd` out of the epoll set (EBADF, for an fd closed behind the driver's back, changes nothing). */
  #unwatch(fd: number): void {
    this.#watched.delete(fd);
    this.libc.epollCtl(this.#epfd, EPOLL_CTL_DEL, fd, null);
  }

  /** A wait that timed out or was aborted: it leaves, and so does its fd when it was the last. */
  #drop(w: Waiter, result: number): void {
    const watched = this.#watched.get(w.fd);
    if (watched !== undefined && watched.waiters.delete(w) && watched.waiters.size === 0) this.#unwatch(w.fd);
    w.settle(result);
    this.#stopIfIdle();
  }

  /** Opens the epoll instance and its eventfd: 0, or -errno. */
  #open(): number {
    if (this.#epfd >= 0) return 0;
    const { libc } = this;
    const ep = libc.epollCreate1(EPOLL_CLOEXEC);
    if (ep < 0) return -libc.koffi.errno();
    const ev = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ev < 0) {
      const e = libc.koffi.errno();
      libc.close(ep);
      return -e;
    }
    this.#epfd = ep;
    this.#evfd = ev;
    // Tag 0 is the eventfd's: a map fd's tag is never 0.
    const r = this.#ctl(EPOLL_CTL_ADD, ev, EPOLLIN, 0);
    if (r < 0) this.#close();
    return r;
  }

  #ctl(op: number, fd: number, events: number, tag: number): number {
    const dv = this.#eventView;
    dv.setUint32(0, events, true);
    dv.setUint32(DATA_AT, fd, true);
    dv.setUint32(DATA_AT + 4, tag, true);
    const r = this.libc.epollCtl(this.#epfd, op, fd, this.#event);
    return r < 0 ? -this.libc.koffi.errno() : 0;
  }

  /** Starts the pool thread's epoll_wait unless one is running. */
  #run(): void {
    if (this.#watching || this.#epfd < 0) return;
    this.#watching = true;
    if (!this.#exitHooked) {
      this.#exitHooked = true;
      // Once per thread, for good: the listener holds nothing but this object.
      process.on("exit", () => {
        if (this.#watching) this.#kick();
      });
    }
    const timeout = isMainThread ? -1 : WORKER_SLICE_MS;
    this.libc.epollWait.async(this.#epfd, this.#events, MAX_EVENTS, timeout, (err, n) => this.#woke(err, n));
  }

  /** The pool thread's epoll_wait returned: end the waits of every fd it found ready, then wait again or close. */
  #woke(err: unknown, n: number): void {
    this.#watching = false;
    if (err !== null && err !== undefined) n = -1;
    if (n < 0) {
      // EINTR; anything else (the instance is ours, the buffer too) would repeat: end the waits.
      if (++this.#failures >= MAX_FAILURES) {
        this.#failures = 0;
        for (const fd of [...this.#watched.keys()]) {
          const watched = this.#watched.get(fd)!;
          this.#unwatch(fd);
          for (const w of watched.waiters) w.settle(-Errno.EIO);
        }
      }
    } else {
      this.#failures = 0;
    }
    const dv = this.#eventsView;
    for (let i = 0; i < n; i++) {
      const at = i * EVENT_SIZE;
      const events = dv.getUint32(at, true);
      const fd = dv.getUint32(at + DATA_AT, true);
      const tag = dv.getUint32(at + DATA_AT + 4, true);
      if (tag === 0) {
        // The eventfd: a wake-up to look again (a wait left); reset its count.
        this.libc.read(this.#evfd, this.#word, 8);
        continue;
      }
      const watched = this.#watched.get(fd);
      // Dropped meanwhile, or the fd number reused by another file since this event was taken.
      if (watched === undefined || watched.tag !== tag) continue;
      this.#unwatch(fd);
      const result = (events & EPOLLERR) !== 0 ? -Errno.EINVAL : 1;
      for (const w of watched.waiters) w.settle(result);
    }
    if (this.#watched.size > 0) this.#run();
    else this.#close();
  }

  /** No wait left: end the pool thread's epoll_wait (the eventfd), which then closes the instance. */
  #stopIfIdle(): void {
    if (this.#watched.size > 0 || this.#epfd < 0) return;
    if (!this.#watching) {
      this.#close();
      return;
    }
    this.#kick();
  }

  /** Makes the pool thread's epoll_wait return (its eventfd becomes readable). */
  #kick(): void {
    this.libc.write(this.#evfd, this.#one, 8);
  }

  #close(): void {
    if (this.#epfd < 0) return;
    this.libc.close(this.#epfd);
    this.libc.close(this.#evfd);
    this.#epfd = this.#evfd = -1;
  }
}

let waits: EpollWaits | undefined;

/** This JS thread's EpollWaits, made on first use. */
export function epollWaits(libc: Libc): EpollWaits {
  return (waits ??= new EpollWaits(libc));
}

/** This JS thread's EpollWaits if any wait was ever made (close() has nothing to tell otherwise). */
export function epollWaitsIfAny(): EpollWaits | undefined {
  return waits;
}
