// QUEUE and STACK (kernel/bpf/queue_stack_maps.c): keyless maps over a ring of max_entries + 1
// value slots. UPDATE pushes, LOOKUP peeks, LOOKUP_AND_DELETE pops (a queue the oldest, a stack
// the newest); BPF_EXIST on a full map drops the oldest to make room. Every answer here was
// checked on 6.18 through the kernel driver.
import type { Driver, MapCreateAttr } from "@bpfkit/core";
import { CaseSkipped, expectBatch, expectBytes, expectList, expectResult, show, type Expect } from "../assert.js";
import { readU32, u32, type CaseContext } from "../context.js";
import { Prng } from "../prng.js";
import type { ConformanceCase } from "../types.js";
import { ANY, ARRAY_OF_MAPS, BLOOM_FILTER, Checks, EXIST, F, F_LOCK, HASH_OF_MAPS, NOEXIST, QUEUE, STACK, typeNames } from "./common.js";

/** The empty key every call on a keyless map takes (the kernel driver passes NULL for it). */
export const NO_KEY: Uint8Array = new Uint8Array(0);
const KMALLOC_MAX_SIZE = 4 << 20;

/** [label, change to the base attr, expected]. */
export type KeylessRow = readonly [string, Partial<MapCreateAttr>, Expect];

/** Creates each row; an accepted map must read back its attributes in bpf_map_info. */
export function runKeylessRows(ctx: CaseContext, title: string, base: MapCreateAttr, rows: readonly KeylessRow[]): void {
  const c = new Checks(title);
  for (const [label, change, want] of rows) {
    const attr = { ...base, ...change };
    const fd = ctx.tryCreate(attr);
    if (c.result(fd, want, label) && fd >= 0) {
      const info = ctx.info(fd);
      c.equal(info.keySize, 0, `${label}: info key_size`);
      c.equal(info.valueSize, attr.valueSize, `${label}: info value_size`);
      c.equal(info.maxEntries, attr.maxEntries, `${label}: info max_entries`);
      c.equal(info.mapFlags, (attr.mapFlags ?? 0) & ~(F.RDONLY | F.WRONLY), `${label}: info map_flags`);
      // map_extra reads back as given: a bloom filter's 0 stays 0, not the 5 hashes it means.
      c.equal(info.mapExtra, attr.mapExtra ?? 0n, `${label}: info map_extra`);
      ctx.close(fd);
    }
  }
  c.done();
}

/** The map's fdinfo memlock (a skip when the driver has no mapFdInfo, which is optional). */
export function memlockOf(ctx: CaseContext, fd: number): number | string {
  const d = ctx.driver;
  if (typeof d.mapFdInfo !== "function") throw new CaseSkipped(`${d.kind} has no mapFdInfo (optional)`);
  const r = d.mapFdInfo(fd);
  return typeof r === "number" ? `mapFdInfo failed with ${show(r)}` : r.memlock ?? "no memlock";
}

function qs(ctx: CaseContext, t: number, maxEntries: number, valueSize = 4, mapFlags = 0): number {
  return ctx.create({ mapType: t, keySize: 0, valueSize, maxEntries, mapFlags });
}

function pop(d: Driver, fd: number): number | undefined {
  const v = new Uint8Array(4);
  return d.mapLookupAndDeleteElem(fd, NO_KEY, v) === 0 ? readU32(v) : undefined;
}

/** Pops until ENOENT: the order the map gives its values back. */
function drain(d: Driver, fd: number): number[] {
  const out: number[] = [];
  for (let v = pop(d, fd); v !== undefined; v = pop(d, fd)) {
    out.push(v);
    if (out.length > 10_000) break;
  }
  return out;
}

