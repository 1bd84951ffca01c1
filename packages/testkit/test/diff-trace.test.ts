// The differential runner's oracle is the trace: one line per step that must carry every answer a
// driver gives. A trace that drops an errno, a value, a key, a count or a token would let two
// drivers that answer differently "agree". Each test wraps the model so that exactly one answer
// differs and checks that the comparison names that very step.
import { BPF_F_LOCK, BPF_F_MMAPABLE, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, type Driver, Errno, mapTypeName, userValueSize, wrapDriver } from "@bpfkit/core";
import { FD_VALUE_MAP_TYPES } from "../src/arbitraries/map-spec.js";
import { describe, expect, it } from "vitest";
import type { Op, Program } from "../src/arbitraries/program.js";
import { firstDivergence, formatDivergence } from "../src/diff/compare.js";
import { runProgram } from "../src/diff/run-program.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { NotModelledError } from "../src/model/create-check.js";
import { createModelDriver } from "../src/model/model-driver.js";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { kernelUnderTest } from "../src/drivers.js";

const k = (n: number) => new Uint8Array([n, 0, 0, 0]);
const v = (n: number) => new Uint8Array([n, n + 1, n + 2, n + 3]);
const spec = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_ZERO_SEED };
const fill: Op[] = [1, 2, 3].map((n) => ({ kind: "update", key: k(n), value: v(n), flags: 0 }));
const program = (...ops: Op[]): Program => ({ spec, possibleCpus: 1, ops: [...fill, ...ops] });
const kernel = kernelUnderTest();

/** Where a model and `mutate(model)` first differ on `p`: the step number and its label. */
function divergence(p: Program, mutate: (d: Driver) => Driver): { step: number; what: string } | undefined {
  const d = firstDivergence(p, runProgram(mutate(createModelDriver()), p), runProgram(createModelDriver(), p));
  return d && { step: d.step, what: d.what };
}
/** The step of op `i` (0-based, after the three fill updates). */
const opStep = (i: number) => 2 + fill.length + i;

