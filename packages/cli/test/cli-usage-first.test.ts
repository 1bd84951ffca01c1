// A bad command line is exit 2 whatever the host: the words and options a command needs are read
// before its driver is made, so no missing bpf(2) (exit 3) or taken path (exit 1) hides them.
import { describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { captureIo, ExitCode, main } from "../src/index.js";

describe("a bad command line is exit 2 before any driver is made", () => {
  // Made with an unusable kernel: a driver made first would turn each of these into exit 3.
  const run = async (...argv: string[]) => {
    const made: string[] = [];
    const io = captureIo({ createDriver: (k) => { made.push(k); return createSimDriver(); }, kernelAvailable: () => "bpf(2) needs root or CAP_BPF" });
    const code = await main([...argv, "--driver", "kernel"], io);
    return { code, err: io.errText(), made };
  };

  it("map create without a key size, or with a bad key type", async () => {
    const base = ["map", "create", "/sys/fs/bpf/x", "--type", "hash", "--value-size", "4", "--max-entries", "1"];
    for (const [extra, said] of [[[], "--key-size (or --key-type) is required"], [["--key-type", "struct{a:u33}"], "unknown type u33"],
      [["--key-size", "8", "--key-type", "u32"], "--key-size 8 and --key-type u32 (4 bytes) disagree"]] as const) {
      const r = await run(...base, ...extra);
      expect(r.code, said).toBe(ExitCode.usage);
      expect(r.err, said).toContain(said);
      expect(r.made, said).toEqual([]);
    }
  });

  it("fuzz dump and fuzz diff with a bad --runs", async () => {
    const dump = await run("fuzz", "dump", "--runs", "0");
    expect([dump.code, dump.made]).toEqual([ExitCode.usage, []]);
    expect(dump.err).toContain("--runs 0: expected a positive integer");
    const io = captureIo({ kernelAvailable: () => "bpf(2) needs root or CAP_BPF" });
    expect(await main(["fuzz", "diff", "--runs", "x"], io)).toBe(ExitCode.usage);
    expect(io.errText()).toContain("--runs x: expected a positive integer");
  });

  it("a bad --key-type or --value-type on map lookup, update, delete, next and dump, whatever the map", async () => {
    for (const argv of [["map", "lookup", "id", "5", "key", "1", "--key-type", "struct{a:u33}"],
      ["map", "update", "id", "5", "key", "1", "value", "1", "--value-type", "u8["],
      ["map", "delete", "id", "5", "key", "1", "--key", "frob"],
      ["map", "next", "id", "5", "--key-type", "struct{}"],
      ["map", "dump", "id", "5", "--value", "pad[0]"]]) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.err, argv.join(" ")).toMatch(/bpfkit: type "/);
      expect(r.made, argv.join(" ")).toEqual([]);
    }
  });
});
