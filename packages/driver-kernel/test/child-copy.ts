// core and driver-kernel as plain JS in a temp dir, for tests that run the driver in a child
// process: as another user (the dir is world-readable), or with koffi missing (no node_modules).
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const packages = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Transpiles the two packages' sources into a fresh temp dir and returns it (the caller removes
 * it). With `koffi: false` the copy has no node_modules, so `require("koffi")` fails as it does
 * where koffi's install was skipped.
 */
export function transpileForChild(prefix: string, { koffi }: { koffi: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  for (const pkg of ["core", "driver-kernel"]) {
    const out = join(dir, pkg);
    mkdirSync(out, { mode: 0o755 });
    const src = join(packages, pkg, "src");
    // Sub-folders too (core's btf/), each file at the same relative path.
    for (const file of readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))) {
      const js = ts.transpileModule(readFileSync(join(src, file), "utf8"), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText.replaceAll('"@bpfkit/core"', '"../core/index.js"');
      mkdirSync(dirname(join(out, file)), { recursive: true, mode: 0o755 });
      writeFileSync(join(out, file.replace(/\.ts$/, ".js")), js, { mode: 0o644 });
    }
  }
  writeFileSync(join(dir, "package.json"), '{"type":"module"}', { mode: 0o644 });
  if (koffi) symlinkSync(join(packages, "driver-kernel", "node_modules"), join(dir, "node_modules"));
  return dir;
}
