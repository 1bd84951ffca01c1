// The error resolver's scheduling rules (pkg-bpf-behaviour.md §7.11), timer by timer: the other
// cache tests look at what the resolver wrote, which an extra or a leaked timer does not change
// until much later (a second interval that runs after close, a start timer nobody can cancel).
// The times are the seed's (200 ms, 5 s), written out: the exported constants must be those.
// Also deleteAll's schedule for entries the kernel no longer held, a start pending at close(), what a run leaves in getModel() and metrics, and the seed's
// maxSyncErrors (512), written out too.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, u32 } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";
import { ManualClock } from "./support/manual-clock.js";

eachDriver("error resolver scheduling", (get) => {
  /** A one-entry map with a cache, already full (1 → 10): every new key is an E2BIG for the resolver. */
  function full() {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...testMapSpec(), maxEntries: 1 }).withCache({ clock });
    m.openOrCreate();
    m.update(1, 10);
    return { env, clock, m };
  }

  it("one start per more than 5 s, one interval at a time, and nothing left after close()", () => {
    const { clock, m } = full();
    let k = 100;
    // The map is full: every new key is an E2BIG that asks for the resolver.
    const fail = () => expect(() => m.update(k++, 0)).toThrow(expect.objectContaining({ code: "E2BIG" }));

    fail(); // t = 0: scheduled, the first run 200 ms later
    expect(clock.timers.size).toBe(1);
    clock.advance(200); // the first run; the 5 s interval is armed
    expect(clock.timers.size).toBe(1);
    clock.advance(800);
    fail(); // t = 1 s: within 5 s of the last schedule, nothing new
    expect(clock.timers.size).toBe(1);
    clock.advance(4000);
    fail(); // t = 5 s exactly: still not more than 5 s
    expect(clock.timers.size).toBe(1);
    clock.advance(1000);
    fail(); // t = 6 s: a new start 200 ms later, next to the running interval
    expect(clock.timers.size).toBe(2);
    clock.advance(200); // the controller is updated: its interval replaced, not doubled
    expect(clock.timers.size).toBe(1);

    clock.advance(5000);
    fail(); // more than 5 s after the schedule at 6 s: a start is pending...
    expect(clock.timers.size).toBe(2);
    // ...and the process is busy for over 5 s, so it has not fired when the next error comes:
    // that error finds a run already due and adds no second start timer.
    clock.time += 5100;
    fail();
    expect(clock.timers.size).toBe(2);
    clock.advance(0);
    expect(clock.timers.size).toBe(1);
    m.close();
    expect(clock.timers.size).toBe(0);
  });

  it("an entry the resolver writes is sync with no error left in the model", () => {
    const { clock, m } = full();
    expect(() => m.update(2, 20)).toThrow(expect.objectContaining({ code: "E2BIG" }));
    m.delete(1);
    clock.advance(200);
    expect(m.lookup(2)).toBe(20);
    expect(m.getModel().cache).toEqual([{ key: "2", value: "20", desiredAction: "sync" }]);
  });

  it("a run due when the map is closed is not lost: reopening runs the resolver 200 ms later, counted in metrics", () => {
    const { env, clock, m } = full();
    expect(() => m.update(2, 20)).toThrow(expect.objectContaining({ code: "E2BIG" }));
    m.delete(1);
    clock.advance(100); // the run is due in 100 ms
    m.close();
    expect(clock.timers.size).toBe(0);
    m.openOrCreate(); // 100 ms after the last schedule: a reopened map schedules anew
    expect(clock.timers.size).toBe(1);
    clock.advance(200);
    expect(m.lookup(2)).toBe(20);
    expect(m.outstandingErrors).toBe(0);
    expect(env.ops.filter((o) => o.includes(" update "))).toEqual(["test update success", "test update fail", "test update success"]);
  });

  it("a retry that fails keeps the retry's error, not the first one", () => {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...testMapSpec(), maxEntries: 1 }).withCache({ clock });
    // Not created yet: the first failure is opening the map.
    expect(() => m.update(2, 20)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    m.openOrCreate();
    m.update(1, 10);
    clock.advance(200); // the retry finds the map full
    expect(m.getModel().cache!.find((e) => e.key === "2")).toEqual(
      { key: "2", value: "20", desiredAction: "to-be-inserted", lastError: "update cilium_test: argument list too long (the map is full: max_entries 1)" });
  });

  it("a run stops scanning after 513 errors (the seed's maxSyncErrors, 512)", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 1 }).withCache({ clock: new ManualClock() });
    m.openOrCreate();
    m.update(0, 0);
    for (let k = 1; k <= 520; k++) expect(() => m.update(k, k)).toThrow();
    expect(m.resolveErrorsNow()).toMatchObject({ errors: 513, scanned: 514, remaining: 520 });
  });

  it("deleteAll schedules the resolver for cached entries the kernel no longer held, which it then clears", () => {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...testMapSpec(), maxEntries: 4 }).withCache({ clock });
    m.openOrCreate();
    m.update(1, 10);
    m.update(2, 20);
    // Someone else (the datapath, another process) deletes 1: the cache still has it in sync.
    const kb = new Uint8Array(4);
    u32.encode(1, kb);
    expect(env.driver.mapDeleteElem(m.getFd(), kb)).toBe(0);
    expect(clock.timers.size).toBe(0);
    m.deleteAll();
    expect(m.getModel().cache).toEqual([{ key: "1", value: "10", desiredAction: "to-be-deleted", lastError: "deletion pending" }]);
    expect(clock.timers.size).toBe(1);
    clock.advance(200);
    expect(m.getModel().cache).toEqual([]);
    expect(m.outstandingErrors).toBe(0);
  });

  it("a deleteAll that leaves nothing outstanding schedules no resolver", () => {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...testMapSpec(), maxEntries: 4 }).withCache({ clock });
    m.openOrCreate();
    m.update(1, 10);
    m.update(2, 20);
    m.deleteAll();
    expect(m.getModel().cache).toEqual([]);
    expect(m.outstandingErrors).toBe(0);
    expect(clock.timers.size).toBe(0);
  });

  it("deleteAll's failure on a key the cache did not hold is recorded under that key", () => {
    const env = get();
    const clock = new ManualClock();
    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 4 }).withCache({ clock });
    a.openOrCreate();
    // An array refuses deletes (EINVAL): slot 0, never written through this map, fails first.
    expect(() => a.deleteAll()).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(a.getModel().cache).toEqual([{ key: "0", desiredAction: "to-be-deleted", lastError: "deleteAll (delete) arr: invalid argument" }]);
    expect(a.outstandingErrors).toBe(1);
  });
});
