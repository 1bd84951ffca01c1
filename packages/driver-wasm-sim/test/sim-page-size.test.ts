// The simulator as a kernel with 16 or 64 KiB pages (arm64), `createSimDriver({ pageSize })`:
// the option's checks, and everything PAGE_SIZE is in the kernel — a ring buffer's size rule and
// layout (ringbuf.c: position pages, data from two pages on, pg_off >> PAGE_SHIFT), an mmapable
// array's region (arraymap.c, PAGE_ALIGN), mmap offsets and lengths, memlock's page-rounded terms,
// PCPU_MIN_UNIT_SIZE (PFN_ALIGN(32 KiB)), bpf_check_uarg_tail_zero's cap and the mount data page.
import { BPF_F_MMAPABLE, Errno } from "@bpfkit/core";
import type { MapCreateAttr } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { instantiateEngine } from "../src/engine.js";
import type { EngineExports } from "../src/engine-abi.js";
import { createSimDriver } from "../src/index.js";
import { errName, readU32, sim } from "./sim-helpers.js";

const RINGBUF = 27, ARRAY = 2, PERCPU_ARRAY = 6;
const KIB = 1024;
const rb = (maxEntries: number): MapCreateAttr => ({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries });
const mmapableArray = (valueSize: number, maxEntries: number): MapCreateAttr =>
  ({ mapType: ARRAY, keySize: 4, valueSize, maxEntries, mapFlags: BPF_F_MMAPABLE });

function thrownBy(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("did not throw");
}

