// MAP_CREATE: the per-type matrix, the check order and the name rules (kernel-maps.md §3), run
// on the simulator and on this machine's kernel; both must give the answers the probes recorded
// (spec/kernel-probes/results/probe_create.txt, probe_caps_order.txt, probe_bounds.txt).
import type { MapCreateAttr } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { errName, kernel, kernelDriver, mapInfo, sim } from "./sim-helpers.js";

const HASH = 1, ARRAY = 2, PROG_ARRAY = 3, PERCPU_HASH = 5, PERCPU_ARRAY = 6, LRU_HASH = 9, LRU_PERCPU_HASH = 10;
const LPM = 11, ARRAY_OF_MAPS = 12, HASH_OF_MAPS = 13;
const NO_PREALLOC = 0x1, NO_COMMON_LRU = 0x2, NUMA_NODE = 0x4, RDONLY = 0x8, WRONLY = 0x10, STACK_BUILD_ID = 0x20;
const ZERO_SEED = 0x40, RDONLY_PROG = 0x80, WRONLY_PROG = 0x100, MMAPABLE = 0x400, PRESERVE_ELEMS = 0x800, INNER_MAP = 0x1000;

type Case = [label: string, attr: Partial<MapCreateAttr>, expected: string, reportedMax?: number, reportedFlags?: number];

const base = (t: number, more: Partial<MapCreateAttr> = {}): Partial<MapCreateAttr> => ({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 1, ...more });

const hashLike = (t: number, name: string, percpu: boolean, lru: boolean): Case[] => [
  [`${name} k4 v4 max1`, base(t), "OK", 1, 0],
  [`${name} max_entries=0`, base(t, { maxEntries: 0 }), "EINVAL"],
  [`${name} key_size=0`, base(t, { keySize: 0 }), "EINVAL"],
  [`${name} value_size=0`, base(t, { valueSize: 0 }), "EINVAL"],
  [`${name} key_size=65536`, base(t, { keySize: 65536 }), "OK"],
  [`${name} value_size=32768`, base(t, { valueSize: 32768 }), "OK"],
  [`${name} value_size=32769`, base(t, { valueSize: 32769 }), percpu ? "E2BIG" : "OK"],
  [`${name} value_size=1<<22`, base(t, { valueSize: 1 << 22 }), "E2BIG"],
  [`${name} value_size=4194251 (largest)`, base(t, { valueSize: 4194251 }), percpu ? "E2BIG" : "OK"],
  [`${name} value_size=4194252`, base(t, { valueSize: 4194252 }), "E2BIG"],
  [`${name} value_size=0xffffffff`, base(t, { valueSize: 0xffffffff }), "E2BIG"],
  [`${name} max_entries=2^31+1`, base(t, { maxEntries: 2 ** 31 + 1 }), "E2BIG"],
  [`${name} max_entries=2^27+1 (too many buckets)`, base(t, { maxEntries: 2 ** 27 + 1, mapFlags: lru ? 0 : NO_PREALLOC }), "E2BIG"],
  [`${name} NO_PREALLOC`, base(t, { mapFlags: NO_PREALLOC }), lru ? "ENOTSUPP" : "OK", 1, NO_PREALLOC],
  [`${name} NO_COMMON_LRU max=3`, base(t, { mapFlags: NO_COMMON_LRU, maxEntries: 3 }), lru ? "OK" : "EINVAL", 4, NO_COMMON_LRU],
  [`${name} NO_COMMON_LRU max=1`, base(t, { mapFlags: NO_COMMON_LRU }), lru ? "OK" : "EINVAL", 2, NO_COMMON_LRU],
  [`${name} NO_COMMON_LRU|NO_PREALLOC`, base(t, { mapFlags: NO_COMMON_LRU | NO_PREALLOC }), lru ? "ENOTSUPP" : "EINVAL"],
  [`${name} ZERO_SEED`, base(t, { mapFlags: ZERO_SEED }), "OK", 1, ZERO_SEED],
  [`${name} RDONLY|WRONLY`, base(t, { mapFlags: RDONLY | WRONLY }), "EINVAL"],
  [`${name} RDONLY_PROG|WRONLY_PROG`, base(t, { mapFlags: RDONLY_PROG | WRONLY_PROG }), "EINVAL"],
  [`${name} RDONLY_PROG`, base(t, { mapFlags: RDONLY_PROG }), "OK", 1, RDONLY_PROG],
  [`${name} RDONLY (fd-only flag)`, base(t, { mapFlags: RDONLY }), "OK", 1, 0],
  [`${name} MMAPABLE`, base(t, { mapFlags: MMAPABLE }), "EINVAL"],
  [`${name} INNER_MAP`, base(t, { mapFlags: INNER_MAP }), "EINVAL"],
  [`${name} PRESERVE_ELEMS`, base(t, { mapFlags: PRESERVE_ELEMS }), "EINVAL"],
  [`${name} STACK_BUILD_ID`, base(t, { mapFlags: STACK_BUILD_ID }), "EINVAL"],
  [`${name} flags=1<<30`, base(t, { mapFlags: 1 << 30 }), "EINVAL"],
  [`${name} NUMA_NODE node0`, base(t, { mapFlags: NUMA_NODE }), percpu ? "EINVAL" : "OK", 1, NUMA_NODE],
  [`${name} NUMA_NODE node5`, base(t, { mapFlags: NUMA_NODE, numaNode: 5 }), "EINVAL"],
  [`${name} inner_map_fd set (ignored)`, base(t, { innerMapFd: 999 }), "OK"],
  [`${name} name "ok_name.1"`, base(t, { mapName: "ok_name.1" }), "OK"],
];

