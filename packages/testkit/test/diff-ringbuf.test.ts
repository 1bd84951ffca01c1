// Ring buffers in the differential runner: the program arbitrary draws RINGBUF specs and ring ops
// (sizes at the room's edge and the ring's, bad flags, reader steps of every kind) without
// changing the other programs a seed draws; on the kernel and the simulator a hand-written ring
// program gives the same trace, which shows the room rule, the wrap and the consumer position
// past the producer; random ring programs agree; and a simulator whose room rule is off by 8 is
// caught and shrunk to a one-op program.
import { BPF_MAP_TYPE_RINGBUF, Errno } from "@bpfkit/core";
import { type SimDriver, createSimDriver } from "@bpfkit/driver-wasm-sim";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FD_VALUE_MAP_TYPES, SPEC_MAP_TYPES } from "../src/arbitraries/map-spec.js";
import { type Op, type Program, formatProgram, programArb } from "../src/arbitraries/program.js";
import { RING_MUTATIONS, RING_SIZES, type RingOp, isRingOp } from "../src/arbitraries/ring-ops.js";
import { firstDivergence } from "../src/diff/compare.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { runProgram } from "../src/diff/run-program.js";
import { kernelUnderTest } from "../src/drivers.js";

const RING_ONLY = { possibleCpus: 2, types: [BPF_MAP_TYPE_RINGBUF] };
const MIXED_TYPES = [...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES];
const isRing = (p: Program) => p.spec.mapType === BPF_MAP_TYPE_RINGBUF;
const ringOps = (p: Program) => p.ops.filter((o): o is RingOp => isRingOp(o));

describe("programArb draws ring buffer programs", () => {
  it("property: with types [RINGBUF], every program is a ring of 4 to 16 KiB (key 0, value 0) whose ops are the ring's or refused element calls", () => {
    fc.assert(fc.property(programArb(RING_ONLY), (p) => {
      expect(p.spec).toMatchObject({ mapType: BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0 });
      expect(RING_SIZES).toContain(p.spec.maxEntries);
      expect(p.spec.maxEntries).toBeLessThanOrEqual(64 << 10);
      for (const op of p.ops) {
        expect(isRingOp(op) || ["peek", "push", "delete", "nextKey", "pop", "lookupBatch", "updateBatch", "deleteBatch", "freeze", "reopen", "mmap"].includes(op.kind)).toBe(true);
        // Keys and values of element calls are empty: a ring has neither.
        if (op.kind === "push" || op.kind === "delete") expect((op.kind === "push" ? op.value : op.key).length).toBe(0);
        if (op.kind === "mmap") expect(op.offset + op.length).toBeLessThanOrEqual(2 * 4096 + 2 * p.spec.maxEntries + 4096);
      }
    }), { numRuns: 300, seed: 11 });
  });

  it("over a few hundred programs, every op kind, size kind, bad flag and reader step shows up", () => {
    const ops = fc.sample(programArb(RING_ONLY), { numRuns: 300, seed: 12 }).flatMap((p) => [...p.ops]);
    const rings = ops.filter((o): o is RingOp => isRingOp(o));
    const seen = new Set<string>();
    for (const o of rings) {
      seen.add(o.kind);
      if (o.kind === "rbOutput" || o.kind === "rbReserve") {
        seen.add(`${o.kind} ${o.size.of}`);
        if ((o.flags & ~3) !== 0) seen.add(`${o.kind} bad flags`);
        if (o.kind === "rbReserve") seen.add(o.discard ? "discard" : "submit");
      }
      if (o.kind === "rbQuery" && o.flags > 3) seen.add("query bad flag");
      if (o.kind === "rbPair" && o.first.of === "room" && o.second.of === "room") seen.add("pair at the room");
      if (o.kind === "rbConsume") seen.add(`consume ${o.to.by}${o.to.by === "producer" && o.to.lessRing ? " less a ring" : ""}`);
    }
    for (const o of ops) if (!isRingOp(o)) seen.add(o.kind);
    expect([...seen].sort()).toEqual([
      "consume at", "consume producer", "consume producer less a ring", "consume records", "delete", "deleteBatch", "discard", "freeze",
      "lookupBatch", "mmap", "nextKey", "pair at the room", "peek", "pop", "push", "query bad flag", "rbConsume", "rbOutput", "rbOutput bad flags", "rbOutput bytes", "rbOutput ring",
      "rbOutput room", "rbPair", "rbQuery", "rbReserve", "rbReserve bad flags", "rbReserve bytes", "rbReserve ring", "rbReserve room", "reopen",
      "submit", "updateBatch",
    ]);
  });

  it("with invalid: 'always', every ring spec breaks one create rule", () => {
    const specs = fc.sample(programArb({ ...RING_ONLY, invalid: "always" }), { numRuns: 200, seed: 13 }).map((p) => p.spec);
    const sizesOk = (s: Program["spec"]) => RING_SIZES.includes(s.maxEntries) && s.keySize === 0 && s.valueSize === 0 && (s.mapFlags & ~4) === 0;
    expect(specs.filter(sizesOk)).toEqual([]);
    expect(new Set(specs.map((s) => `${s.maxEntries}/${s.keySize}/${s.valueSize}/${s.mapFlags & ~4}`)).size).toBeGreaterThanOrEqual(RING_MUTATIONS.length - 2);
  });

  it("property: among other types a ring stands in for about one program in eight, and every other program is the one the seed drew without rings", () => {
    const n = 400;
    const without = fc.sample(programArb({ possibleCpus: 2, types: MIXED_TYPES, wide: true }), { numRuns: n, seed: 14 });
    const withRings = fc.sample(programArb({ possibleCpus: 2, types: [...MIXED_TYPES, BPF_MAP_TYPE_RINGBUF], wide: true }), { numRuns: n, seed: 14 });
    let rings = 0, compared = 0;
    withRings.forEach((p, i) => {
      if (isRing(p)) rings++;
      // The BTF value draw comes after the ring's, so whether a program gets one may differ.
      else if (p.spec.btf === undefined && without[i]!.spec.btf === undefined) {
        expect(formatProgram(p)).toBe(formatProgram(without[i]!));
        compared++;
      }
    });
    expect(compared).toBeGreaterThan(n / 2);
    expect(rings).toBeGreaterThan(n / 16);
    expect(rings).toBeLessThan(n / 5);
  });
});

