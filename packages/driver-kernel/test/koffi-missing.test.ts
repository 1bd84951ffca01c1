// koffi is an optional dependency: where its install fails (no prebuilt binary, no build tools)
// npm skips it and the simulator still works. The kernel driver must then say what is missing.
// A child imports a copy of the driver with no node_modules, so koffi really cannot be found.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { NR_BPF } from "@bpfkit/driver-kernel";
import { transpileForChild } from "./child-copy.js";

const manifest = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "package.json"), "utf8")) as {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
// Elsewhere the driver stops earlier, at the platform or architecture, before it looks for koffi.
const reachesKoffi = process.platform === "linux" && NR_BPF[process.arch] !== undefined;

it("koffi is an optional dependency, pinned to the version the message names", () => {
  expect(manifest.dependencies?.koffi).toBeUndefined();
  expect(manifest.optionalDependencies?.koffi).toBe("3.3.4");
});

it.skipIf(!reachesKoffi)("without koffi: unavailable, and createKernelDriver() says koffi is not installed", () => {
  const root = transpileForChild("bpfkit-no-koffi-", { koffi: false });
  try {
    const script = `
      import { createKernelDriver, kernelDriverAvailable, kernelDriverUnavailable } from ${JSON.stringify(join(root, "driver-kernel", "index.js"))};
      const out = { available: kernelDriverAvailable(), why: kernelDriverUnavailable() };
      try { createKernelDriver(); out.created = true; }
      catch (e) { out.error = e.message; out.cause = e.cause?.code; }
      console.log(JSON.stringify(out));`;
    // pnpm exec sets NODE_PATH to its hoisted store, where koffi is: the child must not look there.
    const env = { ...process.env, NODE_PATH: "" };
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, env, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const why = `@bpfkit/driver-kernel cannot load koffi: it is not installed (an optional dependency, skipped where its install failed); install koffi@${manifest.optionalDependencies?.koffi}`;
    expect(JSON.parse(r.stdout)).toEqual({ available: false, why, error: why, cause: "MODULE_NOT_FOUND" });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
