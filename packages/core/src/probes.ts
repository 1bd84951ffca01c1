// Which map types the kernel has. Cilium v1.7 asked bpftool once per process and tied LPM to
// LRU; bpfkit probes each type on its own, lazily, by creating a tiny map of that type through
// the driver, and caches the answer per Bpf instance (API.md §4.4).
import {
  BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_BLOOM_FILTER,
  BPF_MAP_TYPE_CGROUP_STORAGE, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_STACK,
  BPF_MAP_TYPE_STACK_TRACE, BPF_MAP_TYPE_USER_RINGBUF, isMapOfMapsType,
} from "./constants.js";
import type { Driver, MapCreateAttr } from "./driver.js";
import { Errno } from "./errno.js";

/** Answers whether the kernel supports a map type. Injectable: tests mock an old kernel. */
export type MapTypeProber = (mapType: number) => boolean;

/** A ring buffer's size must be a power-of-two multiple of the page: the page sizes Linux runs with. */
const PAGE_SIZES = [4096, 16384, 65536];

/**
 * The smallest create attrs the kernel accepts for a type, as libbpf's probe_map_create makes
 * them: a 4-byte key and value unless the type wants otherwise. A map the kernel refuses for
 * its attrs answers EINVAL, as an unknown type does, so an attr the type cannot take would read
 * as "not supported". Several tries where the page size decides.
 */
function probeAttrs(mapType: number): MapCreateAttr[] {
  const base = { mapType, keySize: 4, valueSize: 4, maxEntries: 1 };
  switch (mapType) {
    case BPF_MAP_TYPE_LPM_TRIE:
      return [{ ...base, keySize: 8, valueSize: 1, mapFlags: BPF_F_NO_PREALLOC }];
    case BPF_MAP_TYPE_STACK_TRACE:
      return [{ ...base, valueSize: 8 }]; // one u64 instruction pointer
    case BPF_MAP_TYPE_CGROUP_STORAGE: case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return [{ ...base, keySize: 8, valueSize: 8, maxEntries: 0 }]; // key: the cgroup inode id
    case BPF_MAP_TYPE_QUEUE: case BPF_MAP_TYPE_STACK: case BPF_MAP_TYPE_BLOOM_FILTER:
      return [{ ...base, keySize: 0 }];
    case BPF_MAP_TYPE_RINGBUF: case BPF_MAP_TYPE_USER_RINGBUF:
      return PAGE_SIZES.map((page) => ({ ...base, keySize: 0, valueSize: 0, maxEntries: page }));
    case BPF_MAP_TYPE_ARENA:
      return [{ ...base, keySize: 0, valueSize: 0, mapFlags: BPF_F_MMAPABLE }];
    default:
      return [base];
  }
}

/**
 * The types that cannot be created without BTF, which the Driver does not pass (SK_STORAGE 24,
 * STRUCT_OPS 26, INODE_STORAGE 28, TASK_STORAGE 29, CGRP_STORAGE 32): their probe answers false
 * whether or not the kernel has them.
 */
const NEEDS_BTF = new Set([24, 26, 28, 29, 32]);

/** Whether a probe of `mapType` says something about the kernel (false: it needs BTF). */
export function probeTellsMapType(mapType: number): boolean {
  return !NEEDS_BTF.has(mapType);
}

/** "Not supported": an unknown type (EINVAL), or one the kernel was built without. */
function unsupported(fd: number): boolean {
  return fd === -Errno.EINVAL || fd === -Errno.ENOTSUPP || fd === -Errno.EOPNOTSUPP;
}

/**
 * Probes by creating and closing a one-entry map (a map-in-map over a one-entry hash). EINVAL
 * (unknown type), ENOTSUPP and EOPNOTSUPP mean "not supported"; any other failure (EPERM without
 * privilege, ENOMEM) says nothing about the type, so the type counts as supported and the real
 * create reports the error. The local-storage types and STRUCT_OPS cannot be made without BTF,
 * which the Driver does not pass: they read as not supported.
 */
export function driverProber(driver: Driver): MapTypeProber {
  return (mapType) => {
    let inner = -1;
    if (isMapOfMapsType(mapType)) {
      inner = driver.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      if (inner < 0) return !unsupported(inner);
    }
    try {
      let fd = -Errno.EINVAL;
      for (const attr of probeAttrs(mapType)) {
        fd = driver.mapCreate(inner >= 0 ? { ...attr, innerMapFd: inner } : attr);
        if (fd >= 0) {
          driver.close(fd);
          return true;
        }
        if (fd !== -Errno.EINVAL) break;
      }
      return !unsupported(fd);
    } finally {
      if (inner >= 0) driver.close(inner);
    }
  };
}

/** A per-instance cache over a prober: each type is probed at most once. */
export class MapTypeProbes {
  readonly #prober: MapTypeProber;
  readonly #known = new Map<number, boolean>();

  /** Makes the cache over `prober`, with nothing probed yet. */
  constructor(prober: MapTypeProber) {
    this.#prober = prober;
  }

  /** Whether the driver can create maps of the type: asks the prober the first time, the cache after. */
  have(mapType: number): boolean {
    let v = this.#known.get(mapType);
    if (v === undefined) {
      v = this.#prober(mapType) === true;
      this.#known.set(mapType, v);
    }
    return v;
  }

  /**
   * The seed's GetMapType: LRU_HASH and LPM_TRIE fall back to HASH when the kernel lacks them,
   * each judged by its own probe (the seed tied LPM to LRU); other types are returned as-is.
   */
  normalize(mapType: number): number {
    if ((mapType === BPF_MAP_TYPE_LRU_HASH || mapType === BPF_MAP_TYPE_LPM_TRIE) && !this.have(mapType)) {
      return BPF_MAP_TYPE_HASH;
    }
    return mapType;
  }
}
