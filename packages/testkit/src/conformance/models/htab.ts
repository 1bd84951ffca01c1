// The order model of a BPF hash map under BPF_F_ZERO_SEED (kernel-maps.md §5): buckets by jhash,
// new keys at the head, walks bucket by bucket from head to tail. Keys are hex strings.
import { jhash } from "../../model/jhash.js";

export function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export type HtabResult = "OK" | "EEXIST" | "ENOENT" | "E2BIG";

/** The order a hash map keeps its keys in (BPF_F_ZERO_SEED, or a given seed): what its walk and batches must give. */
export class HtabModel {
  /** The bucket count: max_entries rounded up to a power of two (`n_buckets`). */
  readonly nBuckets: number;
  /** Each bucket's keys in hex, head first. */
  readonly buckets: string[][];

  /** `movesToHead`: HASH, LRU_HASH, HASH_OF_MAPS re-link an updated key at the head (§5.2). */
  constructor(readonly maxEntries: number, readonly movesToHead: boolean, readonly seed = 0) {
    this.nBuckets = roundUpPow2(maxEntries);
    this.buckets = Array.from({ length: this.nBuckets }, () => []);
  }

  /** The bucket the key hashes to: jhash with the model's seed, masked to `nBuckets`. */
  bucketOf(key: Uint8Array): number {
    return jhash(key, this.seed) & (this.nBuckets - 1);
  }

  /** Keys present. */
  count(): number {
    let n = 0;
    for (const b of this.buckets) n += b.length;
    return n;
  }

  /** Whether the key is present. */
  has(key: Uint8Array): boolean {
    return this.buckets[this.bucketOf(key)]!.includes(hex(key));
  }

  /** The §4.1 check order: flags' existence checks first, then capacity. */
  update(key: Uint8Array, flags = 0): HtabResult {
    const b = this.buckets[this.bucketOf(key)]!;
    const k = hex(key);
    const i = b.indexOf(k);
    if (flags === 1 && i >= 0) return "EEXIST";
    if (flags === 2 && i < 0) return "ENOENT";
    if (i < 0) {
      if (this.count() >= this.maxEntries) return "E2BIG";
      b.unshift(k);
    } else if (this.movesToHead) {
      b.splice(i, 1);
      b.unshift(k);
    }
    return "OK";
  }

  /** Removes the key: "OK", or "ENOENT" when absent. */
  delete(key: Uint8Array): "OK" | "ENOENT" {
    const b = this.buckets[this.bucketOf(key)]!;
    const i = b.indexOf(hex(key));
    if (i < 0) return "ENOENT";
    b.splice(i, 1);
    return "OK";
  }

  /** Every key in hex in the kernel's walk order: bucket by bucket, head to tail. */
  order(): string[] {
    return this.buckets.flat();
  }

  /** GET_NEXT_KEY: an absent key restarts from the first element (§5.3). */
  nextKey(key: Uint8Array | null): string | undefined {
    let start = 0;
    if (key !== null) {
      const bi = this.bucketOf(key);
      const b = this.buckets[bi]!;
      const i = b.indexOf(hex(key));
      if (i >= 0) {
        if (i + 1 < b.length) return b[i + 1];
        start = bi + 1;
      }
    }
    for (let j = start; j < this.nBuckets; j++) {
      const b = this.buckets[j]!;
      if (b.length > 0) return b[0];
    }
    return undefined;
  }
}
