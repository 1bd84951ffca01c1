// Removes from each package's dist/ what `tsc -b` left behind for a source that is gone: tsc
// never deletes an output, so a renamed or deleted src/ file would otherwise live on in dist/,
// importable and packed. Run by bootstrap before the build.
import { readdirSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";

const OUTPUT = /^(.*)\.(?:js|d\.ts)(?:\.map)?$/;

/** Deletes the dist/ files under `root`/packages/* with no src/ file behind them; returns them. */
export function pruneStaleOutputs(root) {
  const stale = [];
  for (const pkg of readdirSync(join(root, "packages"))) {
    const dist = join(root, "packages", pkg, "dist");
    if (!existsSync(dist)) continue;
    for (const rel of readdirSync(dist, { recursive: true, withFileTypes: true })) {
      if (!rel.isFile()) continue;
      const path = join(rel.parentPath ?? rel.path, rel.name);
      const m = OUTPUT.exec(path.slice(dist.length + 1));
      if (m === null) continue;
      const src = join(root, "packages", pkg, "src", m[1]);
      if (existsSync(`${src}.ts`) || existsSync(`${src}.mts`)) continue;
      stale.push(path);
      rmSync(path);
    }
  }
  return stale;
}
