// On the kernel: a pinned BPF link and a pinned program given where a map is expected. The info
// call cannot tell a link from a map (bpf_link_info is no larger than bpf_map_info), so a link
// used to show as a prog_array map with its prog id for a key size.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { createBpf, silentLogger, type Driver } from "@bpfkit/core";
import { kernelUnderTest, mountPrivateBpffs, type PrivateBpffs } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { cliOver, type Run } from "./helpers.js";
import { linkCreate, openDirectory } from "./support/link-create.js";

const BPF_PROG_TYPE_CGROUP_SKB = 8;
const BPF_CGROUP_INET_INGRESS = 0;
/** r0 = 1 (let the packet through); exit. */
const ALLOW_INSNS = Uint8Array.of(0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);

const dut = kernelUnderTest();
describe.skipIf(dut.unavailable !== undefined)(`pinned links and programs are not maps, on kernel${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
  let d: Driver;
  let fs: PrivateBpffs;
  let bpfkit: (...argv: string[]) => Promise<Run>;
  const fds: number[] = [];
  let cgroup: string | undefined;
  /** Why no link could be made here, if none could. */
  let noLink: string | undefined;
  let linkPath = "";
  let progPath = "";

  beforeAll(() => {
    d = dut.create();
    fs = mountPrivateBpffs(d);
    bpfkit = cliOver(d);
    const prog = d.progLoad({ progType: BPF_PROG_TYPE_CGROUP_SKB, insns: ALLOW_INSNS, license: "GPL", expectedAttachType: BPF_CGROUP_INET_INGRESS, progName: "cli_allow" });
    expect(prog, "load a cgroup_skb program").toBeGreaterThanOrEqual(0);
    fds.push(prog);
    progPath = `${fs.path}/prog`;
    expect(d.objPin(prog, progPath)).toBe(0);
    // A child cgroup of our own, so the link touches no traffic but what runs in it (nothing).
    const mounts = d.host.mountInfo();
    const cg2 = typeof mounts === "number" ? undefined : mounts.find((m) => m.fsType === "cgroup2");
    if (cg2 === undefined) {
      noLink = "no cgroup2 mount to attach a link to";
      return;
    }
    cgroup = `${cg2.mountPoint}/bpfkit-cli-link-${process.pid}`;
    const mk = d.host.mkdir(cgroup, 0o755);
    if (mk < 0) {
      noLink = `mkdir ${cgroup}: errno ${-mk}`;
      cgroup = undefined;
      return;
    }
    const dir = openDirectory(cgroup);
    if (dir < 0) {
      noLink = `open ${cgroup}: errno ${-dir}`;
      return;
    }
    fds.push(dir);
    const link = linkCreate(prog, dir, BPF_CGROUP_INET_INGRESS);
    if (link < 0) {
      noLink = `BPF_LINK_CREATE: errno ${-link} (links need Linux 5.7)`;
      return;
    }
    fds.push(link);
    linkPath = `${fs.path}/link`;
    expect(d.objPin(link, linkPath)).toBe(0);
  });
  afterAll(() => {
    fs?.dispose();
    for (const fd of fds.reverse()) d.close(fd);
    if (cgroup !== undefined) d.host.rmdir(cgroup);
  });

  it("map show and map dump of a pinned link say it is a link, and print nothing on stdout", async (ctx) => {
    if (noLink !== undefined) {
      console.log(`skipped: ${noLink}`);
      ctx.skip();
    }
    for (const argv of [["map", "show", linkPath], ["map", "show", linkPath, "--json"], ["map", "dump", linkPath, "--json"]]) {
      const r = await bpfkit(...argv);
      expect(r.code, argv.join(" ")).toBe(ExitCode.failure);
      expect(r.out, argv.join(" ")).toBe("");
      expect(r.err, argv.join(" ")).toContain(`${linkPath} is not a map: it is a BPF link (cgroup)`);
    }
    // --pins walks the same bpffs and must not file the link under whatever map has its id.
    const pins = JSON.parse((await bpfkit("maps", "--pins", "--json")).out) as Array<{ pins: string[] }>;
    expect(pins.flatMap((m) => m.pins)).not.toContain(linkPath);
  });

  it("core's openMap refuses a pinned link as a link (host.objKind), and leaves no fd open", (ctx) => {
    if (noLink !== undefined) {
      console.log(`skipped: ${noLink}`);
      ctx.skip();
    }
    const before = readdirSync("/proc/self/fd").length;
    const bpf = createBpf({ driver: d, mapRoot: fs.path, logger: silentLogger });
    expect(() => bpf.openMap(linkPath)).toThrow(/it is a BPF link \(cgroup\), not a map/);
    // OBJ_GET gives a link no read-only or write-only fd (EINVAL): the error still says what it is.
    for (const options of [{ readOnly: true }, { writeOnly: true }]) {
      expect(() => bpf.openMap(linkPath, undefined, options)).toThrow(/it is a BPF link \(cgroup\), not a map/);
    }
    expect(bpf.getMap(linkPath)).toBeUndefined();
    expect(readdirSync("/proc/self/fd").length).toBe(before);
  });

  it("map show of a pinned program says it is a program", async () => {
    const r = await bpfkit("map", "show", progPath);
    expect(r.code).toBe(ExitCode.failure);
    expect(r.out).toBe("");
    expect(r.err).toContain(`${progPath} is not a map: it is a program`);
    // The hint promises what `maps --pins` lists: maps' pins, not every object pinned.
    expect(r.err).toContain("`bpfkit maps --pins` lists where the maps are pinned");
  });
});
