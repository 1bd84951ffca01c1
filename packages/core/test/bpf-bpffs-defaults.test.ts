// Cilium's real default paths (/sys/fs/bpf, /run/cilium/bpffs) and root discovery, in the
// simulator's own world only: on the kernel these would touch the host's mounts.
import { describe, expect, it } from "vitest";
import { BPF_FS_MAGIC, createBpf, Errno, memoryLogger, wrapDriver, type Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";

const mountsAt = (d: Driver, p: string): string[] => {
  const m = d.host.mountInfo();
  if (typeof m === "number") throw new Error("mountInfo failed");
  return m.filter((x) => x.mountPoint === p).map((x) => x.fsType);
};

describe("default bpffs locations (simulator world)", () => {
  it("a booted host with bpffs at /sys/fs/bpf: detected, nothing mounted again, root /sys/fs/bpf", () => {
    const driver = createSimDriver();
    const logger = memoryLogger();
    const bpf = createBpf({ driver, logger });
    bpf.checkOrMountFS();
    expect(mountsAt(driver, "/sys/fs/bpf")).toEqual(["bpf"]);
    expect(logger.records.map((r) => r.msg)).toContain("Detected mounted BPF filesystem at /sys/fs/bpf");
    expect(bpf.mapPath("cilium_lxc")).toBe("/sys/fs/bpf/tc/globals/cilium_lxc");
  });

  it("no bpffs anywhere: checkOrMountFS mounts it at /sys/fs/bpf", () => {
    const driver = createSimDriver({ bpffsMount: null });
    const bpf = createBpf({ driver, logger: memoryLogger() });
    bpf.checkOrMountFS();
    expect(driver.host.statfsType("/sys/fs/bpf")).toBe(BPF_FS_MAGIC);
    expect(bpf.getMapRoot()).toBe("/sys/fs/bpf");
  });

  it("another filesystem at /sys/fs/bpf: bpffs goes to /run/cilium/bpffs, which becomes the root", () => {
    const driver = createSimDriver({ bpffsMount: null });
    expect(driver.host.mkdirAll("/sys/fs/bpf", 0o755)).toBe(0);
    expect(driver.host.mount("tmpfs", "/sys/fs/bpf", "tmpfs")).toBe(0);
    const logger = memoryLogger();
    const bpf = createBpf({ driver, logger });
    bpf.checkOrMountFS();
    expect(driver.host.statfsType("/run/cilium/bpffs")).toBe(BPF_FS_MAGIC);
    expect(bpf.mapPrefixPath()).toBe("/run/cilium/bpffs/tc/globals");
    expect(logger.records.some((r) => r.level === "warn" && r.msg.includes("fallback"))).toBe(true);
  });

  it("without mapRoot the root is found in the mount table: a bpffs elsewhere is used, with a warning naming it", () => {
    const driver = createSimDriver({ bpffsMount: "/mnt/bpf" });
    const logger = memoryLogger();
    expect(createBpf({ driver, logger }).getMapRoot()).toBe("/mnt/bpf");
    expect(logger.records.map((r) => [r.level, r.msg, r.fields?.root])).toEqual([
      ["warn", "No bpffs at the default root; using the first bpffs mounted as the map root", "/mnt/bpf"],
    ]);
  });

  it("no bpffs mounted at all: the default root, with a warning saying so", () => {
    const driver = createSimDriver({ bpffsMount: null });
    const logger = memoryLogger();
    expect(createBpf({ driver, logger }).getMapRoot()).toBe("/sys/fs/bpf");
    expect(logger.records.filter((r) => r.level === "warn").map((r) => r.msg)).toEqual([
      "Could not find BPF map root: no bpffs is mounted; using the default root",
    ]);
  });

  it("/sys/fs/bpf wins over an earlier bpffs mount elsewhere", () => {
    const driver = createSimDriver({ bpffsMount: null });
    for (const p of ["/mnt/first", "/sys/fs/bpf"]) {
      expect(driver.host.mkdirAll(p, 0o755)).toBe(0);
      expect(driver.host.mount("bpf", p, "bpf")).toBe(0);
    }
    expect(createBpf({ driver, logger: memoryLogger() }).getMapRoot()).toBe("/sys/fs/bpf");
  });

  it("of several bpffs mounts elsewhere, the first in the mount table is the root (the seed's choice)", () => {
    const driver = createSimDriver({ bpffsMount: null });
    for (const p of ["/mnt/first", "/mnt/second"]) {
      expect(driver.host.mkdirAll(p, 0o755)).toBe(0);
      expect(driver.host.mount("bpf", p, "bpf")).toBe(0);
    }
    const logger = memoryLogger();
    expect(createBpf({ driver, logger }).getMapRoot()).toBe("/mnt/first");
    expect(logger.records.map((r) => r.fields?.root)).toEqual(["/mnt/first"]);
  });

  it("a mount table that cannot be read gives the default root, with a warning saying why", () => {
    const driver = wrapDriver(createSimDriver({ bpffsMount: "/mnt/bpf" }), { host: { mountInfo: () => -Errno.EACCES } });
    const logger = memoryLogger();
    expect(createBpf({ driver, logger }).getMapRoot()).toBe("/sys/fs/bpf");
    expect(logger.records.map((r) => [r.level, r.msg, r.fields?.error])).toEqual([
      ["warn", "Could not get mount info for map root lookup; using the default root", "permission denied"],
    ]);
  });

  it("the root checkOrMountFS checked stays the root: the mount table is not read for it again", () => {
    const driver = createSimDriver();
    const bpf = createBpf({ driver, logger: memoryLogger() });
    bpf.checkOrMountFS();
    // Its bpffs goes and another appears before the root is first read: the checked one still holds.
    expect(driver.host.umount("/sys/fs/bpf")).toBe(0);
    expect(driver.host.mkdirAll("/mnt/later", 0o755)).toBe(0);
    expect(driver.host.mount("bpf", "/mnt/later", "bpf")).toBe(0);
    expect(bpf.getMapRoot()).toBe("/sys/fs/bpf");
  });
});
