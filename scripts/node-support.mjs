// The Node.js releases `npm test` runs on. The packages run on any Node 20 (README), but the
// suite runs vitest 4 on vite 8, whose engines field is the range below: on an older Node 20 it
// fails in ways that do not name the cause, so scripts/test.mjs says so before it starts.
// packages/cli/test/node-support.test.ts keeps the range equal to the installed vite's.

/** vite's `engines.node`, as its package.json declares it. */
export const TEST_TOOLING_NODE = "^20.19.0 || >=22.12.0";

/** Why `npm test` cannot run on Node `version` ("20.11.1"), or undefined when it can. */
export function testToolingUnsupported(version) {
  const [major, minor] = version.split(".").map(Number);
  const ok = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
  return ok ? undefined
    : `npm test needs Node.js ${TEST_TOOLING_NODE} (vitest 4 runs on vite 8, which declares it); this is ${version}. ` +
      "The packages themselves run on any Node 20; upgrade Node to run their tests.";
}
