// BpfMap.isPinned (cilium/ebpf's Map.IsPinned): whether the map this object holds is the one
// pinned at its path now, asked of the kernel, so that a replaced pin is seen.
import { expect, it } from "vitest";
import { DUMMY_PROG_INSNS, ProgType, u32 } from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, testMapSpec } from "./support/env.js";

eachDriver("BpfMap.isPinned", (get) => {
  it("true once created pinned, false before it is open and after unpin(), while its fd still works", () => {
    const env = get();
    const m = env.map(testMapSpec());
    expect(m.isPinned()).toBe(false);
    m.openOrCreate();
    expect(m.isPinned()).toBe(true);
    m.unpin();
    expect(m.isPinned()).toBe(false);
    m.update(1, 1);
    expect(m.lookup(1)).toBe(1);
  });

  it("false for a map made without a pin and for one opened by id; true for openMap of the pin", () => {
    const env = get();
    const unpinned = env.map(testMapSpec("loose"));
    unpinned.openOrCreateUnpinned();
    expect(unpinned.isPinned()).toBe(false);
    const m = env.map(testMapSpec());
    m.openOrCreate();
    expect(env.track(env.bpf.openMapById(m.info().id)).isPinned()).toBe(false);
    expect(env.track(env.bpf.openMap("cilium_test", { key: u32, value: u32 })).isPinned()).toBe(true);
  });

  it("false for a second object of the pinned path that is not open itself; no fd is left behind", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    const before = openFdsOf(env.driver);
    const twin = env.map(testMapSpec());
    expect([twin.isPinned(), twin.isOpen(), m.isPinned()]).toEqual([false, false, true]);
    expect(openFdsOf(env.driver)).toBe(before);
    env.track(env.otherBpf().newMap({ ...testMapSpec(), maxEntries: 32 })).openOrCreate();
    expect(m.isPinned()).toBe(false);
    expect(openFdsOf(env.driver)).toBe(before + 1);
  });

  it("false once another process replaced the pin with another map, true again after reopen()", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    const upgraded = env.track(env.otherBpf().newMap({ ...testMapSpec(), maxEntries: 32 }));
    expect(upgraded.openOrCreate()).toBe(true);   // a property upgrade: a new map renamed over the pin
    expect([m.isPinned(), upgraded.isPinned()]).toEqual([false, true]);
    m.reopen();
    expect(m.isPinned()).toBe(true);
  });

  it("false when a program is pinned at its path", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.unpin();
    const prog = env.driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license: "GPL" });
    expect(prog).toBeGreaterThanOrEqual(0);
    try {
      env.bpf.objPin(prog, m.path());
      expect(m.isPinned()).toBe(false);
      env.driver.host.unlink(m.path());
    } finally {
      env.driver.close(prog);
    }
  });
});
