// The TypeScript in the READMEs and docs/ is code users copy, so it is checked as code:
// every ```ts block type-checks against the packages' sources, and the self-contained ones run,
// with each `console.log(…)   // output` comment compared with what the line printed.
// A block fenced ```ts sketch is an outline in TypeScript's clothes and is only counted.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { format } from "node:util";
import ts from "typescript";
import { afterEach, describe, expect, it } from "vitest";
import { Errno, wrapDriver } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { kernelUnderTest, runDifferential } from "@bpfkit/testkit";

const root = fileURLToPath(new URL("../../..", import.meta.url));

interface Snippet {
  file: string;      // relative to the repository root
  line: number;      // of the block's first code line in that file
  sketch: boolean;
  code: string;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  const readmes = readdirSync(join(root, "packages")).map((p) => `packages/${p}/README.md`);
  const examples = readdirSync(join(root, "examples")).map((e) => `examples/${e}/README.md`);
  // READMEs inside a package's sources, beside the code they describe.
  const inner = ["packages/testkit/src/conformance/README.md", "packages/driver-wasm-sim/assembly/README.md"];
  return ["README.md", ...readmes, ...inner, ...examples, ...docs];
}

function snippets(): Snippet[] {
  const out: Snippet[] = [];
  for (const file of markdownFiles()) {
    const lines = readFileSync(join(root, file), "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      const fence = /^```ts( sketch)?$/.exec(lines[i]!);
      if (!fence) continue;
      const end = lines.indexOf("```", i + 1);
      if (end < 0) throw new Error(`${file}:${i + 1}: a \`\`\`ts block that never closes`);
      out.push({ file, line: i + 2, sketch: fence[1] !== undefined, code: lines.slice(i + 1, end).join("\n") });
      i = end;
    }
  }
  return out;
}

// What a fragment assumes from the page around it, declared so that the rest of it is checked.
// Each entry names its block by a line only it holds; an entry whose block is gone fails.
const DRIVER = `import type { Driver } from "@bpfkit/core";\n`;
const SIM = `import { createSimDriver } from "@bpfkit/driver-wasm-sim";\ndeclare const sim: ReturnType<typeof createSimDriver>;\n`;
const PRELUDES: { file: string; holds: string; prelude: string }[] = [
  { file: "packages/driver-kernel/README.md", holds: "d.mapUpdateElem(fd, key, value)", prelude: "declare const key: Uint8Array, value: Uint8Array;\n" },
  {
    file: "docs/testing.md", holds: "for (const d of driversUnderTest())",
    prelude: `import { describe, it } from "vitest";\nimport { createBpf } from "@bpfkit/core";\n`,
  },
  {
    file: "docs/testing.md", holds: "sim.faults.inject(\"mapDeleteElem\"",
    prelude: `${SIM}import { Errno, type Bpf } from "@bpfkit/core";\ndeclare const bpf: Bpf;\n`,
  },
  {
    file: "docs/testing.md", holds: "result.alreadyGone++",
    prelude: `import type { Bpf, BpfMap, DumpAlgorithm, DumpStats } from "@bpfkit/core";\n` +
      `import type { CtKey, CtEntry } from "./examples/conntrack-gc/conntrack.js";\n` +
      `declare const bpf: Bpf, map: BpfMap<CtKey, CtEntry>, stats: DumpStats, algorithm: DumpAlgorithm;\n` +
      `declare const result: { scanned: number; deleted: number; alreadyGone: number; failed: number };\n`,
  },
  {
    file: "docs/testing.md", holds: "myCachingDriver(createSimDriver",
    prelude: `${DRIVER}import { createSimDriver } from "@bpfkit/driver-wasm-sim";\nimport { expect } from "vitest";\ndeclare function myCachingDriver(d: Driver): Driver;\n`,
  },
  { file: "docs/testing.md", holds: "runConformance(() => myDriver())", prelude: `${DRIVER}declare function myDriver(): Driver;\n` },
  { file: "docs/writing-a-driver.md", holds: "wrapDriver(inner, {", prelude: `${DRIVER}declare const inner: Driver;\n` },
  { file: "packages/testkit/src/conformance/README.md", holds: "() => makeMyDriver()", prelude: `${DRIVER}declare function makeMyDriver(): Driver;\n` },
  { file: "docs/writing-a-driver.md", holds: "runConformance(() => createProxyDriver()", prelude: `${DRIVER}declare function createProxyDriver(): Driver;\n` },
  ...["runConformance(() => createMyDriver()", "defineConformanceTests({ describe, it }", "runDifferential({ left: () => createMyDriver()"].map((holds) => ({
    file: "docs/writing-a-driver.md", holds, prelude: `${DRIVER}declare function createMyDriver(): Driver;\n`,
  })),
];

