// mapFdInfo on the simulator against this machine's kernel: the `memlock:` figure per map type,
// with and without pre-allocation, at several sizes, empty and after inserts, updates and
// deletes (where the kernel counts elements); `frozen` and a PROG_ARRAY's owner; the errnos.
import {
  BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PROG_ARRAY,
  Errno, isPerCpuMapType, mapTypeName, perCpuSlotSize, type Driver, type MapCreateAttr, type MapFdInfo,
} from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { kernel, kernelDriver, sim } from "./sim-helpers.js";

const HASHES = [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH];
const isLru = (t: number) => t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
/** [keySize, valueSize, maxEntries]: odd sizes round up to 8, odd counts to a power of two of buckets. */
const SHAPES: Array<[number, number, number]> = [[4, 8, 16], [4, 4, 1], [8, 13, 100], [16, 100, 1000], [5, 1, 7]];

interface Case {
  label: string;
  attr: MapCreateAttr;
  /** Elements to hold at each reading after the first (keys 0..n-1); a smaller n deletes. */
  fills: number[];
}

const cases: Case[] = [];
for (const [k, v, max] of SHAPES) {
  const shape = `k${k} v${v} max${max}`;
  for (const t of HASHES) {
    for (const flags of isLru(t) ? [0, BPF_F_NO_COMMON_LRU] : [0, BPF_F_NO_PREALLOC]) {
      cases.push({ label: `${mapTypeName(t)} ${shape} flags ${flags}`, attr: { mapType: t, keySize: k, valueSize: v, maxEntries: max, mapFlags: flags }, fills: [1, Math.min(max, 5), Math.min(max, 5), 0] });
    }
  }
  cases.push({ label: `array ${shape}`, attr: { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: v, maxEntries: max }, fills: [] });
  cases.push({ label: `array mmapable ${shape}`, attr: { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: v, maxEntries: max, mapFlags: BPF_F_MMAPABLE }, fills: [] });
  cases.push({ label: `percpu_array ${shape}`, attr: { mapType: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: v, maxEntries: max }, fills: [] });
  cases.push({ label: `prog_array max${max}`, attr: { mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: max }, fills: [] });
  cases.push({ label: `lpm_trie ${shape}`, attr: { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: k + 4, valueSize: v, maxEntries: max, mapFlags: BPF_F_NO_PREALLOC }, fills: [1, Math.min(max, 5), Math.min(max, 5), 0] });
}

/** The key of element `i`: an LPM key is a /32-or-less prefix of distinct data, others a u32 index. */
function keyOf(attr: MapCreateAttr, i: number): Uint8Array {
  const key = new Uint8Array(attr.keySize);
  const dv = new DataView(key.buffer);
  if (attr.mapType === BPF_MAP_TYPE_LPM_TRIE) {
    dv.setUint32(0, Math.min(32, (attr.keySize - 4) * 8), true);
    key[4] = i; // distinct first byte: never a prefix of another
  } else {
    dv.setUint32(0, i, true);
  }
  return key;
}

function fdInfo(d: Driver, fd: number): MapFdInfo | number {
  return d.mapFdInfo!(fd);
}

/** Creates the map, reads fdinfo, then moves to each fill and reads again; updates rewrite every present key. */
function readings(d: Driver, c: Case): Array<MapFdInfo | number | string> {
  const fd = d.mapCreate(c.attr);
  if (fd < 0) return [`create: ${fd}`];
  const valueSize = isPerCpuMapType(c.attr.mapType) ? perCpuSlotSize(c.attr.valueSize) * d.possibleCpus : c.attr.valueSize;
  const out: Array<MapFdInfo | number | string> = [fdInfo(d, fd)];
  let present = 0;
  try {
    for (const n of c.fills) {
      for (let i = 0; i < n; i++) {
        const r = d.mapUpdateElem(fd, keyOf(c.attr, i), new Uint8Array(valueSize).fill(i + 1), 0);
        if (r !== 0) out.push(`update ${i}: ${r}`);
      }
      for (let i = n; i < present; i++) {
        const r = d.mapDeleteElem(fd, keyOf(c.attr, i));
        if (r !== 0) out.push(`delete ${i}: ${r}`);
      }
      present = n;
      out.push(fdInfo(d, fd));
    }
  } finally {
    d.close(fd);
  }
  return out;
}

