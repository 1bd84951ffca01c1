#!/usr/bin/env node
// bpfkit's benchmark runner: builds the C baseline once (bench/.build/, git-ignored), runs every
// bench/sections/*.mjs in name order, and writes bench/RESULTS.md. A section exports
//   async function run(ctx) → [{ section, case, ns_per_op, c_ns_per_op?, ratio?, target?, note? }]
// and uses ctx (below) for the C baseline, the built packages and the clocks.
// Run it as `npm run bench` (builds the packages first) or `node bench/run.mjs [section …]`.
// BENCH_QUICK=1 shrinks every section's work for a smoke run.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, "..");
const buildDir = join(benchDir, ".build");
const quick = process.env.BENCH_QUICK === "1";

/** Compiles bench/c/baseline.c with the machine's gcc when the source is newer than the binary. */
function buildBaseline() {
  const src = join(benchDir, "c", "baseline.c");
  const bin = join(buildDir, "baseline");
  mkdirSync(buildDir, { recursive: true });
  let fresh = false;
  try {
    fresh = statSync(bin).mtimeMs >= statSync(src).mtimeMs;
  } catch {}
  if (!fresh) execFileSync("gcc", ["-O2", "-Wall", "-Wextra", "-o", bin, src], { stdio: "inherit" });
  return bin;
}

