// The kernel's ring buffer producer: small socket-filter programs run by BPF_PROG_TEST_RUN.
import type { Driver } from "@bpfkit/core";
import type { RingbufProducer } from "./producer.js";

export function kernelRingbufProducer(_driver: Driver): RingbufProducer {
  throw new Error("kernelRingbufProducer: being built (helper hkrb)");
}
