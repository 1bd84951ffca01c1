// kernel-maps.md §4 and §4.1: element errnos per type, their check order, generic fd handling,
// and §4.2 MAP_FREEZE. Mirrors probe_ops.txt.
import { expectBytes, expectList, expectResult } from "../assert.js";
import { u32, type CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import {
  ANY, ARRAY, ARRAY_OF_MAPS, Checks, EXIST, F, F_LOCK, HASH, HASH_OF_MAPS, LPM_TRIE, LRU_HASH,
  LRU_PERCPU_HASH, NOEXIST, PERCPU_ARRAY, PERCPU_HASH, PROG_ARRAY, typeNames,
} from "./common.js";

/** A value of the map's user size whose first u32 (of every CPU slot) is `n`. */
export function valueOf(ctx: CaseContext, mapType: number, valueSize: number, n: number): Uint8Array {
  const bytes = ctx.valueBytes(mapType, valueSize);
  const v = new Uint8Array(bytes);
  const slot = bytes === valueSize ? valueSize : (valueSize + 7) & ~7;
  for (let off = 0; off + 4 <= bytes; off += slot) v.set(u32(n), off);
  return v;
}

function hashFamilyOps(t: number, flags = 0): ConformanceCase {
  const lru = t === LRU_HASH || t === LRU_PERCPU_HASH;
  return {
    name: `§4.1 elements ${typeNames[t]}${flags ? " NO_PREALLOC" : ""}: errnos and check order (max 2)`,
    group: "elements",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: flags });
      const vb = ctx.valueBytes(t, 4);
      const val = (n: number) => valueOf(ctx, t, 4, n);
      const c = new Checks(`${typeNames[t]} element ops`);
      const out = new Uint8Array(4);
      c.result(d.mapGetNextKey(fd, null, out), "ENOENT", "next_key(NULL) on an empty map");
      c.result(d.mapGetNextKey(fd, u32(77), out), "ENOENT", "next_key(absent) on an empty map");
      c.result(d.mapLookupElem(fd, u32(1), new Uint8Array(vb)), "ENOENT", "lookup of a missing key");
      c.result(d.mapDeleteElem(fd, u32(1)), "ENOENT", "delete of a missing key");
      c.result(d.mapUpdateElem(fd, u32(1), val(1), EXIST), "ENOENT", "update EXIST of a missing key");
      c.result(d.mapUpdateElem(fd, u32(1), val(1), ANY), "OK", "update ANY of a new key");
      c.result(d.mapUpdateElem(fd, u32(1), val(2), NOEXIST), "EEXIST", "update NOEXIST of an existing key");
      c.result(d.mapUpdateElem(fd, u32(1), val(3), EXIST), "OK", "update EXIST of an existing key");
      c.step(() => expectBytes(ctx.get(fd, u32(1), vb), val(3), "lookup after update EXIST"));
      c.result(d.mapUpdateElem(fd, u32(1), val(4), 3), "EINVAL", "update flags=3");
      c.result(d.mapUpdateElem(fd, u32(1), val(4), F_LOCK), "EINVAL", "update F_LOCK without a spin lock");
      c.result(d.mapUpdateElem(fd, u32(1), val(4), F_LOCK | EXIST), "EINVAL", "update F_LOCK|EXIST");
      c.result(d.mapUpdateElem(fd, u32(1), val(4), 8), "EINVAL", "update flags=8 (no BPF_F_CPU on 6.18)");
      c.result(d.mapLookupElem(fd, u32(1), new Uint8Array(vb), F_LOCK), "EINVAL", "lookup F_LOCK");
      c.result(d.mapLookupElem(fd, u32(1), new Uint8Array(vb), 1), "EINVAL", "lookup flags=1");
      c.step(() => expectBytes(ctx.get(fd, u32(1), vb), val(3), "value unchanged by the rejected updates"));
      c.result(d.mapUpdateElem(fd, u32(2), val(2), NOEXIST), "OK", "update NOEXIST of a new key");
      // Full (max 2): a hash map refuses a new key, an LRU map evicts for it (§4.1, §7.1).
      c.result(d.mapUpdateElem(fd, u32(3), val(3), NOEXIST), lru ? "OK" : "E2BIG", "update NOEXIST of a new key, map full");
      if (!lru) {
        c.result(d.mapUpdateElem(fd, u32(3), val(3), ANY), "E2BIG", "update ANY of a new key, map full");
        c.result(d.mapUpdateElem(fd, u32(3), val(3), EXIST), "ENOENT", "update EXIST of a missing key, map full (ENOENT before E2BIG)");
        c.result(d.mapUpdateElem(fd, u32(1), val(2), NOEXIST), "EEXIST", "update NOEXIST of an existing key, map full (EEXIST before E2BIG)");
        c.result(d.mapUpdateElem(fd, u32(1), val(9), ANY), "OK", "update ANY of an existing key, map full");
        c.step(() => expectList(ctx.walkU32(fd).sort(), [1, 2], "keys of the full map"));
        c.result(d.mapGetNextKey(fd, u32(77), out), "OK", "next_key(absent) restarts");
      }
      // On LRU maps key 1 may have been evicted by now; key 3, just inserted, is present.
      const k = lru ? u32(3) : u32(1);
      c.result(d.mapLookupAndDeleteElem(fd, k, new Uint8Array(vb)), "OK", "lookup_and_delete of a present key");
      c.result(d.mapLookupAndDeleteElem(fd, k, new Uint8Array(vb)), "ENOENT", "lookup_and_delete again");
      c.result(d.mapLookupElem(fd, k, new Uint8Array(vb)), "ENOENT", "lookup after lookup_and_delete");
      c.done();
    },
  };
}

