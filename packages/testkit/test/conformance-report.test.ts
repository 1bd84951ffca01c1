// runConformance as a library: the report's shape, skips with reasons, group selection,
// failures named by case, and the promise that a case closes every fd it opened and leaves no
// mount behind.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Errno, wrapDriver, type Driver } from "@bpfkit/core";
import { defineConformanceTests, formatReport, runConformance, selectCases } from "../src/conformance/index.js";
import { driversUnderTest, kernelUnderTest, simUnderTest } from "../src/drivers.js";

const sim = simUnderTest();
const kernel = kernelUnderTest();
const renameCaseNames = selectCases({ groups: ["rename"] }).map((c) => c.name);

describe("runConformance", () => {
  it("reports passes by name and skips the exact LRU cases with a reason when exactLru is off", () => {
    const r = runConformance(() => sim.create(), { groups: ["lru-exact", "array"] });
    expect(r.driver).toBe("sim");
    expect(r.failed).toEqual([]);
    expect(r.passed).toBe(r.passedNames.length);
    expect(r.passedNames.every((n) => n.startsWith("§8"))).toBe(true);
    expect(r.skipped.length).toBe(selectCases({ groups: ["lru-exact"] }).length);
    expect(r.skipped[0]!.reason).toMatch(/single-CPU/);
  });

  it("formatReport: each failure with its message indented, each skip with its reason, then the counts", () => {
    const text = formatReport({
      driver: "sim", passed: 3, passedNames: ["a", "b", "c"], ms: 12.4,
      failed: [{ name: "§1 x", message: "first line\nsecond line" }, { name: "§2 y", message: "no" }],
      skipped: [{ name: "§3 z", reason: "needs a pin" }],
    });
    expect(text).toBe("FAIL §1 x\n  first line\n  second line\nFAIL §2 y\n  no\nSKIP §3 z: needs a pin\nsim: 3 passed, 2 failed, 1 skipped (12 ms)");
  });

  it("names the failing case and says what the kernel does", () => {
    // A driver that answers every lookup of a missing key with EPERM.
    const broken = () => {
      const d = sim.create();
      return wrapDriver(d, {
        mapLookupElem: (fd, k, v, f) => { const r = d.mapLookupElem(fd, k, v, f); return r === -2 ? -1 : r; },
      });
    };
    const r = runConformance(broken, { only: ["§4.1 elements HASH: errnos"] });
    expect(r.failed.length).toBe(1);
    expect(r.failed[0]!.name).toContain("§4.1 elements HASH");
    expect(r.failed[0]!.message).toContain("lookup of a missing key: expected ENOENT, got EPERM");
  });

  it("a driver without mounts (host.mount ENOSYS) skips the cases that need a bpffs, saying to pass one", () => {
    const noMounts = () => wrapDriver(sim.create(), { kind: "remote", host: { mount: () => -Errno.ENOSYS } });
    const r = runConformance(noMounts, { groups: ["elements", "pin", "fd-modes", "rename"] });
    expect(r.failed).toEqual([]);
    expect(r.passed).toBeGreaterThan(0);
    const pinCases = selectCases({ groups: ["pin", "fd-modes"] }).length;
    expect(r.skipped.length).toBeGreaterThanOrEqual(pinCases);
    expect(r.skipped[0]!.reason).toBe("remote's host.mount answers ENOSYS, so the case cannot mount a private bpffs: pass the bpffs option (a bpffs directory the suite may pin in) to run it");
    // The read-only and delegate cases mount on a directory of their own.
    expect(r.skipped.map((s) => s.reason)).toContain("remote's host.mount answers ENOSYS, so the case cannot mount on a directory of its own");
  });

  it("a driver without the optional dup and mapFdInfo skips their cases, saying which method it lacks; a dup answering ENOSYS skips too", () => {
    const dupNames = selectCases({ groups: ["dup"] }).map((c) => c.name);
    const fdInfoNames = selectCases({ groups: ["fdinfo"] }).map((c) => c.name);
    const bare = () => {
      const w = wrapDriver(sim.create(), { kind: "remote" }) as { -readonly [K in keyof Driver]: Driver[K] };
      delete w.dup;
      delete w.mapFdInfo;
      return w as Driver;
    };
    const r = runConformance(bare, { groups: ["dup", "fdinfo"] });
    expect(r.failed).toEqual([]);
    expect(r.passed).toBe(0);
    const reasons = new Map(r.skipped.map((s) => [s.name, s.reason]));
    expect(reasons).toEqual(new Map([
      ...dupNames.map((n) => [n, "remote has no dup (optional)"] as const),
      ...fdInfoNames.map((n) => [n, "remote has no mapFdInfo (optional)"] as const),
    ]));
    const enosys = runConformance(() => wrapDriver(sim.create(), { kind: "remote", dup: () => -Errno.ENOSYS }), { groups: ["dup"] });
    expect(enosys.failed).toEqual([]);
    expect(enosys.skipped).toEqual(dupNames.map((name) => ({ name, reason: "remote's dup answers ENOSYS (not offered)" })));
  });

  it("a driver that throws: the failure keeps the stack, which names the driver call of the case", () => {
    const dies = () => wrapDriver(sim.create(), { kind: "proxy", mapDeleteElem: function helperDied() { throw new Error("helper process died"); } });
    const r = runConformance(dies, { only: ["§4.1 elements HASH: errnos"] });
    expect(r.failed.map((f) => f.message)).toEqual(["Error: helper process died"]);
    const stack = r.failed[0]!.stack!;
    expect(stack.split("\n")[0]).toMatch(/^at (Object\.)?helperDied /);
    expect(stack).toMatch(/conformance\/cases\/elements\.ts:\d+/);
    const text = formatReport(r).split("\n");
    expect(text.slice(0, 3)).toEqual(["FAIL §4.1 elements HASH: errnos and check order (max 2)", "  Error: helper process died", `    ${stack.split("\n")[0]}`]);
    // Registered as tests, the error thrown carries that stack, so the runner shows the driver's line.
    const tests = new Map<string, () => void>();
    defineConformanceTests({ describe: (_n, fn) => fn(), it: (n, fn) => { tests.set(n, fn as () => void); } }, "t", dies, { only: ["§4.1 elements HASH: errnos"] });
    let thrown: Error | undefined;
    try { tests.values().next().value!(); } catch (e) { thrown = e as Error; }
    expect(thrown!.message).toBe("Error: helper process died");
    expect(thrown!.stack).toMatch(/^Error: Error: helper process died\n {4}at (Object\.)?helperDied /);
    // A mismatch the case found itself has no stack: its message says it all.
    const wrong = () => { const d = sim.create(); return wrapDriver(d, { mapDeleteElem: () => -Errno.EPERM }); };
    expect(runConformance(wrong, { only: ["§4.1 elements HASH: errnos"] }).failed[0]!.stack).toBeUndefined();
  });

  it("a bpffs option that is not a bpffs says the statfs errno, not a number", () => {
    // os.tmpdir() on Windows, say: a path the simulated host does not have.
    const r = runConformance(() => sim.create(), { only: ["§12 pin: OBJ_PIN creates a file on bpffs; EEXIST, ENOENT, EPERM, EINVAL as the kernel"], bpffs: "C:\\tmp" });
    expect(r.failed.length).toBe(1);
    expect(r.failed[0]!.message).toContain("statfs f_type of the bpffs at C:\\tmp: expected 3405662737, got ENOENT");
  });

  it("closes every fd a case opens, in every case of the suite", () => {
    let open = 0;
    const leaks: string[] = [];
    const counting = (): Driver => {
      const d = sim.create();
      const track = (fd: number) => { if (fd >= 0) open++; return fd; };
      return wrapDriver(d, {
        mapCreate: (a) => track(d.mapCreate(a)),
        objGet: (p, f) => track(d.objGet(p, f)),
        mapGetFdById: (id, f) => track(d.mapGetFdById(id, f)),
        progGetFdById: (id, f) => track(d.progGetFdById(id, f)),
        progLoad: (a) => track(d.progLoad(a)),
        dup: (fd) => track(d.dup!(fd)),
        btfLoad: (a) => track(d.btfLoad!(a)),
        btfGetFdById: (id) => track(d.btfGetFdById!(id)),
        perfEventOpen: (a) => track(d.perfEventOpen!(a)),
        close: (fd) => { const r = d.close(fd); if (r >= 0) open--; return r; },
      });
    };
    for (const c of selectCases({ groups: undefined })) {
      open = 0;
      const r = runConformance(counting, { only: [c.name], exactLru: true });
      if (open !== 0) leaks.push(`${c.name}: ${open} fd(s) left open`);
      expect(r.passed + r.failed.length + r.skipped.length).toBeGreaterThan(0);
    }
    expect(leaks).toEqual([]);
  });

  it("defineConformanceTests registers one zero-arity test per case (jest reads an arity-1 test as `done`)", () => {
    const names: string[] = [];
    const fns: ((...a: unknown[]) => void)[] = [];
    const api = {
      describe: (_: string, fn: () => void) => fn(),
      it: (name: string, fn: (...a: unknown[]) => void) => { names.push(name); fns.push(fn); },
    };
    const broken = () => {
      const d = sim.create();
      return wrapDriver(d, { mapDeleteElem: () => 0 });
    };
    defineConformanceTests(api, "t", broken, { groups: ["array", "lru-exact"] });
    expect(names).toEqual(selectCases({ groups: ["array", "lru-exact"] }).map((c) => c.name));
    expect(fns.every((f) => f.length === 0)).toBe(true);
    // array delete allowed: the §8 case throws with the kernel's answer in the message
    const i = names.findIndex((n) => n.startsWith("§8 array ARRAY:"));
    expect(() => fns[i]!()).toThrow(/delete idx 0: expected EINVAL, got OK/);
    // a test context with skip() (vitest) gets the reason
    const j = names.findIndex((n) => n.startsWith("§7.2"));
    let skippedWith = "";
    fns[j]!({ skip: (note?: string) => { skippedWith = note ?? ""; } });
    expect(skippedWith).toMatch(/single-CPU/);
  });

  it("says when a cleanup fails, also after the case itself failed", () => {
    // A rename that fails leaves the mount of "a mount below a renamed directory" at a/b/mnt,
    // and an umount that refuses it there leaves it for good.
    const stuck = () => {
      const d = sim.create();
      return wrapDriver(d, {
        host: { rename: () => -Errno.EPERM, umount: (p) => (p.endsWith("/a/b/mnt") ? -Errno.EBUSY : d.host.umount(p)) },
      });
    };
    const r = runConformance(stuck, { only: ["a mount below a renamed directory"] });
    expect(r.failed.length).toBe(1);
    expect(r.failed[0]!.message).toMatch(/^rename a to c: expected OK, got EPERM\ncleanup failed: \S+\/a\/b\/mnt is still mounted \(umount: EBUSY\); unmount \S+: umount \S+: errno 16$/);
  });

  for (const driver of driversUnderTest()) {
    it.skipIf(driver.unavailable !== undefined)(`[${driver.name}] skips the rename cases, saying why, for a driver whose host.rename answers ENOSYS`, () => {
      const r = runConformance(() => wrapDriver(driver.create(), { host: { rename: () => -Errno.ENOSYS } }), { groups: ["rename"] });
      expect(r.failed).toEqual([]);
      expect(r.skipped.map((s) => s.name)).toEqual(renameCaseNames);
      expect(r.skipped.map((s) => s.reason)).toEqual(renameCaseNames.map(() => `${driver.name}'s host.rename answers ENOSYS (not offered)`));
    });
  }

  for (const driver of driversUnderTest()) {
    it.skipIf(driver.unavailable !== undefined)(`[${driver.name}] a case that throws with a bpffs mounted on its mountDir and another below it leaves neither mount nor the directory`, () => {
      const ours = (d: Driver) => {
        const mounts = d.host.mountInfo();
        const names = d.host.readdir("/tmp");
        if (typeof mounts === "number" || typeof names === "number") throw new Error("mountInfo or readdir /tmp failed");
        const tag = `bpfkit-test-${process.pid}-mountorder-`;
        return [
          ...mounts.filter((m) => m.mountPoint.includes(`/${tag}`)).map((m) => m.mountPoint.replace(/.*\/bpfkit-test-[^/]+/, "<dir>")),
          ...names.filter((n) => n.startsWith(tag)).map(() => "<dir> exists"),
        ];
      };
      // The mount-order case mounts a bpffs on its directory, then a read-only one on ro/ below
      // it; a driver that throws on the next mount ends the case with both in place.
      let during: string[] = [];
      const drivers: Driver[] = [];
      const throwing = () => {
        const d = driver.create();
        drivers.push(d);
        return wrapDriver(d, {
          host: {
            mount: (src, target, type, flags, data) => {
              if (target.endsWith("/ro/maps.debug")) {
                during = ours(d);
                throw new Error("a driver bug");
              }
              return d.host.mount(src, target, type, flags, data);
            },
          },
        });
      };
      const r = runConformance(throwing, { only: ["§12 pin: mount(2) looks the target up first"] });
      expect(r.failed.map((f) => f.message)).toEqual(["Error: a driver bug"]);
      expect(during.sort()).toEqual(["<dir>", "<dir> exists", "<dir>/ro"]);
      expect(ours(drivers[0]!)).toEqual([]);
    });
  }

  it.skipIf(kernel.unavailable !== undefined)("[kernel] leaves no mount on the host when the rename cases fail: what a case mounted below its bpffs comes off wherever it is", () => {
    const ours = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(`/bpfkit-test-${process.pid}-`));
    const before = ours();
    const r = runConformance(() => wrapDriver(kernel.create(), { host: { rename: () => -Errno.EPERM } }), { groups: ["rename"] });
    const left = ours().filter((l) => !before.includes(l)).map((l) => l.split(" ")[4]!).sort((a, b) => b.length - a.length);
    // What a broken cleanup left is taken off here, then reported.
    const h = kernel.create().host;
    for (const p of left) h.umount(p);
    for (const p of left) h.rmdir(p);
    expect(left).toEqual([]);
    expect(r.failed.map((f) => f.message)).toContainEqual("rename a to c: expected OK, got EPERM");
  });
});
