// followUntilStopped, the loop of `map consume --follow` and `map event-pipe`: it stops at --count
// or at any stop signal (exit 0), closes the reader whichever way it ends, passes a reader's own
// error on, and leaves no signal listener behind. The signals are emitted on the process object
// (no signal is sent): only the loop's own listeners hear them.
import { describe, expect, it } from "vitest";
import { followUntilStopped, STOP_SIGNALS } from "../src/signals.js";

/** Records 0, 1, 2, … one a tick until `stopAfter`; then waits for the abort (a quiet ring). */
function ring(stopAfter = Infinity) {
  let closed = 0;
  const records = async function* (signal: AbortSignal): AsyncGenerator<number> {
    for (let i = 0; i < stopAfter; i++) {
      await new Promise((r) => setTimeout(r, 1));
      yield i;
    }
    // A reader's records() ends an abort by throwing; 2 s without one fails the test.
    await new Promise<void>((_, reject) => {
      const timer = setTimeout(() => reject(new Error("no stop signal reached the loop")), 2000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("aborted", "AbortError"));
      });
    });
  };
  return { records, reader: { close: () => void closed++ }, closed: () => closed };
}

const listeners = () => STOP_SIGNALS.map((s) => process.listenerCount(s));

describe("followUntilStopped", () => {
  it("prints --count records and no more, then closes the reader", async () => {
    const r = ring();
    const printed: number[] = [];
    expect(await followUntilStopped(r.records, (x) => printed.push(x), 3, r.reader)).toBe(0);
    expect(printed).toEqual([0, 1, 2]);
    expect(r.closed()).toBe(1);
  });

  // As docs/cli.md says: Ctrl-C, a service manager's stop, a closed terminal.
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`${s} stops it with exit 0, the reader closed and no listener left`, async () => {
      const before = listeners();
      const r = ring(2);
      const printed: number[] = [];
      const done = followUntilStopped(r.records, (x) => printed.push(x), undefined, r.reader);
      await new Promise((res) => setTimeout(res, 30));
      expect(process.listenerCount(s)).toBeGreaterThan(0);
      process.emit(s);
      expect(await done).toBe(0);
      expect(printed).toEqual([0, 1]);
      expect(r.closed()).toBe(1);
      expect(listeners()).toEqual(before);
    });
  }

  it("a reader's error that is no stop is thrown, and the reader is closed and the listeners gone all the same", async () => {
    const before = listeners();
    let closed = 0;
    const failing = async function* (): AsyncGenerator<number> {
      yield 1;
      throw new Error("EBADF from the ring");
    };
    await expect(followUntilStopped(failing, () => {}, undefined, { close: () => void closed++ })).rejects.toThrow("EBADF from the ring");
    expect(closed).toBe(1);
    expect(listeners()).toEqual(before);
  });
});
