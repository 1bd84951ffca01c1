// BpfQueueMap: queues and stacks through core, pinned as BpfMaps are, on both drivers.
import { expect, it } from "vitest";
import {
  BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_WRONLY, BPF_F_ZERO_SEED, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_STACK, BpfError, BpfQueueMap,
  DecodeError, Errno, MapIncompatibleError, u32, type Codec, type QueueMapSpec,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

function queueSpec(type = BPF_MAP_TYPE_QUEUE, maxEntries = 3, name = "cilium_q"): QueueMapSpec<number> {
  return { name, type, value: u32, maxEntries };
}

eachDriver("BpfQueueMap", (get) => {
  it("a queue pops in push order, a stack in reverse; peek leaves the value; empty is undefined", () => {
    const env = get();
    for (const [type, order] of [[BPF_MAP_TYPE_QUEUE, [1, 2, 3]], [BPF_MAP_TYPE_STACK, [3, 2, 1]]] as const) {
      const q = env.track(env.bpf.newQueueMap(queueSpec(type, 3, `q${type}`)));
      expect(q.openOrCreate()).toBe(true);
      expect([q.pop(), q.peek()]).toEqual([undefined, undefined]);
      for (const v of [1, 2, 3]) q.push(v);
      expect(q.peek()).toBe(order[0]);
      expect(q.peek()).toBe(order[0]);
      expect([q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([...order, undefined]);
    }
  });

  it("the type defaults to QUEUE; maps of the pin are in getOpenMaps, not getMap (which gives BpfMaps)", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap({ name: "cilium_q", value: u32, maxEntries: 2 }));
    q.openOrCreate();
    expect(q.mapType).toBe(BPF_MAP_TYPE_QUEUE);
    expect(q.info()).toMatchObject({ type: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 2 });
    expect(env.bpf.getOpenMaps()).toEqual([{ path: q.path() }]);
    expect(env.bpf.getMap("cilium_q")).toBeUndefined();
    q.close();
    expect(env.bpf.getOpenMaps()).toEqual([]);
  });

  it("a push to a full map is E2BIG naming the map and push; { overwrite: true } drops the oldest instead", () => {
    const env = get();
    for (const [type, after] of [[BPF_MAP_TYPE_QUEUE, [2, 3, 4]], [BPF_MAP_TYPE_STACK, [4, 3, 2]]] as const) {
      const q = env.track(env.bpf.newQueueMap(queueSpec(type, 3, `full${type}`)));
      q.openOrCreate();
      for (const v of [1, 2, 3]) q.push(v);
      const e = thrownBpfError(() => q.push(9));
      expect([e.errno, e.op, e.map]).toEqual([Errno.E2BIG, "push", `full${type}`]);
      expect(e.message).toMatch(/is full \(3 values\).*overwrite: true/);
      q.push(4, { overwrite: true });
      expect([...q.drain()]).toEqual(after);
    }
  });

  it("drain pops everything lazily and leaves the map empty; a pinned map opens at the first element call", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(5);
    q.push(6);
    q.close();
    const it = q.drain();
    expect(q.isOpen()).toBe(false);
    expect([...it]).toEqual([5, 6]);
    expect(q.isOpen()).toBe(true);
    expect(q.pop()).toBeUndefined();
  });

  it("drain({ max }) takes at most max values and leaves the rest, in order; bad options are refused at the call, before any pop", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    for (const v of [1, 2, 3]) q.push(v);
    expect([...q.drain({ max: 2 })]).toEqual([1, 2]);
    expect([...q.drain({ max: 0 })]).toEqual([]);
    q.push(4);
    q.push(5);
    expect([...q.drain({ max: 10 })]).toEqual([3, 4, 5]);
    q.push(6);
    for (const bad of [{ max: -1 }, { max: 1.5 }, { max: "2" }]) {
      expect(() => q.drain(bad as never)).toThrow(/^drain cilium_q: options.max must be an integer of at least 0/);
    }
    expect(() => q.drain({ maxx: 1 } as never)).toThrow(/maxx/);
    expect(() => q.drain(3 as never)).toThrow(TypeError);
    expect(q.peek()).toBe(6);
  });

  it("bad input and bad specs are refused before any syscall, naming the map and operation", () => {
    const env = get();
    const before = openFdsOf(env.driver);
    expect(() => env.bpf.newQueueMap({ ...queueSpec(), maxEntries: 0 })).toThrow(/newQueueMap cilium_q: maxEntries must be a u32 of at least 1/);
    expect(() => env.bpf.newQueueMap({ ...queueSpec(), type: BPF_MAP_TYPE_HASH })).toThrow(TypeError);
    expect(() => env.bpf.newQueueMap({ ...queueSpec(), key: u32 } as never)).toThrow(/spec/);
    expect(() => env.bpf.newQueueMap({ ...queueSpec(), kernelName: "no-dash" })).toThrow(/newQueueMap cilium_q/);
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    expect(() => q.push(-1)).toThrow(/push cilium_q: bad value/);
    expect(() => q.push(1, { overwrite: 1 } as never)).toThrow(/push cilium_q: options.overwrite must be a boolean/);
    expect(() => q.push(1, { overwite: true } as never)).toThrow(/overwite/);
    expect(q.isOpen()).toBe(false);
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("an element call before openOrCreate says nothing is pinned; a closed unpinned map is EBADF", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    const e = thrownBpfError(() => q.pop());
    expect([e.errno, e.map]).toEqual([Errno.ENOENT, "cilium_q"]);
    expect(e.message).toMatch(/openOrCreate\(\) creates it/);
    const loose = env.track(env.bpf.newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 3, "loose")));
    expect(loose.openOrCreateUnpinned()).toBe(true);
    expect(loose.isPinned()).toBe(false);
    loose.push(1);
    loose.close();
    const c = thrownBpfError(() => loose.push(2));
    expect([c.errno, c.op, c.map]).toEqual([Errno.EBADF, "push", "loose"]);
  });

  it("opens an existing pin with bpf.openQueueMap (bytes without a codec), by id and by fd", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(7);
    const raw = env.track(env.bpf.openQueueMap("cilium_q"));
    expect(raw).toBeInstanceOf(BpfQueueMap);
    expect(raw.peek()).toEqual(new Uint8Array([7, 0, 0, 0]));
    expect(raw.isPinned()).toBe(true);
    const typed = env.track(env.bpf.openQueueMap(q.path(), u32));
    expect(typed.peek()).toBe(7);
    const byId = env.track(env.bpf.openQueueMap({ id: q.info().id }, u32));
    expect([byId.name(), byId.path(), byId.pop()]).toEqual([`id:${q.info().id}`, "", 7]);
    const id = q.info().id;
    const noPin = thrownBpfError(() => byId.unpin());
    expect([noPin.errno, noPin.message]).toEqual([Errno.EINVAL, `unpin id:${id}: the map was opened by id (bpf.openQueueMap) and has no pin path; it stays open`]);
    byId.close();
    const closed = thrownBpfError(() => byId.pop());
    expect([closed.errno, closed.op, closed.message]).toEqual([Errno.EBADF, "pop",
      `pop id:${id}: the map is closed (it was opened by id ${id}: bpf.openQueueMap({ id: ${id} }) opens it again)`]);
    const fd = env.driver.objGet(q.path());
    const byFd = env.track(env.bpf.openQueueMap({ fd }, u32));
    byFd.push(8);
    expect(q.pop()).toBe(8);
    byFd.close();
    expect(thrownBpfError(() => byFd.peek()).message).toMatch(/adopted from an fd by bpf.openQueueMap\(\{ fd \}\), and its fd is closed: bpf.openQueueMap\(\{ id: \d+ \}\) opens it again/);
    expect(env.driver.close(fd)).toBe(-Errno.EBADF); // the object took the fd over
  });

  it("openQueueMap refuses a codec of another size, a keyed map and a bloom filter, closing its fd", () => {
    const env = get();
    env.track(env.bpf.newQueueMap(queueSpec())).openOrCreate();
    env.map(testMapSpec("cilium_h")).openOrCreate();
    env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8 })).openOrCreate();
    const before = openFdsOf(env.driver);
    const u8: Codec<number> = { size: 1, encode: (v, o) => void (o[0] = v), decode: (b) => b[0]! };
    expect(() => env.bpf.openQueueMap("cilium_q", u8)).toThrow(/openQueueMap cilium_q: the value codec is 1 bytes, the map's values are 4/);
    const keyed = thrownBpfError(() => env.bpf.openQueueMap("cilium_h"));
    expect([keyed.errno, keyed.op]).toEqual([Errno.EINVAL, "openQueueMap"]);
    expect(keyed.message).toMatch(/is a Hash map \(type 1\), not a queue or stack: bpf.openMap opens it/);
    expect(thrownBpfError(() => env.bpf.openQueueMap("cilium_b")).message).toMatch(/bpf.openBloomFilter opens it/);
    expect(() => env.bpf.openQueueMap({ id: 1, fd: 2 } as never)).toThrow(TypeError);
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("bpf.openMap of a queue pin still refuses, naming the class and call that open it", () => {
    const env = get();
    env.track(env.bpf.newQueueMap(queueSpec(BPF_MAP_TYPE_STACK))).openOrCreate();
    const e = thrownBpfError(() => env.bpf.openMap("cilium_q"));
    expect(e.errno).toBe(Errno.EINVAL);
    expect(e.message).toMatch(/a stack map has no keys, and a BpfMap needs them; open it as a BpfQueueMap with bpf.openQueueMap/);
  });

  it("bpf.newMap of a queue, stack or bloom filter is a TypeError naming the call that makes one, before any syscall", () => {
    const env = get();
    const before = openFdsOf(env.driver);
    for (const [type, word, make] of [[BPF_MAP_TYPE_QUEUE, "queue", "bpf.newQueueMap (a BpfQueueMap)"],
      [BPF_MAP_TYPE_STACK, "stack", "bpf.newQueueMap (a BpfQueueMap)"], [BPF_MAP_TYPE_BLOOM_FILTER, "bloom filter", "bpf.newBloomFilter (a BpfBloomFilter)"],
      [BPF_MAP_TYPE_RINGBUF, "ring buffer", "bpf.newRingBuf (a BpfRingBuf)"]] as const) {
      const e = thrown(() => env.bpf.newMap({ name: "cilium_q", type, key: u32, value: u32, maxEntries: 4 }));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toBe(`newMap cilium_q: a ${word} map has no keys, and a BpfMap needs them` +
        (make !== undefined ? `; make it with ${make}` : "; bpfkit has no class for it"));
    }
    expect(openFdsOf(env.driver)).toBe(before);
    expect(env.driver.host.stat(env.bpf.mapPath("cilium_q")).errno).toBe(Errno.ENOENT);
  });

  it("flags a queue, stack or bloom filter takes no part in: the create's EINVAL names the flags it takes", () => {
    const env = get();
    const np = env.track(env.bpf.newQueueMap({ ...queueSpec(), flags: BPF_F_NO_PREALLOC }));
    const e = thrownBpfError(() => np.openOrCreate());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "openOrCreate", "cilium_q"]);
    expect(e.message).toBe(`openOrCreate cilium_q: Unable to create map ${env.bpf.mapPath("cilium_q")}: invalid argument ` +
      "(a queue takes no flag but BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG: " +
      "0x1 is none of them; BPF_F_NO_PREALLOC is for hash maps)");
    const seeded = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 4, flags: BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU }));
    expect(thrownBpfError(() => seeded.openOrCreate()).message).toMatch(
      /invalid argument \(a bloom filter takes no flag but .* and BPF_F_ZERO_SEED: 0x2 is none of them\)$/);
    const fine = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 4, flags: BPF_F_ZERO_SEED }));
    expect(fine.openOrCreate()).toBe(true);
  });

  it("checkCompatible says, before openOrCreate re-creates a pin, how it differs from the spec, and changes nothing", () => {
    const env = get();
    const first = env.track(env.bpf.newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 2)));
    first.openOrCreate();
    const id = first.info().id;
    env.track(env.otherBpf().newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 2))).checkCompatible();
    const bigger = env.track(env.otherBpf().newQueueMap(queueSpec(BPF_MAP_TYPE_STACK, 8)));
    const e = thrown(() => bigger.checkCompatible());
    expect(e).toBeInstanceOf(MapIncompatibleError);
    expect(e.message).toBe(`checkCompatible cilium_q: the map pinned at ${env.bpf.mapPath("cilium_q")} is incompatible with the spec: ` +
      "type queue (22), the spec wants stack (23); max entries 2, the spec wants 8");
    expect(bigger.isOpen()).toBe(false);
    expect(env.track(env.otherBpf().openQueueMap("cilium_q")).info().id).toBe(id);
    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8, hashFunctions: 3 }));
    b.openOrCreate();
    b.checkCompatible();
    const four = env.track(env.otherBpf().newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8, hashFunctions: 4 }));
    expect((thrown(() => four.checkCompatible()) as MapIncompatibleError).differences).toEqual([{ field: "mapExtra", map: 3, spec: 4 }]);
    env.track(env.otherBpf().newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8 })).checkCompatible();
    const none = env.track(env.bpf.newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 2, "cilium_none")));
    expect(thrownBpfError(() => none.checkCompatible()).errno).toBe(Errno.ENOENT);
  });

  it("maxEntries is the map's once open: open() and the lazy open of a pin of another size say its size, in E2BIG too", () => {
    const env = get();
    env.track(env.bpf.newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 2))).openOrCreate();
    const lazy = env.track(env.otherBpf().newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 8)));
    expect(lazy.maxEntries).toBe(8);
    lazy.push(1);
    lazy.push(2);
    expect(lazy.maxEntries).toBe(2);
    expect(thrownBpfError(() => lazy.push(3)).message).toMatch(/the queue is full \(2 values\)/);
    const opened = env.track(env.otherBpf().newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 8)));
    opened.open();
    expect(opened.maxEntries).toBe(2);
    // openOrCreate still compares the spec's: it re-creates the pin with 8.
    opened.close();
    expect(opened.openOrCreate()).toBe(true);
    expect([opened.maxEntries, opened.info().maxEntries]).toEqual([8, 8]);
  });

  it("checkCompatible of an object holding a pin of another size compares the spec's size, not the pin's", () => {
    const env = get();
    env.track(env.bpf.newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 2))).openOrCreate();
    const opened = env.track(env.otherBpf().newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 8)));
    opened.open();
    expect(opened.maxEntries).toBe(2);
    // Open, it answers as closed: openOrCreate after close() would re-create the pin with 8.
    const e = thrown(() => opened.checkCompatible());
    expect(e).toBeInstanceOf(MapIncompatibleError);
    expect((e as MapIncompatibleError).differences).toEqual([{ field: "maxEntries", map: 2, spec: 8 }]);
    expect(opened.isOpen()).toBe(true);
  });

  it("a write-only queue cannot pop or peek (EPERM naming write-only), a read-only one cannot push", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(1);
    const w = env.track(env.bpf.openQueueMap("cilium_q", u32, { writeOnly: true }));
    w.push(2);
    for (const f of [() => w.pop(), () => w.peek(), () => [...w.drain()]]) {
      const e = thrownBpfError(f);
      expect([e.errno, e.map]).toEqual([Errno.EPERM, "cilium_q"]);
      expect(e.message).toMatch(/write-only/);
    }
    // In a queue's words: it is never walked or dumped.
    expect(thrownBpfError(() => w.pop()).message).toBe("pop cilium_q: operation not permitted (the map was opened write-only " +
      "(BPF_F_WRONLY): a queue opened so can be pushed to, not popped or peeked)");
    expect(thrownBpfError(() => w.pop()).op).toBe("pop");
    const r = env.track(env.bpf.openQueueMap("cilium_q", u32, { readOnly: true }));
    expect(thrownBpfError(() => r.push(3)).message).toMatch(/^push cilium_q: .*read-only/);
    expect(thrownBpfError(() => r.pop()).message).toBe("pop cilium_q: operation not permitted (the map was opened read-only " +
      "(BPF_F_RDONLY): a queue opened so can be peeked, not pushed to or popped)");
    expect(r.peek()).toBe(1);
    r.close();
    expect(thrownBpfError(() => r.openOrCreate()).errno).toBe(Errno.EPERM);
  });

  it("a map created with BPF_F_WRONLY in its flags explains its EPERM the same way", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap({ ...queueSpec(), flags: BPF_F_WRONLY }));
    q.openOrCreate();
    q.push(1);
    expect(thrownBpfError(() => q.pop()).message).toMatch(/write-only/);
  });

  it("openOrCreate re-creates a pin whose properties changed and opens one that fits; open() refuses another type", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(1);
    const same = env.track(env.bpf.newQueueMap(queueSpec()));
    expect(same.openOrCreate()).toBe(false);
    expect(same.pop()).toBe(1);
    const bigger = env.track(env.otherBpf().newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 5)));
    expect(bigger.openOrCreate()).toBe(true);
    expect(bigger.info().maxEntries).toBe(5);
    expect(q.isPinned()).toBe(false);
    const stack = env.track(env.otherBpf().newQueueMap(queueSpec(BPF_MAP_TYPE_STACK, 5)));
    const e = thrownBpfError(() => stack.open());
    expect([e.errno, e.op]).toEqual([Errno.EINVAL, "open"]);
    expect(e.message).toMatch(/the map pinned at .* is a queue .*not a stack/);
    expect(stack.openOrCreate()).toBe(true);
    expect(stack.info().type).toBe(BPF_MAP_TYPE_STACK);
  });

  it("freeze: push and pop are EPERM, peek still reads; a bloom filter still answers has", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(4);
    expect(q.fdInfo()).toMatchObject({ frozen: false });
    expect(q.fdInfo().memlock).toBeGreaterThan(0);
    q.freeze();
    expect(q.fdInfo().frozen).toBe(true);
    for (const f of [() => q.push(5), () => q.pop()]) expect(thrownBpfError(f).errno).toBe(Errno.EPERM);
    // Said, not left to the kernel's bare EPERM, which reads like a missing capability.
    expect(thrownBpfError(() => q.push(5)).message).toBe("push cilium_q: operation not permitted (the map is frozen " +
      "(BPF_MAP_FREEZE): user space may peek it, not push or pop; programs may still write it)");
    expect(thrownBpfError(() => [...q.drain()]).message).toMatch(/^drain cilium_q: operation not permitted \(the map is frozen/);
    expect(q.peek()).toBe(4);
    expect(thrownBpfError(() => q.freeze()).op).toBe("freeze");
    expect(thrownBpfError(() => q.freeze()).message).toBe("freeze cilium_q: operation not permitted (the map is frozen already (BPF_MAP_FREEZE))");
    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8 }));
    b.openOrCreate();
    b.add(1);
    b.freeze();
    // Read through another object's fd, opened lazily: frozen is the map's, not the fd's.
    expect(env.track(env.otherBpf().openBloomFilter("cilium_b", u32)).fdInfo().frozen).toBe(true);
    expect(thrownBpfError(() => b.add(2)).errno).toBe(Errno.EPERM);
    expect(thrownBpfError(() => b.add(2)).message).toBe("add cilium_b: operation not permitted (the map is frozen " +
      "(BPF_MAP_FREEZE): user space may ask it (has), not add to it; programs may still write it)");
    expect(b.has(1)).toBe(true);
  });

  it("unpin, isPinned and using: the fd outlives the pin; the block's end closes it", () => {
    const env = get();
    let fd = -1;
    {
      using q = env.bpf.newQueueMap(queueSpec());
      q.openOrCreate();
      fd = q.getFd();
      expect(q.isPinned()).toBe(true);
      q.unpin();
      expect(q.isPinned()).toBe(false);
      q.push(3);
      expect(q.pop()).toBe(3);
      q.unpinIfExists();
    }
    expect(env.driver.close(fd)).toBe(-Errno.EBADF);
  });

  it("reports push, pop and peek to the metrics hook; an empty pop is a success", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec(BPF_MAP_TYPE_QUEUE, 1)));
    q.openOrCreate();
    q.push(1);
    expect(() => q.push(2)).toThrow(BpfError);
    q.peek();
    q.pop();
    q.pop();
    expect(env.ops).toEqual(["q push success", "q push fail", "q peek success", "q pop success", "q pop success"]);
  });

  it("a value the codec cannot decode is a DecodeError naming the map and pop", () => {
    const env = get();
    const picky: Codec<number> = { size: 4, encode: (v, o) => u32.encode(v, o), decode: () => { throw new RangeError("no"); } };
    const q = env.track(env.bpf.newQueueMap({ ...queueSpec(), value: picky }));
    q.openOrCreate();
    q.push(1);
    const e = thrown(() => q.pop());
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.message).toMatch(/pop cilium_q/);
    expect(BPF_MAP_TYPE_BLOOM_FILTER).toBe(30);
  });
});