// Blocks that run as they stand, on the simulator. `swap` names the one edit a block's own
// comment offers (the README's example says "or createSimDriver()"): it must pin the host's
// /sys/fs/bpf on the kernel, so it runs on the simulator's.
const RUNS: { file: string; holds: string; swap?: [string, string] }[] = [
  {
    file: "README.md", holds: "const ct = bpf.newMap(",
    swap: [`import { createKernelDriver } from "@bpfkit/driver-kernel";`, `import { createSimDriver as createKernelDriver } from "@bpfkit/driver-wasm-sim";`],
  },
  { file: "packages/core/README.md", holds: "counts.update(443, 1n);" },
  { file: "docs/bpf-instance-and-codecs.md", holds: ".withPressureMetric();" },
  { file: "docs/bpf-instance-and-codecs.md", holds: ".withEvents({ maxSize: 128, ttlMs: 60_000 });" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "cilium_lxc:pending" },
  { file: "docs/writing-a-driver.md", holds: "counted(createSimDriver(), counts)" },
  { file: "packages/cli/README.md", holds: "await main([\"probe\"" },
  { file: "packages/driver-wasm-sim/README.md", holds: "createSimDriver({ seed: 1 })" },
  { file: "docs/testing.md", holds: "sim.datapath.update(m, key, encodeToBytes(" },
  { file: "docs/testing.md", holds: "e instanceof IterationAbortedError" },
  { file: "docs/testing.md", holds: "closed.push(flows.keyCodec.decode(call.key))" },
  { file: "docs/testing.md", holds: "frees 64 / 4 / 2 = 8 at once" },
  { file: "docs/testing.md", holds: "const openMapFds = (sim: SimDriver)" },
  { file: "docs/testing.md", holds: "using _play = playInterleaving(sim, steps" },
  { file: "docs/testing.md", holds: "implementations: { walk: myWalk } });" },
  { file: "docs/testing.md", holds: "createSimDriver({ pageSize: 65536 })" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "type: MapType.HashOfMaps" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "kernelName: \"ct4_global\"" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "progName: \"uses_counts\"" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "for (const id of bpf.mapIds())" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "bpf.openMap(\"ct\", rawCodecs)" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "counts.update(8080, 1n);" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "{ readOnly: true });" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "name: \"fdinfo_demo\"" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "mem.storeField(0, \"sampleRate\", 100);" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "rodata.freeze();" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "sim.datapath.ringbufSubmit(held);" },
  { file: "docs/bpf-instance-and-codecs.md", holds: "sim.datapath.perfEventOutput(" },
  { file: "docs/coming-from-cilium-ebpf.md", holds: "counts.checkCompatible(spec);" },
  { file: "docs/coming-from-cilium-ebpf.md", holds: "nothing pinned yet: openOrCreate creates it" },
  { file: "docs/btf.md", holds: "btfForMap(ctKey, u64)" },
  { file: "docs/btf.md", holds: "btfForMap(u32, counters)" },
  { file: "docs/btf.md", holds: "flows.lookup(7, BPF_F_LOCK)" },
];

function findOne(all: Snippet[], file: string, holds: string): Snippet {
  const found = all.filter((s) => s.file === file && s.code.includes(holds));
  if (found.length !== 1) throw new Error(`${file}: ${found.length} \`\`\`ts blocks hold ${JSON.stringify(holds)}, want 1`);
  return found[0]!;
}

const all = snippets();