/** A 4 KiB ring and `ops`. */
const ring = (...ops: Op[]): Program => ({ spec: { mapType: BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 }, possibleCpus: 2, ops });

const kernel = kernelUnderTest();
describe.runIf(kernel.unavailable === undefined)("ring buffer programs on the simulator and the kernel", () => {
  it("a hand-written program: the ring filled to its last byte, a record that wraps, the consumer past the producer", () => {
    const p = ring(
      { kind: "rbReserve", size: { of: "room", d: 0 }, fill: 1, flags: 0, discard: false },
      { kind: "rbOutput", size: { of: "bytes", n: 0 }, fill: 0, flags: 0 },
      { kind: "rbConsume", to: { by: "records", n: 1 } },
      { kind: "rbOutput", size: { of: "bytes", n: 12 }, fill: 2, flags: 0 },
      { kind: "rbOutput", size: { of: "bytes", n: 1 }, fill: 3, flags: 4 },
      { kind: "rbQuery", flags: 0 },
      { kind: "rbConsume", to: { by: "producer", d: 8, lessRing: false } },
      { kind: "rbOutput", size: { of: "bytes", n: 1 }, fill: 5, flags: 0 },
      { kind: "rbConsume", to: { by: "producer", d: 4096, lessRing: false } },
      { kind: "rbReserve", size: { of: "bytes", n: 0 }, fill: 0, flags: 0, discard: true },
      { kind: "rbQuery", flags: 0 },
      { kind: "rbConsume", to: { by: "producer", d: 16, lessRing: true } },
      { kind: "rbOutput", size: { of: "room", d: 0 }, fill: 4, flags: 0 },
      { kind: "rbOutput", size: { of: "room", d: 0 }, fill: 4, flags: 0 },
      { kind: "freeze" },
      { kind: "rbConsume", to: { by: "records", n: 1 } },
    );
    const k = kernel.create();
    const sim = createSimDriver({ possibleCpus: k.possibleCpus });
    const a = runProgram(sim, p), b = runProgram(k, p);
    expect(firstDivergence(p, a, b)).toBeUndefined();
    const line = (i: number) => a.lines[i + 1]!;
    expect(a.lines[1]).toMatch(/; ring mapped ok$/);
    // 4080 bytes: the largest sample of a 4 KiB ring, and then not even an empty record fits.
    expect(line(1)).toMatch(/^ok 4080 bytes; cons 0 prod 4088 pending 0; wrote 0:len 4080 pg_off 3 /);
    expect(line(2)).toBe("EAGAIN 0 bytes; cons 0 prod 4088 pending 4088");
    expect(line(3)).toBe("to 4088: write ok, munmap ok; cons 4088 prod 4088 pending 4088; records []");
    // The header at 4088, its sample read on into the second copy of the data.
    expect(line(4)).toMatch(/^ok 12 bytes; cons 4088 prod 4112 pending 4088; wrote 4088:len 12 pg_off 3 [0-9a-f]{24}$/);
    expect(line(5)).toBe("EINVAL 1 bytes; cons 4088 prod 4112 pending 4088");
    expect(line(6)).toBe("24");
    // Past the producer: the room check is new_prod - cons (u64), so a record that ends at or
    // past the consumer position still fits; one that ends before it never does.
    expect(line(7)).toBe("to 4120: write ok, munmap ok; cons 4120 prod 4112 pending 4088; records [(consumer not within a ring behind the producer)]");
    expect(line(8)).toMatch(/^ok 1 bytes; cons 4120 prod 4128 pending 4112; wrote 4112:len 1 pg_off 3 [0-9a-f]{2}$/);
    expect(line(9)).toMatch(/^to 8224: .*; cons 8224 prod 4128 /);
    expect(line(10)).toMatch(/^EAGAIN 0 bytes; cons 8224 prod 4128 /);
    expect(line(11)).toBe(String((1n << 64n) - 4096n));
    // A ring less 16 bytes behind: room for one empty record, and then for none.
    expect(line(12)).toMatch(/^to 48: write ok, munmap ok; cons 48 prod 4128 /);
    expect(line(13)).toMatch(/^ok 0 bytes; cons 48 prod 4136 pending \d+; wrote 4128:len 0 pg_off 3 $/);
    expect(line(14)).toMatch(/^EAGAIN 0 bytes; cons 48 prod 4136 /);
    expect(line(16)).toMatch(/^consumer page EPERM; /);
    expect(a.lines.at(-1)).toMatch(/^final \[\] ENOTSUPP; ring cons 48 prod 4136 pending \d+; .*mapped twice alike$/);
  });

  it("property: random ring programs (valid and broken specs) agree", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs: 200, seed: 0x5201, program: { types: [BPF_MAP_TYPE_RINGBUF], invalid: "sometimes" } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    expect(s.skipped).toBe(0);
  });

  it("by default (no model), sim against kernel runs ring programs among the others", async () => {
    let rings = 0;
    const counting = proxySim((t, prop) => (prop === "mapCreate" ? (a: Parameters<SimDriver["mapCreate"]>[0]) => {
      if (a.mapType === BPF_MAP_TYPE_RINGBUF) rings++;
      return t.mapCreate(a);
    } : undefined));
    const s = await runDifferential({ left: () => counting, right: "kernel", runs: 80, seed: 0x5202 });
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    expect(s.skipped).toBe(0);
    expect(rings).toBeGreaterThan(0);
  });

  it("catches a simulator whose room rule is off by 8 (it refuses a record that fits exactly) and shrinks it to one op", async () => {
    const s = await runDifferential({ left: () => offBy8(), right: "kernel", runs: 200, seed: 0x5203, program: { types: [BPF_MAP_TYPE_RINGBUF] } });
    expect(s.ok).toBe(false);
    const c = s.divergences[0]!;
    expect(c.divergence.what).toMatch(/^op \d+: ringbuf (output|reserve)/);
    expect(c.divergence.left).toMatch(/^EAGAIN/);
    expect(c.divergence.right).toMatch(/^ok/);
    expect(ringOps(c.program).length).toBeLessThanOrEqual(3);
  });
});
if (kernel.unavailable !== undefined) console.log(`ring buffer differential runs skipped: ${kernel.unavailable}`);

