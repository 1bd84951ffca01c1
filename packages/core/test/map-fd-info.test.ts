// BpfMap.fdInfo and Bpf.getMapFdInfo (the fdinfo fields bpf_map_info lacks: frozen, memlock, a
// PROG_ARRAY's owner), on both drivers; what core says of a driver without the optional
// mapFdInfo, or one that answers outside the contract; and parseMapFdInfo.
import { describe, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PROG_ARRAY, createBpf, Errno,
  parseMapFdInfo, silentLogger, u32, wrapDriver, type Driver, type DriverOverrides,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { eachDriver, type Env } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

/** A Bpf over `env`'s driver changed by `overrides`, rooted at env's bpffs. */
function bpfWith(env: Env, overrides: DriverOverrides) {
  const driver = wrapDriver(env.driver, overrides);
  return { driver, bpf: createBpf({ driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: silentLogger }) };
}

eachDriver("BpfMap.fdInfo", (get) => {
  it("is not frozen and charges memory once opened; freezing shows, on the map and on any fd of it", () => {
    const env = get();
    const m = env.map({ name: "fdinfo_arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 4 });
    m.openOrCreate();
    const before = m.fdInfo();
    expect(before.frozen).toBe(false);
    expect(before.memlock).toBeGreaterThan(0);
    expect(before.ownerProgType).toBeUndefined();
    m.freeze();
    expect(m.fdInfo()).toEqual({ ...before, frozen: true });
    const again = env.track(env.bpf.openMap(m.path(), undefined, { readOnly: true }));
    expect(again.fdInfo().frozen).toBe(true);
  });

  it("memlock grows with the elements of a NO_PREALLOC hash and falls back when they go", () => {
    const env = get();
    const m = env.map({ name: "fdinfo_hash", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 16, flags: BPF_F_NO_PREALLOC });
    m.openOrCreate();
    const empty = m.fdInfo().memlock!;
    m.update(1, 1);
    m.update(2, 2);
    const two = m.fdInfo().memlock!;
    expect(two).toBeGreaterThan(empty);
    m.update(2, 3);
    expect(m.fdInfo().memlock).toBe(two);
    m.delete(1);
    m.delete(2);
    expect(m.fdInfo().memlock).toBe(empty);
  });

  it("opens a pinned map that is not open yet, and names the map in its errors", () => {
    const env = get();
    const made = env.map({ name: "fdinfo_pin", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 1 });
    made.openOrCreate();
    const m = env.track(env.bpf.newMap({ name: "fdinfo_pin", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 1 }));
    expect(m.fdInfo().frozen).toBe(false);
    const gone = env.track(env.bpf.newMap({ name: "fdinfo_none", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 1 }));
    const e = thrownBpfError(() => gone.fdInfo());
    expect([e.code, e.op, e.map]).toEqual(["ENOENT", "fdInfo", "fdinfo_none"]);
  });

  it("Bpf.getMapFdInfo: EBADF for an fd not open, EINVAL for an fd that is no map, the owner of a PROG_ARRAY", () => {
    const env = get();
    const d = env.driver;
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    d.close(fd);
    const closed = thrownBpfError(() => env.bpf.getMapFdInfo(fd));
    // Not "not a BPF map": that reading belongs to EINVAL alone.
    expect([closed.code, closed.message]).toEqual(["EBADF", `Unable to read the fdinfo of file descriptor ${fd}: bad file descriptor`]);
    const insns = new Uint8Array(16);
    insns[0] = 0xb7;
    insns[8] = 0x95;
    const prog = d.progLoad({ progType: 1, insns, license: "GPL" });
    const pa = d.mapCreate({ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const e = thrownBpfError(() => env.bpf.getMapFdInfo(prog));
      expect([e.code, e.message]).toEqual(["EINVAL", `Unable to read the fdinfo of file descriptor ${prog} (not a BPF map): invalid argument`]);
      expect(env.bpf.getMapFdInfo(pa).ownerProgType).toBeUndefined();
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, prog, true);
      expect(d.mapUpdateElem(pa, new Uint8Array(4), v, 0)).toBe(0);
      expect(env.bpf.getMapFdInfo(pa)).toMatchObject({ ownerProgType: 1, ownerJited: true, frozen: false });
    } finally {
      d.close(pa);
      d.close(prog);
    }
  });

  it("Bpf.getMapInfo (the seed's GetMapInfo, which reads fdinfo) gives a PROG_ARRAY's owner type once a program is stored, 0 before and without mapFdInfo", () => {
    const env = get();
    const d = env.driver;
    const insns = new Uint8Array(16);
    insns[0] = 0xb7;
    insns[8] = 0x95;
    const prog = d.progLoad({ progType: 1, insns, license: "GPL" });
    const pa = d.mapCreate({ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const { bpf: old } = bpfWith(env, { kind: "old", mapFdInfo: null });
    try {
      expect(env.bpf.getMapInfo(pa).ownerProgType).toBe(0);
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, prog, true);
      expect(d.mapUpdateElem(pa, new Uint8Array(4), v, 0)).toBe(0);
      expect(env.bpf.getMapInfo(pa)).toMatchObject({ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, ownerProgType: 1 });
      expect(old.getMapInfo(pa).ownerProgType).toBe(0);
    } finally {
      d.close(pa);
      d.close(prog);
    }
  });

  it("Bpf.getMapInfo reads fdinfo for a PROG_ARRAY only, and one that cannot be read leaves the owner 0: open() and checkCompatible, which read it, still work", () => {
    const env = get();
    const made = env.map({ name: "fdinfo_noproc", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4 });
    made.openOrCreate();
    const asked: number[] = [];
    // No procfs: every fdinfo read fails (the kernel driver says EBADF when /proc/self/fdinfo has no such file).
    const { bpf } = bpfWith(env, { mapFdInfo: (fd) => (asked.push(fd), -Errno.EBADF) });
    const m = env.track(bpf.newMap({ name: "fdinfo_noproc", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4 }));
    m.open();
    m.checkCompatible();
    expect(bpf.getMapInfo(m.getFd())).toMatchObject({ mapType: BPF_MAP_TYPE_HASH, ownerProgType: 0 });
    expect(asked).toEqual([]);
    const pa = env.driver.mapCreate({ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      expect(bpf.getMapInfo(pa)).toMatchObject({ mapType: BPF_MAP_TYPE_PROG_ARRAY, ownerProgType: 0 });
      expect(asked).toEqual([pa]);
      // A driver outside the contract is still a TypeError, not a reading of 0.
      expect(() => bpfWith(env, { kind: "liar", mapFdInfo: () => 22 }).bpf.getMapInfo(pa)).toThrow(TypeError);
    } finally {
      env.driver.close(pa);
    }
  });

  it("a driver without mapFdInfo: EOPNOTSUPP naming the driver, and everything else still works", () => {
    const env = get();
    const { driver, bpf } = bpfWith(env, { kind: "old", mapFdInfo: null });
    expect("mapFdInfo" in driver).toBe(false);
    const m = env.track(bpf.newMap({ name: "fdinfo_old", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 1 }));
    m.openOrCreate();
    m.update(0, 7);
    const e = thrownBpfError(() => m.fdInfo());
    expect([e.errno, e.map]).toEqual([Errno.EOPNOTSUPP, "fdinfo_old"]);
    expect(e.message).toContain('driver "old" has no mapFdInfo (an optional Driver method)');
  });

  it("a driver that answers outside the contract is a TypeError naming it, never a reading", () => {
    const env = get();
    const fd = env.driver.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const bad: Array<[unknown, string]> = [
        [Errno.EBADF, `mapFdInfo returned ${Errno.EBADF}, where it returns a MapFdInfo or -errno`],
        [undefined, "mapFdInfo returned undefined"],
        [null, "mapFdInfo returned null"],
        ["frozen", "mapFdInfo returned a string"],
        [{ frozen: 1 }, "mapFdInfo returned frozen is number, not a boolean"],
        [{ memlock: -1 }, "mapFdInfo returned memlock is -1, not a non-negative integer"],
        [{ memlock: 1.5, ownerJited: "yes" }, "mapFdInfo returned ownerJited is string, not a boolean; memlock is 1.5, not a non-negative integer"],
        [[], "mapFdInfo returned an array"],
        [{ fileFlags: "2" }, "mapFdInfo returned fileFlags is 2, not a non-negative integer"],
        [{ ownerProgType: 2 ** 53 }, `mapFdInfo returned ownerProgType is ${2 ** 53}, not a non-negative integer`],
      ];
      for (const [answer, says] of bad) {
        const { bpf } = bpfWith(env, { kind: "liar", mapFdInfo: () => answer as number });
        expect(() => bpf.getMapFdInfo(fd)).toThrow(TypeError);
        expect(() => bpf.getMapFdInfo(fd)).toThrow(`driver "liar" broke the Driver contract: ${says}`);
      }
      // Fields core does not know are not passed on.
      const { bpf } = bpfWith(env, { mapFdInfo: () => ({ frozen: true, extra: 1 }) as never });
      expect(bpf.getMapFdInfo(fd)).toEqual({ frozen: true });
      // 0 is a reading: no memory charged yet, or an O_RDONLY fd without O_CLOEXEC.
      const zeros = { frozen: false, memlock: 0, ownerProgType: 0, ownerJited: false, fileFlags: 0 };
      expect(bpfWith(env, { mapFdInfo: () => ({ ...zeros }) }).bpf.getMapFdInfo(fd)).toEqual(zeros);
    } finally {
      env.driver.close(fd);
    }
  });
});

describe("the Driver contract and wrapDriver for the optional mapFdInfo", () => {
  it("createBpf takes a driver without it, and refuses one where it is no function", () => {
    expect(() => createBpf({ driver: wrapDriver(createSimLike(), { mapFdInfo: null }), logger: silentLogger })).not.toThrow();
    const broken = { ...wrapDriver(createSimLike(), {}), kind: "odd", mapFdInfo: 3 };
    expect(() => createBpf({ driver: broken as unknown as Driver })).toThrow(new TypeError(
      'createBpf: options.driver "odd" breaks the Driver contract: mapFdInfo is number, not a method (leave it out if the driver has none)'));
  });

  it("wrapDriver passes it on, lets it be replaced, given, or dropped with null", () => {
    const inner = createSimLike();
    const fd = inner.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(wrapDriver(inner, {}).mapFdInfo!(fd)).toEqual(inner.mapFdInfo!(fd));
    const dropped = wrapDriver(inner, { mapFdInfo: null });
    expect("mapFdInfo" in dropped).toBe(false);
    expect("mapFdInfo" in wrapDriver(dropped, {})).toBe(false);
    expect(wrapDriver(dropped, { mapFdInfo: () => ({ frozen: true }) }).mapFdInfo!(fd)).toEqual({ frozen: true });
    expect(() => wrapDriver(inner, { mapFdinfo: null } as never)).toThrow(TypeError);
    inner.close(fd);
  });
});

describe("parseMapFdInfo", () => {
  const text = "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\nmap_type:\t3\nkey_size:\t4\nvalue_size:\t4\n" +
    "max_entries:\t4\nmap_flags:\t0x0\nmap_extra:\t0x0\nmemlock:\t344\nmap_id:\t3623115\nfrozen:\t0\n" +
    "owner_prog_type:\t1\nowner_jited:\t1\n";

  it("reads frozen, memlock, the owner and the file's flags (octal) of a map's fdinfo as 6.18 prints it", () => {
    expect(parseMapFdInfo(text)).toEqual({ frozen: false, memlock: 344, ownerProgType: 1, ownerJited: true, fileFlags: 0o2000002 });
    expect(parseMapFdInfo(text.replace("frozen:\t0", "frozen:\t1").replace(/owner.*\n/g, "").replace("02000002", "02000000")))
      .toEqual({ frozen: true, memlock: 344, fileFlags: 0o2000000 });
    // A PROG_ARRAY whose owner ran in the interpreter (JIT off): owner_jited 0.
    expect(parseMapFdInfo(text.replace("owner_jited:\t1", "owner_jited:\t0"))).toMatchObject({ ownerProgType: 1, ownerJited: false });
    expect(parseMapFdInfo(text.replace("owner_prog_type:\t1", "owner_prog_type:\t0"))).toMatchObject({ ownerProgType: 0, ownerJited: true });
    // map_flags is the map's, not the file's; an fdinfo without flags: has no fileFlags.
    expect(parseMapFdInfo("map_type:\t1\nmap_flags:\t0x1\n")).toEqual({});
  });

  it("leaves out what an older kernel does not print, and is undefined for anything but a map", () => {
    expect(parseMapFdInfo("map_type:\t1\nkey_size:\t4\n")).toEqual({});
    expect(parseMapFdInfo("pos:\t0\nprog_type:\t1\nprog_jited:\t1\nmemlock:\t4096\n")).toBeUndefined();
    expect(parseMapFdInfo("pos:\t0\nflags:\t02\n")).toBeUndefined();
    // A field is a whole line: prog_jited and a memlock without digits are not read.
    expect(parseMapFdInfo("map_type:\t1\nmemlock:\tlots\nxfrozen:\t1\n")).toEqual({});
    // Nor a number followed by more, nor map_flags: for the file's flags:, nor a number past 2^53.
    expect(parseMapFdInfo("map_type:\t1\nmemlock:\t344 kB\nfrozen:\t0x1\nmap_flags:\t0\n")).toEqual({});
    expect(parseMapFdInfo("map_type:\t1\nmemlock:\t18446744073709551615\n")).toEqual({});
  });
});

/** A fresh simulator (these cases need no kernel). */
function createSimLike(): Driver {
  return createSimDriver({ possibleCpus: 2 });
}
