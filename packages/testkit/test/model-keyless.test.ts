// The reference model's QUEUE, STACK and BLOOM_FILTER: worked examples whose answers were read
// off the 6.18 kernel (each also runs on the kernel when it is there), the create rules in the
// kernel's order, then random programs against the kernel.
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG,
  BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK,
  BPF_NOEXIST, MAP_INFO_SIZE, type Driver, type MapCreateAttr, decodeMapInfo, errnoName,
} from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { KEYLESS_MAP_TYPES } from "../src/arbitraries/map-spec.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { bloomBitsetMask } from "../src/model/bloom-table.js";
import { createModelDriver } from "../src/model/model-driver.js";
import { kernelUnderTest } from "../src/drivers.js";
import { onMap } from "./support/on-map.js";

const kernel = kernelUnderTest();
const NO_KEY = new Uint8Array(0);
const res = (r: number) => (r >= 0 ? "ok" : errnoName(-r));
const u8 = (...b: number[]) => Uint8Array.from(b);
/** The drivers each example runs on: the model, and the kernel when it is there. */
const drivers = (): Driver[] => [createModelDriver(), ...(kernel.unavailable === undefined ? [kernel.create()] : [])];

/** Pops until the map refuses: each value as its first byte, then the errno that ended it. */
function drain(d: Driver, fd: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 16; i++) {
    const v = new Uint8Array(1).fill(0xaa);
    const r = d.mapLookupAndDeleteElem(fd, NO_KEY, v);
    if (r < 0) return [...out, res(r)];
    out.push(String(v[0]));
  }
  return out;
}

describe("model: queues and stacks as the kernel answers them", () => {
  const queue: MapCreateAttr = { mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 1, maxEntries: 3 };
  const stack: MapCreateAttr = { ...queue, mapType: BPF_MAP_TYPE_STACK };

  it("a full queue refuses a push with E2BIG; BPF_EXIST drops the oldest; pops come oldest first", () => {
    for (const d of drivers()) {
      const seen = onMap(d, queue, (fd) => {
        const pushes = [1, 2, 3, 4].map((n) => res(d.mapUpdateElem(fd, NO_KEY, u8(n), BPF_ANY)));
        const overwrite = res(d.mapUpdateElem(fd, NO_KEY, u8(5), BPF_EXIST));
        return { pushes, overwrite, pops: drain(d, fd) };
      });
      expect(seen, d.kind).toEqual({ pushes: ["ok", "ok", "ok", "E2BIG"], overwrite: "ok", pops: ["2", "3", "5", "ENOENT"] });
    }
  });

  it("a stack pops newest first, and BPF_EXIST on a full stack drops its bottom, not its top", () => {
    for (const d of drivers()) {
      const pops = onMap(d, stack, (fd) => {
        for (const n of [1, 2, 3]) d.mapUpdateElem(fd, NO_KEY, u8(n), BPF_ANY);
        d.mapUpdateElem(fd, NO_KEY, u8(4), BPF_EXIST);
        return drain(d, fd);
      });
      expect(pops, d.kind).toEqual(["4", "3", "2", "ENOENT"]);
    }
  });

  it("wraps its ring: pushes and pops past max_entries + 1 slots keep FIFO order", () => {
    for (const d of drivers()) {
      const popped = onMap(d, queue, (fd) => {
        const out: string[] = [];
        const v = new Uint8Array(1);
        // At most two held at a time: ten pushes go round the ring of four slots twice and more.
        for (let n = 1; n <= 10; n++) {
          expect(d.mapUpdateElem(fd, NO_KEY, u8(n), BPF_ANY)).toBe(0);
          if (n >= 2 && d.mapLookupAndDeleteElem(fd, NO_KEY, v) === 0) out.push(String(v[0]));
        }
        return [...out, ...drain(d, fd)];
      });
      expect(popped, d.kind).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "ENOENT"]);
    }
  });

  it("peeks without popping; empty peeks and pops are ENOENT and write nothing; other commands are EINVAL or ENOTSUPP", () => {
    for (const d of drivers()) {
      const seen = onMap(d, queue, (fd) => {
        const v = new Uint8Array(1).fill(0xaa);
        const emptyPeek = [res(d.mapLookupElem(fd, NO_KEY, v)), v[0]];
        const emptyPop = [res(d.mapLookupAndDeleteElem(fd, NO_KEY, v)), v[0]];
        d.mapUpdateElem(fd, NO_KEY, u8(7), BPF_ANY);
        const peek = [res(d.mapLookupElem(fd, NO_KEY, v)), v[0]];
        const flags = [BPF_NOEXIST, 3, BPF_F_LOCK, 8].map((f) => res(d.mapUpdateElem(fd, NO_KEY, u8(9), f)));
        const lockedPeek = res(d.mapLookupElem(fd, NO_KEY, v, BPF_F_LOCK));
        const other = [res(d.mapDeleteElem(fd, NO_KEY)), res(d.mapGetNextKey(fd, null, NO_KEY)), res(d.mapGetNextKey(fd, NO_KEY, NO_KEY))];
        const vals = new Uint8Array(2);
        const batches = [
          d.mapLookupBatch(fd, null, NO_KEY, NO_KEY, vals, 2), d.mapLookupAndDeleteBatch(fd, null, NO_KEY, NO_KEY, vals, 2),
          d.mapUpdateBatch(fd, NO_KEY, vals, 2), d.mapUpdateBatch(fd, NO_KEY, vals, 2, BPF_F_LOCK), d.mapDeleteBatch(fd, NO_KEY, 2),
        ].map((b) => `${errnoName(b.errno)} ${b.count}`);
        return { emptyPeek, emptyPop, peek, flags, lockedPeek, other, batches, left: drain(d, fd) };
      });
      expect(seen, d.kind).toEqual({
        emptyPeek: ["ENOENT", 0xaa], emptyPop: ["ENOENT", 0xaa], peek: ["ok", 7], flags: ["EINVAL", "EINVAL", "EINVAL", "EINVAL"],
        lockedPeek: "EINVAL", other: ["EINVAL", "EINVAL", "EINVAL"], batches: Array(5).fill("ENOTSUPP 2"), left: ["7", "ENOENT"],
      });
    }
  });

  it("frozen: pushes and pops are EPERM, a peek still answers, a lookup batch is ENOTSUPP before a write check would matter", () => {
    for (const d of drivers()) {
      const seen = onMap(d, stack, (fd) => {
        d.mapUpdateElem(fd, NO_KEY, u8(3), BPF_ANY);
        expect(d.mapFreeze(fd)).toBe(0);
        const v = new Uint8Array(1);
        const vals = new Uint8Array(1);
        return [
          res(d.mapUpdateElem(fd, NO_KEY, u8(4), BPF_ANY)), res(d.mapLookupAndDeleteElem(fd, NO_KEY, v)), res(d.mapDeleteElem(fd, NO_KEY)),
          `${res(d.mapLookupElem(fd, NO_KEY, v))} ${v[0]}`,
          errnoName(d.mapLookupBatch(fd, null, NO_KEY, NO_KEY, vals, 1).errno), errnoName(d.mapLookupAndDeleteBatch(fd, null, NO_KEY, NO_KEY, vals, 1).errno),
        ];
      });
      expect(seen, d.kind).toEqual(["EPERM", "EPERM", "EPERM", "ok 3", "ENOTSUPP", "EPERM"]);
    }
  });
});