/** Where this Node's N-API headers are: beside its binary (official builds), or the distro's. */
function nodeIncludeDir() {
  const candidates = [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node", "/usr/local/include/node"];
  return candidates.find((dir) => existsSync(join(dir, "node_api.h")));
}

/**
 * Builds and loads bench/c/napi-floor.c (one N-API function around the bpf syscall), or says
 * why it cannot: it needs gcc and Node's headers, which a machine with only Node and npm lacks.
 */
function napiFloor() {
  const include = nodeIncludeDir();
  if (include === undefined) return { reason: "no node_api.h beside node or in /usr/include/node" };
  const src = join(benchDir, "c", "napi-floor.c");
  const bin = join(buildDir, "napi-floor.node");
  try {
    mkdirSync(buildDir, { recursive: true });
    let fresh = false;
    try {
      fresh = statSync(bin).mtimeMs >= statSync(src).mtimeMs;
    } catch {}
    if (!fresh) execFileSync("gcc", ["-O2", "-Wall", "-shared", "-fPIC", `-I${include}`, "-o", bin, src], { stdio: "inherit" });
    return { addon: createRequire(import.meta.url)(bin) };
  } catch (e) {
    return { reason: `cannot build the N-API floor: ${e.message.split("\n")[0]}` };
  }
}

/** CLOCK_THREAD_CPUTIME_ID through koffi (what the C baseline reads), else process CPU time. */
function threadCpuClock() {
  try {
    const req = createRequire(join(root, "packages", "driver-kernel", "package.json"));
    const koffi = req("koffi");
    const clockGettime = koffi.load("libc.so.6").func("int clock_gettime(int clock, _Out_ uint8_t *ts)");
    const ts = new Uint8Array(16);
    const dv = new DataView(ts.buffer);
    const CLOCK_THREAD_CPUTIME_ID = 3;
    return () => {
      clockGettime(CLOCK_THREAD_CPUTIME_ID, ts);
      return Number(dv.getBigInt64(0, true)) * 1e9 + Number(dv.getBigInt64(8, true));
    };
  } catch {
    return () => {
      const u = process.cpuUsage();
      return (u.user + u.system) * 1e3;
    };
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** min and median of per-round figures, wall and CPU. */
function summarize(rounds) {
  const wall = rounds.map((r) => r.ns_per_op);
  const cpu = rounds.map((r) => r.cpu_ns_per_op);
  return { min: Math.min(...wall), median: median(wall), cpuMin: Math.min(...cpu), cpuMedian: median(cpu), rounds: rounds.length };
}

/**
 * The ratio js/C from alternations run back to back, judged two ways and reported as the larger:
 * - paired: each alternation's fastest CPU round of one side over the other's, then the median
 *   over alternations. The machine's speed drifts for seconds at a time (another tenant, DAMON),
 *   and a pair measured together drifts together.
 * - overall: the fastest CPU round of each side over the whole run. A slow phase only ever adds
 *   time, so each side's fastest round is its quietest.
 * Either alone has been fooled on a noisy day (a paired median of 1.15 where every round said
 * 1.3); a target counts as met only when both agree.
 */
function pairedRatio(pairs) {
  const ratios = pairs.map(({ js, c }) => summarize(js).cpuMin / summarize(c).cpuMin);
  const paired = median(ratios);
  const overall = summarize(pairs.flatMap((p) => p.js)).cpuMin / summarize(pairs.flatMap((p) => p.c)).cpuMin;
  const low = Math.min(...ratios), high = Math.max(...ratios);
  return {
    ratio: Math.max(paired, overall), paired, overall, low, high, pairs: ratios.length,
    note: `ratio: the larger of the median of ${ratios.length} back-to-back pairs (${paired.toFixed(3)}; ` +
      `${low.toFixed(3)}–${high.toFixed(3)}) and the fastest rounds overall (${overall.toFixed(3)})`,
  };
}

/**
 * Fills a HASH map (key u32, value u64) with keys 0..n-1 and values key × 3, through
 * UPDATE_BATCH, as the C baseline's populate does (untimed setup).
 */
function populateHash(driver, fd, n) {
  const chunk = 65536;
  const keys = new Uint8Array(chunk * 4), values = new Uint8Array(chunk * 8);
  const kv = new DataView(keys.buffer), vv = new DataView(values.buffer);
  for (let start = 0; start < n; start += chunk) {
    const c = Math.min(chunk, n - start);
    for (let i = 0; i < c; i++) {
      kv.setUint32(i * 4, start + i, true);
      vv.setBigUint64(i * 8, BigInt((start + i) * 3), true);
    }
    const r = driver.mapUpdateBatch(fd, keys.subarray(0, c * 4), values.subarray(0, c * 8), c);
    if (r.errno !== 0 || r.count !== c) throw new Error(`populate: errno ${r.errno}, count ${r.count}`);
  }
}

function makeContext(baseline) {
  const cpuNs = threadCpuClock();
  return {
    root,
    quick,
    /** Imports a built workspace package (`packages/<name>/dist/index.js`). */
    import: (name) => import(pathToFileURL(join(root, "packages", name, "dist", "index.js")).href),
    /**
     * Runs the C baseline: `mode` is lookup | update | walk | batch-dump | dump-1m | getppid;
     * args { entries, rounds, batch, flags (the hash's map_flags; 0, pre-allocated, by default) }.
     * Returns its rounds
     * ({ mode, round, ops, ns_per_op, cpu_ns_per_op }).
     */
    cBaseline(mode, args = {}) {
      const argv = [mode, String(args.entries ?? (mode === "dump-1m" ? 1_000_000 : 100_000)), String(args.rounds ?? 5), String(args.batch ?? 8192), String(args.flags ?? 0)];
      const out = execFileSync(baseline, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
      return out.trim().split("\n").map((line) => JSON.parse(line));
    },
    /** This thread's CPU time in ns (user + system), the clock the C baseline reads too. */
    cpuNs,
    /** Times `fn` (which does the work and returns how many ops it did) for `rounds` rounds. */
    measure(fn, rounds = 5) {
      const out = [];
      for (let i = 0; i < rounds; i++) {
        const t0 = process.hrtime.bigint();
        const c0 = cpuNs();
        const ops = fn();
        const c1 = cpuNs();
        const t1 = process.hrtime.bigint();
        out.push({ ops, ns_per_op: Number(t1 - t0) / ops, cpu_ns_per_op: (c1 - c0) / ops });
      }
      return out;
    },
    summarize,
    median,
    pairedRatio,
    populateHash,
    napiFloor,
  };
}

function cpuModel() {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
  return m ? m[1].trim() : (cpus()[0]?.model ?? "unknown");
}

const fmt = (x, digits = 1) => (x === undefined || x === null ? "" : typeof x === "number" ? x.toFixed(digits) : String(x));

function table(rows) {
  const lines = [
    "| case | ns/op | C ns/op | ratio | target | met | note |",
    "|---|---:|---:|---:|---:|:-:|---|",
  ];
  for (const r of rows) {
    const met = r.ratio === undefined || r.target === undefined ? "" : r.ratio <= r.target ? "yes" : "**no**";
    lines.push(`| ${r.case} | ${fmt(r.ns_per_op)} | ${fmt(r.c_ns_per_op)} | ${fmt(r.ratio, 3)} | ${r.target === undefined ? "" : `≤ ${r.target}`} | ${met} | ${r.note ?? ""} |`);
  }
  return lines.join("\n");
}

/**
 * Runs a section `mod.repeat` times (1 in quick mode) and keeps, for each case, the run whose
 * ratio (else ns/op) is the median, noting the range over the runs. On this VM a whole section's
 * figures move with phases that outlast it; one run can land anywhere in that range.
 */
async function runRepeated(mod, ctx) {
  const repeat = quick ? 1 : Math.max(1, mod.repeat ?? 1);
  const runs = [];
  for (let i = 0; i < repeat; i++) {
    if (repeat > 1) process.stderr.write(`  run ${i + 1} of ${repeat}\n`);
    runs.push(await mod.run(ctx));
  }
  if (repeat === 1) return runs[0];
  return runs[0].map((first, at) => {
    const same = runs.map((rows) => rows.find((r) => r.section === first.section && r.case === first.case) ?? rows[at]);
    const key = (r) => (r.ratio !== undefined ? r.ratio : r.ns_per_op);
    const sorted = [...same].sort((a, b) => key(a) - key(b));
    const mid = sorted[(sorted.length - 1) >> 1];
    const what = first.ratio !== undefined ? "ratio" : "ns/op";
    const lo = key(sorted[0]), hi = key(sorted[sorted.length - 1]);
    const digits = first.ratio !== undefined ? 3 : 1;
    if (!Number.isFinite(lo)) return mid;
    return { ...mid, note: `${mid.note ? `${mid.note}; ` : ""}the median of ${repeat} runs of the section (${what} ${lo.toFixed(digits)}–${hi.toFixed(digits)})` };
  });
}

/** The `## section` blocks of an earlier RESULTS.md, by name, in order. */
function previousSections(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return new Map();
  }
  const blocks = new Map();
  const parts = text.split(/^## /m).slice(1);
  for (const part of parts) {
    const nl = part.indexOf("\n");
    blocks.set(part.slice(0, nl).trim(), `## ${part.trimEnd()}\n`);
  }
  return blocks;
}

async function main() {
  const only = process.argv.slice(2);
  const sectionsDir = join(benchDir, "sections");
  const files = readdirSync(sectionsDir).filter((f) => f.endsWith(".mjs")).sort()
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
  const ctx = makeContext(buildBaseline());
  const blocks = new Map();
  for (const file of files) {
    process.stderr.write(`bench: ${file}\n`);
    const started = new Date();
    const loadBefore = loadavg();
    const mod = await import(pathToFileURL(join(sectionsDir, file)).href);
    if (typeof mod.run !== "function") {
      process.stderr.write(`bench: ${file} exports no run(ctx); skipped\n`);
      continue;
    }
    let rows;
    try {
      rows = await runRepeated(mod, ctx);
    } catch (e) {
      // One broken section must not cost the others their results; the exit code tells.
      process.stderr.write(`bench: ${file} failed: ${e?.stack ?? e}\n`);
      process.exitCode = 1;
      rows = [{ section: file.replace(/\.mjs$/, ""), case: "section failed", ns_per_op: Number.NaN, note: String(e?.message ?? e).split("\n")[0] }];
    }
    const loadAfter = loadavg();
    for (const r of rows) process.stderr.write(`  ${r.section} / ${r.case}: ${fmt(r.ns_per_op)} ns/op${r.ratio !== undefined ? ` (×${fmt(r.ratio, 3)} C)` : ""}\n`);
    const bySection = new Map();
    for (const r of rows) {
      if (!bySection.has(r.section)) bySection.set(r.section, []);
      bySection.get(r.section).push(r);
    }
    const load = (l) => l.map((x) => x.toFixed(2)).join(" / ");
    for (const [name, sectionRows] of bySection) {
      blocks.set(name, [
        `## ${name}`, "",
        `Measured ${started.toISOString()} by \`bench/sections/${file}\`${quick ? " with BENCH_QUICK=1 (reduced work)" : ""}; load average (1/5/15 min) ${load(loadBefore)} before, ${load(loadAfter)} after.`,
        "",
        // A file that writes several sections may say what each is (about: { [section]: text }).
        ...((typeof mod.about === "string" ? mod.about : mod.about?.[name]) ? [typeof mod.about === "string" ? mod.about : mod.about[name], ""] : []),
        table(sectionRows), "",
      ].join("\n"));
    }
  }
  // A run of some sections keeps the others' earlier results.
  const resultsPath = join(benchDir, "RESULTS.md");
  const merged = only.length === 0 ? blocks : new Map([...previousSections(resultsPath), ...blocks]);
  const md = [
    "# bpfkit benchmark results",
    "",
    "Written by `bench/run.mjs` (`npm run bench`, or `node bench/run.mjs [section-file-filter …]` to rerun",
    "some sections and keep the rest). Do not edit by hand.",
    "",
    `- machine: ${cpuModel()}, ${cpus().length} CPUs, Linux ${release()}`,
    `- node: ${process.version}`,
    `- written: ${new Date().toISOString()}`,
    "",
    ...merged.values(),
  ];
  writeFileSync(resultsPath, md.join("\n"));
  process.stderr.write("bench: wrote bench/RESULTS.md\n");
}

await main();
