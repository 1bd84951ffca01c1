// The simulator's QUEUE, STACK and BLOOM_FILTER beyond the conformance cases (which hold both
// drivers to the kernel's answers): the datapath's push/pop/peek, typedDatapath on them, the
// memory limit (ENOMEM, never a trap), the bloom seed's source, and mapExtra's argument checks.
import type { Codec } from "@bpfkit/core";
import { typedDatapath } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { mapMemlock } from "../src/map-memlock.js";
import { errName, readU32, sim, u32 } from "./sim-helpers.js";

const HASH = 1, QUEUE = 22, STACK = 23, BLOOM = 30;
const ZERO_SEED = 0x40, RDONLY_PROG = 0x80;
const K = new Uint8Array(0);
const keyless = (mapType: number, more: object = {}) => ({ mapType, keySize: 0, valueSize: 4, maxEntries: 3, ...more });

describe("datapath push, pop and peek", () => {
  it("a queue and a stack: push, E2BIG when full, BPF_EXIST drops the oldest, peek keeps, pop takes", () => {
    for (const [t, order] of [[QUEUE, [2, 3, 4]], [STACK, [4, 3, 2]]] as const) {
      const d = sim();
      const fd = d.mapCreate(keyless(t));
      for (const n of [1, 2, 3]) expect(d.datapath.push({ fd }, u32(n), 0, 1)).toBe(0);
      expect(errName(d.datapath.push({ fd }, u32(9)))).toBe("E2BIG");
      expect(d.datapath.push({ fd }, u32(4), 2)).toBe(0);
      expect(errName(d.datapath.push({ fd }, u32(5), 1))).toBe("EINVAL");
      const v = new Uint8Array(4);
      expect(d.datapath.peek({ fd }, v)).toBe(0);
      expect(readU32(v)).toBe(order[0]);
      const popped: number[] = [];
      while (d.datapath.pop({ fd }, v) === 0) popped.push(readU32(v));
      expect(popped).toEqual(order);
      expect(errName(d.datapath.peek({ fd }, v))).toBe("ENOENT");
      // What the program pushed, the syscall side pops.
      d.datapath.push({ fd }, u32(7));
      expect(d.mapLookupAndDeleteElem(fd, K, v)).toBe(0);
      expect(readU32(v)).toBe(7);
    }
  });

  it("a bloom filter: push adds, peek answers for the value given; pop is not a bloom helper", () => {
    const d = sim();
    const fd = d.mapCreate(keyless(BLOOM, { mapFlags: ZERO_SEED }));
    const v = u32(5);
    expect(errName(d.datapath.peek({ fd }, v))).toBe("ENOENT");
    expect(errName(d.datapath.push({ fd }, v, 2))).toBe("EINVAL");
    expect(d.datapath.push({ fd }, v)).toBe(0);
    expect(d.datapath.peek({ fd }, v)).toBe(0);
    expect(readU32(v)).toBe(5);
    expect(d.mapLookupElem(fd, K, u32(5))).toBe(0);
    expect(errName(d.datapath.pop({ fd }, v))).toBe("EINVAL");
  });

  it("the verifier's pairing: lookup/update/delete only on keyed maps, push/pop/peek only on keyless ones; RDONLY_PROG forbids push and pop", () => {
    const d = sim();
    const q = d.mapCreate(keyless(QUEUE));
    const h = d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
    const v = new Uint8Array(4);
    expect(errName(d.datapath.lookup({ fd: q }, K, v))).toBe("EINVAL");
    expect(errName(d.datapath.update({ fd: q }, K, v))).toBe("EINVAL");
    expect(errName(d.datapath.delete({ fd: q }, K))).toBe("EINVAL");
    expect(errName(d.datapath.push({ fd: h }, v))).toBe("EINVAL");
    expect(errName(d.datapath.pop({ fd: h }, v))).toBe("EINVAL");
    expect(errName(d.datapath.peek({ fd: h }, v))).toBe("EINVAL");
    const ro = d.mapCreate(keyless(STACK, { mapFlags: RDONLY_PROG }));
    expect(d.mapUpdateElem(ro, K, u32(3))).toBe(0);
    expect(errName(d.datapath.push({ fd: ro }, v))).toBe("EACCES");
    expect(errName(d.datapath.pop({ fd: ro }, v))).toBe("EACCES");
    expect(d.datapath.peek({ fd: ro }, v)).toBe(0);
    expect(readU32(v)).toBe(3);
    expect(() => d.datapath.push({ fd: q }, new Uint8Array(8))).toThrow(RangeError);
    expect(() => d.datapath.pop({ fd: q }, new Uint8Array(3))).toThrow(RangeError);
    expect(errName(d.datapath.push({ fd: 999 }, v))).toBe("EBADF");
  });

  it("typedDatapath: push, pop, peek and mayContain in the value's type", () => {
    const d = sim();
    const u32c: Codec<number> = {
      size: 4,
      encode: (n, out) => new DataView(out.buffer, out.byteOffset).setUint32(0, n, true),
      decode: (b) => new DataView(b.buffer, b.byteOffset).getUint32(0, true),
    } as Codec<number>;
    const none = { size: 0, encode: () => {}, decode: () => undefined } as unknown as Codec<undefined>;
    const view = (fd: number, mapType: number) => ({ getFd: () => fd, name: () => "q", keyCodec: none, valueCodec: u32c, mapInfo: { mapType, valueSize: 4 } });
    const q = typedDatapath(d, view(d.mapCreate(keyless(QUEUE)), QUEUE));
    expect(q.pop()).toBeUndefined();
    expect(q.push(10)).toBe(0);
    expect(q.push(11)).toBe(0);
    expect(q.peek()).toBe(10);
    expect(q.pop()).toBe(10);
    expect(q.pop()).toBe(11);
    const b = typedDatapath(d, view(d.mapCreate(keyless(BLOOM, { mapFlags: ZERO_SEED })), BLOOM));
    expect(b.mayContain(42)).toBe(false);
    expect(b.push(42)).toBe(0);
    expect(b.mayContain(42)).toBe(true);
    expect(() => b.pop()).toThrow(/pop: EINVAL/);
  });
});

