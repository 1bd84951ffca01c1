// typedDatapath: sim.datapath in a BpfMap's own types. What it writes, the map's syscalls read
// back (and the reverse); a per-CPU map's program value is one CPU's slot; misuse is named.
import { afterEach, describe, expect, it } from "vitest";
import { BPF_EXIST, BPF_MAP_TYPE_STACK, BPF_NOEXIST, BPF_RB_FORCE_WAKEUP, createBpf, Errno, lpmKey, ipv4, MapType, newPerCpuMap, struct, u16, u32, u64, type BpfMap } from "@bpfkit/core";
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

  it("a map made on another simulator whose fd names a map of another shape here is caught, not written without a word", () => {
    const a = setup(), b = setup();
    const ct = a.open(a.bpf.newMap({ name: "ct", type: MapType.Hash, key: u32, value: u64, maxEntries: 8 }));
    const arr = b.open(b.bpf.newMap({ name: "arr", type: MapType.Array, key: u32, value: u32, maxEntries: 8 }));
    expect(arr.getFd()).toBe(ct.getFd());
    const says = `typedDatapath(ct): fd ${ct.getFd()} in this simulator is another map (type Array, key 4, value 4 bytes), ` +
      "not this one (type Hash, key 4, value 8 bytes): the map was made on another one (pass typedDatapath the simulator its Bpf was created with)";
    const wrong = typedDatapath(b.sim, ct);
    expect(() => wrong.update(1, 7n)).toThrow(new Error(says));
    expect(() => wrong.lookup(1)).toThrow(new Error(says));
    // Nothing was written to the other simulator's array.
    expect(arr.lookup(1)).toBe(0);
    expect(typedDatapath(a.sim, ct).update(1, 7n)).toBe(0);
    expect(ct.lookup(1)).toBe(7n);
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

  it("writes a ring buffer's records in the event's type: the reader reads them back; no room is -EAGAIN, a bad flag -EINVAL", () => {
    const { sim, bpf } = setup();
    const event = struct({ ts: u64, saddr: ipv4, port: u16 });
    using ring = bpf.newRingBuf({ name: "events", maxEntries: 4096 });
    ring.openOrCreateUnpinned();
    const prog = typedDatapath(sim, ring, event);
    using reader = ring.reader();
    expect(prog.output({ ts: 1n, saddr: "10.0.0.1", port: 443 })).toBe(0);
    expect(prog.output({ ts: 2n, saddr: "10.0.0.2", port: 80 }, BPF_RB_FORCE_WAKEUP, 1)).toBe(0);
    expect(prog.output({ ts: 3n, saddr: "10.0.0.3", port: 1 }, 4)).toBe(-Errno.EINVAL);
    const got: unknown[] = [];
    expect(reader.drain((s) => got.push(event.decode(s)))).toBe(2);
    expect(got).toEqual([{ ts: 1n, saddr: "10.0.0.1", port: 443 }, { ts: 2n, saddr: "10.0.0.2", port: 80 }]);
    // A record takes its 8-byte header and 16 bytes (14 rounded up): 170 fill the 4096 bytes.
    let written = 0;
    while (prog.output({ ts: BigInt(written), saddr: "10.0.0.9", port: 9 }) === 0) written++;
    expect(written).toBe(4096 / 24 | 0);
    expect(prog.output({ ts: 0n, saddr: "10.0.0.9", port: 9 })).toBe(-Errno.EAGAIN);
    expect(reader.drain(() => {})).toBe(written);
  });

  it("writes a perf event array's samples to the slot of the program's CPU, or the slot it names", () => {
    const { sim, bpf } = setup();
    const event = struct({ ifindex: u32, len: u16 });
    using events = bpf.newPerfEventArray({ name: "cilium_events" });
    events.openOrCreateUnpinned();
    const prog = typedDatapath(sim, events, event);
    // No reader yet: every slot is empty, as a program meets it.
    expect(prog.output({ ifindex: 1, len: 60 })).toBe(-Errno.ENOENT);
    using reader = events.reader({ perCpuBuffer: 4096 });
    const last = sim.possibleCpus - 1;
    expect(prog.output({ ifindex: 2, len: 1500 }, undefined, last)).toBe(0);
    let rec = reader.readRecord()!;
    expect(rec.cpu).toBe(last);
    // The raw sample holds the padding the kernel adds (4 + 8 rounds up to 16): decode its start.
    expect(rec.rawSample.length).toBe(12);
    expect(event.decode(rec.rawSample.subarray(0, event.size))).toEqual({ ifindex: 2, len: 1500 });
    // A program on CPU `last` naming its own slot by index; another CPU's slot is EOPNOTSUPP.
    expect(prog.output({ ifindex: 3, len: 40 }, last, last)).toBe(0);
    rec = reader.readRecord()!;
    expect([rec.cpu, event.decode(rec.rawSample.subarray(0, event.size))]).toEqual([last, { ifindex: 3, len: 40 }]);
    if (last > 0) expect(prog.output({ ifindex: 4, len: 40 }, 0, last)).toBe(-Errno.EOPNOTSUPP);
    expect(reader.readRecord()).toBeUndefined();
  });

  it("drains a user ring buffer in the event's type: a sample shorter than the event is undefined, a longer one decoded from its start", () => {
    const { sim, bpf } = setup();
    const cmd = struct({ op: u32, arg: u64 });
    using cmds = bpf.newUserRingBuf({ name: "cmds", maxEntries: 4096 });
    cmds.openOrCreateUnpinned();
    using producer = cmds.producer();
    const sample = (v: { op: number; arg: bigint }, extra = 0) => {
      const b = new Uint8Array(cmd.size + extra).fill(0xee);
      cmd.encode(v, b);
      return b;
    };
    expect(producer.write(sample({ op: 1, arg: 10n }))).toBe(true);
    expect(producer.write(Uint8Array.of(1, 2, 3))).toBe(true);
    expect(producer.write(sample({ op: 2, arg: 20n }, 5))).toBe(true);
    const prog = typedDatapath(sim, cmds, cmd);
    const seen: Array<[unknown, number]> = [];
    expect(prog.drain((v, raw) => { seen.push([v, raw.length]); })).toBe(3);
    expect(seen).toEqual([[{ op: 1, arg: 10n }, 16], [undefined, 3], [{ op: 2, arg: 20n }, 21]]);
    // The callback's 1 stops after its record, as the program's does; the rest waits for the next drain.
    producer.write(sample({ op: 3, arg: 30n }));
    producer.write(sample({ op: 4, arg: 40n }));
    const ops: number[] = [];
    expect(prog.drain((v) => { ops.push((v as { op: number }).op); return 1; })).toBe(1);
    expect(prog.drain((v) => { ops.push((v as { op: number }).op); })).toBe(1);
    expect(ops).toEqual([3, 4]);
    expect(prog.drain(() => {}, 4)).toBe(-Errno.EINVAL);
  });

  it("a ring needs its records' codec; output and drain on the wrong map answer as the helpers do", () => {
    const a = setup(), b = setup();
    using ring = a.bpf.newRingBuf({ name: "rb", maxEntries: 4096 });
    ring.openOrCreateUnpinned();
    expect(() => typedDatapath(a.sim, ring)).toThrow(new TypeError(
      "typedDatapath(rb): a ring's records are the program's own type: pass their codec (typedDatapath(sim, ring, event))"));
    const prog = typedDatapath(a.sim, ring, u32);
    // A ring buffer has no user-space producer to drain, and a hash map takes no records.
    expect(prog.drain(() => {})).toBe(-Errno.EINVAL);
    expect(() => prog.drain(undefined as unknown as () => void)).toThrow(new TypeError("typedDatapath(rb): drain: callback must be a function"));
    const ct = a.open(a.bpf.newMap({ name: "ct", type: MapType.Hash, key: u32, value: u32, maxEntries: 4 }));
    expect(typedDatapath(a.sim, ct).output(1)).toBe(-Errno.EINVAL);
    expect(() => prog.output(-1)).toThrow(new RangeError("typedDatapath(rb): output: bad value: u32: -1 is outside [0, 4294967295]"));
    expect(() => typedDatapath(b.sim, ring, u32).output(1)).toThrow(/^typedDatapath\(rb\): output: fd \d+ is not open in this simulator/);
  });
});
