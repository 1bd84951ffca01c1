// Map pre-allocation (Cilium's pkg/bpf bpf.go). Only the hash types that can go either way follow
// the instance's switch; LPM tries must not pre-allocate and everything else always does.
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_PERCPU_HASH,
} from "./constants.js";

/** False only for LPM_TRIE, which the kernel refuses without BPF_F_NO_PREALLOC. */
export function allowsPreallocation(t: number): boolean {
  return t !== BPF_MAP_TYPE_LPM_TRIE;
}

/** False for the types that work either way (Hash, PerCPUHash, HashOfMaps) and for LPM. */
export function requiresPreallocation(t: number): boolean {
  return !(t === BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE_PERCPU_HASH || t === BPF_MAP_TYPE_LPM_TRIE ||
    t === BPF_MAP_TYPE_HASH_OF_MAPS);
}

/** The seed's GetPreAllocateMapFlags, given the current setting (0 or BPF_F_NO_PREALLOC). */
export function preAllocateMapFlags(t: number, setting: number): number {
  if (!allowsPreallocation(t)) return BPF_F_NO_PREALLOC;
  if (requiresPreallocation(t)) return 0;
  return setting;
}
