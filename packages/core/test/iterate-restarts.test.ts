// entries()/keys() cases the other iterator tests leave open: a loop body that deletes the last
// key while it holds the one before it, and a datapath that empties the map before the first
// element is read. (The default bound of 16 restarts is in iterate-entries.test.ts.)
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { u32 } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { simUnderTest } from "../../testkit/src/drivers.js";
import { eachDriver, makeEnv, testMapSpec } from "./support/env.js";

eachDriver("entries() restarts", (get) => {
  it("the loop body may delete the last key while it holds the one before: the walk ends, no error", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 64 });
    m.openOrCreate();
    for (let k = 0; k < 10; k++) m.update(k, k);
    const order = [...m.keys()];
    const last = order[order.length - 1]!;
    const seen: number[] = [];
    // The walk has already fetched `last` as the next key; it vanishes, and the key before it,
    // which it falls back to, has no successor now: that is the end of the map.
    for (const k of m.keys({ maxRestarts: 0 })) {
      seen.push(k);
      if (k === order[order.length - 2]) m.delete(last);
    }
    expect(seen).toEqual(order.slice(0, -1));
  });
});

describe("entries() with the datapath emptying the map [sim]", () => {
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => { current = makeEnv(simUnderTest()); });
  afterEach(() => { current?.dispose(); current = undefined; });

  it("the only key vanishes between next-key and its lookup: the walk ends with nothing, no error", () => {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(7, 7);
    const kb = new Uint8Array(4);
    u32.encode(7, kb);
    let deleted = false;
    sim.setInterleavingHook((op) => {
      if (op === "mapLookupElem" && !deleted) {
        deleted = true;
        expect(sim.datapath.delete({ fd: m.getFd() }, kb)).toBe(0);
      }
    });
    try {
      expect([...m.entries()]).toEqual([]);
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(deleted).toBe(true);
  });
});