const arrayLike = (t: number, name: string): Case[] => {
  const percpu = t === PERCPU_ARRAY, prog = t === PROG_ARRAY;
  return [
    [`${name} k4 v4 max1`, base(t), "OK", 1, 0],
    [`${name} key_size=8`, base(t, { keySize: 8 }), "EINVAL"],
    [`${name} key_size=0`, base(t, { keySize: 0 }), "EINVAL"],
    [`${name} value_size=0`, base(t, { valueSize: 0 }), "EINVAL"],
    [`${name} value_size=8`, base(t, { valueSize: 8 }), prog ? "EINVAL" : "OK"],
    [`${name} max_entries=0`, base(t, { maxEntries: 0 }), "EINVAL"],
    [`${name} value_size=32769`, base(t, { valueSize: 32769 }), prog ? "EINVAL" : percpu ? "E2BIG" : "OK"],
    [`${name} value_size=0x80000000`, base(t, { valueSize: 0x80000000 }), prog ? "EINVAL" : "E2BIG"],
    [`${name} value_size=1<<20 max=1<<20`, base(t, { valueSize: 1 << 20, maxEntries: 1 << 20 }), prog ? "EINVAL" : percpu ? "E2BIG" : "ENOMEM"],
    [`${name} max_entries=0xffffffff`, base(t, { maxEntries: 0xffffffff }), "ENOMEM"],
    [`${name} NO_PREALLOC`, base(t, { mapFlags: NO_PREALLOC }), "EINVAL"],
    [`${name} ZERO_SEED`, base(t, { mapFlags: ZERO_SEED }), "EINVAL"],
    [`${name} MMAPABLE`, base(t, { mapFlags: MMAPABLE }), t === ARRAY ? "OK" : "EINVAL", 1, MMAPABLE],
    [`${name} INNER_MAP`, base(t, { mapFlags: INNER_MAP }), t === ARRAY ? "OK" : "EINVAL", 1, INNER_MAP],
    [`${name} PRESERVE_ELEMS`, base(t, { mapFlags: PRESERVE_ELEMS }), "EINVAL"],
    [`${name} RDONLY`, base(t, { mapFlags: RDONLY }), "OK", 1, 0],
    [`${name} WRONLY`, base(t, { mapFlags: WRONLY }), "OK", 1, 0],
    [`${name} RDONLY|WRONLY`, base(t, { mapFlags: RDONLY | WRONLY }), "EINVAL"],
    [`${name} RDONLY_PROG`, base(t, { mapFlags: RDONLY_PROG }), prog ? "EINVAL" : "OK", 1, RDONLY_PROG],
    [`${name} WRONLY_PROG`, base(t, { mapFlags: WRONLY_PROG }), prog ? "EINVAL" : "OK", 1, WRONLY_PROG],
    [`${name} RDONLY_PROG|WRONLY_PROG`, base(t, { mapFlags: RDONLY_PROG | WRONLY_PROG }), "EINVAL"],
    [`${name} NUMA_NODE node0`, base(t, { mapFlags: NUMA_NODE }), percpu ? "EINVAL" : "OK", 1, NUMA_NODE],
    [`${name} NO_COMMON_LRU`, base(t, { mapFlags: NO_COMMON_LRU }), "EINVAL"],
    [`${name} inner_map_fd set (ignored)`, base(t, { innerMapFd: 999 }), "OK"],
  ];
};

