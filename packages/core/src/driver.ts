// The one seam: a synchronous Driver for every bpf(2) operation bpfkit uses, plus the host
// services pkg/bpf needs (bpffs, mounts, clock, rlimit). Core calls nothing else, so the same
// code runs over the real kernel and over the simulator.
import type { AbortSignalLike } from "./abort-signal.js";
import type { MapFdInfo } from "./fdinfo.js";

/** BPF_MAP_CREATE's attributes, as `Driver.mapCreate` takes them. */
export interface MapCreateAttr {
  /** `map_type`: a `BPF_MAP_TYPE_*` number. */
  mapType: number;
  /** `key_size` in bytes (0 for queues, stacks and the other keyless types). */
  keySize: number;
  /** `value_size` in bytes, of one CPU's value for per-CPU types. */
  valueSize: number;
  /** `max_entries`: how many elements the map holds at most (for arrays, its length). */
  maxEntries: number;
  /** `map_flags`: `BPF_F_*` map flags such as `BPF_F_NO_PREALLOC`; 0 when left out. */
  mapFlags?: number;
  /** fd of the template inner map, for ARRAY_OF_MAPS and HASH_OF_MAPS; ignored by others. */
  innerMapFd?: number;
  /** `numa_node`: the NUMA node to allocate on, read only with `BPF_F_NUMA_NODE`. */
  numaNode?: number;
  /** At most 15 bytes of `[A-Za-z0-9_.]`; the kernel checks it (EINVAL). */
  mapName?: string;
  /**
   * `map_extra` (u64): a bloom filter's number of hash functions in its low 4 bits (0 means 5;
   * any higher bit is EINVAL). Types that do not read it refuse anything but 0 with EINVAL.
   * 0n when left out.
   */
  mapExtra?: bigint;
  /**
   * `btf_fd`: a loaded BTF object (`Driver.btfLoad`) that describes the key and the value; 0 or
   * left out: the map has no BTF. Read only with `btfValueTypeId`.
   */
  btfFd?: number;
  /** `btf_key_type_id`: the key's type in that BTF (0 for a keyless map). */
  btfKeyTypeId?: number;
  /**
   * `btf_value_type_id`: the value's type in that BTF. With it the kernel checks both types'
   * sizes against key_size and value_size, and finds special fields such as a
   * `struct bpf_spin_lock` in the value. A key type without a value type is EINVAL.
   */
  btfValueTypeId?: number;
}

/** BPF_BTF_LOAD's attributes, as `Driver.btfLoad` takes them. */
export interface BtfLoadAttr {
  /** `btf`/`btf_size`: the raw BTF, a `struct btf_header`, its type section and its string section. */
  btf: Uint8Array;
  /**
   * `btf_log_buf`/`btf_log_size`: where the checker writes its log, NUL-terminated, leaving the
   * bytes after the NUL as they were. A buffer needs a level, and over UINT_MAX >> 2 bytes is
   * EINVAL; a level without a buffer loads (the log is lost). A buffer too short for the log is
   * ENOSPC, for BTF that loads too (the log then holds its end). The kernel driver gives the kernel's own text and the simulator the same
   * (docs/simulator-exactness.md); another driver's text may differ, its errno may not.
   */
  logBuf?: Uint8Array;
  /**
   * `btf_log_level`: 0 (no log, the default), or 1 or 2, at which the BTF checker logs alike: the
   * header, then each type it checked, up to the one at fault and why.
   */
  logLevel?: number;
  /**
   * `btf_log_true_size`, written back: the driver sets its first element to the bytes the whole
   * log needed, its NUL included, which a `logBuf` at least that long holds without ENOSPC. It is
   * counted with or without a buffer (a level alone measures the log) and is 0 at level 0, or
   * when the load failed before the checker began (EPERM, E2BIG for the size, EINVAL for the
   * log's own attributes). A Uint32Array of at least one element; anything else is refused
   * before the call.
   */
  logTrueSize?: Uint32Array;
}

