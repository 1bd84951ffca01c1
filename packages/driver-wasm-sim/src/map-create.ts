// MAP_CREATE validation in the kernel's order (kernel-maps.md §3.1, kernel/bpf/syscall.c
// map_create, hashtab.c htab_map_alloc_check, arraymap.c array_map_alloc_check and
// fd_array_map_alloc_check, lpm_trie.c trie_alloc, map_in_map.c bpf_map_meta_alloc).
// Everything before the allocation is here; the engine then allocates (ENOMEM), and the name is
// checked last, as the kernel does after allocating.
import {
  BPF_F_INNER_MAP, BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE,
  BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
  BPF_F_TOKEN_FD, BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_USER_RINGBUF,
  Errno, MAX_BPF_MAP_TYPE, perCpuSlotSize,
} from "@bpfkit/core";
import { FIELD_KPTR, Field } from "./btf/btf-fields.js";
import type { InnerMeta, SimMap } from "./objects.js";
import { FMODE_READ, FMODE_RDWR, FMODE_WRITE } from "./objects.js";

const ACCESS_MASK = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
const HTAB_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;
const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const LPM_FLAGS = BPF_F_NUMA_NODE | BPF_F_NO_PREALLOC | ACCESS_MASK;
const QUEUE_STACK_FLAGS = BPF_F_NUMA_NODE | ACCESS_MASK;
const BLOOM_FLAGS = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | ACCESS_MASK;
/** RINGBUF_CREATE_FLAG_MASK: not even the access flags. */
const RINGBUF_FLAGS = BPF_F_NUMA_NODE;
/** KMALLOC_MAX_SIZE on x86-64 (4 MiB); htab elements and LPM nodes must fit in one kmalloc. */
const KMALLOC_MAX_SIZE = 4 << 20;
/** sizeof(struct htab_elem) on 6.18 x86-64. */
const HTAB_ELEM_SIZE = 48;
/**
 * PCPU_MIN_UNIT_SIZE, the largest per-CPU value slot: PFN_ALIGN(32 << 10), so a whole page
 * where the page is larger (64 KiB on an arm64 kernel with 64 KiB pages).
 */
const pcpuMinUnitSize = (page: number) => Math.max(32768, page);
/** sizeof(struct bucket): n_buckets beyond U32_MAX / 16 is E2BIG. */
const BUCKET_SIZE = 16;
const LPM_KEY_SIZE_MIN = 4 + 1;
const LPM_KEY_SIZE_MAX = 4 + 256;
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - 256 - 24;

/** The types the simulator models. Other valid kernel types answer EINVAL, as a kernel without them would. */
const MODELLED = new Set([
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF,
]);

export interface CreateRequest {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  innerMapFd: number;
  numaNode: number;
  /** The name as the 16 bytes of `map_name` would carry it. */
  nameBytes: Uint8Array;
  /** `map_extra`: a bloom filter's hash count in its low 4 bits; 0 for every other type. */
  mapExtra: bigint;
  /** `btf_key_type_id` and `btf_value_type_id` (0: none). */
  btfKeyTypeId: number;
  btfValueTypeId: number;
}

export interface CreateContext {
  possibleCpus: number;
  /** PAGE_SIZE of the simulated kernel: a ring's size rule and PCPU_MIN_UNIT_SIZE follow it. */
  pageSize: number;
  /** CAP_BPF and CAP_SYS_ADMIN (root). */
  privileged: boolean;
  unprivilegedBpfDisabled: number;
  /** Resolves the template fd as __bpf_map_get does: a map, or -EBADF / -EINVAL. */
  resolveMap(fd: number): SimMap | number;
  /**
   * bpf_token_get_from_fd's answer for `map_token_fd` (0: the Driver has no field for it), as a
   * positive errno: EBADF for a closed fd, EINVAL for any other, since the simulator has no tokens.
   */
  tokenErrno(fd: number): number;
}

export interface CreatePlan {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** Stored flags: without RDONLY/WRONLY (bpf_map_flags_retain_permanent). */
  storedFlags: number;
  fdMode: number;
  innerMeta: InnerMeta | null;
  /** 0, or the EINVAL the name check gives after allocation. */
  nameErrno: number;
  name: string;
  /** `map_extra` as given (bpf_map_info reads it back unchanged: 0 stays 0, not 5). */
  mapExtra: bigint;
}

/** Fields whose record names the BTF (kptrs, uptr, graph roots). */
const KPTR_FIELDS = FIELD_KPTR | Field.UPTR | Field.LIST_HEAD | Field.RB_ROOT;

/** NUMA_NO_NODE, as the u32 `numa_node` field carries -1. */
const NUMA_NO_NODE = 0xffffffff;

