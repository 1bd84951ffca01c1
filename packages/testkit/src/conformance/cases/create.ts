// kernel-maps.md §3: MAP_CREATE validation per type, names, flags, inner maps, check order.
// The rows are probe_create.txt's, less the ENOMEM ones (a simulator may pick its own cap).
import type { MapCreateAttr } from "@bpfkit/core";
import { errnoOf, show, type Expect } from "../assert.js";
import type { CaseContext } from "../context.js";
import { effectiveLruMax } from "../models/lru.js";
import type { ConformanceCase } from "../types.js";
import {
  ARRAY, ARRAY_OF_MAPS, arrayTemplate, Checks, F, HASH, HASH_OF_MAPS, LPM_TRIE, LRU_HASH, LRU_PERCPU_HASH,
  PERCPU_ARRAY, PERCPU_HASH, PROG_ARRAY, typeNames, QUEUE, STACK, BLOOM_FILTER, pcpuMinUnitSize,
} from "./common.js";

/** [label, change to the base attr, expected, reported max_entries/map_flags when OK]. */
type Row = readonly [string, Partial<MapCreateAttr>, Expect, { max?: number; flags?: number }?];

function runRows(ctx: CaseContext, title: string, base: MapCreateAttr, rows: readonly Row[]): void {
  const c = new Checks(title);
  for (const [label, change, want, reported] of rows) {
    const attr = { ...base, ...change };
    const fd = ctx.tryCreate(attr);
    if (c.result(fd, want, label) && fd >= 0) {
      const info = ctx.info(fd);
      c.equal(info.maxEntries, reported?.max ?? attr.maxEntries, `${label}: info max_entries`);
      c.equal(info.mapFlags, reported?.flags ?? ((attr.mapFlags ?? 0) & ~(F.RDONLY | F.WRONLY)), `${label}: info map_flags`);
      ctx.close(fd);
    }
  }
  c.done();
}

const node0 = { mapFlags: F.NUMA_NODE, numaNode: 0 };
const node5 = { mapFlags: F.NUMA_NODE, numaNode: 5 };
/** numa_node 0xffffffff is NUMA_NO_NODE (-1): with BPF_F_NUMA_NODE it asks for no node, so even
 * the types that refuse a node (per-CPU ones) accept it, and info keeps the flag. */
const nodeNone = { mapFlags: F.NUMA_NODE, numaNode: 0xffffffff };

