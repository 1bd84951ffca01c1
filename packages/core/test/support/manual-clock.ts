// A ResolverClock that only moves when told: the error resolver's 200 ms delay and 5 s interval
// run in a test without waiting.
import type { ResolverClock } from "@bpfkit/core";

interface Timer {
  id: number;
  at: number;
  every: number | undefined;
  fn: () => void;
}

export class ManualClock implements ResolverClock {
  time = 0;
  #next = 1;
  readonly timers = new Map<number, Timer>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { id, at: this.time + ms, every: undefined, fn });
    return id;
  }

  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }

  setInterval(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { id, at: this.time + ms, every: ms, fn });
    return id;
  }

  clearInterval(h: unknown): void {
    this.timers.delete(h as number);
  }

  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: Timer | undefined;
      for (const t of this.timers.values()) if (t.at <= end && (due === undefined || t.at < due.at)) due = t;
      if (due === undefined) break;
      this.time = due.at;
      if (due.every === undefined) this.timers.delete(due.id);
      else due.at += due.every;
      due.fn();
    }
    this.time = end;
  }
}
