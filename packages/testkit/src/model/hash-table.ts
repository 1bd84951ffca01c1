// The hash family (kernel-maps.md §5): n_buckets = roundup_pow_of_two(max_entries), bucket =
// jhash(key, seed) & (n_buckets − 1), a new key at the head of its bucket, walks bucket by bucket
// from head to tail. HASH and LRU_HASH re-link an updated key at the head; the per-CPU types
// rewrite it in place (§5.2). LRU eviction is not modelled (§7 is CPU-dependent): an LRU insert
// that could evict throws NotModelledError, so programs keep LRU key pools small.
import { BPF_EXIST, BPF_NOEXIST, type BatchResult, Errno, assertOptionKeys, optionKeys } from "@bpfkit/core";
import { hex, putU32le, u32le, unhex } from "./bytes.js";
import { NotModelledError } from "./create-check.js";
import { jhash } from "./jhash.js";
import type { ModelTable } from "./table.js";

export interface HashTableOptions {
  keySize: number;
  maxEntries: number;
  /** Bytes of a user-space value (per-CPU: every CPU's slot). */
  valueSize: number;
  movesToHead: boolean;
  lru: boolean;
  seed: number;
}

/** `roundup_pow_of_two`: the bucket count of a hash map of this many entries. */
export function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const HASH_TABLE_OPTIONS_KEYS = optionKeys<HashTableOptions>({
  keySize: true, maxEntries: true, valueSize: true, movesToHead: true, lru: true, seed: true,
});

/** The hash family's table: buckets of hex keys, head first, and the values. */
export class HashTable implements ModelTable {
  /** The bucket count: max_entries rounded up to a power of two, as the kernel's `n_buckets`. */
  readonly nBuckets: number;
  /** Each bucket holds hex keys, head first. */
  readonly buckets: string[][];
  /** The value of each key present, by the key's hex. */
  readonly values: Map<string, Uint8Array> = new Map();
  readonly batchOps = { lookup: true, lookupAndDelete: true, update: true, delete: true };

  /** Makes an empty table of `opts.maxEntries` elements (a TypeError for an unknown option). */
  constructor(readonly opts: HashTableOptions) {
    assertOptionKeys(opts, HASH_TABLE_OPTIONS_KEYS, "HashTable", "options");
    this.nBuckets = roundUpPow2(opts.maxEntries);
    this.buckets = Array.from({ length: this.nBuckets }, () => []);
  }

  /** The bucket the key hashes to: jhash of its bytes with the table's seed, masked to `nBuckets`. */
  bucketOf(key: Uint8Array): number {
    return jhash(key, this.opts.seed) & (this.nBuckets - 1);
  }

  count(): number {
    return this.values.size;
  }

  lookup(key: Uint8Array, value: Uint8Array): number {
    const v = this.values.get(hex(key));
    if (v === undefined) return -Errno.ENOENT;
    value.set(v);
    return 0;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > BPF_EXIST) return -Errno.EINVAL;
    const id = hex(key);
    const exists = this.values.has(id);
    if (flags === BPF_NOEXIST && exists) return -Errno.EEXIST;
    if (flags === BPF_EXIST && !exists) return -Errno.ENOENT;
    const bucket = this.buckets[this.bucketOf(key)]!;
    if (!exists) {
      if (this.values.size >= this.opts.maxEntries) {
        if (this.opts.lru) throw new NotModelledError("LRU eviction (keep LRU programs below max_entries/4 keys)");
        return -Errno.E2BIG;
      }
      bucket.unshift(id);
    } else if (this.opts.movesToHead) {
      bucket.splice(bucket.indexOf(id), 1);
      bucket.unshift(id);
    }
    this.values.set(id, value.slice());
    return 0;
  }

  delete(key: Uint8Array): number {
    const id = hex(key);
    if (!this.values.delete(id)) return -Errno.ENOENT;
    const bucket = this.buckets[this.bucketOf(key)]!;
    bucket.splice(bucket.indexOf(id), 1);
    return 0;
  }

  nextKey(key: Uint8Array | null, out: Uint8Array): number {
    let start = 0;
    if (key !== null) {
      const b = this.bucketOf(key);
      const bucket = this.buckets[b]!;
      const i = bucket.indexOf(hex(key));
      // A key that is not there restarts the walk (§5.3).
      if (i >= 0) {
        if (i + 1 < bucket.length) {
          out.set(unhex(bucket[i + 1]!));
          return 0;
        }
        start = b + 1;
      }
    }
    for (let b = start; b < this.nBuckets; b++) {
      const bucket = this.buckets[b]!;
      if (bucket.length > 0) {
        out.set(unhex(bucket[0]!));
        return 0;
      }
    }
    return -Errno.ENOENT;
  }

  lookupAndDelete(key: Uint8Array, value: Uint8Array): number {
    const r = this.lookup(key, value);
    return r < 0 ? r : this.delete(key);
  }

  /** §10.1: whole buckets in bucket order; the token is the next bucket to visit. */
  bucketBatch(inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array,
    count: number, del: boolean): BatchResult {
    let b = inBatch === null ? 0 : u32le(inBatch);
    if (b >= this.nBuckets) return { errno: Errno.ENOENT, count: 0 };
    const ks = this.opts.keySize;
    const vs = this.opts.valueSize;
    let total = 0;
    let errno = 0;
    for (;;) {
      const bucket = this.buckets[b]!;
      if (bucket.length > count - total) {
        if (total === 0) errno = Errno.ENOSPC;
        break;
      }
      for (const id of [...bucket]) {
        keys.set(unhex(id), total * ks);
        values.set(this.values.get(id)!, total * vs);
        total++;
        if (del) this.delete(unhex(id));
      }
      b++;
      if (b >= this.nBuckets) {
        errno = Errno.ENOENT;
        break;
      }
    }
    putU32le(outBatch, 0, b);
    return { errno, count: total };
  }
}
