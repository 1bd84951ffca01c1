#!/usr/bin/env node
// The `bpfkit` command. Built sources live in ../dist (`npm run build` at the repo root).
import { main } from "../dist/index.js";

let settled = false;
main(process.argv.slice(2)).then(
  (code) => { settled = true; process.exitCode = code; },
  (err) => { settled = true; process.stderr.write(`bpfkit: ${err?.stack ?? err}\n`); process.exitCode = 1; },
);
// A command whose promise waits on something that no longer keeps Node alive would otherwise
// end the process silently with exit code 0.
process.on("beforeExit", () => {
  if (settled) return;
  settled = true;
  process.stderr.write("bpfkit: internal error: the command stopped before it finished (nothing left to wait for)\n");
  process.exitCode = 70;
});