/** What OBJ_GET_INFO_BY_FD says of a BTF object (`struct bpf_btf_info`). */
export interface BtfInfo {
  /** `id`: the BTF object's id, unique while it lives (maps and programs hold theirs). */
  id: number;
  /** `btf_size`: the size of its raw data in bytes. */
  btfSize: number;
  /** `name`: "vmlinux" or a module's name for kernel BTF, "" for BTF user space loaded. */
  name: string;
  /** `kernel_btf`: whether the kernel's own (vmlinux or a module's). */
  kernelBtf: boolean;
}

/** BPF_PROG_LOAD's attributes, as `Driver.progLoad` takes them. */
export interface ProgLoadAttr {
  /** `prog_type`: a program type number (`ProgType`). */
  progType: number;
  /** 8-byte instructions, packed. */
  insns: Uint8Array;
  /** `license`, such as `"GPL"`: GPL-only helpers need a GPL-compatible one. */
  license: string;
  /** `expected_attach_type`, which some program types must give at load time. */
  expectedAttachType?: number;
  /** `prog_name`: at most 15 bytes, shown by bpftool and in `bpf_prog_info.name`. */
  progName?: string;
  /**
   * `prog_btf_fd`: the BTF object (a `btfLoad` fd) whose types `funcInfo` and `lineInfo` name.
   * The kernel reads it only when either array has a record; the program then holds that BTF
   * for its life (`bpf_prog_info.btf_id`), so the fd may be closed after the load. 0 when left out.
   */
  progBtfFd?: number;
  /**
   * `func_info`: packed `struct bpf_func_info` records (`insn_off`, `type_id`: u32 each), one per
   * function of the program, the main program's first at insn_off 0, in rising insn_off, each
   * naming a BTF_KIND_FUNC. `func_info_cnt` is `funcInfo.byteLength / funcInfoRecSize`: a length
   * that is no whole number of records is a RangeError before any syscall. A program that calls
   * a BPF function (BPF_PSEUDO_CALL) or passes one as a callback (BPF_PSEUDO_FUNC) needs it.
   */
  funcInfo?: Uint8Array;
  /** `func_info_rec_size`: bytes of one `funcInfo` record; 8 (`sizeof(struct bpf_func_info)`) when left out. */
  funcInfoRecSize?: number;
  /**
   * `line_info`: packed `struct bpf_line_info` records (`insn_off`, `file_name_off`,
   * `line_off`, `line_col`: u32 each; the offsets point into the BTF's strings), in rising
   * insn_off, the first at 0. `line_info_cnt` is `lineInfo.byteLength / lineInfoRecSize`, a
   * RangeError when not whole. Needs `funcInfo` too.
   */
  lineInfo?: Uint8Array;
  /** `line_info_rec_size`: bytes of one `lineInfo` record; 16 (`sizeof(struct bpf_line_info)`) when left out. */
  lineInfoRecSize?: number;
}

/**
 * BPF_PROG_TEST_RUN's input, as `Driver.progTestRun` takes it. Every buffer is optional; the
 * driver hands the kernel exactly each buffer's length (an absent or empty output buffer is
 * passed as none, so the kernel writes nothing back into it).
 */
export interface ProgTestRunAttr {
  /** `data_in`: the packet the program runs on (a socket filter's or XDP's needs at least 14 bytes). */
  dataIn?: Uint8Array;
  /** `data_out`: room for the packet as the program left it; the kernel fills at most its length. */
  dataOut?: Uint8Array;
  /** `ctx_in`: the program's context (such as a `__sk_buff`), for types that take one. */
  ctxIn?: Uint8Array;
  /** `ctx_out`: room for the context as the program left it. */
  ctxOut?: Uint8Array;
  /** `repeat`: runs, at least one (0 means 1). */
  repeat?: number;
  /** `flags`: `BPF_F_TEST_*` flags; 0 when left out. */
  flags?: number;
  /** `cpu`: the CPU to run on, read only with `BPF_F_TEST_RUN_ON_CPU`. */
  cpu?: number;
}

/**
 * perf_event_open(2) of the event a BPF_MAP_TYPE_PERF_EVENT_ARRAY slot holds, as
 * `Driver.perfEventOpen` takes it: a software event, PERF_COUNT_SW_BPF_OUTPUT, counting every
 * task (pid -1) on one CPU, sampling PERF_SAMPLE_RAW with a period of 1, so that each
 * `bpf_perf_event_output` of a program on that CPU is one PERF_RECORD_SAMPLE in its ring.
 */