const lpm = (more: Partial<MapCreateAttr>) => ({ mapType: LPM, keySize: 8, valueSize: 4, maxEntries: 1, mapFlags: NO_PREALLOC, ...more });
const lpmCases: Case[] = [
  ["LPM k8 v4 NO_PREALLOC", lpm({}), "OK", 1, NO_PREALLOC],
  ["LPM k8 no NO_PREALLOC", lpm({ mapFlags: 0 }), "EINVAL"],
  ["LPM k4 (no data bytes)", lpm({ keySize: 4 }), "EINVAL"],
  ["LPM k5", lpm({ keySize: 5 }), "OK"],
  ["LPM k260", lpm({ keySize: 260 }), "OK"],
  ["LPM k261", lpm({ keySize: 261 }), "EINVAL"],
  ["LPM v0", lpm({ valueSize: 0 }), "EINVAL"],
  ["LPM max0", lpm({ maxEntries: 0 }), "EINVAL"],
  ["LPM v 4194024 (largest)", lpm({ valueSize: 4194024 }), "OK"],
  ["LPM v 4194025", lpm({ valueSize: 4194025 }), "EINVAL"],
  ["LPM max 0xffffffff", lpm({ maxEntries: 0xffffffff }), "OK", 0xffffffff, NO_PREALLOC],
  ["LPM +ZERO_SEED", lpm({ mapFlags: NO_PREALLOC | ZERO_SEED }), "EINVAL"],
  ["LPM +RDONLY", lpm({ mapFlags: NO_PREALLOC | RDONLY }), "OK", 1, NO_PREALLOC],
  ["LPM +NUMA_NODE", lpm({ mapFlags: NO_PREALLOC | NUMA_NODE }), "OK", 1, NO_PREALLOC | NUMA_NODE],
  ["LPM +MMAPABLE", lpm({ mapFlags: NO_PREALLOC | MMAPABLE }), "EINVAL"],
  ["LPM +RDONLY_PROG", lpm({ mapFlags: NO_PREALLOC | RDONLY_PROG }), "OK", 1, NO_PREALLOC | RDONLY_PROG],
];

const genericCases: Case[] = [
  ["map_type=0", base(0), "EINVAL"],
  ["map_type=34", base(34), "EINVAL"],
  ["map_type=1000", base(1000), "EINVAL"],
  ["name 15 chars", base(HASH, { mapName: "abcdefghijklmno" }), "OK"],
  ["name 16 chars (no NUL)", base(HASH, { mapName: "abcdefghijklmnop" }), "EINVAL"],
  ['name with "-"', base(HASH, { mapName: "a-b" }), "EINVAL"],
  ["name with space", base(HASH, { mapName: "a b" }), "EINVAL"],
  ['name with "/"', base(HASH, { mapName: "a/b" }), "EINVAL"],
  // Order: the flags' EINVAL comes before the type's checks, the name after allocation.
  ["RDONLY|WRONLY with a bad type", base(1000, { mapFlags: RDONLY | WRONLY }), "EINVAL"],
  ["bad name on a map too big to allocate", base(ARRAY, { valueSize: 1 << 20, maxEntries: 1 << 20, mapName: "a-b" }), "ENOMEM"],
  ["E2BIG before the name", base(HASH, { valueSize: 1 << 22, mapName: "a-b" }), "E2BIG"],
];

const cases: Case[] = [
  ...hashLike(HASH, "HASH", false, false),
  ...hashLike(PERCPU_HASH, "PERCPU_HASH", true, false),
  ...hashLike(LRU_HASH, "LRU_HASH", false, true),
  ...hashLike(LRU_PERCPU_HASH, "LRU_PERCPU_HASH", true, true),
  ...arrayLike(ARRAY, "ARRAY"),
  ...arrayLike(PERCPU_ARRAY, "PERCPU_ARRAY"),
  ...arrayLike(PROG_ARRAY, "PROG_ARRAY"),
  ...lpmCases,
  ...genericCases,
];

function attempt(d: ReturnType<typeof sim> | ReturnType<typeof kernelDriver>, attr: Partial<MapCreateAttr>): { r: string; max?: number; flags?: number } {
  const fd = d.mapCreate(attr as MapCreateAttr);
  if (fd < 0) return { r: errName(fd) };
  const info = mapInfo(d, fd);
  d.close(fd);
  return { r: "OK", max: info.maxEntries, flags: info.mapFlags };
}

