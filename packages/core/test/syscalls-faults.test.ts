// Error paths driven by the simulator's fault injection and interleaving hook: which errno wins,
// what is restored, and that nothing is left open. (The kernel cannot be made to fail on cue.)
import { describe, expect, it } from "vitest";
import {
  BPF_CGROUP_INET_INGRESS, createBpf, MapType, memoryLogger, ProgType, RLIM_INFINITY, wrapDriver,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { thrownBpfError } from "./support/thrown.js";

const noProgs = (d: ReturnType<typeof createSimDriver>): boolean => d.progGetNextId(0) === -2;

describe("testDummyProg error paths (simulator)", () => {
  it("RLIMIT_MEMLOCK is infinity during the load and restored after", () => {
    const driver = createSimDriver({ memlock: 65536n });
    const seen: bigint[] = [];
    driver.setInterleavingHook((op) => {
      if (op === "progLoad") seen.push(driver.host.getRlimitMemlock().cur);
    });
    createBpf({ driver, logger: memoryLogger() }).testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS);
    driver.setInterleavingHook(null);
    expect(seen).toEqual([RLIM_INFINITY]);
    expect(driver.host.getRlimitMemlock()).toMatchObject({ cur: 65536n, max: 65536n });
    expect(noProgs(driver)).toBe(true);
  });

  it("a failed load is thrown with its errno, and the limit is restored", () => {
    const driver = createSimDriver({ memlock: 65536n });
    driver.faults.inject("progLoad", { errno: 1 });
    const e = thrownBpfError(() => createBpf({ driver, logger: memoryLogger() }).testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS));
    expect([e.op, e.code]).toEqual(["BPF_PROG_LOAD", "EPERM"]);
    expect(driver.host.getRlimitMemlock().cur).toBe(65536n);
  });

  it("attach: EBADF is success, any other errno is thrown; the program is closed either way", () => {
    const driver = createSimDriver();
    const bpf = createBpf({ driver, logger: memoryLogger() });
    driver.faults.inject("progAttach", { errno: 9 });
    bpf.testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS);
    expect(noProgs(driver)).toBe(true);
    driver.faults.inject("progAttach", { errno: 95 });
    const e = thrownBpfError(() => bpf.testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS));
    expect([e.op, e.code]).toEqual(["BPF_PROG_ATTACH", "EOPNOTSUPP"]);
    expect(noProgs(driver)).toBe(true);
  });

  it("a limit that cannot be read is thrown before anything is loaded", () => {
    const driver = createSimDriver();
    const broken = wrapDriver(driver, { host: { getRlimitMemlock: () => ({ errno: 1, cur: 0n, max: 0n }) } });
    const e = thrownBpfError(() => createBpf({ driver: broken, logger: memoryLogger() }).testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS));
    expect([e.op, e.code, e.message]).toEqual(["getrlimit", "EPERM", "Unable to get RLIMIT_MEMLOCK: operation not permitted"]);
    expect(noProgs(driver)).toBe(true);
  });

  it("a limit that cannot be restored after the load is thrown, and the program is closed", () => {
    const driver = createSimDriver({ memlock: 65536n });
    let calls = 0;
    const stuck = wrapDriver(driver, {
      host: { setRlimitMemlock: (cur, max) => (++calls === 1 ? driver.host.setRlimitMemlock(cur, max) : -1) },
    });
    const e = thrownBpfError(() => createBpf({ driver: stuck, logger: memoryLogger() }).testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS));
    expect([e.op, e.code, e.message]).toEqual(["setrlimit", "EPERM", "Unable to restore RLIMIT_MEMLOCK: operation not permitted"]);
    expect(noProgs(driver)).toBe(true);
  });

  it("a driver that throws from progLoad: its error is the one thrown, even when the limit cannot be restored", () => {
    const driver = createSimDriver({ memlock: 65536n });
    let calls = 0;
    const broken = wrapDriver(driver, {
      progLoad: () => { throw new RangeError("driver bug"); },
      host: { setRlimitMemlock: (cur, max) => (++calls === 1 ? driver.host.setRlimitMemlock(cur, max) : -1) },
    });
    expect(() => createBpf({ driver: broken, logger: memoryLogger() }).testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS))
      .toThrow(new RangeError("driver bug"));
    expect(calls).toBe(2);
  });

  it("an unprivileged process that cannot raise the limit still gets the load's own answer", () => {
    const driver = createSimDriver({ privileged: false });
    const before = driver.host.getRlimitMemlock();
    const e = thrownBpfError(() => createBpf({ driver, logger: memoryLogger() }).testDummyProg(ProgType.CgroupSkb, BPF_CGROUP_INET_INGRESS));
    expect(e.op).toBe("BPF_PROG_LOAD");
    expect(e.code).toBe("EPERM");
    expect(driver.host.getRlimitMemlock()).toEqual(before);
  });
});

