// kernel-maps.md §5: hash-family geometry and order under BPF_F_ZERO_SEED (§5.1–§5.3, checked
// against the jhash model in models/), move-to-head vs in-place (§5.2), exact capacity (§5.4).
import { expectList, expectResult } from "../assert.js";
import { u32, u64, readU32, type CaseContext } from "../context.js";
import { hex, HtabModel, unhex } from "../models/htab.js";
import { Prng } from "../prng.js";
import type { ConformanceCase } from "../types.js";
import { valueOf } from "./elements.js";
import {
  ANY, arrayTemplate, Checks, EXIST, F, HASH, HASH_OF_MAPS, LRU_HASH, LRU_PERCPU_HASH, NOEXIST,
  PERCPU_HASH, typeNames,
} from "./common.js";

const Z = F.ZERO_SEED;
const ascii = (s: string) => new TextEncoder().encode(s);

function walkCase(name: string, keySize: number, max: number, keys: Uint8Array[], want: Uint8Array[]): ConformanceCase {
  return {
    name, group: "hash",
    run(ctx) {
      const fd = ctx.create({ mapType: HASH, keySize, valueSize: 4, maxEntries: max, mapFlags: Z });
      for (const k of keys) ctx.put(fd, k, u32(1));
      expectList(ctx.walkHex(fd, keySize), want.map(hex), "GET_NEXT_KEY walk");
      const m = new HtabModel(max, true);
      for (const k of keys) m.update(k);
      expectList(m.order(), want.map(hex), "the suite's own jhash model (self-check)");
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Keys (u32) that share bucket `bucket` of an `n`-bucket table: found with the model. */
export function collidingU32(max: number, count: number, bucket = 0): number[] {
  const m = new HtabModel(max, true);
  const out: number[] = [];
  for (let k = 0; out.length < count; k++) if (m.bucketOf(u32(k)) === bucket) out.push(k);
  return out;
}

/** Runs one random scenario on the driver and the model, checking every errno and the walks. */
function randomScenario(ctx: CaseContext, seed: number, t: number, flags: number): void {
  const rnd = new Prng(seed);
  const lru = t === LRU_HASH || t === LRU_PERCPU_HASH;
  const keySize = rnd.pick([1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 20, 25]);
  // LRU maps get a pool far larger than the keys used, so nothing is evicted (§7.1).
  const max = lru ? 1000 : rnd.pick([1, 3, 8, 13, 100]);
  const pool = Array.from({ length: lru ? 40 : Math.min(2 * max + 3, 60) }, () => rnd.bytes(keySize));
  const fd = ctx.create({ mapType: t, keySize, valueSize: 4, maxEntries: max, mapFlags: Z | flags });
  const model = new HtabModel(max, t === HASH || t === LRU_HASH);
  const what = `seed ${seed} ${typeNames[t]}${flags ? " NO_PREALLOC" : ""} k${keySize} max${max}`;
  const val = valueOf(ctx, t, 4, seed);
  const ops = 30 + rnd.int(120);
  for (let i = 0; i < ops; i++) {
    const key = rnd.pick(pool);
    if (rnd.next() < 0.7) {
      const fl = rnd.pick([ANY, ANY, NOEXIST, EXIST]);
      const want = model.update(key, fl);
      expectResult(ctx.driver.mapUpdateElem(fd, key, val, fl), want, `${what}: op ${i} update(${hex(key)}, ${fl})`);
    } else {
      const want = model.delete(key);
      expectResult(ctx.driver.mapDeleteElem(fd, key), want, `${what}: op ${i} delete(${hex(key)})`);
    }
  }
  expectList(ctx.walkHex(fd, keySize), model.order(), `${what}: walk`);
  const next = new Uint8Array(keySize);
  for (const k of model.order().slice(0, 20)) {
    const r = ctx.driver.mapGetNextKey(fd, unhex(k), next);
    const want = model.nextKey(unhex(k));
    expectResult(r, want === undefined ? "ENOENT" : "OK", `${what}: next_key(${k})`);
    if (want !== undefined) expectList([hex(next)], [want], `${what}: next_key(${k})`);
  }
  const absent = pool.find((k) => !model.has(k));
  if (absent !== undefined) {
    const want = model.nextKey(absent);
    const r = ctx.driver.mapGetNextKey(fd, absent, next);
    expectResult(r, want === undefined ? "ENOENT" : "OK", `${what}: next_key(absent ${hex(absent)}) restarts`);
    if (want !== undefined) expectList([hex(next)], [want], `${what}: next_key(absent ${hex(absent)})`);
  }
}

// HASH_OF_MAPS updates in place on 6.18 (probed here with colliding keys), though §5.2 lists
// it with the movers: the spec's probe never updated a key that shared its bucket.
function moveCase(t: number): ConformanceCase {
  const moves = t === HASH || t === LRU_HASH;
  return {
    name: `§5.2 hash ${typeNames[t]}: update of an existing key ${moves ? "moves it to the head of its bucket" : "keeps its place (in place)"}`,
    group: "hash",
    run(ctx) {
      // 8 buckets for the plain hash; LRU maps get a large pool so nothing is evicted.
      const max = t === LRU_HASH || t === LRU_PERCPU_HASH ? 128 : 8;
      const inner = t === HASH_OF_MAPS ? arrayTemplate(ctx) : 0;
      const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: Z, innerMapFd: inner || undefined });
      const val = t === HASH_OF_MAPS ? u32(inner) : valueOf(ctx, t, 4, 7);
      const model = new HtabModel(max, moves);
      const keys = [...collidingU32(max, 3, 0), ...collidingU32(max, 2, 1)];
      for (const k of keys) {
        model.update(u32(k));
        ctx.put(fd, u32(k), val);
      }
      const show = (xs: string[]) => xs.map((x) => readU32(unhex(x)));
      expectList(ctx.walkU32(fd), show(model.order()), "walk after inserts (new keys at the head)");
      const [a, b] = keys;
      expectResult(ctx.driver.mapUpdateElem(fd, u32(a!), val, EXIST), "OK", `update EXIST of ${a}`);
      model.update(u32(a!), EXIST);
      expectList(ctx.walkU32(fd), show(model.order()), `walk after updating ${a}`);
      expectResult(ctx.driver.mapUpdateElem(fd, u32(b!), val, NOEXIST), "EEXIST", `update NOEXIST of ${b}`);
      expectList(ctx.walkU32(fd), show(model.order()), "walk after a failed update (nothing moves)");
      expectResult(ctx.driver.mapUpdateElem(fd, u32(b!), val, ANY), "OK", `update ANY of ${b}`);
      model.update(u32(b!), ANY);
      expectList(ctx.walkU32(fd), show(model.order()), `walk after updating ${b}`);
      expectResult(ctx.driver.mapDeleteElem(fd, u32(keys[1]!)), "OK", `delete ${keys[1]}`);
      model.delete(u32(keys[1]!));
      expectList(ctx.walkU32(fd), show(model.order()), "walk after a delete (others keep their order)");
    },
  };
}

function capacityCase(t: number, flags: number): ConformanceCase {
  return {
    name: `§5.4 hash ${typeNames[t]}${flags ? " NO_PREALLOC" : ""}: capacity is exactly max_entries (E2BIG past it)`,
    group: "hash",
    run(ctx) {
      const inner = t === HASH_OF_MAPS ? arrayTemplate(ctx) : 0;
      const val = t === HASH_OF_MAPS ? u32(inner) : valueOf(ctx, t, 4, 1);
      for (const max of [1, 7, 129]) {
        const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: flags, innerMapFd: inner || undefined });
        for (let k = 0; k < max; k++) expectResult(ctx.driver.mapUpdateElem(fd, u32(k), val, ANY), "OK", `max ${max}: insert #${k + 1}`);
        expectResult(ctx.driver.mapUpdateElem(fd, u32(max), val, ANY), "E2BIG", `max ${max}: insert #${max + 1}`);
        expectResult(ctx.driver.mapUpdateElem(fd, u32(max), val, NOEXIST), "E2BIG", `max ${max}: insert #${max + 1} NOEXIST`);
        expectResult(ctx.driver.mapUpdateElem(fd, u32(0), val, ANY), "OK", `max ${max}: replace an existing key when full`);
        const churn = Math.min(max, 10);
        for (let k = 0; k < churn; k++) ctx.driver.mapDeleteElem(fd, u32(k));
        for (let k = 0; k < churn; k++) expectResult(ctx.driver.mapUpdateElem(fd, u32(1000 + k), val, ANY), "OK", `max ${max}: re-insert after deletes #${k + 1}`);
        expectResult(ctx.driver.mapUpdateElem(fd, u32(5000), val, ANY), "E2BIG", `max ${max}: insert past max after churn`);
        expectList([ctx.walk(fd, 4).length], [max], `max ${max}: elements walked`);
        ctx.close(fd);
      }
    },
  };
}

