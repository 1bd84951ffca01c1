// The opt-in kernel name of a map (MapSpec.kernelName, the createMap/openOrCreateMap option):
// every create passes it, the kernel lists it, a name the kernel would refuse is refused before
// any syscall, and without one the map is nameless as in the seed.
import { expect, it } from "vitest";
import {
  BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC, createBpf, driverMethodNames, kernelNameProblem, silentLogger, u32, u64,
  wrapDriver, type Bpf, type DriverOverrides, type MapCreateAttr,
} from "@bpfkit/core";
import { eachDriver, testMapSpec, type Env } from "./support/env.js";
import { thrown } from "./support/thrown.js";

/** The name bpf_map_info gives for the map open at `fd`. */
const nameOf = (env: Env, fd: number): string => env.bpf.getMapInfoByFd(fd).name;

/** The name the id listing (GET_NEXT_ID, GET_FD_BY_ID, info) gives for the map open at `fd`. */
function listedName(env: Env, fd: number): string | undefined {
  const want = env.bpf.getMapInfoByFd(fd).id;
  for (let id = env.driver.mapGetNextId(0); id > 0; id = env.driver.mapGetNextId(id)) {
    if (id !== want) continue;
    const byId = env.bpf.mapFdFromId(id);
    try {
      return nameOf(env, byId);
    } finally {
      env.bpf.objClose(byId);
    }
  }
  return undefined;
}

/** A Bpf over `env`'s driver and root whose every driver call is recorded in `calls`. */
function spiedBpf(env: Env, record?: (attr: MapCreateAttr) => void): { bpf: Bpf; calls: string[] } {
  const calls: string[] = [];
  const overrides: Record<string, unknown> = {};
  for (const m of driverMethodNames) {
    overrides[m] = (...args: unknown[]) => {
      calls.push(m);
      if (m === "mapCreate") record?.(args[0] as MapCreateAttr);
      return (env.driver[m] as (...a: unknown[]) => unknown)(...args);
    };
  }
  const driver = wrapDriver(env.driver, overrides as DriverOverrides);
  return { bpf: createBpf({ driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: silentLogger }), calls };
}

const RULE = "at most 15 bytes of A-Z a-z 0-9 _ .";

it("kernelNameProblem is the kernel's bpf_obj_name_cpy rule", () => {
  for (const ok of ["", "a", "ok_name.1", "abcdefghijklmno", "...", "CT4_Global", "AZaz09_."]) expect(kernelNameProblem(ok), ok).toBeUndefined();
  expect(kernelNameProblem("abcdefghijklmnop")).toBe(`is 16 bytes; a kernel map name is ${RULE}`);
  expect(kernelNameProblem("a-b")).toBe(`holds "-"; a kernel map name is ${RULE}`);
  expect(kernelNameProblem("a/b")).toBe(`holds "/"; a kernel map name is ${RULE}`);
  expect(kernelNameProblem("a\0")).toBe(`holds a NUL byte; a kernel map name is ${RULE}`);
  // Not a byte count problem: é is two bytes, but no byte of it is in the set.
  expect(kernelNameProblem("caf\u00e9")).toBe(`holds "\u00e9"; a kernel map name is ${RULE}`);
  expect(kernelNameProblem("\u{1f600}")).toBe(`holds "\u{1f600}"; a kernel map name is ${RULE}`);
  expect(kernelNameProblem(7)).toBe("must be a string, got 7");
  expect(kernelNameProblem(null)).toBe("must be a string, got null");
});

