// openOrCreate over a pin it must not adopt: what open() refuses, openOrCreate refuses with the
// same EINVAL, its fd closed. The seed's objCheck read "cannot get map info" as "no upgrade",
// and never re-creates a PROG_ARRAY, so both handed back a map every later call failed on.
import { expect, it } from "vitest";
import { BpfError, DUMMY_PROG_INSNS, Errno, MapType, memoryLogger, createBpf, ProgType, u32, u64, wrapDriver } from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

eachDriver("openOrCreate over an existing pin", (get, kind) => {
  const fds = (): number => openFdsOf(get().driver);
  const spec = { name: "cilium_ct4", type: MapType.Hash, key: u32, value: u32, maxEntries: 4 };

  /** What `op` of a fresh map object throws, with the object and the fd count checked after it. */
  function refusal(op: "open" | "openOrCreate" | "openOrCreateUnpinned" | "openParallel", s: typeof spec = spec): BpfError {
    const env = get();
    const m = env.map(s);
    const before = fds();
    const registered = env.bpf.getOpenMaps();
    const e = thrownBpfError(() => m[op]());
    expect([m.getFd(), m.isOpen()]).toEqual([-1, false]);
    expect(fds()).toBe(before);
    expect(env.bpf.getOpenMaps()).toEqual(registered);
    return e;
  }

  it("a pinned program is refused as open() refuses it, and stays pinned", () => {
    const env = get();
    env.driver.host.mkdirAll(env.bpf.mapPrefixPath(), 0o755);
    const prog = env.driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license: "GPL" });
    try {
      env.bpf.objPin(prog, env.bpf.mapPath("cilium_ct4"));
    } finally {
      env.driver.close(prog);
    }
    const byOpen = refusal("open");
    expect([byOpen.code, byOpen.op]).toEqual(["EINVAL", "open"]);
    expect(byOpen.message).toMatch(/^open cilium_ct4: .*it is a program, not a map/);
    for (const op of ["openOrCreate", "openOrCreateUnpinned"] as const) {
      const e = refusal(op);
      expect([e.code, e.op, e.map, e.path]).toEqual(["EINVAL", op, "cilium_ct4", env.bpf.mapPath("cilium_ct4")]);
      expect(e.message.replace(/descriptor \d+/, "descriptor N")).toBe(byOpen.message.replace(/^open/, op).replace(/descriptor \d+/, "descriptor N"));
    }
    // openParallel replaces what is pinned, but only a map: the program is refused the same way.
    const parallel = refusal("openParallel");
    expect([parallel.code, parallel.op]).toEqual(["EINVAL", "openParallel"]);
    expect(parallel.message).toMatch(/it is a program, not a map/);
    const path = env.bpf.mapPath("cilium_ct4");
    expect(() => env.bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 4, 0, 0, true)).toThrow(/it is a program, not a map/);
    // The program's pin was neither adopted nor replaced.
    expect(env.driver.host.stat(path).errno).toBe(0);
    expect(() => env.bpf.openMap("cilium_ct4")).toThrow(/it is a program, not a map/);
  });

  it("a map whose info cannot be read is not adopted unchecked: the error is thrown, the fd closed", () => {
    const env = get();
    env.map(spec).openOrCreate();
    let failures = 1;
    const faulty = wrapDriver(env.driver, {
      objGetInfoByFd: (fd, info) => (failures-- > 0 ? -Errno.ENOMEM : env.driver.objGetInfoByFd(fd, info)),
    });
    const bpf = createBpf({ driver: faulty, mapRoot: env.root, logger: memoryLogger() });
    const m = env.track(bpf.newMap(spec));
    const before = fds();
    const e = thrownBpfError(() => m.openOrCreate());
    expect([e.code, e.op, e.map]).toEqual(["ENOMEM", "openOrCreate", "cilium_ct4"]);
    expect(m.getFd()).toBe(-1);
    expect(fds()).toBe(before);
    expect(m.openOrCreate()).toBe(false); // the next attempt checks and opens it
  });

  it("openParallel: a pin that vanishes between its check and its open is created afresh, not an ENOENT", () => {
    const env = get();
    const path = env.bpf.mapPath("cilium_ct4");
    // The pin seems to exist once (another agent unpinned it right after): the old map is gone.
    let lied = false;
    const racing = wrapDriver(env.driver, {
      host: {
        stat: (p) => {
          if (p !== path || lied) return env.driver.host.stat(p);
          lied = true;
          return { errno: 0, isDirectory: false, isFile: true };
        },
      },
    });
    const bpf = createBpf({ driver: racing, mapRoot: env.root, logger: memoryLogger() });
    const m = env.track(bpf.newMap(spec));
    const before = fds();
    expect(m.openParallel()).toBe(true);
    expect(lied).toBe(true);
    expect(m.inParallelMode).toBe(false);
    m.update(1, 2);
    const again = env.map(spec);
    again.open();
    expect(again.lookup(1)).toBe(2);
    again.close();
    m.close();
    expect(fds()).toBe(before);
  });

  it("a PROG_ARRAY adopted under a hash spec is still cleared as an fd array: deleteAll passes over its empty slots", () => {
    const env = get();
    const calls = { name: "calls", type: MapType.ProgArray, key: u32, value: u32, maxEntries: 4 };
    env.map(calls).openOrCreate();
    const asHash = env.map({ ...calls, type: MapType.Hash });
    expect(asHash.openOrCreate()).toBe(false);
    expect(() => asHash.deleteAll()).not.toThrow();
    // An fd array lists every index, filled or not.
    expect(asHash.getNextKey(null)).toBe(0);
  });

  it("a PROG_ARRAY is never re-created; one whose sizes differ from the codecs is refused as open() refuses it", () => {
    const env = get();
    const calls = { name: "calls", type: MapType.ProgArray, key: u32, value: u32, maxEntries: 4 };
    env.map(calls).openOrCreate();
    const path = env.bpf.mapPath("calls");
    const wide = { ...calls, key: u64, value: u64, maxEntries: 8 } as unknown as typeof spec;
    const byOpen = refusal("open", wide);
    for (const op of ["openOrCreate", "openOrCreateUnpinned"] as const) {
      const e = refusal(op, wide);
      expect([e.code, e.op, e.map, e.path]).toEqual(["EINVAL", op, "calls", path]);
      expect(e.message).toBe(byOpen.message.replace(/^open/, op));
      expect(e.message).toBe(`${op} calls: the map pinned at ${path} has key size 4 and value size 4, this map's codecs need 8 and 8`);
    }
    // Still the one pinned first, not re-created.
    const fd = env.bpf.objGet(path);
    try {
      expect(env.bpf.getMapInfo(fd)).toMatchObject({ mapType: MapType.ProgArray, keySize: 4, valueSize: 4, maxEntries: 4 });
    } finally {
      env.driver.close(fd);
    }
    // The seed's case: sizes that fit, other max entries: the pinned one is opened, with warnings.
    const more = env.map({ ...calls, maxEntries: 8 });
    expect(more.openOrCreate()).toBe(false);
    expect(env.bpf.getMapInfo(more.getFd()).maxEntries).toBe(4);
    expect(env.logs.map((r) => r.msg)).toContain("Max entries mismatch for BPF map");
    expect(env.logs.map((r) => r.msg)).not.toContain("Removing map to allow for property upgrade (expect map data loss)");
    expect(more.lookup(0)).toBeUndefined();
  });

  // A per-CPU pin has one value slot per possible CPU in user space, so a spec that is not
  // per-CPU (or the other way round) cannot read or write it even where value_size matches:
  // every later call would hit the driver's buffer-size RangeError, naming neither map nor call.
  it("a pin that is per-CPU where the spec is not, or not where it is, is refused as a size mismatch", () => {
    const env = get();
    const cpus = env.driver.possibleCpus;
    const perCpu = env.track(env.bpf.newPerCpuHashMap({ name: "cilium_pc", key: u32, value: u32, maxEntries: 4 }));
    perCpu.openOrCreate();
    perCpu.close();
    env.map({ ...spec, name: "cilium_plain" }).openOrCreate();
    const pcPath = env.bpf.mapPath("cilium_pc");
    const plainPath = env.bpf.mapPath("cilium_plain");
    const before = fds();
    const registered = env.bpf.getOpenMaps();

    const plain = env.map({ ...spec, name: "cilium_pc" });
    for (const op of ["open", "lookup"] as const) {
      const e = thrownBpfError(() => (op === "open" ? plain.open() : plain.lookup(1)));
      expect([e.code, e.op, e.map, e.path]).toEqual(["EINVAL", op, "cilium_pc", pcPath]);
      expect(e.message).toBe(`${op} cilium_pc: the map pinned at ${pcPath} is a per-CPU map (type ${MapType.PerCPUHash}), ` +
        `so its values are ${8 * cpus} bytes in user space; this map's value codec is 4`);
    }
    const wide = env.track(env.bpf.newPerCpuHashMap({ name: "cilium_plain", key: u32, value: u32, maxEntries: 4 }));
    const e = thrownBpfError(() => wide.open());
    expect([e.code, e.op, e.map, e.path]).toEqual(["EINVAL", "open", "cilium_plain", plainPath]);
    expect(e.message).toBe(`open cilium_plain: the map pinned at ${plainPath} is not a per-CPU map (type ${MapType.Hash}), ` +
      `so its values are 4 bytes in user space; this map's value codec is ${8 * cpus}`);
    for (const m of [plain, wide]) expect([m.getFd(), m.isOpen()]).toEqual([-1, false]);
    expect(fds()).toBe(before);
    expect(env.bpf.getOpenMaps()).toEqual(registered);
  });

  // The property upgrade logs its warnings with the old map open and the new one being pinned:
  // a logger that throws there must not abort the upgrade halfway and leak the old map's fd.
  it("a logger that throws changes nothing: the upgrade completes, registered, and no fd is left open", () => {
    const env = get();
    env.map(spec).openOrCreate();
    const throwing = { debug: boom, info: boom, warn: boom, error: boom };
    function boom(msg: string): never {
      throw new Error(`log sink closed (${msg})`);
    }
    const bpf = createBpf({ driver: env.driver, mapRoot: env.root, logger: throwing });
    const m = bpf.newMap({ ...spec, maxEntries: 8 });
    const before = fds();
    expect(m.openOrCreate()).toBe(true);
    expect(bpf.getMapInfo(m.getFd()).maxEntries).toBe(8);
    expect(bpf.getMap("cilium_ct4")).toBe(m);
    m.close();
    expect(fds()).toBe(before);
  });
});
