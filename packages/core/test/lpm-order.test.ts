// lpmKeyOrder against the order the trie really hands keys out in (GET_NEXT_KEY), on both
// drivers: the batch dump drops keys by it after a kernel restart, so a wrong order would drop
// keys it never delivered.
import fc from "fast-check";
import { expect, it } from "vitest";
import { BPF_F_NO_PREALLOC, BPF_MAP_TYPE_LPM_TRIE, bytes, lpmKeyOrder, u32 } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

function lpmKey(prefixLen: number, data: number[]): Uint8Array {
  const k = new Uint8Array(4 + data.length);
  new DataView(k.buffer).setUint32(0, prefixLen, true);
  k.set(data, 4);
  return k;
}

const order = (dataSize: number) => (a: Uint8Array, b: Uint8Array) => lpmKeyOrder(a, 0, b, 0, dataSize);

it("kernel-maps.md §9.3's example: the /24s in bit order, then the /16 that holds them", () => {
  const keys = [lpmKey(16, [192, 168, 0, 0]), lpmKey(24, [192, 168, 128, 0]), lpmKey(24, [192, 168, 1, 0]), lpmKey(24, [192, 168, 0, 0])];
  const sorted = keys.sort(order(4)).map((k) => `${k[4]}.${k[5]}.${k[6]}.${k[7]}/${k[0]}`);
  expect(sorted).toEqual(["192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24", "192.168.0.0/16"]);
  // Host bits past the prefix do not count: 10.0.0.77/24 is the same prefix as 10.0.0.0/24.
  expect(lpmKeyOrder(lpmKey(24, [10, 0, 0, 77]), 0, lpmKey(24, [10, 0, 0, 0]), 0, 4)).toBe(0);
});

eachDriver("LPM trie walk order", (get) => {
  it("GET_NEXT_KEY hands keys out sorted by lpmKeyOrder (random tries, data of 1, 2 and 4 bytes)", () => {
    const env = get();
    let n = 0;
    // Property: for any set of prefixes, the trie's walk is exactly that set sorted by lpmKeyOrder.
    fc.assert(fc.property(
      fc.constantFrom(1, 2, 4).chain((dataSize) => fc.tuple(fc.constant(dataSize),
        fc.array(fc.tuple(fc.integer({ min: 0, max: dataSize * 8 }), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: dataSize, maxLength: dataSize })),
          { minLength: 1, maxLength: 40 }))),
      ([dataSize, prefixes]) => {
        const m = env.map({ name: `lpm_order_${n++}`, type: BPF_MAP_TYPE_LPM_TRIE, key: bytes(4 + dataSize), value: u32,
          maxEntries: 64, flags: BPF_F_NO_PREALLOC });
        m.openOrCreateUnpinned();
        for (const [len, data] of prefixes) m.update(lpmKey(len, data), len);
        const walked = [...m.keys()];
        m.close();
        const sorted = [...walked].sort(order(dataSize));
        expect(walked.map((k) => [...k])).toEqual(sorted.map((k) => [...k]));
        // And no two walked keys are the same prefix.
        for (let i = 1; i < walked.length; i++) expect(order(dataSize)(walked[i - 1]!, walked[i]!)).toBeLessThan(0);
      }), { numRuns: 40, seed: 0x1b9 });
  });
});
