// The per-instance registry and openMap (API.md §4.7): what is open is listed, only the owner
// unregisters, and openMap never leaks its fd.
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, createBpf, DUMMY_PROG_INSNS, encodeToBytes, isNotExist, MapType, memoryLogger, ProgType, u32, u64,
  type BpfMap,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, openFdsOf, type World } from "./support/bpf-world.js";

forEachDriver("registry and openMap", (d) => {
  let w: World;
  const maps: Array<BpfMap<any, any>> = [];
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => {
    for (const m of maps.splice(0)) m.close();
    w.dispose();
  });
  const newMap = (name: string, bpf = w.bpf): BpfMap<number, bigint> => {
    const m = bpf.newMap({ name, type: MapType.Hash, key: u32, value: u64, maxEntries: 8, flags: BPF_F_NO_PREALLOC });
    maps.push(m);
    return m;
  };

  it("open maps are listed by getOpenMaps and found by name or path until closed", () => {
    const a = newMap("corea_a");
    const b = newMap("corea_b");
    a.openOrCreate();
    b.openOrCreate();
    expect(w.bpf.getMap("corea_a")).toBe(a);
    expect(w.bpf.getMap(w.bpf.mapPath("corea_b"))).toBe(b);
    expect(w.bpf.getOpenMaps().map((m) => m.path).sort()).toEqual([w.bpf.mapPath("corea_a"), w.bpf.mapPath("corea_b")]);
    a.close();
    expect(w.bpf.getMap("corea_a")).toBeUndefined();
    expect(w.bpf.getOpenMaps().map((m) => m.path)).toEqual([w.bpf.mapPath("corea_b")]);
    expect(w.logs.filter((r) => r.msg === "Registered BPF map").length).toBe(2);
    expect(w.logs.filter((r) => r.msg === "Unregistered BPF map").length).toBe(1);
  });

  it("unregisterMap removes a path only for the object registered there", () => {
    const a = newMap("corea_same");
    a.openOrCreate();
    const other = newMap("corea_same");
    w.bpf.unregisterMap(a.path(), other);
    expect(w.bpf.getMap("corea_same")).toBe(a);
    w.bpf.unregisterMap(a.path(), a);
    expect(w.bpf.getMap("corea_same")).toBeUndefined();
  });

  it("closing the second object opened at a path gives the first, still open, back to getMap and getOpenMaps", () => {
    const a = newMap("corea_twice");
    a.openOrCreate();
    const b = newMap("corea_twice");
    b.open();
    expect(w.bpf.getMap("corea_twice")).toBe(b);
    b.close();
    expect(w.bpf.getMap("corea_twice")).toBe(a);
    expect(w.bpf.getOpenMaps().map((m) => m.path)).toEqual([a.path()]);
    // Reopened, b is the newest again; a closed first leaves b registered.
    b.open();
    a.close();
    expect(w.bpf.getMap("corea_twice")).toBe(b);
    b.close();
    expect(w.bpf.getMap("corea_twice")).toBeUndefined();
    expect(w.bpf.getOpenMaps()).toEqual([]);
  });

  it("each Bpf has its own registry", () => {
    const other = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
    newMap("corea_mine").openOrCreate();
    expect(w.bpf.getMap("corea_mine")).toBeDefined();
    expect(other.getMap("corea_mine")).toBeUndefined();
    expect(other.getOpenMaps()).toEqual([]);
  });

  it("openMap by name or absolute path gives a registered byte-level view of the pinned map", () => {
    const m = newMap("corea_open");
    m.openOrCreate();
    m.update(7, 70n);
    const byName = w.bpf.openMap("corea_open");
    maps.push(byName);
    expect(w.bpf.getMap("corea_open")).toBe(byName);
    expect([...byName.lookup(encodeToBytes(u32, 7))!]).toEqual([...encodeToBytes(u64, 70n)]);
    const byPath = w.bpf.openMap(`${w.bpf.mapPrefixPath()}/./corea_open`);
    maps.push(byPath);
    expect(byPath.path()).toBe(w.bpf.mapPath("corea_open"));
    // A pin outside the map prefix keeps its own path (not the prefix's path for its name).
    const far = `${w.fs.path}/elsewhere/corea_open`;
    expect(w.driver.host.mkdirAll(`${w.fs.path}/elsewhere`, 0o755)).toBe(0);
    expect(w.driver.objPin(m.getFd(), far)).toBe(0);
    const byFarPath = w.bpf.openMap(far);
    maps.push(byFarPath);
    expect([byFarPath.path(), byFarPath.name()]).toEqual([far, "corea_open"]);
    expect(w.bpf.getMap(far)).toBe(byFarPath);
  });

  it("openMap of a missing pin throws isNotExist naming it; of a pinned program, a clear error; no fd is left open", () => {
    const fds = openFdsOf(w.driver);
    let err: unknown;
    try {
      w.bpf.openMap("corea_missing");
    } catch (e) {
      err = e;
    }
    expect(isNotExist(err)).toBe(true);
    const missing = w.bpf.mapPath("corea_missing");
    expect(err).toMatchObject({ code: "ENOENT", op: "openMap", path: missing });
    expect(String(err)).toBe(`BpfError: openMap ${missing}: Unable to get object ${missing}: no such file or directory`);
    const prog = w.driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license: "GPL" });
    expect(prog).toBeGreaterThanOrEqual(0);
    const progPath = `${w.bpf.mapPrefixPath()}/corea_prog`;
    expect(w.driver.host.mkdirAll(w.bpf.mapPrefixPath(), 0o755)).toBe(0);
    expect(w.driver.objPin(prog, progPath)).toBe(0);
    w.driver.close(prog);
    let progErr: unknown;
    try {
      w.bpf.openMap("corea_prog");
    } catch (e) {
      progErr = e;
    }
    // The error says which pin, not only an fd that is closed by now.
    expect(progErr).toMatchObject({ code: "EINVAL", op: "openMap", path: progPath });
    expect(String(progErr)).toMatch(new RegExp(`^BpfError: openMap ${progPath}: .*it is a program, not a map`));
    expect(w.bpf.getMap("corea_prog")).toBeUndefined();
    expect(openFdsOf(w.driver)).toBe(fds);
  });

  it("bad names are refused before anything is opened", () => {
    expect(() => w.bpf.openMap("../x")).toThrow(/openMap: invalid map name/);
    expect(() => w.bpf.getMap("a/b")).toThrow(/getMap: invalid map name/);
    expect(() => w.bpf.openMap("/a\0b")).toThrow(TypeError);
  });

  it("unpinMapIfExists removes a pin and is quiet when there is none", () => {
    const m = newMap("corea_unpin");
    m.openOrCreate();
    const p = m.path();
    w.bpf.unpinMapIfExists("corea_unpin");
    expect(w.driver.host.stat(p).errno).toBe(2);
    w.bpf.unpinMapIfExists("corea_unpin");
    w.bpf.unpinMapIfExists("corea_never");
  });

  it("newPerCpuHashMap makes values of possibleCpus elements", () => {
    const m = w.bpf.newPerCpuHashMap({ name: "corea_pcpu", key: u32, value: u64, maxEntries: 4 });
    maps.push(m);
    m.openOrCreate();
    const vals = Array.from({ length: w.driver.possibleCpus }, (_, i) => BigInt(i + 1));
    m.update(1, vals);
    expect(m.lookup(1)).toEqual(vals);
    expect(w.bpf.getMapInfo(m.getFd()).mapType).toBe(MapType.PerCPUHash);
  });
});
