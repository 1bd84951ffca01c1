// A second thread that opens a pin with BPF_OBJ_GET as fast as it can and closes each fd, while
// the main thread replaces the map pinned there: it counts the opens that found the pin and
// those that did not (ENOENT), so a test can show that the path is never empty. Plain JS, its
// own koffi and raw bpf(2), as churn-worker.mjs. counter: [opened, ENOENT, other errors, stop].
import { createRequire } from "node:module";
import { workerData } from "node:worker_threads";

const { koffiFrom, path, counter, cpu } = workerData;
const koffi = createRequire(koffiFrom)("koffi");
const lib = koffi.load("libc.so.6");
if (cpu !== undefined) {
  // This thread alone on `cpu` (pid 0: the calling thread), the main thread elsewhere, so that
  // the two really run at once and a gap of a few microseconds is seen.
  const mask = new Uint8Array(128);
  mask[cpu >> 3] = 1 << (cpu & 7);
  if (lib.func("int sched_setaffinity(int pid, size_t size, const uint8_t *mask)")(0, mask.length, mask) < 0) {
    throw new Error(`sched_setaffinity(CPU ${cpu}): errno ${koffi.errno()}`);
  }
}
const syscall = lib.func("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)");
const close = lib.func("int close(int fd)");
const NR_BPF = process.arch === "arm64" ? 280 : 321;
const OBJ_GET = 7;
const ENOENT = 2;
const name = Buffer.from(`${path}\0`);
const size = 64 + name.length;
const block = koffi.alloc("uint8_t", size);
const u8 = new Uint8Array(koffi.view(block, size));
const dv = new DataView(u8.buffer);
const base = Number(koffi.address(block));
const shared = new Int32Array(counter);

u8.set(name, 64);
const addr = base + 64;
dv.setUint32(0, addr >>> 0, true);
dv.setUint32(4, Math.floor(addr / 0x1_0000_0000), true);
while (Atomics.load(shared, 3) === 0) {
  // pathname stays; bpf_fd, file_flags and path_fd are 0.
  dv.setBigUint64(8, 0n, true);
  dv.setUint32(16, 0, true);
  const fd = syscall(NR_BPF, OBJ_GET, base, 20);
  if (fd >= 0) {
    close(fd);
    Atomics.add(shared, 0, 1);
  } else {
    Atomics.add(shared, koffi.errno() === ENOENT ? 1 : 2, 1);
  }
}
koffi.free(block);
