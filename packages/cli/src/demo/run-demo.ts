// The demo itself: a conntrack table, a datapath opening and closing flows, and a Cilium-style
// garbage collector that walks the table with dumpReliablyWithCallback and deletes expired
// flows — once with Cilium's v1.7 walk and once with bpfkit's batch dump — and what each saw.
import { BPF_MAP_TYPE_HASH, Errno, MaxLookupError, newDumpStats, type Bpf, type BpfMap, type DumpStats } from "@bpfkit/core";
import { ctKey, ctValue, flowIndex, flowKey, prng, type CtKey, type CtValue } from "./conntrack.js";
import type { ChurnPool, DemoDatapath } from "./datapath.js";

export interface DemoConfig {
  seed: number;
  /** Long-lived flows: the datapath never touches them, so every dump must deliver them. */
  flows: number;
  /** Short-lived flows the datapath opens and closes during the dumps. */
  churn: number;
  /** Share of the long-lived flows that have expired (the GC must delete exactly those). */
  expiredShare: number;
  maxEntries: number;
  /** Elements per BPF_MAP_LOOKUP_BATCH call: small, so the datapath acts between calls too. */
  batchSize: number;
  /** Pin the table (on the demo's own bpffs), as Cilium does; false keeps it unpinned. */
  pin?: boolean;
}

export const DEFAULT_DEMO: DemoConfig = { seed: 1, flows: 1000, churn: 200, expiredShare: 0.3, maxEntries: 4096, batchSize: 64 };

export interface DemoPass {
  algorithm: "walk" | "batch";
  stats: DumpStats;
  /** Set when the dump gave up (the seed's ErrMaxLookup) or failed. */
  gaveUp: string | undefined;
  datapath: { inserts: number; deletes: number };
  delivered: number;
  deliveredTwiceOrMore: number;
  longLivedDelivered: number;
  /** Keys delivered that the table never held (must be 0). */
  neverPresent: number;
  expiredDeleted: number;
  expiredTotal: number;
  /** Live long-lived flows missing after the GC (must be 0). */
  liveLost: number;
  ms: number;
}

export interface DemoReport {
  config: DemoConfig;
  driver: string;
  datapath: string;
  map: { name: string; type: string; maxEntries: number; keySize: number; valueSize: number };
  passes: DemoPass[];
}

const NS = 1_000_000_000n;

export interface DemoHooks {
  /** Called once the map exists: returns the datapath for it (the pool's presence is shared). */
  datapath(map: BpfMap<CtKey, CtValue>, pool: ChurnPool, now: bigint): Promise<DemoDatapath>;
  onPass?(algorithm: string): void;
}

export async function runDemo(bpf: Bpf, cfg: DemoConfig, hooks: DemoHooks): Promise<DemoReport> {
  const map = bpf.newMap({ name: "bpfkit_demo_ct", type: BPF_MAP_TYPE_HASH, key: ctKey, value: ctValue, maxEntries: cfg.maxEntries })
    .withNonPersistent();
  if (cfg.pin === false) map.openOrCreateUnpinned();
  else map.openOrCreate();
  try {
    const pool: ChurnPool = { from: cfg.flows, to: cfg.flows + cfg.churn, present: new Int8Array(cfg.churn) };
    const now = bpf.getMtime();
    const dp = await hooks.datapath(map, pool, now);
    const passes: DemoPass[] = [];
    try {
      for (const algorithm of ["walk", "batch"] as const) {
        hooks.onPass?.(algorithm);
        passes.push(gcPass(map, pool, dp, cfg, algorithm, now));
      }
    } finally {
      await dp.close();
    }
    return {
      config: cfg, driver: bpf.driver.kind, datapath: dp.description,
      map: { name: map.name(), type: "hash", maxEntries: cfg.maxEntries, keySize: ctKey.size, valueSize: ctValue.size },
      passes,
    };
  } finally {
    map.unpinIfExists();
    map.close();
  }
}

/** Lays the table out as it was at the start, the same for every pass. */
function fill(map: BpfMap<CtKey, CtValue>, pool: ChurnPool, cfg: DemoConfig, now: bigint): Set<number> {
  map.deleteAll();
  const rand = prng(cfg.seed);
  const expired = new Set<number>();
  for (let i = 0; i < cfg.flows; i++) {
    const isExpired = rand() < cfg.expiredShare;
    const secs = BigInt(1 + Math.floor(rand() * 60));
    if (isExpired) expired.add(i);
    // A simulated host has been up only seconds: an expiry before boot is 0.
    const expires = isExpired ? (now > secs * NS ? now - secs * NS : 0n) : now + secs * NS;
    map.update(flowKey(i), { expires, packets: BigInt(1 + Math.floor(rand() * 1000)) });
  }
  // Half the short-lived flows are open when the GC starts; none has expired.
  for (let i = pool.from; i < pool.to; i++) {
    const open = rand() < 0.5;
    pool.present[i - pool.from] = open ? 1 : 0;
    if (open) map.update(flowKey(i), { expires: now + 300n * NS, packets: 1n });
  }
  return expired;
}

function gcPass(map: BpfMap<CtKey, CtValue>, pool: ChurnPool, dp: DemoDatapath, cfg: DemoConfig,
  algorithm: "walk" | "batch", now: bigint): DemoPass {
  const expired = fill(map, pool, cfg, now);
  const seen = new Map<number, number>();
  let neverPresent = 0;
  let expiredDeleted = 0;
  const stats = newDumpStats(map.mapInfo.maxEntries);
  const before = dp.counts();
  const t0 = performance.now();
  let gaveUp: string | undefined;
  dp.during(() => {
    try {
      // Cilium's CT GC: dump reliably, delete what expired, from inside the callback.
      map.dumpReliablyWithCallback((k, v) => {
        const i = flowIndex(k);
        if (i >= pool.to || flowKey(i).sport !== k.sport) neverPresent++;
        seen.set(i, (seen.get(i) ?? 0) + 1);
        if (v.expires < now) {
          const r = map.deleteWithErrno(k);
          if (r.errno === 0) expiredDeleted++;
          else if (r.errno !== Errno.ENOENT) throw r.error;
        }
      }, stats, algorithm === "batch" ? { algorithm, batchSize: cfg.batchSize } : { algorithm });
    } catch (e) {
      if (!(e instanceof MaxLookupError)) throw e;
      gaveUp = e.message;
    }
  });
  const ms = performance.now() - t0;
  const after = dp.counts();
  let longLived = 0;
  let liveLost = 0;
  for (let i = 0; i < cfg.flows; i++) {
    if (seen.has(i)) longLived++;
    if (!expired.has(i) && map.lookup(flowKey(i)) === undefined) liveLost++;
  }
  let twice = 0;
  let delivered = 0;
  for (const n of seen.values()) {
    delivered += n;
    if (n > 1) twice++;
  }
  return {
    algorithm, stats, gaveUp, datapath: { inserts: after.inserts - before.inserts, deletes: after.deletes - before.deletes },
    delivered, deliveredTwiceOrMore: twice, longLivedDelivered: longLived, neverPresent, expiredDeleted,
    expiredTotal: expired.size, liveLost, ms,
  };
}
