// map dump at its edges, on a simulator of the test's own: --batch's range, an empty map in JSON,
// and the walk's lookup budget as --stats reports it.
import { describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { ExitCode } from "../src/index.js";
import { cliOver, u32le, withSimMap } from "./helpers.js";

describe("map dump", () => {
  it("--batch 0 is a usage error naming the option, before anything is read", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 }, async ({ bpfkit }) => {
    const r = await bpfkit("map", "dump", "id", "1", "--batch", "0");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("--batch 0: expected a positive integer");
    expect(r.out).toBe("");
  }));

  it("an empty map in JSON is `[]` on one line, with or without --stats", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 }, async ({ bpfkit }) => {
    const r = await bpfkit("map", "dump", "id", "1", "--json");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe("[]\n");
    const s = await bpfkit("map", "dump", "id", "1", "--json", "--stats", "--driver", "sim");
    expect(s.code, s.err).toBe(0);
    expect(s.out.startsWith("{\"entries\": []")).toBe(true);
    expect(JSON.parse(s.out).entries).toEqual([]);
    // The stats are in the JSON; stderr stays empty for scripts that treat output there as trouble.
    expect(s.err).toBe("");
    // The shape changes with --stats, which a script's `.[]` would trip over: the help says so.
    expect((await bpfkit("map", "dump", "--help")).out).toContain("With --json and --stats the document is {\"entries\": […], \"stats\": {…}}\ninstead of the bare array of entries.");
  }));

  it("--stats -q prints the stats all the same, as the help says: -q hides notes, not what was asked for", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 }, async ({ fd, d, bpfkit }) => {
    expect(d.mapUpdateElem(fd, u32le(1), u32le(2))).toBe(0);
    const r = await bpfkit("map", "dump", "id", "1", "--stats", "-q");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe("key: 01 00 00 00  value: 02 00 00 00\n1 entry\n");
    expect(r.err).toMatch(/^algorithm: +batch\n/);
    expect(r.err).toContain("delivered:          1\n");
    const help = await bpfkit("map", "dump", "--help");
    expect(help.out).toContain("--stats prints the seed's DumpStats (on stderr, or under \"stats\" with --json); -q does not hide them");
    expect(help.out).toMatch(/--stats +print the DumpStats counters \(on stderr, even with -q\)/);
  }));

  it("--stats states the walk's lookup budget as four lookups per entry of max_entries (the seed's maxLookups)", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8 }, async ({ bpfkit }) => {
    const r = await bpfkit("map", "dump", "id", "1", "--stats", "--algorithm", "walk");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^maxEntries:\s+8 \(budget 32 lookups\)$/m);
  }));

  it("a per-CPU value shows each CPU's own slot in JSON, not CPU 0's for all", () => withSimMap({ mapType: 6, keySize: 4, valueSize: 4, maxEntries: 1 }, async ({ d, fd, bpfkit }) => {
    const n = d.possibleCpus;
    const raw = new Uint8Array(8 * n);
    for (let c = 0; c < n; c++) raw.set(u32le(10 + c), 8 * c);
    expect(d.mapUpdateElem(fd, u32le(0), raw, 0)).toBe(0);
    const r = await bpfkit("map", "dump", "id", "1", "--key-type", "u32", "--value-type", "u32", "--json");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)[0].values).toEqual(Array.from({ length: n }, (_, cpu) => ({ cpu, value: 10 + cpu })));
  }));
});

describe("fuzz dump", () => {
  it("takes no words: an extra one is a usage error, not ignored", async () => {
    const r = await cliOver(createSimDriver())("fuzz", "dump", "--driver", "sim", "--runs", "1", "extra");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain('unexpected "extra"');
  });
});
