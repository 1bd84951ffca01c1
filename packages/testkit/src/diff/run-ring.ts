// The ring buffer's side of runProgram: runs ring-ops.ts's ops on one driver and writes what
// each changed. The ring is read through one read-only mapping of all of it (the consumer page,
// the producer page, the data twice), made after the create and kept to the end: each producer
// line shows the positions after it (consumer, producer, and pending_pos, which follows the
// producer position on its page) and the record it wrote; a reader line shows the positions and
// the records between them. Producer ops run as programs would (ringbufProducerFor: a socket
// filter run by BPF_PROG_TEST_RUN on the kernel, the datapath facet on the simulator).
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, type Driver, driverPageSize, errnoName } from "@bpfkit/core";
import { type RingOp, type RingSize, ringSample } from "../arbitraries/ring-ops.js";
import { brief } from "../model/bytes.js";
import { NotModelledError } from "../model/create-check.js";
import { type RingbufProducer, ringbufProducerFor } from "../ringbuf/producer.js";
import { MAX_OUTPUT_SAMPLE } from "../ringbuf/programs.js";

const res = (r: number) => (r >= 0 ? "ok" : errnoName(-r));
const U64 = (1n << 64n) - 1n;
/** How many records a reader line lists. */
const LIST_MAX = 8;

/** The ring's steps for one program on one driver. */
export interface RingRunner {
  /** What the info line adds: whether the whole ring mapped read-only. */
  readonly viewLine: string;
  /** Runs a ring op through `fd` (the fd ops go through) and returns its trace line. */
  step(op: RingOp, fd: number): string;
  /** The final line's ring part: positions, the records left, a digest of the data and whether its two copies agree. */
  final(): string;
}

/**
 * A runner for the ring made as `created` with `size` bytes of data; `keep` takes the view's
 * mapping handle, to be unmapped with the program's other mappings.
 */
export function ringRunner(driver: Driver, created: number, size: number, timed: <T>(f: () => T) => T, keep: (mapping: number) => void): RingRunner {
  if (typeof driver.mapMmap !== "function") throw new NotModelledError("ring buffers without mmap");
  const producer: RingbufProducer | undefined = ringbufProducerFor(driver);
  if (producer === undefined) throw new NotModelledError(`ring buffers on ${driver.kind}, which has no ring buffer producer`);
  // The driver's page: the producer position one page in, the data two (16 or 64 KiB on arm64).
  const page = driverPageSize(driver);
  const whole = 2 * page + 2 * size;
  const view = timed(() => driver.mapMmap!(created, whole, false, 0));
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
  /** The record at `pos`: its header and, committed and not discarded, its sample (read on into the second copy). */
  const record = (pos: bigint): { text: string; len: number; busy: boolean; discard: boolean } => {
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
  /** The records from the consumer to the producer position, at most LIST_MAX, and where the walk stopped. */
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
  /** The largest sample the ring has room for now (0 when none fits). */
  const room = (): number => {
    const { cons, prod } = positions();
    const used = (prod - cons) & U64;
    if (used >= BigInt(size)) return 0;
    const largestRecord = Math.floor((size - 1 - Number(used)) / 8) * 8;
    return Math.max(0, largestRecord - 8);
  };
  /** `s` in bytes, at most `cap`; `taken` bytes of records already held come off the room. */
  const sizeOf = (s: RingSize, cap: number, taken = 0): number => {
    const n = s.of === "bytes" ? s.n : s.of === "ring" ? size + s.d : Math.max(0, room() - taken) + s.d;
    return Math.min(Math.max(0, n), cap);
  };
  /** After a producer op: its answer, the size it asked, the positions, and the record it wrote. */
  const produced = (r: number, n: number, before: bigint): string => {
    const after = positions().prod;
    return `${res(r)} ${n} bytes; ${posText()}${after !== before ? `; wrote ${record(before).text}` : ""}`;
  };

  return {
    viewLine: `ring mapped ${view >= 0 ? "ok" : errnoName(-view)}`,
    step(op, fd) {
      if (view < 0) return "no view of the ring";
      switch (op.kind) {
        case "rbOutput": {
          // The kernel producer sends the sample from a program's stack: 512 bytes at most.
          const n = sizeOf(op.size, MAX_OUTPUT_SAMPLE);
          const before = positions().prod;
          return produced(timed(() => producer.output(fd, ringSample(n, op.fill), op.flags)), n, before);
        }
        case "rbReserve": {
          // A reserve past the ring never writes: only a discard asks for 2^31 - 1 bytes.
          const n = op.size.of === "bytes" && op.discard ? op.size.n : sizeOf(op.size, size + 8);
          const before = positions().prod;
          const r = timed(() => (op.discard ? producer.reserveDiscard(fd, n, op.flags) : producer.reserveSubmit(fd, ringSample(n, op.fill), op.flags)));
          return produced(r, n, before);
        }
        case "rbPair": {
          const first = sizeOf(op.first, size + 8);
          const second = sizeOf(op.second, size + 8, (first + 8 + 7) & ~7);
          const before = positions().prod;
          const how = (discard: boolean) => (discard ? "discard" as const : "submit" as const);
          const r = timed(() => producer.reservePair(fd, first, second, { first: how(op.discardFirst), second: how(op.discardSecond), secondFirst: op.secondFirst }, op.flags));
          const after = positions().prod;
          const wrote: string[] = [];
          for (let pos = before; pos < after && wrote.length < 2;) {
            const rec = record(pos);
            wrote.push(rec.text);
            if (rec.busy || rec.len > size - 8) break;
            pos += BigInt((rec.len + 8 + 7) & ~7);
          }
          const answer = r === 0 ? "both" : r === 1 ? "the first only" : res(r);
          return `${answer} ${first}+${second} bytes; ${posText()}${wrote.length > 0 ? `; wrote ${wrote.join(", ")}` : ""}`;
        }
        case "rbQuery": return `${timed(() => producer.query(fd, op.flags))}`;
        case "rbConsume": {
          const { cons, prod } = positions();
          let to: bigint;
          switch (op.to.by) {
            case "records": {
              let pos = cons;
              for (let i = 0; i < op.to.n && pos < prod && ((prod - cons) & U64) <= BigInt(size); i++) {
                const r = record(pos);
                if (r.busy) break;
                pos += BigInt((r.len + 8 + 7) & ~7);
              }
              to = pos;
              break;
            }
            case "producer": to = (prod + BigInt(op.to.d) - (op.to.lessRing ? BigInt(size) : 0n)) & U64; break;
            case "at": to = BigInt(op.to.pos); break;
          }
          const h = timed(() => driver.mapMmap!(fd, page, true, 0));
          if (h < 0) return `consumer page ${res(h)}; ${posText()}`;
          const bytes = new Uint8Array(8);
          new DataView(bytes.buffer).setBigUint64(0, to, true);
          const w = timed(() => driver.mmapWrite!(h, 0, bytes));
          const u = timed(() => driver.munmap!(h));
          return `to ${to}: write ${res(w)}, munmap ${res(u)}; ${posText()}; records [${records().list.join(", ")}]`;
        }
      }
    },
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
