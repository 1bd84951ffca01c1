// The egress-policy example (examples/egress-policy/): how a service's map code is tested with
// what bpfkit gives testers. The first block runs on both drivers (a private bpffs on the
// kernel); the second is the simulator's alone: a datapath acting between two syscalls, the
// interleaving hook, fault injection, the virtual clock, per-CPU values on chosen CPUs, a memory
// limit, an unprivileged host and a fast-check property over interleavings.
import { BPF_ANY, BpfError, Errno, createBpf, u64, type Bpf, type Driver } from "@bpfkit/core";
import { type SimDriver, createSimDriver, typedDatapath } from "@bpfkit/driver-wasm-sim";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ALLOW, DENY, EgressAgent, type FlowKey, type Rule, STAT_ALLOWED, STAT_DENIED,
} from "../../../examples/egress-policy/egress.js";
import { interleavingArb } from "../src/arbitraries/interleaving.js";
import { mountPrivateBpffs } from "../src/bpffs.js";
import { driversUnderTest } from "../src/drivers.js";
import { playInterleaving } from "../src/play-interleaving.js";

const flow = (i: number): FlowKey => ({ saddr: "10.0.0.1", daddr: `192.168.0.${i}`, dport: 443, proto: 6 });
const rules = (...entries: Array<[string, number, number]>) =>
  new Map<string, Rule>(entries.map(([cidr, action, ruleId]) => [cidr, { action, ruleId }]));
const SECOND = 1_000_000_000n;

for (const d of driversUnderTest()) {
  describe.runIf(d.unavailable === undefined)(`the egress-policy example on ${d.name}`, () => {
    // A fresh host per test on the simulator; on the kernel a private bpffs, unmounted after.
    const host = (): { driver: Driver; root: string; [Symbol.dispose](): void } => {
      const driver = d.create();
      const fs = mountPrivateBpffs(driver);
      return { driver, root: fs.path, [Symbol.dispose]: () => fs.dispose() };
    };
    const agentOn = (driver: Driver, root: string): { bpf: Bpf; agent: EgressAgent } => {
      const bpf = createBpf({ driver, mapRoot: root });
      return { bpf, agent: new EgressAgent(bpf) };
    };

    it("syncs the policy trie to the wanted rules; lookups take the longest prefix", () => {
      using h = host();
      const { agent } = agentOn(h.driver, h.root);
      using _a = agent;
      expect(agent.open()).toBe(true);
      expect(agent.syncPolicy(rules(["10.0.0.0/8", ALLOW, 1], ["10.1.0.0/16", DENY, 2]))).toEqual({ added: 2, removed: 0, failed: [] });
      expect(agent.decide("10.1.2.3")).toEqual({ action: DENY, ruleId: 2 });
      expect(agent.decide("10.2.2.3")).toEqual({ action: ALLOW, ruleId: 1 });
      expect(agent.decide("11.0.0.1")).toBeUndefined();
      expect(agent.syncPolicy(rules(["10.0.0.0/8", ALLOW, 1]))).toEqual({ added: 0, removed: 1, failed: [] });
      expect(agent.decide("10.1.2.3")).toEqual({ action: ALLOW, ruleId: 1 });
    });

    it("a full trie is reported rule by rule (ENOSPC), the others written", () => {
      using h = host();
      using agent = agentOn(h.driver, h.root).agent;
      agent.open();
      const want = rules(...Array.from({ length: 130 }, (_, i): [string, number, number] => [`10.${i}.0.0/16`, ALLOW, i]));
      const r = agent.syncPolicy(want);
      expect(r.added).toBe(128);
      expect(r.failed).toEqual(["10.128.0.0/16: ENOSPC", "10.129.0.0/16: ENOSPC"]);
    });

    it("after a restart (a second Bpf on the same host) the pinned maps are opened as they were", () => {
      using h = host();
      {
        using first = agentOn(h.driver, h.root).agent;
        first.open();
        first.syncPolicy(rules(["172.16.0.0/12", DENY, 9]));
        first.setTenantPorts(7, [53, 443]);
      }
      const { bpf, agent } = agentOn(h.driver, h.root);
      {
        using again = agent;
        expect(again.open()).toBe(false);
        expect(again.decide("172.20.1.1")).toEqual({ action: DENY, ruleId: 9 });
        expect(again.syncPolicy(rules(["172.16.0.0/12", DENY, 9]))).toEqual({ added: 0, removed: 0, failed: [] });
        expect(again.tenantPorts(7)).toEqual([53, 443]);   // the outer map kept the inner one alive
      }
      expect(bpf.getOpenMaps()).toEqual([]);
    });

    it("swaps a tenant's port map in one update, and closes what it opened", () => {
      using h = host();
      const { bpf, agent } = agentOn(h.driver, h.root);
      {
        using a = agent;
        a.open();
        a.setTenantPorts(1, [443, 80]);
        a.setTenantPorts(2, [53]);
        expect(a.tenantPorts(1)).toEqual([80, 443]);
        a.setTenantPorts(1, [8443]);
        expect([a.tenantPorts(1), a.tenantPorts(2), a.tenantPorts(3)]).toEqual([[8443], [53], []]);
      }
      expect(bpf.getOpenMaps()).toEqual([]);
    });

    it("sums each counter over every CPU", () => {
      using h = host();
      using agent = agentOn(h.driver, h.root).agent;
      agent.open();
      const cpus = h.driver.possibleCpus;
      agent.stats.update(STAT_DENIED, Array.from({ length: cpus }, (_, c) => BigInt(c + 1)));
      expect(agent.totals()[STAT_DENIED]).toBe(BigInt((cpus * (cpus + 1)) / 2));
    });
  });
}

