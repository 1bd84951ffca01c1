// An LPM trie compares only a key's prefix bits: 10.1.0.5/16 and 10.1.0.0/16 are one element.
// The cache must name them as one too, or it keeps entries the kernel has replaced or deleted.
import { expect, it } from "vitest";
import { BPF_F_NO_PREALLOC, BPF_MAP_TYPE_LPM_TRIE, createBpf, ERROR_RESOLVER_DELAY_MS, ipv4, lpmKey, u32 } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";
import { ManualClock } from "./support/manual-clock.js";

const spec = { name: "cilium_ipcache", type: BPF_MAP_TYPE_LPM_TRIE, key: lpmKey(ipv4), value: u32, maxEntries: 16, flags: BPF_F_NO_PREALLOC };

eachDriver("the cache of an LPM trie", (get) => {
  it("is one entry per prefix, whatever the bits past it, as the kernel holds them", () => {
    const env = get();
    const m = env.map(spec).withCache();
    m.openOrCreate();
    m.update({ prefixLen: 16, data: "10.1.0.0" }, 1);
    m.update({ prefixLen: 16, data: "10.1.0.5" }, 2);     // replaces the element, with its bytes
    m.update({ prefixLen: 17, data: "10.1.128.0" }, 3);   // another prefix
    m.update({ prefixLen: 12, data: "10.1.0.0" }, 4);     // another length
    const model = () => m.getModel().cache!.map((e) => `${e.key} ${e.value}`).sort();
    const kernel = () => [...m.dump()].map(([k, v]) => `${k} ${v.join()}`).sort();
    expect(kernel()).toEqual(["10.1.0.0/12 4", "10.1.0.5/16 2", "10.1.128.0/17 3"]);
    expect(model()).toEqual(kernel());
    m.delete({ prefixLen: 16, data: "10.1.99.99" });        // the kernel deletes 10.1.0.5/16
    m.delete({ prefixLen: 17, data: "10.1.255.255" });
    expect(kernel()).toEqual(["10.1.0.0/12 4"]);
    expect(model()).toEqual(kernel());
    expect(m.outstandingErrors).toBe(0);
  });

  it("counts a prefix once for the pressure metric", () => {
    const env = get();
    const seen: number[] = [];
    const bpf = createBpf({ driver: env.driver, mapRoot: env.root, metrics: { mapPressure: (_n, p) => seen.push(p * 16) } });
    const m = env.track(bpf.newMap(spec).withPressureMetric());
    m.openOrCreate();
    m.update({ prefixLen: 24, data: "192.168.1.0" }, 1);
    m.update({ prefixLen: 24, data: "192.168.1.7" }, 1);
    m.update({ prefixLen: 32, data: "192.168.1.7" }, 1);
    m.deleteAll();
    expect(seen).toEqual([1, 2, 1, 0]);
  });
  it("keeps prefixes of one length apart where they differ inside a byte (/17, /18 …)", () => {
    const env = get();
    const m = env.map(spec).withCache();
    m.openOrCreate();
    m.update({ prefixLen: 17, data: "10.1.0.0" }, 1);
    m.update({ prefixLen: 17, data: "10.1.128.0" }, 2);
    m.update({ prefixLen: 18, data: "10.1.64.0" }, 3);
    m.update({ prefixLen: 18, data: "10.1.127.255" }, 4);  // replaces 10.1.64.0/18: same top 18 bits
    const model = () => m.getModel().cache!.map((e) => `${e.key} ${e.value}`).sort();
    const kernel = () => [...m.dump()].map(([k, v]) => `${k} ${v.join()}`).sort();
    expect(kernel()).toEqual(["10.1.0.0/17 1", "10.1.127.255/18 4", "10.1.128.0/17 2"]);
    expect(model()).toEqual(kernel());
    m.delete({ prefixLen: 17, data: "10.1.255.0" });        // the kernel deletes 10.1.128.0/17 only
    expect(kernel()).toEqual(["10.1.0.0/17 1", "10.1.127.255/18 4"]);
    expect(model()).toEqual(kernel());
  });

  it("names a prefix as one entry through updateBatch and deleteBatch too", () => {
    const env = get();
    const m = env.map(spec).withCache();
    m.openOrCreate();
    m.updateBatch([{ prefixLen: 16, data: "10.1.0.0" }, { prefixLen: 16, data: "10.1.0.5" }, { prefixLen: 8, data: "10.0.0.0" }], [1, 2, 3]);
    const model = () => m.getModel().cache!.map((e) => `${e.key} ${e.value}`).sort();
    const kernel = () => [...m.dump()].map(([k, v]) => `${k} ${v.join()}`).sort();
    expect(kernel()).toEqual(["10.0.0.0/8 3", "10.1.0.5/16 2"]);
    expect(model()).toEqual(kernel());
    m.deleteBatch([{ prefixLen: 16, data: "10.1.99.99" }]);
    expect(kernel()).toEqual(["10.0.0.0/8 3"]);
    expect(model()).toEqual(kernel());
  });

  it("leaves the caller's key bytes as written: the resolver's retry stores them, host bits and all", () => {
    const env = get();
    const clock = new ManualClock();
    const m = env.map({ ...spec, maxEntries: 1 }).withCache({ clock });
    m.openOrCreate();
    m.update({ prefixLen: 8, data: "10.0.0.0" }, 1);
    expect(() => m.update({ prefixLen: 16, data: "10.1.0.5" }, 2)).toThrow(expect.objectContaining({ code: "ENOSPC" }));
    m.delete({ prefixLen: 8, data: "10.0.0.0" });
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.outstandingErrors).toBe(0);
    expect([...m.dump()].map(([k, v]) => `${k} ${v.join()}`)).toEqual(["10.1.0.5/16 2"]);
  });
});
