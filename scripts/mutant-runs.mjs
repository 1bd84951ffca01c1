// What the mutation-audit runners (scripts/engine-mutants, scripts/btf-mutants) share: the
// repository's root, their command line (`--name value` options, `--no-conformance`, mutant
// ids), and running a command with the tree's own tools (pnpm, tsc, vitest) on PATH.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));

const env = { ...process.env, PATH: `${join(root, ".tools/node_modules/.bin")}:${process.env.PATH}` };

/** Runs `cmd` in `cwd` (the root by default): its status, stdout and stderr as text. */
export function sh(cmd, argv, cwd = root) {
  return spawnSync(cmd, argv, { cwd, env, encoding: "utf8", maxBuffer: 1 << 28 });
}

/**
 * The runner's command line: each option of `defaults` (`{ "--seed": "1" }`) as given or its
 * default, whether `--no-conformance` was given, and the mutant ids named (each one of `known`).
 */
export function runnerArgs(defaults, known) {
  const args = process.argv.slice(2);
  const values = {};
  for (const [name, dflt] of Object.entries(defaults)) {
    const i = args.indexOf(name);
    values[name] = i < 0 ? dflt : args.splice(i, 2)[1];
  }
  const conformanceToo = !args.includes("--no-conformance");
  const ids = args.filter((a) => a !== "--no-conformance");
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length > 0) throw new Error(`no mutant ${unknown.join(", ")}; they are ${known.join(" ")}`);
  return { values, conformanceToo, ids };
}