describe("differential trace: every answer is compared", () => {
  it("agrees with itself on a program of every op", () => {
    const p = program({ kind: "lookup", key: k(1), flags: 0 }, { kind: "nextKey", key: k(1) }, { kind: "lookupBatch", count: 2, restart: true, del: false },
      { kind: "updateBatch", keys: [k(4)], values: [v(4)], elemFlags: 0 }, { kind: "deleteBatch", keys: [k(4)] }, { kind: "walk" });
    expect(divergence(p, (d) => d)).toBeUndefined();
  });

  it("an errno: ENOENT against EPERM for a missing key", () => {
    const p = program({ kind: "delete", key: k(9) });
    const eperm = (d: Driver) => wrapDriver(d, { mapDeleteElem: (fd, key) => (d.mapDeleteElem(fd, key) === -Errno.ENOENT ? -Errno.EPERM : d.mapDeleteElem(fd, key)) });
    expect(divergence(p, eperm)).toEqual({ step: opStep(0), what: "op 4: delete 09000000" });
  });

  it("a lookup's value, at the lookup (not only in the final walk)", () => {
    const p = program({ kind: "lookup", key: k(2), flags: 0 });
    let n = 0;
    const once = (d: Driver) => wrapDriver(d, { mapLookupElem: (fd, key, out, f) => { const r = d.mapLookupElem(fd, key, out, f); if (n++ === 0) out[0] ^= 1; return r; } });
    expect(divergence(p, once)).toEqual({ step: opStep(0), what: "op 4: lookup 02000000" });
  });

  it("a lookup's flags reach the driver: one that ignores BPF_F_LOCK differs there", () => {
    const p = program({ kind: "lookup", key: k(2), flags: BPF_F_LOCK });
    const ignores = (d: Driver) => wrapDriver(d, { mapLookupElem: (fd, key, out) => d.mapLookupElem(fd, key, out, 0) });
    expect(divergence(p, ignores)?.step).toBe(opStep(0));
  });

  it("the key next-key hands out, from a given key", () => {
    // From the walk's first key, which has a successor.
    const first = runProgram(createModelDriver(), program({ kind: "nextKey", key: null })).lines[opStep(0)]!.split(" ")[1]!;
    const p = program({ kind: "nextKey", key: Uint8Array.from(Buffer.from(first, "hex")) });
    const other = (d: Driver) => wrapDriver(d, { mapGetNextKey: (fd, key, next) => { const r = d.mapGetNextKey(fd, key, next); if (key !== null && r === 0) next[0] ^= 0x40; return r; } });
    expect(divergence(p, other)).toEqual({ step: opStep(0), what: `op 4: next-key ${first}` });
  });

  it("a lookup-and-delete's value", () => {
    const p = program({ kind: "lookupAndDelete", key: k(1) });
    const flips = (d: Driver) => wrapDriver(d, { mapLookupAndDeleteElem: (fd, key, out) => { const r = d.mapLookupAndDeleteElem(fd, key, out); out[1] ^= 1; return r; } });
    expect(divergence(p, flips)?.step).toBe(opStep(0));
  });

  it("a batch's elements, its token, and the counts of update and delete batches", () => {
    const batch = program({ kind: "lookupBatch", count: 8, restart: true, del: false });
    const badValue = (d: Driver) => wrapDriver(d, { mapLookupBatch: (fd, i, o, ks, vs, n) => { const r = d.mapLookupBatch(fd, i, o, ks, vs, n); vs[0] ^= 1; return r; } });
    expect(divergence(batch, badValue)?.step).toBe(opStep(0));
    const badToken = (d: Driver) => wrapDriver(d, { mapLookupBatch: (fd, i, o, ks, vs, n) => { const r = d.mapLookupBatch(fd, i, o, ks, vs, n); o[0] ^= 1; return r; } });
    expect(divergence(batch, badToken)?.step).toBe(opStep(0));
    // A token that is kept after ENOSPC: the next batch goes on from it, not from the start.
    const resumed = program({ kind: "lookupBatch", count: 1, restart: true, del: false }, { kind: "lookupBatch", count: 8, restart: false, del: false });
    expect(firstDivergence(resumed, runProgram(createModelDriver(), resumed), runProgram(createModelDriver(), resumed))).toBeUndefined();
    expect(runProgram(createModelDriver(), resumed).lines[opStep(1)]).not.toMatch(/^ok count 3 /);
    const short = (d: Driver) => wrapDriver(d, {
      mapUpdateBatch: (fd, ks, vs, n, f) => ({ ...d.mapUpdateBatch(fd, ks, vs, n, f), count: 0 }),
      mapDeleteBatch: (fd, ks, n) => ({ ...d.mapDeleteBatch(fd, ks, n), count: 0 }),
    });
    expect(divergence(program({ kind: "updateBatch", keys: [k(5)], values: [v(5)], elemFlags: 0 }), short)?.step).toBe(opStep(0));
    expect(divergence(program({ kind: "deleteBatch", keys: [k(1)] }), short)?.step).toBe(opStep(0));
  });

  it("a batch from the last token after ENOSPC goes on from the token the driver wrote, not from the start", () => {
    // 0, 8 and 16 share one of the 4 buckets: a batch of 1 cannot take it (ENOSPC) and its
    // token names that bucket; the next batch, from the last token, must be given that token.
    const crowded = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_ZERO_SEED };
    const p: Program = { spec: crowded, possibleCpus: 1, ops: [
      ...[0, 8, 16].map((n): Op => ({ kind: "update", key: k(n), value: v(n), flags: 0 })),
      { kind: "lookupBatch", count: 1, restart: true, del: false },
      { kind: "lookupBatch", count: 8, restart: false, del: false },
    ] };
    const given: (string | null)[] = [];
    const written: string[] = [];
    const d = createModelDriver();
    const recording = wrapDriver(d, {
      mapLookupBatch(fd, inBatch, outBatch, keys, values, count) {
        given.push(inBatch === null ? null : Buffer.from(inBatch).toString("hex"));
        const r = d.mapLookupBatch(fd, inBatch, outBatch, keys, values, count);
        written.push(Buffer.from(outBatch).toString("hex"));
        return r;
      },
    });
    const lines = runProgram(recording, p).lines;
    expect(lines[2 + 3]).toMatch(/^ENOSPC count 0 \[\] token /);
    expect(given).toEqual([null, written[0]]);
  });

  it("the order of a walk on a ZERO_SEED map, and the values of the final walk", () => {
    // The same keys, handed out in reverse.
    const reversed = (d: Driver) => wrapDriver(d, {
      mapGetNextKey(fd, key, next) {
        const all: Uint8Array[] = [];
        for (let cur: Uint8Array | null = null, out = new Uint8Array(4); d.mapGetNextKey(fd, cur, out) === 0; cur = out.slice()) all.push(out.slice());
        all.reverse();
        const i = key === null ? 0 : all.findIndex((x) => x.every((b, j) => b === key[j])) + 1;
        if (i >= all.length) return -Errno.ENOENT;
        next.set(all[i]!);
        return 0;
      },
    });
    expect(divergence(program({ kind: "walk" }), reversed)?.step).toBe(opStep(0));
    const badValues = (d: Driver) => wrapDriver(d, { mapLookupElem: (fd, key, out, f) => { const r = d.mapLookupElem(fd, key, out, f); out[3] ^= 1; return r; } });
    expect(divergence(program(), badValues)).toEqual({ step: 2 + fill.length, what: "final walk with values" });
  });

  it("what the map says of itself: max_entries and flags", () => {
    const info = (off: number) => (d: Driver) => wrapDriver(d, { objGetInfoByFd: (fd, buf) => { const r = d.objGetInfoByFd(fd, buf); buf[off] ^= 1; return r; } });
    // struct bpf_map_info: max_entries at 16, map_flags at 20.
    expect(divergence(program(), info(16))).toEqual({ step: 1, what: "map info (OBJ_GET_INFO_BY_FD)" });
    expect(divergence(program(), info(20))).toEqual({ step: 1, what: "map info (OBJ_GET_INFO_BY_FD)" });
  });

  it("a create that fails on one side only is the create step", () => {
    const refuses = (d: Driver) => wrapDriver(d, { mapCreate: () => -Errno.EPERM });
    expect(divergence(program(), refuses)).toEqual({ step: 0, what: "create" });
  });

  it("a divergence prints each driver's answer under its own name", () => {
    const p = program({ kind: "delete", key: k(9) });
    const eperm = (d: Driver) => wrapDriver(d, { mapDeleteElem: () => -Errno.EPERM });
    const d = firstDivergence(p, runProgram(eperm(createModelDriver()), p), runProgram(createModelDriver(), p))!;
    expect(formatDivergence(d, "left", "right")).toBe("first difference at op 4: delete 09000000\n  left   EPERM\n  right  ENOENT");
  });

  it("closes every fd it opened", () => {
    let open = 0;
    const d = createModelDriver();
    const tracked = wrapDriver(d, {
      mapCreate: (a) => { const fd = d.mapCreate(a); if (fd >= 0) open++; return fd; },
      mapGetFdById: (id, f) => { const fd = d.mapGetFdById(id, f); if (fd >= 0) open++; return fd; },
      close: (fd) => { const r = d.close(fd); if (r === 0) open--; return r; },
    });
    runProgram(tracked, program({ kind: "reopen", openFlags: 0 }, { kind: "lookup", key: k(1), flags: 0 }));
    expect(open).toBe(0);
  });

  it("a user ring whose drain cannot be set up throws, and closes the map it made first", () => {
    let open = 0;
    const d = createSimDriver();
    // Without the simulator's datapath the drain is a program's, and its BTF is refused.
    const tracked = wrapDriver(d, {
      kind: "refusing",
      mapCreate: (a) => { const fd = d.mapCreate(a); if (fd >= 0) open++; return fd; },
      close: (fd) => { const r = d.close(fd); if (r === 0) open--; return r; },
      btfLoad: () => -Errno.EPERM,
      progTestRun: () => { throw new Error("no program runs: its BTF was refused"); },
    });
    const ring: Program = { spec: { mapType: BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 }, possibleCpus: 1, ops: [] };
    expect(() => runProgram(tracked, ring)).toThrow("kernelUserRingDrainer: BTF_LOAD: EPERM");
    expect(open).toBe(0);
  });

  it.skipIf(kernel.unavailable !== undefined)("a side runner whose close() throws still leaves its mapping, map and program fds freed, and the error is thrown (kernel)", () => {
    const d = kernel.create();
    const before = bpfFds();
    const mappedBefore = bpfMappings();
    let munmaps = 0;
    // The user ring's writer unmaps first, in the runner's close(): that first munmap unmaps,
    // then throws, so that every mapping left after the run is one a later step failed to free.
    const broken = wrapDriver(d, {
      kind: d.kind,
      munmap: (h) => {
        const r = d.munmap!(h);
        if (munmaps++ === 0) throw new Error("munmap broke");
        return r;
      },
    });
    const ring: Program = { spec: { mapType: BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 }, possibleCpus: 1, ops: [] };
    expect(() => runProgram(broken, ring)).toThrow("munmap broke");
    expect(bpfFds()).toBe(before);
    expect(bpfMappings()).toBe(mappedBefore);
  });

  it.skipIf(kernel.unavailable !== undefined)("a user ring's drainer whose first close throws still closes its BTF (kernel)", () => {
    const d = kernel.create();
    const before = bpfFds();
    let thrown = false;
    // The drainer closes its ARRAY, then its BTF: closing the ARRAY closes it, then throws.
    const broken = wrapDriver(d, {
      kind: d.kind,
      close: (fd) => {
        const isArray = /^map_type:\s+2$/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
        const r = d.close(fd);
        if (isArray && !thrown) {
          thrown = true;
          throw new Error("close broke");
        }
        return r;
      },
    });
    const ring: Program = { spec: { mapType: BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 }, possibleCpus: 1, ops: [] };
    expect(() => runProgram(broken, ring)).toThrow("close broke");
    expect(bpfFds()).toBe(before);
  });
});

