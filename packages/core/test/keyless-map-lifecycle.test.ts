// KeylessMap's lifecycle and spec checks at their edges (queue-map.test.ts and
// bloom-filter.test.ts cover the everyday paths): what a mutation audit found no test for.
import { expect, it } from "vitest";
import {
  BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, createBpf, DecodeError, Errno, MapType, memoryLogger, u32, wrapDriver, type Codec, type Driver,
  sameMapExtra, type QueueMapSpec,
} from "@bpfkit/core";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

function queueSpec(name = "cilium_q", maxEntries = 3): QueueMapSpec<number> {
  return { name, type: BPF_MAP_TYPE_QUEUE, value: u32, maxEntries };
}

eachDriver("KeylessMap lifecycle edges", (get) => {
  it("a 0-byte value codec and flags that are no u32 are refused before any syscall", () => {
    const env = get();
    const before = openFdsOf(env.driver);
    const empty: Codec<number> = { size: 0, encode: () => {}, decode: () => 0 };
    expect(() => env.bpf.newQueueMap({ ...queueSpec(), value: empty })).toThrow(
      new RangeError("newQueueMap cilium_q: the value codec is 0 bytes; a queue or stack holds values of at least 1 byte"));
    expect(() => env.bpf.newBloomFilter({ name: "cilium_b", value: empty, maxEntries: 8 })).toThrow(/a bloom filter holds values of at least 1 byte/);
    for (const flags of [-1, 2 ** 32, 1.5, "0"]) {
      expect(() => env.bpf.newQueueMap({ ...queueSpec(), flags } as never)).toThrow(/newQueueMap cilium_q: flags must be a u32/);
    }
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("the spec's kernelName reaches the kernel (bpftool's name)", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap({ ...queueSpec(), kernelName: "events_q" }));
    q.openOrCreate();
    expect(q.info().name).toBe("events_q");
    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8, kernelName: "seen_b" }));
    b.openOrCreate();
    expect(b.info().name).toBe("seen_b");
  });

  it("openOrCreate and open on an open map are no-ops: false, and the same fd", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    expect(q.openOrCreate()).toBe(true);
    const fd = q.getFd();
    const fds = openFdsOf(env.driver);
    expect(q.openOrCreate()).toBe(false);
    expect(q.openOrCreateUnpinned()).toBe(false);
    q.open();
    expect([q.getFd(), openFdsOf(env.driver)]).toEqual([fd, fds]);
  });

  it("a map pinned by someone else, found by openOrCreateUnpinned, opens again after close", () => {
    const env = get();
    env.track(env.bpf.newQueueMap(queueSpec())).openOrCreate();
    const q = env.track(env.otherBpf().newQueueMap(queueSpec()));
    expect(q.openOrCreateUnpinned()).toBe(false);
    q.push(1);
    q.close();
    expect(q.pop()).toBe(1);
    expect(q.isOpen()).toBe(true);
  });

  it("a map closed for good (created without a pin) that is then created pinned opens again after close", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreateUnpinned();
    q.close();
    expect(thrownBpfError(() => q.pop()).errno).toBe(Errno.EBADF);
    expect(q.openOrCreate()).toBe(true);
    q.push(2);
    q.close();
    expect(q.pop()).toBe(2);
  });

  it("open() refuses a pin whose value size is not the codec's, closing its fd", () => {
    const env = get();
    env.track(env.bpf.newQueueMap(queueSpec())).openOrCreate();
    const u8: Codec<number> = { size: 1, encode: (v, o) => void (o[0] = v), decode: (b) => b[0]! };
    const small = env.track(env.otherBpf().newQueueMap({ ...queueSpec(), value: u8 }));
    const before = openFdsOf(env.driver);
    const e = thrownBpfError(() => small.open());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "open", "cilium_q"]);
    expect(e.message).toMatch(/has key size 0 and value size 4, this map's value codec needs 0 and 1/);
    expect(openFdsOf(env.driver)).toBe(before);
  });

  it("a PROG_ARRAY pinned at the path is never re-created: openOrCreate refuses it, closing its fd", () => {
    const env = get();
    env.map({ name: "cilium_q", type: MapType.ProgArray, key: u32, value: u32, maxEntries: 4 }).openOrCreate();
    const q = env.track(env.otherBpf().newQueueMap(queueSpec()));
    const before = openFdsOf(env.driver);
    const e = thrownBpfError(() => q.openOrCreate());
    expect([e.errno, e.op, e.map]).toEqual([Errno.EINVAL, "openOrCreate", "cilium_q"]);
    expect(e.message).toMatch(/is a .* map \(type 3\), not a queue \(22\)/);
    expect([q.isOpen(), openFdsOf(env.driver)]).toEqual([false, before]);
  });

  it("a pin opened with bpf.openQueueMap is in getOpenMaps until closed", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.close();
    const opened = env.track(env.bpf.openQueueMap("cilium_q", u32));
    expect(env.bpf.getOpenMaps()).toEqual([{ path: q.path() }]);
    opened.close();
    expect(env.bpf.getOpenMaps()).toEqual([]);
  });

  it("unpinIfExists removes a pin that is there and does nothing when none is", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.unpinIfExists();
    expect(env.driver.host.stat(q.path()).errno).toBe(Errno.ENOENT);
    expect(() => q.unpinIfExists()).not.toThrow();
    expect(q.isPinned()).toBe(false);
  });

  it("info() of a map whose fd was closed underneath is a BpfError naming info and the map", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    env.driver.close(q.getFd());
    const e = thrownBpfError(() => q.info());
    expect([e.op, e.map]).toEqual(["info", "cilium_q"]);
    expect(e.message).toMatch(/^info cilium_q: /);
  });

  it("the value buffer is zeroed before each encode: a codec that writes part of it leaves no stale bytes", () => {
    const env = get();
    const partial: Codec<number[]> = { size: 4, encode: (v, o) => o.set(v), decode: (b) => [...b] };
    const q = env.track(env.bpf.newQueueMap({ name: "cilium_q", value: partial, maxEntries: 3 }));
    q.openOrCreate();
    q.push([1, 2, 3, 4]);
    q.push([9]);
    expect([q.pop(), q.pop()]).toEqual([[1, 2, 3, 4], [9, 0, 0, 0]]);
  });

  it("a codec's RangeError stays a RangeError, any other throw is a TypeError, both naming op and map", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    expect(() => q.push(-1)).toThrow(RangeError);
    const odd: Codec<number> = { size: 4, encode: () => { throw new Error("odd"); }, decode: () => 0 };
    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: odd, maxEntries: 8 }));
    expect(() => b.add(1)).toThrow(new TypeError("add cilium_b: bad value: odd"));
    expect(() => b.has(1)).toThrow(TypeError);
  });

  it("a DecodeError keeps the bytes it could not decode, untouched by later calls", () => {
    const env = get();
    let fail = true;
    const picky: Codec<number> = { size: 4, encode: (v, o) => u32.encode(v, o), decode: (b) => { if (fail) throw new RangeError("no"); return u32.decode(b); } };
    const q = env.track(env.bpf.newQueueMap({ ...queueSpec(), value: picky }));
    q.openOrCreate();
    q.push(1);
    q.push(2);
    const e = thrown(() => q.pop()) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    fail = false;
    expect(q.pop()).toBe(2);
    expect(e.bytes).toEqual(new Uint8Array([1, 0, 0, 0]));
  });

  it("metrics name a map opened by id or by fd with no kernel name by-id and by-fd", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    const byId = env.track(env.bpf.openQueueMap({ id: q.info().id }, u32));
    byId.push(1);
    const byFd = env.track(env.bpf.openQueueMap({ fd: env.driver.objGet(q.path()) }, u32));
    byFd.pop();
    expect(env.ops).toEqual(["by-id push success", "by-fd pop success"]);
  });

  it("a driver answering a keyless element call outside its contract is refused, not read as success", () => {
    const env = get();
    let inner!: Driver;
    const driver = wrapDriver(env.driver, { kind: "careless", mapUpdateElem: (fd, k, v, f) => (inner.mapUpdateElem(fd, k, v, f), 1) });
    inner = env.driver;
    const bpf = createBpf({ driver, mapRoot: env.root, logger: memoryLogger() });
    const q = env.track(bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    // Named by the driver method that broke it, as BpfMap's are, not by the map operation.
    expect(() => q.push(1)).toThrow(/^driver "careless" broke the Driver contract: mapUpdateElem returned 1, where it returns 0 or -errno/);
  });
});

