// `bpfkit demo` on the simulator, in-process: the report's claims hold, and a seed repeats a run.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { demoPassed, formatDemo } from "../src/demo/format-demo.js";
import type { DemoReport } from "../src/demo/run-demo.js";
import { followUpCommand } from "../src/commands/demo.js";
import { captureIo, ExitCode, main } from "../src/index.js";

async function demo(...extra: string[]) {
  const sim = createSimDriver();
  const io = captureIo({ createDriver: () => sim, kernelAvailable: () => "test" });
  const code = await main(["demo", "--driver", "sim", ...extra], io);
  return { code, out: io.text(), err: io.errText(), sim };
}

interface Pass {
  algorithm: string; delivered: number; deliveredTwiceOrMore: number; longLivedDelivered: number; neverPresent: number;
  expiredDeleted: number; expiredTotal: number; liveLost: number; gaveUp?: string;
  datapath: { inserts: number; deletes: number }; stats: Record<string, unknown>;
}

describe("bpfkit demo on the simulator", () => {
  it("both GC passes keep the invariants; the batch dump delivers each key once; the datapath really acted", async () => {
    const r = await demo("--json");
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { passed: boolean; config: { flows: number }; passes: Pass[]; map: Record<string, unknown> };
    expect(j.passed).toBe(true);
    // The table's sizes under the names every other command's JSON uses (key {saddr,daddr,sport,dport,proto}: 16 bytes with its padding, as in C).
    expect(j.map).toMatchObject({ type: "hash", keySize: 16, valueSize: 16 });
    expect(j.passes.map((p) => p.algorithm)).toEqual(["walk", "batch"]);
    for (const p of j.passes) {
      expect(p.neverPresent).toBe(0);
      expect(p.liveLost).toBe(0);
      expect(p.datapath.inserts + p.datapath.deletes).toBeGreaterThan(0);
      if (p.gaveUp === undefined) {
        expect(p.longLivedDelivered).toBe(j.config.flows);
        expect(p.expiredDeleted).toBe(p.expiredTotal);
        expect(p.stats.completed).toBe(true);
      }
    }
    const batch = j.passes[1]!;
    expect(batch.deliveredTwiceOrMore).toBe(0);
    expect(batch.stats.algorithm).toBe("batch");
    // The map holds no leftover pin: the demo unpinned it and unmounted its private bpffs.
    const mounts = r.sim.host.mountInfo();
    expect(typeof mounts !== "number" && mounts.filter((m) => m.mountPoint.includes("bpfkit-demo"))).toEqual([]);
  });

  it("the same seed gives the same run, counter for counter; another seed gives another", async () => {
    const strip = (out: string) => JSON.parse(out, (k, v) => (["ms", "started", "finished"].includes(k) ? undefined : v));
    const a = strip((await demo("--json", "--seed", "5")).out);
    const b = strip((await demo("--json", "--seed", "5")).out);
    const c = strip((await demo("--json", "--seed", "6")).out);
    expect(b).toEqual(a);
    expect(c.passes.map((p: Pass) => p.datapath)).not.toEqual(a.passes.map((p: Pass) => p.datapath));
  });

  it("prints a table a newcomer can read, with both algorithms and the checks' verdict", async () => {
    const r = await demo();
    expect(r.code).toBe(0);
    expect(r.out).toContain("Cilium v1.7 walk");
    expect(r.out).toContain("bpfkit batch dump");
    expect(r.out).toMatch(/long-lived flows delivered\s+1000 of 1000\s+1000 of 1000/);
    expect(r.out).toContain("Both GC passes deleted every expired flow");
  });

  it("without the privilege to mount bpffs (CAP_BPF alone) it runs on an unpinned table", async () => {
    const sim = createSimDriver();
    const host = sim.host;
    const mounts: string[] = [];
    // The host services as a process with CAP_BPF but not CAP_SYS_ADMIN sees them: mount is EPERM.
    Object.defineProperty(sim, "host", { value: new Proxy(host, {
      get: (t, k) => (k === "mount" ? (_s: string, target: string) => { mounts.push(target); return -1; } : Reflect.get(t, k, t)),
    }) });
    const io = captureIo({ createDriver: () => sim, kernelAvailable: () => "test" });
    const code = await main(["demo", "--driver", "sim", "--json"], io);
    expect(code, io.errText()).toBe(0);
    const j = JSON.parse(io.text());
    expect(mounts.length).toBe(1);
    expect(j.config.pin).toBe(false);
    expect(j.passed).toBe(true);
    expect(host.stat(mounts[0]!).errno).toBe(2); // its directory removed again
  });

  it("a kernel walk that the kernel's next-key race made skip flows is reported, not failed; the simulator excuses nothing", async () => {
    const r = await demo("--json");
    const report = JSON.parse(r.out) as DemoReport;
    const walk = report.passes[0]!;
    const flows = report.config.flows;
    // What the race leaves behind: a walk that completed, three flows short, one expired flow kept.
    Object.assign(walk, { gaveUp: undefined, longLivedDelivered: flows - 3, expiredDeleted: walk.expiredTotal - 1 });
    const onKernel = { ...report, driver: "kernel" } as DemoReport;
    expect(demoPassed(onKernel)).toBe(true);
    expect(formatDemo(onKernel)).toContain("The walk also missed 3 long-lived flow(s) nobody touched");
    expect(demoPassed({ ...report, driver: "sim" } as DemoReport)).toBe(false);
    // Anything else the walk gets wrong still fails on the kernel.
    expect(demoPassed({ ...onKernel, passes: [{ ...walk, neverPresent: 1 }, report.passes[1]!] } as DemoReport)).toBe(false);
    expect(demoPassed({ ...onKernel, passes: [{ ...walk, expiredDeleted: walk.expiredTotal - 4 }, report.passes[1]!] } as DemoReport)).toBe(false);
  });

  it("a run whose checks fail exits 1, after printing its report: a live flow the table lost in the batch pass", async () => {
    const sim = createSimDriver();
    const captured = captureIo({ stderrIsTty: true, createDriver: () => sim, kernelAvailable: () => "test" });
    // When the batch pass's progress line shows, the next lookup is made to answer ENOENT: the pass's
    // check of the live flows (the dump itself looks nothing up) finds one gone.
    const io = {
      ...captured,
      stderr(text: string) {
        if (text.includes("GC pass with the batch dump")) sim.faults.inject("mapLookupElem", { errno: 2 });
        captured.stderr(text);
      },
    };
    const code = await main(["demo", "--driver", "sim", "--json"], io);
    expect(code, captured.errText()).toBe(ExitCode.failure);
    const j = JSON.parse(captured.text()) as { passed: boolean; passes: Pass[] };
    expect(j.passed).toBe(false);
    expect(j.passes.map((p) => p.liveLost)).toEqual([0, 1]);
  });

  it("a GC pass that deleted a live flow fails the run, on either driver and in either pass", async () => {
    const report = JSON.parse((await demo("--json")).out) as DemoReport;
    expect(demoPassed(report)).toBe(true);
    for (const driver of ["sim", "kernel"]) {
      for (const i of [0, 1]) {
        const passes = report.passes.map((p, j) => (j === i ? { ...p, liveLost: 1 } : p));
        expect(demoPassed({ ...report, driver, passes } as DemoReport), `${driver} pass ${i}`).toBe(false);
      }
    }
  });

  it("a batch pass that delivered a key twice, or gave up, fails the run: the batch dump promises neither", async () => {
    const report = JSON.parse((await demo("--json")).out) as DemoReport;
    const [walk, batch] = report.passes as [DemoReport["passes"][0], DemoReport["passes"][0]];
    for (const driver of ["sim", "kernel"]) {
      expect(demoPassed({ ...report, driver, passes: [walk, { ...batch, deliveredTwiceOrMore: 1 }] } as DemoReport), driver).toBe(false);
      expect(demoPassed({ ...report, driver, passes: [walk, { ...batch, gaveUp: "maximum number of lookups reached" }] } as DemoReport), driver).toBe(false);
    }
  });

  it("a walk that gave up (the seed's ErrMaxLookup) is excused from delivering every flow", async () => {
    const report = JSON.parse((await demo("--json")).out) as DemoReport;
    const [walk, batch] = report.passes as [DemoReport["passes"][0], DemoReport["passes"][0]];
    const gaveUp = { ...walk, gaveUp: "maximum number of lookups reached", longLivedDelivered: 10, expiredDeleted: 0 };
    for (const driver of ["sim", "kernel"]) expect(demoPassed({ ...report, driver, passes: [gaveUp, batch] } as DemoReport), driver).toBe(true);
  });

  it("sizes the table past the default max_entries for all flows, short-lived ones included, to a power of two", async () => {
    // 4000 long-lived flows fit in 4096 entries; with the 200 short-lived ones they do not.
    const r = await demo("--json", "--flows", "4000", "--churn", "200", "--rate", "0");
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { map: { maxEntries: number }; passes: Pass[] };
    expect(j.map.maxEntries).toBe(8192);
    expect(j.passes.map((p) => p.longLivedDelivered)).toEqual([4000, 4000]);
  });

  it("--rate past 10 is a usage error", async () => {
    const r = await demo("--rate", "10.5");
    expect(r.code).toBe(2);
    expect(r.err).toContain("--rate 10.5: expected a number in [0, 10]");
  });

  it("a count past its bound is a usage error naming the range, before any table is made", async () => {
    for (const [opt, value, range] of [["--flows", "30001", "[1, 30000]"], ["--churn", "30001", "[1, 30000]"], ["--batch", "1048577", "[1, 1048576]"], ["--seed", "4294967296", "[0, 4294967295]"]]) {
      const r = await demo(opt!, value!);
      expect(r.code, opt).toBe(2);
      expect(r.err, opt).toContain(`${opt} ${value}: expected an integer in ${range}`);
      expect(r.out, opt).toBe("");
    }
  });

  it("bad options are usage errors", async () => {
    expect((await demo("--flows", "0")).code).toBe(2);
    expect((await demo("--rate", "-1")).code).toBe(2);
    // Number("") is 0: an empty --rate ran the demo with no datapath at all.
    const empty = await demo("--rate", "");
    expect(empty.code).toBe(2);
    expect(empty.err).toContain("--rate : expected a number in [0, 10]");
  });

  it("suggests `npm run bpfkit --` only under this repository's own scripts, which define it", () => {
    const repo = { npm_package_name: "bpfkit-monorepo" };
    expect(followUpCommand({ ...repo, npm_lifecycle_event: "start" })).toBe("npm run bpfkit --");
    expect(followUpCommand({ ...repo, npm_lifecycle_event: "bpfkit" })).toBe("npm run bpfkit --");
    expect(followUpCommand({ ...repo, npm_lifecycle_event: "npx" })).toBe("bpfkit"); // npx sets it too
    expect(followUpCommand({ npm_package_name: "my-app", npm_lifecycle_event: "start" })).toBe("bpfkit");
    expect(followUpCommand({})).toBe("bpfkit");
  });

  it("the README's table is what `demo --driver sim` prints, row for row (all but the time, which is the machine's)", async () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const at = readme.indexOf("On the simulator (`npm run bpfkit -- demo --driver sim`):");
    expect(at).toBeGreaterThan(0);
    const open = readme.indexOf("```\n", at) + 4;
    const shown = readme.slice(open, readme.indexOf("```", open)).split("\n").filter((l) => l.trim() !== "");
    expect(shown.length).toBeGreaterThan(10);
    const r = await demo();
    expect(r.code, r.err).toBe(0);
    const printed = r.out.split("\n");
    const table = printed.slice(printed.findIndex((l) => l.includes("Cilium v1.7 walk")));
    expect(table.filter((l) => l.trim() !== "" && !l.trimStart().startsWith("time ")).slice(0, shown.length)).toEqual(shown);
  });
});
