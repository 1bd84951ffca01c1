// A second thread that keeps rewriting one element of a map whose value is
// `struct { struct bpf_spin_lock lock; __u8 fill[wide]; }` with BPF_F_LOCK, every byte of `fill`
// the same and new each time, while the main thread reads it. Its own koffi and raw bpf(2):
// worker threads cannot load the TS sources (they share the process's fds). Counts its updates
// in counter[0] until counter[1] is set.
import { createRequire } from "node:module";
import { workerData } from "node:worker_threads";

const { koffiFrom, mapFd, counter, wide } = workerData;
const koffi = createRequire(koffiFrom)("koffi");
const syscall = koffi.load("libc.so.6").func("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)");
const NR_BPF = process.arch === "arm64" ? 280 : 321;
const BPF_MAP_UPDATE_ELEM = 2, BPF_F_LOCK = 4n;
const ATTR = 32, KEY = 4, LOCK = 4;
const size = ATTR + KEY + LOCK + wide;
const block = koffi.alloc("uint8_t", size);
const u8 = new Uint8Array(koffi.view(block, size));
const dv = new DataView(u8.buffer);
const base = BigInt(koffi.address(block));
const shared = new Int32Array(counter);

for (let i = 1; Atomics.load(shared, 1) === 0; i++) {
  u8.fill(0);
  dv.setUint32(0, mapFd, true); // map_fd
  dv.setBigUint64(8, base + BigInt(ATTR), true); // key: 0
  dv.setBigUint64(16, base + BigInt(ATTR + KEY), true); // value
  dv.setBigUint64(24, BPF_F_LOCK, true); // flags
  // One byte value per write (never 0, the first value's): only a copy made without the lock can
  // see two of them at once.
  u8.fill(1 + (i % 255), ATTR + KEY + LOCK, size);
  const r = syscall(NR_BPF, BPF_MAP_UPDATE_ELEM, Number(base), ATTR);
  if (r < 0) throw new Error(`BPF_MAP_UPDATE_ELEM with BPF_F_LOCK: errno ${koffi.errno()}`);
  Atomics.add(shared, 0, 1);
}
koffi.free(block);
