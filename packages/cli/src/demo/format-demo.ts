// The demo's report for people: one table, two columns (Cilium's walk, bpfkit's batch dump),
// and a few sentences saying what the numbers mean.
import type { DemoPass, DemoReport } from "./run-demo.js";

const yes = (b: boolean) => (b ? "yes" : "NO");

/** `cmd` is how the reader runs bpfkit (`bpfkit`, or `npm run bpfkit --` under npm). */
export function formatDemo(r: DemoReport, cmd = "bpfkit"): string {
  const [walk, batch] = r.passes as [DemoPass, DemoPass];
  const c = r.config;
  const budget = (p: DemoPass) => p.stats.maxEntries * 4;
  const rows: Array<[string, (p: DemoPass) => string]> = [
    ["datapath opened / closed flows", (p) => `${p.datapath.inserts} / ${p.datapath.deletes}`],
    ["entries delivered", (p) => String(p.delivered)],
    ["  keys delivered more than once", (p) => String(p.deliveredTwiceOrMore)],
    ["  keys the table never held", (p) => String(p.neverPresent)],
    ["long-lived flows delivered", (p) => `${p.longLivedDelivered} of ${c.flows}`],
    ["dump stats: lookup (budget)", (p) => `${p.stats.lookup} (${budget(p)})`],
    ["  lookupFailed / keyFallback", (p) => `${p.stats.lookupFailed} / ${p.stats.keyFallback}`],
    ["  interrupted (restarts)", (p) => String(p.stats.interrupted)],
    ["  batches", (p) => String(p.stats.batches)],
    ["  completed", (p) => (p.gaveUp ? `no: ${p.gaveUp}` : yes(p.stats.completed))],
    ["GC: expired flows deleted", (p) => `${p.expiredDeleted} of ${p.expiredTotal}`],
    ["GC: live flows lost", (p) => String(p.liveLost)],
    ["time", (p) => `${p.ms.toFixed(1)} ms`],
  ];
  const h1 = "Cilium v1.7 walk", h2 = `bpfkit batch dump (${c.batchSize} per call)`;
  const w0 = Math.max(...rows.map(([l]) => l.length));
  const w1 = Math.max(h1.length, ...rows.map(([, f]) => f(walk).length));
  const line = (a: string, b: string, cc: string) => `  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${cc}`.trimEnd();

  const out: string[] = [];
  out.push("bpfkit demo: garbage-collecting a conntrack table while the datapath changes it", "");
  out.push(`  driver    ${r.driver === "kernel" ? "kernel (real bpf(2))" : `simulator (deterministic: --seed ${c.seed} repeats this run exactly)`}`);
  out.push(`  table     ${r.map.type} map ${r.map.name}, ${r.map.maxEntries} entries max; key {saddr,daddr,sport,dport,proto} ${r.map.keySize} B, value {expires,packets} ${r.map.valueSize} B`);
  out.push(`  flows     ${c.flows} long-lived (${walk.expiredTotal} of them expired), plus ${c.churn} short-lived ones the datapath opens and closes`);
  out.push(`  datapath  ${r.datapath}`);
  out.push(`  GC        dumpReliablyWithCallback over the table, deleting each expired flow from the callback (as Cilium's CT GC does)`);
  out.push("");
  out.push(line("", h1, h2));
  for (const [label, f] of rows) out.push(line(label, f(walk), f(batch)));
  out.push("");
  out.push(...explain(r, walk, batch).map((s) => `  ${s}`));
  out.push("");
  out.push(`  Next: ${cmd} demo --driver sim --seed ${c.seed + 1} (another run) · ${cmd} map dump --help · ${cmd} --help`);
  out.push("");
  return out.join("\n");
}

