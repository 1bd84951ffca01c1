// Driver.mapFdInfo: the fields /proc/<pid>/fdinfo/<fd> prints for a map and bpf_map_info lacks
// (kernel/bpf/syscall.c bpf_map_show_fdinfo), as 6.18 x86-64 prints them. The method is
// optional: a driver without it has these cases skipped, saying so.
import { type MapCreateAttr, type MapFdInfo } from "@bpfkit/core";
import { CaseSkipped, expectEqual, expectResult, expectThrows, fail, show } from "../assert.js";
import type { CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import {
  ARRAY, ARRAY_OF_MAPS, Checks, F, HASH, HASH_OF_MAPS, LPM_TRIE, LRU_HASH, LRU_PERCPU_HASH, PERCPU_ARRAY,
  PERCPU_HASH, PROG_ARRAY, typeNames,
} from "./common.js";
import { u32 } from "../context.js";

type ReadFdInfo = (fd: number) => MapFdInfo | number;

/** The driver's mapFdInfo, or a skip: the method is optional. */
function fdInfoOf(ctx: CaseContext): ReadFdInfo {
  const d = ctx.driver;
  if (typeof d.mapFdInfo !== "function") throw new CaseSkipped(`${d.kind} has no mapFdInfo (optional)`);
  return d.mapFdInfo.bind(d);
}

/** mapFdInfo of a map fd, which must answer. */
function read(fdInfo: ReadFdInfo, fd: number, what: string): MapFdInfo {
  const r = fdInfo(fd);
  if (typeof r === "number") fail(`${what}: mapFdInfo(${fd}) failed with ${show(r)}`);
  return r;
}

function memlockOf(fdInfo: ReadFdInfo, fd: number, what: string): number {
  const m = read(fdInfo, fd, what).memlock;
  if (typeof m !== "number") fail(`${what}: no memlock`);
  return m;
}

const r8 = (n: number) => Math.ceil(n / 8) * 8;
const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));

/**
 * 6.18 x86-64's map_mem_usage for the types and shapes the case creates, with `cpus` possible
 * CPUs and pages of `page` bytes: sizeof(bpf_htab) 832, bucket 16, an int per CPU for each of 8
 * lock counters, htab_elem 48, bpf_array 312 (a page: PAGE_ALIGN, for an mmapable array's header)
 * (probed on the kernel with 4 KiB pages and read in hashtab.c and arraymap.c).
 */
function expectedMemlock(a: MapCreateAttr, cpus: number, count: number, page: number): number {
  const t = a.mapType;
  const flags = a.mapFlags ?? 0;
  if (t === ARRAY || t === PROG_ARRAY || t === ARRAY_OF_MAPS) {
    if ((flags & F.MMAPABLE) !== 0) return page + Math.ceil((a.maxEntries * r8(a.valueSize)) / page) * page;
    return 312 + a.maxEntries * r8(a.valueSize);
  }
  if (t === PERCPU_ARRAY) return 312 + a.maxEntries * (8 + r8(a.valueSize) * cpus);
  if (t === LPM_TRIE) return (24 + a.keySize - 4 + a.valueSize) * count;
  const percpu = t === PERCPU_HASH || t === LRU_PERCPU_HASH;
  const lru = t === LRU_HASH || t === LRU_PERCPU_HASH;
  const max = (flags & F.NO_COMMON_LRU) !== 0 ? Math.ceil(a.maxEntries / cpus) * cpus : a.maxEntries;
  const elem = 48 + r8(a.keySize) + (percpu ? 8 : r8(a.valueSize));
  let u = 832 + 16 * pow2(max) + 4 * 8 * cpus;
  if ((flags & F.NO_PREALLOC) === 0) {
    const n = max + (!percpu && !lru && t !== HASH_OF_MAPS ? cpus : 0);
    u += elem * n + (percpu ? r8(a.valueSize) * cpus * n : lru ? 0 : 8 * cpus);
  } else {
    u += (elem + 8) * count + (percpu ? 16 * count + r8(a.valueSize) * cpus * count : 0);
  }
  return u;
}

