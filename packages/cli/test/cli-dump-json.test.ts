// `map dump --json` that fails part-way: a script reading stdout must get one whole JSON document
// or nothing. Before, entries were flushed every 4096, so a late failure left a cut-off array.
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { ExitCode } from "../src/index.js";
import { OutputSpool, SPOOL_MEMORY_LIMIT } from "../src/output-spool.js";
import { cliOver, u32le, u64le, withSimMap } from "./helpers.js";

const ENTRIES = 6000;
const EIO = 5;

/**
 * A simulator whose lookups fail with EIO once `after` calls have succeeded, over a pinned hash
 * of `entries` keys; values wider than 8 bytes are `valueSize` bytes of the key's low byte.
 */
function failingLater(after: number, entries = ENTRIES, valueSize = 8): { d: Driver; path: string } {
  const sim = createSimDriver();
  const fd = sim.mapCreate({ mapType: 1, keySize: 4, valueSize, maxEntries: entries });
  expect(fd).toBeGreaterThanOrEqual(0);
  for (let i = 0; i < entries; i++) {
    const value = valueSize === 8 ? u64le(BigInt(i)) : new Uint8Array(valueSize).fill(i & 0xff);
    expect(sim.mapUpdateElem(fd, u32le(i), value)).toBe(0);
  }
  const path = "/sys/fs/bpf/big";
  expect(sim.objPin(fd, path)).toBe(0);
  let calls = 0;
  const d = new Proxy(sim, {
    get(t, k) {
      if (k === "mapLookupElem") return (...a: Parameters<Driver["mapLookupElem"]>) => (++calls > after ? -EIO : t.mapLookupElem(...a));
      if (k === "mapLookupBatch") return (...a: Parameters<Driver["mapLookupBatch"]>) => (++calls > after ? { errno: EIO, count: 0 } : t.mapLookupBatch(...a));
      const v = Reflect.get(t, k, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { d, path };
}

describe("map dump --json when the dump fails part-way", () => {
  for (const [alg, after, extra] of [["walk", 5000, []], ["batch", 5, ["--batch", "1000"]]] as const) {
    it(`${alg}: nothing on stdout, the error on stderr, a failing exit code`, async () => {
      const { d, path } = failingLater(after);
      const r = await cliOver(d)("map", "dump", path, "--json", "--algorithm", alg, ...extra, "--driver", "sim");
      expect(r.code).toBe(ExitCode.failure);
      expect(r.out).toBe("");
      expect(r.err).toContain("input/output error");
      for (const stats of [[], ["--stats"]]) {
        const ok = await cliOver(failingLater(Infinity).d)("map", "dump", path, "--json", "--algorithm", alg, ...extra, ...stats, "--driver", "sim");
        expect(ok.code).toBe(0);
        const doc = JSON.parse(ok.out) as unknown[] | { entries: unknown[] };
        expect((Array.isArray(doc) ? doc : doc.entries).length).toBe(ENTRIES);
      }
    });
  }

  // A dump past SPOOL_MEMORY_LIMIT characters has moved to an unlinked temporary file, which only
  // its fd keeps: a failure after that must close it, or each failed dump leaks one fd and its disk.
  it.skipIf(!existsSync("/proc/self/fd"))("a dump that fails after its JSON moved to disk closes the spool file", async () => {
    const spoolFds = () => readdirSync("/proc/self/fd").filter((n) => {
      try {
        return readlinkSync(`/proc/self/fd/${n}`).includes("bpfkit-spool-");
      } catch {
        return false; // the directory's own fd, gone by now
      }
    });
    // The dump writes to the spool every 4096 entries; 1024-byte values are ~3k characters of JSON
    // each, so the first 4096 pass the limit, and the failure comes after them.
    const entries = 5000;
    const { d, path } = failingLater(4500, entries, 1024);
    expect(spoolFds()).toEqual([]);
    const r = await cliOver(d)("map", "dump", path, "--json", "--algorithm", "walk", "--driver", "sim");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.out).toBe("");
    expect(r.err).toContain("input/output error");
    expect(spoolFds()).toEqual([]);
    // The same dump without the failure spills too, and hands back the whole document.
    const ok = await cliOver(failingLater(Infinity, entries, 1024).d)("map", "dump", path, "--json", "--algorithm", "walk", "--driver", "sim");
    expect(ok.code, ok.err).toBe(0);
    expect((ok.out.length / entries) * 4096).toBeGreaterThan(SPOOL_MEMORY_LIMIT);
    expect((JSON.parse(ok.out) as unknown[]).length).toBe(entries);
    expect(spoolFds()).toEqual([]);
  });

  it("without --json the entries read so far stay on stdout, with no count line", async () => {
    const { d, path } = failingLater(5000);
    const r = await cliOver(d)("map", "dump", path, "--algorithm", "walk", "--driver", "sim");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.out.split("\n").filter(Boolean).length).toBeGreaterThanOrEqual(4096);
    expect(r.out).not.toMatch(/entries\n$/);
  });
});

describe("OutputSpool", () => {
  it("past its memory limit it moves to an unlinked file and still hands back every character, in order", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-spool-test-"));
    try {
      const spool = new OutputSpool(1000, dir);
      const parts = Array.from({ length: 3000 }, (_, i) => `${i} é ✓ ${"x".repeat(i % 50)}\n`);
      for (const p of parts) spool.write(p);
      expect(spool.spilled).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
      const got: string[] = [];
      spool.commit((t) => got.push(t));
      expect(got.join("")).toBe(parts.join(""));
      const dropped = new OutputSpool(10, dir);
      dropped.write("x".repeat(100));
      dropped.discard();
      const none: string[] = [];
      dropped.commit((t) => none.push(t));
      expect(none).toEqual([]);
      // Dropped before it moved to the file, too.
      const small = new OutputSpool(1000, dir);
      small.write("held in memory");
      small.discard();
      small.commit((t) => none.push(t));
      expect(none).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a character whose UTF-8 bytes straddle the file's 1 MiB reads comes back whole", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-spool-test-"));
    try {
      const spool = new OutputSpool(10, dir);
      // 3-byte characters from byte 0: 2^20 is no multiple of 3, so one of them is cut by the first read.
      const text = "✓".repeat(400_000);
      spool.write(text);
      expect(spool.spilled).toBe(true);
      const got: string[] = [];
      spool.commit((t) => got.push(t));
      expect(got.length).toBeGreaterThan(1);
      expect(got.join("") === text).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("map dump --json numbers", () => {
  it("keeps 64-bit values past ±2^53 exact, as strings, as lookup --json does", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4 }, async ({ d, fd, bpfkit }) => {
    expect(d.objPin(fd, "/sys/fs/bpf/n")).toBe(0);
    for (const [k, v] of [[1, "-9223372036854775807"], [2, "9223372036854775807"], [3, "-5"]] as const) {
      expect((await bpfkit("map", "update", "/sys/fs/bpf/n", "key", String(k), "--key-type", "u32", "value", v, "--value-type", "i64")).code).toBe(0);
    }
    const r = await bpfkit("map", "dump", "/sys/fs/bpf/n", "--key-type", "u32", "--value-type", "i64", "--json");
    expect(r.code, r.err).toBe(0);
    const byKey = Object.fromEntries((JSON.parse(r.out) as Array<{ key: number; value: unknown }>).map((e) => [e.key, e.value]));
    expect(byKey).toEqual({ 1: "-9223372036854775807", 2: "9223372036854775807", 3: -5 });
    const one = await bpfkit("map", "lookup", "/sys/fs/bpf/n", "key", "1", "--key-type", "u32", "--value-type", "i64", "--json");
    expect(JSON.parse(one.out).value).toBe("-9223372036854775807");
  }));
});
