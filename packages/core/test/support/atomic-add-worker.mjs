// A second thread that runs a socket filter whose every run does `lock *(u64 *)value0 += 1` on
// an mmapable array (BPF_ATOMIC), through BPF_PROG_TEST_RUN with `repeat`, while the main thread
// works on the same word through its mapping. Its own koffi and raw bpf(2): worker threads cannot
// load the TS sources. Counts the test runs made in `counter[0]` until `counter[1]` is set.
import { createRequire } from "node:module";
import { workerData } from "node:worker_threads";

const { koffiFrom, progFd, repeat, counter } = workerData;
const koffi = createRequire(koffiFrom)("koffi");
const syscall = koffi.load("libc.so.6").func("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)");
const NR_BPF = process.arch === "arm64" ? 280 : 321;
const ATTR = 80, PACKET = 64;
const block = koffi.alloc("uint8_t", ATTR + PACKET);
const u8 = new Uint8Array(koffi.view(block, ATTR + PACKET));
const dv = new DataView(u8.buffer);
const base = Number(koffi.address(block));
const shared = new Int32Array(counter);

while (Atomics.load(shared, 1) === 0) {
  u8.fill(0);
  dv.setUint32(0, progFd, true); // prog_fd
  dv.setUint32(8, PACKET, true); // data_size_in: a socket filter wants at least an Ethernet header
  dv.setBigUint64(16, BigInt(base + ATTR), true); // data_in
  dv.setUint32(32, repeat, true); // repeat
  const r = syscall(NR_BPF, 10 /* BPF_PROG_TEST_RUN */, base, ATTR);
  if (r < 0) throw new Error(`BPF_PROG_TEST_RUN: errno ${koffi.errno()}`);
  Atomics.add(shared, 0, 1);
}
koffi.free(block);
