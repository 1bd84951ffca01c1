// QUEUE and STACK (kernel/bpf/queue_stack_maps.c): keyless, so UPDATE pushes, LOOKUP peeks and
// LOOKUP_AND_DELETE pops; DELETE and GET_NEXT_KEY are EINVAL, and there are no batch commands.
// A full map refuses a push with E2BIG unless BPF_EXIST asks to drop the oldest element first
// (the queue's head, the stack's bottom). Kept as a plain list, oldest first, rather than the
// kernel's ring, so that an index slip in one does not hide in the other.
import { BPF_EXIST, BPF_NOEXIST, Errno } from "@bpfkit/core";
import type { ModelTable } from "./table.js";

/** QUEUE (FIFO) or STACK (LIFO) of at most `maxEntries` values. */
export class QueueStackTable implements ModelTable {
  /** The values held, oldest first. */
  readonly items: Uint8Array[] = [];
  readonly batchOps = { lookup: false, lookupAndDelete: false, update: false, delete: false };

  /** `lifo`: a STACK, which peeks and pops its newest value; a QUEUE gives its oldest. */
  constructor(readonly maxEntries: number, readonly lifo: boolean) {}

  count(): number {
    return this.items.length;
  }

  /** The value a peek or pop gives: the oldest (queue) or the newest (stack). */
  private nextOut(): number {
    return this.lifo ? this.items.length - 1 : 0;
  }

  /** Peek: ENOENT when empty, and then nothing is copied out. */
  lookup(_key: Uint8Array, value: Uint8Array): number {
    if (this.items.length === 0) return -Errno.ENOENT;
    value.set(this.items[this.nextOut()]!);
    return 0;
  }

  /** Push: NOEXIST and unknown flags are EINVAL, before the map is looked at. */
  update(_key: Uint8Array, value: Uint8Array, flags: number): number {
    if ((flags & BPF_NOEXIST) !== 0 || flags > BPF_EXIST) return -Errno.EINVAL;
    if (this.items.length >= this.maxEntries) {
      if (flags !== BPF_EXIST) return -Errno.E2BIG;
      this.items.shift();
    }
    this.items.push(value.slice());
    return 0;
  }

  delete(): number {
    return -Errno.EINVAL;
  }

  nextKey(): number {
    return -Errno.EINVAL;
  }

  /** Pop: like a peek, and the value leaves. */
  lookupAndDelete(key: Uint8Array, value: Uint8Array): number {
    const r = this.lookup(key, value);
    if (r === 0) this.items.splice(this.nextOut(), 1);
    return r;
  }
}
