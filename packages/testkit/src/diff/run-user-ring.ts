// The USER_RINGBUF's side of runProgram: runs user-ring-ops.ts's ops on one driver. The writer
// is testkit's UserRingWriter (the consumer page mapped read-only, the producer page and the
// data writable, as a producer maps them); the drain is a program's (userRingDrainerFor: a
// socket filter run by BPF_PROG_TEST_RUN on the kernel, the datapath facet on the simulator);
// the lines read the ring through a read-only view of all of it (ring-view.ts). The writer
// refuses a record as libbpf's user_ring_buffer__reserve does (E2BIG past the ring, ENOSPC past
// the free bytes, counted in u64s, so a producer behind the consumer has room), whatever its
// header then says. A writer line shows the positions after it and the records it wrote, as the
// ring now holds them; a drain
// line its answer, what its callback counted and summed, the samples it saw (size, first and
// last u64) and the positions after it.
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, type Driver, errnoName } from "@bpfkit/core";
import type { RingSize } from "../arbitraries/ring-ops.js";
import type { UserRingOp } from "../arbitraries/user-ring-ops.js";
import { NotModelledError } from "../model/create-check.js";
import { userRingDrainerFor } from "../ringbuf/user-ring-drain-program.js";
import { DRAIN_STOP_VALUE, UserRingWriter } from "../ringbuf/user-ring-writer.js";
import { ringView } from "./ring-view.js";
import { releaseAll } from "../release-all.js";
import type { SideRunner } from "./side-runner.js";

const res = (r: number) => (r >= 0 ? "ok" : errnoName(-r));
const U64 = (1n << 64n) - 1n;
const round8 = (n: number) => (n + 7) & ~7;

/**
 * A runner for the USER_RINGBUF made as `created` with `size` bytes of data; `keep` takes the
 * view's mapping handle, to be unmapped with the program's other mappings.
 */
export function userRingRunner(driver: Driver, created: number, size: number, timed: <T>(f: () => T) => T, keep: (mapping: number) => void): SideRunner<UserRingOp> {
  if (typeof driver.mapMmap !== "function") throw new NotModelledError("user ring buffers without mmap");
  const drainer = userRingDrainerFor(driver);
  if (drainer === undefined) throw new NotModelledError(`user ring buffers on ${driver.kind}, which can run no drain`);
  const { view, positions, posText, record, final } = ringView(driver, created, size, timed, keep);
  let writer: UserRingWriter | undefined;
  let unmapped = "";
  try {
    writer = timed(() => new UserRingWriter(driver, created, size));
  } catch (e) {
    unmapped = (e as Error).message;
  }
  /** Reservations held: where each record is and its sample's length. */
  const held: { pos: bigint; len: number }[] = [];
  let serial = 0;

  /** What libbpf's user_ring_buffer__reserve finds free: size - (prod - cons), in u64s as it counts. */
  const avail = (): bigint => {
    const { cons, prod } = positions();
    return (BigInt(size) - ((prod - cons) & U64)) & U64;
  };
  /** The largest sample the writer has room for now (0 when none fits). */
  const room = (): number => {
    const a = avail();
    return a >= BigInt(size) ? size - 8 : Math.max(0, Math.floor(Number(a) / 8) * 8 - 8);
  };
  /** `s` in bytes, at most a ring and a record. */
  const sizeOf = (s: RingSize): number => {
    const n = s.of === "bytes" ? s.n : s.of === "ring" ? size + s.d : room() + s.d;
    return Math.min(Math.max(0, n), size + 8);
  };
  /** Why the writer refuses a sample of `len` bytes (libbpf's E2BIG or ENOSPC), or undefined: it fits. */
  const refused = (len: number): string | undefined => {
    const total = round8(len + 8);
    return total > size ? "E2BIG" : avail() < BigInt(total) ? "ENOSPC" : undefined;
  };
  /** The records from `from` to the producer position (at most 4), as the ring holds them. */
  const wrote = (from: bigint): string => {
    const { prod } = positions();
    const list: string[] = [];
    for (let pos = from; pos < prod && ((prod - from) & U64) <= BigInt(2 * size) && list.length < 4;) {
      const r = record(pos);
      list.push(r.text);
      if (r.len > size - 8) break;
      pos += BigInt(round8(r.len + 8));
    }
    return `${posText()}; wrote [${list.join(", ")}]`;
  };

  const step = (w: UserRingWriter, op: UserRingOp, fd: number): string | Promise<string> => {
    switch (op.kind) {
      case "urReserve": {
        const len = sizeOf(op.size);
        const no = refused(len);
        if (no !== undefined) return `${len} bytes: ${no}; ${posText()}`;
        const pos = w.producerPos();
        w.write([{ len, value: BigInt(++serial), fill: op.fill, state: "busy" }]);
        held.push({ pos, len });
        return `held ${len} bytes at ${pos}; ${wrote(pos)}`;
      }
      case "urCommit": {
        if (held.length === 0) return "none held";
        const [h] = held.splice(op.which % held.length, 1);
        w.commit(h!.pos, h!.len, op.discard);
        return `the one at ${h!.pos}; ${posText()}; now ${record(h!.pos).text}`;
      }
      case "urWrite": {
        const from = w.producerPos();
        const said: string[] = [];
        for (const r of op.records) {
          const len = sizeOf(r.size);
          const no = refused(len);
          if (no !== undefined) {
            said.push(`${len} ${no}`);
            continue;
          }
          const rawLen = r.header === "long" ? len + 64 : r.header === "huge" ? size
            : r.header === "bothBits" ? (len | BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) >>> 0 : undefined;
          const pos = w.producerPos();
          w.write([{
            len, value: r.stop ? DRAIN_STOP_VALUE : BigInt(++serial), fill: r.fill,
            ...(r.state === "sample" ? {} : { state: r.state }), ...(rawLen === undefined ? {} : { rawLen }),
          }]);
          // A record left BUSY is the writer's to commit later, as a reservation is.
          if (r.state === "busy") held.push({ pos, len });
          said.push(`${len} ok`);
        }
        if (op.extra !== 0) w.setProducerPos(w.producerPos() + BigInt(op.extra));
        return `[${said.join(", ")}]; ${wrote(from)}`;
      }
      case "urProducer": {
        const { cons, prod } = positions();
        w.setProducerPos((op.from === "consumer" ? cons : prod) + BigInt(op.d));
        return posText();
      }
      case "urDrain": {
        const r = timed(() => drainer.drain(fd, op.flags));
        const samples = r.samples.map((s) => `${s.size}:${s.first.toString(16)}:${s.last.toString(16)}`);
        return `${r.ret < 0 ? errnoName(-r.ret) : r.ret} count ${r.count} sum ${r.sum}; samples [${samples.join(" ")}]; ${posText()}`;
      }
      case "urPoll": {
        if (typeof driver.mapPoll !== "function") return "no mapPoll";
        // The positions now: the mapping is gone by the time the answer comes.
        const where = posText();
        return timed(() => driver.mapPoll!(fd, 0)).then((r) => `poll ${r < 0 ? res(r) : r}; ${where}`);
      }
    }
  };

  return {
    viewLine: `ring mapped ${view >= 0 ? "ok" : errnoName(-view)}, writer ${writer !== undefined ? "mapped" : unmapped}`,
    step(op, fd) {
      if (view < 0) return "no view of the ring";
      if (writer === undefined) return "no writer";
      return step(writer, op, fd);
    },
    final,
    close() {
      releaseAll([() => writer?.close(), () => drainer.close()]);
    },
  };
}
