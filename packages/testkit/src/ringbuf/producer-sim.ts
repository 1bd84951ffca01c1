// The simulator's ring buffer producer: its datapath facet, each call one program's run.
import { Errno } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import type { RingbufProducer } from "./producer.js";

/** A reserve's failure as the program sees it: any NULL reserve (no room, or too big) is -EAGAIN. */
const asProgramSees = (r: number) => (r === -Errno.E2BIG ? -Errno.EAGAIN : r);

export function simRingbufProducer(sim: SimDriver): RingbufProducer {
  const dp = sim.datapath;
  return {
    output: (mapFd, data, flags) => dp.ringbufOutput({ fd: mapFd }, data, flags),
    reserveSubmit: (mapFd, data, flags) => {
      const sample = dp.ringbufReserve({ fd: mapFd }, data.length);
      if (sample < 0) return asProgramSees(sample);
      dp.ringbufWrite(sample, 0, data);
      dp.ringbufSubmit(sample, flags);
      return 0;
    },
    reserveDiscard: (mapFd, size, flags) => {
      const sample = dp.ringbufReserve({ fd: mapFd }, size);
      if (sample < 0) return asProgramSees(sample);
      dp.ringbufDiscard(sample, flags);
      return 0;
    },
    reservePair: (mapFd, first, second, commit, flags) => {
      const a = dp.ringbufReserve({ fd: mapFd }, first);
      if (a < 0) return asProgramSees(a);
      const done = (sample: number, how: "submit" | "discard") => (how === "submit" ? dp.ringbufSubmit(sample, flags) : dp.ringbufDiscard(sample, flags));
      const b = dp.ringbufReserve({ fd: mapFd }, second);
      if (b < 0) {
        done(a, commit.first);
        return 1;
      }
      if (commit.secondFirst) {
        done(b, commit.second);
        done(a, commit.first);
      } else {
        done(a, commit.first);
        done(b, commit.second);
      }
      return 0;
    },
    query: (mapFd, flags) => dp.ringbufQuery({ fd: mapFd }, flags),
    // The simulator's programs hold nothing between runs.
    close: () => {},
  };
}
