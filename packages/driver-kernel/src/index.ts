// @bpfkit/driver-kernel: the Driver over the real bpf(2), Linux only. koffi loads on the first
// createKernelDriver()/kernelDriverAvailable() call, never at import.
import { readFileSync } from "node:fs";
import { BPF_MAP_TYPE_ARRAY, BpfCmd, BpfError, Errno, errnoName, MAP_CREATE_ATTR } from "@bpfkit/core";
import { KernelHostServices } from "./host-services.js";
import { KernelDriver } from "./kernel-driver.js";
import { loadLibc, type Libc } from "./native.js";
import { readPossibleCpus } from "./possible-cpus.js";

export { readPossibleCpus, POSSIBLE_CPUS_PATH } from "./possible-cpus.js";
export { parseMountInfo, unescapeMountField } from "./mountinfo.js";
export { NR_BPF } from "./native.js";
export { setThreadCpuAffinity, threadCpuAffinity } from "./cpu-affinity.js";
export { CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, CAP_SYS_ADMIN, effectiveCapabilities, hasCapability, sysAdminMissing } from "./capabilities.js";
export type { KernelDriver, KernelProgLoadAttr } from "./kernel-driver.js";

interface Process {
  libc: Libc;
  possibleCpus: number;
  pageSize: number;
}
let proc: Process | undefined;
/** The probe's verdict, once bpf(2) has answered: undefined = usable, else why not. */
let verdict: { error: BpfError | undefined } | undefined;

function processState(): Process {
  if (proc === undefined) {
    const libc = loadLibc();
    proc = { libc, possibleCpus: readPossibleCpus(), pageSize: libc.getpagesize() };
  }
  return proc;
}

/** Creates (and closes) a 1-entry ARRAY: the cheapest proof that bpf(2) works for us. */
function probe(p: Process): BpfError | undefined {
  const { koffi } = p.libc;
  const block = koffi.alloc("uint8_t", MAP_CREATE_ATTR.size);
  const dv = new DataView(koffi.view(block, MAP_CREATE_ATTR.size));
  new Uint8Array(dv.buffer).fill(0);
  const off = MAP_CREATE_ATTR.off;
  dv.setUint32(off.map_type, BPF_MAP_TYPE_ARRAY, true);
  dv.setUint32(off.key_size, 4, true);
  dv.setUint32(off.value_size, 4, true);
  dv.setUint32(off.max_entries, 1, true);
  const fd = p.libc.syscall(p.libc.nrBpf, BpfCmd.MAP_CREATE, Number(koffi.address(block)), MAP_CREATE_ATTR.size);
  const errno = koffi.errno();
  koffi.free(block);
  if (fd >= 0) {
    p.libc.close(fd);
    return undefined;
  }
  const denied = errno === Errno.EPERM || errno === Errno.EACCES;
  const why = denied
    ? "bpf(2) needs root or CAP_BPF"
    : errno === Errno.ENOSYS ? "bpf(2) is not available in this kernel" : "bpf(2) cannot create a map here";
  const sysctl = denied ? unprivilegedBpfDisabled() : undefined;
  const detail = sysctl !== undefined && sysctl !== "0" ? `; kernel.unprivileged_bpf_disabled=${sysctl}` : "";
  return new BpfError({ errno, op: "BPF_MAP_CREATE", message: `${why} (BPF_MAP_CREATE: ${errnoName(errno)}${detail})` });
}

/** The sysctl that refuses bpf(2) to users without CAP_BPF (1 and 2: until reboot / until root resets it). */
function unprivilegedBpfDisabled(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8").trim();
  } catch {
    return undefined;
  }
}

function check(): Process {
  const p = processState();
  if (verdict === undefined) verdict = { error: probe(p) };
  const e = verdict.error;
  // A fresh error per throw, so its stack shows this caller, not the first one.
  if (e !== undefined) throw new BpfError({ errno: e.errno, op: e.op, message: e.message });
  return p;
}

/**
 * The Driver over the real bpf(2). Throws a plain Error off Linux, and a BpfError
 * (`bpf(2) needs root or CAP_BPF (BPF_MAP_CREATE: EPERM)`) without the privilege to create maps.
 * Each driver has its own native scratch block; all share the process's fd-shape table. Typed as
 * KernelDriver (a Driver) so that progLoad takes the verifier log options without a cast.
 */
export function createKernelDriver(): KernelDriver {
  const p = check();
  return new KernelDriver(p.libc, p.possibleCpus, new KernelHostServices(p.libc), p.pageSize);
}

/** True when bpf(2) can create a map here (Linux, koffi, privilege). Cached per process. */
export function kernelDriverAvailable(): boolean {
  return kernelDriverUnavailable() === undefined;
}

/**
 * Why createKernelDriver() would throw here (not Linux, koffi not loadable, no bpf(2), no
 * privilege), or undefined when bpf(2) can create a map. Cached per process.
 */
export function kernelDriverUnavailable(): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
