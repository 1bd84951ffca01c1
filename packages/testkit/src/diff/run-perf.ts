// The PERF_EVENT_ARRAY's side of runProgram: runs perf-ops.ts's ops on one driver. Events come
// from the driver's perfEventOpen and their rings from mapMmap; outputs run as a program's
// (perfProducerFor: a socket filter run by BPF_PROG_TEST_RUN with the thread on the CPU asked
// for on the kernel, the datapath facet on the simulator). An output line shows its answer and,
// for every mapped event whose data_head moved, the records it gained as a reader may read them:
// a sample's header, raw size and the bytes the program sent (never its padding, which the
// kernel skips and so holds whatever the ring held), a PERF_RECORD_LOST's count (not its event
// id, which is the kernel's global counter). The final line lists, ring by ring, what a reader
// may read in the same way: a writable ring's records from data_tail to data_head, a read-only
// (overwritten) one's that are still whole, from the oldest the kernel wrote within the last
// data size before data_head.
import { BPF_F_CURRENT_CPU, type Driver, driverPageSize, errnoName } from "@bpfkit/core";
import { PERF_WAKEUPS, type PerfOp } from "../arbitraries/perf-ops.js";
import { ringSample } from "../arbitraries/ring-ops.js";
import { brief } from "../model/bytes.js";
import { NotModelledError } from "../model/create-check.js";
import { perfProducerFor } from "../perf/producer.js";
import { releaseAll } from "../release-all.js";
import type { SideRunner } from "./side-runner.js";

const res = (r: number) => (r >= 0 ? "ok" : errnoName(-r));
/** An fd no test opens: a closed event's slot update names it (EBADF), never a reused number. */
const CLOSED_FD = 0x7ffffff0;
/** Flags past BPF_F_INDEX_MASK that set no BPF_F_CTXLEN_MASK bit (which no producer sends). */
const BAD_FLAGS = 2 ** 52;
const PERF_RECORD_LOST = 2, PERF_RECORD_SAMPLE = 9;
/** struct perf_event_mmap_page: data_head, data_tail, data_offset, data_size. */
const HEAD = 1024, TAIL = 1032, DATA_OFFSET = 1040, DATA_SIZE = 1048;
/** How many records a line lists. */
const LIST_MAX = 8;

interface Event {
  /** The event's fd, or CLOSED_FD once closed. */
  fd: number;
  /** Its ring's mapping handle, or -errno (-1: not mapped). */
  mapping: number;
  writable: boolean;
  dataSize: number;
  /** The sample lengths this program's outputs sent, by where their records start. */
  sent: Map<number, number>;
  /** Where each record the kernel wrote starts, in order: an overwritten ring's reader needs a whole one to start from. */
  starts: number[];
}

const u32le = (n: number) => Uint8Array.of(n, n >>> 8, n >>> 16, n >>> 24);