function hashRows(t: number, ctx: CaseContext): Row[] {
  const percpu = t === PERCPU_HASH || t === LRU_PERCPU_HASH;
  const lru = t === LRU_HASH || t === LRU_PERCPU_HASH;
  const big: Expect = percpu ? "E2BIG" : "OK";
  const unit = pcpuMinUnitSize(ctx);
  return [
    ["k4 v4 max1", {}, "OK"],
    ["max_entries=0", { maxEntries: 0 }, "EINVAL"],
    ["key_size=0", { keySize: 0 }, "EINVAL"],
    ["value_size=0", { valueSize: 0 }, "EINVAL"],
    ["key_size=513 (no 512-byte limit)", { keySize: 513 }, "OK"],
    ["key_size=65536", { keySize: 65536 }, "OK"],
    [`value_size=${unit}`, { valueSize: unit }, "OK"],
    [`value_size=${unit + 1}`, { valueSize: unit + 1 }, big],
    ["value_size=1<<20", { valueSize: 1 << 20 }, big],
    ["value_size=1<<22", { valueSize: 1 << 22 }, "E2BIG"],
    ["value_size=0xffffffff", { valueSize: 0xffffffff }, "E2BIG"],
    ["max_entries=2^31+1", { maxEntries: 2 ** 31 + 1 }, "E2BIG"],
    ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, lru ? "ENOTSUPP" : "OK"],
    ["NO_COMMON_LRU max=3", { mapFlags: F.NO_COMMON_LRU, maxEntries: 3 }, lru ? "OK" : "EINVAL",
      { max: effectiveLruMax(3, ctx.cpus, true) }],
    ["NO_COMMON_LRU max=1", { mapFlags: F.NO_COMMON_LRU, maxEntries: 1 }, lru ? "OK" : "EINVAL",
      { max: effectiveLruMax(1, ctx.cpus, true) }],
    ["NO_COMMON_LRU|NO_PREALLOC", { mapFlags: F.NO_COMMON_LRU | F.NO_PREALLOC }, lru ? "ENOTSUPP" : "EINVAL"],
    ["ZERO_SEED", { mapFlags: F.ZERO_SEED }, "OK"],
    ["RDONLY (fd-only: info flags 0)", { mapFlags: F.RDONLY }, "OK", { flags: 0 }],
    ["RDONLY|WRONLY", { mapFlags: F.RDONLY | F.WRONLY }, "EINVAL"],
    ["RDONLY_PROG|WRONLY_PROG", { mapFlags: F.RDONLY_PROG | F.WRONLY_PROG }, "EINVAL"],
    ["RDONLY_PROG", { mapFlags: F.RDONLY_PROG }, "OK"],
    ["MMAPABLE", { mapFlags: F.MMAPABLE }, "EINVAL"],
    ["INNER_MAP", { mapFlags: F.INNER_MAP }, "EINVAL"],
    ["PRESERVE_ELEMS", { mapFlags: F.PRESERVE_ELEMS }, "EINVAL"],
    ["STACK_BUILD_ID", { mapFlags: F.STACK_BUILD_ID }, "EINVAL"],
    ["flags=1<<30", { mapFlags: 1 << 30 }, "EINVAL"],
    ["NUMA_NODE node 0", node0, percpu ? "EINVAL" : "OK"],
    ["NUMA_NODE node 5 (offline)", node5, "EINVAL"],
    ["NUMA_NODE node 1 (offline: this host has node 0 only)", { mapFlags: F.NUMA_NODE, numaNode: 1 }, "EINVAL"],
    ["NUMA_NODE node -1 (NUMA_NO_NODE)", nodeNone, "OK"],
    // A node and per-CPU LRU lists do not go together (nor does NO_COMMON_LRU off an LRU).
    ["NUMA_NODE node 0 with NO_COMMON_LRU", { mapFlags: F.NUMA_NODE | F.NO_COMMON_LRU, numaNode: 0, maxEntries: 4 }, "EINVAL"],
    ["NUMA_NODE node -1 with NO_COMMON_LRU", { mapFlags: F.NUMA_NODE | F.NO_COMMON_LRU, numaNode: 0xffffffff, maxEntries: 4 }, lru ? "OK" : "EINVAL",
      { max: effectiveLruMax(4, ctx.cpus, true) }],
  ];
}

function hashCase(t: number): ConformanceCase {
  return {
    name: `§3.3 create ${typeNames[t]}: per-type matrix`,
    group: "create",
    run(ctx) {
      const base = { mapType: t, keySize: 4, valueSize: 4, maxEntries: 1 };
      const inner = arrayTemplate(ctx);
      runRows(ctx, `create ${typeNames[t]}`, base, [
        ...hashRows(t, ctx),
        ["inner_map_fd set (ignored)", { innerMapFd: inner }, "OK"],
        ["inner_map_fd -1 (ignored)", { innerMapFd: -1 }, "OK"],
      ]);
    },
  };
}

