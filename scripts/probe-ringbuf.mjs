#!/usr/bin/env node
// Probes what this kernel does with BPF_MAP_TYPE_RINGBUF, through the kernel driver and the
// testkit's kernel producer (socket filters run by BPF_PROG_TEST_RUN; nothing is attached to the
// host). Prints one line per fact; docs/kernel-notes.md ("Ring buffers") records 6.18's answers.
// Run as root after a build: node scripts/probe-ringbuf.mjs. Every ring is at most 1 MiB.
import { createKernelDriver } from "../packages/driver-kernel/dist/index.js";
import { createRequire } from "node:module";
import { ringbufProducerFor } from "../packages/testkit/dist/index.js";

const RINGBUF = 27, PAGE = 4096;
const d = createKernelDriver();
const p = ringbufProducerFor(d);
const fds = [];
const names = { 1: "EPERM", 2: "ENOENT", 7: "E2BIG", 9: "EBADF", 11: "EAGAIN", 13: "EACCES", 16: "EBUSY", 22: "EINVAL", 28: "ENOSPC", 95: "EOPNOTSUPP", 524: "ENOTSUPP" };
const show = (r) => (typeof r === "number" && r < 0 ? names[-r] ?? `-${-r}` : r);
const line = (what, v) => console.log(`${what}: ${typeof v === "object" ? JSON.stringify(v, (_, x) => (typeof x === "bigint" ? String(x) : x)) : String(v)}`);
const ring = (size, extra = {}) => {
  const fd = d.mapCreate({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, ...extra });
  if (fd >= 0) fds.push(fd);
  return fd;
};
const u64At = (b, at) => new DataView(b.buffer, b.byteOffset).getBigUint64(at, true);
const u32At = (b, at) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const read = (h, off, n) => {
  const b = new Uint8Array(n);
  const r = d.mmapRead(h, off, b);
  if (r !== 0) throw new Error(`mmapRead: ${r}`);
  return b;
};

