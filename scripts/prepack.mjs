#!/usr/bin/env node
// Every package's `prepack`: deletes the package's dist/ and rebuilds it, so a tarball holds the
// output of today's src/ only. `tsc -b` never deletes the output of a source that is gone. Run
// from the package's directory, as npm and pnpm run lifecycle scripts. Not part of the normal
// build (scripts/bootstrap.mjs), which stays incremental.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = process.cwd();
const rel = relative(join(root, "packages"), pkg);
if (rel === "" || rel.startsWith("..") || rel.includes(sep) || !existsSync(join(pkg, "tsconfig.json"))) {
  process.stderr.write(`prepack: ${pkg} is not a package under ${join(root, "packages")}\n`);
  process.exit(1);
}
// `npm pack` copies package.json as it is, so a dependency on another package of the workspace
// stays `workspace:^`, and `npm install` of that tarball fails ("Unsupported URL Type
// "workspace:""). pnpm pack writes the version instead. Refused before dist/ is touched.
const agent = process.env.npm_config_user_agent ?? "";
if (agent.startsWith("npm/")) {
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  const linked = ["dependencies", "peerDependencies", "optionalDependencies"]
    .flatMap((f) => Object.entries(manifest[f] ?? {}).filter(([, range]) => String(range).startsWith("workspace:")))
    .map(([dep, range]) => `${dep}@${range}`);
  if (linked.length > 0) {
    process.stderr.write(`prepack: npm pack would leave ${linked.join(", ")} in ${manifest.name}'s package.json, which npm cannot ` +
      "install; pack with pnpm instead: `npm run pack` at the repository root writes every package to packs/\n");
    process.exit(1);
  }
}
// tsBuildInfoFile is dist/.tsbuildinfo, so it goes too and `tsc -b` rebuilds this project; the
// projects it references are rebuilt only if they are out of date. (With the build info outside
// dist/, `tsc -b` would call a project with no dist/ up to date.)
rmSync(join(pkg, "dist"), { recursive: true, force: true });
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
execFileSync(process.execPath, [tsc, "-b", pkg], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
