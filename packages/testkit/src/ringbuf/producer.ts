// Something that writes records into a BPF_MAP_TYPE_RINGBUF as a program would, so that a test
// can check a reader on either driver: on the kernel a real program run by BPF_PROG_TEST_RUN
// (nothing is attached to the host), on the simulator its datapath facet.
import type { Driver } from "@bpfkit/core";
import type { PairCommit } from "./programs.js";
import { isSimDriver } from "../dump-fuzz/sim-datapath.js";
import { kernelRingbufProducer } from "./producer-kernel.js";
import { simRingbufProducer } from "./producer-sim.js";

/** The ring buffer helpers a program calls, each run as one program would run them. */
export interface RingbufProducer {
  /** bpf_ringbuf_output(map, data, data.length, flags): 0 or -errno (-EAGAIN: no room; -EINVAL: flags). */
  output(mapFd: number, data: Uint8Array, flags?: number): number;
  /**
   * bpf_ringbuf_reserve(map, data.length, 0), the sample filled with `data`, then
   * bpf_ringbuf_submit(sample, flags): 0, or -EAGAIN when the reserve found no room.
   */
  reserveSubmit(mapFd: number, data: Uint8Array, flags?: number): number;
  /** bpf_ringbuf_reserve(map, size, 0) then bpf_ringbuf_discard(sample, flags): 0, or -EAGAIN when the reserve found no room. */
  reserveDiscard(mapFd: number, size: number, flags?: number): number;
  /**
   * One program holding two reservations: bpf_ringbuf_reserve(map, first, 0), then
   * bpf_ringbuf_reserve(map, second, 0) while the first is BUSY (its room bounded by the BUSY
   * record as well as the consumer position), then both submitted or discarded with `flags`, in
   * the order `commit` says. 0; 1 when only the first was reserved (it is then committed alone);
   * -EAGAIN when the first found no room. The samples are not written: they hold what the ring held.
   */
  reservePair(mapFd: number, first: number, second: number, commit: PairCommit, flags?: number): number;
  /** bpf_ringbuf_query(map, flags): BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE, BPF_RB_CONS_POS, BPF_RB_PROD_POS. */
  query(mapFd: number, flags: number): bigint;
  /** Releases what the producer holds (the kernel's programs). */
  close(): void;
}

/** The producer for `driver`: a kernel driver with progTestRun, or a simulator; undefined for any other. */
export function ringbufProducerFor(driver: Driver): RingbufProducer | undefined {
  if (isSimDriver(driver)) return simRingbufProducer(driver);
  if (typeof driver.progTestRun === "function") return kernelRingbufProducer(driver);
  return undefined;
}
