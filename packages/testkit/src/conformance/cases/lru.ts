// kernel-maps.md §7: LRU maps. The `lru` group holds what every driver must do whatever CPU a
// syscall runs on (§7.1, §7.4: never fails when full, never over max, newest kept); the
// `lru-exact` group holds the exact single-CPU sequences (§7.2, §7.3), which the kernel shows
// only when every syscall runs on CPU 0.
import { CaseSkipped, expectList, expectResult, expectTrue, fail } from "../assert.js";
import { u32, type CaseContext } from "../context.js";
import { commonLruLive, effectiveLruMax, perCpuLruLive } from "../models/lru.js";
import type { ConformanceCase } from "../types.js";
import { valueOf } from "./elements.js";
import { ANY, EXIST, F, LRU_HASH, LRU_PERCPU_HASH, NOEXIST, typeNames } from "./common.js";
import { programLookupFor } from "../../diff/program-lookup.js";

function liveSet(ctx: CaseContext, fd: number): number[] {
  return ctx.walkU32(fd).sort((a, b) => a - b);
}

function semanticCase(t: number, flags: number): ConformanceCase {
  return {
    name: `§7.1 LRU ${typeNames[t]}${flags ? " NO_COMMON_LRU" : ""}: inserts into a full map evict instead of failing; never over max; the newest stays`,
    group: "lru",
    run(ctx) {
      for (const max of [1, 8, 100]) {
        const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: flags });
        const eff = effectiveLruMax(max, ctx.cpus, flags !== 0);
        const val = valueOf(ctx, t, 4, 1);
        const n = 3 * max + 10;
        for (let k = 0; k < n; k++) {
          expectResult(ctx.driver.mapUpdateElem(fd, u32(k), val, k % 2 ? NOEXIST : ANY), "OK", `max ${max}: insert #${k + 1}`);
          if (max <= 8 || k % 10 === 0 || k === n - 1) {
            const live = ctx.walkU32(fd);
            expectTrue(live.length <= eff, `max ${max}: ${live.length} elements after insert #${k + 1}, over the effective max ${eff}`);
            expectTrue(live.includes(k), `max ${max}: the key just inserted (${k}) is missing`);
          }
        }
        expectTrue(ctx.walk(fd, 4).length > 0, `max ${max}: the map ended empty`);
        ctx.close(fd);
      }
    },
  };
}

function exactCommonCase(t: number, maxes: number[]): ConformanceCase {
  return {
    name: `§7.2 LRU-exact ${typeNames[t]}: single-CPU insert-only eviction matches the free-list model (M=${maxes.join(",")})`,
    group: "lru-exact",
    run(ctx) {
      for (const max of maxes) {
        const n = 3 * max + 20;
        const want = commonLruLive(max, ctx.cpus, n);
        const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: max });
        const val = valueOf(ctx, t, 4, 1);
        for (let k = 0; k < n; k++) {
          ctx.put(fd, u32(k), val, ANY, `M=${max} insert #${k + 1}`);
          const got = liveSet(ctx, fd);
          const exp = [...want[k]!].sort((a, b) => a - b);
          if (got.join() !== exp.join()) {
            fail(`M=${max} after insert #${k + 1}: expected ${exp.length} live keys [${short(exp)}], got ${got.length} [${short(got)}]`);
          }
        }
        ctx.close(fd);
      }
    },
  };
}

function short(xs: number[]): string {
  return xs.length <= 12 ? xs.join(",") : `${xs.slice(0, 6).join(",")},…,${xs.slice(-4).join(",")}`;
}

