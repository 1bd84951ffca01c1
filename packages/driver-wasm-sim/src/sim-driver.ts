// The simulator Driver: the syscall surface of bpf(2) over the AssemblyScript map engine. This
// file owns what the kernel's syscall.c owns — attr checks in the kernel's order, fds and their
// access modes, ids, reference counts, freeze, pins, fd→id translation of map-in-map and
// PROG_ARRAY values — and leaves map contents and semantics to the engine (engine-abi.ts).
import {
  checkPerfEventOpenAttr, BPF_F_CURRENT_CPU, BPF_F_INDEX_MASK, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RINGBUF_HDR_SZ,
  BPF_F_LOCK, BPF_F_PATH_FD, BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED, BPF_MAP_INFO, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_BLOOM_FILTER,
  BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_USER_RINGBUF, optU64Bigint,
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_PROG_INFO,
  Errno, assertAtomicArgs, assertBatchBuffer, assertBytes, assertFd, assertIds, assertPath, assertPollArgs, assertSize,
  assertU32, BPF_FUNC_INFO, BPF_LINE_INFO, encodeMapInfo, encodeStruct, infoRecordsArg, outU32Arg, realByteLength, describeValue } from "@bpfkit/core";
import type {
  AbortSignalLike, BatchResult, BtfInfo, BtfLoadAttr, Driver, HostServices, MapCreateAttr, MapFdInfo, MmapAtomicOp, PerfEventOpenAttr, ProgLoadAttr,
} from "@bpfkit/core";
import { loadBtf } from "./btf/btf-load.js";
import { kernelStructNames, vmlinuxBtf } from "./btf/kernel-btf.js";
import { checkMapBtf } from "./btf/map-btf.js";
import { hasSpinLock, zeroSpecialFields } from "./btf/special-values.js";
import { SimBtf } from "./btf/sim-btf.js";
import type { EngineExports } from "./engine-abi.js";
import { FdTable } from "./fd-table.js";
import { SimFaults } from "./faults.js";
import type { SimSyscall } from "./faults.js";
import { checkName, innerMapCompatible, planMapCreate } from "./map-create.js";
import { mapMemlock } from "./map-memlock.js";
import { MMAP_MAX_LENGTH, assertByteCount, assertInMapping, mappedPieces, mmapErrno, ringbufDataOff } from "./map-mmap.js";
import { MapPollWaits } from "./map-poll.js";
import { applyAtomic } from "./mmap-atomic.js";
import { PerfRing, SimPerfEvent, perfMmapErrno } from "./perf-event.js";
import type { PerfMapping } from "./perf-event.js";
import { BPF_RB_WAKEUP_FLAGS, ringCopyIn, type RingbufSample } from "./ringbuf-samples.js";
import { BPF_MAX_USER_RINGBUF_SAMPLES, ENODATA, userRingbufPeek, userRingbufRelease, userRingbufSample, userRingbufWritable, type UserRingLayout } from "./user-ringbuf.js";
import { HandleTable } from "./handle-table.js";
import type { SimMapping } from "./map-mmap.js";
import { FMODE_READ, FMODE_RDWR, FMODE_WRITE, SimMap, SimProg } from "./objects.js";
import type { FdEntry } from "./objects.js";
import { progAttach } from "./prog-attach.js";
import { checkTailCall, progMapCompatible } from "./prog-map-compat.js";
import type { AttachWorld } from "./prog-attach.js";
import {
  checkExpectedAttach, fixupAttachType, licenseIsGplCompatible, needsMoreThanCapBpf, progTypeBuilt,
} from "./prog-load.js";
import { sha256 } from "./sha256.js";
import { verifyProgram } from "./verifier/index.js";
import { createClock, createHostServices } from "./host.js";
import type { HostState, SimClock } from "./host.js";
import { Vfs } from "./vfs.js";

/** `createSimDriver`'s options; any other key is a TypeError. */
export interface SimDriverOptions {
  /**
   * CPUs in the possible mask, which per-CPU values are sized by. Default: the host's on Linux
   * under Node ≥ 20.16 (it is read through `process.getBuiltinModule`), else 4.
   */
  possibleCpus?: number;
  /** Seeds everything the kernel randomises: hash seeds of maps without BPF_F_ZERO_SEED. Default 0. */
  seed?: number;
  /** Root with every capability (default). false: no CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN. */
  privileged?: boolean;
  /** `kernel.unprivileged_bpf_disabled` (default 2, as on this machine): non-zero gates unprivileged bpf. */
  unprivilegedBpfDisabled?: number;
  /** Where bpffs is mounted at boot (default `/sys/fs/bpf`); null boots without one. */
  bpffsMount?: string | null;
  /**
   * A cap on the simulator's whole wasm memory (`memoryUsage().wasmBytes`), in bytes, rounded
   * down to 64 KiB pages: the engine's first page (its own data), maps and batch staging all count.
   * At least 128 KiB; each small size class takes pages of its own, so even a small hash needs
   * three pages: a coarse cap for testing ENOMEM paths, not a byte budget. Past it, creating a preallocated map (array, hash, LRU) is ENOMEM, as is an
   * insert into a NO_PREALLOC hash or an LPM trie. Default: the engine's maximum.
   */
  memoryLimit?: number;
  /** How far the virtual monotonic clock moves per syscall, in ns (default 1000). */
  syscallNs?: number;
  /**
   * The simulated kernel's PAGE_SIZE: 4096 (default, x86-64's), 16384 or 65536 as arm64 kernels
   * are built (any power of 2 from 4096 to 65536). A ring buffer's layout and size rule, an
   * mmapable array's region, mmap offsets and lengths, memlock's page-rounded terms,
   * PCPU_MIN_UNIT_SIZE, the info_len cap and the mount data copied all follow it; the driver
   * reports it as `pageSize`.
   */
  pageSize?: number;
  /** RLIMIT_MEMLOCK at boot, in bytes (default 8 MiB for both soft and hard). */
  memlock?: bigint;
  /** Makes the engine: the default loads the bundled wasm. A seam for other loaders and tests. */
  engine?: () => EngineExports;
  /**
   * The kernel's own BTF (the bytes of `/sys/kernel/btf/vmlinux`), which BPF_BTF_LOAD looks a
   * kptr's struct up in by name (`bpf_find_btf_id`): a referenced kptr (`kptr` tag) to a kernel
   * struct loads only where the kernel has a destructor kfunc for it (task_struct, cgroup,
   * bpf_cpumask, …), else ENOENT. It is also the BTF object with id 1, named "vmlinux" and
   * `kernelBtf`, as the kernel's is: open by id, read back, never freed, and no map or program
   * is made with it (EACCES); BTF the simulator loads then takes ids from 2. Default none: every
   * struct is the program's own, as on a kernel whose BTF names none of them, and ids start at 1.
   */
  kernelBtf?: Uint8Array;
}

/** A map addressed by fd (through this process's fd table) or by id (as a BPF program holds it). */
export type SimMapRef = { readonly fd: number } | { readonly id: number };

/** What a BPF program does to a map between two syscalls (API.md §2). Returns >= 0 or -errno. */
export interface SimDatapath {
  /** bpf_map_lookup_elem from a program on `cpu`: marks an LRU element referenced. Per-CPU values are one slot of valueSize bytes. */
  lookup(map: SimMapRef, key: Uint8Array, value: Uint8Array, cpu?: number): number;
  /** bpf_map_update_elem on `cpu`: a new per-CPU element writes this CPU's slot and zeroes the others. */
  update(map: SimMapRef, key: Uint8Array, value: Uint8Array, flags?: number, cpu?: number): number;
  /** bpf_map_delete_elem from a program on `cpu`: 0 or -errno (ENOENT when absent). */
  delete(map: SimMapRef, key: Uint8Array, cpu?: number): number;
  /**
   * bpf_map_push_elem on a QUEUE, STACK or BLOOM_FILTER: 0 or -errno (E2BIG when full;
   * BPF_EXIST drops the oldest element to make room).
   */
  push(map: SimMapRef, value: Uint8Array, flags?: number, cpu?: number): number;
  /** bpf_map_pop_elem on a QUEUE or STACK: fills `value`, 0 or -errno (ENOENT when empty). */
  pop(map: SimMapRef, value: Uint8Array, cpu?: number): number;
  /**
   * bpf_map_peek_elem: a QUEUE's or STACK's next value into `value`; for a BLOOM_FILTER, 0 when
   * `value` may be present and -ENOENT when it is not.
   */
  peek(map: SimMapRef, value: Uint8Array, cpu?: number): number;
  /**
   * bpf_ringbuf_output on a RINGBUF: one record holding `data`, submitted at once, which wakes
   * the ring's mapPoll waits as ringbufSubmit does. 0, or -errno:
   * -EINVAL for flags other than BPF_RB_NO_WAKEUP (1) and BPF_RB_FORCE_WAKEUP (2), -EAGAIN when
   * the reserve finds no room or `data` could never fit (the kernel's NULL reserve); -EINVAL for
   * a map that is no ring buffer (a program calling it would not load).
   */
  ringbufOutput(map: SimMapRef, data: Uint8Array, flags?: number, cpu?: number): number;
  /**
   * bpf_ringbuf_reserve: a sample handle (>= 0) whose record is BUSY until ringbufSubmit or
   * ringbufDiscard, however many calls later (a program on another CPU still writing it: readers
   * stop there, and no later record's room passes it). Where the kernel returns NULL this says
   * why: -EINVAL for flags other than 0, -E2BIG for a size no record of this ring can ever have
   * (past UINT_MAX / 4, or whose record, the 8-byte header and the size rounded up to 8, is not
   * smaller than the ring), -EAGAIN for no room now; -EINVAL for a map that is no ring buffer.
   * The sample starts with whatever bytes the ring held there (the kernel does not zero it).
   */
  ringbufReserve(map: SimMapRef, size: number, flags?: number, cpu?: number): number;
  /** Writes `bytes` into a reserved sample at `offset`; a range past the sample's size is a RangeError. */
  ringbufWrite(sample: number, offset: number, bytes: Uint8Array): void;
  /**
   * bpf_ringbuf_submit: the record is no longer BUSY, and readers see it. It wakes the ring's
   * mapPoll waits (bpf_ringbuf_commit) with BPF_RB_FORCE_WAKEUP (2) in `flags`, or, without
   * BPF_RB_NO_WAKEUP (1), when the consumer position points at this record; any other bit is
   * ignored, as the kernel does.
   */
  ringbufSubmit(sample: number, flags?: number): void;
  /** bpf_ringbuf_discard: as submit (wake-ups too), with the record marked DISCARD, which readers skip. */
  ringbufDiscard(sample: number, flags?: number): void;
  /**
   * bpf_ringbuf_query: BPF_RB_AVAIL_DATA (0) producer less consumer position (u64, so a
   * consumer position written past the producer's wraps), BPF_RB_RING_SIZE (1), BPF_RB_CONS_POS
   * (2), BPF_RB_PROD_POS (3); 0n for any other flag. For a map that is no ring buffer or not
   * found, the negative -errno as a bigint (-EINVAL, -EBADF, -ENOENT), which no answer can be.
   */
  ringbufQuery(map: SimMapRef, flags: number): bigint;
  /**
   * bpf_user_ringbuf_drain on a USER_RINGBUF: calls `callback` with each record user space has
   * submitted, in order (a copy of its sample: what bpf_dynptr_read gives the program), at most
   * BPF_MAX_USER_RINGBUF_SAMPLES (131072) records, discarded ones included; a callback returning 1
   * stops after its record, 0 (or nothing) goes on. Each record's room goes back to user space
   * once its callback returns, and the ring's mapPoll waits (writers waiting for room) are woken
   * after the drain when it looked at any record, unless `flags` has BPF_RB_NO_WAKEUP (1), or
   * always with BPF_RB_FORCE_WAKEUP (2). Answers the records it called back for, or -errno as the
   * kernel does: -EINVAL for other flags, for a map that is no USER_RINGBUF (a program calling it
   * would not load), for a producer position that is no multiple of 8 or a record that runs past
   * it; -E2BIG for a record larger than the ring (or than a dynptr, 2^24 - 1 bytes); -EBUSY from
   * inside another drain of the same ring. A bad record stops the drain where it is: the
   * records before it are taken, it stays at the consumer position, and every later drain
   * answers the same until user space fixes it. A callback answering anything but 0, 1 or
   * undefined is a RangeError (the verifier refuses such a callback); one that throws ends the
   * drain with its record not taken.
   */
  userRingbufDrain(map: SimMapRef, callback: (sample: Uint8Array) => number | void, flags?: number): number;
  /**
   * bpf_perf_event_output from a program on `cpu` (default 0) into a PERF_EVENT_ARRAY: `flags`
   * holds the slot's index, or BPF_F_CURRENT_CPU (0xffffffff) for slot `cpu`. The event there
   * gets a PERF_RECORD_SAMPLE of `data` in its ring (the u32 raw size, the bytes, padding to an
   * 8-byte end, counted in the raw size and never written: it holds what the ring held), preceded by a PERF_RECORD_LOST when samples were
   * dropped since the last; it wakes the event's mapPoll waits as its wakeup_events or
   * watermark says. 0, or -errno: -EINVAL for flags past BPF_F_INDEX_MASK, -E2BIG for an index
   * past max_entries, -ENOENT for an empty slot, -EOPNOTSUPP for an event of another CPU,
   * -ENOSPC when the ring has no room (the sample is counted lost) or the event is not mapped;
   * -EINVAL for a map that is no PERF_EVENT_ARRAY (a program calling it would not load).
   */
  perfEventOutput(map: SimMapRef, data: Uint8Array, flags?: number, cpu?: number): number;
}

/**
 * What the hooked call is about, so that a hook can aim the datapath at it: delete the key a
 * dump is about to look up, or the one its GET_NEXT_KEY stands on.
 */