describe("MAP_CREATE matrix (kernel-maps.md §3.3), simulator and kernel", () => {
  it.each(cases)("%s → %s", (_label, attr, expected, reportedMax, reportedFlags) => {
    const s = sim();
    const got = attempt(s, attr);
    expect(got.r).toBe(expected);
    if (expected === "OK" && reportedMax !== undefined) {
      expect(got.max).toBe(reportedMax);
      expect(got.flags).toBe(reportedFlags);
    }
    if (kernel.unavailable === undefined) expect(attempt(kernelDriver(), attr)).toEqual(got);
  });
});

describe("MAP_CREATE map-in-map templates (kernel-maps.md §3.3, §11)", () => {
  const scenarios: Array<[string, (d: ReturnType<typeof kernelDriver>) => number]> = [
    ["ARRAY_OF_MAPS without inner_map_fd (fd 0 is not a map)", (d) => d.mapCreate({ ...base(ARRAY_OF_MAPS), maxEntries: 2 } as MapCreateAttr)],
    ["ARRAY_OF_MAPS with a closed fd", (d) => d.mapCreate({ ...base(ARRAY_OF_MAPS), maxEntries: 2, innerMapFd: 999 } as MapCreateAttr)],
    ["HASH_OF_MAPS value 8", (d) => withInner(d, base(ARRAY), (fd) => d.mapCreate({ ...base(HASH_OF_MAPS), valueSize: 8, innerMapFd: fd } as MapCreateAttr))],
    ["ARRAY_OF_MAPS key 8", (d) => withInner(d, base(ARRAY), (fd) => d.mapCreate({ ...base(ARRAY_OF_MAPS), keySize: 8, innerMapFd: fd } as MapCreateAttr))],
    ["ARRAY_OF_MAPS over an array", (d) => withInner(d, base(ARRAY), (fd) => d.mapCreate({ ...base(ARRAY_OF_MAPS), maxEntries: 2, innerMapFd: fd } as MapCreateAttr))],
    ["ARRAY_OF_MAPS over a PROG_ARRAY (no meta compare)", (d) => withInner(d, base(PROG_ARRAY), (fd) => d.mapCreate({ ...base(ARRAY_OF_MAPS), innerMapFd: fd } as MapCreateAttr))],
    ["ARRAY_OF_MAPS over an LPM trie", (d) => withInner(d, lpm({}), (fd) => d.mapCreate({ ...base(ARRAY_OF_MAPS), innerMapFd: fd } as MapCreateAttr))],
    ["HASH_OF_MAPS over a PERCPU_HASH, ZERO_SEED, NO_PREALLOC", (d) => withInner(d, base(PERCPU_HASH), (fd) => d.mapCreate({ ...base(HASH_OF_MAPS), mapFlags: ZERO_SEED | NO_PREALLOC, innerMapFd: fd } as MapCreateAttr))],
    ["HASH_OF_MAPS NO_COMMON_LRU", (d) => withInner(d, base(ARRAY), (fd) => d.mapCreate({ ...base(HASH_OF_MAPS), mapFlags: NO_COMMON_LRU, innerMapFd: fd } as MapCreateAttr))],
    ["ARRAY_OF_MAPS RDONLY_PROG", (d) => withInner(d, base(ARRAY), (fd) => d.mapCreate({ ...base(ARRAY_OF_MAPS), mapFlags: RDONLY_PROG, innerMapFd: fd } as MapCreateAttr))],
    ["HASH_OF_MAPS RDONLY_PROG", (d) => withInner(d, base(ARRAY), (fd) => d.mapCreate({ ...base(HASH_OF_MAPS), mapFlags: RDONLY_PROG, innerMapFd: fd } as MapCreateAttr))],
    ["two levels: ARRAY_OF_MAPS over an ARRAY_OF_MAPS", (d) => withInner(d, base(ARRAY), (a) => {
      const mid = d.mapCreate({ ...base(ARRAY_OF_MAPS), innerMapFd: a } as MapCreateAttr);
      const r = d.mapCreate({ ...base(ARRAY_OF_MAPS), innerMapFd: mid } as MapCreateAttr);
      d.close(mid);
      return r;
    })],
  ];
  const expected = ["EINVAL", "EBADF", "EINVAL", "EINVAL", "OK", "ENOTSUPP", "OK", "OK", "EINVAL", "EINVAL", "OK", "EINVAL"];

  function withInner(d: ReturnType<typeof kernelDriver>, attr: Partial<MapCreateAttr>, f: (fd: number) => number): number {
    const inner = d.mapCreate(attr as MapCreateAttr);
    if (inner < 0) throw new Error(`inner create: ${errName(inner)}`);
    try {
      return f(inner);
    } finally {
      d.close(inner);
    }
  }
  const outcome = (d: ReturnType<typeof kernelDriver>, f: (d: ReturnType<typeof kernelDriver>) => number) => {
    const fd = f(d);
    if (fd >= 0) d.close(fd);
    return errName(fd);
  };

  it.each(scenarios.map(([l, f], i) => [l, f, expected[i]!] as const))("%s", (_l, f, want) => {
    expect(outcome(sim(), f)).toBe(want);
    if (kernel.unavailable === undefined) expect(outcome(kernelDriver(), f)).toBe(want);
  });
});

