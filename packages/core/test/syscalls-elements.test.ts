// The seed's low-level functions on Bpf, over each driver: results, the seed's messages and
// ops in the errors, and the metrics hook.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import {
  BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, createBpf, encodeToBytes, Errno, isNotExist, MapType,
  memoryLogger, u32, u64, wrapDriver,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";

const k = (n: number): Uint8Array => encodeToBytes(u32, n);
const v = (n: bigint): Uint8Array => encodeToBytes(u64, n);

forEachDriver("element functions", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  const hash = (max = 8): number =>
    w.track(w.bpf.createMap(MapType.Hash, 4, 8, max, BPF_F_NO_PREALLOC, 0, `${w.fs.path}/h`));

  it("update, lookup, getNextKey, getFirstKey, delete", () => {
    const { bpf } = w;
    const fd = hash();
    const first = new Uint8Array(4);
    expect(bpf.getFirstKey(fd, first)).toBe(false); // the seed's io.EOF on an empty map
    bpf.updateElement(fd, k(1), v(10n), BPF_ANY);
    bpf.updateElement(fd, k(2), v(20n));
    const out = new Uint8Array(8);
    bpf.lookupElement(fd, k(2), out);
    expect(u64.decode(out)).toBe(20n);
    const seen: number[] = [];
    let more = bpf.getFirstKey(fd, first);
    const cur = first.slice();
    while (more) {
      seen.push(u32.decode(cur));
      const next = new Uint8Array(4);
      more = bpf.getNextKey(fd, cur, next);
      cur.set(next);
    }
    expect(seen.sort()).toEqual([1, 2]);
    bpf.deleteElement(fd, k(1));
    expect(bpf.deleteElementErrno(fd, k(1))).toBe(2);
    expect(bpf.deleteElementErrno(fd, k(2))).toBe(0);
    expect(bpf.getFirstKey(fd, first)).toBe(false);
  });

  it("errors carry the seed's messages, the command and the errno", () => {
    const { bpf } = w;
    const fd = hash();
    const e1 = thrownBpfError(() => bpf.lookupElement(fd, k(9), new Uint8Array(8)));
    expect(e1.message).toBe(`Unable to lookup element in map with file descriptor ${fd}: no such file or directory`);
    expect(e1.code).toBe("ENOENT");
    expect(e1.op).toBe("BPF_MAP_LOOKUP_ELEM");
    expect(isNotExist(e1)).toBe(true);
    const e2 = thrownBpfError(() => bpf.deleteElement(fd, k(9)));
    expect(e2.message).toBe(`Unable to delete element from map with file descriptor ${fd}: no such file or directory`);
    bpf.updateElement(fd, k(1), v(1n));
    const e3 = thrownBpfError(() => bpf.updateElement(fd, k(1), v(1n), BPF_NOEXIST));
    expect(e3.message).toBe(`Unable to update element for map with file descriptor ${fd}: file exists`);
    expect(e3.code).toBe("EEXIST");
    expect(thrownBpfError(() => bpf.updateElement(fd, k(5), v(1n), BPF_EXIST)).code).toBe("ENOENT");
    const e4 = thrownBpfError(() => bpf.getNextKey(12345, k(1), new Uint8Array(4)));
    expect(e4.message).toBe("Unable to get next key from map with file descriptor 12345: bad file descriptor");
  });

  it("a key or value of the wrong size is a RangeError before any syscall, and the map is unchanged", () => {
    const { bpf } = w;
    const fd = hash();
    expect(() => bpf.updateElement(fd, new Uint8Array(3), v(1n))).toThrow(RangeError);
    expect(() => bpf.updateElement(fd, k(1), new Uint8Array(4))).toThrow(RangeError);
    expect(() => bpf.lookupElement(fd, k(1), new Uint8Array(9))).toThrow(RangeError);
    expect(bpf.getFirstKey(fd, new Uint8Array(4))).toBe(false);
  });

  it("createMap, objPin and objGet report what failed and where", () => {
    const { bpf, fs } = w;
    const e1 = thrownBpfError(() => bpf.createMap(MapType.Hash, 0, 8, 8, 0, 0, `${fs.path}/bad`));
    expect(e1.message).toBe(`Unable to create map ${fs.path}/bad: invalid argument (key_size 0: a hash map's key is at least one byte)`);
    expect(e1.path).toBe(`${fs.path}/bad`);
    const fd = hash();
    bpf.objPin(fd, `${fs.path}/pinned`);
    const e2 = thrownBpfError(() => bpf.objPin(fd, `${fs.path}/pinned`));
    expect(e2.message).toBe(`Unable to pin object with file descriptor ${fd} to ${fs.path}/pinned: file exists`);
    const e3 = thrownBpfError(() => bpf.objGet(`${fs.path}/missing`));
    expect(e3.message).toBe(`Unable to get object ${fs.path}/missing: no such file or directory`);
    expect(e3.op).toBe("Unable to get object");
    expect(isNotExist(e3)).toBe(true);
    expect(() => bpf.objPin(fd, "/x\0y")).toThrow(/Unable to convert pathname/);
    // objGet names its own refusal of a path no syscall could take (not the driver's check's).
    for (const bad of ["", "/x\0y"]) {
      expect(() => bpf.objGet(bad)).toThrow(new TypeError(`Unable to get object ${JSON.stringify(bad)}: path must be a non-empty string without NUL`));
    }
    expect(() => bpf.createMap(MapType.Hash, -1, 8, 8, 0, 0, "p")).toThrow(/keySize/);
    // Every attr is checked here, naming the create and its path, before the driver sees it.
    const fields = ["mapType", "keySize", "valueSize", "maxEntries", "flags", "innerId"];
    fields.forEach((what, i) => {
      const args = [MapType.Hash, 4, 8, 8, 0, 0];
      args[i] = -1;
      const [t, ks, vs, me, fl, inner] = args as [number, number, number, number, number, number];
      expect(() => bpf.createMap(t, ks, vs, me, fl, inner, "p")).toThrow(new RangeError(`Unable to create map p: ${what} -1 is not a u32`));
    });
  });

  it("EPERM names a dot in the last path element as bpffs's reason, but not for . or ..", () => {
    const perm = wrapDriver(w.driver, { objGet: () => -Errno.EPERM, objPin: () => -Errno.EPERM });
    const bpf = createBpf({ driver: perm, mapRoot: w.fs.path, logger: memoryLogger() });
    const hint = ' (bpffs refuses a name with a dot, as "my.map")';
    expect(thrownBpfError(() => bpf.objGet("/r/my.map")).message).toBe(`Unable to get object /r/my.map: operation not permitted${hint}`);
    expect(thrownBpfError(() => bpf.objGet("/r/my.map/")).message).toBe(`Unable to get object /r/my.map/: operation not permitted${hint}`);
    expect(thrownBpfError(() => bpf.objPin(5, "/r/my.map")).message).toBe(`Unable to pin object with file descriptor 5 to /r/my.map: operation not permitted${hint}`);
    for (const p of ["/r/.", "/r/..", "/r/a.b/.."]) {
      expect(thrownBpfError(() => bpf.objGet(p)).message).toBe(`Unable to get object ${p}: operation not permitted`);
      expect(thrownBpfError(() => bpf.objPin(5, p)).message).toBe(`Unable to pin object with file descriptor 5 to ${p}: operation not permitted`);
    }
    // A missing path beside the bpffs whose name only begins with the mount's is not below it:
    // its ".d" is no name bpffs looked up.
    const beside = `${w.fs.path}.d/x/pin`;
    expect(thrownBpfError(() => bpf.objGet(beside)).message).toBe(`Unable to get object ${beside}: operation not permitted`);
  });

  it("EPERM names a dot in a directory below the bpffs mount too (a map prefix with a dot)", () => {
    const bpf = createBpf({ driver: w.driver, mapRoot: w.fs.path, mapPrefix: "my.agent", logger: memoryLogger() });
    const e = thrownBpfError(() => bpf.newMap({ name: "flows", type: MapType.Hash, key: u32, value: u64, maxEntries: 4 }).openOrCreate());
    expect(e.code).toBe("EPERM");
    expect(e.message).toBe(`openOrCreate flows: Unable to get object ${w.fs.path}/my.agent/flows: operation not permitted ` +
      '(bpffs refuses a name with a dot, as "my.agent")');
  });

  it("EPERM names the dot below the deepest bpffs holding the path, not a dot in a directory of another filesystem above it", () => {
    const fd = hash();
    const h = w.driver.host;
    const tmp = `${w.fs.path}/t`, inner = `${tmp}/x.y/b`;
    expect(h.mkdirAll(tmp, 0o755)).toBe(0);
    expect(h.mount("tmpfs", tmp, "tmpfs")).toBe(0);
    try {
      expect(h.mkdirAll(inner, 0o755)).toBe(0); // "x.y" is a tmpfs directory: no bpffs looked it up
      expect(h.mount("bpf", inner, "bpf")).toBe(0);
      try {
        const e = thrownBpfError(() => w.bpf.objPin(fd, `${inner}/my.map`));
        expect(e.code).toBe("EPERM");
        expect(e.message).toBe(`Unable to pin object with file descriptor ${fd} to ${inner}/my.map: operation not permitted ` +
          '(bpffs refuses a name with a dot, as "my.map")');
      } finally {
        expect(h.umount(inner)).toBe(0);
      }
    } finally {
      expect(h.umount(tmp)).toBe(0);
    }
  });

  it("EPERM for a pin off bpffs is not blamed on a dot in its name: the kernel refuses every pin there", () => {
    const fd = hash();
    const path = `${w.fs.path.replace(/\/[^/]+$/, "")}/my.map`;
    const e = thrownBpfError(() => w.bpf.objPin(fd, path));
    expect(e.code).toBe("EPERM");
    expect(e.message).toBe(`Unable to pin object with file descriptor ${fd} to ${path}: operation not permitted (it is not on a BPF filesystem, where pins live)`);
    expect(w.driver.host.stat(path).isDirectory).toBe(false);
    // A relative name's directory is the working one, off bpffs here too.
    expect(thrownBpfError(() => w.bpf.objPin(fd, "my.map")).message)
      .toBe(`Unable to pin object with file descriptor ${fd} to my.map: operation not permitted (it is not on a BPF filesystem, where pins live)`);
    // A pin in / is off bpffs too (its directory is "/", not "").
    expect(thrownBpfError(() => w.bpf.objPin(fd, "/my.map")).message)
      .toBe(`Unable to pin object with file descriptor ${fd} to /my.map: operation not permitted (it is not on a BPF filesystem, where pins live)`);
    // OBJ_GET there looks up no name on bpffs either: an EPERM from it (an LSM's) is no dot's.
    const perm = createBpf({ driver: wrapDriver(w.driver, { objGet: () => -Errno.EPERM }), mapRoot: w.fs.path, logger: memoryLogger() });
    expect(thrownBpfError(() => perm.objGet(path)).message).toBe(`Unable to get object ${path}: operation not permitted`);
  });

  it("EACCES for what is not a pinned object (a directory, a path off bpffs) says so, not only permission denied", () => {
    const { bpf, fs } = w;
    // The kernel answers EACCES, even to root, for a directory on bpffs and for anything off it.
    expect(w.driver.host.mkdirAll(`${fs.path}/dir`, 0o755)).toBe(0);
    const dir = thrownBpfError(() => bpf.objGet(`${fs.path}/dir`));
    expect(dir.code).toBe("EACCES");
    expect(dir.message).toBe(`Unable to get object ${fs.path}/dir: permission denied (it is a directory, not a pinned object)`);
    const off = thrownBpfError(() => bpf.openMap("/tmp", { key: u32, value: u64 }));
    expect(off.code).toBe("EACCES");
    expect(off.message).toBe("openMap /tmp: Unable to get object /tmp: permission denied (it is not on a BPF filesystem, where pins live)");
    // A pinned object that refuses this process (its mode) keeps the bare answer.
    const denied = wrapDriver(w.driver, { objGet: () => -Errno.EACCES });
    const fd = hash();
    bpf.objPin(fd, `${fs.path}/pin`);
    const b2 = createBpf({ driver: denied, mapRoot: fs.path, logger: memoryLogger() });
    expect(thrownBpfError(() => b2.objGet(`${fs.path}/pin`)).message).toBe(`Unable to get object ${fs.path}/pin: permission denied`);
  });

  it("objGet gives a second fd to the same map; objClose closes it and ignores fd 0", () => {
    const { bpf, fs } = w;
    const fd = hash();
    bpf.updateElement(fd, k(3), v(33n));
    bpf.objPin(fd, `${fs.path}/same`);
    const fd2 = w.track(bpf.objGet(`${fs.path}/same`));
    expect(fd2).not.toBe(fd);
    const out = new Uint8Array(8);
    bpf.lookupElement(fd2, k(3), out);
    expect(u64.decode(out)).toBe(33n);
    bpf.objClose(fd2);
    expect(() => bpf.lookupElement(fd2, k(3), out)).toThrow(/bad file descriptor/);
    bpf.objClose(0);
  });

  it("objClose leaves fd 0 and below alone: no close(2) of stdin or of -1 is ever made", () => {
    const closed: number[] = [];
    const spy = wrapDriver(w.driver, { close: (fd) => (closed.push(fd), w.driver.close(fd)) });
    const bpf = createBpf({ driver: spy, mapRoot: w.fs.path, logger: memoryLogger() });
    bpf.objClose(0);
    bpf.objClose(-1);
    expect(closed).toEqual([]);
    const fd = w.bpf.createMap(MapType.Hash, 4, 8, 1, BPF_F_NO_PREALLOC, 0, "x");
    bpf.objClose(fd);
    expect(closed).toEqual([fd]);
  });

  it("the *FromPointers variants take a reusable attr object", () => {
    const { bpf } = w;
    const fd = hash();
    const attr = { mapFd: fd, key: k(4) as Uint8Array | null, value: v(44n), flags: BPF_ANY };
    bpf.updateElementFromPointers(attr);
    attr.value = new Uint8Array(8);
    bpf.lookupElementFromPointers(attr);
    expect(u64.decode(attr.value)).toBe(44n);
    const next = { mapFd: fd, key: null, value: new Uint8Array(4) };
    expect(bpf.getNextKeyFromPointers(next)).toBe(true);
    expect(u32.decode(next.value)).toBe(4);
    next.key = next.value.slice() as never;
    expect(bpf.getNextKeyFromPointers(next)).toBe(false);
    expect(() => bpf.lookupElementFromPointers({ mapFd: fd, key: null, value: new Uint8Array(8) })).toThrow(/attr.key/);
    for (const [op, f] of [
      ["lookupElementFromPointers", () => bpf.lookupElementFromPointers(null as never)],
      ["updateElementFromPointers", () => bpf.updateElementFromPointers(undefined as never)],
      ["getNextKeyFromPointers", () => bpf.getNextKeyFromPointers(null as never)],
    ] as const) {
      expect(f, op).toThrow(new TypeError(`${op}: attr must be an object`));
    }
  });

  it("bad arguments to createBpf and unpinMapIfExists are TypeErrors naming the call and the option", () => {
    const { driver } = w;
    for (const logger of [5, {}, null, { debug() {}, info() {}, warn: "no", error() {} }]) {
      expect(() => createBpf({ driver, mapRoot: w.fs.path, logger: logger as never }))
        .toThrow(new TypeError("createBpf: options.logger must be a Logger (debug, info, warn and error functions)"));
    }
    expect(() => w.bpf.unpinMapIfExists("../x")).toThrow(new TypeError('unpinMapIfExists: invalid map name "../x": must not contain "/"'));
  });

  it("getMapInfo reads back type, sizes, max entries and flags; mapFdFromId opens by id", () => {
    const { bpf } = w;
    const fd = hash(16);
    expect(bpf.getMapInfo(fd)).toEqual({
      mapType: MapType.Hash, keySize: 4, valueSize: 8, readValueSize: 8, maxEntries: 16,
      flags: BPF_F_NO_PREALLOC, innerId: 0, ownerProgType: 0,
    });
    const { id } = bpf.getMapInfoByFd(fd);
    expect(id).toBeGreaterThan(0);
    const fd2 = w.track(bpf.mapFdFromId(id));
    expect(bpf.getMapInfoByFd(fd2).id).toBe(id);
    expect(() => bpf.mapFdFromId(0x7ffffff0)).toThrow("Unable to get object fd from id 2147483632: no such file or directory");
    // 6.18 answers OBJ_GET_INFO_BY_FD on a closed fd with EBADFD, not EBADF.
    expect(() => bpf.getMapInfo(98765)).toThrow(/^Unable to get map info for file descriptor 98765: file descriptor in bad state$/);
  });

  it("createMap's innerId is the template inner map's fd (map-in-map), as in the seed", () => {
    const { bpf } = w;
    const inner = w.track(bpf.createMap(MapType.Array, 4, 8, 4, 0, 0, "inner"));
    const outer = w.track(bpf.createMap(MapType.ArrayOfMaps, 4, 4, 2, 0, inner, "outer"));
    expect(bpf.getMapInfo(outer).mapType).toBe(MapType.ArrayOfMaps);
    // The outer map takes an fd on update and gives the inner map's id on lookup.
    bpf.updateElement(outer, k(0), k(inner));
    const id = new Uint8Array(4);
    bpf.lookupElement(outer, k(0), id);
    expect(u32.decode(id)).toBe(bpf.getMapInfoByFd(inner).id);
    expect(() => bpf.createMap(MapType.ArrayOfMaps, 4, 4, 2, 0, 0, "no-inner")).toThrow("Unable to create map no-inner: invalid argument");
  });

  it("the metrics hook sees each syscall with Cilium's operation label and outcome", () => {
    const calls: string[] = [];
    const bpf = createBpf({
      driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger(),
      metrics: { syscall: (op, outcome, ns) => { calls.push(`${op}:${outcome}`); expect(ns).toBeGreaterThanOrEqual(0); } },
    });
    const fd = w.track(bpf.createMap(MapType.Hash, 4, 8, 4, BPF_F_NO_PREALLOC, 0, "p"));
    bpf.updateElement(fd, k(1), v(1n));
    bpf.lookupElement(fd, k(1), new Uint8Array(8));
    expect(() => bpf.lookupElement(fd, k(2), new Uint8Array(8))).toThrow();
    bpf.deleteElementErrno(fd, k(1));
    bpf.getFirstKey(fd, new Uint8Array(4));
    expect(() => bpf.objGet(`${w.fs.path}/nope`)).toThrow();
    bpf.getMapInfo(fd);
    expect(calls).toEqual([
      "create:success", "update:success", "lookup:success", "lookup:fail", "delete:success", "getNextKey:fail",
      "objGet:fail", "getMapInfoByFD:success",
    ]);
  });

  it("the syscall hook's duration is in nanoseconds, as MetricsHook.syscall says", () => {
    const durations: number[] = [];
    const bpf = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger(), metrics: { syscall: (_op, _o, ns) => durations.push(ns) } });
    const fd = w.track(bpf.createMap(MapType.Hash, 4, 8, 4, BPF_F_NO_PREALLOC, 0, "p"));
    // Every clock read is 2.5 ms after the one before.
    let ms = 1000;
    const now = vi.spyOn(performance, "now").mockImplementation(() => (ms += 2.5));
    try {
      bpf.updateElement(fd, k(1), v(1n));
    } finally {
      now.mockRestore();
    }
    expect(durations.length).toBe(2);
    expect(durations[1]! % 2_500_000).toBe(0);
    expect(durations[1]!).toBeGreaterThanOrEqual(2_500_000);
  });
});
