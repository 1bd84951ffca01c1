// BPFKIT_DEBUG: the stack of an error the command did not expect (exit 1 from an error it did not
// word itself), for a bug report. Errors with an exit code of their own never print one.
import { describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { ExitCode } from "../src/index.js";
import { cliOver } from "./helpers.js";

const STACK_LINE = /^\s+at /m;

describe("BPFKIT_DEBUG", () => {
  it("prints the stack after the one-line error of an unexpected failure, and only when set", async () => {
    const d = createSimDriver();
    // A driver bug: a plain Error, no errno.
    Object.defineProperty(d, "mapGetNextId", { value: () => { throw new Error("driver bug"); } });
    const plain = await cliOver(d)("maps", "--driver", "sim");
    expect(plain.code).toBe(ExitCode.failure);
    expect(plain.err).toBe("bpfkit: driver bug\n");
    for (const value of ["1", "yes"]) {
      const debug = await cliOver(d, { BPFKIT_DEBUG: value })("maps", "--driver", "sim");
      expect(debug.code).toBe(ExitCode.failure);
      expect(debug.err).toMatch(/^bpfkit: driver bug\nError: driver bug\n\s+at /);
    }
    expect((await cliOver(d, { BPFKIT_DEBUG: "" })("maps", "--driver", "sim")).err).toBe("bpfkit: driver bug\n");
  });

  it("is named in the overview's help, so a user can find it", async () => {
    const help = await cliOver(createSimDriver())("--help");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/With BPFKIT_DEBUG set, an exit 1 .* also prints its stack/);
  });

  it("prints it for an errno the command had no words for (exit 1)", async () => {
    const d = createSimDriver();
    d.faults.inject("mapGetNextId", { errno: 12 });
    const r = await cliOver(d, { BPFKIT_DEBUG: "1" })("maps", "--driver", "sim");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toMatch(/^bpfkit: BPF_MAP_GET_NEXT_ID: cannot allocate memory\nBpfError: .*\n\s+at /);
  });

  it("prints none for a failure the command words itself, nor for errors with an exit code of their own", async () => {
    const env = { BPFKIT_DEBUG: "1" };
    const usage = await cliOver(createSimDriver(), env)("maps", "extra", "--driver", "sim");
    expect(usage.code).toBe(ExitCode.usage);
    // EPERM from bpf(2) itself (not a CliError): an unprivileged host's GET_NEXT_ID.
    const denied = await cliOver(createSimDriver({ privileged: false }), env)("maps", "--driver", "sim");
    expect(denied.code).toBe(ExitCode.permission);
    expect(denied.err).toMatch(/GET_NEXT_ID/);
    // ENOENT from bpf(2) itself: the map's info, asked for after its fd was opened.
    const d = createSimDriver();
    const fd = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      d.faults.inject("objGetInfoByFd", { errno: 2 });
      const gone = await cliOver(d, env)("maps", "--driver", "sim");
      expect(gone.code).toBe(ExitCode.notFound);
      const named = await cliOver(d, env)("map", "show", "id", "9", "--driver", "sim");
      expect(named.code).toBe(ExitCode.notFound);
      const u32 = ["id", "1", "key", "0", "value", "0", "--key-type", "u32", "--value-type", "u32", "--driver", "sim"];
      expect((await cliOver(d)("map", "update", ...u32)).code).toBe(0);
      const exists = await cliOver(d, env)("map", "update", ...u32, "noexist");
      expect(exists.code).toBe(ExitCode.failure);
      expect(exists.err).toContain("exists (noexist)");
      for (const r of [usage, denied, gone, named, exists]) {
        expect(r.err).toMatch(/^bpfkit: /);
        expect(r.err).not.toMatch(STACK_LINE);
      }
    } finally {
      d.close(fd);
    }
  });
});