/** A runner for a PERF_EVENT_ARRAY program's events on `driver`. */
export function perfRunner(driver: Driver, timed: <T>(f: () => T) => T): SideRunner<PerfOp> {
  if (typeof driver.perfEventOpen !== "function" || typeof driver.mapMmap !== "function") {
    throw new NotModelledError(`perf event arrays on ${driver.kind}, which has no perfEventOpen or mmap`);
  }
  const producer = perfProducerFor(driver);
  if (producer === undefined) throw new NotModelledError(`perf event arrays on ${driver.kind}, which has no perf producer`);
  const page = driverPageSize(driver);
  const events: Event[] = [];

  const read = (ev: Event, off: number, n: number): Uint8Array => {
    const b = new Uint8Array(n);
    const r = timed(() => driver.mmapRead!(ev.mapping, off, b));
    if (r < 0) throw new Error(`reading an event's mapping: ${errnoName(-r)}`);
    return b;
  };
  const u64 = (ev: Event, off: number) => Number(new DataView(read(ev, off, 8).buffer).getBigUint64(0, true));
  /** `n` data bytes from ring position `pos`, wrapping. */
  const data = (ev: Event, pos: number, n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let done = 0; done < n;) {
      const off = (pos + done) % ev.dataSize;
      const k = Math.min(n - done, ev.dataSize - off);
      out.set(read(ev, page + off, k), done);
      done += k;
    }
    return out;
  };
  /** The records from `from` to `to`: each as a reader may read it, and where each starts. */
  const records = (ev: Event, from: number, to: number): { list: string[]; starts: number[] } => {
    const list: string[] = [];
    const starts: number[] = [];
    for (let pos = from; pos < to && list.length < LIST_MAX;) {
      const hdr = new DataView(data(ev, pos, 8).buffer);
      const type = hdr.getUint32(0, true), misc = hdr.getUint16(4, true), size = hdr.getUint16(6, true);
      starts.push(pos);
      let text = `${pos}:type ${type} misc ${misc} size ${size}`;
      if (type === PERF_RECORD_SAMPLE && size >= 12) {
        const raw = new DataView(data(ev, pos + 8, 4).buffer).getUint32(0, true);
        const sent = ev.sent.get(pos);
        text += ` raw ${raw}${sent === undefined ? "" : ` ${brief(data(ev, pos + 12, Math.min(sent, raw)))}`}`;
      } else if (type === PERF_RECORD_LOST && size >= 24) {
        text += ` lost ${new DataView(data(ev, pos + 16, 8).buffer).getBigUint64(0, true)}`;
      }
      list.push(text);
      if (size < 8) break;
      pos += size;
    }
    return { list, starts };
  };
  const event = (i: number): Event | undefined => events[i % Math.max(1, events.length)];
  const mapped = (ev: Event | undefined): ev is Event => ev !== undefined && ev.mapping >= 0;

  const step = (op: PerfOp, fd: number): string | Promise<string> => {
    switch (op.kind) {
      case "peOpen": {
        if (events.length >= 4) return "four events open already";
        const f = timed(() => driver.perfEventOpen!({ cpu: op.cpu, ...PERF_WAKEUPS[op.wakeup]! }));
        if (f < 0) return `open ${res(f)}`;
        const ev: Event = { fd: f, mapping: -1, writable: op.mapping === "rw", dataSize: op.dataPages * page, sent: new Map(), starts: [] };
        events.push(ev);
        if (op.mapping === "none") return "open ok, not mapped";
        ev.mapping = timed(() => driver.mapMmap!(f, (1 + op.dataPages) * page, ev.writable, 0));
        if (ev.mapping < 0) return `open ok, mmap ${res(ev.mapping)}`;
        return `open ok, mmap ok; head ${u64(ev, HEAD)} tail ${u64(ev, TAIL)} data_offset ${u64(ev, DATA_OFFSET)} data_size ${u64(ev, DATA_SIZE)}`;
      }
      case "peSet": {
        const ev = op.event === "map" ? undefined : event(op.event);
        const value = op.event === "map" ? fd : ev?.fd ?? CLOSED_FD;
        return res(timed(() => driver.mapUpdateElem(fd, u32le(op.slot), u32le(value), 0)));
      }
      case "peOutput": {
        const heads = events.map((ev) => (mapped(ev) ? u64(ev, HEAD) : 0));
        const flags = op.to === "current" ? BPF_F_CURRENT_CPU : op.to === "badFlags" ? BAD_FLAGS : op.to;
        const r = timed(() => producer.output(fd, op.cpu, ringSample(op.size, op.fill), flags));
        const gained: string[] = [];
        events.forEach((ev, i) => {
          if (!mapped(ev)) return;
          const head = u64(ev, HEAD);
          if (head === heads[i]) return;
          // The sample is the last record the output wrote (a PERF_RECORD_LOST may come first):
          // known as the program's, its bytes are listed.
          const { starts } = records(ev, heads[i]!, head);
          if (r === 0 && starts.length > 0) ev.sent.set(starts.at(-1)!, op.size);
          ev.starts.push(...starts);
          gained.push(`event ${i} head ${head} [${records(ev, heads[i]!, head).list.join(", ")}]`);
        });
        return `${res(r)}${gained.length > 0 ? `; ${gained.join("; ")}` : ""}`;
      }
      case "peRead": {
        const ev = event(op.event);
        if (!mapped(ev)) return ev === undefined ? "no events" : "not mapped";
        const tail = u64(ev, TAIL), head = u64(ev, HEAD);
        let to = tail;
        for (let i = 0; i < op.records && to < head; i++) {
          const size = new DataView(data(ev, to, 8).buffer).getUint16(6, true);
          if (size < 8) break;
          to = Math.min(head, to + size);
        }
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt(to), true);
        const w = timed(() => driver.mmapWrite!(ev.mapping, TAIL, b));
        return `tail ${tail} to ${to}: write ${res(w)}; head ${head} tail ${u64(ev, TAIL)}`;
      }
      case "pePoll": {
        const ev = event(op.event);
        if (ev === undefined) return "no events";
        if (typeof driver.mapPoll !== "function") return "no mapPoll";
        return timed(() => driver.mapPoll!(ev.fd, 0)).then((r) => `poll ${r < 0 ? res(r) : r}`);
      }
      case "peClose": {
        const ev = event(op.event);
        if (ev === undefined) return "no events";
        if (ev.fd === CLOSED_FD) return "closed already";
        const r = timed(() => driver.close(ev.fd));
        ev.fd = CLOSED_FD;
        return res(r);
      }
    }
  };

  return {
    viewLine: "",
    step,
    final() {
      const lines = events.map((ev, i) => {
        if (!mapped(ev)) return `event ${i} not mapped`;
        const head = u64(ev, HEAD), tail = u64(ev, TAIL);
        if (!ev.writable) {
          // An overwritten ring's tail says nothing: a reader may read the records still whole,
          // from the oldest that starts within the last data size before the head.
          const oldest = ev.starts.find((at) => at >= head - ev.dataSize);
          const whole = oldest === undefined ? [] : records(ev, oldest, head).list;
          return `event ${i} head ${head} tail ${tail} (overwritten) [${whole.join(", ")}]`;
        }
        const list = head - tail > ev.dataSize || tail > head ? ["(tail not within a ring behind the head)"] : records(ev, tail, head).list;
        return `event ${i} head ${head} tail ${tail} [${list.join(", ")}]`;
      });
      return `events [${lines.join("; ")}]`;
    },
    close() {
      releaseAll([
        ...events.flatMap((ev) => [() => ev.mapping >= 0 && driver.munmap!(ev.mapping), () => ev.fd !== CLOSED_FD && driver.close(ev.fd)]),
        () => producer.close(),
      ]);
    },
  };
}
