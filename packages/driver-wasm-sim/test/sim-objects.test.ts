// The object model beyond map contents: fd access modes, freeze, pins on bpffs, ids, reference
// counts, map-in-map and PROG_ARRAY lifetimes, info bytes, programs (kernel-maps.md §4.2, §11,
// §12, §13). Each scenario runs on the simulator and on the kernel; the two transcripts must be
// equal, and the simulator's is checked against the answers the kernel probes recorded.
import type { MapCreateAttr } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { check, errName, eventually, hex, mapInfo, onBoth, progUsingMap, readU32, retProg, u32 } from "./sim-helpers.js";
import type { Scene } from "./sim-helpers.js";

const HASH = 1, ARRAY = 2, PROG_ARRAY = 3, LRU_HASH = 9, ARRAY_OF_MAPS = 12, HASH_OF_MAPS = 13;
const RDONLY = 0x8, WRONLY = 0x10, ZERO_SEED = 0x40, NO_COMMON_LRU = 0x2;
const SOCKET_FILTER = 1, CGROUP_SOCK_ADDR = 18, CGROUP_SKB = 8;

const attr = (t: number, more: Partial<MapCreateAttr> = {}): MapCreateAttr => ({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 4, ...more });

/** A lookup's outcome: the value as hex, or the errno name. */
function look(s: Scene, fd: number, key: Uint8Array, size = 4): string {
  const v = new Uint8Array(size);
  const r = s.d.mapLookupElem(fd, key, v);
  return r < 0 ? errName(r) : hex(v);
}

function idLive(s: Scene, id: number): boolean {
  return s.d.mapGetNextId(id - 1) === id;
}

describe("fd access modes and freeze (§4.2, §12)", () => {
  it("RDONLY fds read, WRONLY fds write, freeze makes every fd read-only", () => {
    check(onBoth((s) => {
      const d = s.d;
      const fd = s.keep(d.mapCreate(attr(HASH)));
      d.mapUpdateElem(fd, u32(1), u32(10));
      const pin = `${s.bpffs}/m`;
      s.rec("pin", d.objPin(fd, pin));
      const ro = s.keep(s.rec("get RDONLY", d.objGet(pin, RDONLY), "fd"));
      const wo = s.keep(s.rec("get WRONLY", d.objGet(pin, WRONLY), "fd"));
      s.rec("get RDONLY|WRONLY", d.objGet(pin, RDONLY | WRONLY));
      s.rec("get unknown flag", d.objGet(pin, 0x2));
      s.log.push(["ro lookup", look(s, ro, u32(1))]);
      s.rec("ro update", d.mapUpdateElem(ro, u32(2), u32(2)));
      s.rec("ro delete", d.mapDeleteElem(ro, u32(1)));
      s.rec("ro next", d.mapGetNextKey(ro, null, new Uint8Array(4)));
      s.rec("ro freeze", d.mapFreeze(ro));
      s.rec("ro lookup-and-delete", d.mapLookupAndDeleteElem(ro, u32(1), new Uint8Array(4)));
      s.log.push(["ro update-batch", d.mapUpdateBatch(ro, u32(5), u32(5), 1)]);
      s.log.push(["ro lookup-batch", d.mapLookupBatch(ro, null, new Uint8Array(4), new Uint8Array(16), new Uint8Array(16), 4).errno]);
      s.log.push(["wo lookup", look(s, wo, u32(1))]);
      s.rec("wo next", d.mapGetNextKey(wo, null, new Uint8Array(4)));
      s.rec("wo update", d.mapUpdateElem(wo, u32(2), u32(20)));
      s.log.push(["wo lookup-batch", d.mapLookupBatch(wo, null, new Uint8Array(4), new Uint8Array(16), new Uint8Array(16), 4)]);
      s.rec("wo info", d.objGetInfoByFd(wo, new Uint8Array(104)));
      s.rec("freeze", d.mapFreeze(fd));
      s.rec("freeze again", d.mapFreeze(fd));
      s.rec("update after freeze", d.mapUpdateElem(fd, u32(3), u32(3)));
      s.rec("delete after freeze", d.mapDeleteElem(fd, u32(1)));
      s.rec("wo update after freeze", d.mapUpdateElem(wo, u32(3), u32(3)));
      s.log.push(["lookup after freeze", look(s, fd, u32(2))]);
      s.rec("lookup-and-delete after freeze", d.mapLookupAndDeleteElem(fd, u32(1), new Uint8Array(4)));
      s.log.push(["delete-batch after freeze", d.mapDeleteBatch(fd, u32(1), 1)]);
    }), [
      ["ro lookup", "0a000000"], ["ro update", "EPERM"], ["ro delete", "EPERM"], ["ro next", 0],
      ["ro freeze", "EPERM"], ["get RDONLY|WRONLY", "EINVAL"], ["wo lookup", "EPERM"], ["wo next", "EPERM"],
      ["wo update", 0], ["freeze", 0], ["freeze again", "EPERM"], ["update after freeze", "EPERM"],
      ["lookup after freeze", "14000000"], ["ro update-batch", { errno: 1, count: 1 }],
      ["delete-batch after freeze", { errno: 1, count: 1 }],
    ]);
  });

  it("a map created RDONLY gives only that fd read-only; GET_FD_BY_ID opens it read-write", () => {
    check(onBoth((s) => {
      const d = s.d;
      const fd = s.keep(d.mapCreate(attr(ARRAY, { mapFlags: RDONLY })));
      s.rec("update on the creating fd", d.mapUpdateElem(fd, u32(0), u32(7)));
      s.log.push(["info flags", mapInfo(d, fd).mapFlags]);
      const rw = s.keep(s.rec("get by id", d.mapGetFdById(mapInfo(d, fd).id), "fd"));
      s.rec("update by id fd", d.mapUpdateElem(rw, u32(0), u32(7)));
      s.log.push(["read back", look(s, fd, u32(0))]);
      s.rec("get by id flags 3", d.mapGetFdById(mapInfo(d, fd).id, 3));
      s.rec("get by id flags 0x100", d.mapGetFdById(mapInfo(d, fd).id, 0x100));
    }), [["update on the creating fd", "EPERM"], ["info flags", 0], ["update by id fd", 0], ["read back", "07000000"], ["get by id flags 3", "EINVAL"]]);
  });
});

