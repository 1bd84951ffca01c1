// withEvents(): the buffer of writes a map object made (Cilium's Map.WithEvents), on both drivers:
// what each operation records, success and failure, the bounds (size, TTL on a manual clock),
// subscribers (order, replay, unsubscribe, one that throws, one that writes), and the option checks.
import { expect, it } from "vitest";
import {
  BPF_MAP_TYPE_ARRAY, BPF_NOEXIST, BatchCursor, BatchError, BpfError, createBpf, DecodeError, DEFAULT_EVENTS_MAX_SIZE, DeleteAllAbortedError,
  ERROR_RESOLVER_DELAY_MS, silentLogger, u32, wrapDriver, type MapEvent, type Unsubscribe,
} from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";
import { ManualClock } from "./support/manual-clock.js";
import { thrown } from "./support/thrown.js";

const u32Bytes = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

/** An event's gist: action, op, key or keys, value or values, count and error code. */
function gist(e: MapEvent<number, number>): string {
  const parts: string[] = [e.action, e.op];
  if (e.key !== undefined) parts.push(`k=${e.key}`);
  if (e.value !== undefined) parts.push(`v=${e.value}`);
  if (e.keys !== undefined) parts.push(`ks=${e.keys.join(",")}`);
  if (e.values !== undefined) parts.push(`vs=${e.values.join(",")}`);
  if (e.count !== undefined) parts.push(`n=${e.count}`);
  if (e.error !== undefined) parts.push(`err=${(e.error as BpfError).code ?? e.error.name}`);
  return parts.join(" ");
}

