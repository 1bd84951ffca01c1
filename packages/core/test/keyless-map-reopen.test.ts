// reopen() of the keyless maps (queue, stack, bloom filter, ring buffer) with BpfMap.reopen's
// semantics: close, then open the pin as it is now; a map created without a pin refuses
// (EINVAL, left open), one held by its fd refuses as unpin does; a ring's readers read on.
import { afterEach, beforeEach, expect, it } from "vitest";
import { BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, Errno, u32, type Bpf, type KeylessMap, type QueueMapSpec } from "@bpfkit/core";
import { ringbufProducerFor, type RingbufProducer } from "@bpfkit/testkit";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver } from "./support/env.js";
import { thrownBpfError } from "./support/thrown.js";

function queueSpec(maxEntries = 3, type = BPF_MAP_TYPE_QUEUE): QueueMapSpec<number> {
  return { name: "cilium_q", type, value: u32, maxEntries };
}

/** Each keyless kind, made from `bpf` under the name "cilium_k" (opened by nothing yet). */
const kinds: ReadonlyArray<[string, (bpf: Bpf) => KeylessMap<unknown>]> = [
  ["queue", (bpf) => bpf.newQueueMap({ ...queueSpec(), name: "cilium_k" })],
  ["stack", (bpf) => bpf.newQueueMap({ ...queueSpec(3, BPF_MAP_TYPE_STACK), name: "cilium_k" })],
  ["bloom filter", (bpf) => bpf.newBloomFilter({ name: "cilium_k", value: u32, maxEntries: 8 })],
  ["ring buffer", (bpf) => bpf.newRingBuf({ name: "cilium_k", maxEntries: 4096 })],
];

eachDriver("KeylessMap.reopen", (get) => {
  it("a pinned queue: the old fd is closed, the pin opened again, the values kept, the registry unchanged", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(1);
    q.push(2);
    const fds = openFdsOf(env.driver);
    const id = q.info().id;
    q.reopen();
    expect([q.isOpen(), openFdsOf(env.driver), q.info().id]).toEqual([true, fds, id]);
    expect(env.bpf.getOpenMaps()).toEqual([{ path: q.path() }]);
    expect([q.pop(), q.pop()]).toEqual([1, 2]);
    // Closed, or never opened: reopen is an open.
    q.close();
    q.reopen();
    expect(q.isOpen()).toBe(true);
    const fresh = env.track(env.otherBpf().newQueueMap(queueSpec()));
    fresh.reopen();
    expect(fresh.info().id).toBe(id);
  });

  for (const [kind, make] of kinds) {
    it(`a ${kind} reopens its pin; one created without a pin refuses, left open`, () => {
      const env = get();
      const m = env.track(make(env.bpf));
      m.openOrCreate();
      const [id, fds] = [m.info().id, openFdsOf(env.driver)];
      m.reopen();
      expect([m.isOpen(), m.info().id, openFdsOf(env.driver), env.bpf.getOpenMaps()]).toEqual([true, id, fds, [{ path: m.path() }]]);
      m.close();
      m.unpin();
      const alone = env.track(make(env.bpf));
      expect(alone.openOrCreateUnpinned()).toBe(true);
      const own = alone.getFd();
      const e = thrownBpfError(() => alone.reopen());
      expect([e.errno, e.op, e.map, e.path]).toEqual([Errno.EINVAL, "reopen", "cilium_k", alone.path()]);
      expect(e.message).toBe("reopen cilium_k: the map was created without a pin, so it cannot be opened again; it stays open");
      expect([alone.isOpen(), alone.getFd(), alone.info().id === id]).toEqual([true, own, false]);
    });
  }

  it("created without a pin: EINVAL, left open with its values and in the registry; once closed, an ordinary open of the pin", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreateUnpinned();
    q.push(7);
    const fd = q.getFd();
    const fds = openFdsOf(env.driver);
    const e = thrownBpfError(() => q.reopen());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "reopen", "cilium_q"]);
    expect([q.getFd(), openFdsOf(env.driver), env.bpf.getOpenMaps()]).toEqual([fd, fds, [{ path: q.path() }]]);
    expect(q.peek()).toBe(7);
    q.close();
    // Nothing pinned: the open's own ENOENT, named reopen, not the refusal meant for an open map.
    const missing = thrownBpfError(() => q.reopen());
    expect([missing.errno, missing.op, missing.map]).toEqual([Errno.ENOENT, "reopen", "cilium_q"]);
    const other = env.track(env.otherBpf().newQueueMap(queueSpec()));
    other.openOrCreate();
    other.push(8);
    q.reopen();
    expect(q.pop()).toBe(8);
    // Now opened from a pin, it reopens.
    q.reopen();
    expect(q.isOpen()).toBe(true);
  });

  it("it follows the pin: a map re-created there since is the one opened, with its max entries and hash count", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec(3)));
    q.openOrCreate();
    const old = q.info().id;
    expect(env.track(env.otherBpf().newQueueMap(queueSpec(5))).openOrCreate()).toBe(true);
    expect([q.isPinned(), q.maxEntries]).toEqual([false, 3]);
    q.reopen();
    expect([q.isPinned(), q.maxEntries]).toEqual([true, 5]);
    expect(q.info().id).not.toBe(old);

    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8, hashFunctions: 2 }));
    b.openOrCreate();
    expect(env.track(env.otherBpf().newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 16, hashFunctions: 4 })).openOrCreate()).toBe(true);
    expect(b.hashFunctions).toBe(2);
    b.reopen();
    expect([b.hashFunctions, b.maxEntries]).toEqual([4, 16]);
  });

  it("a pin that no longer fits (another type or value size) is EINVAL naming reopen: the map is closed and unregistered, no fd left", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    const fds = openFdsOf(env.driver);
    env.driver.host.unlink(q.path());
    env.track(env.otherBpf().newBloomFilter({ name: "cilium_q", value: u32, maxEntries: 8 })).openOrCreate();
    const e = thrownBpfError(() => q.reopen());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "reopen", "cilium_q"]);
    expect(e.message).toMatch(/is a bloom filter map \(type 30\), not a queue \(22\)/);
    expect([q.isOpen(), openFdsOf(env.driver)]).toEqual([false, fds]);
    expect(env.bpf.getOpenMaps()).toEqual([]);
  });

  it("a map opened read-only reopens read-only", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(4);
    const ro = env.track(env.otherBpf().openQueueMap("cilium_q", u32, { readOnly: true }));
    ro.reopen();
    expect(ro.peek()).toBe(4);
    const e = thrownBpfError(() => ro.push(5));
    expect([e.errno, e.op]).toEqual([Errno.EPERM, "push"]);
    expect(e.message).toMatch(/read-only/);
  });

  it("a map opened by id or fd has no pin: EINVAL while open (it stays open), EBADF once closed", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    const id = q.info().id;
    const byId = env.track(env.bpf.openQueueMap({ id }, u32));
    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8 }));
    b.openOrCreate();
    const byFd = env.track(env.bpf.openBloomFilter({ fd: env.driver.objGet(b.path()) }));
    for (const [m, how] of [[byId, "opened by id (bpf.openQueueMap)"], [byFd, "adopted from an fd (bpf.openBloomFilter)"]] as const) {
      const fd = m.getFd();
      const e = thrownBpfError(() => m.reopen());
      expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "reopen", m.name()]);
      expect(e.message).toBe(`reopen ${m.name()}: the map was ${how} and has no pin path; it stays open`);
      expect(m.getFd()).toBe(fd);
      m.close();
      expect([thrownBpfError(() => m.reopen()).errno, m.isOpen()]).toEqual([Errno.EBADF, false]);
    }
  });
});