export interface PerfEventOpenAttr {
  /** The CPU: a program's output on it lands in this event's ring. */
  cpu: number;
  /**
   * `wakeup_events`: a poll of the event wakes after this many samples (default 1). Left out
   * when `wakeupWatermark` is given.
   */
  wakeupEvents?: number;
  /** `wakeup_watermark` (and the `watermark` bit): a poll wakes once this many bytes wait. */
  wakeupWatermark?: number;
}

/** What BPF_PROG_TEST_RUN wrote back. */
export interface ProgTestRunResult {
  /** 0 when the run went through, else the positive errno (ENOSPC: `dataOut` or `ctxOut` too short). */
  errno: number;
  /** The program's return value (`retval`, a u32). */
  retval: number;
  /** `duration`: the mean time of one run, in ns. */
  duration: number;
  /** `data_size_out`: the packet's size after the run (more than `dataOut` holds with ENOSPC). */
  dataSizeOut: number;
  /** `ctx_size_out`: the context's size after the run. */
  ctxSizeOut: number;
}

/** errno 0 on success, else a positive errno; count is always what the kernel wrote back. */
export interface BatchResult {
  /** 0 when the batch went through, else the positive errno (ENOENT: no more elements). */
  errno: number;
  /** Elements the kernel processed (its `batch.count` written back), also on failure. */
  count: number;
}

/** A `/proc/self/mountinfo` line. */
export interface MountInfo {
  /** The mount's unique id (mountinfo's first field). */
  mountId: number;
  /** The id of the mount it sits on (mountinfo's second field). */
  parentId: number;
  /** The root of the mount within its filesystem (`/` for whole mounts). */
  root: string;
  /** Where it is mounted, as this process sees it. */
  mountPoint: string;
  /** The filesystem type (`bpf`, `tmpfs`, …). */
  fsType: string;
  /** The mount's source (`bpf`, a device, `none`, …). */
  source: string;
}

/** What stat(2) says of a path: errno 0 and its kind, or a positive errno. */
export interface PathStat {
  /** 0 when stat(2) succeeded, else a positive errno (ENOENT: no such path). */
  errno: number;
  /** Whether the path is a directory (false on error). */
  isDirectory: boolean;
  /** Whether the path is a regular file (false on error; a bpffs pin is one). */
  isFile: boolean;
}

/** RLIMIT_MEMLOCK; `RLIM_INFINITY` is 2^64 − 1. */
export interface Rlimit {
  /** 0 when getrlimit(2) succeeded, else a positive errno. */
  errno: number;
  /** The soft limit in bytes. */
  cur: bigint;
  /** The hard limit in bytes. */
  max: bigint;
}
/** The rlimit value that means no limit (2^64 − 1). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/**
 * What a file descriptor refers to: a BPF map, program or link (with the kernel's name for the
 * link's type: `cgroup`, `xdp`, …), a BTF object, or anything else (a plain file).
 */
export type BpfObjKind =
  | { kind: "map" }
  | { kind: "prog" }
  | { kind: "link"; linkType: string }
  | { kind: "btf" }
  | { kind: "other" };

/**
 * The host services of a driver. Like the syscall methods, they return `>= 0` or `-errno` and
 * throw only for caller misuse (a path holding a NUL byte is a TypeError).
 */
