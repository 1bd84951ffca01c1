// The kernel driver against the C baseline, doing the same bpf(2) work on a 100k-entry hash
// (key 4, value 8): single lookups, single updates, a next-key + lookup walk, a LOOKUP_BATCH
// dump. C and the driver run alternately (C rounds, driver rounds, C rounds, …), each on its own
// freshly populated map, so a load spike from the shared machine hits both sides alike.

/** Whole runs of this section; RESULTS.md keeps each case's median run (bench/run.mjs). */
export const repeat = 3;

export const about = [
  "Each case runs `alternations` × (C baseline: a fresh process and map, `rounds` rounds; the",
  "driver: a fresh map, `rounds` rounds). ns/op is the fastest round's wall time (CLOCK_MONOTONIC);",
  "the ratio is driver/C on thread CPU time (CLOCK_THREAD_CPUTIME_ID, user + system), judged two",
  "ways and reported as the larger: the median over back-to-back pairs of C and driver runs of",
  "fastest round over fastest round (a pair drifts together with the VM's speed), and each side's",
  "fastest round over the whole run (a slow phase only adds time). The note gives both.",
  "",
  "Why single operations miss ≤ 1.15×. Between two syscalls a Node process touches far more",
  "memory than a C loop (V8's code and heap, the FFI), and a syscall leaves it cold. How much that",
  "costs depends on the machine, and this bench has run on three VMs: an AMD EPYC with PTI and",
  "no PCID (every syscall flushes the TLB; a C lookup ~1650 ns; the footprint row, the same C",
  "loop reading 64 more pages between syscalls, ~6 ns a page) until 28 November; an Intel Xeon",
  "without PTI (a C lookup ~360 ns, ~1 ns a page) on 28 and 29 November; since then an AMD EPYC",
  "again (a C lookup ~1060 ns, ~5 ns a page). The cost of a call from Node scaled with the",
  "syscall on each: getppid() through koffi is ~1.3–1.5× C, a bare koffi lookup with no driver",
  "~1.2–1.3× C, and the same lookup through a one-function N-API addon built here",
  "(bench/c/napi-floor.c) ~1.1–1.2× C (the floor rows). The driver sits at bare koffi's level:",
  "its JS per call is a few tens of ns, and it calls no builtin on the hot path (each TypedArray",
  "byteLength, fill or set cost 70–130 ns after a syscall on the AMD VM). So the 1.15× target",
  "sits below bare koffi's floor on every one of them, out of reach through koffi, which the",
  "driver is built on. The walk pays the same per call; on the slower-syscall VMs it is diluted",
  "below ≤ 1.3×, on the Xeon it was not.",
  "Batch dumps amortise all of this over 8192 keys; their time is the",
  "kernel's. The 100k dump is short (~15 ms a round): it runs 25 rounds a side so that each side's",
  "fastest is a quiet one; the 1M dump is the steadier figure.",
].join("\n");

import { createRequire } from "node:module";
import { join } from "node:path";

const ENTRIES = 100_000;
const BATCH = 8192;
const BPF_MAP_TYPE_HASH = 1;
const ENOENT = 2;
/** Pages the footprint diagnostic touches between syscalls. */
const TOUCH_PAGES = 64;

/** The driver's side of each mode: does the work once and returns the ops done. */
function work(d, fd, n, mode) {
  const key = new Uint8Array(4), value = new Uint8Array(8);
  const kv = new DataView(key.buffer);
  switch (mode) {
    case "lookup":
      return () => {
        for (let k = 0; k < n; k++) {
          kv.setUint32(0, k, true);
          if (d.mapLookupElem(fd, key, value) !== 0) throw new Error("lookup failed");
        }
        return n;
      };
    case "update":
      return () => {
        const vv = new DataView(value.buffer);
        for (let k = 0; k < n; k++) {
          kv.setUint32(0, k, true);
          vv.setUint32(0, k, true);
          if (d.mapUpdateElem(fd, key, value, 0) !== 0) throw new Error("update failed");
        }
        return n;
      };
    case "walk": {
      const a = new Uint8Array(4), b = new Uint8Array(4);
      return () => {
        let prev = null, next = a, seen = 0;
        for (;;) {
          const r = d.mapGetNextKey(fd, prev, next);
          if (r !== 0) {
            if (r === -ENOENT) break;
            throw new Error(`next key: ${r}`);
          }
          const l = d.mapLookupElem(fd, next, value);
          if (l !== 0 && l !== -ENOENT) throw new Error(`lookup: ${l}`);
          seen++;
          prev = next;
          next = next === a ? b : a;
        }
        return seen;
      };
    }
    case "batch-dump": {
      const keys = new Uint8Array(BATCH * 4), values = new Uint8Array(BATCH * 8);
      const token = new Uint8Array(4), out = new Uint8Array(4);
      return () => {
        let seen = 0, first = true;
        for (;;) {
          const r = d.mapLookupBatch(fd, first ? null : token, out, keys, values, BATCH);
          seen += r.count;
          if (r.errno === ENOENT) break;
          if (r.errno !== 0) throw new Error(`batch: errno ${r.errno}`);
          token.set(out);
          first = false;
        }
        return seen;
      };
    }
  }
  throw new Error(`unknown mode ${mode}`);
}

