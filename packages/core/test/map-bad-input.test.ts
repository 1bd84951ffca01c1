// Bad input to a BpfMap on both drivers: every error names the map and the operation, and
// nothing is left half-done — no pin removed, no foreign map read, no cache entry that the
// resolver would later turn into a write the caller never asked for.
import { expect, it } from "vitest";
import { BpfError } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

eachDriver("BpfMap bad input", (get) => {
  it("checkAndUpgrade refuses a malformed desired MapInfo instead of unpinning the map", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    const own = m.mapInfo;
    for (const bad of [null, {}, { ...own, keySize: undefined }, { ...own, maxEntries: -1 }, { ...own, flags: "0" }]) {
      const e = thrown(() => m.checkAndUpgrade(bad as never));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^checkAndUpgrade cilium_test: /);
    }
    // The pin is still there, and the check itself still works.
    expect(env.driver.host.stat(m.path()).errno).toBe(0);
    expect(m.checkAndUpgrade(own)).toBe(false);
    expect(m.getFd()).toBeGreaterThanOrEqual(0);
    expect(thrown(() => m.checkAndUpgrade(undefined as never))).not.toBeInstanceOf(BpfError);
  });
});
