// configureResourceLimits, getMtime and the pre-allocation switch of a Bpf instance.
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BPF_F_NO_PREALLOC, BpfError, createBpf, MapType, memoryLogger, RLIM_INFINITY } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { forEachDriver, makeWorld, type World } from "./support/bpf-world.js";

/** Whether this process may raise RLIMIT_MEMLOCK's hard limit: CAP_SYS_RESOURCE (bit 24). */
function haveCapSysResource(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m !== null && ((BigInt(`0x${m[1]}`) >> 24n) & 1n) === 1n;
}

/** What a refused raise says: the capability, and that 5.11+ kernels do not need the raise. */
const MEMLOCK_EPERM = "Unable to set memory resource limits: operation not permitted (raising RLIMIT_MEMLOCK's hard limit " +
  "needs CAP_SYS_RESOURCE; since Linux 5.11 BPF memory is charged to the memory cgroup, and the raise is not needed)";

forEachDriver("process helpers", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  it("configureResourceLimits raises RLIMIT_MEMLOCK to infinity, or throws EPERM without CAP_SYS_RESOURCE", () => {
    const host = w.driver.host;
    const before = host.getRlimitMemlock();
    expect(before.errno).toBe(0);
    const mayRaise = d.name === "sim" || before.max === RLIM_INFINITY || haveCapSysResource();
    try {
      if (mayRaise) {
        w.bpf.configureResourceLimits();
        const now = host.getRlimitMemlock();
        expect([now.cur, now.max]).toEqual([RLIM_INFINITY, RLIM_INFINITY]);
      } else {
        let err: unknown;
        try {
          w.bpf.configureResourceLimits();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(BpfError);
        expect((err as BpfError).message).toBe(MEMLOCK_EPERM);
        expect(host.getRlimitMemlock()).toEqual(before);
      }
    } finally {
      host.setRlimitMemlock(before.cur, before.max);
    }
  });

  it("getMtime is the driver's CLOCK_MONOTONIC in ns (the kernel's matches Node's hrtime)", () => {
    const a = w.bpf.getMtime();
    const t1 = process.hrtime.bigint();
    const b = w.bpf.getMtime();
    const t2 = process.hrtime.bigint();
    expect(typeof a).toBe("bigint");
    expect(b).toBeGreaterThanOrEqual(a);
    if (d.name === "kernel") {
      expect(b).toBeGreaterThanOrEqual(t1);
      expect(b).toBeLessThanOrEqual(t2);
    }
  });

  it("pre-allocation is per instance, off by default, and switchable", () => {
    const a = w.bpf;
    const b = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger() });
    expect(a.getPreAllocateMapFlags(MapType.Hash)).toBe(BPF_F_NO_PREALLOC);
    a.enableMapPreAllocation();
    expect(a.getPreAllocateMapFlags(MapType.Hash)).toBe(0);
    expect(a.getPreAllocateMapFlags(MapType.LPMTrie)).toBe(BPF_F_NO_PREALLOC);
    expect(b.getPreAllocateMapFlags(MapType.Hash)).toBe(BPF_F_NO_PREALLOC);
    a.disableMapPreAllocation();
    expect(a.getPreAllocateMapFlags(MapType.Hash)).toBe(BPF_F_NO_PREALLOC);
    const c = createBpf({ driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger(), preAllocateMaps: true });
    expect(c.getPreAllocateMapFlags(MapType.PerCPUHash)).toBe(0);
  });
});

// The simulated host without privilege refuses the raise as a process without CAP_SYS_RESOURCE,
// whatever this process may do (the kernel's half above meets the refusal only where it lacks it).
describe("process helpers without privilege (simulator)", () => {
  it("configureResourceLimits' EPERM says what is missing and when the raise is not needed at all", () => {
    const bpf = createBpf({ driver: createSimDriver({ privileged: false }), logger: memoryLogger() });
    expect(() => bpf.configureResourceLimits()).toThrow(MEMLOCK_EPERM);
  });
});
