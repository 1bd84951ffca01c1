// getMapType (API.md §4.4): LRU and LPM are probed separately, lazily, once per instance.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createBpf, driverMethodNames, driverProber, Errno, hostServiceNames, MapType, memoryLogger, u32, type Driver,
  type MapCreateAttr,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, openFdsOf, type World } from "./support/bpf-world.js";

// The prober is injected, so these need no driver: a Driver-shaped object that fails loudly if
// anything calls it proves the mocked probe is the only thing consulted.
// Every method and host service is there (createBpf checks the shape) and throws if called.
const uncalled = () => { throw new Error("the driver must not be called"); };
const noDriver = {
  kind: "none", possibleCpus: 1,
  host: Object.fromEntries(hostServiceNames.map((n) => [n, uncalled])),
  ...Object.fromEntries(driverMethodNames.map((n) => [n, uncalled])),
} as unknown as Driver;

describe("driverProber over a driver whose answers are given", () => {
  /** A driver answering each create with `answer(attr)` (an fd, or -errno), recording creates and closes. */
  function fake(answer: (a: MapCreateAttr) => number) {
    const log: string[] = [];
    const driver = {
      mapCreate: (a: MapCreateAttr) => {
        const r = answer(a);
        log.push(`create ${a.mapType}${a.innerMapFd !== undefined ? ` inner ${a.innerMapFd}` : ""} → ${r}`);
        return r;
      },
      close: (fd: number) => (log.push(`close ${fd}`), 0),
    } as unknown as Driver;
    return { probe: driverProber(driver), log };
  }

  it("a map-in-map whose inner map cannot be made for want of memory counts as supported; an unknown one does not", () => {
    const nomem = fake((a) => (a.mapType === MapType.Hash ? -Errno.ENOMEM : 9));
    expect(nomem.probe(MapType.HashOfMaps)).toBe(true);
    expect(nomem.log).toEqual([`create ${MapType.Hash} → -${Errno.ENOMEM}`]);
    const unknown = fake((a) => (a.mapType === MapType.Hash ? -Errno.EINVAL : 9));
    expect(unknown.probe(MapType.ArrayOfMaps)).toBe(false);
  });

  it("each type is probed with attrs the kernel takes for it (libbpf's probe_map_create)", () => {
    const attrs = (t: number): MapCreateAttr[] => {
      const seen: MapCreateAttr[] = [];
      const d = { mapCreate: (a: MapCreateAttr) => (seen.push(a), -Errno.EINVAL), close: () => 0 } as unknown as Driver;
      expect(driverProber(d)(t)).toBe(false);
      return seen;
    };
    const one = { keySize: 4, valueSize: 4, maxEntries: 1 };
    expect(attrs(MapType.Hash)).toEqual([{ mapType: MapType.Hash, ...one }]);
    expect(attrs(MapType.LPMTrie)).toEqual([{ mapType: MapType.LPMTrie, ...one, keySize: 8, valueSize: 1, mapFlags: 1 }]); // NO_PREALLOC
    expect(attrs(MapType.StackTrace)).toEqual([{ mapType: MapType.StackTrace, ...one, valueSize: 8 }]);
    for (const t of [19, 21]) expect(attrs(t)).toEqual([{ mapType: t, keySize: 8, valueSize: 8, maxEntries: 0 }]); // cgroup storage
    for (const t of [22, 23, 30]) expect(attrs(t)).toEqual([{ mapType: t, ...one, keySize: 0 }]); // queue, stack, bloom filter
    for (const t of [27, 31]) { // ring buffers: one try per page size
      expect(attrs(t)).toEqual([4096, 16384, 65536].map((page) => ({ mapType: t, keySize: 0, valueSize: 0, maxEntries: page })));
    }
    expect(attrs(33)).toEqual([{ mapType: 33, ...one, keySize: 0, valueSize: 0, mapFlags: 1024 }]); // arena, MMAPABLE
  });

  it("a try that fails other than EINVAL ends the probe: ENOMEM on the first page size counts as supported", () => {
    const answers = [-Errno.ENOMEM, -Errno.EINVAL, -Errno.EINVAL];
    const p = fake(() => answers.shift()!);
    expect(p.probe(27)).toBe(true);
    expect(p.log).toEqual([`create 27 → -${Errno.ENOMEM}`]);
  });

  it("the inner map and the probe map are closed; EPERM says nothing about the type", () => {
    const ok = fake((a) => (a.mapType === MapType.Hash ? 5 : 6));
    expect(ok.probe(MapType.ArrayOfMaps)).toBe(true);
    expect(ok.log).toEqual([`create ${MapType.Hash} → 5`, `create ${MapType.ArrayOfMaps} inner 5 → 6`, "close 6", "close 5"]);
    const eperm = fake(() => -Errno.EPERM);
    expect(eperm.probe(MapType.LRUHash)).toBe(true);
    for (const errno of [Errno.EINVAL, Errno.ENOTSUPP, Errno.EOPNOTSUPP]) expect(fake(() => -errno).probe(MapType.LRUHash)).toBe(false);
  });
});

