// kernel-maps.md §8: ARRAY and PERCPU_ARRAY — fixed zeroed slots, E2BIG before NOEXIST, delete
// is EINVAL, next_key wraps out-of-range indexes to 0.
import { expectBytes, expectList } from "../assert.js";
import { u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { valueOf } from "./elements.js";
import { ANY, ARRAY, Checks, EXIST, F_LOCK, NOEXIST, PERCPU_ARRAY, typeNames } from "./common.js";

function arrayCase(t: number): ConformanceCase {
  return {
    name: `§8 array ${typeNames[t]}: slots, errnos and next_key (max 3)`,
    group: "array",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 3 });
      const vb = ctx.valueBytes(t, 4);
      const val = (n: number) => valueOf(ctx, t, 4, n);
      const c = new Checks(`${typeNames[t]} ops`);
      const v = new Uint8Array(vb).fill(0xaa);
      if (c.result(d.mapLookupElem(fd, u32(0), v), "OK", "lookup idx 0 of a fresh array")) {
        c.step(() => expectBytes(v, new Uint8Array(vb), "a fresh slot reads zeros"));
      }
      c.result(d.mapLookupElem(fd, u32(3), new Uint8Array(vb)), "ENOENT", "lookup idx 3 (== max)");
      c.result(d.mapUpdateElem(fd, u32(3), val(1)), "E2BIG", "update idx 3");
      c.result(d.mapUpdateElem(fd, u32(0xffffffff), val(1)), "E2BIG", "update idx 0xffffffff");
      c.result(d.mapUpdateElem(fd, u32(3), val(1), NOEXIST), "E2BIG", "update NOEXIST idx 3 (E2BIG before EEXIST)");
      c.result(d.mapUpdateElem(fd, u32(0), val(1), NOEXIST), "EEXIST", "update NOEXIST idx 0 (every index exists)");
      c.result(d.mapUpdateElem(fd, u32(0), val(5), EXIST), "OK", "update EXIST idx 0");
      c.result(d.mapUpdateElem(fd, u32(1), val(6), ANY), "OK", "update ANY idx 1");
      c.result(d.mapUpdateElem(fd, u32(1), val(7), 3), "EINVAL", "update flags=3");
      c.result(d.mapUpdateElem(fd, u32(1), val(7), F_LOCK), "EINVAL", "update F_LOCK");
      c.step(() => expectBytes(ctx.get(fd, u32(0), vb), val(5), "idx 0 after update EXIST"));
      c.step(() => expectBytes(ctx.get(fd, u32(1), vb), val(6), "idx 1 unchanged by the rejected updates"));
      c.result(d.mapDeleteElem(fd, u32(0)), "EINVAL", "delete idx 0");
      c.result(d.mapDeleteElem(fd, u32(5)), "EINVAL", "delete idx 5");
      c.step(() => expectBytes(ctx.get(fd, u32(0), vb), val(5), "idx 0 after the refused delete"));
      const next = new Uint8Array(4);
      for (const [k, want] of [[null, 0], [0, 1], [1, 2], [2, -1], [3, 0], [1000, 0]] as const) {
        const r = d.mapGetNextKey(fd, k === null ? null : u32(k), next);
        if (c.result(r, want < 0 ? "ENOENT" : "OK", `next_key(${k})`) && want >= 0) {
          c.step(() => expectBytes(next, u32(want), `next_key(${k})`));
        }
      }
      c.result(d.mapLookupAndDeleteElem(fd, u32(0), new Uint8Array(vb)), "ENOTSUPP", "lookup_and_delete");
      c.step(() => expectList(ctx.walkU32(fd), [0, 1, 2], "walk: every slot"));
      c.done();
    },
  };
}

export const arrayCases: ConformanceCase[] = [
  arrayCase(ARRAY), arrayCase(PERCPU_ARRAY),
  {
    name: "§8 array: an odd value_size (3) round-trips exactly",
    group: "array",
    run(ctx) {
      const fd = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 3, maxEntries: 2 });
      ctx.put(fd, u32(1), new TextEncoder().encode("abc"));
      expectBytes(ctx.get(fd, u32(1), 3), new TextEncoder().encode("abc"), "value");
    },
  },
];