describe("the TypeScript in the READMEs and docs/", () => {
  it("finds the blocks, and every prelude and run names exactly one of them", () => {
    expect(all.length).toBeGreaterThanOrEqual(20);
    expect(all.filter((s) => s.sketch).map((s) => s.file)).toEqual(["docs/writing-a-driver.md", "docs/writing-a-driver.md"]);
    for (const p of [...PRELUDES, ...RUNS]) expect(() => findOne(all, p.file, p.holds)).not.toThrow();
  });

  it("type-checks every block but the sketches against the sources, as a user's strict tsconfig would", () => {
    const config = ts.readConfigFile(join(root, "tsconfig.tests.json"), ts.sys.readFile);
    const options: ts.CompilerOptions = {
      ...ts.parseJsonConfigFileContent(config.config, ts.sys, root).options,
      // A block shows a call; what it declares and never reads is the reader's to use.
      noUnusedLocals: false,
    };
    // Virtual files beside the repository's root, so relative imports resolve from there; each
    // is a module (`export {}`) so that two blocks' names never meet.
    const virtual = new Map<string, { s: Snippet; preludeLines: number }>();
    const text = new Map<string, string>();
    all.filter((s) => !s.sketch).forEach((s, i) => {
      const prelude = PRELUDES.find((p) => p.file === s.file && s.code.includes(p.holds))?.prelude ?? "";
      const path = join(root, `doc-snippet-${i}.ts`);
      virtual.set(path, { s, preludeLines: prelude.split("\n").length - 1 });
      text.set(path, `${prelude}${s.code}\nexport {};\n`);
    });
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => text.has(f) || fileExists.call(host, f);
    host.readFile = (f) => text.get(f) ?? readFile.call(host, f);
    host.getSourceFile = (f, lang, ...rest) => {
      const t = text.get(f);
      return t !== undefined ? ts.createSourceFile(f, t, lang) : getSourceFile.call(host, f, lang, ...rest);
    };
    const program = ts.createProgram([...text.keys()], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      const at = d.file && virtual.get(d.file.fileName);
      if (!d.file || d.start === undefined) return message;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      if (!at) return `${relative(root, d.file.fileName)}:${line + 1}: ${message}`;
      return line < at.preludeLines
        ? `${at.s.file}:${at.s.line} (its prelude): ${message}`
        : `${at.s.file}:${at.s.line + line - at.preludeLines}: ${message}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);

  describe("runs each self-contained block and compares its printed lines with its comments", () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
      delete (globalThis as { __docLog?: unknown }).__docLog;
    });

    for (const r of RUNS) {
      it(`${r.file}: ${r.holds}`, async () => {
        const s = findOne(all, r.file, r.holds);
        let code = s.code;
        if (r.swap) {
          expect(code).toContain(r.swap[0]);
          code = code.replace(r.swap[0], r.swap[1]);
        }
        // Each console.log reports the line it sits on; `// text` after it is the output it shows.
        const lines = code.split("\n");
        const printed = new Map<number, string[]>();
        (globalThis as { __docLog?: unknown }).__docLog = (line: number, ...args: unknown[]) => {
          printed.set(line, [...(printed.get(line) ?? []), format(...args)]);
        };
        const source = lines.map((l, i) => l.replaceAll("console.log(", `(globalThis as any).__docLog(${i}, `)).join("\n");
        dir = mkdtempSync(join(tmpdir(), "bpfkit-doc-snippet-"));
        const path = join(dir, "snippet.ts");
        writeFileSync(path, `${source}\nexport {};\n`);
        await import(/* @vite-ignore */ path);

        const shown = lines.flatMap((l, i) => {
          const m = /console\.log\(.*\);\s*\/\/\s*(.+)$/.exec(l);
          return m ? [{ at: `${s.file}:${s.line + i}`, want: m[1]!.trim(), got: printed.get(i)?.[0] }] : [];
        });
        for (const { at, want, got } of shown) expect(got, at).toBe(want);
        // Every console.log in the block ran.
        const logs = lines.flatMap((l, i) => (l.includes("console.log(") ? [i] : []));
        for (const i of logs) expect(printed.has(i), `${s.file}:${s.line + i} never printed`).toBe(true);
      });
    }
  });
});


/**
 * Whether `shown`, a sample output in a doc where `…` stands for text left out (a line of `…`
 * alone, for lines left out), is what `actual` printed. Returns the first line that is not, or
 * undefined.
 */
