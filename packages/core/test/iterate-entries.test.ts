// entries()/keys(): every element once on a quiet map; the loop body may delete the element it
// was given or the one after it; repeated restarts end in IterationAbortedError.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, IterationAbortedError, u32 } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";

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

  it("restarts are bounded: past maxRestarts the walk throws IterationAbortedError", () => {
    const { m } = filled(40);
    const order = [...m.keys()];
    let err: unknown;
    let yielded = 0;
    try {
      for (const k of m.keys({ maxRestarts: 2 })) {
        yielded++;
        // Remove both the current key and the one fetched after it: the walk has lost its place.
        m.delete(k);
        const next = order[order.indexOf(k) + 1];
        if (next !== undefined) m.deleteWithErrno(next);
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IterationAbortedError);
    expect((err as IterationAbortedError).restarts).toBe(2);
    expect((err as Error).message).toBe("entries cilium_test: iteration aborted after 2 restarts");
    expect(yielded).toBe(3);
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
});
