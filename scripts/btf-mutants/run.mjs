// The mutation audit of docs/testing.md's BTF fuzzer: applies each mutant of mutants.mjs to the
// simulator's BTF code, rebuilds, runs `fuzz btf` against the kernel on each seed, runs the
// simulator's BTF conformance cases, and puts the file back. Needs root (the kernel side) and a
// built tree; about a minute a mutant on 2 CPUs with the defaults.
// usage: node scripts/btf-mutants/run.mjs [--seeds 1,2,3] [--runs N] [--no-conformance] [ID…]
// One JSON line per mutant: the blob at which each seed diverged (or "missed"), and whether the
// conformance cases killed it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, runnerArgs, sh } from "../mutant-runs.mjs";
import { mutants } from "./mutants.mjs";

const { values, conformanceToo, ids } = runnerArgs({ "--seeds": "1,2,3", "--runs": "3000" }, mutants.map((m) => m[0]));
const seeds = values["--seeds"].split(",").map(Number);
const runs = values["--runs"];
const build = () => {
  const r = sh("pnpm", ["exec", "tsc", "-b", "packages/driver-wasm-sim"]);
  if (r.status !== 0) throw new Error(`build failed: ${(r.stdout + r.stderr).slice(0, 500)}`);
};

for (const [id, file, from, to, what] of mutants) {
  if (ids.length > 0 && !ids.includes(id)) continue;
  const path = join(root, file);
  const orig = readFileSync(path, "utf8");
  const at = orig.indexOf(from);
  if (at < 0 || orig.indexOf(from, at + 1) >= 0) {
    console.log(JSON.stringify({ id, error: `the text to replace is found ${at < 0 ? "nowhere" : "more than once"}: the source moved on` }));
    continue;
  }
  const r = { id, where: `${file.replace(/.*\/src\//, "")}:${orig.slice(0, at).split("\n").length}`, what, seeds: {} };
  writeFileSync(path, orig.slice(0, at) + to + orig.slice(at + from.length));
  try {
    build();
    for (const s of seeds) {
      const p = sh("node", ["packages/cli/bin/bpfkit.js", "fuzz", "btf", "--runs", runs, "--seed", String(s), "-q", "--json"]);
      try {
        const j = JSON.parse(p.stdout);
        r.seeds[s] = j.ok ? "missed" : { at: j.runs, what: j.divergences[0]?.divergence?.what };
      } catch {
        r.seeds[s] = `error (exit ${p.status}): ${p.stderr.slice(0, 300)}`;
      }
    }
    if (conformanceToo) {
      const v = sh("pnpm", ["exec", "vitest", "run", "packages/testkit/test/conformance-sim.test.ts", "-t", "btf"]);
      const failed = /(\d+) failed/.exec(v.stdout + v.stderr);
      r.conformance = v.status === 0 ? "survived" : failed ? `killed (${failed[1]} failed)` : `error (exit ${v.status})`;
    }
  } catch (e) {
    r.error = String(e.message ?? e).slice(0, 500);
  } finally {
    writeFileSync(path, orig);
  }
  console.log(JSON.stringify(r));
}
build();
