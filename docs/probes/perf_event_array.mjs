// Probes PERF_EVENT_ARRAY and the BPF output event's ring on the running kernel, through the
// kernel driver (build first: pnpm exec tsc -b). Prints one JSON line per question. Runs the
// programs by BPF_PROG_TEST_RUN with the main thread pinned to a CPU (taskset); attaches nothing.
import { execFileSync } from "node:child_process";
import { createKernelDriver } from "../../packages/driver-kernel/dist/index.js";
import { perfOutputProgram, perfOutputFromValueProgram } from "../../packages/testkit/dist/perf/programs.js";

const d = createKernelDriver();
const PAGE = 4096, PEA = 4, ARRAY = 2;
const out = (q, a) => console.log(JSON.stringify({ q, a }, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
const u32 = (n) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const u64at = (b, at) => new DataView(b.buffer, b.byteOffset).getBigUint64(at, true);
const fds = [];
const keep = (fd) => { if (fd >= 0) fds.push(fd); return fd; };
const affinity = () => /:\s*([0-9a-f,]+)\s*$/.exec(execFileSync("taskset", ["-p", String(process.pid)], { encoding: "utf8" }).trim())[1];
function onCpu(cpu, fn) {
  const before = affinity();
  execFileSync("taskset", ["-p", (1 << cpu).toString(16), String(process.pid)], { stdio: "ignore" });
  try { return fn(); } finally { execFileSync("taskset", ["-p", before, String(process.pid)], { stdio: "ignore" }); }
}
function run(cpu, insns) {
  const p = d.progLoad({ progType: 1, insns, license: "GPL" });
  if (p < 0) return `load ${p}`;
  try { return onCpu(cpu, () => d.progTestRun(p, { dataIn: new Uint8Array(64) }).retval | 0); } finally { d.close(p); }
}
const output = (cpu, map, data, flags = 0xffffffffn) => run(cpu, perfOutputProgram(map, data, flags));
const pat = (n, s = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + s) & 0xff);
const rd = (ring, at, n) => { const b = new Uint8Array(n); const r = d.mmapRead(ring, at, b); if (r !== 0) throw new Error(`read ${r}`); return b; };
const hex = (b) => Buffer.from(b).toString("hex");
const create = (o) => d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: 2, ...o });

// ---- create
for (const [name, o] of Object.entries({
  plain: {}, value8: { valueSize: 8 }, key8: { keySize: 8 }, max0: { maxEntries: 0 }, preserve: { mapFlags: 1 << 11 },
  rdonlyProg: { mapFlags: 1 << 7 }, wronlyProg: { mapFlags: 1 << 8 }, mmapable: { mapFlags: 1 << 10 }, innerMap: { mapFlags: 1 << 12 },
  rdonly: { mapFlags: 1 << 3 }, noPrealloc: { mapFlags: 1 }, zeroSeed: { mapFlags: 1 << 6 }, max64K: { maxEntries: 1 << 16 },
})) { const r = create(o); out(`create ${name}`, r); if (r >= 0) d.close(r); }

