// BLOOM_FILTER (kernel/bpf/bloom_filter.c): keyless; UPDATE adds a value, LOOKUP answers 0 when
// it may be present and ENOENT when it is not. The low 4 bits of map_extra are the number of
// hash functions (0: 5); bit i of a value is jhash(value, seed + i) masked to a power-of-two
// bitset of max_entries × hashes × 7/5 bits (at least 64). Under BPF_F_ZERO_SEED the seed is 0,
// so the false positives are the kernel's exactly: the cases compute them from that model and
// hold the driver to each answer. Every answer here was checked on 6.18 through the kernel driver.
import { expectBatch, expectBytes, expectTrue } from "../assert.js";
import { u32, type CaseContext } from "../context.js";
import { jhash } from "../../model/jhash.js";
import type { ConformanceCase } from "../types.js";
import { ARRAY_OF_MAPS, BLOOM_FILTER, Checks, EXIST, F, F_LOCK, HASH_OF_MAPS, NOEXIST, typeNames } from "./common.js";
import { memlockOf, NO_KEY, runKeylessRows } from "./queue-stack.js";

const KMALLOC_MAX_SIZE = 4 << 20;

/** bloom_map_alloc's bitset in bits, for the sizes a case creates (no u32 overflow). */
export function bloomBits(maxEntries: number, hashes: number): number {
  const bits = Math.floor((maxEntries * hashes) / 5) * 7;
  if (bits <= 64) return 64;
  let n = 1;
  while (n < bits) n *= 2;
  return n;
}

/** The bits a value sets (and a lookup tests) under BPF_F_ZERO_SEED. */
function bitsOf(value: Uint8Array, hashes: number, nBits: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < hashes; i++) out.push(jhash(value, i) & (nBits - 1));
  return out;
}

function bloom(ctx: CaseContext, maxEntries: number, valueSize = 4, mapExtra = 0n, mapFlags: number = F.ZERO_SEED): number {
  return ctx.create({ mapType: BLOOM_FILTER, keySize: 0, valueSize, maxEntries, mapFlags, mapExtra });
}

/** value_size bytes spread from n, so that neighbours share no obvious bits. */
function valueOf(n: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (Math.imul(n + 1, 2654435761) >>> ((i * 5) % 27)) & 0xff;
  return b;
}

