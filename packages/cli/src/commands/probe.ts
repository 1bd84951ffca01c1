// `bpfkit probe`: what this driver supports — map types, batch commands per type,
// BPF_F_ZERO_SEED — found by trying, as bpftool feature probes do: tiny maps, closed at once.
import { release } from "node:os";
import {
  BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
  batchTokenSize, createBpf, driverPageSize, errnoName, MAX_BPF_MAP_TYPE,
  probeTellsMapType, userValueSize, type Driver, type MapCreateAttr,
} from "@bpfkit/core";
import { noArgs, type Command } from "../command.js";
import { fields, table } from "../format.js";
import { mapTypeKernelName } from "../names.js";

const ENOTSUPP = 524;

/** The smallest valid attributes for a type (key, value, max entries, flags). */
function probeAttr(t: number, page: number): MapCreateAttr {
  const a: MapCreateAttr = { mapType: t, keySize: 4, valueSize: 4, maxEntries: 1 };
  switch (t) {
    case 7: a.valueSize = 8; break; // stack_trace: value is a multiple of 8
    case 11: a.keySize = 8; a.mapFlags = BPF_F_NO_PREALLOC; break; // lpm_trie
    case 19: case 21: a.keySize = 8; a.maxEntries = 0; break; // cgroup storages
    case 22: case 23: case 30: a.keySize = 0; break; // queue, stack, bloom_filter
    case 27: case 31: a.keySize = 0; a.valueSize = 0; a.maxEntries = page; break; // ring buffers: one page
    case 33: a.keySize = 0; a.valueSize = 0; a.mapFlags = BPF_F_MMAPABLE; break; // arena
  }
  return a;
}

export type Support = "yes" | "no" | `${string}`;

/** What `bpfkit probe` found out about one map type. */
export interface TypeProbe {
  /** The map type's number. */
  typeId: number;
  /** The kernel's name of the map type (`hash`, `lru_hash`, …). */
  type: string;
  /** "yes", or the errno the kernel answered (or why it was not tried). */
  create: Support;
  /** Whether BPF_MAP_LOOKUP_BATCH works on the type ("no" only for ENOTSUPP); absent when no map could be made. */
  lookupBatch?: Support;
  /** Whether BPF_MAP_LOOKUP_AND_DELETE_BATCH works on the type; absent when no map could be made. */
  lookupAndDeleteBatch?: Support;
  /** Whether BPF_MAP_UPDATE_BATCH works on the type; absent when no map could be made. */
  updateBatch?: Support;
  /** Whether BPF_MAP_DELETE_BATCH works on the type; absent when no map could be made. */
  deleteBatch?: Support;
}

/** What `bpfkit probe` found out about a driver. */
export interface ProbeReport {
  /** The driver's kind (`kernel`, `sim`). */
  driver: string;
  /** What the seed's GetMapType would use for LRU_HASH and LPM_TRIE here (HASH where missing). */
  getMapType: { lruHash: string; lpmTrie: string };
  /** The host's kernel release (`uname -r`), whichever driver was probed. */
  kernelRelease: string;
  /** The CPUs per-CPU values are sized by. */
  possibleCpus: number;
  /** The page size a ring buffer's size and layout and mmap offsets go by (4096 on x86-64; 16 or 64 KiB on some arm64 kernels). */
  pageSize: number;
  /** Whether a hash map can be created with `BPF_F_ZERO_SEED` (CAP_SYS_ADMIN), or the errno. */
  zeroSeed: Support;
  /** One probe for each map type number from 1 to `MAX_BPF_MAP_TYPE` − 1. */
  types: TypeProbe[];
}

/**
 * What the driver's kernel supports (`bpfkit probe`): each map type's create and batch commands,
 * BPF_F_ZERO_SEED, the possible CPUs and the page size.
 */
