// The reference model's keyless maps at their edges (model-keyless.test.ts covers the kernel's
// worked examples): what a mutation audit found no test for. Each also runs on the kernel.
import { BPF_F_ZERO_SEED, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_QUEUE, type Driver, type MapCreateAttr } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { createModelDriver } from "../src/model/model-driver.js";
import { kernelUnderTest } from "../src/drivers.js";
import { onMap } from "./support/on-map.js";

const kernel = kernelUnderTest();
const NO_KEY = new Uint8Array(0);

describe("model: keyless edges", () => {
  it("a push keeps a copy of the value: the caller's buffer, reused, changes nothing in the map", () => {
    for (const d of [createModelDriver(), ...(kernel.unavailable === undefined ? [kernel.create()] : [])]) {
      const seen = onMap(d, { mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 1, maxEntries: 4 }, (fd) => {
        const buf = new Uint8Array([1]);
        expect(d.mapUpdateElem(fd, NO_KEY, buf, 0)).toBe(0);
        buf[0] = 2;
        expect(d.mapUpdateElem(fd, NO_KEY, buf, 0)).toBe(0);
        buf[0] = 3;
        const out: number[] = [];
        for (let i = 0; i < 2; i++) {
          const v = new Uint8Array(1);
          expect(d.mapLookupAndDeleteElem(fd, NO_KEY, v)).toBe(0);
          out.push(v[0]!);
        }
        return out;
      });
      expect(seen, d.kind).toEqual([1, 2]);
    }
  });

  it("BPF_F_ZERO_SEED makes a bloom filter's seed 0 whatever hashSeed the model was given", () => {
    const attr = (flags: number): MapCreateAttr => ({ mapType: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 4, mapFlags: flags, mapExtra: 1n });
    // With one hash function and 64 bits, which values answer "maybe" after adding 0..3 tells the seed.
    const answers = (d: Driver, flags: number) => onMap(d, attr(flags), (fd) => {
      for (let x = 0; x < 4; x++) expect(d.mapUpdateElem(fd, NO_KEY, new Uint8Array([x, 0, 0, 0]), 0)).toBe(0);
      return Array.from({ length: 256 }, (_, x) => d.mapLookupElem(fd, NO_KEY, new Uint8Array([x, 0, 0, 0])));
    });
    const zero = answers(createModelDriver(), BPF_F_ZERO_SEED);
    expect(answers(createModelDriver({ hashSeed: 0x1234567 }), BPF_F_ZERO_SEED)).toEqual(zero);
    expect(answers(createModelDriver({ hashSeed: 0x1234567 }), 0)).not.toEqual(zero);
    if (kernel.unavailable === undefined) expect(answers(kernel.create(), BPF_F_ZERO_SEED)).toEqual(zero);
  });
});
