// What one modelled map type does once the syscall layer (fd, permissions, F_LOCK) has passed:
// kernel-maps.md §4 step 8, one implementation per family. Results are 0 or -errno, and output
// buffers are written only on success, as the kernel copies out only then.
import type { BatchResult } from "@bpfkit/core";

export interface ModelTable {
  /** Elements present (arrays: every slot). */
  count(): number;
  lookup(key: Uint8Array, value: Uint8Array): number;
  update(key: Uint8Array, value: Uint8Array, flags: number): number;
  delete(key: Uint8Array): number;
  nextKey(key: Uint8Array | null, out: Uint8Array): number;
  lookupAndDelete(key: Uint8Array, value: Uint8Array): number;
  /** The hash family's bucket-token batch (§10.1); undefined for the generic key-token one. */
  bucketBatch?(inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array,
    count: number, del: boolean): BatchResult;
  /** Which batch commands the type has (§10.3); the others give ENOTSUPP. */
  readonly batchOps: { lookupAndDelete: boolean; delete: boolean };
}
