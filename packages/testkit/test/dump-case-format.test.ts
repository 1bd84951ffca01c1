// A shrunk dump case is what a user reads to understand a violation, so it must name the keys
// the datapath really touched.
import { BPF_MAP_TYPE_HASH } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { type DumpCase, formatDumpCase } from "../src/index.js";

const base: DumpCase = {
  spec: { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 2, mapFlags: 0 },
  initial: 2, fresh: 1, budgetEntries: undefined, batchCap: 1, seed: 0, interleaving: [],
};

describe("formatDumpCase", () => {
  it("names a plain op's key", () => {
    const c = { ...base, interleaving: [{ at: 1, ops: [{ kind: "delete" as const, key: 1, cpu: 0 }] }] };
    expect(formatDumpCase(c)).toContain("before syscall 1: delete key 1 on cpu 0");
  });

  it("says that an op aimed at the dump goes at the key the dump reached, not at its key number", () => {
    const c = {
      ...base, interleaving: [{
        at: 1, ops: [{ kind: "delete" as const, key: 0, cpu: 0, recent: 0 as const },
          { kind: "update" as const, key: 2, cpu: 1, recent: 1 as const }],
      }],
    };
    const text = formatDumpCase(c);
    expect(text).not.toContain("delete key 0");
    expect(text).toContain("before syscall 1: delete the key the dump's last GET_NEXT_KEY returned (key 0 until there is one) on cpu 0, " +
      "update the key the dump's previous GET_NEXT_KEY returned (key 2 until there is one) on cpu 1");
  });
});