try {
  // ---- BPF_MAP_CREATE ----
  for (const [what, attr] of [
    ["4096", {}], ["8192", {}], ["key_size 4", { keySize: 4 }], ["value_size 4", { valueSize: 4 }],
    ["max_entries 0", { maxEntries: 0 }], ["max_entries 4095", { maxEntries: 4095 }], ["max_entries 2048 (a power of 2 below a page)", { maxEntries: 2048 }],
    ["max_entries 12288 (page-aligned, no power of 2)", { maxEntries: 12288 }], ["BPF_F_NUMA_NODE (4), node 0", { mapFlags: 4, numaNode: 0 }],
    ["BPF_F_NO_PREALLOC (1)", { mapFlags: 1 }], ["BPF_F_RDONLY (8)", { mapFlags: 8 }], ["BPF_F_RDONLY_PROG (0x80)", { mapFlags: 0x80 }],
    ["BPF_F_MMAPABLE (0x400)", { mapFlags: 0x400 }], ["BPF_F_WRONLY_PROG (0x100)", { mapFlags: 0x100 }],
  ]) {
    const size = what === "8192" ? 8192 : 4096;
    const fd = ring(size, attr);
    line(`create ${what}`, show(fd));
  }

  // ---- element syscalls, the key pointer NULL (the driver's for key_size 0) ----
  const rb = ring(4096);
  const none = new Uint8Array(0);
  line("lookup", show(d.mapLookupElem(rb, none, none)));
  line("update", show(d.mapUpdateElem(rb, none, none, 0)));
  line("delete", show(d.mapDeleteElem(rb, none)));
  line("get_next_key (NULL key)", show(d.mapGetNextKey(rb, null, none)));
  line("lookup_and_delete", show(d.mapLookupAndDeleteElem(rb, none, none)));
  line("lookup_batch", d.mapLookupBatch(rb, null, none, none, none, 1));
  line("lookup_and_delete_batch", d.mapLookupAndDeleteBatch(rb, null, none, none, none, 1));
  line("update_batch", d.mapUpdateBatch(rb, none, none, 1));
  line("delete_batch", d.mapDeleteBatch(rb, none, 1));

  // The same calls with a key pointer that is not NULL, by a bare bpf(2) (the driver sends NULL
  // for key_size 0): __bpf_copy_key refuses it before the map's op is asked.
  const koffi = createRequire(new URL("../packages/driver-kernel/package.json", import.meta.url))("koffi");
  const sys = koffi.load("libc.so.6").func("long syscall(long nr, int cmd, _Inout_ uint8_t *attr, unsigned int size)");
  const scratch = new Uint8Array(16);
  const addr = Number(koffi.address(scratch));
  for (const [what, cmd] of [["lookup", 1], ["update", 2], ["delete", 3], ["get_next_key", 4], ["lookup_and_delete", 21]]) {
    const attr = new Uint8Array(32);
    const dv = new DataView(attr.buffer);
    dv.setUint32(0, rb, true);
    dv.setBigUint64(8, BigInt(addr), true);
    dv.setBigUint64(16, BigInt(addr + 8), true);
    const r = Number(sys(process.arch === "arm64" ? 280 : 321, cmd, attr, 32));
    line(`${what} with a key pointer`, r < 0 ? show(-koffi.errno()) : r);
  }

  // ---- bpf_map_info and fdinfo ----
  const info = new Uint8Array(104);
  d.objGetInfoByFd(rb, info);
  line("info type/key/value/max/flags", [u32At(info, 0), u32At(info, 8), u32At(info, 12), u32At(info, 16), u32At(info, 20)]);
  for (const size of [4096, 8192, 65536]) {
    const fd = size === 4096 ? rb : ring(size);
    line(`fdinfo memlock ${size}`, d.mapFdInfo(fd).memlock);
  }

  // ---- mmap ----
  const mm = (fd, length, writable, offset = 0) => {
    const h = d.mapMmap(fd, length, writable, offset);
    if (h >= 0) d.munmap(h);
    return show(h);
  };
  line("mmap consumer page writable", mm(rb, PAGE, true));
  line("mmap consumer page read-only", mm(rb, PAGE, false));
  line("mmap consumer page + 1 byte writable", mm(rb, PAGE + 1, true));
  line("mmap 2 pages writable", mm(rb, 2 * PAGE, true));
  line("mmap producer page writable (offset 4096)", mm(rb, PAGE, true, PAGE));
  line("mmap data writable (offset 8192)", mm(rb, PAGE, true, 2 * PAGE));
  line("mmap producer page + 2 × data read-only (offset 4096)", mm(rb, 3 * PAGE, false, PAGE));
  line("mmap all 4 pages read-only", mm(rb, 4 * PAGE, false));
  line("mmap 5 pages read-only", mm(rb, 5 * PAGE, false));
  line("mmap 4 pages read-only from offset 4096", mm(rb, 4 * PAGE, false, PAGE));
  line("mmap offset 16384 (past the end) read-only", mm(rb, PAGE, false, 4 * PAGE));
  const ro = d.mapGetFdById(u32At(info, 4), 8 /* BPF_F_RDONLY */);
  fds.push(ro);
  line("mmap through a read-only fd, read-only", mm(ro, PAGE, false));
  line("mmap through a read-only fd, writable", mm(ro, PAGE, true));
  const hw = d.mapMmap(rb, PAGE, true);
  line("freeze with a writable consumer mapping", show(d.mapFreeze(rb)));
  d.munmap(hw);
  const frozen = ring(4096);
  line("freeze", show(d.mapFreeze(frozen)));
  line("mmap consumer page writable, frozen", mm(frozen, PAGE, true));
  line("mmap read-only, frozen", mm(frozen, 4 * PAGE, false));
  line("output on a frozen ring (freeze is user space's)", show(p.output(frozen, Uint8Array.of(1))));

  // ---- records ----
  const r2 = ring(4096);
  const h = d.mapMmap(r2, 4 * PAGE, false);
  const cons = d.mapMmap(r2, PAGE, true);
  line("output 5 bytes", show(p.output(r2, Uint8Array.of(1, 2, 3, 4, 5))));
  line("reserve+submit 13 bytes", show(p.reserveSubmit(r2, new Uint8Array(13).fill(0xab))));
  line("reserve+discard 3 bytes", show(p.reserveDiscard(r2, 3)));
  line("output 0 bytes", show(p.output(r2, new Uint8Array(0))));
  line("output with flags 4", show(p.output(r2, Uint8Array.of(1), 4)));
  line("output with flags 3", show(p.output(r2, Uint8Array.of(9), 3)));
  const page2 = read(h, PAGE, 16), data = read(h, 2 * PAGE, 80);
  line("producer page u64 at 0, u64 at 8", [u64At(page2, 0), u64At(page2, 8)]);
  const hdrs = [];
  for (let at = 0; at < Number(u64At(page2, 0));) {
    const len = u32At(data, at), pg = u32At(data, at + 4);
    hdrs.push({ at, len: len.toString(16), pg_off: pg });
    at += Math.ceil(((len & 0x3fff_ffff) + 8) / 8) * 8;
  }
  line("headers", hdrs);
  line("padding bytes after the 5-byte sample", [...data.subarray(13, 16)]);
  for (const [q, name] of [[0, "AVAIL_DATA"], [1, "RING_SIZE"], [2, "CONS_POS"], [3, "PROD_POS"], [4, "flags 4"]]) line(`query ${name}`, p.query(r2, q));

  // ---- full: the exact rule ----
  const r3 = ring(4096);
  const h3 = d.mapMmap(r3, 4 * PAGE, false);
  const c3 = d.mapMmap(r3, PAGE, true);
  line("reserve+submit 4080 (record 4088) in an empty 4096 ring", show(p.reserveSubmit(r3, new Uint8Array(4080))));
  line("then output 0 bytes (record 8)", show(p.output(r3, new Uint8Array(0))));
  const r4 = ring(4096);
  line("reserve+submit 4081 (record 4096) in an empty 4096 ring", show(p.reserveSubmit(r4, new Uint8Array(4081))));
  line("reserve+discard 4089 (record 4104 > size)", show(p.reserveDiscard(r4, 4089)));
  line("output 512 then 7 more of 512 (8 × 520 = 4160)", [0, 1, 2, 3, 4, 5, 6, 7].map(() => show(p.output(r4, new Uint8Array(512).fill(1)))));
  line("prod after", p.query(r4, 3));
  // The consumer position written through the mapping.
  const pos = new Uint8Array(8);
  new DataView(pos.buffer).setBigUint64(0, 4088n, true);
  d.mmapWrite(c3, 0, pos);
  line("after consumer = 4088: AVAIL_DATA, CONS_POS", [p.query(r3, 0), p.query(r3, 2)]);
  line("output 100 bytes (wraps: record at 4088..4096 and 0..)", show(p.output(r3, new Uint8Array(100).map((_, i) => i))));
  const wrap = read(h3, 2 * PAGE + 4088, 112);
  line("wrap record header through the double mapping", [u32At(wrap, 0), u32At(wrap, 4)]);
  line("wrap record bytes 0..7 and 96..99", [[...wrap.subarray(8, 16)], [...wrap.subarray(104, 108)]]);
  const second = read(h3, 2 * PAGE + 4096 + 4088 - 4096, 16);
  line("the same bytes at the first mapping's 4088 (8 bytes) then from 0 of the second", [[...second.subarray(0, 8)], [...read(h3, 3 * PAGE, 16)]]);
  line("bytes 0..15 of the first data page", [...read(h3, 2 * PAGE, 16)]);
  new DataView(pos.buffer).setBigUint64(0, 9999n, true);
  d.mmapWrite(c3, 0, pos);
  line("consumer 9999 (past prod): AVAIL_DATA, output 1", [p.query(r3, 0), show(p.output(r3, Uint8Array.of(1)))]);
  new DataView(pos.buffer).setBigUint64(0, 3n, true);
  d.mmapWrite(c3, 0, pos);
  line("consumer 3 (unaligned, 4104 behind prod 4200): output 1", show(p.output(r3, Uint8Array.of(1))));
  d.munmap(h); d.munmap(cons); d.munmap(h3); d.munmap(c3);
} finally {
  p.close();
  for (const fd of fds) d.close(fd);
}
