// Without privilege the driver must say so plainly, not crash: a child process running as
// `nobody` (no capabilities) imports the driver, asks kernelDriverAvailable() and calls
// createKernelDriver(). The child runs plain JS, so the sources are transpiled for it first.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { transpileForChild } from "./child-copy.js";
import { describeKernel } from "./helpers.js";

const NOBODY = 65534;
/** util-linux setpriv, to run a child with CAP_BPF as its only capability. */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].find((p) => existsSync(p));
if (SETPRIV === undefined) console.warn("the CAP_BPF-only test is skipped: util-linux setpriv is not installed");
let dir: string | undefined;

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** core and driver-kernel as JS in a temp dir that `nobody` can read, koffi reachable. */
function transpileForNobody(): string {
  dir = transpileForChild("bpfkit-nobody-", { koffi: true });
  return dir;
}

describeKernel("kernel driver: without privilege", () => {
  it("as nobody: kernelDriverAvailable() is false and createKernelDriver() says root or CAP_BPF is needed", () => {
    const root = transpileForNobody();
    const script = `
      import { createKernelDriver, kernelDriverAvailable } from ${JSON.stringify(join(root, "driver-kernel", "index.js"))};
      const out = { uid: process.getuid(), available: kernelDriverAvailable() };
      try { createKernelDriver(); out.created = true; }
      catch (e) { out.error = { name: e.name, message: e.message, code: e.code }; }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      uid: NOBODY, gid: NOBODY, cwd: root, encoding: "utf8", timeout: 30_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    // The sysctl that makes unprivileged bpf(2) EPERM is named when it is set (this host: 2).
    const sysctl = readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8").trim();
    const detail = sysctl !== "0" ? `; kernel.unprivileged_bpf_disabled=${sysctl}` : "";
    expect(out).toEqual({
      uid: NOBODY,
      available: false,
      error: { name: "BpfError", code: "EPERM", message: `bpf(2) needs root or CAP_BPF (BPF_MAP_CREATE: EPERM${detail})` },
    });
  });

  // CAP_BPF without CAP_SYS_ADMIN: maps can be made, but ids are refused, and the driver says
  // which capability is missing rather than leaving callers with a bare EPERM.
  it.skipIf(SETPRIV === undefined)("as nobody with CAP_BPF only: the driver works, GET_FD_BY_ID is EPERM, and sysAdminMissing() says why", () => {
    const root = dir ?? transpileForNobody();
    // byId: capable(CAP_SYS_ADMIN) comes before the id lookup, so any id gives EPERM.
    const script = `
      import { createKernelDriver, kernelDriverAvailable, hasCapability, sysAdminMissing, CAP_BPF, CAP_SYS_ADMIN } from ${JSON.stringify(join(root, "driver-kernel", "index.js"))};
      import { createBpf } from ${JSON.stringify(join(root, "core", "index.js"))};
      const d = createKernelDriver();
      const fd = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
      let openMapById;
      try { createBpf({ driver: d, mapRoot: "/nonexistent" }).openMapById(1); } catch (e) { openMapById = [e.code, e.message]; }
      const out = {
        uid: process.getuid(), available: kernelDriverAvailable(), bpf: hasCapability(CAP_BPF), sysAdmin: hasCapability(CAP_SYS_ADMIN),
        created: fd >= 0, byId: d.mapGetFdById(1), missing: sysAdminMissing(),
        // The capability is asked before RDONLY|WRONLY is judged, and ZERO_SEED's CAP_SYS_ADMIN
        // before the hash's unknown flags: EPERM both, not EINVAL (the simulator's order too).
        byIdBothModes: d.mapGetFdById(1, 0x18), openMapById,
        zeroSeedBadFlag: d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0x40 | (1 << 30) }),
      };
      if (fd >= 0) d.close(fd);
      console.log(JSON.stringify(out));`;
    const r = spawnSync(SETPRIV!, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--inh-caps=+bpf", "--ambient-caps=+bpf",
      process.execPath, "--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      uid: NOBODY, available: true, bpf: true, sysAdmin: false, created: true, byId: -1, byIdBothModes: -1, zeroSeedBadFlag: -1,
      openMapById: ["EPERM", "openMapById id:1: Unable to get object fd from id 1: operation not permitted (opening a map by id needs CAP_SYS_ADMIN, not only CAP_BPF)"],
      missing: "without CAP_SYS_ADMIN (root has it) the kernel refuses mounting bpffs, opening maps and programs by id, and BPF_F_ZERO_SEED",
    });
  });

  // testDummyProg's EPERM names the capability a type needs beside CAP_BPF, from a table: here
  // the kernel says which, for every type 1..32, as the dummy program loads (or is refused for
  // another reason than EPERM) once CAP_NET_ADMIN or CAP_PERFMON joins CAP_BPF.
  it.skipIf(SETPRIV === undefined)("as nobody with CAP_BPF: testDummyProg's EPERM names the capability the kernel asks for, for each type", () => {
    const root = dir ?? transpileForNobody();
    const loadErrnos = (caps: string): { errnos: number[]; messages: string[] } => {
      const script = `
        import { createKernelDriver } from ${JSON.stringify(join(root, "driver-kernel", "index.js"))};
        import { createBpf, DUMMY_PROG_INSNS } from ${JSON.stringify(join(root, "core", "index.js"))};
        const d = createKernelDriver();
        const bpf = createBpf({ driver: d, mapRoot: "/nonexistent" });
        const errnos = [], messages = [];
        for (let t = 1; t <= 32; t++) {
          const fd = d.progLoad({ progType: t, insns: DUMMY_PROG_INSNS, license: "ASL2", expectedAttachType: 0 });
          errnos.push(fd < 0 ? -fd : 0);
          if (fd >= 0) d.close(fd);
          try { bpf.testDummyProg(t, 0); messages.push(""); } catch (e) { messages.push(e.op === "BPF_PROG_LOAD" ? e.message : ""); }
        }
        console.log(JSON.stringify({ errnos, messages }));`;
      const r = spawnSync(SETPRIV!, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", `--inh-caps=${caps}`, `--ambient-caps=${caps}`,
        process.execPath, "--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 30_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout);
    };
    const EPERM = 1;
    const bpfOnly = loadErrnos("+bpf");
    const netAdmin = loadErrnos("+bpf,+net_admin").errnos;
    const perfmon = loadErrnos("+bpf,+perfmon").errnos;
    const want: string[] = [];
    const got: string[] = [];
    const needs = new Set<string>();
    bpfOnly.errnos.forEach((errno, i) => {
      if (errno !== EPERM) return;
      const t = i + 1;
      const need = netAdmin[i] !== EPERM ? "CAP_NET_ADMIN" : perfmon[i] !== EPERM ? "CAP_PERFMON" : undefined;
      if (need !== undefined) needs.add(need);
      const hint = need === undefined ? "" : ` (this program type needs ${need} as well as CAP_BPF, or CAP_SYS_ADMIN)`;
      want.push(`${t}: Unable to load test program of type ${t}: operation not permitted${hint}`);
      got.push(`${t}: ${bpfOnly.messages[i]}`);
    });
    // Both capabilities turn some type's EPERM into something else, or the comparison says nothing.
    expect([...needs].sort()).toEqual(["CAP_NET_ADMIN", "CAP_PERFMON"]);
    expect(got).toEqual(want);
  });
});