/**
 * A simulator whose datapath refuses a record when it would leave fewer than 8 bytes free (the
 * kernel's rule leaves at least 1: newProd - cons <= size - 1), found from query's positions.
 */
function offBy8(): SimDriver {
  return proxySim((t, prop) => {
    if (prop !== "datapath") return undefined;
    const dp = t.datapath;
    const tooFull = (ref: Parameters<typeof dp.ringbufQuery>[0], size: number) => {
      const rec = BigInt((size + 8 + 7) & ~7);
      return dp.ringbufQuery(ref, 0) + rec > dp.ringbufQuery(ref, 1) - 9n;
    };
    return new Proxy(dp, {
      get: (d, p) => {
        // Output's bad flags stay EINVAL: the kernel checks them before the room.
        if (p === "ringbufOutput") return (ref: Parameters<typeof dp.ringbufOutput>[0], data: Uint8Array, flags?: number) => (tooFull(ref, data.length) && (flags ?? 0) <= 3 ? -Errno.EAGAIN : d.ringbufOutput(ref, data, flags));
        if (p === "ringbufReserve") return (ref: Parameters<typeof dp.ringbufReserve>[0], size: number) => (tooFull(ref, size) ? -Errno.EAGAIN : d.ringbufReserve(ref, size));
        const v = Reflect.get(d, p, d);
        return typeof v === "function" ? v.bind(d) : v;
      },
    });
  });
}

let cpus: number | undefined;
/** A simulator (with the kernel's CPUs) seen through `patch`: what it returns for a property, else the simulator's own. */
function proxySim(patch: (sim: SimDriver, prop: string | symbol) => unknown): SimDriver {
  cpus ??= kernel.create().possibleCpus;
  const sim = createSimDriver({ possibleCpus: cpus });
  return new Proxy(sim, {
    get: (t, prop) => {
      const patched = patch(t, prop);
      if (patched !== undefined) return patched;
      const v = Reflect.get(t, prop, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}