export const lruCases: ConformanceCase[] = [
  semanticCase(LRU_HASH, 0), semanticCase(LRU_PERCPU_HASH, 0),
  semanticCase(LRU_HASH, F.NO_COMMON_LRU), semanticCase(LRU_PERCPU_HASH, F.NO_COMMON_LRU),
  {
    name: "§7.1 LRU: updating an existing key of a full map succeeds and keeps it",
    group: "lru",
    run(ctx) {
      for (const t of [LRU_HASH, LRU_PERCPU_HASH]) {
        const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 8 });
        for (let k = 0; k < 8; k++) ctx.put(fd, u32(k), valueOf(ctx, t, 4, k));
        const live = ctx.walkU32(fd);
        const key = live[live.length - 1]!;
        expectResult(ctx.driver.mapUpdateElem(fd, u32(key), valueOf(ctx, t, 4, 99), ANY), "OK", `${typeNames[t]}: update of existing key ${key}`);
        const v = ctx.get(fd, u32(key), ctx.valueBytes(t, 4));
        expectList([...v.subarray(0, 4)], [...u32(99)], `${typeNames[t]}: value of key ${key} after update`);
      }
    },
  },
  exactCommonCase(LRU_HASH, [1, 2, 3, 5, 8, 10, 33, 100, 129]),
  exactCommonCase(LRU_PERCPU_HASH, [8, 100]),
  {
    name: "§7.3 LRU-exact LRU_HASH NO_COMMON_LRU: one CPU uses only its share, evicting up to 4 oldest (M=1,2,3,8,9,20,100)",
    group: "lru-exact",
    run(ctx) {
      for (const max of [1, 2, 3, 8, 9, 20, 100]) {
        const n = 3 * max + 20;
        const want = perCpuLruLive(max, ctx.cpus, n);
        const fd = ctx.create({ mapType: LRU_HASH, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: F.NO_COMMON_LRU });
        for (let k = 0; k < n; k++) {
          ctx.put(fd, u32(k), u32(k), ANY, `M=${max} insert #${k + 1}`);
          const got = liveSet(ctx, fd);
          const exp = [...want[k]!].sort((a, b) => a - b);
          if (got.join() !== exp.join()) fail(`M=${max} after insert #${k + 1}: expected [${short(exp)}], got [${short(got)}]`);
        }
        ctx.close(fd);
      }
    },
  },
  {
    name: "§7.1 LRU-exact: user-space lookup, next_key and lookup_batch do not mark elements (M=8)",
    group: "lru-exact",
    run(ctx) {
      const fd = ctx.create({ mapType: LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
      const want = commonLruLive(8, ctx.cpus, 16);
      for (let k = 0; k < 8; k++) ctx.put(fd, u32(k), u32(k));
      for (let i = 0; i < 10; i++) ctx.get(fd, u32(0), 4);
      ctx.walk(fd, 4);
      const keys = new Uint8Array(4 * 16);
      ctx.driver.mapLookupBatch(fd, null, new Uint8Array(4), keys, new Uint8Array(4 * 16), 16);
      for (let k = 8; k < 16; k++) {
        ctx.put(fd, u32(k), u32(k));
        expectList(liveSet(ctx, fd), [...want[k]!].sort((a, b) => a - b), `live keys after insert #${k + 1}`);
      }
    },
  },
  {
    name: "§7.1 LRU-exact: every LRU_HASH update pops a free node, so any update of a full M=8 map evicts the oldest target_free",
    group: "lru-exact",
    run(ctx) {
      // The pop finds the global pool empty and shrinks target_free = clamp(8 / cpus / 2, 1, 128)
      // elements off the inactive tail: keys 0 and 1 on 2 CPUs (probe_lru_update_existing.txt).
      const target = Math.max(1, Math.min(Math.floor(Math.floor(8 / ctx.cpus) / 2), 128));
      const all = [0, 1, 2, 3, 4, 5, 6, 7];
      const survivors = all.filter((k) => k >= target);
      for (const t of [LRU_HASH, LRU_PERCPU_HASH]) {
        for (const [label, key, fl, want, evicts] of [
          ["update existing 5 ANY", 5, ANY, "OK", true], ["update existing 5 EXIST", 5, EXIST, "OK", t === LRU_HASH],
          ["update existing 5 NOEXIST", 5, NOEXIST, "EEXIST", true], ["update missing 99 EXIST", 99, EXIST, "ENOENT", t === LRU_HASH],
        ] as const) {
          const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 8 });
          const val = valueOf(ctx, t, 4, 0);
          for (let k = 0; k < 8; k++) ctx.put(fd, u32(k), val);
          expectResult(ctx.driver.mapUpdateElem(fd, u32(key), val, fl), want, `${typeNames[t]} ${label}`);
          expectList(liveSet(ctx, fd), evicts ? survivors : all, `${typeNames[t]} ${label}: live keys`);
          ctx.close(fd);
        }
      }
    },
  },
  {
    name: "§7.1 LRU-exact: a program's lookup marks an element, and the NO_COMMON_LRU shrink then moves it to the active list rather than evicting it",
    group: "lru-exact",
    run(ctx) {
      // Found by the differential fuzzer (a shrink that ignored the mark): CPU 0's list holds
      // 7 nodes and rotation looks at 4 of them per pop, so the marked key 2 meets the shrink
      // unrotated, which must move it on and evict the unmarked. Probed on 6.18: without the
      // lookups the last update evicts 5 (so the lookup of 5 kept it too) and 2 is spared anyway.
      const lookup = programLookupFor(ctx.driver);
      if (lookup === undefined) throw new CaseSkipped(`${ctx.driver.kind} runs no programs (a kernel driver with progTestRun, or the simulator)`);
      for (const [label, marked, want] of [["with the lookups", true, [0, 2, 3, 5]], ["without them", false, [0, 2, 3]]] as const) {
        const fd = ctx.create({ mapType: LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 7 * ctx.cpus, mapFlags: F.NO_COMMON_LRU });
        const steps: [string, number, number][] = [["put", 4, ANY], ["put", 1, ANY], ["put", 6, ANY], ["put", 5, NOEXIST], ["lookup", 5, 0],
          ["put", 2, ANY], ["put", 0, ANY], ["put", 3, ANY], ["lookup", 2, 0], ["put", 0, ANY]];
        for (const [what, k, fl] of steps) {
          if (what === "put") expectResult(ctx.driver.mapUpdateElem(fd, u32(k), u32(k), fl), "OK", `${label}: update ${k}`);
          else if (marked) expectList([lookup(fd, u32(k), 4)], [`found, value[0] 0${k}`], `${label}: program lookup of ${k}`);
        }
        expectList(liveSet(ctx, fd), [...want], `${label}: live keys`);
        ctx.close(fd);
      }
    },
  },
  {
    name: "§7.1 LRU-exact: with max_entries 1, update EXIST of the only key evicts it and fails ENOENT; NOEXIST then succeeds",
    group: "lru-exact",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      ctx.put(fd, u32(1), u32(1));
      expectResult(d.mapUpdateElem(fd, u32(1), u32(2), ANY), "OK", "update(1, ANY)");
      expectList(liveSet(ctx, fd), [1], "keys after update(1, ANY)");
      expectResult(d.mapUpdateElem(fd, u32(1), u32(3), EXIST), "ENOENT", "update(1, EXIST)");
      expectList(liveSet(ctx, fd), [], "keys after update(1, EXIST)");
      ctx.put(fd, u32(1), u32(1));
      expectResult(d.mapUpdateElem(fd, u32(1), u32(3), NOEXIST), "OK", "update(1, NOEXIST) of the existing key");
      expectList(liveSet(ctx, fd), [1], "keys after update(1, NOEXIST)");
      const p = ctx.create({ mapType: LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      ctx.put(p, u32(1), valueOf(ctx, LRU_PERCPU_HASH, 4, 0));
      expectResult(d.mapUpdateElem(p, u32(1), valueOf(ctx, LRU_PERCPU_HASH, 4, 1), EXIST), "OK", "LRU_PERCPU_HASH update(1, EXIST) skips the pop");
      expectList(liveSet(ctx, p), [1], "LRU_PERCPU_HASH keys after update(1, EXIST)");
    },
  },
];
