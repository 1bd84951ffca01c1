// BPF_MAP_TYPE_USER_RINGBUF (kernel/bpf/ringbuf.c, group ringbuf): RINGBUF's allocation and ops,
// its own mmap (ringbuf_map_mmap_user: the roles swapped) and bpf_user_ringbuf_drain's answers
// on raw records (__bpf_user_ringbuf_peek's checks), drained by the context's drain (on the
// kernel, a socket filter run by BPF_PROG_TEST_RUN). Poll readiness (ringbuf_map_poll_user) is
// asynchronous: it is in map-poll-tests.ts. Every answer checked on 6.18 x86-64
// (docs/probes/user_ringbuf.py, packages/testkit/test/user-ringbuf-drain.test.ts).
import { show } from "../assert.js";
import type { CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { runUserRingDrainCase, USER_RING_DRAIN_CASES } from "../../ringbuf/user-ring-writer.js";
import { Checks, F } from "./common.js";

const USER_RINGBUF = 31;

function userRing(ctx: CaseContext, size = ctx.page): number {
  return ctx.create({ mapType: USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: size }, `USER_RINGBUF of ${size} bytes`);
}


export const userRingbufCases: ConformanceCase[] = [
  {
    name: "ringbuf.c ringbuf_map_alloc for USER_RINGBUF: RINGBUF's rules (key and value 0, a power of 2 of whole pages, only BPF_F_NUMA_NODE); its memlock is RINGBUF's",
    group: "ringbuf",
    run(ctx) {
      const page = ctx.page;
      const c = new Checks("USER_RINGBUF create");
      const rows: Array<[what: string, key: number, value: number, max: number, flags: number, want: "OK" | "EINVAL"]> = [
        [`${page} (a page)`, 0, 0, page, 0, "OK"],
        ["BPF_F_NUMA_NODE, node 0", 0, 0, page, F.NUMA_NODE, "OK"],
        ["key_size 4", 4, 0, page, 0, "EINVAL"],
        ["value_size 4", 0, 4, page, 0, "EINVAL"],
        [`max_entries ${page - 1}`, 0, 0, page - 1, 0, "EINVAL"],
        [`max_entries ${3 * page} (whole pages, no power of 2)`, 0, 0, 3 * page, 0, "EINVAL"],
        ["BPF_F_RDONLY", 0, 0, page, F.RDONLY, "EINVAL"],
        ["BPF_F_MMAPABLE", 0, 0, page, F.MMAPABLE, "EINVAL"],
      ];
      for (const [what, keySize, valueSize, maxEntries, mapFlags, want] of rows) {
        const fd = ctx.tryCreate({ mapType: USER_RINGBUF, keySize, valueSize, maxEntries, mapFlags, numaNode: 0 });
        if (c.result(fd, want, what) && fd >= 0) ctx.close(fd);
      }
      const d = ctx.driver;
      if (typeof d.mapFdInfo === "function") {
        const info = d.mapFdInfo(userRing(ctx));
        c.equal(typeof info === "number" ? show(info) : info.memlock, 304 + 4 * page + 5 * 8, "memlock of a one-page USER_RINGBUF (ringbuf_map_mem_usage)");
      }
      c.done();
    },
  },
  {
    name: "ringbuf.c ringbuf_map_mmap_user: every range but one from offset 0 maps writable (the producer page and the data twice); offset 0 writable EPERM; past the pages EINVAL",
    group: "ringbuf",
    run(ctx) {
      const page = ctx.page;
      const fd = userRing(ctx);
      const c = new Checks("USER_RINGBUF mappings");
      const rows: Array<[what: string, length: number, writable: boolean, offset: number, want: "OK" | "EPERM" | "EINVAL"]> = [
        ["the consumer page, writable", page, true, 0, "EPERM"],
        ["the consumer and producer pages, writable", 2 * page, true, 0, "EPERM"],
        ["the consumer page, read-only", page, false, 0, "OK"],
        ["the producer page, writable", page, true, page, "OK"],
        ["the producer page and the data twice, writable", 3 * page, true, page, "OK"],
        ["the data twice, writable", 2 * page, true, 2 * page, "OK"],
        ["the producer page, the data twice and a page more, writable", 4 * page, true, page, "EINVAL"],
        ["all 4 pages, read-only", 4 * page, false, 0, "OK"],
        ["5 pages, read-only", 5 * page, false, 0, "EINVAL"],
      ];
      for (const [what, length, writable, offset, want] of rows) {
        const h = ctx.mmap(fd, length, writable, offset);
        if (c.result(h, want, `${what} (length ${length}, offset ${offset})`) && h >= 0) ctx.munmap(h);
      }
      c.done();
    },
  },
  {
    name: "ringbuf.c ringbuf_map_mmap_user: the data mapped twice is the same pages, so a write through the second copy reads back through the first, and a write across the end straight on",
    group: "ringbuf",
    run(ctx) {
      const page = ctx.page;
      const d = ctx.driver;
      const fd = userRing(ctx);
      const c = new Checks("USER_RINGBUF's two copies of the data");
      const h = ctx.mmap(fd, 3 * page, true, page);
      if (!c.result(h, "OK", "the producer page and the data twice, writable")) return c.done();
      const bytes = (n: number, from: number) => Uint8Array.from({ length: n }, (_, i) => from + i);
      const at = (off: number, n: number) => {
        const b = new Uint8Array(n);
        c.result(d.mmapRead!(h, off, b), "OK", `read of ${n} bytes at ${off}`);
        return [...b].join(",");
      };
      // 16 bytes from the first copy's last 8: 8 land at the data's end, 8 at its start.
      c.result(d.mmapWrite!(h, 2 * page - 8, bytes(16, 1)), "OK", "write across the first copy's end");
      c.equal(at(page, 8), [...bytes(8, 9)].join(","), "the first copy's start holds the write's second half");
      c.result(d.mmapWrite!(h, 2 * page + 100, bytes(4, 0x40)), "OK", "write inside the second copy");
      c.equal(at(page + 100, 4), [...bytes(4, 0x40)].join(","), "the first copy holds it too");
      c.equal(at(2 * page - 8, 16), [...bytes(8, 1), ...bytes(8, 9)].join(","), "and reads straight on across the end");
      c.done();
    },
  },
  {
    name: "ringbuf.c bpf_user_ringbuf_drain: records in order, DISCARD skipped, BUSY stops, the callback's 1 stops; a bad producer position or record EINVAL or E2BIG, the same at every drain",
    group: "ringbuf",
    run(ctx) {
      if (ctx.page !== 4096) return; // the cases' sizes are in bytes of a 4 KiB ring
      const drain = ctx.userRingDrain();
      const c = new Checks("USER_RINGBUF drains");
      for (const dc of USER_RING_DRAIN_CASES) {
        c.step(() => {
          const got = runUserRingDrainCase(ctx.driver, dc, drain).map((o) => [o.ret, o.sum, o.count, o.consumerPos]);
          c.equal(got.map((r) => r.join(" ")).join(", "), dc.drains.map((r) => r.join(" ")).join(", "), `${dc.name}: [answer, sum, callbacks, consumer position] of two drains`);
        });
      }
      c.done();
    },
  },
];