/**
 * bpf_map_attr_numa_node: the node only when BPF_F_NUMA_NODE is set, else NUMA_NO_NODE. A
 * request of node -1 with the flag set is NUMA_NO_NODE too, so every per-type "NUMA" check
 * below passes for it, as the kernel's `numa_node != NUMA_NO_NODE` tests do.
 */
function numaNodeOf(r: CreateRequest): number {
  return (r.mapFlags & BPF_F_NUMA_NODE) !== 0 ? r.numaNode : NUMA_NO_NODE;
}

function roundupPowOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const isKeyless = (t: number) => t === BPF_MAP_TYPE_QUEUE || t === BPF_MAP_TYPE_STACK || t === BPF_MAP_TYPE_BLOOM_FILTER;
const isLru = (t: number) => t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
const accessOk = (f: number) => (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);

function htabAllocCheck(r: CreateRequest, ctx: CreateContext): number {
  const t = r.mapType;
  const percpu = t === BPF_MAP_TYPE_PERCPU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const lru = isLru(t);
  const percpuLru = (r.mapFlags & BPF_F_NO_COMMON_LRU) !== 0;
  const prealloc = (r.mapFlags & BPF_F_NO_PREALLOC) === 0;
  const numa = numaNodeOf(r) !== NUMA_NO_NODE;
  // Guard against local DoS: ZERO_SEED is for tests and needs CAP_SYS_ADMIN, checked first.
  if ((r.mapFlags & BPF_F_ZERO_SEED) !== 0 && !ctx.privileged) return Errno.EPERM;
  if ((r.mapFlags & ~HTAB_FLAGS) !== 0 || !accessOk(r.mapFlags)) return Errno.EINVAL;
  if (!lru && percpuLru) return Errno.EINVAL;
  if (lru && !prealloc) return Errno.ENOTSUPP;
  if (numa && (percpu || percpuLru)) return Errno.EINVAL;
  if (r.maxEntries === 0 || r.keySize === 0 || r.valueSize === 0) return Errno.EINVAL;
  if (r.keySize + r.valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) return Errno.E2BIG;
  if (percpu && perCpuSlotSize(r.valueSize) > pcpuMinUnitSize(ctx.pageSize)) return Errno.E2BIG;
  return 0;
}

function arrayAllocCheck(r: CreateRequest, ctx: CreateContext): number {
  const percpu = r.mapType === BPF_MAP_TYPE_PERCPU_ARRAY;
  const numa = numaNodeOf(r) !== NUMA_NO_NODE;
  if (r.maxEntries === 0 || r.keySize !== 4 || r.valueSize === 0 || (r.mapFlags & ~ARRAY_FLAGS) !== 0 ||
    !accessOk(r.mapFlags) || (percpu && numa)) return Errno.EINVAL;
  if (r.mapType !== BPF_MAP_TYPE_ARRAY && (r.mapFlags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) !== 0) return Errno.EINVAL;
  // PRESERVE_ELEMS is for PERF_EVENT_ARRAY only.
  if (r.mapType !== BPF_MAP_TYPE_PERF_EVENT_ARRAY && (r.mapFlags & BPF_F_PRESERVE_ELEMS) !== 0) return Errno.EINVAL;
  if (r.valueSize > 0x7fffffff) return Errno.E2BIG;
  if (percpu && perCpuSlotSize(r.valueSize) > pcpuMinUnitSize(ctx.pageSize)) return Errno.E2BIG;
  return 0;
}

