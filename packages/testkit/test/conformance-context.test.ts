// CaseContext is what every conformance case stands on: a helper that let a failed call pass
// would turn cases green on a broken driver, and a cleanup that missed an fd, a pin or a mount
// would leak between cases (and, on the kernel, onto the host). Simulator only: its host is virtual.
import { BPF_MAP_TYPE_HASH, Errno, wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { mountPrivateBpffs } from "../src/bpffs.js";
import { CaseContext, u32 } from "../src/conformance/context.js";
import { CaseSkipped } from "../src/conformance/assert.js";
import { runCase, skipReason } from "../src/conformance/run.js";
import { driversUnderTest } from "../src/drivers.js";

const HASH = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 };

describe("CaseContext helpers fail the case when the driver refuses", () => {
  it("create, put, get, info, close and prog say what failed and how", () => {
    const sim = createSimDriver();
    const refusing = wrapDriver(sim, {
      mapCreate: () => -Errno.EPERM, mapUpdateElem: () => -Errno.E2BIG, mapLookupElem: () => -Errno.ENOENT,
      objGetInfoByFd: () => -Errno.EBADF, close: () => -Errno.EBADF, progLoad: () => -Errno.EACCES,
    });
    const ctx = new CaseContext(refusing, {});
    expect(() => ctx.create(HASH)).toThrow(/^create: map create .* failed with EPERM/);
    expect(() => ctx.put(3, u32(1), u32(2))).toThrow("update: update of key 01000000 failed with E2BIG");
    expect(() => ctx.get(3, u32(1), 4)).toThrow("lookup: lookup of key 01000000 failed with ENOENT");
    expect(() => ctx.info(3)).toThrow("OBJ_GET_INFO_BY_FD(3) failed with EBADF");
    expect(() => ctx.close(3)).toThrow("close(3) failed with EBADF");
    expect(() => ctx.prog()).toThrow(/^PROG_LOAD of the 2-instruction socket filter failed with EACCES/);
  });

  it("a walk ends at ENOENT only: another errno, or a walk that never ends, fails", () => {
    const sim = createSimDriver();
    const ctx = new CaseContext(sim, {});
    const fd = ctx.create(HASH);
    ctx.put(fd, u32(1), u32(1));
    expect(ctx.walkU32(fd)).toEqual([1]);
    const eperm = new CaseContext(wrapDriver(sim, { mapGetNextKey: () => -Errno.EPERM }), {});
    expect(() => eperm.walk(fd, 4)).toThrow("GET_NEXT_KEY during a walk failed with EPERM after 0 keys");
    let calls = 0;
    const loops = new CaseContext(wrapDriver(sim, { mapGetNextKey: (_fd, _k, next) => { calls++; next.set(u32(1)); return 0; } }), {});
    expect(() => loops.walk(fd, 4, 10)).toThrow("GET_NEXT_KEY walk did not end after 10 keys");
    // It gives up just past the limit, not after many times as many calls.
    expect(calls).toBe(11);
    expect(ctx.cleanup()).toEqual([]);
  });
});

describe("CaseContext cleanup", () => {
  it("closes every fd it was given, unlinks its pins on a shared bpffs and takes off only the mounts the case made", () => {
    const sim = createSimDriver();
    const shared = mountPrivateBpffs(sim);
    try {
      // A mount below the shared directory from before the case is not the case's to take off.
      const before = `${shared.path}/before`;
      expect(sim.host.mkdirAll(before, 0o700)).toBe(0);
      expect(sim.host.mount("bpf", before, "bpf")).toBe(0);
      const ctx = new CaseContext(sim, { bpffs: shared.path });
      const fd = ctx.create(HASH);
      const pin = ctx.pinPath("m");
      expect(pin.startsWith(`${shared.path}/m-`)).toBe(true);
      expect(sim.objPin(fd, pin)).toBe(0);
      const mine = `${shared.path}/mine`;
      expect(sim.host.mkdirAll(mine, 0o700)).toBe(0);
      expect(sim.host.mount("bpf", mine, "bpf")).toBe(0);
      // A mount beside the directory, whose path only starts like it, is not below it.
      const beside = `${shared.path}-beside`;
      expect(sim.host.mkdirAll(beside, 0o700)).toBe(0);
      expect(sim.host.mount("bpf", beside, "bpf")).toBe(0);
      expect(ctx.cleanup()).toEqual([]);
      expect((sim.host.mountInfo() as { mountPoint: string }[]).map((m) => m.mountPoint)).toContain(beside);
      expect(sim.host.umount(beside)).toBe(0);
      expect(sim.host.rmdir(beside)).toBe(0);
      expect(sim.close(fd)).toBe(-Errno.EBADF);
      expect(sim.host.stat(pin).errno).toBe(Errno.ENOENT);
      const points = (sim.host.mountInfo() as { mountPoint: string }[]).map((m) => m.mountPoint);
      expect(points).toContain(before);
      expect(points).not.toContain(mine);
      expect(sim.host.umount(before)).toBe(0);
    } finally {
      shared.dispose();
    }
  });

  it("reports a close that throws, and goes on", () => {
    const sim = createSimDriver();
    const ctx = new CaseContext(wrapDriver(sim, { close: () => { throw new Error("boom"); } }), {});
    const fd = ctx.create(HASH);
    expect(ctx.cleanup()).toEqual([`close(${fd}): boom`]);
  });
});

