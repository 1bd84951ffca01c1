// A 1M-entry dump three ways: bpfkit's dumpWithCallback (core, over the kernel driver), the C
// baseline's BPF_MAP_LOOKUP_BATCH loop, and `bpftool map dump` — plus the `bpfkit map dump`
// command, which, like bpftool, prints every element as text. Installs nothing: without bpftool
// the row says how to get it.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";

export const about = [
  "One 1,000,000-entry BPF_MAP_TYPE_HASH (key u32, value u64), per key.",
  "dumpWithCallback: core's BpfMap over the kernel driver (batch algorithm: BPF_MAP_LOOKUP_BATCH,",
  "bucket tokens), decoding each key and value for the callback; the ratio is against the C",
  "baseline's batch dump (`dump-1m`) on the fastest rounds' wall time. The text dumps (`bpftool",
  "map dump id N`, `bpfkit map dump id N`) are whole processes writing to /dev/null, timed by wall",
  "clock, start-up included; their ratio is against the same C figure.",
].join("\n");

function findBpftool() {
  for (const p of ["/usr/sbin/bpftool", "/usr/bin/bpftool", "/sbin/bpftool"]) {
    try {
      execFileSync(p, ["version"], { stdio: "ignore" });
      return p;
    } catch {}
  }
  return undefined;
}

/** Wall ns per key of a whole process, fastest of `rounds`; stdout to /dev/null. */
function timeProcess(cmd, args, keys, rounds, env) {
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: env ?? process.env, maxBuffer: 1 << 20 });
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
    best = Math.min(best, Number(t1 - t0) / keys);
  }
  return best;
}

export async function run(ctx) {
  const section = "1M-entry dump: bpfkit vs bpftool vs C";
  const core = await ctx.import("core");
  const kernel = await ctx.import("driver-kernel");
  if (!kernel.kernelDriverAvailable()) {
    return [{ section, case: "dumpWithCallback, 1M-entry hash", ns_per_op: undefined, note: "bpf(2) not usable here (needs root or CAP_BPF)" }];
  }
  const n = ctx.quick ? 100_000 : 1_000_000;
  const rounds = ctx.quick ? 2 : 5;
  const driver = kernel.createKernelDriver();
  const dir = `/tmp/bpfkit-bench-${process.pid}`;
  if (driver.host.mkdirAll(dir, 0o700) < 0 || driver.host.mount("bpf", dir, "bpf") < 0) throw new Error(`mount bpffs at ${dir}`);
  const rows = [];
  try {
    const bpf = core.createBpf({ driver, mapRoot: dir, mapPrefix: "" });
    const map = bpf.newMap({ name: "bench_1m", type: core.BPF_MAP_TYPE_HASH, key: core.u32, value: core.u64, maxEntries: n });
    map.openOrCreate();
    try {
      // Fill through BPF_MAP_UPDATE_BATCH, 64k at a time.
      const chunk = 65536;
      const keys = new Uint8Array(chunk * 4), values = new Uint8Array(chunk * 8);
      const kv = new DataView(keys.buffer), vv = new DataView(values.buffer);
      for (let base = 0; base < n; base += chunk) {
        const c = Math.min(chunk, n - base);
        for (let i = 0; i < c; i++) {
          kv.setUint32(i * 4, base + i, true);
          vv.setBigUint64(i * 8, BigInt(base + i) * 3n, true);
        }
        const r = driver.mapUpdateBatch(map.getFd(), keys.subarray(0, c * 4), values.subarray(0, c * 8), c);
        if (r.errno !== 0 || r.count !== c) throw new Error(`fill: errno ${r.errno}, ${r.count} of ${c}`);
      }
      const id = bpf.getMapInfoByFd(map.getFd()).id;

      const c = ctx.summarize(ctx.cBaseline("dump-1m", { entries: n, rounds }));
      const s = ctx.summarize(ctx.measure(() => {
        let seen = 0;
        let sum = 0n;
        map.dumpWithCallback((k, v) => {
          seen++;
          if (k < 0) sum += v;
        });
        if (seen !== n || sum !== 0n) throw new Error(`dumpWithCallback saw ${seen} of ${n}`);
        return seen;
      }, rounds));
      rows.push({
        section, case: `dumpWithCallback (core, batch), ${n} entries, per key`, ns_per_op: s.min, c_ns_per_op: c.min,
        ratio: s.min / c.min, note: `wall-time ratio, one pair of runs; the target is judged in "core BpfMap vs C" (paired, CPU time); median ${s.median.toFixed(1)} vs C ${c.median.toFixed(1)}; CPU min ${s.cpuMin.toFixed(1)} vs ${c.cpuMin.toFixed(1)}`,
      });
      const walk = ctx.summarize(ctx.measure(() => {
        let seen = 0;
        map.dumpWithCallback(() => { seen++; }, { algorithm: "walk" });
        return seen;
      }, 1));
      rows.push({
        section, case: "dumpWithCallback (core, v1.7 walk), per key", ns_per_op: walk.min, c_ns_per_op: c.min, ratio: walk.min / c.min,
        note: `the batch dump is ${(walk.min / s.min).toFixed(1)}× faster than the walk`,
      });

      const bpftool = findBpftool();
      if (bpftool === undefined) {
        rows.push({ section, case: "bpftool map dump", ns_per_op: undefined, note: "bpftool not installed (apt-get install bpftool)" });
      } else {
        // Whole-process text dumps of 1M keys take tens of seconds each: one round.
        const t = timeProcess(bpftool, ["map", "dump", "id", String(id)], n, 1);
        rows.push({
          section, case: "`bpftool map dump id N` (text to /dev/null), per key", ns_per_op: t, c_ns_per_op: c.min, ratio: t / c.min,
          note: `bpfkit's dumpWithCallback is ${(t / s.min).toFixed(1)}× faster; bpftool walks with GET_NEXT_KEY + lookup`,
        });
        const tj = timeProcess(bpftool, ["-j", "map", "dump", "id", String(id)], n, 1);
        rows.push({ section, case: "`bpftool -j map dump id N` (JSON to /dev/null), per key", ns_per_op: tj, c_ns_per_op: c.min, ratio: tj / c.min });
      }
      const cli = join(ctx.root, "packages", "cli", "bin", "bpfkit.js");
      const tc = timeProcess(process.execPath, [cli, "map", "dump", "id", String(id), "--key-type", "u32", "--value-type", "u64", "--driver", "kernel", "-q"], n, 1);
      rows.push({
        section, case: "`bpfkit map dump id N --key-type u32 --value-type u64` (text to /dev/null), per key", ns_per_op: tc, c_ns_per_op: c.min, ratio: tc / c.min,
        note: bpftool ? "the CLI, process start-up included" : "",
      });
    } finally {
      map.unpin();
      map.close();
    }
  } finally {
    driver.host.umount(dir);
    driver.host.rmdir(dir);
  }
  return rows;
}
