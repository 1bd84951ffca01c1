// The host services' argument checks: a mode or flags value that is not a u32 (or, for mount,
// a non-negative integer) is a TypeError/RangeError, and nothing happens on disk. Without them
// koffi and node:fs would take another number: rename flags 2^32 go in as 0 (a plain rename),
// mount flags 0.5 as 0 (a mount), mkdir mode "755" as decimal 755.
import { existsSync, mkdtempSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { BPF_FS_MAGIC } from "@bpfkit/core";
import { describeKernel, kernelForFile } from "./helpers.js";

const k = kernelForFile();

describeKernel("kernel driver: host service arguments", () => {
  it("mkdir, mkdirAll, rename and mount refuse a mode or flags that is not what the call takes, and do nothing", () => {
    const { host } = k.d;
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-host-args-"));
    const sub = join(dir, "sub");
    const from = join(dir, "from"), to = join(dir, "to");
    writeFileSync(from, "x");
    try {
      for (const mkdir of [host.mkdir.bind(host), host.mkdirAll.bind(host)]) {
        expect(() => mkdir(sub, "755" as unknown as number)).toThrow(TypeError);
        expect(() => mkdir(sub, 0.5)).toThrow(TypeError);
        expect(() => mkdir(sub, -1)).toThrow(RangeError);
        expect(() => mkdir(sub, 2 ** 32)).toThrow(RangeError);
        expect(existsSync(sub)).toBe(false);
      }
      expect(() => host.rename!(from, to, 2 ** 32)).toThrow(RangeError);
      expect(() => host.rename!(from, to, -1)).toThrow(RangeError);
      expect(() => host.rename!(from, to, 0.5)).toThrow(TypeError);
      expect(existsSync(from) && !existsSync(to)).toBe(true);
      try {
        expect(() => host.mount("bpf", dir, "bpf", 0.5)).toThrow(TypeError);
        expect(() => host.mount("bpf", dir, "bpf", -1)).toThrow(TypeError);
        expect(() => host.mount("bpf", dir, "bpf", 2 ** 64)).toThrow(TypeError); // unsigned long: it went in as 0
        expect(() => host.mount("bpf", dir, "bpf", 0, "a\0b")).toThrow(TypeError);
        expect(host.statfsType(dir)).not.toBe(BPF_FS_MAGIC);
      } finally {
        // Only had a check failed to throw: the mount it made comes off again.
        if (host.statfsType(dir) === BPF_FS_MAGIC) host.umount(dir);
      }
      expect(statSync(dir).isDirectory()).toBe(true);
    } finally {
      for (const p of [from, to]) if (existsSync(p)) host.unlink(p);
      if (existsSync(sub)) rmdirSync(sub);
      rmdirSync(dir);
    }
  });
});
