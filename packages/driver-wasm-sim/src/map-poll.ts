// The waits of Driver.mapPoll on ring buffers: the ring's wait queue (rb->waitq in
// kernel/bpf/ringbuf.c). A wait is on the ring, whichever of its fds it came through; the
// driver wakes the ring when a commit would queue the kernel's irq work, and ends the waits of
// one fd when that fd is closed. Each wait owns at most a timer and an abort listener, and
// removes both however it ends.
import type { AbortSignalLike } from "@bpfkit/core";

interface PollWait {
  /** The fd the wait came through: close() of it ends the wait. */
  readonly fd: number;
  /** Settles the wait with `n` and removes its timer, listener and queue entries. */
  end(n: number): void;
}

/** Pending waits by ring and by fd. `R` is the driver's ring object. */
export class MapPollWaits<R extends object> {
  private readonly byRing = new Map<R, Set<PollWait>>();
  private readonly byFd = new Map<number, Set<PollWait>>();

  /**
   * A wait through `fd` on `ring`, which the caller found not readable: it ends with 1 at a
   * wake-up that finds the ring readable, 0 when `timeoutMs` passes (Infinity: never) or
   * `signal` aborts, -EBADF when `fd` is closed. The caller answers a signal already aborted
   * and a timeout of 0 itself.
   */
  wait(ring: R, fd: number, timeoutMs: number, signal: AbortSignalLike | undefined): Promise<number> {
    return new Promise<number>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => w.end(0);
      const w: PollWait = {
        fd,
        end: (n) => {
          // A wait ends once: the first of wake-up, timer, abort or close.
          if (!remove(this.byRing, ring, w)) return;
          remove(this.byFd, fd, w);
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(n);
        },
      };
      add(this.byRing, ring, w);
      add(this.byFd, fd, w);
      // setTimeout is looked up at each call, so vitest's fake timers drive it.
      if (timeoutMs !== Number.POSITIVE_INFINITY) timer = setTimeout(() => w.end(0), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * The ring's wait queue is woken: epoll polls the ring again, so every wait on it ends with 1
   * when `readable()` (the ring's state now, asked only when someone waits), and goes on
   * waiting when not.
   */
  wake(ring: R, readable: () => boolean): void {
    const set = this.byRing.get(ring);
    if (set === undefined || !readable()) return;
    for (const w of [...set]) w.end(1);
  }

  /** close(fd): the waits made through `fd` end with `answer` (-EBADF); a dup's go on. */
  closeFd(fd: number, answer: number): void {
    const set = this.byFd.get(fd);
    if (set === undefined) return;
    for (const w of [...set]) w.end(answer);
  }
}

function add<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let set = m.get(k);
  if (set === undefined) m.set(k, (set = new Set()));
  set.add(v);
}

/** Deletes `v` from `k`'s set (and the set once empty): false when it was not there. */
function remove<K, V>(m: Map<K, Set<V>>, k: K, v: V): boolean {
  const set = m.get(k);
  if (set === undefined || !set.delete(v)) return false;
  if (set.size === 0) m.delete(k);
  return true;
}
