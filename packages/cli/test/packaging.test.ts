// Each package as the registry would get it: `pnpm pack` of every workspace package, read back
// from the tarball itself. Packing runs with lifecycle scripts off: the real prepack
// (scripts/prepack.mjs) deletes and rebuilds dist/, which takes a minute and would pull dist/ from
// under the other test files. So this packs the dist/ that `npm test` has just built (its
// bootstrap prunes what deleted sources left there: scripts/prune-dist.mjs).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const win = process.platform === "win32";
// The pinned pnpm that scripts/bootstrap.mjs installs.
const pnpm = join(root, ".tools", "node_modules", ".bin", win ? "pnpm.cmd" : "pnpm");

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readManifest = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Manifest;
const packages = readdirSync(join(root, "packages"))
  .filter((d) => existsSync(join(root, "packages", d, "package.json")))
  .map((dir) => ({ dir, manifest: readManifest(join(root, "packages", dir, "package.json")) }))
  .filter((p) => p.manifest.private !== true);
const versions = new Map(packages.map((p) => [p.manifest.name, p.manifest.version]));

/** A .tgz's regular files by path, without the leading `package/`. */
function readTarball(path: string): Map<string, Buffer> {
  const tar = gunzipSync(readFileSync(path));
  const files = new Map<string, Buffer>();
  let longName: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (at: number, len: number) => h.subarray(at, at + len).toString("utf8").replace(/\0[^]*$/, "");
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const type = String.fromCharCode(h[156]!);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") { longName = data.toString("utf8").replace(/\0[^]*$/, ""); continue; }
    if (type === "x") { longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"))?.[1]; continue; }
    if (type === "g") continue;
    const prefix = field(257, 6) === "ustar" ? field(345, 155) : "";
    const name = longName ?? (prefix !== "" ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (type === "0" || type === "\0") files.set(name.replace(/^package\//, ""), Buffer.from(data));
  }
  return files;
}

let out: string;
const tarballs = new Map<string, Map<string, Buffer>>();

beforeAll(() => {
  if (!existsSync(pnpm)) throw new Error(`no pnpm at ${pnpm}: run \`npm run build\` (scripts/bootstrap.mjs) first`);
  out = mkdtempSync(join(tmpdir(), "bpfkit-pack-"));
  // cmd.exe runs pnpm.cmd there; it needs the paths quoted.
  const q = (s: string) => (win ? `"${s}"` : s);
  const r = spawnSync(q(pnpm), ["-r", "--config.ignore-scripts=true", "pack", "--pack-destination", q(out), "--json"], {
    cwd: root,
    encoding: "utf8",
    shell: win,
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`pnpm pack failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  const packed = ([] as Array<{ name: string; filename: string }>).concat(JSON.parse(r.stdout));
  for (const p of packed) tarballs.set(p.name, readTarball(join(out, basename(p.filename))));
}, 120_000);

afterAll(() => {
  if (out !== undefined) rmSync(out, { recursive: true, force: true });
});

it("packs every package of the workspace", () => {
  expect([...tarballs.keys()].sort()).toEqual(packages.map((p) => p.manifest.name).sort());
});

describe.each(packages.map((p) => [p.manifest.name, p] as const))("%s", (name, { dir, manifest }) => {
  const files = () => {
    const f = tarballs.get(name);
    if (f === undefined) throw new Error(`${name} was not packed`);
    return f;
  };
  const paths = () => [...files().keys()].sort();
  const packedManifest = () => JSON.parse(files().get("package.json")?.toString("utf8") ?? "{}") as Manifest;
  const binPaths = () => {
    const bin = manifest.bin;
    return bin === undefined ? [] : typeof bin === "string" ? [bin] : Object.values(bin);
  };
  const rel = (p: string) => posix.normalize(p).replace(/^\.\//, "");

  it("ships README.md, LICENSE, package.json, dist/index.js, dist/index.d.ts and all its manifest points at", () => {
    const targets = [manifest.types, ...binPaths()];
    for (const e of Object.values(manifest.exports ?? {})) targets.push(...(typeof e === "string" ? [e] : Object.values(e)));
    const wanted = ["README.md", "LICENSE", "package.json", "dist/index.js", "dist/index.d.ts", ...targets.filter((t) => t !== undefined).map(rel)];
    expect(wanted.filter((f) => !files().has(f))).toEqual([]);
    expect(packedManifest().exports?.["./package.json"]).toBe("./package.json");
    // pnpm falls back to the workspace root's LICENSE; either way it must be the license declared.
    expect(manifest).toMatchObject({ license: "Apache-2.0" });
    expect(files().get("LICENSE")?.toString("utf8")).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s/);
  });

  it("ships nothing but package.json, README.md, LICENSE, dist/, src/ and its bin", () => {
    const allowed = new Set(["package.json", "README.md", "LICENSE", "dist", "src", ...binPaths().map((b) => rel(b).split("/")[0]!)]);
    expect(paths().filter((f) => !allowed.has(f.split("/")[0]!))).toEqual([]);
  });

  it("ships no .tsbuildinfo", () => {
    expect(paths().filter((f) => f.endsWith(".tsbuildinfo"))).toEqual([]);
  });

  it("ships no tests", () => {
    expect(paths().filter((f) => /(^|\/)(test|tests|__tests__)\//.test(f) || /\.(test|spec)\.[^/]*$/.test(f))).toEqual([]);
  });

  it("ships no stale output: every file in dist/ is built from a source in src/", () => {
    const stale = paths().filter((f) => {
      if (!f.startsWith("dist/")) return false;
      const m = /^dist\/(.*)\.(?:js|d\.ts)(?:\.map)?$/.exec(f);
      return m === null || !files().has(`src/${m[1]}.ts`);
    });
    expect(stale, `stale output in packages/${dir}/dist: \`npm run build\` prunes it`).toEqual([]);
  });

  it("ships the sources its source maps point at", () => {
    const missing: string[] = [];
    for (const f of paths().filter((p) => p.endsWith(".map"))) {
      let map: { sources?: string[]; sourceRoot?: string };
      try {
        map = JSON.parse(files().get(f)!.toString("utf8")) as typeof map;
      } catch {
        missing.push(`${f}: not a source map`);
        continue;
      }
      for (const s of map.sources ?? []) {
        const target = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? "", s));
        if (!files().has(target)) missing.push(`${f} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("depends on the other packages by caret ranges, with no workspace: left after packing", () => {
    const m = packedManifest();
    const wrong: string[] = [];
    for (const deps of [m.dependencies, m.peerDependencies, m.optionalDependencies, m.devDependencies]) {
      for (const [dep, range] of Object.entries(deps ?? {})) {
        const v = versions.get(dep);
        if (range.startsWith("workspace:") || (v !== undefined && range !== `^${v}`)) wrong.push(`${dep}@${range}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

// `npm pack` copies package.json as written, so `workspace:^` would reach the tarball and make it
// uninstallable; the packages' prepack refuses it, before it deletes dist/. Run on a copy of the
// script in a scratch tree laid out like this repository, so that nothing here is rebuilt.
describe("scripts/prepack.mjs", () => {
  const packIn = (deps: Record<string, string>, agent: string) => {
    const tree = mkdtempSync(join(tmpdir(), "bpfkit-prepack-"));
    const pkg = join(tree, "packages", "driver-kernel");
    mkdirSync(join(tree, "scripts"));
    mkdirSync(join(pkg, "dist"), { recursive: true });
    copyFileSync(join(root, "scripts", "prepack.mjs"), join(tree, "scripts", "prepack.mjs"));
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "@bpfkit/driver-kernel", version: "0.1.0", dependencies: deps }));
    writeFileSync(join(pkg, "tsconfig.json"), "{}");
    writeFileSync(join(pkg, "dist", "index.js"), "");
    const r = spawnSync(process.execPath, [join(tree, "scripts", "prepack.mjs")], {
      cwd: pkg, encoding: "utf8", timeout: 30_000, env: { ...process.env, npm_config_user_agent: agent },
    });
    const distKept = existsSync(join(pkg, "dist", "index.js"));
    rmSync(tree, { recursive: true, force: true });
    return { status: r.status, stderr: r.stderr, distKept };
  };

  it("refuses npm pack of a package that depends on another by workspace:, naming it, and leaves dist/ alone", () => {
    const r = packIn({ "@bpfkit/core": "workspace:^" }, "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("prepack: npm pack would leave @bpfkit/core@workspace:^ in @bpfkit/driver-kernel's package.json, which npm cannot install");
    expect(r.stderr).toContain("`npm run pack` at the repository root");
    expect(r.distKept).toBe(true);
  });

  it("lets pnpm pack it (it writes the version), and npm pack a package with no workspace: dependency", () => {
    // Past the check, the scratch tree has no TypeScript to rebuild with: the rebuild fails, but
    // only after dist/ was deleted, which shows that the check let it through.
    for (const [deps, agent] of [
      [{ "@bpfkit/core": "workspace:^" }, "pnpm/12.4.2 npm/? node/? linux x64"],
      [{ koffi: "3.3.4" }, "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false"],
    ] as const) {
      const r = packIn(deps, agent);
      expect(r.stderr, agent).not.toContain("npm pack would leave");
      expect(r.distKept, agent).toBe(false);
    }
  });
});

// What a project outside the repository gets from the tarballs of core and the kernel driver, as
// the READMEs promise it: types under `"module": "nodenext"` (an ES module and a CommonJS
// project) and `"moduleResolution": "bundler"`, without @types/node, and `import` and `require()`
// at run time (Node 20.19+). koffi is not needed for either: it loads on the first driver call.
describe("a project that installs the core and kernel-driver tarballs", () => {
  let app: string;
  const consumer = [
    `import { createBpf, MapType, newDumpStats, struct, ipv4, be16, u8, u64, type MetricsHook } from "@bpfkit/core";`,
    `import { createKernelDriver, kernelDriverUnavailable, type KernelDriver } from "@bpfkit/driver-kernel";`,
    `const tuple = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 });`,
    `const metrics: MetricsHook = { mapOp: () => {} };`,
    `export function gc(): string | undefined {`,
    `  const why = kernelDriverUnavailable();`,
    `  if (why !== undefined) return why;`,
    `  const driver: KernelDriver = createKernelDriver();`,
    `  const ct = createBpf({ driver, metrics }).newMap({ name: "ct", type: MapType.LRUHash, key: tuple, value: u64, maxEntries: 8 });`,
    `  const stats = newDumpStats(ct);`,
    `  ct.dumpReliablyWithCallback((k, v) => { const port: number = k.sport; const n: bigint = v; void port; void n; }, stats);`,
    `  return undefined;`,
    `}`,
  ].join("\n");

  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), "bpfkit-consumer-"));
    for (const [name, dir] of [["@bpfkit/core", "core"], ["@bpfkit/driver-kernel", "driver-kernel"]] as const) {
      for (const [path, data] of tarballs.get(name) ?? []) {
        const to = join(app, "node_modules", "@bpfkit", dir, path);
        mkdirSync(dirname(to), { recursive: true });
        writeFileSync(to, data);
      }
    }
    for (const [dir, type] of [["esm", "module"], ["cjs", "commonjs"]] as const) {
      mkdirSync(join(app, dir));
      writeFileSync(join(app, dir, "package.json"), JSON.stringify({ name: `consumer-${dir}`, private: true, type }));
      writeFileSync(join(app, dir, "index.ts"), consumer);
    }
  });

  afterAll(() => {
    if (app !== undefined) rmSync(app, { recursive: true, force: true });
  });

  const typeErrors = (dir: string, options: ts.CompilerOptions) => {
    const program = ts.createProgram([join(app, dir, "index.ts")], { strict: true, noEmit: true, types: [], target: ts.ScriptTarget.ES2022, ...options });
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  };

  it.each([
    ["an ES module, nodenext", "esm", { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }],
    ["an ES module, bundler", "esm", { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }],
    ["CommonJS, nodenext", "cjs", { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }],
  ] as const)("type-checks as %s", (_, dir, options) => {
    expect(typeErrors(dir, options)).toEqual([]);
  }, 60_000);

  it("is imported and required by Node", () => {
    const probe = `.createBpf === "function" && typeof k.createKernelDriver === "function" && typeof k.kernelDriverAvailable === "function"`;
    const runs = [
      ["esm", ["--input-type=module", "-e", `import * as c from "@bpfkit/core"; import * as k from "@bpfkit/driver-kernel"; console.log(typeof c${probe});`]],
      ["cjs", ["-e", `const c = require("@bpfkit/core"); const k = require("@bpfkit/driver-kernel"); console.log(typeof c${probe});`]],
    ] as const;
    for (const [dir, args] of runs) {
      const r = spawnSync(process.execPath, [...args], { cwd: join(app, dir), encoding: "utf8", timeout: 30_000 });
      expect(`${r.stdout}${r.stderr}`.trim(), dir).toBe("true");
    }
  });
});
