// openOrCreate over a pin it must not adopt: what open() refuses, openOrCreate refuses with the
// same EINVAL, its fd closed. The seed's objCheck read "cannot get map info" as "no upgrade",
// and never re-creates a PROG_ARRAY, so both handed back a map every later call failed on.
import { expect, it } from "vitest";
import { BpfError, DUMMY_PROG_INSNS, Errno, MapType, memoryLogger, createBpf, ProgType, u32, wrapDriver } from "@bpfkit/core";
import { openFdCount } from "./support/bpf-world.js";
import { eachDriver } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

eachDriver("openOrCreate over an existing pin", (get, kind) => {
  const fds = (): number => (kind === "kernel" ? openFdCount() : 0);
  const spec = { name: "cilium_ct4", type: MapType.Hash, key: u32, value: u32, maxEntries: 4 };

  /** What `op` of a fresh map object throws, with the object and the fd count checked after it. */
  function refusal(op: "open" | "openOrCreate" | "openOrCreateUnpinned", s: typeof spec = spec): BpfError {
    const env = get();
    const m = env.map(s);
    const before = fds();
    const e = thrownBpfError(() => m[op]());
    expect([m.getFd(), m.isOpen()]).toEqual([-1, false]);
    expect(fds()).toBe(before);
    expect(env.bpf.getOpenMaps()).toEqual([]);
    return e;
  }

  it("a pinned program is refused as open() refuses it, and stays pinned", () => {
    const env = get();
    env.driver.host.mkdirAll(env.bpf.mapPrefixPath(), 0o755);
    const prog = env.driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license: "GPL" });
    try {
      env.bpf.objPin(prog, env.bpf.mapPath("cilium_ct4"));
    } finally {
      env.driver.close(prog);
    }
    const byOpen = refusal("open");
    expect([byOpen.code, byOpen.op]).toEqual(["EINVAL", "open"]);
    expect(byOpen.message).toMatch(/^open cilium_ct4: .*it is a program, not a map/);
    for (const op of ["openOrCreate", "openOrCreateUnpinned"] as const) {
      const e = refusal(op);
      expect([e.code, e.op, e.map, e.path]).toEqual(["EINVAL", op, "cilium_ct4", env.bpf.mapPath("cilium_ct4")]);
      expect(e.message.replace(/descriptor \d+/, "descriptor N")).toBe(byOpen.message.replace(/^open/, op).replace(/descriptor \d+/, "descriptor N"));
    }
    const path = env.bpf.mapPath("cilium_ct4");
    expect(() => env.bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 4, 0, 0, true)).toThrow(/it is a program, not a map/);
    // The program's pin was neither adopted nor replaced.
    expect(env.driver.host.stat(path).errno).toBe(0);
    expect(() => env.bpf.openMap("cilium_ct4")).toThrow(/it is a program, not a map/);
  });

  it("a map whose info cannot be read is not adopted unchecked: the error is thrown, the fd closed", () => {
    const env = get();
    env.map(spec).openOrCreate();
    let failures = 1;
    const faulty = wrapDriver(env.driver, {
      objGetInfoByFd: (fd, info) => (failures-- > 0 ? -Errno.ENOMEM : env.driver.objGetInfoByFd(fd, info)),
    });
    const bpf = createBpf({ driver: faulty, mapRoot: env.root, logger: memoryLogger() });
    const m = env.track(bpf.newMap(spec));
    const before = fds();
    const e = thrownBpfError(() => m.openOrCreate());
    expect([e.code, e.op, e.map]).toEqual(["ENOMEM", "openOrCreate", "cilium_ct4"]);
    expect(m.getFd()).toBe(-1);
    expect(fds()).toBe(before);
    expect(m.openOrCreate()).toBe(false); // the next attempt checks and opens it
  });
});
