// A second thread that changes a kernel map while the main thread dumps it: its own koffi, its
// own fd (MAP_GET_FD_BY_ID), raw bpf(2). Plain JS because worker threads cannot load the TS
// sources the tests run from. It cycles through `churnKeys`: insert key i, delete key i-lag
// (Cilium's TestDumpReliablyWithCallback does lag 1; a larger lag keeps `lag` churn keys
// present), counting operations in `counter[0]` until `counter[1]` is set.
import { createRequire } from "node:module";
import { workerData } from "node:worker_threads";

const { koffiFrom, mapId, keySize, valueSize, churnKeys, counter, lag = 1 } = workerData;
const koffi = createRequire(koffiFrom)("koffi");
const lib = koffi.load("libc.so.6");
const syscall = lib.func("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)");
const NR_BPF = process.arch === "arm64" ? 280 : 321;
const size = 256 + keySize + valueSize;
const block = koffi.alloc("uint8_t", size);
const u8 = new Uint8Array(koffi.view(block, size));
const dv = new DataView(u8.buffer);
const base = Number(koffi.address(block));
const keyOff = 256;
const valueOff = 256 + keySize;
const shared = new Int32Array(counter);

function bpf(cmd, attrSize) {
  const r = syscall(NR_BPF, cmd, base, attrSize);
  return r < 0 ? -koffi.errno() : r;
}
function setPtr(at, off) {
  const addr = base + off;
  dv.setUint32(at, addr >>> 0, true);
  dv.setUint32(at + 4, Math.floor(addr / 0x1_0000_0000), true);
}

u8.fill(0, 0, 256);
dv.setUint32(0, mapId, true);
const fd = bpf(14 /* MAP_GET_FD_BY_ID */, 12);
if (fd < 0) throw new Error(`MAP_GET_FD_BY_ID ${mapId}: errno ${-fd}`);

function elem(cmd, key, withValue) {
  u8.fill(0, 0, 32);
  dv.setUint32(0, fd, true);
  u8.fill(0, keyOff, keyOff + keySize);
  dv.setUint32(keyOff, key, true);
  setPtr(8, keyOff);
  if (withValue) {
    u8.fill(0, valueOff, valueOff + valueSize);
    dv.setUint32(valueOff, key + 100, true);
    setPtr(16, valueOff);
  }
  return bpf(cmd, 32);
}

let i = 0;
while (Atomics.load(shared, 1) === 0) {
  const k = churnKeys[i % churnKeys.length];
  const prevKey = churnKeys[(i + churnKeys.length * lag - lag) % churnKeys.length];
  elem(2 /* UPDATE */, k, true);
  elem(3 /* DELETE */, prevKey, false);
  Atomics.add(shared, 0, 2);
  i++;
}
lib.func("int close(int fd)")(fd);
koffi.free(block);
