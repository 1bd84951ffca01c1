// Something that sends samples through a PERF_EVENT_ARRAY as a program would, for the perf
// reader's tests: on the kernel a socket filter calling bpf_perf_event_output, run by
// BPF_PROG_TEST_RUN (nothing is attached to the host); on the simulator its datapath facet.
import { BPF_F_CURRENT_CPU, BPF_MAP_TYPE_ARRAY, type Driver } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { onCpu } from "../../../testkit/src/conformance/pin-cpu.js";
import { insn } from "../../../testkit/src/ringbuf/programs.js";


export interface PerfOutput {
  /**
   * `repeat` runs of bpf_perf_event_output(ctx, map, flags, data, data.length) (default: the
   * current CPU's slot); with `count`, the sample's first u32 is 1, 2, 3, … over the producer's
   * life; on `cpu` (the kernel's runs: wherever the scheduler puts them unless it is given). The
   * helper's answer of the last run: 0 or -errno (-ENOENT for an empty slot).
   */
  output(mapFd: number, data: Uint8Array, options?: { repeat?: number; count?: boolean; flags?: bigint; cpu?: number }): number;
  close(): void;
}

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R10 = 10;
const MAP_LOOKUP_ELEM = 1, PERF_EVENT_OUTPUT = 25;

function ldImm64(dst: number, v: bigint, src = 0): number[] {
  return [...insn(0x18, dst, src, 0, Number(BigInt.asUintN(32, v))), ...insn(0, 0, 0, 0, Number(BigInt.asUintN(32, v >> 32n)))];
}

/** The socket filter: the sample on the stack, the counter's next value in its first u32, then the helper. */
function program(mapFd: number, counterFd: number, data: Uint8Array, flags: bigint): Uint8Array {
  const len = data.length, at = -Math.ceil(len / 8) * 8;
  const p: number[] = [...insn(0xbf, R6, R1, 0, 0)];
  data.forEach((b, i) => p.push(...insn(0x72, R10, 0, at + i, b))); // *(u8 *)(r10 + at + i) = b
  if (counterFd >= 0) {
    p.push(...insn(0x62, R10, 0, at - 8, 0)); // key 0
    p.push(...ldImm64(R1, BigInt(counterFd), 1), ...insn(0xbf, R2, R10, 0, 0), ...insn(0x07, R2, 0, 0, at - 8));
    p.push(...insn(0x85, 0, 0, 0, MAP_LOOKUP_ELEM), ...insn(0x15, R0, 0, 4, 0)); // if r0 == 0 skip 4
    p.push(...insn(0x61, R1, R0, 0, 0), ...insn(0x07, R1, 0, 0, 1), ...insn(0x63, R0, R1, 0, 0), ...insn(0x63, R10, R1, at, 0));
  }
  p.push(...insn(0xbf, R1, R6, 0, 0), ...ldImm64(R2, BigInt(mapFd), 1), ...ldImm64(R3, flags));
  p.push(...insn(0xbf, R4, R10, 0, 0), ...insn(0x07, R4, 0, 0, at), ...insn(0xb7, R5, 0, 0, len));
  p.push(...insn(0x85, 0, 0, 0, PERF_EVENT_OUTPUT), ...insn(0x95, 0, 0, 0, 0));
  return new Uint8Array(p);
}

/** The kernel's producer: each output loads, runs and closes one program. */
export function kernelPerfOutput(d: Driver): PerfOutput {
  let counter = -1;
  return {
    output(mapFd, data, options = {}) {
      if (data.length < 1 || data.length > 256) throw new RangeError("kernelPerfOutput: 1 to 256 bytes");
      if (options.count === true && counter < 0) {
        counter = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
        if (counter < 0) throw new Error(`kernelPerfOutput: counter map: errno ${-counter}`);
      }
      if (options.cpu !== undefined) {
        const cpu = options.cpu;
        return onCpu(cpu, () => this.output(mapFd, data, { ...options, cpu: undefined }));
      }
      const prog = d.progLoad({ progType: 1, insns: program(mapFd, options.count === true ? counter : -1, data, options.flags ?? BigInt(BPF_F_CURRENT_CPU)), license: "GPL" });
      if (prog < 0) throw new Error(`kernelPerfOutput: the verifier refused the program: errno ${-prog}`);
      try {
        const run = d.progTestRun!(prog, { dataIn: new Uint8Array(64), repeat: options.repeat ?? 1 });
        if (run.errno !== 0) throw new Error(`kernelPerfOutput: BPF_PROG_TEST_RUN: errno ${run.errno}`);
        return run.retval | 0;
      } finally {
        d.close(prog);
      }
    },
    close() {
      if (counter >= 0) d.close(counter);
      counter = -1;
    },
  };
}

/** The simulator's producer: its datapath's bpf_perf_event_output, each run on `cpu` (default 0). */
export function simPerfOutput(sim: SimDriver): PerfOutput {
  let counter = 0;
  return {
    output(mapFd, data, options = {}) {
      let r = 0;
      for (let i = 0; i < (options.repeat ?? 1); i++) {
        const sample = data.slice();
        if (options.count === true) new DataView(sample.buffer).setUint32(0, ++counter, true);
        r = sim.datapath.perfEventOutput({ fd: mapFd }, sample, Number(options.flags ?? BPF_F_CURRENT_CPU), options.cpu ?? 0);
      }
      return r;
    },
    close() {},
  };
}

/** The producer for `d`: the simulator's datapath, or the kernel's programs. */
export function perfOutputFor(d: Driver): PerfOutput | undefined {
  if (d.kind === "sim") return simPerfOutput(d as SimDriver);
  if (typeof d.progTestRun === "function") return kernelPerfOutput(d);
  return undefined;
}