export const hashCases: ConformanceCase[] = [
  walkCase("§5.3 hash: HASH k4 max16, u32 0..15 walks as the kernel's example", 4, 16, range(16).map(u32),
    [10, 4, 15, 5, 0, 14, 7, 2, 13, 1, 8, 12, 11, 9, 6, 3].map(u32)),
  walkCase("§5.3 hash: HASH k8 max10, u64 0,1000..9000 walks as the kernel's example", 8, 10, range(10).map((i) => u64(i * 1000)),
    [7000, 4000, 2000, 9000, 1000, 6000, 3000, 5000, 8000, 0].map(u64)),
  walkCase("§5.3 hash: HASH k3 max4, \"abc\",\"foo\",\"bar\",\"zzz\" walks as the kernel's example", 3, 4,
    ["abc", "foo", "bar", "zzz"].map(ascii), ["bar", "abc", "zzz", "foo"].map(ascii)),
  walkCase("§5.3 hash: HASH k4 max8, u32 0..5 walks as the kernel's example", 4, 8, range(6).map(u32), [0, 4, 2, 1, 5, 3].map(u32)),
  {
    name: "§5.2 hash: colliding keys 0,8,16 in one bucket walk head-first [16,8,0]; updating 0 gives [0,16,8]",
    group: "hash",
    run(ctx) {
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: Z });
      const keys = collidingU32(4, 3);
      for (const k of keys) ctx.put(fd, u32(k), u32(k));
      expectList(ctx.walkU32(fd), [...keys].reverse(), "walk of three colliding keys");
      ctx.put(fd, u32(keys[0]!), u32(1), EXIST);
      expectList(ctx.walkU32(fd), [keys[0]!, keys[2]!, keys[1]!], "walk after updating the oldest");
    },
  },
  ...[HASH, HASH_OF_MAPS, LRU_HASH, PERCPU_HASH, LRU_PERCPU_HASH].map(moveCase),
  {
    name: "§5.3 hash: next_key walks a bucket head to tail, then the next non-empty bucket; absent keys restart",
    group: "hash",
    run(ctx) {
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: Z });
      const model = new HtabModel(8, true);
      for (const k of [0, 1, 2, 3, 4, 5]) {
        ctx.put(fd, u32(k), u32(k));
        model.update(u32(k));
      }
      const next = new Uint8Array(4);
      const c = new Checks("next_key");
      for (const k of [null, 0, 1, 2, 3, 4, 5, 6, 99]) {
        const key = k === null ? null : u32(k);
        const want = model.nextKey(key);
        const r = ctx.driver.mapGetNextKey(fd, key, next);
        if (c.result(r, want === undefined ? "ENOENT" : "OK", `next_key(${k})`) && want !== undefined) {
          c.equal(hex(next), want, `next_key(${k}) key`);
        }
      }
      c.done();
    },
  },
  {
    name: "§5.3 hash: deleting the current key before next_key restarts the walk",
    group: "hash",
    run(ctx) {
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: Z });
      for (const k of [0, 1, 2, 3, 4, 5]) ctx.put(fd, u32(k), u32(k));
      const order = ctx.walkU32(fd);
      const cur = u32(order[2]!);
      expectResult(ctx.driver.mapDeleteElem(fd, cur), "OK", "delete the current key");
      const next = new Uint8Array(4);
      expectResult(ctx.driver.mapGetNextKey(fd, cur, next), "OK", "next_key of the deleted key");
      expectList([readU32(next)], [order[0]!], "next_key of a deleted key gives the first key");
    },
  },
  ...[[HASH, 0], [HASH, F.NO_PREALLOC], [PERCPU_HASH, 0], [PERCPU_HASH, F.NO_PREALLOC], [LRU_HASH, 0], [LRU_PERCPU_HASH, 0]].map(
    ([t, flags]): ConformanceCase => ({
      name: `§5.5 hash ${typeNames[t!]}${flags ? " NO_PREALLOC" : ""}: random updates/deletes match the jhash model (errnos, walk, next_key)`,
      group: "hash",
      run(ctx) {
        for (let seed = 1; seed <= 12; seed++) randomScenario(ctx, seed * 7919 + t! * 31 + flags!, t!, flags!);
      },
    })),
  ...[[HASH, 0], [HASH, F.NO_PREALLOC], [PERCPU_HASH, 0], [PERCPU_HASH, F.NO_PREALLOC], [HASH_OF_MAPS, 0], [HASH_OF_MAPS, F.NO_PREALLOC]]
    .map(([t, f]) => capacityCase(t!, f!)),
];
