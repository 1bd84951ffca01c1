// The mutated blobs of conformance §btf-check.9, live on both drivers: §9 holds each driver to
// the errno 6.18 answered when they were recorded; here the simulator's errno and its level-1 log
// are compared with this kernel's, byte for byte. Random type graphs and map values with special
// fields are runBtfDifferential's (btf-fuzz.test.ts, `bpfkit fuzz btf`), which shrinks what it finds.
// Runs where the kernel driver has the BTF methods.
import { describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { btfMutations } from "../src/conformance/cases/btf-checks.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();

if (kernel.unavailable !== undefined || typeof kernel.create().btfLoad !== "function") {
  const why = kernel.unavailable ?? "the kernel driver has no btfLoad (the optional BTF methods)";
  describe("BTF_LOAD differential: simulator vs kernel", () => {
    it.skip(`skipped: ${why}`, () => {});
  });
  console.log(`BTF_LOAD differential skipped: ${why}`);
} else {
  describe("BTF_LOAD differential: simulator vs kernel", () => {
    const k = kernel.create();
    const s = createSimDriver();
    const load = (d: typeof k, blob: Uint8Array) => {
      const log = new Uint8Array(65536);
      const r = d.btfLoad!({ btf: blob, logBuf: log, logLevel: 1 });
      if (r >= 0) d.close(r);
      return { errno: r >= 0 ? 0 : -r, log: Buffer.from(log.subarray(0, log.indexOf(0))).toString("latin1") };
    };
    for (const seed of [1, 2, 3]) {
      it(`seed ${seed}: 300 mutations of valid blobs give the same errno and log on both`, () => {
        const blobs = btfMutations(300, seed);
        const differ: string[] = [];
        blobs.forEach((b, i) => {
          const a = load(k, b), c = load(s, b);
          if (a.errno !== c.errno || a.log !== c.log) {
            differ.push(`#${i} ${Buffer.from(b).toString("hex")}: kernel ${a.errno} sim ${c.errno}\n  kernel log …${a.log.slice(-160)}\n  sim log    …${c.log.slice(-160)}`);
          }
        });
        expect(differ.slice(0, 5), `${differ.length} of ${blobs.length} blobs differ`).toEqual([]);
      });
    }
  });
}
