// One read-only mapping of a whole ring (RINGBUF or USER_RINGBUF: the consumer page, the producer
// page, the data twice), made after the create and kept to the end, and what the differential
// runner reads through it: the positions (consumer, producer, and the u64 after the producer,
// the kernel's pending_pos on a RINGBUF), the records between them, a digest of the data.
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, type Driver, driverPageSize, errnoName } from "@bpfkit/core";
import { brief } from "../model/bytes.js";

const U64 = (1n << 64n) - 1n;
/** How many records a line lists. */
const LIST_MAX = 8;

/** A ring's record at a position: its line, its length and state bits. */
export interface RingRecord {
  text: string;
  len: number;
  busy: boolean;
  discard: boolean;
}

/** What the differential runner reads of a ring through its view. */
export interface RingView {
  /** The view's mapping handle, or -errno when the ring would not map read-only. */
  readonly view: number;
  /** The driver's page: the producer position one page in, the data two. */
  readonly page: number;
  /** `n` bytes at `off` of the mapping. */
  read(off: number, n: number): Uint8Array;
  positions(): { cons: bigint; prod: bigint; pending: bigint };
  /** `cons C prod P pending Q`. */
  posText(): string;
  /** The record at `pos`: its header and, committed and not discarded, its sample (read on into the second copy). */
  record(pos: bigint): RingRecord;
  /** The records from the consumer to the producer position, at most LIST_MAX, and where the walk stopped. */
  records(): { list: string[]; end: bigint };
  /** The final line's ring part: positions, the records left, a digest of the data and whether its two copies agree. */
  final(): string;
}

/** The view of the ring `created` with `size` bytes of data; `keep` takes its mapping handle, to be unmapped with the program's others. */
export function ringView(driver: Driver, created: number, size: number, timed: <T>(f: () => T) => T, keep: (mapping: number) => void): RingView {
  // 16 or 64 KiB on arm64.
  const page = driverPageSize(driver);
  const view = timed(() => driver.mapMmap!(created, 2 * page + 2 * size, false, 0));
  if (view >= 0) keep(view);
  const mask = BigInt(size - 1);
  const read = (off: number, n: number): Uint8Array => {
    const b = new Uint8Array(n);
    const r = timed(() => driver.mmapRead!(view, off, b));
    if (r < 0) throw new Error(`reading the ring's mapping: ${errnoName(-r)}`);
    return b;
  };
  const u64 = (off: number) => new DataView(read(off, 8).buffer).getBigUint64(0, true);
  const positions = () => ({ cons: u64(0), prod: u64(page), pending: u64(page + 8) });
  const posText = () => {
    const p = positions();
    return `cons ${p.cons} prod ${p.prod} pending ${p.pending}`;
  };
  const record = (pos: bigint): RingRecord => {
    const at = 2 * page + Number(pos & mask);
    const hdr = new DataView(read(at, 8).buffer);
    const word = hdr.getUint32(0, true);
    const pgOff = hdr.getUint32(4, true);
    const busy = (word & BPF_RINGBUF_BUSY_BIT) !== 0;
    const discard = (word & BPF_RINGBUF_DISCARD_BIT) !== 0;
    const len = word & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    let text = `${pos}:len ${len}${busy ? " BUSY" : ""}${discard ? " DISCARD" : ""} pg_off ${pgOff}`;
    if (!busy && !discard && len <= size - 8) text += ` ${brief(read(at + 8, len))}`;
    return { text, len, busy, discard };
  };
  const records = (): { list: string[]; end: bigint } => {
    const { cons, prod } = positions();
    const list: string[] = [];
    let pos = cons;
    // Past the producer (as a u64) or more than a ring behind it: no records to read.
    if (((prod - cons) & U64) > BigInt(size)) return { list: ["(consumer not within a ring behind the producer)"], end: cons };
    while (pos < prod && list.length < LIST_MAX) {
      const r = record(pos);
      list.push(r.text);
      if (r.busy || r.len > size - 8) break;
      pos += BigInt((r.len + 8 + 7) & ~7);
    }
    return { list, end: pos };
  };
  return {
    view, page, read, positions, posText, record, records,
    final() {
      if (view < 0) return "no view of the ring";
      const data = read(2 * page, 2 * size);
      let h = 0x811c9dc5;
      for (let i = 0; i < size; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
      let twice = true;
      for (let i = 0; i < size && twice; i++) twice = data[i] === data[size + i];
      const { list } = records();
      return `ring ${posText()}; records [${list.join(", ")}]; data fnv ${(h >>> 0).toString(16).padStart(8, "0")}, ${twice ? "mapped twice alike" : "THE TWO COPIES DIFFER"}`;
    },
  };
}
