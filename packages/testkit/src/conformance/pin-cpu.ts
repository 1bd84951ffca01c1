// Running syscalls on one CPU, for the kernel's exact LRU sequences (kernel-maps.md §7.2/§7.3
// hold only when every bpf(2) call runs on CPU 0) and for programs whose perf event output must
// land on a chosen CPU's event. bpf(2) runs on Node's main thread, and
// `taskset -p` sets the affinity of exactly that thread (its tid is the pid), so the process
// needs no native helper; the old mask is put back afterwards.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

function affinity(): string {
  // The main thread's mask from /proc (a file read, where taskset is a process: 3 ms a pin).
  try {
    const m = /^Cpus_allowed:\s*([0-9a-fA-F,]+)\s*$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return m[1]!;
  } catch {
    // No procfs: ask taskset.
  }
  return tasksetAffinity();
}

function tasksetAffinity(): string {
  const out = execFileSync("taskset", ["-p", String(process.pid)], { encoding: "utf8" });
  const m = /:\s*([0-9a-fA-F,]+)\s*$/.exec(out.trim());
  if (!m) throw new Error(`cannot read the CPU affinity from taskset: ${out.trim()}`);
  return m[1]!;
}

/** Whether `taskset` can pin this process (Linux with util-linux). */
export function canPinCpu(): boolean {
  if (process.platform !== "linux") return false;
  try {
    tasksetAffinity();
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with the main thread pinned to CPU 0, then restores the previous mask. */
export function onCpu0<T>(fn: () => T): T {
  return onCpu(0, fn);
}

/**
 * Awaits `fn` with the main thread pinned to CPU 0, then restores the previous mask. Every
 * bpf(2) call comes from the main thread, so what runs on it between awaits runs pinned too.
 */
export async function onCpu0Async<T>(fn: () => Promise<T>): Promise<T> {
  const restore = pin(0);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/**
 * Runs `fn` with the main thread pinned to `cpu`, then restores the previous mask: a program
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

/** Pins the main thread to `cpu`; the function returned puts the previous mask back. */
function pin(cpu: number): () => void {
  if (!Number.isInteger(cpu) || cpu < 0) throw new RangeError(`onCpu: ${cpu} is not a CPU number`);
  const before = affinity();
  execFileSync("taskset", ["-p", (1n << BigInt(cpu)).toString(16), String(process.pid)], { stdio: "ignore" });
  return () => execFileSync("taskset", ["-p", before, String(process.pid)], { stdio: "ignore" });
}
