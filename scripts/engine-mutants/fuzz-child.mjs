// One differential run for run.mjs, in a process of its own (the engine is rebuilt between runs):
// sim against the kernel, no shrinking; prints {found, at, runs, ...} as JSON.
// usage: node fuzz-child.mjs SEED RUNS FAMILY   (FAMILY: all, hash, array, lpm, keyless, percpu, lru)
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { runDifferential } = await import(pathToFileURL(join(root, "packages/testkit/dist/index.js")).href);
const [seed, runs, family] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] ?? "all"];
const T = { HASH: 1, ARRAY: 2, PROG_ARRAY: 3, PERCPU_HASH: 5, PERCPU_ARRAY: 6, LRU_HASH: 9, LRU_PERCPU_HASH: 10, LPM: 11, AOM: 12, HOM: 13, QUEUE: 22, STACK: 23, BLOOM: 30 };
const FAMILIES = {
  hash: [T.HASH, T.PERCPU_HASH, T.LRU_HASH, T.LRU_PERCPU_HASH, T.HOM],
  array: [T.ARRAY, T.PERCPU_ARRAY, T.PROG_ARRAY, T.AOM],
  lpm: [T.LPM],
  keyless: [T.QUEUE, T.STACK, T.BLOOM],
  percpu: [T.PERCPU_HASH, T.PERCPU_ARRAY, T.LRU_PERCPU_HASH],
};
const opts = { left: "sim", right: "kernel", runs, seed, shrink: false };
if (family === "lru") opts.lruEviction = true;
else if (family !== "all") opts.program = { types: FAMILIES[family] };
const s = await runDifferential(opts);
const out = { family, seed, found: !s.ok, runs: s.runs, ops: s.ops, seconds: s.seconds };
if (!s.ok) {
  const c = s.divergences[0];
  out.at = Number(c.path.split(":")[0]) + 1;
  out.divergence = c.divergence;
}
console.log(JSON.stringify(out));
