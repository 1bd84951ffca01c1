// typedDatapath: sim.datapath in a BpfMap's own types. What it writes, the map's syscalls read
// back (and the reverse); a per-CPU map's program value is one CPU's slot; misuse is named.
import { afterEach, describe, expect, it } from "vitest";
import { BPF_EXIST, BPF_MAP_TYPE_STACK, BPF_NOEXIST, createBpf, Errno, lpmKey, ipv4, MapType, newPerCpuMap, struct, u16, u32, u64, type BpfMap } from "@bpfkit/core";
import { createSimDriver, typedDatapath } from "@bpfkit/driver-wasm-sim";

const opened: Array<BpfMap<any, any>> = [];
afterEach(() => {
  for (const m of opened.splice(0)) m.close();
});

function setup() {
  const sim = createSimDriver();
  const bpf = createBpf({ driver: sim });
  const open = <K, V>(m: BpfMap<K, V>) => {
    m.openOrCreateUnpinned();
    opened.push(m);
    return m;
  };
  return { sim, bpf, open };
}

describe("typedDatapath", () => {
  it("writes and deletes what the map's syscalls then read, and reads what they wrote", () => {
    const { sim, bpf, open } = setup();
    const flow = struct({ addr: ipv4, port: u16 });
    const ct = open(bpf.newMap({ name: "ct", type: MapType.Hash, key: flow, value: u64, maxEntries: 8 }));
    const dp = typedDatapath(sim, ct);
    const k = { addr: "10.0.0.1", port: 443 };
    expect(dp.lookup(k)).toBeUndefined();
    expect(dp.update(k, 7n)).toBe(0);
    expect(ct.lookup(k)).toBe(7n);
    expect(dp.update(k, 8n, BPF_NOEXIST)).toBe(-Errno.EEXIST);
    ct.update({ addr: "10.0.0.2", port: 80 }, 9n);
    expect(dp.lookup({ addr: "10.0.0.2", port: 80 })).toBe(9n);
    expect(dp.delete(k)).toBe(0);
    expect(dp.delete(k)).toBe(-Errno.ENOENT);
    expect(ct.lookup(k)).toBeUndefined();
  });

  it("on a per-CPU map writes one CPU's slot: a new element zeroes the other CPUs'", () => {
    const { sim, bpf, open } = setup();
    const pc = open(newPerCpuMap(bpf, { name: "pc", key: u32, value: u64, maxEntries: 4 }));
    const dp = typedDatapath(sim, pc, u64);
    const cpus = sim.possibleCpus;
    expect(dp.update(1, 5n, 0, cpus - 1)).toBe(0);
    const expected = Array.from({ length: cpus }, (_, i) => (i === cpus - 1 ? 5n : 0n));
    expect(pc.lookup(1)).toEqual(expected);
    expect(dp.lookup(1, cpus - 1)).toBe(5n);
    expect(dp.lookup(1, 0)).toBe(cpus === 1 ? 5n : 0n);
  });

  it("reaches LPM tries with the map's prefix keys", () => {
    const { sim, bpf, open } = setup();
    const routes = open(bpf.newMap({ name: "routes", type: MapType.LPMTrie, key: lpmKey(ipv4), value: u32, maxEntries: 4 }));
    const dp = typedDatapath(sim, routes);
    expect(dp.update({ prefixLen: 8, data: "10.0.0.0" }, 1)).toBe(0);
    // A program's lookup is longest-prefix match, as the syscall's is.
    expect(dp.lookup({ prefixLen: 32, data: "10.9.9.9" })).toBe(1);
    expect(routes.lookup({ prefixLen: 32, data: "10.1.2.3" })).toBe(1);
  });

  it("names what is wrong: a per-CPU map without the one-CPU codec, a codec of the wrong size, a map not open", () => {
    const { sim, bpf, open } = setup();
    const pc = open(newPerCpuMap(bpf, { name: "pc", key: u32, value: u64, maxEntries: 4 }));
    expect(() => typedDatapath(sim, pc)).toThrow(new TypeError(
      "typedDatapath(pc): a program sees one CPU's value of a per-CPU map: pass that value's codec (typedDatapath(sim, map, u64))"));
    expect(() => typedDatapath(sim, pc, u32)).toThrow(new RangeError("typedDatapath(pc): the value codec is 4 bytes, a program's value of this map is 8"));
    const later = bpf.newMap({ name: "later", type: MapType.Hash, key: u32, value: u32, maxEntries: 4 });
    const dp = typedDatapath(sim, later);
    expect(() => dp.update(1, 1)).toThrow("typedDatapath(later): the map is not open");
    open(later);
    expect(dp.update(1, 1)).toBe(0);
    expect(later.lookup(1)).toBe(1);
  });

  it("a key or value its codec refuses is named with the map and the call, as BpfMap names it", () => {
    const { sim, bpf, open } = setup();
    const ct = open(bpf.newMap({ name: "ct", type: MapType.Hash, key: struct({ addr: ipv4, port: u16 }), value: u64, maxEntries: 8 }));
    const dp = typedDatapath(sim, ct);
    expect(() => dp.update({ addr: "10.0.0", port: 1 }, 1n)).toThrow(new TypeError(
      'typedDatapath(ct): update: bad key: struct{addr,port}.addr: ipv4: "10.0.0" is not an IPv4 address'));
    expect(() => dp.lookup({ addr: "10.0.0.1", port: 70000 })).toThrow(new RangeError(
      "typedDatapath(ct): lookup: bad key: struct{addr,port}.port: u16: 70000 is outside [0, 65535]"));
    expect(() => dp.update({ addr: "10.0.0.1", port: 1 }, 1.5 as unknown as bigint)).toThrow(new TypeError(
      "typedDatapath(ct): update: bad value: u64: expected a bigint (or a safe integer), got 1.5"));
    using q = bpf.newQueueMap({ name: "q", value: u16, maxEntries: 2 });
    q.openOrCreateUnpinned();
    expect(() => typedDatapath(sim, q).push(-1)).toThrow(new RangeError("typedDatapath(q): push: bad value: u16: -1 is outside [0, 65535]"));
    expect(ct.lookup({ addr: "10.0.0.1", port: 1 })).toBeUndefined();
  });

  it("a map made on another simulator is named as such, not answered EBADF as if a program could meet it", () => {
    const a = setup(), b = setup();
    const ct = a.open(a.bpf.newMap({ name: "ct", type: MapType.Hash, key: u32, value: u64, maxEntries: 8 }));
    const fd = ct.getFd();
    const says = (op: string) => `typedDatapath(ct): ${op}: fd ${fd} is not open in this simulator: the map was made ` +
      "on another one (pass typedDatapath the simulator its Bpf was created with)";
    const wrong = typedDatapath(b.sim, ct);
    expect(() => wrong.update(1, 1n)).toThrow(new Error(says("update")));
    expect(() => wrong.lookup(1)).toThrow(new Error(says("lookup")));
    expect(() => wrong.delete(1)).toThrow(new Error(says("delete")));
    expect(typedDatapath(a.sim, ct).update(1, 1n)).toBe(0);
    using q = a.bpf.newQueueMap({ name: "q", value: u32, maxEntries: 4 });
    q.openOrCreateUnpinned();
    expect(() => typedDatapath(b.sim, q).push(1)).toThrow(/^typedDatapath\(q\): push: fd \d+ is not open in this simulator/);
  });

  it("takes a BpfQueueMap or BpfBloomFilter itself: the program pushes, pops and asks in the value's type", () => {
    const { sim, bpf } = setup();
    const event = struct({ ts: u64, saddr: ipv4 });
    const events = bpf.newQueueMap({ name: "events", value: event, maxEntries: 2 });
    const prog = typedDatapath(sim, events);
    expect(() => prog.push({ ts: 1n, saddr: "10.0.0.1" })).toThrow("typedDatapath(events): the map is not open");
    events.openOrCreateUnpinned();
    try {
      expect(prog.push({ ts: 1n, saddr: "10.0.0.1" })).toBe(0);
      expect(prog.push({ ts: 2n, saddr: "10.0.0.2" })).toBe(0);
      expect(prog.push({ ts: 3n, saddr: "10.0.0.3" })).toBe(-Errno.E2BIG);
      expect(prog.peek()).toEqual({ ts: 1n, saddr: "10.0.0.1" });
      expect(events.pop()).toEqual({ ts: 1n, saddr: "10.0.0.1" });
      expect(prog.push({ ts: 3n, saddr: "10.0.0.3" }, BPF_EXIST)).toBe(0);
      expect(prog.pop()).toEqual({ ts: 2n, saddr: "10.0.0.2" });
      expect([...events.drain()]).toEqual([{ ts: 3n, saddr: "10.0.0.3" }]);
      expect(prog.pop()).toBeUndefined();
    } finally {
      events.close();
    }
    const stack = bpf.newQueueMap({ name: "undo", type: BPF_MAP_TYPE_STACK, value: u32, maxEntries: 4 });
    stack.openOrCreateUnpinned();
    try {
      stack.push(1);
      const sp = typedDatapath(sim, stack);
      expect(sp.push(2)).toBe(0);
      expect([sp.pop(), stack.pop(), sp.pop()]).toEqual([2, 1, undefined]);
    } finally {
      stack.close();
    }
    const seen = bpf.newBloomFilter({ name: "seen", value: struct({ addr: ipv4, port: u16 }), maxEntries: 64, hashFunctions: 3 });
    seen.openOrCreateUnpinned();
    try {
      const bp = typedDatapath(sim, seen);
      expect(bp.push({ addr: "10.0.0.1", port: 443 })).toBe(0);
      expect(seen.has({ addr: "10.0.0.1", port: 443 })).toBe(true);
      seen.add({ addr: "10.0.0.2", port: 80 });
      expect(bp.mayContain({ addr: "10.0.0.2", port: 80 })).toBe(true);
    } finally {
      seen.close();
    }
  });
});
