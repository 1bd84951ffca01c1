// The LPM batch dump across the kernel's restarts (its token key deleted between two calls),
// beyond the single restart dump-interleaving.test.ts shows: which restarts are counted in
// `interrupted`, and that a key deleted and inserted again behind a restart is not delivered
// a second time. Also lpmKeyOrder's cap of a prefix length at the data's bits.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_LPM_TRIE, ipv4, lpmKey, lpmKeyOrder, newDumpStats, u32 } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { simUnderTest } from "../../testkit/src/drivers.js";
import { eachDriver, makeEnv } from "./support/env.js";

const key = lpmKey(ipv4);
const prefixes = Array.from({ length: 12 }, (_, i) => ({ prefixLen: 24, data: `10.0.${i}.0` }));

eachDriver("LPM batch dump restarts", (get) => {
  it("a restart counts in `interrupted` even when the key it restarts from is new to the dump", () => {
    const env = get();
    const m = env.map({ name: "lpm_first", type: BPF_MAP_TYPE_LPM_TRIE, key, value: u32, maxEntries: 32 });
    m.openOrCreate();
    prefixes.forEach((p, i) => m.update(p, i));
    const delivered: string[] = [];
    const stats = newDumpStats(m);
    m.dumpReliablyWithCallback((k) => {
      delivered.push(k.data);
      // The last key of the first call is its token: deleting it, and the first key, makes the
      // kernel restart from 10.0.1.0, which comes after the first key delivered but not after
      // the last one returned.
      if (delivered.length === 4) {
        m.delete(prefixes[3]!);
        m.delete(prefixes[0]!);
      }
    }, stats, { algorithm: "batch", batchSize: 4 });
    expect(stats.completed).toBe(true);
    expect(delivered).toEqual(prefixes.map((p) => p.data));
    expect(stats.interrupted).toBe(1);
  });
});

describe("LPM batch dump restarts under the datapath [sim]", () => {
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => { current = makeEnv(simUnderTest()); });
  afterEach(() => { current?.dispose(); current = undefined; });

  it("a key deleted, walked past by a restart, and inserted again ahead of the walk is not delivered twice", () => {
    const env = current!.env;
    const sim = env.driver as SimDriver;
    const m = env.map({ name: "lpm_again", type: BPF_MAP_TYPE_LPM_TRIE, key, value: u32, maxEntries: 32 });
    m.openOrCreate();
    const keys = prefixes.slice(0, 5);
    keys.forEach((p, i) => m.update(p, i));
    const kb = new Uint8Array(key.size);
    key.encode(keys[2]!, kb);
    let calls = 0;
    // One element per call: calls 1-3 return 10.0.0-2.0. Before call 4, 10.0.2.0 (the token)
    // goes: the kernel restarts and returns 10.0.0.0 again (dropped). Before call 5 it comes
    // back: call 5 goes on from 10.0.0.0 to 10.0.1.0 (dropped), call 6 to 10.0.2.0, delivered
    // already.
    sim.setInterleavingHook((op) => {
      if (op !== "mapLookupBatch") return;
      calls++;
      if (calls === 4) expect(sim.datapath.delete({ fd: m.getFd() }, kb)).toBe(0);
      if (calls === 5) expect(sim.datapath.update({ fd: m.getFd() }, kb, new Uint8Array(4), 0)).toBe(0);
    });
    const delivered: string[] = [];
    const stats = newDumpStats(m);
    try {
      m.dumpReliablyWithCallback((k) => delivered.push(k.data), stats, { algorithm: "batch", batchSize: 1 });
    } finally {
      sim.setInterleavingHook(null);
    }
    expect(calls).toBeGreaterThanOrEqual(6);
    expect(stats.completed).toBe(true);
    expect(delivered).toEqual(keys.map((p) => p.data));
    expect(stats.delivered).toBe(5);
  });
});

it("lpmKeyOrder caps a prefix length at the data's bits, as the trie does: /40 of 4 bytes is /32", () => {
  const k = (prefixLen: number) => {
    const b = new Uint8Array(8 + 8);
    key.encode({ prefixLen: 32, data: "10.1.2.3" }, b);
    new DataView(b.buffer).setUint32(0, prefixLen, true);
    // What follows the key (the next key of a packed batch buffer) is never read.
    b.fill(0xff, 8);
    return b;
  };
  expect(lpmKeyOrder(k(40), 0, k(32), 0, 4)).toBe(0);
  expect(lpmKeyOrder(k(0xffffffff), 0, k(32), 0, 4)).toBe(0);
  expect(lpmKeyOrder(k(40), 0, k(31), 0, 4)).toBeLessThan(0);
});
