// The ring buffer's side of runProgram: runs ring-ops.ts's ops on one driver and writes what
// each changed, read through one read-only mapping of the whole ring (ring-view.ts): each
// producer line shows the positions after it (consumer, producer, and pending_pos, which follows
// the producer position on its page) and the record it wrote; a reader line shows the positions
// and the records between them. Producer ops run as programs would (ringbufProducerFor: a socket
// filter run by BPF_PROG_TEST_RUN on the kernel, the datapath facet on the simulator).
import { type Driver, errnoName } from "@bpfkit/core";
import { type RingOp, type RingSize, ringSample } from "../arbitraries/ring-ops.js";
import { NotModelledError } from "../model/create-check.js";
import { type RingbufProducer, ringbufProducerFor } from "../ringbuf/producer.js";
import { MAX_OUTPUT_SAMPLE } from "../ringbuf/programs.js";
import { ringView } from "./ring-view.js";
import type { SideRunner } from "./side-runner.js";

const res = (r: number) => (r >= 0 ? "ok" : errnoName(-r));
const U64 = (1n << 64n) - 1n;

/** The ring's steps for one program on one driver. */
export type RingRunner = SideRunner<RingOp>;

/**
 * A runner for the ring made as `created` with `size` bytes of data; `keep` takes the view's
 * mapping handle, to be unmapped with the program's other mappings.
 */
export function ringRunner(driver: Driver, created: number, size: number, timed: <T>(f: () => T) => T, keep: (mapping: number) => void): RingRunner {
  if (typeof driver.mapMmap !== "function") throw new NotModelledError("ring buffers without mmap");
  const producer: RingbufProducer | undefined = ringbufProducerFor(driver);
  if (producer === undefined) throw new NotModelledError(`ring buffers on ${driver.kind}, which has no ring buffer producer`);
  const { view, page, positions, posText, record, records, final } = ringView(driver, created, size, timed, keep);
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
    final,
    close: () => producer.close(),
  };
}