/**
 * The floors under the driver: the same lookups into one pre-filled attr, no checks, no copies,
 * as bare koffi calls (the floor of any koffi-based driver: driver/floor is the driver's own
 * cost) or through `napi`, a one-function N-API addon (the floor of any Node binding at all).
 */
function rawLookup(ctx, fd, n, napi) {
  const koffi = createRequire(join(ctx.root, "packages", "driver-kernel", "package.json"))("koffi");
  const nr = process.arch === "arm64" ? 280 : 321;
  const block = koffi.alloc("uint8_t", 64);
  const base = Number(koffi.address(block));
  const dv = new DataView(koffi.view(block, 64));
  dv.setUint32(0, fd, true);
  dv.setBigUint64(8, BigInt(base + 32), true);
  dv.setBigUint64(16, BigInt(base + 40), true);
  if (napi !== undefined) {
    return () => {
      for (let k = 0; k < n; k++) {
        dv.setUint32(32, k, true);
        const r = napi.bpf(1, base, 32);
        if (r < 0) throw new Error(`N-API lookup: errno ${-r}`);
      }
      return n;
    };
  }
  const syscall = koffi.load("libc.so.6").func("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)");
  return () => {
    for (let k = 0; k < n; k++) {
      dv.setUint32(32, k, true);
      if (syscall(nr, 1, base, 32) < 0) throw new Error(`raw lookup: errno ${koffi.errno()}`);
    }
    return n;
  };
}

