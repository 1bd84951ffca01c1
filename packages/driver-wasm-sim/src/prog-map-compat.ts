// __bpf_prog_map_compatible (kernel/bpf/core.c): a map that holds programs takes the first
// program that meets it as its owner, for good, and refuses programs that differ. A program
// meets the map when it is stored in it (prog_fd_array_get_ptr) and when it is loaded with an
// ld_imm64 reference to it (bpf_prog_select_runtime → bpf_check_tail_call): both paths share
// this check, so the owner is the same whichever came first.
import { BPF_MAP_TYPE_PROG_ARRAY, Errno } from "@bpfkit/core";
import type { SimMap } from "./objects.js";

/**
 * What the owner records of a program. The kernel also compares jited, xdp_has_frags,
 * sleepable, the cgroup storage cookies and attach_func_proto, and refuses kprobe_override
 * programs; a program loaded through the Driver has the same value for each of those (always
 * JITed on x86-64, no prog_flags, no helpers, no BTF), so they never differ here.
 */
export interface ProgOwner {
  readonly progType: number;
  readonly expectedAttachType: number;
}

/** True when `prog` may go with `map`; the first program becomes the owner. */
export function progMapCompatible(map: SimMap, prog: ProgOwner): boolean {
  const owner = map.progOwner;
  if (owner === null) {
    map.progOwner = { progType: prog.progType, expectedAttachType: prog.expectedAttachType };
    return true;
  }
  if (owner.progType !== prog.progType) return false;
  // 6.18 compares the expected attach type for PROG_ARRAY only (not DEVMAP/CPUMAP).
  return map.mapType !== BPF_MAP_TYPE_PROG_ARRAY || owner.expectedAttachType === prog.expectedAttachType;
}

/**
 * bpf_check_tail_call: every map holding programs that the new program references, in the
 * order of its used_maps, until the first that refuses it (owners set before it stay set).
 */
export function checkTailCall(usedMaps: readonly SimMap[], prog: ProgOwner): number {
  for (const m of usedMaps) {
    if (m.mapType === BPF_MAP_TYPE_PROG_ARRAY && !progMapCompatible(m, prog)) return Errno.EINVAL;
  }
  return 0;
}