it("sameMapExtra: a bloom filter's 0 and 5 are one hash count, its higher bits still count; other types compare exactly", () => {
  expect(sameMapExtra(BPF_MAP_TYPE_BLOOM_FILTER, 0n, 5n)).toBe(true);
  expect(sameMapExtra(BPF_MAP_TYPE_BLOOM_FILTER, 0n, 4n)).toBe(false);
  expect(sameMapExtra(BPF_MAP_TYPE_BLOOM_FILTER, 0x15n, 5n)).toBe(false);
  expect(sameMapExtra(BPF_MAP_TYPE_ARENA, 0n, 5n)).toBe(false);
  expect(sameMapExtra(BPF_MAP_TYPE_HASH, 7n, 7n)).toBe(true);
});

eachDriver("openQueueMap / openBloomFilter: the object is the map's", (get) => {
  it("a stack opened with openQueueMap is a stack, with the map's max entries", () => {
    const env = get();
    const s = env.track(env.bpf.newQueueMap({ ...queueSpec("cilium_s", 5), type: BPF_MAP_TYPE_STACK }));
    s.openOrCreate();
    const opened = env.track(env.bpf.openQueueMap("cilium_s", u32));
    expect([opened.mapType, opened.maxEntries]).toEqual([BPF_MAP_TYPE_STACK, 5]);
    for (const v of [1, 2, 3, 4, 5]) opened.push(v);
    expect(thrownBpfError(() => opened.push(6)).message).toMatch(/the stack is full \(5 values\)/);
    expect(opened.pop()).toBe(5);
    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 40 }));
    b.openOrCreate();
    expect(env.track(env.bpf.openBloomFilter({ id: b.info().id })).maxEntries).toBe(40);
  });

  it("a map_extra with bits above the hash count is the kernel's EINVAL, and the pin is kept", () => {
    const env = get();
    const b = env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8, hashFunctions: 5 }));
    b.openOrCreate();
    const id = b.info().id;
    const e = thrownBpfError(() => env.bpf.openOrCreateMap(b.path(), BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 8, 0, 0, true, { mapExtra: 0x15n }));
    expect(e.errno).toBe(Errno.EINVAL);
    expect(b.isPinned()).toBe(true);
    expect(b.info().id).toBe(id);
  });

  it("a map opened by id with { readOnly: true } is read-only", () => {
    const env = get();
    const q = env.track(env.bpf.newQueueMap(queueSpec()));
    q.openOrCreate();
    q.push(1);
    const r = env.track(env.bpf.openQueueMap({ id: q.info().id }, u32, { readOnly: true }));
    expect(r.peek()).toBe(1);
    const e = thrownBpfError(() => r.push(2));
    expect([e.errno, e.op]).toEqual([Errno.EPERM, "push"]);
    expect(e.message).toMatch(/read-only/);
  });

  it("a PROG_ARRAY at the pin is not re-created for a bloom filter's hash count either", () => {
    const env = get();
    env.map({ name: "cilium_b", type: MapType.ProgArray, key: u32, value: u32, maxEntries: 4 }).openOrCreate();
    const b = env.track(env.otherBpf().newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8, hashFunctions: 3 }));
    const e = thrownBpfError(() => b.openOrCreate());
    expect([e.errno, e.op]).toEqual([Errno.EINVAL, "openOrCreate"]);
    const fd = env.driver.objGet(b.path());
    try {
      expect(env.bpf.getMapInfoByFd(fd).type).toBe(MapType.ProgArray);
    } finally {
      env.driver.close(fd);
    }
  });

  it("the pinned map's fd is closed when reading its map_extra fails", () => {
    const env = get();
    env.track(env.bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8 })).openOrCreate();
    let inner!: Driver;
    let infos = 0;
    const driver = wrapDriver(env.driver, {
      kind: "faulty",
      // The second info of the pinned map (its map_extra, after its properties) fails.
      objGetInfoByFd: (fd, info) => (++infos === 2 ? -Errno.ENOMEM : inner.objGetInfoByFd(fd, info)),
    });
    inner = env.driver;
    const bpf = createBpf({ driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: memoryLogger() });
    const b = env.track(bpf.newBloomFilter({ name: "cilium_b", value: u32, maxEntries: 8, hashFunctions: 3 }));
    const before = openFdsOf(env.driver);
    expect(thrownBpfError(() => b.openOrCreate()).errno).toBe(Errno.ENOMEM);
    expect(infos).toBe(2);
    expect(openFdsOf(env.driver)).toBe(before);
  });
});
