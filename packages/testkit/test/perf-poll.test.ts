// poll of a BPF output event on both drivers, through testkit's definePerfPollTests (the cases
// are in src/conformance/perf-poll-tests.ts): which outputs wake by wakeup_events and by the
// watermark, a poll taking the wake-up, waits that end at the waking output or at close().
// Every fd a case opened is closed after it.
import { readdirSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { definePerfPollTests, perfPollCases } from "../src/conformance/perf-poll-tests.js";
import { driversUnderTest } from "../src/drivers.js";

const openFds = () => readdirSync("/proc/self/fd").length;

let fdsBefore = 0;
beforeEach(() => {
  fdsBefore = openFds();
});
afterEach(async () => {
  // The kernel driver's epoll fd and eventfd go a moment after the last wait ends.
  for (let i = 0; i < 100 && openFds() !== fdsBefore; i++) await new Promise((r) => setTimeout(r, 10));
  expect(openFds(), "fds after the test: every map, event, epoll fd and eventfd closed").toBe(fdsBefore);
});

for (const under of driversUnderTest()) {
  if (under.unavailable !== undefined) {
    describe(`perf event poll on the ${under.name} driver`, () => {
      it.skip(`not run: ${under.unavailable}`, () => {});
    });
    continue;
  }
  definePerfPollTests({ describe, it }, `perf event poll on the ${under.name} driver`, () => under.create());
}

describe("definePerfPollTests", () => {
  it("skips every case, saying why, for a driver without perfEventOpen", async () => {
    const tests = new Map<string, (...a: unknown[]) => unknown>();
    definePerfPollTests({ describe: (_n, fn) => fn(), it: (n, fn) => { tests.set(n, fn); } }, "t",
      () => wrapDriver(createSimDriver(), { kind: "old", perfEventOpen: null }));
    expect([...tests.keys()]).toEqual(perfPollCases.map((c) => c.name));
    for (const fn of tests.values()) {
      const skipped: string[] = [];
      await fn({ skip: (why: string) => skipped.push(why) });
      expect(skipped).toEqual(["old has no perfEventOpen (optional Driver methods)"]);
    }
  });

  it("fails a case, naming the call, for a driver whose poll never finds the event readable", async () => {
    const deaf = createSimDriver();
    deaf.mapPoll = (_fd, t) => (t === 0 ? Promise.resolve(0) : new Promise<number>(() => {}));
    const tests = new Map<string, (...a: unknown[]) => Promise<void>>();
    definePerfPollTests({ describe: (_n, fn) => fn(), it: (n, fn) => { tests.set(n, fn as never); } }, "t", () => deaf);
    await expect(tests.get(perfPollCases[0]!.name)!({})).rejects.toThrow("wakeup_events 1");
  });
});
