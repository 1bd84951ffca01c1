// kernel-maps.md §9: LPM_TRIE — longest-prefix lookup capped by the query's prefixlen, host bits
// stored as given, walk order by the §9.3 comparator, ENOSPC when full.
import { expectBytes, expectList, expectResult } from "../assert.js";
import { u32, type CaseContext } from "../context.js";
import { hex, unhex } from "../models/htab.js";
import { decodeLpmKey, encodeLpmKey, lpmCompare, lpmMatch, samePrefix, type LpmKey } from "../models/lpm.js";
import { Prng } from "../prng.js";
import type { ConformanceCase } from "../types.js";
import { ANY, Checks, EXIST, F, F_LOCK, LPM_TRIE, NOEXIST } from "./common.js";

function ip4(s: string, prefixlen: number): Uint8Array {
  return encodeLpmKey({ prefixlen, data: new Uint8Array(s.split(".").map(Number)) }, 8);
}

const fmt = (k: Uint8Array) => {
  const d = decodeLpmKey(k);
  return `${Array.from(d.data).join(".")}/${d.prefixlen}`;
};

function lpm(ctx: CaseContext, keySize = 8, max = 16): number {
  return ctx.create({ mapType: LPM_TRIE, keySize, valueSize: 4, maxEntries: max, mapFlags: F.NO_PREALLOC });
}

