// The calling thread's CPU affinity (sched_getaffinity(2), sched_setaffinity(2) with pid 0), for
// what must run on one CPU: the kernel's LRU lists are per CPU, so its eviction order is
// deterministic only when every bpf(2) call comes from one CPU, and a program run by
// BPF_PROG_TEST_RUN writes to the perf event of the CPU it runs on. bpf(2) runs on the thread
// that calls the driver, so pinning that thread is enough, and costs one syscall where a
// `taskset` process costs milliseconds.
import { loadLibc } from "./native.js";

/** Bytes of the cpu_set_t passed: glibc's default, 1024 CPUs. */
const CPU_SET_SIZE = 128;

/**
 * The CPUs the calling thread may run on, in ascending order. Throws an Error off Linux or
 * without koffi (as createKernelDriver does), and a plain Error with the errno's name when the
 * kernel refuses (which it does not for the calling thread).
 */
export function threadCpuAffinity(): number[] {
  const libc = loadLibc();
  const mask = new Uint8Array(CPU_SET_SIZE);
  if (libc.schedGetaffinity(0, CPU_SET_SIZE, mask) < 0) throw new Error(`sched_getaffinity: errno ${libc.koffi.errno()}`);
  const cpus: number[] = [];
  for (let i = 0; i < CPU_SET_SIZE * 8; i++) if ((mask[i >> 3]! & (1 << (i & 7))) !== 0) cpus.push(i);
  return cpus;
}

/**
 * Lets the calling thread run only on `cpus` (CPU numbers below 1024), moving it at once if
 * it runs elsewhere: 0, or -errno (EINVAL when none of them is online). A list that is empty
 * or holds something other than such numbers is a RangeError.
 */
export function setThreadCpuAffinity(cpus: readonly number[]): number {
  if (!Array.isArray(cpus) || cpus.length === 0) throw new RangeError("setThreadCpuAffinity: cpus must be a non-empty array of CPU numbers");
  const mask = new Uint8Array(CPU_SET_SIZE);
  for (const c of cpus) {
    if (!Number.isInteger(c) || c < 0 || c >= CPU_SET_SIZE * 8) {
      throw new RangeError(`setThreadCpuAffinity: ${String(c)} is not a CPU number below ${CPU_SET_SIZE * 8}`);
    }
    mask[c >> 3]! |= 1 << (c & 7);
  }
  const libc = loadLibc();
  return libc.schedSetaffinity(0, CPU_SET_SIZE, mask) < 0 ? -libc.koffi.errno() : 0;
}