/** This process's bpf fds (maps, programs, BTF). */
function bpfFds(): number {
  return readdirSync("/proc/self/fd").filter((f) => {
    try {
      const link = readlinkSync(`/proc/self/fd/${f}`);
      return link.startsWith("anon_inode:bpf-") || link === "anon_inode:btf";
    } catch {
      return false; // readdir's own fd, gone by now
    }
  }).length;
}

/** This process's mappings of bpf maps: one holds its map in the kernel after the last fd closes. */
function bpfMappings(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes("anon_inode:bpf")).length;
}

describe("differential summary: what a run reports", () => {
  it("a difference: DIFFER, the programs run before it, each driver's answer under its own name", async () => {
    const eperm = () => { const d = createModelDriver(); return wrapDriver(d, { mapDeleteElem: (fd, key) => (d.mapDeleteElem(fd, key) === -Errno.ENOENT ? -Errno.EPERM : 0) }); };
    const s = await runDifferential({ left: eperm, right: () => createModelDriver(), runs: 500, seed: 42 });
    expect(s.ok).toBe(false);
    expect([s.left, s.right]).toEqual(["model (left)", "model (right)"]);
    // The run stopped at the first failing program, long before 500.
    expect(s.runs).toBeLessThan(500);
    expect(s.report).toMatch(new RegExp(`^model \\(left\\) vs model \\(right\\): DIFFER on ${s.runs} programs`));
    expect(s.report).toMatch(/\n {4}model \(left\) {3}EPERM\n {4}model \(right\) {2}ENOENT$/);
  });

  it("throughput is calls over seconds spent in each driver", async () => {
    const s = await runDifferential({ left: "model", right: () => createModelDriver(), runs: 20, seed: 7 });
    for (const d of s.drivers) expect(d.opsPerSecond).toBeCloseTo(d.ops / d.seconds, 3);
  });
});

