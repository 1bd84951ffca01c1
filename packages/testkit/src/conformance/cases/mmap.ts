// mmap(2) of a BPF_F_MMAPABLE ARRAY through the optional Driver methods (mapMmap, mmapRead,
// mmapWrite, munmap). kernel-maps.md does not cover it, so each case names the kernel code it
// follows: mmap(2)'s own checks (the syscall's page check, do_mmap's length and file-mode
// checks), then kernel/bpf/syscall.c bpf_map_mmap (map_mmap present, VM_SHARED, frozen +
// writable, RDONLY_PROG + writable), then arraymap.c array_map_mmap (BPF_F_MMAPABLE, the range
// within the values' pages), and map_freeze's writecnt. Every answer checked on 6.18 through the
// kernel driver, with 4 KiB pages (x86-64; the simulator's by default). Lengths, offsets and the
// values that fill a page are in the driver's pages (`ctx.page`), so every case holds on a kernel
// with 16 or 64 KiB pages too and means at 4 KiB what it always did.
import { expectBytes, expectResult, expectThrows } from "../assert.js";
import { pattern, u32, type CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { ARRAY, Checks, F, HASH, LRU_HASH, PERCPU_ARRAY, QUEUE, typeNames } from "./common.js";

/** An mmapable ARRAY (u32 keys); `flags` are added to BPF_F_MMAPABLE. */
function mmapable(ctx: CaseContext, valueSize: number, maxEntries: number, flags = 0, what = "BPF_F_MMAPABLE array"): number {
  return ctx.create({ mapType: ARRAY, keySize: 4, valueSize, maxEntries, mapFlags: F.MMAPABLE | flags }, what);
}

/** The driver's mmapRead of `n` bytes at `offset`, which must succeed. */
function readAt(ctx: CaseContext, h: number, offset: number, n: number, what: string): Uint8Array {
  const b = new Uint8Array(n);
  expectResult(ctx.driver.mmapRead!(h, offset, b), "OK", what);
  return b;
}

/** Whether `id` is among the map ids GET_NEXT_ID walks (other processes' maps come and go). */
function idListed(ctx: CaseContext, id: number): boolean {
  for (let at = 0, n = 0; n < 1_000_000; n++) {
    const next = ctx.driver.mapGetNextId(at);
    if (next < 0) return false;
    if (next === id) return true;
    at = next;
  }
  return false;
}

export const mmapCases: ConformanceCase[] = [
  {
    name: "arraymap.c mmap: value i sits at i × round_up(value_size, 8); a syscall and the mapping see each other's bytes at once",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const fd = mmapable(ctx, 12, 5);
      const h = ctx.mmap(fd, page, true);
      expectResult(h, "OK", "mmap of one page, writable");
      const c = new Checks("values through the mapping");
      c.result(d.mapUpdateElem(fd, u32(2), pattern(12, 0x20)), "OK", "update of value 2");
      c.step(() => expectBytes(readAt(ctx, h, 32, 12, "read at 2 × 16"), pattern(12, 0x20), "value 2 at byte 32 of the mapping"));
      c.step(() => expectBytes(readAt(ctx, h, 28, 4, "read before value 2"), new Uint8Array(4), "value 1's padding (bytes 28..31)"));
      c.result(d.mmapWrite!(h, 64, pattern(12, 0x40)), "OK", "write at 4 × 16");
      c.step(() => expectBytes(ctx.get(fd, u32(4), 12), pattern(12, 0x40), "lookup of value 4 after the mapping wrote it"));
      // Padding belongs to no value: a lookup does not read it, an update does not clear it.
      c.result(d.mmapWrite!(h, 12, Uint8Array.of(0x55, 0x55, 0x55, 0x55)), "OK", "write of value 0's padding");
      c.step(() => expectBytes(ctx.get(fd, u32(0), 12), new Uint8Array(12), "value 0 by lookup after its padding was written"));
      c.result(d.mapUpdateElem(fd, u32(0), pattern(12, 1)), "OK", "update of value 0");
      c.step(() => expectBytes(readAt(ctx, h, 0, 16, "read of value 0 and its padding"),
        Uint8Array.of(...pattern(12, 1), 0x55, 0x55, 0x55, 0x55), "value 0 after the update, its padding as the mapping left it"));
      c.done();
    },
  },
  {
    name: "arraymap.c mmap: an offset maps from that page on (value page/8 of 8-byte values, 512 with 4 KiB pages, at byte 0 of a mapping at offset one page)",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const perPage = page / 8;
      const fd = mmapable(ctx, 8, 2 * perPage);
      ctx.put(fd, u32(perPage), pattern(8, 0x70));
      ctx.put(fd, u32(perPage - 1), pattern(8, 0x60));
      const h = ctx.mmap(fd, page, false, page);
      expectResult(h, "OK", "mmap of the second page");
      expectBytes(readAt(ctx, h, 0, 8, "read at 0"), pattern(8, 0x70), `value ${perPage} at byte 0 of the second page`);
      const whole = ctx.mmap(fd, 2 * page, false);
      expectResult(whole, "OK", "mmap of both pages");
      expectBytes(readAt(ctx, whole, page - 8, 16, "read across the pages"), Uint8Array.of(...pattern(8, 0x60), ...pattern(8, 0x70)), `values ${perPage - 1} and ${perPage} across the page boundary`);
    },
  },
  {
    name: "arraymap.c mmap: the last page past the values is the map's, zeroed and writable; no value sees it",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const fd = mmapable(ctx, 12, 5);
      const h = ctx.mmap(fd, page, true);
      expectResult(h, "OK", "mmap of the one page");
      expectBytes(readAt(ctx, h, 0, page, "read of the page"), new Uint8Array(page), "a fresh map's page");
      const c = new Checks("past the values");
      c.result(d.mmapWrite!(h, 80, pattern(16, 0x90)), "OK", "write just past value 4 (bytes 80..95)");
      c.result(d.mmapWrite!(h, page - 1, Uint8Array.of(0x99)), "OK", "write of the page's last byte");
      c.step(() => expectBytes(readAt(ctx, h, page - 1, 1, "read of the last byte"), Uint8Array.of(0x99), "the page's last byte"));
      for (let i = 0; i < 5; i++) c.step(() => expectBytes(ctx.get(fd, u32(i), 12), new Uint8Array(12), `value ${i} by lookup`));
      c.result(d.mapLookupElem(fd, u32(5), new Uint8Array(12)), "ENOENT", "lookup of index 5 (past max_entries, though its bytes are mapped)");
      c.done();
    },
  },
  {
    name: "syscall.c bpf_map_mmap: length 0 and an offset off a page are EINVAL; a range past the values' pages EINVAL; a closed fd EBADF (after the page check)",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const one = mmapable(ctx, 8, 4, 0, "a one-page map");
      const two = mmapable(ctx, 8, page / 4, 0, "a two-page map");
      // 12-byte values (16 apart) a page and 704 bytes long: 300 values, 4800 bytes, with 4 KiB pages.
      const oddBytes = page + 704;
      const odd = mmapable(ctx, 12, oddBytes / 16, 0, `${oddBytes} bytes of values (two pages)`);
      const tiny = mmapable(ctx, 1, 1, 0, "one 1-byte value");
      const closed = ctx.closedFd();
      const rows: Array<[what: string, fd: number, length: number, writable: boolean, offset: number, want: "OK" | "EINVAL" | "EBADF"]> = [
        ["length 0", one, 0, false, 0, "EINVAL"],
        ["length 0, writable", one, 0, true, 0, "EINVAL"],
        ["offset 1", one, page, false, 1, "EINVAL"],
        [`offset ${page / 2}`, two, page, false, page / 2, "EINVAL"],
        ["length 0, offset 1", one, 0, false, 1, "EINVAL"],
        ["length 1", one, 1, false, 0, "OK"],
        ["length 32 (the values), writable", one, 32, true, 0, "OK"],
        [`length ${page} (the page)`, one, page, true, 0, "OK"],
        [`length ${page + 1} of one page`, one, page + 1, false, 0, "EINVAL"],
        [`offset ${page} of one page`, one, 1, false, page, "EINVAL"],
        [`length ${2 * page} of two pages`, two, 2 * page, true, 0, "OK"],
        [`offset ${page}, length ${page} of two pages`, two, page, false, page, "OK"],
        [`offset ${page}, length ${page + 1} of two pages`, two, page + 1, false, page, "EINVAL"],
        [`offset ${2 * page} of two pages`, two, 1, false, 2 * page, "EINVAL"],
        [`length ${2 * page} of ${oddBytes} bytes`, odd, 2 * page, false, 0, "OK"],
        [`length ${2 * page + 1} of ${oddBytes} bytes`, odd, 2 * page + 1, false, 0, "EINVAL"],
        [`length ${page} of 1 byte`, tiny, page, true, 0, "OK"],
        [`length ${page + 1} of 1 byte`, tiny, page + 1, true, 0, "EINVAL"],
        ["length 2^30 of 1 byte", tiny, 2 ** 30, false, 0, "EINVAL"],
        ["a closed fd", closed, page, false, 0, "EBADF"],
        ["a closed fd, length 0", closed, 0, false, 0, "EBADF"],
        ["a closed fd, offset 1 (the syscall's page check first)", closed, page, false, 1, "EINVAL"],
        ["fd -1", -1, page, false, 0, "EBADF"],
      ];
      const c = new Checks("mmap length, offset and fd");
      for (const [what, fd, length, writable, offset, want] of rows) {
        const h = ctx.mmap(fd, length, writable, offset);
        if (c.result(h, want, `${what} (length ${length}, offset ${offset}${writable ? ", writable" : ""})`) && h >= 0) ctx.munmap(h);
      }
      c.done();
    },
  },
  {
    name: "syscall.c bpf_map_mmap: an ARRAY without BPF_F_MMAPABLE is EINVAL; map types without map_mmap ENOTSUPP (after mmap(2)'s own checks); a program fd ENODEV",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const c = new Checks("what can be mapped");
      const plain = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
      c.result(ctx.mmap(plain, page, false), "EINVAL", "ARRAY without BPF_F_MMAPABLE, read-only");
      c.result(ctx.mmap(plain, page, true), "EINVAL", "ARRAY without BPF_F_MMAPABLE, writable");
      const types: Array<[number, number, number]> = [[HASH, 4, 8], [PERCPU_ARRAY, 4, 8], [LRU_HASH, 4, 8], [QUEUE, 0, 8]];
      for (const [t, keySize, valueSize] of types) {
        const fd = ctx.create({ mapType: t, keySize, valueSize, maxEntries: 4 });
        const name = typeNames[t];
        c.result(ctx.mmap(fd, page, false), "ENOTSUPP", `${name}, read-only`);
        c.result(ctx.mmap(fd, page, true), "ENOTSUPP", `${name}, writable`);
        c.result(ctx.mmap(fd, 2 ** 30, false), "ENOTSUPP", `${name}, length 2^30 (no range check before the type's)`);
        c.result(ctx.mmap(fd, 0, false), "EINVAL", `${name}, length 0 (mmap(2) refuses it first)`);
        c.result(ctx.mmap(fd, page, false, 1), "EINVAL", `${name}, offset 1`);
      }
      const hash = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
      const id = ctx.id(hash);
      c.result(ctx.mmap(ctx.own(d.mapGetFdById(id, F.RDONLY)), page, false), "ENOTSUPP", "HASH through a read-only fd, read-only (the type before VM_SHARED)");
      c.result(ctx.mmap(ctx.own(d.mapGetFdById(id, F.WRONLY)), page, false), "EACCES", "HASH through a write-only fd (mmap(2)'s FMODE_READ check first)");
      c.result(d.mapFreeze(hash), "OK", "freeze of the HASH");
      c.result(ctx.mmap(hash, page, true), "ENOTSUPP", "a frozen HASH, writable (the type before frozen)");
      const prog = ctx.prog();
      c.result(ctx.mmap(prog, page, false), "ENODEV", "a program fd (no mmap of its own)");
      c.result(ctx.mmap(prog, 0, false), "EINVAL", "a program fd, length 0");
      // bpf_obj_get_user opens a program read-write whatever file_flags ask (bpf_prog_new_fd): such
      // an fd passes mmap(2)'s mode checks and meets the missing mmap, where a map fd of that mode would not.
      const path = ctx.pinPath("mmap-prog");
      c.result(d.objPin(prog, path), "OK", "pin of the program");
      for (const [name, flags] of [["RDONLY", F.RDONLY], ["WRONLY", F.WRONLY]] as const) {
        const got = ctx.own(d.objGet(path, flags));
        if (c.result(got, "OK", `OBJ_GET ${name} of the program`)) {
          c.result(ctx.mmap(got, page, true), "ENODEV", `a program fd got with ${name}, writable`);
        }
      }
      c.done();
    },
  },
  {
    name: "arraymap.c alloc: BPF_F_MMAPABLE with other flags (ACCESS, RDONLY_PROG, INNER_MAP, NUMA_NODE yes; NO_PREALLOC, ZERO_SEED, PRESERVE_ELEMS, other types no) and what each maps",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const c = new Checks("BPF_F_MMAPABLE with other flags");
      const base = { mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 };
      // [flags, create, mmap read-only, mmap writable]: a map created RDONLY or WRONLY hands
      // back an fd of that mode, which mmap(2) itself refuses (see the fd-mode case).
      const rows: Array<[name: string, flags: number, ro: "OK" | "EINVAL" | "EACCES", rw: "OK" | "EINVAL" | "EACCES"]> = [
        ["RDONLY_PROG", F.RDONLY_PROG, "OK", "EACCES"],
        ["WRONLY_PROG", F.WRONLY_PROG, "OK", "OK"],
        ["INNER_MAP", F.INNER_MAP, "OK", "OK"],
        ["NUMA_NODE", F.NUMA_NODE, "OK", "OK"],
        ["RDONLY", F.RDONLY, "EINVAL", "EACCES"],
        ["WRONLY", F.WRONLY, "EACCES", "EACCES"],
      ];
      for (const [name, flags, ro, rw] of rows) {
        const fd = ctx.tryCreate({ ...base, mapFlags: F.MMAPABLE | flags });
        if (!c.result(fd, "OK", `create ARRAY MMAPABLE|${name}`)) continue;
        const a = ctx.mmap(fd, page, false);
        if (c.result(a, ro, `MMAPABLE|${name}, read-only`) && a >= 0) ctx.munmap(a);
        const b = ctx.mmap(fd, page, true);
        if (c.result(b, rw, `MMAPABLE|${name}, writable`) && b >= 0) ctx.munmap(b);
      }
      for (const [name, flags] of [["NO_PREALLOC", F.NO_PREALLOC], ["ZERO_SEED", F.ZERO_SEED], ["PRESERVE_ELEMS", F.PRESERVE_ELEMS]] as const) {
        c.result(ctx.tryCreate({ ...base, mapFlags: F.MMAPABLE | flags }), "EINVAL", `create ARRAY MMAPABLE|${name}`);
      }
      c.result(ctx.tryCreate({ ...base, mapType: PERCPU_ARRAY, mapFlags: F.MMAPABLE }), "EINVAL", "create PERCPU_ARRAY MMAPABLE");
      c.result(ctx.tryCreate({ ...base, mapType: HASH, mapFlags: F.MMAPABLE }), "EINVAL", "create HASH MMAPABLE");
      c.result(ctx.tryCreate({ ...base, mapType: HASH, mapFlags: F.MMAPABLE | F.NO_PREALLOC }), "EINVAL", "create HASH MMAPABLE|NO_PREALLOC");
      c.done();
    },
  },
  {
    name: "syscall.c bpf_map_mmap: a read-only fd maps nothing (writable EACCES; read-only EINVAL: mmap(2) drops VM_SHARED), a write-only fd EACCES; mode before range",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const fd = mmapable(ctx, 8, 4);
      const id = ctx.id(fd);
      const ro = ctx.own(d.mapGetFdById(id, F.RDONLY));
      const wo = ctx.own(d.mapGetFdById(id, F.WRONLY));
      expectResult(ro, "OK", "GET_FD_BY_ID RDONLY");
      expectResult(wo, "OK", "GET_FD_BY_ID WRONLY");
      const path = ctx.pinPath("mmap-modes");
      expectResult(d.objPin(fd, path), "OK", "pin");
      const pinnedRo = ctx.own(d.objGet(path, F.RDONLY));
      expectResult(pinnedRo, "OK", "OBJ_GET RDONLY");
      const c = new Checks("fd modes");
      for (const [name, rofd] of [["by id", ro], ["by pin", pinnedRo]] as const) {
        c.result(ctx.mmap(rofd, page, false), "EINVAL", `read-only fd (${name}), read-only mapping`);
        c.result(ctx.mmap(rofd, page, true), "EACCES", `read-only fd (${name}), writable mapping`);
      }
      c.result(ctx.mmap(ro, 0, true), "EINVAL", "read-only fd, writable, length 0 (the length first)");
      c.result(ctx.mmap(ro, 2 * page, true), "EACCES", "read-only fd, writable, past the values (the mode before the range)");
      c.result(ctx.mmap(wo, page, false), "EACCES", "write-only fd, read-only mapping");
      c.result(ctx.mmap(wo, page, true), "EACCES", "write-only fd, writable mapping");
      c.result(ctx.mmap(wo, 0, false), "EINVAL", "write-only fd, length 0 (the length first)");
      c.result(ctx.mmap(wo, 2 * page, false), "EACCES", "write-only fd, past the values");
      const h = ctx.mmap(fd, page, true);
      if (c.result(h, "OK", "the read-write fd, writable")) ctx.munmap(h);
      c.done();
    },
  },
  {
    name: "syscall.c bpf_map_mmap: a frozen map maps read-only only (writable EPERM, before RDONLY_PROG's EACCES, BPF_F_MMAPABLE's and the range's EINVAL)",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const c = new Checks("frozen");
      const fd = mmapable(ctx, 8, 4);
      ctx.put(fd, u32(1), pattern(8, 0x11));
      c.result(d.mapFreeze(fd), "OK", "freeze");
      c.result(ctx.mmap(fd, page, true), "EPERM", "frozen, writable");
      c.result(ctx.mmap(fd, 2 * page, true), "EPERM", "frozen, writable, past the values");
      const h = ctx.mmap(fd, page, false);
      if (c.result(h, "OK", "frozen, read-only")) {
        c.step(() => expectBytes(readAt(ctx, h, 8, 8, "read of value 1"), pattern(8, 0x11), "value 1 through the frozen map's mapping"));
        ctx.munmap(h);
      }
      const rdonlyProg = mmapable(ctx, 8, 4, F.RDONLY_PROG);
      c.result(ctx.mmap(rdonlyProg, page, true), "EACCES", "RDONLY_PROG, writable");
      c.result(ctx.mmap(rdonlyProg, 2 * page, true), "EACCES", "RDONLY_PROG, writable, past the values");
      c.result(d.mapFreeze(rdonlyProg), "OK", "freeze of the RDONLY_PROG map");
      c.result(ctx.mmap(rdonlyProg, page, true), "EPERM", "frozen RDONLY_PROG, writable (frozen first)");
      const plain = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
      c.result(d.mapFreeze(plain), "OK", "freeze of an ARRAY without BPF_F_MMAPABLE");
      c.result(ctx.mmap(plain, page, true), "EPERM", "frozen ARRAY without BPF_F_MMAPABLE, writable (frozen first)");
      c.result(ctx.mmap(plain, page, false), "EINVAL", "frozen ARRAY without BPF_F_MMAPABLE, read-only");
      const plainRdonlyProg = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: F.RDONLY_PROG });
      c.result(ctx.mmap(plainRdonlyProg, page, true), "EACCES", "RDONLY_PROG ARRAY without BPF_F_MMAPABLE, writable (RDONLY_PROG first)");
      c.result(ctx.mmap(plainRdonlyProg, page, false), "EINVAL", "RDONLY_PROG ARRAY without BPF_F_MMAPABLE, read-only");
      const ro = ctx.own(d.mapGetFdById(ctx.id(fd), F.RDONLY));
      c.result(ctx.mmap(ro, page, true), "EACCES", "frozen, through a read-only fd, writable (the fd's mode first)");
      c.result(ctx.mmap(ro, page, false), "EINVAL", "frozen, through a read-only fd, read-only");
      c.done();
    },
  },
  {
    name: "syscall.c map_freeze: EBUSY while any writable mapping exists, OK once the last is unmapped; a read-only mapping does not stop it",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const c = new Checks("freeze and mappings");
      const fd = mmapable(ctx, 8, 4);
      const w1 = ctx.mmap(fd, page, true);
      const w2 = ctx.mmap(fd, 8, true);
      expectResult(w1, "OK", "first writable mapping");
      expectResult(w2, "OK", "second writable mapping");
      c.result(d.mapFreeze(fd), "EBUSY", "freeze under two writable mappings");
      ctx.munmap(w1);
      c.result(d.mapFreeze(fd), "EBUSY", "freeze under the one writable mapping left");
      c.result(d.mmapWrite!(w2, 0, pattern(8, 0x33)), "OK", "write through it (the refused freezes froze nothing)");
      c.result(d.mapUpdateElem(fd, u32(1), pattern(8, 0x44)), "OK", "update by syscall (not frozen)");
      ctx.munmap(w2);
      c.result(d.mapFreeze(fd), "OK", "freeze after the last writable mapping was unmapped");
      c.result(d.mapUpdateElem(fd, u32(1), pattern(8, 0x55)), "EPERM", "update after the freeze");
      const other = mmapable(ctx, 8, 4);
      const r = ctx.mmap(other, page, false);
      expectResult(r, "OK", "read-only mapping");
      c.result(d.mapFreeze(other), "OK", "freeze under a read-only mapping");
      // Only a writable mapping's munmap gives back what it took of writecnt.
      const third = mmapable(ctx, 8, 4);
      const w = ctx.mmap(third, page, true);
      const ro = ctx.mmap(third, page, false);
      expectResult(w, "OK", "writable mapping of a third map");
      expectResult(ro, "OK", "read-only mapping of it");
      ctx.munmap(ro);
      c.result(d.mapFreeze(third), "EBUSY", "freeze after the read-only mapping's munmap, the writable one left");
      c.step(() => expectBytes(readAt(ctx, r, 0, 8, "read after the freeze"), new Uint8Array(8), "the read-only mapping still reads"));
      c.done();
    },
  },
  {
    name: "syscall.c bpf_map_mmap: a mapping holds the map as an fd does (id listed, GET_FD_BY_ID, its values) after every fd is closed; munmap of the last lets it go",
    group: "mmap",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const fd = mmapable(ctx, 8, 4);
      const id = ctx.id(fd);
      const h = ctx.mmap(fd, page, true);
      expectResult(h, "OK", "writable mapping");
      ctx.close(fd);
      const c = new Checks("a map held by its mapping");
      c.equal(idListed(ctx, id), true, "GET_NEXT_ID lists the map's id with its fd closed");
      c.result(d.mmapWrite!(h, 16, pattern(8, 0x21)), "OK", "write through the mapping with no fd open");
      const again = ctx.own(d.mapGetFdById(id));
      if (c.result(again, "OK", "GET_FD_BY_ID with the fd closed")) {
        c.step(() => expectBytes(ctx.get(again, u32(2), 8), pattern(8, 0x21), "value 2 through the new fd"));
        ctx.close(again);
      }
      ctx.munmap(h);
      c.result(ctx.own(d.mapGetFdById(id)), "ENOENT", "GET_FD_BY_ID after the munmap");
      c.equal(idListed(ctx, id), false, "GET_NEXT_ID lists the id after the munmap");
      c.done();
    },
  },
  {
    name: "Driver mmap contract: bounds past the mapping are a RangeError, a read-only mapping's write EACCES, an unmapped handle EBADF (twice too), nothing touched",
    group: "mmap",
    run(ctx) {
      const d = ctx.driver;
      const fd = mmapable(ctx, 8, 4);
      ctx.put(fd, u32(0), pattern(8, 0x61));
      const r = ctx.mmap(fd, 16, false);
      expectResult(r, "OK", "read-only mapping of 16 bytes");
      const c = new Checks("the Driver's mmap checks");
      c.result(d.mmapWrite!(r, 0, new Uint8Array(8)), "EACCES", "write through the read-only mapping");
      c.step(() => expectBytes(ctx.get(fd, u32(0), 8), pattern(8, 0x61), "value 0 after the refused write"));
      c.step(() => expectThrows(() => d.mmapRead!(r, 9, new Uint8Array(8)), RangeError, "read of 8 bytes at 9 of 16"));
      c.step(() => expectThrows(() => d.mmapRead!(r, 17, new Uint8Array(0)), RangeError, "read of 0 bytes at 17 of 16"));
      c.step(() => expectThrows(() => d.mmapRead!(r, -1, new Uint8Array(1)), RangeError, "read at -1"));
      c.result(d.mmapRead!(r, 16, new Uint8Array(0)), "OK", "read of 0 bytes at the end");
      c.step(() => expectThrows(() => d.mmapWrite!(r, 8, new Uint8Array(9)), RangeError, "write of 9 bytes at 8 through the read-only 16 (the range before the mode)"));
      // A subclass may misreport its length; the copy moves its real bytes, so the check counts those.
      class Short extends Uint8Array {
        override get length(): number { return 1; }
        override get byteLength(): number { return 1; }
      }
      c.step(() => expectThrows(() => d.mmapRead!(r, 12, new Short(8)), RangeError, "read of a subclass's 8 real bytes at 12 of 16 (its byteLength says 1)"));
      const w = ctx.mmap(fd, 16, true);
      expectResult(w, "OK", "writable mapping of 16 bytes");
      c.step(() => expectThrows(() => d.mmapWrite!(w, 8, new Uint8Array(9)), RangeError, "write of 9 bytes at 8 of 16"));
      c.step(() => expectThrows(() => d.mmapWrite!(w, 12, new Short(8).fill(0x77)), RangeError, "write of a subclass's 8 real bytes at 12 of 16"));
      c.step(() => expectBytes(ctx.get(fd, u32(1), 8), new Uint8Array(8), "value 1 after the refused write"));
      ctx.munmap(w);
      c.result(d.mmapRead!(w, 0, new Uint8Array(8)), "EBADF", "read through an unmapped handle");
      c.result(d.mmapWrite!(w, 0, new Uint8Array(8)), "EBADF", "write through an unmapped handle");
      c.result(d.munmap!(w), "EBADF", "munmap twice");
      c.result(d.munmap!(-1), "EBADF", "munmap of a handle never made");
      c.done();
    },
  },
];