function createCase(t: number): ConformanceCase {
  return {
    name: `queue_stack_maps.c ${typeNames[t]}: create checks (key_size 0, flags, map_extra) and bpf_map_info`,
    group: "queue-stack",
    run(ctx) {
      runKeylessRows(ctx, `create ${typeNames[t]}`, { mapType: t, keySize: 0, valueSize: 4, maxEntries: 3 }, [
        ["k0 v4 max3", {}, "OK"],
        ["value_size 3", { valueSize: 3 }, "OK"],
        ["key_size 4", { keySize: 4 }, "EINVAL"],
        ["value_size 0", { valueSize: 0 }, "EINVAL"],
        ["max_entries 0", { maxEntries: 0 }, "EINVAL"],
        ["NUMA_NODE node 0", { mapFlags: F.NUMA_NODE, numaNode: 0 }, "OK"],
        ["RDONLY_PROG", { mapFlags: F.RDONLY_PROG }, "OK"],
        ["RDONLY (the fd's mode, not stored)", { mapFlags: F.RDONLY }, "OK"],
        ["WRONLY", { mapFlags: F.WRONLY }, "OK"],
        ["RDONLY_PROG|WRONLY_PROG", { mapFlags: F.RDONLY_PROG | F.WRONLY_PROG }, "EINVAL"],
        ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, "EINVAL"],
        ["ZERO_SEED (a bloom filter's, not a queue's)", { mapFlags: F.ZERO_SEED }, "EINVAL"],
        ["MMAPABLE", { mapFlags: F.MMAPABLE }, "EINVAL"],
        ["INNER_MAP", { mapFlags: F.INNER_MAP }, "EINVAL"],
        ["map_extra 1 (only a bloom filter or an arena reads it)", { mapExtra: 1n }, "EINVAL"],
        ["map_extra 2^32", { mapExtra: 1n << 32n }, "EINVAL"],
        ["value_size 4 MiB + 1", { valueSize: KMALLOC_MAX_SIZE + 1 }, "E2BIG"],
        ["value_size 4 MiB + 1 with key_size 4 (EINVAL checked first)", { valueSize: KMALLOC_MAX_SIZE + 1, keySize: 4 }, "EINVAL"],
        ["value_size 4 MiB + 1 with max_entries 0", { valueSize: KMALLOC_MAX_SIZE + 1, maxEntries: 0 }, "EINVAL"],
      ]);
    },
  };
}

function errnoCase(t: number): ConformanceCase {
  const queue = t === QUEUE;
  return {
    name: `queue_stack_maps.c ${typeNames[t]}: push, peek, pop, delete, next_key and batch errnos (max 3)`,
    group: "queue-stack",
    run(ctx) {
      const d = ctx.driver;
      const fd = qs(ctx, t, 3);
      const c = new Checks(`${typeNames[t]} ops`);
      const v = u32(0xaaaaaaaa);
      c.result(d.mapLookupElem(fd, NO_KEY, v), "ENOENT", "peek of an empty map");
      c.result(d.mapLookupAndDeleteElem(fd, NO_KEY, v), "ENOENT", "pop of an empty map");
      c.step(() => expectBytes(v, u32(0xaaaaaaaa), "the value buffer after ENOENT (nothing copied out)"));
      c.result(d.mapLookupElem(fd, NO_KEY, v, F_LOCK), "EINVAL", "peek with BPF_F_LOCK (no spin lock)");
      c.result(d.mapLookupElem(fd, NO_KEY, v, 1), "EINVAL", "peek with flags 1");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(1), NOEXIST), "EINVAL", "push BPF_NOEXIST");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(1), 3), "EINVAL", "push flags 3");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(1), F_LOCK), "EINVAL", "push BPF_F_LOCK");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(1), 8), "EINVAL", "push flags 8");
      for (const n of [1, 2, 3]) c.result(d.mapUpdateElem(fd, NO_KEY, u32(n), ANY), "OK", `push ${n} BPF_ANY`);
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(4), ANY), "E2BIG", "push BPF_ANY when full");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(4), EXIST | F_LOCK), "EINVAL", "push BPF_EXIST|BPF_F_LOCK when full");
      if (c.result(d.mapLookupElem(fd, NO_KEY, v), "OK", "peek")) c.step(() => expectBytes(v, u32(queue ? 1 : 3), "peek: the next value to pop"));
      c.result(d.mapDeleteElem(fd, NO_KEY), "EINVAL", "delete");
      c.result(d.mapGetNextKey(fd, null, new Uint8Array(0)), "EINVAL", "next_key(NULL)");
      c.result(d.mapGetNextKey(fd, NO_KEY, new Uint8Array(0)), "EINVAL", "next_key(key)");
      const none = new Uint8Array(0), vals = new Uint8Array(12);
      c.step(() => expectBatch(d.mapLookupBatch(fd, null, none, none, vals, 3), "ENOTSUPP", 3, "LOOKUP_BATCH"));
      c.step(() => expectBatch(d.mapLookupAndDeleteBatch(fd, null, none, none, vals, 3), "ENOTSUPP", 3, "LOOKUP_AND_DELETE_BATCH"));
      c.step(() => expectBatch(d.mapUpdateBatch(fd, none, vals, 3), "ENOTSUPP", 3, "UPDATE_BATCH"));
      c.step(() => expectBatch(d.mapDeleteBatch(fd, none, 3), "ENOTSUPP", 3, "DELETE_BATCH"));
      c.step(() => expectBatch(d.mapLookupBatch(fd, null, none, none, vals, 0), "ENOTSUPP", 0, "LOOKUP_BATCH of count 0"));
      c.step(() => expectList(drain(d, fd), queue ? [1, 2, 3] : [3, 2, 1], "pops after the refused calls"));
      c.done();
    },
  };
}