eachDriver("map events (withEvents)", (get) => {
  function setup(maxEntries = 4, options: { maxSize?: number; ttlMs?: number } = {}) {
    const env = get();
    const clock = new ManualClock();
    clock.time = 1000;
    const m = env.map({ ...testMapSpec(), maxEntries }).withEvents({ clock, ...options });
    m.openOrCreate();
    return { env, clock, m };
  }

  it("update records the key, the value, their bytes and the time; a failed one its error too", () => {
    const { clock, m } = setup(2);
    m.update(1, 10);
    clock.advance(5);
    m.update(2, 20);
    const full = thrown(() => m.update(3, 30));
    const dup = thrown(() => m.update(1, 11, BPF_NOEXIST));
    const ev = m.events();
    expect(ev.map(gist)).toEqual(["update update k=1 v=10", "update update k=2 v=20", "update update k=3 v=30 err=E2BIG",
      "update update k=1 v=11 err=EEXIST"]);
    expect(ev.map((e) => e.time)).toEqual([1000, 1005, 1005, 1005]);
    expect(ev[0]!.keyBytes).toEqual(u32Bytes(1));
    expect(ev[0]!.valueBytes).toEqual(u32Bytes(10));
    // The very errors the caller got, and nothing else on a success.
    expect(ev[2]!.error).toBe(full);
    expect(ev[3]!.error).toBe(dup);
    expect("error" in ev[0]!).toBe(false);
  });

  it("delete and deleteWithErrno record the key and the error; a delete has no value", () => {
    const { m } = setup();
    m.update(1, 10);
    m.delete(1);
    const missing = thrown(() => m.delete(7));
    const r = m.deleteWithErrno(8);
    m.update(2, 20);
    expect(m.deleteWithErrno(2)).toEqual({ errno: 0 });
    const ev = m.events();
    expect(ev.map(gist)).toEqual(["update update k=1 v=10", "delete delete k=1", "delete delete k=7 err=ENOENT",
      "delete deleteWithErrno k=8 err=ENOENT", "update update k=2 v=20", "delete deleteWithErrno k=2"]);
    expect(ev[2]!.error).toBe(missing);
    expect(ev[3]!.error).toBe(r.error);
    expect(ev[1]!.keyBytes).toEqual(u32Bytes(1));
    expect(ev[1]!.valueBytes).toBeUndefined();
  });

  it("deleteAll is one event with the count deleted, not one per key (Cilium's MapDeleteAll)", () => {
    const { m } = setup(16);
    for (let k = 0; k < 5; k++) m.update(k, k);
    m.deleteAll();
    m.deleteAll();
    expect(m.events().slice(5).map(gist)).toEqual(["delete-all deleteAll n=5", "delete-all deleteAll n=0"]);
    // A success has no error, not an error that is undefined.
    expect(m.events().slice(5).map((e) => "error" in e)).toEqual([false, false]);
  });

  it("a failed deleteAll keeps its error: an ARRAY's EINVAL, the budget's DeleteAllAbortedError", () => {
    const env = get();
    const a = env.map({ ...testMapSpec("cilium_events_array"), type: BPF_MAP_TYPE_ARRAY, flags: 0 }).withEvents();
    a.openOrCreate();
    const e = thrown(() => a.deleteAll());
    expect(a.events().map(gist)).toEqual(["delete-all deleteAll n=0 err=EINVAL"]);
    expect(a.events()[0]!.error).toBe(e);
    // A datapath refilling the map before each delete: the walk gives up at 4 × max_entries.
    const made = env.map({ ...testMapSpec("cilium_events_churn"), maxEntries: 2 });
    made.openOrCreate();
    made.update(1, 1);
    let next = 100;
    const driver = wrapDriver(env.driver, {
      mapDeleteElem: (fd, key) => {
        expect(env.driver.mapUpdateElem(fd, u32Bytes(next++), u32Bytes(0), 0)).toBe(0);
        return env.driver.mapDeleteElem(fd, key);
      },
    });
    const h = env.track(createBpf({ driver, mapRoot: env.root, logger: silentLogger }).openMap(made.path(), { key: u32, value: u32 }))
      .withEvents();
    const aborted = thrown(() => h.deleteAll());
    expect(aborted).toBeInstanceOf(DeleteAllAbortedError);
    expect(h.events().map(gist)).toEqual(["delete-all deleteAll n=8 err=DeleteAllAbortedError"]);
    expect(h.events()[0]!.error).toBe(aborted);
  });

  it("lookupAndDelete is a delete with the value it took; a missing key's has no value and no error", () => {
    const { m } = setup();
    m.update(1, 10);
    expect(m.lookupAndDelete(1)).toBe(10);
    expect(m.lookupAndDelete(1)).toBeUndefined();
    const ev = m.events();
    expect(ev.slice(1).map(gist)).toEqual(["delete lookupAndDelete k=1 v=10", "delete lookupAndDelete k=1"]);
    expect(ev[1]!.valueBytes).toEqual(u32Bytes(10));
  });

  it("a refused lookupAndDelete or delete batch keeps its error; an undecodable value still leaves its event", () => {
    const env = get();
    const a = env.map({ ...testMapSpec("cilium_events_array"), type: BPF_MAP_TYPE_ARRAY, flags: 0 }).withEvents();
    a.openOrCreate();
    const one = thrown(() => a.lookupAndDelete(0));
    const batch = thrown(() => a.lookupAndDeleteBatch(new BatchCursor()));
    expect(a.events().map((e) => `${e.action} ${e.op} ${e.error === undefined ? "-" : "error"} n=${e.count}`))
      .toEqual(["delete lookupAndDelete error n=undefined", "batch-delete lookupAndDeleteBatch error n=0"]);
    expect(a.events()[0]!.error).toBe(one);
    expect(a.events()[1]!.error).toBe(batch);
    // A value codec that refuses 13: the kernel deleted it all the same, and the event says so.
    const picky = { size: 4, encode: u32.encode.bind(u32), decode: (b: Uint8Array) => {
      const v = u32.decode(b);
      if (v === 13) throw new RangeError("13 is refused");
      return v;
    } };
    const h = env.map({ ...testMapSpec("cilium_events_picky"), value: picky }).withEvents();
    h.openOrCreate();
    h.update(1, 13);
    h.update(2, 13);
    expect(() => h.lookupAndDelete(1)).toThrow(DecodeError);
    const ev = h.events().at(-1)!;
    expect(gist(ev)).toBe("delete lookupAndDelete k=1");
    expect(ev.valueBytes).toEqual(u32Bytes(13));
    const undecodable = thrown(() => h.lookupAndDeleteBatch(new BatchCursor()));
    expect(undecodable).toBeInstanceOf(DecodeError);
    expect(gist(h.events().at(-1)!)).toBe("batch-delete lookupAndDeleteBatch ks= vs= n=1 err=DecodeError");
    expect(h.lookup(2)).toBeUndefined();
  });

  it("the batch writes are one event each, with their keys, values and the count done", () => {
    const { m } = setup(3);
    expect(m.updateBatch([1, 2, 3], [10, 20, 30])).toBe(3);
    expect(m.deleteBatch([1, 2])).toBe(2);
    const err = thrown(() => m.updateBatch([4, 5, 6], [40, 50, 60]));
    expect(err).toBeInstanceOf(BatchError);
    const cursor = new BatchCursor();
    const taken: Array<[number, number]> = [];
    while (!cursor.done) taken.push(...m.lookupAndDeleteBatch(cursor, 16));
    taken.sort((a, b) => a[0] - b[0]);
    // A lookup batch writes nothing, and a drain of the empty map takes nothing: no event.
    m.lookupBatch(new BatchCursor());
    expect(m.lookupAndDeleteBatch(new BatchCursor())).toEqual([]);
    const ev = m.events();
    expect(ev.slice(0, 3).map(gist)).toEqual(["batch-update updateBatch ks=1,2,3 vs=10,20,30 n=3",
      "batch-delete deleteBatch ks=1,2 n=2", "batch-update updateBatch ks=4,5,6 vs=40,50,60 n=2 err=E2BIG"]);
    expect(ev[2]!.error).toBe(err);
    // The drain took 3, 4 and 5 (the map was full after 4 and 5); an empty call records nothing.
    expect(taken.map(([k]) => k)).toEqual([3, 4, 5]);
    const drains = ev.slice(3);
    expect(drains.every((e) => e.action === "batch-delete" && e.op === "lookupAndDeleteBatch")).toBe(true);
    expect(drains.flatMap((e) => e.keys!).sort()).toEqual(taken.map(([k]) => k));
    expect(drains.flatMap((e) => e.values!).sort()).toEqual(taken.map(([, v]) => v));
    expect(drains.reduce((s, e) => s + e.count!, 0)).toBe(taken.length);
    expect(drains.every((e) => e.count! > 0)).toBe(true);
  });

  it("a batch event keeps copies of the caller's arrays, which stay the caller's: not frozen, and free to change", () => {
    const { m } = setup();
    const keys = [1, 2];
    const values = [10, 20];
    m.updateBatch(keys, values);
    const del = [1];
    m.deleteBatch(del);
    expect([Object.isFrozen(keys), Object.isFrozen(values), Object.isFrozen(del)]).toEqual([false, false, false]);
    keys[0] = 7;
    values.push(30);
    del.length = 0;
    expect(m.events().map(gist)).toEqual(["batch-update updateBatch ks=1,2 vs=10,20 n=2", "batch-delete deleteBatch ks=1 n=1"]);
    expect([Object.isFrozen(m.events()[0]!.keys), Object.isFrozen(m.events()[0]!.values)]).toEqual([true, true]);
  });

  it("a write to a map that cannot be opened is recorded with that error", () => {
    const env = get();
    const m = env.map(testMapSpec("cilium_events_nopin")).withEvents();
    const e = thrown(() => m.update(1, 1));
    expect(m.delete.bind(m, 1)).toThrow(BpfError);
    expect(m.lookupAndDelete.bind(m, 1)).toThrow(BpfError);
    expect(m.events().map(gist)).toEqual(["update update k=1 v=1 err=ENOENT", "delete delete k=1 err=ENOENT",
      "delete lookupAndDelete k=1 err=ENOENT"]);
    expect(m.events()[0]!.error).toBe(e);
  });

  it("input refused before the map is touched records nothing", () => {
    const { m } = setup();
    expect(() => m.update("x" as never, 1)).toThrow(TypeError);
    expect(() => m.delete(-1)).toThrow(RangeError);
    expect(() => m.updateBatch([1], [])).toThrow(RangeError);
    expect(m.events()).toEqual([]);
  });

  /** A 2-entry map with a cache and events on a manual clock, holding 1 and 2, whose write of 3 failed (E2BIG). */
  function fullWithCache() {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...testMapSpec(), maxEntries: 2 }).withCache({ clock }).withEvents({ clock });
    m.openOrCreate();
    m.update(1, 10);
    m.update(2, 20);
    expect(() => m.update(3, 30)).toThrow(expect.objectContaining({ code: "E2BIG" }));
    return { clock, m };
  }

  it("the cache resolver's retries are recorded, as Cilium records them", () => {
    const { clock, m } = fullWithCache();
    m.delete(1);
    // A delete of a key the map lacks is retried too; the retry's ENOENT resolves it.
    expect(() => m.delete(7)).toThrow();
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.lookup(3)).toBe(30);
    expect(m.outstandingErrors).toBe(0);
    expect(m.events().map(gist)).toEqual(["update update k=1 v=10", "update update k=2 v=20", "update update k=3 v=30 err=E2BIG",
      "delete delete k=1", "delete delete k=7 err=ENOENT", "update resolveErrors k=3 v=30", "delete resolveErrors k=7"]);
    expect(m.events().at(-1)!.time).toBe(ERROR_RESOLVER_DELAY_MS);
  });

  it("the resolver's retried delete of an entry with a value records no value, as any delete", () => {
    const { clock, m } = fullWithCache();
    // deleteAll marks every entry to-be-deleted; 3, which the kernel never held, is left to the resolver.
    m.deleteAll();
    expect(m.outstandingErrors).toBe(1);
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.outstandingErrors).toBe(0);
    const retry = m.events().at(-1)!;
    expect(gist(retry)).toBe("delete resolveErrors k=3");
    expect(["value" in retry, "valueBytes" in retry, "error" in retry]).toEqual([false, false, false]);
  });

  it("a failed deleteBatch keeps the BatchError the caller got, with the count done", () => {
    const { m } = setup();
    m.update(1, 10);
    m.update(2, 20);
    const err = thrown(() => m.deleteBatch([1, 7, 2]));
    expect(err).toBeInstanceOf(BatchError);
    const ev = m.events().at(-1)!;
    expect(gist(ev)).toBe("batch-delete deleteBatch ks=1,7,2 n=1 err=ENOENT");
    expect(ev.error).toBe(err);
  });

  it("keeps the last maxSize events, oldest first", () => {
    const { m } = setup(16, { maxSize: 3 });
    for (let k = 0; k < 5; k++) m.update(k, k);
    expect(m.events().map((e) => e.key)).toEqual([2, 3, 4]);
    m.delete(4);
    expect(m.events().map(gist)).toEqual(["update update k=3 v=3", "update update k=4 v=4", "delete delete k=4"]);
  });

  it("keeps 128 by default, Cilium's agent size for most maps, and a long run stays at the bound", () => {
    const env = get();
    const m = env.map(testMapSpec()).withEvents();
    m.openOrCreate();
    expect(DEFAULT_EVENTS_MAX_SIZE).toBe(128);
    for (let i = 0; i < 1000; i++) m.update(i % 16, i);
    const ev = m.events();
    expect(ev.length).toBe(128);
    expect(ev[0]!.value).toBe(1000 - 128);
    expect(ev.at(-1)!.value).toBe(999);
  });

  it("holds exactly the last maxSize events after every write, also when its storage is compacted", () => {
    const env = get();
    const m = env.map(testMapSpec()).withEvents();
    m.openOrCreate();
    // 300 writes of the default 128: the buffer drops its front at least once on the way.
    for (let i = 0; i < 300; i++) {
      m.update(i % 16, i);
      const values = m.events().map((e) => e.value);
      const first = Math.max(0, i + 1 - DEFAULT_EVENTS_MAX_SIZE);
      expect(values.length).toBe(i + 1 - first);
      expect([values[0], values.at(-1)]).toEqual([first, i]);
    }
  });

  it("drops events ttlMs old when the buffer is read or written; none while younger", () => {
    const { clock, m } = setup(16, { ttlMs: 100 });
    m.update(1, 1);
    clock.advance(50);
    m.update(2, 2);
    clock.advance(49);
    expect(m.events().map((e) => e.key)).toEqual([1, 2]);
    clock.advance(1);
    expect(m.events().map((e) => e.key)).toEqual([2]);
    clock.advance(50);
    expect(m.events()).toEqual([]);
    // Expired events go when the next one comes too: the buffer holds only the new one.
    m.update(3, 3);
    clock.advance(100);
    m.update(4, 4);
    expect(m.events().map((e) => e.key)).toEqual([4]);
  });

  it("events() is a copy, of frozen events whose bytes are their own", () => {
    const { m } = setup();
    m.update(1, 10);
    const a = m.events();
    a.pop();
    expect(m.events().length).toBe(1);
    m.update(2, 20);
    const [first] = m.events();
    // The map's scratch buffers held key 2 since: the event's bytes are a copy.
    expect(first!.keyBytes).toEqual(u32Bytes(1));
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first as { key: number }).key = 5;
    }).toThrow(TypeError);
  });

  it("subscribers get each event in order, as it happens; replay gives the kept ones first", () => {
    const { m } = setup();
    m.update(1, 10);
    const live: string[] = [];
    const replayed: string[] = [];
    const offLive = m.subscribeEvents((e) => live.push(gist(e)));
    const offReplay = m.subscribeEvents((e) => replayed.push(gist(e)), { replay: true });
    expect(replayed).toEqual(["update update k=1 v=10"]);
    m.update(2, 20);
    m.delete(2);
    expect(live).toEqual(["update update k=2 v=20", "delete delete k=2"]);
    expect(replayed).toEqual(["update update k=1 v=10", "update update k=2 v=20", "delete delete k=2"]);
    offLive();
    offLive();
    m.update(3, 30);
    expect(live.length).toBe(2);
    expect(replayed.length).toBe(4);
    // `using` ends a subscription as well.
    {
      using _sub = offReplay;
    }
    m.update(4, 40);
    expect(replayed.length).toBe(4);
  });

  it("a subscriber that throws does not break the operation, is logged once, and stays subscribed", () => {
    const { env, m } = setup();
    let calls = 0;
    m.subscribeEvents(() => {
      calls++;
      throw new Error("subscriber bug");
    });
    const seen: number[] = [];
    m.subscribeEvents((e) => seen.push(e.key!));
    m.update(1, 10);
    m.update(2, 20);
    expect(m.lookup(1)).toBe(10);
    expect(calls).toBe(2);
    expect(seen).toEqual([1, 2]);
    const warns = env.logs.filter((r) => r.level === "warn" && r.msg.startsWith("BPF map event subscriber threw"));
    expect(warns.length).toBe(1);
    expect(warns[0]!.fields).toMatchObject({ map: "cilium_test", action: "update" });
    expect((warns[0]!.fields!.error as Error).message).toBe("subscriber bug");
    // A failed write still throws its own error, not the subscriber's.
    expect(() => m.delete(9)).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  it("a subscriber that unsubscribes itself, or another, mid-delivery leaves the others their event", () => {
    const { m } = setup();
    const seen: string[] = [];
    const offA: Unsubscribe = m.subscribeEvents((e) => {
      seen.push(`a${e.key}`);
      offA();
    });
    m.subscribeEvents((e) => seen.push(`b${e.key}`));
    const offC = m.subscribeEvents((e) => seen.push(`c${e.key}`));
    m.subscribeEvents((e) => {
      seen.push(`d${e.key}`);
      if (e.key === 2) offC();
    });
    m.update(1, 10);
    m.update(2, 20);
    m.update(3, 30);
    // c still had event 2: the one delivery that removed it had passed it already.
    expect(seen).toEqual(["a1", "b1", "c1", "d1", "b2", "c2", "d2", "b3", "d3"]);
  });

  it("a throwing subscriber's warning names the event's action, not the method that made it", () => {
    const { env, m } = setup();
    m.update(1, 10);
    m.subscribeEvents(() => {
      throw new Error("subscriber bug");
    });
    expect(m.lookupAndDelete(1)).toBe(10);
    const warns = env.logs.filter((r) => r.level === "warn" && r.msg.startsWith("BPF map event subscriber threw"));
    expect(warns.map((w) => w.fields!.action)).toEqual(["delete"]);
  });

  it("a write from inside a subscriber is delivered after the current event, to every subscriber", () => {
    const { m } = setup();
    const a: number[] = [];
    const b: number[] = [];
    m.subscribeEvents((e) => {
      a.push(e.key!);
      if (e.key === 1) m.update(2, 20);
    });
    m.subscribeEvents((e) => b.push(e.key!));
    m.update(1, 10);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2]);
    // A subscriber added meanwhile sees only later events, and a replaying one nothing twice.
    const c: number[] = [];
    const off = m.subscribeEvents((e) => {
      if (e.key === 3) m.subscribeEvents((f) => c.push(f.key!), { replay: true });
    });
    m.update(3, 30);
    off();
    m.update(4, 40);
    expect(c).toEqual([1, 2, 3, 4]);
  });

  it("a replaying subscriber added while events wait for delivery gets each once", () => {
    const { m } = setup();
    const c: number[] = [];
    m.subscribeEvents((e) => {
      if (e.key !== 1) return;
      m.update(2, 20); // queued behind event 1, already in the buffer
      m.subscribeEvents((f) => c.push(f.key!), { replay: true });
    });
    m.update(1, 10);
    m.update(3, 30);
    expect(c).toEqual([1, 2, 3]);
  });

  it("a write from a replaying callback is delivered as soon as the replay ends", () => {
    const { m } = setup();
    m.update(1, 10);
    const seen: number[] = [];
    m.subscribeEvents((e) => {
      seen.push(e.key!);
      if (e.key === 1) m.update(5, 50);
    }, { replay: true });
    expect(seen).toEqual([1, 5]);
    expect(m.events().map((e) => e.key)).toEqual([1, 5]);
  });

  it("without withEvents nothing is recorded and subscribing is refused", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 1);
    expect(m.eventsEnabled).toBe(false);
    expect(m.events()).toEqual([]);
    expect(() => m.subscribeEvents(() => {})).toThrow(
      new TypeError("subscribeEvents cilium_test: map events are not enabled for this map; call withEvents() first"));
    m.withEvents();
    expect(m.eventsEnabled).toBe(true);
    expect(m.events()).toEqual([]);
  });

  it("withEvents again changes the options and keeps the events and the subscribers", () => {
    const { clock, m } = setup(16, { maxSize: 8 });
    const seen: number[] = [];
    m.subscribeEvents((e) => seen.push(e.key!));
    for (let k = 0; k < 6; k++) m.update(k, k);
    m.withEvents({ maxSize: 2, clock });
    expect(m.events().map((e) => e.key)).toEqual([4, 5]);
    m.update(6, 6);
    expect(m.events().map((e) => e.key)).toEqual([5, 6]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("withEvents again keeps the options it does not name: the test's clock and the TTL stay", () => {
    const { clock, m } = setup(16, { ttlMs: 100 });
    m.update(1, 1);
    m.withEvents({ maxSize: 4 });
    expect(m.events()[0]!.time).toBe(1000);
    m.update(2, 2);
    // Still the manual clock (Date.now would stamp today), and still the 100 ms TTL.
    expect(m.events().map((e) => e.time)).toEqual([1000, 1000]);
    clock.advance(101);
    expect(m.events()).toEqual([]);
  });

  it("close() keeps the events and the subscribers; the reopened map goes on recording", () => {
    const { m } = setup();
    const seen: number[] = [];
    m.subscribeEvents((e) => seen.push(e.key!));
    m.update(1, 10);
    m.close();
    expect(m.events().length).toBe(1);
    m.update(2, 20); // reopens the pin
    expect(m.isOpen()).toBe(true);
    expect(m.events().map((e) => e.key)).toEqual([1, 2]);
    expect(seen).toEqual([1, 2]);
  });

  it("a clone starts without events", () => {
    const { env, m } = setup();
    const c = env.track(m.clone());
    c.update(1, 1);
    expect(c.eventsEnabled).toBe(false);
    expect(m.events()).toEqual([]);
  });

  it("bad options are refused, naming the map and the option; nothing is enabled", () => {
    const env = get();
    const m = env.map(testMapSpec("cilium_events_opts"));
    const where = "withEvents cilium_events_opts";
    expect(thrown(() => m.withEvents({ maxsize: 4 } as never)).message).toBe(`${where}: unknown options key "maxsize" (did you mean "maxSize"?)`);
    expect(thrown(() => m.withEvents({ ttl: 4 } as never)).message).toContain('unknown options key "ttl"');
    for (const maxSize of [0, -1, 1.5, Number.NaN, Infinity, "8"]) {
      const e = thrown(() => m.withEvents({ maxSize } as never));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`${where}: options.maxSize must be a positive integer, got ${typeof maxSize === "string" ? `"${maxSize}"` : String(maxSize)}`);
    }
    for (const ttlMs of [-1, Number.NaN, Infinity, "1"]) {
      expect(thrown(() => m.withEvents({ ttlMs } as never)).message).toContain(`${where}: options.ttlMs must be a non-negative number`);
    }
    expect(thrown(() => m.withEvents({ clock: {} } as never))).toEqual(new TypeError(`${where}: options.clock must be an object with a now() method`));
    expect(thrown(() => m.withEvents(null as never))).toEqual(new TypeError(`${where}: options must be an object`));
    expect(m.eventsEnabled).toBe(false);
    m.withEvents({ maxSize: 1, ttlMs: 0 });
    const sub = "subscribeEvents cilium_events_opts";
    expect(thrown(() => m.subscribeEvents("f" as never))).toEqual(new TypeError(`${sub}: the callback must be a function, got "f"`));
    expect(thrown(() => m.subscribeEvents(() => {}, { replay: 1 } as never))).toEqual(new TypeError(`${sub}: options.replay must be a boolean, got 1`));
    expect(thrown(() => m.subscribeEvents(() => {}, { repaly: true } as never)).message)
      .toBe(`${sub}: unknown options key "repaly" (did you mean "replay"?)`);
  });
});

