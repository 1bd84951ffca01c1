// The worked example of docs/testing.md: a conntrack GC (examples/conntrack-gc/) tested on the
// simulator while its entries expire and the datapath closes and opens connections under it,
// with a fault injected into its deletes; then the very same GC on the kernel.
import { BpfError, Errno, MapType, createBpf } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { type CtEntry, type CtKey, ctEntry, ctKey, flowKey, flowNumber } from "../../../examples/conntrack-gc/conntrack.js";
import { runConntrackGc } from "../../../examples/conntrack-gc/gc.js";
import { mountPrivateBpffs } from "../src/bpffs.js";
import { kernelUnderTest } from "../src/drivers.js";

const MS = 1_000_000n;
const HOUR = 3_600_000n * MS;

/** A deterministic PRNG (mulberry32) for the datapath's choices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 300 flows, flow i expiring i ms after `t0`. */
function fill(update: (k: CtKey, v: CtEntry) => void, t0: bigint): void {
  for (let i = 0; i < 300; i++) update(flowKey(i), { expires: t0 + BigInt(i) * MS, packets: 1, flags: 0 });
}

function contents(map: { dumpWithCallback(cb: (k: CtKey, v: CtEntry) => void): unknown }): Map<number, CtEntry> {
  const out = new Map<number, CtEntry>();
  map.dumpWithCallback((k, v) => out.set(flowNumber(k), v));
  return out;
}

describe("conntrack GC on the simulator", () => {
  // Each syscall moves the simulator's clock 100 µs, so flows keep expiring while the GC runs.
  const setup = () => {
    const sim = createSimDriver({ seed: 1, syscallNs: 100_000 });
    const bpf = createBpf({ driver: sim, mapRoot: "/sys/fs/bpf" });
    const ct = bpf.newMap({ name: "cilium_ct_test", type: MapType.Hash, key: ctKey, value: ctEntry, maxEntries: 1024 });
    ct.openOrCreate();
    const t0 = bpf.getMtime();
    fill((k, v) => ct.update(k, v), t0);
    sim.clock.advance(150n * MS); // flows 0…149 have expired
    return { sim, bpf, ct, t0 };
  };

  for (const algorithm of ["walk", "auto"] as const) {
    it(`deletes exactly what expired, while the datapath closes and opens connections (${algorithm})`, () => {
      const { sim, bpf, ct, t0 } = setup();
      const rand = prng(7);
      const closed = new Set<number>();
      const opened = new Set<number>();
      let next = 1000;
      let deletes = 0;
      // The datapath, between the GC's syscalls: closes a flow now and then (expired or not),
      // opens new ones, and once — just as the GC is about to delete its 20th entry — closes
      // every expired flow at once (a burst of FINs), so the GC finds some already gone.
      sim.setInterleavingHook((op) => {
        const fd = { fd: ct.getFd() };
        if (op === "mapDeleteElem" && ++deletes === 20) {
          for (let i = 0; i < 300; i++) {
            if (t0 + BigInt(i) * MS < sim.clock.now() && sim.datapath.delete(fd, encode(flowKey(i))) === 0) closed.add(i);
          }
        }
        const r = rand();
        if (r < 0.1) {
          const i = Math.floor(rand() * 300);
          if (sim.datapath.delete(fd, encode(flowKey(i))) === 0) closed.add(i);
        } else if (r < 0.15) {
          const v = encodeEntry({ expires: sim.clock.now() + HOUR, packets: 1, flags: 0 });
          if (sim.datapath.update(fd, encode(flowKey(next)), v) === 0) opened.add(next);
          next++;
        }
      });
      const gc = runConntrackGc(bpf, ct, { algorithm });
      sim.setInterleavingHook(null);

      expect(gc.complete).toBe(true);
      const left = contents(ct);
      // Nothing that had expired when the GC judged (gc.now) is left.
      for (const [i, e] of left) expect({ i, expired: e.expires < gc.now }).toEqual({ i, expired: false });
      // Flows 0…n−1 had expired when the GC judged; every later one is there unless the datapath
      // closed it, and so is every connection opened meanwhile.
      const n = expiredBy(t0, gc.now);
      expect(n).toBeGreaterThanOrEqual(150);
      for (let i = n; i < 300; i++) if (!closed.has(i)) expect({ i, present: left.has(i) }).toEqual({ i, present: true });
      for (const i of opened) expect(left.has(i)).toBe(true);
      // Each expired flow went once: by the GC, or by the datapath first.
      const closedExpired = [...closed].filter((i) => i < n).length;
      expect(gc.deleted + closedExpired).toBe(n);
      expect(gc.alreadyGone).toBeLessThanOrEqual(closedExpired);
      expect(gc.failed).toBe(0);
      // The race really happened: the datapath beat the GC to a delete.
      expect(gc.alreadyGone).toBeGreaterThan(0);
    });
  }

  it("collects on the next pass what expired during this one", () => {
    const { bpf, ct, t0 } = setup();
    const first = runConntrackGc(bpf, ct, { algorithm: "walk" });
    expect(first.deleted).toBe(expiredBy(t0, first.now));
    // The pass took time: flows that expired meanwhile are still there, judged at first.now.
    const expiredSince = [...contents(ct).values()].filter((e) => e.expires < bpf.getMtime()).length;
    expect(expiredSince).toBeGreaterThan(0);
    const second = runConntrackGc(bpf, ct, { algorithm: "walk" });
    expect(second.deleted).toBeGreaterThanOrEqual(expiredSince);
    for (const e of contents(ct).values()) expect(e.expires >= second.now).toBe(true);
  });

  it("reports deletes that fail (fault injection) and retries them on the next pass", () => {
    const { sim, bpf, ct, t0 } = setup();
    sim.faults.inject("mapDeleteElem", { errno: Errno.EBUSY, count: 3 });
    const errors: BpfError[] = [];
    const first = runConntrackGc(bpf, ct, { onError: (_k, e) => errors.push(e as BpfError) });
    expect(first.failed).toBe(3);
    expect(first.deleted).toBe(expiredBy(t0, first.now) - 3);
    expect(errors.map((e) => e.code)).toEqual(["EBUSY", "EBUSY", "EBUSY"]);
    const second = runConntrackGc(bpf, ct);
    expect(second.failed).toBe(0);
    expect(second.deleted).toBeGreaterThanOrEqual(3);
    for (const e of contents(ct).values()) expect(e.expires >= second.now).toBe(true);
  });
});