describe("createSimDriver pageSize", () => {
  it("takes a power of 2 from 4096 to 65536 and reports it; 4096 without it", () => {
    expect(sim().pageSize).toBe(4096);
    for (const p of [4096, 8192, 16384, 32768, 65536]) expect(sim({ pageSize: p }).pageSize).toBe(p);
  });

  it("refuses anything else with a RangeError naming the option, before an engine is made", () => {
    let engines = 0;
    const engine = () => {
      engines++;
      return instantiateEngine();
    };
    for (const p of [0, -4096, 2048, 12288, 65535, 131072, 2 ** 30]) {
      const e = thrownBy(() => createSimDriver({ pageSize: p, engine }));
      expect(e, String(p)).toBeInstanceOf(RangeError);
      expect(e.message).toContain(`pageSize ${p}`);
    }
    for (const p of [4096.5, "4096", null, 4096n]) {
      const e = thrownBy(() => createSimDriver({ pageSize: p as never, engine }));
      expect(e, String(p)).toBeInstanceOf(TypeError);
      expect(e.message).toContain("pageSize must be an integer");
    }
    expect(engines).toBe(0);
  });

  it("needs an engine that takes a page shift for any page but 4096", () => {
    const old = (): EngineExports => {
      const { setPageShift: _, ...rest } = instantiateEngine();
      return rest as EngineExports;
    };
    expect(createSimDriver({ engine: old }).pageSize).toBe(4096);
    const e = thrownBy(() => createSimDriver({ engine: old, pageSize: 16384 }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain("pageSize 16384 needs an engine with setPageShift");
  });

  it("sets the page on an engine passed on from another simulator, and refuses while it holds a map", () => {
    const engine = instantiateEngine();
    const big = createSimDriver({ engine: () => engine, pageSize: 65536 });
    const fd = big.mapCreate(rb(65536));
    expect(fd).toBeGreaterThanOrEqual(3);
    expect(() => createSimDriver({ engine: () => engine })).toThrow(/holds maps laid out in another page size/);
    expect(big.close(fd)).toBe(0);
    // Empty again: the next simulator's 4 KiB page is the engine's, and a 4 KiB ring lays out as such.
    const small = createSimDriver({ engine: () => engine });
    const r = small.mapCreate(rb(4096));
    expect(r).toBeGreaterThanOrEqual(3);
    expect(small.datapath.ringbufOutput({ fd: r }, new Uint8Array(8))).toBe(0);
    const m = small.mapMmap(r, 3 * 4096, false);
    const head = new Uint8Array(16);
    expect(small.mmapRead(m, 0, head)).toBe(0);
    expect(small.mmapRead(m, 4096, head.subarray(8))).toBe(0);
    expect(readU32(head, 8)).toBe(16); // the producer position, on the second 4 KiB page
  });
});

describe("a ring buffer on a kernel with 16 and 64 KiB pages", () => {
  it("takes max_entries a power of 2 and a multiple of the page", () => {
    for (const page of [16 * KIB, 64 * KIB]) {
      const d = sim({ pageSize: page });
      const got = [4 * KIB, 8 * KIB, page / 2, page, 2 * page, 3 * page].map((n) => `${n} ${errName(d.mapCreate(rb(n)))}`);
      expect(got, `page ${page}`).toEqual([
        `${4 * KIB} EINVAL`, `${8 * KIB} EINVAL`, `${page / 2} EINVAL`, `${page} OK`, `${2 * page} OK`, `${3 * page} EINVAL`,
      ]);
    }
  });

  it("lays out the consumer page at 0, the producer page at one page, the data from two pages on, pg_off counted in pages", () => {
    const page = 64 * KIB;
    const d = sim({ pageSize: page });
    const size = 2 * page;
    const fd = d.mapCreate(rb(size));
    // 1000-byte samples: 1008-byte records, so the 67th starts on the second data page.
    const n = 70;
    for (let i = 0; i < n; i++) expect(d.datapath.ringbufOutput({ fd }, new Uint8Array(1000).fill(i))).toBe(0);
    const ro = d.mapMmap(fd, 2 * page + 2 * size, false);
    expect(ro).toBeGreaterThanOrEqual(0);
    const u64At = (off: number) => {
      const b = new Uint8Array(8);
      expect(d.mmapRead(ro, off, b)).toBe(0);
      return Number(new DataView(b.buffer).getBigUint64(0, true));
    };
    expect(u64At(0)).toBe(0); // consumer_pos
    expect(u64At(page)).toBe(n * 1008); // producer_pos, a page on
    for (let i = 0; i < n; i++) {
      const at = i * 1008;
      const hdr = new Uint8Array(12);
      expect(d.mmapRead(ro, 2 * page + at, hdr)).toBe(0);
      expect(readU32(hdr, 0), `len of record ${i}`).toBe(1000);
      expect(readU32(hdr, 4), `pg_off of record ${i} at ${at}`).toBe(3 + Math.floor(at / page));
      expect(hdr[8]).toBe(i);
    }
    expect(3 + Math.floor(((n - 1) * 1008) / page)).toBe(4); // the test reaches the second data page
  });

  it("maps only the consumer page writable, one 64 KiB page; read-only, the 2 + 2 × size/page pages", () => {
    const page = 64 * KIB;
    const d = sim({ pageSize: page });
    const fd = d.mapCreate(rb(page));
    const rows: Array<[number, boolean, number]> = [
      [page, true, 0], [4096, true, 0], [page + 1, true, 0], [4096, true, page], [page, true, 4096],
      [4 * page, false, 0], [4 * page + 1, false, 0], [page, false, 3 * page], [page, false, 4 * page], [4096, false, 4096],
    ];
    const got = rows.map(([len, w, off]) => `${len} ${w ? "rw" : "ro"} @${off}: ${errName(d.mapMmap(fd, len, w, off))}`);
    expect(got).toEqual([
      `${page} rw @0: OK`, "4096 rw @0: OK", `${page + 1} rw @0: EPERM`, `4096 rw @${page}: EPERM`, `${page} rw @4096: EINVAL`,
      `${4 * page} ro @0: OK`, `${4 * page + 1} ro @0: EINVAL`, `${page} ro @${3 * page}: OK`, `${page} ro @${4 * page}: EINVAL`,
      "4096 ro @4096: EINVAL",
    ]);
  });

  it("reads a record that wraps straight on into the data's second copy", () => {
    const page = 16 * KIB;
    const d = sim({ pageSize: page });
    const fd = d.mapCreate(rb(page));
    const cons = d.mapMmap(fd, page, true);
    const ro = d.mapMmap(fd, 4 * page, false);
    // Move both positions to 8 bytes before the data's end, then write a record that wraps.
    const fill = page - 8 - 8;
    expect(d.datapath.ringbufOutput({ fd }, new Uint8Array(fill - 8))).toBe(0);
    const pos = new Uint8Array(8);
    new DataView(pos.buffer).setBigUint64(0, BigInt(fill), true);
    expect(d.mmapWrite(cons, 0, pos)).toBe(0);
    const sample = Uint8Array.from({ length: 24 }, (_, i) => i + 1);
    expect(d.datapath.ringbufOutput({ fd }, sample)).toBe(0);
    const rec = new Uint8Array(32);
    expect(d.mmapRead(ro, 2 * page + fill, rec)).toBe(0);
    expect(readU32(rec, 0)).toBe(24);
    expect(readU32(rec, 4)).toBe(3); // the header sits on the one data page
    expect([...rec.subarray(8)]).toEqual([...sample]);
  });

  it("counts memlock in its pages: 304 + (3 + n) pages + (3 + 2n) page pointers", () => {
    for (const [page, size, want] of [[16 * KIB, 16 * KIB, 304 + 4 * 16 * KIB + 5 * 8], [64 * KIB, 128 * KIB, 304 + 5 * 64 * KIB + 7 * 8]]) {
      const d = sim({ pageSize: page });
      const fi = d.mapFdInfo(d.mapCreate(rb(size)));
      expect(typeof fi === "number" ? errName(fi) : fi.memlock, `page ${page}, ring ${size}`).toBe(want);
    }
  });
});

describe("an mmapable array on a kernel with 64 KiB pages", () => {
  const page = 64 * KIB;

  it("owns whole 64 KiB pages: mapped to the page's end, offsets in pages", () => {
    const d = sim({ pageSize: page });
    const one = d.mapCreate(mmapableArray(8, 4));
    const two = d.mapCreate(mmapableArray(8, page / 8 + 1));
    const rows: Array<[number, number, number, boolean, number]> = [
      [1, one, page, true, 0], [2, one, page + 1, false, 0], [3, one, 4096, false, 4096], [4, one, 4096, false, page],
      [5, two, 2 * page, true, 0], [6, two, page, false, page], [7, two, page + 1, false, page], [8, two, 1, false, 2 * page],
    ];
    expect(rows.map(([i, fd, len, w, off]) => `${i} ${errName(d.mapMmap(fd, len, w, off))}`))
      .toEqual(["1 OK", "2 EINVAL", "3 EINVAL", "4 EINVAL", "5 OK", "6 OK", "7 EINVAL", "8 EINVAL"]);
  });

  it("keeps the tail of its page zeroed and its own, and a value past the first page where the mapping shows it", () => {
    const d = sim({ pageSize: page });
    const fd = d.mapCreate(mmapableArray(8, page / 8 + 1));
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, page / 8, true);
    expect(d.mapUpdateElem(fd, key, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(0);
    const h = d.mapMmap(fd, page, true, page);
    const b = new Uint8Array(16);
    expect(d.mmapRead(h, 0, b)).toBe(0);
    expect([...b]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(d.mmapWrite(h, page - 1, Uint8Array.of(9))).toBe(0);
    const last = new Uint8Array(1);
    expect(d.mmapRead(h, page - 1, last)).toBe(0);
    expect(last[0]).toBe(9);
  });

  it("counts memlock as a page for the header and the values' pages", () => {
    const d = sim({ pageSize: page });
    for (const [max, want] of [[4, 2 * page], [page / 8 + 1, 3 * page]]) {
      const fi = d.mapFdInfo(d.mapCreate(mmapableArray(8, max)));
      expect(typeof fi === "number" ? errName(fi) : fi.memlock, `${max} values`).toBe(want);
    }
  });
});

describe("other limits that are a page on the kernel", () => {
  it("PCPU_MIN_UNIT_SIZE is PFN_ALIGN(32 KiB): 64 KiB with 64 KiB pages", () => {
    const percpu = (valueSize: number): MapCreateAttr => ({ mapType: PERCPU_ARRAY, keySize: 4, valueSize, maxEntries: 1 });
    const at = (page: number) => [32768, 32769, 65536, 65537].map((v) => errName(sim({ pageSize: page, possibleCpus: 1 }).mapCreate(percpu(v))));
    expect(at(16 * KIB)).toEqual(["OK", "E2BIG", "E2BIG", "E2BIG"]);
    expect(at(64 * KIB)).toEqual(["OK", "OK", "OK", "E2BIG"]);
  });

  it("bpf_check_uarg_tail_zero: an info buffer up to a page is taken, a byte more E2BIG", () => {
    const d = sim({ pageSize: 16 * KIB });
    const fd = d.mapCreate(rb(16 * KIB));
    expect(d.objGetInfoByFd(fd, new Uint8Array(16 * KIB))).toBeGreaterThan(0);
    expect(d.objGetInfoByFd(fd, new Uint8Array(16 * KIB + 1))).toBe(-Errno.E2BIG);
  });

  it("copy_mount_options copies one page: mount data is cut at the page's last byte", () => {
    const opts = "uid=0,".repeat(682); // 4092 bytes
    for (const [page, want] of [[4096, "OK"], [16 * KIB, "EINVAL"]] as const) {
      const d = sim({ pageSize: page });
      expect(d.host.mkdir("/sys/fs/bpf/sub", 0o700)).toBe(0);
      // A 4 KiB page ends after "rw,", so "uid=abc" is never read; a 16 KiB page holds it
      // whole, and "abc" is no uid.
      expect(errName(d.host.mount("bpf", "/sys/fs/bpf/sub", "bpf", 0, `${opts}rw,uid=abc`)), `page ${page}`).toBe(want);
    }
  });
});
