// The program helpers: testDummyProg (load, then the attach check), program ids and fds, and
// getProgInfoByFd decoding the kernel's real bpf_prog_info.
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  BPF_CGROUP_INET_EGRESS, BPF_CGROUP_INET_INGRESS, createBpf, DUMMY_PROG_INSNS, Errno, getProgMapIds, isNotExist, MapType, memoryLogger,
  ProgType, wrapDriver,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";

/** `ld_imm64 r1, map fd` (src BPF_PSEUDO_MAP_FD): the instruction that makes a program use the map. */
function ldMap(fd: number): number[] {
  const insn = new Uint8Array(16);
  insn.set([0x18, 0x11]);
  new DataView(insn.buffer).setInt32(4, fd, true);
  return [...insn];
}

forEachDriver("program helpers", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  const load = (name: string, license = "GPL"): number =>
    w.track(w.driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license, progName: name }));

  it("testDummyProg: a cgroup skb program loads and its attach path exists (EBADF on fd 0)", () => {
    const before = w.driver.host.getRlimitMemlock();
    w.bpf.testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS);
    w.bpf.testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_EGRESS);
    const after = w.driver.host.getRlimitMemlock();
    expect(after).toEqual(before); // raised for the load, then restored
  });

  it("testDummyProg: a soft limit below the hard one comes back as it was, not raised to the hard one", () => {
    const before = w.driver.host.getRlimitMemlock();
    expect(before.errno).toBe(0);
    const soft = { errno: 0, cur: before.max / 2n, max: before.max };
    expect(w.driver.host.setRlimitMemlock(soft.cur, soft.max)).toBe(0);
    try {
      w.bpf.testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS);
      expect(w.driver.host.getRlimitMemlock()).toEqual(soft);
    } finally {
      w.driver.host.setRlimitMemlock(before.cur, before.max);
    }
  });

  it("testDummyProg: a socket filter loads, but cannot attach as a cgroup program: the attach errno is thrown", () => {
    const e = thrownBpfError(() => w.bpf.testDummyProg(ProgType.SocketFilter, BPF_CGROUP_INET_INGRESS));
    expect(e.op).toBe("BPF_PROG_ATTACH");
    expect(e.code).toBe("EINVAL");
  });

  it("testDummyProg: an unknown program type fails at load, and the rlimit is still restored", () => {
    const before = w.driver.host.getRlimitMemlock();
    const e = thrownBpfError(() => w.bpf.testDummyProg(9999, 0));
    expect(e.op).toBe("BPF_PROG_LOAD");
    expect(e.code).toBe("EINVAL");
    expect(w.driver.host.getRlimitMemlock()).toEqual(before);
  });

  it("testDummyProg: an EPERM for a type CAP_BPF alone cannot load names the capability it also needs", () => {
    // As root nothing refuses; the answer of a process with CAP_BPF alone is played by the driver.
    const bpf = createBpf({ driver: wrapDriver(w.driver, { progLoad: () => -Errno.EPERM }), logger: memoryLogger() });
    const message = (t: number) => thrownBpfError(() => bpf.testDummyProg(t, 0)).message;
    expect(message(ProgType.Xdp)).toBe("Unable to load test program of type 6: operation not permitted " +
      "(this program type needs CAP_NET_ADMIN as well as CAP_BPF, or CAP_SYS_ADMIN)");
    expect(message(ProgType.Kprobe)).toBe("Unable to load test program of type 2: operation not permitted " +
      "(this program type needs CAP_PERFMON as well as CAP_BPF, or CAP_SYS_ADMIN)");
    // A socket filter needs only CAP_BPF: its EPERM is a want of that, and gets no hint.
    expect(message(ProgType.SocketFilter)).toBe("Unable to load test program of type 1: operation not permitted");
  });

  it("getProgInfoByFd decodes the kernel's layout: type, id, tag, name, lengths, load time, license", () => {
    const fd = load("bpfkit_info");
    const info = w.bpf.getProgInfoByFd(fd);
    expect(info.progType).toBe(ProgType.SocketFilter);
    expect(info.id).toBeGreaterThan(0);
    expect(info.name).toBe("bpfkit_info");
    expect(info.xlatedProgLen).toBe(16); // two instructions
    expect(info.tag.length).toBe(8);
    expect(info.tag.some((b) => b !== 0)).toBe(true);
    expect(info.loadTime).toBeGreaterThan(0n);
    expect(info.gplCompatible).toBe(true);
    expect(info.nrMapIds).toBe(0);
    expect(info.mapIds).toEqual([]);
    expect(info.ifIndex).toBe(0); // not offloaded
    expect(Object.keys(info)).not.toContain("type"); // the seed's names only: progType, ifIndex
    expect(Object.keys(info)).not.toContain("ifindex");
    // The kernel records the loader's uid; the simulated host runs everything as root.
    expect(info.createdByUid).toBe(d.name === "kernel" ? (process.getuid?.() ?? 0) : 0);
    const other = w.bpf.getProgInfoByFd(load("bpfkit_asl2", "ASL2"));
    expect(other.gplCompatible).toBe(false);
    // The same program text gives the same tag; a different id.
    expect([...other.tag]).toEqual([...info.tag]);
    expect(other.id).not.toBe(info.id);
  });

  it("getProgInfoByFd lists the maps a program uses, in the order it first uses them (bpf_prog_info.map_ids)", () => {
    const mapFd = () => w.track(w.driver.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 }));
    const a = mapFd(), b = mapFd(), c = mapFd();
    const ref = (fd: number) => { const i = new Uint8Array(16); i.set([0x18, 0x11]); new DataView(i.buffer).setInt32(4, fd, true); return [...i]; };
    const insns = Uint8Array.from([...ref(c), ...ref(a), ...ref(c), ...ref(b), ...DUMMY_PROG_INSNS]);
    const fd = w.track(w.driver.progLoad({ progType: ProgType.SocketFilter, insns, license: "GPL" }));
    const idOf = (m: number) => w.bpf.getMapInfoByFd(m).id;
    const info = w.bpf.getProgInfoByFd(fd);
    expect(info.nrMapIds).toBe(3);
    expect(info.mapIds).toEqual([idOf(c), idOf(a), idOf(b)]);
    // A map's fd is no program: EINVAL, saying that it is a map.
    const e = thrownBpfError(() => getProgMapIds(w.driver, a, 1));
    expect([e.code, e.op]).toEqual(["EINVAL", "BPF_OBJ_GET_INFO_BY_FD"]);
    expect(e.message).toBe(`Unable to get the map ids of program fd ${a}: it is a map, not a program: invalid argument`);
  });

  it("getProgMapIds asks the program even when the count it is given is 0 or too small", () => {
    const maps = [0, 1].map(() => w.track(w.driver.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 })));
    const ref = (fd: number) => { const i = new Uint8Array(16); i.set([0x18, 0x11]); new DataView(i.buffer).setInt32(4, fd, true); return [...i]; };
    const fd = w.track(w.driver.progLoad({ progType: ProgType.SocketFilter, insns: Uint8Array.from([...ref(maps[0]!), ...ref(maps[1]!), ...DUMMY_PROG_INSNS]), license: "GPL" }));
    const want = maps.map((m) => w.bpf.getMapInfoByFd(m).id);
    // 0: a raw-driver user without the info, or a count read before BPF_PROG_BIND_MAP added one.
    expect(getProgMapIds(w.driver, fd, 0)).toEqual(want);
    expect(getProgMapIds(w.driver, fd, 1)).toEqual(want);
    expect(getProgMapIds(w.driver, load("bpfkit_nomaps"), 0)).toEqual([]);
  });

  it("getProgInfoByFd's nrMapIds is the count of the ids it returns, even when a map was bound after the count was read", () => {
    const maps = [0, 1].map(() => w.track(w.driver.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 })));
    const ref = (fd: number) => { const i = new Uint8Array(16); i.set([0x18, 0x11]); new DataView(i.buffer).setInt32(4, fd, true); return [...i]; };
    const fd = w.track(w.driver.progLoad({ progType: ProgType.SocketFilter, insns: Uint8Array.from([...ref(maps[0]!), ...ref(maps[1]!), ...DUMMY_PROG_INSNS]), license: "GPL" }));
    // The info says one map, as it would have before BPF_PROG_BIND_MAP added the second.
    const stale = wrapDriver(w.driver, {
      objGetInfoByFd: (f, info) => {
        const r = w.driver.objGetInfoByFd(f, info);
        if (f === fd) new DataView(info.buffer, info.byteOffset).setUint32(52, 1, true); // nr_map_ids
        return r;
      },
    });
    const bpf = createBpf({ driver: stale, mapRoot: w.fs.path, logger: memoryLogger() });
    const info = bpf.getProgInfoByFd(fd);
    expect(info.mapIds).toEqual(maps.map((m) => w.bpf.getMapInfoByFd(m).id));
    expect(info.nrMapIds).toBe(2);
  });

  it("getProgMapIds refuses a count that is not a u32 before any syscall", () => {
    const fd = load("bpfkit_count");
    const calls: string[] = [];
    const driver = wrapDriver(w.driver, { progGetMapIds: (f, ids) => { calls.push("progGetMapIds"); return w.driver.progGetMapIds(f, ids); } });
    for (const n of [-1, 1.5, NaN, Infinity, 2 ** 32]) {
      expect(() => getProgMapIds(driver, fd, n)).toThrow(new RangeError(`getProgMapIds fd ${fd}: nrMapIds ${n} is not a u32`));
    }
    for (const n of [undefined, "2", 2n]) {
      expect(() => getProgMapIds(driver, fd, n as unknown as number)).toThrow(TypeError);
    }
    expect(() => getProgMapIds(driver, fd, undefined as unknown as number))
      .toThrow(`getProgMapIds fd ${fd}: nrMapIds must be a number (the program's nr_map_ids, or 0), got undefined`);
    expect(calls).toEqual([]);
  });

  /** A socket filter that loads each map of `fds` (ld_imm64, BPF_PSEUDO_MAP_FD), in that order. */
  const usingMaps = (fds: number[]): number => {
    const insns = Uint8Array.from([...fds.flatMap(ldMap), ...DUMMY_PROG_INSNS]);
    return w.driver.progLoad({ progType: ProgType.SocketFilter, insns, license: "GPL" });
  };
  const arrayFd = () => w.track(w.driver.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 }));

  it("getProgMapIds gives every id whatever count it starts from: a smaller one asks again, a larger one leaves no zeros", () => {
    const a = arrayFd(), b = arrayFd(), c = arrayFd();
    const fd = w.track(usingMaps([b, c, a]));
    const ids = [b, c, a].map((m) => w.bpf.getMapInfoByFd(m).id);
    for (const n of [1, 2, 3, 4, 64]) expect(getProgMapIds(w.driver, fd, n)).toEqual(ids);
  });

  it("getProgInfoByFd counts its map-ids ask in the metrics: two reads for a program with maps (its count sizes the one ask), one without", () => {
    const ops: string[] = [];
    const bpf = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger(), metrics: { syscall: (op, o) => ops.push(`${op}:${o}`) } });
    const a = arrayFd(), b = arrayFd();
    const ids = [a, b].map((m) => w.bpf.getMapInfoByFd(m).id);
    expect(bpf.getProgInfoByFd(w.track(usingMaps([a, b]))).mapIds).toEqual(ids);
    expect(ops).toEqual(["objGetInfoByFD:success", "objGetInfoByFD:success"]);
    ops.length = 0;
    expect(bpf.getProgInfoByFd(load("bpfkit_no_maps")).mapIds).toEqual([]);
    expect(ops).toEqual(["objGetInfoByFD:success"]);
  });

  it("a program may use MAX_USED_MAPS (64) maps: every id, in order; a 65th map is E2BIG", () => {
    const maps = Array.from({ length: 65 }, arrayFd);
    const fd = w.track(usingMaps(maps.slice(0, 64)));
    expect(fd).toBeGreaterThanOrEqual(0);
    const ids = maps.slice(0, 64).map((m) => w.bpf.getMapInfoByFd(m).id);
    const info = w.bpf.getProgInfoByFd(fd);
    expect([info.nrMapIds, info.mapIds]).toEqual([64, ids]);
    // Room for more ids than any program has: 64 written, the rest untouched.
    const room = new Uint32Array(70).fill(7);
    expect(w.driver.progGetMapIds(fd, room)).toBe(64);
    expect([...room]).toEqual([...ids, 7, 7, 7, 7, 7, 7]);
    expect(usingMaps(maps)).toBe(-Errno.E2BIG);
  });

  it("getProgNextId walks to a loaded program, getProgFdById opens it, ENOENT ends the walk", () => {
    const fd = load("bpfkit_walk");
    const id = w.bpf.getProgInfoByFd(fd).id;
    let cur = 0;
    let found = false;
    for (;;) {
      let next: number;
      try {
        next = w.bpf.getProgNextId(cur);
      } catch (e) {
        expect(isNotExist(e)).toBe(true);
        expect((e as Error).message).toBe("Unable to get next id: no such file or directory");
        break;
      }
      expect(next).toBeGreaterThan(cur);
      if (next === id) found = true;
      cur = next;
    }
    expect(found).toBe(true);
    const fd2 = w.track(w.bpf.getProgFdById(id));
    expect(w.bpf.getProgInfoByFd(fd2).id).toBe(id);
    expect(() => w.bpf.getProgFdById(0x7ffffff0)).toThrow("Unable to get fd for program id 2147483632: no such file or directory");
  });

  it("getProgInfoByFd on a map fd is EINVAL naming it, not a map's info decoded as a program's", () => {
    const fd = w.track(w.bpf.createMap(MapType.Hash, 4, 4, 4, 0, 0, "m"));
    const e = thrownBpfError(() => w.bpf.getProgInfoByFd(fd));
    expect([e.code, e.op]).toEqual(["EINVAL", "BPF_OBJ_GET_INFO_BY_FD"]);
    expect(e.message).toBe(`Unable to get program info for file descriptor ${fd}: it is a map, not a program: invalid argument`);
  });

  it("without host.objKind a program is still told from a map: its info fills the whole buffer", () => {
    const bpf = createBpf({ driver: wrapDriver(w.driver, { host: { objKind: null } }), mapRoot: w.fs.path, logger: memoryLogger() });
    const prog = load("p");
    const e = thrownBpfError(() => bpf.getMapInfoByFd(prog));
    expect([e.code, e.op]).toEqual(["EINVAL", "BPF_OBJ_GET_INFO_BY_FD"]);
    expect(e.message).toBe(`Unable to get map info for file descriptor ${prog}: not a BPF map: invalid argument`);
    const map = w.track(bpf.createMap(MapType.Hash, 4, 4, 4, 0, 0, "m"));
    expect(bpf.getMapInfoByFd(map)).toMatchObject({ type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 4 });
  });

  it("getProgInfoByFd on a closed fd reports the object-info failure", () => {
    expect(() => w.bpf.getProgInfoByFd(98765)).toThrow(/^Unable to get object info: /);
  });

  it("program syscalls reach the metrics hook", () => {
    const ops: string[] = [];
    const bpf = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger(), metrics: { syscall: (op, o) => ops.push(`${op}:${o}`) } });
    bpf.testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS);
    expect(ops).toEqual(["progLoad:success", "progAttach:fail"]);
  });
});