export const unprivilegedCases: ConformanceCase[] = [
  {
    name: "§3.1 unprivileged: generic and alloc-checks first (EINVAL), then the capability gate (EPERM)",
    group: "unprivileged",
    run(ctx) {
      // probe_caps_order.txt, without CAP_BPF and CAP_SYS_ADMIN, unprivileged_bpf_disabled = 2
      runRows(ctx, "unprivileged create", { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 }, [
        ["HASH k4 v4", {}, "EPERM"],
        ["HASH max_entries=0", { maxEntries: 0 }, "EINVAL"],
        ["HASH flags=1<<30", { mapFlags: 1 << 30 }, "EINVAL"],
        ["HASH ZERO_SEED (alloc-check wants CAP_SYS_ADMIN)", { mapFlags: F.ZERO_SEED }, "EPERM"],
        // htab_map_alloc_check asks for CAP_SYS_ADMIN before it looks at the other flags.
        ["HASH ZERO_SEED|flags=1<<30 (that EPERM before the flags' EINVAL)", { mapFlags: F.ZERO_SEED | (1 << 30) }, "EPERM"],
        ["HASH bad name (checked after the gate)", { mapName: "bad-name" }, "EPERM"],
        ["ARRAY key_size=8", { mapType: ARRAY, keySize: 8 }, "EINVAL"],
        ["LPM without NO_PREALLOC (checked at allocation, after the gate)", { mapType: LPM_TRIE, keySize: 8 }, "EPERM"],
        ["map_type=1000", { mapType: 1000 }, "EINVAL"],
        ["ARRAY k4 v4", { mapType: ARRAY }, "EPERM"],
        // queue_stack_map_alloc_check asks for CAP_BPF before it looks at the attributes.
        ["QUEUE k0 v4", { mapType: QUEUE, keySize: 0 }, "EPERM"],
        ["QUEUE key_size=4 (EPERM before the alloc-check's EINVAL)", { mapType: QUEUE }, "EPERM"],
        ["STACK value_size=0", { mapType: STACK, keySize: 0, valueSize: 0 }, "EPERM"],
        // bloom_map_alloc_check only bounds value_size; bloom_map_alloc checks the rest after the gate.
        ["BLOOM_FILTER value_size=4 MiB+1 (alloc-check E2BIG before the gate)", { mapType: BLOOM_FILTER, keySize: 0, valueSize: (4 << 20) + 1 }, "E2BIG"],
        ["BLOOM_FILTER key_size=4 (checked at allocation, after the gate)", { mapType: BLOOM_FILTER }, "EPERM"],
        ["QUEUE map_extra=1 (map_create's generic EINVAL first)", { mapType: QUEUE, keySize: 0, mapExtra: 1n }, "EINVAL"],
      ]);
    },
  },
];