export function sampleMismatch(shown: string[], actual: string[]): string | undefined {
  const fits = (want: string, got: string) => {
    const parts = want.split("…");
    if (!got.startsWith(parts[0]!) || !got.endsWith(parts[parts.length - 1]!)) return false;
    let at = parts[0]!.length;
    for (const p of parts.slice(1, -1)) {
      const i = got.indexOf(p, at);
      if (i < 0) return false;
      at = i + p.length;
    }
    return parts.length === 1 ? got === want : at <= got.length - parts[parts.length - 1]!.length;
  };
  let a = 0;
  for (let i = 0; i < shown.length; i++) {
    const want = shown[i]!;
    if (want.trim() === "…") {
      const next = shown[i + 1];
      if (next === undefined) return undefined;
      while (a < actual.length && !fits(next, actual[a]!)) a++;
      continue;
    }
    if (a >= actual.length || !fits(want, actual[a]!)) return `${want}\n  printed: ${actual[a] ?? "(nothing more)"}`;
    a++;
  }
  return undefined;
}

describe("sample outputs in the docs are what the code prints", () => {
  it("sampleMismatch: … stands for left-out text within a line, and a line of … for left-out lines", () => {
    expect(sampleMismatch(["a …x… b", "  …", "z"], ["a 1x2 b", "c", "d", "z"])).toBeUndefined();
    expect(sampleMismatch(["a", "b"], ["a", "c"])).toContain("printed: c");
    expect(sampleMismatch(["a …y… b"], ["a 1x2 b"])).toBeDefined();
  });

  it("docs/testing.md: the dump fuzzer's report on the slipping walk", async () => {
    const s = findOne(all, "docs/testing.md", "implementations: { walk: myWalk } });");
    const print = "console.log(s.ok, s.violations[0]?.messages[0]);";
    expect(s.code).toContain(print);
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-doc-sample-"));
    try {
      const path = join(dir, "sample.ts");
      writeFileSync(path, `${s.code.replace(print, "(globalThis as any).__docReport = s.report;")}\nexport {};\n`);
      await import(/* @vite-ignore */ path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const report = String((globalThis as { __docReport?: unknown }).__docReport).split("\n");
    delete (globalThis as { __docReport?: unknown }).__docReport;
    const lines = readFileSync(join(root, "docs/testing.md"), "utf8").split("\n");
    const start = lines.findIndex((l) => l.startsWith("minimal case (walk; replay: seed 1"));
    expect(start).toBeGreaterThan(0);
    const shown = lines.slice(start, lines.indexOf("```", start));
    const first = report.findIndex((l) => l.startsWith("minimal case"));
    expect(sampleMismatch(shown, report.slice(first))).toBeUndefined();
  });

  const kernel = kernelUnderTest();
  it.skipIf(kernel.unavailable !== undefined)("docs/testing.md: the differential runner's summary of a mutant that drops the last batch's elements", async () => {
    // The mutant as the page describes it; its timings are the machine's, so they are not compared.
    const mutant = () => {
      const k = createKernelDriver();
      return wrapDriver(k, {
        kind: "mutant",
        mapLookupBatch: (fd, inBatch, outBatch, keys, values, count) => {
          const r = k.mapLookupBatch(fd, inBatch, outBatch, keys, values, count);
          return r.errno === Errno.ENOENT ? { errno: r.errno, count: 0 } : r;
        },
      });
    };
    const summary = await runDifferential({ left: mutant, right: "kernel", runs: 100, seed: 7 });
    const lines = readFileSync(join(root, "docs/testing.md"), "utf8").split("\n");
    const start = lines.findIndex((l) => l.startsWith("mutant vs kernel: DIFFER on"));
    expect(start).toBeGreaterThan(0);
    const shown = lines.slice(start, lines.indexOf("```", start));
    const report = summary.report.split("\n");
    const untimed = (l: string) => l.replace(/[0-9,]+ ops\/s/, "N ops/s").replace(/ in [0-9.]+ s/g, "");
    expect(sampleMismatch(shown.map(untimed), report.map(untimed))).toBeUndefined();
  }, 120_000);
});