export const lpmCases: ConformanceCase[] = [
  {
    name: "§9.1 LPM: lookup is the longest stored prefix within the query's prefixlen",
    group: "lpm",
    run(ctx) {
      const d = ctx.driver;
      const fd = lpm(ctx);
      ctx.put(fd, ip4("192.168.0.0", 16), u32(16));
      ctx.put(fd, ip4("192.168.0.0", 24), u32(24));
      ctx.put(fd, ip4("192.168.1.0", 24), u32(241));
      ctx.put(fd, ip4("192.168.128.0", 24), u32(128));
      const c = new Checks("LPM lookup");
      for (const [q, len, want] of [
        ["192.168.1.77", 32, 241], ["192.168.2.1", 32, 16], ["192.168.1.77", 16, 16], ["192.168.1.77", 20, 16],
        ["10.0.0.1", 32, -1], ["192.168.0.0", 23, 16], ["192.168.0.255", 24, 24], ["192.168.1.1", 33, -1],
      ] as const) {
        const v = new Uint8Array(4);
        const r = d.mapLookupElem(fd, ip4(q, len), v);
        if (c.result(r, want < 0 ? "ENOENT" : "OK", `lookup ${q}/${len}`) && want >= 0) c.step(() => expectBytes(v, u32(want), `lookup ${q}/${len}`));
      }
      c.done();
    },
  },
  {
    name: "§9.2 LPM: update and delete errnos; host bits are stored as given",
    group: "lpm",
    run(ctx) {
      const d = ctx.driver;
      const fd = lpm(ctx);
      ctx.put(fd, ip4("192.168.0.0", 16), u32(16));
      ctx.put(fd, ip4("192.168.0.0", 24), u32(24));
      const c = new Checks("LPM update/delete");
      c.result(d.mapUpdateElem(fd, ip4("1.2.3.4", 33), u32(1)), "EINVAL", "update prefixlen 33");
      c.result(d.mapUpdateElem(fd, ip4("1.2.3.4", 8), u32(1), 3), "EINVAL", "update flags=3");
      c.result(d.mapUpdateElem(fd, ip4("1.2.3.4", 8), u32(1), F_LOCK), "EINVAL", "update F_LOCK");
      c.result(d.mapUpdateElem(fd, ip4("192.168.0.0", 16), u32(1), NOEXIST), "EEXIST", "update NOEXIST of an existing /16");
      c.result(d.mapUpdateElem(fd, ip4("192.168.7.7", 16), u32(1), NOEXIST), "EEXIST", "update NOEXIST, same /16 with other host bits");
      c.result(d.mapUpdateElem(fd, ip4("10.0.0.0", 8), u32(1), EXIST), "ENOENT", "update EXIST of a missing 10/8");
      c.result(d.mapUpdateElem(fd, ip4("192.168.0.0", 23), u32(1), EXIST), "ENOENT", "update EXIST of an intermediate /23");
      c.result(d.mapUpdateElem(fd, ip4("192.168.0.77", 24), u32(0x978), ANY), "OK", "update 192.168.0.77/24 over 192.168.0.0/24");
      const v = new Uint8Array(4);
      if (c.result(d.mapLookupElem(fd, ip4("192.168.0.1", 32), v), "OK", "lookup 192.168.0.1/32")) c.step(() => expectBytes(v, u32(0x978), "the replaced value"));
      const first = new Uint8Array(8);
      if (c.result(d.mapGetNextKey(fd, null, first), "OK", "next_key(NULL)")) {
        c.step(() => expectBytes(first, ip4("192.168.0.77", 24), "the stored key keeps the new host bits"));
      }
      c.result(d.mapDeleteElem(fd, ip4("1.2.3.4", 33)), "EINVAL", "delete prefixlen 33");
      c.result(d.mapDeleteElem(fd, ip4("10.0.0.0", 8), ), "ENOENT", "delete a missing 10/8");
      c.result(d.mapDeleteElem(fd, ip4("192.168.0.0", 23)), "ENOENT", "delete an intermediate /23");
      c.result(d.mapDeleteElem(fd, ip4("192.168.0.5", 24)), "OK", "delete /24 by other host bits");
      c.result(d.mapLookupAndDeleteElem(fd, ip4("192.168.0.0", 16), new Uint8Array(4)), "ENOTSUPP", "lookup_and_delete");
      c.done();
    },
  },
  {
    name: "§9.2 LPM: a full trie gives ENOSPC (not E2BIG); replacing still works",
    group: "lpm",
    run(ctx) {
      const d = ctx.driver;
      const fd = lpm(ctx, 8, 2);
      ctx.put(fd, ip4("10.0.0.0", 8), u32(1));
      ctx.put(fd, ip4("10.1.0.0", 16), u32(2));
      expectResult(d.mapUpdateElem(fd, ip4("10.2.0.0", 16), u32(3)), "ENOSPC", "update of a new key when full");
      expectResult(d.mapUpdateElem(fd, ip4("10.2.0.0", 16), u32(3), NOEXIST), "ENOSPC", "update NOEXIST of a new key when full");
      expectResult(d.mapUpdateElem(fd, ip4("10.2.0.0", 16), u32(3), EXIST), "ENOENT", "update EXIST of a new key when full");
      expectResult(d.mapUpdateElem(fd, ip4("10.1.0.0", 16), u32(4)), "OK", "replace when full");
      expectBytes(ctx.get(fd, ip4("10.1.9.9", 32), 4), u32(4), "lookup after replace");
    },
  },
  {
    name: "§9.3 LPM: walk order is the prefix sort (more specific first); absent keys restart",
    group: "lpm",
    run(ctx) {
      const d = ctx.driver;
      const fd = lpm(ctx);
      for (const [a, l] of [["192.168.0.0", 16], ["192.168.0.0", 24], ["192.168.1.0", 24], ["192.168.128.0", 24]] as const) ctx.put(fd, ip4(a, l), u32(l));
      expectList(ctx.walk(fd, 8).map(fmt), ["192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24", "192.168.0.0/16"], "walk");
      const next = new Uint8Array(8);
      const c = new Checks("LPM next_key");
      for (const [q, l, want] of [
        ["192.168.128.0", 24, "192.168.0.0/16"], ["10.0.0.0", 8, "192.168.0.0/24"], ["192.168.0.0", 99, "192.168.0.0/24"],
        ["192.168.0.0", 23, "192.168.0.0/24"], ["192.168.1.5", 24, "192.168.128.0/24"], ["192.168.0.0", 16, ""],
      ] as const) {
        const r = d.mapGetNextKey(fd, ip4(q, l), next);
        if (c.result(r, want === "" ? "ENOENT" : "OK", `next_key(${q}/${l})`) && want !== "") c.equal(fmt(next), want, `next_key(${q}/${l})`);
      }
      c.done();
    },
  },
  {
    name: "§9 LPM: random updates, deletes, lookups and walks match the sorted-set model (data 1–16 bytes)",
    group: "lpm",
    run(ctx) {
      const d = ctx.driver;
      for (let seed = 1; seed <= 12; seed++) {
        const rnd = new Prng(seed * 104729);
        const dataBytes = rnd.pick([1, 2, 4, 16]);
        const keySize = 4 + dataBytes;
        const maxPl = dataBytes * 8;
        const max = rnd.pick([4, 16, 64]);
        const fd = lpm(ctx, keySize, max);
        const entries: (LpmKey & { value: number })[] = [];
        const base = rnd.bytes(dataBytes);
        const randKey = (): LpmKey => {
          const data = base.slice();
          for (let i = 0; i < dataBytes; i++) if (rnd.next() < 0.3) data[i] = rnd.int(256);
          return { prefixlen: rnd.int(maxPl + 2), data };
        };
        const what = `seed ${seed} k${keySize} max${max}`;
        for (let i = 0; i < 80; i++) {
          const k = randKey();
          const kb = encodeLpmKey(k, keySize);
          const at = entries.findIndex((e) => samePrefix(e, k));
          const op = rnd.next();
          if (op < 0.55) {
            const fl = rnd.pick([ANY, ANY, NOEXIST, EXIST]);
            let want: "OK" | "EINVAL" | "EEXIST" | "ENOENT" | "ENOSPC" = "OK";
            if (k.prefixlen > maxPl) want = "EINVAL";
            else if (at >= 0 && fl === NOEXIST) want = "EEXIST";
            else if (at < 0 && fl === EXIST) want = "ENOENT";
            else if (at < 0 && entries.length >= max) want = "ENOSPC";
            expectResult(d.mapUpdateElem(fd, kb, u32(i), fl), want, `${what}: op ${i} update ${hex(kb)} flags ${fl}`);
            if (want === "OK") {
              if (at >= 0) entries[at] = { ...k, value: i };
              else entries.push({ ...k, value: i });
            }
          } else if (op < 0.75) {
            const want = k.prefixlen > maxPl ? "EINVAL" : at < 0 ? "ENOENT" : "OK";
            expectResult(d.mapDeleteElem(fd, kb), want, `${what}: op ${i} delete ${hex(kb)}`);
            if (want === "OK") entries.splice(at, 1);
          } else {
            const m = lpmMatch(entries, k, maxPl);
            const v = new Uint8Array(4);
            expectResult(d.mapLookupElem(fd, kb, v), m ? "OK" : "ENOENT", `${what}: op ${i} lookup ${hex(kb)}`);
            if (m) expectBytes(v, u32(m.value), `${what}: op ${i} lookup ${hex(kb)} value`);
          }
        }
        const sorted = [...entries].sort(lpmCompare).map((e) => hex(encodeLpmKey(e, keySize)));
        expectList(ctx.walkHex(fd, keySize), sorted, `${what}: walk`);
        // next_key from every stored key gives its successor in the sort (ENOENT after the last)
        const next = new Uint8Array(keySize);
        sorted.forEach((k, i) => {
          const r = d.mapGetNextKey(fd, unhex(k), next);
          expectResult(r, i + 1 < sorted.length ? "OK" : "ENOENT", `${what}: next_key(${k})`);
          if (i + 1 < sorted.length) expectList([hex(next)], [sorted[i + 1]!], `${what}: next_key(${k})`);
        });
      }
    },
  },
];
