// The mutation audit of docs/fuzz-mutants.md: applies each mutant, rebuilds the engine (or the
// TypeScript), runs `fuzz diff` against the kernel (the default mix, then the mutant's own types
// or lruEviction where that missed), runs the simulator's conformance suite, and puts the file
// back. Needs root (the kernel side) and a built tree; a few minutes per ten mutants on 2 CPUs.
// usage: node scripts/engine-mutants/run.mjs [--seed S] [--runs N] [--no-conformance] [ID…]
// One JSON line per mutant on stdout, and a table at the end.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, runnerArgs, sh } from "../mutant-runs.mjs";
import { mutants } from "./mutants.mjs";

const { values, conformanceToo, ids } = runnerArgs({ "--seed": "1", "--runs": "1000" }, mutants.map((m) => m.id));
const seed = values["--seed"], runs = values["--runs"];
const sim = join(root, "packages/driver-wasm-sim");

/** Rebuilds the wasm and puts it in dist/ too (what tsc -b would emit for the generated file). */
function buildWasm() {
  const r = sh("node", ["scripts/build-assets.mjs"], sim);
  if (r.status !== 0) return r.stderr.slice(0, 500) || "build failed";
  const ts = readFileSync(join(sim, "src/engine-wasm.generated.ts"), "utf8");
  writeFileSync(join(sim, "dist/engine-wasm.generated.js"), ts.replace("ENGINE_WASM_BASE64: string =", "ENGINE_WASM_BASE64 ="));
  return "";
}
function buildTs() {
  const r = sh("pnpm", ["exec", "tsc", "-b"]);
  return r.status === 0 ? "" : (r.stdout + r.stderr).slice(0, 500);
}
function fuzz(family) {
  const r = sh("timeout", ["900", "node", join(root, "scripts/engine-mutants/fuzz-child.mjs"), seed, runs, family]);
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop());
  } catch {
    return { family, error: (r.stdout + r.stderr).slice(-600) };
  }
}
function conformance() {
  const r = sh("timeout", ["900", "pnpm", "exec", "vitest", "run", "packages/testkit/test/conformance-sim.test.ts", "-t", "conformance: sim "]);
  const failed = /Tests\s+(?:\x1b\[[0-9;]*m)*.*?(\d+) failed/.exec(r.stdout);
  return { killed: r.status !== 0, failed: failed ? Number(failed[1]) : r.status !== 0 ? -1 : 0 };
}

const rows = [];
for (const m of mutants.filter((x) => ids.length === 0 || ids.includes(x.id))) {
  const path = join(root, m.file);
  const orig = readFileSync(path, "utf8");
  const engine = m.file.includes("/assembly/");
  const rec = { id: m.id, where: `${m.file.split("/").pop()}:${orig.slice(0, orig.indexOf(m.old)).split("\n").length}`, what: m.what };
  try {
    writeFileSync(path, orig.replace(m.old, m.new));
    const err = engine ? buildWasm() : buildTs();
    if (err) {
      rec.buildError = err;
    } else {
      rec.all = fuzz("all");
      if (!rec.all.found && m.fam !== "all") rec.targeted = fuzz(m.fam);
      if (conformanceToo) rec.conformance = conformance();
    }
  } finally {
    writeFileSync(path, orig);
    if (engine) buildWasm();
    else buildTs();
  }
  rows.push(rec);
  console.log(JSON.stringify(rec));
}
const found = (r) => (r.buildError ? "build error" : r.all.found ? `${r.all.at}` : r.targeted?.found ? `missed; ${r.targeted.family}: ${r.targeted.at}` : "missed");
const killed = (r) => (r.conformance === undefined ? "-" : r.conformance.killed ? `killed (${r.conformance.failed})` : "not");
console.log(["| Mutant | Where | Fuzzer | Conformance | What |", "|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.id} | ${r.where} | ${found(r)} | ${killed(r)} | ${r.what} |`)].join("\n"));
