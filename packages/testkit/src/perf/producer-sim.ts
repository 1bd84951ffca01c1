// The simulator's perf producer: its datapath facet, each call one program's run on a CPU.
import { assertBytes, assertFd } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { MAX_PERF_SAMPLE, perfFlagsArg, type PerfProducer } from "./producer.js";

export function simPerfProducer(sim: SimDriver): PerfProducer {
  return {
    output(mapFd, cpu, data, flags) {
      const op = "bpf_perf_event_output";
      assertFd(mapFd, op);
      assertBytes(data, "data", op);
      const f = perfFlagsArg(flags, op);
      if (data.length > MAX_PERF_SAMPLE) throw new RangeError(`${op}: a ${data.length}-byte sample is past the producer's ${MAX_PERF_SAMPLE}`);
      return sim.datapath.perfEventOutput({ fd: mapFd }, data, f, cpu);
    },
    // The simulator's programs hold nothing between runs.
    close: () => {},
  };
}
