// The ipcache example (examples/ipcache/): Cilium's LPM trie of prefixes to identities, ported.
// The same checks run on the simulator and on the kernel; then, on the simulator, a delete that
// fails during the restore is left to the cache's error resolver.
import { Errno, createBpf, type Bpf, type Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { IPCACHE_NAME, lookupIdentity, newIpcacheMap, syncIpcache } from "../../../examples/ipcache/ipcache.js";
import {
  FLAG_HAS_TUNNEL_ENDPOINT, FLAG_SKIP_TUNNEL, type RemoteEndpointInfo, ipcacheKey, remoteEndpointInfo,
} from "../../../examples/ipcache/layout.js";
import { mountPrivateBpffs } from "../src/bpffs.js";
import { driversUnderTest } from "../src/drivers.js";

const WORLD = 2;
const peer = (identity: number, tunnelEndpoint?: string): RemoteEndpointInfo => ({ identity, tunnelEndpoint, encryptKey: 0, flags: 0 });

/** What the agent wanted in its last run: keyed by ipcacheKey.format. */
const lastRun = new Map<string, RemoteEndpointInfo>([
  ["0.0.0.0/0", peer(WORLD)],
  ["10.0.0.0/8", peer(16777217)],
  ["10.1.0.0/16", peer(1000, "192.168.0.2")],
  ["10.1.2.3/32", peer(1001, "192.168.0.3")],
  ["10.1.2.4/32", peer(1002, "192.168.0.3")],
  ["f00d::/64", peer(2000, "fd00::2")],
  ["f00d::1/128", peer(2001, "fd00::3")],
  ["10.1.2.3/32@2", peer(3000, "172.16.0.9")],     // the same address in cluster 2
]);

function pressureOf(seen: number[], maxEntries: number): number {
  return Math.round(seen[seen.length - 1]! * maxEntries);
}

for (const d of driversUnderTest()) {
  describe.runIf(d.unavailable === undefined)(`the ipcache example on ${d.name}`, () => {
    const setup = (driver: Driver, root: string) => {
      const pressure: number[] = [];
      const bpf = createBpf({ driver, mapRoot: root, metrics: { mapPressure: (_n, p) => pressure.push(p) } });
      return { bpf, pressure };
    };

    it("looks addresses up by their longest prefix, per cluster and family", () => {
      const driver = d.create();
      using fs = mountPrivateBpffs(driver);
      const { bpf, pressure } = setup(driver, fs.path);
      using m = newIpcacheMap(bpf, 64);
      m.openOrCreate();
      expect(syncIpcache(m, lastRun)).toEqual({ kept: 0, updated: 0, added: 8, deleted: 0, failed: 0 });
      expect(pressureOf(pressure, 64)).toBe(8);

      expect(lookupIdentity(m, "10.1.2.3")).toEqual(peer(1001, "192.168.0.3"));
      expect(lookupIdentity(m, "10.1.9.9")?.identity).toBe(1000);      // the /16
      expect(lookupIdentity(m, "10.200.0.1")?.identity).toBe(16777217); // the /8
      expect(lookupIdentity(m, "192.168.7.7")?.identity).toBe(WORLD);   // 0.0.0.0/0
      expect(lookupIdentity(m, "10.1.2.3", 2)).toEqual(peer(3000, "172.16.0.9"));
      expect(lookupIdentity(m, "10.1.9.9", 2)).toBeUndefined();        // cluster 2 has only the /32
      expect(lookupIdentity(m, "f00d::7")).toEqual(peer(2000, "fd00::2"));
      expect(lookupIdentity(m, "f00e::1")).toBeUndefined();            // no ::/0 entry
      expect(m.lookup({ prefix: "10.1.2.0/24", clusterId: 0 })?.identity).toBe(1000);

      // The bits past a prefix do not count: written as 10.1.77.5/16, it is the /16 again.
      m.update({ prefix: "10.1.77.5/16", clusterId: 0 }, peer(1111, "192.168.0.2"));
      expect(lookupIdentity(m, "10.1.9.9")?.identity).toBe(1111);
      expect(m.dump().get("10.1.0.0/16")).toEqual(["identity=1111 encryptkey=0 tunnelendpoint=192.168.0.2"]);
      expect(pressureOf(pressure, 64)).toBe(8);
      expect(() => m.update({ prefix: "10.0.0.0/33", clusterId: 0 }, peer(1))).toThrow(
        'update cilium_ipcache: bad key: ipcacheKey: "10.0.0.0/33" has no prefix length in [0, 32]');
      m.unpin();
    });

    it("restores after a restart: the pinned map ends up holding exactly what the agent wants now", () => {
      const driver = d.create();
      using fs = mountPrivateBpffs(driver);
      {
        const { bpf } = setup(driver, fs.path);
        using first = newIpcacheMap(bpf, 64);
        first.openOrCreate();
        syncIpcache(first, lastRun);
      }
      // The next run: a pod went away, one moved node, a new CIDR policy, a new cluster-2 pod.
      const now = new Map(lastRun);
      now.delete("10.1.2.4/32");
      now.delete("f00d::1/128");
      now.set("10.1.2.3/32", peer(1001, "192.168.0.4"));
      now.set("203.0.113.0/24", peer(16777218));
      now.set("10.1.2.5/32@2", peer(3001, "172.16.0.9"));
      const { bpf, pressure } = setup(driver, fs.path);
      using m = newIpcacheMap(bpf, 64);
      expect(m.openOrCreate()).toBe(false);                    // the pinned map of the last run
      expect(syncIpcache(m, now)).toEqual({ kept: 5, updated: 1, added: 2, deleted: 2, failed: 0 });
      const held = new Map<string, RemoteEndpointInfo>();
      m.dumpWithCallback((k, v) => held.set(ipcacheKey.format!(k), v));
      expect(new Map([...held].sort())).toEqual(new Map([...now].sort()));
      // The cache (new with this run) knows every prefix the map holds, and so does the pressure.
      expect(m.getModel().cache!.map((e) => e.key).sort()).toEqual([...now.keys()].sort());
      expect(m.getModel().cache!.every((e) => e.desiredAction === "sync")).toBe(true);
      expect(pressureOf(pressure, 64)).toBe(8);
      expect(syncIpcache(m, now)).toEqual({ kept: 8, updated: 0, added: 0, deleted: 0, failed: 0 });
      m.unpin();
    });
  });
}

describe("the ipcache example on the simulator, with faults", () => {
  it("a delete refused during the restore is retried by the cache's resolver", () => {
    const sim = createSimDriver({ seed: 1 });
    const bpf: Bpf = createBpf({ driver: sim, mapRoot: "/sys/fs/bpf" });
    const m = newIpcacheMap(bpf, 64);
    m.openOrCreate();
    syncIpcache(m, lastRun);
    const now = new Map([...lastRun].filter(([k]) => !k.startsWith("10.1.2.")));
    sim.faults.inject("mapDeleteElem", { errno: Errno.EBUSY, count: 1 });
    const r = syncIpcache(m, now);
    expect(r).toEqual({ kept: 5, updated: 0, added: 0, deleted: 2, failed: 1 });
    expect(m.outstandingErrors).toBe(1);
    expect(m.getModel().cache!.filter((e) => e.desiredAction === "to-be-deleted")).toHaveLength(1);
    expect(m.resolveErrorsNow()).toMatchObject({ resolved: 1, remaining: 0 });
    const held: string[] = [];
    m.dumpWithCallback((k) => held.push(ipcacheKey.format!(k)));
    expect(held.sort()).toEqual([...now.keys()].sort());
    expect(bpf.getMap(IPCACHE_NAME)).toBe(m);
    m.close();
  });
});

describe("the ipcache example's codecs and restore, at their edges (simulator)", () => {
  it("a prefix length is digits only: an empty, signed, spaced or fractional one is refused", () => {
    const out = new Uint8Array(ipcacheKey.size);
    for (const prefix of ["10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/8.0", "10.0.0.0/0x8"]) {
      expect(() => ipcacheKey.encode({ prefix, clusterId: 0 }, out), prefix).toThrow(
        new RangeError(`ipcacheKey: ${JSON.stringify(prefix)} has no prefix length in [0, 32]`));
    }
  });

  it("encoding zeroes every address bit from the prefix length on, the first one included", () => {
    const out = new Uint8Array(ipcacheKey.size);
    const cases: Array<[string, string]> = [
      ["10.1.255.255/16", "10.1.0.0/16"], ["192.168.1.1/0", "0.0.0.0/0"], ["10.1.2.255/31", "10.1.2.254/31"],
      ["f00d::ffff/112", "f00d::/112"], ["10.1.2.3", "10.1.2.3/32"],
    ];
    for (const [prefix, want] of cases) {
      ipcacheKey.encode({ prefix, clusterId: 0 }, out);
      expect(ipcacheKey.decode(out).prefix, prefix).toBe(want);
    }
  });

  it("the tunnel flags follow tunnelEndpoint, whatever flags the caller passed", () => {
    const out = new Uint8Array(remoteEndpointInfo.size);
    remoteEndpointInfo.encode({ identity: 7, tunnelEndpoint: undefined, encryptKey: 3, flags: FLAG_HAS_TUNNEL_ENDPOINT | FLAG_SKIP_TUNNEL }, out);
    expect(remoteEndpointInfo.decode(out)).toEqual({ identity: 7, tunnelEndpoint: undefined, encryptKey: 3, flags: FLAG_SKIP_TUNNEL });
  });

  it("the restore counts a changed key index as updated, a key already gone as neither, and throws on a bad value", () => {
    const sim = createSimDriver({ seed: 1 });
    const bpf = createBpf({ driver: sim, mapRoot: "/sys/fs/bpf" });
    const m = newIpcacheMap(bpf, 64);
    m.openOrCreate();
    syncIpcache(m, lastRun);
    const now = new Map([...lastRun].filter(([k]) => k !== "10.1.2.4/32"));
    now.set("10.1.2.3/32", { ...lastRun.get("10.1.2.3/32")!, encryptKey: 1 });
    // The stale 10.1.2.4/32 went between the dump and its delete (the datapath's GC, say).
    sim.faults.inject("mapDeleteElem", { errno: Errno.ENOENT, count: 1 });
    expect(syncIpcache(m, now)).toEqual({ kept: 6, updated: 1, added: 0, deleted: 0, failed: 0 });
    const bad = new Map([["10.9.0.0/16", peer(5, "not-an-address")]]);
    expect(() => syncIpcache(m, new Map([...now, ...bad]))).toThrow(TypeError);
    m.close();
  });
});