describe("memory and seeds", () => {
  it("past memoryLimit a queue or a bloom filter is ENOMEM at create, and the simulator goes on", () => {
    const d = sim({ memoryLimit: 4 << 20 });
    expect(errName(d.mapCreate(keyless(QUEUE, { valueSize: 64, maxEntries: 1 << 20 })))).toBe("ENOMEM");
    // 2^32 bits (512 MiB): the size bloom_map_alloc falls back to when max × hashes × 7/5 overflows.
    expect(errName(d.mapCreate(keyless(BLOOM, { maxEntries: 0xffffffff })))).toBe("ENOMEM");
    expect(errName(d.mapCreate(keyless(BLOOM, { maxEntries: 1 << 25 })))).toBe("ENOMEM");
    const fd = d.mapCreate(keyless(STACK));
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(d.mapUpdateElem(fd, K, u32(1))).toBe(0);
  });

  it("without BPF_F_ZERO_SEED the bloom seed comes from the simulator's seed and the map's id: the same seed gives the same false positives", () => {
    const positives = (seed: number) => {
      const d = sim({ seed });
      const fd = d.mapCreate(keyless(BLOOM, { maxEntries: 1, mapExtra: 1n }));
      for (let n = 0; n < 8; n++) d.mapUpdateElem(fd, K, u32(n));
      const out: number[] = [];
      for (let n = 8; n < 400; n++) if (d.mapLookupElem(fd, K, u32(n)) === 0) out.push(n);
      return out.join(",");
    };
    expect(positives(1)).toBe(positives(1));
    expect(positives(1)).not.toBe(positives(2));
  });

  it("a bloom filter's memlock past the u32 arithmetic: 2^32 bits when max × hashes or its × 7/5 overflows, or passes 2^31", () => {
    const shape = (maxEntries: number, mapExtra: bigint) => ({ mapType: BLOOM, keySize: 0, valueSize: 4, maxEntries, mapFlags: 0, mapExtra });
    expect(mapMemlock(shape(0xffffffff, 15n), 0, 2)).toBe(312 + 2 ** 29);
    expect(mapMemlock(shape(0x40000000, 5n), 0, 2)).toBe(312 + 2 ** 29); // 2^30 × 5 overflows u32
    expect(mapMemlock(shape(0x30000000, 2n), 0, 2)).toBe(312 + 2 ** 29); // × 2 fits u32, / 5 × 7 passes 2^31
    expect(mapMemlock(shape(0x08000000, 1n), 0, 2)).toBe(312 + 2 ** 25); // 2^27 / 5 × 7 rounds up to 2^28 bits
    expect(mapMemlock(shape(3, 0n), 0, 2)).toBe(320);
  });

  it("mapExtra must be a bigint u64 (TypeError, RangeError) before anything else", () => {
    const d = sim();
    expect(() => d.mapCreate(keyless(BLOOM, { mapExtra: 3 }) as never)).toThrow(TypeError);
    expect(() => d.mapCreate(keyless(BLOOM, { mapExtra: -1n }))).toThrow(RangeError);
    expect(() => d.mapCreate(keyless(BLOOM, { mapExtra: 1n << 64n }))).toThrow(RangeError);
    expect(errName(d.mapCreate(keyless(BLOOM, { mapExtra: (1n << 64n) - 1n })))).toBe("EINVAL");
    expect(errName(d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapExtra: 1n }))).toBe("EINVAL");
  });
});
