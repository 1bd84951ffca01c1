import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { basename, cleanPath, createBpf, dirname, joinPath, localMapName, mapNameProblem, memoryLogger } from "@bpfkit/core";
import { forEachDriver, makeWorld, type World } from "./support/bpf-world.js";

describe("path helpers", () => {
  it("cleanPath and joinPath behave as Go's path.Clean and path.Join", () => {
    const cases: Array<[string, string]> = [
      ["", "."], ["/", "/"], ["a//b/", "a/b"], ["/a/./b/../c", "/a/c"], ["/../x", "/x"], ["../x", "../x"], ["a/..", "."],
    ];
    for (const [input, want] of cases) expect(cleanPath(input), input).toBe(want);
    expect(joinPath("/sys/fs/bpf", "tc/globals", "cilium_lxc")).toBe("/sys/fs/bpf/tc/globals/cilium_lxc");
    expect(joinPath("/r/", "", "x")).toBe("/r/x");
    expect(joinPath("", "")).toBe("");
    expect(dirname("/a/b/c")).toBe("/a/b");
    expect(dirname("/a")).toBe("/");
    expect(basename("/a/b/c")).toBe("c");
    expect(basename("c")).toBe("c");
  });

  it("the edges of Go's Clean, Dir and Base: leading .. kept, trailing slashes, empty and root paths", () => {
    const cases: Array<[string, string]> = [
      ["../../x", "../../x"], ["a/../../b", "../b"], ["./", "."], ["/a/b/../../..", "/"], ["a/./b", "a/b"],
    ];
    for (const [input, want] of cases) expect(cleanPath(input), input).toBe(want);
    expect(joinPath("", "a")).toBe("a");
    expect(joinPath("a", "..", "..")).toBe("..");
    expect(dirname("a")).toBe(".");
    expect(dirname("/")).toBe("/");
    expect(dirname("a/b")).toBe("a");
    expect(basename("")).toBe(".");
    expect(basename("/")).toBe("/");
    expect(basename("///")).toBe("/");
    expect(basename("a/b//")).toBe("b");
  });

  it("a map name is one path element of at most 255 UTF-8 bytes (NAME_MAX), counted as the kernel counts them", () => {
    for (const bad of ["", ".", "..", "a/b", "/", "a\0b"]) expect(mapNameProblem(bad), bad).toBeDefined();
    expect(mapNameProblem("a\0b")).toBe("must not contain a NUL byte");
    expect(mapNameProblem("..")).toBe('must not be ".."');
    expect(mapNameProblem(7)).toBe("must be a string, got 7");
    expect(mapNameProblem("...")).toBeUndefined();
    // U+1F600 is 4 bytes (a surrogate pair), U+0800 is 3, U+07FF is 2.
    expect(mapNameProblem("\u{1F600}".repeat(63) + "yyy")).toBeUndefined();
    expect(mapNameProblem("\u{1F600}".repeat(64))).toBe("must be at most 255 bytes (NAME_MAX), got 256");
    expect(mapNameProblem("\u0800".repeat(85))).toBeUndefined();
    expect(mapNameProblem("\u0800".repeat(85) + "y")).toBe("must be at most 255 bytes (NAME_MAX), got 256");
    expect(mapNameProblem("\u07ff".repeat(127) + "y")).toBeUndefined();
    expect(mapNameProblem("\u07ff".repeat(128))).toBe("must be at most 255 bytes (NAME_MAX), got 256");
    expect(mapNameProblem("\u007f".repeat(255))).toBeUndefined();
    expect(mapNameProblem("\u0080".repeat(128))).toBe("must be at most 255 bytes (NAME_MAX), got 256");
  });

  it("localMapName pads the id to 5 digits with no separator", () => {
    expect(localMapName("cilium_policy_", 42)).toBe("cilium_policy_00042");
    expect(localMapName("x", 65535)).toBe("x65535");
    expect(localMapName("x", 0)).toBe("x00000");
    expect(() => localMapName("x", 65536)).toThrow(RangeError);
  });
});