describe("pins on bpffs (§12)", () => {
  it("pin and get answer the kernel's errnos; a pin keeps the map and its id alive", () => {
    check(onBoth((s) => {
      const d = s.d;
      s.log.push(["a fresh bpffs lists the preloaded entries", d.host.readdir(s.bpffs)]);
      s.log.push(["they stat as files", d.host.stat(`${s.bpffs}/maps.debug`)]);
      s.rec("get maps.debug", d.objGet(`${s.bpffs}/maps.debug`));
      s.rec("unlink progs.debug", d.host.unlink(`${s.bpffs}/progs.debug`));
      const fd = d.mapCreate(attr(HASH, { mapName: "pinned" }));
      const id = mapInfo(d, fd).id;
      d.mapUpdateElem(fd, u32(1), u32(99));
      const p = `${s.bpffs}/a`;
      s.rec("pin", d.objPin(fd, p));
      s.rec("pin again", d.objPin(fd, p));
      s.rec("pin missing parent", d.objPin(fd, `${s.bpffs}/nodir/a`));
      s.rec("pin trailing slash", d.objPin(fd, `${s.bpffs}/b/`));
      s.rec("pin off bpffs", d.objPin(fd, `${s.plainDir}/a`));
      s.rec("pin closed fd", d.objPin(999, `${s.bpffs}/c`));
      s.rec("pin stdin", d.objPin(0, `${s.bpffs}/c`));
      s.rec("mkdir", d.host.mkdir(`${s.bpffs}/dir`, 0o700));
      s.rec("pin in dir", d.objPin(fd, `${s.bpffs}/dir/x`));
      s.rec("rmdir non-empty", d.host.rmdir(`${s.bpffs}/dir`));
      s.rec("get dir", d.objGet(`${s.bpffs}/dir`));
      s.rec("get missing", d.objGet(`${s.bpffs}/missing`));
      s.log.push(["stat pin", d.host.stat(p)]);
      s.log.push(["statfs", d.host.statfsType(p) >>> 0, d.host.statfsType(s.plainDir) >>> 0 === 0xcafe4a11]);
      s.rec("close last fd", d.close(fd));
      s.log.push(["alive through the pin", idLive(s, id)]);
      const again = s.keep(s.rec("get", d.objGet(p), "fd"));
      s.log.push(["same id", mapInfo(d, again).id === id, "same data", look(s, again, u32(1))]);
      s.rec("close again", d.close(again));
      s.rec("unlink", d.host.unlink(p));
      s.rec("unlink dir pin", d.host.unlink(`${s.bpffs}/dir/x`));
      s.log.push(["gone with the last pin", eventually(() => !idLive(s, id))]);
      s.rec("get after unlink", d.objGet(p));
      s.rec("rmdir empty", d.host.rmdir(`${s.bpffs}/dir`));
    }), [
      ["a fresh bpffs lists the preloaded entries", ["maps.debug", "progs.debug"]],
      ["they stat as files", { errno: 0, isDirectory: false, isFile: true }], ["get maps.debug", "ENOENT"],
      ["unlink progs.debug", "EPERM"], ["pin", 0], ["pin again", "EEXIST"], ["pin missing parent", "ENOENT"], ["pin trailing slash", "ENOENT"],
      ["pin off bpffs", "EPERM"], ["pin closed fd", "EINVAL"], ["pin stdin", "EINVAL"], ["rmdir non-empty", "ENOTEMPTY"],
      ["get dir", "EACCES"], ["get missing", "ENOENT"], ["stat pin", { errno: 0, isDirectory: false, isFile: true }],
      ["statfs", 0xcafe4a11, false], ["alive through the pin", true], ["same id", true, "same data", "63000000"],
      ["gone with the last pin", true], ["get after unlink", "ENOENT"], ["rmdir empty", 0],
    ]);
  });
});

describe("edge errnos: paths, batch preconditions, commands on the wrong kind of fd", () => {
  it("answers like the kernel", () => {
    check(onBoth((s) => {
      const d = s.d;
      const h = s.keep(d.mapCreate(attr(HASH, { mapFlags: ZERO_SEED })));
      const a = s.keep(d.mapCreate(attr(ARRAY)));
      const p = s.keep(d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0), license: "GPL" }));
      const pin = `${s.bpffs}/m`;
      d.objPin(h, pin);
      s.rec("get pin/", d.objGet(`${pin}/`));
      s.rec("pin under a pin", d.objPin(h, `${pin}/x`));
      s.rec("pin at the mount root", d.objPin(h, s.bpffs));
      s.rec("get the mount root", d.objGet(s.bpffs));
      s.rec("unlink missing", d.host.unlink(`${s.bpffs}/none`));
      s.rec("rmdir a pin", d.host.rmdir(pin));
      s.rec("unlink pin", d.host.unlink(pin));
      const kv = new Uint8Array(32);
      s.log.push(["hash lookup-batch count 0", d.mapLookupBatch(h, null, new Uint8Array(4), kv, kv, 0)]);
      s.log.push(["hash lookup-batch token past the buckets", d.mapLookupBatch(h, u32(99), new Uint8Array(4), kv, kv, 2)]);
      s.log.push(["array lookup-and-delete-batch count 0 (support first)", d.mapLookupAndDeleteBatch(a, null, new Uint8Array(4), kv, kv, 0)]);
      s.log.push(["array delete-batch", d.mapDeleteBatch(a, u32(0), 1)]);
      s.log.push(["update-batch F_LOCK", d.mapUpdateBatch(h, u32(1), u32(1), 1, 4)]);
      s.log.push(["update-batch EXIST", d.mapUpdateBatch(h, u32(1), u32(1), 1, 2)]);
      s.log.push(["update-batch count 0", d.mapUpdateBatch(h, u32(1), u32(1), 0)]);
      s.log.push(["batch on a closed fd", d.mapLookupBatch(999, null, new Uint8Array(4), kv, kv, 2)]);
      s.log.push(["batch on a prog fd", d.mapUpdateBatch(p, kv, kv, 1)]);
      s.rec("freeze a prog", d.mapFreeze(p));
      s.rec("freeze a closed fd", d.mapFreeze(999));
      s.rec("pin a closed fd", d.objPin(999, `${s.bpffs}/z`));
      s.rec("next-key on a prog", d.mapGetNextKey(p, null, new Uint8Array(4)));
      s.rec("lookup F_LOCK", d.mapLookupElem(h, u32(1), new Uint8Array(4), 4));
      s.rec("lookup flags 1", d.mapLookupElem(h, u32(1), new Uint8Array(4), 1));
      s.rec("lookup flags 1 on a closed fd (flags first)", d.mapLookupElem(999, u32(1), new Uint8Array(4), 1));
      s.rec("update flags 2^32", d.mapUpdateElem(h, u32(1), u32(1), 2 ** 32));
      s.rec("array delete", d.mapDeleteElem(a, u32(0)));
      s.rec("array lookup-and-delete", d.mapLookupAndDeleteElem(a, u32(0), new Uint8Array(4)));
      s.rec("array next-key from 99", d.mapGetNextKey(a, u32(99), kv.subarray(0, 4)));
      s.log.push(["is 0", readU32(kv)]);
    }), [
      ["get pin/", "ENOTDIR"], ["pin under a pin", "ENOTDIR"], ["pin at the mount root", "EEXIST"], ["get the mount root", "EACCES"],
      ["unlink missing", "ENOENT"], ["rmdir a pin", "ENOTDIR"], ["unlink pin", 0],
      ["hash lookup-batch count 0", { errno: 0, count: 0 }], ["hash lookup-batch token past the buckets", { errno: 2, count: 0 }],
      ["array lookup-and-delete-batch count 0 (support first)", { errno: 524, count: 0 }], ["array delete-batch", { errno: 524, count: 1 }],
      ["update-batch F_LOCK", { errno: 22, count: 1 }], ["update-batch EXIST", { errno: 22, count: 1 }], ["update-batch count 0", { errno: 0, count: 0 }],
      ["batch on a closed fd", { errno: 9, count: 2 }], ["batch on a prog fd", { errno: 22, count: 1 }], ["freeze a prog", "EINVAL"],
      ["freeze a closed fd", "EBADF"], ["pin a closed fd", "EINVAL"], ["next-key on a prog", "EINVAL"], ["lookup F_LOCK", "EINVAL"],
      ["lookup flags 1", "EINVAL"], ["lookup flags 1 on a closed fd (flags first)", "EINVAL"], ["update flags 2^32", "EINVAL"],
      ["array delete", "EINVAL"], ["array lookup-and-delete", "ENOTSUPP"], ["array next-key from 99", 0], ["is 0", 0],
    ]);
  });
});