export interface HostServices {
  /** statfs(2) `f_type` of the filesystem holding `path` (bpffs: 0xCAFE4A11), or -errno. */
  statfsType(path: string): number;
  /** stat(2) of a path, following symlinks. */
  stat(path: string): PathStat;
  /** Entry names in a directory, or -errno. */
  readdir(path: string): string[] | number;
  /** mkdir(2) with a mode: 0 or -errno (EEXIST when the path exists). */
  mkdir(path: string, mode: number): number;
  /** mkdir -p: 0 when it exists already as a directory. */
  mkdirAll(path: string, mode: number): number;
  /** unlink(2) of a file or pin: 0 or -errno. */
  unlink(path: string): number;
  /** rmdir(2) of an empty directory: 0 or -errno (ENOTEMPTY when it has entries). */
  rmdir(path: string): number;
  /** rm -rf: 0 when the path is missing. */
  removeAll(path: string): number;
  /** mount(2): 0 or -errno; `flags` are the `MS_*` flags, `data` the options string. */
  mount(source: string, target: string, fsType: string, flags?: number, data?: string): number;
  /** umount(2) of a mount point: 0 or -errno. */
  umount(target: string): number;
  /** This process's mount table, or -errno. */
  mountInfo(): MountInfo[] | number;
  /**
   * What `fd` refers to, or -errno (EBADF when it is not open). OBJ_GET_INFO_BY_FD cannot say:
   * the kernel's map, program and link info all start with a type and an id, so a pinned link
   * read as a map looks like one. Optional: without it, core tells a program from a map by the
   * info's length and cannot tell a link. -ENOSYS where it cannot be told for any fd (the
   * kernel driver without procfs): core then does as without it.
   */
  objKind?(fd: number): BpfObjKind | number;
  /**
   * renameat2(2) of `from` to `to`, both as paths from the current directory: 0 or -errno.
   * `flags` 0 replaces an existing `to` atomically (a pin replaced so is released as by unlink);
   * RENAME_NOREPLACE refuses an existing `to` (EEXIST); RENAME_EXCHANGE swaps the two (ENOENT
   * unless both exist). Both must be on one mount (EXDEV). Optional, for drivers written before
   * it: without it core replaces a pin by unlinking it and pinning anew, which leaves the path
   * empty for a moment. A driver that has it but cannot offer it returns -ENOSYS, with the same
   * effect.
   */
  rename?(from: string, to: string, flags?: number): number;
  /** CLOCK_MONOTONIC in nanoseconds, as `ktime_get_ns()` reads it. */
  monotonicNs(): bigint;
  /** getrlimit(2) of RLIMIT_MEMLOCK, the cap on locked memory older kernels charged maps to. */
  getRlimitMemlock(): Rlimit;
  /** setrlimit(2) of RLIMIT_MEMLOCK: 0 or -errno (EPERM to raise the hard limit unprivileged). */
  setRlimitMemlock(cur: bigint, max: bigint): number;
}

/**
 * What `Driver.mmapAtomic` does to a word of mapped memory: JavaScript's `Atomics` operations, by
 * their names (`store` is `exchange`, whose old value is the answer).
 */
export type MmapAtomicOp = "load" | "add" | "sub" | "and" | "or" | "xor" | "exchange" | "compareExchange";

/** Every MmapAtomicOp, for checks and decorators. */
export const MMAP_ATOMIC_OPS: readonly MmapAtomicOp[] = ["load", "add", "sub", "and", "or", "xor", "exchange", "compareExchange"];

/**
 * Every bpf(2) command bpfkit uses. Methods return `>= 0` on success and `-errno` on failure
 * (Linux x86-64 numbers everywhere, ENOTSUPP = 524), never throwing for a kernel error. They
 * throw before any syscall for caller misuse: RangeError when a buffer is not exactly what the
 * map needs (per-CPU values: `roundUp(valueSize, 8) * possibleCpus`), or a batch buffer cannot
 * hold `count` elements; TypeError for arguments of the wrong type.
 */
export interface Driver {
  /** "kernel", "sim", or a custom driver's name. */
  readonly kind: string;
  /** What per-CPU values are sized by: the CPUs in the host's possible mask. */
  readonly possibleCpus: number;
  /**
   * The host's page size in bytes (getpagesize(); 4096 on x86-64, 4096, 16384 or 65536 on arm64):
   * the unit mapMmap maps in, where a ring buffer's data starts (two pages in) and what its size
   * must be a multiple of. Optional, for drivers written before it: core takes 4096 without it.
   */
  readonly pageSize?: number;
  /** The host services the driver offers: files, mounts, clock and rlimit. */
  readonly host: HostServices;