describe("CaseContext mappings", () => {
  /** The simulator with a fake mmap four that logs the order of mmap, munmap and close. */
  function fakeMmap(log: string[], munmapAnswer = 0) {
    const sim = createSimDriver();
    let next = 0;
    return wrapDriver(sim, {
      mapMmap: (fd, length) => (length === 0 ? -Errno.EINVAL : (log.push(`mmap ${fd}`), next++)),
      mmapRead: () => 0,
      mmapWrite: () => 0,
      munmap: (h) => (log.push(`munmap ${h}`), munmapAnswer),
      close: (fd) => (log.push(`close ${fd}`), sim.close(fd)),
    });
  }

  it("every mapping a case made and left is unmapped after it, before its fds are closed; a refused mmap is not tracked", () => {
    const log: string[] = [];
    const ctx = new CaseContext(fakeMmap(log), {});
    const fd = ctx.create(HASH);
    const a = ctx.mmap(fd, 4096, true);
    const b = ctx.mmap(fd, 4096, false, 0);
    expect(ctx.mmap(fd, 0, false)).toBe(-Errno.EINVAL);
    ctx.munmap(b);
    // The one left is handle 0, which is a handle like any other.
    expect(a).toBe(0);
    expect(ctx.cleanup()).toEqual([]);
    expect(log).toEqual([`mmap ${fd}`, `mmap ${fd}`, `munmap ${b}`, `munmap ${a}`, `close ${fd}`]);
  });

  it("a munmap that fails fails the case (by ctx.munmap) or its cleanup", () => {
    const ctx = new CaseContext(fakeMmap([], -Errno.EBADF), {});
    const fd = ctx.create(HASH);
    const a = ctx.mmap(fd, 4096, true), b = ctx.mmap(fd, 4096, true);
    expect(() => ctx.munmap(a)).toThrow(`munmap(${a}) failed with EBADF`);
    expect(ctx.cleanup()).toEqual([`munmap(${b}): EBADF`]);
  });

  it("a driver without mapMmap skips the case, saying so", () => {
    const ctx = new CaseContext(createSimDriver(), {});
    const sim = new CaseContext(wrapDriver(createSimDriver(), { mapMmap: null, mmapRead: null, mmapWrite: null, munmap: null }), {});
    for (const c of [ctx, sim]) {
      if (typeof c.driver.mapMmap === "function") continue;
      expect(() => c.mmap(3, 4096, false)).toThrow(CaseSkipped);
      expect(() => c.mmap(3, 4096, false)).toThrow(/^sim has no mapMmap \(optional/);
    }
    expect(sim.cleanup()).toEqual([]);
  });
});

describe("CaseContext ring buffer producer", () => {
  /** A wrapped simulator (no datapath facet) with a progTestRun: the kernel's producer over it. */
  const withTestRun = () => wrapDriver(createSimDriver(), {
    progTestRun: () => ({ errno: 0, retval: 0, duration: 0, dataSizeOut: 14, ctxSizeOut: 0 }),
  });

  it("ringbuf() gives one producer for the case, closed after it", () => {
    const ctx = new CaseContext(withTestRun(), {});
    const p = ctx.ringbuf();
    expect(ctx.ringbuf()).toBe(p);
    expect(ctx.cleanup()).toEqual([]);
    expect(() => p.output(3, Uint8Array.of(1))).toThrow("bpf_ringbuf_output: the producer is closed");
    // The next case gets a new one.
    expect(ctx.ringbuf()).not.toBe(p);
    expect(ctx.cleanup()).toEqual([]);
  });

  it("a producer whose close throws is a cleanup problem, and a driver with no producer skips the case, saying so", () => {
    const ctx = new CaseContext(withTestRun(), {});
    const p = ctx.ringbuf();
    p.close = () => {
      throw new Error("boom");
    };
    expect(ctx.cleanup()).toEqual(["ring buffer producer close: boom"]);
    const none = new CaseContext(wrapDriver(createSimDriver(), { kind: "plain" }), {});
    expect(() => none.ringbuf()).toThrow(CaseSkipped);
    expect(() => none.ringbuf()).toThrow(/^plain has no ring buffer producer \(ringbufProducerFor gives one for a driver with progTestRun, or the simulator\)$/);
    expect(none.cleanup()).toEqual([]);
  });
});

describe("runCase: outcomes", () => {
  const sim = () => createSimDriver();
  const unprivileged = { name: "x", group: "unprivileged" as const, run: () => {} };
  const plain = { name: "y", group: "array" as const, run: () => {} };

  it("a case runs only with the privileges its group needs, and says why not", () => {
    expect(skipReason(unprivileged, {})).toMatch(/need a driver without CAP_BPF\/CAP_SYS_ADMIN/);
    expect(skipReason(unprivileged, { privileged: false })).toBeUndefined();
    expect(skipReason(plain, { privileged: false })).toBe("needs a privileged driver (every capability)");
    expect(skipReason(plain, {})).toBeUndefined();
  });

  it("exclude skips the cases it matches with their reason, runs the others, and refuses a list without reasons", () => {
    let ran = 0;
    const counted = { ...plain, name: "array: freeze then update is EPERM", run: () => { ran++; } };
    const exclude = [{ match: "freeze", reason: "the remote helper has no BPF_MAP_FREEZE" }];
    expect(runCase(counted, sim, { exclude })).toEqual({ status: "skipped", reason: "excluded: the remote helper has no BPF_MAP_FREEZE" });
    expect(ran).toBe(0);
    expect(runCase({ ...counted, name: "array: update" }, sim, { exclude })).toEqual({ status: "passed" });
    expect(ran).toBe(1);
    expect(() => skipReason(plain, { exclude: ["freeze"] as never })).toThrow(new TypeError(
      "conformance options: exclude must be a list of { match, reason }, each a non-empty string"));
    expect(() => skipReason(plain, { exclude: [{ match: "freeze", reason: "" }] })).toThrow(TypeError);
  });

  it("CaseSkipped skips with its reason; any other throw fails, named unless it is a ConformanceError", () => {
    expect(runCase({ ...plain, run: () => { throw new CaseSkipped("no rename here"); } }, sim)).toEqual({ status: "skipped", reason: "no rename here" });
    expect(runCase({ ...plain, run: () => { throw new TypeError("bad"); } }, sim)).toMatchObject({ status: "failed", message: "TypeError: bad" });
  });

  it("one cleanup problem fails a passing case, and follows a failing case's own message", () => {
    const closeThrows = () => { const d = createSimDriver(); return wrapDriver(d, { close: () => { throw new Error("boom"); } }); };
    const opens = (ctx: CaseContext) => { ctx.create(HASH); };
    expect(runCase({ ...plain, run: opens }, closeThrows)).toEqual({ status: "failed", message: "cleanup failed: close(3): boom" });
    const opensAndFails = (ctx: CaseContext) => { ctx.create(HASH); throw new Error("own"); };
    expect(runCase({ ...plain, run: opensAndFails }, closeThrows)).toMatchObject({ status: "failed", message: "Error: own\ncleanup failed: close(3): boom" });
  });
});

describe("driversUnderTest", () => {
  it("BPFKIT_DRIVERS narrows the drivers to those it names", () => {
    const saved = process.env.BPFKIT_DRIVERS;
    try {
      process.env.BPFKIT_DRIVERS = "sim";
      expect(driversUnderTest().map((d) => d.name)).toEqual(["sim"]);
      process.env.BPFKIT_DRIVERS = "kernel";
      expect(driversUnderTest().map((d) => d.name)).toEqual(["kernel"]);
      process.env.BPFKIT_DRIVERS = "";
      expect(driversUnderTest().map((d) => d.name)).toEqual(["sim", "kernel"]);
    } finally {
      if (saved === undefined) delete process.env.BPFKIT_DRIVERS;
      else process.env.BPFKIT_DRIVERS = saved;
    }
  });
});