describe("model: bloom filters as the kernel answers them", () => {
  it("sizes the bitset as bloom_map_alloc() does: n·k·7/5 bits, at least 64, rounded up to a power of two", () => {
    expect([1, 3, 9, 10, 64].map((n) => bloomBitsetMask(n, 5))).toEqual([63, 63, 63, 127, 511]);
    // 2^31 bits is still an ordinary bitset; past it, or past u32 on the way, every u32 is a bit.
    expect(bloomBitsetMask(0x80000000 / 7 * 5, 1)).toBe(0x7fffffff);
    expect(bloomBitsetMask(0x80000000 / 7 * 5 + 5, 1)).toBe(0xffffffff);
    expect(bloomBitsetMask(0xffffffff, 2)).toBe(0xffffffff);
  });

  // Under BPF_F_ZERO_SEED the bits are the kernel's: these false positives (never added, yet
  // every bit set) were read off the 6.18 kernel, for a u32-aligned value (jhash2) and not (jhash).
  const added = [10, 20, 21, 22, 23, 24];
  const cases: [string, number, number[], number[]][] = [
    // Of the values 0 to 99, only 13 (4 bytes) and only 38 (3 bytes) answer 0 without being added.
    ["4-byte values (jhash2 over u32 words)", 4, [...added, 13], [0, 11, 12, 38, 99]],
    ["3-byte values (jhash over bytes)", 3, [...added, 38], [0, 11, 12, 13, 99]],
  ];
  for (const [what, valueSize, present, absent] of cases) {
    it(`adds with BPF_ANY only and answers lookups from the kernel's bits: ${what}`, () => {
      const value = (n: number) => {
        const v = new Uint8Array(valueSize);
        v[0] = n;
        return v;
      };
      for (const d of drivers()) {
        const seen = onMap(d, { mapType: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize, maxEntries: 3, mapFlags: BPF_F_ZERO_SEED }, (fd) => {
          const flags = [BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK, 8].map((f) => res(d.mapUpdateElem(fd, NO_KEY, value(11), f)));
          for (const n of added) expect(d.mapUpdateElem(fd, NO_KEY, value(n), BPF_ANY)).toBe(0);
          const answer = (n: number) => {
            const q = value(n);
            const r = d.mapLookupElem(fd, NO_KEY, q);
            // The query is read, never written back.
            expect(q, `${d.kind} query ${n}`).toEqual(value(n));
            return res(r);
          };
          return { flags, present: present.map(answer), absent: absent.map(answer) };
        });
        expect(seen, d.kind).toEqual({
          flags: ["EINVAL", "EINVAL", "EINVAL", "EINVAL"], present: present.map(() => "ok"), absent: absent.map(() => "ENOENT"),
        });
      }
    });
  }

  it.runIf(kernel.unavailable === undefined)("takes its hash count from map_extra: under ZERO_SEED its answers and map_extra's read-back are the kernel's for 1 to 7 hashes", () => {
    // No answers are written down here: each hash count's must match the kernel's, and the
    // counts must not all answer alike (else map_extra would be ignored unseen).
    const run = (d: Driver, k: number) => onMap(d, { mapType: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_ZERO_SEED, mapExtra: BigInt(k) }, (fd) => {
      for (const n of [1, 2, 3, 4]) expect(d.mapUpdateElem(fd, NO_KEY, new Uint8Array([n, 0, 0, 0]), BPF_ANY)).toBe(0);
      const info = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
      const answers = Array.from({ length: 256 }, (_, n) => res(d.mapLookupElem(fd, NO_KEY, new Uint8Array([n, 0, 0, 0]))));
      return { extra: decodeMapInfo(info).mapExtra, maybe: answers.flatMap((a, n) => (a === "ok" ? [n] : [])) };
    });
    const k = kernel.create();
    const seen = [1, 2, 3, 4, 5, 6, 7].map((h) => ({ model: run(createModelDriver(), h), kernel: run(k, h) }));
    for (const [i, s] of seen.entries()) expect(s.model, `${i + 1} hashes`).toEqual(s.kernel);
    expect(new Set(seen.map((s) => s.kernel.maybe.join())).size).toBeGreaterThan(1);
  });

  it("refuses delete and next-key with EOPNOTSUPP, a pop with ENOTSUPP, every batch with ENOTSUPP; frozen, adds are EPERM and lookups answer", () => {
    for (const d of drivers()) {
      const seen = onMap(d, { mapType: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 2, maxEntries: 8, mapFlags: BPF_F_ZERO_SEED }, (fd) => {
        d.mapUpdateElem(fd, NO_KEY, u8(1, 2), BPF_ANY);
        const v = new Uint8Array(2);
        const vals = new Uint8Array(4);
        const refused = [res(d.mapDeleteElem(fd, NO_KEY)), res(d.mapGetNextKey(fd, null, NO_KEY)), res(d.mapLookupAndDeleteElem(fd, NO_KEY, v)),
          ...[d.mapLookupBatch(fd, null, NO_KEY, NO_KEY, vals, 2), d.mapUpdateBatch(fd, NO_KEY, vals, 2), d.mapDeleteBatch(fd, NO_KEY, 2)].map((b) => errnoName(b.errno))];
        d.mapFreeze(fd);
        const frozen = [res(d.mapUpdateElem(fd, NO_KEY, u8(3, 4), BPF_ANY)), res(d.mapLookupElem(fd, NO_KEY, u8(1, 2))), res(d.mapLookupAndDeleteElem(fd, NO_KEY, v))];
        return { refused, frozen };
      });
      expect(seen, d.kind).toEqual({
        refused: ["EOPNOTSUPP", "EOPNOTSUPP", "ENOTSUPP", "ENOTSUPP", "ENOTSUPP", "ENOTSUPP"], frozen: ["EPERM", "ok", "EPERM"],
      });
    }
  });
});

