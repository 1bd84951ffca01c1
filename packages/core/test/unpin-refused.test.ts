// Unpin is rm -rf of the pin path; what the filesystem refuses there (a mount on the path: EBUSY,
// on the kernel and the simulator alike) is thrown naming the map and the operation, never taken
// for a pin removed. unpinMapIfExists stats the path first and, as the seed, does nothing when
// that fails for any reason.
import { expect, it } from "vitest";
import { createBpf, Errno, isNotExist, memoryLogger } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

eachDriver("unpin refused", (get) => {
  it("a pin path the filesystem will not remove (a mount on it: EBUSY) is an error of unpin, unpinIfExists and unpinMapIfExists", () => {
    const env = get();
    const m = env.map(testMapSpec("busy"));
    const p = m.path();
    const host = env.driver.host;
    expect(host.mkdirAll(p, 0o755)).toBe(0);
    expect(host.mount("bpf", p, "bpf")).toBe(0);
    try {
      for (const [op, f] of [["unpin", () => m.unpin()], ["unpinIfExists", () => m.unpinIfExists()]] as const) {
        const e = thrownBpfError(f);
        expect([op, e.code, e.op, e.map, e.path]).toEqual([op, "EBUSY", "unpin", "busy", p]);
        expect(e.message).toBe(`unpin busy ${p}: device or resource busy`);
      }
      const e = thrownBpfError(() => env.bpf.unpinMapIfExists("busy"));
      expect([e.code, e.op, e.path]).toEqual(["EBUSY", "Unable to unpin map", p]);
      // Still there: nothing claimed it was removed.
      expect(host.stat(p).isDirectory).toBe(true);
    } finally {
      expect(host.umount(p)).toBe(0);
    }
    // Once the mount is gone the same calls remove it, and a second unpin is quiet.
    m.unpin();
    expect(host.stat(p).errno).not.toBe(0);
    m.unpin();
    m.unpinIfExists();
    env.bpf.unpinMapIfExists("busy");
    expect(isNotExist(thrownBpfError(() => m.open()))).toBe(true);
  });

  it("unpinMapIfExists of a path whose stat fails otherwise than ENOENT (a pin where the map directory should be: ENOTDIR) does nothing, as the seed", () => {
    const env = get();
    const m = env.map(testMapSpec("holder"));
    m.openOrCreate();
    const pin = `${env.root}/notadir`;
    env.bpf.objPin(m.getFd(), pin);
    const bpf = createBpf({ driver: env.driver, mapRoot: env.root, mapPrefix: "notadir/globals", logger: memoryLogger() });
    expect(env.driver.host.stat(bpf.mapPath("y")).errno).toBe(Errno.ENOTDIR);
    bpf.unpinMapIfExists("y");
    expect(m.isPinned()).toBe(true);
    expect(env.driver.host.unlink(pin)).toBe(0);
  });
});
