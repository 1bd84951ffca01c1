// USER_RINGBUF and PERF_EVENT_ARRAY programs in the differential runner: the program arbitrary
// draws them (every op kind, malformed records, bad flags) without changing the other programs
// a seed draws; the model, which has neither, is never given them; on the kernel and the
// simulator hand-written programs give the same trace, which shows a record wrapping round the
// ring's end, a BUSY record holding a drain up, E2BIG, a full perf ring losing samples and the
// PERF_RECORD_LOST after, a read-only perf ring's records still whole once it wrapped; random
// programs of both kinds agree; and planted simulator mutations (a drain handing its callback
// samples a byte short, BPF_F_CURRENT_CPU taken as slot 0, an overwritten ring keeping only the
// newer half of its data) are caught.
import { BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF } from "@bpfkit/core";
import { type SimDriver, createSimDriver } from "@bpfkit/driver-wasm-sim";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FD_VALUE_MAP_TYPES, SPEC_MAP_TYPES } from "../src/arbitraries/map-spec.js";
import { isPerfOp } from "../src/arbitraries/perf-ops.js";
import { type Op, type Program, formatProgram, programArb } from "../src/arbitraries/program.js";
import { RING_SIZES } from "../src/arbitraries/ring-ops.js";
import { isUserRingOp } from "../src/arbitraries/user-ring-ops.js";
import { firstDivergence } from "../src/diff/compare.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { runProgram } from "../src/diff/run-program.js";
import { kernelUnderTest } from "../src/drivers.js";
import { NotModelledError } from "../src/model/create-check.js";
import { createModelDriver } from "../src/model/model-driver.js";

const USER_ONLY = { possibleCpus: 2, types: [BPF_MAP_TYPE_USER_RINGBUF] };
const PERF_ONLY = { possibleCpus: 2, types: [BPF_MAP_TYPE_PERF_EVENT_ARRAY] };
const MIXED = [...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES, BPF_MAP_TYPE_RINGBUF];
const isEvents = (p: Program) => p.spec.mapType === BPF_MAP_TYPE_USER_RINGBUF || p.spec.mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY;
const FILE_OPS = ["peek", "push", "delete", "nextKey", "pop", "lookupBatch", "updateBatch", "deleteBatch", "freeze", "reopen", "mmap", "lookup"];

