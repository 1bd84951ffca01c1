#!/usr/bin/env node
// Packs every package as the registry would get it into packs/: `pnpm pack` turns `workspace:^`
// into the version, and each prepack rebuilds dist/ from clean. Until bpfkit is published, a
// project installs it from these: `npm install /path/to/bpfkit/packs/*.tgz`.
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const win = process.platform === "win32";
const pnpm = join(root, ".tools", "node_modules", ".bin", win ? "pnpm.cmd" : "pnpm");
const out = join(root, "packs");

rmSync(out, { recursive: true, force: true });
execFileSync(pnpm, ["-r", "--filter", "./packages/*", "--reporter=silent", "pack", "--pack-destination", out], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  shell: win,
});
for (const f of readdirSync(out).sort()) console.log(join("packs", f));
