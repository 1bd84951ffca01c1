// The kernel driver's host services on the real machine: statfs magic, mounts, fs calls as
// -errno, CLOCK_MONOTONIC, RLIMIT_MEMLOCK.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { BPF_FS_MAGIC, Errno } from "@bpfkit/core";
import { describeKernel, kernelForFile } from "./helpers.js";

const k = kernelForFile();
const PROC_SUPER_MAGIC = 0x9fa0;

describeKernel("kernel driver: host services", () => {
  it("statfsType: procfs magic for /proc, ENOENT for a missing path", () => {
    const { host } = k.d;
    expect(host.statfsType("/proc")).toBe(PROC_SUPER_MAGIC);
    expect(host.statfsType("/nonexistent/bpfkit")).toBe(-Errno.ENOENT);
  });

  it("the out-parameter block holds every byte statfs(2) writes (the struct's size, measured here)", () => {
    // statfs into a buffer with fill bytes past any plausible struct: what the kernel wrote is
    // up to the last byte that is not the fill (f_spare ends it with zeroes), under two fills.
    const koffi = createRequire(import.meta.url)("koffi");
    const statfs = koffi.load("libc.so.6").func("int statfs(const char *path, _Inout_ uint8_t *buf)");
    let written = 0;
    for (const fill of [0xaa, 0x55]) {
      const buf = new Uint8Array(512).fill(fill);
      expect(statfs("/proc", buf)).toBe(0);
      written = Math.max(written, buf.findLastIndex((b) => b !== fill) + 1);
    }
    expect(written).toBeGreaterThanOrEqual(64);
    const { host } = k.d;
    expect((host as unknown as { dv: DataView }).dv.byteLength).toBeGreaterThanOrEqual(written);
    expect(host.statfsType("/proc")).toBe(PROC_SUPER_MAGIC);
  });

  it("mount a bpffs on a temp dir: magic, mountinfo entry, busy rmdir, umount", () => {
    const { host } = k.d;
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-host-"));
    try {
      expect(host.mount("bpf", dir, "bpf")).toBe(0);
      try {
        expect(host.statfsType(dir)).toBe(BPF_FS_MAGIC);
        const mounts = host.mountInfo();
        expect(Array.isArray(mounts)).toBe(true);
        expect(mounts).toContainEqual(expect.objectContaining({ mountPoint: dir, fsType: "bpf", source: "bpf" }));
        expect(host.rmdir(dir)).toBe(-Errno.EBUSY);
      } finally {
        expect(host.umount(dir)).toBe(0);
      }
      expect(host.statfsType(dir)).not.toBe(BPF_FS_MAGIC);
      expect(host.umount(dir)).toBe(-Errno.EINVAL);
      expect(host.mount("bpf", dir, "no-such-fs")).toBe(-Errno.ENODEV);
    } finally {
      expect(host.rmdir(dir)).toBe(0);
    }
  });

  it("mkdir, mkdirAll, stat, readdir, unlink, rmdir, removeAll answer like the syscalls", () => {
    const { host } = k.d;
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-host-"));
    const deep = join(dir, "a", "b", "c");
    expect(host.mkdir(join(dir, "x", "y"), 0o700)).toBe(-Errno.ENOENT);
    expect(host.mkdirAll(deep, 0o700)).toBe(0);
    expect(host.mkdirAll(deep, 0o700)).toBe(0);
    expect(host.mkdir(deep, 0o700)).toBe(-Errno.EEXIST);
    expect(host.stat(deep)).toEqual({ errno: 0, isDirectory: true, isFile: false });
    writeFileSync(join(dir, "f"), "x");
    expect(host.stat(join(dir, "f"))).toEqual({ errno: 0, isDirectory: false, isFile: true });
    expect(host.stat(join(dir, "missing"))).toEqual({ errno: Errno.ENOENT, isDirectory: false, isFile: false });
    expect(host.mkdirAll(join(dir, "f"), 0o700)).toBeLessThan(0);
    expect((host.readdir(dir) as string[]).sort()).toEqual(["a", "f"]);
    expect(host.readdir(join(dir, "missing"))).toBe(-Errno.ENOENT);
    expect(host.rmdir(join(dir, "a"))).toBe(-Errno.ENOTEMPTY);
    expect(host.unlink(join(dir, "a"))).toBe(-Errno.EISDIR);
    expect(host.unlink(join(dir, "f"))).toBe(0);
    expect(host.unlink(join(dir, "f"))).toBe(-Errno.ENOENT);
    expect(host.removeAll(dir)).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(host.removeAll(dir)).toBe(0);
  });

  it("mkdir and mkdirAll take any u32 mode, as mkdir(2) does (bits above 07777 ignored), never aborting the process", () => {
    const { host } = k.d;
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-host-"));
    try {
      // Node's mkdirSync asserts an int32 mode: 2^31 and up used to abort the whole process.
      expect(host.mkdir(join(dir, "m"), 0xffff_ffff)).toBe(0);
      expect(host.mkdirAll(join(dir, "n", "o"), 0x8000_01c0)).toBe(0);
      expect(host.stat(join(dir, "n", "o"))).toEqual({ errno: 0, isDirectory: true, isFile: false });
      // 0x800001c0 is 0700 plus a high bit: the directory is 0700.
      expect(statSync(join(dir, "n", "o")).mode & 0o7777).toBe(0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mkdirAll answers an errno, and returns, where mkdir says ENOENT under an existing parent (procfs)", () => {
    // Node 20's recursive mkdirSync loops forever here; the driver must not.
    const { host } = k.d;
    const r = host.mkdirAll("/proc/self/bpfkit-no-such/dir", 0o700);
    expect(r).toBeLessThan(0);
    expect(host.stat("/proc/self/bpfkit-no-such").errno).toBe(Errno.ENOENT);
  });

  it("mount takes an empty data string, as mount(2) does", () => {
    const { host } = k.d;
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-mnt-"));
    expect(host.mount("bpf", dir, "bpf", 0, "")).toBe(0);
    expect(host.statfsType(dir)).toBe(0xcafe4a11);
    expect(host.umount(dir)).toBe(0);
    expect(host.rmdir(dir)).toBe(0);
  });

  it("monotonicNs is CLOCK_MONOTONIC: non-decreasing, and in step with /proc/uptime", () => {
    const { host } = k.d;
    const a = host.monotonicNs();
    const b = host.monotonicNs();
    expect(b >= a).toBe(true);
    // CLOCK_MONOTONIC and uptime (CLOCK_BOOTTIME) agree unless the machine suspended.
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const mono = Number(host.monotonicNs()) / 1e9;
    expect(mono).toBeLessThanOrEqual(uptime + 1);
    expect(mono).toBeGreaterThan(0);
    // libuv's hrtime reads the same clock: the two differ by the time between the calls.
    const before = process.hrtime.bigint();
    const m = host.monotonicNs();
    const after = process.hrtime.bigint();
    expect(m >= before && m <= after).toBe(true);
  });

  it("RLIMIT_MEMLOCK: get, set and restore; cur above max is EINVAL; non-bigints are caught", () => {
    const { host } = k.d;
    const was = host.getRlimitMemlock();
    expect(was.errno).toBe(0);
    expect(was.cur <= was.max).toBe(true);
    const cur = was.cur === 0n ? 0n : was.cur - 1n;
    try {
      expect(host.setRlimitMemlock(cur, was.max)).toBe(0);
      expect(host.getRlimitMemlock()).toEqual({ errno: 0, cur, max: was.max });
      // cur above max is EINVAL for anyone.
      expect(host.setRlimitMemlock(was.max === 0n ? 1n : was.max, was.max === 0n ? 0n : was.max - 1n)).toBe(-Errno.EINVAL);
      expect(() => host.setRlimitMemlock(1 as unknown as bigint, 1n)).toThrow(TypeError);
      expect(() => host.setRlimitMemlock(-1n, 1n)).toThrow(RangeError);
    } finally {
      expect(host.setRlimitMemlock(was.cur, was.max)).toBe(0);
    }
    expect(host.getRlimitMemlock()).toEqual(was);
  });
});
