// Driver.mapPoll on both drivers, through testkit's defineMapPollTests (the cases are in
// src/conformance/map-poll-tests.ts, for any driver that has mapPoll). Here also: every fd a case
// opened is closed after it, the kernel driver's epoll fd and eventfd included, and a driver
// without mapPoll is skipped with the reason.
import { readdirSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { defineMapPollTests, mapPollCases } from "../src/conformance/map-poll-tests.js";
import { driversUnderTest } from "../src/drivers.js";

const openFds = () => readdirSync("/proc/self/fd").length;

let fdsBefore = 0;
beforeEach(() => {
  fdsBefore = openFds();
});
afterEach(async () => {
  // The kernel driver's epoll fd and eventfd live only while a wait does: once every wait has
  // ended its pool thread returns and closes them (a moment after the last promise settles).
  for (let i = 0; i < 100 && openFds() !== fdsBefore; i++) await new Promise((r) => setTimeout(r, 10));
  expect(openFds(), "fds after the test: every ring, dup, epoll fd and eventfd closed").toBe(fdsBefore);
});

for (const under of driversUnderTest()) {
  if (under.unavailable !== undefined) {
    describe(`Driver.mapPoll on the ${under.name} driver`, () => {
      it.skip(`not run: ${under.unavailable}`, () => {});
    });
    continue;
  }
  defineMapPollTests({ describe, it }, `Driver.mapPoll on the ${under.name} driver`, () => under.create());
}

describe("defineMapPollTests", () => {
  it("skips every case, saying why, for a driver without mapPoll", async () => {
    const tests = new Map<string, (...a: unknown[]) => unknown>();
    defineMapPollTests({ describe: (_n, fn) => fn(), it: (n, fn) => { tests.set(n, fn); } }, "t",
      () => wrapDriver(createSimDriver(), { kind: "old", mapPoll: null }));
    expect([...tests.keys()]).toEqual(mapPollCases.map((c) => c.name));
    const skipped: string[] = [];
    for (const fn of tests.values()) await fn({ skip: (why: string) => skipped.push(why) });
    expect(new Set(skipped)).toEqual(new Set(["old has no mapPoll (an optional Driver method)"]));
    expect(skipped).toHaveLength(mapPollCases.length);
  });

  it("fails a case, naming the call, for a driver whose wait never ends", async () => {
    // The simulator itself (its datapath is the producer), with a mapPoll that only looks.
    const deaf = createSimDriver();
    const look = deaf.mapPoll.bind(deaf);
    deaf.mapPoll = (fd, t) => (t === 0 ? look(fd, 0) : new Promise<number>(() => {}));
    const tests = new Map<string, (...a: unknown[]) => Promise<void>>();
    defineMapPollTests({ describe: (_n, fn) => fn(), it: (n, fn) => { tests.set(n, fn as never); } }, "t", () => deaf);
    await expect(tests.get(mapPollCases[2]!.name)!({})).rejects.toThrow("the wait, after an output: expected 1, got no answer within 2000 ms");
  });
});
