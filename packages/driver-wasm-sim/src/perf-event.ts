// The BPF output events a PERF_EVENT_ARRAY's slots hold (perf_event_open of
// PERF_COUNT_SW_BPF_OUTPUT on one CPU) and the ring each maps: kernel/events/core.c perf_mmap
// and perf_poll, kernel/events/ring_buffer.c perf_output_begin / perf_output_end, and the record
// bpf_perf_event_output writes (kernel/trace/bpf_trace.c). Held to 6.18 by
// docs/probes/perf_event_array.mjs. The ring lives in JS memory: no program reads it but the
// datapath, which is the simulator's own.
import { Errno, type PerfWakeup } from "@bpfkit/core";
import { OtherFile } from "./objects.js";

/** Byte offsets in `struct perf_event_mmap_page`. */
export const PERF_PAGE = {
  lock: 8, index: 12, offset: 16, timeEnabled: 24, timeRunning: 32, capabilities: 40, size: 72,
  dataHead: 1024, dataTail: 1032, dataOffset: 1040, dataSize: 1048,
} as const;
/** offsetof(struct perf_event_mmap_page, __reserved): what `size` says. */
const USER_PAGE_SIZE = 96;
/** cap_bit0_is_deprecated, the only capability bit a software event on this machine shows. */
const CAP_BIT0_IS_DEPRECATED = 1n << 1n;

export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;
/** PERF_RECORD_MISC_KERNEL: the helper's regs are the kernel's (perf_fetch_caller_regs). */
const PERF_RECORD_MISC_KERNEL = 1;
/** sizeof(struct perf_event_header) + u64 id + u64 lost. */
export const PERF_LOST_RECORD_SIZE = 24;

/**
 * A perf event's ring (struct perf_buffer): the header page and 2^n data pages, made by the
 * first mmap and gone with the last munmap.
 */
export class PerfRing {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly dataSize: number;
  /** Mappings of it (mmap_count). */
  mmapCount = 0;
  /** rb->head, as a byte position that only grows. */
  head = 0;
  /** rb->lost: samples dropped since the last PERF_RECORD_LOST. */
  lost = 0;
  /** rb->events: samples counted towards wakeup_events. */
  events = 0;
  /** rb->wakeup: bumped by one per wakeup_events samples, and by the watermark as bytes pass it. */
  wakeup = 0;
  /** rb->poll: a wake-up happened that no poll has taken yet (perf_poll exchanges it for 0). */
  poll = false;

  constructor(
    readonly pageSize: number,
    dataPages: number,
    /** !RING_BUFFER_WRITABLE: the first mapping was read-only, so data_tail is never read and old records are overwritten. */
    readonly overwrite: boolean,
    /** rb->watermark: the attr's wakeup_watermark (capped at the data size) with `watermark` set, else half the data. */
    readonly watermark: number,
    timeEnabledNs: bigint,
  ) {
    this.bytes = new Uint8Array(pageSize * (1 + dataPages));
    this.dv = new DataView(this.bytes.buffer);
    this.dataSize = dataPages * pageSize;
    // perf_event_init_userpage and one perf_event_update_userpage (the seqcount's two steps).
    this.dv.setUint32(PERF_PAGE.lock, 2, true);
    this.dv.setBigUint64(PERF_PAGE.timeEnabled, timeEnabledNs, true);
    this.dv.setBigUint64(PERF_PAGE.timeRunning, timeEnabledNs, true);
    this.dv.setBigUint64(PERF_PAGE.capabilities, CAP_BIT0_IS_DEPRECATED, true);
    this.dv.setUint32(PERF_PAGE.size, USER_PAGE_SIZE, true);
    this.dv.setBigUint64(PERF_PAGE.dataOffset, BigInt(pageSize), true);
    this.dv.setBigUint64(PERF_PAGE.dataSize, BigInt(this.dataSize), true);
  }

  /** Copies `src` into the data at byte position `pos`, wrapping at the data's end. */
  private put(pos: number, src: Uint8Array): void {
    const base = this.pageSize;
    let at = pos % this.dataSize, done = 0;
    while (done < src.length) {
      const n = Math.min(src.length - done, this.dataSize - at);
      this.bytes.set(src.subarray(done, done + n), base + at);
      done += n;
      at = 0;
    }
  }