describe("MAP_CREATE without privilege (probe_caps_order.txt: unprivileged_bpf_disabled=2)", () => {
  // The kernel's answers for a process without CAP_BPF and CAP_SYS_ADMIN, recorded by the probe.
  const table: Array<[string, Partial<MapCreateAttr>, string]> = [
    ["HASH", base(HASH), "EPERM"],
    ["HASH max_entries=0 (alloc-check before the gate)", base(HASH, { maxEntries: 0 }), "EINVAL"],
    ["HASH flags=1<<30", base(HASH, { mapFlags: 1 << 30 }), "EINVAL"],
    ["HASH ZERO_SEED", base(HASH, { mapFlags: ZERO_SEED }), "EPERM"],
    ["HASH bad name (name checked after the gate)", base(HASH, { mapName: "a-b" }), "EPERM"],
    ["ARRAY key_size=8", base(ARRAY, { keySize: 8 }), "EINVAL"],
    ["LPM without NO_PREALLOC (trie checks after the gate)", lpm({ mapFlags: 0 }), "EPERM"],
    ["map_type=1000", base(1000), "EINVAL"],
  ];
  it.each(table)("%s → %s", (_l, attr, want) => {
    const fd = sim({ privileged: false }).mapCreate(attr as MapCreateAttr);
    expect(errName(fd)).toBe(want);
  });

  it("with unprivileged_bpf_disabled=0, plain maps work but LRU, LPM and ZERO_SEED need privilege", () => {
    const s = sim({ privileged: false, unprivilegedBpfDisabled: 0 });
    expect(s.mapCreate(base(HASH) as MapCreateAttr)).toBeGreaterThanOrEqual(3);
    expect(s.mapCreate(base(ARRAY) as MapCreateAttr)).toBeGreaterThanOrEqual(3);
    expect(errName(s.mapCreate(base(LRU_HASH) as MapCreateAttr))).toBe("EPERM");
    expect(errName(s.mapCreate(lpm({}) as MapCreateAttr))).toBe("EPERM");
    expect(errName(s.mapCreate(base(HASH, { mapFlags: ZERO_SEED }) as MapCreateAttr))).toBe("EPERM");
    // Without CAP_PERFMON arrays are padded to a power of two; a round-up past u32 is E2BIG.
    expect(errName(s.mapCreate(base(ARRAY, { maxEntries: 0x80000001 }) as MapCreateAttr))).toBe("E2BIG");
  });
});

describe("MAP_CREATE with BPF_F_TOKEN_FD", () => {
  it("reads map_token_fd 0: stdin, which is no token (EINVAL), or EBADF once stdin is closed", () => {
    const s = sim();
    const withToken = { ...base(HASH), mapFlags: 0x10000 } as MapCreateAttr;
    expect(errName(s.mapCreate(withToken))).toBe("EINVAL");
    expect(s.close(0)).toBe(0);
    expect(errName(s.mapCreate(withToken))).toBe("EBADF");
  });
});

describe("MAP_CREATE bad input (the kernel driver's TypeError/RangeError contract)", () => {
  it("rejects non-integer and out-of-range fields before any syscall", () => {
    const s = sim();
    expect(() => s.mapCreate(null as unknown as MapCreateAttr)).toThrow(TypeError);
    expect(() => s.mapCreate({ ...base(HASH), keySize: "4" } as unknown as MapCreateAttr)).toThrow(TypeError);
    expect(() => s.mapCreate({ ...base(HASH), maxEntries: 1.5 } as MapCreateAttr)).toThrow(TypeError);
    expect(() => s.mapCreate({ ...base(HASH), valueSize: -1 } as MapCreateAttr)).toThrow(RangeError);
    expect(() => s.mapCreate({ ...base(HASH), mapFlags: 2 ** 32 } as MapCreateAttr)).toThrow(RangeError);
    expect(() => s.mapCreate({ ...base(HASH), mapName: "a\0b" } as MapCreateAttr)).toThrow(TypeError);
    // Nothing was created by the failed calls: the next fd is still 3.
    expect(s.mapCreate(base(HASH) as MapCreateAttr)).toBe(3);
  });
});
