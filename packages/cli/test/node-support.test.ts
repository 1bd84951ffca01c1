// The repository's own test command (scripts/test.mjs) refuses a Node.js that its test tooling
// does not support, naming the range, rather than failing somewhere inside vite. Kept beside
// packaging.test.ts: both check the repository around the packages, not the CLI.
import { readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TEST_TOOLING_NODE, testToolingUnsupported as unsupported } from "../../../scripts/node-support.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

describe("scripts/node-support.mjs", () => {
  it("states the range the installed vite declares (so a vite upgrade updates it)", () => {
    // From vitest's real directory: pnpm does not hoist vite to the root's node_modules.
    const fromVitest = createRequire(realpathSync(join(root, "node_modules", "vitest", "package.json")));
    const vite = JSON.parse(readFileSync(fromVitest.resolve("vite/package.json"), "utf8")) as { engines: { node: string } };
    expect(TEST_TOOLING_NODE).toBe(vite.engines.node);
  });

  it("accepts the releases in that range and refuses the rest, naming the range and the version", () => {
    for (const v of ["20.19.0", "20.20.2", "22.12.0", "23.1.0", "24.0.0", process.versions.node]) expect(unsupported(v), v).toBeUndefined();
    for (const v of ["20.0.0", "20.11.1", "20.18.3", "21.7.3", "22.11.0", "18.20.4"]) {
      expect(unsupported(v)).toBe(`npm test needs Node.js ${TEST_TOOLING_NODE} (vitest 4 runs on vite 8, which declares it); this is ${v}. ` +
        "The packages themselves run on any Node 20; upgrade Node to run their tests.");
    }
  });
});