// ---- elements
{
  const m = keep(create({})), ev0 = keep(d.perfEventOpen({ cpu: 0 })), ev1 = keep(d.perfEventOpen({ cpu: 1 }));
  out("update ev0 at 0", d.mapUpdateElem(m, u32(0), u32(ev0)));
  out("update ev1 at 0 again (replace)", d.mapUpdateElem(m, u32(0), u32(ev1)));
  out("update map fd", d.mapUpdateElem(m, u32(1), u32(m)));
  out("update fd 9999", d.mapUpdateElem(m, u32(1), u32(9999)));
  out("update fd 0 (stdin)", d.mapUpdateElem(m, u32(1), u32(0)));
  out("update NOEXIST", d.mapUpdateElem(m, u32(1), u32(ev0), 1));
  out("update index 2", d.mapUpdateElem(m, u32(2), u32(ev0)));
  out("update index 2, bad fd", d.mapUpdateElem(m, u32(2), u32(9999)));
  out("update flags 1, index 2", d.mapUpdateElem(m, u32(2), u32(ev0), 1));
  const v = new Uint8Array(4);
  out("lookup filled", d.mapLookupElem(m, u32(0), v));
  out("lookup empty", d.mapLookupElem(m, u32(1), v));
  out("lookup index 2", d.mapLookupElem(m, u32(2), v));
  out("lookup F_LOCK", d.mapLookupElem(m, u32(0), v, 4));
  const nk = new Uint8Array(4);
  out("next null", [d.mapGetNextKey(m, null, nk), [...nk]]);
  out("next 0", [d.mapGetNextKey(m, u32(0), nk), [...nk]]);
  out("next 1", d.mapGetNextKey(m, u32(1), nk));
  out("next 7", [d.mapGetNextKey(m, u32(7), nk), [...nk]]);
  out("lookupAndDelete", d.mapLookupAndDeleteElem(m, u32(0), v));
  const keys = new Uint8Array(8), vals = new Uint8Array(8), ob = new Uint8Array(4);
  out("lookupBatch", d.mapLookupBatch(m, null, ob, keys, vals, 2));
  out("lookupAndDeleteBatch", d.mapLookupAndDeleteBatch(m, null, ob, keys, vals, 2));
  out("updateBatch", d.mapUpdateBatch(m, Uint8Array.of(0, 0, 0, 0), u32(ev0), 1));
  out("deleteBatch", d.mapDeleteBatch(m, Uint8Array.of(1, 0, 0, 0), 1));
  out("delete filled", d.mapDeleteElem(m, u32(0)));
  out("delete empty", d.mapDeleteElem(m, u32(0)));
  out("delete index 2", d.mapDeleteElem(m, u32(2)));
  out("freeze", d.mapFreeze(m));
  out("update after freeze", d.mapUpdateElem(m, u32(0), u32(ev0)));
  const info = d.mapFdInfo?.(m); out("fdinfo", info);
  const ro = keep(d.mapCreate({ mapType: PEA, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 1 << 3 }));
  out("update rdonly fd", d.mapUpdateElem(ro, u32(0), u32(ev0)));
}
// ---- release clearing
{
  const state = (m) => { const r = d.mapDeleteElem(m, u32(0)); return r; };
  for (const preserve of [false, true]) {
    const a = keep(create({ mapFlags: preserve ? 1 << 11 : 0 })), ev = keep(d.perfEventOpen({ cpu: 0 }));
    const info = new Uint8Array(80); d.objGetInfoByFd(a, info); const id = new DataView(info.buffer).getUint32(4, true);
    const b = keep(d.mapGetFdById(id));
    const c = d.dup(b);
    d.mapUpdateElem(b, u32(0), u32(ev));
    d.close(c);
    out(`preserve=${preserve}: dup of the updating fd closed → delete answers`, state(a));
    d.mapUpdateElem(b, u32(0), u32(ev));
    d.close(b); fds.splice(fds.indexOf(b), 1);
    out(`preserve=${preserve}: updating file closed → delete answers`, state(a));
    d.mapUpdateElem(a, u32(0), u32(ev));
    d.close(ev); fds.splice(fds.indexOf(ev), 1);
    out(`preserve=${preserve}: event fd closed → delete answers`, state(a));
  }
}
// ---- mmap
{
  const ev = keep(d.perfEventOpen({ cpu: 0 }));
  for (const [len, w, off] of [[PAGE, true, 0], [2 * PAGE, true, 0], [3 * PAGE, true, 0], [5 * PAGE, true, 0], [2 * PAGE, true, PAGE], [2 * PAGE, false, 0], [PAGE + 100, true, 0], [0, true, 0], [17 * PAGE, false, 0]]) {
    const ev2 = d.perfEventOpen({ cpu: 0 });
    const r = d.mapMmap(ev2, len, w, off);
    out(`mmap fresh len=${len} w=${w} off=${off}`, r < 0 ? r : "ok");
    if (r >= 0) d.munmap(r);
    d.close(ev2);
  }
  for (const n of [3, 4, 6, 7, 10]) { const ev2 = d.perfEventOpen({ cpu: 0 }); out(`fresh ${n} pages`, d.mapMmap(ev2, n * PAGE, false)); d.close(ev2); }
  const m1 = d.mapMmap(ev, 2 * PAGE, true); out("first 2 pages", m1 >= 0 ? "ok" : m1);
  out("second, 3 pages", d.mapMmap(ev, 3 * PAGE, true));
  out("second, 1 page", d.mapMmap(ev, PAGE, true));
  const m1b = d.mapMmap(ev, 2 * PAGE, true); out("second, 2 pages rw", m1b >= 0 ? "ok" : m1b); if (m1b >= 0) d.munmap(m1b);
  out("second, 5 pages", d.mapMmap(ev, 5 * PAGE, true));
  const m2 = d.mapMmap(ev, 2 * PAGE, false); out("second, 2 pages read-only", m2 >= 0 ? "ok" : m2);
  out("write to the ro", m2 >= 0 ? d.mmapWrite(m2, 1032, new Uint8Array(8)) : null);
  const hdr = rd(m1, 0, PAGE);
  const words = {}; for (let i = 0; i < PAGE; i += 8) { const w = u64at(hdr, i); if (w !== 0n) words[i] = w.toString(16); }
  out("header words (hex) after mmap", words);
  if (m2 >= 0) d.munmap(m2);
  d.munmap(m1);
  const m3 = d.mapMmap(ev, 5 * PAGE, true); out("after unmapping all, 5 pages", m3 >= 0 ? "ok" : m3);
  if (m3 >= 0) d.munmap(m3);
  const m4 = d.mapMmap(ev, 2 * PAGE, false); out("ro first", m4 >= 0 ? "ok" : m4);
  const m5 = d.mapMmap(ev, 2 * PAGE, true); out("then rw", m5 >= 0 ? "ok" : m5);
  if (m5 >= 0) d.munmap(m5);
  if (m4 >= 0) d.munmap(m4);
  const m = keep(create({}));
  out("mmap of the PERF_EVENT_ARRAY map", d.mapMmap(m, PAGE, false));
  out("poll of the PERF_EVENT_ARRAY map", await d.mapPoll(m, 0));
}
// ---- records and helper answers
{
  const m = keep(create({})), evs = [0, 1].map((c) => keep(d.perfEventOpen({ cpu: c })));
  const rings = evs.map((ev) => d.mapMmap(ev, 2 * PAGE, true));
  evs.forEach((ev, c) => d.mapUpdateElem(m, u32(c), u32(ev)));
  out("poll before output", await d.mapPoll(evs[0], 0));
  const empty = keep(create({}));
  out("output to empty slot", output(0, empty, pat(8)));
  out("output index 5 (E2BIG)", output(0, m, pat(8), 5n));
  out("output index 1 from cpu 0", output(0, m, pat(8), 1n));
  out("output bad flags 1<<52", output(0, m, pat(8), 1n << 52n));
  out("output bad flags 1<<32 (ctxlen)", output(0, m, pat(8), 1n << 32n));
  let pos = 0;
  for (const n of [0, 1, 4, 5, 8, 12, 13]) {
    out(`output ${n} on cpu 0`, output(0, m, pat(n, n)));
    const head = Number(u64at(rd(rings[0], 1024, 8), 0));
    out(`record of ${n}`, hex(rd(rings[0], PAGE + pos, head - pos)));
    pos = head;
  }
  out("poll after outputs", await d.mapPoll(evs[0], 0));
  out("poll again", await d.mapPoll(evs[0], 0));
  out("index 0 from cpu 1 (EOPNOTSUPP)", output(1, m, pat(8), 0n));
  out("current cpu on cpu 1", output(1, m, pat(8)));
  out("cpu1 head", u64at(rd(rings[1], 1024, 8), 0));
  const hdr = rd(rings[0], 0, 1056);
  const words = {}; for (let i = 0; i < 1056; i += 8) { const w = u64at(hdr, i); if (w !== 0n) words[i] = w.toString(16); }
  out("header words after outputs", words);
  rings.forEach((r) => d.munmap(r));
  out("output after munmap", output(0, m, pat(8)));
}
// ---- full ring, lost
{
  const m = keep(create({})), ev = keep(d.perfEventOpen({ cpu: 0 }));
  const ring = d.mapMmap(ev, 2 * PAGE, true);
  d.mapUpdateElem(m, u32(0), u32(ev));
  const rs = [];
  for (let i = 0; i < 45; i++) rs.push(output(0, m, pat(84, i))); // 96-byte records
  out("45 outputs of 96-byte records in 4096", rs.join(","));
  out("head", u64at(rd(ring, 1024, 8), 0));
  // Free one record's room: not enough for the lost record + a sample?
  d.mmapWrite(ring, 1032, Uint8Array.of(96, 0, 0, 0, 0, 0, 0, 0));
  out("after tail 96, output 96", output(0, m, pat(84, 99)));
  d.mmapWrite(ring, 1032, Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0));
  out("after tail 256, output 96", output(0, m, pat(84, 99)));
  const head = Number(u64at(rd(ring, 1024, 8), 0));
  out("head", head);
  out("bytes from 4032", hex(rd(ring, PAGE + (4032 % 4096), 64)));
  out("wrapped bytes", hex(rd(ring, PAGE, 160)));
  // exactly-full: can the ring hold 4096 bytes?
  d.munmap(ring);
  const ring2 = d.mapMmap(ev, 2 * PAGE, true);
  const r2 = [];
  for (let i = 0; i < 3; i++) r2.push(output(0, m, pat(508, i))); // 520-byte records
  out("head after 3 × 520", u64at(rd(ring2, 1024, 8), 0));
  d.munmap(ring2);
  // Read-only ring: overwrite.
  const ring3 = d.mapMmap(ev, 2 * PAGE, false);
  const r3 = []; for (let i = 0; i < 50; i++) r3.push(output(0, m, pat(84, i)));
  out("ro ring: 50 outputs", [...new Set(r3)].join(","));
  out("ro ring head, tail", [u64at(rd(ring3, 1024, 8), 0), u64at(rd(ring3, 1032, 8), 0)]);
  d.munmap(ring3);
  // Header only: no data pages.
  const ring4 = d.mapMmap(ev, PAGE, true);
  out("header-only output", output(0, m, pat(8)));
  out("header-only head/size", [u64at(rd(ring4, 1024, 8), 0), u64at(rd(ring4, 1048, 8), 0)]);
  d.munmap(ring4);
}
// ---- two mappings, either order: the ring's mode is fixed by the first (rb_alloc's RING_BUFFER_WRITABLE)
for (const firstWritable of [false, true]) {
  const m = keep(create({})), ev = keep(d.perfEventOpen({ cpu: 0 }));
  const first = d.mapMmap(ev, 2 * PAGE, firstWritable);
  const second = d.mapMmap(ev, 2 * PAGE, !firstWritable);
  const rw = firstWritable ? first : second;
  const tag = firstWritable ? "rw then ro" : "ro then rw";
  out(`${tag}: both map`, [first >= 0 ? "ok" : first, second >= 0 ? "ok" : second]);
  d.mapUpdateElem(m, u32(0), u32(ev));
  const rs = []; for (let i = 0; i < 50; i++) rs.push(output(0, m, pat(84, i))); // 96-byte records, 4096 bytes of data
  out(`${tag}: 50 outputs of 96-byte records`, rs.join(","));
  out(`${tag}: head, tail (through either mapping)`, [u64at(rd(first, 1024, 8), 0), u64at(rd(second, 1032, 8), 0)]);
  // data_tail written through the writable mapping, 480 bytes of room left: honoured (4 more fit) or ignored (all 10)?
  const head = u64at(rd(rw, 1024, 8), 0);
  const tailBytes = new Uint8Array(8); new DataView(tailBytes.buffer).setBigUint64(0, head - 4096n + 480n, true);
  out(`${tag}: write data_tail = head - 4096 + 480`, d.mmapWrite(rw, 1032, tailBytes));
  const rs2 = []; for (let i = 0; i < 10; i++) rs2.push(output(0, m, pat(84, 100 + i)));
  out(`${tag}: then 10 outputs`, rs2.join(","));
  out(`${tag}: head, tail after`, [u64at(rd(first, 1024, 8), 0), u64at(rd(first, 1032, 8), 0)]);
  // The first mapping gone, the second alone: the ring (and its mode) is the same one.
  d.munmap(first);
  new DataView(tailBytes.buffer).setBigUint64(0, u64at(rd(second, 1024, 8), 0), true);
  if (second === rw) d.mmapWrite(rw, 1032, tailBytes);
  const rs3 = []; for (let i = 0; i < 50; i++) rs3.push(output(0, m, pat(84, 200 + i)));
  out(`${tag}: first unmapped, 50 outputs through the second alone`, rs3.join(","));
  out(`${tag}: head after`, u64at(rd(second, 1024, 8), 0));
  d.munmap(second);
}
// ---- wake-ups
{
  for (const attr of [{ wakeupEvents: 1 }, { wakeupEvents: 3 }, { wakeupEvents: 0 }, { wakeupWatermark: 200 }, { wakeupWatermark: 0 }]) {
    const m = keep(create({})), ev = keep(d.perfEventOpen({ cpu: 0, ...attr }));
    const ring = d.mapMmap(ev, 2 * PAGE, true);
    d.mapUpdateElem(m, u32(0), u32(ev));
    const seen = [];
    for (let i = 0; i < 24; i++) { output(0, m, pat(84, i)); seen.push(await d.mapPoll(ev, 0)); }
    out(`poll after each 96-byte output ${JSON.stringify(attr)}`, seen.join(""));
    d.munmap(ring);
  }
  // poll with no ring
  const ev = keep(d.perfEventOpen({ cpu: 0 }));
  out("poll unmapped event", await d.mapPoll(ev, 0));
}
// ---- big records
{
  const m = keep(create({})), ev = keep(d.perfEventOpen({ cpu: 0 }));
  const ring = d.mapMmap(ev, 33 * PAGE, true);
  d.mapUpdateElem(m, u32(0), u32(ev));
  const vm = keep(d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 70000, maxEntries: 1 }));
  d.mapUpdateElem(vm, u32(0), pat(70000));
  let last = 0;
  for (const n of [65516, 65520, 65524, 65528, 65532, 66000]) {
    const r = run(0, perfOutputFromValueProgram(m, vm, n, 0xffffffffn));
    const head = Number(u64at(rd(ring, 1024, 8), 0));
    out(`output of ${n}`, [r, head - last, hex(rd(ring, PAGE + (last % (32 * PAGE)), 16))]);
    last = head;
    d.mmapWrite(ring, 1032, (() => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(head), true); return b; })());
  }
  d.munmap(ring);
}
for (const fd of fds) d.close(fd);
