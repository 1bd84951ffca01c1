// Code that writes many elements often reuses one key object and one value object, changing
// their fields between calls. What the cache shows (getModel) must be what each write sent to
// the kernel, not what those objects hold afterwards.
import { expect, it } from "vitest";
import { MapType, struct, u32, u64 } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

const spec = { name: "cilium_flows", type: MapType.Hash, key: struct({ saddr: u32, sport: u32 }), value: struct({ packets: u64 }), maxEntries: 8 };

eachDriver("the cache's model", (get) => {
  it("shows each element as it was written, when the caller reuses its key and value objects", () => {
    const env = get();
    const m = env.map(spec).withCache();
    m.openOrCreate();
    const key = { saddr: 1, sport: 0 };
    const value = { packets: 0n };
    for (let i = 0; i < 3; i++) {
      key.sport = 1000 + i;
      value.packets = BigInt(i);
      m.update(key, value);
    }
    key.sport = 9999;
    value.packets = 99n;
    const model = m.getModel().cache!.map((e) => `${e.key} ${e.value}`).sort();
    const kernel = [...m.dump()].map(([k, v]) => `${k} ${v.join()}`).sort();
    expect(kernel).toEqual(["{saddr=1 sport=1000} {packets=0}", "{saddr=1 sport=1001} {packets=1}", "{saddr=1 sport=1002} {packets=2}"]);
    expect(model).toEqual(kernel);
  });
});
