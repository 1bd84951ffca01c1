// The testing guide promises that a simulator interleaving hook that throws (an `expect` that
// fails in it) fails the syscall it ran before, and that the error comes out of the caller's
// bpfkit call. So no step of core may take a driver call's exception for an errno answer: an
// `idOf` that caught everything turned a failed assertion during a property upgrade into "the pin
// changed", and the upgrade went round again and succeeded, the assertion lost. Nor may such an
// exception leave the path's replace lock pinned: the next upgrade of it waited a second for it.
import { describe, expect, it } from "vitest";
import { BatchCursor, createBpf, Errno, MapType, memoryLogger, newDumpStats, u32, u64, type Bpf } from "@bpfkit/core";
import { createSimDriver, type SimDriver } from "@bpfkit/driver-wasm-sim";

class HookFailure extends Error {}

interface Setup {
  sim: SimDriver;
  bpf: Bpf;
}

const spec = (maxEntries = 8) => ({ name: "flows", type: MapType.Hash, key: u32, value: u64, maxEntries });

function world(): Setup {
  const sim = createSimDriver({ possibleCpus: 2 });
  return { sim, bpf: createBpf({ driver: sim, logger: memoryLogger() }) };
}

/** A world where `flows` is pinned with 8 entries and holds two; a second Bpf ("a restarted agent") runs `op`. */
function pinned(): Setup {
  const w = world();
  const m = w.bpf.newMap(spec());
  m.openOrCreate();
  m.update(1, 1n);
  m.update(2, 2n);
  m.close();
  return { sim: w.sim, bpf: createBpf({ driver: w.sim, logger: memoryLogger() }) };
}

const cases: Array<[string, () => Setup, (s: Setup) => unknown]> = [
  ["openOrCreate of a new pin", world, ({ bpf }) => bpf.newMap(spec()).openOrCreate()],
  ["openOrCreate of the same pin", pinned, ({ bpf }) => bpf.newMap(spec()).openOrCreate()],
  ["openOrCreate upgrading the pin", pinned, ({ bpf }) => bpf.newMap(spec(16)).openOrCreate()],
  ["openOrCreateUnpinned over a differing pin", pinned, ({ bpf }) => bpf.newMap(spec(16)).openOrCreateUnpinned()],
  ["openParallel", pinned, ({ bpf }) => bpf.newMap(spec()).openParallel()],
  ["checkAndUpgrade", pinned, ({ bpf }) => {
    const m = bpf.newMap(spec());
    m.open();
    return m.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 16, flags: 0 });
  }],
  ["openMap read-only, its first OBJ_GET refused (EINVAL, as for a pinned link)", pinned, ({ sim, bpf }) => {
    sim.faults.inject("objGet", { errno: Errno.EINVAL, count: 1 });
    return bpf.openMap("flows", { key: u32, value: u64 }, { readOnly: true });
  }],
  ["checkCompatible", pinned, ({ bpf }) => bpf.newMap(spec(16)).checkCompatible()],
  ["unpin", pinned, ({ bpf }) => bpf.newMap(spec()).unpin()],
  ["a reliable walk", pinned, ({ bpf }) => {
    const m = bpf.newMap(spec());
    m.dumpReliablyWithCallback(() => {}, newDumpStats(m), { algorithm: "walk" });
  }],
  ["deleteAll", pinned, ({ bpf }) => bpf.newMap(spec()).deleteAll()],
  ["openMapById, clone, newMapFromFd", pinned, ({ bpf }) => {
    const m = bpf.openMap("flows", { key: u32, value: u64 });
    const byId = bpf.openMapById(m.info().id, { key: u32, value: u64 });
    const c = byId.clone();
    const adopted = bpf.newMapFromFd(bpf.driver.dup!(c.getFd()), { key: u32, value: u64 });
    for (const x of [adopted, c, byId, m]) x.close();
  }],
  ["batches", pinned, ({ bpf }) => {
    const m = bpf.newMap(spec());
    m.updateBatch([3, 4], [3n, 4n]);
    m.lookupBatch(new BatchCursor());
    m.deleteBatch([3, 4]);
  }],
  ["a cached map's update and delete", pinned, ({ bpf }) => {
    const m = bpf.newMap(spec()).withCache();
    m.openOrCreate();
    m.update(5, 5n);
    m.deleteWithErrno(5);
    m.close();
  }],
  ["a queue upgraded", world, ({ bpf }) => {
    bpf.newQueueMap({ name: "q", value: u32, maxEntries: 4 }).openOrCreate();
    const q = bpf.newQueueMap({ name: "q", value: u32, maxEntries: 8 });
    q.openOrCreate();
    q.push(1);
    q.pop();
  }],
  ["a map of maps made from a template, then given an inner map", world, ({ bpf }) => {
    const inner = bpf.newMap({ ...spec(), name: "inner" });
    inner.openOrCreateUnpinned();
    const outer = bpf.newMap({ name: "outer", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 4, innerId: inner.getFd() });
    outer.openOrCreate();
    const fd = inner.getFd();
    outer.update(1, fd);
    inner.close();
    outer.update(2, fd);              // a closed fd: EBADF, explained after a look at the fd
  }],
  ["memory() of a hash: ENOTSUPP, explained after a look at the map", pinned, ({ bpf }) => bpf.newMap(spec()).memory()],
];

describe("an exception thrown by the interleaving hook comes out of the bpfkit call (simulator)", () => {
  for (const [name, setup, op] of cases) {
    it(name, () => {
      const swallowed: string[] = [];
      for (let nth = 1; ; nth++) {
        const s = setup();
        const boom = new HookFailure(`syscall ${nth}`);
        let calls = 0, thrownAt = "";
        s.sim.setInterleavingHook((method) => {
          if (++calls !== nth) return;
          thrownAt = method;
          throw boom;
        });
        let got: unknown;
        try {
          op(s);
        } catch (e) {
          got = e;
        }
        s.sim.setInterleavingHook(null);
        if (calls < nth) break;                       // the call is done before the nth syscall
        if (got !== boom) swallowed.push(`${thrownAt} (syscall ${nth}): ${got === undefined ? "returned" : String(got)}`);
        // Nor may it leave a replace lock or a swap pin behind, which the next upgrade would wait on.
        const dir = s.sim.host.readdir("/sys/fs/bpf/tc/globals");
        const left = typeof dir === "number" ? [] : dir.filter((n) => n.startsWith(":bpfkit-"));
        if (left.length > 0) swallowed.push(`${thrownAt} (syscall ${nth}) left ${left.join(", ")}`);
        expect(nth).toBeLessThan(200);
      }
      expect(swallowed).toEqual([]);
    });
  }
});
