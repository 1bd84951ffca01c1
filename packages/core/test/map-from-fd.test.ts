// bpf.newMapFromFd (cilium/ebpf's NewMapFromFD): a BpfMap that takes over a map fd the caller
// already has. The fd is owned, not copied (close() closes it); what is not a map fd is refused
// before anything is taken, and the fd stays the caller's; the map is held by that fd alone, as a
// map opened by id is; its access mode is the fd's, read from fdinfo where the driver can.
import { describe, expect, it } from "vitest";
import {
  BPF_F_RDONLY, BPF_F_WRONLY, Errno, MapType, accessOfFileFlags, createBpf, memoryLogger, rawCodecs, u16, u32, u64, wrapDriver,
  type BpfMap, type Driver, type DriverOverrides,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, type Env } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

const hashSpec = { name: "fromfd_hash", type: MapType.Hash, key: u32, value: u64, maxEntries: 16 };
const le32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const le64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);

/** Whether `fd` is open in `driver` (a closed fd's info is EBADF, or 6.18's EBADFD). */
function isOpenFd(driver: Driver, fd: number): boolean {
  const r = driver.objGetInfoByFd(fd, new Uint8Array(8));
  return r !== -Errno.EBADF && r !== -Errno.EBADFD;
}

eachDriver("newMapFromFd", (get) => {
  const fds = (): number => openFdsOf(get().driver);
  const idOf = (m: BpfMap<any, any>): number => get().bpf.getMapInfoByFd(m.getFd()).id;

  function pinned(env: Env): BpfMap<number, bigint> {
    const m = env.map(hashSpec);
    m.openOrCreate();
    return m;
  }

  it("an fd from driver.objGet is adopted as it is (no dup): reads and writes reach the pinned map; close() closes that fd, and the fd count is as before the objGet", () => {
    const env = get();
    const made = pinned(env);
    made.update(1, 10n);
    const registered = env.bpf.getOpenMaps();
    const before = fds();
    const fd = env.driver.objGet(made.path());
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(fds()).toBe(before + 1);
    const m = env.bpf.newMapFromFd(fd, { key: u32, value: u64 });
    // The BpfMap owns the caller's fd: no second one was opened.
    expect(fds()).toBe(before + 1);
    const id = idOf(made);
    expect([m.getFd(), m.name(), m.path(), m.isOpen(), m.getModel()]).toEqual([fd, `id:${id}`, "", true, { path: "" }]);
    expect(m.mapInfo).toMatchObject({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 16 });
    expect(env.bpf.getOpenMaps()).toEqual(registered);
    expect(env.bpf.getMap("fromfd_hash")).toBe(made);
    expect(m.lookup(1)).toBe(10n);
    m.update(2, 20n);
    expect(made.lookup(2)).toBe(20n);
    expect(new Map(m.entries())).toEqual(new Map([[1, 10n], [2, 20n]]));
    expect(m.dump().size).toBe(2);
    m.close();
    expect([m.isOpen(), m.getFd()]).toEqual([false, -1]);
    expect(isOpenFd(env.driver, fd)).toBe(false);
    expect(fds()).toBe(before);
    expect(made.lookup(2)).toBe(20n);
  });

  it("an unpinned map's only fd, adopted: the map lives while the BpfMap holds it and goes with its close()", () => {
    const env = get();
    const before = fds();
    const fd = env.driver.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 2, mapName: "adopted" });
    expect(fd).toBeGreaterThanOrEqual(0);
    const id = env.bpf.getMapInfoByFd(fd).id;
    const m = env.bpf.newMapFromFd(fd, { key: u32, value: u32 });
    m.update(1, 7);
    expect(m.lookup(1)).toBe(7);
    m.close();
    expect(fds()).toBe(before);
    expect(() => env.bpf.openMapById(id)).toThrow(expect.objectContaining({ code: "ENOENT" }) as never);
  });

  it("without codecs it is raw bytes and refuses dumps pointing at newMapFromFd; a codec chooser (rawCodecs) dumps", () => {
    const env = get();
    const made = pinned(env);
    made.update(3, 30n);
    const raw = env.track(env.bpf.newMapFromFd(env.driver.objGet(made.path())));
    expect(raw.lookup(le32(3))).toEqual(le64(30n));
    const id = idOf(made);
    for (const [op, call] of [["dump", () => raw.dump()], ["entries", () => raw.entries()]] as const) {
      const e = thrown(call);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toBe(`${op} id:${id}: the map was adopted by bpf.newMapFromFd without key and value codecs, so its elements ` +
        "cannot be decoded; adopt it with bpf.newMapFromFd(fd, { key, value }), or with rawCodecs for bytes, to dump it");
    }
    const chosen = env.track(env.bpf.newMapFromFd(env.driver.objGet(made.path()), rawCodecs));
    expect([...chosen.entries()]).toEqual([[le32(3), le64(30n)]]);
  });

  it("what needs a pin refuses with EINVAL saying the map was adopted, and leaves it open; after close() every operation is EBADF", () => {
    const env = get();
    const made = pinned(env);
    made.update(1, 10n);
    const id = idOf(made);
    const m = env.bpf.newMapFromFd(env.driver.objGet(made.path()), { key: u32, value: u64 });
    const fd = m.getFd();
    m.open();
    expect([m.openOrCreate(), m.openOrCreateUnpinned(), m.getFd()]).toEqual([false, false, fd]);
    for (const [op, call] of [["openParallel", () => m.openParallel()], ["reopen", () => m.reopen()], ["unpin", () => m.unpin()],
      ["unpinIfExists", () => m.unpinIfExists()],
      ["checkAndUpgrade", () => m.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 16 })]] as const) {
      const e = thrownBpfError(call);
      expect([e.code, e.op, e.map, e.message]).toEqual(["EINVAL", op, `id:${id}`,
        `${op} id:${id}: the map was adopted from an fd (bpf.newMapFromFd) and has no pin path; it stays open`]);
      expect(m.getFd()).toBe(fd);
    }
    expect(made.lookup(1)).toBe(10n);
    expect(m.isPinned()).toBe(false);
    m.close();
    for (const [op, call] of [["lookup", () => m.lookup(1)], ["update", () => m.update(1, 1n)], ["open", () => m.open()],
      ["reopen", () => m.reopen()]] as const) {
      const e = thrownBpfError(call);
      expect([e.code, e.op, e.message]).toEqual(["EBADF", op, `${op} id:${id}: the map is closed (it was adopted from an fd by ` +
        `bpf.newMapFromFd, and its fd is closed: bpf.openMapById(${id}) opens it again while it lives)`]);
    }
  });

  it("a negative, fractional or non-number fd is refused before any driver call", () => {
    const env = get();
    let calls = 0;
    const counted: Record<string, unknown> = {};
    for (const name of ["objGetInfoByFd", "close", "dup"] as const) {
      counted[name] = (...a: unknown[]) => {
        calls++;
        return (env.driver[name] as (...x: unknown[]) => unknown)(...a);
      };
    }
    const host = { objKind: (fd: number) => { calls++; return env.driver.host.objKind!(fd); } };
    const bpf = createBpf({ driver: wrapDriver(env.driver, { ...counted, host }), mapRoot: env.root, logger: memoryLogger() });
    for (const bad of [-1, -0x8000_0000, 2 ** 31]) {
      expect(() => bpf.newMapFromFd(bad)).toThrow(new RangeError(`newMapFromFd: fd ${bad} is not a file descriptor (0..2^31−1)`));
    }
    for (const bad of [1.5, NaN, Infinity]) expect(() => bpf.newMapFromFd(bad)).toThrow(new TypeError(`newMapFromFd: fd ${bad} is not an integer`));
    for (const [bad, what] of [["3", '"3"'], [null, "null"], [undefined, "undefined"], [3n, "3n"]] as const) {
      expect(() => bpf.newMapFromFd(bad as never)).toThrow(new TypeError(`newMapFromFd: fd must be a number, got ${what}`));
    }
    const fd = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      expect(() => bpf.newMapFromFd(fd, { key: u32, value: u32 }, { readOnly: true, writeOnly: true })).toThrow(TypeError);
      expect(() => bpf.newMapFromFd(fd, { key: u32, value: u32, kee: 1 } as never)).toThrow(/unknown codecs key "kee"/);
      expect(() => bpf.newMapFromFd(fd, { key: u32, value: u32 }, { readonly: true } as never))
        .toThrow(new RegExp(`^newMapFromFd fd ${fd}: unknown options key "readonly"`));
      expect(calls).toBe(0);
      expect(isOpenFd(env.driver, fd)).toBe(true);
    } finally {
      env.driver.close(fd);
    }
  });

  it("a closed fd is EBADF; a program's fd and stdin are EINVAL saying what they are; the caller's fds stay open", () => {
    const env = get();
    const gone = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });
    env.driver.close(gone);
    const before = fds();
    const closed = thrownBpfError(() => env.bpf.newMapFromFd(gone));
    expect([closed.code, closed.op, closed.message]).toEqual(["EBADF", "newMapFromFd", `newMapFromFd fd ${gone}: the fd is not open`]);
    const prog = env.driver.progLoad({ progType: 1, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
    expect(prog).toBeGreaterThanOrEqual(0);
    try {
      const p = thrownBpfError(() => env.bpf.newMapFromFd(prog, { key: u32, value: u32 }));
      expect([p.code, p.op, p.message]).toEqual(["EINVAL", "newMapFromFd", `newMapFromFd fd ${prog}: it is a BPF program, not a map`]);
      expect(isOpenFd(env.driver, prog)).toBe(true);
      const s = thrownBpfError(() => env.bpf.newMapFromFd(0));
      expect([s.code, s.message]).toEqual(["EINVAL", "newMapFromFd fd 0: it is not a BPF object, so no map"]);
    } finally {
      env.driver.close(prog);
    }
    expect(fds()).toBe(before);
  });

  it("the last fd number, 2^31−1, is a file descriptor: not open, so EBADF, not a RangeError", () => {
    const env = get();
    const e = thrownBpfError(() => env.bpf.newMapFromFd(0x7fff_ffff));
    expect([e.code, e.op, e.message]).toEqual(["EBADF", "newMapFromFd", `newMapFromFd fd ${0x7fff_ffff}: the fd is not open`]);
  });

  it("what host.objKind says of the fd is named: a BPF link is a link, another errno is that errno; the fd stays the caller's", () => {
    const env = get();
    const fd = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });
    const over = (objKind: NonNullable<Driver["host"]["objKind"]>) =>
      createBpf({ driver: wrapDriver(env.driver, { host: { objKind } }), mapRoot: env.root, logger: memoryLogger() });
    try {
      const link = thrownBpfError(() => over(() => ({ kind: "link", linkType: "xdp" })).newMapFromFd(fd));
      expect([link.code, link.op, link.message]).toEqual(["EINVAL", "newMapFromFd", `newMapFromFd fd ${fd}: it is a BPF link (xdp), not a map`]);
      const denied = thrownBpfError(() => over(() => -Errno.EACCES).newMapFromFd(fd));
      expect([denied.code, denied.op, denied.message]).toEqual(["EACCES", "newMapFromFd", `newMapFromFd fd ${fd}: permission denied`]);
      expect(isOpenFd(env.driver, fd)).toBe(true);
    } finally {
      env.driver.close(fd);
    }
  });

  it("without host.objKind: a closed fd is still EBADF (not the info call's EBADFD) and a program's fd still refused", () => {
    const env = get();
    const bpf = createBpf({ driver: wrapDriver(env.driver, { host: { objKind: null } }), mapRoot: env.root, logger: memoryLogger() });
    const gone = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });
    env.driver.close(gone);
    const closed = thrownBpfError(() => bpf.newMapFromFd(gone));
    expect([closed.code, closed.op]).toEqual(["EBADF", "newMapFromFd"]);
    expect(closed.message).toMatch(new RegExp(`^newMapFromFd fd ${gone}: Unable to get map info for file descriptor ${gone}`));
    const prog = env.driver.progLoad({ progType: 1, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
    try {
      const p = thrownBpfError(() => bpf.newMapFromFd(prog));
      expect([p.code, p.message]).toEqual(["EINVAL", `newMapFromFd fd ${prog}: Unable to get map info for file descriptor ${prog}: not a BPF map: invalid argument`]);
      expect(isOpenFd(env.driver, prog)).toBe(true);
    } finally {
      env.driver.close(prog);
    }
  });

  it("a host.objKind that can tell no fd (ENOSYS: no procfs) is as none: a map fd is adopted, a closed fd is still EBADF", () => {
    const env = get();
    const bpf = createBpf({ driver: wrapDriver(env.driver, { host: { objKind: () => -Errno.ENOSYS } }), mapRoot: env.root, logger: memoryLogger() });
    const fd = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 1 });
    const m = bpf.newMapFromFd(fd, { key: u32, value: u64 });
    try {
      m.update(7, 70n);
      expect(m.lookup(7)).toBe(70n);
    } finally {
      m.close();
    }
    const closed = thrownBpfError(() => bpf.newMapFromFd(fd));
    expect([closed.code, closed.op]).toEqual(["EBADF", "newMapFromFd"]);
  });

  it("codecs that do not fit, or a keyless map, are refused naming the map, and the fd stays the caller's", () => {
    const env = get();
    const made = pinned(env);
    const id = idOf(made);
    const fd = env.driver.objGet(made.path());
    try {
      expect(() => env.bpf.newMapFromFd(fd, { key: u16, value: u64 }))
        .toThrow(new RangeError(`newMapFromFd id:${id}: the key codec is 2 bytes, the map's keys are 4`));
      expect(isOpenFd(env.driver, fd)).toBe(true);
      const keyless = wrapDriver(env.driver, {
        objGetInfoByFd: (f, info) => {
          const r = env.driver.objGetInfoByFd(f, info);
          new DataView(info.buffer, info.byteOffset).setUint32(0, 22, true);
          info.fill(0, 8, 12);
          return r;
        },
      });
      const bpf = createBpf({ driver: keyless, mapRoot: env.root, logger: memoryLogger() });
      const e = thrownBpfError(() => bpf.newMapFromFd(fd));
      expect([e.code, e.op, e.map, e.message]).toEqual(["EINVAL", "newMapFromFd", `id:${id}`,
        `newMapFromFd fd ${fd}: Unable to determine map key size of id:${id}: a queue map has no keys, and a BpfMap needs them; open it as a BpfQueueMap with bpf.openQueueMap`]);
      expect(isOpenFd(env.driver, fd)).toBe(true);
      // Info that says no type (type 0, BPF_MAP_TYPE_UNSPEC) is refused as well, before the fd is taken.
      const untyped = wrapDriver(env.driver, {
        objGetInfoByFd: (f, info) => {
          const r = env.driver.objGetInfoByFd(f, info);
          info.fill(0, 0, 4);
          return r;
        },
      });
      const t = thrownBpfError(() => createBpf({ driver: untyped, mapRoot: env.root, logger: memoryLogger() }).newMapFromFd(fd, { key: u32, value: u64 }));
      expect([t.code, t.op, t.map, t.message]).toEqual(["EINVAL", "newMapFromFd", `id:${id}`,
        `newMapFromFd fd ${fd}: Unable to determine map type of id:${id}`]);
      expect(isOpenFd(env.driver, fd)).toBe(true);
    } finally {
      env.driver.close(fd);
    }
  });

  it("an adopted fd keeps its own access mode, read from its fdinfo: a BPF_F_RDONLY fd, unsaid, explains its EPERMs as read-only and refuses withCache", () => {
    const env = get();
    const made = pinned(env);
    made.update(1, 10n);
    for (const options of [undefined, { readOnly: true }]) {
      const m = env.track(env.bpf.newMapFromFd(env.driver.objGet(made.path(), BPF_F_RDONLY), { key: u32, value: u64 }, options));
      expect(m.lookup(1)).toBe(10n);
      const e = thrownBpfError(() => m.update(2, 2n));
      expect(e.code).toBe("EPERM");
      expect(e.message).toContain("the map was opened read-only (BPF_F_RDONLY)");
      expect(thrownBpfError(() => m.withCache()).code).toBe("EPERM");
    }
    const w = env.track(env.bpf.newMapFromFd(env.driver.objGet(made.path(), BPF_F_WRONLY), { key: u32, value: u64 }));
    w.update(3, 3n);
    expect(thrownBpfError(() => w.lookup(3)).message).toContain("the map was opened write-only (BPF_F_WRONLY)");
    expect(made.lookup(2)).toBeUndefined();
    expect(made.lookup(3)).toBe(3n);
  });

  it("options naming another mode than the fd's are EINVAL saying both, and the fd stays the caller's", () => {
    const env = get();
    const made = pinned(env);
    const cases = [
      [0, { readOnly: true }, "the fd is read-write, not read-only as the options say"],
      [BPF_F_RDONLY, { writeOnly: true }, "the fd is read-only, not write-only as the options say"],
      [BPF_F_WRONLY, { readOnly: true }, "the fd is write-only, not read-only as the options say"],
    ] as const;
    for (const [flags, options, says] of cases) {
      const fd = env.driver.objGet(made.path(), flags);
      try {
        const e = thrownBpfError(() => env.bpf.newMapFromFd(fd, { key: u32, value: u64 }, options));
        expect([e.code, e.op, e.message]).toEqual(["EINVAL", "newMapFromFd", `newMapFromFd fd ${fd}: ${says}`]);
        expect(isOpenFd(env.driver, fd)).toBe(true);
      } finally {
        env.driver.close(fd);
      }
    }
  });

  it("with a driver that cannot read fdinfo, readOnly is the caller's word: said, EPERM is explained as the mode's; unsaid, it is the kernel's bare EPERM", () => {
    const env = get();
    const made = pinned(env);
    const bpf = createBpf({ driver: wrapDriver(env.driver, { mapFdInfo: null }), mapRoot: env.root, logger: memoryLogger() });
    const said = bpf.newMapFromFd(env.driver.objGet(made.path(), BPF_F_RDONLY), { key: u32, value: u64 }, { readOnly: true });
    const unsaid = bpf.newMapFromFd(env.driver.objGet(made.path(), BPF_F_RDONLY), { key: u32, value: u64 });
    try {
      expect(thrownBpfError(() => said.update(2, 2n)).message).toContain("the map was opened read-only (BPF_F_RDONLY)");
      expect(thrownBpfError(() => said.withCache()).code).toBe("EPERM");
      const plain = thrownBpfError(() => unsaid.update(2, 2n));
      expect(plain.code).toBe("EPERM");
      expect(plain.message).not.toContain("read-only");
    } finally {
      said.close();
      unsaid.close();
    }
  });

  it("an fdinfo that cannot be read, or that has no flags: line, leaves the mode the caller's word; one outside the contract is a TypeError and takes nothing", () => {
    const env = get();
    const made = pinned(env);
    made.update(1, 10n);
    const on = (mapFdInfo: DriverOverrides["mapFdInfo"]) =>
      createBpf({ driver: wrapDriver(env.driver, { kind: "odd", mapFdInfo }), mapRoot: env.root, logger: memoryLogger() });
    // No procfs to read (EACCES), or a driver that reads fdinfo but gives no file flags.
    for (const mapFdInfo of [() => -Errno.EACCES, () => ({ frozen: false })]) {
      const bpf = on(mapFdInfo);
      const rw = env.track(bpf.newMapFromFd(env.driver.objGet(made.path()), { key: u32, value: u64 }));
      rw.update(2, 20n);
      expect(rw.lookup(2)).toBe(20n);
      const said = env.track(bpf.newMapFromFd(env.driver.objGet(made.path(), BPF_F_RDONLY), { key: u32, value: u64 }, { readOnly: true }));
      expect(thrownBpfError(() => said.update(3, 3n)).message).toContain("the map was opened read-only (BPF_F_RDONLY)");
      const unsaid = env.track(bpf.newMapFromFd(env.driver.objGet(made.path(), BPF_F_RDONLY), { key: u32, value: u64 }));
      const plain = thrownBpfError(() => unsaid.update(3, 3n));
      expect(plain.code).toBe("EPERM");
      expect(plain.message).not.toContain("read-only");
    }
    const fd = env.driver.objGet(made.path());
    try {
      expect(() => on(() => ({ fileFlags: -1 })).newMapFromFd(fd, { key: u32, value: u64 })).toThrow(new TypeError(
        'driver "odd" broke the Driver contract: mapFdInfo returned fileFlags is -1, not a non-negative integer, where it returns a MapFdInfo or -errno'));
      expect(isOpenFd(env.driver, fd)).toBe(true);
    } finally {
      env.driver.close(fd);
    }
  });

  it("metrics are labelled by the kernel name's common name, or by-fd for a map without one", () => {
    const env = get();
    const named = env.track(env.bpf.newMapFromFd(
      env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 2, mapName: "cilium_lb_7" }), { key: u32, value: u32 }));
    const anon = env.track(env.bpf.newMapFromFd(
      env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 2 }), { key: u32, value: u32 }));
    named.update(1, 1);
    anon.update(1, 1);
    expect(env.ops.slice(-2)).toEqual(["lb update success", "by-fd update success"]);
  });

  it("a driver's own exception passes through as it is, and the fd stays the caller's", () => {
    const env = get();
    const boom = new Error("driver bug");
    const bpf = createBpf({ driver: wrapDriver(env.driver, { objGetInfoByFd: () => { throw boom; } }), mapRoot: env.root, logger: memoryLogger() });
    const fd = env.driver.mapCreate({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      expect(thrown(() => bpf.newMapFromFd(fd))).toBe(boom);
      expect(isOpenFd(env.driver, fd)).toBe(true);
    } finally {
      env.driver.close(fd);
    }
  });
});

describe("accessOfFileFlags", () => {
  it("reads an fd's access mode from the O_ACCMODE bits of fdinfo's flags:, whatever else is set", () => {
    const O_CLOEXEC = 0o2000000;
    const O_NONBLOCK = 0o4000;
    expect([0, 1, 2].map((mode) => accessOfFileFlags(mode))).toEqual([BPF_F_RDONLY, BPF_F_WRONLY, 0]);
    expect([0, 1, 2].map((mode) => accessOfFileFlags(mode | O_CLOEXEC | O_NONBLOCK))).toEqual([BPF_F_RDONLY, BPF_F_WRONLY, 0]);
    // O_ACCMODE 3 (an open for ioctls only) is no mode a BPF fd has: it reads as read-write, so no EPERM is explained by a mode.
    expect(accessOfFileFlags(3 | O_CLOEXEC)).toBe(0);
  });
});
