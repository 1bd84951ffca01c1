// Without privilege the driver must say so plainly, not crash: a child process running as
// `nobody` (no capabilities) imports the driver, asks kernelDriverAvailable() and calls
// createKernelDriver(). The child runs plain JS, so the sources are transpiled for it first.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, expect, it } from "vitest";
import { describeKernel } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const packages = join(here, "..", "..");
const NOBODY = 65534;
let dir: string | undefined;

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** core and driver-kernel as JS in a temp dir that `nobody` can read, koffi reachable. */
function transpileForChild(): string {
  dir = mkdtempSync(join(tmpdir(), "bpfkit-nobody-"));
  chmodSync(dir, 0o755);
  for (const pkg of ["core", "driver-kernel"]) {
    const out = join(dir, pkg);
    mkdirSync(out, { mode: 0o755 });
    const src = join(packages, pkg, "src");
    for (const file of readdirSync(src).filter((f) => f.endsWith(".ts"))) {
      const js = ts.transpileModule(readFileSync(join(src, file), "utf8"), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText.replaceAll('"@bpfkit/core"', '"../core/index.js"');
      writeFileSync(join(out, file.replace(/\.ts$/, ".js")), js, { mode: 0o644 });
    }
  }
  writeFileSync(join(dir, "package.json"), '{"type":"module"}', { mode: 0o644 });
  symlinkSync(join(packages, "driver-kernel", "node_modules"), join(dir, "node_modules"));
  return dir;
}

describeKernel("kernel driver: without privilege", () => {
  it("as nobody: kernelDriverAvailable() is false and createKernelDriver() says root or CAP_BPF is needed", () => {
    const root = transpileForChild();
    const script = `
      import { createKernelDriver, kernelDriverAvailable } from ${JSON.stringify(join(root, "driver-kernel", "index.js"))};
      const out = { uid: process.getuid(), available: kernelDriverAvailable() };
      try { createKernelDriver(); out.created = true; }
      catch (e) { out.error = { name: e.name, message: e.message, code: e.code }; }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      uid: NOBODY, gid: NOBODY, cwd: root, encoding: "utf8", timeout: 30_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({
      uid: NOBODY,
      available: false,
      error: { name: "BpfError", code: "EPERM", message: "bpf(2) needs root or CAP_BPF (BPF_MAP_CREATE: EPERM)" },
    });
  });
});
