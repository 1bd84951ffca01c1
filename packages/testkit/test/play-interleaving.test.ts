// playInterleaving: an interleavingArb schedule played through the simulator's hook, each step
// before the syscall its `at` names, and the hook gone when the play is disposed.
import { BPF_ANY, BPF_F_ZERO_SEED, MapType, createBpf, newDumpStats, u32, u64 } from "@bpfkit/core";
import { createSimDriver, typedDatapath } from "@bpfkit/driver-wasm-sim";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DatapathOp, type InterleavingStep, interleavingArb, playInterleaving } from "@bpfkit/testkit";

const del = (key: number): DatapathOp => ({ kind: "delete", key, cpu: 0 });

function table(keys = 8) {
  const sim = createSimDriver({ possibleCpus: 2 });
  const m = createBpf({ driver: sim }).newMap({ name: "t", type: MapType.Hash, key: u32, value: u64, maxEntries: 64, flags: BPF_F_ZERO_SEED });
  m.openOrCreate();
  for (let k = 0; k < keys; k++) m.update(k, 0n);
  return { sim, m, prog: typedDatapath(sim, m) };
}

describe("playInterleaving", () => {
  it("runs each step's ops before the syscall its `at` names, unsorted steps too, and tells apply about that call", () => {
    const { sim, m } = table();
    const ran: string[] = [];
    const steps: InterleavingStep[] = [{ at: 2, ops: [del(5)] }, { at: 0, ops: [del(1), del(2)] }, { at: 2, ops: [del(6)] }, { at: 9, ops: [del(7)] }];
    {
      using play = playInterleaving(sim, steps, (op, call) => {
        ran.push(`${op.key}@${call.at}:${call.op}:${call.key === undefined ? "-" : m.keyCodec.decode(call.key!)}`);
      });
      m.lookup(3);
      m.update(4, 1n);
      m.delete(4);
      expect(play.syscalls()).toBe(3);
      expect(play.applied()).toBe(4);
    }
    expect(ran).toEqual(["1@0:mapLookupElem:3", "2@0:mapLookupElem:3", "5@2:mapDeleteElem:4", "6@2:mapDeleteElem:4"]);
    m.lookup(3); // disposed: the step at 9 never runs, and nothing counts
    expect(ran.length).toBe(4);
  });

  it("detach removes the hook; a second detach does nothing, not even to a hook set since", () => {
    const { sim, m } = table();
    let calls = 0;
    const play = playInterleaving(sim, [{ at: 1, ops: [del(0)] }], () => calls++);
    m.lookup(0);
    play.detach();
    play.detach();
    m.lookup(0);
    expect([calls, play.syscalls()]).toEqual([0, 1]);
    let later = 0;
    sim.setInterleavingHook(() => later++);
    play.detach();
    play[Symbol.dispose]();
    m.lookup(0);
    expect(later).toBe(1);
  });

  it("an older play's detach leaves a newer play's hook running", () => {
    const { sim, m } = table();
    const a = playInterleaving(sim, [], () => {});
    let bCalls = 0;
    const b = playInterleaving(sim, [{ at: 0, ops: [del(0)] }, { at: 1, ops: [del(1)] }], () => bCalls++);
    m.lookup(0);
    a.detach();
    m.lookup(0);
    expect([bCalls, b.syscalls(), a.syscalls()]).toEqual([2, 2, 0]);
    b.detach();
    expect(sim.getInterleavingHook()).toBeNull();
  });

  it("a test's own hook is set again once the play is detached, another play's is not", () => {
    const { sim, m } = table();
    const own: string[] = [];
    const mine = (op: string) => void own.push(op);
    sim.setInterleavingHook(mine);
    {
      using _play = playInterleaving(sim, [], () => {});
      m.lookup(0);
    }
    expect(sim.getInterleavingHook()).toBe(mine);
    m.lookup(0);
    expect(own).toEqual(["mapLookupElem"]);
    const a = playInterleaving(sim, [], () => {});
    const b = playInterleaving(sim, [], () => {});
    b.detach();
    expect(sim.getInterleavingHook()).toBe(mine);
    a.detach();
    expect(sim.getInterleavingHook()).toBe(mine);
  });

  it("refuses what is not a schedule", () => {
    const { sim } = table();
    const notStep = "playInterleaving: each step must be { at: a non-negative integer, ops: DatapathOp[] }";
    for (const bad of [{ at: -1, ops: [] }, { at: 1.5, ops: [] }, { at: "2", ops: [] }, { at: 2, ops: del(1) }, { at: 2 }, null]) {
      expect(() => playInterleaving(sim, [{ at: 0, ops: [] }, bad as never], () => {}), JSON.stringify(bad)).toThrow(new TypeError(notStep));
    }
    expect(() => playInterleaving(sim, null as never, () => {})).toThrow(/steps must be an array/);
    expect(() => playInterleaving(sim, [], null as never)).toThrow(/apply must be a function/);
  });

  it("property: a batch dump delivers every key the datapath never touched, exactly once", () => {
    fc.assert(fc.property(interleavingArb({ keys: 24, possibleCpus: 2 }), (steps) => {
      const { sim, m, prog } = table(16);
      const touched = new Set<number>();
      const seen: number[] = [];
      {
        using _ = playInterleaving(sim, steps, (op, call) => {
          const key = op.recent !== undefined && call.key ? m.keyCodec.decode(call.key) : op.key;
          touched.add(key);
          if (op.kind === "delete") prog.delete(key, op.cpu);
          else if (op.kind === "update") prog.update(key, 1n, BPF_ANY, op.cpu);
          else prog.lookup(key, op.cpu);
        });
        m.dumpReliablyWithCallback((k) => seen.push(k), newDumpStats(m), { algorithm: "batch" });
      }
      for (let k = 0; k < 16; k++) if (!touched.has(k)) expect(seen.filter((s) => s === k)).toEqual([k]);
    }), { numRuns: 100, seed: 3 });
  });
});