describe("host removeAll on bpffs", () => {
  it("a mount point is EBUSY with its pins untouched; a subdirectory goes with its pins", () => {
    check(onBoth((s) => {
      const d = s.d;
      const m = d.mapCreate(attr(HASH));
      const id = mapInfo(d, m).id;
      d.objPin(m, `${s.bpffs}/m`);
      d.host.mkdir(`${s.bpffs}/sub`, 0o700);
      d.objPin(m, `${s.bpffs}/sub/m2`);
      d.close(m);
      s.rec("removeAll the mount point", d.host.removeAll(s.bpffs));
      s.log.push(["left", d.host.readdir(s.bpffs)]);
      s.rec("removeAll the subdirectory", d.host.removeAll(`${s.bpffs}/sub`));
      s.log.push(["alive through the root pin", idLive(s, id)]);
      s.rec("unlink it", d.host.unlink(`${s.bpffs}/m`));
      s.log.push(["gone", eventually(() => !idLive(s, id))]);
      s.rec("removeAll a missing path", d.host.removeAll(`${s.bpffs}/none/x`));
    }), [
      ["removeAll the mount point", "EBUSY"], ["left", ["m", "maps.debug", "progs.debug", "sub"]],
      ["removeAll the subdirectory", 0], ["alive through the root pin", true], ["gone", true], ["removeAll a missing path", 0],
    ]);
  });
});

describe("ids and lifetimes (§13)", () => {
  it("ids grow, are never reused, vanish with the last reference; GET_NEXT_ID and GET_FD_BY_ID errnos", () => {
    check(onBoth((s) => {
      const d = s.d;
      const a = d.mapCreate(attr(HASH));
      const b = d.mapCreate(attr(HASH));
      const ia = mapInfo(d, a).id, ib = mapInfo(d, b).id;
      s.log.push(["b after a", ib > ia, "next from a-1 is a", d.mapGetNextId(ia - 1) === ia]);
      const dup = s.rec("get fd by id", d.mapGetFdById(ia), "fd");
      s.rec("close a", d.close(a));
      s.log.push(["alive through the id fd", idLive(s, ia)]);
      s.rec("close id fd", d.close(dup));
      s.log.push(["a's id gone", !idLive(s, ia)]);
      s.rec("close closed fd", d.close(a));
      s.rec("lookup on a closed fd", d.mapLookupElem(a, u32(0), new Uint8Array(4)));
      s.rec("info on a closed fd", d.objGetInfoByFd(a, new Uint8Array(104)));
      s.rec("fd by freed id", d.mapGetFdById(ia));
      s.rec("fd by id 0", d.mapGetFdById(0));
      s.rec("next id from INT_MAX", d.mapGetNextId(0x7fffffff));
      s.rec("next prog id from INT_MAX", d.progGetNextId(0x7fffffff));
      const c = d.mapCreate(attr(HASH));
      s.log.push(["new id not reused", mapInfo(d, c).id > ib]);
      s.rec("lookup on stdin", d.mapLookupElem(0, u32(0), new Uint8Array(4)));
      s.rec("info on stdin", d.objGetInfoByFd(0, new Uint8Array(104)));
      d.close(b);
      d.close(c);
    }), [
      ["b after a", true, "next from a-1 is a", true], ["alive through the id fd", true], ["a's id gone", true],
      ["fd by freed id", "ENOENT"], ["fd by id 0", "ENOENT"], ["next id from INT_MAX", "EINVAL"],
      ["new id not reused", true], ["close closed fd", "EBADF"], ["lookup on stdin", "EINVAL"],
      ["lookup on a closed fd", "EBADF"], ["info on stdin", "EINVAL"], ["info on a closed fd", "EBADFD"],
    ]);
  });

  it("fd numbers are the lowest free ones, from 3", () => {
    const { sim } = onBoth((s) => {
      if (s.d.kind !== "sim") return;
      const fds = [0, 1, 2].map(() => s.d.mapCreate(attr(HASH)));
      s.log.push(["first", fds]);
      s.d.close(fds[1]!);
      s.log.push(["reuse", s.d.mapCreate(attr(HASH))]);
    });
    expect(sim).toEqual([["first", [3, 4, 5]], ["reuse", 4]]);
  });
});

describe("OBJ_GET_INFO_BY_FD bytes (§2)", () => {
  it("map info: effective max, flags without RDONLY, truncation; the caller's bytes are not passed in", () => {
    check(onBoth((s) => {
      const d = s.d;
      const fd = s.keep(d.mapCreate(attr(LRU_HASH, { maxEntries: 3, mapFlags: NO_COMMON_LRU | RDONLY | ZERO_SEED, mapName: "lru.map" })));
      const full = new Uint8Array(104);
      s.rec("full", d.objGetInfoByFd(fd, full));
      const i = mapInfo(d, fd);
      s.log.push(["fields", i.type, i.keySize, i.valueSize, i.maxEntries, i.mapFlags.toString(16), i.name]);
      s.log.push(["bytes after the name are zero", full.subarray(40).every((b) => b === 0)]);
      const short = new Uint8Array(8);
      s.rec("info_len 8", d.objGetInfoByFd(fd, short));
      s.log.push(["short type and id", readU32(short, 0), readU32(short, 4) === i.id]);
      s.rec("info_len 0", d.objGetInfoByFd(fd, new Uint8Array(0)));
      s.rec("info_len 120 zero tail", d.objGetInfoByFd(fd, new Uint8Array(120)));
      const dirty = new Uint8Array(120);
      dirty[110] = 1;
      s.rec("info_len 120 dirty tail", d.objGetInfoByFd(fd, dirty));
      const hashSize = new Uint8Array(104);
      hashSize[96] = 32;
      s.rec("hash_size without hash", d.objGetInfoByFd(fd, hashSize));
    }), [
      ["full", 104], ["fields", LRU_HASH, 4, 4, 4, "42", "lru.map"], ["bytes after the name are zero", true],
      ["info_len 8", 8], ["short type and id", LRU_HASH, true], ["info_len 0", 0], ["info_len 120 zero tail", 104],
      ["info_len 120 dirty tail", 104], ["hash_size without hash", 104],
    ]);
  });
});