function allocCheck(r: CreateRequest, ctx: CreateContext): number {
  switch (r.mapType) {
    case BPF_MAP_TYPE_HASH: case BPF_MAP_TYPE_PERCPU_HASH: case BPF_MAP_TYPE_LRU_HASH: case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      return htabAllocCheck(r, ctx);
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      return r.valueSize !== 4 ? Errno.EINVAL : htabAllocCheck(r, ctx);
    case BPF_MAP_TYPE_ARRAY: case BPF_MAP_TYPE_PERCPU_ARRAY:
      return arrayAllocCheck(r, ctx);
    case BPF_MAP_TYPE_PROG_ARRAY: case BPF_MAP_TYPE_ARRAY_OF_MAPS: case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      // Only fds can be stored; program read-only/write-only is not for these maps.
      if (r.valueSize !== 4) return Errno.EINVAL;
      if ((r.mapFlags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== 0) return Errno.EINVAL;
      return arrayAllocCheck(r, ctx);
    case BPF_MAP_TYPE_QUEUE: case BPF_MAP_TYPE_STACK:
      // queue_stack_map_alloc_check: the capability first, then the attributes.
      if (!ctx.privileged) return Errno.EPERM;
      if (r.maxEntries === 0 || r.keySize !== 0 || r.valueSize === 0 || (r.mapFlags & ~QUEUE_STACK_FLAGS) !== 0 ||
        !accessOk(r.mapFlags)) return Errno.EINVAL;
      return r.valueSize > KMALLOC_MAX_SIZE ? Errno.E2BIG : 0;
    case BPF_MAP_TYPE_BLOOM_FILTER:
      // bloom_map_alloc_check sees only the value size; bloom_map_alloc checks the rest.
      return r.valueSize > KMALLOC_MAX_SIZE ? Errno.E2BIG : 0;
    default:
      return 0; // LPM_TRIE has no alloc-check: trie_alloc checks after the capability gate.
  }
}

/** bpf_map_meta_alloc: the template must be a map of one level, with a meta-compare. */
function innerMetaFor(r: CreateRequest, ctx: CreateContext): InnerMeta | number {
  const inner = ctx.resolveMap(r.innerMapFd);
  if (typeof inner === "number") return inner;
  if (inner.innerMeta !== null) return -Errno.EINVAL;
  if (inner.mapType === BPF_MAP_TYPE_PROG_ARRAY) return -Errno.ENOTSUPP;
  return {
    mapType: inner.mapType, keySize: inner.keySize, valueSize: inner.valueSize, maxEntries: inner.maxEntries, mapFlags: inner.mapFlags,
    record: inner.record, btf: inner.btf,
  };
}

/** bpf_obj_name_cpy: a NUL within the 16 bytes, and only [A-Za-z0-9_.] before it. */
export function checkName(bytes: Uint8Array): { errno: number; name: string } {
  let name = "";
  for (let i = 0; i < 16; i++) {
    const c = bytes[i] ?? 0;
    if (c === 0) return { errno: 0, name };
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e;
    if (!ok) return { errno: Errno.EINVAL, name: "" };
    name += String.fromCharCode(c);
  }
  return { errno: Errno.EINVAL, name: "" };
}

/** The plan for a valid request, or a positive errno. */
export function planMapCreate(request: CreateRequest, ctx: CreateContext): CreatePlan | number {
  // map_create remembers BPF_F_TOKEN_FD and clears it, so that no per-type check sees an unknown
  // flag; the token itself is resolved only after the type's alloc-check.
  const tokenFlag = (request.mapFlags & BPF_F_TOKEN_FD) !== 0;
  const r = { ...request, mapFlags: request.mapFlags & ~BPF_F_TOKEN_FD };
  const t = r.mapType;
  // map_create's generic checks: a key type needs a value type (btf_vmlinux_value_type_id, for
  // STRUCT_OPS, has no Driver field). Only BLOOM_FILTER and ARENA read map_extra; any other type
  // refuses a non-zero one before its type is even looked up.
  if (r.btfKeyTypeId !== 0 && r.btfValueTypeId === 0) return Errno.EINVAL;
  if (r.mapExtra !== 0n && t !== BPF_MAP_TYPE_BLOOM_FILTER && t !== BPF_MAP_TYPE_ARENA) return Errno.EINVAL;
  if ((r.mapFlags & BPF_F_RDONLY) !== 0 && (r.mapFlags & BPF_F_WRONLY) !== 0) return Errno.EINVAL;
  const node = numaNodeOf(r);
  if (node !== NUMA_NO_NODE && node !== 0) return Errno.EINVAL; // one online node, 0
  if (t === 0 || t >= MAX_BPF_MAP_TYPE || !MODELLED.has(t)) return Errno.EINVAL;
  const check = allocCheck(r, ctx);
  if (check !== 0) return check;
  if (tokenFlag) {
    const errno = ctx.tokenErrno(0);
    if (errno !== 0) return errno;
  }
  // The capability gate: unprivileged_bpf_disabled, then the privileged map types.
  if (!ctx.privileged && (ctx.unprivilegedBpfDisabled !== 0 || isLru(t) || t === BPF_MAP_TYPE_LPM_TRIE || isKeyless(t))) return Errno.EPERM;

  // ---- the type's allocation ----
  let maxEntries = r.maxEntries;
  let innerMeta: InnerMeta | null = null;
  if (t === BPF_MAP_TYPE_LPM_TRIE) {
    if (r.maxEntries === 0 || (r.mapFlags & BPF_F_NO_PREALLOC) === 0 || (r.mapFlags & ~LPM_FLAGS) !== 0 ||
      !accessOk(r.mapFlags) || r.keySize < LPM_KEY_SIZE_MIN || r.keySize > LPM_KEY_SIZE_MAX ||
      r.valueSize < 1 || r.valueSize > LPM_VAL_SIZE_MAX) return Errno.EINVAL;
  }
  if (t === BPF_MAP_TYPE_BLOOM_FILTER) {
    // bloom_map_alloc: the low 4 bits of map_extra are the hash count; any other bit is EINVAL.
    if (r.keySize !== 0 || r.valueSize === 0 || r.maxEntries === 0 || (r.mapFlags & ~BLOOM_FLAGS) !== 0 ||
      !accessOk(r.mapFlags) || (r.mapExtra & ~0xfn) !== 0n) return Errno.EINVAL;
  }
  if (t === BPF_MAP_TYPE_RINGBUF || t === BPF_MAP_TYPE_USER_RINGBUF) {
    // ringbuf_map_alloc (USER_RINGBUF's too): the flags, then no key or value and max_entries a power of 2 and a
    // multiple of the page. Its E2BIG (past 2^24 - 3 pages of data: 64 GiB with 4 KiB pages) is
    // beyond a u32 max_entries at every page size.
    if ((r.mapFlags & ~RINGBUF_FLAGS) !== 0) return Errno.EINVAL;
    const n = r.maxEntries;
    if (r.keySize !== 0 || r.valueSize !== 0 || n === 0 || (n & (n - 1)) !== 0 || n % ctx.pageSize !== 0) return Errno.EINVAL;
  }
  if (t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_HASH_OF_MAPS) {
    const meta = innerMetaFor(r, ctx);
    if (typeof meta === "number") return -meta;
    innerMeta = meta;
  }
  if (isLru(t) && (r.mapFlags & BPF_F_NO_COMMON_LRU) !== 0) {
    // Per-CPU LRU lists: each CPU owns max/ncpus nodes, so round to a multiple of the CPUs.
    const n = ctx.possibleCpus;
    maxEntries = Math.ceil(r.maxEntries / n) * n;
    if (maxEntries > 0xffffffff) maxEntries = Math.floor(r.maxEntries / n) * n;
  }
  if (t === BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE_PERCPU_HASH || isLru(t) || t === BPF_MAP_TYPE_HASH_OF_MAPS) {
    if (maxEntries > 2 ** 31) return Errno.E2BIG;
    if (roundupPowOfTwo(maxEntries) > Math.floor(0xffffffff / BUCKET_SIZE)) return Errno.E2BIG;
  }
  if (!ctx.privileged && (t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY ||
    t === BPF_MAP_TYPE_PROG_ARRAY || t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_PERF_EVENT_ARRAY)) {
    // Without CAP_PERFMON (bypass_spec_v1) arrays are padded to a power of two against
    // speculation; a max_entries whose round-up overflows u32 is E2BIG.
    if (roundupPowOfTwo(r.maxEntries) > 0xffffffff) return Errno.E2BIG;
  }
  const { errno: nameErrno, name } = checkName(r.nameBytes);
  const fdMode = (r.mapFlags & BPF_F_RDONLY) !== 0 ? FMODE_READ : (r.mapFlags & BPF_F_WRONLY) !== 0 ? FMODE_WRITE : FMODE_RDWR;
  return {
    mapType: t, keySize: r.keySize, valueSize: r.valueSize, maxEntries,
    storedFlags: r.mapFlags & ~(BPF_F_RDONLY | BPF_F_WRONLY), fdMode, innerMeta, nameErrno, name, mapExtra: r.mapExtra,
  };
}

/**
 * btf_record_equal: the same special fields at the same offsets; a kptr's record also names its
 * BTF, so two kptr records are equal only within one BTF object.
 */
function recordsEqual(meta: InnerMeta, m: SimMap): boolean {
  const a = meta.record, b = m.record;
  if (a === null || b === null) return a === b;
  if (a.fields.length !== b.fields.length) return false;
  for (let i = 0; i < a.fields.length; i++) {
    const x = a.fields[i]!, y = b.fields[i]!;
    if (x.type !== y.type || x.offset !== y.offset || x.size !== y.size || x.valueId !== y.valueId) return false;
  }
  return (a.mask & KPTR_FIELDS) === 0 || meta.btf === m.btf;
}

/** bpf_map_meta_equal, and array_map_meta_equal's max_entries rule for ARRAY (kernel-maps.md §11). */
export function innerMapCompatible(meta: InnerMeta, m: SimMap): boolean {
  if (meta.mapType !== m.mapType || meta.keySize !== m.keySize || meta.valueSize !== m.valueSize || meta.mapFlags !== m.mapFlags) return false;
  if (!recordsEqual(meta, m)) return false;
  if (meta.mapType === BPF_MAP_TYPE_ARRAY && (meta.mapFlags & BPF_F_INNER_MAP) === 0) return meta.maxEntries === m.maxEntries;
  return true;
}
