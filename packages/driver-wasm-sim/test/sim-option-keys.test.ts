// The simulator's options and fault specs refuse keys their types do not declare: a misspelt
// `possiblecpus` would otherwise boot a simulator with the host's CPU count, and a misspelt
// `cuont` would fail one call where the test meant several.
import { BtfBuilder } from "@bpfkit/core";
import { createSimDriver, instantiateEngine } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";

function thrownBy(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

describe("createSimDriver options", () => {
  it("a misspelt option is a TypeError, and no engine is made", () => {
    let engines = 0;
    const engine = () => {
      engines++;
      return instantiateEngine();
    };
    const e = thrownBy(() => createSimDriver({ possiblecpus: 2, engine } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('createSimDriver: unknown options key "possiblecpus" (did you mean "possibleCpus"?)');
    expect(thrownBy(() => createSimDriver({ bpffsMount: null, verbose: true, engine } as never)).message)
      .toBe('createSimDriver: unknown options key "verbose" (known: possibleCpus, seed, privileged, unprivilegedBpfDisabled, ' +
        "bpffsMount, memoryLimit, syscallNs, memlock, engine, pageSize, kernelBtf)");
    expect(engines).toBe(0);
    // Every declared option is still taken.
    const d = createSimDriver({
      possibleCpus: 2, seed: 1, privileged: true, unprivilegedBpfDisabled: 2, bpffsMount: "/sys/fs/bpf",
      memoryLimit: 1 << 24, syscallNs: 1000, memlock: 8n << 20n, engine, pageSize: 16384, kernelBtf: new BtfBuilder().encode(),
    });
    expect(d.possibleCpus).toBe(2);
    expect(d.pageSize).toBe(16384);
    expect(engines).toBe(1);
  });
});

describe("faults.inject spec", () => {
  it("a misspelt key is a TypeError, and nothing is queued", () => {
    const d = createSimDriver({ possibleCpus: 2 });
    const e = thrownBy(() => d.faults.inject("mapCreate", { errno: 12, cuont: 3 } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('faults.inject(mapCreate): unknown spec key "cuont" (did you mean "count"?)');
    expect(d.faults.pending()).toBe(0);
    expect(thrownBy(() => d.faults.inject("mapCreate", null as never)).message).toBe("faults.inject(mapCreate): spec must be { errno, count? }");
    d.faults.inject("mapCreate", { errno: 12, count: 2 });
    expect(d.faults.pending("mapCreate")).toBe(2);
  });
});