function explain(r: DemoReport, walk: DemoPass, batch: DemoPass): string[] {
  const s: string[] = [];
  const c = r.config;
  const ok = (p: DemoPass) => passOk(p, c.flows, r.driver);
  if (walk.gaveUp) {
    s.push(`The v1.7 walk gave up (${walk.gaveUp}): the datapath deleted the key it stood on so often that its restarts used up`,
      `the 4 × max_entries lookup budget, and ${walk.expiredTotal - walk.expiredDeleted} expired flows stay until the next GC run.`);
  } else if (walk.stats.interrupted > 0 || walk.stats.keyFallback > 0) {
    s.push(`The v1.7 walk lost its place ${walk.stats.lookupFailed} time(s) when a key vanished between GET_NEXT_KEY and the lookup:`,
      `it fell back to the previous key ${walk.stats.keyFallback} time(s) and restarted from the first key ${walk.stats.interrupted} time(s),`,
      `so ${walk.deliveredTwiceOrMore} keys reached the callback more than once. Cilium's callbacks must be idempotent for this reason.`);
  } else {
    s.push(`The v1.7 walk was not disturbed this time: no key vanished between its GET_NEXT_KEY and lookup${r.driver === "kernel" ? "" : " (try another --seed or a higher --rate)"}.`);
  }
  const raced = kernelWalkMisses(walk, c.flows, r.driver);
  if (raced > 0) {
    s.push(`The walk also missed ${raced} long-lived flow(s) nobody touched: the kernel's GET_NEXT_KEY can follow an element the`,
      "datapath just deleted and reused in another bucket, and skip the buckets between (docs/kernel-notes.md). A batch dump cannot.");
  }
  if (r.driver !== "kernel") {
    s.push("(The simulated datapath acts before each syscall, so the walk, two syscalls per key, met far more of it than the batch dump did.)");
  }
  if (!batch.gaveUp && batch.deliveredTwiceOrMore === 0) {
    s.push(`The batch dump copied whole hash buckets with BPF_MAP_LOOKUP_BATCH (${batch.stats.batches} call${batch.stats.batches === 1 ? "" : "s"}, the datapath acting`,
      "between them): a bucket token only moves forward and a key never changes bucket, so every flow present for the",
      "whole dump came exactly once.");
  }
  s.push(ok(walk) && ok(batch)
    ? "Both GC passes deleted every expired flow, kept every live one, and never saw a key the table did not hold."
    : `Checks: walk ${ok(walk) ? "passed" : "FAILED"}, batch ${ok(batch) ? "passed" : "FAILED"} (every long-lived flow delivered, no foreign keys, expired deleted, live kept).`);
  return s;
}

/**
 * Long-lived flows a completed walk on the kernel missed. The kernel's hash GET_NEXT_KEY may skip
 * buckets when the element it stands on is reused meanwhile: the kernel's doing, which the demo
 * reports rather than fails. On the simulator every syscall is atomic, and nothing is excused.
 */
function kernelWalkMisses(p: DemoPass, flows: number, driver: string): number {
  return driver === "kernel" && p.algorithm === "walk" && p.gaveUp === undefined ? flows - p.longLivedDelivered : 0;
}

/**
 * The invariants of one pass; a walk that gave up is excused from delivering everything, and
 * so, for the flows it missed, is a walk the kernel's next-key race made skip.
 */
function passOk(p: DemoPass, flows: number, driver: string): boolean {
  if (p.neverPresent !== 0 || p.liveLost !== 0) return false;
  if (p.gaveUp !== undefined) return true;
  const missed = kernelWalkMisses(p, flows, driver);
  if (missed > 0) return p.expiredDeleted >= p.expiredTotal - missed;
  return p.longLivedDelivered === flows && p.expiredDeleted === p.expiredTotal;
}

/** Whether the run showed what bpfkit promises (the exit code of `bpfkit demo`). */
export function demoPassed(r: DemoReport): boolean {
  return r.passes.every((p) => passOk(p, r.config.flows, r.driver)) &&
    r.passes.filter((p) => p.algorithm === "batch").every((p) => p.deliveredTwiceOrMore === 0 && p.gaveUp === undefined);
}
