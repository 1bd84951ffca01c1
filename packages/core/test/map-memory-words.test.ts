// MapMemory.word / wordAt: a u32 or u64 of mapped values changed by one atomic instruction, as a
// program's `__sync_fetch_and_add` changes it (cilium/ebpf's VariablePointer with sync/atomic).
// The point is what a plain read-then-write loses: on the kernel a program on the other CPU adds
// to the word while the test resets it with exchange(0), and not one of its adds goes missing.
import { expect, it } from "vitest";
import {
  BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, Errno, MappedWord, ProgType, array, be32, be64, i32, i64, ipv4, pad, struct,
  u16, u32, u64, u8, wrapDriver,
  createBpf, memoryLogger,
} from "@bpfkit/core";
import { createSimDriver, typedDatapath } from "@bpfkit/driver-wasm-sim";
import { eachDriver } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";
import { koffiFrom, startWorker } from "./support/worker.js";

// hits at 8 (u64), threshold at 16 (u32), mode at 2 (u16): stride 24.
const bss = struct({ enabled: u8, mode: u16, hits: u64, threshold: u32, _p: pad(4) }, { name: "bss" });
const packed = struct({ flag: u8, count: u32 }, { name: "packed", packed: true });

/** One 8-byte instruction. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8), dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return [...b];
}

/**
 * A socket filter doing `lock *(uN *)&value0[off] += 1` for each `[size, off]` of `adds` (BPF_ATOMIC |
 * BPF_ADD, BPF_W or BPF_DW) on the array `mapFd`: by default the u64 at byte 0.
 */
