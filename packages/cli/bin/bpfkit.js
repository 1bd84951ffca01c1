#!/usr/bin/env node
// The `bpfkit` command. Built sources live in ../dist (`npm run build` at the repo root).
import { main } from "../dist/index.js";

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`bpfkit: ${err?.stack ?? err}\n`); process.exitCode = 1; },
);
