// bpf.openMap with codecs: a map pinned by someone else, opened typed. The codecs must fit the
// map's key and value sizes (per-CPU values: every CPU's slot); then the map reads, writes and
// dumps like one from newMap. A misfit is a RangeError naming the path, and no fd is left open.
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BpfError, Errno, MapType, newDumpStats, perCpuValues, rawCodecs, u16, u32, u64, type BpfMap, type OpenedMapShape,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, openFdsOf, type World } from "./support/bpf-world.js";
import { thrown } from "./support/thrown.js";

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

  it("rawCodecs opens a map with byte keys and values that dump and iterate, which openMap without codecs refuses", () => {
    const made = keep(w.bpf.newMap({ name: "corea_raw", type: MapType.Hash, key: u32, value: u64, maxEntries: 8, flags: BPF_F_NO_PREALLOC }));
    made.openOrCreate();
    made.update(0x01020304, 0x0aa0n);
    made.update(7, 1n);
    expect(() => keep(w.bpf.openMap("corea_raw")).dumpWithCallback(() => {})).toThrow(/or with rawCodecs for bytes, to dump it$/);
    const raw = keep(w.bpf.openMap("corea_raw", rawCodecs));
    const got = new Map<string, string>();
    raw.dumpWithCallback((k, v) => got.set(Buffer.from(k).toString("hex"), Buffer.from(v).toString("hex")));
    expect(got).toEqual(new Map([["04030201", "a00a000000000000"], ["07000000", "0100000000000000"]]));
    expect([...raw.keys()].map((k) => k.length)).toEqual([4, 4]);
    // The string dump formats both as hex, as the CLI would show a map it has no types for.
    expect([...raw.dump().entries()].sort()).toEqual([["04030201", ["a00a000000000000"]], ["07000000", ["0100000000000000"]]]);
    raw.update(Uint8Array.of(9, 0, 0, 0), Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0));
    expect(made.lookup(9)).toBe(2n);
  });

  it("rawCodecs sizes a per-CPU value as every possible CPU's slot; a chooser is told the map's shape", () => {
    const cpus = w.driver.possibleCpus;
    const made = keep(w.bpf.newPerCpuHashMap({ name: "corea_rawpc", kernelName: "rawpc", key: u32, value: u32, maxEntries: 6, flags: BPF_F_NO_PREALLOC }));
    made.openOrCreate();
    made.update(1, Array.from({ length: cpus }, (_, i) => i + 1));
    const raw = keep(w.bpf.openMap("corea_rawpc", rawCodecs));
    const v = raw.lookup(Uint8Array.of(1, 0, 0, 0))!;
    expect(v.length).toBe(8 * cpus);
    expect(Array.from({ length: cpus }, (_, i) => v[8 * i])).toEqual(Array.from({ length: cpus }, (_, i) => i + 1));

    const shapes: OpenedMapShape[] = [];
    const typed = keep(w.bpf.openMap("corea_rawpc", (shape) => {
      shapes.push(shape);
      return { key: u32, value: perCpuValues(u32, shape.possibleCpus) };
    }));
    expect(typed.lookup(1)).toEqual(Array.from({ length: cpus }, (_, i) => i + 1));
    expect(shapes).toEqual([{
      name: "rawpc", type: MapType.PerCPUHash, keySize: 4, valueSize: 4, userValueSize: 8 * cpus, possibleCpus: cpus,
      maxEntries: 6, flags: BPF_F_NO_PREALLOC, // 6: no other size of the map is 6
      btf: expect.any(Function),
    }]);
    expect(shapes[0]!.btf()).toBeNull(); // made without BTF
  });

  it("a chooser that throws, returns nothing or returns misfits is an error naming the path, and leaves no fd or registration", () => {
    const made = keep(w.bpf.newMap({ name: "corea_choose", type: MapType.Hash, key: u32, value: u64, maxEntries: 4, flags: BPF_F_NO_PREALLOC }));
    made.openOrCreate();
    const fds = openFdsOf(w.driver);
    const path = w.bpf.mapPath("corea_choose");
    const why = new RangeError("no layout for this map");
    const e = thrown(() => w.bpf.openMap("corea_choose", () => { throw why; }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe(`openMap ${path}: the codec chooser threw: no layout for this map`);
    expect(e.cause).toBe(why); // the chooser's own error and stack stay reachable
    // A syscall's refusal (btfCodecs reading BTF by id without CAP_SYS_ADMIN) keeps its errno.
    const eperm = new BpfError({ errno: Errno.EPERM, op: "BPF_BTF_GET_FD_BY_ID", message: "Unable to open BTF id 7: operation not permitted" });
    const e2 = thrown(() => w.bpf.openMap("corea_choose", () => { throw eperm; }));
    expect(e2).toBeInstanceOf(BpfError);
    expect(e2).toMatchObject({ errno: Errno.EPERM, op: "openMap" });
    expect(e2.message).toBe(`openMap ${path}: Unable to open BTF id 7: operation not permitted`);
    expect(() => w.bpf.openMap("corea_choose", (() => undefined) as never))
      .toThrow(new TypeError(`openMap ${path}: the codec chooser returned undefined, not { key, value }`));
    expect(() => w.bpf.openMap("corea_choose", () => ({ key: u32, value: u64, dumpparser: () => undefined }) as never))
      .toThrow(new TypeError(`openMap ${path}: unknown codecs key "dumpparser" (did you mean "dumpParser"?)`));
    expect(() => w.bpf.openMap("corea_choose", () => ({ key: u16, value: u64 })))
      .toThrow(new RangeError(`openMap ${path}: the key codec is 2 bytes, the map's keys are 4`));
    expect(() => w.bpf.openMap("corea_choose", "raw" as never))
      .toThrow(new TypeError(`openMap ${path}: codecs must be { key, value } or a function choosing them (rawCodecs)`));
    expect(w.bpf.getMap("corea_choose")).toBe(made);
    expect(openFdsOf(w.driver)).toBe(fds);
  });

  it("openMapById takes a chooser too, told the map's kernel name", () => {
    const made = keep(w.bpf.newMap({ name: "corea_byid", kernelName: "byid_k", type: MapType.Array, key: u32, value: u32, maxEntries: 2 }));
    made.openOrCreate();
    made.update(1, 5);
    const id = w.bpf.getMapInfoByFd(made.getFd()).id;
    let told = "";
    const m = keep(w.bpf.openMapById(id, (shape) => {
      told = shape.name;
      return rawCodecs(shape);
    }));
    expect(told).toBe("byid_k");
    expect([...m.entries()].map(([k, v]) => [k[0], v[0]])).toEqual([[0, 0], [1, 5]]);
  });
});