export function probeDriver(d: Driver): ProbeReport {
  const types: TypeProbe[] = [];
  for (let t = 1; t < MAX_BPF_MAP_TYPE; t++) types.push(probeType(d, t));
  const zs = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: BPF_F_ZERO_SEED });
  if (zs >= 0) d.close(zs);
  const bpf = createBpf({ driver: d, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  return {
    driver: d.kind,
    getMapType: { lruHash: mapTypeKernelName(bpf.getMapType(BPF_MAP_TYPE_LRU_HASH)), lpmTrie: mapTypeKernelName(bpf.getMapType(BPF_MAP_TYPE_LPM_TRIE)) },
    kernelRelease: release(),
    possibleCpus: d.possibleCpus,
    pageSize: driverPageSize(d),
    zeroSeed: zs >= 0 ? "yes" : `no (${errnoName(zs)})`,
    types,
  };
}

function probeType(d: Driver, t: number): TypeProbe {
  const p: TypeProbe = { typeId: t, type: mapTypeKernelName(t), create: "yes" };
  if (!probeTellsMapType(t)) {
    p.create = "needs BTF (not probed)";
    return p;
  }
  const attr = probeAttr(t, driverPageSize(d));
  let inner = -1;
  if (t === 12 || t === 13) {
    inner = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    if (inner < 0) {
      p.create = `no inner map (${errnoName(inner)})`;
      return p;
    }
    attr.innerMapFd = inner;
  }
  const fd = d.mapCreate(attr);
  if (inner >= 0) d.close(inner);
  if (fd < 0) {
    p.create = fd === -22 ? "no (EINVAL)" : `no (${errnoName(fd)})`;
    return p;
  }
  try {
    const keys = new Uint8Array(attr.keySize);
    const values = new Uint8Array(userValueSize(t, attr.valueSize, d.possibleCpus));
    const token = new Uint8Array(batchTokenSize(t, attr.keySize));
    const out = new Uint8Array(token.length);
    // Only ENOTSUPP means the command is missing for the type: the kernel checks the map's
    // batch op before anything about the elements (kernel-maps.md §10).
    const said = (run: () => { errno: number }): Support => {
      try {
        const e = run().errno;
        return e === ENOTSUPP ? "no" : "yes";
      } catch (err) {
        return `? (${(err as Error).name})`;
      }
    };
    p.lookupBatch = said(() => d.mapLookupBatch(fd, null, out, keys, values, 1));
    p.lookupAndDeleteBatch = said(() => d.mapLookupAndDeleteBatch(fd, null, out, keys, values, 1));
    p.updateBatch = said(() => d.mapUpdateBatch(fd, keys, values, 1));
    p.deleteBatch = said(() => d.mapDeleteBatch(fd, keys, 1));
  } finally {
    d.close(fd);
  }
  return p;
}

export const probeCommand: Command = {
  name: "probe",
  summary: "what the driver supports: map types, batch commands per type, BPF_F_ZERO_SEED, kernel version",
  usage: "probe [--all] [--json]",
  details: "Creates one tiny map of each type (closed at once) and tries each batch command on it with one element.\n" +
    "Only ENOTSUPP counts as 'no' for a batch command: the kernel checks the map's batch operation first.",
  options: { all: { type: "boolean", help: "also list the types not created here, and why (refused, or needs BTF and not tried)" } },
  async run(ctx, args, opts) {
    noArgs(this, args);
    const d = await ctx.driver();
    const r = probeDriver(d);
    const shown = opts.all === true ? r.types : r.types.filter((t) => t.create === "yes");
    ctx.emit(
      () => fields([
        ["driver", r.driver],
        // On the simulator the host's release says nothing (on macOS or Windows, not even Linux).
        ["kernel", r.driver === "kernel" ? r.kernelRelease : "simulated (models Linux 6.18)"],
        ["possible CPUs", String(r.possibleCpus)],
        ["page size", `${r.pageSize} (ring buffers are a power of 2 of at least this many bytes)`],
        ["BPF_F_ZERO_SEED", r.zeroSeed],
        ["getMapType", `lru_hash → ${r.getMapType.lruHash}, lpm_trie → ${r.getMapType.lpmTrie} (Cilium's fallback to hash where a type is missing)`],
      ]) + "\n" + table(shown, [
        { title: "TYPE", get: (t) => t.type },
        { title: "ID", get: (t) => String(t.typeId), right: true },
        { title: "CREATE", get: (t) => t.create },
        { title: "LOOKUP_BATCH", get: (t) => t.lookupBatch ?? "-" },
        { title: "LOOKUP_AND_DELETE_BATCH", get: (t) => t.lookupAndDeleteBatch ?? "-" },
        { title: "UPDATE_BATCH", get: (t) => t.updateBatch ?? "-" },
        { title: "DELETE_BATCH", get: (t) => t.deleteBatch ?? "-" },
      ]) + (opts.all === true ? "" : `\n${r.types.length - shown.length} more types were not created here (--all says why)\n`),
      () => r,
    );
    return 0;
  },
};
