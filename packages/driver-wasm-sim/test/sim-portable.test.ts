// "Runs anywhere" (issue 3 item 5): the simulator and core, alone in a temporary node_modules
// without @bpfkit/driver-kernel or koffi, run in a child `node` whose loader hook refuses any
// `node:` or builtin import, koffi or the kernel driver from inside the packages. The one
// reach for the host (possible CPUs in platform.ts) goes through process.getBuiltinModule,
// which is not an import, and falls back when absent.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { countCpuList } from "@bpfkit/core";
import { afterAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const work = mkdtempSync(join(tmpdir(), "bpfkit-sim-portable-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Transpiles every .ts under a package's src/ (no type check) into work/node_modules/@bpfkit/<name>/dist. */
function stage(name: string): void {
  const src = join(root, "packages", name, "src");
  const out = join(work, "node_modules", "@bpfkit", name);
  const pkg = JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")) as Record<string, unknown>;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "package.json"), JSON.stringify({ name: pkg.name, type: "module", exports: { ".": "./dist/index.js" } }));
  const walk = (dir: string, to: string): void => {
    mkdirSync(to, { recursive: true });
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        walk(join(dir, e.name), join(to, e.name));
        continue;
      }
      if (!e.name.endsWith(".ts") || e.name.endsWith(".d.ts")) continue;
      const js = ts.transpileModule(readFileSync(join(dir, e.name), "utf8"), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      }).outputText;
      writeFileSync(join(to, e.name.replace(/\.ts$/, ".js")), js);
    }
  };
  walk(src, join(out, "dist"));
}

const hooks = `
import { isBuiltin } from "node:module";
export async function resolve(specifier, context, next) {
  const fromPackage = (context.parentURL ?? "").includes("/node_modules/@bpfkit/");
  const forbidden = isBuiltin(specifier) || specifier === "koffi" || specifier.startsWith("@bpfkit/driver-kernel");
  if (fromPackage && forbidden) throw new Error("forbidden import " + specifier + " from " + context.parentURL);
  return next(specifier, context);
}`;

const main = `
import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}));
const { createSimDriver } = await import("@bpfkit/driver-wasm-sim");
const kernel = await import("@bpfkit/driver-kernel").then(() => "present", (e) => e.code);
const koffi = await import("koffi").then(() => "present", (e) => e.code);
const d = createSimDriver();
const fd = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 16, mapFlags: 0x40 });
const k = new Uint8Array(4), v = new Uint8Array(4);
for (let i = 0; i < 16; i++) { new DataView(k.buffer).setUint32(0, i, true); d.mapUpdateElem(fd, k, v); }
const order = [];
let prev = null; const next = new Uint8Array(4);
while (d.mapGetNextKey(fd, prev, next) === 0) { order.push(new DataView(next.buffer).getUint32(0, true)); prev = next.slice(); }
const pin = d.objPin(fd, "/sys/fs/bpf/m");
const again = d.objGet("/sys/fs/bpf/m");
// An arm64 kernel's 64 KiB page, reported and followed (a 4 KiB ring is below a page: EINVAL).
const arm = createSimDriver({ pageSize: 65536 });
const rings = [4096, 65536].map((maxEntries) => arm.mapCreate({ mapType: 27, keySize: 0, valueSize: 0, maxEntries }));
console.log(JSON.stringify({ kernel, koffi, fd, order, pin, again, cpus: d.possibleCpus, kind: d.kind, page: d.pageSize, armPage: arm.pageSize, rings }));
`;

/**
 * What the simulator should size per-CPU values by here: the possible mask on Linux where Node
 * has process.getBuiltinModule (20.16 on), else 4.
 */
function hostCpus(): number {
  const readable = process.platform === "linux" && typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function";
  return readable ? countCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8")) : 4;
}

describe("the simulator without the kernel driver, koffi or node: imports", () => {
  it("creates, walks in the kernel's order and pins in a child process that has only core and the simulator", () => {
    stage("core");
    stage("driver-wasm-sim");
    writeFileSync(join(work, "main.mjs"), main);
    const r = spawnSync(process.execPath, ["main.mjs"], { cwd: work, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(got).toEqual({
      kernel: "ERR_MODULE_NOT_FOUND", koffi: "ERR_MODULE_NOT_FOUND", fd: 3,
      order: [10, 4, 15, 5, 0, 14, 7, 2, 13, 1, 8, 12, 11, 9, 6, 3], // kernel-maps.md §5.3
      pin: 0, again: 4, cpus: hostCpus(), kind: "sim", page: 4096, armPage: 65536, rings: [-22, 3],
    });
  });

  it("the loader hook does refuse a node: import from inside a package (the check can fail)", () => {
    const bad = join(work, "node_modules", "@bpfkit", "bad");
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, "package.json"), JSON.stringify({ name: "@bpfkit/bad", type: "module", exports: "./index.js" }));
    writeFileSync(join(bad, "index.js"), `import { readFileSync } from "node:fs"; export const x = typeof readFileSync;`);
    writeFileSync(join(work, "bad.mjs"), `import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}));
await import("@bpfkit/bad");`);
    const r = spawnSync(process.execPath, ["bad.mjs"], { cwd: work, encoding: "utf8", timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/forbidden import node:fs/);
  });
});
