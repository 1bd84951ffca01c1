// simulatorPerCase: a new simulated host per call, on the last one's wasm engine when that one
// holds no map. What a case sees must be what a brand-new simulator shows, or replays diverge.
import { BPF_MAP_TYPE_HASH } from "@bpfkit/core";
import * as simModule from "@bpfkit/driver-wasm-sim";
import { createSimDriver, type SimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { runDumpFuzz, simulatorPerCase } from "@bpfkit/testkit";

const HASH = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 64, mapFlags: 0 };
const key = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

/** What a case observes: the fd and map id it gets, and a hash walk's order (seeded by the id). */
function observe(d: SimDriver): { fd: number; ids: number[]; order: number[] } {
  const fd = d.mapCreate(HASH);
  for (let k = 0; k < 40; k++) expect(d.mapUpdateElem(fd, key(k), key(k), 0)).toBe(0);
  const order: number[] = [];
  const next = new Uint8Array(4);
  for (let r = d.mapGetNextKey(fd, null, next); r === 0; r = d.mapGetNextKey(fd, next, next)) order.push(new Uint32Array(next.buffer)[0]!);
  return { fd, ids: d.liveMapIds(), order };
}

describe("simulatorPerCase", () => {
  it("every simulator shows what a brand-new one shows, on a reused engine when the last holds no map", () => {
    let engines = 0;
    const make = simulatorPerCase({ ...simModule, instantiateEngine: () => (engines++, simModule.instantiateEngine()) }, { possibleCpus: 2 });
    const want = observe(createSimDriver({ possibleCpus: 2 }));
    for (let i = 0; i < 3; i++) {
      const d = make();
      const seen = observe(d);
      expect(seen).toEqual(want);
      d.close(seen.fd); // the case's map is gone: the next simulator may take the engine
    }
    expect(engines).toBe(1);
  });

  it("takes a new engine while the last simulator still holds a map, which stays intact", () => {
    let engines = 0;
    const make = simulatorPerCase({ ...simModule, instantiateEngine: () => (engines++, simModule.instantiateEngine()) }, { possibleCpus: 2 });
    const first = make();
    const { fd } = observe(first);
    const second = make();
    expect(observe(second).order).toEqual(observe(createSimDriver({ possibleCpus: 2 })).order);
    expect(engines).toBe(2);
    const v = new Uint8Array(4);
    expect(first.mapLookupElem(fd, key(7), v)).toBe(0);
    expect(v).toEqual(key(7));
  });

  it("a dump-fuzz run on it counts exactly what a run on a brand-new simulator per case counts", async () => {
    const strip = (r: string) => r.replace(/[\d.]+ s\b/g, "").replace(/[\d,]+ (driver calls|ops)\/s/g, "");
    for (const seed of [1, 2]) {
      const reused = await runDumpFuzz({ runs: 150, seed, algorithm: "all", driver: simulatorPerCase(simModule, { possibleCpus: 2 }) });
      const brandNew = await runDumpFuzz({ runs: 150, seed, algorithm: "all", driver: () => createSimDriver({ possibleCpus: 2 }) });
      expect(reused.report).toMatch(/walk lookups failed [1-9]/); // the datapath got in the way: the counts say something
      expect(strip(reused.report)).toBe(strip(brandNew.report));
    }
  }, 60_000);
});
