// vitest's globalSetup: the tests that run the built packages (the bin, the packed tarballs, the
// published .d.ts) need dist/. `npm test` has built it already (scripts/bootstrap.mjs); a bare
// vitest run on a clean tree has not, so build it here, once, before any test file starts,
// rather than in each such file, where they would write it under each other.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export default function setup() {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const packages = readdirSync(join(root, "packages"));
  if (packages.every((p) => existsSync(join(root, "packages", p, "dist", "index.d.ts")))) return;
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-b"], { cwd: root, stdio: "inherit" });
}