describe("getMapType with a mocked prober", () => {
  it("a 4.9 kernel (no LRU): LRUHash becomes Hash, LPM stays LPM", () => {
    const asked: number[] = [];
    const bpf = createBpf({ driver: noDriver, logger: memoryLogger(), probe: (t) => { asked.push(t); return t !== MapType.LRUHash; } });
    expect(bpf.getMapType(MapType.LRUHash)).toBe(MapType.Hash);
    expect(bpf.getMapType(MapType.LPMTrie)).toBe(MapType.LPMTrie);
    expect(asked).toEqual([MapType.LRUHash, MapType.LPMTrie]);
  });

  it("no LPM but LRU: only LPM falls back (the seed tied LPM to LRU)", () => {
    const bpf = createBpf({ driver: noDriver, logger: memoryLogger(), probe: (t) => t !== MapType.LPMTrie });
    expect(bpf.getMapType(MapType.LPMTrie)).toBe(MapType.Hash);
    expect(bpf.getMapType(MapType.LRUHash)).toBe(MapType.LRUHash);
  });

  it("probes lazily and once per type per instance; other types are never probed", () => {
    let calls = 0;
    const probe = (): boolean => { calls++; return false; };
    const bpf = createBpf({ driver: noDriver, logger: memoryLogger(), probe });
    for (const t of [MapType.Hash, MapType.Array, MapType.PerCPUHash, MapType.LRUPerCPUHash, MapType.ProgArray]) {
      expect(bpf.getMapType(t)).toBe(t);
    }
    expect(calls).toBe(0);
    for (let i = 0; i < 3; i++) bpf.getMapType(MapType.LRUHash);
    expect(calls).toBe(1);
    const other = createBpf({ driver: noDriver, logger: memoryLogger(), probe });
    other.getMapType(MapType.LRUHash);
    expect(calls).toBe(2);
  });
});

forEachDriver("getMapType probing through the driver", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  it("6.18 has LRU and LPM: both stay themselves", () => {
    expect(w.bpf.getMapType(MapType.LRUHash)).toBe(MapType.LRUHash);
    expect(w.bpf.getMapType(MapType.LPMTrie)).toBe(MapType.LPMTrie);
    expect(w.bpf.haveMapType(MapType.Hash)).toBe(true);
  });

  // EINVAL means "unknown type" and "bad attr" alike, so each type is probed with attrs it takes.
  it("types that refuse a 4-byte key and value are probed with attrs they take (libbpf's), and closed again", () => {
    const fdsBefore = openFdsOf(w.driver);
    // Map-in-map needs an inner map; both drivers have it.
    const types: number[] = [MapType.ArrayOfMaps, MapType.HashOfMaps];
    // QUEUE, STACK, RINGBUF, BLOOM_FILTER and USER_RINGBUF: both have them. STACK_TRACE,
    // CGROUP_STORAGE, PERCPU_CGROUP_STORAGE and ARENA: 6.18 has them; the simulator models none.
    types.push(22, 23, 27, 30, 31);
    if (d.name === "kernel") types.push(MapType.StackTrace, 19, 21, 33);
    expect(types.filter((t) => !w.bpf.haveMapType(t))).toEqual([]);
    expect(openFdsOf(w.driver)).toBe(fdsBefore);
  });

  // Cilium's Open sets the map's type to GetMapType's, as OpenOrCreate does: a map opened from
  // its pin on a kernel without LRU says Hash, as the one that created it does.
  it("open() of a pin reports the type getMapType falls back to, as openOrCreate does", () => {
    const old = makeWorld(d, { probe: (t) => t !== MapType.LRUHash });
    try {
      const spec = { name: "lru", type: MapType.LRUHash, key: u32, value: u32, maxEntries: 4 };
      const made = old.bpf.newMap(spec);
      made.openOrCreate();
      const opened = old.bpf.newMap(spec);
      opened.open();
      expect([made.mapInfo.mapType, opened.mapInfo.mapType]).toEqual([MapType.Hash, MapType.Hash]);
      made.close();
      opened.close();
    } finally {
      old.dispose();
    }
  });

  it("an unknown map type is reported unsupported (EINVAL)", () => {
    expect(w.bpf.haveMapType(200)).toBe(false);
  });

  it("the probe map is closed again: no fd (kernel) and no map (simulator's own world) is left", () => {
    const ids = (): number[] => {
      const out: number[] = [];
      for (let id = w.driver.mapGetNextId(0); id > 0; id = w.driver.mapGetNextId(id)) out.push(id);
      return out;
    };
    const fdsBefore = openFdsOf(w.driver);
    const idsBefore = d.name === "sim" ? ids() : [];
    const fresh = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
    expect(fresh.haveMapType(MapType.LRUHash)).toBe(true);
    expect(fresh.haveMapType(MapType.LPMTrie)).toBe(true);
    expect(openFdsOf(w.driver)).toBe(fdsBefore);
    if (d.name === "sim") expect(ids()).toEqual(idsBefore);
  });
});