export const elementCases: ConformanceCase[] = [
  hashFamilyOps(HASH), hashFamilyOps(HASH, F.NO_PREALLOC), hashFamilyOps(PERCPU_HASH),
  hashFamilyOps(LRU_HASH), hashFamilyOps(LRU_PERCPU_HASH),
  {
    name: "§4.1 elements HASH: lookup_and_delete returns the value and removes only that key",
    group: "elements",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
      ctx.put(fd, u32(1), u32(11));
      ctx.put(fd, u32(2), u32(22));
      const v = new Uint8Array(4);
      expectResult(d.mapLookupAndDeleteElem(fd, u32(1), v), "OK", "lookup_and_delete key 1");
      expectBytes(v, u32(11), "lookup_and_delete value");
      expectList(ctx.walkU32(fd), [2], "keys left");
    },
  },
  {
    name: "§1 elements: a closed fd gives EBADF, a non-map fd gives EINVAL",
    group: "elements",
    run(ctx) {
      const d = ctx.driver;
      const prog = ctx.prog();
      const bad = ctx.closedFd();
      const c = new Checks("generic fd handling");
      const k = u32(0);
      const v = new Uint8Array(4);
      c.result(d.mapLookupElem(bad, k, v), "EBADF", "lookup on a closed fd");
      c.result(d.mapUpdateElem(bad, k, v), "EBADF", "update on a closed fd");
      c.result(d.mapDeleteElem(bad, k), "EBADF", "delete on a closed fd");
      c.result(d.mapGetNextKey(bad, null, v), "EBADF", "next_key on a closed fd");
      c.result(d.mapFreeze(bad), "EBADF", "freeze on a closed fd");
      c.result(d.close(bad), "EBADF", "close of a closed fd");
      const just = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      ctx.close(just);
      c.result(d.mapLookupElem(just, k, v), "EBADF", "lookup on the fd just closed");
      c.result(d.close(just), "EBADF", "second close of that fd");
      c.result(d.mapLookupElem(prog, k, v), "EINVAL", "lookup on a program fd");
      c.result(d.mapUpdateElem(prog, k, v), "EINVAL", "update on a program fd");
      c.result(d.mapGetNextKey(prog, null, v), "EINVAL", "next_key on a program fd");
      c.done();
    },
  },
  {
    name: "§4.1 elements: lookup_and_delete is ENOTSUPP for arrays, LPM, ARRAY_OF_MAPS, PROG_ARRAY, HASH_OF_MAPS",
    group: "elements",
    run(ctx) {
      const d = ctx.driver;
      const inner = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const c = new Checks("lookup_and_delete support");
      const cases: [number, number, number, number, number?][] = [
        [ARRAY, 4, 4, 0], [PERCPU_ARRAY, 4, 4, 0], [LPM_TRIE, 8, 4, F.NO_PREALLOC],
        [ARRAY_OF_MAPS, 4, 4, 0, inner], [HASH_OF_MAPS, 4, 4, 0, inner], [PROG_ARRAY, 4, 4, 0],
      ];
      for (const [t, k, v, flags, innerMapFd] of cases) {
        const fd = ctx.create({ mapType: t, keySize: k, valueSize: v, maxEntries: 2, mapFlags: flags, innerMapFd });
        const key = new Uint8Array(k);
        if (t === HASH_OF_MAPS) ctx.put(fd, key, u32(inner));
        c.result(d.mapLookupAndDeleteElem(fd, key, new Uint8Array(ctx.valueBytes(t, v))), "ENOTSUPP", `${typeNames[t]} lookup_and_delete`);
      }
      c.done();
    },
  },
];