/** How many of the flows (flow i expires at t0 + i ms) had expired at `now`. */
function expiredBy(t0: bigint, now: bigint): number {
  let n = 0;
  while (n < 300 && t0 + BigInt(n) * MS < now) n++;
  return n;
}

function encode(k: CtKey): Uint8Array {
  const b = new Uint8Array(ctKey.size);
  ctKey.encode(k, b);
  return b;
}

function encodeEntry(v: CtEntry): Uint8Array {
  const b = new Uint8Array(ctEntry.size);
  ctEntry.encode(v, b);
  return b;
}

const kernel = kernelUnderTest();
describe.runIf(kernel.unavailable === undefined)("the same conntrack GC on the kernel", () => {
  for (const algorithm of ["walk", "batch"] as const) {
    it(`deletes exactly the expired entries (${algorithm})`, () => {
      const driver = kernel.create();
      using fs = mountPrivateBpffs(driver);
      const bpf = createBpf({ driver, mapRoot: fs.path });
      const ct = bpf.newMap({ name: "cilium_ct_test", type: MapType.Hash, key: ctKey, value: ctEntry, maxEntries: 1024 });
      ct.openOrCreate();
      try {
        // Flows 0…149 expired long ago (at half the uptime); 150…299 expire in an hour.
        const now = bpf.getMtime();
        for (let i = 0; i < 300; i++) ct.update(flowKey(i), { expires: i < 150 ? now / 2n : now + HOUR, packets: 1, flags: 0 });
        const gc = runConntrackGc(bpf, ct, { algorithm });
        expect(gc).toMatchObject({ scanned: 300, deleted: 150, alreadyGone: 0, failed: 0, complete: true });
        expect([...contents(ct).keys()].sort((a, b) => a - b)).toEqual([...Array(150).keys()].map((i) => i + 150));
      } finally {
        ct.unpin();
        ct.close();
      }
    });
  }
});
if (kernel.unavailable !== undefined) console.log(`conntrack GC on the kernel skipped: ${kernel.unavailable}`);