describe("differential drivers: per-CPU values compare only between drivers of one CPU count", () => {
  it("a named simulator or model takes the CPU count of a driver given beside it; two fixed counts that differ are refused", async () => {
    const sim = await runDifferential({ left: "sim", right: () => createSimDriver({ possibleCpus: 3 }), runs: 5, seed: 1 });
    expect([sim.ok, sim.left, sim.right]).toEqual([true, "sim (left)", "sim (right)"]);
    const model = await runDifferential({ left: () => createModelDriver({ possibleCpus: 3 }), right: "model", runs: 5, seed: 1 });
    expect(model.ok).toBe(true);
    await expect(runDifferential({ left: () => createModelDriver({ possibleCpus: 2 }), right: () => createSimDriver({ possibleCpus: 3 }), runs: 1 }))
      .rejects.toThrow("drivers disagree on possible CPUs: model has 2, sim has 3; per-CPU values would not compare");
  });
});

describe("differential drivers: mappings and rings compare only between drivers of one page size", () => {
  it("a named simulator takes the page of a driver given beside it, and ring programs are scaled to it; two fixed pages that differ are refused", async () => {
    const rings: Array<{ size: number; fd: number }> = [];
    const mapped: number[] = [];
    // A Proxy, not wrapDriver: the ring producer plays programs through the simulator's datapath.
    const big = () => {
      const d = createSimDriver({ pageSize: 65536 });
      const own: Partial<Driver> = {
        mapCreate(attr) {
          const fd = d.mapCreate(attr);
          if (attr.mapType === BPF_MAP_TYPE_RINGBUF) rings.push({ size: attr.maxEntries, fd });
          return fd;
        },
        mapMmap(fd, length, writable, offset) {
          const h = d.mapMmap(fd, length, writable, offset);
          if (h >= 0) mapped.push(offset ?? 0);
          return h;
        },
      };
      return new Proxy(d, {
        get(target, name) {
          if (name in own) return own[name as keyof Driver];
          const v = Reflect.get(target, name, target) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    };
    // The named simulator is made with 64 KiB pages too, so the two agree on every ring and mapping.
    const s = await runDifferential({ left: big, right: "sim", runs: 40, seed: 23, program: { types: [BPF_MAP_TYPE_RINGBUF] } });
    expect([s.ok, s.left, s.right]).toEqual([true, "sim (left)", "sim (right)"]);
    // Ring sizes are whole 64 KiB pages (1, 2 or 4 of them), and they are made.
    expect(rings.length).toBeGreaterThan(30);
    expect(rings.every((r) => r.size % 65536 === 0 && [65536, 131072, 262144].includes(r.size) && r.fd >= 0)).toBe(true);
    // The reader's consumer page and the data are mapped at 64 KiB offsets.
    expect(mapped.some((o) => o === 65536)).toBe(true);
    expect(mapped.every((o) => o % 65536 === 0)).toBe(true);
    await expect(runDifferential({ left: () => createSimDriver({ pageSize: 16384 }), right: () => createSimDriver(), runs: 1 }))
      .rejects.toThrow("drivers disagree on the page size: sim (left) has 16384, sim (right) has 4096; mappings and ring buffers would not compare");
  });
});

describe("differential runner: the programs it draws for the pair", () => {
  /** A driver factory that notes the type of every map created, and the size of every value updated. */
  const noting = (make: () => Driver) => {
    const types = new Set<number>();
    const valueSizes = new Set<string>();
    const factory = () => {
      const d = make();
      const specs = new Map<number, { mapType: number; valueSize: number }>();
      return wrapDriver(d, {
        mapCreate(attr) {
          types.add(attr.mapType);
          const fd = d.mapCreate(attr);
          if (fd >= 0) specs.set(fd, { mapType: attr.mapType, valueSize: attr.valueSize });
          return fd;
        },
        mapUpdateElem(fd, key, value, flags) {
          const m = specs.get(fd);
          if (m !== undefined) valueSizes.add(`${mapTypeName(m.mapType)} ${m.valueSize}: ${value.length} of ${userValueSize(m.mapType, m.valueSize, d.possibleCpus)}`);
          return d.mapUpdateElem(fd, key, value, flags);
        },
        // An fd number comes back for a map opened by id or pin: it is not the closed one's map.
        close(fd) {
          specs.delete(fd);
          return d.close(fd);
        },
      });
    };
    return { types, valueSizes, factory };
  };

  it("with the model on either side, no maps of maps or PROG_ARRAY (it cannot run them); with none, those too", async () => {
    for (const modelLeft of [true, false]) {
      const vsModel = noting(() => createSimDriver());
      const s = await runDifferential({ left: modelLeft ? "model" : vsModel.factory, right: modelLeft ? vsModel.factory : "model", runs: 80, seed: 9 });
      expect(s.ok).toBe(true);
      expect(FD_VALUE_MAP_TYPES.filter((t) => vsModel.types.has(t))).toEqual([]);
      expect(s.skipped).toBeLessThan(5);
    }
    const simOnly = noting(() => createSimDriver());
    const t = await runDifferential({ left: simOnly.factory, right: "sim", runs: 80, seed: 9 });
    expect(t.ok).toBe(true);
    expect(FD_VALUE_MAP_TYPES.filter((x) => simOnly.types.has(x)).length).toBeGreaterThan(1);
  });

  it("per-CPU values are sized for the pair's CPU count (3 here), so every update carries one slot per CPU", async () => {
    const three = noting(() => createSimDriver({ possibleCpus: 3 }));
    const s = await runDifferential({ left: three.factory, right: "sim", runs: 30, seed: 4, program: { types: [BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY] } });
    expect(s.ok).toBe(true);
    expect(three.valueSizes.size).toBeGreaterThan(1);
    for (const line of three.valueSizes) expect(line).toMatch(/: (\d+) of \1$/);
  });
});

describe("differential trace: fd values and what the model does not cover", () => {
  it("a map-of-maps value picks inner map i by its first byte (3: a closed fd), and reads back by name", () => {
    const inner = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 };
    const p: Program = {
      spec: { mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0, inner }, possibleCpus: 1,
      ops: [
        { kind: "update", key: k(0), value: new Uint8Array([1, 0, 0, 0]), flags: 0 },
        { kind: "update", key: k(1), value: new Uint8Array([3, 0, 0, 0]), flags: 0 },
        { kind: "lookup", key: k(0), flags: 0 },
      ],
    };
    expect(runProgram(createSimDriver({ possibleCpus: 1 }), p).lines.slice(2)).toEqual(["ok", "EBADF", "ok inner1", "final [00000000=inner1 01000000=ENOENT] ENOENT"]);
  });

  it("a model that cannot answer (LRU eviction) skips the program instead of comparing a throw", async () => {
    const lru = { mapType: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_ZERO_SEED };
    const overfull: Program = { spec: lru, possibleCpus: 2, ops: Array.from({ length: 9 }, (_, i): Op => ({ kind: "update", key: k(i), value: v(i), flags: 0 })) };
    expect(() => runProgram(createModelDriver(), overfull)).toThrow(NotModelledError);
  });

  it("an mmap line writes a value that ends the mapping and reads it back; a kept mapping is unmapped at the end; the model covers no mmap", () => {
    const arr = { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, mapFlags: BPF_F_MMAPABLE };
    const sim = createSimDriver({ possibleCpus: 1 });
    const unmapped: number[] = [];
    const d = wrapDriver(sim, { munmap: (h) => (unmapped.push(h), sim.munmap(h)) });
    const p: Program = { spec: arr, possibleCpus: 1, ops: [
      // Value 1 is the last 8 of the mapping's 16 bytes: the write fits exactly.
      { kind: "mmap", offset: 0, length: 16, writable: true, at: 8, value: new Uint8Array(8).fill(7), keep: true },
      { kind: "lookup", key: k(1), flags: 0 },
    ] };
    const lines = runProgram(d, p).lines;
    // The value's first byte picks the atomic op (7: compareExchange), its second whether it
    // expects the operand (odd: one more, so nothing is written).
    expect(lines.find((l) => l.startsWith("mmap"))).toMatch(/^mmap ok, write ok, atomic compareExchange u64 was 707070707070707, read ok /);
    expect(lines.some((l) => l.includes("0707070707070707"))).toBe(true);
    expect(unmapped).toHaveLength(1);
    expect(() => runProgram(createModelDriver(), p)).toThrow(NotModelledError);
  });

  it("an mmap line's atomic op comes from the written value: add of 1 to a u64 of 1, a u32 for a 4-byte value, EACCES read-only", () => {
    const sim = createSimDriver({ possibleCpus: 1 });
    const run = (valueSize: number, writable: boolean, value: Uint8Array) => runProgram(sim, {
      spec: { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize, maxEntries: 2, mapFlags: BPF_F_MMAPABLE }, possibleCpus: 1,
      ops: [{ kind: "mmap", offset: 0, length: 16, writable, at: 8, value, keep: false }, { kind: "lookup", key: k(1), flags: 0 }],
    }).lines.filter((l) => !l.startsWith("create") && !l.startsWith("info")); // the mmap op's line, then the lookup's
    const [add, after] = run(8, true, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
    expect(add).toMatch(/^mmap ok, write ok, atomic add u64 was 1, read ok /);
    expect(after).toContain("0200000000000000");
    expect(run(4, true, Uint8Array.of(6, 0, 0, 0))[0]).toMatch(/, atomic exchange u32 was 6, /);
    expect(run(8, false, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0))[0]).toMatch(/^mmap ok, atomic add u64 EACCES, read ok /);
    expect(run(2, true, Uint8Array.of(1, 0))[0]).not.toContain("atomic");
  });
});
