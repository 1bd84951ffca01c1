// kernel-maps.md §10: batch operations — bucket tokens for the hash family, key tokens for the
// generic implementation, ENOSPC only when the first bucket does not fit, ENOENT with elements
// at the end, partial counts for update/delete, the support matrix.
import type { BatchResult } from "@bpfkit/core";
import { expectBatch, expectBytes, expectEqual, expectList, fail } from "../assert.js";
import { readU32, u32, type CaseContext } from "../context.js";
import { hex, HtabModel, unhex } from "../models/htab.js";
import { Prng } from "../prng.js";
import type { ConformanceCase } from "../types.js";
import { valueOf } from "./elements.js";
import {
  ARRAY, ARRAY_OF_MAPS, arrayTemplate, Checks, F, HASH, HASH_OF_MAPS, LPM_TRIE, LRU_HASH, LRU_PERCPU_HASH,
  NOEXIST, PERCPU_ARRAY, PERCPU_HASH, PROG_ARRAY, typeNames,
} from "./common.js";

const Z = F.ZERO_SEED;

function u32s(b: Uint8Array, n: number, stride = 4): number[] {
  return Array.from({ length: n }, (_, i) => readU32(b, i * stride));
}

interface Call { r: BatchResult; keys: number[]; vals: number[]; out: number }

/** A LOOKUP(_AND_DELETE)_BATCH of u32 keys / u32 values on a plain map. */
function lookupBatch(ctx: CaseContext, fd: number, inBatch: number | null, count: number, del = false, tokenSize = 4): Call {
  const keys = new Uint8Array(4 * Math.max(count, 1));
  const vals = new Uint8Array(4 * Math.max(count, 1));
  const out = new Uint8Array(tokenSize);
  const inb = inBatch === null ? null : u32(inBatch);
  const f = del ? ctx.driver.mapLookupAndDeleteBatch : ctx.driver.mapLookupBatch;
  const r = f.call(ctx.driver, fd, inb, out, keys, vals, count);
  return { r, keys: u32s(keys, r.count), vals: u32s(vals, r.count), out: readU32(out) };
}

function hashWithKeys(ctx: CaseContext, t: number, max: number, keys: number[]): number {
  const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: Z });
  for (const k of keys) ctx.put(fd, u32(k), valueOf(ctx, t, 4, 100 + k));
  return fd;
}

/**
 * §10.1 as a model: from bucket `start`, copy whole non-empty buckets while they fit in
 * `count`; a bucket that does not fit ends the call (ENOSPC if nothing was copied yet, else 0)
 * with out = that bucket; running off the end is ENOENT with out = n_buckets.
 */
function modelBatch(m: HtabModel, start: number, count: number): { errno: number; keys: string[]; out: number } {
  if (start >= m.nBuckets) return { errno: 2, keys: [], out: -1 };
  const keys: string[] = [];
  for (let b = start; b < m.nBuckets; b++) {
    const bucket = m.buckets[b]!;
    if (bucket.length === 0) continue;
    if (bucket.length > count - keys.length) return { errno: keys.length === 0 ? 28 : 0, keys, out: b };
    keys.push(...bucket);
  }
  return { errno: 2, keys, out: m.nBuckets };
}

