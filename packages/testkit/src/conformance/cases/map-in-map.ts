// kernel-maps.md §11: ARRAY_OF_MAPS / HASH_OF_MAPS (inner compatibility, ids on lookup,
// references held by the outer map) and PROG_ARRAY (prog fds in, prog ids out, its owner
// program, cleared when the last user reference goes).
import { errnoOf, expectBytes, expectResult } from "../assert.js";
import { readU32, SOCKET_FILTER_INSNS, u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import {
  ANY, ARRAY, ARRAY_OF_MAPS, arrayTemplate, Checks, EXIST, F, HASH, HASH_OF_MAPS, LPM_TRIE, LRU_HASH,
  NOEXIST, openUntilGone, PERCPU_ARRAY, PROG_ARRAY, sleepMs,
} from "./common.js";

export const mapInMapCases: ConformanceCase[] = [
  {
    name: "§11 map-in-map ARRAY_OF_MAPS: BPF_ANY only, fds in, map ids out, errnos",
    group: "map-in-map",
    run(ctx) {
      const d = ctx.driver;
      const inner = arrayTemplate(ctx);
      const fd = ctx.create({ mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
      const v = new Uint8Array(4);
      const c = new Checks("ARRAY_OF_MAPS ops");
      c.result(d.mapLookupElem(fd, u32(0), v), "ENOENT", "lookup of an empty slot");
      c.result(d.mapLookupElem(fd, u32(2), v), "ENOENT", "lookup of slot 2 (out of range)");
      c.result(d.mapUpdateElem(fd, u32(0), u32(inner)), "OK", "update slot 0 with the inner fd");
      if (c.result(d.mapLookupElem(fd, u32(0), v), "OK", "lookup slot 0")) c.equal(readU32(v), ctx.id(inner), "lookup gives the inner map id");
      c.result(d.mapUpdateElem(fd, u32(0), u32(inner), NOEXIST), "EINVAL", "update NOEXIST");
      c.result(d.mapUpdateElem(fd, u32(1), u32(inner), EXIST), "EINVAL", "update EXIST");
      c.result(d.mapUpdateElem(fd, u32(2), u32(inner)), "E2BIG", "update slot 2 (out of range)");
      c.result(d.mapUpdateElem(fd, u32(2), u32(inner), NOEXIST), "EINVAL", "update slot 2 NOEXIST (the flags before the index)");
      c.result(d.mapUpdateElem(fd, u32(2), u32(ctx.closedFd())), "E2BIG", "update slot 2 with a closed fd (the index before the fd)");
      c.result(d.mapUpdateElem(fd, u32(1), u32(ctx.closedFd())), "EBADF", "update with a closed fd");
      c.result(d.mapUpdateElem(fd, u32(1), u32(ctx.prog())), "EINVAL", "update with a program fd");
      const h = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      c.result(d.mapUpdateElem(fd, u32(1), u32(h)), "EINVAL", "update with a HASH (type mismatch)");
      const v8 = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
      c.result(d.mapUpdateElem(fd, u32(1), u32(v8)), "EINVAL", "update with value_size 8");
      const m5 = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 5 });
      c.result(d.mapUpdateElem(fd, u32(1), u32(m5)), "EINVAL", "update with an ARRAY of other max_entries");
      c.result(d.mapUpdateElem(fd, u32(1), u32(fd)), "EINVAL", "update with the outer map itself");
      c.result(d.mapDeleteElem(fd, u32(1)), "ENOENT", "delete of an empty slot");
      c.result(d.mapDeleteElem(fd, u32(2)), "E2BIG", "delete of slot 2 (out of range)");
      const next = new Uint8Array(4);
      if (c.result(d.mapGetNextKey(fd, null, next), "OK", "next_key(NULL)")) c.equal(readU32(next), 0, "next_key(NULL)");
      c.result(d.mapGetNextKey(fd, u32(1), next), "ENOENT", "next_key(1) (last)");
      c.result(d.mapDeleteElem(fd, u32(0)), "OK", "delete slot 0");
      c.result(d.mapLookupElem(fd, u32(0), v), "ENOENT", "lookup after delete");
      c.done();
    },
  },
  {
    name: "§11 map-in-map HASH_OF_MAPS: hash rules (EEXIST, ENOENT, E2BIG) and map ids out",
    group: "map-in-map",
    run(ctx) {
      const d = ctx.driver;
      const inner = arrayTemplate(ctx);
      const fd = ctx.create({ mapType: HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
      const v = new Uint8Array(4);
      const c = new Checks("HASH_OF_MAPS ops");
      c.result(d.mapLookupElem(fd, u32(5), v), "ENOENT", "lookup of a missing key");
      c.result(d.mapUpdateElem(fd, u32(5), u32(inner)), "OK", "update key 5");
      if (c.result(d.mapLookupElem(fd, u32(5), v), "OK", "lookup key 5")) c.equal(readU32(v), ctx.id(inner), "lookup gives the map id");
      c.result(d.mapUpdateElem(fd, u32(5), u32(inner), NOEXIST), "EEXIST", "update NOEXIST of key 5");
      c.result(d.mapUpdateElem(fd, u32(6), u32(inner), EXIST), "ENOENT", "update EXIST of missing key 6");
      const h = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      c.result(d.mapUpdateElem(fd, u32(6), u32(h)), "EINVAL", "update with an incompatible map");
      c.result(d.mapUpdateElem(fd, u32(6), u32(ctx.closedFd())), "EBADF", "update with a closed fd");
      c.result(d.mapUpdateElem(fd, u32(6), u32(inner), 3), "EINVAL", "update flags=3");
      // bpf_fd_htab_map_update_elem resolves the fd before htab_map_update_elem sees the flags.
      c.result(d.mapUpdateElem(fd, u32(6), u32(ctx.closedFd()), 3), "EBADF", "update flags=3 with a closed fd (fd first)");
      c.result(d.mapUpdateElem(fd, u32(6), u32(ctx.closedFd()), 2 ** 32), "EBADF", "update flags=2^32 with a closed fd (fd first)");
      c.result(d.mapUpdateElem(fd, u32(6), u32(inner), 2 ** 32), "EINVAL", "update flags=2^32");
      c.result(d.mapUpdateElem(fd, u32(6), u32(inner), ANY), "OK", "update key 6");
      c.result(d.mapUpdateElem(fd, u32(7), u32(inner), ANY), "E2BIG", "update key 7 (full)");
      c.result(d.mapDeleteElem(fd, u32(7)), "ENOENT", "delete missing key 7");
      c.done();
    },
  },
  {
    name: "§11 map-in-map: inner maps must match type, key/value size and flags; max_entries only for ARRAY",
    group: "map-in-map",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("inner map compatibility");
      const mk = (t: number, max: number, flags = 0, ks = 4, vs = 4) =>
        ctx.create({ mapType: t, keySize: ks, valueSize: vs, maxEntries: max, mapFlags: flags });
      const rows: [string, () => number, () => number, "OK" | "EINVAL"][] = [
        ["HASH max4 → HASH max8", () => mk(HASH, 4), () => mk(HASH, 8), "OK"],
        ["HASH → HASH NO_PREALLOC", () => mk(HASH, 4), () => mk(HASH, 4, F.NO_PREALLOC), "EINVAL"],
        ["HASH → HASH key_size 8", () => mk(HASH, 4), () => mk(HASH, 4, 0, 8), "EINVAL"],
        ["HASH → HASH value_size 8", () => mk(HASH, 4), () => mk(HASH, 4, 0, 4, 8), "EINVAL"],
        ["HASH → LRU_HASH", () => mk(HASH, 4), () => mk(LRU_HASH, 4), "EINVAL"],
        ["HASH → HASH ZERO_SEED", () => mk(HASH, 4), () => mk(HASH, 4, F.ZERO_SEED), "EINVAL"],
        ["HASH → HASH RDONLY (fd-only flag)", () => mk(HASH, 4), () => mk(HASH, 4, F.RDONLY), "OK"],
        ["ARRAY max1 → ARRAY max2", () => mk(ARRAY, 1), () => mk(ARRAY, 2), "EINVAL"],
        ["ARRAY max1 INNER_MAP → ARRAY max2 INNER_MAP", () => mk(ARRAY, 1, F.INNER_MAP), () => mk(ARRAY, 2, F.INNER_MAP), "OK"],
        ["ARRAY max1 INNER_MAP → ARRAY max2", () => mk(ARRAY, 1, F.INNER_MAP), () => mk(ARRAY, 2), "EINVAL"],
        ["PERCPU_ARRAY max1 → max2", () => mk(PERCPU_ARRAY, 1), () => mk(PERCPU_ARRAY, 2), "OK"],
        ["LPM max4 → LPM max8", () => mk(LPM_TRIE, 4, F.NO_PREALLOC, 8), () => mk(LPM_TRIE, 8, F.NO_PREALLOC, 8), "OK"],
        ["LRU NO_COMMON_LRU max4 → max8", () => mk(LRU_HASH, 4, F.NO_COMMON_LRU), () => mk(LRU_HASH, 8, F.NO_COMMON_LRU), "OK"],
      ];
      for (const [label, tmpl, cand, want] of rows) {
        for (const outer of [ARRAY_OF_MAPS, HASH_OF_MAPS]) {
          const t = tmpl();
          const o = ctx.create({ mapType: outer, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: t });
          c.result(d.mapUpdateElem(o, u32(0), u32(cand())), want, `${label} [${outer === ARRAY_OF_MAPS ? "AoM" : "HoM"}]`);
        }
      }
      c.done();
    },
  },
  {
    name: "§11 §13 map-in-map: the outer map holds the inner map alive (and its id) until its last slot goes",
    group: "map-in-map",
    run(ctx) {
      const d = ctx.driver;
      const tmpl = arrayTemplate(ctx);
      const outer = ctx.create({ mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: tmpl });
      const inner = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      ctx.put(inner, u32(0), u32(0x5a5a));
      const id = ctx.id(inner);
      ctx.put(outer, u32(0), u32(inner));
      ctx.put(outer, u32(1), u32(inner));
      ctx.close(inner);
      const fd1 = ctx.own(d.mapGetFdById(id));
      expectResult(fd1, "OK", "inner map by id after its fd was closed (outer holds it)");
      expectBytes(ctx.get(fd1, u32(0), 4), u32(0x5a5a), "the inner map's data");
      ctx.close(fd1);
      expectResult(d.mapDeleteElem(outer, u32(0)), "OK", "delete one of two slots");
      const fd2 = ctx.own(d.mapGetFdById(id));
      expectResult(fd2, "OK", "inner map by id with one slot left");
      ctx.close(fd2);
      expectResult(d.mapDeleteElem(outer, u32(1)), "OK", "delete the last slot");
      expectResult(ctx.own(d.mapGetFdById(id)), "ENOENT", "inner map by id after its last reference went");
    },
  },
  {
    name: "§11 PROG_ARRAY: prog fds in, prog ids out, BPF_ANY only, array next_key, no batches",
    group: "prog-array",
    run(ctx) {
      const d = ctx.driver;
      const prog = ctx.prog("p1");
      const fd = ctx.create({ mapType: PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      const v = new Uint8Array(4);
      const c = new Checks("PROG_ARRAY ops");
      const pinfo = new Uint8Array(232);
      c.result(d.objGetInfoByFd(prog, pinfo), "OK", "prog info");
      const progId = readU32(pinfo, 4);
      c.result(d.mapLookupElem(fd, u32(0), v), "ENOENT", "lookup of an empty slot");
      c.result(d.mapUpdateElem(fd, u32(0), u32(prog)), "OK", "update slot 0 with a prog fd");
      if (c.result(d.mapLookupElem(fd, u32(0), v), "OK", "lookup slot 0")) c.equal(readU32(v), progId, "lookup gives the prog id");
      c.result(d.mapUpdateElem(fd, u32(0), u32(prog), NOEXIST), "EINVAL", "update NOEXIST");
      // It has no batch operations at all: ENOTSUPP before the batch's own elem_flags check.
      c.equal(d.mapUpdateBatch(fd, u32(1), u32(prog), 1, NOEXIST).errno, errnoOf("ENOTSUPP"), "update batch with elem_flags NOEXIST");
      const m = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      c.result(d.mapUpdateElem(fd, u32(1), u32(m)), "EINVAL", "update with a map fd");
      c.result(d.mapUpdateElem(fd, u32(2), u32(prog)), "E2BIG", "update slot 2 (out of range)");
      c.result(d.mapDeleteElem(fd, u32(1)), "ENOENT", "delete an empty slot");
      c.result(d.mapDeleteElem(fd, u32(2)), "E2BIG", "delete slot 2 (out of range)");
      const next = new Uint8Array(4);
      if (c.result(d.mapGetNextKey(fd, null, next), "OK", "next_key(NULL)")) c.equal(readU32(next), 0, "next_key(NULL)");
      if (c.result(d.mapGetNextKey(fd, u32(7), next), "OK", "next_key(7) (out of range)")) c.equal(readU32(next), 0, "next_key(7)");
      c.result(d.mapDeleteElem(fd, u32(0)), "OK", "delete slot 0");
      c.done();
    },
  },
  {
    name: "§11 PROG_ARRAY owner: the first program stored in the array or loaded referencing it fixes the type and expected attach type",
    group: "prog-array",
    run(ctx) {
      const d = ctx.driver;
      // bpf_check_tail_call at PROG_LOAD and prog_fd_array_get_ptr on update share one check.
      const progArray = () => ctx.create({ mapType: PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      const prog = (type: number, r0: number, ea = 0) => {
        const fd = ctx.own(d.progLoad({ progType: type, insns: retInsns(r0), license: "GPL", expectedAttachType: ea }));
        expectResult(fd, "OK", `load a program of type ${type}`);
        return fd;
      };
      /** A program of `type` that references each map with ld_imm64 (in that order); r0 = r0v. */
      const referencing = (type: number, maps: number[], r0v: number, ea = 0) => {
        const insns = new Uint8Array(16 * maps.length + 16);
        maps.forEach((m, i) => {
          insns.set([0x18, 0x11], 16 * i);
          insns.set(u32(m), 16 * i + 4);
        });
        insns.set(retInsns(r0v), 16 * maps.length);
        return ctx.own(d.progLoad({ progType: type, insns, license: "GPL", expectedAttachType: ea }));
      };
      const XDP = 6, CGROUP_SKB = 8;
      const xdp = prog(XDP, 2), sf = prog(1, 0);
      const c = new Checks("PROG_ARRAY owner");
      const pa = progArray();
      c.result(referencing(1, [pa], 0), "OK", "load a socket filter referencing an empty array");
      c.result(d.mapUpdateElem(pa, u32(0), u32(xdp)), "EINVAL", "then store an XDP program: the loader owns it");
      c.result(d.mapUpdateElem(pa, u32(0), u32(sf)), "OK", "then store a socket filter");
      const pb = progArray();
      c.result(d.mapUpdateElem(pb, u32(0), u32(xdp)), "OK", "store an XDP program in a new array");
      c.result(referencing(1, [pb], 0), "EINVAL", "load a socket filter referencing the XDP-owned array");
      c.result(referencing(XDP, [pb], 2), "OK", "load an XDP program referencing it");
      // Maps are checked in the order the program first references them, up to the first refusal.
      const fresh1 = progArray();
      c.result(referencing(1, [fresh1, pb], 0), "EINVAL", "load referencing an empty array, then the XDP-owned one");
      c.result(d.mapUpdateElem(fresh1, u32(0), u32(xdp)), "EINVAL", "the empty array took the refused loader as owner");
      const fresh2 = progArray();
      c.result(referencing(1, [pb, fresh2], 0), "EINVAL", "load referencing the XDP-owned array, then an empty one");
      c.result(d.mapUpdateElem(fresh2, u32(0), u32(xdp)), "OK", "the empty array was never reached");
      // The expected attach type is part of a PROG_ARRAY's owner.
      const pc = progArray();
      const egress = prog(CGROUP_SKB, 1, 1);
      c.result(referencing(CGROUP_SKB, [pc], 1), "OK", "load a cgroup_skb (ingress) program referencing an empty array");
      c.result(d.mapUpdateElem(pc, u32(0), u32(egress)), "EINVAL", "store a cgroup_skb egress program in it");
      c.result(referencing(CGROUP_SKB, [pc], 1, 1), "EINVAL", "load a cgroup_skb egress program referencing it");
      // A load the verifier refuses never reaches the check.
      const pd = progArray();
      const unsetR0 = new Uint8Array(24);
      unsetR0.set([0x18, 0x11], 0);
      unsetR0.set(u32(pd), 4);
      unsetR0.set([0x95], 16);
      c.result(ctx.own(d.progLoad({ progType: XDP, insns: unsetR0, license: "GPL" })), "EACCES", "load an XDP program referencing an empty array, r0 unset");
      c.result(d.mapUpdateElem(pd, u32(0), u32(sf)), "OK", "the array has no owner yet");
      c.done();
    },
  },
  ...[PROG_ARRAY, ARRAY_OF_MAPS, HASH_OF_MAPS].map((t): ConformanceCase => ({
    name: t === PROG_ARRAY
      ? "§11 PROG_ARRAY: entries are cleared when the last user reference goes while a program holds the map"
      : `§11 ${t === ARRAY_OF_MAPS ? "ARRAY_OF_MAPS" : "HASH_OF_MAPS"}: entries stay when the last user reference goes while a program holds the map`,
    group: t === PROG_ARRAY ? "prog-array" : "map-in-map",
    run(ctx) {
      const d = ctx.driver;
      const inner = arrayTemplate(ctx);
      const fd = ctx.create({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: t === PROG_ARRAY ? undefined : inner });
      ctx.put(fd, u32(0), u32(t === PROG_ARRAY ? ctx.prog("tail") : inner));
      const holder = ctx.own(d.progLoad({ progType: 1, insns: holdingInsns(fd), license: "GPL", progName: "holder" }));
      expectResult(holder, "OK", "load a socket filter that references the map");
      const id = ctx.id(fd);
      ctx.close(fd);
      const again = ctx.own(d.mapGetFdById(id));
      expectResult(again, "OK", "the map by id: the program keeps it alive");
      // The kernel clears a PROG_ARRAY from a work item, so give it a moment.
      const v = new Uint8Array(4);
      let r = d.mapLookupElem(again, u32(0), v);
      for (let i = 0; i < 50 && t === PROG_ARRAY && r >= 0; i++) {
        sleepMs(10);
        r = d.mapLookupElem(again, u32(0), v);
      }
      expectResult(r, t === PROG_ARRAY ? "ENOENT" : "OK", "lookup of slot 0 after the last user reference went");
    },
  })),
  {
    name: "§11 §13 map-in-map, PROG_ARRAY: freeing a program, an outer map or a PROG_ARRAY releases what it held (at once on the simulator; the kernel after its deferred free)",
    group: "map-in-map",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("references released by a free");
      // Each holder's own id goes at once (bpf_map_free_id, bpf_prog_free_id), but the kernel
      // drops what it held from a work item or after an RCU grace period (bpf_map_free_in_work,
      // bpf_prog_free_deferred): ~20 ms here. The simulator releases at once, so poll.
      const gone = (byId: () => number, what: string) => c.result(openUntilGone(d, byId, 1000), "ENOENT", what);
      // A program referencing a map (used_maps).
      const used = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const usedId = ctx.id(used);
      const holder = ctx.own(d.progLoad({ progType: 1, insns: holdingInsns(used), license: "GPL", progName: "holder" }));
      expectResult(holder, "OK", "load a socket filter that references the map");
      ctx.close(used);
      const usedAgain = d.mapGetFdById(usedId);
      if (c.result(usedAgain, "OK", "the map by id while the program holds it")) d.close(usedAgain);
      ctx.close(holder);
      gone(() => d.mapGetFdById(usedId), "the map by id once the program is freed");
      // An outer map's inner maps.
      const tmpl = arrayTemplate(ctx);
      const outer = ctx.create({ mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, innerMapFd: tmpl });
      const inner = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const innerId = ctx.id(inner);
      ctx.put(outer, u32(0), u32(inner));
      ctx.close(inner);
      const outerId = ctx.id(outer);
      ctx.close(outer);
      c.result(ctx.own(d.mapGetFdById(outerId)), "ENOENT", "the outer map by id once closed (at once)");
      gone(() => d.mapGetFdById(innerId), "the inner map by id once the outer map is freed");
      // A PROG_ARRAY's programs.
      const pa = ctx.create({ mapType: PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const tail = ctx.prog("tail");
      const info = new Uint8Array(232);
      expectResult(d.objGetInfoByFd(tail, info), "OK", "info of the tail program");
      const tailId = readU32(info, 4);
      ctx.put(pa, u32(0), u32(tail));
      ctx.close(tail);
      const tailAgain = d.progGetFdById(tailId);
      if (c.result(tailAgain, "OK", "the program by id while the PROG_ARRAY holds it")) d.close(tailAgain);
      ctx.close(pa);
      gone(() => d.progGetFdById(tailId), "the program by id once the PROG_ARRAY is freed");
      c.done();
    },
  },
];

/** r1 = the map (ld_imm64, src BPF_PSEUDO_MAP_FD); r0 = 0; exit: a program holding the map. */
function holdingInsns(mapFd: number): Uint8Array {
  const insns = new Uint8Array(32);
  insns.set([0x18, 0x11], 0);
  insns.set(u32(mapFd), 4);
  insns.set(SOCKET_FILTER_INSNS, 16);
  return insns;
}

/** r0 = imm; exit */
function retInsns(imm: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 0xb7;
  new DataView(b.buffer).setInt32(4, imm, true);
  b[8] = 0x95;
  return b;
}
