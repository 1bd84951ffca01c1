// What one modelled map type does once the syscall layer (fd, permissions, F_LOCK) has passed:
// kernel-maps.md §4 step 8, one implementation per family. Results are 0 or -errno, and output
// buffers are written only on success, as the kernel copies out only then.
import type { BatchResult } from "@bpfkit/core";

/**
 * One modelled map family's element operations, as the kernel's map ops do them after the syscall checks: 0 or
 * -errno.
 */
export interface ModelTable {
  /** Elements present (arrays: every slot). */
  count(): number;
  /**
   * Copies the value under `key` into `value`: 0, or -ENOENT when absent. Keyless types ignore
   * the key: queues and stacks peek, a bloom filter reads `value` as its query.
   */
  lookup(key: Uint8Array, value: Uint8Array): number;
  /** Writes `value` under `key` with the update flags (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`): 0 or -errno (keyless: a push). */
  update(key: Uint8Array, value: Uint8Array, flags: number): number;
  /** Removes `key`: 0 or -errno (-ENOENT when absent; arrays refuse with -EINVAL). */
  delete(key: Uint8Array): number;
  /**
   * Writes the key after `key` (null or an absent key: the first, as the family defines it) into `out`: 0, or
   * -ENOENT at the end.
   */
  nextKey(key: Uint8Array | null, out: Uint8Array): number;
  /** Copies the value under `key` and removes it: 0 or -errno (-ENOTSUPP where the family has no such op). */
  lookupAndDelete(key: Uint8Array, value: Uint8Array): number;
  /** The hash family's bucket-token batch (§10.1); undefined for the generic key-token one. */
  bucketBatch?(inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array,
    count: number, del: boolean): BatchResult;
  /** Which batch commands the type has (§10.3); the others give ENOTSUPP. */
  readonly batchOps: { lookup: boolean; lookupAndDelete: boolean; update: boolean; delete: boolean };
}