describe("openOrCreateMap error paths (simulator)", () => {
  it("a failed pin closes the map it created: no map is left alive", () => {
    const driver = createSimDriver();
    driver.faults.inject("objPin", { errno: 28 });
    const bpf = createBpf({ driver, logger: memoryLogger() });
    const e = thrownBpfError(() => bpf.openOrCreateMap("/sys/fs/bpf/tc/globals/m", MapType.Hash, 4, 4, 4, 1, 0, true));
    expect(e.message).toBe("Unable to pin object with file descriptor 3 to /sys/fs/bpf/tc/globals/m: no space left on device".replace("3", String(e.message.match(/descriptor (\d+)/)![1])));
    expect(e.code).toBe("ENOSPC");
    expect(driver.liveMapIds()).toEqual([]);
  });

  it("a stat error other than ENOENT counts as existing (the seed's rule): the open reports it", () => {
    const driver = createSimDriver();
    const bpf = createBpf({ driver, logger: memoryLogger() });
    // A pin where a directory should be: stat of a path below it says ENOTDIR.
    const { fd } = bpf.openOrCreateMap("/sys/fs/bpf/file", MapType.Array, 4, 4, 1, 0, 0, true);
    const e = thrownBpfError(() => bpf.openOrCreateMap("/sys/fs/bpf/file/sub/m", MapType.Array, 4, 4, 1, 0, 0, true));
    expect([e.op, e.code, e.path]).toEqual(["Unable to get object", "ENOTDIR", "/sys/fs/bpf/file/sub/m"]);
    expect(driver.liveMapIds().length).toBe(1);
    driver.close(fd);
  });

  it("when reading the live map's info fails, the error is thrown and the fd closed, not an unchecked map returned", () => {
    // The seed's objCheck says "no upgrade" here, which handed back this 4-byte-value map for 8.
    const driver = createSimDriver();
    const bpf = createBpf({ driver, logger: memoryLogger() });
    const a = bpf.openOrCreateMap("/sys/fs/bpf/m", MapType.Hash, 4, 4, 4, 1, 0, true);
    driver.faults.inject("objGetInfoByFd", { errno: 12 });
    const e = thrownBpfError(() => bpf.openOrCreateMap("/sys/fs/bpf/m", MapType.Hash, 4, 8, 4, 1, 0, true));
    expect([e.code, e.op]).toEqual(["ENOMEM", "BPF_OBJ_GET_INFO_BY_FD"]);
    expect(driver.liveMapIds().length).toBe(1);
    driver.close(a.fd);
    // The pin is untouched; the next attempt checks it and upgrades.
    const b = bpf.openOrCreateMap("/sys/fs/bpf/m", MapType.Hash, 4, 8, 4, 1, 0, true);
    expect(b.isNew).toBe(true);
    driver.close(b.fd);
  });
});

describe("map-type probes under faults (simulator)", () => {
  it("EINVAL from the probe means unsupported; ENOMEM says nothing, so the type is kept", () => {
    const driver = createSimDriver();
    driver.faults.inject("mapCreate", { errno: 22 });
    const a = createBpf({ driver, logger: memoryLogger() });
    expect(a.getMapType(MapType.LRUHash)).toBe(MapType.Hash);
    driver.faults.inject("mapCreate", { errno: 12 });
    const b = createBpf({ driver, logger: memoryLogger() });
    expect(b.getMapType(MapType.LPMTrie)).toBe(MapType.LPMTrie);
    expect(driver.liveMapIds()).toEqual([]);
  });
});