describe.skipIf(kernel.unavailable !== undefined)("mapFdInfo memlock: simulator = kernel, per type, size and fill", () => {
  for (const c of cases) {
    it(c.label, () => {
      const k = kernelDriver();
      const got = readings(sim({ possibleCpus: k.possibleCpus }), c);
      const want = readings(k, c);
      expect(got).toEqual(want);
      // A figure for every reading: the comparison is of numbers, never of two absences. (An
      // LRU with per-CPU lists of 4 may evict on the 5th insert: its delete then says ENOENT.)
      const infos = want.filter((r): r is MapFdInfo => typeof r === "object");
      expect(infos).toHaveLength(c.fills.length + 1);
      for (const r of infos) expect(typeof r.memlock).toBe("number");
    });
  }

  /** Map-in-map: the outer map's own figure, its inner maps not counted; a hash of maps keeps no spare elements. */
  for (const [label, type, flags] of [
    ["array_of_maps", BPF_MAP_TYPE_ARRAY_OF_MAPS, 0], ["hash_of_maps", BPF_MAP_TYPE_HASH_OF_MAPS, 0],
    ["hash_of_maps NO_PREALLOC", BPF_MAP_TYPE_HASH_OF_MAPS, BPF_F_NO_PREALLOC],
  ] as const) {
    it(label, () => {
      const scenario = (d: Driver) => {
        const inner = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
        const outer = d.mapCreate({ mapType: type, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: flags, innerMapFd: inner });
        const out: Array<MapFdInfo | number> = [fdInfo(d, outer)];
        for (let i = 0; i < 3; i++) {
          const key = new Uint8Array(4);
          key[0] = i;
          const v = new Uint8Array(4);
          new DataView(v.buffer).setUint32(0, inner, true);
          out.push(d.mapUpdateElem(outer, key, v, 0), fdInfo(d, outer));
        }
        d.close(outer);
        d.close(inner);
        return out;
      };
      const k = kernelDriver();
      expect(scenario(sim({ possibleCpus: k.possibleCpus }))).toEqual(scenario(k));
    });
  }

  it("frozen after BPF_MAP_FREEZE, on every fd of the map, read-only ones too", () => {
    const scenario = (d: Driver) => {
      const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const before = fdInfo(d, fd);
      d.mapFreeze(fd);
      const info = new Uint8Array(88);
      d.objGetInfoByFd(fd, info);
      const ro = d.mapGetFdById(new DataView(info.buffer).getUint32(4, true), 1 << 3);
      const after = [fdInfo(d, fd), fdInfo(d, ro)];
      d.close(ro);
      d.close(fd);
      return { before, after };
    };
    const k = kernelDriver();
    const want = scenario(k);
    expect(want.before).toMatchObject({ frozen: false });
    expect(want.after).toMatchObject([{ frozen: true }, { frozen: true }]);
    expect(scenario(sim({ possibleCpus: k.possibleCpus }))).toEqual(want);
  });

  it("a PROG_ARRAY's owner: absent until a program is stored, then its type and JIT flag", () => {
    const scenario = (d: Driver) => {
      const pa = d.mapCreate({ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      const before = fdInfo(d, pa);
      const insns = new Uint8Array(16);
      insns[0] = 0xb7; // r0 = 0
      insns[8] = 0x95; // exit
      const prog = d.progLoad({ progType: 1, insns, license: "GPL" }); // SOCKET_FILTER
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, prog, true);
      const stored = d.mapUpdateElem(pa, new Uint8Array(4), v, 0);
      const after = fdInfo(d, pa);
      const ofProg = fdInfo(d, prog);
      d.close(prog);
      d.close(pa);
      return { before, stored, after, ofProg };
    };
    const k = kernelDriver();
    const want = scenario(k);
    expect(want).toMatchObject({ stored: 0, after: { ownerProgType: 1 }, ofProg: -Errno.EINVAL });
    expect((want.before as MapFdInfo).ownerProgType).toBeUndefined();
    expect(scenario(sim({ possibleCpus: k.possibleCpus }))).toEqual(want);
  });

  it("EBADF for an fd that is not open, EINVAL for one that is no map", () => {
    const scenario = (d: Driver) => {
      const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      d.close(fd);
      return [fdInfo(d, fd), fdInfo(d, -1), fdInfo(d, 0x7fffffff), fdInfo(d, 0)];
    };
    const k = kernelDriver();
    const want = scenario(k);
    expect(want).toEqual([-Errno.EBADF, -Errno.EBADF, -Errno.EBADF, -Errno.EINVAL]);
    expect(scenario(sim({ possibleCpus: k.possibleCpus }))).toEqual(want);
  });
});

describe("mapFdInfo memlock on other CPU counts (the kernel's formulas, by hand)", () => {
  // Figures this machine cannot show: each term that grows with num_possible_cpus(), worked out
  // from htab_map_mem_usage and array_map_mem_usage with the sizes the kernel cases pinned down.
  const at = (cpus: number, attr: MapCreateAttr, inserts = 0): number | undefined => {
    const d = sim({ possibleCpus: cpus });
    const fd = d.mapCreate(attr);
    const valueSize = isPerCpuMapType(attr.mapType) ? perCpuSlotSize(attr.valueSize) * cpus : attr.valueSize;
    for (let i = 0; i < inserts; i++) d.mapUpdateElem(fd, keyOf(attr, i), new Uint8Array(valueSize), 0);
    const r = d.mapFdInfo(fd);
    return typeof r === "number" ? r : r.memlock;
  };
  const hash = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16 };

  it("hash: the spare element and pointer per CPU, and the lock counters", () => {
    // 832 + 16×16 buckets + 4×8 per CPU + 64 × (16 + cpus) + 8 per CPU
    expect([1, 2, 4, 64].map((c) => at(c, hash))).toEqual([2216, 2320, 2528, 8768]);
    // NO_PREALLOC: the lock counters, then (64 + 8) per element
    expect([1, 4].map((c) => at(c, { ...hash, mapFlags: BPF_F_NO_PREALLOC }, 3))).toEqual([1120 + 216, 1216 + 216]);
  });

  it("per-CPU hash and array: a value slot per CPU", () => {
    // 832 + 256 + 32·cpus + (64 + 8·cpus) × 16: no spare elements, a pointer in each element
    expect([1, 4].map((c) => at(c, { ...hash, mapType: BPF_MAP_TYPE_PERCPU_HASH }))).toEqual([2272, 2752]);
    // NO_PREALLOC: 832 + 256 + 32·cpus, then per element (64 + 8) + (8 + 8) + 8·cpus, its value slots
    expect([1, 4].map((c) => at(c, { ...hash, mapType: BPF_MAP_TYPE_PERCPU_HASH, mapFlags: BPF_F_NO_PREALLOC }, 3))).toEqual([1408, 1576]);
    // 312 + 16 × (8 + 8·cpus)
    expect([1, 4].map((c) => at(c, { mapType: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 16 }))).toEqual([568, 952]);
  });

  it("LRU with per-CPU lists: max_entries rounded up to a multiple of the CPUs first", () => {
    // 3 CPUs: max 16 → 18, 32 buckets: 832 + 512 + 96 + 64 × 18
    expect(at(3, { ...hash, mapType: BPF_MAP_TYPE_LRU_HASH, mapFlags: BPF_F_NO_COMMON_LRU })).toBe(2592);
  });
});
