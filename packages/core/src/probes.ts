// Which map types the kernel has. Cilium v1.7 asked bpftool once per process and tied LPM to
// LRU; bpfkit probes each type on its own, lazily, by creating a tiny map of that type through
// the driver, and caches the answer per Bpf instance (API.md §4.4).
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
} from "./constants.js";
import type { Driver, MapCreateAttr } from "./driver.js";
import { Errno } from "./errno.js";

/** Answers whether the kernel supports a map type. Injectable: tests mock an old kernel. */
export type MapTypeProber = (mapType: number) => boolean;

/** The smallest valid create attr for a type (LPM needs a prefix and NO_PREALLOC). */
function probeAttr(mapType: number): MapCreateAttr {
  if (mapType === BPF_MAP_TYPE_LPM_TRIE) {
    return { mapType, keySize: 8, valueSize: 1, maxEntries: 1, mapFlags: BPF_F_NO_PREALLOC };
  }
  return { mapType, keySize: 4, valueSize: 4, maxEntries: 1 };
}

/**
 * Probes by creating and closing a one-entry map. EINVAL (unknown type), ENOTSUPP and
 * EOPNOTSUPP mean "not supported"; any other failure (EPERM without privilege, ENOMEM) says
 * nothing about the type, so the type counts as supported and the real create reports the error.
 */
export function driverProber(driver: Driver): MapTypeProber {
  return (mapType) => {
    const fd = driver.mapCreate(probeAttr(mapType));
    if (fd >= 0) {
      driver.close(fd);
      return true;
    }
    return !(fd === -Errno.EINVAL || fd === -Errno.ENOTSUPP || fd === -Errno.EOPNOTSUPP);
  };
}

/** A per-instance cache over a prober: each type is probed at most once. */
export class MapTypeProbes {
  readonly #prober: MapTypeProber;
  readonly #known = new Map<number, boolean>();

  constructor(prober: MapTypeProber) {
    this.#prober = prober;
  }

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
