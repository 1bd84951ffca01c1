// ARRAY and PERCPU_ARRAY (kernel-maps.md §8): every slot exists and starts zeroed, the key is a
// u32 index, delete is EINVAL, next-key from NULL or an out-of-range index gives 0.
import { BPF_EXIST, BPF_NOEXIST, Errno } from "@bpfkit/core";
import { putU32le, u32le } from "./bytes.js";
import type { ModelTable } from "./table.js";

/** ARRAY and PERCPU_ARRAY: fixed, zeroed slots. */
export class ArrayTable implements ModelTable {
  /** Each index's value, zeroed at creation. */
  readonly slots: Uint8Array[];
  readonly batchOps = { lookup: true, lookupAndDelete: false, update: true, delete: false };

  /** `valueSize`: bytes of a user-space value (per-CPU: every CPU's 8-aligned slot). */
  constructor(readonly maxEntries: number, readonly valueSize: number) {
    this.slots = Array.from({ length: maxEntries }, () => new Uint8Array(valueSize));
  }

  count(): number {
    return this.maxEntries;
  }

  lookup(key: Uint8Array, value: Uint8Array): number {
    const i = u32le(key);
    if (i >= this.maxEntries) return -Errno.ENOENT;
    value.set(this.slots[i]!);
    return 0;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > BPF_EXIST) return -Errno.EINVAL;
    const i = u32le(key);
    // The index is checked before NOEXIST, and every index in range exists (§8).
    if (i >= this.maxEntries) return -Errno.E2BIG;
    if (flags === BPF_NOEXIST) return -Errno.EEXIST;
    this.slots[i]!.set(value);
    return 0;
  }

  delete(): number {
    return -Errno.EINVAL;
  }

  nextKey(key: Uint8Array | null, out: Uint8Array): number {
    const i = key === null ? this.maxEntries : u32le(key);
    if (i >= this.maxEntries) {
      putU32le(out, 0, 0);
      return 0;
    }
    if (i === this.maxEntries - 1) return -Errno.ENOENT;
    putU32le(out, 0, i + 1);
    return 0;
  }

  lookupAndDelete(): number {
    return -Errno.ENOTSUPP;
  }
}
