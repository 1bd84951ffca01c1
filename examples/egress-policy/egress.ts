// An egress-policy agent's map code, the part of a service worth unit-testing on the simulator:
// a policy LPM trie synced to what the agent wants, an LRU flow table garbage-collected by idle
// time, per-CPU verdict counters, and per-tenant port maps in a map of maps. It takes a Bpf, so
// production hands it the kernel driver and tests the simulator.
import {
  BPF_F_ZERO_SEED, BpfError, type Bpf, type BpfMap, type CodecType, MapType,
  be16, ipv4, lpmKey, newDumpStats, struct, u8, u16, u32, u64,
} from "@bpfkit/core";

export const flowKey = struct({ saddr: ipv4, daddr: ipv4, dport: be16, proto: u8 });
export const flowEntry = struct({ lastSeen: u64, packets: u64, verdict: u8 });
export const cidrKey = lpmKey(ipv4);
export const rule = struct({ action: u8, ruleId: u32 });
export type FlowKey = CodecType<typeof flowKey>;
export type FlowEntry = CodecType<typeof flowEntry>;
export type CidrKey = CodecType<typeof cidrKey>;
export type Rule = CodecType<typeof rule>;

export const ALLOW = 1, DENY = 2;
/** Slots of the per-CPU counter array the datapath bumps. */
export const STAT_ALLOWED = 0, STAT_DENIED = 1, STAT_SLOTS = 4;

export interface GcResult { scanned: number; deleted: number; alreadyGone: number; failed: number }
export interface SyncResult { added: number; removed: number; failed: string[] }

export class EgressAgent implements Disposable {
  readonly flows: BpfMap<FlowKey, FlowEntry>;
  readonly policy: BpfMap<CidrKey, Rule>;
  readonly stats: BpfMap<number, bigint[]>;
  #tenants: BpfMap<number, number> | undefined;
  readonly #template: BpfMap<number, number>;
  readonly #tenantPorts = new Map<number, BpfMap<number, number>>();

  constructor(readonly bpf: Bpf, options: { flowEntries?: number } = {}) {
    this.flows = bpf.newMap({ name: "egress_flows", type: MapType.LRUHash, key: flowKey, value: flowEntry,
      maxEntries: options.flowEntries ?? 256, flags: BPF_F_ZERO_SEED });
    this.policy = bpf.newMap({ name: "egress_policy", type: MapType.LPMTrie, key: cidrKey, value: rule, maxEntries: 128 });
    this.stats = bpf.newPerCpuMap({ name: "egress_stats", type: MapType.PerCPUArray, key: u32, value: u64, maxEntries: STAT_SLOTS });
    // The shape every tenant's port map has: the outer map is made from it.
    this.#template = bpf.newMap({ name: "egress_ports", type: MapType.Hash, key: u16, value: u8, maxEntries: 32 });
  }

  /** The map of maps: tenant → its port map (an fd in, an id out). Made by open(). */
  get tenants(): BpfMap<number, number> {
    if (this.#tenants === undefined) throw new Error("EgressAgent: open() first");
    return this.#tenants;
  }

  /** Opens every pinned map, creating what is missing; true on a first boot (no policy pinned yet). */
  open(): boolean {
    this.#template.openOrCreateUnpinned();
    const firstBoot = this.policy.openOrCreate();
    this.flows.openOrCreate();
    this.stats.openOrCreate();
    // The outer map's spec names the template by its fd, so it is made once the template is open.
    this.#tenants ??= this.bpf.newMap({ name: "egress_tenants", type: MapType.HashOfMaps, key: u32, value: u32,
      maxEntries: 16, innerId: this.#template.getFd() });
    this.#tenants.openOrCreate();
    return firstBoot;
  }

  /** Makes the policy trie hold exactly `want` (`"10.0.0.0/8"` → rule); failures are listed, not thrown. */
  syncPolicy(want: ReadonlyMap<string, Rule>): SyncResult {
    const missing = new Map(want);
    const stale: CidrKey[] = [];
    this.policy.dumpReliablyWithCallback((k, v) => {
      const cidr = `${k.data}/${k.prefixLen}`;
      const w = missing.get(cidr);
      if (w === undefined) stale.push(k);
      else if (w.action === v.action && w.ruleId === v.ruleId) missing.delete(cidr);
    }, newDumpStats(this.policy));
    const result: SyncResult = { added: 0, removed: 0, failed: [] };
    for (const k of stale) {
      const { error } = this.policy.deleteWithErrno(k);
      if (error === undefined || error.code === "ENOENT") result.removed++;
      else result.failed.push(`${k.data}/${k.prefixLen}: ${error.code}`);
    }
    for (const [cidr, r] of missing) {
      const [data, len] = cidr.split("/");
      try {
        this.policy.update({ prefixLen: Number(len), data: data! }, r);
        result.added++;
      } catch (e) {
        if (!(e instanceof BpfError)) throw e;
        result.failed.push(`${cidr}: ${e.code}`);
      }
    }
    return result;
  }

  /** The rule the datapath applies to traffic to `daddr`: the longest prefix holding it. */
  decide(daddr: string): Rule | undefined {
    return this.policy.lookup({ prefixLen: 32, data: daddr });
  }

  /** Each counter slot summed over the CPUs. */
  totals(): bigint[] {
    const out: bigint[] = [];
    for (let slot = 0; slot < STAT_SLOTS; slot++) out.push((this.stats.lookup(slot) ?? []).reduce((a, b) => a + b, 0n));
    return out;
  }

  /** Deletes the flows idle for longer than `idleNs` (`lastSeen` is the datapath's bpf_ktime_get_ns()). */
  gcFlows(idleNs: bigint): GcResult {
    const now = this.bpf.getMtime();
    const r: GcResult = { scanned: 0, deleted: 0, alreadyGone: 0, failed: 0 };
    this.flows.dumpReliablyWithCallback((k, v) => {
      r.scanned++;
      if (now - v.lastSeen <= idleNs) return;
      const { error } = this.flows.deleteWithErrno(k);
      if (error === undefined) r.deleted++;
      else if (error.code === "ENOENT") r.alreadyGone++;   // the datapath's own LRU or a close got there first
      else r.failed++;                                      // left for the next pass
    }, newDumpStats(this.flows));
    return r;
  }

  /** Gives `tenant` a new port map holding `ports`, swapped in at once; the old one goes with its last user. */
  setTenantPorts(tenant: number, ports: readonly number[]): void {
    const inner = this.bpf.newMap({ name: `egress_ports_${tenant}`, type: MapType.Hash, key: u16, value: u8, maxEntries: 32 });
    inner.openOrCreateUnpinned();
    try {
      for (const p of ports) inner.update(p, 1);
      this.tenants.update(tenant, inner.getFd());
    } catch (e) {
      inner.close();
      throw e;
    }
    this.#tenantPorts.get(tenant)?.close();
    this.#tenantPorts.set(tenant, inner);
  }

  /** The ports `tenant` may reach, read through the outer map as the datapath finds them. */
  tenantPorts(tenant: number): number[] {
    const id = this.tenants.lookup(tenant);
    if (id === undefined) return [];
    using inner = this.bpf.openMapById(id, { key: u16, value: u8 });
    return [...inner.keys()].sort((a, b) => a - b);
  }

  close(): void {
    for (const m of this.#tenantPorts.values()) m.close();
    this.#tenantPorts.clear();
    for (const m of [this.flows, this.policy, this.stats, this.#tenants, this.#template]) m?.close();
    this.#tenants = undefined;   // a later open() makes it again, from the template as it is then
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