export const batchCases: ConformanceCase[] = [
  {
    name: "§10.1 batch: random bucket-token LOOKUP(_AND_DELETE)_BATCH sequences match the jhash model (errno, count, keys, token)",
    group: "batch",
    run(ctx) {
      const d = ctx.driver;
      for (let seed = 1; seed <= 16; seed++) {
        const rnd = new Prng(seed * 7727);
        const keySize = rnd.pick([1, 3, 4, 8, 13]);
        const max = rnd.pick([4, 16, 64, 100]);
        const t = rnd.pick([HASH, PERCPU_HASH]);
        const del = seed % 3 === 0;
        const fd = ctx.create({ mapType: t, keySize, valueSize: 4, maxEntries: max, mapFlags: Z });
        const m = new HtabModel(max, true);
        const n = 1 + rnd.int(max);
        for (let i = 0; i < n; i++) {
          const k = rnd.bytes(keySize);
          if (m.update(k) === "OK") ctx.put(fd, k, valueOf(ctx, t, 4, i));
        }
        const vb = ctx.valueBytes(t, 4);
        let token: number | null = null;
        for (let call = 0; call < 200; call++) {
          const count = 1 + rnd.int(6);
          const want = modelBatch(m, token ?? 0, count);
          const keys = new Uint8Array(keySize * count);
          const out = new Uint8Array(4);
          const f = del ? d.mapLookupAndDeleteBatch : d.mapLookupBatch;
          const r = f.call(d, fd, token === null ? null : u32(token), out, keys, new Uint8Array(vb * count), count);
          const what = `seed ${seed} ${typeNames[t]} k${keySize} max${max}${del ? " (and delete)" : ""} call ${call} from ${token} count ${count}`;
          expectBatch(r, want.errno === 0 ? "OK" : want.errno === 2 ? "ENOENT" : "ENOSPC", want.keys.length, what);
          const got = Array.from({ length: r.count }, (_, i) => hex(keys.subarray(i * keySize, (i + 1) * keySize)));
          expectList(got, want.keys, `${what}: keys`);
          if (want.out >= 0) expectList([readU32(out)], [want.out], `${what}: out_batch`);
          if (del) for (const k of want.keys) m.delete(unhex(k));
          if (want.errno === 2) break;
          // ENOSPC: the caller needs a bigger buffer; this model run retries the same bucket.
          token = want.out;
        }
        if (del) expectList(ctx.walkHex(fd, keySize), m.order(), `seed ${seed}: keys left after the deleting batches`);
      }
    },
  },
  {
    name: "§10.2 batch: random generic LOOKUP_BATCH sequences (ARRAY, PERCPU_ARRAY, LPM) continue the walk from the last key copied",
    group: "batch",
    run(ctx) {
      const d = ctx.driver;
      for (let seed = 1; seed <= 9; seed++) {
        const rnd = new Prng(seed * 4409);
        const t = [ARRAY, PERCPU_ARRAY, LPM_TRIE][seed % 3]!;
        const keySize = t === LPM_TRIE ? 4 + rnd.pick([1, 2, 4]) : 4;
        const max = rnd.pick([1, 5, 17, 40]);
        const fd = ctx.create({ mapType: t, keySize, valueSize: 4, maxEntries: max, mapFlags: t === LPM_TRIE ? F.NO_PREALLOC : 0 });
        if (t === LPM_TRIE) {
          for (let i = 0; i < max; i++) {
            const k = rnd.bytes(keySize);
            k.set(u32(rnd.int(8 * (keySize - 4) + 1)));
            d.mapUpdateElem(fd, k, valueOf(ctx, t, 4, i));
          }
        }
        const walk = ctx.walkHex(fd, keySize);
        const vb = ctx.valueBytes(t, 4);
        let token: Uint8Array | null = null;
        let pos = 0;
        for (let call = 0; call <= walk.length + 1; call++) {
          const count = 1 + rnd.int(6);
          const keys = new Uint8Array(keySize * count);
          const out = new Uint8Array(keySize);
          const r = d.mapLookupBatch(fd, token, out, keys, new Uint8Array(vb * count), count);
          const left = walk.length - pos;
          const what = `seed ${seed} ${typeNames[t]} max${max} call ${call} at ${pos}/${walk.length} count ${count}`;
          // GET_NEXT_KEY is asked only while the buffer has room: exactly filling it is 0.
          expectBatch(r, left >= count ? "OK" : "ENOENT", Math.min(left, count), what);
          const got = Array.from({ length: r.count }, (_, i) => hex(keys.subarray(i * keySize, (i + 1) * keySize)));
          expectList(got, walk.slice(pos, pos + r.count), `${what}: keys`);
          if (r.count > 0) expectList([hex(out)], [got[got.length - 1]!], `${what}: out_batch = the last key copied`);
          pos += r.count;
          if (r.errno !== 0) break;
          token = out;
        }
        expectEqual(pos, walk.length, `seed ${seed}: keys delivered by the batches`);
      }
    },
  },
  {
    name: "§10.1 batch HASH: the token is a bucket index; whole buckets; the last call is ENOENT with its elements",
    group: "batch",
    run(ctx) {
      const fd = hashWithKeys(ctx, HASH, 8, [0, 1, 2, 3, 4, 5]);
      let c = lookupBatch(ctx, fd, null, 2);
      expectBatch(c.r, "OK", 2, "count 2 from NULL");
      expectList(c.keys, [0, 4], "keys of call 1");
      expectList(c.vals, [100, 104], "values of call 1");
      expectList([c.out], [2], "out_batch of call 1 (next bucket)");
      c = lookupBatch(ctx, fd, 2, 2);
      expectBatch(c.r, "OK", 2, "count 2 from bucket 2");
      expectList(c.keys, [2, 1], "keys of call 2");
      expectList([c.out], [6], "out_batch of call 2");
      c = lookupBatch(ctx, fd, 6, 2);
      expectBatch(c.r, "ENOENT", 2, "count 2 from bucket 6: the last batch");
      expectList(c.keys, [5, 3], "keys of the last batch (processed even on ENOENT)");
      expectList([c.out], [8], "out_batch of the last batch (n_buckets)");
      c = lookupBatch(ctx, fd, null, 100);
      expectBatch(c.r, "ENOENT", 6, "count 100 from NULL");
      expectList(c.keys, [0, 4, 2, 1, 5, 3], "one-shot batch order = walk order");
      c = lookupBatch(ctx, fd, 8, 4);
      expectBatch(c.r, "ENOENT", 0, "in_batch = n_buckets");
      c = lookupBatch(ctx, fd, 7, 4);
      expectBatch(c.r, "ENOENT", 1, "in_batch 7");
      expectList(c.keys, [3], "keys from bucket 7");
      c = lookupBatch(ctx, fd, null, 0);
      expectBatch(c.r, "OK", 0, "count 0");
    },
  },
  {
    name: "§10.1 batch HASH: ENOSPC only when the first non-empty bucket does not fit",
    group: "batch",
    run(ctx) {
      // Three keys sharing one bucket after a bucket holding one key (found with the jhash model).
      const m = new HtabModel(64, true);
      const target = m.bucketOf(u32(11));
      const mates: number[] = [11];
      for (let k = 12; mates.length < 3; k++) if (m.bucketOf(u32(k)) === target) mates.push(k);
      let lone = 1_000_000;
      while (m.bucketOf(u32(lone)) >= target) lone++; // 11 sits in bucket 61, so a lower one exists
      const fd = hashWithKeys(ctx, HASH, 64, [lone, ...mates]);
      let c = lookupBatch(ctx, fd, null, 2);
      expectBatch(c.r, "OK", 1, "count 2 from NULL: the lone bucket fits, the next does not");
      expectList([c.out], [target], "out_batch = the bucket that did not fit");
      c = lookupBatch(ctx, fd, target, 2);
      expectBatch(c.r, "ENOSPC", 0, "count 2 at a 3-element bucket");
      expectList([c.out], [target], "out_batch on ENOSPC = that bucket");
      c = lookupBatch(ctx, fd, target, 2, true);
      expectBatch(c.r, "ENOSPC", 0, "lookup_and_delete count 2 at a 3-element bucket");
      expectList([ctx.walk(fd, 4).length], [4], "nothing deleted by the ENOSPC");
      c = lookupBatch(ctx, fd, null, 4);
      expectBatch(c.r, "ENOENT", 4, "count 4 from NULL");
      expectList(c.keys, [lone, ...[...mates].reverse()], "keys");
    },
  },
  {
    name: "§10.1 batch HASH: lookup_and_delete removes exactly the returned elements",
    group: "batch",
    run(ctx) {
      const fd = hashWithKeys(ctx, HASH, 8, [0, 1, 2, 3, 4, 5]);
      let c = lookupBatch(ctx, fd, null, 3, true);
      expectBatch(c.r, "OK", 3, "first lookup_and_delete");
      expectList(c.keys, [0, 4, 2], "deleted keys");
      expectList(ctx.walkU32(fd), [1, 5, 3], "keys left");
      c = lookupBatch(ctx, fd, c.out, 3, true);
      expectBatch(c.r, "ENOENT", 3, "second lookup_and_delete");
      expectList(c.keys, [1, 5, 3], "deleted keys");
      expectList(ctx.walkU32(fd), [], "keys left");
    },
  },
  {
    name: "§10 batch: bad elem_flags give EINVAL (count untouched); UPDATE_BATCH cannot use NOEXIST",
    group: "batch",
    run(ctx) {
      const d = ctx.driver;
      const fd = hashWithKeys(ctx, HASH, 8, [0, 1]);
      const keys = new Uint8Array(8);
      keys.set(u32(5), 0);
      keys.set(u32(6), 4);
      const vals = new Uint8Array(8);
      const c = new Checks("batch flags");
      const r = d.mapUpdateBatch(fd, keys, vals, 2, NOEXIST);
      c.equal(r.errno, 22, "update batch elem_flags=NOEXIST errno");
      c.equal(r.count, 2, "update batch elem_flags=NOEXIST: count left unchanged");
      const r2 = d.mapUpdateBatch(fd, keys, vals, 2, 4);
      c.equal(r2.errno, 22, "update batch elem_flags=F_LOCK errno");
      c.step(() => expectList(ctx.walkU32(fd).sort(), [0, 1], "nothing applied"));
      c.done();
    },
  },
  {
    name: "§10.2 batch: UPDATE_BATCH stops at the first error with a partial count (6 keys into max 4: E2BIG, 4)",
    group: "batch",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: Z });
      const keys = new Uint8Array(24);
      const vals = new Uint8Array(24);
      for (let i = 0; i < 6; i++) { keys.set(u32(i), 4 * i); vals.set(u32(10 + i), 4 * i); }
      expectBatch(d.mapUpdateBatch(fd, keys, vals, 6), "E2BIG", 4, "update batch of 6 into max 4");
      expectList(ctx.walkU32(fd).sort(), [0, 1, 2, 3], "keys applied");
      expectBytes(ctx.get(fd, u32(3), 4), u32(13), "value of key 3");
      const del = new Uint8Array(16);
      [0, 1, 9, 2].forEach((k, i) => del.set(u32(k), 4 * i));
      expectBatch(d.mapDeleteBatch(fd, del, 4), "ENOENT", 2, "delete batch [0,1,9,2]");
      expectList(ctx.walkU32(fd).sort(), [2, 3], "keys left");
      expectBatch(d.mapUpdateBatch(fd, keys, vals, 0), "OK", 0, "update batch count 0");
      const a = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
      const ak = new Uint8Array(16);
      [0, 1, 7, 2].forEach((k, i) => ak.set(u32(k), 4 * i));
      expectBatch(d.mapUpdateBatch(a, ak, new Uint8Array(16).fill(1), 4), "E2BIG", 2, "ARRAY update batch [0,1,7,2]");
      expectBytes(ctx.get(a, u32(2), 4), u32(0), "ARRAY idx 2 untouched after the stop");
    },
  },
  {
    name: "§10.2 batch ARRAY: the token is the last key copied; out-of-range in_batch restarts",
    group: "batch",
    run(ctx) {
      const fd = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 5 });
      for (let i = 0; i < 5; i++) ctx.put(fd, u32(i), u32(200 + i));
      let c = lookupBatch(ctx, fd, null, 2);
      expectBatch(c.r, "OK", 2, "count 2 from NULL");
      expectList(c.keys, [0, 1], "keys");
      expectList(c.vals, [200, 201], "values");
      expectList([c.out], [1], "out_batch = the last key copied");
      c = lookupBatch(ctx, fd, 1, 2);
      expectBatch(c.r, "OK", 2, "count 2 from key 1");
      expectList(c.keys, [2, 3], "keys");
      c = lookupBatch(ctx, fd, 3, 2);
      expectBatch(c.r, "ENOENT", 1, "count 2 from key 3: the end, with an element");
      expectList(c.keys, [4], "keys of the last batch");
      // generic_map_lookup_batch copies out_batch only when it copied an element.
      const out = new Uint8Array(4).fill(0xaa);
      expectBatch(ctx.driver.mapLookupBatch(fd, u32(4), out, new Uint8Array(8), new Uint8Array(8), 2), "ENOENT", 0, "count 2 from the last key 4");
      expectBytes(out, new Uint8Array(4).fill(0xaa), "out_batch when nothing was copied (left as it was)");
      c = lookupBatch(ctx, fd, 99, 2);
      expectBatch(c.r, "OK", 2, "in_batch 99 restarts");
      expectList(c.keys, [0, 1], "keys after the restart");
    },
  },
  {
    name: "§10.2 batch LPM: generic lookup in walk order with key tokens",
    group: "batch",
    run(ctx) {
      const fd = ctx.create({ mapType: LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, mapFlags: F.NO_PREALLOC });
      const k = (a: number[], l: number) => { const b = new Uint8Array(8); b.set(u32(l)); b.set(a, 4); return b; };
      ctx.put(fd, k([192, 168, 0, 0], 16), u32(16));
      ctx.put(fd, k([192, 168, 0, 0], 24), u32(24));
      ctx.put(fd, k([192, 168, 1, 0], 24), u32(241));
      ctx.put(fd, k([192, 168, 128, 0], 24), u32(128));
      const keys = new Uint8Array(8 * 8);
      const vals = new Uint8Array(4 * 8);
      const out = new Uint8Array(8);
      let r = ctx.driver.mapLookupBatch(fd, null, out, keys, vals, 8);
      expectBatch(r, "ENOENT", 4, "one-shot LPM batch");
      expectList(u32s(vals, 4), [24, 241, 128, 16], "values in walk order");
      expectBytes(out, k([192, 168, 0, 0], 16), "out_batch = last key");
      r = ctx.driver.mapLookupBatch(fd, null, out, keys, vals, 2);
      expectBatch(r, "OK", 2, "LPM batch of 2");
      expectBytes(out, k([192, 168, 1, 0], 24), "out_batch after 2");
    },
  },
  {
    name: "§10.3 batch: support matrix (ENOTSUPP where the kernel has no batch op)",
    group: "batch",
    run(ctx) {
      const d = ctx.driver;
      const inner = arrayTemplate(ctx);
      const c = new Checks("batch support");
      const rows: [number, number, number, string, string, string, string][] = [
        // type, keySize, flags, lookup, lookup_and_delete, update, delete
        [HASH, 4, 0, "ENOENT", "ENOENT", "OK", "OK"],
        [PERCPU_HASH, 4, 0, "ENOENT", "ENOENT", "OK", "OK"],
        [LRU_HASH, 4, 0, "ENOENT", "ENOENT", "OK", "OK"],
        [LRU_PERCPU_HASH, 4, 0, "ENOENT", "ENOENT", "OK", "OK"],
        [HASH_OF_MAPS, 4, 0, "ENOENT", "ENOENT", "OK", "OK"],
        // the generic lookup stops when `count` is reached, before asking for a next key
        [ARRAY, 4, 0, "OK", "ENOTSUPP", "OK", "ENOTSUPP"],
        [PERCPU_ARRAY, 4, 0, "OK", "ENOTSUPP", "OK", "ENOTSUPP"],
        [LPM_TRIE, 8, F.NO_PREALLOC, "OK", "ENOTSUPP", "OK", "OK"],
        [ARRAY_OF_MAPS, 4, 0, "OK", "ENOTSUPP", "OK", "ENOTSUPP"],
        [PROG_ARRAY, 4, 0, "ENOTSUPP", "ENOTSUPP", "ENOTSUPP", "ENOTSUPP"],
      ];
      const names: Record<string, number> = { OK: 0, ENOENT: 2, ENOTSUPP: 524 };
      for (const [t, ks, flags, lk, lkd, up, del] of rows) {
        const fd = ctx.create({ mapType: t, keySize: ks, valueSize: 4, maxEntries: 1, mapFlags: flags,
          innerMapFd: t === ARRAY_OF_MAPS || t === HASH_OF_MAPS ? inner : undefined });
        const vb = ctx.valueBytes(t, 4);
        const key = new Uint8Array(ks);
        if (t === LPM_TRIE) key.set(u32(8));
        const val = t === ARRAY_OF_MAPS || t === HASH_OF_MAPS ? u32(inner) : new Uint8Array(vb);
        const tok = t === HASH || t === PERCPU_HASH || t === LRU_HASH || t === LRU_PERCPU_HASH || t === HASH_OF_MAPS ? 4 : ks;
        const n = typeNames[t];
        const u = d.mapUpdateBatch(fd, key, val, 1);
        c.equal(u.errno, names[up], `${n} UPDATE_BATCH errno`);
        const l = d.mapLookupBatch(fd, null, new Uint8Array(tok), new Uint8Array(ks), new Uint8Array(vb), 1);
        c.equal(l.errno, names[lk], `${n} LOOKUP_BATCH errno`);
        if (lk !== "ENOTSUPP") c.equal(l.count, 1, `${n} LOOKUP_BATCH count`);
        const dl = d.mapDeleteBatch(fd, key, 1);
        c.equal(dl.errno, names[del], `${n} DELETE_BATCH errno`);
        if (del === "OK") c.equal(dl.count, 1, `${n} DELETE_BATCH count`);
        const ld = d.mapLookupAndDeleteBatch(fd, null, new Uint8Array(tok), new Uint8Array(ks), new Uint8Array(vb), 1);
        c.equal(ld.errno, names[lkd], `${n} LOOKUP_AND_DELETE_BATCH errno`);
      }
      c.done();
    },
  },
  {
    name: "§10 §6 batch: per-CPU values in batches use the per-element per-CPU layout with padding",
    group: "batch",
    run(ctx) {
      const slot = 8;
      const elem = slot * ctx.cpus;
      const fd = ctx.create({ mapType: PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: Z });
      const keys = new Uint8Array(8);
      keys.set(u32(1), 0);
      keys.set(u32(2), 4);
      const vals = new Uint8Array(2 * elem);
      for (let i = 0; i < vals.length; i++) vals[i] = i & 0xff;
      expectBatch(ctx.driver.mapUpdateBatch(fd, keys, vals, 2), "OK", 2, "per-CPU update batch");
      const ok = new Uint8Array(8);
      const ov = new Uint8Array(2 * elem);
      const r = ctx.driver.mapLookupBatch(fd, null, new Uint8Array(4), ok, ov, 2);
      if (r.count !== 2) fail(`per-CPU lookup batch returned ${r.count} elements, expected 2`);
      for (let j = 0; j < 2; j++) {
        const key = readU32(ok, 4 * j);
        const src = key === 1 ? 0 : 1;
        expectBytes(ov.subarray(j * elem, (j + 1) * elem), vals.subarray(src * elem, (src + 1) * elem), `values of key ${key}`);
      }
    },
  },
  {
    name: "§10.2 batch ARRAY_OF_MAPS: lookup skips empty slots and returns map ids (HASH_OF_MAPS too)",
    group: "batch",
    run(ctx) {
      const inner = arrayTemplate(ctx);
      const fd = ctx.create({ mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 3, innerMapFd: inner });
      ctx.put(fd, u32(1), u32(inner));
      const c = lookupBatch(ctx, fd, null, 3);
      expectBatch(c.r, "ENOENT", 1, "lookup batch over [empty, inner, empty]");
      expectList(c.keys, [1], "keys");
      expectList(c.vals, [ctx.id(inner)], "values are map ids");
      const h = ctx.create({ mapType: HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
      ctx.put(h, u32(9), u32(inner));
      const hc = lookupBatch(ctx, h, null, 2);
      expectBatch(hc.r, "ENOENT", 1, "HASH_OF_MAPS lookup batch");
      expectList(hc.vals, [ctx.id(inner)], "HASH_OF_MAPS batch values are map ids");
    },
  },
];
