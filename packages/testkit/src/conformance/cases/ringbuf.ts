// BPF_MAP_TYPE_RINGBUF: its syscalls, its mapping and the records a program writes into it.
// kernel-maps.md does not cover it, so each case names the kernel code it follows:
// kernel/bpf/ringbuf.c (ringbuf_map_alloc, the ops that answer ENOTSUPP, ringbuf_map_mmap_kern,
// ringbuf_map_mem_usage, __bpf_ringbuf_reserve, bpf_ringbuf_commit, bpf_ringbuf_output,
// bpf_ringbuf_query) and kernel/bpf/syscall.c (bpf_map_mmap, map_freeze). Records come from the
// producer the context gives (`ctx.ringbuf()`: on the kernel, socket filters run by
// BPF_PROG_TEST_RUN) and are read through the driver's mapping: the consumer page at 0, the
// producer page at one page, the data from two pages on, mapped twice in a row. Every answer
// checked on 6.18 x86-64 through the kernel driver, with 4 KiB pages (scripts/probe-ringbuf.mjs).
// Sizes and offsets are in the driver's pages (`ctx.page`, PAGE_SIZE: ringbuf.c counts in it), so
// every case holds on a kernel with 16 or 64 KiB pages too and means at 4 KiB what it always did.
import { CaseSkipped, expectBatch, expectBytes, expectEqual, expectResult, fail, show } from "../assert.js";
import { pattern, readU32, readU64, u64, type CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { Checks, F } from "./common.js";
import { userRingbufCases } from "./user-ringbuf.js";

const RINGBUF = 27;
/** Bit 31 of a record's len: reserved, not yet committed. Bit 30: discarded. */
const BUSY = 0x8000_0000, DISCARD = 0x4000_0000;
/** BPF_RB_* of bpf_ringbuf_query. */
const AVAIL_DATA = 0, RING_SIZE = 1, CONS_POS = 2, PROD_POS = 3;
/** The page offset of the first data page from the start of struct bpf_ringbuf (RINGBUF_PGOFF 1, then the two position pages). */
const FIRST_DATA_PG_OFF = 3;

/** A record's bytes in the ring: the 8-byte header and the sample, rounded up to 8. */
const recordBytes = (sample: number) => Math.ceil((sample + 8) / 8) * 8;

/** A ring buffer of `size` bytes of data (default one page, the smallest), which must be created. */
function ring(ctx: CaseContext, size = ctx.page, flags = 0): number {
  return ctx.create({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, mapFlags: flags }, `RINGBUF of ${size} bytes`);
}

/** A ring with its whole read-only mapping (2 + 2 × size/page pages) and its writable consumer page. */
interface Mapped {
  readonly fd: number;
  readonly size: number;
  /** `n` bytes at `offset` of the whole mapping. */
  read(offset: number, n: number): Uint8Array;
  /** The consumer position (u64 at 0) and the producer position (u64 at one page), as the mapping shows them. */
  positions(): [consumer: bigint, producer: bigint];
  /** `n` bytes at data offset `at` (0 is the first data page; up to 2 × size through the second copy). */
  data(at: number, n: number): Uint8Array;
  /** The consumer position, written through the writable mapping of the consumer page. */
  consume(pos: bigint): void;
}

function mapped(ctx: CaseContext, size = ctx.page): Mapped {
  const page = ctx.page;
  const fd = ring(ctx, size);
  const length = 2 * page + 2 * size;
  const all = ctx.mmap(fd, length, false);
  expectResult(all, "OK", `read-only mmap of the ring's ${length} bytes (both position pages, the data twice)`);
  const cons = ctx.mmap(fd, page, true);
  expectResult(cons, "OK", "writable mmap of the consumer page");
  const read = (offset: number, n: number) => {
    const b = new Uint8Array(n);
    expectResult(ctx.driver.mmapRead!(all, offset, b), "OK", `mmapRead of ${n} bytes at ${offset}`);
    return b;
  };
  return {
    fd, size, read,
    positions: () => [readU64(read(0, 8)), readU64(read(page, 8))],
    data: (at, n) => read(2 * page + at, n),
    consume(pos) {
      expectResult(ctx.driver.mmapWrite!(cons, 0, u64(pos)), "OK", `write of consumer position ${pos}`);
    },
  };
}

/** The header at data offset `at`: [len with its bits, pg_off]. */
function header(m: Mapped, at: number): [number, number] {
  const h = m.data(at, 8);
  return [readU32(h, 0), readU32(h, 4)];
}

const hex32 = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** A helper's answer that must be 0. */
function ok(r: number, what: string): void {
  if (r !== 0) fail(`${what}: expected 0, got ${typeof r === "number" && r < 0 ? show(r) : String(r)}`);
}

export const ringbufCases: ConformanceCase[] = [
  {
    name: "ringbuf.c ringbuf_map_alloc: key_size and value_size 0, max_entries a power of 2 and a multiple of the page, only BPF_F_NUMA_NODE of the flags; anything else EINVAL",
    group: "ringbuf",
    run(ctx) {
      const page = ctx.page;
      const c = new Checks("RINGBUF create");
      const rows: Array<[what: string, key: number, value: number, max: number, flags: number, want: "OK" | "EINVAL"]> = [
        [`${page} (a page)`, 0, 0, page, 0, "OK"],
        [`${2 * page}`, 0, 0, 2 * page, 0, "OK"],
        ["1 MiB", 0, 0, 1 << 20, 0, "OK"],
        ["BPF_F_NUMA_NODE, node 0", 0, 0, page, F.NUMA_NODE, "OK"],
        ["key_size 4", 4, 0, page, 0, "EINVAL"],
        ["value_size 4", 0, 4, page, 0, "EINVAL"],
        ["max_entries 0", 0, 0, 0, 0, "EINVAL"],
        [`max_entries ${page - 1}`, 0, 0, page - 1, 0, "EINVAL"],
        [`max_entries ${page / 2} (a power of 2 below a page)`, 0, 0, page / 2, 0, "EINVAL"],
        [`max_entries ${3 * page} (whole pages, no power of 2)`, 0, 0, 3 * page, 0, "EINVAL"],
        ["BPF_F_NO_PREALLOC", 0, 0, page, F.NO_PREALLOC, "EINVAL"],
        ["BPF_F_RDONLY", 0, 0, page, F.RDONLY, "EINVAL"],
        ["BPF_F_WRONLY", 0, 0, page, F.WRONLY, "EINVAL"],
        ["BPF_F_RDONLY_PROG", 0, 0, page, F.RDONLY_PROG, "EINVAL"],
        ["BPF_F_WRONLY_PROG", 0, 0, page, F.WRONLY_PROG, "EINVAL"],
        ["BPF_F_MMAPABLE", 0, 0, page, F.MMAPABLE, "EINVAL"],
        ["BPF_F_INNER_MAP", 0, 0, page, F.INNER_MAP, "EINVAL"],
      ];
      for (const [what, keySize, valueSize, maxEntries, mapFlags, want] of rows) {
        const fd = ctx.tryCreate({ mapType: RINGBUF, keySize, valueSize, maxEntries, mapFlags, numaNode: 0 });
        if (c.result(fd, want, what) && fd >= 0) ctx.close(fd);
      }
      c.done();
    },
  },
  {
    name: "ringbuf.c ops: every element syscall is ENOTSUPP (with the NULL key of key_size 0), the batch calls ENOTSUPP with count as passed; BPF_MAP_FREEZE works",
    group: "ringbuf",
    run(ctx) {
      const d = ctx.driver;
      const fd = ring(ctx);
      const none = new Uint8Array(0);
      const c = new Checks("RINGBUF element syscalls");
      c.result(d.mapLookupElem(fd, none, none), "ENOTSUPP", "lookup");
      c.result(d.mapUpdateElem(fd, none, none, 0), "ENOTSUPP", "update");
      c.result(d.mapDeleteElem(fd, none), "ENOTSUPP", "delete");
      c.result(d.mapGetNextKey(fd, null, none), "ENOTSUPP", "get_next_key from NULL");
      c.result(d.mapLookupAndDeleteElem(fd, none, none), "ENOTSUPP", "lookup_and_delete");
      c.step(() => expectBatch(d.mapLookupBatch(fd, null, none, none, none, 1), "ENOTSUPP", 1, "lookup_batch"));
      c.step(() => expectBatch(d.mapLookupAndDeleteBatch(fd, null, none, none, none, 1), "ENOTSUPP", 1, "lookup_and_delete_batch"));
      c.step(() => expectBatch(d.mapUpdateBatch(fd, none, none, 1), "ENOTSUPP", 1, "update_batch"));
      c.step(() => expectBatch(d.mapDeleteBatch(fd, none, 1), "ENOTSUPP", 1, "delete_batch"));
      c.result(d.mapFreeze(fd), "OK", "freeze");
      c.result(d.mapFreeze(fd), "EPERM", "a second freeze (map_get_sys_perms: a frozen map is not writable)");
      c.done();
    },
  },
  {
    name: "ringbuf.c, syscall.c bpf_map_get_info_by_fd: a ring's bpf_map_info is type 27, key and value 0, max_entries its size, its flags",
    group: "ringbuf",
    run(ctx) {
      const size = 2 * ctx.page;
      const fd = ring(ctx, size, F.NUMA_NODE);
      const i = ctx.info(fd);
      expectEqual(`${i.type} ${i.keySize} ${i.valueSize} ${i.maxEntries} ${i.mapFlags}`, `27 0 0 ${size} ${F.NUMA_NODE}`, "type, key_size, value_size, max_entries, map_flags");
    },
  },
  {
    name: "ringbuf.c ringbuf_map_mem_usage: fdinfo's memlock is 304 + (3 + n) pages + (3 + 2n) page pointers for n data pages (1, 2 and 16 pages: 4, 8 and 64 KiB with 4 KiB pages)",
    group: "ringbuf",
    run(ctx) {
      const d = ctx.driver;
      if (typeof d.mapFdInfo !== "function") throw new CaseSkipped(`${d.kind} has no mapFdInfo (optional)`);
      const c = new Checks("RINGBUF memlock");
      // sizeof(struct bpf_ringbuf_map) is 304 on 6.18 x86-64; a struct page pointer is 8 bytes.
      const page = ctx.page;
      for (const n of [1, 2, 16]) {
        const size = n * page;
        const want = 304 + (3 + n) * page + (3 + 2 * n) * 8; // 16728, 20840, 78408 with 4 KiB pages
        const info = d.mapFdInfo(ring(ctx, size));
        c.equal(typeof info === "number" ? show(info) : info.memlock, want, `memlock of a ${size}-byte ring`);
      }
      c.done();
    },
  },
  {
    name: "ringbuf.c ringbuf_map_mmap_kern: only the consumer page maps writable (offset 0, one page); any other writable range EPERM",
    group: "ringbuf",
    run(ctx) {
      const page = ctx.page;
      const fd = ring(ctx);
      const c = new Checks("writable ring mappings");
      const rows: Array<[what: string, length: number, offset: number, want: "OK" | "EPERM"]> = [
        ["the consumer page", page, 0, "OK"],
        ["the consumer page's first byte (a page all the same)", 1, 0, "OK"],
        ["the consumer page and one byte more", page + 1, 0, "EPERM"],
        ["the consumer and producer pages", 2 * page, 0, "EPERM"],
        ["the producer page", page, page, "EPERM"],
        ["the first data page", page, 2 * page, "EPERM"],
        ["the whole ring", 4 * page, 0, "EPERM"],
      ];
      for (const [what, length, offset, want] of rows) {
        const h = ctx.mmap(fd, length, true, offset);
        if (c.result(h, want, `${what} (length ${length}, offset ${offset})`) && h >= 0) ctx.munmap(h);
      }
      c.done();
    },
  },
  {
    name: "ringbuf.c ringbuf_map_mmap_kern: read-only maps any range of the 2 + 2 × size/page pages (the data twice); a range past them EINVAL",
    group: "ringbuf",
    run(ctx) {
      const page = ctx.page;
      const four = ring(ctx, page);
      const eight = ring(ctx, 2 * page);
      const one = `${page / 1024} KiB ring`, two = `${(2 * page) / 1024} KiB ring`;
      const c = new Checks("read-only ring mappings");
      const rows: Array<[what: string, fd: number, length: number, offset: number, want: "OK" | "EINVAL"]> = [
        [`${one}: the consumer page`, four, page, 0, "OK"],
        [`${one}: all 4 pages`, four, 4 * page, 0, "OK"],
        [`${one}: producer page and the data twice (offset ${page})`, four, 3 * page, page, "OK"],
        [`${one}: the second copy of the data (offset ${3 * page})`, four, page, 3 * page, "OK"],
        [`${one}: 5 pages`, four, 5 * page, 0, "EINVAL"],
        [`${one}: 4 pages from offset ${page}`, four, 4 * page, page, "EINVAL"],
        [`${one}: offset ${4 * page}`, four, page, 4 * page, "EINVAL"],
        [`${two}: all 6 pages`, eight, 6 * page, 0, "OK"],
        [`${two}: 7 pages`, eight, 7 * page, 0, "EINVAL"],
      ];
      for (const [what, fd, length, offset, want] of rows) {
        const h = ctx.mmap(fd, length, false, offset);
        if (c.result(h, want, `${what} (length ${length}, offset ${offset})`) && h >= 0) ctx.munmap(h);
      }
      c.done();
    },
  },
  {
    name: "ringbuf.c, syscall.c bpf_map_mmap and map_freeze on a ring: a read-only fd maps nothing (EINVAL; writable EACCES); frozen, the consumer page is EPERM writable; a writable mapping makes freeze EBUSY",
    group: "ringbuf",
    run(ctx) {
      const d = ctx.driver;
      const page = ctx.page;
      const c = new Checks("ring mappings, fd modes and freeze");
      const fd = ring(ctx);
      const ro = ctx.own(d.mapGetFdById(ctx.id(fd), F.RDONLY));
      c.result(ro, "OK", "a read-only fd by id");
      c.result(ctx.mmap(ro, page, false), "EINVAL", "read-only mapping through a read-only fd");
      c.result(ctx.mmap(ro, page, true), "EACCES", "writable mapping through a read-only fd");
      const w = ctx.mmap(fd, page, true);
      c.result(w, "OK", "the writable consumer page");
      c.result(d.mapFreeze(fd), "EBUSY", "freeze under a writable mapping");
      if (w >= 0) ctx.munmap(w);
      c.result(d.mapFreeze(fd), "OK", "freeze once it is unmapped");
      c.result(ctx.mmap(fd, page, true), "EPERM", "the consumer page writable, frozen");
      const r = ctx.mmap(fd, 4 * page, false);
      c.result(r, "OK", "the whole ring read-only, frozen");
      c.done();
    },
  },
  {
    name: "ringbuf.c bpf_ringbuf_alloc: a fresh ring reads as zeros: consumer and producer positions 0, the data zeroed",
    group: "ringbuf",
    run(ctx) {
      const m = mapped(ctx);
      const bytes = 4 * ctx.page;
      expectBytes(m.read(0, bytes), new Uint8Array(bytes), "the 4 pages of a fresh one-page ring");
    },
  },
  {
    name: "ringbuf.c bpf_ringbuf_output, reserve + submit: a record is an 8-byte header (u32 len, u32 pg_off 3 on the first data page), the sample, zeros to 8 bytes; the producer position moves by round_up(len + 8, 8)",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const m = mapped(ctx);
      const c = new Checks("records");
      let at = 0;
      const samples: Array<[how: "output" | "reserve", data: Uint8Array]> = [
        ["output", pattern(5, 1)], ["reserve", pattern(13, 0xa0)], ["output", new Uint8Array(0)], ["reserve", new Uint8Array(0)],
        ["output", pattern(8, 0x40)], ["reserve", pattern(9, 0x50)], ["output", pattern(512, 3)], ["reserve", pattern(700, 7)],
      ];
      for (const [how, data] of samples) {
        const what = `${how} of ${data.length} bytes at ${at}`;
        c.step(() => ok(how === "output" ? p.output(m.fd, data) : p.reserveSubmit(m.fd, data), what));
        c.step(() => {
          const [len, pgOff] = header(m, at);
          expectEqual(`${hex32(len)} ${pgOff}`, `${hex32(data.length)} ${FIRST_DATA_PG_OFF}`, `${what}: header len and pg_off`);
        });
        c.step(() => expectBytes(m.data(at + 8, data.length), data, `${what}: the sample`));
        const pad = recordBytes(data.length) - 8 - data.length;
        c.step(() => expectBytes(m.data(at + 8 + data.length, pad), new Uint8Array(pad), `${what}: the ${pad} bytes to 8`));
        at += recordBytes(data.length);
        c.step(() => expectEqual(m.positions().join(" "), `0 ${at}`, `${what}: consumer and producer positions after`));
      }
      c.done();
    },
  },
  {
    name: "ringbuf.c bpf_ringbuf_commit: a discarded record keeps its len with DISCARD (bit 30) set, never BUSY (bit 31), and takes its room as a submitted one does",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const m = mapped(ctx);
      ok(p.reserveDiscard(m.fd, 3), "reserve + discard of 3 bytes");
      ok(p.output(m.fd, pattern(4, 9)), "output of 4 bytes after it");
      ok(p.reserveDiscard(m.fd, 0), "reserve + discard of 0 bytes");
      expectEqual(header(m, 0).map(hex32).join(" "), `${hex32(DISCARD | 3)} 0x${FIRST_DATA_PG_OFF}`, "the discarded record's header");
      expectEqual(header(m, 16).map(hex32).join(" "), `0x4 0x${FIRST_DATA_PG_OFF}`, "the next record's header");
      expectEqual(hex32(header(m, 32)[0]), hex32(DISCARD), "the empty discarded record's len");
      expectEqual((header(m, 32)[0] & BUSY) === 0, true, "BUSY clear once discarded");
      expectEqual(m.positions().join(" "), "0 40", "consumer and producer positions");
    },
  },
  {
    name: "ringbuf.c __bpf_ringbuf_reserve: pg_off is the header's page from the start of struct bpf_ringbuf (3 + its data page)",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const page = ctx.page;
      const m = mapped(ctx, 4 * page);
      const c = new Checks("pg_off per data page");
      let at = 0;
      // Records of an eighth of a page and a header (520 bytes with 4 KiB pages): headers on each of the four data pages.
      const sample = page / 8;
      const rec = recordBytes(sample);
      while (at + rec <= 4 * page - 8) {
        const r = p.output(m.fd, pattern(sample, at & 0xff));
        if (r !== 0) fail(`output at ${at}: ${show(r)}`);
        const pgOff = header(m, at)[1];
        c.equal(pgOff, FIRST_DATA_PG_OFF + Math.floor(at / page), `pg_off of the record at ${at}`);
        at += rec;
      }
      c.equal(Number(m.positions()[1]), at, "the producer position");
      c.done();
    },
  },
  {
    name: "ringbuf.c __bpf_ringbuf_reserve: EAGAIN exactly when the new producer position would be more than size - 1 ahead of the consumer; nothing is written then",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const page = ctx.page;
      const c = new Checks("full ring");
      const m = mapped(ctx);
      // A record of size - 8 (sample size - 16: 4080 in a 4 KiB ring) is the most a one-page ring
      // holds: one of the ring's size would be size ahead.
      const most = page - 16;
      c.result(p.reserveSubmit(m.fd, new Uint8Array(most + 1)), "EAGAIN", `reserve of ${most + 1} bytes (a ${page}-byte record) in an empty ${page}-byte ring`);
      c.result(p.reserveDiscard(m.fd, page - 7), "EAGAIN", `reserve of ${page - 7} bytes (a record past the ring)`);
      c.result(p.output(m.fd, new Uint8Array(0)), "OK", "output of 0 bytes (8) still fits after them");
      c.equal(m.positions().join(" "), "0 8", "positions after the refusals and one empty record");
      m.consume(8n);
      c.result(p.reserveSubmit(m.fd, pattern(most, 1)), "OK", `reserve of ${most} bytes (record ${most + 8}) with the ring empty`);
      c.result(p.output(m.fd, new Uint8Array(0)), "EAGAIN", "then output of 0 bytes (record 8)");
      c.result(p.reserveDiscard(m.fd, 0), "EAGAIN", "then reserve of 0 bytes");
      c.equal(m.positions().join(" "), `8 ${page}`, "positions after the full ring refused");
      // Position `page` is data offset 0: the consumed empty record's header, which a refused reserve leaves.
      c.step(() => expectEqual(header(m, 0).map(hex32).join(" "), `0x0 0x${FIRST_DATA_PG_OFF}`, `the header at position ${page} after the refusals`));
      // Output stops at the same point: seven records of an eighth of the ring and a header (520
      // bytes each, 3640, in a 4 KiB ring) fit in a fresh ring, the eighth does not.
      const sample = page / 8;
      const rec = recordBytes(sample);
      const n = mapped(ctx);
      const got: string[] = [];
      for (let i = 0; i < 8; i++) got.push(show(p.output(n.fd, pattern(sample, i))));
      c.equal(got.join(" "), "OK(0) OK(0) OK(0) OK(0) OK(0) OK(0) OK(0) EAGAIN", `eight outputs of ${sample} bytes`);
      c.equal(n.positions().join(" "), `0 ${7 * rec}`, "positions after them");
      c.done();
    },
  },
  {
    name: "ringbuf.c bpf_ringbuf_output: flags other than BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP are EINVAL, nothing written; submit and discard take either",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const m = mapped(ctx);
      const c = new Checks("helper flags");
      c.result(p.output(m.fd, pattern(4, 1), 4), "EINVAL", "output with flags 4");
      c.result(p.output(m.fd, pattern(4, 1), 8), "EINVAL", "output with flags 8");
      c.equal(m.positions().join(" "), "0 0", "positions after the refusals");
      c.result(p.output(m.fd, pattern(4, 1), 1), "OK", "output with BPF_RB_NO_WAKEUP");
      c.result(p.output(m.fd, pattern(4, 1), 2), "OK", "output with BPF_RB_FORCE_WAKEUP");
      c.result(p.output(m.fd, pattern(4, 1), 3), "OK", "output with both");
      c.result(p.reserveSubmit(m.fd, pattern(4, 1), 2), "OK", "submit with BPF_RB_FORCE_WAKEUP");
      c.result(p.reserveDiscard(m.fd, 4, 1), "OK", "discard with BPF_RB_NO_WAKEUP");
      c.equal(m.positions().join(" "), "0 80", "positions after five 16-byte records");
      c.done();
    },
  },
  {
    name: "ringbuf.c data pages mapped twice: a record that wraps reads straight on from the first copy into the second, whose bytes are the first copy's",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const m = mapped(ctx);
      // The ring's last 8 bytes (from 4088 in a 4 KiB ring) hold the next header.
      const last = ctx.page - 8;
      ok(p.reserveSubmit(m.fd, pattern(last - 8, 0)), `reserve of ${last - 8} bytes`);
      m.consume(BigInt(last));
      const sample = pattern(100, 0x30);
      ok(p.output(m.fd, sample), `output of 100 bytes at ${last} (its header the first copy's last 8 bytes)`);
      const straight = m.data(last, 8 + 100);
      expectEqual(`${readU32(straight, 0)} ${readU32(straight, 4)}`, `100 ${FIRST_DATA_PG_OFF}`, `header at ${last} of the first copy`);
      expectBytes(straight.subarray(8), sample, "the sample read straight on into the second copy");
      expectBytes(m.data(0, 100), sample, "the first copy's first 100 bytes");
      expectEqual(m.positions().join(" "), `${last} ${last + 112}`, "positions after the wrap");
    },
  },
  {
    name: "ringbuf.c __bpf_ringbuf_reserve reads the consumer position user space writes: room again once it moves up, none while it is past the producer or too far behind",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const page = ctx.page;
      const m = mapped(ctx);
      const c = new Checks("consumer position");
      // Records of an eighth of the ring and a header: 520 bytes in a 4 KiB ring, seven fit.
      const sample = page / 8;
      const rec = recordBytes(sample);
      for (let i = 0; i < 7; i++) c.result(p.output(m.fd, pattern(sample, i)), "OK", `output ${i} of ${sample} bytes`);
      c.result(p.output(m.fd, pattern(sample, 7)), "EAGAIN", `the eighth (${8 * rec} bytes ahead)`);
      m.consume(BigInt(rec));
      c.result(p.output(m.fd, pattern(sample, 7)), "OK", "the eighth after one record is consumed");
      c.equal(m.positions().join(" "), `${rec} ${8 * rec}`, "positions");
      const prod = 8 * rec + 16; // after the next 1-byte record
      m.consume(BigInt(prod + 824));
      c.result(p.output(m.fd, pattern(1, 0)), "EAGAIN", `output with the consumer past the producer (${prod} - ${prod + 824} is a huge u64)`);
      m.consume(3n);
      c.result(p.output(m.fd, pattern(1, 0)), "EAGAIN", `output with the consumer at 3 (${prod} - 3 > ${page - 1})`);
      m.consume(BigInt(8 * rec));
      c.result(p.output(m.fd, pattern(1, 0)), "OK", "output once the consumer caught up");
      c.equal(m.positions().join(" "), `${8 * rec} ${prod}`, "positions after it");
      c.done();
    },
  },
  {
    name: "ringbuf.c bpf_ringbuf_query: AVAIL_DATA (producer - consumer, a u64), RING_SIZE, CONS_POS, PROD_POS, and 0 for any other flag",
    group: "ringbuf",
    run(ctx) {
      const p = ctx.ringbuf();
      const size = 2 * ctx.page;
      const m = mapped(ctx, size);
      const q = () => [AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS, 4, 100].map((f) => String(p.query(m.fd, f))).join(" ");
      expectEqual(q(), `0 ${size} 0 0 0 0`, `a fresh ${size}-byte ring`);
      ok(p.output(m.fd, pattern(20, 1)), "output of 20 bytes");
      ok(p.reserveDiscard(m.fd, 8), "reserve + discard of 8 bytes");
      expectEqual(q(), `48 ${size} 0 48 0 0`, "after a 32-byte and a 16-byte record");
      m.consume(32n);
      expectEqual(q(), `16 ${size} 32 48 0 0`, "after the consumer moved to 32");
      m.consume(100n);
      expectEqual(q(), `${2n ** 64n - 52n} ${size} 100 48 0 0`, "a consumer position past the producer's");
    },
  },
  // USER_RINGBUF, RINGBUF's mirror (user-ringbuf.ts).
  ...userRingbufCases,
];