  /** BPF_MAP_CREATE: a new map's fd, or -errno (EINVAL for attributes the map type refuses). */
  mapCreate(attr: MapCreateAttr): number;
  /** BPF_MAP_LOOKUP_ELEM: copies the value under `key` into `value`; 0 or -errno (ENOENT when absent). */
  mapLookupElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number;
  /** BPF_MAP_UPDATE_ELEM with `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST` (and `BPF_F_LOCK`): 0 or -errno. */
  mapUpdateElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number;
  /** BPF_MAP_DELETE_ELEM: 0 or -errno (ENOENT when absent; arrays refuse with EINVAL). */
  mapDeleteElem(fd: number, key: Uint8Array): number;
  /** `key` null asks for the first key. */
  mapGetNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): number;
  /**
   * BPF_MAP_LOOKUP_AND_DELETE_ELEM: copies the value under `key` and removes it; 0 or -errno.
   * `flags` is 0 or `BPF_F_LOCK` (a hash whose value holds a `bpf_spin_lock`: the copy is taken
   * under it); any other bit, `BPF_F_LOCK` on a value without a lock, or any flag on a queue or
   * stack is EINVAL. Optional for drivers written before it, which take no flags.
   */
  mapLookupAndDeleteElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number;
  /** BPF_MAP_FREEZE: makes the map read-only to bpf(2) for good; 0 or -errno. */
  mapFreeze(fd: number): number;

  /**
   * Batches: `keys`/`values` hold `count` packed elements; `inBatch` null starts; the token is
   * 4 bytes for the hash family (a bucket index) and `keySize` for the others. `elemFlags` is 0
   * or `BPF_F_LOCK` (each value copied under its `bpf_spin_lock`); any other bit, or the lock on
   * a value without one, is EINVAL. A parameter added after the first drivers: an older driver
   * ignores it.
   */
  mapLookupBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array,
    keys: Uint8Array, values: Uint8Array, count: number, elemFlags?: number): BatchResult;
  /** BPF_MAP_LOOKUP_AND_DELETE_BATCH: like `mapLookupBatch`, removing what it copies. */
  mapLookupAndDeleteBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array,
    keys: Uint8Array, values: Uint8Array, count: number, elemFlags?: number): BatchResult;
  /** BPF_MAP_UPDATE_BATCH: writes `count` packed keys and values with `elemFlags`. */
  mapUpdateBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number,
    elemFlags?: number): BatchResult;
  /** BPF_MAP_DELETE_BATCH: removes `count` packed keys. */
  mapDeleteBatch(fd: number, keys: Uint8Array, count: number): BatchResult;

  /** BPF_OBJ_PIN: pins the object behind `fd` at a bpffs path; 0 or -errno (EEXIST when the path is taken). */
  objPin(fd: number, path: string): number;
  /** `fileFlags`: 0, BPF_F_RDONLY or BPF_F_WRONLY. Returns an fd. */
  objGet(path: string, fileFlags?: number): number;
  /** BPF_MAP_GET_NEXT_ID: the id of the first map after `startId` (0 starts), or -errno (ENOENT at the end). */
  mapGetNextId(startId: number): number;
  /** BPF_PROG_GET_NEXT_ID: the id of the first program after `startId` (0 starts), or -errno (ENOENT at the end). */
  progGetNextId(startId: number): number;
  /** BPF_MAP_GET_FD_BY_ID: an fd to the map with that id, or -errno (ENOENT when gone; EPERM without CAP_SYS_ADMIN). */
  mapGetFdById(id: number, openFlags?: number): number;
  /**
   * BPF_PROG_GET_FD_BY_ID: an fd to the program with that id, or -errno (ENOENT when gone; EPERM without
   * CAP_SYS_ADMIN).
   */
  progGetFdById(id: number, openFlags?: number): number;
  /** Fills the kernel's bpf_map_info / bpf_prog_info layout; returns the bytes written. */
  objGetInfoByFd(fd: number, info: Uint8Array): number;
  /**
   * OBJ_GET_INFO_BY_FD asking a program for the ids of the maps it uses (bpf_prog_info's
   * map_ids, in the order the verifier met them): writes the first `ids.length` of them (the
   * rest of `ids` is left as it was) and returns the program's nr_map_ids, which may be larger,
   * or -errno. The fd of a map or of anything else that is no program is EINVAL: the kernel
   * would fill that object's own info, in which the ids' count is just the caller's bytes.
   */
  progGetMapIds(fd: number, ids: Uint32Array): number;
  /** BPF_PROG_LOAD: a verified program's fd, or -errno (EINVAL or EACCES when the verifier refuses it). */
  progLoad(attr: ProgLoadAttr): number;
  /** BPF_PROG_ATTACH of a program to a target fd (a cgroup, a socket map, …): 0 or -errno. */
  progAttach(targetFd: number, progFd: number, attachType: number, flags?: number): number;
  /** close(2) of an fd the driver gave out: 0 or -errno (EBADF when not open). */
  close(fd: number): number;
  /**
   * `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: a new fd, the lowest free one, for the object `fd` refers
   * to (the same map, program or file: one reference more, so the object lives until its last
   * fd is closed; the same access mode, which belongs to the open file both fds share), or
   * -errno: EBADF for an fd that is not open (a negative one too), EMFILE when the table is
   * full. Optional, for drivers written before it: without it `BpfMap.clone()` refuses, saying
   * the driver cannot dup. A driver that has it but cannot offer it returns -ENOSYS, alike.
   */
  dup?(fd: number): number;
  /**
   * What /proc/self/fdinfo/<fd> says of a map that bpf_map_info does not: `frozen`, `memlock`
   * and, for a PROG_ARRAY a program has met, `owner_prog_type`/`owner_jited`; a field the
   * kernel does not print is undefined. -EBADF for an fd that is not open, -EINVAL for an open
   * fd that is no map, -ENOSYS where no fd's can be read (the kernel driver without procfs).
   * Optional: a driver written before it keeps working, and core says where it is missing
   * (`BpfMap.fdInfo`, the CLI falls back to probing FROZEN).
   */
  mapFdInfo?(fd: number): MapFdInfo | number;
  /**
   * mmap(2), MAP_SHARED, of a map's memory: `length` bytes (the kernel rounds up to whole pages)
   * from byte `offset` (a multiple of the page size; default 0), PROT_READ, and PROT_WRITE when
   * `writable`. Two kinds of map can be mapped:
   * - a `BPF_F_MMAPABLE` ARRAY's values: value `i` sits at `i * roundUp(valueSize, 8)`;
   * - a RINGBUF's pages: the consumer position (u64) at 0, on the only page that may be mapped
   *   writable; the producer position (u64) at one page; then the data, `maxEntries` bytes, from
   *   two pages on, mapped twice in a row, so that a record that wraps reads straight on.
   * A perf event's fd (from `perfEventOpen`) maps its ring too: see there.
   * Returns a mapping handle `>= 0` for mmapRead, mmapWrite and munmap, or -errno as the kernel
   * answers, in this order (6.18): EINVAL for an offset off a page; EBADF for an fd that is not
   * open; EINVAL for a length of 0; ENOMEM for a length no hole in the address space holds (the
   * simulator: past 2^46 bytes); EACCES for an fd that cannot read, or, writable, for an fd that
   * cannot write; ENODEV for an fd that is no map (a program; and, in the kernel driver, any fd
   * but a map's or a perf event's, such as a file, whose pages past its end fault on a load);
   * ENOTSUPP for a map type that cannot be mapped (and, in the kernel driver, an ARENA made with
   * BPF_F_SEGV_ON_FAULT, whose pages no program allocated fault on a load); EINVAL read-only through a read-only fd (mmap(2) drops VM_SHARED for a file
   * not open for writing, so such an fd maps nothing); EPERM writable on a frozen map; EACCES
   * writable on a map made with BPF_F_RDONLY_PROG; for an ARRAY, EINVAL without BPF_F_MMAPABLE or
   * for a range past the pages of `maxEntries * roundUp(valueSize, 8)` bytes; for a RINGBUF, what
   * its own checks answer (see docs/kernel-notes.md). The mapping holds the map as an fd does: it
   * lives on, with its id, after its fds are closed, until munmap. While a writable mapping
   * exists, BPF_MAP_FREEZE is EBUSY. Optional, for drivers written before it: without it core
   * says the driver cannot map memory.
   */
  mapMmap?(fd: number, length: number, writable: boolean, offset?: number): number;
  /**
   * Copies `dst.length` bytes of a mapping, from byte `offset` of it, into `dst`: 0, or -EBADF for
   * a handle that is not mapped. A range past the `length` the mapping was made with is a
   * RangeError, before any memory is touched. Present exactly when mapMmap is. Eight bytes at an
   * offset that is a multiple of 8 are read as one load with acquire ordering (the kernel's
   * smp_load_acquire): a ring's reader reads the producer position and each record's header so,
   * and on arm64 a plain copy could see a record committed and still read its older bytes.
   */
  mmapRead?(mapping: number, offset: number, dst: Uint8Array): number;
  /**
   * Copies `src` into a mapping at byte `offset`: 0, or -EBADF for a handle that is not mapped,
   * -EACCES for a mapping made read-only, and for bytes past the header page of a perf event's
   * ring, which the kernel keeps read-only in a writable mapping (a store there is SIGBUS). A
   * range past the mapping's `length` is a RangeError.
   * What a program or a syscall reads next sees the bytes at once: they are the map's values.
   * Eight bytes at an offset that is a multiple of 8 are one store with release ordering (the
   * kernel's smp_store_release), as a ring's reader moves the consumer position.
   */
  mmapWrite?(mapping: number, offset: number, src: Uint8Array): number;
  /**
   * munmap(2) of a mapping: 0, or -EBADF for a handle that is not mapped (twice, or never). Any
   * other -errno leaves the mapping mapped under its handle, as munmap(2) leaves the pages, so
   * munmap again retries it (what a ring's or MapMemory's close() again does).
   */
  munmap?(mapping: number): number;
  /**
   * One atomic operation on the `size`-byte word (4 or 8, host byte order) at byte `offset` of a
   * mapping, as a program's BPF_ATOMIC instructions (`__sync_fetch_and_add`, `xchg`, `cmpxchg`)
   * do on the same memory, so that neither loses the other's change: `load`; `add`, `sub`,
   * `and`, `or`, `xor` of `operand` (wrapping); `exchange` for `operand`; `compareExchange`,
   * which writes `operand` only where the word equals `expected`. Every one is sequentially
   * consistent. Returns the word's value before it (a bigint), or -errno (a number): -EBADF for a
   * handle that is not mapped, -EACCES for any but `load` through a mapping made read-only or on
   * a perf event ring's data (as mmapWrite).
   * Before any memory is touched: an offset that is not a multiple of `size` or a word past the
   * mapping's `length` is a RangeError; an `op` not in the list, an operand that is no bigint (or
   * an `expected` that is none, for compareExchange) a TypeError; an operand outside 0..2^(8·size)−1
   * a RangeError. Optional, with the four mmap methods: without it core says the driver cannot
   * change mapped memory atomically.
   */
  mmapAtomic?(mapping: number, offset: number, size: 4 | 8, op: MmapAtomicOp, operand?: bigint, expected?: bigint): bigint | number;
  /**
   * BPF_PROG_TEST_RUN: runs a loaded program once (or `repeat` times) on the given packet and
   * context, as the kernel's test harness does, and returns what it wrote back; a refusal is the
   * result's `errno` (EINVAL for a program type without a test run or a packet too short for it,
   * EBADF for an fd that is not open, ENOSPC when an output buffer is too short). A buffer that is
   * not a Uint8Array is a TypeError before the call. Optional: the simulator runs no programs.
   */
  progTestRun?(fd: number, attr: ProgTestRunAttr): ProgTestRunResult;
  /**
   * Waits, without blocking the event loop, until poll(2) finds `fd` ready (readable; for a
   * USER_RINGBUF, whose poll answers EPOLLOUT only, writable): the one
   * asynchronous Driver method (the kernel driver waits in epoll_wait on a libuv pool thread,
   * one for all the waits of a JS thread). Resolves:
   * - 1 when the fd is readable, at once if it already is;
   * - 0 when `timeoutMs` passes first (0: only look; Infinity: no timeout), or when `signal` aborts
   *   (meanwhile, or before the call: then 0 comes first, whatever the fd): the caller reads the
   *   signal's reason;
   * - -EBADF for an fd that is not open, or that the driver's `close` closes during the wait;
   * - -EINVAL for a map whose type has no poll (the kernel's EPOLLERR: every type but RINGBUF
   *   and USER_RINGBUF).
   *
   * A RINGBUF is readable while its consumer position is behind its producer position (records
   * ready, still BUSY, or discarded). A wait that found it empty ends only when a program's
   * commit wakes it (bpf_ringbuf_commit: with BPF_RB_FORCE_WAKEUP; or, without
   * BPF_RB_NO_WAKEUP, when the record committed is the one the consumer position points at), so
   * a record committed without a wake-up leaves the wait to time out. A program's fd, which has
   * no poll of its own, is always readable. A USER_RINGBUF is ready while its producer position
   * less its consumer position (u64, so a producer behind the consumer is no room) is below its
   * size (ringbuf_map_poll_user: the writer has room); a wait that found it full ends when a
   * program's bpf_user_ringbuf_drain wakes it (one that took records, without BPF_RB_NO_WAKEUP;
   * or with BPF_RB_FORCE_WAKEUP). A timeoutMs that is not 0..2^31-1 or Infinity, or a
   * signal that is no AbortSignal, is a RangeError/TypeError thrown before any wait. Optional:
   * without it core polls by timer.
   */
  mapPoll?(fd: number, timeoutMs: number, signal?: AbortSignalLike): Promise<number>;
  /**
   * perf_event_open(2) of a BPF output event on `attr.cpu` (PerfEventOpenAttr), close-on-exec:
   * a new fd, or -errno as the kernel answers (EINVAL for a CPU past the possible ones, ENODEV
   * for one that is possible but not online, which a reader leaves out, E2BIG or
   * EINVAL for attributes it refuses, EACCES or EPERM without privilege, EMFILE). The fd is what
   * a PERF_EVENT_ARRAY's slot takes as its value (MAP_UPDATE_ELEM of the index → the fd), what
   * `mapMmap` maps (the event's ring: a `perf_event_mmap_page` header page, `data_head` a u64 at
   * byte 1024 and `data_tail` at 1032, then 2^n data pages of records, `length` (1 + 2^n) pages
   * from offset 0) and what `mapPoll` waits on (readable once the wake-up the attributes ask for
   * has come); `close` closes it. Optional: without it core says the driver cannot read perf
   * event arrays.
   */
  perfEventOpen?(attr: PerfEventOpenAttr): number;
  /**
   * BPF_BTF_LOAD: checks the raw BTF as the kernel's btf_parse does and answers the new BTF
   * object's fd, or -errno: EINVAL for BTF the checker refuses (the log says why), E2BIG for
   * data over BTF_MAX_SIZE (16 MiB) or a header longer than the kernel knows with a non-zero
   * tail, ENOSPC for a log too short for what it had to say, EPERM without CAP_BPF. A `btf` or
   * `logBuf` that is not a Uint8Array is a TypeError before the call. Optional, with the other
   * three btf methods: without them core creates maps without BTF and says so where asked.
   */
  btfLoad?(attr: BtfLoadAttr): number;
  /** BPF_BTF_GET_FD_BY_ID: an fd to the BTF object with that id, or -errno (ENOENT when gone, and for id 0; EPERM without CAP_SYS_ADMIN). */
  btfGetFdById?(id: number): number;
  /** BPF_BTF_GET_NEXT_ID: the id of the first BTF object after `startId` (0 starts), or -errno (ENOENT at the end). */
  btfGetNextId?(startId: number): number;
  /**
   * OBJ_GET_INFO_BY_FD on a BTF fd (`struct bpf_btf_info`): its id, size, name and whether it
   * is the kernel's, or -errno (EBADFD for an fd that is not open, as 6.18 answers any info call;
   * EINVAL for an fd of another kind, a map's, program's or link's too, whose own info the
   * kernel would give). With `data`, the first min(data.length, btfSize) bytes of the raw BTF
   * are copied into it and the rest of `data` is left as it was; a shorter `data` is not an
   * error (ask with null first to learn the size). `data` neither a Uint8Array nor null is a
   * TypeError.
   */
  btfGetInfo?(fd: number, data: Uint8Array | null): BtfInfo | number;
}
