// The kernel datapath: a worker thread with its own koffi and its own fd to the map (by id),
// updating and deleting keys with raw bpf(2) while the main thread dumps. It is JavaScript in a
// string because a worker cannot load the TypeScript sources tests run from; it stays tiny.
//
// Protocol: the main thread posts { cmd: "churn", seq, … } and waits on ctl[0] (1 = churning);
// the worker loops until ctl[1] is set, then posts what it did with the same seq. { cmd: "exit" }
// ends it. ctl[2] is the aim: 1 + the id of the key the dump's last GET_NEXT_KEY returned (0:
// none). Half the operations go at it when the plan lets the thread touch it, so that a key
// vanishes between the walk's next-key and its lookup far more often than by chance.
// committed[id] is the last version of key id whose update has returned: a read that starts
// later sees that version or a newer one.
export const KERNEL_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const koffi = require(workerData.koffiPath);
const lib = koffi.load("libc.so.6");
const syscall = lib.func("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)");
const closeFd = lib.func("int close(int fd)");
const NR_BPF = process.arch === "arm64" ? 280 : 321;
const SIZE = 1 << 16;
const block = koffi.alloc("uint8_t", SIZE);
const u8 = new Uint8Array(koffi.view(block, SIZE));
const dv = new DataView(u8.buffer);
const base = Number(koffi.address(block));
const KEY = 256, VALUE = 4096;

function bpf(cmd, size) {
  const r = syscall(NR_BPF, cmd, base, size);
  return r < 0 ? -koffi.errno() : r;
}
function ptr(at, off) {
  const a = base + off;
  dv.setUint32(at, a >>> 0, true);
  dv.setUint32(at + 4, Math.floor(a / 0x100000000), true);
}
// mulberry32: the same seed picks the same operations (their timing is the scheduler's).
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

parentPort.on("message", (m) => {
  if (m.cmd === "exit") { koffi.free(block); process.exit(0); }
  const ctl = new Int32Array(m.ctl);
  const committed = new Int32Array(m.committed);
  u8.fill(0, 0, 32);
  dv.setUint32(0, m.mapId, true);
  const fd = bpf(14 /* MAP_GET_FD_BY_ID */, 12);
  if (fd < 0) { Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0); parentPort.postMessage({ seq: m.seq, error: "MAP_GET_FD_BY_ID " + m.mapId + ": errno " + (-fd) }); return; }
  if (m.ids.length === 0) {
    closeFd(fd);
    parentPort.postMessage({ seq: m.seq, touched: [], deleted: [], written: [], maxVersion: [], ops: 0, seconds: 0 });
    return;
  }
  const rand = prng(m.seed);
  const mine = new Set(m.ids);
  const touched = new Set(), deleted = new Set(), written = new Set(), maxVersion = new Map();
  let ops = 0;
  const t0 = performance.now();
  const elem = (cmd, id, withValue) => {
    u8.fill(0, 0, 32);
    dv.setUint32(0, fd, true);
    u8.set(m.keys.subarray(id * m.keySize, (id + 1) * m.keySize), KEY);
    ptr(8, KEY);
    if (withValue) ptr(16, VALUE);
    return bpf(cmd, 32);
  };
  while (Atomics.load(ctl, 1) === 0) {
    const aimed = Atomics.load(ctl, 2) - 1;
    const id = aimed >= 0 && mine.has(aimed) && rand() < 0.5 ? aimed : m.ids[Math.floor(rand() * m.ids.length)];
    if (rand() < m.updateShare) {
      const version = (maxVersion.get(id) || 0) + 1;
      // Every CPU's slot alike, in the layout of universe.ts: id + 1, version, a pattern.
      u8.fill(0, VALUE, VALUE + m.userValueSize);
      for (let c = 0; c < m.cpus; c++) {
        const o = VALUE + c * m.slot;
        dv.setUint32(o, id + 1, true);
        dv.setUint32(o + 4, version, true);
        for (let j = 8; j < m.valueSize; j++) u8[o + j] = (id + version + j) & 0xff;
      }
      if (elem(2 /* UPDATE */, id, true) === 0) {
        touched.add(id); written.add(id); maxVersion.set(id, version);
        Atomics.store(committed, id, version);
      }
    } else if (elem(3 /* DELETE */, id, false) === 0) {
      touched.add(id);
      deleted.add(id);
    }
    ops++;
    if (ops === 1) { Atomics.store(ctl, 0, 1); Atomics.notify(ctl, 0); }
  }
  closeFd(fd);
  parentPort.postMessage({ seq: m.seq, touched: [...touched], deleted: [...deleted], written: [...written], maxVersion: [...maxVersion], ops, seconds: (performance.now() - t0) / 1000 });
});
`;
