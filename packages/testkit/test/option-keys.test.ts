// testkit's runners, arbitraries and models refuse option keys their types do not declare. A
// runner that ignored a misspelt option (`run: 500`, `exactlru`) would report a pass for a run
// nobody asked for; each throws before it makes or asks for a driver.
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import {
  conformanceCases, createModelDriver, dumpCaseArb, HashTable, interleavingArb, mapSpecArb, programArb, runCase,
  runConformance, runDifferential, runDumpFuzz, selectCases, skipReason,
} from "@bpfkit/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

function thrownBy(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

function expectTypeError(f: () => unknown, message: string): void {
  const e = thrownBy(f);
  expect(e).toBeInstanceOf(TypeError);
  expect(e.message).toBe(message);
}

/** A driver factory that counts what it made. */
function counted(): { make: () => ReturnType<typeof createSimDriver>; made: () => number } {
  let n = 0;
  return {
    make: () => {
      n++;
      return createSimDriver({ possibleCpus: 2 });
    },
    made: () => n,
  };
}

describe("testkit option keys", () => {
  it("runDifferential: a misspelt option or program option, before any driver is made", async () => {
    const left = counted(), right = counted();
    await expect(runDifferential({ left: left.make, right: right.make, run: 500 } as never)).rejects
      .toThrow(new TypeError('runDifferential: unknown options key "run" (did you mean "runs"?)'));
    await expect(runDifferential({ left: left.make, right: right.make, program: { maxOp: 3 } } as never)).rejects
      .toThrow(new TypeError('runDifferential: unknown program option key "maxOp" (did you mean "maxOps"?)'));
    // possibleCpus is runDifferential's to set, from the left driver.
    await expect(runDifferential({ left: left.make, right: right.make, program: { possibleCpus: 4 } } as never)).rejects
      .toThrow(/unknown program option key "possibleCpus"/);
    expect(left.made() + right.made()).toBe(0);
  });

  it("runDumpFuzz: a misspelt option or implementation, before any driver is made", async () => {
    const d = counted();
    await expect(runDumpFuzz({ driver: d.make, algorithms: "walk" } as never)).rejects
      .toThrow(new TypeError('runDumpFuzz: unknown options key "algorithms" (did you mean "algorithm"?)'));
    await expect(runDumpFuzz({ driver: d.make, implementations: { walkOnce: () => undefined } } as never)).rejects
      .toThrow(new TypeError('runDumpFuzz: unknown implementations key "walkOnce" (did you mean "walk-once"?)'));
    expect(d.made()).toBe(0);
  });

  it("the conformance runner: selectCases, skipReason, runCase and runConformance", () => {
    const d = counted();
    const c = conformanceCases[0]!;
    expectTypeError(() => runConformance(d.make, { exactlru: true } as never),
      'runConformance: unknown options key "exactlru" (did you mean "exactLru"?)');
    expectTypeError(() => runCase(c, d.make, { group: ["hash"] } as never),
      'runCase: unknown options key "group" (did you mean "groups"?)');
    expectTypeError(() => selectCases({ ony: ["x"] } as never), 'selectCases: unknown options key "ony" (did you mean "only"?)');
    expectTypeError(() => skipReason(c, { privilged: false } as never),
      'skipReason: unknown options key "privilged" (did you mean "privileged"?)');
    expect(d.made()).toBe(0);
  });

  it("the model: createModelDriver and HashTable", () => {
    expectTypeError(() => createModelDriver({ possibleCPUs: 4 } as never),
      'createModelDriver: unknown options key "possibleCPUs" (did you mean "possibleCpus"?)');
    expectTypeError(() => new HashTable({ keySize: 4, valueSize: 4, maxEntries: 4, movesToHead: true, lru: false, seed: 0, lur: true } as never),
      'HashTable: unknown options key "lur" (did you mean "lru"?)');
  });

  it("the arbitraries: mapSpecArb, programArb, interleavingArb, dumpCaseArb", () => {
    expectTypeError(() => mapSpecArb({ maxKeysize: 8 } as never), 'mapSpecArb: unknown options key "maxKeysize" (did you mean "maxKeySize"?)');
    expectTypeError(() => programArb({ possibleCpus: 2, maxop: 3 } as never), 'programArb: unknown options key "maxop" (did you mean "maxOps"?)');
    expectTypeError(() => interleavingArb({ keys: 4, possibleCpus: 2, maxstep: 3 } as never),
      'interleavingArb: unknown options key "maxstep" (did you mean "maxSteps"?)');
    expectTypeError(() => dumpCaseArb({ possibleCpus: 2, type: [1] } as never), 'dumpCaseArb: unknown options key "type" (did you mean "types"?)');
  });

  it("programArb hands mapSpecArb only the spec's options: every ProgramOptions key is still taken", () => {
    const arb = programArb({
      possibleCpus: 2, maxOps: 3, maxKeys: 2, freeze: false, lruEviction: false, types: [1], maxKeySize: 8, maxValueSize: 8,
      maxEntries: 4, zeroSeed: "never", accessFlags: false, invalid: "never",
    });
    const [p] = fc.sample(arb, { numRuns: 1, seed: 1 });
    expect(p!.spec.mapType).toBe(1);
  });
});