describe("programArb draws USER_RINGBUF and PERF_EVENT_ARRAY programs", () => {
  it("with types [USER_RINGBUF]: rings of 4 to 16 KiB, and over 300 programs every writer op, record kind, malformed header and drain flag", () => {
    const ps = fc.sample(programArb(USER_ONLY), { numRuns: 300, seed: 21 });
    const seen = new Set<string>();
    for (const p of ps) {
      expect(p.spec).toMatchObject({ mapType: BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, mapFlags: expect.any(Number) });
      expect(RING_SIZES).toContain(p.spec.maxEntries);
      for (const op of p.ops) {
        expect(isUserRingOp(op) || FILE_OPS.includes(op.kind)).toBe(true);
        seen.add(op.kind);
        if (op.kind === "urWrite") for (const r of op.records) seen.add(`${r.state} ${r.header} ${r.size.of}${r.stop ? " stop" : ""}`.replace(/ ok /, " "));
        if (op.kind === "urDrain") seen.add(op.flags === 0 ? "drain" : op.flags <= 3 ? "drain wake-up flag" : "drain bad flags");
        if (op.kind === "urWrite" && op.extra !== 0) seen.add("producer off 8");
      }
    }
    for (const want of ["urReserve", "urCommit", "urWrite", "urProducer", "urDrain", "urPoll", "mmap", "freeze", "reopen",
      "sample bytes", "sample room", "sample ring", "discard bytes", "busy bytes", "sample bytes stop",
      "sample long bytes", "sample huge bytes", "sample bothBits bytes", "drain", "drain wake-up flag", "drain bad flags", "producer off 8"]) {
      expect(seen, want).toContain(want);
    }
  });

  it("with types [PERF_EVENT_ARRAY]: 4-byte slots, mostly an event per CPU set up first, and every op kind and output target", () => {
    const ps = fc.sample(programArb(PERF_ONLY), { numRuns: 200, seed: 22 });
    const seen = new Set<string>();
    let setUp = 0;
    for (const p of ps) {
      expect(p.spec).toMatchObject({ mapType: BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4 });
      if (p.ops[0]?.kind === "peOpen" && p.ops[1]?.kind === "peSet") setUp++;
      for (const op of p.ops) {
        expect(isPerfOp(op) || FILE_OPS.includes(op.kind)).toBe(true);
        seen.add(op.kind);
        if (op.kind === "peOutput") seen.add(`to ${typeof op.to === "number" ? "slot" : op.to}`);
        if (op.kind === "peOpen") seen.add(`mapped ${op.mapping}${op.cpu >= 2 ? ", cpu past them" : ""}`);
      }
    }
    expect([...seen].sort()).toEqual([
      "delete", "freeze", "lookup", "mapped none", "mapped none, cpu past them", "mapped ro", "mapped ro, cpu past them", "mapped rw", "mapped rw, cpu past them", "peClose", "peOpen", "peOutput", "pePoll",
      "peRead", "peSet", "reopen", "to badFlags", "to current", "to slot",
    ]);
    expect(setUp).toBeGreaterThan(ps.length * 0.7);
  });

  it("property: among other types they stand in for about one program in ten, and every other program is the one the seed drew without them", () => {
    const n = 400;
    const without = fc.sample(programArb({ possibleCpus: 2, types: MIXED, wide: true }), { numRuns: n, seed: 23 });
    const withEvents = fc.sample(programArb({ possibleCpus: 2, types: [...MIXED, BPF_MAP_TYPE_USER_RINGBUF, BPF_MAP_TYPE_PERF_EVENT_ARRAY], wide: true }), { numRuns: n, seed: 23 });
    let events = 0;
    withEvents.forEach((p, i) => {
      if (isEvents(p)) events++;
      // Drawn after everything else: rings, wide and BTF programs included, the same program.
      else expect(formatProgram(p)).toBe(formatProgram(without[i]!));
    });
    expect(events).toBeGreaterThan(n / 20);
    expect(events).toBeLessThan(n / 6);
  });

  it("the model, which has neither, answers NotModelledError before creating anything, and the runner never gives it them", async () => {
    const [user] = fc.sample(programArb(USER_ONLY), { numRuns: 1, seed: 24 });
    const [perf] = fc.sample(programArb(PERF_ONLY), { numRuns: 1, seed: 24 });
    for (const p of [user!, perf!]) expect(() => runProgram(createModelDriver({ possibleCpus: 2 }), p)).toThrow(NotModelledError);
    const types = new Set<number>();
    const counting = proxySim(2, (t, prop) => (prop === "mapCreate" ? (a: Parameters<SimDriver["mapCreate"]>[0]) => {
      types.add(a.mapType);
      return t.mapCreate(a);
    } : undefined));
    const s = await runDifferential({ left: "model", right: () => counting, runs: 100, seed: 25 });
    expect(s.ok).toBe(true);
    expect(types.has(BPF_MAP_TYPE_USER_RINGBUF) || types.has(BPF_MAP_TYPE_PERF_EVENT_ARRAY)).toBe(false);
  });
});