/** Creates of keyless maps and the kernel's answers, in the order its checks run (read off 6.18). */
const KEYLESS_CREATES: [string, MapCreateAttr, string][] = [];
for (const [t, name] of [[BPF_MAP_TYPE_QUEUE, "QUEUE"], [BPF_MAP_TYPE_STACK, "STACK"], [BPF_MAP_TYPE_BLOOM_FILTER, "BLOOM_FILTER"]] as const) {
  const bloom = t === BPF_MAP_TYPE_BLOOM_FILTER;
  const base = { mapType: t, keySize: 0, valueSize: 4, maxEntries: 3 };
  KEYLESS_CREATES.push(
    [`${name}`, base, "OK"],
    [`${name} with a key`, { ...base, keySize: 4 }, "EINVAL"],
    [`${name} of value 0`, { ...base, valueSize: 0 }, "EINVAL"],
    [`${name} of max_entries 0`, { ...base, maxEntries: 0 }, "EINVAL"],
    [`${name} NO_PREALLOC`, { ...base, mapFlags: BPF_F_NO_PREALLOC }, "EINVAL"],
    [`${name} ZERO_SEED`, { ...base, mapFlags: BPF_F_ZERO_SEED }, bloom ? "OK" : "EINVAL"],
    [`${name} MMAPABLE`, { ...base, mapFlags: BPF_F_MMAPABLE }, "EINVAL"],
    [`${name} RDONLY | WRONLY`, { ...base, mapFlags: BPF_F_RDONLY | BPF_F_WRONLY }, "EINVAL"],
    [`${name} RDONLY_PROG | WRONLY_PROG`, { ...base, mapFlags: BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG }, "EINVAL"],
    [`${name} RDONLY_PROG`, { ...base, mapFlags: BPF_F_RDONLY_PROG }, "OK"],
    [`${name} on node 0`, { ...base, mapFlags: BPF_F_NUMA_NODE, numaNode: 0 }, "OK"],
    [`${name} on node 1`, { ...base, mapFlags: BPF_F_NUMA_NODE, numaNode: 1 }, "EINVAL"],
    [`${name} of a value past kmalloc's limit`, { ...base, valueSize: (4 << 20) + 1, maxEntries: 1 }, "E2BIG"],
    // The queue checks the key first, the bloom filter the value size (in its alloc-check).
    [`${name} with a key and a value past kmalloc's limit`, { ...base, keySize: 4, valueSize: (4 << 20) + 1, maxEntries: 1 }, bloom ? "E2BIG" : "EINVAL"],
    [`${name} named badly`, { ...base, mapName: "bad-name" }, "EINVAL"],
    // map_extra is a bloom filter's hash count (low 4 bits; 0 means 5); no other type has one.
    [`${name} map_extra 1`, { ...base, mapExtra: 1n }, bloom ? "OK" : "EINVAL"],
    [`${name} map_extra 15`, { ...base, mapExtra: 15n }, bloom ? "OK" : "EINVAL"],
    [`${name} map_extra 16`, { ...base, mapExtra: 16n }, "EINVAL"],
  );
}

