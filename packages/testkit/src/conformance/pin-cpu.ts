// Running syscalls on one CPU, for the kernel's exact LRU sequences (kernel-maps.md §7.2/§7.3
// hold only when every bpf(2) call runs on CPU 0) and for programs whose perf event output must
// land on a chosen CPU's event. bpf(2) runs on the thread that calls the driver, so pinning that
// thread is enough: driver-kernel's sched_setaffinity(2) of the calling thread, one syscall
// (where a `taskset` process took 3 ms), and the old mask is put back afterwards.
import { setThreadCpuAffinity, threadCpuAffinity } from "@bpfkit/driver-kernel";

/** Whether this thread can be pinned (Linux, with koffi loadable). */
export function canPinCpu(): boolean {
  if (process.platform !== "linux") return false;
  try {
    threadCpuAffinity();
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with the calling thread pinned to CPU 0, then restores the previous mask. */
export function onCpu0<T>(fn: () => T): T {
  return onCpu(0, fn);
}

/** The awaited runs on CPU 0 not yet ended, and how to put back the mask from before the first. */
const async0 = { runs: 0, restore: undefined as (() => void) | undefined };

/**
 * Awaits `fn` with the calling thread pinned to CPU 0, then restores the previous mask. Every
 * bpf(2) call comes from this thread, so what runs on it between awaits runs pinned too. Runs
 * that overlap share the pin, and the last to end restores the mask from before the first: one
 * restoring its own would unpin the others mid-run, or pin the thread for good.
 */
export async function onCpu0Async<T>(fn: () => Promise<T>): Promise<T> {
  if (async0.runs === 0) async0.restore = pin(0);
  async0.runs++;
  try {
    return await fn();
  } finally {
    if (--async0.runs === 0) {
      const restore = async0.restore!;
      async0.restore = undefined;
      restore();
    }
  }
}

/**
 * Runs `fn` with the calling thread pinned to `cpu`, then restores the previous mask: a program
 * run by BPF_PROG_TEST_RUN from this thread runs there (what a perf event of that CPU needs).
 */
export function onCpu<T>(cpu: number, fn: () => T): T {
  const restore = pin(cpu);
  try {
    return fn();
  } finally {
    restore();
  }
}

/** Pins the calling thread to `cpu`; the function returned puts the previous mask back. */
function pin(cpu: number): () => void {
  if (!Number.isInteger(cpu) || cpu < 0) throw new RangeError(`onCpu: ${cpu} is not a CPU number`);
  const before = threadCpuAffinity();
  const r = setThreadCpuAffinity([cpu]);
  if (r < 0) throw new Error(`onCpu: cannot pin this thread to CPU ${cpu}: sched_setaffinity errno ${-r}`);
  return () => {
    const back = setThreadCpuAffinity(before);
    if (back < 0) throw new Error(`onCpu: cannot restore this thread's CPUs ${before.join(",")}: sched_setaffinity errno ${-back}`);
  };
}