export const bloomCases: ConformanceCase[] = [
  {
    name: "bloom_filter.c BLOOM_FILTER: create checks (key_size 0, flags, map_extra's hash count) and bpf_map_info",
    group: "bloom",
    run(ctx) {
      runKeylessRows(ctx, "create BLOOM_FILTER", { mapType: BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 3 }, [
        ["k0 v4 max3", {}, "OK"],
        ["value_size 3", { valueSize: 3 }, "OK"],
        ["ZERO_SEED", { mapFlags: F.ZERO_SEED }, "OK"],
        ["NUMA_NODE node 0", { mapFlags: F.NUMA_NODE, numaNode: 0 }, "OK"],
        ["RDONLY_PROG", { mapFlags: F.RDONLY_PROG }, "OK"],
        ["WRONLY", { mapFlags: F.WRONLY }, "OK"],
        ["map_extra 1 (one hash)", { mapExtra: 1n }, "OK"],
        ["map_extra 15", { mapExtra: 15n }, "OK"],
        ["map_extra 16", { mapExtra: 16n }, "EINVAL"],
        ["map_extra 2^32", { mapExtra: 1n << 32n }, "EINVAL"],
        ["key_size 4", { keySize: 4 }, "EINVAL"],
        ["value_size 0", { valueSize: 0 }, "EINVAL"],
        ["max_entries 0", { maxEntries: 0 }, "EINVAL"],
        ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, "EINVAL"],
        ["MMAPABLE", { mapFlags: F.MMAPABLE }, "EINVAL"],
        ["INNER_MAP", { mapFlags: F.INNER_MAP }, "EINVAL"],
        ["RDONLY_PROG|WRONLY_PROG", { mapFlags: F.RDONLY_PROG | F.WRONLY_PROG }, "EINVAL"],
        ["value_size 4 MiB + 1", { valueSize: KMALLOC_MAX_SIZE + 1 }, "E2BIG"],
        // bloom_map_alloc_check looks only at value_size, before anything else is checked.
        ["value_size 4 MiB + 1 with key_size 4 (E2BIG first)", { valueSize: KMALLOC_MAX_SIZE + 1, keySize: 4 }, "E2BIG"],
        ["value_size 4 MiB + 1 with max_entries 0", { valueSize: KMALLOC_MAX_SIZE + 1, maxEntries: 0 }, "E2BIG"],
        ["value_size 4 MiB + 1 with map_extra 16", { valueSize: KMALLOC_MAX_SIZE + 1, mapExtra: 16n }, "E2BIG"],
      ]);
    },
  },
  {
    name: "bloom_filter.c BLOOM_FILTER: push and lookup errnos; delete, next_key, pop and batches are refused",
    group: "bloom",
    run(ctx) {
      const d = ctx.driver;
      const fd = bloom(ctx, 3);
      const c = new Checks("bloom ops");
      c.result(d.mapLookupElem(fd, NO_KEY, u32(1)), "ENOENT", "lookup in an empty filter");
      for (const fl of [NOEXIST, EXIST, 3, F_LOCK]) c.result(d.mapUpdateElem(fd, NO_KEY, u32(1), fl), "EINVAL", `push flags ${fl} (only BPF_ANY)`);
      c.result(d.mapLookupElem(fd, NO_KEY, u32(1)), "ENOENT", "lookup after the refused pushes");
      c.result(d.mapLookupElem(fd, NO_KEY, u32(1), F_LOCK), "EINVAL", "lookup BPF_F_LOCK");
      c.result(d.mapLookupElem(fd, NO_KEY, u32(1), 1), "EINVAL", "lookup flags 1");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(1)), "OK", "push 1");
      const v = u32(1);
      c.result(d.mapLookupElem(fd, NO_KEY, v), "OK", "lookup 1 (maybe present)");
      c.step(() => expectBytes(v, u32(1), "the lookup's value buffer is its input, left as it was"));
      c.result(d.mapDeleteElem(fd, NO_KEY), "EOPNOTSUPP", "delete");
      c.result(d.mapGetNextKey(fd, null, new Uint8Array(0)), "EOPNOTSUPP", "next_key(NULL)");
      c.result(d.mapLookupAndDeleteElem(fd, NO_KEY, u32(1)), "ENOTSUPP", "lookup_and_delete");
      const none = new Uint8Array(0), vals = new Uint8Array(12);
      c.step(() => expectBatch(d.mapLookupBatch(fd, null, none, none, vals, 3), "ENOTSUPP", 3, "LOOKUP_BATCH"));
      c.step(() => expectBatch(d.mapLookupAndDeleteBatch(fd, null, none, none, vals, 3), "ENOTSUPP", 3, "LOOKUP_AND_DELETE_BATCH"));
      c.step(() => expectBatch(d.mapUpdateBatch(fd, none, vals, 3), "ENOTSUPP", 3, "UPDATE_BATCH"));
      c.step(() => expectBatch(d.mapDeleteBatch(fd, none, 3), "ENOTSUPP", 3, "DELETE_BATCH"));
      c.result(d.mapFreeze(fd), "OK", "freeze");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(2)), "EPERM", "frozen: push");
      c.result(d.mapLookupElem(fd, NO_KEY, u32(1)), "OK", "frozen: lookup 1");
      c.step(() => expectBatch(d.mapUpdateBatch(fd, none, vals, 3), "EPERM", 3, "frozen: UPDATE_BATCH (permission first)"));
      const ro = ctx.create({ mapType: BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 3, mapFlags: F.RDONLY });
      c.result(d.mapUpdateElem(ro, NO_KEY, u32(1)), "EPERM", "RDONLY fd: push");
      c.result(d.mapLookupElem(ro, NO_KEY, u32(1)), "ENOENT", "RDONLY fd: lookup");
      const wo = ctx.create({ mapType: BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 3, mapFlags: F.WRONLY });
      c.result(d.mapUpdateElem(wo, NO_KEY, u32(1)), "OK", "WRONLY fd: push");
      c.result(d.mapLookupElem(wo, NO_KEY, u32(1)), "EPERM", "WRONLY fd: lookup");
      c.done();
    },
  },
  {
    name: "bloom_filter.c BLOOM_FILTER: under BPF_F_ZERO_SEED every lookup, false positives included, is the jhash model's",
    group: "bloom",
    run(ctx) {
      const d = ctx.driver;
      // [max_entries, map_extra, value_size]: jhash2 (value_size % 4 == 0) and byte-wise jhash,
      // 1 to 6 hashes, bitsets of 64 to 512 bits. 8 × 6 hashes is where the order of the sizing
      // shows: 48 / 5 × 7 = 63 bits, a 64-bit set (48 × 7 / 5 would be 67, a 128-bit one).
      for (const [max, extra, vs] of [[1, 1n, 4], [6, 0n, 4], [8, 3n, 8], [20, 0n, 6], [100, 2n, 3], [40, 4n, 16], [8, 6n, 4]] as const) {
        const hashes = extra === 0n ? 5 : Number(extra);
        const nBits = bloomBits(max, hashes);
        const fd = bloom(ctx, max, vs, extra);
        const set = new Set<number>();
        const c = new Checks(`bloom max ${max} hashes ${hashes} value ${vs} (${nBits} bits)`);
        for (let n = 0; n < 2 * max; n++) {
          c.result(d.mapUpdateElem(fd, NO_KEY, valueOf(n, vs)), "OK", `push value ${n}`);
          for (const b of bitsOf(valueOf(n, vs), hashes, nBits)) set.add(b);
        }
        let falsePositives = 0, negatives = 0;
        for (let n = 0; n < 2 * max + 600; n++) {
          const inModel = bitsOf(valueOf(n, vs), hashes, nBits).every((b) => set.has(b));
          if (n >= 2 * max) {
            if (inModel) falsePositives++;
            else negatives++;
          }
          c.result(d.mapLookupElem(fd, NO_KEY, valueOf(n, vs)), inModel ? "OK" : "ENOENT",
            `lookup value ${n}${n < 2 * max ? " (pushed)" : inModel ? " (a false positive of the model)" : ""}`);
        }
        // The premise: the model must find both answers, or the case holds nothing.
        c.step(() => expectTrue(falsePositives > 0 && negatives > 0, `the model found ${falsePositives} false positives and ${negatives} negatives; both must occur`));
        c.done();
        ctx.close(fd);
      }
    },
  },
  {
    name: "bloom_filter.c BLOOM_FILTER: with a random seed, every pushed value is still found",
    group: "bloom",
    run(ctx) {
      const fd = bloom(ctx, 16, 8, 0n, 0);
      const c = new Checks("bloom random seed");
      for (let n = 0; n < 16; n++) ctx.put(fd, NO_KEY, valueOf(n, 8));
      for (let n = 0; n < 16; n++) c.result(ctx.driver.mapLookupElem(fd, NO_KEY, valueOf(n, 8)), "OK", `lookup pushed value ${n}`);
      c.done();
    },
  },
  {
    name: "bloom_filter.c BLOOM_FILTER: inner maps (max_entries and map_extra may differ) and fdinfo memlock",
    group: "bloom",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("bloom inner maps and memlock");
      const b3 = bloom(ctx, 3, 4, 3n), b4 = bloom(ctx, 3, 4, 4n), b50 = bloom(ctx, 50, 4, 3n);
      for (const outer of [ARRAY_OF_MAPS, HASH_OF_MAPS]) {
        const o = ctx.tryCreate({ mapType: outer, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: b3 });
        if (!c.result(o, "OK", `${typeNames[outer]} with a bloom template`)) continue;
        c.result(d.mapUpdateElem(o, u32(0), u32(b4)), "OK", `${typeNames[outer]}: a bloom filter with another map_extra`);
        c.result(d.mapUpdateElem(o, u32(1), u32(b50)), "OK", `${typeNames[outer]}: a bloom filter with another max_entries`);
        ctx.close(o);
      }
      // Measured on 6.18 x86-64: sizeof(struct bpf_bloom_filter) is 312, and the bitset is whole u64s.
      for (const [max, extra, vs] of [[3, 0n, 4], [13, 0n, 8], [100, 0n, 8], [1000, 3n, 8], [1, 1n, 8], [4096, 15n, 8], [4096, 0n, 8], [100, 2n, 3]] as const) {
        const fd = ctx.create({ mapType: BLOOM_FILTER, keySize: 0, valueSize: vs, maxEntries: max, mapExtra: extra });
        const bits = bloomBits(max, extra === 0n ? 5 : Number(extra));
        c.equal(memlockOf(ctx, fd), 312 + bits / 8, `memlock of max ${max} map_extra ${extra}`);
        ctx.close(fd);
      }
      c.done();
    },
  },
];
