// The simulator's ring buffer producer: its datapath facet.
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import type { RingbufProducer } from "./producer.js";

export function simRingbufProducer(_sim: SimDriver): RingbufProducer {
  throw new Error("simRingbufProducer: being built (helper hsrb)");
}
