// Freeing a QUEUE, STACK or BLOOM_FILTER gives its ring or bitset back: create/fill/free cycles
// do not grow the engine's memory (a release that forgot one would leak it on every map).
import { expect, it } from "vitest";
import { Engine } from "./engine-harness.js";

const QUEUE = 22, STACK = 23, BLOOM = 30;
const K = new Uint8Array(0);

it("create/fill/free cycles of queues, stacks and bloom filters do not grow memory", () => {
  const eng = new Engine();
  const cycle = () => {
    const maps = [
      eng.create({ type: QUEUE, keySize: 0, valueSize: 64, maxEntries: 4000 }),
      eng.create({ type: STACK, keySize: 0, valueSize: 64, maxEntries: 4000 }),
      eng.create({ type: BLOOM, keySize: 0, valueSize: 8, maxEntries: 40000, extra: 7 }),
    ];
    for (let i = 0; i < 100; i++) for (const m of maps) expect(m.update(K, new Uint8Array(m === maps[2] ? 8 : 64).fill(i))).toBe(0);
    maps.forEach((m) => m.free());
  };
  cycle();
  const used = eng.x.memoryUsed();
  for (let i = 0; i < 4; i++) cycle();
  expect(eng.x.memoryUsed()).toBe(used);
});
