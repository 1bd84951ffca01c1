// @bpfkit/driver-kernel: the Driver over the real bpf(2), Linux only. koffi loads on the first
// createKernelDriver()/kernelDriverAvailable() call, never at import.
import { BpfCmd, BpfError, Errno, errnoName, MAP_CREATE_ATTR, type Driver } from "@bpfkit/core";
import { KernelHostServices } from "./host-services.js";
import { KernelDriver } from "./kernel-driver.js";
import { loadLibc, type Libc } from "./native.js";
import { readPossibleCpus } from "./possible-cpus.js";
import { Scratch } from "./scratch.js";

export { countCpuList, parseCpuList, readPossibleCpus, POSSIBLE_CPUS_PATH } from "./possible-cpus.js";
export { parseMountInfo, unescapeMountField } from "./mountinfo.js";
export { NR_BPF } from "./native.js";
export { KernelDriver } from "./kernel-driver.js";

interface Process {
  libc: Libc;
  scratch: Scratch;
  possibleCpus: number;
}
let proc: Process | undefined;
/** The probe's verdict, once bpf(2) has answered: undefined = usable, else the error. */
let verdict: { error: Error | undefined } | undefined;

function processState(): Process {
  if (proc === undefined) {
    const libc = loadLibc();
    proc = { libc, scratch: new Scratch(libc.koffi), possibleCpus: readPossibleCpus() };
  }
  return proc;
}

/** Creates (and closes) a 1-entry ARRAY: the cheapest proof that bpf(2) works for us. */
function probe(p: Process): Error | undefined {
  const s = p.scratch;
  s.u8.fill(0, 0, MAP_CREATE_ATTR.size);
  const off = MAP_CREATE_ATTR.off;
  s.dv.setUint32(off.map_type, 2, true);
  s.dv.setUint32(off.key_size, 4, true);
  s.dv.setUint32(off.value_size, 4, true);
  s.dv.setUint32(off.max_entries, 1, true);
  const fd = p.libc.syscall(p.libc.nrBpf, BpfCmd.MAP_CREATE, s.base, MAP_CREATE_ATTR.size);
  if (fd >= 0) {
    p.libc.close(fd);
    return undefined;
  }
  const errno = p.libc.koffi.errno();
  const why = errno === Errno.EPERM || errno === Errno.EACCES
    ? "bpf(2) needs root or CAP_BPF"
    : errno === Errno.ENOSYS ? "bpf(2) is not available in this kernel" : "bpf(2) cannot create a map here";
  return new BpfError({ errno, op: "BPF_MAP_CREATE", message: `${why} (BPF_MAP_CREATE: ${errnoName(errno)})` });
}

function check(): Process {
  const p = processState();
  if (verdict === undefined) verdict = { error: probe(p) };
  if (verdict.error !== undefined) throw verdict.error;
  return p;
}

/**
 * The Driver over the real bpf(2). Throws a plain Error off Linux, and a BpfError
 * (`bpf(2) needs root or CAP_BPF (BPF_MAP_CREATE: EPERM)`) without the privilege to create maps.
 * All kernel drivers of a process share one scratch block and one fd-shape table.
 */
export function createKernelDriver(): Driver {
  const p = check();
  return new KernelDriver(p.libc, p.scratch, p.possibleCpus, new KernelHostServices(p.libc));
}

/** True when bpf(2) can create a map here (Linux, koffi, privilege). Cached per process. */
export function kernelDriverAvailable(): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}
