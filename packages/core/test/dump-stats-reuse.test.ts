// One DumpStats passed to every run of a long-lived GC, as Cilium's conntrack GC keeps one per
// map: each dump has its own 4 × MaxEntries lookup budget (the seed's walk resets `lookup` in its
// loop), whatever the algorithm, so the GC never starts failing with MaxLookupError after a few
// runs, and `completed` says whether this dump completed. The other counters add up over the
// runs, as in the seed.
import { expect, it } from "vitest";
import { MaxLookupError, newDumpStats, type DumpAlgorithmChoice } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";

eachDriver("a DumpStats reused across dumps", (get) => {
  for (const algorithm of ["walk", "batch", "auto"] as DumpAlgorithmChoice[]) {
    it(`${algorithm}: every dump gets the whole budget; lookup counts that dump only`, () => {
      const env = get();
      const m = env.map({ ...testMapSpec(), maxEntries: 8 });
      m.openOrCreate();
      for (let k = 0; k < 6; k++) m.update(k, k);
      const stats = newDumpStats(m);
      // 6 lookups a dump against a budget of 32: the sixth dump would pass it if lookups added up.
      for (let run = 1; run <= 10; run++) {
        const seen: number[] = [];
        m.dumpReliablyWithCallback((k) => seen.push(k), stats, { algorithm });
        expect(seen.sort((a, b) => a - b), `run ${run}`).toEqual([0, 1, 2, 3, 4, 5]);
        expect(stats.completed, `run ${run}`).toBe(true);
        expect(stats.lookup, `run ${run}`).toBe(6);
        expect(stats.delivered, `run ${run}`).toBe(6 * run);
      }
    });

    it(`${algorithm}: a dump that gives up after one that completed leaves completed false`, () => {
      const env = get();
      const m = env.map({ ...testMapSpec(), maxEntries: 8 });
      m.openOrCreate();
      m.update(1, 1);
      const stats = newDumpStats(m);
      m.dumpReliablyWithCallback(undefined, stats, { algorithm });
      expect(stats.completed).toBe(true);
      stats.maxEntries = 0;   // a budget of 0: any non-empty map gives up
      expect(() => m.dumpReliablyWithCallback(undefined, stats, { algorithm })).toThrow(MaxLookupError);
      expect(stats.completed).toBe(false);
    });
  }
});
