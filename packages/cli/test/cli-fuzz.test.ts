// `bpfkit fuzz diff`: testkit's differential runner from the command line, bounded.
import { describe, expect, it } from "vitest";
import { kernelUnderTest } from "@bpfkit/testkit";
import { captureIo, main } from "../src/index.js";

async function run(argv: string[]) {
  const io = captureIo({ kernelAvailable: () => undefined });
  const code = await main(argv, io);
  return { code, out: io.text(), err: io.errText() };
}

describe("bpfkit fuzz", () => {
  it.skipIf(kernelUnderTest().unavailable !== undefined)("fuzz diff runs the simulator against the kernel and reports agreement with the seed", async () => {
    const r = await run(["fuzz", "diff", "--runs", "10", "--seed", "7"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^sim vs kernel: agree on 10 programs, \d+ ops in [\d.]+ s, seed 7/);
    const j = JSON.parse((await run(["fuzz", "diff", "--runs", "5", "--seed", "7", "--left", "model", "--right", "sim", "--json"])).out);
    expect(j).toMatchObject({ ok: true, left: "model", right: "sim", seed: 7, runs: 5 });
  });

  it("--path needs --seed, and sides are named", async () => {
    expect((await run(["fuzz", "diff", "--path", "0:1"])).code).toBe(2);
    expect((await run(["fuzz", "diff", "--left", "gpu"])).code).toBe(2);
  });
});
