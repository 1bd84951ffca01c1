// withCache(): the cache effects of update/delete/deleteAll and the error resolver
// (pkg-bpf-behaviour.md §7.6–7.11, API.md §4.1–4.2), driven by a manual clock so the 200 ms
// delay and 5 s interval run without waiting. Failures are real kernel (or simulator) errors:
// a full map's E2BIG, a missing key's ENOENT, an array's EINVAL.
import { expect, it } from "vitest";
import {
  BatchCursor, BPF_EXIST, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_NOEXIST, DesiredAction, desiredActionString, ERROR_RESOLVER_DELAY_MS, ERROR_RESOLVER_INTERVAL_MS,
  createBpf, Errno, MAX_SYNC_ERRORS, silentLogger, systemClock, u32, wrapDriver,
} from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrown } from "./support/thrown.js";
import { ManualClock } from "./support/manual-clock.js";

it("DesiredAction strings are the code's, not the API schema's", () => {
  expect([0, 1, 2, 3].map(desiredActionString)).toEqual(["sync", "to-be-inserted", "to-be-deleted", "unknown"]);
  expect(DesiredAction).toEqual({ OK: 0, Insert: 1, Delete: 2 });
});

it("the real clock's timers are unref'd, so a pending resolver never holds the process open", () => {
  const t = systemClock.setTimeout(() => {}, 60_000) as ReturnType<typeof setTimeout>;
  const i = systemClock.setInterval(() => {}, 60_000) as ReturnType<typeof setInterval>;
  try {
    expect(t.hasRef()).toBe(false);
    expect(i.hasRef()).toBe(false);
  } finally {
    systemClock.clearTimeout(t);
    systemClock.clearInterval(i);
  }
});

