// The long soak: `pnpm --filter @bpfkit/testkit soak` (BPFKIT_SOAK_RUNS, BPFKIT_SOAK_SEED,
// BPFKIT_DRIVERS=sim|kernel tune it). The project's aliases, only the soak's files, and no
// per-test timeout: it runs as long as it is asked to.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import project from "../../vitest.config.js";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  resolve: project.resolve,
  test: {
    include: ["packages/testkit/soak/**/*.soak.ts"],
    pool: "forks",
    testTimeout: 0,
    hookTimeout: 0,
  },
});