export async function run(ctx) {
  const { createKernelDriver, kernelDriverAvailable } = await ctx.import("driver-kernel");
  if (!kernelDriverAvailable()) {
    return [{ section: "kernel driver vs C", case: "all", ns_per_op: Number.NaN, note: "bpf(2) not usable here: skipped" }];
  }
  const d = createKernelDriver();
  const n = ctx.quick ? 20_000 : ENTRIES;
  // Six back-to-back pairs: the VM's phases move a single pair's ratio by ±0.1.
  const alternations = ctx.quick ? 1 : 6;
  const rounds = ctx.quick ? 2 : 5;
  const cases = [
    { mode: "lookup", name: "single lookup (100k-entry hash, key 4, value 8)", target: 1.15 },
    { mode: "lookup", raw: true, name: "floor: bare koffi syscall lookup, no driver (reference)" },
    { mode: "lookup", napi: true, name: "floor: bare N-API syscall lookup, no koffi, no driver (reference)" },
    { mode: "update", name: "single update, BPF_ANY, existing keys", target: 1.15 },
    { mode: "walk", name: "walk: next-key + lookup, per key", target: 1.3 },
    // A round is ~15 ms, short enough for one hiccup to decide it: many rounds, so each side's
    // fastest is a quiet one.
    { mode: "batch-dump", rounds: 25, name: `LOOKUP_BATCH dump, ${BATCH} per call, per key`, target: 1.1 },
    { mode: "dump-1m", work: "batch-dump", entries: ctx.quick ? 200_000 : 1_000_000, name: `LOOKUP_BATCH dump of a ${ctx.quick ? "200k" : "1M"}-entry hash, per key`, target: 1.1 },
  ];
  const rows = [];
  const napi = ctx.napiFloor();
  // Why even bare koffi misses ≤ 1.15 here: the same trivial syscall costs more from Node.
  {
    const koffi = createRequire(join(ctx.root, "packages", "driver-kernel", "package.json"))("koffi");
    const getppid = koffi.load("libc.so.6").func("int getppid()");
    const c = [], js = [];
    for (let a = 0; a < alternations; a++) {
      c.push(...ctx.cBaseline("getppid", { entries: n, rounds }));
      js.push(...ctx.measure(() => {
        for (let i = 0; i < n; i++) getppid();
        return n;
      }, rounds));
    }
    const cs = ctx.summarize(c), jss = ctx.summarize(js);
    rows.push({
      section: "kernel driver vs C",
      case: "diagnostic: getppid(), the cheapest syscall, bare koffi vs C",
      ns_per_op: jss.min,
      c_ns_per_op: cs.min,
      ratio: jss.cpuMin / cs.cpuMin,
      note: `CPU min ${jss.cpuMin.toFixed(0)} vs ${cs.cpuMin.toFixed(0)}: the fixed extra cost of a syscall from Node`,
    });
  }
  // Why the gap is a footprint: the same C lookups, reading one byte of TOUCH_PAGES pages (2 MiB
  // apart) before each syscall. Every page read between two syscalls costs a page walk here.
  {
    const plain = [], touch = [];
    for (let a = 0; a < alternations; a++) {
      plain.push(...ctx.cBaseline("lookup", { entries: n, rounds }));
      touch.push(...ctx.cBaseline("lookup-touch", { entries: n, rounds, batch: TOUCH_PAGES }));
    }
    const ps = ctx.summarize(plain), ts = ctx.summarize(touch);
    rows.push({
      section: "kernel driver vs C",
      case: `diagnostic: C lookup reading ${TOUCH_PAGES} more pages between syscalls, vs plain C lookup`,
      ns_per_op: ts.min,
      c_ns_per_op: ps.min,
      ratio: ts.cpuMin / ps.cpuMin,
      note: `CPU min ${ts.cpuMin.toFixed(0)} vs ${ps.cpuMin.toFixed(0)}: ${((ts.cpuMin - ps.cpuMin) / TOUCH_PAGES).toFixed(1)} ns per page touched per syscall`,
    });
  }
  for (const c of cases) {
    if (c.napi && napi.addon === undefined) {
      rows.push({ section: "kernel driver vs C", case: c.name, ns_per_op: Number.NaN, note: `skipped: ${napi.reason}` });
      continue;
    }
    const cRounds = [], jsRounds = [], pairs = [];
    const entries = c.entries ?? n;
    // The 1M-entry case is big (two such maps live at once): fewer rounds.
    const caseRounds = c.entries ? Math.min(rounds, 3) : ctx.quick ? rounds : (c.rounds ?? rounds);
    const caseAlternations = c.entries ? Math.min(alternations, 2) : alternations;
    for (let a = 0; a < caseAlternations; a++) {
      const pair = { c: ctx.cBaseline(c.mode, { entries, rounds: caseRounds, batch: BATCH }), js: [] };
      pairs.push(pair);
      cRounds.push(...pair.c);
      const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: entries });
      if (fd < 0) throw new Error(`map create: ${fd}`);
      try {
        ctx.populateHash(d, fd, entries);
        const fn = c.raw || c.napi ? rawLookup(ctx, fd, entries, c.napi ? napi.addon : undefined) : work(d, fd, entries, c.work ?? c.mode);
        fn(); // warm-up: JIT and the map's pages
        for (const r of ctx.measure(fn, caseRounds)) {
          if (r.ops !== entries) throw new Error(`${c.mode}: ${r.ops} of ${entries} entries`);
          jsRounds.push(r);
          pair.js.push(r);
        }
      } finally {
        d.close(fd);
      }
    }
    const js = ctx.summarize(jsRounds), cc = ctx.summarize(cRounds);
    const p = ctx.pairedRatio(pairs);
    rows.push({
      section: "kernel driver vs C",
      case: c.name,
      ns_per_op: js.min,
      c_ns_per_op: cc.min,
      ratio: p.ratio,
      target: c.target,
      note: `${p.note}; CPU min ${js.cpuMin.toFixed(0)} vs ${cc.cpuMin.toFixed(0)}; median wall ${js.median.toFixed(0)} vs ${cc.median.toFixed(0)}`,
    });
  }
  return rows;
}
