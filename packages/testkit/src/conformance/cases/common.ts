// Shared bits of the case files: type numbers, flag names, and a checker that runs a whole
// table and reports every mismatch at once (a simulator bug list, not just the first line).
import type { MapCreateAttr } from "@bpfkit/core";
import { ConformanceError, fail, show, type Expect, errnoOf } from "../assert.js";
import type { CaseContext } from "../context.js";

export const HASH = 1, ARRAY = 2, PROG_ARRAY = 3, PERCPU_HASH = 5, PERCPU_ARRAY = 6, LRU_HASH = 9,
  LRU_PERCPU_HASH = 10, LPM_TRIE = 11, ARRAY_OF_MAPS = 12, HASH_OF_MAPS = 13, QUEUE = 22, STACK = 23,
  BLOOM_FILTER = 30;

export const F = {
  NO_PREALLOC: 0x1, NO_COMMON_LRU: 0x2, NUMA_NODE: 0x4, RDONLY: 0x8, WRONLY: 0x10,
  STACK_BUILD_ID: 0x20, ZERO_SEED: 0x40, RDONLY_PROG: 0x80, WRONLY_PROG: 0x100,
  MMAPABLE: 0x400, PRESERVE_ELEMS: 0x800, INNER_MAP: 0x1000, PATH_FD: 0x4000, TOKEN_FD: 0x10000,
} as const;

export const ANY = 0, NOEXIST = 1, EXIST = 2, F_LOCK = 4;

/**
 * PCPU_MIN_UNIT_SIZE, the largest per-CPU value slot: PFN_ALIGN(32 KiB), so 32768 with 4 or 16 KiB
 * pages and a whole page (65536) with 64 KiB ones.
 */
export function pcpuMinUnitSize(ctx: CaseContext): number {
  return Math.max(32768, ctx.page);
}

export const typeNames: Record<number, string> = {
  1: "HASH", 2: "ARRAY", 3: "PROG_ARRAY", 5: "PERCPU_HASH", 6: "PERCPU_ARRAY", 9: "LRU_HASH",
  10: "LRU_PERCPU_HASH", 11: "LPM_TRIE", 12: "ARRAY_OF_MAPS", 13: "HASH_OF_MAPS", 22: "QUEUE", 23: "STACK",
  30: "BLOOM_FILTER",
};

export const hashTypes = [HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH] as const;

/** Collects mismatches; `done()` fails with all of them. */
export class Checks {
  private readonly bad: string[] = [];
  constructor(private readonly title: string) {}

  result(r: number, want: Expect, what: string): boolean {
    const ok = want === "OK" ? r >= 0 : r === -errnoOf(want);
    if (!ok) this.bad.push(`${what}: expected ${want}, got ${show(r)}`);
    return ok;
  }

  equal(got: unknown, want: unknown, what: string): void {
    if (got !== want) this.bad.push(`${what}: expected ${String(want)}, got ${String(got)}`);
  }

  /** Runs `fn`; an assertion failure inside counts as a mismatch, not an abort. */
  step(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof ConformanceError) this.bad.push(e.message);
      else throw e;
    }
  }

  done(): void {
    if (this.bad.length > 0) fail(`${this.title}: ${this.bad.length} mismatch(es)\n  - ${this.bad.join("\n  - ")}`);
  }
}

/** A MAP_CREATE with the given changes to `base`; OK results are closed after the case. */
export function createWith(ctx: CaseContext, base: MapCreateAttr, change: Partial<MapCreateAttr>): number {
  return ctx.tryCreate({ ...base, ...change });
}

/** An ARRAY k4 v4 max1 template for map-in-map creates. */
export function arrayTemplate(ctx: CaseContext, maxEntries = 1, flags = 0): number {
  return ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries, mapFlags: flags }, "inner template");
}

/** Blocks for `ms` (the cases are synchronous): the kernel's deferred frees take a few ms. */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Opens an object by id (`open`: mapGetFdById, btfGetFdById, …) until it is gone, for up to
 * `ms`, closing each fd it gets; returns the last answer (-ENOENT once gone). The kernel frees
 * a map or program in a work item or after an RCU grace period (bpf_map_free_in_work,
 * bpf_prog_free_deferred), and only then drops what it held; the simulator at once.
 */
export function openUntilGone(d: { close(fd: number): number }, open: () => number, ms = 5000): number {
  const end = Date.now() + ms;
  for (;;) {
    const r = open();
    if (r < 0) return r;
    d.close(r);
    if (Date.now() > end) return r;
    sleepMs(5);
  }
}
