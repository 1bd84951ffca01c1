import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; `tsc -b` output is for the CLI and consumers.
    alias: {
      "@bpfkit/core": pkg("core"),
      "@bpfkit/driver-kernel": pkg("driver-kernel"),
      "@bpfkit/driver-wasm-sim": pkg("driver-wasm-sim"),
      "@bpfkit/testkit": pkg("testkit"),
      "@bpfkit/cli": pkg("cli"),
    },
  },
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    // Builds dist/ once if it is missing (a bare vitest run on a clean tree).
    globalSetup: ["./scripts/vitest-build.mjs"],
    // Fails, naming the test, a file whose event loop stops (see the file).
    setupFiles: ["./scripts/vitest-watchdog.mjs"],
    // koffi is a native addon: separate processes keep each file's fds and mounts its own.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