describe("map-in-map (§11)", () => {
  it("ARRAY_OF_MAPS: fds in, ids out, compatibility, outer slots keep inner maps alive", () => {
    check(onBoth((s) => {
      const d = s.d;
      const tmpl = d.mapCreate(attr(ARRAY));
      const outer = s.keep(d.mapCreate(attr(ARRAY_OF_MAPS, { maxEntries: 3, innerMapFd: tmpl })));
      d.close(tmpl); // the template's shape was copied
      const inner = d.mapCreate(attr(ARRAY));
      d.mapUpdateElem(inner, u32(1), u32(0xabcd));
      const innerId = mapInfo(d, inner).id;
      const wrongMax = s.keep(d.mapCreate(attr(ARRAY, { maxEntries: 5 })));
      const hash = s.keep(d.mapCreate(attr(HASH)));
      s.rec("update slot 0", d.mapUpdateElem(outer, u32(0), u32(inner)));
      s.rec("NOEXIST", d.mapUpdateElem(outer, u32(1), u32(inner), 1));
      s.rec("EXIST", d.mapUpdateElem(outer, u32(1), u32(inner), 2));
      s.rec("index 3", d.mapUpdateElem(outer, u32(3), u32(inner)));
      s.rec("closed fd", d.mapUpdateElem(outer, u32(1), u32(999)));
      s.rec("stdin", d.mapUpdateElem(outer, u32(1), u32(0)));
      s.rec("array of another max", d.mapUpdateElem(outer, u32(1), u32(wrongMax)));
      s.rec("hash", d.mapUpdateElem(outer, u32(1), u32(hash)));
      s.rec("itself", d.mapUpdateElem(outer, u32(1), u32(outer)));
      const v = new Uint8Array(4);
      s.rec("lookup slot 0", d.mapLookupElem(outer, u32(0), v));
      s.recId("slot 0 holds", readU32(v));
      s.recId("inner id", innerId);
      s.rec("lookup empty slot", d.mapLookupElem(outer, u32(1), v));
      s.rec("lookup index 3", d.mapLookupElem(outer, u32(3), v));
      s.rec("delete empty slot", d.mapDeleteElem(outer, u32(1)));
      s.rec("delete index 3", d.mapDeleteElem(outer, u32(3)));
      s.rec("lookup-and-delete", d.mapLookupAndDeleteElem(outer, u32(0), v));
      s.rec("second slot", d.mapUpdateElem(outer, u32(2), u32(inner)));
      const keys = new Uint8Array(12), vals = new Uint8Array(12), tok = new Uint8Array(4);
      const b = d.mapLookupBatch(outer, null, tok, keys, vals, 3);
      s.log.push(["batch skips empty slots", b.errno, b.count, readU32(keys, 0), readU32(keys, 4), readU32(vals) === innerId, readU32(vals, 4) === innerId]);
      s.log.push(["delete-batch", d.mapDeleteBatch(outer, u32(0), 1)]);
      s.log.push(["lookup-and-delete-batch", d.mapLookupAndDeleteBatch(outer, null, tok, keys, vals, 3)]);
      s.rec("close inner fd", d.close(inner));
      s.log.push(["inner alive in the outer map", idLive(s, innerId)]);
      const fdAgain = s.rec("inner by id", d.mapGetFdById(innerId), "fd");
      s.log.push(["inner data kept", look(s, fdAgain, u32(1))]);
      d.close(fdAgain);
      s.rec("delete slot 0", d.mapDeleteElem(outer, u32(0)));
      s.log.push(["still in slot 2", idLive(s, innerId)]);
      s.rec("delete slot 2", d.mapDeleteElem(outer, u32(2)));
      s.log.push(["inner gone with its last slot", eventually(() => !idLive(s, innerId))]);
    }), [
      ["update slot 0", 0], ["NOEXIST", "EINVAL"], ["EXIST", "EINVAL"], ["index 3", "E2BIG"], ["closed fd", "EBADF"],
      ["stdin", "EINVAL"], ["array of another max", "EINVAL"], ["hash", "EINVAL"], ["itself", "EINVAL"],
      ["slot 0 holds", "id#0"], ["inner id", "id#0"], ["lookup empty slot", "ENOENT"], ["lookup index 3", "ENOENT"],
      ["delete empty slot", "ENOENT"], ["delete index 3", "E2BIG"], ["lookup-and-delete", "ENOTSUPP"],
      ["batch skips empty slots", 2, 2, 0, 2, true, true], ["delete-batch", { errno: 524, count: 1 }],
      ["lookup-and-delete-batch", { errno: 524, count: 3 }],
      ["inner alive in the outer map", true], ["inner data kept", "cdab0000"], ["still in slot 2", true],
      ["inner gone with its last slot", true],
    ]);
  });

  it("HASH_OF_MAPS: hash flags after the fd, batches translate fds, freeing the outer map frees the inner", () => {
    check(onBoth((s) => {
      const d = s.d;
      const tmpl = s.keep(d.mapCreate(attr(HASH)));
      const outer = d.mapCreate(attr(HASH_OF_MAPS, { maxEntries: 2, mapFlags: ZERO_SEED, innerMapFd: tmpl }));
      const outerId = mapInfo(d, outer).id;
      const i1 = d.mapCreate(attr(HASH, { maxEntries: 9 }));
      const i2 = d.mapCreate(attr(HASH));
      const id1 = mapInfo(d, i1).id, id2 = mapInfo(d, i2).id;
      s.rec("insert", d.mapUpdateElem(outer, u32(7), u32(i1)));
      s.rec("NOEXIST existing", d.mapUpdateElem(outer, u32(7), u32(i2), 1));
      s.rec("EXIST missing", d.mapUpdateElem(outer, u32(8), u32(i2), 2));
      s.rec("bad flags with a closed fd (fd first)", d.mapUpdateElem(outer, u32(8), u32(999), 3));
      s.rec("bad flags", d.mapUpdateElem(outer, u32(8), u32(i2), 3));
      s.rec("F_LOCK", d.mapUpdateElem(outer, u32(8), u32(i2), 4));
      s.log.push(["update-batch", d.mapUpdateBatch(outer, new Uint8Array([...u32(8), ...u32(9)]), new Uint8Array([...u32(i2), ...u32(i2)]), 2)]);
      s.log.push(["update-batch NOEXIST", d.mapUpdateBatch(outer, u32(8), u32(i2), 1, 1)]);
      const keys = new Uint8Array(8), vals = new Uint8Array(8), tok = new Uint8Array(4);
      const b = d.mapLookupBatch(outer, null, tok, keys, vals, 2);
      s.log.push(["batch", b.errno, b.count, [readU32(vals), readU32(vals, 4)].sort().join() === [id1, id2].sort().join()]);
      s.rec("replace 7 with i2", d.mapUpdateElem(outer, u32(7), u32(i2)));
      s.rec("close i1", d.close(i1));
      s.log.push(["i1 gone once replaced and closed", eventually(() => !idLive(s, id1))]);
      s.rec("close i2", d.close(i2));
      s.log.push(["i2 held by two slots", idLive(s, id2)]);
      s.rec("close outer", d.close(outer));
      s.log.push(["outer gone", !idLive(s, outerId)]);
      s.log.push(["i2 released with the outer map", eventually(() => !idLive(s, id2))]);
    }), [
      ["insert", 0], ["NOEXIST existing", "EEXIST"], ["EXIST missing", "ENOENT"], ["bad flags with a closed fd (fd first)", "EBADF"],
      ["bad flags", "EINVAL"], ["F_LOCK", "EINVAL"], ["update-batch", { errno: 7, count: 1 }], ["update-batch NOEXIST", { errno: 22, count: 1 }],
      ["batch", 2, 2, true], ["i1 gone once replaced and closed", true], ["i2 held by two slots", true], ["outer gone", true],
      ["i2 released with the outer map", true],
    ]);
  });
});