eachDriver("map kernel name", (get) => {
  it("openOrCreate names the map: getMapInfoByFd and the id listing show it", () => {
    const env = get();
    const m = env.map({ ...testMapSpec("cilium_named"), kernelName: "ct4_global" });
    expect(m.openOrCreate()).toBe(true);
    expect(nameOf(env, m.getFd())).toBe("ct4_global");
    expect(listedName(env, m.getFd())).toBe("ct4_global");
    // The longest name the kernel takes, on the unpinned create and a per-CPU map too.
    const u = env.map({ ...testMapSpec("cilium_unpinned"), kernelName: "abcdefghijklmno" });
    expect(u.openOrCreateUnpinned()).toBe(true);
    expect(nameOf(env, u.getFd())).toBe("abcdefghijklmno");
    const p = env.track(env.bpf.newPerCpuHashMap({ name: "cilium_pcpu", key: u32, value: u64, maxEntries: 4, kernelName: "PCPU.v2" }));
    expect(p.openOrCreate()).toBe(true);
    expect(listedName(env, p.getFd())).toBe("PCPU.v2");
  });

  it("info() is what the kernel says of the map now: the pin's own name and id, opening a pinned map first", () => {
    const env = get();
    const made = env.map({ ...testMapSpec("cilium_info"), kernelName: "info_v1" });
    made.openOrCreate();
    // Another object for the same pin, with no kernel name of its own and not open yet.
    const other = env.map(testMapSpec("cilium_info"));
    other.close();
    const info = other.info();
    expect(other.isOpen()).toBe(true);
    expect(info).toMatchObject({ name: "info_v1", id: env.bpf.getMapInfoByFd(made.getFd()).id, keySize: 4, valueSize: 4, maxEntries: 16 });
    expect(info.mapFlags & BPF_F_NO_PREALLOC).toBe(BPF_F_NO_PREALLOC);
    // A map that cannot be opened says so, naming the map and the op.
    const missing = env.map(testMapSpec("cilium_nothing"));
    const e = thrown(() => missing.info()) as Error & { op?: string; map?: string };
    expect([e.op, e.map]).toEqual(["info", "cilium_nothing"]);
    expect(e.message).toMatch(/openOrCreate\(\) creates it/);
  });

  it("info() on an open map whose BPF_OBJ_GET_INFO_BY_FD fails names the map and the op", () => {
    const env = get();
    let refuse = false;
    const driver = wrapDriver(env.driver, { objGetInfoByFd: (fd, buf) => (refuse ? -13 : env.driver.objGetInfoByFd(fd, buf)) });
    const bpf = createBpf({ driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: silentLogger });
    const m = env.track(bpf.newMap(testMapSpec("cilium_infofail")));
    m.openOrCreate();
    refuse = true; // EACCES, as the kernel answers for an fd opened without read access to the info
    const e = thrown(() => m.info()) as Error & { op?: string; map?: string; code?: string };
    expect([e.op, e.map, e.code]).toEqual(["info", "cilium_infofail", "EACCES"]);
    expect(e.message).toMatch(/^info cilium_infofail: /);
    expect(m.isOpen()).toBe(true);
  });

  it("without kernelName the map is nameless, and the create attr has no map_name (the seed's)", () => {
    const env = get();
    const attrs: MapCreateAttr[] = [];
    const { bpf } = spiedBpf(env, (a) => attrs.push(a));
    const m = env.track(bpf.newMap(testMapSpec("cilium_plain")));
    expect(m.openOrCreate()).toBe(true);
    expect(nameOf(env, m.getFd())).toBe("");
    expect(listedName(env, m.getFd())).toBe("");
    // "" is no name as well.
    const e = env.track(bpf.newMap({ ...testMapSpec("cilium_empty"), kernelName: "" }));
    e.openOrCreate();
    expect(nameOf(env, e.getFd())).toBe("");
    expect(attrs.length).toBeGreaterThanOrEqual(2);
    for (const a of attrs) expect("mapName" in a).toBe(false);
  });

  it("a name the kernel would refuse is refused by newMap, naming the map and the rule, before any syscall", () => {
    const env = get();
    const { bpf, calls } = spiedBpf(env);
    const cases: Array<[unknown, ErrorConstructor, string]> = [
      ["abcdefghijklmnop", RangeError, `newMap cilium_bad: kernelName "abcdefghijklmnop" is 16 bytes; a kernel map name is ${RULE}`],
      ["cilium-ct", TypeError, `newMap cilium_bad: kernelName "cilium-ct" holds "-"; a kernel map name is ${RULE}`],
      ["tc/ct", TypeError, `newMap cilium_bad: kernelName "tc/ct" holds "/"; a kernel map name is ${RULE}`],
      [42, TypeError, "newMap cilium_bad: kernelName must be a string, got 42"],
    ];
    for (const [kernelName, Ctor, message] of cases) {
      const e = thrown(() => bpf.newMap({ ...testMapSpec("cilium_bad"), kernelName: kernelName as string }));
      expect(e, String(kernelName)).toBeInstanceOf(Ctor);
      expect(e.message).toBe(message);
    }
    // newPerCpuHashMap goes through the same check, and its errors name it.
    expect(() => bpf.newPerCpuHashMap({ name: "cilium_pcpu_bad", key: u32, value: u64, maxEntries: 4, kernelName: "a-b" }))
      .toThrow(`newPerCpuHashMap cilium_pcpu_bad: kernelName "a-b" holds "-"`);
    expect(calls).toEqual([]);
    expect(env.driver.host.stat(env.bpf.mapPath("cilium_bad")).errno).not.toBe(0);
  });

  it("the re-create of a changed pinned map keeps the name (openOrCreate and checkAndUpgrade)", () => {
    const env = get();
    const spec = { ...testMapSpec("cilium_up"), kernelName: "up_v1" };
    const first = env.map(spec);
    first.openOrCreate();
    const oldId = env.bpf.getMapInfoByFd(first.getFd()).id;
    first.close();
    // openOrCreate's property check: max entries changed, so the pin is replaced.
    const grown = env.map({ ...spec, maxEntries: 32 });
    expect(grown.openOrCreate()).toBe(true);
    const grownInfo = env.bpf.getMapInfoByFd(grown.getFd());
    expect([grownInfo.id === oldId, grownInfo.maxEntries, grownInfo.name]).toEqual([false, 32, "up_v1"]);
    // checkAndUpgrade unpins; the next openOrCreate creates the spec's map, named.
    expect(grown.checkAndUpgrade({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 64, flags: BPF_F_NO_PREALLOC })).toBe(true);
    grown.close();
    expect(grown.openOrCreate()).toBe(true);
    const again = env.bpf.getMapInfoByFd(grown.getFd());
    expect([again.id === grownInfo.id, again.name]).toEqual([false, "up_v1"]);
    expect(listedName(env, grown.getFd())).toBe("up_v1");
  });

  it("openParallel's new map is named", () => {
    const env = get();
    const spec = { ...testMapSpec("cilium_par"), kernelName: "par" };
    const old = env.map(spec);
    old.openOrCreate();
    const oldId = env.bpf.getMapInfoByFd(old.getFd()).id;
    const parallel = env.map(spec);
    expect(parallel.openParallel()).toBe(true);
    const info = env.bpf.getMapInfoByFd(parallel.getFd());
    expect([info.id === oldId, info.name]).toEqual([false, "par"]);
  });

  it("a pinned map with another kernel name is compatible: opened as it is, name and data kept", () => {
    const env = get();
    const a = env.map({ ...testMapSpec("cilium_keep"), kernelName: "first" });
    a.openOrCreate();
    a.update(1, 10);
    const id = env.bpf.getMapInfoByFd(a.getFd()).id;
    for (const kernelName of ["second", undefined]) {
      const b = env.map({ ...testMapSpec("cilium_keep"), ...(kernelName !== undefined ? { kernelName } : {}) });
      expect(b.openOrCreate()).toBe(false);
      const info = env.bpf.getMapInfoByFd(b.getFd());
      expect([info.id, info.name, b.lookup(1)]).toEqual([id, "first", 10]);
      // deepEquals does not compare the kernel name either (documented on MapSpec.kernelName).
      expect(b.deepEquals(a)).toBe(true);
    }
    expect(env.logs.filter((r) => r.level === "warn")).toEqual([]);
  });

  it("bpf.createMap and bpf.openOrCreateMap take { kernelName }, the upgrade included", () => {
    const env = get();
    const { bpf } = env;
    const fds: number[] = [];
    env.track({ close: () => fds.forEach((f) => bpf.objClose(f)) });
    const fd = bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_NO_PREALLOC, 0, "raw", { kernelName: "raw_map" });
    fds.push(fd);
    expect(nameOf(env, fd)).toBe("raw_map");
    const path = bpf.mapPath("cilium_ooc");
    const a = bpf.openOrCreateMap(path, BPF_MAP_TYPE_HASH, 4, 4, 8, BPF_F_NO_PREALLOC, 0, true, { kernelName: "ooc" });
    fds.push(a.fd);
    expect([a.isNew, nameOf(env, a.fd)]).toEqual([true, "ooc"]);
    const b = bpf.openOrCreateMap(path, BPF_MAP_TYPE_HASH, 4, 4, 16, BPF_F_NO_PREALLOC, 0, true, { kernelName: "ooc" });
    fds.push(b.fd);
    expect([b.isNew, nameOf(env, b.fd), bpf.getMapInfoByFd(b.fd).id === bpf.getMapInfoByFd(a.fd).id]).toEqual([true, "ooc", false]);
    // Without options, as the seed: no name.
    const plain = bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_NO_PREALLOC, 0, "plain");
    fds.push(plain);
    expect(nameOf(env, plain)).toBe("");
  });

  it("bpf.createMap and bpf.openOrCreateMap refuse a bad kernelName before any syscall, even over an existing pin", () => {
    const env = get();
    const existing = env.map(testMapSpec("cilium_there"));
    existing.openOrCreate();
    const { bpf, calls } = spiedBpf(env);
    expect(() => bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 0, "raw", { kernelName: "raw-map" }))
      .toThrow(new TypeError(`createMap raw: kernelName "raw-map" holds "-"; a kernel map name is ${RULE}`));
    const path = bpf.mapPath("cilium_there");
    const e = thrown(() => bpf.openOrCreateMap(path, BPF_MAP_TYPE_HASH, 4, 4, 16, BPF_F_NO_PREALLOC, 0, true, { kernelName: "x".repeat(16) }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe(`openOrCreateMap ${path}: kernelName "${"x".repeat(16)}" is 16 bytes; a kernel map name is ${RULE}`);
    expect(() => bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 0, "raw", null as never))
      .toThrow(new TypeError("createMap raw: options must be { kernelName?, mapExtra?, btf? }"));
    expect(calls).toEqual([]);
  });
});
