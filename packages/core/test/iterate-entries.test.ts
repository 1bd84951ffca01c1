// entries()/keys(): every element once on a quiet map; the loop body may delete the element it
// was given or the one after it; repeated restarts end in IterationAbortedError; and, under
// random datapath interleavings on the simulator, untouched keys are always yielded.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, IterationAbortedError, iterateMap, u32, wrapDriver } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { kernelUnderTest, simUnderTest } from "../../testkit/src/drivers.js";
import { splitByBucket } from "./support/bucket-split.js";
import { startChurn } from "./support/churn.js";
import { eachDriver, makeEnv, testMapSpec } from "./support/env.js";

eachDriver("entries() and keys()", (get) => {
  function filled(n: number) {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 64 });
    m.openOrCreate();
    for (let k = 0; k < n; k++) m.update(k, k * 2);
    return { env, m };
  }

  it("yields every element once, lazily (nothing is read before the first next())", () => {
    const { m } = filled(20);
    m.close();
    const it = m.entries();
    expect(m.getFd()).toBe(-1);
    const all = [...it];
    expect(all.map(([k]) => k).sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    for (const [k, v] of all) expect(v).toBe(k * 2);
    expect([...m.keys()].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it("the loop body may delete the element it was given: each key once, map empty after", () => {
    const { m } = filled(30);
    const seen: number[] = [];
    for (const [k] of m.entries()) {
      seen.push(k);
      m.delete(k);
    }
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
    expect(m.getNextKey(null)).toBeUndefined();
  });

  it("deleting the next element from the body: it is skipped, nothing repeats, no restart", () => {
    const { m } = filled(30);
    const order = [...m.keys()];
    const deleted = new Set<number>();
    const seen: number[] = [];
    for (const k of m.keys({ maxRestarts: 0 })) {
      seen.push(k);
      const i = order.indexOf(k);
      if (i % 3 === 0 && i + 1 < order.length) {
        m.delete(order[i + 1]!);
        deleted.add(order[i + 1]!);
      }
    }
    expect(deleted.size).toBeGreaterThan(5);
    expect(seen).toEqual(order.filter((k) => !deleted.has(k)));
  });

  /**
   * Walks `walk`, deleting each key it yields and the one fetched after it (the next in
   * `order`): the walk loses its place every time, one restart per element from the second on.
   * Returns what ended it and how many elements it yielded.
   */
  function loseEveryPlace(m: ReturnType<typeof filled>["m"], order: number[], walk: Iterable<number | [number, number]>) {
    let err: unknown;
    let yielded = 0;
    try {
      for (const item of walk) {
        yielded++;
        const k = Array.isArray(item) ? item[0] : item;
        m.delete(k);
        const next = order[order.indexOf(k) + 1];
        if (next !== undefined) m.deleteWithErrno(next);
      }
    } catch (e) {
      err = e;
    }
    return { err, yielded };
  }

  it("restarts are bounded: past maxRestarts the walk throws IterationAbortedError", () => {
    const { m } = filled(40);
    const { err, yielded } = loseEveryPlace(m, [...m.keys()], m.keys({ maxRestarts: 2 }));
    expect(err).toBeInstanceOf(IterationAbortedError);
    expect((err as IterationAbortedError).restarts).toBe(2);
    expect((err as Error).message).toBe("keys cilium_test: iteration aborted after 2 restarts");
    expect(yielded).toBe(3);
  });

  it("without options the walk allows 16 restarts (DEFAULT_MAX_RESTARTS) and throws at the 17th", () => {
    const { m } = filled(60);
    const { err, yielded } = loseEveryPlace(m, [...m.keys()], m.entries());
    expect(err).toBeInstanceOf(IterationAbortedError);
    expect((err as IterationAbortedError).restarts).toBe(16);
    expect((err as Error).message).toBe("entries cilium_test: iteration aborted after 16 restarts");
    expect(yielded).toBe(17);
  });

  it("an array yields every slot, zeros included", () => {
    const env = get();
    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 5 });
    a.openOrCreate();
    a.update(3, 33);
    expect([...a.entries()]).toEqual([[0, 0], [1, 0], [2, 0], [3, 33], [4, 0]]);
  });

  it("a codec-less map (openMap) refuses to iterate, naming the map", () => {
    const { env } = filled(1);
    const opened = env.track(env.bpf.openMap("cilium_test"));
    expect(() => opened.entries()).toThrow(/entries cilium_test: the map was opened by bpf.openMap/);
  });

  /**
   * iterateMap over a map of 20 keys whose target says max_entries is `maxEntries`, while a
   * datapath (a wrapped lookup) deletes the n-th key the walk reaches, just before its first
   * lookup, whenever `vanish(n)` says so.
   */
  function walkWhileDeleting(maxEntries: number | undefined, vanish: (n: number) => boolean) {
    const { env, m } = filled(20);
    const reached = new Set<number>();
    const deleted: number[] = [];
    const driver = wrapDriver(env.driver, {
      mapLookupElem: (fd, key, value, flags) => {
        const k = u32.decode(key);
        if (!reached.has(k)) {
          reached.add(k);
          if (vanish(reached.size)) {
            expect(env.driver.mapDeleteElem(fd, key)).toBe(0);
            deleted.push(k);
          }
        }
        return env.driver.mapLookupElem(fd, key, value, flags);
      },
    });
    const target = {
      driver, fd: m.getFd(), mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, name: "cilium_test", op: "keys",
      ...(maxEntries === undefined ? {} : { maxEntries }),
    };
    const yielded: number[] = [];
    let err: unknown;
    try {
      for (const k of iterateMap(() => target, (key) => u32.decode(key))) yielded.push(k);
    } catch (e) {
      err = e;
    }
    return { yielded, deleted, err };
  }

  it("more keys than max_entries vanishing in a row abort the walk, saying how many (vanishedInRow)", () => {
    const { yielded, deleted, err } = walkWhileDeleting(2, (n) => n > 1);
    expect(err).toBeInstanceOf(IterationAbortedError);
    expect([(err as IterationAbortedError).vanishedInRow, (err as IterationAbortedError).restarts]).toEqual([3, 0]);
    expect((err as Error).message).toBe("keys cilium_test: iteration aborted: 3 keys in a row vanished before they could be read");
    expect([yielded.length, deleted.length]).toEqual([1, 3]);
  });

  it("the count is of keys in a row: a yield resets it, so many vanishing in all, one at a time, end the walk normally", () => {
    // Every second key the walk reaches vanishes: 10 in all, five times max_entries, but never two in a row.
    const { yielded, deleted, err } = walkWhileDeleting(2, (n) => n % 2 === 0);
    expect(err).toBeUndefined();
    expect(deleted.length).toBe(10);
    expect([...yielded, ...deleted].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  for (const maxEntries of [undefined, 0]) {
    it(`a target whose max_entries is not known (${maxEntries}) sets no bound on keys vanishing in a row`, () => {
      const { yielded, deleted, err } = walkWhileDeleting(maxEntries, (n) => n > 1);
      expect(err).toBeUndefined();
      expect([yielded.length, deleted.length]).toEqual([1, 19]);
    });
  }
});

describe("entries() under datapath interleavings [sim]", () => {
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => { current = makeEnv(simUnderTest()); });
  afterEach(() => { current?.dispose(); current = undefined; });

  it("a datapath that deletes each successor before its lookup cannot hold the walk: IterationAbortedError", () => {
    // Key `a` sits in the lowest bucket and stays. Before every next-key the datapath inserts a
    // fresh key, before every lookup it deletes all but `a`: the walk yields `a`, then every
    // successor it fetches has vanished when it looks it up, and `a` always still exists, so it
    // resumes from `a` without restarting. Such a run is bounded by max_entries.
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const keys = splitByBucket(64, 1, 40);
    const a = keys.stable[0]!;
    const m = env.map({ name: "iter_held", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 64, flags: BPF_F_ZERO_SEED });
    m.openOrCreate();
    m.update(a, a);
    const kb = new Uint8Array(4);
    const present = new Set<number>();
    let inserted = 0;
    let calls = 0;
    sim.setInterleavingHook((op) => {
      if (++calls > 100_000) throw new Error("the walk never ended");
      if (op === "mapGetNextKey") {
        const k = keys.churn[inserted++ % keys.churn.length]!;
        u32.encode(k, kb);
        expect(sim.datapath.update({ fd: m.getFd() }, kb, kb)).toBe(0);
        present.add(k);
      } else if (op === "mapLookupElem") {
        for (const k of present) {
          u32.encode(k, kb);
          expect(sim.datapath.delete({ fd: m.getFd() }, kb)).toBe(0);
        }
        present.clear();
      }
    });
    const yielded: number[] = [];
    let err: unknown;
    try {
      for (const k of m.keys()) yielded.push(k);
    } catch (e) {
      err = e;
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(yielded).toEqual([a]);
    expect(err).toBeInstanceOf(IterationAbortedError);
    expect((err as IterationAbortedError).restarts).toBe(0);
    expect((err as IterationAbortedError).vanishedInRow).toBe(65);
    expect((err as Error).message).toBe("keys iter_held: iteration aborted: 65 keys in a row vanished before they could be read");
  });

  it("property: untouched keys are yielded (unless IterationAbortedError), nothing never present is", () => {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    let n = 0;
    let completed = 0;
    let disturbed = 0;
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.record({ del: fc.boolean(), key: fc.integer({ min: 0, max: 59 }) }), { minLength: 1, maxLength: 80 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
      (initial, ops, perCall) => {
        const m = env.map({ name: `it_${n++}`, type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 64 });
        m.openOrCreate();
        for (const k of initial) m.update(k, k);
        const ever = new Set(initial);
        const touched = new Set<number>();
        let next = 0;
        let call = 0;
        const kb = new Uint8Array(4);
        sim.setInterleavingHook(() => {
          const c = perCall[call++ % perCall.length]!;
          for (let i = 0; i < c && next < ops.length; i++, next++) {
            const { del, key } = ops[next]!;
            u32.encode(key, kb);
            if (del) {
              if (sim.datapath.delete({ fd: m.getFd() }, kb) === 0) touched.add(key);
            } else if (sim.datapath.update({ fd: m.getFd() }, kb, kb) === 0) {
              touched.add(key);
              ever.add(key);
            }
          }
        });
        const yielded: number[] = [];
        try {
          for (const [k, v] of m.entries()) {
            expect(v).toBe(k);
            yielded.push(k);
          }
        } catch (e) {
          if (!(e instanceof IterationAbortedError)) throw e;
          return;
        } finally {
          sim.setInterleavingHook(null);
          m.close();
        }
        completed++;
        if (initial.some((k) => touched.has(k))) disturbed++;
        for (const k of yielded) expect(ever.has(k), `key ${k} never present`).toBe(true);
        for (const k of initial) if (!touched.has(k)) expect(yielded.includes(k), `untouched key ${k}`).toBe(true);
      }), { numRuns: 150 });
    expect(completed).toBeGreaterThan(100);
    expect(disturbed).toBeGreaterThan(10);
  });
});

const kernel = kernelUnderTest();

describe.skipIf(kernel.unavailable !== undefined)("entries() with a concurrent deleter [kernel]", () => {
  if (kernel.unavailable !== undefined) console.warn(`kernel iterator test not run: ${kernel.unavailable}`);
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => { current = makeEnv(kernel); });
  afterEach(() => { current?.dispose(); current = undefined; });

  it("every untouched key is yielded (or IterationAbortedError), and nothing foreign", async () => {
    const env = current!.env;
    // Keys split by bucket so that the kernel's own next-key race cannot skip a stable key
    // (support/bucket-split.ts).
    const m = env.map({ name: "iter_churn", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 2048, flags: BPF_F_ZERO_SEED });
    m.openOrCreate();
    const keys = splitByBucket(2048, 800, 1500);
    const stableKeys = new Set(keys.stable), churnKeys = new Set(keys.churn);
    for (const k of keys.stable) m.update(k, k + 100);
    const churn = await startChurn(env, m, keys.churn, 300);
    let complete = 0;
    let churnSeen = 0;
    try {
      for (let i = 0; i < 12; i++) {
        const stable = new Set<number>();
        const bad: string[] = [];
        try {
          for (const [k, v] of m.entries()) {
            if (v !== k + 100) bad.push(`${k}=${v}`);
            if (stableKeys.has(k)) stable.add(k);
            else if (churnKeys.has(k)) churnSeen++;
            else bad.push(`foreign ${k}`);
          }
        } catch (e) {
          if (!(e instanceof IterationAbortedError)) throw e;
          continue;
        }
        complete++;
        expect(bad).toEqual([]);
        expect(stable.size).toBe(800);
      }
    } finally {
      await churn.stop();
    }
    expect(complete).toBeGreaterThan(0);
    expect(churnSeen).toBeGreaterThan(0);
  });
});