describe("the egress-policy example on the simulator alone", () => {
  // possibleCpus and seed fixed: the answers do not depend on the machine the test runs on.
  const world = (options: Parameters<typeof createSimDriver>[0] = {}): { sim: SimDriver; bpf: Bpf; agent: EgressAgent } => {
    const sim = createSimDriver({ possibleCpus: 4, seed: 7, ...options });
    const bpf = createBpf({ driver: sim });
    return { sim, bpf, agent: new EgressAgent(bpf) };
  };

  it("counters a program bumps on chosen CPUs are one slot each (typedDatapath with the one-CPU codec)", () => {
    const { sim, agent } = world();
    using _a = agent;
    agent.open();
    const prog = typedDatapath(sim, agent.stats, u64);
    expect(prog.update(STAT_ALLOWED, 5n, BPF_ANY, 0)).toBe(0);
    expect(prog.update(STAT_ALLOWED, 7n, BPF_ANY, 3)).toBe(0);
    expect(prog.update(STAT_DENIED, 1n, BPF_ANY, 2)).toBe(0);
    expect(agent.stats.lookup(STAT_ALLOWED)).toEqual([5n, 0n, 0n, 7n]);
    expect(agent.totals()).toEqual([12n, 1n, 0n, 0n]);
  });

  it("the GC judges idleness by the virtual clock", () => {
    const { sim, bpf, agent } = world();
    using _a = agent;
    agent.open();
    const prog = typedDatapath(sim, agent.flows);
    for (let i = 0; i < 10; i++) prog.update(flow(i), { lastSeen: bpf.getMtime(), packets: 1n, verdict: ALLOW });
    sim.clock.advance(60n * SECOND);
    for (let i = 5; i < 10; i++) prog.update(flow(i), { lastSeen: bpf.getMtime(), packets: 2n, verdict: ALLOW });
    expect(agent.gcFlows(30n * SECOND)).toEqual({ scanned: 10, deleted: 5, alreadyGone: 0, failed: 0 });
    expect([...agent.flows.keys()].map((k) => k.daddr).sort()).toEqual([5, 6, 7, 8, 9].map((i) => `192.168.0.${i}`));
  });

  it("a flow the datapath closes just before the GC deletes it is counted, not failed (the interleaving hook)", () => {
    const { sim, agent } = world();
    using _a = agent;
    agent.open();
    const prog = typedDatapath(sim, agent.flows);
    for (let i = 0; i < 8; i++) prog.update(flow(i), { lastSeen: 0n, packets: 1n, verdict: DENY });
    sim.setInterleavingHook((op, call) => {
      // Before each delete the GC makes, a program deletes that very key.
      if (op === "mapDeleteElem" && call.fd === agent.flows.getFd() && call.key) sim.datapath.delete({ fd: call.fd }, call.key);
    });
    try {
      expect(agent.gcFlows(SECOND)).toEqual({ scanned: 8, deleted: 0, alreadyGone: 8, failed: 0 });
    } finally {
      sim.setInterleavingHook(null);
    }
  });

  it("a full LRU table evicts, never past max_entries, keeping what a program used", () => {
    const sim = createSimDriver({ possibleCpus: 4, seed: 7 });
    using agent = new EgressAgent(createBpf({ driver: sim }), { flowEntries: 64 });
    agent.open();
    for (let i = 0; i < 64; i++) agent.flows.update(flow(i), { lastSeen: 0n, packets: 0n, verdict: 0 });
    typedDatapath(sim, agent.flows).lookup(flow(0));   // a datapath lookup marks it referenced
    agent.flows.update(flow(200), { lastSeen: 0n, packets: 0n, verdict: 0 });
    const kept = [...agent.flows.keys()].map((k) => k.daddr);
    expect(kept.length).toBeLessThanOrEqual(64);
    expect(kept).toEqual(expect.arrayContaining(["192.168.0.0", "192.168.0.200"]));
  });

  it("an EBUSY delete is reported by the sync and retried by the next one (fault injection)", () => {
    const { sim, agent } = world();
    using _a = agent;
    agent.open();
    agent.syncPolicy(rules(["10.0.0.0/8", ALLOW, 1], ["10.9.0.0/16", DENY, 3]));
    sim.faults.inject("mapDeleteElem", { errno: Errno.EBUSY, count: 1 });
    expect(agent.syncPolicy(rules(["10.0.0.0/8", ALLOW, 1])).failed).toEqual(["10.9.0.0/16: EBUSY"]);
    expect(sim.faults.pending()).toBe(0);   // the fault fired where it was meant to
    expect(agent.syncPolicy(rules(["10.0.0.0/8", ALLOW, 1])).removed).toBe(1);
  });

  it("a dump that fails comes out as a BpfError naming the map and the step", () => {
    const { sim, agent } = world();
    using _a = agent;
    agent.open();
    agent.flows.update(flow(1), { lastSeen: 0n, packets: 0n, verdict: 0 });
    sim.faults.inject("mapLookupBatch", { errno: Errno.EINTR, count: 1 });   // the GC's dump reads batches
    expect(() => agent.gcFlows(0n)).toThrow(expect.objectContaining({
      code: "EINTR", map: "egress_flows", op: "dumpReliablyWithCallback (lookup batch)",
    }));
  });

  it("a flow table too big for the host's memory is ENOMEM at open", () => {
    const sim = createSimDriver({ possibleCpus: 2, memoryLimit: 1 << 20 });
    const agent = new EgressAgent(createBpf({ driver: sim }), { flowEntries: 65536 });
    expect(() => agent.open()).toThrow(expect.objectContaining({ code: "ENOMEM", op: "openOrCreate", map: "egress_flows" }));
    agent.close();
  });

  it("an unprivileged process is refused at its first map (EPERM)", () => {
    const agent = new EgressAgent(createBpf({ driver: createSimDriver({ privileged: false }) }));
    let e: unknown;
    try {
      agent.open();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(BpfError);
    expect((e as BpfError).code).toBe("EPERM");
    agent.close();
  });

  it("property: whatever programs do during the GC, a flow they left alone is kept if fresh and gone if idle", () => {
    fc.assert(fc.property(interleavingArb({ keys: 16, possibleCpus: 2 }), (steps) => {
      const sim = createSimDriver({ possibleCpus: 2 });
      const bpf = createBpf({ driver: sim });
      using agent = new EgressAgent(bpf);
      agent.open();
      const prog = typedDatapath(sim, agent.flows);
      const t0 = bpf.getMtime();
      for (let k = 0; k < 16; k++) prog.update(flow(k), { lastSeen: k % 2 === 1 ? t0 : 0n, packets: 0n, verdict: 0 });
      const touched = new Set<number>();
      {
        using _play = playInterleaving(sim, steps, (op) => {
          touched.add(op.key);
          if (op.kind === "delete") prog.delete(flow(op.key), op.cpu);
          else if (op.kind === "update") prog.update(flow(op.key), { lastSeen: t0, packets: 1n, verdict: 0 }, BPF_ANY, op.cpu);
          else prog.lookup(flow(op.key), op.cpu);
        });
        agent.gcFlows(SECOND);
      }
      for (let k = 0; k < 16; k++) {
        if (!touched.has(k)) expect(agent.flows.lookup(flow(k)) !== undefined).toBe(k % 2 === 1);
      }
    }), { numRuns: 50, seed: 3 });
  });
});