const SHAPES: MapCreateAttr[] = [];
for (const [k, v, max] of [[4, 8, 16], [8, 13, 100], [5, 1, 7]] as const) {
  for (const t of [HASH, PERCPU_HASH]) {
    SHAPES.push({ mapType: t, keySize: k, valueSize: v, maxEntries: max }, { mapType: t, keySize: k, valueSize: v, maxEntries: max, mapFlags: F.NO_PREALLOC });
  }
  for (const t of [LRU_HASH, LRU_PERCPU_HASH]) {
    SHAPES.push({ mapType: t, keySize: k, valueSize: v, maxEntries: max }, { mapType: t, keySize: k, valueSize: v, maxEntries: max, mapFlags: F.NO_COMMON_LRU });
  }
  SHAPES.push(
    { mapType: ARRAY, keySize: 4, valueSize: v, maxEntries: max },
    { mapType: ARRAY, keySize: 4, valueSize: v, maxEntries: max, mapFlags: F.MMAPABLE },
    { mapType: PERCPU_ARRAY, keySize: 4, valueSize: v, maxEntries: max },
    { mapType: PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: max },
    { mapType: LPM_TRIE, keySize: k + 4, valueSize: v, maxEntries: max, mapFlags: F.NO_PREALLOC },
  );
}

function label(a: MapCreateAttr): string {
  return `${typeNames[a.mapType]} k${a.keySize} v${a.valueSize} max${a.maxEntries}${a.mapFlags ? ` flags 0x${a.mapFlags.toString(16)}` : ""}`;
}

function keyOf(a: MapCreateAttr, i: number): Uint8Array {
  const key = new Uint8Array(a.keySize);
  if (a.mapType === LPM_TRIE) {
    new DataView(key.buffer).setUint32(0, Math.min(32, (a.keySize - 4) * 8), true);
    key[4] = i;
  } else {
    new DataView(key.buffer).setUint32(0, i, true);
  }
  return key;
}