function orderCase(t: number): ConformanceCase {
  const queue = t === QUEUE;
  return {
    name: `queue_stack_maps.c ${typeNames[t]}: pop order through a wrap-around, and BPF_EXIST overwrites the oldest`,
    group: "queue-stack",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks(`${typeNames[t]} order`);
      // Two pushes and a pop, three times, on a map of 3: the ring wraps, the third round's second push is E2BIG.
      const fd = qs(ctx, t, 3);
      const got: number[] = [];
      for (let round = 0; round < 3; round++) {
        c.result(d.mapUpdateElem(fd, NO_KEY, u32(10 + 2 * round)), "OK", `round ${round}: push ${10 + 2 * round}`);
        c.result(d.mapUpdateElem(fd, NO_KEY, u32(11 + 2 * round)), round === 2 ? "E2BIG" : "OK", `round ${round}: push ${11 + 2 * round}`);
        const p = pop(d, fd);
        if (p !== undefined) got.push(p);
      }
      got.push(...drain(d, fd));
      c.step(() => expectList(got, queue ? [10, 11, 12, 13, 14] : [11, 13, 14, 12, 10], "pop order"));
      // Full, then BPF_EXIST: the oldest value goes, whichever end a pop takes from.
      for (const n of [1, 2, 3]) ctx.put(fd, NO_KEY, u32(n));
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(4), EXIST), "OK", "push 4 BPF_EXIST when full");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(5), EXIST), "OK", "push 5 BPF_EXIST when full");
      c.step(() => expectList(drain(d, fd), queue ? [3, 4, 5] : [5, 4, 3], "pops after two overwrites"));
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(6), EXIST), "OK", "push BPF_EXIST when not full (a plain push)");
      c.step(() => expectList(drain(d, fd), [6], "pops after BPF_EXIST into an empty map"));
      c.done();
      // A random walk against the model: a ring of max + 1 slots is a bounded deque.
      for (let seed = 1; seed <= 6; seed++) {
        const rnd = new Prng(seed * 7919);
        const max = rnd.pick([1, 2, 5, 7]);
        const m = qs(ctx, t, max);
        const model: number[] = [];
        const r = new Checks(`${typeNames[t]} max ${max} seed ${seed}`);
        for (let i = 0; i < 120; i++) {
          const op = rnd.next();
          const what = `step ${i}`;
          if (op < 0.45) {
            const fl = rnd.pick([ANY, ANY, EXIST]);
            const full = model.length === max;
            const refused = full && fl === ANY;
            if (r.result(d.mapUpdateElem(m, NO_KEY, u32(i), fl), refused ? "E2BIG" : "OK", `${what}: push ${i} flags ${fl}`) && !refused) {
              if (full) model.shift();
              model.push(i);
            }
          } else {
            const peek = op < 0.6;
            const v = new Uint8Array(4);
            const res = peek ? d.mapLookupElem(m, NO_KEY, v) : d.mapLookupAndDeleteElem(m, NO_KEY, v);
            const want = model.length === 0 ? undefined : queue ? model[0]! : model[model.length - 1]!;
            if (r.result(res, want === undefined ? "ENOENT" : "OK", `${what}: ${peek ? "peek" : "pop"}`) && want !== undefined) {
              r.equal(readU32(v), want, `${what}: ${peek ? "peek" : "pop"} value`);
              if (!peek) {
                if (queue) model.shift();
                else model.pop();
              }
            }
          }
        }
        r.step(() => expectList(drain(d, m), queue ? model : [...model].reverse(), "the final drain"));
        r.done();
        ctx.close(m);
      }
    },
  };
}

