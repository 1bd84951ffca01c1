// A private bpffs left behind by a test process that died (a timeout, a signal) is swept by the
// next one; a live process's mount never is.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { mountPrivateBpffs, sweepStaleBpffs } from "../src/bpffs.js";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { kernelUnderTest, simUnderTest } from "../src/drivers.js";

it("mountPrivateBpffs refuses a base that is not an absolute POSIX path (os.tmpdir() on Windows)", () => {
  const d = simUnderTest().create();
  expect(() => mountPrivateBpffs(d, "C:\\Users\\me\\Temp")).toThrow(TypeError);
  expect(() => mountPrivateBpffs(d, "tmp")).toThrow(/must be an absolute POSIX path/);
  expect(d.host.mountInfo()).toEqual(createSimDriver().host.mountInfo()); // nothing mounted
});

const kernel = kernelUnderTest();
describe.runIf(kernel.unavailable === undefined)("private bpffs on the kernel", () => {
  it("sweeps the mounts of test processes that are gone, and not that of one alive", () => {
    const driver = kernel.create();
    const isMounted = (p: string) => (driver.host.mountInfo() as { mountPoint: string }[]).some((m) => m.mountPoint === p);
    // The orphans go under a base of this test's own, not /tmp: every other test file's first
    // private mount sweeps /tmp, and one that ran between an orphan's mount and this test's
    // sweep took it first. Named bpfkit-test-<this pid>-…, the base is one that others' sweeps
    // leave alone while this process lives and clear if it dies.
    const base = `/tmp/bpfkit-test-${process.pid}-sweep-${Date.now().toString(36)}`;
    expect(driver.host.mkdirAll(base, 0o700)).toBe(0);
    // Mounted as a test that then died would have: named by a pid whose process has exited.
    const orphan = (tag: string) => {
      const path = `${base}/bpfkit-test-${spawnSync("true").pid}-${tag}-0`;
      expect(driver.host.mkdirAll(path, 0o700)).toBe(0);
      expect(driver.host.mount("bpf", path, "bpf")).toBe(0);
      expect(isMounted(path)).toBe(true);
      return path;
    };
    const first = orphan("first");
    // The first private mount a driver makes sweeps what dead processes left.
    const mine = mountPrivateBpffs(driver, base);
    let second = "";
    try {
      expect(isMounted(first)).toBe(false);
      expect(driver.host.stat(first).errno).toBe(2);
      second = orphan("second");
      expect(sweepStaleBpffs(driver, base)).toEqual([second]);
      expect(isMounted(second)).toBe(false);
      expect(isMounted(mine.path)).toBe(true);
    } finally {
      mine.dispose();
      for (const p of [first, second]) if (p && driver.host.umount(p) === 0) driver.host.rmdir(p);
      driver.host.rmdir(base);
    }
    expect(driver.host.stat(base).errno).toBe(2);
  });
});