describe("planted simulator mutations are caught (against the simulator itself, which the kernel runs below hold to)", () => {
  it("a drain that hands its callback every sample over 8 bytes one byte short: shrunk to a write and a drain", async () => {
    const short = () => proxySim(2, (t, prop) => {
      if (prop !== "datapath") return undefined;
      return patched(t.datapath, "userRingbufDrain", (real) => (ref: unknown, cb: (s: Uint8Array) => number | void, flags?: number) =>
        real(ref, (s: Uint8Array) => cb(s.length > 8 ? s.subarray(0, s.length - 1) : s), flags));
    });
    const s = await runDifferential({ left: short, right: "sim", runs: 200, seed: 26, program: { types: [BPF_MAP_TYPE_USER_RINGBUF] } });
    expect(s.ok).toBe(false);
    const c = s.divergences[0]!;
    expect(c.divergence.what).toMatch(/^op \d+: bpf_user_ringbuf_drain/);
    expect(c.program.ops.filter(isUserRingOp).length).toBeLessThanOrEqual(3);
  });

  it("a perf output that takes BPF_F_CURRENT_CPU as slot 0 whatever the CPU: EOPNOTSUPP where the kernel writes", async () => {
    const slot0 = () => proxySim(2, (t, prop) => {
      if (prop !== "datapath") return undefined;
      return patched(t.datapath, "perfEventOutput", (real) => (ref: unknown, data: Uint8Array, flags?: number, cpu?: number) =>
        real(ref, data, flags === 0xffff_ffff ? 0 : flags, cpu));
    });
    const s = await runDifferential({ left: slot0, right: "sim", runs: 100, seed: 27, program: { types: [BPF_MAP_TYPE_PERF_EVENT_ARRAY] } });
    expect(s.ok).toBe(false);
    const c = s.divergences[0]!;
    expect(c.divergence.what).toMatch(/^op \d+: bpf_perf_event_output of \d+ bytes \(fill [0-9a-f]+\) on cpu 1 to its CPU's slot$/);
    expect(c.program.ops.filter(isPerfOp).length).toBeLessThanOrEqual(6);
  });

  it("a read-only (overwritten) ring that keeps only the newer half of its data: each output's records read right, the final line's whole records do not", async () => {
    const PAGE = 4096;
    const u64At = (t: SimDriver, h: number, at: number) => {
      const b = new Uint8Array(8);
      t.mmapRead(h, at, b);
      return Number(new DataView(b.buffer).getBigUint64(0, true));
    };
    const halved = () => {
      const readOnly = new Set<number>();
      return proxySim(2, (t, prop) => {
        if (prop === "mapMmap") {
          return (fd: number, length: number, writable: boolean, offset?: number) => {
            const h = t.mapMmap(fd, length, writable, offset);
            if (h >= 0 && !writable) readOnly.add(h);
            return h;
          };
        }
        if (prop !== "mmapRead") return undefined;
        return (h: number, offset: number, dst: Uint8Array) => {
          const r = t.mmapRead(h, offset, dst);
          if (r !== 0 || !readOnly.has(h) || offset < PAGE) return r;
          const head = u64At(t, h, 1024), size = u64At(t, h, 1048);
          dst.forEach((_, i) => {
            // The byte's newest position: data_head − size ≤ it < data_head.
            const at = head - 1 - ((head - 1 - (offset - PAGE + i)) % size + size) % size;
            if (at < head - size / 2) dst[i] = 0;
          });
          return 0;
        };
      });
    };
    const p = program({ mapType: BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 },
      { kind: "peOpen", cpu: 0, wakeup: 0, dataPages: 1, mapping: "ro" },
      { kind: "peSet", slot: 0, event: 0 },
      { kind: "peOutput", cpu: 0, to: "current", size: 2000, fill: 1 },
      { kind: "peOutput", cpu: 0, to: "current", size: 1000, fill: 2 },
    );
    const a = runProgram(halved(), p), b = runProgram(createSimDriver({ possibleCpus: 2 }), p);
    await Promise.all([a.settled, b.settled]);
    const d = firstDivergence(p, a, b);
    expect(d?.what).toBe("final walk with values");
    expect(d?.left).toMatch(/events \[event 0 head 3032 tail 0 \(overwritten\) \[0:type 0 misc 0 size 0\]\]$/);
  });
});

const kernel = kernelUnderTest();
describe.runIf(kernel.unavailable === undefined)("USER_RINGBUF and PERF_EVENT_ARRAY programs on the simulator and the kernel", () => {
  /** Both drivers' traces of `p`, which must agree; the simulator's lines. */
  async function both(p: Program): Promise<string[]> {
    const k = kernel.create();
    const sim = createSimDriver({ possibleCpus: k.possibleCpus });
    const a = runProgram(sim, p), b = runProgram(k, p);
    await Promise.all([a.settled, b.settled]);
    expect(firstDivergence(p, a, b)).toBeUndefined();
    return a.lines;
  }

  it("a hand-written user ring: a record across the data's end, a BUSY reservation holding the drain up, a header past the ring, the writer's room and polls", async () => {
    const room0 = { of: "room" as const, d: 0 };
    const rec = (n: number, extra: Partial<{ state: "sample" | "discard" | "busy"; header: "ok" | "huge" }> = {}) =>
      ({ size: { of: "bytes" as const, n }, state: extra.state ?? "sample", header: extra.header ?? "ok", stop: false, fill: n & 0xff });
    const lines = await both(program({ mapType: BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 },
      { kind: "urWrite", records: [rec(4072)], extra: 0 },
      { kind: "urDrain", flags: 0 },
      { kind: "urWrite", records: [rec(24)], extra: 0 },
      { kind: "urReserve", size: { of: "bytes", n: 16 }, fill: 1 },
      { kind: "urWrite", records: [rec(8), rec(12, { state: "discard" })], extra: 0 },
      { kind: "urDrain", flags: 0 },
      { kind: "urCommit", which: 0, discard: false },
      { kind: "urDrain", flags: 2 },
      { kind: "urReserve", size: room0, fill: 2 },
      { kind: "urReserve", size: { of: "bytes", n: 0 }, fill: 3 },
      { kind: "urPoll" },
      { kind: "urCommit", which: 0, discard: true },
      { kind: "urDrain", flags: 0 },
      { kind: "urPoll" },
      { kind: "urWrite", records: [rec(8, { header: "huge" })], extra: 0 },
      { kind: "urDrain", flags: 0 },
      { kind: "urProducer", from: "producer", d: 65536 },
      { kind: "urDrain", flags: 0 },
    ));
    const op = (i: number) => lines[i + 1]!;
    expect(lines[1]).toMatch(/; ring mapped ok, writer mapped$/);
    expect(op(2)).toMatch(/^1 count 1 sum 1; samples \[4072:1:[0-9a-f]+\]; cons 4080 prod 4080 /);
    // The sample from 4088 runs on past the data's end: its last u64 is what the writer put there.
    expect(op(3)).toMatch(/^\[24 ok\]; cons 4080 prod 4112 .*wrote \[4080:len 24 pg_off 0 0200000000000000/);
    expect(op(4)).toMatch(/^held 16 bytes at 4112; .*wrote \[4112:len 16 BUSY/);
    // The BUSY record stops the drain before it: only the wrapped one.
    expect(op(6)).toMatch(/^1 count 1 sum 2; samples \[24:2:[0-9a-f]+\]; cons 4112 /);
    // Committed, it and the two after it go; the discarded one is passed over, not called back.
    expect(op(8)).toMatch(/^2 count 2 sum 7; samples \[16:3:[0-9a-f]+ 8:4:4\]; cons 4176 prod 4176 /);
    // libbpf's room: a record may take every free byte.
    expect(op(9)).toMatch(/^held 4088 bytes at 4176; /);
    expect(op(10)).toMatch(/^0 bytes: ENOSPC; /);
    expect(op(11)).toMatch(/^poll 0; /);
    expect(op(13)).toMatch(/^0 count 0 sum 0; samples \[\]; cons 8272 prod 8272 /);
    expect(op(14)).toMatch(/^poll 1; /);
    // A header of the ring's length: first past the producer position (EINVAL), then, the
    // producer far ahead, past the ring (E2BIG), as __bpf_user_ringbuf_peek checks them.
    expect(op(16)).toMatch(/^EINVAL count 0 /);
    expect(op(18)).toMatch(/^E2BIG count 0 sum 0; samples \[\]; cons 8272 prod 73824 /);
  });

  it("a hand-written perf event array: a ring filled until outputs are lost, a reader's step, then the PERF_RECORD_LOST and the sample; polls", async () => {
    const out = (size: number, cpu = 0): Op => ({ kind: "peOutput", cpu, to: "current", size, fill: size & 0xff });
    const lines = await both(program({ mapType: BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 },
      { kind: "peOpen", cpu: 0, wakeup: 2, dataPages: 1, mapping: "rw" },
      { kind: "peSet", slot: 0, event: 0 },
      { kind: "pePoll", event: 0 },
      out(2000), out(2000), out(13), out(500),
      { kind: "pePoll", event: 0 },
      { kind: "peRead", event: 0, records: 1 },
      out(13),
      { kind: "peRead", event: 0, records: 1000 },
      out(1, 1),
      { kind: "peSet", slot: 1, event: 0 },
      out(1, 1),
    ));
    const op = (i: number) => lines[i + 1]!;
    expect(op(1)).toBe("open ok, mmap ok; head 0 tail 0 data_offset 4096 data_size 4096");
    expect(op(3)).toBe("poll 0");
    expect(op(4)).toMatch(/^ok; event 0 head 2016 \[0:type 9 misc 1 size 2016 raw 2004 [0-9a-f]+…\(2000 bytes, fnv [0-9a-f]{8}\)\]$/);
    // A 13-byte sample: its raw size counts the padding to 8 (20), which the kernel never writes.
    expect(op(6)).toMatch(/^ok; event 0 head 4064 \[4032:type 9 misc 1 size 32 raw 20 [0-9a-f]{26}\]$/);
    // 31 bytes left (CIRC_SPACE leaves one): the 500-byte sample is lost.
    expect(op(7)).toBe("ENOSPC");
    expect(op(8)).toBe("poll 1");
    expect(op(9)).toBe("tail 0 to 2016: write ok; head 4064 tail 2016");
    // The loss comes first, then the sample, wrapped round the ring's end.
    expect(op(10)).toMatch(/^ok; event 0 head 4120 \[4064:type 2 misc 0 size 24 lost 1, 4088:type 9 misc 1 size 32 raw 20 [0-9a-f]{26}\]$/);
    // A program on CPU 1 whose slot holds CPU 0's event.
    expect(op(12)).toBe("ENOENT");
    expect(op(14)).toBe("EOPNOTSUPP");
  });

  it("a hand-written read-only ring: outputs overwrite the oldest record, and the final line lists the records still whole, never padding", async () => {
    const out = (size: number): Op => ({ kind: "peOutput", cpu: 0, to: "current", size, fill: size & 0xff });
    const lines = await both(program({ mapType: BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 },
      { kind: "peOpen", cpu: 0, wakeup: 2, dataPages: 1, mapping: "ro" },
      { kind: "peSet", slot: 0, event: 0 },
      out(2000), out(13), out(2000), out(500),
    ));
    // 2016 + 32 + 2016 bytes, then 512 that run on over the first record's start: from 4576 − 4096 = 480 on, the 13-byte
    // sample's record at 2016 is the oldest whole one. Its padding (raw 20) is never shown.
    expect(lines.at(-1)).toMatch(new RegExp("events \\[event 0 head 4576 tail 0 \\(overwritten\\) \\[2016:type 9 misc 1 size 32 raw 20 [0-9a-f]{26}, " +
      "2048:type 9 misc 1 size 2016 raw 2004 [0-9a-f]+…\\(2000 bytes, fnv [0-9a-f]{8}\\), 4064:type 9 misc 1 size 512 raw 500 [0-9a-f]{1000}\\]\\]$"));
  });

  it("property: random user ring programs (valid and broken specs) agree", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs: 100, seed: 0x5301, program: { types: [BPF_MAP_TYPE_USER_RINGBUF], invalid: "sometimes" } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    expect(s.skipped).toBe(0);
  });

  it("property: random perf event array programs (valid and broken specs) agree", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs: 30, seed: 0x5302, program: { types: [BPF_MAP_TYPE_PERF_EVENT_ARRAY], invalid: "sometimes" } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    expect(s.skipped).toBe(0);
  }, 30_000);

  it("by default (no model), sim against kernel runs both kinds among the others", async () => {
    const counts = new Map<number, number>();
    const counting = proxySim(kernel.create().possibleCpus, (t, prop) => (prop === "mapCreate" ? (a: Parameters<SimDriver["mapCreate"]>[0]) => {
      counts.set(a.mapType, (counts.get(a.mapType) ?? 0) + 1);
      return t.mapCreate(a);
    } : undefined));
    const s = await runDifferential({ left: () => counting, right: "kernel", runs: 60, seed: 0x5303 });
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    expect(counts.get(BPF_MAP_TYPE_USER_RINGBUF)).toBeGreaterThan(0);
    expect(counts.get(BPF_MAP_TYPE_PERF_EVENT_ARRAY)).toBeGreaterThan(0);
  }, 30_000);
});
if (kernel.unavailable !== undefined) console.log(`USER_RINGBUF and PERF_EVENT_ARRAY differential runs skipped: ${kernel.unavailable}`);

function program(spec: Program["spec"], ...ops: Op[]): Program {
  return { spec, possibleCpus: 2, ops };
}

/** `obj` with its method `name` replaced by what `make` builds from the real one. */
function patched<T extends object>(obj: T, name: string, make: (real: (...a: unknown[]) => unknown) => unknown): T {
  return new Proxy(obj, {
    get: (o, p) => {
      const v = Reflect.get(o, p, o);
      const bound = typeof v === "function" ? v.bind(o) : v;
      return p === name ? make(bound) : bound;
    },
  });
}

/** A simulator of `cpus` CPUs seen through `patch`: what it returns for a property, else the simulator's own. */
function proxySim(cpus: number, patch: (sim: SimDriver, prop: string | symbol) => unknown): SimDriver {
  const sim = createSimDriver({ possibleCpus: cpus });
  return new Proxy(sim, {
    get: (t, prop) => {
      const p = patch(t, prop);
      if (p !== undefined) return p;
      const v = Reflect.get(t, prop, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}