function accessCase(t: number): ConformanceCase {
  return {
    name: `queue_stack_maps.c ${typeNames[t]}: frozen, read-only and write-only fds`,
    group: "queue-stack",
    run(ctx) {
      const d = ctx.driver;
      const none = new Uint8Array(0), vals = new Uint8Array(12), v = new Uint8Array(4);
      const c = new Checks(`${typeNames[t]} access`);
      const fd = qs(ctx, t, 3);
      ctx.put(fd, NO_KEY, u32(7));
      c.result(d.mapFreeze(fd), "OK", "freeze");
      c.result(d.mapUpdateElem(fd, NO_KEY, u32(8)), "EPERM", "frozen: push");
      if (c.result(d.mapLookupElem(fd, NO_KEY, v), "OK", "frozen: peek")) c.step(() => expectBytes(v, u32(7), "frozen: peek value"));
      c.result(d.mapLookupAndDeleteElem(fd, NO_KEY, v), "EPERM", "frozen: pop (needs write)");
      c.result(d.mapDeleteElem(fd, NO_KEY), "EPERM", "frozen: delete");
      c.result(d.mapGetNextKey(fd, null, none), "EINVAL", "frozen: next_key");
      c.step(() => expectBatch(d.mapLookupBatch(fd, null, none, none, vals, 3), "ENOTSUPP", 3, "frozen: LOOKUP_BATCH"));
      c.step(() => expectBatch(d.mapUpdateBatch(fd, none, vals, 3), "EPERM", 3, "frozen: UPDATE_BATCH (permission first)"));
      const ro = qs(ctx, t, 3, 4, F.RDONLY);
      c.result(d.mapUpdateElem(ro, NO_KEY, u32(1)), "EPERM", "RDONLY fd: push");
      c.result(d.mapLookupElem(ro, NO_KEY, v), "ENOENT", "RDONLY fd: peek");
      c.result(d.mapLookupAndDeleteElem(ro, NO_KEY, v), "EPERM", "RDONLY fd: pop");
      c.result(d.mapDeleteElem(ro, NO_KEY), "EPERM", "RDONLY fd: delete");
      c.result(d.mapGetNextKey(ro, null, none), "EINVAL", "RDONLY fd: next_key");
      c.result(d.mapFreeze(ro), "EPERM", "RDONLY fd: freeze");
      const wo = qs(ctx, t, 3, 4, F.WRONLY);
      c.result(d.mapUpdateElem(wo, NO_KEY, u32(1)), "OK", "WRONLY fd: push");
      c.result(d.mapLookupElem(wo, NO_KEY, v), "EPERM", "WRONLY fd: peek");
      c.result(d.mapLookupAndDeleteElem(wo, NO_KEY, v), "EPERM", "WRONLY fd: pop (needs read too)");
      c.result(d.mapDeleteElem(wo, NO_KEY), "EINVAL", "WRONLY fd: delete");
      c.result(d.mapGetNextKey(wo, null, none), "EPERM", "WRONLY fd: next_key");
      c.step(() => expectBatch(d.mapLookupBatch(wo, null, none, none, vals, 3), "EPERM", 3, "WRONLY fd: LOOKUP_BATCH"));
      c.step(() => expectBatch(d.mapDeleteBatch(wo, none, 3), "ENOTSUPP", 3, "WRONLY fd: DELETE_BATCH"));
      c.step(() => expectBatch(d.mapUpdateBatch(wo, none, vals, 3), "ENOTSUPP", 3, "WRONLY fd: UPDATE_BATCH"));
      c.done();
    },
  };
}