export const fdInfoCases: ConformanceCase[] = [
  {
    name: "fdinfo: frozen is 0, then 1 after BPF_MAP_FREEZE on every fd of the map (read-only ones too)",
    group: "fdinfo",
    run(ctx) {
      const fdInfo = fdInfoOf(ctx);
      const fd = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      expectEqual(read(fdInfo, fd, "before freeze").frozen, false, "frozen before BPF_MAP_FREEZE");
      expectResult(ctx.driver.mapFreeze(fd), "OK", "BPF_MAP_FREEZE");
      const ro = ctx.own(ctx.driver.mapGetFdById(ctx.id(fd), F.RDONLY));
      expectResult(ro, "OK", "MAP_GET_FD_BY_ID read-only");
      expectEqual(read(fdInfo, fd, "after freeze").frozen, true, "frozen after BPF_MAP_FREEZE");
      expectEqual(read(fdInfo, ro, "read-only fd").frozen, true, "frozen through another, read-only fd");
    },
  },
  {
    name: "fdinfo: memlock per type and pre-allocation, as 6.18 x86-64's map_mem_usage with the driver's possible CPUs",
    group: "fdinfo",
    run(ctx) {
      const fdInfo = fdInfoOf(ctx);
      const c = new Checks("memlock");
      for (const a of SHAPES) {
        const fd = ctx.create(a, label(a));
        c.equal(memlockOf(fdInfo, fd, label(a)), expectedMemlock(a, ctx.cpus, 0, ctx.page), `${label(a)} empty`);
        ctx.close(fd);
      }
      c.done();
    },
  },
  {
    name: "fdinfo: memlock follows the elements of NO_PREALLOC hashes and LPM tries, and not of pre-allocated maps",
    group: "fdinfo",
    run(ctx) {
      const fdInfo = fdInfoOf(ctx);
      const c = new Checks("memlock after inserts");
      for (const a of SHAPES.filter((s) => s.mapType !== PROG_ARRAY && s.mapType !== ARRAY_OF_MAPS)) {
        const fd = ctx.create(a, label(a));
        const value = new Uint8Array(ctx.valueBytes(a.mapType, a.valueSize));
        const n = Math.min(3, a.maxEntries);
        for (let i = 0; i < n; i++) c.result(ctx.driver.mapUpdateElem(fd, keyOf(a, i), value, 0), "OK", `${label(a)} insert ${i}`);
        // An update in place allocates a new element and frees the old: the count stays.
        c.result(ctx.driver.mapUpdateElem(fd, keyOf(a, 0), value, 0), "OK", `${label(a)} update 0`);
        c.equal(memlockOf(fdInfo, fd, label(a)), expectedMemlock(a, ctx.cpus, n, ctx.page), `${label(a)} with ${n} elements`);
        ctx.close(fd);
      }
      c.done();
    },
  },
  {
    name: "fdinfo: map-in-map counts the outer map alone; a hash of maps keeps no spare per-CPU elements",
    group: "fdinfo",
    run(ctx) {
      const fdInfo = fdInfoOf(ctx);
      const c = new Checks("map-in-map memlock");
      const inner = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 }, "inner");
      for (const a of [
        { mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 8, innerMapFd: inner },
        { mapType: HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 8, innerMapFd: inner },
        { mapType: HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 8, innerMapFd: inner, mapFlags: F.NO_PREALLOC },
      ]) {
        const fd = ctx.create(a, label(a));
        for (let i = 0; i < 2; i++) c.result(ctx.driver.mapUpdateElem(fd, u32(i), u32(inner), 0), "OK", `${label(a)} insert ${i}`);
        const count = a.mapType === HASH_OF_MAPS ? 2 : 0;
        c.equal(memlockOf(fdInfo, fd, label(a)), expectedMemlock(a, ctx.cpus, count, ctx.page), `${label(a)} with 2 inner maps`);
        ctx.close(fd);
      }
      c.done();
    },
  },
  {
    name: "fdinfo: a PROG_ARRAY has no owner until a program is stored, then its type and JIT flag",
    group: "fdinfo",
    run(ctx) {
      const fdInfo = fdInfoOf(ctx);
      const pa = ctx.create({ mapType: PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      const before = read(fdInfo, pa, "empty PROG_ARRAY");
      expectEqual(before.ownerProgType, undefined, "owner_prog_type of a PROG_ARRAY no program met");
      expectEqual(before.ownerJited, undefined, "owner_jited of a PROG_ARRAY no program met");
      const prog = ctx.prog();
      expectResult(ctx.driver.mapUpdateElem(pa, u32(0), u32(prog), 0), "OK", "store the socket filter");
      const after = read(fdInfo, pa, "owned PROG_ARRAY");
      expectEqual(after.ownerProgType, 1, "owner_prog_type (SOCKET_FILTER)");
      expectEqual(after.ownerJited, true, "owner_jited (x86-64 JITs every program)");
      // The owner stays when the program leaves.
      expectResult(ctx.driver.mapDeleteElem(pa, u32(0)), "OK", "delete the program");
      expectEqual(read(fdInfo, pa, "emptied PROG_ARRAY").ownerProgType, 1, "owner_prog_type after the delete");
    },
  },
  {
    name: "fdinfo: flags is the fd's f_flags: O_CLOEXEC and the access mode it was created or opened with (O_RDWR, O_RDONLY, O_WRONLY)",
    group: "fdinfo",
    run(ctx) {
      const fdInfo = fdInfoOf(ctx);
      const O_CLOEXEC = 0o2000000;
      const c = new Checks("fdinfo flags");
      const rw = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      c.equal(read(fdInfo, rw, "created").fileFlags, O_CLOEXEC | 2, "a created map's fd: O_CLOEXEC|O_RDWR");
      const createdRo = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: F.RDONLY });
      c.equal(read(fdInfo, createdRo, "created read-only").fileFlags, O_CLOEXEC | 0, "created with BPF_F_RDONLY: O_CLOEXEC|O_RDONLY");
      for (const [flag, accmode, what] of [[F.RDONLY, 0, "O_RDONLY"], [F.WRONLY, 1, "O_WRONLY"], [0, 2, "O_RDWR"]] as const) {
        const fd = ctx.own(ctx.driver.mapGetFdById(ctx.id(rw), flag));
        expectResult(fd, "OK", `MAP_GET_FD_BY_ID open_flags ${flag}`);
        c.equal(read(fdInfo, fd, what).fileFlags, O_CLOEXEC | accmode, `opened by id with open_flags ${flag}: O_CLOEXEC|${what}`);
      }
      c.done();
    },
  },
  {
    name: "fdinfo: EBADF for an fd that is not open, EINVAL for a program's fd and for stdin, TypeError for an fd that is no integer",
    group: "fdinfo",
    run(ctx) {
      const fdInfo = fdInfoOf(ctx);
      for (const bad of [1.5, Number.NaN, "3", null]) expectThrows(() => fdInfo(bad as number), TypeError, `fdinfo of fd ${String(bad)}`);
      const answer = (fd: number) => {
        const r = fdInfo(fd);
        return typeof r === "number" ? r : 0;
      };
      expectResult(answer(ctx.closedFd()), "EBADF", "fdinfo of an fd not open");
      expectResult(answer(-1), "EBADF", "fdinfo of fd -1");
      expectResult(answer(ctx.prog()), "EINVAL", "fdinfo of a program");
      expectResult(answer(0), "EINVAL", "fdinfo of stdin");
    },
  },
];
