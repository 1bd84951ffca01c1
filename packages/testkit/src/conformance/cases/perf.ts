// BPF_MAP_TYPE_PERF_EVENT_ARRAY and the BPF output events its slots hold: the map's syscalls,
// the event's ring as mmap gives it, and the records bpf_perf_event_output writes there.
// kernel-maps.md does not cover them, so each case names the kernel code it follows:
// kernel/bpf/arraymap.c (fd_array_map_alloc_check, bpf_fd_array_map_update_elem,
// perf_event_fd_array_get_ptr, perf_event_fd_array_release), kernel/bpf/syscall.c,
// kernel/events/core.c (perf_event_open, perf_mmap, perf_event_init_userpage,
// perf_prepare_sample), kernel/events/ring_buffer.c (perf_output_begin, perf_output_end) and
// kernel/trace/bpf_trace.c (__bpf_perf_event_output). Samples come from the producer the
// context gives (`ctx.perf()`: on the kernel, socket filters run by BPF_PROG_TEST_RUN on a
// chosen CPU). Every answer checked on 6.18 x86-64 through the kernel driver
// (docs/probes/perf_event_array.mjs); sizes count in the driver's pages. poll's wake-ups are
// asynchronous: perf-poll-tests.ts holds them.
import { BPF_F_CURRENT_CPU } from "@bpfkit/core";
import { expectBatch, expectEqual, expectResult, fail, show } from "../assert.js";
import { pattern, readU32, readU64, u32, u64, type CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { Checks, F } from "./common.js";

const PEA = 4;
const PERF_RECORD_LOST = 2, PERF_RECORD_SAMPLE = 9, PERF_RECORD_MISC_KERNEL = 1;
/** Offsets in struct perf_event_mmap_page. */
const HEAD = 1024, TAIL = 1032, DATA_OFFSET = 1040, DATA_SIZE = 1048;

/** A PERF_EVENT_ARRAY with a slot per CPU (or `max`), which must be created. */
function array(ctx: CaseContext, flags = 0, max = ctx.cpus): number {
  return ctx.create({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: flags }, `PERF_EVENT_ARRAY of ${max}`);
}

/** An event on `cpu` that must open. */
function event(ctx: CaseContext, cpu = 0, attr: { wakeupEvents?: number; wakeupWatermark?: number } = {}): number {
  const fd = ctx.perfEvent(cpu, attr);
  expectResult(fd, "OK", `perfEventOpen on CPU ${cpu}`);
  return fd;
}

/** An event on `cpu` in slot `cpu` of `map`, its ring of `pages` pages mapped (writable unless said). */
interface Ring {
  readonly map: number;
  readonly ev: number;
  readonly h: number;
  readonly data: number;
  read(at: number, n: number): Uint8Array;
  /** `n` bytes of the data from byte position `pos`, wrapping at the data's end as a reader does. */
  at(pos: number, n: number): Uint8Array;
  head(): number;
  setTail(v: number): void;
  out(data: Uint8Array, flags?: number): number;
}

function ring(ctx: CaseContext, pages = 2, writable = true, cpu = 0): Ring {
  const map = array(ctx);
  const ev = event(ctx, cpu);
  expectResult(ctx.driver.mapUpdateElem(map, u32(cpu), u32(ev)), "OK", `slot ${cpu} ← the event's fd`);
  const h = ctx.mmap(ev, pages * ctx.page, writable);
  expectResult(h, "OK", `${writable ? "writable" : "read-only"} mmap of the event's ${pages} pages`);
  const read = (at: number, n: number) => {
    const b = new Uint8Array(n);
    expectResult(ctx.driver.mmapRead!(h, at, b), "OK", `mmapRead of ${n} bytes at ${at}`);
    return b;
  };
  const data = (pages - 1) * ctx.page;
  const at = (pos: number, n: number) => {
    const out = new Uint8Array(n);
    for (let done = 0; done < n;) {
      const off = (pos + done) % data;
      const k = Math.min(n - done, data - off);
      out.set(read(ctx.page + off, k), done);
      done += k;
    }
    return out;
  };
  return {
    map, ev, h, data, read, at,
    head: () => Number(readU64(read(HEAD, 8))),
    setTail: (v) => expectResult(ctx.driver.mmapWrite!(h, TAIL, u64(BigInt(v))), "OK", `data_tail ← ${v}`),
    out: (data, flags) => ctx.perf().output(map, cpu, data, flags ?? BPF_F_CURRENT_CPU),
  };
}

/** The bytes of a PERF_RECORD_SAMPLE of `data`, as perf_prepare_sample lays it out. */
function sampleRecord(data: Uint8Array): Uint8Array {
  const raw = Math.ceil((data.length + 4) / 8) * 8;
  const b = new Uint8Array(8 + raw);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, PERF_RECORD_SAMPLE, true);
  dv.setUint16(4, PERF_RECORD_MISC_KERNEL, true);
  dv.setUint16(6, (8 + raw) & 0xffff, true);
  dv.setUint32(8, raw - 4, true);
  b.set(data, 12);
  return b;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export const perfCases: ConformanceCase[] = [
  {
    name: "arraymap.c fd_array_map_alloc_check: a PERF_EVENT_ARRAY takes key 4, value 4 and max_entries > 0; BPF_F_PRESERVE_ELEMS and the fd's RDONLY/WRONLY; never the program access flags, MMAPABLE, INNER_MAP, NO_PREALLOC or ZERO_SEED (EINVAL)",
    group: "perf",
    run(ctx) {
      const c = new Checks("PERF_EVENT_ARRAY create");
      const rows: Array<[what: string, key: number, value: number, max: number, flags: number, want: "OK" | "EINVAL"]> = [
        ["key 4, value 4, max 2", 4, 4, 2, 0, "OK"],
        ["BPF_F_PRESERVE_ELEMS", 4, 4, 2, F.PRESERVE_ELEMS, "OK"],
        ["BPF_F_RDONLY", 4, 4, 2, F.RDONLY, "OK"],
        ["BPF_F_WRONLY", 4, 4, 2, F.WRONLY, "OK"],
        ["value_size 8", 4, 8, 2, 0, "EINVAL"],
        ["key_size 8", 8, 4, 2, 0, "EINVAL"],
        ["max_entries 0", 4, 4, 0, 0, "EINVAL"],
        ["BPF_F_RDONLY_PROG", 4, 4, 2, F.RDONLY_PROG, "EINVAL"],
        ["BPF_F_WRONLY_PROG", 4, 4, 2, F.WRONLY_PROG, "EINVAL"],
        ["BPF_F_MMAPABLE", 4, 4, 2, F.MMAPABLE, "EINVAL"],
        ["BPF_F_INNER_MAP", 4, 4, 2, F.INNER_MAP, "EINVAL"],
        ["BPF_F_NO_PREALLOC", 4, 4, 2, F.NO_PREALLOC, "EINVAL"],
        ["BPF_F_ZERO_SEED", 4, 4, 2, F.ZERO_SEED, "EINVAL"],
      ];
      for (const [what, keySize, valueSize, maxEntries, mapFlags, want] of rows) {
        const fd = ctx.tryCreate({ mapType: PEA, keySize, valueSize, maxEntries, mapFlags });
        if (c.result(fd, want, what) && fd >= 0) ctx.close(fd);
      }
      c.done();
    },
  },
  {
    name: "arraymap.c bpf_fd_array_map_update_elem, perf_event_fd_array_get_ptr: BPF_ANY only (EINVAL), then the index (E2BIG), then a perf event's fd (EBADF for a map's fd, stdin or an fd not open); a filled slot is replaced",
    group: "perf",
    run(ctx) {
      const d = ctx.driver;
      const m = array(ctx, 0, 2);
      const ev0 = event(ctx, 0), ev1 = event(ctx, ctx.cpus > 1 ? 1 : 0);
      const c = new Checks("PERF_EVENT_ARRAY update");
      c.result(d.mapUpdateElem(m, u32(0), u32(ev0)), "OK", "slot 0 ← an event");
      c.result(d.mapUpdateElem(m, u32(0), u32(ev1)), "OK", "slot 0 ← another event (replaced)");
      c.result(d.mapUpdateElem(m, u32(1), u32(m)), "EBADF", "slot 1 ← the map's own fd");
      c.result(d.mapUpdateElem(m, u32(1), u32(0)), "EBADF", "slot 1 ← fd 0 (stdin)");
      c.result(d.mapUpdateElem(m, u32(1), u32(ctx.closedFd())), "EBADF", "slot 1 ← an fd not open");
      c.result(d.mapUpdateElem(m, u32(1), u32(ev0), 1), "EINVAL", "BPF_NOEXIST");
      c.result(d.mapUpdateElem(m, u32(1), u32(ev0), 2), "EINVAL", "BPF_EXIST");
      c.result(d.mapUpdateElem(m, u32(2), u32(ev0)), "E2BIG", "index 2 of 2");
      c.result(d.mapUpdateElem(m, u32(2), u32(ctx.closedFd())), "E2BIG", "index 2 with an fd not open: the index first");
      c.result(d.mapUpdateElem(m, u32(2), u32(ev0), 1), "EINVAL", "index 2 with BPF_NOEXIST: the flags first");
      const ro = ctx.create({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: F.RDONLY }, "read-only PERF_EVENT_ARRAY");
      c.result(d.mapUpdateElem(ro, u32(0), u32(ev0)), "EPERM", "through a BPF_F_RDONLY fd");
      c.done();
    },
  },
  {
    name: "syscall.c, arraymap.c: a PERF_EVENT_ARRAY's lookup is ENOTSUPP at any index (EINVAL with BPF_F_LOCK first), lookup-and-delete and every batch ENOTSUPP (count as passed); delete 0, ENOENT, E2BIG; GET_NEXT_KEY walks the indices; frozen, updates are EPERM",
    group: "perf",
    run(ctx) {
      const d = ctx.driver;
      const m = array(ctx, 0, 2);
      const ev = event(ctx);
      expectResult(d.mapUpdateElem(m, u32(0), u32(ev)), "OK", "slot 0 ← an event");
      const v = new Uint8Array(4), k8 = new Uint8Array(8), v8 = new Uint8Array(8), nk = new Uint8Array(4);
      const c = new Checks("PERF_EVENT_ARRAY syscalls");
      c.result(d.mapLookupElem(m, u32(0), v), "ENOTSUPP", "lookup of a filled slot");
      c.result(d.mapLookupElem(m, u32(1), v), "ENOTSUPP", "lookup of an empty slot");
      c.result(d.mapLookupElem(m, u32(2), v), "ENOTSUPP", "lookup past max_entries");
      c.result(d.mapLookupElem(m, u32(0), v, 4), "EINVAL", "lookup with BPF_F_LOCK");
      c.result(d.mapLookupAndDeleteElem(m, u32(0), v), "ENOTSUPP", "lookup_and_delete");
      c.step(() => expectBatch(d.mapLookupBatch(m, null, new Uint8Array(4), k8, v8, 2), "ENOTSUPP", 2, "lookup_batch"));
      c.step(() => expectBatch(d.mapLookupAndDeleteBatch(m, null, new Uint8Array(4), k8, v8, 2), "ENOTSUPP", 2, "lookup_and_delete_batch"));
      c.step(() => expectBatch(d.mapUpdateBatch(m, u32(1), u32(ev), 1), "ENOTSUPP", 1, "update_batch"));
      c.step(() => expectBatch(d.mapDeleteBatch(m, u32(0), 1), "ENOTSUPP", 1, "delete_batch"));
      c.result(d.mapGetNextKey(m, null, nk), "OK", "GET_NEXT_KEY from NULL");
      c.equal(readU32(nk), 0, "the first key");
      c.result(d.mapGetNextKey(m, u32(0), nk), "OK", "GET_NEXT_KEY after 0");
      c.equal(readU32(nk), 1, "the key after 0 (an empty slot is a key)");
      c.result(d.mapGetNextKey(m, u32(1), nk), "ENOENT", "GET_NEXT_KEY after the last");
      c.result(d.mapGetNextKey(m, u32(7), nk), "OK", "GET_NEXT_KEY after an index past the map");
      c.equal(readU32(nk), 0, "the key after an index past the map");
      c.result(d.mapDeleteElem(m, u32(0)), "OK", "delete of the filled slot");
      c.result(d.mapDeleteElem(m, u32(0)), "ENOENT", "delete of the emptied slot");
      c.result(d.mapDeleteElem(m, u32(2)), "E2BIG", "delete past max_entries");
      c.result(d.mapFreeze(m), "OK", "freeze");
      c.result(d.mapUpdateElem(m, u32(0), u32(ev)), "EPERM", "update of the frozen map");
      c.done();
    },
  },
  {
    name: "arraymap.c array_map_mem_usage: a PERF_EVENT_ARRAY's fdinfo memlock is 312 + 8 × max_entries; bpf_map_info says type 4, key 4, value 4",
    group: "perf",
    run(ctx) {
      const d = ctx.driver;
      const m = array(ctx, F.PRESERVE_ELEMS, 2);
      const i = ctx.info(m);
      expectEqual(`${i.type} ${i.keySize} ${i.valueSize} ${i.maxEntries} ${i.mapFlags}`, `4 4 4 2 ${F.PRESERVE_ELEMS}`, "type, key_size, value_size, max_entries, map_flags");
      if (typeof d.mapFdInfo !== "function") return;
      const info = d.mapFdInfo(m);
      expectEqual(typeof info === "number" ? show(info) : info.memlock, 328, "memlock of 2 slots");
    },
  },
  {
    name: "arraymap.c perf_event_fd_array_release: the slots a map file filled are emptied when its last fd closes (not at a dup's close), unless BPF_F_PRESERVE_ELEMS; closing the event's own fd leaves its slot",
    group: "perf",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("PERF_EVENT_ARRAY release");
      for (const preserve of [false, true]) {
        const tag = preserve ? "PRESERVE_ELEMS" : "plain";
        const a = array(ctx, preserve ? F.PRESERVE_ELEMS : 0, 2);
        const ev = event(ctx);
        const b = ctx.own(d.mapGetFdById(ctx.id(a)));
        expectResult(b, "OK", `${tag}: a second open file of the map, by id`);
        expectResult(d.mapUpdateElem(b, u32(0), u32(ev)), "OK", `${tag}: slot 0 ← the event, through the second file`);
        if (typeof d.dup === "function") {
          const copy = d.dup(b);
          expectResult(copy, "OK", "dup of the second file's fd");
          ctx.close(copy);
          c.result(d.mapDeleteElem(a, u32(0)), "OK", `${tag}: after a dup of the filling fd closed, the slot is still there`);
          expectResult(d.mapUpdateElem(b, u32(0), u32(ev)), "OK", `${tag}: slot 0 ← the event again`);
        }
        expectResult(d.mapUpdateElem(a, u32(1), u32(ev)), "OK", `${tag}: slot 1 ← the event, through the first file`);
        ctx.close(b);
        c.result(d.mapDeleteElem(a, u32(0)), preserve ? "OK" : "ENOENT", `${tag}: slot 0 after the filling file's last fd closed`);
        c.result(d.mapDeleteElem(a, u32(1)), "OK", `${tag}: slot 1, filled through a file still open`);
        expectResult(d.mapUpdateElem(a, u32(0), u32(ev)), "OK", `${tag}: slot 0 ← the event`);
        ctx.close(ev);
        c.result(d.mapDeleteElem(a, u32(0)), "OK", `${tag}: slot 0 after the event's own fd closed (the slot holds the event)`);
      }
      c.done();
    },
  },
  {
    name: "core.c perf_event_open: a BPF output event opens on every possible CPU; a CPU past them is EINVAL",
    group: "perf",
    run(ctx) {
      const c = new Checks("perfEventOpen");
      for (let cpu = 0; cpu < ctx.cpus; cpu++) c.result(ctx.perfEvent(cpu), "OK", `CPU ${cpu}`);
      c.result(ctx.perfEvent(ctx.cpus + 1000), "EINVAL", `CPU ${ctx.cpus + 1000}`);
      c.result(ctx.perfEvent(0, { wakeupWatermark: ctx.page }), "OK", "a watermark of a page");
      c.done();
    },
  },
  {
    name: "core.c perf_mmap: an event maps at offset 0 only, one header page and 2^n data pages (or none); later mappings must be the same size, either mode; after the last munmap any size again; the PERF_EVENT_ARRAY itself maps ENOTSUPP",
    group: "perf",
    run(ctx) {
      const d = ctx.driver;
      const page = ctx.page;
      const c = new Checks("perf event mmap");
      const fresh = (pages: number, writable: boolean, offset: number, want: "OK" | "EINVAL", what: string) => {
        const ev = event(ctx);
        const h = ctx.mmap(ev, pages * page, writable, offset);
        if (c.result(h, want, what) && h >= 0) ctx.munmap(h);
        ctx.close(ev);
      };
      for (const [pages, want] of [[1, "OK"], [2, "OK"], [3, "OK"], [4, "EINVAL"], [5, "OK"], [6, "EINVAL"], [7, "EINVAL"], [9, "OK"], [10, "EINVAL"], [17, "OK"]] as const) {
        fresh(pages, pages % 2 === 0, 0, want, `${pages} pages (${pages - 1} data pages)`);
      }
      fresh(2, true, page, "EINVAL", "2 pages at offset one page (the AUX area, never set up)");
      {
        const ev = event(ctx);
        const h = ctx.mmap(ev, page + 100, true);
        c.result(h, "OK", "a page and 100 bytes (two pages)");
        if (h >= 0) ctx.munmap(h);
      }
      const ev = event(ctx);
      const first = ctx.mmap(ev, 2 * page, true);
      expectResult(first, "OK", "the first mapping, 2 pages writable");
      c.result(ctx.mmap(ev, 3 * page, true), "EINVAL", "a second mapping of 3 pages");
      c.result(ctx.mmap(ev, page, true), "EINVAL", "a second mapping of 1 page");
      const again = ctx.mmap(ev, 2 * page, true);
      if (c.result(again, "OK", "a second mapping of 2 pages, writable")) ctx.munmap(again);
      const ro = ctx.mmap(ev, 2 * page, false);
      if (c.result(ro, "OK", "a second mapping of 2 pages, read-only")) {
        c.result(d.mmapWrite!(ro, TAIL, new Uint8Array(8)), "EACCES", "a write through the read-only mapping");
        ctx.munmap(ro);
      }
      ctx.munmap(first);
      const other = ctx.mmap(ev, 5 * page, true);
      if (c.result(other, "OK", "5 pages once the last mapping is gone")) ctx.munmap(other);
      c.result(ctx.mmap(array(ctx), page, false), "ENOTSUPP", "the PERF_EVENT_ARRAY's own fd");
      c.done();
    },
  },
  {
    name: "core.c perf_mmap_fault: a writable mapping of a ring writes its header page only (data_tail); the data is the kernel's, where a store is SIGBUS, so a write or atomic reaching it is EACCES and the ring stays as it was",
    group: "perf",
    run(ctx) {
      const d = ctx.driver;
      const page = ctx.page;
      const r = ring(ctx, 3);
      const c = new Checks("stores into a perf ring");
      c.result(d.mmapWrite!(r.h, TAIL, u64(0n)), "OK", "data_tail, on the header page");
      c.result(d.mmapWrite!(r.h, page - 1, Uint8Array.of(0)), "OK", "the header page's last byte");
      c.result(d.mmapWrite!(r.h, page, Uint8Array.of(1)), "EACCES", "the data's first byte");
      c.result(d.mmapWrite!(r.h, page - 4, new Uint8Array(8).fill(1)), "EACCES", "8 bytes across the header page's end");
      c.result(d.mmapWrite!(r.h, 3 * page - 8, new Uint8Array(8).fill(1)), "EACCES", "the data's last 8 bytes");
      if (typeof d.mmapAtomic === "function") {
        c.result(d.mmapAtomic(r.h, page, 8, "add", 1n) as number, "EACCES", "an atomic add on the data");
        c.equal(typeof d.mmapAtomic(r.h, page, 8, "load"), "bigint", "an atomic load of the data");
        c.equal(d.mmapAtomic(r.h, TAIL, 8, "add", 0n), 0n, "an atomic add of 0 on data_tail");
      }
      // Nothing reached the data: the first sample lands on zeros, as in a fresh ring.
      const data = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      expectResult(r.out(data), "OK", "an output after the refusals");
      c.equal(hex(r.at(0, 24)), hex(sampleRecord(data)), "the first record");
      c.equal(r.head(), 24, "data_head");
      c.done();
    },
  },
  {
    name: "core.c perf_event_init_userpage: the header page says version 0, a seqcount, cap_bit0_is_deprecated (no rdpmc), size 96, data_offset one page and data_size the data; data_head and data_tail 0",
    group: "perf",
    run(ctx) {
      const page = ctx.page;
      const r = ring(ctx, 3);
      const hdr = r.read(0, 1056);
      const dv = new DataView(hdr.buffer);
      const c = new Checks("perf_event_mmap_page");
      c.equal(dv.getUint32(0, true), 0, "version");
      c.equal(dv.getUint32(4, true), 0, "compat_version");
      c.equal(dv.getUint32(8, true) % 2, 0, "lock (even: no update in progress)");
      c.equal(dv.getUint32(12, true), 0, "index (a software event has no counter to read)");
      c.equal(dv.getBigUint64(16, true), 0n, "offset (the count: outputs do not count)");
      c.equal(dv.getBigUint64(40, true) & 7n, 2n, "capabilities: cap_bit0_is_deprecated, not cap_bit0 nor cap_user_rdpmc");
      c.equal(dv.getUint32(72, true), 96, "size (offsetof __reserved)");
      c.equal(dv.getBigUint64(HEAD, true), 0n, "data_head");
      c.equal(dv.getBigUint64(TAIL, true), 0n, "data_tail");
      c.equal(dv.getBigUint64(DATA_OFFSET, true), BigInt(page), "data_offset");
      c.equal(dv.getBigUint64(DATA_SIZE, true), BigInt(2 * page), "data_size");
      c.done();
    },
  },
  {
    name: "core.c perf_prepare_sample, bpf_trace.c bpf_perf_event_output: a PERF_RECORD_SAMPLE is the header (type 9, misc KERNEL, size), the u32 raw size, the bytes, then padding to an 8-byte end counted in the raw size (zeros in a fresh ring); data_head moves past it",
    group: "perf",
    run(ctx) {
      const r = ring(ctx);
      const c = new Checks("PERF_RECORD_SAMPLE bytes");
      let pos = 0;
      for (const n of [0, 1, 4, 5, 8, 12, 13, 100]) {
        const data = pattern(n, n);
        c.result(r.out(data), "OK", `output of ${n} bytes`);
        const want = sampleRecord(data);
        c.equal(r.head() - pos, want.length, `data_head's move for ${n} bytes`);
        c.equal(hex(r.read(ctx.page + pos, want.length)), hex(want), `the record of ${n} bytes`);
        pos += want.length;
      }
      c.done();
    },
  },
  {
    name: "core.c perf_output_sample: the padding after a sample is skipped, not written: once the ring wrapped it holds the bytes of the records it overwrote",
    group: "perf",
    run(ctx) {
      const page = ctx.page;
      const r = ring(ctx);
      // Fill the data with 24-byte records (8 bytes of 0xa5 each), then take them.
      const fill = new Uint8Array(8).fill(0xa5);
      const fit = Math.floor((page - 1) / 24);
      for (let i = 0; i < fit; i++) expectResult(r.out(fill), "OK", `filling sample ${i}`);
      r.setTail(r.head());
      const c = new Checks("padding");
      let sawOld = false;
      // Each 1-byte sample is a 16-byte record: 3 bytes of padding over what was there.
      for (let i = 0; i < 8; i++) {
        const head = r.head();
        const before = r.at(head + 13, 3);
        sawOld ||= before.some((b) => b !== 0);
        c.result(r.out(Uint8Array.of(i)), "OK", `sample ${i} of 1 byte`);
        c.equal(hex(r.at(head + 8, 4)), "04000000", `sample ${i}: the raw size, padding counted`);
        c.equal(hex(r.at(head + 13, 3)), hex(before), `sample ${i}: the padding is the ring's old bytes`);
        c.equal(r.head(), head + 16, `sample ${i}: data_head`);
      }
      c.done();
      if (!sawOld) fail("the old bytes under every padding were zeros: the case shows nothing");
    },
  },
  {
    name: "bpf_trace.c __bpf_perf_event_output: -ENOENT for an empty slot, -E2BIG for an index past max_entries, -EINVAL for flags past BPF_F_INDEX_MASK, -EOPNOTSUPP for another CPU's event, -ENOSPC for an event with no ring or no data pages",
    group: "perf",
    run(ctx) {
      const d = ctx.driver;
      const p = ctx.perf();
      const c = new Checks("bpf_perf_event_output's answers");
      const data = pattern(8, 1);
      const empty = array(ctx);
      c.result(p.output(empty, 0, data), "ENOENT", "an empty slot");
      const r = ring(ctx);
      c.result(p.output(r.map, 0, data, ctx.cpus + 3), "E2BIG", `index ${ctx.cpus + 3}`);
      c.result(p.output(r.map, 0, data, 2 ** 52), "EINVAL", "flags 1 << 52");
      c.result(p.output(r.map, 0, data, 0), "OK", "index 0 from CPU 0");
      if (ctx.cpus > 1) {
        c.result(p.output(r.map, 1, data, 0), "EOPNOTSUPP", "index 0 (CPU 0's event) from CPU 1");
        c.result(p.output(r.map, 1, data), "ENOENT", "BPF_F_CURRENT_CPU on CPU 1, whose slot is empty");
        const ev1 = event(ctx, 1);
        expectResult(d.mapUpdateElem(r.map, u32(1), u32(ev1)), "OK", "slot 1 ← CPU 1's event");
        c.result(p.output(r.map, 1, data), "ENOSPC", "CPU 1's event, not mapped");
        c.result(p.output(r.map, 0, data, 1), "EOPNOTSUPP", "index 1 (CPU 1's event) from CPU 0");
      }
      ctx.munmap(r.h);
      c.result(r.out(data), "ENOSPC", "the event after its ring was unmapped");
      const hdrOnly = ctx.mmap(r.ev, ctx.page, true);
      expectResult(hdrOnly, "OK", "a mapping of the header page alone");
      c.result(r.out(data), "ENOSPC", "an event with no data pages");
      const head = new Uint8Array(16);
      expectResult(d.mmapRead!(hdrOnly, HEAD, head), "OK", "mmapRead of data_head and data_tail");
      c.equal(hex(head), "00".repeat(16), "data_head and data_tail with no data pages");
      c.done();
    },
  },
  {
    name: "ring_buffer.c perf_output_begin: records fill the ring to one byte short of its data (CIRC_SPACE); a sample without room is -ENOSPC and counted; the next that fits comes after a PERF_RECORD_LOST (type 2, the event's id, the count), and records wrap",
    group: "perf",
    run(ctx) {
      const page = ctx.page;
      const r = ring(ctx);
      const rec = 96; // an 84-byte sample
      const fit = Math.floor((page - 1) / rec);
      const c = new Checks("a full ring");
      for (let i = 0; i < fit; i++) expectResult(r.out(pattern(84, i)), "OK", `sample ${i} of the ${fit} that fit`);
      for (let i = 0; i < 3; i++) c.result(r.out(pattern(84, 200 + i)), "ENOSPC", `sample ${fit + i}, with no room`);
      const head = r.head();
      c.equal(head, fit * rec, "data_head of a full ring");
      // A reader takes one record: room for the lost record (24 bytes) and the sample (96).
      r.setTail(rec);
      c.result(r.out(pattern(84, 99)), "OK", "a sample once one record was read");
      const lost = r.at(head, 24);
      const dv = new DataView(lost.buffer);
      c.equal(dv.getUint32(0, true), PERF_RECORD_LOST, "the lost record's type");
      c.equal(dv.getUint16(4, true), 0, "its misc");
      c.equal(dv.getUint16(6, true), 24, "its size");
      c.equal(dv.getBigUint64(16, true), 3n, "the samples it says were lost");
      c.equal(hex(r.at(head + 24, rec)), hex(sampleRecord(pattern(84, 99))), "the sample after it, wrapping at the data's end");
      c.equal(r.head(), head + 24 + rec, "data_head after both");
      r.setTail(r.head());
      c.result(r.out(pattern(8, 1)), "OK", "a sample with nothing lost since");
      c.equal(r.at(head + 24 + rec, 1)[0], PERF_RECORD_SAMPLE, "no second lost record");
      c.done();
    },
  },
  {
    name: "ring_buffer.c: a ring whose first mapping is read-only overwrites: no room check, data_tail never read, nothing lost",
    group: "perf",
    run(ctx) {
      const r = ring(ctx, 2, false);
      const n = Math.ceil((2 * ctx.page) / 96) + 5;
      const c = new Checks("overwrite");
      const answers = new Set<number>();
      for (let i = 0; i < n; i++) answers.add(r.out(pattern(84, i)));
      c.equal([...answers].map(show).join(","), "OK(0)", `the answers of ${n} 96-byte samples`);
      c.equal(r.head(), n * 96, "data_head, past the data's size");
      c.equal(readU64(r.read(TAIL, 8)), 0n, "data_tail");
      const last = r.head() - 96;
      c.equal(r.read(ctx.page + (last % ctx.page), 1)[0], PERF_RECORD_SAMPLE, "the newest record, where data_head says");
      c.done();
    },
  },
  {
    name: "core.c perf_mmap, ring_buffer.c rb_alloc: a ring's mode is its first mapping's; a second of the other mode shares it, and it stays when the first is unmapped: read-only first, data_tail written through a writable second is never read; writable first, it is honoured, and with only a read-only mapping left it cannot move",
    group: "perf",
    run(ctx) {
      const page = ctx.page;
      const tail = (v: number) => u64(BigInt(v));
      for (const firstWritable of [false, true]) {
        const r = ring(ctx, 2, firstWritable);
        const mode = firstWritable ? "writable, then read-only" : "read-only, then writable";
        const c = new Checks(`a ring mapped ${mode}`);
        const second = ctx.mmap(r.ev, 2 * page, !firstWritable);
        expectResult(second, "OK", `the second mapping, ${firstWritable ? "read-only" : "writable"}`);
        const rw = firstWritable ? r.h : second;
        const head = (h: number) => {
          const b = new Uint8Array(8);
          expectResult(ctx.driver.mmapRead!(h, HEAD, b), "OK", "a read of data_head");
          return Number(readU64(b));
        };
        const outputs = (n: number, from: number) => Array.from({ length: n }, (_, i) => show(r.out(pattern(84, from + i)))).join(",");
        // 96-byte records: `fit` fill the page of data to one byte short in a ring that reads data_tail.
        const fit = Math.floor((page - 1) / 96), n = fit + 8;
        const full = firstWritable ? [...Array<string>(fit).fill("OK(0)"), ...Array<string>(8).fill("ENOSPC")].join(",") : Array<string>(n).fill("OK(0)").join(",");
        c.equal(outputs(n, 0), full, `the answers of ${n} samples`);
        c.equal(head(second), (firstWritable ? fit : n) * 96, "data_head, read through the second mapping");
        // 480 bytes of room, said through the writable mapping: 4 records (the first after the lost one) fit, or, never read, all 10.
        const h0 = head(rw);
        c.result(ctx.driver.mmapWrite!(rw, TAIL, tail(h0 - page + 480)), "OK", "data_tail ← 480 bytes of room");
        c.equal(outputs(10, 100), firstWritable ? "OK(0),OK(0),OK(0),OK(0),ENOSPC,ENOSPC,ENOSPC,ENOSPC,ENOSPC,ENOSPC" : Array<string>(10).fill("OK(0)").join(","),
          "the answers of 10 more");
        // The first mapping gone: the second holds the same ring, in the same mode.
        ctx.munmap(r.h);
        const h1 = head(second);
        if (!firstWritable) c.result(ctx.driver.mmapWrite!(second, TAIL, tail(h1 - page + 480)), "OK", "data_tail ← 480 bytes of room, the first unmapped");
        c.equal(outputs(10, 200), firstWritable ? Array<string>(10).fill("ENOSPC").join(",") : Array<string>(10).fill("OK(0)").join(","),
          "the answers of 10 more through the second mapping alone");
        c.equal(head(second) - h1, firstWritable ? 0 : 960, "data_head's move");
        ctx.munmap(second);
        c.done();
      }
    },
  },
  {
    name: "core.c perf_prepare_header: header.size is a u16, so a record past 64 KiB wraps it, and the reservation with it, though every byte is written",
    group: "perf",
    run(ctx) {
      const pages = 1 + Math.max(1, 2 ** Math.ceil(Math.log2((128 * 1024) / ctx.page)));
      const r = ring(ctx, pages);
      const c = new Checks("records past 64 KiB");
      let last = 0;
      for (const n of [65516, 65520, 65528, 66000]) {
        c.result(r.out(pattern(n, 1)), "OK", `output of ${n} bytes`);
        const total = 8 + Math.ceil((n + 4) / 8) * 8;
        c.equal(r.head() - last, total & 0xffff, `data_head's move for ${n} bytes (a record of ${total})`);
        const h = r.read(ctx.page + (last % r.data), 12);
        const dv = new DataView(h.buffer);
        c.equal(dv.getUint16(6, true), total & 0xffff, `header.size for ${n} bytes`);
        c.equal(dv.getUint32(8, true), total - 12, `the raw size for ${n} bytes`);
        last = r.head();
        r.setTail(last);
      }
      if (last === 0) fail("no record was written");
      c.done();
    },
  },
];