describe("programs and PROG_ARRAY (§11, pkg-bpf-behaviour.md §5.10)", () => {
  it("PROG_LOAD errnos, info bytes and the tag", () => {
    check(onBoth((s) => {
      const d = s.d;
      const p = s.keep(s.rec("load", d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0), license: "GPL", progName: "ret0" }), "fd"));
      const info = new Uint8Array(232);
      s.rec("info", d.objGetInfoByFd(p, info));
      s.log.push(["type, tag, xlated, gpl, name, maps", readU32(info, 0), hex(info.subarray(8, 16)), readU32(info, 20), readU32(info, 84) & 1,
        Buffer.from(info.subarray(64, 80)).toString("latin1").replace(/\0+$/, ""), readU32(info, 52)]);
      const masked = info.slice();
      // jited_prog_len is the x86-64 image's size, which the simulator does not model.
      for (const [off, n] of [[4, 4], [16, 4], [40, 8]] as const) masked.fill(0, off, off + n);
      s.log.push(["info bytes but id, jited_prog_len and load_time", hex(masked)]);
      s.log.push(["nr_jited_ksyms, nr_jited_func_lens", readU32(info, 104), readU32(info, 108)]);
      const id = readU32(info, 4);
      s.log.push(["next prog id", d.progGetNextId(id - 1) === id]);
      const again = s.keep(s.rec("prog by id", d.progGetFdById(id), "fd"));
      s.rec("prog by id RDONLY", d.progGetFdById(id, RDONLY));
      s.rec("close by-id fd", d.close(again));
      s.rec("empty", d.progLoad({ progType: SOCKET_FILTER, insns: new Uint8Array(0), license: "GPL" }));
      s.rec("no exit", d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0).subarray(0, 8), license: "GPL" }));
      s.rec("r0 unset", d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0).subarray(8), license: "GPL" }));
      s.rec("bad name", d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0), license: "GPL", progName: "a-b" }));
      s.rec("type 999", d.progLoad({ progType: 999, insns: retProg(0), license: "GPL" }));
      s.rec("sock_addr without attach type", d.progLoad({ progType: CGROUP_SOCK_ADDR, insns: retProg(1), license: "GPL" }));
      const nonGpl = s.keep(d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0), license: "ASL2" }));
      const info2 = new Uint8Array(232);
      d.objGetInfoByFd(nonGpl, info2);
      s.log.push(["non-GPL license", readU32(info2, 84) & 1]);
      const m = s.keep(d.mapCreate(attr(HASH)));
      const user = s.keep(s.rec("load using a map", d.progLoad({ progType: SOCKET_FILTER, insns: progUsingMap(m), license: "GPL" }), "fd"));
      const info3 = new Uint8Array(232);
      d.objGetInfoByFd(user, info3);
      s.log.push(["map-using tag and nr_map_ids", hex(info3.subarray(8, 16)), readU32(info3, 52)]);
      s.rec("map fd closed", d.progLoad({ progType: SOCKET_FILTER, insns: progUsingMap(999), license: "GPL" }));
      s.rec("map fd is a program", d.progLoad({ progType: SOCKET_FILTER, insns: progUsingMap(p), license: "GPL" }));
      s.rec("pin prog", d.objPin(p, `${s.bpffs}/prog`));
      s.keep(s.rec("get prog RDONLY", d.objGet(`${s.bpffs}/prog`, RDONLY), "fd"));
      s.keep(s.rec("get prog", d.objGet(`${s.bpffs}/prog`), "fd"));
      s.rec("map op on a prog fd", d.mapLookupElem(p, u32(0), new Uint8Array(4)));
    }), [
      ["load", "fd"], ["info", 232], ["type, tag, xlated, gpl, name, maps", 1, "59f4a931744dcdc6", 16, 1, "ret0", 0],
      ["nr_jited_ksyms, nr_jited_func_lens", 1, 1],
      ["next prog id", true], ["prog by id RDONLY", "EINVAL"], ["get prog RDONLY", "fd"], ["empty", "E2BIG"], ["no exit", "EINVAL"], ["r0 unset", "EACCES"],
      ["bad name", "EINVAL"], ["type 999", "EINVAL"], ["sock_addr without attach type", "EINVAL"], ["non-GPL license", 0],
      ["map fd closed", "EBADF"], ["map fd is a program", "EINVAL"], ["map op on a prog fd", "EINVAL"],
    ]);
  });

  it("the verifier's answers for small programs (straight-line, forward jumps, bad encodings)", () => {
    const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): number[] => {
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      b[0] = code; b[1] = dst | (src << 4); v.setInt16(2, off, true); v.setInt32(4, imm, true);
      return [...b];
    };
    const EXIT = I(0x95);
    const programs: Array<[string, number[]]> = [
      ["r0 = r1 (a pointer) is fine for a socket filter", [...I(0xbf, 0, 1), ...EXIT]],
      ["r0 = r10", [...I(0xbf, 0, 10), ...EXIT]],
      ["exit not last (unreachable insn)", [...I(0xb7), ...EXIT, ...I(0xb7, 0, 0, 0, 1)]],
      ["division by a zero constant", [...I(0xb7, 0, 0, 0, 1), ...I(0x37, 0, 0, 0, 0), ...EXIT]],
      ["r0 = r2 (unset)", [...I(0xbf, 0, 2), ...EXIT]],
      ["r10 = 0", [...I(0xb7, 10), ...I(0xb7), ...EXIT]],
      ["unknown opcode 0xff", [...I(0xff), ...I(0xb7), ...EXIT]],
      ["ja +0", [...I(0xb7), ...I(0x05), ...EXIT]],
      ["jeq forward", [...I(0xb7), ...I(0x15, 0, 0, 1, 0), ...I(0xb7, 0, 0, 0, 1), ...EXIT]],
      ["jeq on an unset r2", [...I(0xb7), ...I(0x15, 2, 0, 1, 0), ...I(0xb7, 0, 0, 0, 1), ...EXIT]],
      ["jump out of range", [...I(0xb7), ...I(0x05, 0, 0, 5, 0), ...EXIT]],
      ["r0 set on one branch only", [...I(0x15, 1, 0, 1, 0), ...I(0xb7), ...EXIT]],
      ["two exits", [...I(0xb7), ...I(0x15, 1, 0, 1, 0), ...EXIT, ...I(0xb7, 0, 0, 0, 1), ...EXIT]],
      ["r0 += 1 on an unset r0", [...I(0x07, 0, 0, 0, 1), ...EXIT]],
      ["mov32 r0 = -1", [...I(0xb4, 0, 0, 0, -1), ...EXIT]],
      ["neg r0", [...I(0xb7), ...I(0x87), ...EXIT]],
      ["src set on a K instruction", [...I(0xb7, 0, 3), ...EXIT]],
      ["ends in ja -1", [...I(0xb7), ...I(0x05, 0, 0, -1, 0)]],
      ["last insn not exit", [...I(0xbf, 0, 2), ...I(0xb7)]],
      ["ld_imm64 constant into r0", [...I(0x18, 0, 0, 0, 7), ...I(0, 0, 0, 0, 0), ...EXIT]],
      ["ld_imm64 cut short", [...I(0xb7), ...EXIT, ...I(0x18, 0, 0, 0, 7)]],
    ];
    check(onBoth((s) => {
      for (const [label, insns] of programs) {
        const fd = s.d.progLoad({ progType: SOCKET_FILTER, insns: new Uint8Array(insns), license: "GPL" });
        s.rec(label, fd, "fd");
        if (fd >= 0) s.d.close(fd);
      }
    }), [
      ["r0 = r1 (a pointer) is fine for a socket filter", "fd"], ["exit not last (unreachable insn)", "EINVAL"],
      ["division by a zero constant", "EINVAL"], ["r0 = r2 (unset)", "EACCES"], ["r10 = 0", "EACCES"],
      ["unknown opcode 0xff", "EINVAL"], ["ja +0", "fd"], ["jeq forward", "fd"], ["jeq on an unset r2", "EACCES"],
      ["ends in ja -1", "EINVAL"], ["mov32 r0 = -1", "fd"],
    ]);
  });

  it("the verifier's ALU and jump encoding checks, shift ranges and pointer arithmetic rules (as root)", () => {
    const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): number[] => {
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      b[0] = code; b[1] = dst | (src << 4); v.setInt16(2, off, true); v.setInt32(4, imm, true);
      return [...b];
    };
    const R0 = I(0xb7), EXIT = I(0x95);
    const programs: Array<[string, number[], number?]> = [
      // check_alu_op's reserved fields
      ["be with imm 17", [...R0, ...I(0xdc, 0, 0, 0, 17), ...EXIT]],
      ["ALU64 END with BPF_X (no bswap to BE)", [...R0, ...I(0xdf, 0, 0, 0, 16), ...EXIT]],
      ["neg with off 1", [...R0, ...I(0x87, 0, 0, 1), ...EXIT]],
      ["add with off 1 (only sdiv/smod have it)", [...R0, ...I(0x07, 0, 0, 1, 1), ...EXIT]],
      ["sdiv r0, 3 (off 1)", [...R0, ...I(0x37, 0, 0, 1, 3), ...EXIT]],
      ["mov32 with off 32 (only ALU64 movsx has it)", [...R0, ...I(0xbc, 0, 1, 32), ...EXIT]],
      ["movsx64 off 32", [...R0, ...I(0xbf, 2, 0, 32), ...R0, ...EXIT]],
      // shifts by a constant must stay below the width
      ["lsh64 by 64", [...R0, ...I(0x67, 0, 0, 0, 64), ...EXIT]],
      ["lsh32 by 32", [...R0, ...I(0x64, 0, 0, 0, 32), ...EXIT]],
      ["arsh64 by -1", [...R0, ...I(0xc7, 0, 0, 0, -1), ...EXIT]],
      ["rsh32 by 31", [...R0, ...I(0x74, 0, 0, 0, 31), ...EXIT]],
      // source and destination are read before the constant checks
      ["r3 /= 0 with r3 unset", [...I(0x37, 3, 0, 0, 0), ...R0, ...EXIT]],
      // pointer arithmetic (r1 = ctx, r10 = stack)
      ["ctx *= 2", [...I(0x27, 1, 0, 0, 2), ...R0, ...EXIT]],
      ["w1 += 1 (32-bit pointer arithmetic)", [...I(0x04, 1, 0, 0, 1), ...R0, ...EXIT]],
      ["w1 -= 1 (32-bit sub of a pointer)", [...I(0x14, 1, 0, 0, 1), ...R0, ...EXIT]],
      ["ctx += 8", [...I(0x07, 1, 0, 0, 8), ...R0, ...EXIT]],
      ["ctx &= 8", [...I(0x57, 1, 0, 0, 8), ...R0, ...EXIT]],
      ["r2 = r10; r2 -= 8 (sub from the stack pointer)", [...I(0xbf, 2, 10), ...I(0x17, 2, 0, 0, 8), ...R0, ...EXIT]],
      ["r2 = r10; r2 += -8", [...I(0xbf, 2, 10), ...I(0x07, 2, 0, 0, -8), ...R0, ...EXIT]],
      ["r0 = r10; r0 -= r10 (pointer difference)", [...I(0xbf, 0, 10), ...I(0x1f, 0, 10), ...EXIT]],
      ["r0 = r10; r0 += r1 (pointer + pointer)", [...I(0xbf, 0, 10), ...I(0x0f, 0, 1), ...EXIT]],
      ["r2 = 8; r2 -= r1 (scalar - pointer)", [...I(0xb7, 2, 0, 0, 8), ...I(0x1f, 2, 1), ...R0, ...EXIT]],
      ["r2 = 8; r2 += r1 (scalar + pointer)", [...I(0xb7, 2, 0, 0, 8), ...I(0x0f, 2, 1), ...R0, ...EXIT]],
      ["neg of ctx (a scalar for root)", [...I(0x87, 1), ...R0, ...EXIT]],
      // constants follow register copies into r0's return-range check
      ["cgroup_skb: r2 = 1; r0 = r2", [...I(0xb7, 2, 0, 0, 1), ...I(0xbf, 0, 2), ...EXIT], CGROUP_SKB],
      ["cgroup_skb: r2 = 2; r0 = r2", [...I(0xb7, 2, 0, 0, 2), ...I(0xbf, 0, 2), ...EXIT], CGROUP_SKB],
      // ... and through the ALU ops the verifier folds (not div and mod)
      ["cgroup_skb: r0 = 3; r0 -= 2", [...I(0xb7, 0, 0, 0, 3), ...I(0x17, 0, 0, 0, 2), ...EXIT], CGROUP_SKB],
      ["cgroup_skb: r0 = -1; r0 >>= 63", [...I(0xb7, 0, 0, 0, -1), ...I(0x77, 0, 0, 0, 63), ...EXIT], CGROUP_SKB],
      ["cgroup_skb: w0 = -1; w0 += 2 (32-bit wrap)", [...I(0xb4, 0, 0, 0, -1), ...I(0x04, 0, 0, 0, 2), ...EXIT], CGROUP_SKB],
      ["cgroup_skb: r0 = -1; neg r0", [...I(0xb7, 0, 0, 0, -1), ...I(0x87), ...EXIT], CGROUP_SKB],
      ["cgroup_skb: r0 = 1; be64; be64", [...I(0xb7, 0, 0, 0, 1), ...I(0xdc, 0, 0, 0, 64), ...I(0xdc, 0, 0, 0, 64), ...EXIT], CGROUP_SKB],
      ["cgroup_skb: r0 = 0x101; w0 = (s8) w0", [...I(0xb7, 0, 0, 0, 0x101), ...I(0xbc, 0, 0, 8), ...EXIT], CGROUP_SKB],
      ["cgroup_skb: r0 = 2; r0 /= 2 (div is not folded)", [...I(0xb7, 0, 0, 0, 2), ...I(0x37, 0, 0, 0, 2), ...EXIT], CGROUP_SKB],
      // ld_imm64 map references: fd_array indexes without an fd_array, and the second half's imm
      ["ld_imm64 BPF_PSEUDO_MAP_IDX", [...I(0x18, 2, 5, 0, 0), ...I(0), ...R0, ...EXIT]],
      ["ld_imm64 BPF_PSEUDO_MAP_FD with a non-zero high imm", [...I(0x18, 2, 1, 0, 0), ...I(0, 0, 0, 0, 1), ...R0, ...EXIT]],
      // jumps: imm is reserved in the register form; exit ignores off
      ["jeq r1, r2 with imm 1", [...R0, ...I(0xb7, 2), ...I(0x1d, 1, 2, 0, 1), ...EXIT]],
      ["jeq r1, r9 (unset) with imm 1", [...R0, ...I(0x1d, 1, 9, 0, 1), ...EXIT]],
      ["jeq r1, r9 (unset)", [...R0, ...I(0x1d, 1, 9, 0, 0), ...EXIT]],
      ["exit with off 1", [...R0, ...I(0x95, 0, 0, 1)]],
    ];
    check(onBoth((s) => {
      for (const [label, insns, type] of programs) {
        const fd = s.d.progLoad({ progType: type ?? SOCKET_FILTER, insns: new Uint8Array(insns), license: "GPL" });
        s.rec(label, fd, "fd");
        if (fd >= 0) s.d.close(fd);
      }
    }), [
      ["be with imm 17", "EINVAL"], ["ALU64 END with BPF_X (no bswap to BE)", "EINVAL"], ["neg with off 1", "EINVAL"],
      ["add with off 1 (only sdiv/smod have it)", "EINVAL"], ["sdiv r0, 3 (off 1)", "fd"],
      ["mov32 with off 32 (only ALU64 movsx has it)", "EINVAL"], ["lsh64 by 64", "EINVAL"], ["lsh32 by 32", "EINVAL"],
      ["arsh64 by -1", "EINVAL"], ["rsh32 by 31", "fd"], ["r3 /= 0 with r3 unset", "EACCES"],
      ["ctx *= 2", "EACCES"], ["w1 += 1 (32-bit pointer arithmetic)", "EACCES"], ["w1 -= 1 (32-bit sub of a pointer)", "fd"],
      ["ctx += 8", "fd"], ["ctx &= 8", "EACCES"], ["r2 = r10; r2 -= 8 (sub from the stack pointer)", "EACCES"],
      ["r2 = r10; r2 += -8", "fd"], ["r0 = r10; r0 -= r10 (pointer difference)", "fd"],
      ["r0 = r10; r0 += r1 (pointer + pointer)", "EACCES"], ["r2 = 8; r2 -= r1 (scalar - pointer)", "EACCES"],
      ["r2 = 8; r2 += r1 (scalar + pointer)", "fd"], ["neg of ctx (a scalar for root)", "fd"],
      ["cgroup_skb: r2 = 1; r0 = r2", "fd"], ["cgroup_skb: r2 = 2; r0 = r2", "EINVAL"],
      ["cgroup_skb: r0 = 3; r0 -= 2", "fd"], ["cgroup_skb: r0 = -1; r0 >>= 63", "fd"],
      ["cgroup_skb: w0 = -1; w0 += 2 (32-bit wrap)", "fd"], ["cgroup_skb: r0 = -1; neg r0", "fd"],
      ["cgroup_skb: r0 = 1; be64; be64", "fd"], ["cgroup_skb: r0 = 0x101; w0 = (s8) w0", "fd"],
      ["cgroup_skb: r0 = 2; r0 /= 2 (div is not folded)", "EINVAL"],
      ["ld_imm64 BPF_PSEUDO_MAP_IDX", "errno 71"], ["ld_imm64 BPF_PSEUDO_MAP_FD with a non-zero high imm", "EINVAL"],
      ["jeq r1, r2 with imm 1", "EINVAL"], ["jeq r1, r9 (unset) with imm 1", "EINVAL"], ["jeq r1, r9 (unset)", "EACCES"],
      ["exit with off 1", "fd"],
    ]);
  });

  it("programs hold the maps they use; a PROG_ARRAY holds programs; inner-map templates and INNER_MAP arrays", () => {
    const useMapTwice = (fd: number): Uint8Array => {
      const b = new Uint8Array(48);
      const v = new DataView(b.buffer);
      b[0] = 0x18; b[1] = 0x11; v.setInt32(4, fd, true);
      b[16] = 0x18; b[17] = 0x12; v.setInt32(20, fd, true);
      b[32] = 0xb7; b[40] = 0x95;
      return b;
    };
    check(onBoth((s) => {
      const d = s.d;
      const info = new Uint8Array(232);
      const idOf = (fd: number) => (d.objGetInfoByFd(fd, info) >= 0 ? readU32(info, 4) : -1);
      const plive = (id: number) => d.progGetNextId(id - 1) === id;
      const p0 = s.keep(d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0), license: "GPL" }));
      s.rec("inner template is a prog", d.mapCreate(attr(ARRAY_OF_MAPS, { maxEntries: 2, innerMapFd: p0 })));
      const t = s.keep(d.mapCreate(attr(ARRAY, { mapFlags: 0x1000 })));
      const o = s.keep(d.mapCreate(attr(ARRAY_OF_MAPS, { maxEntries: 2, innerMapFd: t })));
      const i9 = s.keep(d.mapCreate(attr(ARRAY, { maxEntries: 9, mapFlags: 0x1000 })));
      const i9n = s.keep(d.mapCreate(attr(ARRAY, { maxEntries: 9 })));
      s.rec("INNER_MAP arrays of any max", d.mapUpdateElem(o, u32(0), u32(i9)));
      s.rec("an array without INNER_MAP", d.mapUpdateElem(o, u32(1), u32(i9n)));
      s.rec("freeze the outer map", d.mapFreeze(o));
      s.rec("update after freeze", d.mapUpdateElem(o, u32(1), u32(i9)));
      const ho = s.keep(d.mapCreate(attr(HASH_OF_MAPS, { maxEntries: 2, innerMapFd: t })));
      s.rec("HASH_OF_MAPS lookup-and-delete", d.mapLookupAndDeleteElem(ho, u32(0), new Uint8Array(4)));
      const m = d.mapCreate(attr(HASH, { maxEntries: 2 }));
      const mid = idOf(m);
      const p = d.progLoad({ progType: SOCKET_FILTER, insns: useMapTwice(m), license: "GPL" });
      d.objGetInfoByFd(p, info);
      const pid = readU32(info, 4);
      s.log.push(["a map used twice: nr_map_ids, verified_insns, xlated_prog_len", readU32(info, 52), readU32(info, 216), readU32(info, 20)]);
      d.close(m);
      s.log.push(["the map lives through the program", idLive(s, mid)]);
      const pa = s.keep(d.mapCreate(attr(PROG_ARRAY, { maxEntries: 2 })));
      s.rec("program into a PROG_ARRAY", d.mapUpdateElem(pa, u32(0), u32(p)));
      d.close(p);
      s.log.push(["the program lives in the array, and its map", plive(pid), idLive(s, mid)]);
      s.rec("delete the slot", d.mapDeleteElem(pa, u32(0)));
      s.log.push(["program and map gone with the slot", eventually(() => !plive(pid) && !idLive(s, mid))]);
    }), [
      ["inner template is a prog", "EINVAL"], ["INNER_MAP arrays of any max", 0], ["an array without INNER_MAP", "EINVAL"],
      ["freeze the outer map", 0], ["update after freeze", "EPERM"], ["HASH_OF_MAPS lookup-and-delete", "ENOTSUPP"],
      ["a map used twice: nr_map_ids, verified_insns, xlated_prog_len", 1, 4, 48], ["the map lives through the program", true],
      ["program into a PROG_ARRAY", 0], ["the program lives in the array, and its map", true, true], ["program and map gone with the slot", true],
    ]);
  });

  it("PROG_ATTACH as TestDummyProg sees it: EBADF for a cgroup attach to stdin", () => {
    check(onBoth((s) => {
      const d = s.d;
      const connect = s.keep(s.rec("load sock_addr connect4", d.progLoad({ progType: CGROUP_SOCK_ADDR, insns: retProg(1), license: "ASL2", expectedAttachType: 10 }), "fd"));
      s.rec("attach to stdin", d.progAttach(0, connect, 10));
      s.rec("attach with another attach type", d.progAttach(0, connect, 11));
      s.rec("attach type unknown", d.progAttach(0, connect, 1000));
      s.rec("attach bad flags", d.progAttach(0, connect, 10, 0x100));
      const skb = s.keep(d.progLoad({ progType: CGROUP_SKB, insns: retProg(1), license: "GPL" }));
      s.rec("skb ingress", d.progAttach(0, skb, 0));
      s.rec("prog type does not match", d.progAttach(0, skb, 10));
      s.rec("prog fd closed", d.progAttach(0, 999, 0));
      const m = s.keep(d.mapCreate(attr(HASH)));
      s.rec("prog fd is a map", d.progAttach(0, m, 0));
      s.rec("r0 out of range for connect4", d.progLoad({ progType: CGROUP_SOCK_ADDR, insns: retProg(2), license: "GPL", expectedAttachType: 10 }));
    }), [
      ["attach to stdin", "EBADF"], ["attach with another attach type", "EINVAL"], ["attach type unknown", "EINVAL"],
      ["attach bad flags", "EINVAL"], ["skb ingress", "EBADF"], ["prog type does not match", "EINVAL"],
      ["prog fd closed", "EBADF"], ["prog fd is a map", "EINVAL"], ["r0 out of range for connect4", "EINVAL"],
    ]);
  });

  it("PROG_ARRAY: prog fds in, prog ids out; cleared when the last user reference goes", () => {
    check(onBoth((s) => {
      const d = s.d;
      const pa = d.mapCreate(attr(PROG_ARRAY, { maxEntries: 2 }));
      const paId = mapInfo(d, pa).id;
      const p1 = d.progLoad({ progType: SOCKET_FILTER, insns: retProg(0), license: "GPL" });
      const info = new Uint8Array(232);
      d.objGetInfoByFd(p1, info);
      const p1Id = readU32(info, 4);
      const m = s.keep(d.mapCreate(attr(HASH)));
      const xdp = s.keep(d.progLoad({ progType: 6, insns: retProg(2), license: "GPL" }));
      s.rec("update", d.mapUpdateElem(pa, u32(0), u32(p1)));
      s.rec("NOEXIST", d.mapUpdateElem(pa, u32(1), u32(p1), 1));
      s.rec("index 2", d.mapUpdateElem(pa, u32(2), u32(p1)));
      s.rec("map fd", d.mapUpdateElem(pa, u32(1), u32(m)));
      s.rec("closed fd", d.mapUpdateElem(pa, u32(1), u32(999)));
      s.rec("another prog type", d.mapUpdateElem(pa, u32(1), u32(xdp)));
      const skbIngress = s.keep(d.progLoad({ progType: CGROUP_SKB, insns: retProg(1), license: "GPL" }));
      const skbEgress = s.keep(d.progLoad({ progType: CGROUP_SKB, insns: retProg(1), license: "GPL", expectedAttachType: 1 }));
      const pa2 = s.keep(d.mapCreate(attr(PROG_ARRAY, { maxEntries: 2 })));
      s.rec("skb ingress into a new array", d.mapUpdateElem(pa2, u32(0), u32(skbIngress)));
      s.rec("skb egress: another expected attach type", d.mapUpdateElem(pa2, u32(1), u32(skbEgress)));
      s.rec("empty the new array", d.mapDeleteElem(pa2, u32(0)));
      s.rec("the owner stays once empty", d.mapUpdateElem(pa2, u32(0), u32(xdp)));
      const v = new Uint8Array(4);
      s.rec("lookup", d.mapLookupElem(pa, u32(0), v));
      s.log.push(["holds p1's id", readU32(v) === p1Id]);
      s.rec("lookup empty", d.mapLookupElem(pa, u32(1), v));
      s.rec("delete empty", d.mapDeleteElem(pa, u32(1)));
      s.log.push(["lookup-batch", d.mapLookupBatch(pa, null, new Uint8Array(4), new Uint8Array(8), new Uint8Array(8), 2)]);
      s.log.push(["update-batch", d.mapUpdateBatch(pa, u32(1), u32(p1), 1)]);
      s.log.push(["delete-batch", d.mapDeleteBatch(pa, u32(1), 1)]);
      // A program that uses the array holds it without being a user reference.
      const holder = s.keep(d.progLoad({ progType: SOCKET_FILTER, insns: progUsingMap(pa), license: "GPL" }));
      s.rec("holder", holder, "fd");
      s.rec("close p1", d.close(p1));
      s.log.push(["p1 alive in the array", d.progGetNextId(p1Id - 1) === p1Id]);
      s.rec("close the array's last fd", d.close(pa));
      s.log.push(["array alive through the program", idLive(s, paId)]);
      s.log.push(["p1 released by the clear", eventually(() => d.progGetNextId(p1Id - 1) !== p1Id)]);
      const back = s.keep(s.rec("reopen by id", d.mapGetFdById(paId), "fd"));
      s.rec("slot 0 after the clear", d.mapLookupElem(back, u32(0), v));
    }), [
      ["update", 0], ["NOEXIST", "EINVAL"], ["index 2", "E2BIG"], ["map fd", "EINVAL"], ["closed fd", "EBADF"],
      ["another prog type", "EINVAL"], ["skb ingress into a new array", 0], ["skb egress: another expected attach type", "EINVAL"],
      ["empty the new array", 0], ["the owner stays once empty", "EINVAL"], ["lookup", 0], ["holds p1's id", true], ["lookup empty", "ENOENT"], ["delete empty", "ENOENT"],
      ["lookup-batch", { errno: 524, count: 2 }], ["update-batch", { errno: 524, count: 1 }], ["delete-batch", { errno: 524, count: 1 }],
      ["p1 alive in the array", true], ["array alive through the program", true], ["p1 released by the clear", true],
      ["reopen by id", "fd"], ["slot 0 after the clear", "ENOENT"],
    ]);
  });
});

describe("host services: mkdir where the kernel's pseudo-filesystems refuse it", () => {
  it("procfs answers ENOENT and sysfs EPERM, on both drivers, and mkdir -p returns", () => {
    // Not /sys/fs/bpf itself: on a host with bpffs mounted there, the kernel run would write to it.
    check(onBoth((s) => {
      s.rec("mkdir /proc/x", s.d.host.mkdir("/proc/bpfkit-no-such", 0o755));
      s.rec("mkdir /proc/self/x", s.d.host.mkdir("/proc/self/bpfkit-no-such", 0o755));
      s.rec("mkdir /sys/fs/x", s.d.host.mkdir("/sys/fs/bpfkit-no-such", 0o755));
      s.rec("mkdirAll /proc/self/x/y", s.d.host.mkdirAll("/proc/self/bpfkit-no-such/y", 0o755));
      s.rec("mkdir /proc (exists)", s.d.host.mkdir("/proc", 0o755));
    }), [
      ["mkdir /proc/x", "ENOENT"], ["mkdir /proc/self/x", "ENOENT"], ["mkdir /sys/fs/x", "EPERM"],
      ["mkdirAll /proc/self/x/y", "ENOENT"], ["mkdir /proc (exists)", "EEXIST"],
    ]);
  });
});