export const queueStackCases: ConformanceCase[] = [
  ...[QUEUE, STACK].flatMap((t) => [createCase(t), errnoCase(t), orderCase(t), accessCase(t)]),
  {
    // A driver's first call may be the one that asks its buffers for zero bytes: the
    // simulator once answered ENOMEM here, having no scratch region yet.
    name: "queue_stack_maps.c QUEUE/STACK, bloom_filter.c BLOOM_FILTER: next_key(NULL) as a fresh driver's first element call",
    group: "queue-stack",
    run(ctx) {
      const c = new Checks("next_key first");
      for (const [t, want] of [[QUEUE, "EINVAL"], [STACK, "EINVAL"], [BLOOM_FILTER, "EOPNOTSUPP"]] as const) {
        const fd = ctx.create({ mapType: t, keySize: 0, valueSize: 4, maxEntries: 2 });
        c.result(ctx.driver.mapGetNextKey(fd, null, new Uint8Array(0)), want, `${typeNames[t]} next_key(NULL)`);
      }
      c.done();
    },
  },
  {
    name: "queue_stack_maps.c QUEUE/STACK: an odd value_size (3) round-trips exactly",
    group: "queue-stack",
    run(ctx) {
      for (const t of [QUEUE, STACK]) {
        const fd = qs(ctx, t, 2, 3);
        ctx.put(fd, NO_KEY, new Uint8Array([1, 2, 3]));
        ctx.put(fd, NO_KEY, new Uint8Array([4, 5, 6]));
        const v = new Uint8Array(3);
        expectResult(ctx.driver.mapLookupAndDeleteElem(fd, NO_KEY, v), "OK", `${typeNames[t]} pop`);
        expectBytes(v, new Uint8Array(t === QUEUE ? [1, 2, 3] : [4, 5, 6]), `${typeNames[t]} popped value`);
      }
    },
  },
  {
    name: "queue_stack_maps.c QUEUE/STACK: inner maps of ARRAY_OF_MAPS and HASH_OF_MAPS (max_entries may differ, the type may not)",
    group: "queue-stack",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("queue/stack inner maps");
      const q = qs(ctx, QUEUE, 3), q9 = qs(ctx, QUEUE, 9), s = qs(ctx, STACK, 3), s9 = qs(ctx, STACK, 9);
      for (const outer of [ARRAY_OF_MAPS, HASH_OF_MAPS]) {
        for (const [tmpl, same, other, what] of [[q, q9, s, "QUEUE"], [s, s9, q, "STACK"]] as const) {
          const o = ctx.tryCreate({ mapType: outer, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: tmpl });
          if (!c.result(o, "OK", `${typeNames[outer]} with a ${what} template`)) continue;
          c.result(d.mapUpdateElem(o, u32(0), u32(tmpl)), "OK", `${typeNames[outer]}: the template itself`);
          c.result(d.mapUpdateElem(o, u32(1), u32(same)), "OK", `${typeNames[outer]}: a ${what} of max_entries 9`);
          c.result(d.mapUpdateElem(o, u32(1), u32(other)), "EINVAL", `${typeNames[outer]}: the other keyless type`);
          ctx.close(o);
        }
      }
      c.done();
    },
  },
  {
    name: "queue_stack_maps.c QUEUE, bloom_filter.c BLOOM_FILTER: pinned and reopened by OBJ_GET, the fd works keyless and info keeps map_extra",
    group: "queue-stack",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("keyless maps through OBJ_GET");
      const q = qs(ctx, QUEUE, 3);
      ctx.put(q, NO_KEY, u32(5));
      const qp = ctx.pinPath("queue");
      c.result(d.objPin(q, qp), "OK", "pin the queue");
      const g = ctx.own(d.objGet(qp));
      if (c.result(g, "OK", "OBJ_GET the queue")) {
        const v = new Uint8Array(4);
        if (c.result(d.mapLookupAndDeleteElem(g, NO_KEY, v), "OK", "pop through the new fd")) c.step(() => expectBytes(v, u32(5), "the value pushed through the first fd"));
        c.result(d.mapUpdateElem(g, NO_KEY, u32(6)), "OK", "push through the new fd");
      }
      const b = ctx.create({ mapType: 30, keySize: 0, valueSize: 4, maxEntries: 3, mapFlags: F.ZERO_SEED, mapExtra: 2n });
      ctx.put(b, NO_KEY, u32(9));
      const bp = ctx.pinPath("bloom");
      c.result(d.objPin(b, bp), "OK", "pin the bloom filter");
      const gb = ctx.own(d.objGet(bp, F.RDONLY));
      if (c.result(gb, "OK", "OBJ_GET the bloom filter read-only")) {
        c.result(d.mapLookupElem(gb, NO_KEY, u32(9)), "OK", "lookup of the pushed value");
        c.result(d.mapLookupElem(gb, NO_KEY, u32(10)), "ENOENT", "lookup of a value not pushed");
        c.result(d.mapUpdateElem(gb, NO_KEY, u32(1)), "EPERM", "push through the read-only fd");
        c.equal(ctx.info(gb).mapExtra, 2n, "info map_extra through the new fd");
      }
      c.done();
    },
  },
  {
    name: "queue_stack_maps.c QUEUE/STACK: fdinfo memlock is sizeof(bpf_queue_stack) + (max_entries + 1) × value_size",
    group: "queue-stack",
    run(ctx) {
      const c = new Checks("queue/stack memlock");
      // Measured on 6.18 x86-64: sizeof(struct bpf_queue_stack) is 312.
      for (const t of [QUEUE, STACK]) {
        for (const [max, vs] of [[3, 4], [1, 1], [10, 13], [4096, 8]] as const) {
          const fd = qs(ctx, t, max, vs);
          c.equal(memlockOf(ctx, fd), 312 + (max + 1) * vs, `${typeNames[t]} max ${max} value ${vs}`);
          ctx.close(fd);
        }
      }
      c.done();
    },
  },
];