export interface SimCallInfo {
  /**
   * The fd the call names (the map's for element and batch calls); undefined for calls that name
   * none (mapCreate, objGet, the id walks and by-id opens, progLoad, munmap) and for progAttach,
   * which names two.
   */
  readonly fd?: number;
  /**
   * A copy of the key of mapLookupElem, mapUpdateElem, mapDeleteElem, mapLookupAndDeleteElem and
   * mapGetNextKey (null: GET_NEXT_KEY asking for the first key); undefined for other calls.
   */
  readonly key?: Uint8Array | null;
}

/** Called before every syscall-level call with the Driver method's name and what it names. */
export type SimInterleavingHook = (op: SimSyscall, call: SimCallInfo) => void;

/** A simulated host's Driver, with what tests need beyond bpf(2): the datapath, the hook, faults, the clock. */
export interface SimDriver extends Driver {
  readonly kind: "sim";
  /** The simulated kernel's PAGE_SIZE (`SimDriverOptions.pageSize`, 4096 by default). */
  readonly pageSize: number;
  /** The seed the driver was created with, from which each map's hash seed is derived. */
  readonly seed: number;
  /** Whether the simulated process holds CAP_BPF, CAP_SYS_ADMIN and CAP_NET_ADMIN. */
  readonly privileged: boolean;
  /** What a BPF program does to the maps between two syscalls: lookups, updates and deletes on a CPU. */
  readonly datapath: SimDatapath;
  /** Fault injection: make the next calls of a Driver method fail with a chosen errno. */
  readonly faults: SimFaults;
  /** The virtual CLOCK_MONOTONIC that `host.monotonicNs()` reads; each syscall moves it. */
  readonly clock: SimClock;
  /**
   * Runs `hook` before every syscall-level call (null removes it), with the call's name and the
   * fd and key it names (SimCallInfo). Calls made from inside the hook — syscalls or the
   * datapath — do not re-enter it.
   */
  setInterleavingHook(hook: SimInterleavingHook | null): void;
  /** The hook set now, or null: so that whoever set one removes it only while it is still theirs. */
  getInterleavingHook(): SimInterleavingHook | null;
  /** Bytes of wasm memory the engine's maps use, and the wasm memory's size. */
  memoryUsage(): { used: number; wasmBytes: number };
  /** Ids of live maps (for tests: what the kernel's MAP_GET_NEXT_ID walk would see). */
  liveMapIds(): number[];
  /** Optional on a Driver; the simulator always has it. */
  dup(fd: number): number;
  /**
   * poll(2) of a map's fd (always there in the simulator): a ring buffer's waits end at the
   * datapath's commits that wake it (a user ring buffer's, at its drains), a timeout
   * (setTimeout), an abort, or close() of their fd.
   */
  mapPoll(fd: number, timeoutMs: number, signal?: AbortSignalLike): Promise<number>;
  /** The kernel's fdinfo fields of a map fd (always there in the simulator). */
  mapFdInfo(fd: number): MapFdInfo | number;
  /** mmap of a BPF_F_MMAPABLE array's values or a ring buffer's pages (always there in the simulator). */
  mapMmap(fd: number, length: number, writable: boolean, offset?: number): number;
  /** Copies bytes out of a mapping: memory reads, so no hook, fault or clock tick. */
  mmapRead(mapping: number, offset: number, dst: Uint8Array): number;
  /** Copies bytes into a mapping: memory writes, so no hook, fault or clock tick. */
  mmapWrite(mapping: number, offset: number, src: Uint8Array): number;
  /** munmap(2) of a mapping: a syscall, which the hook and faults see. */
  munmap(mapping: number): number;
  /** An atomic operation on a word of a mapping: a memory access, so no hook, fault or clock tick. */
  mmapAtomic(mapping: number, offset: number, size: 4 | 8, op: MmapAtomicOp, operand?: bigint, expected?: bigint): bigint | number;
  /**
   * perf_event_open(2) of a BPF output event (always there in the simulator): an fd that a
   * PERF_EVENT_ARRAY slot takes, `mapMmap` maps (its ring) and `mapPoll` waits on. EINVAL for a
   * CPU not below possibleCpus, EACCES without privilege (perf_event_paranoid 2 wants
   * CAP_PERFMON for a CPU-wide event).
   */
  perfEventOpen(attr: PerfEventOpenAttr): number;
  /** BPF_BTF_LOAD through the simulator's own checker (btf/): always there in the simulator. */
  btfLoad(attr: BtfLoadAttr): number;
  /**
   * BPF_BTF_GET_FD_BY_ID over the simulator's BTF ids: those it loaded, and with `kernelBtf` the
   * kernel's vmlinux object at id 1 (no module BTF).
   */
  btfGetFdById(id: number): number;
  /** BPF_BTF_GET_NEXT_ID over the simulator's BTF ids. */
  btfGetNextId(startId: number): number;
  /**
   * OBJ_GET_INFO_BY_FD on a BTF fd: id, size, name ("vmlinux" for `kernelBtf`'s object, else "")
   * and kernelBtf; a prefix of the raw data into `data`.
   */
  btfGetInfo(fd: number, data: Uint8Array | null): BtfInfo | number;
}

const INT_MAX = 0x7fffffff;
/** sizeof(struct bpf_btf_info) on 6.18. */
const BPF_BTF_INFO_SIZE = 32;
/** RLIMIT_MEMLOCK at boot: 8 MiB soft and hard, as on this machine. */
const DEFAULT_MEMLOCK = 8n << 20n;
const BOOT_NS = 10_000_000_000;
/**
 * Scratch room kept between calls, as the kernel driver keeps its aux room: a batch that needed
 * more frees it as it ends, so that one large call does not take the maps' memory for the
 * simulator's life (nor, under memoryLimit, leave a map that fitted before it ENOMEM).
 */
const SCRATCH_KEEP = 1 << 20;

const align8 = (n: number) => (n + 7) & ~7;

/** f_flags bits an fdinfo's `flags:` shows. */
const O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CLOEXEC = 0o2000000;

