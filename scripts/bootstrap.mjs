#!/usr/bin/env node
// Makes a fresh clone usable with nothing but Node.js 20 and npm: installs the pinned pnpm into
// the git-ignored .tools/, installs the workspace from the lockfile, builds the wasm and the
// TypeScript (pruning what deleted sources left in dist/). Idempotent and quick when nothing
// changed.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pruneStaleOutputs } from "./prune-dist.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const win = process.platform === "win32";
const bin = join(root, ".tools", "node_modules", ".bin");
const pnpm = join(bin, win ? "pnpm.cmd" : "pnpm");
const env = { ...process.env, PATH: `${bin}${win ? ";" : ":"}${process.env.PATH ?? ""}` };

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"], shell: win });
}
function step(what) {
  process.stderr.write(`bootstrap: ${what}\n`);
}

if (!existsSync(pnpm)) {
  step("installing pnpm 12.4.2 into .tools/");
  run(win ? "npm.cmd" : "npm", ["install", "--prefix", ".tools", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", "-E", "pnpm@12.4.2"]);
}
step("pnpm install --frozen-lockfile");
run(pnpm, ["install", "--frozen-lockfile", "--reporter=silent"]);
step("building wasm and TypeScript");
run(pnpm, ["-r", "--if-present", "--reporter=silent", "run", "build:assets"]);
for (const path of pruneStaleOutputs(root)) step(`removed ${path}: its source is gone`);
run(pnpm, ["exec", "tsc", "-b"]);
