// Spin-locked values through BpfMap: a value struct with a bpfSpinLock field, the map created
// with btf: true, written with update(…, BPF_F_LOCK) and read with lookup(…, BPF_F_LOCK), on each
// driver; the kernel's refusals with what they mean; and on the kernel, a reader under the lock
// never sees a value half-written by another thread writing under it.
import { expect, it } from "vitest";
import {
  BatchCursor, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_NOEXIST, BpfError, bpfSpinLock, bytes,
  createBpf, Errno, ERROR_RESOLVER_DELAY_MS, struct, u32, u64, wrapDriver,
} from "@bpfkit/core";
import { ManualClock } from "./support/manual-clock.js";
import { thrown } from "./support/thrown.js";
import { koffiFrom, startWorker } from "./support/worker.js";
import { eachDriver } from "./support/env.js";

const counters = struct({ lock: bpfSpinLock, a: u64, b: u64 }, { name: "counters" });
/** Bytes of the race case's value after its lock. */
const WIDE = 4096;

eachDriver("BPF_F_LOCK", (env, kind) => {
  const locked = (name: string, type = BPF_MAP_TYPE_HASH) =>
    env().map({ name, type, key: u32, value: counters, maxEntries: 4, btf: true });

  it("update and lookup with BPF_F_LOCK on a value holding a bpfSpinLock, in a HASH and an ARRAY", () => {
    for (const type of [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY]) {
      const m = locked(`lock_${type}`, type);
      m.openOrCreate();
      m.update(1, { a: 5n, b: 6n }, BPF_F_LOCK);
      expect(m.lookup(1, BPF_F_LOCK)).toEqual({ a: 5n, b: 6n });
      m.update(1, { a: 7n, b: 8n }, BPF_F_LOCK | BPF_EXIST);
      expect(m.lookup(1, BPF_F_LOCK)).toEqual({ a: 7n, b: 8n });
      // Without the flag it is a plain copy, and the lock's word reads as 0 either way.
      m.update(2, { a: 1n, b: 2n });
      expect(m.lookup(2)).toEqual({ a: 1n, b: 2n });
      expect(m.lookup(3, BPF_F_LOCK)).toEqual(type === BPF_MAP_TYPE_HASH ? undefined : { a: 0n, b: 0n });
    }
  });

  it("BPF_F_LOCK keeps NOEXIST and EXIST as they are, and the refusal says which", () => {
    const h = locked("lock_flags");
    h.openOrCreate();
    h.update(1, { a: 1n, b: 1n }, BPF_F_LOCK | BPF_NOEXIST);
    const exists = thrown(() => h.update(1, { a: 2n, b: 2n }, BPF_F_LOCK | BPF_NOEXIST));
    expect(exists).toBeInstanceOf(BpfError);
    expect((exists as BpfError).errno).toBe(Errno.EEXIST);
    expect((exists as BpfError).message).toMatch(/BPF_NOEXIST: the key is already in the map/);
    const missing = thrown(() => h.update(2, { a: 2n, b: 2n }, BPF_F_LOCK | BPF_EXIST)) as BpfError;
    expect(missing.errno).toBe(Errno.ENOENT);
    expect(missing.message).toMatch(/BPF_EXIST: the key is not in the map/);
    const a = locked("lock_arr_flags", BPF_MAP_TYPE_ARRAY);
    a.openOrCreate();
    const arr = thrown(() => a.update(0, { a: 1n, b: 1n }, BPF_F_LOCK | BPF_NOEXIST)) as BpfError;
    expect(arr.errno).toBe(Errno.EEXIST);
    expect(arr.message).toMatch(/an array's elements always exist/);
    // A flag past BPF_F_LOCK, or NOEXIST with EXIST: the kernel's EINVAL, not about the lock.
    const both = thrown(() => h.update(1, { a: 1n, b: 1n }, BPF_F_LOCK | BPF_NOEXIST | BPF_EXIST)) as BpfError;
    expect(both.errno).toBe(Errno.EINVAL);
    expect(both.message).not.toMatch(/bpf_spin_lock/);
    // BPF_F_LOCK with a flag beside it: the stray flag is what a lookup refuses, the lock is fine.
    const lockAndMore = thrown(() => h.lookup(1, BPF_F_LOCK | BPF_NOEXIST)) as BpfError;
    expect(lockAndMore.errno).toBe(Errno.EINVAL);
    expect(lockAndMore.message).toMatch(/^lookup lock_flags: .*a lookup takes no flag but BPF_F_LOCK/);
    const lookupFlag = thrown(() => h.lookup(1, BPF_NOEXIST)) as BpfError;
    expect(lookupFlag.errno).toBe(Errno.EINVAL);
    expect(lookupFlag.message).toMatch(/^lookup lock_flags: .*a lookup takes no flag but BPF_F_LOCK/);
    expect(() => h.lookup(1, -1)).toThrow(/lookup lock_flags: flags must be a u32/);
  });

  it("BPF_F_LOCK on a map whose value has no lock is the kernel's EINVAL, saying what the flag needs", () => {
    const noLock = env().map({ name: "lock_none", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 4, btf: true });
    const noBtf = env().map({ name: "lock_nobtf", type: BPF_MAP_TYPE_HASH, key: u32, value: counters, maxEntries: 4 });
    for (const m of [noLock, noBtf]) {
      m.openOrCreate();
      const v = (m === noLock ? 1n : { a: 1n, b: 1n }) as never;
      m.update(1, v);
      // With NOEXIST or EXIST beside it too: the kernel refuses the lock before it reads them.
      for (const e of [thrown(() => m.update(1, v, BPF_F_LOCK)), thrown(() => m.lookup(1, BPF_F_LOCK)),
        thrown(() => m.update(1, v, BPF_F_LOCK | BPF_EXIST)), thrown(() => m.update(2, v, BPF_F_LOCK | BPF_NOEXIST))] as BpfError[]) {
        expect(e).toBeInstanceOf(BpfError);
        expect(e.errno).toBe(Errno.EINVAL);
        expect(e.message).toMatch(new RegExp(`^(update|lookup) ${m.name()}: .*BPF_F_LOCK needs a value holding a struct bpf_spin_lock.*btf: true`));
      }
      expect(m.lookup(1)).toEqual(m === noLock ? 1n : { a: 1n, b: 1n });
    }
    expect(BPF_ANY).toBe(0);
  });

  it("lookupAndDelete, the lookup batches and updateBatch take BPF_F_LOCK too, and refuse it where the value has no lock", () => {
    const h = locked("lock_more");
    h.openOrCreate();
    expect(h.updateBatch([1, 2, 3], [{ a: 1n, b: 1n }, { a: 2n, b: 2n }, { a: 3n, b: 3n }], BPF_F_LOCK)).toBe(3);
    const got = h.lookupBatch(new BatchCursor(), 8, BPF_F_LOCK).sort((x, y) => x[0] - y[0]);
    expect(got).toEqual([[1, { a: 1n, b: 1n }], [2, { a: 2n, b: 2n }], [3, { a: 3n, b: 3n }]]);
    expect(h.lookupAndDelete(1, BPF_F_LOCK)).toEqual({ a: 1n, b: 1n });
    expect(h.lookupAndDelete(1, BPF_F_LOCK)).toBeUndefined();
    const drained = h.lookupAndDeleteBatch(new BatchCursor(), 8, BPF_F_LOCK).map(([k]) => k).sort();
    expect(drained).toEqual([2, 3]);
    expect(h.lookup(2)).toBeUndefined();

    const noLock = env().map({ name: "lock_more_none", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 4, btf: true });
    noLock.openOrCreate();
    noLock.update(1, 1n);
    const refusals: Array<[string, () => unknown]> = [
      ["lookupAndDelete", () => noLock.lookupAndDelete(1, BPF_F_LOCK)],
      ["lookupBatch", () => noLock.lookupBatch(new BatchCursor(), 4, BPF_F_LOCK)],
      ["lookupAndDeleteBatch", () => noLock.lookupAndDeleteBatch(new BatchCursor(), 4, BPF_F_LOCK)],
      ["updateBatch", () => noLock.updateBatch([2], [2n], BPF_F_LOCK)],
    ];
    for (const [op, call] of refusals) {
      const e = thrown(call) as BpfError;
      expect(e, op).toBeInstanceOf(BpfError);
      expect(e.errno, op).toBe(Errno.EINVAL);
      expect(e.message, op).toMatch(new RegExp(`^${op} lock_more_none: .*BPF_F_LOCK needs a value holding a struct bpf_spin_lock`));
    }
    // Nothing was taken or written by the refused calls.
    expect(noLock.lookup(1)).toBe(1n);
    expect(noLock.lookup(2)).toBeUndefined();
    const stray = thrown(() => h.lookupBatch(new BatchCursor(), 4, BPF_NOEXIST)) as BpfError;
    expect(stray.errno).toBe(Errno.EINVAL);
    expect(stray.message).toMatch(/^lookupBatch lock_more: .*a lookup batch takes no flag but BPF_F_LOCK/);
    expect((thrown(() => h.lookupAndDelete(1, BPF_NOEXIST)) as BpfError).message).toMatch(/a lookup-and-delete takes no flag but BPF_F_LOCK/);
    expect(() => h.lookupBatch(new BatchCursor(), 4, -1)).toThrow(/lookupBatch lock_more: elemFlags must be a u32/);
    expect(() => h.updateBatch([], [], 0.5)).toThrow(/updateBatch lock_more: elemFlags must be a u32/);
    expect(() => h.lookupAndDelete(1, -1)).toThrow(/lookupAndDelete lock_more: flags must be a u32/);
  });

  it("with a cache, a failed update given BPF_F_LOCK is retried by the resolver, under the lock again", () => {
    const { driver, root } = env();
    const flagsSeen: number[] = [];
    const recording = wrapDriver(driver, {
      mapUpdateElem(fd, k, v, flags) {
        flagsSeen.push(flags ?? 0);
        return driver.mapUpdateElem(fd, k, v, flags);
      },
    });
    const clock = new ManualClock();
    const bpf = createBpf({ driver: recording, mapRoot: root, mapPrefix: "lock_cache" });
    const m = env().track(bpf.newMap({ name: "lock_cached", type: BPF_MAP_TYPE_HASH, key: u32, value: counters, maxEntries: 2, btf: true }))
      .withCache({ clock });
    m.openOrCreate();
    m.update(1, { a: 1n, b: 1n }, BPF_F_LOCK);
    m.update(2, { a: 2n, b: 2n }, BPF_F_LOCK);
    expect((thrown(() => m.update(3, { a: 3n, b: 3n }, BPF_F_LOCK)) as BpfError).errno).toBe(Errno.E2BIG);
    expect(m.outstandingErrors).toBe(1);
    m.delete(1);
    flagsSeen.length = 0;
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect(m.lookup(3, BPF_F_LOCK)).toEqual({ a: 3n, b: 3n });
    expect(flagsSeen).toEqual([BPF_F_LOCK]);
    expect(m.outstandingErrors).toBe(0);
  });

  it("with a cache, BPF_F_LOCK refused for a value without a lock is not kept to retry: the resolver would meet the same EINVAL for ever", () => {
    const clock = new ManualClock();
    const { driver, root } = env();
    const bpf = createBpf({ driver, mapRoot: root, mapPrefix: "lock_cache_none" });
    const m = env().track(bpf.newMap({ name: "lock_cached_none", type: BPF_MAP_TYPE_HASH, key: u32, value: u64, maxEntries: 4, btf: true }))
      .withCache({ clock });
    m.openOrCreate();
    m.update(1, 1n);
    expect((thrown(() => m.update(1, 2n, BPF_F_LOCK)) as BpfError).errno).toBe(Errno.EINVAL);
    expect((thrown(() => m.update(2, 2n, BPF_F_LOCK)) as BpfError).errno).toBe(Errno.EINVAL);
    expect((thrown(() => m.updateBatch([3], [3n], BPF_F_LOCK)) as BpfError).errno).toBe(Errno.EINVAL);
    expect(m.outstandingErrors).toBe(0);
    // The cache still holds what the map holds: the refused writes did not reach either.
    expect(m.getModel().cache!.map((e) => `${e.key}:${e.desiredAction}`)).toEqual(["1:sync"]);
    clock.advance(ERROR_RESOLVER_DELAY_MS);
    expect([m.lookup(1), m.lookup(2), m.lookup(3)]).toEqual([1n, undefined, undefined]);
  });

  it("a lock in a per-CPU or LRU map is the kernel's EOPNOTSUPP at the create, saying the lock is why; nothing pinned", () => {
    const { bpf, driver } = env();
    const pcpu = env().track(bpf.newPerCpuHashMap({ name: "lock_pcpu", key: u32, value: counters, maxEntries: 4, btf: true }));
    const lru = env().map({ name: "lock_lru", type: BPF_MAP_TYPE_LRU_HASH, key: u32, value: counters, maxEntries: 4, btf: true });
    for (const m of [pcpu, lru]) {
      const e = thrown(() => m.openOrCreate()) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect(e.errno).toBe(Errno.EOPNOTSUPP);
      expect(e.message).toMatch(new RegExp(`^openOrCreate ${m.name()}: .*special field, such as a struct bpf_spin_lock.*only in a HASH or an ARRAY`));
      expect(m.isOpen()).toBe(false);
      expect(driver.host.stat(m.path()).errno).toBe(Errno.ENOENT);
    }
  });

  it("a value with two bpfSpinLock fields: the load's E2BIG, which the kernel's checker logs no reason for, says why", () => {
    const two = struct({ lock: bpfSpinLock, again: bpfSpinLock, a: u64 }, { name: "two_locks" });
    const m = env().map({ name: "lock_two", type: BPF_MAP_TYPE_HASH, key: u32, value: two, maxEntries: 4, btf: true });
    const e = thrown(() => m.openOrCreate()) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.errno).toBe(Errno.E2BIG);
    expect(e.message).toMatch(/^openOrCreate lock_two: .*Unable to load its BTF: .*two special fields of a kind it may hold once, such as two bpf_spin_locks/);
    expect(m.isOpen()).toBe(false);
  });

  // The simulator is one thread: there is nothing to race there. The value is wide (4 KiB of one
  // byte, new each write) so that a copy made without the lock is caught torn within the run: with
  // two u64s, as the other cases have, an unlocked copy was never seen torn on this host.
  if (kind === "kernel") it("a lookup with BPF_F_LOCK never sees a value half-written by another thread updating with it", async () => {
    const wide = struct({ lock: bpfSpinLock, fill: bytes(WIDE) }, { name: "wide" });
    const m = env().map({ name: "lock_race", type: BPF_MAP_TYPE_HASH, key: u32, value: wide, maxEntries: 1, btf: true });
    m.openOrCreate();
    m.update(0, { fill: new Uint8Array(WIDE) }, BPF_F_LOCK);
    const counter = new SharedArrayBuffer(8);
    const shared = new Int32Array(counter);
    const worker = await startWorker(new URL("./support/lock-update-worker.mjs", import.meta.url),
      { koffiFrom, mapFd: m.getFd(), counter, wide: WIDE }, () => Atomics.load(shared, 0) > 0, "the F_LOCK writer");
    let torn = 0, reads = 0;
    const seen = new Set<number>();
    const t0 = Date.now();
    try {
      // On a busy host the two threads may take turns on one CPU: read until the writer has
      // changed the value under the reader many times, for at most 2 s.
      while ((reads < 20_000 || seen.size < 100) && Date.now() - t0 < 2_000) {
        const { fill } = m.lookup(0, BPF_F_LOCK)!;
        // Both copies run front to back: a torn one differs between its first and last byte.
        if (fill[0] !== fill[WIDE - 1] || fill[0] !== fill[WIDE >> 1]) torn++;
        seen.add(fill[0]!);
        reads++;
      }
    } finally {
      Atomics.store(shared, 1, 1);
      await worker.join();
    }
    expect(torn).toBe(0);
    // The writer really ran between the reads.
    expect(seen.size).toBeGreaterThan(1);
  });
});
