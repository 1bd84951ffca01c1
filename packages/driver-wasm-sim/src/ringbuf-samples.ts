// Ring buffer samples a program has reserved (bpf_ringbuf_reserve) and not yet submitted or
// discarded. The simulator's programs run between syscalls, so a sample outlives the call that
// reserved it, as a record does while a program on another CPU still writes it: it stays BUSY,
// and holds its map, until ringbufSubmit or ringbufDiscard.
import { BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP } from "@bpfkit/core";
import type { SimMap } from "./objects.js";

/** bpf_ringbuf_output's and bpf_ringbuf_submit's flags: BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP. */
export const BPF_RB_WAKEUP_FLAGS = BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP;

export interface RingbufSample {
  readonly map: SimMap;
  /** The record header's offset in the ring's data. */
  readonly hdrOff: number;
  /** Bytes of the sample, as reserved. */
  readonly size: number;
}

/**
 * Copies `src` into a ring's data from offset `off` (which may pass the data's end: the kernel's
 * second mapping of the data makes the rest land at its start). `data` is the data's first byte
 * in `heap`, `ring` its size.
 */
export function ringCopyIn(heap: Uint8Array, data: number, ring: number, off: number, src: Uint8Array): void {
  const at = off % ring;
  const first = Math.min(src.length, ring - at);
  heap.set(first === src.length ? src : src.subarray(0, first), data + at);
  if (first < src.length) heap.set(src.subarray(first), data);
}
