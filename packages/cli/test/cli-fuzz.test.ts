// `bpfkit fuzz diff`: testkit's differential runner from the command line, bounded.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BtfLoadAttr, Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { canPinCpu, kernelUnderTest } from "@bpfkit/testkit";
import { captureIo, ExitCode, main } from "../src/index.js";

async function run(argv: string[]) {
  const io = captureIo({ kernelAvailable: () => undefined });
  const code = await main(argv, io);
  return { code, out: io.text(), err: io.errText() };
}

describe("bpfkit fuzz", () => {
  it.skipIf(kernelUnderTest().unavailable !== undefined)("fuzz diff runs the simulator against the kernel and reports agreement with the seed", async () => {
    const r = await run(["fuzz", "diff", "--runs", "10", "--seed", "7"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^sim vs kernel: agree on 10 programs, \d+ ops in [\d.]+ s, seed 7/);
    const j = JSON.parse((await run(["fuzz", "diff", "--runs", "5", "--seed", "7", "--left", "model", "--right", "sim", "--json"])).out);
    expect(j).toMatchObject({ ok: true, left: "model", right: "sim", seed: 7, runs: 5 });
  });

  it("fuzz diff --types draws only the map types named (names as map create takes them, or numbers); an unknown one is a usage error", async () => {
    const j = JSON.parse((await run(["fuzz", "diff", "--runs", "4", "--seed", "5", "--left", "sim", "--right", "sim", "--types", "user_ringbuf,4", "--json"])).out);
    expect(j).toMatchObject({ ok: true, runs: 4 });
    // The model runs neither: every program is skipped, and the error says why.
    const model = await run(["fuzz", "diff", "--runs", "2", "--seed", "5", "--left", "model", "--right", "sim", "--types", "perf_event_array"]);
    expect(model.code).toBe(1);
    expect(model.err).toMatch(/programs skipped, .*perf event arrays on model/);
    const bad = await run(["fuzz", "diff", "--runs", "4", "--left", "sim", "--right", "sim", "--types", "user_ringbuf,ringbuff"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--types user_ringbuf,ringbuff: "ringbuff" is no map type/);
    // A type no program is drawn for would compare only refused creates, and agree: refused, listing the ones drawn.
    for (const t of ["999", "sk_storage"]) {
      const none = await run(["fuzz", "diff", "--runs", "4", "--left", "sim", "--right", "sim", "--types", `hash,${t}`]);
      expect(none.code).toBe(2);
      expect(none.err).toContain(`--types hash,${t}: fuzz diff draws no programs for ${t === "999" ? "type_999" : t}`);
      expect(none.err).toContain("its types: hash,array,");
    }
  });

  it.skipIf(kernelUnderTest().unavailable !== undefined)("fuzz btf loads random BTF on the simulator and the kernel and reports agreement with the seed", async () => {
    const r = await run(["fuzz", "btf", "--runs", "60", "--seed", "9"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^sim vs kernel: agree on 60 BTF blobs \(\d+ loaded, \d+ maps\), \d+ ops in [\d.]+ s, seed 9\n {2}loads: /);
    const j = JSON.parse((await run(["fuzz", "btf", "--runs", "20", "--seed", "9", "--json"])).out);
    expect(j).toMatchObject({ ok: true, left: "sim", right: "kernel", seed: 9, runs: 20, divergences: [] });
  });

  it("fuzz btf exits 5 with the minimal blob and its replay when the drivers differ, and refuses the model", async () => {
    // The io's simulators, the second ignoring BPF_LOG_FIXED beside a level: one broken rule.
    const made: Driver[] = [];
    const createDriver = () => {
      const sim = createSimDriver();
      if (made.push(sim) % 2 === 1) return sim;
      const level = (l = 0) => ((l & ~8) !== 0 ? l & ~8 : l);
      return Object.assign(Object.create(sim) as Driver, { btfLoad: (a: BtfLoadAttr) => sim.btfLoad({ ...a, logLevel: level(a.logLevel) }) });
    };
    const argv = ["fuzz", "btf", "--left", "sim", "--right", "sim", "--runs", "300", "--seed", "7"];
    const io = captureIo({ createDriver, kernelAvailable: () => "test" });
    expect(await main(argv, io), io.errText()).toBe(ExitCode.divergence);
    expect(io.text()).toMatch(/^sim \(left\) vs sim \(right\): DIFFER on \d+ BTF blobs/);
    const replay = /minimal counterexample after \d+ shrinks \(replay: seed 7, path "([\d:]+)"\):\n {2}log level (9|10), /.exec(io.text());
    expect(replay, io.text()).not.toBeNull();
    // The blob in hex, a header's 24 bytes at least (the minimal case may keep a fault in them).
    expect(io.text()).toMatch(/\n {2}blob [0-9a-f]{48,}\n {2}first difference at load\n/);
    const again = captureIo({ createDriver, kernelAvailable: () => "test" });
    expect(await main([...argv, "--path", replay![1]!, "--json"], again)).toBe(ExitCode.divergence);
    expect(JSON.parse(again.text())).toMatchObject({ ok: false, runs: 1, seed: 7 });
    const model = await run(["fuzz", "btf", "--left", "model", "--right", "sim"]);
    expect(model.code).toBe(ExitCode.usage);
    expect(model.err).toContain("the model has no BTF methods");
    expect((await run(["fuzz", "btf", "--path", "1:2"])).err).toContain("--path needs the --seed");
    const noKernel = captureIo({ kernelAvailable: () => "bpf(2) needs root or CAP_BPF" });
    expect(await main(["fuzz", "btf", "--runs", "1"], noKernel)).toBe(ExitCode.permission);
    expect(noKernel.errText()).toContain("the kernel is the only reference for BTF");
  });

  it("fuzz dump runs testkit's dump fuzzer over core's walk and batch dumps on the simulator", async () => {
    const r = await run(["fuzz", "dump", "--driver", "sim", "--runs", "10", "--seed", "3"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^dump fuzz on sim \(walk and batch\): all invariants held in 20 dumps of 10 cases, [\d.]+ s, seed 3/);
    const j = JSON.parse((await run(["fuzz", "dump", "--driver", "sim", "--runs", "5", "--seed", "3", "--algorithm", "batch", "--json"])).out);
    expect(j).toMatchObject({ ok: true, driver: "sim", seed: 3, runs: 5, dumps: 5 });
    expect((await run(["fuzz", "dump", "--algorithm", "bubble"])).code).toBe(2);
  });

  it("fuzz dump exits 5 and prints its document when an invariant breaks: a simulator whose GET_NEXT_KEY ends every walk", async () => {
    const sim = createSimDriver();
    // ENOENT from GET_NEXT_KEY is how a walk learns the map ended: every walk sees an empty map.
    sim.faults.inject("mapGetNextKey", { errno: 2, count: 100_000 });
    const io = captureIo({ createDriver: () => sim, kernelAvailable: () => "test" });
    const code = await main(["fuzz", "dump", "--driver", "sim", "--algorithm", "walk", "--runs", "5", "--seed", "1", "--json"], io);
    expect(code, io.errText()).toBe(ExitCode.divergence);
    const j = JSON.parse(io.text());
    expect(j).toMatchObject({ ok: false, driver: "sim", seed: 1 });
    expect(j.violations).toHaveLength(1);
    expect(j.violations[0].algorithm).toBe("walk");
    expect(j.violations[0].messages[0]).toMatch(/was present for the whole dump and not delivered/);
  });

  it("fuzz dump prints the command that replays its minimal case, and the replay breaks the same way", async () => {
    const broken = () => {
      const sim = createSimDriver();
      sim.faults.inject("mapGetNextKey", { errno: 2, count: 100_000 });
      return sim;
    };
    const io = captureIo({ createDriver: broken, kernelAvailable: () => "test" });
    expect(await main(["fuzz", "dump", "--driver", "sim", "--algorithm", "walk", "--runs", "5", "--seed", "1"], io)).toBe(ExitCode.divergence);
    const text = io.text();
    expect(text).toMatch(/\n {2}to replay it: the same driver, algorithm, types, maxEntries and implementations, with seed 1 and path "[\d:]+" \(runs does not matter\)\n/);
    const cmd = /\n {2}replay: bpfkit (fuzz dump --driver sim --algorithm walk --seed 1 --path [\d:]+)\n$/.exec(text);
    expect(cmd, text).not.toBeNull();
    const again = captureIo({ createDriver: broken, kernelAvailable: () => "test" });
    expect(await main(cmd![1]!.split(" "), again)).toBe(ExitCode.divergence);
    expect(again.text()).toMatch(/INVARIANT BROKEN in \d+ dumps of 1 cases/);
  });

  it("fuzz dump --implementation fuzzes one's own dump from an ES module, and its replay command names the module", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-impl-"));
    try {
      // A resume-from-last walk that also advances after resuming: the key after the last one
      // delivered is never looked up. Plain JS with no imports, as a user's built module may be.
      writeFileSync(join(dir, "skips.mjs"), `export function walk(target, sink, stats) {
        const { driver, fd } = target;
        const cur = new Uint8Array(target.keySize), last = new Uint8Array(target.keySize), v = new Uint8Array(target.valueSize);
        let have = false;
        stats.algorithm = "walk"; stats.completed = false; stats.lookup = 0;
        let rc = driver.mapGetNextKey(fd, null, cur);
        if (rc !== 0) stats.lookup = 1;
        while (rc === 0) {
          if (++stats.lookup > 4 * stats.maxEntries) { const e = new Error("budget"); e.name = "MaxLookupError"; throw e; }
          if (driver.mapLookupElem(fd, cur, v) === 0) { stats.delivered++; sink(cur, 0, v, 0); last.set(cur); have = true; }
          else {
            stats.lookupFailed++; if (have) stats.keyFallback++; else stats.interrupted++;
            rc = driver.mapGetNextKey(fd, have ? last : null, cur);
            if (rc !== 0) break;
          }
          rc = driver.mapGetNextKey(fd, cur, cur);
        }
        stats.completed = true;
      }`);
      writeFileSync(join(dir, "none.mjs"), "export const walker = 1;\n");
      writeFileSync(join(dir, "notfn.mjs"), "export default { batch: 'batchDump' };\n");
      const file = join(dir, "skips.mjs");
      const r = await run(["fuzz", "dump", "--driver", "sim", "--implementation", file, "--runs", "200", "--seed", "1"]);
      expect(r.code, r.err).toBe(ExitCode.divergence);
      // --algorithm defaults to what the module exports: walk alone.
      expect(r.out).toMatch(/^dump fuzz on sim \(walk\): INVARIANT BROKEN/);
      expect(r.out).toMatch(/✗ key \d+ was present for the whole dump and not delivered/);
      // The dump's stats are context under the broken invariants, not one of them.
      expect(r.out).toMatch(/\n {4}\(stats \{/);
      expect(r.out).not.toMatch(/✗ \(stats/);
      const cmd = /\n {2}replay: bpfkit (fuzz dump --driver sim --implementation \S+ --seed 1 --path [\d:]+)\n$/.exec(r.out);
      expect(cmd, r.out).not.toBeNull();
      const again = await run(cmd![1]!.split(" "));
      expect(again.code).toBe(ExitCode.divergence);
      // The same case exactly: each case on a simulator of its own, so its hash seeds replay too.
      expect(again.out).toMatch(/INVARIANT BROKEN in \d+ dumps of 1 cases/);
      const broke = (text: string) => text.split("\n").filter((l) => l.startsWith("  ✗ ") || l.startsWith("    #"));
      expect(broke(again.out)).toEqual(broke(r.out));

      const none = await run(["fuzz", "dump", "--driver", "sim", "--implementation", join(dir, "none.mjs")]);
      expect(none.code).toBe(ExitCode.usage);
      expect(none.err).toContain(`--implementation ${join(dir, "none.mjs")}: it exports none of walk, walkOnce and batch (each a DumpImplementation), nor a default object of them`);
      const notFn = await run(["fuzz", "dump", "--driver", "sim", "--implementation", join(dir, "notfn.mjs")]);
      expect(notFn.code).toBe(ExitCode.usage);
      expect(notFn.err).toContain('its batch is "batchDump", not a function (a DumpImplementation)');
      const missing = await run(["fuzz", "dump", "--driver", "sim", "--implementation", join(dir, "nope.mjs")]);
      expect(missing.code).toBe(ExitCode.notFound);
      expect(missing.err).toContain(`--implementation ${join(dir, "nope.mjs")}: no such file`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fuzz diff against an unusable kernel says so, and how to fuzz without one", async () => {
    const io = captureIo({ kernelAvailable: () => "bpf(2) needs root or CAP_BPF" });
    expect(await main(["fuzz", "diff", "--runs", "1"], io)).toBe(3);
    expect(io.errText()).toContain("--left model --right sim");
  });

  it.skipIf(!canPinCpu())("--lru-eviction draws programs that evict: the model, which cannot, differs from the simulator", async () => {
    const r = await run(["fuzz", "diff", "--lru-eviction", "--left", "model", "--right", "sim", "--runs", "50", "--seed", "11", "--json"]);
    expect(r.code).toBe(5);
    expect(JSON.parse(r.out).ok).toBe(false);
  });

  it("--plain draws the programs seeds drew before wide ones (program: { wide: false })", async () => {
    const ops = async (extra: string[]) => JSON.parse((await run(["fuzz", "diff", "--left", "sim", "--right", "sim", "--runs", "40", "--seed", "3", "--json", ...extra])).out).ops as number;
    const { runDifferential } = await import("@bpfkit/testkit");
    const plain = await runDifferential({ left: "sim", right: "sim", runs: 40, seed: 3, program: { wide: false } });
    expect(await ops(["--plain"])).toBe(plain.ops);
    expect(await ops([])).not.toBe(plain.ops);
  });

  it("--path needs --seed, and sides are named", async () => {
    expect((await run(["fuzz", "diff", "--path", "0:1"])).code).toBe(2);
    // A malformed path is the command line's fault (exit 2), not fast-check's "Unable to replay" (exit 1).
    for (const cmd of ["diff", "dump"]) {
      const bad = await run(["fuzz", cmd, "--seed", "1", "--path", "0:x", "--runs", "1", ...(cmd === "diff" ? ["--left", "model", "--right", "sim"] : ["--driver", "sim"])]);
      expect(bad.code, cmd).toBe(2);
      expect(bad.err, cmd).toContain(`--path "0:x": expected the path a run printed`);
    }
    expect((await run(["fuzz", "diff", "--left", "gpu"])).code).toBe(2);
    // --driver would be silently ignored (a user asking for the simulator got the kernel).
    const d = await run(["fuzz", "diff", "--driver", "sim", "--runs", "1"]);
    expect(d.code).toBe(2);
    expect(d.err).toContain("choose them with --left and --right, not --driver");
  });
});
