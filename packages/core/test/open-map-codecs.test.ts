// bpf.openMap with codecs: a map pinned by someone else, opened typed. The codecs must fit the
// map's key and value sizes (per-CPU values: every CPU's slot); then the map reads, writes and
// dumps like one from newMap. A misfit is a RangeError naming the path, and no fd is left open.
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, MapType, newDumpStats, perCpuValues, u16, u32, u64, type BpfMap,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, openFdsOf, type World } from "./support/bpf-world.js";

forEachDriver("openMap with codecs", (d) => {
  let w: World;
  const maps: Array<BpfMap<any, any>> = [];
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => {
    for (const m of maps.splice(0)) m.close();
    w.dispose();
  });
  const keep = <M extends BpfMap<any, any>>(m: M): M => {
    maps.push(m);
    return m;
  };

  it("a pinned map opened with fitting codecs reads, writes and dumps typed", () => {
    const made = keep(w.bpf.newMap({ name: "corea_typed", type: MapType.Hash, key: u32, value: u64, maxEntries: 16, flags: BPF_F_NO_PREALLOC }));
    made.openOrCreate();
    for (let k = 1; k <= 5; k++) made.update(k, BigInt(k) * 100n);

    const opened = keep(w.bpf.openMap("corea_typed", { key: u32, value: u64 }));
    expect(opened.lookup(3)).toBe(300n);
    expect(opened.lookup(9)).toBeUndefined();
    opened.update(6, 600n);
    expect(made.lookup(6)).toBe(600n);
    const seen = new Map<number, bigint>();
    const stats = newDumpStats(opened);
    opened.dumpReliablyWithCallback((k, v) => seen.set(k, v), stats);
    expect(stats.completed).toBe(true);
    expect([...seen.entries()].sort((a, b) => a[0] - b[0])).toEqual([1, 2, 3, 4, 5, 6].map((k) => [k, BigInt(k) * 100n]));
    expect([...opened.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("a dump parser given with the codecs shapes the dump", () => {
    const made = keep(w.bpf.newMap({ name: "corea_parsed", type: MapType.Hash, key: u32, value: u64, maxEntries: 4, flags: BPF_F_NO_PREALLOC }));
    made.openOrCreate();
    made.update(2, 20n);
    const opened = keep(w.bpf.openMap("corea_parsed", {
      key: u32, value: u64,
      dumpParser: (kb, vb, kc, vc, out) => {
        out.key = kc.decode(kb) * 10;
        out.value = vc.decode(vb) + 1n;
        return out;
      },
    }));
    const got: Array<[number, bigint]> = [];
    opened.dumpWithCallback((k, v) => got.push([k, v]));
    expect(got).toEqual([[20, 21n]]);
  });

  it("per-CPU values open through perCpuValues over every possible CPU", () => {
    const cpus = w.driver.possibleCpus;
    const made = keep(w.bpf.newPerCpuHashMap({ name: "corea_pcpu", key: u32, value: u32, maxEntries: 4, flags: BPF_F_NO_PREALLOC }));
    made.openOrCreate();
    made.update(1, Array.from({ length: cpus }, (_, i) => i + 7));
    const opened = keep(w.bpf.openMap("corea_pcpu", { key: u32, value: perCpuValues(u32, cpus) }));
    expect(opened.lookup(1)).toEqual(Array.from({ length: cpus }, (_, i) => i + 7));
    expect(() => w.bpf.openMap("corea_pcpu", { key: u32, value: u32 })).toThrow(/the value codec is 4 bytes.*perCpuValues/);
  });

  it("codecs that do not fit are a RangeError naming the path, and leave no fd or registration", () => {
    const made = keep(w.bpf.newMap({ name: "corea_misfit", type: MapType.Hash, key: u32, value: u64, maxEntries: 4, flags: BPF_F_NO_PREALLOC }));
    made.openOrCreate();
    const fds = openFdsOf(w.driver);
    const path = w.bpf.mapPath("corea_misfit");
    expect(() => w.bpf.openMap("corea_misfit", { key: u16, value: u64 }))
      .toThrow(new RangeError(`openMap ${path}: the key codec is 2 bytes, the map's keys are 4`));
    expect(() => w.bpf.openMap("corea_misfit", { key: u32, value: u32 }))
      .toThrow(new RangeError(`openMap ${path}: the value codec is 4 bytes, the map's values are 8`));
    expect(() => w.bpf.openMap("corea_misfit", { key: u32 } as never))
      .toThrow(new TypeError(`openMap ${path}: value must be a Codec (size, encode, decode)`));
    expect(w.bpf.getMap("corea_misfit")).toBe(made);
    expect(openFdsOf(w.driver)).toBe(fds);
  });
});