/** A u64 flags argument given as a JS number: a non-negative safe integer, default 0. */
function flagsArg(v: unknown, op: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${op}: flags must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: flags ${v} is not a u64 this driver can pass`);
  return v;
}

function optU32(v: unknown, what: string, op: string): number {
  if (v === undefined) return 0;
  assertU32(v, what, op);
  return v;
}

function optString(v: unknown, what: string, op: string): string {
  if (v === undefined) return "";
  if (typeof v !== "string") throw new TypeError(`${op}: ${what} must be a string, got ${describeValue(v)}`);
  if (v.includes("\0")) throw new TypeError(`${op}: ${what} ${JSON.stringify(v)} holds a NUL byte`);
  return v;
}

/** splitmix32-style mixing: a per-map hash seed from the driver's seed and the map's id. */
function deriveSeed(seed: number, id: number): number {
  let z = (seed ^ Math.imul(id, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

const textEncoder = new TextEncoder();

/** The 16 bytes of `map_name`/`prog_name` for a string (UTF-8, cut to the field as the attr would). */
function nameBytes(name: string): Uint8Array {
  const out = new Uint8Array(16);
  out.set(textEncoder.encode(name).subarray(0, 16));
  return out;
}

export class SimDriverImpl implements SimDriver {
  readonly kind = "sim" as const;
  readonly possibleCpus: number;
  readonly pageSize: number;
  readonly seed: number;
  readonly privileged: boolean;
  /** The struct names of options.kernelBtf. */
  private readonly kernelStructs: ReadonlySet<string> | undefined;
  readonly host: HostServices;
  readonly datapath: SimDatapath;
  readonly faults = new SimFaults();
  readonly clock: SimClock;

  private readonly engine: EngineExports;
  private readonly unprivilegedBpfDisabled: number;
  private readonly syscallNs: number;
  private readonly fds = new FdTable();
  private readonly mappings = new HandleTable<SimMapping | PerfMapping>();
  private readonly samples = new HandleTable<RingbufSample>();
  private readonly polls = new MapPollWaits<SimMap | SimPerfEvent>();
  /** USER_RINGBUFs a drain is running on (the kernel's rb->busy): a drain from its callback is EBUSY. */
  private readonly draining = new Set<SimMap>();
  private readonly vfs: Vfs<SimMap | SimProg>;
  private readonly mapsById = new Map<number, SimMap>();
  private readonly progsById = new Map<number, SimProg>();
  /** BTF objects by id: their own id space (btf_idr), without the kernel's vmlinux and module BTF. */
  private readonly btfsById = new Map<number, SimBtf>();
  private nextMapId = 1;
  private nextProgId = 1;
  private nextBtfId = 1;
  /** perf_event ids (primary_event_id), from one counter as the kernel's perf_event_id. */
  private nextPerfEventId = 1;
  private nowNs = BOOT_NS;
  private hook: SimInterleavingHook | null = null;
  private inHook = false;
  private broken: Error | null = null;
  private flowDissector: SimProg | null = null;

  // Scratch in wasm memory and a cached view of it (re-made only when memory.grow detached it).
  private scratchPtr = 0;
  private scratchSize = 0;
  private heapU8 = new Uint8Array(0);

  constructor(engine: EngineExports, options: SimDriverOptions, possibleCpus: number, pageSize: number) {
    this.engine = engine;
    this.possibleCpus = possibleCpus;
    this.pageSize = pageSize;
    this.seed = options.seed ?? 0;
    this.privileged = options.privileged ?? true;
    if (options.kernelBtf !== undefined) {
      this.kernelStructs = kernelStructNames(options.kernelBtf);
      const vmlinux = vmlinuxBtf(options.kernelBtf);
      this.btfsById.set(vmlinux.id, vmlinux);
      this.nextBtfId = vmlinux.id + 1;
    }
    this.unprivilegedBpfDisabled = options.unprivilegedBpfDisabled ?? 2;
    this.syscallNs = options.syscallNs ?? 1000;
    if (options.memoryLimit !== undefined) engine.setMemoryLimit(options.memoryLimit >>> 0 === options.memoryLimit ? options.memoryLimit : 0);
    this.vfs = new Vfs<SimMap | SimProg>((obj) => (obj.kind === "map" ? this.mapPutUref(obj) : this.progPut(obj)), pageSize);
    this.vfs.boot();
    const bpffs = options.bpffsMount === undefined ? "/sys/fs/bpf" : options.bpffsMount;
    if (bpffs !== null) {
      this.vfs.mkdirAll(bpffs, 0o755);
      const r = this.vfs.mount("bpf", bpffs, "bpf");
      if (r < 0) throw new Error(`createSimDriver: cannot mount bpffs at ${bpffs}: errno ${-r}`);
    }
    this.vfs.endBoot();
    const state: HostState = {
      privileged: this.privileged,
      nowNs: () => this.nowNs,
      setNowNs: (ns) => { this.nowNs = ns; },
      memlock: { cur: options.memlock ?? DEFAULT_MEMLOCK, max: options.memlock ?? DEFAULT_MEMLOCK },
      objectAt: (fd) => this.fds.get(fd)?.obj,
    };
    this.host = createHostServices(this.vfs, state);
    this.clock = createClock(state);
    this.datapath = this.makeDatapath();
  }

  // ---------------------------------------------------------------- plumbing

  private heap(): Uint8Array {
    // memory.grow detaches the old buffer, and a view over a detached buffer has length 0: so
    // the view is re-made only then, without reading memory.buffer on every call.
    if (this.heapU8.length === 0) this.heapU8 = new Uint8Array(this.engine.memory.buffer);
    return this.heapU8;
  }

  /** A scratch region of `bytes`, or 0 when the engine has no memory for it. */
  private scratch(bytes: number): number {
    // Zero bytes (a keyless map's key) still need a region: 0 is the engine's NULL.
    if (bytes <= this.scratchSize && this.scratchPtr !== 0) return this.scratchPtr;
    const size = Math.max(align8(bytes), this.scratchSize * 2, 256);
    const ptr = this.engine.scratch(size);
    if (ptr <= 0) {
      this.scratchSize = 0;
      return 0;
    }
    this.scratchPtr = ptr;
    this.scratchSize = size;
    return ptr;
  }

  /** Frees scratch room past SCRATCH_KEEP, once a call has copied every result out of it. */
  private trimScratch(): void {
    if (this.scratchSize <= SCRATCH_KEEP || this.broken !== null || this.engine.scratchRelease === undefined) return;
    this.engine.scratchRelease();
    this.scratchPtr = 0;
    this.scratchSize = 0;
  }

  /** `fd` and `key` are the call's, for the hook (the key copied: the caller may reuse its buffer). */
  private enter(op: SimSyscall, fd?: number, key?: Uint8Array | null): number {
    if (this.broken !== null) throw this.broken;
    this.nowNs += this.syscallNs;
    const hook = this.hook;
    if (hook !== null && !this.inHook) {
      this.inHook = true;
      try {
        const call: { fd?: number; key?: Uint8Array | null } = {};
        if (fd !== undefined) call.fd = fd;
        if (key !== undefined) call.key = key === null ? null : key.slice();
        hook(op, call);
      } finally {
        this.inHook = false;
      }
      if (this.broken !== null) throw this.broken;
    }
    return this.faults.armed === 0 ? 0 : this.faults.take(op);
  }

  /** An engine trap (or a bug) mid-operation: the engine's state is unknown, so the driver stops. */
  private trapped(e: unknown, op: string): Error {
    if (this.broken !== null) return this.broken;
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.broken = new Error(`sim driver is broken: the map engine failed in ${op} (${msg}); create a new simulator`, { cause: e });
    return this.broken;
  }

  private readU32(ptr: number): number {
    const h = this.heap();
    return (h[ptr]! | (h[ptr + 1]! << 8) | (h[ptr + 2]! << 16) | (h[ptr + 3]! << 24)) >>> 0;
  }

  private writeU32(ptr: number, v: number): void {
    const h = this.heap();
    h[ptr] = v & 0xff; h[ptr + 1] = (v >>> 8) & 0xff; h[ptr + 2] = (v >>> 16) & 0xff; h[ptr + 3] = (v >>> 24) & 0xff;
  }

  private copyIn(src: Uint8Array, ptr: number): void {
    this.heap().set(src, ptr);
  }

  /** Copies `len` bytes out of wasm memory without allocating for small values. */
  private copyOut(ptr: number, dst: Uint8Array, dstOff: number, len: number): void {
    const h = this.heap();
    if (len <= 64) {
      for (let i = 0; i < len; i++) dst[dstOff + i] = h[ptr + i]!;
    } else {
      dst.set(h.subarray(ptr, ptr + len), dstOff);
    }
  }

  /** The map behind an fd for size checks, or undefined (the call will answer EBADF/EINVAL). */
  private shapeOf(fd: number): SimMap | undefined {
    const e = this.fds.get(fd);
    return e !== undefined && e.obj.kind === "map" ? e.obj : undefined;
  }

  /** f_mode less write for a frozen map (map_get_sys_perms). */
  private perms(e: FdEntry, m: SimMap): number {
    return m.frozen ? e.mode & ~FMODE_WRITE : e.mode;
  }

  private resolveMapFd = (fd: number): SimMap | number => {
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.EBADF;
    if (e.obj.kind !== "map") return -Errno.EINVAL;
    return e.obj;
  };

  /** btf_get_by_fd: EBADF for no fd, EINVAL for one that is not a BTF object. */
  private resolveBtfFd = (fd: number): SimBtf | number => {
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.EBADF;
    if (e.obj.kind !== "btf") return -Errno.EINVAL;
    return e.obj;
  };

  /** bpf_token_get_from_fd: no fd is a BPF token here (BPF_TOKEN_CREATE is not modelled). */
  private tokenErrno = (fd: number): number => (this.fds.get(fd) === undefined ? Errno.EBADF : Errno.EINVAL);

  // ---------------------------------------------------------------- references

  private mapGet(m: SimMap): void {
    m.refcnt++;
  }

  private mapGetUref(m: SimMap): void {
    m.refcnt++;
    m.usercnt++;
  }

  private mapPut(m: SimMap): void {
    if (--m.refcnt === 0) this.mapFree(m);
  }

  private mapPutUref(m: SimMap): void {
    // A PROG_ARRAY is cleared when its last user reference goes, even if programs still hold it
    // (bpf_map_put_uref → prog_array_map_clear), which breaks prog ↔ prog-array cycles.
    if (--m.usercnt === 0 && m.mapType === BPF_MAP_TYPE_PROG_ARRAY) this.releaseSlots(m, true);
    this.mapPut(m);
  }

  private progGet(p: SimProg): void {
    p.refcnt++;
  }

  private progPut(p: SimProg): void {
    if (--p.refcnt !== 0) return;
    p.freed = true;
    this.progsById.delete(p.id);
    for (const m of p.usedMaps) this.mapPut(m);
    if (p.btf !== null) this.btfPut(p.btf);
  }

  private mapFree(m: SimMap): void {
    m.freed = true;
    // The id vanishes at once (kernel-maps.md §13); what the slots held is released after.
    this.mapsById.delete(m.id);
    // A PERF_EVENT_ARRAY's slots hold perf files, not ids of bpf objects.
    if (m.perfSlots !== null) m.perfSlots.clear();
    else if (m.isFdValue) this.releaseSlots(m, false);
    this.engine.mapFree(m.handle);
    if (m.btf !== null) this.btfPut(m.btf);
    if (m.innerMeta?.btf) this.btfPut(m.innerMeta.btf);
  }

  /** btf_put: the last holder (an fd, a map or a program) gone, the id goes with it. */
  private btfPut(b: SimBtf): void {
    if (--b.refcnt !== 0) return;
    b.freed = true;
    this.btfsById.delete(b.id);
  }

  /** The ids an fd-valued map holds, by walking it in the engine. */
  private slotIds(m: SimMap): number[] {
    const ids: number[] = [];
    const base = this.scratch(8 + 2 * align8(m.keySize));
    if (base === 0) return ids;
    const vPtr = base, kA = base + 8, kB = kA + align8(m.keySize);
    let cur = 0, next = kA;
    for (;;) {
      if (this.engine.mapGetNextKey(m.handle, cur, next) < 0) break;
      if (this.engine.mapLookup(m.handle, next, vPtr) === 0) ids.push(this.readU32(vPtr));
      cur = next;
      next = next === kA ? kB : kA;
      if (m.mapType !== BPF_MAP_TYPE_HASH_OF_MAPS && this.readU32(cur) === m.maxEntries - 1) break;
    }
    return ids;
  }

  /** Drops what an outer map or PROG_ARRAY holds; `clear` also empties it in the engine. */
  private releaseSlots(m: SimMap, clear: boolean): void {
    const ids = this.slotIds(m);
    if (clear) this.engine.mapClear(m.handle);
    this.putIds(m, ids);
  }

  private putIds(m: SimMap, ids: number[]): void {
    for (const id of ids) {
      if (m.mapType === BPF_MAP_TYPE_PROG_ARRAY) {
        const p = this.progsById.get(id);
        if (p !== undefined) this.progPut(p);
      } else {
        const inner = this.mapsById.get(id);
        if (inner !== undefined) this.mapPut(inner);
      }
    }
  }

  private installFd(entry: FdEntry): number {
    const fd = this.fds.install(entry);
    if (fd < 0) return -Errno.EMFILE;
    if (entry.obj.kind === "map") this.mapGetUref(entry.obj);
    else if (entry.obj.kind === "prog") this.progGet(entry.obj);
    else if (entry.obj.kind === "btf") entry.obj.refcnt++;
    return fd;
  }

  // ---------------------------------------------------------------- MAP_CREATE

  mapCreate(attr: MapCreateAttr): number {
    const op = "mapCreate";
    if (typeof attr !== "object" || attr === null) throw new TypeError(`${op}: attr must be an object`);
    assertU32(attr.mapType, "mapType", op);
    assertU32(attr.keySize, "keySize", op);
    assertU32(attr.valueSize, "valueSize", op);
    assertU32(attr.maxEntries, "maxEntries", op);
    const mapFlags = optU32(attr.mapFlags, "mapFlags", op);
    // An fd, as every other fd argument (assertFd): -1 reaches the kernel, which says EBADF.
    const innerMapFd = attr.innerMapFd ?? 0;
    assertFd(innerMapFd, op);
    const numaNode = optU32(attr.numaNode, "numaNode", op);
    const name = optString(attr.mapName, "mapName", op);
    const mapExtra = optU64Bigint(attr.mapExtra, "mapExtra", op);
    const btfFd = attr.btfFd ?? 0;
    assertFd(btfFd, op);
    const btfKeyTypeId = optU32(attr.btfKeyTypeId, "btfKeyTypeId", op);
    const btfValueTypeId = optU32(attr.btfValueTypeId, "btfValueTypeId", op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    try {
      const plan = planMapCreate(
        { mapType: attr.mapType, keySize: attr.keySize, valueSize: attr.valueSize, maxEntries: attr.maxEntries, mapFlags, innerMapFd, numaNode, nameBytes: nameBytes(name), mapExtra, btfKeyTypeId, btfValueTypeId },
        { possibleCpus: this.possibleCpus, pageSize: this.pageSize, privileged: this.privileged, unprivilegedBpfDisabled: this.unprivilegedBpfDisabled, resolveMap: this.resolveMapFd, tokenErrno: this.tokenErrno },
      );
      if (typeof plan === "number") return -plan;
      const id = this.nextMapId;
      // A hash's hashrnd and a bloom filter's hash_seed (get_random_u32 in the kernel) come from
      // the simulator's own random source: the driver's seed mixed with the map's id.
      const seed = (mapFlags & BPF_F_ZERO_SEED) !== 0 ? 0 : deriveSeed(this.seed, id);
      const extra = plan.mapType === BPF_MAP_TYPE_BLOOM_FILTER ? Number(plan.mapExtra) : 0;
      // ringbuf_map_alloc makes both ring types alike: the engine knows one. It keeps a
      // PERF_EVENT_ARRAY as the fd array it is: a PROG_ARRAY's slots of u32 ids.
      const engineType = plan.mapType === BPF_MAP_TYPE_USER_RINGBUF ? BPF_MAP_TYPE_RINGBUF
        : plan.mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY ? BPF_MAP_TYPE_PROG_ARRAY : plan.mapType;
      const h = this.engine.mapCreate(engineType, plan.keySize, plan.valueSize, plan.maxEntries, plan.storedFlags, this.possibleCpus, seed, extra);
      if (h < 0) return h;
      if (h === 0) return -Errno.ENOMEM;
      if (plan.nameErrno !== 0) {
        this.engine.mapFree(h);
        return -plan.nameErrno;
      }
      // After the name, as map_create: the BTF fd (read only with a type id), then map_check_btf.
      let btf: SimBtf | null = null;
      let record = null;
      if (btfKeyTypeId !== 0 || btfValueTypeId !== 0) {
        const be = this.fds.get(btfFd);
        // btf_is_kernel: no map is made with the kernel's own BTF, whatever the ids.
        const err = be === undefined ? Errno.EBADF : be.obj.kind !== "btf" ? Errno.EINVAL : be.obj.kernel ? Errno.EACCES : 0;
        const checked = err !== 0 ? err : checkMapBtf(
          { mapType: plan.mapType, keySize: plan.keySize, valueSize: plan.valueSize, maxEntries: plan.maxEntries, mapFlags: plan.storedFlags },
          be!.obj as SimBtf, btfKeyTypeId, btfValueTypeId, this.privileged);
        if (typeof checked === "number") {
          this.engine.mapFree(h);
          return -checked;
        }
        btf = be!.obj as SimBtf;
        record = checked;
      }
      // Ids come from a counter that is never reused (idr_alloc_cyclic from 1).
      this.nextMapId = id >= INT_MAX - 1 ? 1 : id + 1;
      const m = new SimMap(id, h, plan.mapType, plan.keySize, plan.valueSize, plan.maxEntries, plan.storedFlags, plan.name, plan.innerMeta, this.possibleCpus);
      m.mapExtra = plan.mapExtra;
      // bpf_map_meta_alloc: a map-in-map holds its template's BTF (its record points into it).
      if (plan.innerMeta?.btf) plan.innerMeta.btf.refcnt++;
      if (btf !== null) {
        btf.refcnt++;
        m.btf = btf;
        m.btfKeyTypeId = btfKeyTypeId;
        m.btfValueTypeId = btfValueTypeId;
        m.record = record;
      }
      this.mapsById.set(id, m);
      const fd = this.fds.install({ obj: m, mode: plan.fdMode });
      if (fd < 0) {
        this.mapFree(m);
        return -Errno.EMFILE;
      }
      this.mapGetUref(m);
      return fd;
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  // ---------------------------------------------------------------- element operations

  mapLookupElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number {
    const op = "mapLookupElem";
    assertFd(fd, op);
    const fl = flagsArg(flags, op);
    this.checkKeyValue(fd, key, value, op);
    const f = this.enter(op, fd, key);
    if (f !== 0) return -f;
    if (this.hook !== null) this.checkKeyValue(fd, key, value, op);
    try {
      if (fl !== 0 && fl !== BPF_F_LOCK) return -Errno.EINVAL;
      const e = this.fds.get(fd);
      if (e === undefined) return -Errno.EBADF;
      if (e.obj.kind !== "map") return -Errno.EINVAL;
      const m = e.obj;
      if ((this.perms(e, m) & FMODE_READ) === 0) return -Errno.EPERM;
      if (fl !== 0 && !hasSpinLock(m)) return -Errno.EINVAL; // BPF_F_LOCK needs a bpf_spin_lock in the value
      // bpf_fd_array_map_lookup_elem: no map_fd_sys_lookup_elem, whatever the index.
      if (m.perfSlots !== null) return -Errno.ENOTSUPP;
      const base = this.scratch(align8(m.keySize) + m.userValueSize);
      if (base === 0) return -Errno.ENOMEM;
      const vPtr = base + align8(m.keySize);
      this.copyIn(key, base);
      // A bloom filter's lookup asks about the value it is given, and writes nothing back.
      if (m.mapType === BPF_MAP_TYPE_BLOOM_FILTER) {
        this.copyIn(value, vPtr);
        return this.engine.mapLookup(m.handle, base, vPtr);
      }
      const r = this.engine.mapLookup(m.handle, base, vPtr);
      if (r >= 0) {
        this.copyOut(vPtr, value, 0, m.userValueSize);
        // bpf_map_copy_value: check_and_init_map_value zeroes a copied value's special fields.
        if (m.record !== null) zeroSpecialFields(m, value, 1);
      }
      return r;
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  mapUpdateElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number {
    const op = "mapUpdateElem";
    assertFd(fd, op);
    const fl = flagsArg(flags, op);
    this.checkKeyValue(fd, key, value, op);
    const f = this.enter(op, fd, key);
    if (f !== 0) return -f;
    if (this.hook !== null) this.checkKeyValue(fd, key, value, op);
    try {
      const e = this.fds.get(fd);
      if (e === undefined) return -Errno.EBADF;
      if (e.obj.kind !== "map") return -Errno.EINVAL;
      const m = e.obj;
      if ((this.perms(e, m) & FMODE_WRITE) === 0) return -Errno.EPERM;
      if ((fl & BPF_F_LOCK) !== 0 && !hasSpinLock(m)) return -Errno.EINVAL;
      const base = this.scratch(8 + align8(m.keySize) + m.userValueSize);
      if (base === 0) return -Errno.ENOMEM;
      const kPtr = base + 8, vPtr = kPtr + align8(m.keySize);
      this.copyIn(key, kPtr);
      this.copyIn(value, vPtr);
      return this.updateAt(m, base, kPtr, vPtr, fl, e);
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  /**
   * The map operation of an update, with key and value already in scratch; `tmp` is 8 free
   * bytes, `file` the map fd's entry the update came through (a PERF_EVENT_ARRAY remembers it).
   */
  private updateAt(m: SimMap, tmp: number, kPtr: number, vPtr: number, flags: number, file?: FdEntry): number {
    // The engine takes u32 flags; anything past them is invalid for every type. HASH_OF_MAPS
    // resolves the fd first (bpf_fd_htab_map_update_elem), so it checks them below.
    // A ring buffer's update is ENOTSUPP whatever the flags, which the engine answers.
    if (m.isRingbuf) return this.engine.mapUpdate(m.handle, kPtr, vPtr, 0);
    if (!m.isFdValue) {
      if (flags > 0xffffffff) return -Errno.EINVAL;
      // BPF_F_LOCK (refused before for a value without a spin lock) updates in place under the
      // lock: the other flags mean what they did, and a hash element found keeps its place in
      // its bucket. The special fields' bytes stored are never read back: every copy out zeroes
      // them, as check_and_init_map_value does.
      if (hasSpinLock(m) && (flags & BPF_F_LOCK) !== 0) return this.engine.mapUpdateLocked(m.handle, kPtr, vPtr, (flags & ~BPF_F_LOCK) >>> 0);
      return this.engine.mapUpdate(m.handle, kPtr, vPtr, flags);
    }
    const ufd = this.readU32(vPtr);
    if (m.mapType !== BPF_MAP_TYPE_HASH_OF_MAPS) {
      // bpf_fd_array_map_update_elem: only BPF_ANY, the index, then the fd.
      if (flags !== 0) return -Errno.EINVAL;
      if (this.readU32(kPtr) >= m.maxEntries) return -Errno.E2BIG;
    }
    const e = this.fds.get(ufd | 0);
    if (e === undefined) return -Errno.EBADF;
    if (m.perfSlots !== null) return this.perfSlotUpdate(m, kPtr, vPtr, e, file!);
    let newId: number;
    if (m.mapType === BPF_MAP_TYPE_PROG_ARRAY) {
      if (e.obj.kind !== "prog" || !progMapCompatible(m, e.obj)) return -Errno.EINVAL;
      newId = e.obj.id;
    } else {
      if (e.obj.kind !== "map") return -Errno.EINVAL;
      if (!innerMapCompatible(m.innerMeta!, e.obj)) return -Errno.EINVAL;
      newId = e.obj.id;
    }
    if (flags > 0xffffffff) return -Errno.EINVAL;
    const oldId = this.engine.mapLookup(m.handle, kPtr, tmp) === 0 ? this.readU32(tmp) : 0;
    this.writeU32(vPtr, newId);
    const r = this.engine.mapUpdate(m.handle, kPtr, vPtr, flags);
    if (r < 0) return r;
    // Take the new reference before dropping the old: they may be the same object.
    if (e.obj.kind === "prog") this.progGet(e.obj);
    else this.mapGet(e.obj as SimMap);
    if (oldId !== 0) this.putIds(m, [oldId]);
    return r;
  }

  mapDeleteElem(fd: number, key: Uint8Array): number {
    const op = "mapDeleteElem";
    assertFd(fd, op);
    this.checkKey(fd, key, op);
    const f = this.enter(op, fd, key);
    if (f !== 0) return -f;
    if (this.hook !== null) this.checkKey(fd, key, op);
    try {
      const e = this.fds.get(fd);
      if (e === undefined) return -Errno.EBADF;
      if (e.obj.kind !== "map") return -Errno.EINVAL;
      const m = e.obj;
      if ((this.perms(e, m) & FMODE_WRITE) === 0) return -Errno.EPERM;
      const base = this.scratch(8 + align8(m.keySize));
      if (base === 0) return -Errno.ENOMEM;
      this.copyIn(key, base + 8);
      return this.deleteAt(m, base, base + 8);
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  /**
   * perf_event_fd_array_get_ptr: the fd must be a perf event's (perf_event_get: EBADF for any
   * other file); the slot then holds it and remembers the map file the update came through.
   */
  private perfSlotUpdate(m: SimMap, kPtr: number, vPtr: number, e: FdEntry, file: FdEntry): number {
    if (!(e.obj instanceof SimPerfEvent)) return -Errno.EBADF;
    this.writeU32(vPtr, e.obj.id);
    const r = this.engine.mapUpdate(m.handle, kPtr, vPtr, 0);
    if (r < 0) return r;
    m.perfSlots!.set(this.readU32(kPtr), { event: e.obj, file });
    return r;
  }

  private deleteAt(m: SimMap, tmp: number, kPtr: number): number {
    if (m.perfSlots !== null) {
      const r = this.engine.mapDelete(m.handle, kPtr);
      if (r === 0) m.perfSlots.delete(this.readU32(kPtr));
      return r;
    }
    if (!m.isFdValue) return this.engine.mapDelete(m.handle, kPtr);
    const oldId = this.engine.mapLookup(m.handle, kPtr, tmp) === 0 ? this.readU32(tmp) : 0;
    const r = this.engine.mapDelete(m.handle, kPtr);
    if (r === 0 && oldId !== 0) this.putIds(m, [oldId]);
    return r;
  }

  mapGetNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): number {
    const op = "mapGetNextKey";
    assertFd(fd, op);
    if (key !== null) assertBytes(key, "key", op);
    assertBytes(nextKey, "nextKey", op);
    this.checkNextKey(fd, key, nextKey, op);
    const f = this.enter(op, fd, key);
    if (f !== 0) return -f;
    if (this.hook !== null) this.checkNextKey(fd, key, nextKey, op);
    try {
      const e = this.fds.get(fd);
      if (e === undefined) return -Errno.EBADF;
      if (e.obj.kind !== "map") return -Errno.EINVAL;
      const m = e.obj;
      if ((this.perms(e, m) & FMODE_READ) === 0) return -Errno.EPERM;
      const ks = align8(m.keySize);
      const base = this.scratch(2 * ks);
      if (base === 0) return -Errno.ENOMEM;
      if (key !== null) this.copyIn(key, base);
      const r = this.engine.mapGetNextKey(m.handle, key === null ? 0 : base, base + ks);
      if (r >= 0) this.copyOut(base + ks, nextKey, 0, m.keySize);
      return r;
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  mapLookupAndDeleteElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number {
    const op = "mapLookupAndDeleteElem";
    assertFd(fd, op);
    const fl = flagsArg(flags, op);
    this.checkKeyValue(fd, key, value, op);
    const f = this.enter(op, fd, key);
    if (f !== 0) return -f;
    if (this.hook !== null) this.checkKeyValue(fd, key, value, op);
    try {
      // map_lookup_and_delete_elem: the flag bits before the fd, the lock's presence after the mode.
      if (fl !== 0 && fl !== BPF_F_LOCK) return -Errno.EINVAL;
      const e = this.fds.get(fd);
      if (e === undefined) return -Errno.EBADF;
      if (e.obj.kind !== "map") return -Errno.EINVAL;
      const m = e.obj;
      const p = this.perms(e, m);
      if ((p & FMODE_READ) === 0 || (p & FMODE_WRITE) === 0) return -Errno.EPERM;
      const t = m.mapType;
      if (fl !== 0 && (t === BPF_MAP_TYPE_QUEUE || t === BPF_MAP_TYPE_STACK)) return -Errno.EINVAL;
      if (fl !== 0 && !hasSpinLock(m)) return -Errno.EINVAL;
      // The hash family deletes what it found; queues and stacks pop (map_pop_elem).
      if (t !== BPF_MAP_TYPE_HASH && t !== BPF_MAP_TYPE_PERCPU_HASH && t !== BPF_MAP_TYPE_LRU_HASH && t !== BPF_MAP_TYPE_LRU_PERCPU_HASH &&
        t !== BPF_MAP_TYPE_QUEUE && t !== BPF_MAP_TYPE_STACK) {
        return -Errno.ENOTSUPP;
      }
      const base = this.scratch(align8(m.keySize) + m.userValueSize);
      if (base === 0) return -Errno.ENOMEM;
      const vPtr = base + align8(m.keySize);
      this.copyIn(key, base);
      const r = this.engine.mapLookupAndDelete(m.handle, base, vPtr);
      if (r >= 0) {
        this.copyOut(vPtr, value, 0, m.userValueSize);
        if (m.record !== null) zeroSpecialFields(m, value, 1);
      }
      return r;
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  mapFreeze(fd: number): number {
    const op = "mapFreeze";
    assertFd(fd, op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.EBADF;
    if (e.obj.kind !== "map") return -Errno.EINVAL;
    const m = e.obj;
    // map_freeze: a value with special fields (a bpf_spin_lock, a timer, …) is never frozen,
    // before the fd's mode is looked at.
    if (m.record !== null) return -Errno.ENOTSUPP;
    // A frozen map is not writable from the syscall side, so a second freeze is EPERM.
    if ((this.perms(e, m) & FMODE_WRITE) === 0) return -Errno.EPERM;
    // bpf_map_write_active: a writable mmap could change the values after the freeze.
    if (m.writecnt > 0) return -Errno.EBUSY;
    m.frozen = true;
    return 0;
  }

  private checkKey(fd: number, key: Uint8Array, op: string): void {
    const m = this.shapeOf(fd);
    if (m !== undefined) assertSize(key, m.keySize, "key", op, fd);
    else assertBytes(key, "key", op);
  }

  private checkKeyValue(fd: number, key: Uint8Array, value: Uint8Array, op: string): void {
    const m = this.shapeOf(fd);
    if (m !== undefined) {
      assertSize(key, m.keySize, "key", op, fd);
      assertSize(value, m.userValueSize, "value", op, fd);
    } else {
      assertBytes(key, "key", op);
      assertBytes(value, "value", op);
    }
  }

  private checkNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array, op: string): void {
    const m = this.shapeOf(fd);
    if (m === undefined) return;
    if (key !== null) assertSize(key, m.keySize, "key", op, fd);
    assertSize(nextKey, m.keySize, "nextKey", op, fd);
  }

  // ---------------------------------------------------------------- batches (kernel-maps.md §10)

  private checkBatch(fd: number, op: string, inBatch: Uint8Array | null | undefined, outBatch: Uint8Array | undefined,
    keys: Uint8Array, values: Uint8Array | undefined, count: number): void {
    assertFd(fd, op);
    assertU32(count, "count", op);
    if (inBatch !== undefined && inBatch !== null) assertBytes(inBatch, "inBatch", op);
    if (outBatch !== undefined) assertBytes(outBatch, "outBatch", op);
    assertBytes(keys, "keys", op);
    if (values !== undefined) assertBytes(values, "values", op);
    const m = this.shapeOf(fd);
    if (m === undefined) return;
    if (inBatch !== undefined && inBatch !== null) assertSize(inBatch, m.tokenSize, "inBatch", op, fd);
    if (outBatch !== undefined) assertSize(outBatch, m.tokenSize, "outBatch", op, fd);
    assertBatchBuffer(keys, count, m.keySize, "keys", op, fd);
    if (values !== undefined) assertBatchBuffer(values, count, m.userValueSize, "values", op, fd);
  }

  /** fd, then read/write permission (frozen maps are not writable): a BatchResult on failure. */
  private batchMap(fd: number, read: boolean, write: boolean, count: number): SimMap | BatchResult {
    const e = this.fds.get(fd);
    if (e === undefined) return { errno: Errno.EBADF, count };
    if (e.obj.kind !== "map") return { errno: Errno.EINVAL, count };
    const p = this.perms(e, e.obj);
    if ((read && (p & FMODE_READ) === 0) || (write && (p & FMODE_WRITE) === 0)) return { errno: Errno.EPERM, count };
    return e.obj;
  }

  mapLookupBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number,
    elemFlags?: number): BatchResult {
    return this.lookupBatch("mapLookupBatch", false, fd, inBatch, outBatch, keys, values, count, elemFlags);
  }

  mapLookupAndDeleteBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number,
    elemFlags?: number): BatchResult {
    return this.lookupBatch("mapLookupAndDeleteBatch", true, fd, inBatch, outBatch, keys, values, count, elemFlags);
  }

  private lookupBatch(op: SimSyscall, del: boolean, fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array,
    keys: Uint8Array, values: Uint8Array, count: number, elemFlags: number | undefined): BatchResult {
    const ef = flagsArg(elemFlags, op);
    // null starts the walk; anything else must be a buffer (undefined too, as the kernel driver).
    // checkBatch takes undefined for "not this command's", so the lookup buffers are checked here:
    // a missing one would otherwise fail inside the engine call and break the simulator.
    if (inBatch !== null) assertBytes(inBatch, "inBatch", op);
    assertBytes(outBatch, "outBatch", op);
    assertBytes(values, "values", op);
    this.checkBatch(fd, op, inBatch, outBatch, keys, values, count);
    const f = this.enter(op, fd);
    if (f !== 0) return { errno: f, count: 0 }; // a batch that failed having done nothing: count 0, as the kernel writes
    if (this.hook !== null) this.checkBatch(fd, op, inBatch, outBatch, keys, values, count);
    try {
      const m = this.batchMap(fd, true, del, count);
      if (!(m instanceof SimMap)) return m;
      const t = m.mapType;
      // Support matrix (§10.3): PROG_ARRAY and the keyless maps have no batches; only the hash family deletes.
      if (t === BPF_MAP_TYPE_PROG_ARRAY || t === BPF_MAP_TYPE_PERF_EVENT_ARRAY || m.isKeyless || m.isRingbuf || (del && !m.isHash)) return { errno: Errno.ENOTSUPP, count };
      // elem_flags: only BPF_F_LOCK, and only on a value with a lock (the copies are then taken
      // under it; a syscall here is atomic anyway), checked before a count of 0.
      if (ef !== 0 && (ef !== BPF_F_LOCK || !hasSpinLock(m))) return { errno: Errno.EINVAL, count };
      if (count === 0) return { errno: 0, count: 0 };
      const ts = align8(m.tokenSize), ks = m.keySize, vs = m.userValueSize;
      const base = this.scratch(2 * ts + count * ks + count * vs);
      if (base === 0) return { errno: Errno.ENOMEM, count };
      const inPtr = base, outPtr = base + ts, kPtr = base + 2 * ts, vPtr = kPtr + count * ks;
      if (inBatch !== null) this.copyIn(inBatch, inPtr);
      this.copyIn(outBatch, outPtr); // so an unwritten out_batch reads back unchanged
      const r = this.engine.mapLookupBatch(m.handle, inBatch === null ? 0 : inPtr, outPtr, kPtr, vPtr, count, del ? 1 : 0);
      const n = this.engine.batchCount();
      if (n > 0) {
        this.copyOut(kPtr, keys, 0, n * ks);
        this.copyOut(vPtr, values, 0, n * vs);
        if (m.record !== null) zeroSpecialFields(m, values, n);
      }
      this.copyOut(outPtr, outBatch, 0, m.tokenSize);
      if (del && t === BPF_MAP_TYPE_HASH_OF_MAPS && n > 0) {
        const ids: number[] = [];
        for (let i = 0; i < n; i++) ids.push(this.readU32(vPtr + i * 4));
        this.putIds(m, ids);
      }
      return { errno: r < 0 ? -r : 0, count: n };
    } catch (e) {
      throw this.trapped(e, op);
    } finally {
      this.trimScratch();
    }
  }

  mapUpdateBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number, elemFlags?: number): BatchResult {
    const op = "mapUpdateBatch";
    const ef = flagsArg(elemFlags, op);
    assertBytes(values, "values", op);
    this.checkBatch(fd, op, undefined, undefined, keys, values, count);
    const f = this.enter(op, fd);
    if (f !== 0) return { errno: f, count: 0 }; // a batch that failed having done nothing: count 0, as the kernel writes
    if (this.hook !== null) this.checkBatch(fd, op, undefined, undefined, keys, values, count);
    try {
      const m = this.batchMap(fd, false, true, count);
      if (!(m instanceof SimMap)) return m;
      if (m.mapType === BPF_MAP_TYPE_PROG_ARRAY || m.mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY || m.isKeyless || m.isRingbuf) return { errno: Errno.ENOTSUPP, count };
      // generic_map_update_batch: only BPF_F_LOCK may be given, and only with a spin-lock value;
      // with it each update is BPF_ANY under the lock (in place, as a single F_LOCK update).
      if (ef !== 0 && (ef !== BPF_F_LOCK || !hasSpinLock(m))) return { errno: Errno.EINVAL, count };
      if (count === 0) return { errno: 0, count: 0 };
      const ks = m.keySize, vs = m.userValueSize;
      if (m.isFdValue || ef !== 0) {
        // Each value is an fd to translate, or updated under the lock: the generic batch is a
        // loop of single updates.
        const base = this.scratch(8 + align8(ks) + align8(vs));
        if (base === 0) return { errno: Errno.ENOMEM, count };
        const kPtr = base + 8, vPtr = kPtr + align8(ks);
        for (let i = 0; i < count; i++) {
          this.copyIn(keys.subarray(i * ks, (i + 1) * ks), kPtr);
          this.copyIn(values.subarray(i * vs, (i + 1) * vs), vPtr);
          const r = this.updateAt(m, base, kPtr, vPtr, ef);
          if (r < 0) return { errno: -r, count: i };
        }
        return { errno: 0, count };
      }
      const base = this.scratch(count * (ks + vs));
      if (base === 0) return { errno: Errno.ENOMEM, count };
      const vPtr = base + count * ks;
      this.copyIn(count * ks === keys.length ? keys : keys.subarray(0, count * ks), base);
      this.copyIn(count * vs === values.length ? values : values.subarray(0, count * vs), vPtr);
      const r = this.engine.mapUpdateBatch(m.handle, base, vPtr, count);
      return { errno: r < 0 ? -r : 0, count: this.engine.batchCount() };
    } catch (e) {
      throw this.trapped(e, op);
    } finally {
      this.trimScratch();
    }
  }

  mapDeleteBatch(fd: number, keys: Uint8Array, count: number): BatchResult {
    const op = "mapDeleteBatch";
    this.checkBatch(fd, op, undefined, undefined, keys, undefined, count);
    const f = this.enter(op, fd);
    if (f !== 0) return { errno: f, count: 0 }; // a batch that failed having done nothing: count 0, as the kernel writes
    if (this.hook !== null) this.checkBatch(fd, op, undefined, undefined, keys, undefined, count);
    try {
      const m = this.batchMap(fd, false, true, count);
      if (!(m instanceof SimMap)) return m;
      const t = m.mapType;
      if (t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY || t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_PROG_ARRAY ||
        t === BPF_MAP_TYPE_PERF_EVENT_ARRAY || m.isKeyless || m.isRingbuf) {
        return { errno: Errno.ENOTSUPP, count };
      }
      if (count === 0) return { errno: 0, count: 0 };
      const ks = m.keySize;
      if (m.isFdValue) {
        const base = this.scratch(8 + align8(ks));
        if (base === 0) return { errno: Errno.ENOMEM, count };
        for (let i = 0; i < count; i++) {
          this.copyIn(keys.subarray(i * ks, (i + 1) * ks), base + 8);
          const r = this.deleteAt(m, base, base + 8);
          if (r < 0) return { errno: -r, count: i };
        }
        return { errno: 0, count };
      }
      const base = this.scratch(count * ks);
      if (base === 0) return { errno: Errno.ENOMEM, count };
      this.copyIn(count * ks === keys.length ? keys : keys.subarray(0, count * ks), base);
      const r = this.engine.mapDeleteBatch(m.handle, base, count);
      return { errno: r < 0 ? -r : 0, count: this.engine.batchCount() };
    } catch (e) {
      throw this.trapped(e, op);
    } finally {
      this.trimScratch();
    }
  }

  // ---------------------------------------------------------------- pins and ids

  objPin(fd: number, path: string): number {
    const op = "objPin";
    assertFd(fd, op);
    assertPath(path, op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    // bpf_fd_probe_obj: an fd that is not open or not a BPF object is EINVAL here, not EBADF.
    // A BTF fd is none of map, program, link: EINVAL too (BTF cannot be pinned).
    const e = this.fds.get(fd);
    if (e === undefined || e.obj.kind === "other" || e.obj.kind === "btf") return -Errno.EINVAL;
    const obj = e.obj;
    const r = this.vfs.pin(path, obj);
    if (r < 0) return r;
    if (obj.kind === "map") this.mapGetUref(obj);
    else this.progGet(obj);
    return 0;
  }

  objGet(path: string, fileFlags?: number): number {
    const op = "objGet";
    assertPath(path, op);
    const ff = optU32(fileFlags, "fileFlags", op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    if ((ff & ~(BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_PATH_FD)) !== 0) return -Errno.EINVAL;
    if ((ff & BPF_F_RDONLY) !== 0 && (ff & BPF_F_WRONLY) !== 0) return -Errno.EINVAL;
    // With BPF_F_PATH_FD the path is relative to path_fd, which this API leaves 0 (stdin).
    if ((ff & BPF_F_PATH_FD) !== 0 && !path.startsWith("/")) return -Errno.ENOTDIR;
    const obj = this.vfs.getPin(path);
    if (typeof obj === "number") return obj;
    // bpf_obj_get_user: a map gets the mode asked; a program is opened read-write whatever file_flags say.
    const mode = obj.kind === "prog" ? FMODE_RDWR : (ff & BPF_F_RDONLY) !== 0 ? FMODE_READ : (ff & BPF_F_WRONLY) !== 0 ? FMODE_WRITE : FMODE_RDWR;
    return this.installFd({ obj, mode });
  }

  private nextId(op: SimSyscall, startId: number, ids: Iterable<number>): number {
    assertU32(startId, "startId", op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    if (startId >= INT_MAX) return -Errno.EINVAL;
    if (!this.privileged) return -Errno.EPERM;
    let best = 0;
    for (const id of ids) if (id > startId && (best === 0 || id < best)) best = id;
    return best === 0 ? -Errno.ENOENT : best;
  }

  mapGetNextId(startId: number): number {
    return this.nextId("mapGetNextId", startId, this.mapsById.keys());
  }

  progGetNextId(startId: number): number {
    return this.nextId("progGetNextId", startId, this.progsById.keys());
  }

  mapGetFdById(id: number, openFlags?: number): number {
    const op = "mapGetFdById";
    assertU32(id, "id", op);
    const of = optU32(openFlags, "openFlags", op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    if ((of & ~(BPF_F_RDONLY | BPF_F_WRONLY)) !== 0) return -Errno.EINVAL;
    if (!this.privileged) return -Errno.EPERM;
    if ((of & BPF_F_RDONLY) !== 0 && (of & BPF_F_WRONLY) !== 0) return -Errno.EINVAL;
    const m = this.mapsById.get(id);
    if (m === undefined) return -Errno.ENOENT;
    const mode = (of & BPF_F_RDONLY) !== 0 ? FMODE_READ : (of & BPF_F_WRONLY) !== 0 ? FMODE_WRITE : FMODE_RDWR;
    return this.installFd({ obj: m, mode });
  }

  progGetFdById(id: number, openFlags?: number): number {
    const op = "progGetFdById";
    assertU32(id, "id", op);
    const of = optU32(openFlags, "openFlags", op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    if (of !== 0) return -Errno.EINVAL;
    if (!this.privileged) return -Errno.EPERM;
    const p = this.progsById.get(id);
    if (p === undefined) return -Errno.ENOENT;
    return this.installFd({ obj: p, mode: FMODE_RDWR });
  }

  // ---------------------------------------------------------------- BTF (btf/)

  // ---------------------------------------------------------------- perf events (perf-event.ts)

  /**
   * perf_event_open(2) of a BPF output event on `attr.cpu`, for every task (pid -1): a new fd
   * (close-on-exec, read-write), EACCES without privilege (perf_event_paranoid 2: a CPU-wide
   * event wants CAP_PERFMON), EINVAL for a CPU not below possibleCpus (all of them online).
   */
  perfEventOpen(attr: PerfEventOpenAttr): number {
    const op = "perfEventOpen";
    const { cpu, wakeup } = checkPerfEventOpenAttr(attr);
    const f = this.enter(op);
    if (f !== 0) return -f;
    if (!this.privileged) return -Errno.EACCES;
    if (cpu >= this.possibleCpus) return -Errno.EINVAL;
    const ev = new SimPerfEvent(this.nextPerfEventId, cpu, wakeup, this.nowNs);
    const fd = this.fds.install({ obj: ev, mode: FMODE_RDWR });
    if (fd < 0) return -Errno.EMFILE;
    this.nextPerfEventId++;
    return fd;
  }

  btfLoad(attr: BtfLoadAttr): number {
    const op = "btfLoad";
    if (typeof attr !== "object" || attr === null) throw new TypeError(`${op}: attr must be an object`);
    assertBytes(attr.btf, "btf", op);
    const logBuf = attr.logBuf ?? null;
    if (logBuf !== null) assertBytes(logBuf, "logBuf", op);
    const logLevel = optU32(attr.logLevel, "logLevel", op);
    const logTrueSize = outU32Arg(attr.logTrueSize, "logTrueSize", op);
    // 0 unless the checker's log is finalized, as the kernel driver's zeroed attr reads.
    if (logTrueSize !== null) logTrueSize[0] = 0;
    const f = this.enter(op);
    if (f !== 0) return -f;
    const loaded = loadBtf({ data: attr.btf, logBuf, logLevel, logTrueSize, privileged: this.privileged,
      ...(this.kernelStructs !== undefined ? { kernelStructs: this.kernelStructs } : {}) });
    if (typeof loaded === "number") return -loaded;
    // btf_alloc_id: idr_alloc_cyclic from 1, as the map and program ids.
    const b = new SimBtf(this.nextBtfId, loaded.parsed, loaded.metas);
    this.nextBtfId = b.id >= INT_MAX - 1 ? 1 : b.id + 1;
    this.btfsById.set(b.id, b);
    const fd = this.installFd({ obj: b, mode: FMODE_READ });
    if (fd < 0) this.btfsById.delete(b.id);
    return fd;
  }

  btfGetFdById(id: number): number {
    const op = "btfGetFdById";
    assertU32(id, "id", op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    if (!this.privileged) return -Errno.EPERM;
    const b = this.btfsById.get(id);
    if (b === undefined) return -Errno.ENOENT;
    return this.installFd({ obj: b, mode: FMODE_READ });
  }

  btfGetNextId(startId: number): number {
    return this.nextId("btfGetNextId", startId, this.btfsById.keys());
  }

  /**
   * OBJ_GET_INFO_BY_FD on a BTF fd (btf_get_info_by_fd): the first min(data.length, btf_size)
   * bytes of the raw BTF into `data`. EBADFD for an fd not open (as the generic call), EINVAL for
   * one that is no BTF.
   */
  btfGetInfo(fd: number, data: Uint8Array | null): BtfInfo | number {
    const op = "btfGetInfo";
    assertFd(fd, op);
    if (data !== null) assertBytes(data, "data", op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.EBADFD;
    if (e.obj.kind !== "btf") return -Errno.EINVAL;
    const b = e.obj;
    if (data !== null) data.set(b.parsed.data.subarray(0, Math.min(realByteLength(data), b.size)));
    return { id: b.id, btfSize: b.size, name: b.name, kernelBtf: b.kernel };
  }

  // ---------------------------------------------------------------- OBJ_GET_INFO_BY_FD

  objGetInfoByFd(fd: number, info: Uint8Array): number {
    const op = "objGetInfoByFd";
    assertFd(fd, op);
    assertBytes(info, "info", op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    const obj = this.infoObject(fd);
    if (typeof obj === "number") return obj;
    // bpf_check_uarg_tail_zero: a buffer longer than a page (PAGE_SIZE) is E2BIG, whatever its bytes.
    if (info.length > this.pageSize) return -Errno.E2BIG;
    const full = this.infoStruct(obj);
    const len = Math.min(full.length, info.length);
    info.set(full.subarray(0, len));
    return len;
  }

  /**
   * bpf_map_show_fdinfo's fields. Not a syscall (a procfs read): no hook, no fault, no clock
   * tick. memlock is the kernel's arithmetic (map-memlock.ts); the owner is always JITed, as
   * on x86-64 with the JIT on.
   */
  mapFdInfo(fd: number): MapFdInfo | number {
    assertFd(fd, "mapFdInfo");
    if (this.broken !== null) throw this.broken;
    const e = fd < 0 ? undefined : this.fds.get(fd);
    if (e === undefined) return -Errno.EBADF;
    if (e.obj.kind !== "map") return -Errno.EINVAL;
    const m = e.obj;
    let count: number;
    try {
      count = this.engine.mapCount(m.handle);
    } catch (err) {
      throw this.trapped(err, "mapFdInfo");
    }
    // f_flags: O_CLOEXEC, which every bpf(2) fd and every dup here has, and the access mode.
    const accmode = e.mode === FMODE_RDWR ? O_RDWR : e.mode === FMODE_WRITE ? O_WRONLY : O_RDONLY;
    const info: MapFdInfo = { frozen: m.frozen, fileFlags: O_CLOEXEC | accmode };
    const memlock = mapMemlock(m, count, this.possibleCpus, this.pageSize);
    if (memlock !== undefined) info.memlock = memlock;
    if (m.progOwner !== null) {
      info.ownerProgType = m.progOwner.progType;
      info.ownerJited = true;
    }
    return info;
  }

  progGetMapIds(fd: number, ids: Uint32Array): number {
    const op = "progGetMapIds";
    assertFd(fd, op);
    assertIds(ids, op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    const obj = this.infoObject(fd);
    if (typeof obj === "number") return obj;
    // The Driver's rule, not the kernel's: a map or BTF has no map ids (the kernel would fill its info).
    if (obj.kind === "map" || obj.kind === "btf") return -Errno.EINVAL;
    // bpf_prog_get_info_by_fd writes min(nr_map_ids asked, used_map_cnt) ids, reports the count.
    const used = obj.usedMaps;
    for (let i = 0; i < Math.min(ids.length, used.length); i++) ids[i] = used[i]!.id;
    return used.length;
  }

  /** The fd's map or program, or the kernel's -errno for OBJ_GET_INFO_BY_FD on it. */
  private infoObject(fd: number): SimMap | SimProg | SimBtf | number {
    // bpf_obj_get_info_by_fd: an fd that is not open is EBADFD here, not EBADF.
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.EBADFD;
    if (e.obj.kind === "other") return -Errno.EINVAL;
    return e.obj;
  }

  /**
   * The whole bpf_map_info or bpf_prog_info. Like the kernel driver, the caller's struct is taken
   * as zeroed rather than as its bytes: bpf_prog_info holds pointers the kernel would write
   * through. So the kernel's E2BIG for a dirty tail past the struct, and its map-hash and
   * pointer fields, never arise.
   */
  private infoStruct(obj: SimMap | SimProg | SimBtf): Uint8Array {
    if (obj.kind === "map") {
      const full = new Uint8Array(BPF_MAP_INFO.size);
      encodeMapInfo({
        type: obj.mapType, id: obj.id, keySize: obj.keySize, valueSize: obj.valueSize, maxEntries: obj.maxEntries, mapFlags: obj.mapFlags,
        name: obj.name, mapExtra: obj.mapExtra, btfId: obj.btf?.id ?? 0, btfKeyTypeId: obj.btfKeyTypeId, btfValueTypeId: obj.btfValueTypeId,
      }, full);
      return full;
    }
    if (obj.kind === "btf") {
      // struct bpf_btf_info with the caller's pointers taken as 0: nothing copied, but name_len
      // and kernel_btf written (7 and 1 for vmlinux; 0 and 0 for BTF user space loaded).
      const full = new Uint8Array(BPF_BTF_INFO_SIZE);
      const dv = new DataView(full.buffer);
      dv.setUint32(8, obj.size, true);
      dv.setUint32(12, obj.id, true);
      dv.setUint32(24, obj.name.length, true);
      dv.setUint32(28, obj.kernel ? 1 : 0, true);
      return full;
    }
    const full = new Uint8Array(BPF_PROG_INFO.size);
    encodeStruct(BPF_PROG_INFO, full, {
      type: obj.progType, id: obj.id, tag: obj.tag, jited_prog_len: 0, xlated_prog_len: obj.xlatedInsns * 8,
      load_time: obj.loadTime, created_by_uid: 0, nr_map_ids: obj.usedMaps.length, name: obj.name,
      gpl_compatible: obj.gplCompatible ? 1 : 0, nr_prog_tags: 1, verified_insns: obj.verifiedInsns,
      // bpf_prog_get_info_by_fd reports func_cnt ?: 1 for both, JITed or not.
      nr_jited_ksyms: 1, nr_jited_func_lens: 1,
      // Record sizes the kernel reports even without BTF. jited_prog_len stays 0, as for an
      // interpreted program: the x86-64 image's size depends on the CPU's mitigations and the
      // kernel config (docs/simulator-exactness.md).
      func_info_rec_size: 8, line_info_rec_size: 16, jited_line_info_rec_size: 8,
      // A JITed program reports a jited line per line_info record (nr_jited_line_info).
      btf_id: obj.btf?.id ?? 0, nr_func_info: obj.nrFuncInfo, nr_line_info: obj.nrLineInfo, nr_jited_line_info: obj.nrLineInfo,
    });
    return full;
  }

  // ---------------------------------------------------------------- programs

  progLoad(attr: ProgLoadAttr): number {
    const op = "progLoad";
    if (typeof attr !== "object" || attr === null) throw new TypeError(`${op}: attr must be an object`);
    assertU32(attr.progType, "progType", op);
    assertBytes(attr.insns, "insns", op);
    if (attr.insns.length % 8 !== 0) throw new RangeError(`${op}: insns is ${attr.insns.length} bytes, not a whole number of 8-byte instructions`);
    if (typeof attr.license !== "string") throw new TypeError(`${op}: license must be a string, got ${describeValue(attr.license)}`);
    const license = optString(attr.license, "license", op);
    const expected0 = optU32(attr.expectedAttachType, "expectedAttachType", op);
    const progName = optString(attr.progName, "progName", op);
    const progBtfFd = optU32(attr.progBtfFd, "progBtfFd", op);
    const func = infoRecordsArg(attr.funcInfo, attr.funcInfoRecSize, "funcInfo", BPF_FUNC_INFO.size, op);
    const line = infoRecordsArg(attr.lineInfo, attr.lineInfoRecSize, "lineInfo", BPF_LINE_INFO.size, op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    try {
      const t = attr.progType;
      const n = attr.insns.length / 8;
      const expected = fixupAttachType(t, expected0);
      if (!this.privileged && this.unprivilegedBpfDisabled !== 0) return -Errno.EPERM;
      if (n === 0 || n > (this.privileged ? 1_000_000 : 4096)) return -Errno.E2BIG;
      if (!this.privileged && needsMoreThanCapBpf(t)) return -Errno.EPERM;
      if (checkExpectedAttach(t, expected) !== 0) return -Errno.EINVAL;
      if (!progTypeBuilt(t)) return -Errno.EINVAL; // find_prog_type
      const { errno: nameErrno, name } = checkName(nameBytes(progName));
      if (nameErrno !== 0) return -nameErrno;
      const gpl = licenseIsGplCompatible(license);
      const v = verifyProgram(attr.insns, {
        progType: t, expectedAttachType: expected, gplCompatible: gpl, resolveMap: this.resolveMapFd,
        btf: { progBtfFd, func, line, resolveBtf: this.resolveBtfFd }, bpfCapable: this.privileged,
      });
      if (v.errno !== 0) return -v.errno;
      const tailCall = checkTailCall(v.usedMaps, { progType: t, expectedAttachType: expected });
      if (tailCall !== 0) return -tailCall;
      const tag = sha256(tagInput(attr.insns)).subarray(0, 8);
      const p = new SimProg(this.nextProgId, t, expected, tag, v.xlatedInsns, name, gpl, BigInt(this.nowNs), v.usedMaps, v.verifiedInsns,
        v.enforceExpectedAttachType, v.btf, v.nrFuncInfo, v.nrLineInfo);
      for (const m of v.usedMaps) this.mapGet(m);
      if (v.btf !== null) v.btf.refcnt++;
      this.nextProgId = p.id >= INT_MAX - 1 ? 1 : p.id + 1;
      this.progsById.set(p.id, p);
      const fd = this.installFd({ obj: p, mode: FMODE_RDWR });
      if (fd < 0) {
        p.refcnt = 1;
        this.progPut(p);
      }
      return fd;
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  progAttach(targetFd: number, progFd: number, attachType: number, flags?: number): number {
    const op = "progAttach";
    assertFd(targetFd, op);
    assertFd(progFd, op);
    assertU32(attachType, "attachType", op);
    const fl = optU32(flags, "flags", op);
    const f = this.enter(op);
    if (f !== 0) return -f;
    const world: AttachWorld = {
      fd: (n) => this.fds.get(n),
      flowDissector: this.flowDissector,
      setFlowDissector: (p) => {
        this.progGet(p);
        if (this.flowDissector !== null) this.progPut(this.flowDissector);
        this.flowDissector = p;
      },
      netAdmin: this.privileged,
    };
    const r = progAttach(world, targetFd, progFd, attachType, fl);
    return r === 0 ? 0 : -r;
  }

  close(fd: number): number {
    const op = "close";
    assertFd(fd, op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    const e = this.fds.remove(fd);
    if (e === undefined) return -Errno.EBADF;
    // The driver's own rule (the kernel's epoll would keep the file): waits through this fd end.
    this.polls.closeFd(fd, -Errno.EBADF);
    try {
      if (e.obj.kind === "map" && e.obj.perfSlots !== null) this.perfFileRelease(e.obj, e);
      if (e.obj.kind === "map") this.mapPutUref(e.obj);
      else if (e.obj.kind === "prog") this.progPut(e.obj);
      else if (e.obj.kind === "btf") this.btfPut(e.obj);
      return 0;
    } catch (err) {
      throw this.trapped(err, op);
    }
  }

  /**
   * perf_event_fd_array_release: when the last fd of a PERF_EVENT_ARRAY's file goes (a dup's
   * close leaves the file open), the slots whose update came through that file are emptied,
   * unless the map was made with BPF_F_PRESERVE_ELEMS.
   */
  private perfFileRelease(m: SimMap, file: FdEntry): void {
    if ((m.mapFlags & BPF_F_PRESERVE_ELEMS) !== 0 || m.perfSlots!.size === 0) return;
    if (this.fds.entries().some(([, other]) => other === file)) return;
    const kPtr = this.scratch(8);
    if (kPtr === 0) throw new Error("no scratch room to clear a PERF_EVENT_ARRAY slot");
    for (const [index, slot] of [...m.perfSlots!]) {
      if (slot.file !== file) continue;
      this.writeU32(kPtr, index);
      this.engine.mapDelete(m.handle, kPtr);
      m.perfSlots!.delete(index);
    }
  }

  /**
   * fcntl(fd, F_DUPFD_CLOEXEC, 0): the lowest free fd for the same open file. Both fds share the
   * entry (the kernel's struct file, with its access mode), and the object gains a reference
   * as for any new fd: a map lives until the last of its fds and pins is gone.
   */
  dup(fd: number): number {
    const op = "dup";
    assertFd(fd, op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.EBADF;
    try {
      return this.installFd(e);
    } catch (err) {
      throw this.trapped(err, op);
    }
  }

  // ---------------------------------------------------------------- poll (map-poll.ts)

  /**
   * ringbuf_map_poll_kern's readiness (ringbuf_map_poll_user's for a USER_RINGBUF), else a wait
   * on the ring (map-poll.ts). Not a syscall the
   * faults or the hook see: no errno a fault could give would be the kernel's poll's.
   */
  mapPoll(fd: number, timeoutMs: number, signal?: AbortSignalLike): Promise<number> {
    // Not async: bad arguments throw here, not as a rejection.
    assertPollArgs(fd, timeoutMs, signal, "mapPoll");
    if (this.broken !== null) throw this.broken;
    if (signal?.aborted === true) return Promise.resolve(0);
    const e = this.fds.get(fd);
    if (e === undefined) return Promise.resolve(-Errno.EBADF);
    // A program's or BTF's file has no poll of its own: the VFS's default mask, always readable.
    if (e.obj.kind === "prog" || e.obj.kind === "btf") return Promise.resolve(1);
    if (e.obj instanceof SimPerfEvent) {
      // perf_poll: the wake-ups since the last poll, taken (rb->poll exchanged for 0); an event
      // with no ring never wakes.
      if (this.perfPollTake(e.obj)) return Promise.resolve(1);
      if (timeoutMs === 0) return Promise.resolve(0);
      return this.polls.wait(e.obj, fd, timeoutMs, signal);
    }
    // bpf_map_poll's EPOLLERR for a map type without map_poll; fds 0-2 have no poll modelled.
    if (e.obj.kind !== "map" || !e.obj.isRingbuf) return Promise.resolve(-Errno.EINVAL);
    // ringbuf_map_poll_user: a USER_RINGBUF is ready for its writer (EPOLLOUT) while it has room.
    if (this.ringReady(e.obj, "mapPoll")) return Promise.resolve(1);
    if (timeoutMs === 0) return Promise.resolve(0);
    return this.polls.wait(e.obj, fd, timeoutMs, signal);
  }

  /** perf_poll's atomic_xchg(&rb->poll, 0): whether a wake-up was waiting. */
  private perfPollTake(ev: SimPerfEvent): boolean {
    const ring = ev.ring;
    if (ring === null || !ring.poll) return false;
    ring.poll = false;
    return true;
  }

  // ---------------------------------------------------------------- mmap (map-mmap.ts)

  mapMmap(fd: number, length: number, writable: boolean, offset?: number): number {
    const op = "mapMmap";
    assertFd(fd, op);
    assertByteCount(length, "length", op);
    if (typeof writable !== "boolean") throw new TypeError(`${op}: writable must be a boolean, got ${describeValue(writable)}`);
    const off = offset ?? 0;
    assertByteCount(off, "offset", op);
    const f = this.enter(op, fd);
    if (f !== 0) return -f;
    const e = this.fds.get(fd);
    if (e !== undefined && e.obj instanceof SimPerfEvent) return this.perfMmap(e, length, writable, off);
    try {
      const r = mmapErrno(e, length, writable, off, (m) => this.engine.mapMmapPages(m.handle), this.pageSize);
      if (r !== 0) return -r;
      const m = e!.obj as SimMap;
      // The mapping holds the map's file, as an fd does; a writable one counts in writecnt.
      this.mapGetUref(m);
      if (writable) m.writecnt++;
      const region = this.engine.mapMmapBase(m.handle);
      // A ring's data is mapped twice in a row: reads past its end continue from its start.
      const ring = m.isRingbuf ? m.maxEntries : 0;
      const dataEnd = m.isRingbuf ? region + ringbufDataOff(this.pageSize) + ring : 0;
      return this.mappings.add({ map: m, base: region + off, length, writable, dataEnd, ring });
    } catch (err) {
      throw this.trapped(err, op);
    }
  }

  /**
   * perf_mmap of an event's ring, after mmap's own checks (an offset off a page, a length of 0,
   * one no hole holds; the event's file is open for reading and writing). The first mapping
   * makes the ring, read-only making it overwrite old records; later ones share it.
   */
  private perfMmap(e: FdEntry, length: number, writable: boolean, offset: number): number {
    const page = this.pageSize;
    const ev = e.obj as SimPerfEvent;
    if (offset % page !== 0 || length === 0) return -Errno.EINVAL;
    const pages = Math.ceil(length / page);
    if (pages * page > MMAP_MAX_LENGTH) return -Errno.ENOMEM;
    const r = perfMmapErrno(ev, pages, offset);
    if (r !== 0) return -r;
    if (ev.ring === null) {
      const dataSize = (pages - 1) * page;
      ev.ring = new PerfRing(page, pages - 1, !writable, ev.watermarkFor(dataSize), BigInt(this.nowNs - ev.openNs));
    }
    ev.ring.mmapCount++;
    return this.mappings.add({ event: ev, ring: ev.ring, length, writable });
  }

  /** The mapping behind a handle for mmapRead and mmapWrite, after their argument checks. */
  private mapping(handle: number, offset: number, bytes: Uint8Array, what: string, op: string): SimMapping | PerfMapping | undefined {
    if (typeof handle !== "number" || !Number.isInteger(handle)) throw new TypeError(`${op}: mapping must be an integer, got ${describeValue(handle)}`);
    assertByteCount(offset, "offset", op);
    assertBytes(bytes, what, op);
    if (this.broken !== null) throw this.broken;
    const mp = this.mappings.get(handle);
    if (mp !== undefined) assertInMapping(mp, handle, offset, realByteLength(bytes), op);
    return mp;
  }

  mmapRead(mapping: number, offset: number, dst: Uint8Array): number {
    const mp = this.mapping(mapping, offset, dst, "dst", "mmapRead");
    if (mp === undefined) return -Errno.EBADF;
    if ("event" in mp) {
      dst.set(mp.ring.bytes.subarray(offset, offset + realByteLength(dst)));
      return 0;
    }
    // heap() re-reads memory.buffer after a growth: the region stays where it was.
    let at = 0;
    for (const [addr, len] of mappedPieces(mp, offset, realByteLength(dst))) {
      this.copyOut(addr, dst, at, len);
      at += len;
    }
    return 0;
  }

  mmapWrite(mapping: number, offset: number, src: Uint8Array): number {
    const mp = this.mapping(mapping, offset, src, "src", "mmapWrite");
    if (mp === undefined) return -Errno.EBADF;
    if (!mp.writable) return -Errno.EACCES;
    if ("event" in mp) {
      // perf_mmap_fault makes only the header page writable: a store to the data is SIGBUS, which
      // the kernel driver refuses as EACCES, so the simulator does too.
      if (offset + realByteLength(src) > mp.ring.pageSize) return -Errno.EACCES;
      mp.ring.bytes.set(src, offset);
      return 0;
    }
    // A USER_RINGBUF's writable mapping holds its data twice: a write past the first copy lands
    // in the same pages (the record a writer wraps round the data's end).
    let at = 0;
    for (const [addr, len] of mappedPieces(mp, offset, realByteLength(src))) {
      this.copyIn(src.subarray(at, at + len), addr);
      at += len;
    }
    return 0;
  }

  mmapAtomic(mapping: number, offset: number, size: 4 | 8, op: MmapAtomicOp, operand?: bigint, expected?: bigint): bigint | number {
    const where = "mmapAtomic";
    if (typeof mapping !== "number" || !Number.isInteger(mapping)) throw new TypeError(`${where}: mapping must be an integer, got ${describeValue(mapping)}`);
    assertAtomicArgs(offset, size, op, operand, expected, where);
    if (this.broken !== null) throw this.broken;
    const mp = this.mappings.get(mapping);
    if (mp === undefined) return -Errno.EBADF;
    assertInMapping(mp, mapping, offset, size, where);
    if (op !== "load" && !mp.writable) return -Errno.EACCES;
    if ("event" in mp) {
      if (op !== "load" && offset + size > mp.ring.pageSize) return -Errno.EACCES;
      return applyAtomic(mp.ring.bytes, offset, size, op, operand, expected);
    }
    // An aligned word never straddles a ring's two data copies: one piece.
    const [[addr]] = mappedPieces(mp, offset, size) as [[number, number]];
    return applyAtomic(this.heap(), addr, size, op, operand, expected);
  }

  munmap(mapping: number): number {
    const op = "munmap";
    if (typeof mapping !== "number" || !Number.isInteger(mapping)) throw new TypeError(`${op}: mapping must be an integer, got ${describeValue(mapping)}`);
    const f = this.enter(op);
    if (f !== 0) return -f;
    const mp = this.mappings.remove(mapping);
    if (mp === undefined) return -Errno.EBADF;
    if ("event" in mp) {
      // perf_mmap_close: the last mapping detaches the ring; a new mmap makes a fresh one.
      if (--mp.ring.mmapCount === 0 && mp.event.ring === mp.ring) mp.event.ring = null;
      return 0;
    }
    try {
      if (mp.writable) mp.map.writecnt--;
      this.mapPutUref(mp.map);
      return 0;
    } catch (err) {
      throw this.trapped(err, op);
    }
  }

  // ---------------------------------------------------------------- test facets

  setInterleavingHook(hook: SimInterleavingHook | null): void {
    if (hook !== null && typeof hook !== "function") throw new TypeError("setInterleavingHook: hook must be a function or null");
    this.hook = hook;
  }

  getInterleavingHook(): SimInterleavingHook | null {
    return this.hook;
  }

  memoryUsage(): { used: number; wasmBytes: number } {
    return { used: this.engine.memoryUsed(), wasmBytes: this.engine.memory.buffer.byteLength };
  }

  liveMapIds(): number[] {
    return [...this.mapsById.keys()];
  }

  private datapathMap(ref: SimMapRef, op: string): SimMap | number {
    if (this.broken !== null) throw this.broken;
    if (typeof ref !== "object" || ref === null) throw new TypeError(`datapath.${op}: map must be { fd } or { id }`);
    if ("fd" in ref) {
      assertFd(ref.fd, `datapath.${op}`);
      return this.resolveMapFd(ref.fd);
    }
    // Passing the BpfMap itself is the likely slip; "id must be an integer" would name a key never given.
    if (!("id" in ref)) {
      throw new TypeError(`datapath.${op}: map must be { fd } or { id }, got an object with neither ` +
        "(a BpfMap is { fd: map.getFd() }, or typedDatapath(sim, map))");
    }
    assertU32(ref.id, "id", `datapath.${op}`);
    return this.mapsById.get(ref.id) ?? -Errno.ENOENT;
  }

  private datapathCpu(cpu: unknown, op: string): number {
    if (cpu === undefined) return 0;
    assertU32(cpu, "cpu", `datapath.${op}`);
    if (cpu >= this.possibleCpus) throw new RangeError(`datapath.${op}: cpu ${cpu} is not below possibleCpus ${this.possibleCpus}`);
    return cpu;
  }

  private makeDatapath(): SimDatapath {
    const dpValueSize = (m: SimMap) => (m.isFdValue ? 4 : m.valueSize);
    const prepare = (op: string, ref: SimMapRef, key: Uint8Array, value: Uint8Array | null, cpu: unknown) => {
      // Lookup and update need a value buffer (delete passes null): a missing one would fail
      // inside the engine call and break the simulator.
      if (op !== "delete") assertBytes(value, "value", `datapath.${op}`);
      const m = this.datapathMap(ref, op);
      const c = this.datapathCpu(cpu, op);
      if (typeof m === "number") {
        assertBytes(key, "key", `datapath.${op}`);
        return { m, c, base: 0, vPtr: 0 };
      }
      assertSize(key, m.keySize, "key", `datapath.${op}`, m.id);
      if (value !== null) assertSize(value, dpValueSize(m), "value", `datapath.${op}`, m.id);
      const base = this.scratch(align8(m.keySize) + align8(dpValueSize(m)));
      if (base !== 0) this.copyIn(key, base);
      return { m, c, base, vPtr: base + align8(m.keySize) };
    };
    // The verifier lets a program call lookup, update and delete on keyed maps only, and push,
    // pop (not on a bloom filter) and peek on keyless ones: any other pairing never loads (EINVAL).
    const helperFits = (m: SimMap, op: string) =>
      m.isRingbuf || m.perfSlots !== null ? false
        : m.isKeyless ? op === "push" || op === "peek" || (op === "pop" && m.mapType !== BPF_MAP_TYPE_BLOOM_FILTER)
        : op === "lookup" || op === "update" || op === "delete";
    const keyless = (op: "push" | "pop" | "peek", ref: SimMapRef, value: Uint8Array, flags: unknown, cpu: unknown): number => {
      const fl = op === "push" ? flagsArg(flags, "datapath.push") : 0;
      assertBytes(value, "value", `datapath.${op}`);
      const m = this.datapathMap(ref, op);
      this.datapathCpu(cpu, op);
      if (typeof m === "number") return m;
      assertSize(value, m.valueSize, "value", `datapath.${op}`, m.id);
      if (!helperFits(m, op)) return -Errno.EINVAL;
      // record_func_map: push and pop write the map, which BPF_F_RDONLY_PROG forbids.
      if (op !== "peek" && (m.mapFlags & BPF_F_RDONLY_PROG) !== 0) return -Errno.EACCES;
      const base = this.scratch(align8(m.valueSize));
      if (base === 0) return -Errno.ENOMEM;
      if (fl > 0xffffffff) return -Errno.EINVAL;
      try {
        if (op === "push" || m.mapType === BPF_MAP_TYPE_BLOOM_FILTER) this.copyIn(value, base);
        const r = op === "push" ? this.engine.mapUpdate(m.handle, base, base, fl)
          : op === "pop" ? this.engine.mapLookupAndDelete(m.handle, base, base)
          : this.engine.mapLookup(m.handle, base, base);
        if (r >= 0 && op !== "push" && m.mapType !== BPF_MAP_TYPE_BLOOM_FILTER) this.copyOut(base, value, 0, m.valueSize);
        return r;
      } catch (e) {
        throw this.trapped(e, `datapath.${op}`);
      }
    };
    return {
      ...this.ringbufDatapath(),
      perfEventOutput: (ref, data, flags, cpu) => this.perfEventOutput(ref, data, flags, cpu),
      push: (ref, value, flags, cpu) => keyless("push", ref, value, flags, cpu),
      pop: (ref, value, cpu) => keyless("pop", ref, value, undefined, cpu),
      peek: (ref, value, cpu) => keyless("peek", ref, value, undefined, cpu),
      lookup: (ref, key, value, cpu) => {
        const { m, c, base, vPtr } = prepare("lookup", ref, key, value, cpu);
        if (typeof m === "number") return m;
        if (!helperFits(m, "lookup")) return -Errno.EINVAL;
        if ((m.mapFlags & BPF_F_WRONLY_PROG) !== 0 || m.mapType === BPF_MAP_TYPE_PROG_ARRAY) return -Errno.EACCES;
        if (base === 0) return -Errno.ENOMEM;
        try {
          const r = this.engine.datapathLookup(m.handle, base, vPtr, c);
          if (r >= 0) {
            this.copyOut(vPtr, value, 0, dpValueSize(m));
            // A program cannot read a special field (the verifier refuses it): zeros stand for it.
            if (m.record !== null) zeroSpecialFields(m, value, 1, true);
          }
          return r;
        } catch (e) {
          throw this.trapped(e, "datapath.lookup");
        }
      },
      update: (ref, key, value, flags, cpu) => {
        const fl = flagsArg(flags, "datapath.update");
        const { m, c, base, vPtr } = prepare("update", ref, key, value, cpu);
        if (typeof m === "number") return m;
        if (!helperFits(m, "update")) return -Errno.EINVAL;
        // Programs may not write RDONLY_PROG maps, nor update map-in-map or PROG_ARRAY slots.
        if ((m.mapFlags & BPF_F_RDONLY_PROG) !== 0 || m.isFdValue) return -Errno.EACCES;
        if (base === 0) return -Errno.ENOMEM;
        if (fl > 0xffffffff) return -Errno.EINVAL;
        this.copyIn(value, vPtr);
        try {
          // A program's BPF_F_LOCK is the syscall's: htab_map_update_elem and array_map_update_elem
          // take it alike, an update in place under the value's lock (EINVAL without one, below).
          if (hasSpinLock(m) && (fl & BPF_F_LOCK) !== 0) return this.engine.mapUpdateLocked(m.handle, base, vPtr, (fl & ~BPF_F_LOCK) >>> 0);
          return this.engine.datapathUpdate(m.handle, base, vPtr, fl, c);
        } catch (e) {
          throw this.trapped(e, "datapath.update");
        }
      },
      delete: (ref, key, cpu) => {
        const { m, c, base } = prepare("delete", ref, key, null, cpu);
        if (typeof m === "number") return m;
        if (!helperFits(m, "delete")) return -Errno.EINVAL;
        if ((m.mapFlags & BPF_F_RDONLY_PROG) !== 0 || m.isFdValue) return -Errno.EACCES;
        if (base === 0) return -Errno.ENOMEM;
        try {
          return this.engine.datapathDelete(m.handle, base, c);
        } catch (e) {
          throw this.trapped(e, "datapath.delete");
        }
      },
    };
  }

  /** bpf_perf_event_output (SimDatapath.perfEventOutput), in __bpf_perf_event_output's order. */
  private perfEventOutput(ref: SimMapRef, data: Uint8Array, flags: unknown, cpu: unknown): number {
    const op = "perfEventOutput";
    const fl = flagsArg(flags, `datapath.${op}`);
    assertBytes(data, "data", `datapath.${op}`);
    const m = this.datapathMap(ref, op);
    const c = this.datapathCpu(cpu, op);
    if (typeof m === "number") return m;
    // The verifier lets only a PERF_EVENT_ARRAY reach the helper.
    if (m.perfSlots === null) return -Errno.EINVAL;
    if (fl > BPF_F_INDEX_MASK) return -Errno.EINVAL;
    const index = fl === BPF_F_CURRENT_CPU ? c : fl;
    if (index >= m.maxEntries) return -Errno.E2BIG;
    const slot = m.perfSlots.get(index);
    if (slot === undefined) return -Errno.ENOENT;
    const ev = slot.event;
    if (ev.cpu !== c) return -Errno.EOPNOTSUPP;
    // perf_output_begin: no ring mapped, no room.
    if (ev.ring === null) return -Errno.ENOSPC;
    const { r, woke } = ev.ring.output(ev, data.length === realByteLength(data) ? data : data.slice());
    // perf_output_wakeup: epoll polls again, and takes the wake-up for every wait on the event.
    if (woke) this.polls.wake(ev, () => this.perfPollTake(ev));
    return r;
  }

  // ---------------------------------------------------------------- ring buffers (ringbuf-samples.ts)

  /** The ring buffer a datapath call names, or -errno: not found, or a map no ringbuf helper takes (the verifier's EINVAL). */
  private ringbufMap(ref: SimMapRef, op: string): SimMap | number {
    const m = this.datapathMap(ref, op);
    if (typeof m === "number") return m;
    return m.isRingbuf && !m.isUserRingbuf ? m : -Errno.EINVAL;
  }

  /** A ring's words and data in wasm memory. */
  private ringLayout(m: SimMap): UserRingLayout {
    const consAt = this.engine.mapMmapBase(m.handle);
    return { consAt, prodAt: consAt + this.pageSize, dataAt: consAt + ringbufDataOff(this.pageSize), size: m.maxEntries };
  }

  /** What poll answers on a ring: a RINGBUF readable, a USER_RINGBUF writable. */
  private ringReady(m: SimMap, op: string): boolean {
    if (!m.isUserRingbuf) return this.ringbufReadable(m, op);
    return userRingbufWritable(this.heapView(), this.ringLayout(m));
  }

  /** A DataView over wasm memory as it is now (a growth replaces the buffer). */
  private heapView(): DataView {
    const h = this.heap();
    return new DataView(h.buffer, h.byteOffset, h.byteLength);
  }

  /** The sample behind a handle; a handle not reserved (or already committed) is a RangeError. */
  private ringbufSample(sample: unknown, op: string) {
    if (typeof sample !== "number" || !Number.isInteger(sample)) throw new TypeError(`datapath.${op}: sample must be an integer, got ${describeValue(sample)}`);
    if (this.broken !== null) throw this.broken;
    const s = this.samples.get(sample);
    if (s === undefined) throw new RangeError(`datapath.${op}: sample ${sample} is not reserved (never, or already submitted or discarded)`);
    return s;
  }

  /** Reserves a record of `size` in `m`: its header offset, or the engine's -errno. */
  private ringbufReserveAt(m: SimMap, size: number, op: string): number {
    try {
      return this.engine.ringbufReserve(m.handle, BigInt(size));
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  /** Copies `bytes` into the sample of the record at `hdrOff`, from byte `offset`, wrapping at the data's end. */
  private ringbufFill(m: SimMap, hdrOff: number, offset: number, bytes: Uint8Array): void {
    const data = this.engine.mapMmapBase(m.handle) + ringbufDataOff(this.pageSize);
    ringCopyIn(this.heap(), data, m.maxEntries, hdrOff + BPF_RINGBUF_HDR_SZ + offset, bytes);
  }

  /** ringbuf_avail_data_sz: the consumer position is not the producer's (BUSY and discarded records count). */
  private ringbufReadable(m: SimMap, op: string): boolean {
    try {
      return this.engine.ringbufQuery(m.handle, 0n /* BPF_RB_AVAIL_DATA */) !== 0n;
    } catch (e) {
      throw this.trapped(e, op);
    }
  }

  /**
   * bpf_ringbuf_commit's wake-up: FORCE_WAKEUP always; else, without NO_WAKEUP, when the
   * engine found the consumer position at the record (`caughtUp`). The waits end if the ring is
   * readable now, as epoll's poll again finds it.
   */
  private ringbufWake(m: SimMap, caughtUp: boolean, flags: number, op: string): void {
    // flags is a safe integer: & keeps its low 32 bits exactly, so the two bits are right.
    if ((flags & BPF_RB_FORCE_WAKEUP) === 0 && (!caughtUp || (flags & BPF_RB_NO_WAKEUP) !== 0)) return;
    this.polls.wake(m, () => this.ringbufReadable(m, op));
  }

  private ringbufCommit(sample: number, flags: unknown, discard: boolean): void {
    const op = discard ? "ringbufDiscard" : "ringbufSubmit";
    const fl = flagsArg(flags, `datapath.${op}`);
    const s = this.ringbufSample(sample, op);
    let r: number;
    try {
      r = this.engine.ringbufCommit(s.map.handle, s.hdrOff, discard ? 1 : 0);
      if (r < 0) throw new Error(`the record at ${s.hdrOff} of map ${s.map.id} was not BUSY`);
    } catch (e) {
      throw this.trapped(e, `datapath.${op}`);
    }
    this.samples.remove(sample);
    // Before the put: the map is still the sample's to name.
    this.ringbufWake(s.map, r === 1, fl, `datapath.${op}`);
    // The program is done with the map it held.
    this.mapPut(s.map);
  }

  /** bpf_user_ringbuf_drain (user-ringbuf.ts): see SimDatapath.userRingbufDrain. */
  private userRingbufDrain(ref: SimMapRef, callback: (sample: Uint8Array) => number | void, flags: unknown): number {
    const op = "userRingbufDrain";
    const where = `datapath.${op}`;
    if (typeof callback !== "function") throw new TypeError(`${where}: callback must be a function`);
    const fl = flagsArg(flags, where);
    const m = this.datapathMap(ref, op);
    if (typeof m === "number") return m;
    // check_map_func_compatibility: the helper takes a USER_RINGBUF and nothing else.
    if (!m.isUserRingbuf) return -Errno.EINVAL;
    if (fl > BPF_RB_WAKEUP_FLAGS) return -Errno.EINVAL;
    if (this.draining.has(m)) return -Errno.EBUSY;
    this.draining.add(m);
    const r = this.ringLayout(m);
    let samples = 0, discarded = 0, ret = 0;
    try {
      for (; samples < BPF_MAX_USER_RINGBUF_SAMPLES && ret === 0; samples++) {
        // Re-read each time: a callback may grow wasm memory (a datapath update), which moves the buffer.
        const peeked = userRingbufPeek(this.heapView(), r);
        if (peeked === -ENODATA) break;
        if (peeked === -Errno.EAGAIN) {
          discarded++;
          continue;
        }
        if (typeof peeked === "number") {
          ret = peeked;
          break;
        }
        const answer = callback(userRingbufSample(this.heap(), r, peeked.off, peeked.len));
        if (answer !== undefined && answer !== 0 && answer !== 1) {
          throw new RangeError(`${where}: the callback answered ${String(answer)}: a drain callback returns 0 (go on) or 1 (stop), as the verifier requires`);
        }
        ret = answer ?? 0;
        userRingbufRelease(this.heapView(), r, peeked.len);
      }
      if (ret >= 0) ret = samples - discarded;
    } finally {
      this.draining.delete(m);
    }
    // The drain's irq_work: writers waiting for room poll the ring again.
    if ((fl & BPF_RB_FORCE_WAKEUP) !== 0 || ((fl & BPF_RB_NO_WAKEUP) === 0 && samples > 0)) {
      this.polls.wake(m, () => this.ringReady(m, where));
    }
    return ret;
  }

  private ringbufDatapath(): Pick<SimDatapath, "ringbufOutput" | "ringbufReserve" | "ringbufWrite" | "ringbufSubmit" | "ringbufDiscard" | "ringbufQuery" | "userRingbufDrain"> {
    return {
      ringbufOutput: (ref, data, flags, cpu) => {
        const op = "ringbufOutput";
        const fl = flagsArg(flags, `datapath.${op}`);
        assertBytes(data, "data", `datapath.${op}`);
        const m = this.ringbufMap(ref, op);
        this.datapathCpu(cpu, op);
        if (typeof m === "number") return m;
        // Any bit but the two wake-up bits (compared, not masked: flags are a u64 past JS's 32-bit &).
        if (fl > BPF_RB_WAKEUP_FLAGS) return -Errno.EINVAL;
        const hdrOff = this.ringbufReserveAt(m, realByteLength(data), op);
        // Every NULL reserve is EAGAIN to the program.
        if (hdrOff < 0) return -Errno.EAGAIN;
        this.ringbufFill(m, hdrOff, 0, data);
        let r: number;
        try {
          r = this.engine.ringbufCommit(m.handle, hdrOff, 0);
        } catch (e) {
          throw this.trapped(e, `datapath.${op}`);
        }
        this.ringbufWake(m, r === 1, fl, `datapath.${op}`);
        return 0;
      },
      ringbufReserve: (ref, size, flags, cpu) => {
        const op = "ringbufReserve";
        assertByteCount(size, "size", `datapath.${op}`);
        const fl = flagsArg(flags, `datapath.${op}`);
        const m = this.ringbufMap(ref, op);
        this.datapathCpu(cpu, op);
        if (typeof m === "number") return m;
        if (fl !== 0) return -Errno.EINVAL;
        const hdrOff = this.ringbufReserveAt(m, size, op);
        if (hdrOff < 0) return hdrOff;
        // The program holds its map while it holds the sample.
        this.mapGet(m);
        return this.samples.add({ map: m, hdrOff, size });
      },
      ringbufWrite: (sample, offset, bytes) => {
        const op = "ringbufWrite";
        assertByteCount(offset, "offset", `datapath.${op}`);
        assertBytes(bytes, "bytes", `datapath.${op}`);
        const s = this.ringbufSample(sample, op);
        const n = realByteLength(bytes);
        if (offset + n > s.size) throw new RangeError(`datapath.${op}: bytes ${offset}..${offset + n} are past the ${s.size} bytes of sample ${sample} (map id ${s.map.id})`);
        this.ringbufFill(s.map, s.hdrOff, offset, bytes);
      },
      ringbufSubmit: (sample, flags) => this.ringbufCommit(sample, flags, false),
      ringbufDiscard: (sample, flags) => this.ringbufCommit(sample, flags, true),
      userRingbufDrain: (ref, callback, flags) => this.userRingbufDrain(ref, callback, flags),
      ringbufQuery: (ref, flags) => {
        const op = "ringbufQuery";
        if (flags === undefined) throw new TypeError(`datapath.${op}: flags must be an integer, got undefined`);
        const fl = flagsArg(flags, `datapath.${op}`);
        const m = this.ringbufMap(ref, op);
        if (typeof m === "number") return BigInt(m);
        try {
          // wasm's i64 comes back signed: the kernel's answer is a u64.
          return BigInt.asUintN(64, this.engine.ringbufQuery(m.handle, BigInt(fl)));
        } catch (e) {
          throw this.trapped(e, `datapath.${op}`);
        }
      },
    };
  }
}

/**
 * The bytes the kernel hashes for a program's tag (bpf_prog_calc_tag): the instructions with
 * the imm of ld_imm64 map references zeroed, as fds differ between loads.
 */
function tagInput(insns: Uint8Array): Uint8Array {
  const out = insns.slice();
  for (let i = 0; i + 8 < out.length; i += 8) {
    if (out[i] === 0x18) {
      const src = out[i + 1]! >> 4;
      if (src === 1 || src === 2) {
        out.fill(0, i + 4, i + 8);
        out.fill(0, i + 12, i + 16);
      }
      i += 8;
    }
  }
  return out;
}

