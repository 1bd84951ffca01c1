// Which capabilities this process holds, from CapEff in /proc/self/status. bpf(2) with CAP_BPF
// alone creates maps and loads programs, but mounting bpffs, BPF_*_GET_FD_BY_ID and
// BPF_F_ZERO_SEED need CAP_SYS_ADMIN: callers say which one is missing instead of a bare EPERM.
import { readFileSync } from "node:fs";

/** Capability numbers from include/uapi/linux/capability.h. */
export const CAP_NET_ADMIN = 12;
/** `CAP_SYS_ADMIN`: needed to mount bpffs, for BPF_*_GET_FD_BY_ID and for `BPF_F_ZERO_SEED`. */
export const CAP_SYS_ADMIN = 21;
/** `CAP_PERFMON`: with CAP_BPF, lets programs read kernel memory and use the tracing helpers. */
export const CAP_PERFMON = 38;
/** `CAP_BPF`: lets bpf(2) create maps and load programs (since Linux 5.8; CAP_SYS_ADMIN before). */
export const CAP_BPF = 39;

/** The effective capability set, or undefined where /proc/self/status has none (not Linux). */
export function effectiveCapabilities(statusPath = "/proc/self/status"): bigint | undefined {
  let text: string;
  try {
    text = readFileSync(statusPath, "utf8");
  } catch {
    return undefined;
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(text);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** Whether this process holds capability `cap` (false where that cannot be read). */
export function hasCapability(cap: number, statusPath?: string): boolean {
  const set = effectiveCapabilities(statusPath);
  return set !== undefined && ((set >> BigInt(cap)) & 1n) === 1n;
}

/**
 * What this process cannot do with bpf(2) for want of CAP_SYS_ADMIN (root has it), or undefined
 * when it holds it: the sentence tests and the CLI print instead of a bare EPERM.
 */
export function sysAdminMissing(statusPath?: string): string | undefined {
  if (hasCapability(CAP_SYS_ADMIN, statusPath)) return undefined;
  return "without CAP_SYS_ADMIN (root has it) the kernel refuses mounting bpffs, opening maps and programs by id, and BPF_F_ZERO_SEED";
}