  /**
   * perf_output_begin, the sample and perf_output_end for a PERF_RECORD_SAMPLE of `data` (RAW):
   * 0, or -ENOSPC with the sample counted lost. `true` in `woke` when the output woke the ring's
   * waiters (perf_output_wakeup).
   */
  output(event: SimPerfEvent, data: Uint8Array): { r: number; woke: boolean } {
    // No data pages: the ring is paused, and nothing is counted.
    if (this.dataSize === 0) return { r: -Errno.ENOSPC, woke: false };
    // perf_prepare_sample: the u32 size and the data, padded so the record ends 8-aligned, the
    // padding counted in the raw size; perf_output_sample skips the padding (__output_skip), so
    // it holds whatever the ring held there. header.size is a u16: past 64 KiB it wraps, and the
    // reservation with it, though every byte is still written (as the kernel does).
    const raw = Math.ceil((data.length + 4) / 8) * 8;
    const total = 8 + raw;
    const recordSize = total & 0xffff;
    const haveLost = this.lost;
    const size = recordSize + (haveLost !== 0 ? PERF_LOST_RECORD_SIZE : 0);
    const handleWakeup = this.wakeup;
    const head = this.head;
    if (!this.overwrite) {
      // CIRC_SPACE(head, tail, size): one byte always stays free.
      const tail = Number(BigInt.asUintN(32, this.dv.getBigUint64(PERF_PAGE.dataTail, true)));
      const space = (tail - (head + 1)) & (this.dataSize - 1);
      if (space < size) {
        this.lost++;
        return { r: -Errno.ENOSPC, woke: false };
      }
    }
    this.head = head + size;
    if (this.head - this.wakeup > this.watermark) this.wakeup += this.watermark;
    let pos = head;
    if (haveLost !== 0) {
      const lost = new Uint8Array(PERF_LOST_RECORD_SIZE);
      const dv = new DataView(lost.buffer);
      dv.setUint32(0, PERF_RECORD_LOST, true);
      dv.setUint16(6, PERF_LOST_RECORD_SIZE, true);
      dv.setBigUint64(8, BigInt(event.id), true);
      dv.setBigUint64(16, BigInt(haveLost), true);
      this.lost = 0;
      this.put(pos, lost);
      pos += PERF_LOST_RECORD_SIZE;
    }
    const rec = new Uint8Array(12 + data.length);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, PERF_RECORD_SAMPLE, true);
    dv.setUint16(4, PERF_RECORD_MISC_KERNEL, true);
    dv.setUint16(6, recordSize, true);
    dv.setUint32(8, raw - 4, true);
    rec.set(data, 12);
    this.put(pos, rec);
    // perf_output_sample: wakeup_events counts samples, unless the watermark rules.
    const every = event.wakeup.wakeup;
    if (!event.wakeup.watermark && every !== 0 && ++this.events >= every) {
      this.events -= every;
      this.wakeup++;
    }
    // perf_output_put_handle: publish the head, and wake when rb->wakeup moved.
    this.dv.setBigUint64(PERF_PAGE.dataHead, BigInt(this.head), true);
    const woke = handleWakeup !== this.wakeup;
    if (woke) this.poll = true;
    return { r: 0, woke };
  }
}

/**
 * A BPF output event: an open perf event file, as fds, PERF_EVENT_ARRAY slots and mappings hold
 * it. To bpf(2) it is a file of another kind (EBADF in a PERF_EVENT_ARRAY slot only for files
 * that are not perf events; EINVAL where a map or program fd is wanted), so it is an OtherFile.
 */
export class SimPerfEvent extends OtherFile {
  ring: PerfRing | null = null;

  constructor(
    /** The event's id (primary_event_id), which PERF_RECORD_LOST carries: a counter of the simulator's. */
    readonly id: number,
    readonly cpu: number,
    readonly wakeup: PerfWakeup,
    /** The virtual clock when it was opened (and enabled). */
    readonly openNs: number,
  ) {
    super("perf_event");
  }

  /** rb->watermark for a ring of `dataSize` bytes (ring_buffer_init). */
  watermarkFor(dataSize: number): number {
    const w = this.wakeup.watermark ? Math.min(this.wakeup.wakeup, dataSize) : 0;
    return w !== 0 ? w : Math.floor(dataSize / 2);
  }
}

/**
 * perf_mmap's answer for a mapping of `length` bytes at `offset` (both checked by the caller
 * for page alignment, a length past 0 and the fd's mode): 0 or a positive errno. Only the
 * data mapping at offset 0 is there (an AUX area would need aux_offset set), of one header
 * page and 2^n data pages, and a ring already made must be mapped whole.
 */
export function perfMmapErrno(event: SimPerfEvent, mappedPages: number, offset: number): number {
  if (offset !== 0) return Errno.EINVAL;
  const dataPages = mappedPages - 1;
  if (dataPages !== 0 && (dataPages & (dataPages - 1)) !== 0) return Errno.EINVAL;
  if (event.ring !== null && event.ring.dataSize !== dataPages * event.ring.pageSize) return Errno.EINVAL;
  return 0;
}

/** One mapping of a perf event's ring. */
export interface PerfMapping {
  readonly event: SimPerfEvent;
  readonly ring: PerfRing;
  readonly length: number;
  readonly writable: boolean;
}