eachDriver("BpfRingBuf.reopen: the readers hold their own fd and mappings", (get) => {
  let producer: RingbufProducer;
  beforeEach(() => {
    const p = ringbufProducerFor(get().driver);
    if (p === undefined) throw new Error(`no ring buffer producer for the ${get().kind} driver`);
    producer = p;
  });
  afterEach(() => producer.close());

  it("a reader made before reopen reads what is written through the new fd, and wakes for it", async () => {
    const env = get();
    const rb = env.track(env.bpf.newRingBuf({ name: "rb_events", maxEntries: 4096 }));
    rb.openOrCreate();
    const r = env.track(rb.reader());
    expect(producer.output(rb.getFd(), Uint8Array.of(1))).toBe(0);
    rb.reopen();
    expect(producer.output(rb.getFd(), Uint8Array.of(2))).toBe(0);
    expect([r.read(), r.read(), r.read()]).toEqual([Uint8Array.of(1), Uint8Array.of(2), undefined]);
    setTimeout(() => producer.output(rb.getFd(), Uint8Array.of(3)), 10);
    expect(await r.next({ timeoutMs: 2000, pollMs: 5 })).toEqual(Uint8Array.of(3));
    // One consumer position: a reader of the reopened ring goes on from where the old one is.
    const r2 = env.track(rb.reader());
    producer.output(rb.getFd(), Uint8Array.of(4));
    expect([r2.read(), r.read()]).toEqual([Uint8Array.of(4), undefined]);
  });

  it("after the pin was replaced, the old reader reads the old ring and the reopened object the new one", () => {
    const env = get();
    const rb = env.track(env.bpf.newRingBuf({ name: "rb_events", maxEntries: 4096 }));
    rb.openOrCreate();
    const r = env.track(rb.reader());
    const next = env.track(env.otherBpf().newRingBuf({ name: "rb_events", maxEntries: 8192 }));
    expect(next.openOrCreate()).toBe(true);
    const oldFd = env.driver.dup!(rb.getFd());
    try {
      rb.reopen();
      expect(rb.maxEntries).toBe(8192);
      const r2 = env.track(rb.reader());
      expect(r2.size).toBe(8192);
      expect(producer.output(oldFd, Uint8Array.of(1))).toBe(0);
      expect(producer.output(rb.getFd(), Uint8Array.of(2))).toBe(0);
      expect([r.read(), r.read()]).toEqual([Uint8Array.of(1), undefined]);
      expect([r2.read(), r2.read()]).toEqual([Uint8Array.of(2), undefined]);
    } finally {
      env.driver.close(oldFd);
    }
  });
});