forEachDriver("Bpf paths", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  it("mapPath is root/prefix/name; localMapPath joins the local name", () => {
    const { bpf, fs } = w;
    expect(bpf.mapPath("cilium_lxc")).toBe(`${fs.path}/tc/globals/cilium_lxc`);
    expect(bpf.mapPrefixPath()).toBe(`${fs.path}/tc/globals`);
    expect(bpf.localMapPath("cilium_policy_", 42)).toBe(`${fs.path}/tc/globals/cilium_policy_00042`);
    expect(bpf.localMapName("cilium_policy_", 7)).toBe("cilium_policy_00007");
  });

  it("root and prefix can be set until first read, then lock down", () => {
    const root2 = `${w.fs.path}/other`;
    const bpf = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
    bpf.setMapRoot(root2);
    bpf.setMapPrefix("p");
    expect(bpf.mapPath("m")).toBe(`${root2}/p/m`);
    expect(() => bpf.setMapRoot(w.fs.path)).toThrow("SetMapRoot() call after MapRoot was read");
    expect(() => bpf.setMapPrefix("q")).toThrow("SetMapPrefix() call after MapPrefix was read");
    expect(bpf.getMapRoot()).toBe(root2);
    expect(bpf.getMapPrefix()).toBe("p");
  });

  it("every reader locks down: getMapRoot, getMapPrefix, mapPrefixPath, mapPath, environment", () => {
    const readers: Array<(b: ReturnType<typeof createBpf>) => unknown> = [
      (b) => b.getMapRoot(), (b) => b.getMapPrefix(), (b) => b.mapPrefixPath(), (b) => b.mapPath("x"), (b) => b.environment(),
    ];
    for (const read of readers) {
      const b = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
      read(b);
      expect(() => b.setMapRoot("/elsewhere")).toThrow(/after MapRoot was read/);
    }
  });

  it("instances are independent: locking one leaves another settable", () => {
    const a = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
    const b = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
    a.getMapRoot();
    b.setMapPrefix("mine");
    expect(b.mapPrefixPath()).toBe(`${w.fs.path}/mine`);
    expect(a.mapPrefixPath()).toBe(`${w.fs.path}/tc/globals`);
  });

  it("environment() is the process environment plus CILIUM_BPF_MNT and TC_BPF_MNT = the root", () => {
    const env = w.bpf.environment();
    expect(env.slice(-2)).toEqual([`CILIUM_BPF_MNT=${w.fs.path}`, `TC_BPF_MNT=${w.fs.path}`]);
    expect(env).toContain(`PATH=${process.env.PATH}`);
    expect(env.length).toBe(Object.keys(process.env).length + 2);
  });

  it("a map name with /, .., NUL or nothing is refused with the operation named", () => {
    for (const bad of ["a/b", "..", ".", "", "x\0y"]) {
      expect(() => w.bpf.mapPath(bad), JSON.stringify(bad)).toThrow(/^mapPath: invalid map name/);
    }
    expect(() => w.bpf.localMapPath("../x", 1)).toThrow(TypeError);
  });

  it("an empty path or root is refused by name before anything is looked up or created", () => {
    const before = w.driver.host.readdir(w.fs.path);
    expect(() => w.bpf.openOrCreateMap("", 1, 4, 4, 1, 0, 0, true)).toThrow(new TypeError("openOrCreateMap: path must not be empty"));
    expect(() => createBpf({ driver: w.driver, mapRoot: "" })).toThrow(/map root must not be empty/);
    expect(w.driver.host.readdir(w.fs.path)).toEqual(before);
  });

  it("bad roots and prefixes are refused", () => {
    expect(() => createBpf({ driver: w.driver, mapRoot: "relative" })).toThrow(/must be an absolute path/);
    expect(() => createBpf({ driver: w.driver, mapRoot: "/a\0b" })).toThrow(/NUL/);
    expect(() => createBpf({ driver: w.driver, mapPrefix: "a\0" })).toThrow(/NUL/);
    // A prefix is under the root: one that climbs out would pin and unpin (rm -rf) elsewhere.
    for (const prefix of ["..", "../etc", "tc/../../x", "/../x"]) {
      expect(() => createBpf({ driver: w.driver, mapRoot: w.fs.path, mapPrefix: prefix })).toThrow(/leads out of the map root/);
    }
    const b = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
    expect(() => b.setMapPrefix("a/../..")).toThrow(/setMapPrefix: map prefix "a\/..\/.." leads out of the map root/);
    b.setMapPrefix("a/../b");
    expect(b.mapPath("x")).toBe(`${w.fs.path}/b/x`);
    expect(() => createBpf({ driver: undefined as never })).toThrow(/options.driver must be a Driver/);
  });

  it("without mapRoot the root is /sys/fs/bpf if bpffs is there, else the first bpffs mounted", () => {
    // Other tests mount and unmount bpffs concurrently on the kernel: the answer must be a bpffs
    // mount point seen just before or just after, and /sys/fs/bpf whenever it is one throughout.
    const bpfMounts = (): string[] => {
      const mounts = w.driver.host.mountInfo();
      if (typeof mounts === "number") throw new Error(`mountInfo: errno ${-mounts}`);
      return mounts.filter((m) => m.fsType === "bpf").map((m) => m.mountPoint);
    };
    const before = bpfMounts();
    expect(before).toContain(w.fs.path);
    const logger = memoryLogger();
    const root = createBpf({ driver: w.driver, logger }).getMapRoot();
    const after = bpfMounts();
    if (before.includes("/sys/fs/bpf") && after.includes("/sys/fs/bpf")) expect(root).toBe("/sys/fs/bpf");
    else expect([...before, ...after]).toContain(root);
    if (d.name === "sim") expect(root).toBe("/sys/fs/bpf"); // a new simulator boots with it mounted
    // Only a root other than /sys/fs/bpf is worth a warning: it may be any process's mount.
    expect(logger.records.filter((r) => r.level === "warn").map((r) => r.fields?.root)).toEqual(root === "/sys/fs/bpf" ? [] : [root]);
  });
});
