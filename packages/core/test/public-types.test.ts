// The published .d.ts files as a consumer compiles them: a program that imports every package by
// name (node_modules/@bpfkit/* → package.json exports → dist/*.d.ts), strict, NodeNext and with
// skipLibCheck off, so every declaration file is checked. Core and the simulator run in browsers:
// they must compile with neither Node's types nor DOM nor lib esnext.disposable. And no .d.ts may
// need a TypeScript newer than 5.2: an inferred typed array is emitted as `Uint8Array<ArrayBuffer>`
// by the repo's TypeScript, which TS < 5.7 rejects (TS2315), so those must be annotated.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
// The cli package's node_modules links every other package, and it names itself through its
// own exports: a file there resolves all five as an installed consumer would.
const consumerDir = join(root, "packages", "cli");
const consumerFile = join(consumerDir, "public-types-consumer.ts");

const portable = `
import { createBpf, MapType, ProgType, u32, type BpfMap, type Driver } from "@bpfkit/core";
import { createSimDriver, type SimDriver } from "@bpfkit/driver-wasm-sim";

const sim: SimDriver = createSimDriver({ possibleCpus: 2 });
const driver: Driver = sim;
const bpf = createBpf({ driver, mapRoot: "/sys/fs/bpf" });

export function roundTrip(): number | undefined {
  using m: BpfMap<number, number> = bpf.newMap({ name: "cilium_test", type: MapType.Hash, key: u32, value: u32, maxEntries: 16 });
  m.openOrCreate();
  m.update(1, 2);
  return m.lookup(1);
}
export const socketFilter: number = ProgType.SocketFilter;
`;

const node = `${portable}
import * as core from "@bpfkit/core";
import * as kernel from "@bpfkit/driver-kernel";
import * as simulator from "@bpfkit/driver-wasm-sim";
import * as testkit from "@bpfkit/testkit";
import * as cli from "@bpfkit/cli";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { mountPrivateBpffs } from "@bpfkit/testkit";

export const packages = [core, kernel, simulator, testkit, cli] as const;

export function loadWithLog(): string {
  const k = createKernelDriver();
  const asDriver: Driver = k;
  const log = new Uint8Array(1 << 16);
  k.progLoad({ progType: ProgType.SocketFilter, insns: core.DUMMY_PROG_INSNS, license: "GPL", logLevel: 1, log });
  return new TextDecoder().decode(log) + asDriver.kind;
}

export function privateMount(): string {
  using fs = mountPrivateBpffs(createSimDriver());
  return fs.path;
}

export const exitCode: Promise<number> = cli.main(["--version"]);
`;

/** Parsed once for both programs: the libs they share and the packages' .d.ts. */
const parsed = new Map<string, ts.SourceFile | undefined>();

function check(source: string, options: Record<string, unknown>): string {
  const { options: compilerOptions, errors } = ts.convertCompilerOptionsFromJson(
    { strict: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", skipLibCheck: false, noEmit: true, ...options },
    consumerDir,
  );
  expect(errors).toEqual([]);
  const host = ts.createCompilerHost(compilerOptions, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.getCurrentDirectory = () => consumerDir;
  host.fileExists = (f) => f === consumerFile || fileExists.call(host, f);
  host.readFile = (f) => (f === consumerFile ? source : readFile.call(host, f));
  host.getSourceFile = (f, lang, ...rest) => {
    if (f === consumerFile) return ts.createSourceFile(f, source, lang, true);
    const key = typeof lang === "object" ? `${f}|${lang.languageVersion}|${lang.impliedNodeFormat}` : `${f}|${lang}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile.call(host, f, lang, ...rest));
    return parsed.get(key);
  };
  const program = ts.createProgram({ rootNames: [consumerFile], options: compilerOptions, host });
  const unresolved = program.getSourceFiles().filter((f) => f.fileName.includes("/packages/") && !f.fileName.includes("/dist/") && f.fileName !== consumerFile);
  expect(unresolved.map((f) => f.fileName), "resolved to sources, not to the published .d.ts").toEqual([]);
  // Every file but TypeScript's own libs, whose check would double the time and is not ours: a
  // clash of a lib the .d.ts reference with @types/node still shows, in @types/node (checked after).
  const checked = program.getSourceFiles().filter((f) => !program.isSourceFileDefaultLibrary(f));
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
  });
}

/** Every emitted .d.ts under packages/<name>/dist. */
function declarations(): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const pkg of readdirSync(join(root, "packages"))) {
    const dist = join(root, "packages", pkg, "dist");
    for (const f of readdirSync(dist, { recursive: true, encoding: "utf8" })) {
      if (f.endsWith(".d.ts")) out.push({ file: `${pkg}/dist/${f}`, text: readFileSync(join(dist, f), "utf8") });
    }
  }
  return out;
}


describe("the published types", () => {
  it("compile for a browser consumer: core and the simulator without Node's types", () => {
    expect(check(portable, { lib: ["es2022"], types: [] })).toBe("");
  });

  it("compile for a Node consumer: every package with @types/node", () => {
    expect(check(node, { lib: ["es2023"], types: ["node"] })).toBe("");
  });

  it("name no generic typed array, WebAssembly or DOM type", () => {
    const found = declarations().flatMap(({ file, text }) =>
      text.split("\n").flatMap((line, i) =>
        /^\s*(\/\/|\/?\*)/.test(line) ? [] : [...line.matchAll(/\b(?:(?:Big)?(?:Uint|Int|Float)(?:8|16|32|64)(?:Clamped)?Array<|DataView<|Buffer<|WebAssembly\.|HTML\w*Element|NodeJS\.)/g)].map((m) => `${file}:${i + 1}: ${m[0]}`),
      ),
    );
    expect(found).toEqual([]);
  });
});