export const createCases: ConformanceCase[] = [
  ...[HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH].map(hashCase),
  {
    name: "§3.3 create HASH: key+value must stay under 4 MiB − 48 (E2BIG past it)",
    group: "create",
    run(ctx) {
      const unit = pcpuMinUnitSize(ctx);
      runRows(ctx, "create HASH bounds", { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 }, [
        ["k4 v4194251", { valueSize: 4194251 }, "OK"],
        ["k4 v4194252", { valueSize: 4194252 }, "E2BIG"],
        ["v4 k4194251", { keySize: 4194251 }, "OK"],
        ["v4 k4194252", { keySize: 4194252 }, "E2BIG"],
        [`PERCPU_HASH v${unit}`, { mapType: PERCPU_HASH, valueSize: unit }, "OK"],
        [`PERCPU_HASH v${unit + 1}`, { mapType: PERCPU_HASH, valueSize: unit + 1 }, "E2BIG"],
        ["NO_PREALLOC max_entries=2^31", { mapFlags: F.NO_PREALLOC, maxEntries: 2 ** 31 }, "E2BIG"],
        ["NO_PREALLOC max_entries=2^27+1 (2^28 buckets)", { mapFlags: F.NO_PREALLOC, maxEntries: 2 ** 27 + 1 }, "E2BIG"],
      ]);
    },
  },
  {
    name: "§3.3 create ARRAY: per-type matrix",
    group: "create",
    run(ctx) {
      const inner = arrayTemplate(ctx);
      runRows(ctx, "create ARRAY", { mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }, [
        ["k4 v4 max1", {}, "OK"],
        ["key_size=8", { keySize: 8 }, "EINVAL"],
        ["key_size=0", { keySize: 0 }, "EINVAL"],
        ["value_size=0", { valueSize: 0 }, "EINVAL"],
        ["max_entries=0", { maxEntries: 0 }, "EINVAL"],
        ["value_size=8", { valueSize: 8 }, "OK"],
        ["value_size=32769", { valueSize: 32769 }, "OK"],
        ["value_size=0x80000000", { valueSize: 0x80000000 }, "E2BIG"],
        ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, "EINVAL"],
        ["ZERO_SEED", { mapFlags: F.ZERO_SEED }, "EINVAL"],
        ["PRESERVE_ELEMS", { mapFlags: F.PRESERVE_ELEMS }, "EINVAL"],
        ["NO_COMMON_LRU", { mapFlags: F.NO_COMMON_LRU }, "EINVAL"],
        ["MMAPABLE", { mapFlags: F.MMAPABLE }, "OK"],
        ["INNER_MAP", { mapFlags: F.INNER_MAP }, "OK"],
        ["RDONLY", { mapFlags: F.RDONLY }, "OK", { flags: 0 }],
        ["WRONLY", { mapFlags: F.WRONLY }, "OK", { flags: 0 }],
        ["RDONLY|WRONLY", { mapFlags: F.RDONLY | F.WRONLY }, "EINVAL"],
        ["RDONLY_PROG|WRONLY_PROG", { mapFlags: F.RDONLY_PROG | F.WRONLY_PROG }, "EINVAL"],
        ["NUMA_NODE node 0", node0, "OK"],
        ["NUMA_NODE node -1 (NUMA_NO_NODE)", nodeNone, "OK"],
        ["inner_map_fd set (ignored)", { innerMapFd: inner }, "OK"],
      ]);
    },
  },
  {
    name: "§3.3 create PERCPU_ARRAY: per-type matrix",
    group: "create",
    run(ctx) {
      const unit = pcpuMinUnitSize(ctx);
      runRows(ctx, "create PERCPU_ARRAY", { mapType: PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }, [
        ["k4 v4 max1", {}, "OK"],
        ["key_size=8", { keySize: 8 }, "EINVAL"],
        ["key_size=0", { keySize: 0 }, "EINVAL"],
        ["value_size=0", { valueSize: 0 }, "EINVAL"],
        ["max_entries=0", { maxEntries: 0 }, "EINVAL"],
        [`value_size=${unit}`, { valueSize: unit }, "OK"],
        [`value_size=${unit + 1}`, { valueSize: unit + 1 }, "E2BIG"],
        ["value_size=0x80000000", { valueSize: 0x80000000 }, "E2BIG"],
        ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, "EINVAL"],
        ["ZERO_SEED", { mapFlags: F.ZERO_SEED }, "EINVAL"],
        ["MMAPABLE", { mapFlags: F.MMAPABLE }, "EINVAL"],
        ["INNER_MAP", { mapFlags: F.INNER_MAP }, "EINVAL"],
        ["NUMA_NODE node 0", node0, "EINVAL"],
        ["NUMA_NODE node -1 (NUMA_NO_NODE)", nodeNone, "OK"],
        ["RDONLY", { mapFlags: F.RDONLY }, "OK", { flags: 0 }],
        ["RDONLY|WRONLY", { mapFlags: F.RDONLY | F.WRONLY }, "EINVAL"],
        ["RDONLY_PROG", { mapFlags: F.RDONLY_PROG }, "OK"],
      ]);
    },
  },
  {
    name: "§3.3 create PROG_ARRAY: per-type matrix",
    group: "create",
    run(ctx) {
      runRows(ctx, "create PROG_ARRAY", { mapType: PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }, [
        ["k4 v4 max1", {}, "OK"],
        ["key_size=8", { keySize: 8 }, "EINVAL"],
        ["value_size=8", { valueSize: 8 }, "EINVAL"],
        ["max_entries=0", { maxEntries: 0 }, "EINVAL"],
        ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, "EINVAL"],
        ["ZERO_SEED", { mapFlags: F.ZERO_SEED }, "EINVAL"],
        ["MMAPABLE", { mapFlags: F.MMAPABLE }, "EINVAL"],
        ["INNER_MAP", { mapFlags: F.INNER_MAP }, "EINVAL"],
        ["RDONLY", { mapFlags: F.RDONLY }, "OK", { flags: 0 }],
        ["WRONLY", { mapFlags: F.WRONLY }, "OK", { flags: 0 }],
        ["RDONLY_PROG", { mapFlags: F.RDONLY_PROG }, "EINVAL"],
        ["WRONLY_PROG", { mapFlags: F.WRONLY_PROG }, "EINVAL"],
        ["NUMA_NODE node 0", node0, "OK"],
        ["NUMA_NODE node -1 (NUMA_NO_NODE)", nodeNone, "OK"],
      ]);
    },
  },
  {
    name: "§3.3 create LPM_TRIE: per-type matrix (NO_PREALLOC required)",
    group: "create",
    run(ctx) {
      const NP = F.NO_PREALLOC;
      runRows(ctx, "create LPM_TRIE", { mapType: LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 1, mapFlags: NP }, [
        ["k8 v4 NO_PREALLOC", {}, "OK"],
        ["without NO_PREALLOC", { mapFlags: 0 }, "EINVAL"],
        ["k4 (no data bytes)", { keySize: 4 }, "EINVAL"],
        ["k5 (1 data byte)", { keySize: 5 }, "OK"],
        ["k260 (256 data bytes)", { keySize: 260 }, "OK"],
        ["k261", { keySize: 261 }, "EINVAL"],
        ["v0", { valueSize: 0 }, "EINVAL"],
        ["max0", { maxEntries: 0 }, "EINVAL"],
        ["v4194024", { valueSize: 4194024 }, "OK"],
        ["v4194025", { valueSize: 4194025 }, "EINVAL"],
        ["max 0xffffffff", { maxEntries: 0xffffffff }, "OK"],
        ["+ZERO_SEED", { mapFlags: NP | F.ZERO_SEED }, "EINVAL"],
        ["+MMAPABLE", { mapFlags: NP | F.MMAPABLE }, "EINVAL"],
        ["+RDONLY", { mapFlags: NP | F.RDONLY }, "OK", { flags: NP }],
        ["+NUMA_NODE node 0", { mapFlags: NP | F.NUMA_NODE, numaNode: 0 }, "OK"],
        ["+NUMA_NODE node -1 (NUMA_NO_NODE)", { mapFlags: NP | F.NUMA_NODE, numaNode: 0xffffffff }, "OK"],
        ["+RDONLY_PROG", { mapFlags: NP | F.RDONLY_PROG }, "OK"],
      ]);
    },
  },
  {
    name: "§3.3 create ARRAY_OF_MAPS: per-type matrix and templates",
    group: "create",
    run(ctx) {
      const inner = arrayTemplate(ctx);
      const aom = ctx.create({ mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, innerMapFd: inner });
      const pa = ctx.create({ mapType: PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const lpm = ctx.create({ mapType: LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 1, mapFlags: F.NO_PREALLOC });
      runRows(ctx, "create ARRAY_OF_MAPS", { mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner }, [
        ["inner=ARRAY", {}, "OK"],
        ["no inner_map_fd", { innerMapFd: undefined }, "EINVAL"],
        ["inner_map_fd closed", { innerMapFd: ctx.closedFd() }, "EBADF"],
        ["inner_map_fd -1 (an fd like any other: EBADF)", { innerMapFd: -1 }, "EBADF"],
        ["value_size=8", { valueSize: 8 }, "EINVAL"],
        ["key_size=8", { keySize: 8 }, "EINVAL"],
        ["max_entries=0", { maxEntries: 0 }, "EINVAL"],
        ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, "EINVAL"],
        ["NO_COMMON_LRU", { mapFlags: F.NO_COMMON_LRU }, "EINVAL"],
        ["NUMA_NODE node 0", node0, "OK"],
        ["NUMA_NODE node -1 (NUMA_NO_NODE)", nodeNone, "OK"],
        ["RDONLY", { mapFlags: F.RDONLY }, "OK", { flags: 0 }],
        ["RDONLY_PROG", { mapFlags: F.RDONLY_PROG }, "EINVAL"],
        ["ZERO_SEED", { mapFlags: F.ZERO_SEED }, "EINVAL"],
        ["MMAPABLE", { mapFlags: F.MMAPABLE }, "EINVAL"],
        ["INNER_MAP", { mapFlags: F.INNER_MAP }, "EINVAL"],
        ["PRESERVE_ELEMS", { mapFlags: F.PRESERVE_ELEMS }, "EINVAL"],
        ["inner=ARRAY_OF_MAPS (one level only)", { innerMapFd: aom }, "EINVAL"],
        ["inner=PROG_ARRAY (no meta compare)", { innerMapFd: pa }, "ENOTSUPP"],
        ["inner=LPM_TRIE", { innerMapFd: lpm }, "OK"],
      ]);
    },
  },
  {
    name: "§3.3 create HASH_OF_MAPS: per-type matrix and templates",
    group: "create",
    run(ctx) {
      const inner = arrayTemplate(ctx);
      const pch = ctx.create({ mapType: PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      runRows(ctx, "create HASH_OF_MAPS", { mapType: HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner }, [
        ["k4 v4", {}, "OK"],
        ["key_size=13", { keySize: 13 }, "OK"],
        ["value_size=8", { valueSize: 8 }, "EINVAL"],
        // fd_htab_map_alloc_check: the value size before the hash's own checks (E2BIG here).
        ["value_size=8 key_size=1<<22", { valueSize: 8, keySize: 1 << 22 }, "EINVAL"],
        ["no inner_map_fd", { innerMapFd: undefined }, "EINVAL"],
        ["inner_map_fd closed", { innerMapFd: ctx.closedFd() }, "EBADF"],
        ["max_entries=0", { maxEntries: 0 }, "EINVAL"],
        ["NO_PREALLOC", { mapFlags: F.NO_PREALLOC }, "OK"],
        ["ZERO_SEED", { mapFlags: F.ZERO_SEED }, "OK"],
        ["NO_COMMON_LRU", { mapFlags: F.NO_COMMON_LRU }, "EINVAL"],
        ["NUMA_NODE node 0", node0, "OK"],
        ["NUMA_NODE node -1 (NUMA_NO_NODE)", nodeNone, "OK"],
        ["RDONLY", { mapFlags: F.RDONLY }, "OK", { flags: 0 }],
        ["RDONLY_PROG", { mapFlags: F.RDONLY_PROG }, "OK"],
        ["MMAPABLE", { mapFlags: F.MMAPABLE }, "EINVAL"],
        ["INNER_MAP", { mapFlags: F.INNER_MAP }, "EINVAL"],
        ["PRESERVE_ELEMS", { mapFlags: F.PRESERVE_ELEMS }, "EINVAL"],
        ["inner=PERCPU_HASH", { innerMapFd: pch }, "OK"],
      ]);
    },
  },
  {
    name: "§3.1 create: unknown map types give EINVAL",
    group: "create",
    run(ctx) {
      runRows(ctx, "create unknown types", { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 }, [
        ["map_type=0 (UNSPEC)", { mapType: 0 }, "EINVAL"],
        ["map_type=34 (__MAX_BPF_MAP_TYPE)", { mapType: 34 }, "EINVAL"],
        ["map_type=1000", { mapType: 1000 }, "EINVAL"],
      ]);
    },
  },
  {
    name: "§3.2 create: map names are up to 15 bytes of [A-Za-z0-9_.]",
    group: "create",
    run(ctx) {
      const base = { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 };
      const c = new Checks("map names");
      for (const [name, want] of [
        ["ok_name.1", "OK"], ["abcdefghijklmno", "OK"], ["", "OK"], ["abcdefghijklmnop", "EINVAL"],
        ["with-dash", "EINVAL"], ["with space", "EINVAL"], ["a/b", "EINVAL"],
        // The 16th byte is the first of "€": no NUL in the field, even cut inside a character.
        ["abcdefghijklmno\u20ac", "EINVAL"],
      ] as const) {
        const fd = ctx.tryCreate({ ...base, mapName: name });
        if (c.result(fd, want, `name ${JSON.stringify(name)}`) && fd >= 0) {
          c.equal(ctx.info(fd).name, name, `name ${JSON.stringify(name)}: info name`);
        }
      }
      c.done();
    },
  },
  {
    name: "§3.1 create: BPF_F_TOKEN_FD is set aside before the type's checks, and the token is resolved after them",
    group: "create",
    run(ctx) {
      // map_create clears the flag before ops->map_alloc_check and reads map_token_fd (0: the
      // Driver has no field for it) only after, so the type's own errors come first.
      const T = F.TOKEN_FD;
      const unit = pcpuMinUnitSize(ctx);
      runRows(ctx, "create with TOKEN_FD", { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: T }, [
        ["LRU_HASH NO_PREALLOC → ENOTSUPP, not the flag's EINVAL", { mapType: LRU_HASH, mapFlags: T | F.NO_PREALLOC }, "ENOTSUPP"],
        ["HASH value_size=1<<22 → E2BIG", { valueSize: 1 << 22 }, "E2BIG"],
        [`PERCPU_HASH value_size=${unit + 1} → E2BIG`, { mapType: PERCPU_HASH, valueSize: unit + 1 }, "E2BIG"],
        ["ARRAY value_size=0x80000000 → E2BIG", { mapType: ARRAY, valueSize: 0x80000000 }, "E2BIG"],
        // 40000 with 4 KiB pages: past the per-CPU unit, not just at it.
        [`PERCPU_ARRAY value_size=${unit + 7232} → E2BIG`, { mapType: PERCPU_ARRAY, valueSize: unit + 7232 }, "E2BIG"],
        ["HASH RDONLY|WRONLY → EINVAL", { mapFlags: T | F.RDONLY | F.WRONLY }, "EINVAL"],
      ]);
      // A request that passes every check then needs a token at fd 0, which is never one: EINVAL
      // (or EBADF, were fd 0 closed). An ARRAY_OF_MAPS's template is read later, at allocation.
      const c = new Checks("create with TOKEN_FD, checks passed");
      for (const [label, attr] of [
        ["HASH k4 v4", { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: T }],
        ["ARRAY_OF_MAPS with a closed template", { mapType: ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: T, innerMapFd: ctx.closedFd() }],
      ] as const) {
        const r = ctx.tryCreate(attr);
        if (r !== -errnoOf("EINVAL") && r !== -errnoOf("EBADF")) c.equal(show(r), "EINVAL (fd 0 is not a token)", label);
      }
      c.done();
    },
  },
  {
    name: "§3.1 create: check order (alloc-check, then allocation, then the name)",
    group: "create",
    run(ctx) {
      const bad = "bad-name";
      const inner = arrayTemplate(ctx);
      runRows(ctx, "create check order", { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapName: bad }, [
        ["LRU_HASH NO_PREALLOC + bad name → ENOTSUPP first", { mapType: LRU_HASH, mapFlags: F.NO_PREALLOC }, "ENOTSUPP"],
        ["HASH value_size=1<<22 + bad name → E2BIG first", { valueSize: 1 << 22 }, "E2BIG"],
        ["ARRAY_OF_MAPS closed inner fd + bad name → EBADF first", { mapType: ARRAY_OF_MAPS, innerMapFd: ctx.closedFd() }, "EBADF"],
        ["ARRAY_OF_MAPS good inner + bad name → EINVAL", { mapType: ARRAY_OF_MAPS, innerMapFd: inner }, "EINVAL"],
        ["HASH RDONLY|WRONLY + bad name → EINVAL", { mapFlags: F.RDONLY | F.WRONLY }, "EINVAL"],
      ]);
    },
  },
];