function atomicAddProgram(mapFd: number, adds: ReadonlyArray<readonly [4 | 8, number]> = [[8, 0]]): Uint8Array {
  return Uint8Array.from([
    ...insn(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0: the key
    ...insn(0xbf, 2, 10, 0, 0), // r2 = r10
    ...insn(0x07, 2, 0, 0, -4), // r2 += -4
    ...insn(0x18, 1, 1, 0, mapFd), ...insn(0, 0, 0, 0, 0), // r1 = the map (BPF_PSEUDO_MAP_FD)
    ...insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
    ...insn(0x15, 0, 0, 1 + adds.length, 0), // if r0 == 0 goto exit
    ...insn(0xb7, 1, 0, 0, 1), // r1 = 1
    // lock *(u64 *)(r0 + off) += r1 (0xdb), or *(u32 *) (0xc3)
    ...adds.flatMap(([size, off]) => insn(size === 8 ? 0xdb : 0xc3, 0, 1, off, 0)),
    ...insn(0xb7, 0, 0, 0, 0), // r0 = 0
    ...insn(0x95, 0, 0, 0, 0), // exit
  ]);
}

eachDriver("MapMemory.word / wordAt", (get, kind) => {
  it("each op is the word's value before it; lookups see the word after; a u32 word leaves its neighbours alone", () => {
    const env = get();
    const m = env.map({ name: "mmw_ops", type: BPF_MAP_TYPE_ARRAY, key: u32, value: bss, maxEntries: 2, flags: BPF_F_MMAPABLE });
    m.openOrCreate();
    using mem = m.memory();
    m.update(1, { enabled: 1, mode: 7, hits: 5n, threshold: 0xffff_ffff });
    const hits = mem.word(1, "hits");
    expect(hits).toBeInstanceOf(MappedWord);
    expect([hits.offset, hits.size]).toEqual([24 + 8, 8]);
    expect(hits.add(3)).toBe(5n);
    expect(hits.sub(10n)).toBe(8n);
    expect(hits.load()).toBe(0xffff_ffff_ffff_fffen);
    expect(hits.add(2n)).toBe(0xffff_ffff_ffff_fffen);
    expect(hits.or(0b1100)).toBe(0n);
    expect(hits.and(0b0110)).toBe(0b1100n);
    expect(hits.xor(0b0101)).toBe(0b0100n);
    expect(hits.compareExchange(0, 42)).toBe(0b0001n);
    expect(hits.compareExchange(1, 42)).toBe(1n);
    expect(hits.exchange(0)).toBe(42n);
    const threshold = mem.word(1, "threshold");
    expect(threshold.size).toBe(4);
    expect(threshold.add(1)).toBe(0xffff_ffffn);
    expect(m.lookup(1)).toEqual({ enabled: 1, mode: 7, hits: 0n, threshold: 0 });
    expect(m.lookup(0)).toEqual({ enabled: 0, mode: 0, hits: 0n, threshold: 0 });
    // wordAt reaches the same word by offset.
    expect(mem.wordAt(24 + 16, 4).exchange(9)).toBe(0n);
    expect(m.lookup(1)?.threshold).toBe(9);
    // A plain u64 value is a word itself.
    const plain = env.map({ name: "mmw_u64", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 3, flags: BPF_F_MMAPABLE });
    plain.openOrCreate();
    using pm = plain.memory();
    expect(pm.word(2).add(7n)).toBe(0n);
    expect(plain.lookup(2)).toBe(7n);
  });

  it("a word that is no u32 or u64, off its alignment or out of range, a bad operand: refused naming the map, nothing written", () => {
    const env = get();
    const m = env.map({ name: "mmw_bad", type: BPF_MAP_TYPE_ARRAY, key: u32, value: bss, maxEntries: 2, flags: BPF_F_MMAPABLE });
    m.openOrCreate();
    using mem = m.memory();
    expect(thrown(() => mem.word(0, "mode")).message).toBe('word mmw_bad: value 0 field "mode" is 2 bytes; an atomic word is 4 (a u32) or 8 (a u64)');
    // @ts-expect-error a struct value's word is one of its fields, named
    expect(thrown(() => mem.word(0)).message).toBe('word mmw_bad: value 0 is a struct (enabled, mode, hits, threshold): name the field to take as a word, word(0, "enabled")');
    // @ts-expect-error not a field of the struct
    expect(thrown(() => mem.word(0, "hitz")).message).toBe('word mmw_bad: the value has no field "hitz" (did you mean "hits"?)');
    expect(thrown(() => mem.word(2, "hits"))).toBeInstanceOf(RangeError);
    expect(thrown(() => mem.wordAt(4, 8)).message).toBe("wordAt mmw_bad: offset 4 is not a multiple of 8: an atomic word must be naturally aligned");
    expect(thrown(() => mem.wordAt(44, 8))).toBeInstanceOf(RangeError);
    expect(thrown(() => mem.wordAt(0, 2 as never))).toBeInstanceOf(TypeError);
    const hits = mem.word(0, "hits");
    expect(thrown(() => hits.add(-1)).message).toBe('add mmw_bad value 0 field "hits": operand -1 does not fit the u64 word (sub its magnitude instead)');
    expect(thrown(() => hits.sub(-2)).message).toBe('sub mmw_bad value 0 field "hits": operand -2 does not fit the u64 word (add its magnitude instead)');
    expect(thrown(() => hits.add(1.5))).toBeInstanceOf(TypeError);
    expect(thrown(() => mem.word(0, "threshold").exchange(2 ** 32))).toBeInstanceOf(RangeError);
    expect(thrown(() => hits.compareExchange(1n << 64n, 0))).toBeInstanceOf(RangeError);
    expect(m.lookup(0)).toEqual({ enabled: 0, mode: 0, hits: 0n, threshold: 0 });
    // A packed struct's u32 at byte 1 is off its alignment: the kernel's atomics refuse such a word too.
    const p = env.map({ name: "mmw_packed", type: BPF_MAP_TYPE_ARRAY, key: u32, value: packed, maxEntries: 1, flags: BPF_F_MMAPABLE });
    p.openOrCreate();
    using pmem = p.memory();
    expect(thrown(() => pmem.word(0, "count")).message).toMatch(/^word mmw_packed: value 0 field "count" is at byte 1 of the value, not a multiple of its 4 bytes/);
  });

  it("a field named where the value is no struct: the error points at word(index), the value itself, not at load and store", () => {
    const env = get();
    const m = env.map({ name: "mmw_nofields", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 2, flags: BPF_F_MMAPABLE });
    m.openOrCreate();
    using mem = m.memory();
    // @ts-expect-error a u64 value has no fields
    const e = thrown(() => mem.word(1, "hits"));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe("word mmw_nofields: the value codec is not a struct(), so its values have no fields: word(1) takes the value itself as the word");
    // loadField's own advice stays load and store.
    // @ts-expect-error a u64 value has no fields
    expect(thrown(() => mem.loadField(1, "hits")).message).toBe("loadField mmw_nofields: the value codec is not a struct(), so its values have no fields: use load and store");
  });

  it("an i32 or i64 word is signed: answers as loadField gives them, negative operands, the same bits a program's add makes", () => {
    const env = get();
    const gauge = struct({ inflight: i64, delta: i32, n: u32 }, { name: "gauge" });
    const m = env.map({ name: "mmw_signed", type: BPF_MAP_TYPE_ARRAY, key: u32, value: gauge, maxEntries: 1, flags: BPF_F_MMAPABLE });
    m.openOrCreate();
    using mem = m.memory();
    m.update(0, { inflight: -1n, delta: -5, n: 0xffff_ffff });
    const inflight = mem.word(0, "inflight"), delta = mem.word(0, "delta"), n = mem.word(0, "n");
    expect([inflight.signed, delta.signed, n.signed]).toEqual([true, true, false]);
    expect(inflight.load()).toBe(-1n);
    expect(inflight.add(-1)).toBe(-1n);
    expect(inflight.sub(-10n)).toBe(-2n);
    expect(inflight.load()).toBe(8n);
    expect(inflight.exchange(-(1n << 63n))).toBe(8n);
    expect(inflight.sub(1)).toBe(-(1n << 63n)); // wraps to the largest i64, as the program's add would
    expect(inflight.compareExchange((1n << 63n) - 1n, -3)).toBe((1n << 63n) - 1n);
    expect(delta.add(10)).toBe(-5n);
    expect(delta.compareExchange(5, -7)).toBe(5n);
    expect(delta.xor(-1)).toBe(-7n);
    expect(n.load()).toBe(0xffff_ffffn);
    expect(m.lookup(0)).toEqual({ inflight: -3n, delta: 6, n: 0xffff_ffff });
    expect(mem.loadField(0, "inflight")).toBe(inflight.load());
    // Past the i64's range either way: refused, nothing written.
    expect(thrown(() => inflight.add(-(1n << 63n) - 1n)).message).toBe(
      'add mmw_signed value 0 field "inflight": operand -9223372036854775809 does not fit the i64 word');
    expect(thrown(() => n.add(-1)).message).toBe('add mmw_signed value 0 field "n": operand -1 does not fit the u32 word (sub its magnitude instead)');
    // wordAt knows no codec: the same bits, unsigned.
    expect(mem.wordAt(0, 8).load()).toBe(0xffff_ffff_ffff_fffdn);
    // An i64 value is a signed word itself.
    const plain = env.map({ name: "mmw_i64", type: BPF_MAP_TYPE_ARRAY, key: u32, value: i64, maxEntries: 1, flags: BPF_F_MMAPABLE });
    plain.openOrCreate();
    using pm = plain.memory();
    expect(pm.word(0).add(-1)).toBe(0n);
    expect([pm.word(0).load(), plain.lookup(0)]).toEqual([-1n, -1n]);
  });

  it("a big-endian, address or array field is no word (a program's atomic add would garble it); wordAt still takes its bytes", () => {
    const env = get();
    const wire = struct({ saddr: ipv4, seq: be32, bytes: be64, ports: array(u32, 2) }, { name: "wire" });
    const m = env.map({ name: "mmw_wire", type: BPF_MAP_TYPE_ARRAY, key: u32, value: wire, maxEntries: 1, flags: BPF_F_MMAPABLE });
    m.openOrCreate();
    using mem = m.memory();
    m.update(0, { saddr: "10.0.0.1", seq: 1, bytes: 2n, ports: [3, 4] });
    const refusal = (f: "seq" | "bytes") => thrown(() => mem.word(0, f));
    expect(refusal("seq")).toBeInstanceOf(TypeError);
    expect(refusal("seq").message).toBe('word mmw_wire: value 0 field "seq" is a be32 (big-endian), not a host-order integer: ' +
      "a program's atomics add to a u32 or u64 (i32, i64) in host byte order, so an atomic op on it would garble it " +
      "(wordAt(4, 4) takes its bytes as one anyway)");
    expect(refusal("bytes").message).toMatch(/^word mmw_wire: value 0 field "bytes" is a be64 \(big-endian\)/);
    // An address (a string) and an array are no words to TypeScript either.
    // @ts-expect-error an ipv4 field holds a string
    expect(thrown(() => mem.word(0, "saddr")).message).toMatch(/^word mmw_wire: value 0 field "saddr" is a ipv4 \(an address in network byte order\), not a host-order integer/);
    // @ts-expect-error an array field holds an array
    expect(thrown(() => mem.word(0, "ports")).message).toMatch(/^word mmw_wire: value 0 field "ports" is a u32\[2\] \(an array\)/);
    // The bytes as they lie, host order: be32 1 is 0x01000000 on this little-endian host.
    expect(mem.wordAt(4, 4).load()).toBe(0x0100_0000n);
    expect(m.lookup(0)).toEqual({ saddr: "10.0.0.1", seq: 1, bytes: 2n, ports: [3, 4] });
  });

  it("a frozen map's memory: load answers, the rest are EACCES naming the word and saying the map is frozen", () => {
    const env = get();
    const m = env.map({ name: "mmw_frozen", type: BPF_MAP_TYPE_ARRAY, key: u32, value: bss, maxEntries: 2, flags: BPF_F_MMAPABLE });
    m.openOrCreate();
    m.update(1, { enabled: 1, mode: 0, hits: 9n, threshold: 3 });
    m.freeze();
    using mem = m.memory();
    expect(mem.writable).toBe(false);
    const hits = mem.word(1, "hits");
    expect(hits.load()).toBe(9n);
    const e = thrownBpfError(() => hits.exchange(0));
    expect([e.errno, e.op, e.map]).toEqual([Errno.EACCES, "exchange", "mmw_frozen"]);
    expect(e.message).toBe('exchange mmw_frozen value 1 field "hits": permission denied (the memory is mapped read-only: ' +
      "memory() mapped it read-only because the map is frozen (BPF_MAP_FREEZE), and the kernel maps such a map writable for no one)");
    expect(thrownBpfError(() => mem.wordAt(24 + 16, 4).or(1)).message).toMatch(/^or mmw_frozen bytes 40\.\.44: permission denied /);
    expect(m.lookup(1)?.hits).toBe(9n);
  });

  it("read-only memory answers load and refuses the rest with EACCES saying why; after close every op is EBADF", () => {
    const env = get();
    const m = env.map({ name: "mmw_ro", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 1, flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG });
    m.openOrCreate();
    m.update(0, 4n);
    const mem = m.memory({ writable: false });
    const w = mem.word(0);
    expect(w.load()).toBe(4n);
    const e = thrownBpfError(() => w.exchange(0));
    expect([e.errno, e.op, e.map]).toEqual([Errno.EACCES, "exchange", "mmw_ro"]);
    // The word is named, as its TypeErrors name it: an agent holds many.
    expect(e.message).toMatch(/^exchange mmw_ro value 0: permission denied \(the memory is mapped read-only: /);
    expect(m.lookup(0)).toBe(4n);
    mem.close();
    const closed = thrownBpfError(() => w.load());
    expect([closed.errno, closed.op, closed.map]).toEqual([Errno.EBADF, "load", "mmw_ro"]);
    expect(closed.message).toBe("load mmw_ro value 0: bad file descriptor (the memory is unmapped: close() was called)");
    expect(thrownBpfError(() => mem.word(0)).errno).toBe(Errno.EBADF);
  });

  it("a per-CPU array has no memory, so no word: the refusal says its counters need none and how to read them", () => {
    const env = get();
    const p = env.track(env.bpf.newPerCpuMap({ name: "mmw_pcpu", type: BPF_MAP_TYPE_PERCPU_ARRAY, key: u32, value: u64, maxEntries: 1 }));
    p.openOrCreate();
    const e = thrownBpfError(() => p.memory());
    expect([e.errno, e.op, e.map]).toEqual([Errno.ENOTSUPP, "memory", "mmw_pcpu"]);
    expect(e.message).toBe("memory mmw_pcpu: operation not supported by this map type or kernel (ENOTSUPP, 524) (only an ARRAY made with " +
      "BPF_F_MMAPABLE can be mapped; this map is a PerCPUArray; a per-CPU map has no shared word to map or change atomically: " +
      "each CPU's program adds to its own slot with no atomics, and lookup gives every CPU's value to sum)");
  });

  it("the BpfMap closed, the pin reopened in another Bpf: words of both mappings are the one counter", () => {
    const env = get();
    const spec = { name: "mmw_pin", type: BPF_MAP_TYPE_ARRAY, key: u32, value: bss, maxEntries: 4, flags: BPF_F_MMAPABLE } as const;
    const m = env.map(spec);
    m.openOrCreate();
    using first = m.memory();
    const hits = first.word(3, "hits");
    m.close();
    expect(hits.add(5)).toBe(0n); // the mapping holds the map
    const again = env.track(env.otherBpf().newMap(spec));
    again.openOrCreate();
    expect(again.lookup(3)?.hits).toBe(5n);
    using second = again.memory();
    expect(second.word(3, "hits").add(1)).toBe(5n);
    expect(hits.load()).toBe(6n);
  });

  it("a driver without mmapAtomic: word() is EOPNOTSUPP naming the driver; load and store still work", () => {
    const env = get();
    const bpf = createBpf({ driver: wrapDriver(env.driver, { kind: "old", mmapAtomic: null }), mapRoot: env.root, logger: memoryLogger() });
    const m = env.track(bpf.newMap({ name: "mmw_old", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 1, flags: BPF_F_MMAPABLE }));
    m.openOrCreateUnpinned();
    using mem = m.memory();
    const e = thrownBpfError(() => mem.word(0));
    expect([e.errno, e.op]).toEqual([Errno.EOPNOTSUPP, "word"]);
    expect(e.message).toBe('word mmw_old: operation not supported (driver "old" has no mmapAtomic (an optional Driver method), so it cannot change mapped memory atomically)');
    mem.store(0, 3n);
    expect(mem.load(0)).toBe(3n);
  });

  if (kind === "kernel") {
    it("exchange(0) loses nothing a program on the other CPU adds meanwhile (lock add through BPF_PROG_TEST_RUN)", async () => {
      const env = get();
      const m = env.map({ name: "mmw_race", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 1, flags: BPF_F_MMAPABLE });
      m.openOrCreate();
      using mem = m.memory();
      const prog = env.driver.progLoad({ progType: ProgType.SocketFilter, insns: atomicAddProgram(m.getFd()), license: "GPL" });
      expect(prog).toBeGreaterThanOrEqual(0);
      const counter = new SharedArrayBuffer(8);
      const shared = new Int32Array(counter);
      const repeat = 1000;
      try {
        const worker = await startWorker(new URL("./support/atomic-add-worker.mjs", import.meta.url),
          { koffiFrom, progFd: prog, repeat, counter }, () => Atomics.load(shared, 0) > 0, "the atomic-add worker");
        const w = mem.word(0);
        let taken = 0n, takes = 0;
        // Reset the counter and keep what it held, until 50 resets have found the program's adds
        // (the two threads share the CPUs with whatever else runs) and it has run 200,000 times.
        const t0 = Date.now();
        while ((takes < 50 || Atomics.load(shared, 0) < 200) && Date.now() - t0 < 30_000) {
          const got = w.exchange(0);
          if (got !== 0n) takes++;
          taken += got;
        }
        Atomics.store(shared, 1, 1);
        await worker.join();
        taken += w.exchange(0);
        expect(taken).toBe(BigInt(Atomics.load(shared, 0) * repeat));
        // The resets did fall between the program's adds, many times over.
        expect(takes).toBeGreaterThanOrEqual(50);
      } finally {
        env.driver.close(prog);
      }
    }, 60_000);

    it("a .bss of counters: the program's lock adds to a u32 and a u64 field lose nothing to a compareExchange drain, an exchange(0) and or/and on the flags beside them", async () => {
      const env = get();
      // flags and count share one 8-byte word: a u32 op done as a wider read-then-write would lose the program's adds.
      const counters = struct({ flags: u32, count: u32, hits: u64 }, { name: "counters" });
      const m = env.map({ name: "mmw_bss", type: BPF_MAP_TYPE_ARRAY, key: u32, value: counters, maxEntries: 1, flags: BPF_F_MMAPABLE });
      m.openOrCreate();
      using mem = m.memory();
      const prog = env.driver.progLoad({ progType: ProgType.SocketFilter, insns: atomicAddProgram(m.getFd(), [[4, 4], [8, 8]]), license: "GPL" });
      expect(prog).toBeGreaterThanOrEqual(0);
      const shared = new Int32Array(new SharedArrayBuffer(8));
      const repeat = 1000;
      try {
        const worker = await startWorker(new URL("./support/atomic-add-worker.mjs", import.meta.url),
          { koffiFrom, progFd: prog, repeat, counter: shared.buffer }, () => Atomics.load(shared, 0) > 0, "the atomic-add worker");
        const flags = mem.word(0, "flags"), count = mem.word(0, "count"), hits = mem.word(0, "hits");
        // A lock-free drain of the u32: take what it holds only if no add came in between, else try again.
        const drain = () => {
          for (;;) {
            const seen = count.load();
            if (count.compareExchange(seen, 0) === seen) return seen;
          }
        };
        let fromCount = 0n, fromHits = 0n, rounds = 0;
        const t0 = Date.now();
        while ((rounds < 2000 || Atomics.load(shared, 0) < 100) && Date.now() - t0 < 30_000) {
          expect(flags.or(1 << (rounds % 31))).toBe(0n);
          expect(flags.and(0)).toBe(BigInt(1 << (rounds % 31)) & 0xffff_ffffn);
          fromCount += drain();
          fromHits += hits.exchange(0);
          rounds++;
        }
        Atomics.store(shared, 1, 1);
        await worker.join();
        fromCount += drain();
        fromHits += hits.exchange(0);
        const adds = BigInt(Atomics.load(shared, 0) * repeat);
        expect([fromCount, fromHits]).toEqual([adds, adds]);
        expect(m.lookup(0)).toEqual({ flags: 0, count: 0, hits: 0n });
      } finally {
        env.driver.close(prog);
      }
    }, 60_000);
  }
});

it("on the simulator, a compareExchange loop tries again when the program (typedDatapath) bumps the word between its load and its swap", () => {
  const sim = createSimDriver();
  const m = createBpf({ driver: sim }).newMap({ name: "mmw_cas", type: BPF_MAP_TYPE_ARRAY, key: u32, value: bss, maxEntries: 1, flags: BPF_F_MMAPABLE });
  m.openOrCreate();
  try {
    using mem = m.memory();
    const prog = typedDatapath(sim, m);
    const bump = () => {
      const v = prog.lookup(0)!;
      expect(prog.update(0, { ...v, hits: v.hits + 1n })).toBe(0);
    };
    const hits = mem.word(0, "hits");
    bump();
    // Halve the counter lock-free; the program runs once between the first try's load and swap.
    let tries = 0;
    for (;;) {
      const seen = hits.load();
      if (tries++ === 0) bump();
      if (hits.compareExchange(seen, seen / 2n) === seen) break;
    }
    expect([tries, hits.load(), mem.loadField(0, "hits")]).toEqual([2, 1n, 1n]);
  } finally {
    m.close();
  }
});