eachDriver("map cache and error resolver", (get) => {
  function setup(maxEntries = 2) {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...testMapSpec(), maxEntries }).withCache({ clock });
    m.openOrCreate();
    return { env, clock, m };
  }

  it("a failed update is kept to-be-inserted and written by the resolver 200 ms later", () => {
    const { clock, m } = setup(2);
    m.update(1, 10);
    m.update(2, 20);
    expect(() => m.update(3, 30)).toThrow(expect.objectContaining({ code: "E2BIG" }));
    expect(m.outstandingErrors).toBe(1);
    const row = m.getModel().cache!.find((e) => e.key === "3");
    expect(row).toEqual({ key: "3", value: "30", desiredAction: "to-be-inserted", lastError: "update cilium_test: argument list too long (the map is full: max_entries 2)" });
    // Make room; the resolver has not run yet.
    m.delete(1);
    clock.advance(ERROR_RESOLVER_DELAY_MS - 1);
    expect(m.lookup(3)).toBeUndefined();
    clock.advance(1);
    expect(m.lookup(3)).toBe(30);
    expect(m.outstandingErrors).toBe(0);
    expect(m.getModel().cache!.map((e) => `${e.key}:${e.desiredAction}`).sort()).toEqual(["2:sync", "3:sync"]);
  });

  it("an update's EINVAL without BPF_F_LOCK is kept for the resolver as any failed write (only the lock's EINVAL is final)", () => {
    const env = get();
    const clock = new ManualClock();
    const calls = env.map({ name: "cilium_calls_cache", type: BPF_MAP_TYPE_PROG_ARRAY, key: u32, value: u32, maxEntries: 2 }).withCache({ clock });
    calls.openOrCreate();
    // A map's fd where a program's belongs: the kernel's EINVAL.
    const notProg = env.map({ ...testMapSpec("cilium_not_prog") });
    notProg.openOrCreate();
    expect(thrown(() => calls.update(0, notProg.getFd()))).toMatchObject({ code: "EINVAL" });
    expect(calls.outstandingErrors).toBe(1);
    expect(calls.getModel().cache!.map((e) => `${e.key}:${e.desiredAction}`)).toEqual(["0:to-be-inserted"]);
  });

  it("a refused conditional update leaves the cache alone: the resolver never writes what NOEXIST or EXIST ruled out", () => {
    const { clock, m } = setup(4);
    m.update(1, 10);
    expect(() => m.update(1, 11, BPF_NOEXIST)).toThrow(expect.objectContaining({ code: "EEXIST", op: "update", map: "cilium_test" }));
    expect(() => m.update(2, 20, BPF_EXIST)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(m.outstandingErrors).toBe(0);
    expect(m.getModel().cache).toEqual([{ key: "1", value: "10", desiredAction: "sync" }]);
    clock.advance(ERROR_RESOLVER_INTERVAL_MS * 3);
    expect(m.lookup(1)).toBe(10);
    expect(m.lookup(2)).toBeUndefined();
    // A conditional update that succeeds is recorded like any other.
    m.update(2, 21, BPF_NOEXIST);
    m.update(2, 22, BPF_EXIST);
    expect(m.getModel().cache!.find((e) => e.key === "2")).toEqual({ key: "2", value: "22", desiredAction: "sync" });
  });

  it("a batch write refused for its elemFlags leaves the cache alone: the resolver never writes what the kernel refused", () => {
    const { clock, m } = setup(4);
    m.update(1, 10);
    for (const flags of [BPF_NOEXIST, BPF_EXIST]) {
      expect(() => m.updateBatch([2, 3], [20, 30], flags)).toThrow(expect.objectContaining({ code: "EINVAL", op: "updateBatch", map: "cilium_test" }));
    }
    expect(m.outstandingErrors).toBe(0);
    expect(m.getModel().cache).toEqual([{ key: "1", value: "10", desiredAction: "sync" }]);
    clock.advance(ERROR_RESOLVER_INTERVAL_MS * 3);
    expect([m.lookup(2), m.lookup(3)]).toEqual([undefined, undefined]);
  });

  it("delete failure marks to-be-deleted and schedules (API.md §4.1); the resolver does not re-insert it (§4.2)", () => {
    const { env, clock, m } = setup(4);
    m.update(1, 10);
    // ENOENT: the entry is kept as to-be-deleted (Cilium dropped it, its deferred-nil bug).
    expect(() => m.delete(5)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(m.getModel().cache).toContainEqual({ key: "5", desiredAction: "to-be-deleted", lastError: "delete cilium_test: no such file or directory (the key is not in the map)" });
    expect(m.outstandingErrors).toBe(1);
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    // Already gone counts as done: the entry is removed, not re-inserted still marked delete.
    expect(m.getModel().cache!.map((e) => e.key)).toEqual(["1"]);
    expect(m.outstandingErrors).toBe(0);
    // A successful delete just drops the entry.
    m.delete(1);
    expect(m.getModel().cache).toEqual([]);
    // The user's delete, the resolver's (ENOENT, a failed syscall even though it resolves), the last one.
    expect(env.ops.filter((o) => o.includes(" delete "))).toEqual(["test delete fail", "test delete fail", "test delete success"]);
  });

  it("an entry the kernel refuses to delete stays to-be-deleted with its error; the count stays exact", () => {
    const env = get();
    const clock = new ManualClock();
    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 4 }).withCache({ clock });
    a.openOrCreate();
    a.update(1, 1);
    expect(() => a.delete(1)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(a.outstandingErrors).toBe(1);
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(a.outstandingErrors).toBe(1);
    clock.advance(ERROR_RESOLVER_INTERVAL_MS * 3);
    expect(a.outstandingErrors).toBe(1);
    expect(a.getModel().cache).toEqual([{ key: "1", value: "1", desiredAction: "to-be-deleted", lastError: "delete arr: invalid argument (an array's elements cannot be deleted)" }]);
    // Writing the key again makes it sync: the count goes back to 0, not negative or stale.
    a.update(1, 2);
    expect(a.outstandingErrors).toBe(0);
    expect(a.resolveErrorsNow()).toMatchObject({ scanned: 0, error: undefined });
  });

  it("scheduling: at most one start per 5 s; the resolver then runs every 5 s until close()", () => {
    const { clock, m } = setup(1);
    m.update(1, 1);
    expect(() => m.update(2, 2)).toThrow();
    expect(() => m.update(3, 3)).toThrow();
    expect(clock.timers.size).toBe(1);
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.outstandingErrors).toBe(2); // still full
    expect(clock.timers.size).toBe(1); // the 5 s interval
    m.delete(1);
    clock.advance(ERROR_RESOLVER_INTERVAL_MS);
    // One of 2 and 3 got the free slot; the other is still waiting.
    expect(m.outstandingErrors).toBe(1);
    m.close();
    expect(clock.timers.size).toBe(0);
    // Cache entries survive close, as in the seed.
    expect(m.getModel().cache!.length).toBe(2);
  });

  it("a write that failed while the map was closed is retried once the map is opened again", () => {
    // §7.6: every failed write schedules the resolver; a closed map runs none, so reopening does.
    const { clock, m } = setup(2);
    m.close();
    m.unpin();
    expect(() => m.update(1, 10)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(clock.timers.size).toBe(0);
    m.openOrCreate();
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.lookup(1)).toBe(10);
    expect(m.outstandingErrors).toBe(0);
  });

  it("a write that failed while the map was closed is retried once open() (not only openOrCreate) finds the pin again", () => {
    const { env, clock, m } = setup(2);
    m.close();
    m.unpin();
    expect(() => m.update(1, 10)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    env.map(testMapSpec()).openOrCreate(); // another user pins the map again
    m.open();
    expect(clock.timers.size).toBe(1);
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.lookup(1)).toBe(10);
    expect(m.outstandingErrors).toBe(0);
  });

  it("the model shows keys and values in hex when their codecs have no format", () => {
    const env = get();
    const plain = { size: 4, encode: u32.encode, decode: u32.decode };
    const m = env.map({ ...testMapSpec(), key: plain, value: plain }).withCache({ clock: new ManualClock() });
    m.openOrCreate();
    m.update(1, 0x0a0b0c0d);
    expect(m.getModel().cache).toEqual([{ key: "01000000", value: "0d0c0b0a", desiredAction: "sync" }]);
  });

  it("an error more than 5 s after the last schedule runs the resolver 200 ms later, even while it is armed", () => {
    // §7.11: Cilium creates or updates the controller, and an updated controller runs at once.
    const { clock, m } = setup(1);
    m.update(1, 10);
    expect(() => m.update(2, 20)).toThrow(expect.objectContaining({ code: "E2BIG" }));
    clock.advance(ERROR_RESOLVER_DELAY_MS); // the first run, still full; the 5 s interval is armed
    clock.advance(6800); // 7 s in; the interval ran at 5.2 s
    m.delete(1); // room for 2, at the next run
    expect(() => m.delete(99)).toThrow(); // a new error, > 5 s after the schedule at 0
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.lookup(2)).toBe(20);
    expect(m.outstandingErrors).toBe(0);
  });

  it(`a resolver run stops scanning after more than ${MAX_SYNC_ERRORS} errors`, () => {
    const { m } = setup(1);
    m.update(0, 0);
    for (let k = 1; k <= 600; k++) expect(() => m.update(k, k)).toThrow();
    expect(m.outstandingErrors).toBe(600);
    const run = m.resolveErrorsNow();
    expect(run.errors).toBe(MAX_SYNC_ERRORS + 1);
    expect(run.remaining).toBe(600);
    expect(run.error?.message).toBe("600 map sync errors");
  });

  // pkg-bpf-behaviour.md §7 (DeleteAll): every deleted key is parsed back to correlate it with
  // the cache, and one the parser refuses is logged, whether or not its delete succeeded.
  it("deleteAll warns of a deleted key its codec cannot decode, also when the delete succeeded", () => {
    const env = get();
    const picky = { ...u32, decode: (b: Uint8Array) => { const k = u32.decode(b); if (k === 7) throw new RangeError("no 7"); return k; } };
    const spec = { ...testMapSpec(), key: picky };
    const m = env.map(spec).withCache({ clock: new ManualClock() });
    m.openOrCreate();
    m.update(1, 10);
    env.map(spec).update(7, 70); // written past the cache
    m.deleteAll();
    expect([...m.entries()]).toEqual([]);
    const warned = env.logs.filter((r) => r.msg === "Unable to correlate iteration key with cache entry. Inconsistent cache.");
    expect(warned.map((r) => r.fields)).toEqual([{ key: "07000000", name: "cilium_test" }]);
    expect(m.getModel().cache).toEqual([]);
  });

  it("deleteAll keeps no entry for a key its codec cannot decode whose delete failed: there is no key to show or retry by", () => {
    const env = get();
    const picky = { ...u32, decode: (b: Uint8Array) => { const k = u32.decode(b); if (k === 7) throw new RangeError("no 7"); return k; } };
    const spec = { ...testMapSpec(), key: picky };
    env.map(spec).openOrCreate();
    env.map(spec).update(7, 70); // written past the cache
    // The kernel refuses that one delete (a fault injected for the test).
    const driver = wrapDriver(env.driver, { mapDeleteElem: (fd, key) => u32.decode(key) === 7 ? -Errno.EBUSY : env.driver.mapDeleteElem(fd, key) });
    const bpf = createBpf({ driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: silentLogger });
    const m = env.track(bpf.newMap(spec).withCache({ clock: new ManualClock() }));
    expect(thrown(() => m.deleteAll())).toMatchObject({ code: "EBUSY" });
    expect([m.outstandingErrors, m.getModel().cache]).toEqual([0, []]);
  });

  it("lookupAndDeleteBatch drops what it took from the cache, as a delete does", () => {
    const { m } = setup(4);
    m.update(1, 10);
    m.update(2, 20);
    m.update(3, 30);
    const cursor = new BatchCursor();
    const taken: number[] = [];
    while (!cursor.done) taken.push(...m.lookupAndDeleteBatch(cursor, 2).map(([k]) => k));
    expect(taken.sort()).toEqual([1, 2, 3]);
    expect([m.outstandingErrors, m.getModel().cache]).toEqual([0, []]);
  });

  it("deleteAll: kernel-held entries go, never-written ones are left to the resolver, which clears them", () => {
    const { clock, m } = setup(2);
    m.update(1, 1);
    m.update(2, 2);
    expect(() => m.update(3, 3)).toThrow();
    clock.advance(ERROR_RESOLVER_DELAY_MS); // 3 still does not fit
    expect(m.outstandingErrors).toBe(1);
    m.deleteAll();
    expect(m.getModel().cache).toEqual([{ key: "3", value: "3", desiredAction: "to-be-deleted", lastError: "deletion pending" }]);
    expect(m.outstandingErrors).toBe(1);
    clock.advance(ERROR_RESOLVER_INTERVAL_MS);
    expect(m.getModel().cache).toEqual([]);
    expect(m.outstandingErrors).toBe(0);
    expect(m.lookup(3)).toBeUndefined();
  });

  it("batch writes and deletes to a map that cannot be opened yet wait for the resolver, as update and delete do", () => {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...testMapSpec(), maxEntries: 8 }).withCache({ clock });
    // Nothing is pinned at its path yet: each call fails opening it, before any syscall on it.
    expect(() => m.updateBatch([1, 2], [10, 20])).toThrow(expect.objectContaining({ code: "ENOENT", map: "cilium_test" }));
    expect(() => m.deleteBatch([3])).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => m.update(4, 40)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    // No element call was made, so none is counted in the map-operation metric.
    expect(env.ops).toEqual([]);
    expect(m.getModel().cache!.map((e) => `${e.key}:${e.desiredAction}`).sort()).toEqual(["1:to-be-inserted", "2:to-be-inserted", "3:to-be-deleted", "4:to-be-inserted"]);
    expect(m.outstandingErrors).toBe(4);
    m.openOrCreate();
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect([m.lookup(1), m.lookup(2), m.lookup(4)]).toEqual([10, 20, 40]);
    expect(m.outstandingErrors).toBe(0);
    expect(m.getModel().cache!.map((e) => `${e.key}:${e.desiredAction}`).sort()).toEqual(["1:sync", "2:sync", "4:sync"]);
    m.close();
  });

  it("a batch write or delete that fails part way: what the kernel did is sync, only the rest waits for the resolver", () => {
    const { m } = setup(2);
    const e = thrown(() => m.updateBatch([1, 2, 3], [10, 20, 30]));
    expect(e).toMatchObject({ code: "E2BIG", count: 2 });
    expect(m.getModel().cache).toEqual([
      { key: "1", value: "10", desiredAction: "sync" },
      { key: "2", value: "20", desiredAction: "sync" },
      { key: "3", value: "30", desiredAction: "to-be-inserted", lastError: e.message },
    ]);
    expect(m.outstandingErrors).toBe(1);
    // A batch delete that stops at a key the map does not hold: the one before it is gone, it
    // and the one after wait to be deleted.
    const d = thrown(() => m.deleteBatch([1, 9, 2]));
    expect(d).toMatchObject({ code: "ENOENT", count: 1 });
    expect(m.getModel().cache!.map((r) => `${r.key}:${r.desiredAction}`)).toEqual(["2:to-be-deleted", "3:to-be-inserted", "9:to-be-deleted"]);
  });

  it("withCache() replaces the cache; batch writes and deletes keep it in step", () => {
    const { clock, m } = setup(4);
    m.update(1, 1);
    m.withCache({ clock });
    expect(m.getModel().cache).toEqual([]);
    expect(m.updateBatch([1, 2, 3], [10, 20, 30])).toBe(3);
    expect(m.getModel().cache!.length).toBe(3);
    expect(m.deleteBatch([1, 2])).toBe(2);
    expect(m.getModel().cache).toEqual([{ key: "3", value: "30", desiredAction: "sync" }]);
  });
});