function keylessCreates(driver: Driver): [string, string][] {
  return KEYLESS_CREATES.map(([name, attr]) => {
    const fd = driver.mapCreate(attr);
    if (fd >= 0) driver.close(fd);
    return [name, fd >= 0 ? "OK" : errnoName(-fd)];
  });
}

describe("model: keyless create rules", () => {
  it("answers each keyless create as the kernel's checks do, in their order", () => {
    expect(keylessCreates(createModelDriver())).toEqual(KEYLESS_CREATES.map(([name, , answer]) => [name, answer]));
  });
});

describe.runIf(kernel.unavailable === undefined)("model vs kernel: queues, stacks and bloom filters", () => {
  it("the kernel answers the keyless creates as the model's table says", () => {
    expect(keylessCreates(kernel.create())).toEqual(KEYLESS_CREATES.map(([name, , answer]) => [name, answer]));
  });

  it("property: on random programs of keyless maps (bloom filters with and without ZERO_SEED), every answer agrees", async () => {
    for (const seed of [0x9e0, 0x9e1, 0x9e2]) {
      const s = await runDifferential({ left: "model", right: "kernel", runs: 400, seed, program: { types: KEYLESS_MAP_TYPES, zeroSeed: "sometimes" } });
      if (!s.ok) console.log(s.report);
      expect(s.divergences.map((c) => c.divergence), `seed ${seed}`).toEqual([]);
      expect(s.runs).toBe(400);
    }
  });

  it("property: invalid keyless creates get the kernel's errno from the model", async () => {
    const s = await runDifferential({ left: "model", right: "kernel", runs: 200, seed: 0x9e3, program: { types: KEYLESS_MAP_TYPES, invalid: "always", maxOps: 3 } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
  });
});
if (kernel.unavailable !== undefined) console.log(`model vs kernel (keyless maps) skipped: ${kernel.unavailable}`);
