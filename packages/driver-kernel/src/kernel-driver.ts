// The Driver over the real bpf(2). Every call zeroes the attr bytes its command uses, writes the
// fields at the offsets declared in core's layout.ts, points them into the driver's scratch
// block, and copies user buffers in and out. Buffers are checked first against the map's shape,
// so the kernel never reads or writes more than the caller handed over.
import { readlinkSync } from "node:fs";
import {
  assertBatchBuffer, checkPerfEventOpenAttr, assertBytes, assertFd, assertIds, assertPath, assertSize, assertU32, infoRecordsArg, optU64Bigint, outU32Arg, realByteLength,
  BATCH_ATTR, BPF_F_SEGV_ON_FAULT, BPF_FUNC_INFO, BPF_MAP_TYPE_ARENA, BPF_LINE_INFO, BPF_BTF_INFO, BPF_MAP_INFO, BPF_PROG_INFO, BpfCmd, BTF_LOAD_ATTR, BTF_NAME_LEN, ELEM_ATTR, Errno, ID_ATTR,
  INFO_ATTR, MAP_CREATE_ATTR, OBJ_ATTR, PROG_ATTACH_ATTR, PROG_LOAD_ATTR, PROG_TEST_RUN_ATTR,
  type BatchResult, type BtfInfo, type BtfLoadAttr, type Driver, type HostServices, type MapCreateAttr, type MapFdInfo, type ProgLoadAttr,
  type ProgTestRunAttr, type ProgTestRunResult, type AbortSignalLike, type MmapAtomicOp, type PerfEventOpenAttr, describeValue } from "@bpfkit/core";
import { cStringArg, u32Arg, u64Arg } from "./args.js";
import { forget, type HotFd, KEY, rememberCopy, rememberMap, shapeIndex, shapes, STRIDE, TOKEN, VALUE, watch } from "./fd-shapes.js";
import { readMapFdInfo } from "./map-fdinfo.js";
import { epollWaits, epollWaitsIfAny } from "./map-poll.js";
import { type MappedKind, MmapTable, mmapTables } from "./mmap.js";
import type { Libc } from "./native.js";
import { PERF_ATTR_SIZE, PERF_FLAG_FD_CLOEXEC, writePerfEventAttr } from "./perf-event.js";
import { KN_ATTR, KV_ATTR, Scratch } from "./scratch.js";

const E = ELEM_ATTR.off;
const B = BATCH_ATTR.off;
const C = MAP_CREATE_ATTR.off;
const O = OBJ_ATTR.off;
const I = ID_ATTR.off;
const N = INFO_ATTR.off;
const P = PROG_LOAD_ATTR.off;
const A = PROG_ATTACH_ATTR.off;
const T = PROG_TEST_RUN_ATTR.off;
const MI = BPF_MAP_INFO.off;
const PI = BPF_PROG_INFO.off;
const L = BTF_LOAD_ATTR.off;
const BI = BPF_BTF_INFO.off;
/**
 * The OBJ_GET_INFO_BY_FD probe before a BTF info: 8 bytes, where bpf_btf_info has the `btf`
 * pointer (0 in, 0 out) and every other info struct its type and id (never both 0).
 */
const KIND_PROBE = 8;
/** bpf_prog_info's bytes through map_ids, the pointer the kernel writes the ids through. */
const PROG_INFO_TO_MAP_IDS = PI.map_ids + 8;
/** The verifier's MAX_USED_MAPS. */
const MAX_USED_MAPS = 64;

const NULL = -1;
/** "Not taken" from the hot path: no kernel result is this negative. */
const SLOW = -0x4000_0000;
/** Up to this many bytes a loop copies faster than a TypedArray builtin call. */
const SMALL_COPY = 64;
const NAME_BYTES = 16;
/** Arithmetic, not `& ~7`: a batch of 2 GiB or more would turn negative in 32-bit bitwise ops. */
const align8 = (n: number) => Math.ceil(n / 8) * 8;


/**
 * A map or program name into its 16-byte attr field at `at`, as the UTF-8 bytes cut at the
 * field, even inside a character. Buffer.write stops before a character that does not fit, so
 * 15 ASCII bytes then "€" went in as the 15 ASCII bytes and a NUL: a valid name the kernel
 * accepted where the caller's bytes are EINVAL (a 16th byte, and not [A-Za-z0-9_.]).
 */
function putName(u8: Uint8Array, at: number, name: string): void {
  const bytes = Buffer.from(name, "utf8");
  u8.set(bytes.subarray(0, NAME_BYTES), at);
}

const OP = {
  lookup: "BPF_MAP_LOOKUP_ELEM", update: "BPF_MAP_UPDATE_ELEM", delete: "BPF_MAP_DELETE_ELEM",
  nextKey: "BPF_MAP_GET_NEXT_KEY", lookupAndDelete: "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
  freeze: "BPF_MAP_FREEZE", lookupBatch: "BPF_MAP_LOOKUP_BATCH",
  lookupAndDeleteBatch: "BPF_MAP_LOOKUP_AND_DELETE_BATCH", updateBatch: "BPF_MAP_UPDATE_BATCH",
  deleteBatch: "BPF_MAP_DELETE_BATCH", create: "BPF_MAP_CREATE", pin: "BPF_OBJ_PIN", get: "BPF_OBJ_GET",
  mapNextId: "BPF_MAP_GET_NEXT_ID", progNextId: "BPF_PROG_GET_NEXT_ID",
  mapFdById: "BPF_MAP_GET_FD_BY_ID", progFdById: "BPF_PROG_GET_FD_BY_ID",
  info: "BPF_OBJ_GET_INFO_BY_FD", progLoad: "BPF_PROG_LOAD", progAttach: "BPF_PROG_ATTACH",
  testRun: "BPF_PROG_TEST_RUN", close: "close",
  btfLoad: "BPF_BTF_LOAD", btfFdById: "BPF_BTF_GET_FD_BY_ID", btfNextId: "BPF_BTF_GET_NEXT_ID",
  dup: "fcntl(F_DUPFD_CLOEXEC)",
} as const;

/** fcntl's "duplicate to the lowest free fd >= arg, close-on-exec". */
const F_DUPFD_CLOEXEC = 1030;

/** ProgLoadAttr plus the verifier log, which only the kernel driver can give. */
export interface KernelProgLoadAttr extends ProgLoadAttr {
  /** 0 (no log), 1, or 2 (every instruction). A log too small for the text fails the load (ENOSPC). */
  logLevel?: number;
  /** Receives the log; its length is log_size. */
  log?: Uint8Array;
  /**
   * `log_true_size`, written back as for BTF (`BtfLoadAttr.logTrueSize`): the bytes the
   * verifier's whole log needed, its NUL included; 0 at level 0.
   */
  logTrueSize?: Uint32Array;
}

/** Every byte of the 32-byte element attr: writing them all is the zeroing the kernel needs. */
function writeElemAttr(dv: DataView, fd: number, keyLo: number, keyHi: number, valueLo: number, valueHi: number, flags: number): void {
  dv.setUint32(E.map_fd, fd, true);
  dv.setUint32(E.map_fd + 4, 0, true);
  dv.setUint32(E.key, keyLo, true);
  dv.setUint32(E.key + 4, keyHi, true);
  dv.setUint32(E.value, valueLo, true);
  dv.setUint32(E.value + 4, valueHi, true);
  dv.setUint32(E.flags, flags, true);
  dv.setUint32(E.flags + 4, 0, true);
}

/** Whether the map at shape index `at` has key_size 0 (queue, stack, bloom filter). */
const keyless = (at: number) => at >= 0 && shapes[at + KEY] === 1;

// Both copies do nothing for n = 0 (a loop of no steps), so a detached buffer, which reads as
// 0 bytes but throws a TypeError naming no operation from every set(), is an empty buffer.

/** `src` (exactly `n` bytes) into `dst` at `at`. */
function copyIn(dst: Uint8Array, at: number, src: Uint8Array, n: number): void {
  if (n <= SMALL_COPY) for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
  else dst.set(src, at);
}

/** `n` bytes of `src` from `at` into the start of `dst`. */
function copyOut(dst: Uint8Array, src: Uint8Array, at: number, n: number): void {
  if (n <= SMALL_COPY) for (let i = 0; i < n; i++) dst[i] = src[at + i]!;
  else dst.set(src.subarray(at, at + n));
}

/** An optional test-run buffer: null when absent (undefined or null), else it must be a Uint8Array. */
function testBuffer(b: unknown, what: string, op: string): Uint8Array | null {
  if (b === undefined || b === null) return null;
  assertBytes(b, what, op);
  return b;
}

/**
 * The driver is its own scratch block (it extends Scratch), so the element hot path reads
 * everything from one object rather than following references to others.
 */
export class KernelDriver extends Scratch implements Driver, HotFd {
  readonly kind = "kernel";
  private readonly sys: Libc["syscall"];
  private readonly nr: number;
  /**
   * The last map fd the hot path used and its key and user-value bytes: a copy of its shape-table
   * row that fits this driver's regions (which only grow). The table sets hotFd to -1 when the
   * row changes (close, a new map under that number), through whichever driver.
   */
  hotFd = -1;
  private hotKs = 0;
  private hotVs = 0;
  /** This driver's mmap(2) mappings (mmap.ts), by handle. */
  private mappings: MmapTable | undefined = undefined;

  /**
   * Makes a driver over the loaded libc bindings; use `createKernelDriver()`, which checks the platform and
   * reads the possible CPUs first.
   */
  constructor(
    private readonly libc: Libc,
    readonly possibleCpus: number,
    readonly host: HostServices,
    /** getpagesize(): what a ring's layout and mmap offsets are counted in (16 or 64 KiB on some arm64 kernels). */
    readonly pageSize: number,
  ) {
    super(libc);
    this.sys = libc.syscall;
    this.nr = libc.nrBpf;
    watch(this);
  }

  /** The mapping table, made at the first mmap: a driver that never maps keeps its old shape. */
  private table(): MmapTable {
    if (this.mappings === undefined) {
      this.mappings = new MmapTable(this.libc, this.pageSize);
      mmapTables.register(this, this.mappings);
    }
    return this.mappings;
  }

  // ---- the syscall ----

  /** bpf(cmd, scratch attr, size): the result, or -errno. */
  private bpf(cmd: number, size: number): number {
    const r = this.sys(this.nr, cmd, this.base, size);
    return r < 0 ? -this.libc.koffi.errno() : r;
  }

  /** Zeroes the attr bytes a command uses: non-zero bytes past its last field are EINVAL. */
  private attr(size: number): DataView {
    this.u8.fill(0, 0, size);
    return this.dv;
  }

  // ---- what an fd is ----

  /**
   * The shape-table index of the map behind `fd`, learning an fd this process has not seen,
   * or -1 when it is not a map (negative, closed, a prog, a file): the kernel then refuses it
   * (EBADF/EINVAL) before it touches a buffer.
   */
  private shapeOf(fd: number, op: string): number {
    if (typeof fd !== "number" || (fd | 0) !== fd) assertFd(fd, op);
    const at = shapeIndex(fd);
    if (at >= 0 || fd < 0) return at;
    return this.learn(fd) ? shapeIndex(fd) : -1;
  }

  /**
   * An fd this process did not get from the driver (inherited, or from another library): if
   * it is a map, its shape comes from OBJ_GET_INFO_BY_FD.
   */
  private learn(fd: number): boolean {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return false;
    }
    if (link !== "anon_inode:bpf-map") return false;
    this.ensure(0, 0, BPF_MAP_INFO.size);
    this.u8.fill(0, this.auxOff, this.auxOff + BPF_MAP_INFO.size);
    const dv = this.attr(INFO_ATTR.size);
    dv.setUint32(N.bpf_fd, fd, true);
    dv.setUint32(N.info_len, BPF_MAP_INFO.size, true);
    this.setPtr(N.info, this.auxOff);
    if (this.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, INFO_ATTR.size) < 0) return false;
    const at = this.auxOff;
    this.remember(fd, dv.getUint32(at + MI.type, true), dv.getUint32(at + MI.key_size, true), dv.getUint32(at + MI.value_size, true));
    return true;
  }

  private remember(fd: number, mapType: number, keySize: number, valueSize: number): void {
    rememberMap(fd, mapType, keySize, valueSize, this.possibleCpus);
    this.fitRegions(fd);
  }

  /** Grows this driver's regions to the known map `fd`. */
  private fitRegions(fd: number): void {
    const at = shapeIndex(fd);
    const keySize = shapes[at + KEY]! - 1;
    // Every known map fits the key, next-key and value regions: the hot path never grows them.
    // A map too big to stage (over 2 GiB a value: RangeError) keeps its fd: its element calls
    // take the checked path, which throws the same RangeError, while close, pin and info work.
    try {
      this.ensure(keySize, shapes[at + VALUE]!);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }

  /**
   * A new fd from the kernel replaces whatever this process knew under that number; `know`
   * records a map's shape. Should that throw (no memory for the scratch block), the fd is
   * closed first: the caller gets the exception, not the fd, and nobody else could close it.
   */
  private adopt(fd: number, know?: (fd: number) => unknown): number {
    if (fd < 0) return fd;
    forget(fd);
    if (know === undefined) return fd;
    try {
      know(fd);
    } catch (e) {
      this.close(fd);
      throw e;
    }
    return fd;
  }

  // ---- element operations ----

  // ---- the element hot paths ----
  // One small function per buffer direction, each flat (inline copies, precomputed pointer
  // halves): measured ~130 ns/op faster than the checked path, and faster than one generic
  // function switching on the direction. They return SLOW for anything but a known map with
  // exact buffers and u32 flags whose key and value fit this driver's regions (the shape table
  // is shared, the blocks are not: another driver may have learnt a bigger map); the checked
  // path below then throws, grows the block, or stages.
  // Sizes are read as `.length` (equal to byteLength for a Uint8Array): V8 inlines it, while
  // `.byteLength` is a builtin call whose code and reads land on pages the TLB has just lost
  // on this PTI VM, ~70 ns each per call (A/B measured, 2026-11-27). A buffer whose `length`
  // lies (a subclass's getter) is taken at its word here: the kernel still reads and writes only
  // this driver's regions, sized from the map, and the checked path goes by the real length.

  /**
   * Makes `fd` the hot fd when it is a known map whose key and value fit this driver's regions
   * (the shape table is shared, the blocks are not: another driver may have learnt a bigger map).
   */
  private heat(fd: number): boolean {
    if (typeof fd !== "number" || (fd | 0) !== fd || fd < 0) return false;
    const t = fd * STRIDE;
    if (t >= shapes.length) return false;
    const ks = shapes[t + KEY]! - 1, vs = shapes[t + VALUE]!;
    // Keyless maps (queue, stack, bloom filter) never get hot: they need a NULL key, and a
    // bloom filter reads its value, which the slow path handles (keyArg, stage).
    if (ks <= 0 || ks > this.keyCap || vs > this.valueCap) return false;
    this.hotFd = fd;
    this.hotKs = ks;
    this.hotVs = vs;
    return true;
  }

  /** LOOKUP, LOOKUP_AND_DELETE: key in, value out, through the pre-filled KV attr. */
  private fastOut(cmd: number, fd: number, key: Uint8Array, value: Uint8Array, flags: number | undefined): number {
    if ((fd !== this.hotFd || fd < 0) && !this.heat(fd)) return SLOW;
    const ks = this.hotKs, vs = this.hotVs;
    if ((flags !== undefined && (typeof flags !== "number" || (flags >>> 0) !== flags)) ||
        !(key instanceof Uint8Array) || key.length !== ks || !(value instanceof Uint8Array) || value.length !== vs) return SLOW;
    const u8 = this.u8, ko = this.keyOff, vo = this.valueOff;
    if (ks <= SMALL_COPY) for (let i = 0; i < ks; i++) u8[ko + i] = key[i]!;
    else u8.set(key, ko);
    const dv = this.dv;
    dv.setUint32(KV_ATTR + E.map_fd, fd, true);
    dv.setUint32(KV_ATTR + E.flags, flags === undefined ? 0 : flags, true);
    const r = this.sys(this.nr, cmd, this.kvAttr, ELEM_ATTR.size);
    if (r < 0) return -this.libc.koffi.errno();
    if (vs <= SMALL_COPY) for (let i = 0; i < vs; i++) value[i] = u8[vo + i]!;
    else value.set(u8.subarray(vo, vo + vs));
    return r;
  }

  /** UPDATE: key and value in, through the pre-filled KV attr. */
  private fastIn(cmd: number, fd: number, key: Uint8Array, value: Uint8Array, flags: number | undefined): number {
    if ((fd !== this.hotFd || fd < 0) && !this.heat(fd)) return SLOW;
    const ks = this.hotKs, vs = this.hotVs;
    if ((flags !== undefined && (typeof flags !== "number" || (flags >>> 0) !== flags)) ||
        !(key instanceof Uint8Array) || key.length !== ks || !(value instanceof Uint8Array) || value.length !== vs) return SLOW;
    const u8 = this.u8, ko = this.keyOff, vo = this.valueOff;
    if (ks <= SMALL_COPY) for (let i = 0; i < ks; i++) u8[ko + i] = key[i]!;
    else u8.set(key, ko);
    if (vs <= SMALL_COPY) for (let i = 0; i < vs; i++) u8[vo + i] = value[i]!;
    else u8.set(value, vo);
    const dv = this.dv;
    dv.setUint32(KV_ATTR + E.map_fd, fd, true);
    dv.setUint32(KV_ATTR + E.flags, flags === undefined ? 0 : flags, true);
    const r = this.sys(this.nr, cmd, this.kvAttr, ELEM_ATTR.size);
    return r < 0 ? -this.libc.koffi.errno() : r;
  }

  /** DELETE: key in only (value and flags must stay zero), through the general attr. */
  private fastKey(cmd: number, fd: number, key: Uint8Array): number {
    if ((fd !== this.hotFd || fd < 0) && !this.heat(fd)) return SLOW;
    const ks = this.hotKs;
    if (!(key instanceof Uint8Array) || key.length !== ks) return SLOW;
    const u8 = this.u8, ko = this.keyOff;
    if (ks <= SMALL_COPY) for (let i = 0; i < ks; i++) u8[ko + i] = key[i]!;
    else u8.set(key, ko);
    writeElemAttr(this.dv, fd, this.keyLo, this.keyHi, 0, 0, 0);
    const r = this.sys(this.nr, cmd, this.base, ELEM_ATTR.size);
    return r < 0 ? -this.libc.koffi.errno() : r;
  }

  /** GET_NEXT_KEY: key in (the pre-filled KN attr), or NULL for the first (the general attr); next key out. */
  private fastNext(fd: number, key: Uint8Array | null, next: Uint8Array): number {
    if ((fd !== this.hotFd || fd < 0) && !this.heat(fd)) return SLOW;
    const ks = this.hotKs;
    if ((key !== null && (!(key instanceof Uint8Array) || key.length !== ks)) ||
        !(next instanceof Uint8Array) || next.length !== ks) return SLOW;
    const u8 = this.u8, ko = this.keyOff, no = this.nextOff;
    let r: number;
    if (key !== null) {
      if (ks <= SMALL_COPY) for (let i = 0; i < ks; i++) u8[ko + i] = key[i]!;
      else u8.set(key, ko);
      this.dv.setUint32(KN_ATTR + E.map_fd, fd, true);
      r = this.sys(this.nr, BpfCmd.MAP_GET_NEXT_KEY, this.knAttr, ELEM_ATTR.size);
    } else {
      writeElemAttr(this.dv, fd, 0, 0, this.nextLo, this.nextHi, 0);
      r = this.sys(this.nr, BpfCmd.MAP_GET_NEXT_KEY, this.base, ELEM_ATTR.size);
    }
    if (r < 0) return -this.libc.koffi.errno();
    if (ks <= SMALL_COPY) for (let i = 0; i < ks; i++) next[i] = u8[no + i]!;
    else next.set(u8.subarray(no, no + ks));
    return r;
  }

  /**
   * Where the key goes for a map at shape index `at`: NULL for a keyless map (key_size 0: queue,
   * stack, bloom filter), since the kernel refuses any key pointer for those with EINVAL.
   */
  private keyArg(at: number): number {
    return keyless(at) ? NULL : this.keyOff;
  }

  private elem(cmd: number, fd: number, keyOff: number, valueOff: number, flags: number): number {
    const dv = this.dv;
    // Every byte of the 32-byte attr is written: that is the zeroing the kernel needs.
    dv.setUint32(E.map_fd, fd, true);
    dv.setUint32(E.map_fd + 4, 0, true);
    this.setPtr(E.key, keyOff);
    this.setPtr(E.value, valueOff);
    this.setU64(E.flags, flags);
    return this.bpf(cmd, ELEM_ATTR.size);
  }

  /**
   * Checks key (and value) against the map and copies the inputs in; for an fd that is not a
   * map only their types are checked. Callers then give the kernel NULL for every output of
   * such an fd: it fails the fd first, and were it a map after all, a NULL is EFAULT where an
   * unsized region would be a write past our block. The key is always required, the value is
   * `null` only where the command has none (DELETE): a caller's null key or value is a
   * TypeError, as staging nothing would send the previous call's bytes from scratch.
   */
  private stage(at: number, fd: number, op: string, key: Uint8Array, value: Uint8Array | null, valueIn: boolean): void {
    let ks: number, vs: number;
    if (at >= 0) {
      ks = shapes[at + KEY]! - 1;
      vs = shapes[at + VALUE]!;
      // By the real lengths: a subclass whose byteLength lies would stage too few bytes.
      assertSize(key, ks, "key", op, fd);
      if (value !== null) assertSize(value, vs, "value", op, fd);
      // The map may have been learnt by another driver of this process: size our regions.
      this.ensure(ks, vs, 0, op);
    } else {
      assertBytes(key, "key", op);
      if (value !== null) assertBytes(value, "value", op);
      ks = realByteLength(key);
      vs = valueIn && value !== null ? realByteLength(value) : 0;
      this.ensure(ks, vs, 0, op);
    }
    copyIn(this.u8, this.keyOff, key, ks);
    if (valueIn && value !== null) copyIn(this.u8, this.valueOff, value, vs);
  }

  mapLookupElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number {
    const fast = this.fastOut(BpfCmd.MAP_LOOKUP_ELEM, fd, key, value, flags);
    if (fast !== SLOW) return fast;
    if (value === null) assertBytes(value, "value", OP.lookup);
    const at = this.shapeOf(fd, OP.lookup);
    const f = flags === undefined || flags === 0 ? 0 : u64Arg(flags, "flags", OP.lookup);
    // A keyless map's value goes in too: a bloom filter's LOOKUP reads it as the query.
    this.stage(at, fd, OP.lookup, key, value, keyless(at));
    const r = this.elem(BpfCmd.MAP_LOOKUP_ELEM, fd, this.keyArg(at), at >= 0 ? this.valueOff : NULL, f);
    if (r >= 0 && at >= 0) copyOut(value, this.u8, this.valueOff, shapes[at + VALUE]!);
    return r;
  }

  mapUpdateElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number {
    const fast = this.fastIn(BpfCmd.MAP_UPDATE_ELEM, fd, key, value, flags);
    if (fast !== SLOW) return fast;
    if (value === null) assertBytes(value, "value", OP.update);
    const at = this.shapeOf(fd, OP.update);
    const f = flags === undefined || flags === 0 ? 0 : u64Arg(flags, "flags", OP.update);
    this.stage(at, fd, OP.update, key, value, true);
    return this.elem(BpfCmd.MAP_UPDATE_ELEM, fd, this.keyArg(at), this.valueOff, f);
  }

  mapDeleteElem(fd: number, key: Uint8Array): number {
    const fast = this.fastKey(BpfCmd.MAP_DELETE_ELEM, fd, key);
    if (fast !== SLOW) return fast;
    const at = this.shapeOf(fd, OP.delete);
    this.stage(at, fd, OP.delete, key, null, false);
    return this.elem(BpfCmd.MAP_DELETE_ELEM, fd, this.keyArg(at), NULL, 0);
  }

  mapGetNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): number {
    const fast = this.fastNext(fd, key, nextKey);
    if (fast !== SLOW) return fast;
    const op = OP.nextKey;
    const at = this.shapeOf(fd, op);
    let ks: number;
    if (at >= 0) {
      ks = shapes[at + KEY]! - 1;
      assertSize(nextKey, ks, "nextKey", op, fd);
      this.ensure(ks, 0, 0, op);
    } else {
      assertBytes(nextKey, "nextKey", op);
      ks = realByteLength(nextKey);
    }
    if (key !== null) this.stage(at, fd, op, key, null, false);
    const r = this.elem(BpfCmd.MAP_GET_NEXT_KEY, fd, key === null ? NULL : this.keyArg(at), at >= 0 ? this.nextOff : NULL, 0);
    if (r >= 0 && at >= 0) copyOut(nextKey, this.u8, this.nextOff, ks);
    return r;
  }

  mapLookupAndDeleteElem(fd: number, key: Uint8Array, value: Uint8Array, flags?: number): number {
    const fast = this.fastOut(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, fd, key, value, flags);
    if (fast !== SLOW) return fast;
    if (value === null) assertBytes(value, "value", OP.lookupAndDelete);
    const at = this.shapeOf(fd, OP.lookupAndDelete);
    const f = flags === undefined || flags === 0 ? 0 : u64Arg(flags, "flags", OP.lookupAndDelete);
    this.stage(at, fd, OP.lookupAndDelete, key, value, false);
    const r = this.elem(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, fd, this.keyArg(at), at >= 0 ? this.valueOff : NULL, f);
    if (r >= 0 && at >= 0) copyOut(value, this.u8, this.valueOff, shapes[at + VALUE]!);
    return r;
  }

  mapFreeze(fd: number): number {
    assertFd(fd, OP.freeze);
    this.attr(ELEM_ATTR.size).setUint32(E.map_fd, fd, true);
    return this.bpf(BpfCmd.MAP_FREEZE, ELEM_ATTR.size);
  }

  // ---- batches ----

  mapLookupBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number,
    elemFlags?: number): BatchResult {
    return this.lookupBatch(BpfCmd.MAP_LOOKUP_BATCH, OP.lookupBatch, fd, inBatch, outBatch, keys, values, count, elemFlags);
  }

  mapLookupAndDeleteBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number,
    elemFlags?: number): BatchResult {
    return this.lookupBatch(BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH, OP.lookupAndDeleteBatch, fd, inBatch, outBatch, keys, values, count, elemFlags);
  }

  private lookupBatch(cmd: number, op: string, fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number,
    elemFlags: number | undefined): BatchResult {
    const at = this.shapeOf(fd, op);
    assertU32(count, "count", op);
    const f = u64Arg(elemFlags, "elemFlags", op);
    let tokenSize: number, keySize: number, valueSize: number;
    if (at >= 0) {
      tokenSize = shapes[at + TOKEN]!;
      keySize = shapes[at + KEY]! - 1;
      valueSize = shapes[at + VALUE]!;
      if (inBatch !== null) assertSize(inBatch, tokenSize, "inBatch", op, fd);
      assertSize(outBatch, tokenSize, "outBatch", op, fd);
      assertBatchBuffer(keys, count, keySize, "keys", op, fd);
      assertBatchBuffer(values, count, valueSize, "values", op, fd);
    } else {
      if (inBatch !== null) assertBytes(inBatch, "inBatch", op);
      assertBytes(outBatch, "outBatch", op);
      assertBytes(keys, "keys", op);
      assertBytes(values, "values", op);
      // Not a map: only in_batch is staged (the kernel may read it); outputs go as NULL.
      tokenSize = inBatch === null ? 0 : realByteLength(inBatch);
      keySize = valueSize = 0;
    }
    const t8 = align8(tokenSize);
    const kBytes = count * keySize;
    this.ensure(0, 0, 2 * t8 + align8(kBytes) + count * valueSize, op);
    const inOff = this.auxOff, outOff = inOff + t8, keysOff = outOff + t8, valuesOff = keysOff + align8(kBytes);
    if (inBatch !== null) copyIn(this.u8, inOff, inBatch, tokenSize);
    // The token goes in as the caller's bytes, so an early error hands them back unchanged.
    if (at >= 0) copyIn(this.u8, outOff, outBatch, tokenSize);
    const dv = this.attr(BATCH_ATTR.size);
    this.setPtr(B.in_batch, inBatch === null ? NULL : inOff);
    this.setPtr(B.out_batch, at >= 0 ? outOff : NULL);
    this.setPtr(B.keys, at >= 0 ? keysOff : NULL);
    this.setPtr(B.values, at >= 0 ? valuesOff : NULL);
    dv.setUint32(B.count, count, true);
    dv.setUint32(B.map_fd, fd, true);
    this.setU64(B.elem_flags, f);
    const r = this.bpf(cmd, BATCH_ATTR.size);
    const got = dv.getUint32(B.count, true);
    if (at >= 0) {
      copyOut(outBatch, this.u8, outOff, tokenSize);
      // Early errors (EINVAL, EPERM, …) leave count as it was and write nothing; otherwise the
      // first `got` elements are the kernel's (also on ENOENT, the end of the map).
      if (r >= 0 || r === -Errno.ENOENT || got < count) {
        const n = Math.min(got, count);
        if (n > 0) {
          copyOut(keys, this.u8, keysOff, n * keySize);
          copyOut(values, this.u8, valuesOff, n * valueSize);
        }
      }
    }
    this.trimAux();
    return { errno: r < 0 ? -r : 0, count: got };
  }

  mapUpdateBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number, elemFlags?: number): BatchResult {
    const op = OP.updateBatch;
    const at = this.shapeOf(fd, op);
    assertU32(count, "count", op);
    const f = u64Arg(elemFlags, "elemFlags", op);
    let keySize = 0, valueSize = 0;
    if (at >= 0) {
      keySize = shapes[at + KEY]! - 1;
      valueSize = shapes[at + VALUE]!;
      assertBatchBuffer(keys, count, keySize, "keys", op, fd);
      assertBatchBuffer(values, count, valueSize, "values", op, fd);
    } else {
      assertBytes(keys, "keys", op);
      assertBytes(values, "values", op);
    }
    const kBytes = count * keySize, vBytes = count * valueSize;
    this.ensure(0, 0, align8(kBytes) + vBytes, op);
    const keysOff = this.auxOff, valuesOff = keysOff + align8(kBytes);
    if (kBytes > 0) this.u8.set(keys.subarray(0, kBytes), keysOff);
    if (vBytes > 0) this.u8.set(values.subarray(0, vBytes), valuesOff);
    const dv = this.attr(BATCH_ATTR.size);
    this.setPtr(B.keys, keysOff);
    this.setPtr(B.values, valuesOff);
    dv.setUint32(B.count, count, true);
    dv.setUint32(B.map_fd, fd, true);
    this.setU64(B.elem_flags, f);
    const r = this.bpf(BpfCmd.MAP_UPDATE_BATCH, BATCH_ATTR.size);
    const done = dv.getUint32(B.count, true);
    this.trimAux();
    return { errno: r < 0 ? -r : 0, count: done };
  }

  mapDeleteBatch(fd: number, keys: Uint8Array, count: number): BatchResult {
    const op = OP.deleteBatch;
    const at = this.shapeOf(fd, op);
    assertU32(count, "count", op);
    let keySize = 0;
    if (at >= 0) {
      keySize = shapes[at + KEY]! - 1;
      assertBatchBuffer(keys, count, keySize, "keys", op, fd);
    } else {
      assertBytes(keys, "keys", op);
    }
    const kBytes = count * keySize;
    this.ensure(0, 0, kBytes, op);
    if (kBytes > 0) this.u8.set(keys.subarray(0, kBytes), this.auxOff);
    const dv = this.attr(BATCH_ATTR.size);
    this.setPtr(B.keys, this.auxOff);
    dv.setUint32(B.count, count, true);
    dv.setUint32(B.map_fd, fd, true);
    const r = this.bpf(BpfCmd.MAP_DELETE_BATCH, BATCH_ATTR.size);
    const done = dv.getUint32(B.count, true);
    this.trimAux();
    return { errno: r < 0 ? -r : 0, count: done };
  }

  // ---- maps, objects, ids ----

  mapCreate(attr: MapCreateAttr): number {
    const op = OP.create;
    if (typeof attr !== "object" || attr === null) throw new TypeError(`${op}: attr must be an object`);
    // Required by the Driver contract: a missing one is a TypeError, as on the simulator, not 0.
    const { mapType, keySize, valueSize, maxEntries } = attr;
    assertU32(mapType, "mapType", op);
    assertU32(keySize, "keySize", op);
    assertU32(valueSize, "valueSize", op);
    assertU32(maxEntries, "maxEntries", op);
    const mapFlags = u32Arg(attr.mapFlags, "mapFlags", op);
    const numaNode = u32Arg(attr.numaNode, "numaNode", op);
    const inner = attr.innerMapFd ?? 0;
    assertFd(inner, op);
    const name = cStringArg(attr.mapName, "mapName", op);
    const mapExtra = optU64Bigint(attr.mapExtra, "mapExtra", op);
    // BTF changes no size the driver checks buffers by: the kernel holds key_size and
    // value_size to the types' sizes, and a value's spin lock or timer is inside value_size.
    const btfFd = u32Arg(attr.btfFd, "btfFd", op);
    const btfKey = u32Arg(attr.btfKeyTypeId, "btfKeyTypeId", op);
    const btfValue = u32Arg(attr.btfValueTypeId, "btfValueTypeId", op);
    const dv = this.attr(MAP_CREATE_ATTR.size);
    dv.setUint32(C.map_type, mapType, true);
    dv.setUint32(C.key_size, keySize, true);
    dv.setUint32(C.value_size, valueSize, true);
    dv.setUint32(C.max_entries, maxEntries, true);
    dv.setUint32(C.map_flags, mapFlags, true);
    dv.setUint32(C.inner_map_fd, inner >>> 0, true);
    dv.setUint32(C.numa_node, numaNode, true);
    dv.setBigUint64(C.map_extra, mapExtra, true);
    dv.setUint32(C.btf_fd, btfFd, true);
    dv.setUint32(C.btf_key_type_id, btfKey, true);
    dv.setUint32(C.btf_value_type_id, btfValue, true);
    // Cut to the field: a 16-byte name has no NUL and the kernel says EINVAL, as it should.
    putName(this.u8, C.map_name, name);
    return this.adopt(this.bpf(BpfCmd.MAP_CREATE, MAP_CREATE_ATTR.size), (fd) => this.remember(fd, mapType, keySize, valueSize));
  }

  private pathAttr(path: string, op: string): void {
    assertPath(path, op);
    this.putCString(path, 0, op);
    this.attr(OBJ_ATTR.size);
    this.setPtr(O.pathname, this.auxOff);
  }

  objPin(fd: number, path: string): number {
    assertFd(fd, OP.pin);
    this.pathAttr(path, OP.pin);
    this.dv.setUint32(O.bpf_fd, fd, true);
    return this.bpf(BpfCmd.OBJ_PIN, OBJ_ATTR.size);
  }

  objGet(path: string, fileFlags?: number): number {
    const flags = u32Arg(fileFlags, "fileFlags", OP.get);
    this.pathAttr(path, OP.get);
    this.dv.setUint32(O.file_flags, flags, true);
    return this.adopt(this.bpf(BpfCmd.OBJ_GET, OBJ_ATTR.size), (fd) => this.learn(fd));
  }

  private nextId(cmd: number, op: string, startId: number): number {
    assertU32(startId, "startId", op);
    const dv = this.attr(ID_ATTR.size);
    dv.setUint32(I.start_id, startId, true);
    const r = this.bpf(cmd, ID_ATTR.size);
    return r < 0 ? r : dv.getUint32(I.next_id, true);
  }

  mapGetNextId(startId: number): number {
    return this.nextId(BpfCmd.MAP_GET_NEXT_ID, OP.mapNextId, startId);
  }

  progGetNextId(startId: number): number {
    return this.nextId(BpfCmd.PROG_GET_NEXT_ID, OP.progNextId, startId);
  }

  private fdById(cmd: number, op: string, id: number, openFlags: number | undefined): number {
    assertU32(id, "id", op);
    const flags = u32Arg(openFlags, "openFlags", op);
    const dv = this.attr(ID_ATTR.size);
    dv.setUint32(I.start_id, id, true);
    dv.setUint32(I.open_flags, flags, true);
    return this.bpf(cmd, ID_ATTR.size);
  }

  mapGetFdById(id: number, openFlags?: number): number {
    return this.adopt(this.fdById(BpfCmd.MAP_GET_FD_BY_ID, OP.mapFdById, id, openFlags), (fd) => this.learn(fd));
  }

  progGetFdById(id: number, openFlags?: number): number {
    return this.adopt(this.fdById(BpfCmd.PROG_GET_FD_BY_ID, OP.progFdById, id, openFlags));
  }

  objGetInfoByFd(fd: number, info: Uint8Array): number {
    assertFd(fd, OP.info);
    assertBytes(info, "info", OP.info);
    // The struct goes in zeroed, not as the caller's bytes: bpf_prog_info holds pointers
    // (map_ids, jited_prog_insns, …) the kernel would write through.
    // The kernel takes info_len up to PAGE_SIZE (bpf_check_uarg_tail_zero) and reads all of it,
    // the tail past its struct being zero: stage that much (16 or 64 KiB on some arm64 kernels),
    // never more. A staged 4096 let a 64 KiB-page kernel read the block's other bytes as the tail.
    const infoBytes = realByteLength(info);
    const stage = Math.min(infoBytes, this.pageSize);
    this.ensure(0, 0, stage, OP.info);
    this.u8.fill(0, this.auxOff, this.auxOff + stage);
    const dv = this.attr(INFO_ATTR.size);
    dv.setUint32(N.bpf_fd, fd, true);
    // Saturated, not wrapped: a 4 GiB buffer is "too long" (E2BIG), never info_len 0.
    dv.setUint32(N.info_len, Math.min(infoBytes, 0xffff_ffff), true);
    this.setPtr(N.info, this.auxOff);
    const r = this.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, INFO_ATTR.size);
    if (r < 0) return r;
    const n = Math.min(dv.getUint32(N.info_len, true), stage);
    copyOut(info, this.u8, this.auxOff, n);
    return n;
  }

  progGetMapIds(fd: number, ids: Uint32Array): number {
    assertFd(fd, OP.info);
    assertIds(ids, OP.info);
    // 6.18 copies a map's info in from the caller before filling it, so for a map the ids'
    // count would come back as we sent it, with no ids written. Only a program's fd goes on (as
    // host.objKind reads it); an fd that is not open does too, for the kernel's own errno.
    const kind = this.host.objKind?.(fd);
    if (typeof kind === "object" && kind.kind !== "prog") return -Errno.EINVAL;
    // The verifier takes at most MAX_USED_MAPS (64) maps, so the first ask stages room for that
    // many at most: a huge `ids` does not size the scratch. BPF_PROG_BIND_MAP adds maps past that
    // limit, so a program that has more is asked again with room for them all (or for `ids`).
    let asked = Math.min(ids.length, MAX_USED_MAPS);
    for (;;) {
      const n = this.askMapIds(fd, asked);
      if (n < 0) return n;
      if (n > asked && asked < ids.length) {
        asked = Math.min(ids.length, n);
        continue;
      }
      const written = new DataView(this.u8.buffer, this.u8.byteOffset + this.auxOff + PROG_INFO_TO_MAP_IDS, 4 * asked);
      for (let i = 0; i < Math.min(n, asked); i++) ids[i] = written.getUint32(4 * i, true);
      this.trimAux();
      return n;
    }
  }

  /** One OBJ_GET_INFO_BY_FD with room for `asked` map ids in the scratch: nr_map_ids or -errno. */
  private askMapIds(fd: number, asked: number): number {
    // bpf_prog_info up to and including map_ids, zeroed, then the ids' room.
    this.ensure(0, 0, PROG_INFO_TO_MAP_IDS + 4 * asked, OP.info);
    const idsOff = this.auxOff + PROG_INFO_TO_MAP_IDS;
    // The ids' room too: should the fd change under us (another thread), no stale bytes come out.
    this.u8.fill(0, this.auxOff, idsOff + 4 * asked);
    const info = new DataView(this.u8.buffer, this.u8.byteOffset + this.auxOff, PROG_INFO_TO_MAP_IDS);
    info.setUint32(PI.nr_map_ids, asked, true);
    this.setPtr(this.auxOff + PI.map_ids, idsOff);
    const dv = this.attr(INFO_ATTR.size);
    dv.setUint32(N.bpf_fd, fd, true);
    dv.setUint32(N.info_len, PROG_INFO_TO_MAP_IDS, true);
    this.setPtr(N.info, this.auxOff);
    const r = this.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, INFO_ATTR.size);
    return r < 0 ? r : info.getUint32(PI.nr_map_ids, true);
  }

  // ---- BTF ----

  /**
   * BPF_BTF_LOAD. The blob is staged at its exact length (btf_size) and the log buffer after
   * it, a copy of the caller's, at its exact length (btf_log_size); the checker writes its log on
   * success and failure alike, and it comes back into `attr.logBuf` whole. An empty blob goes
   * too: the kernel's EINVAL is the answer.
   */
  btfLoad(attr: BtfLoadAttr): number {
    const op = OP.btfLoad;
    if (typeof attr !== "object" || attr === null) throw new TypeError(`${op}: attr must be an object`);
    // Each field read once, each length through the intrinsic getter (as progLoad does).
    const btf = attr.btf;
    assertBytes(btf, "btf", op);
    const btfBytes = realByteLength(btf);
    if (btfBytes > 0xffff_ffff) throw new RangeError(`${op}: btf is ${btfBytes} bytes, more than btf_size can say`);
    const logLevel = u32Arg(attr.logLevel, "logLevel", op);
    const log = attr.logBuf ?? null;
    let logBytes = 0;
    if (log !== null) {
      assertBytes(log, "logBuf", op);
      logBytes = realByteLength(log);
      if (logBytes > 0xffff_ffff) throw new RangeError(`${op}: logBuf is ${logBytes} bytes, more than btf_log_size can say`);
    }
    const trueSize = outU32Arg(attr.logTrueSize, "logTrueSize", op);
    const logAt = align8(btfBytes);
    this.ensure(0, 0, logAt + logBytes, op);
    copyIn(this.u8, this.auxOff, btf, btfBytes);
    // The caller's own bytes, so those the checker does not write come back as they were.
    if (logBytes > 0) copyIn(this.u8, this.auxOff + logAt, log!, logBytes);
    const dv = this.attr(BTF_LOAD_ATTR.size);
    this.setPtr(L.btf, this.auxOff);
    dv.setUint32(L.btf_size, btfBytes, true);
    // A buffer of 0 bytes is still a buffer: the kernel says EINVAL (a pointer without a size).
    this.setPtr(L.btf_log_buf, log === null ? NULL : this.auxOff + logAt);
    dv.setUint32(L.btf_log_size, logBytes, true);
    dv.setUint32(L.btf_log_level, logLevel, true);
    const fd = this.bpf(BpfCmd.BTF_LOAD, BTF_LOAD_ATTR.size);
    // Still 0 from attr() where the kernel failed before its log began.
    if (trueSize !== null) trueSize[0] = dv.getUint32(L.btf_log_true_size, true);
    if (logBytes > 0) log!.set(this.u8.subarray(this.auxOff + logAt, this.auxOff + logAt + logBytes));
    this.trimAux();
    return this.adopt(fd);
  }

  btfGetFdById(id: number): number {
    return this.adopt(this.fdById(BpfCmd.BTF_GET_FD_BY_ID, OP.btfFdById, id, undefined));
  }

  btfGetNextId(startId: number): number {
    return this.nextId(BpfCmd.BTF_GET_NEXT_ID, OP.btfNextId, startId);
  }

  /**
   * OBJ_GET_INFO_BY_FD with a `bpf_btf_info`: its `btf` pointer at a region of `data`'s length,
   * its `name` at one of MODULE_NAME_LEN bytes (so ENOSPC never comes from our buffer). A map's,
   * program's or link's fd is EINVAL before the call: the kernel would fill that object's info
   * into our struct, reading its pointers as other fields (a program's jited_prog_insns).
   */
  btfGetInfo(fd: number, data: Uint8Array | null): BtfInfo | number {
    const op = OP.info;
    assertFd(fd, op);
    if (data !== null) assertBytes(data, "data", op);
    const dataBytes = data === null ? 0 : realByteLength(data);
    if (dataBytes > 0xffff_ffff) throw new RangeError(`${op}: data is ${dataBytes} bytes, more than btf_size can say`);
    // The probe and the query go to a private dup: another thread could close `fd` between them
    // and its number go to a link, whose info would read our pointers as other fields (a
    // kprobe_multi link's count as name_len) and write past the name buffer. A dup holds one
    // object for both calls. A number that is not open is the info call's EBADFD, as without it.
    if (fd < 0) return -Errno.EBADFD;
    const own = this.libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
      const e = this.libc.koffi.errno();
      return e === Errno.EBADF ? -Errno.EBADFD : -e;
    }
    try {
      return this.#btfInfoOf(own, data, dataBytes, op);
    } finally {
      this.libc.close(own);
    }
  }

  /** btfGetInfo on an fd no other thread can close meanwhile. */
  #btfInfoOf(fd: number, data: Uint8Array | null, dataBytes: number, op: string): BtfInfo | number {
    const nameAt = BPF_BTF_INFO.size, dataAt = nameAt + BTF_NAME_LEN;
    this.ensure(0, 0, dataAt + dataBytes, op);
    const aux = this.auxOff;
    // What the fd is, from the kernel (procfs may be absent): 8 zero bytes of info come back
    // zero from a BTF object only. An fd that is not open, or not BPF, answers here (EBADF, EINVAL).
    this.u8.fill(0, aux, aux + KIND_PROBE);
    let dv = this.attr(INFO_ATTR.size);
    dv.setUint32(N.bpf_fd, fd, true);
    dv.setUint32(N.info_len, KIND_PROBE, true);
    this.setPtr(N.info, aux);
    const probed = this.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, INFO_ATTR.size);
    const notBtf = probed >= 0 && (dv.getUint32(aux, true) !== 0 || dv.getUint32(aux + 4, true) !== 0);
    if (probed < 0 || notBtf) {
      this.trimAux();
      return notBtf ? -Errno.EINVAL : probed;
    }
    this.u8.fill(0, aux, aux + dataAt);
    const info = new DataView(this.u8.buffer, this.u8.byteOffset + aux, dataAt);
    if (dataBytes > 0) this.setPtr(aux + BI.btf, aux + dataAt);
    info.setUint32(BI.btf_size, dataBytes, true);
    this.setPtr(aux + BI.name, aux + nameAt);
    info.setUint32(BI.name_len, BTF_NAME_LEN, true);
    dv = this.attr(INFO_ATTR.size);
    dv.setUint32(N.bpf_fd, fd, true);
    dv.setUint32(N.info_len, BPF_BTF_INFO.size, true);
    this.setPtr(N.info, aux);
    const r = this.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, INFO_ATTR.size);
    if (r < 0) {
      this.trimAux();
      return r;
    }
    const btfSize = info.getUint32(BI.btf_size, true);
    const nameLen = Math.min(info.getUint32(BI.name_len, true), BTF_NAME_LEN - 1);
    const result: BtfInfo = {
      id: info.getUint32(BI.id, true),
      btfSize,
      name: Buffer.from(this.u8.buffer, this.u8.byteOffset + aux + nameAt, nameLen).toString("utf8"),
      kernelBtf: info.getUint32(BI.kernel_btf, true) !== 0,
    };
    // Only what the kernel wrote: bytes of `data` past the raw BTF stay as they were.
    const copied = Math.min(dataBytes, btfSize);
    if (copied > 0) copyOut(data!, this.u8, aux + dataAt, copied);
    this.trimAux();
    return result;
  }

  // ---- programs ----

  /**
   * PROG_LOAD. Beyond the Driver's ProgLoadAttr, a `log` buffer and `logLevel` (1 or 2) ask for
   * the verifier's log: the kernel writes at most `log.byteLength` bytes, NUL-terminated.
   * `funcInfo` and `lineInfo` are staged whole (count × rec size, the bytes the kernel reads),
   * and an absent or empty one goes as pointer 0, count 0.
   */
  progLoad(attr: KernelProgLoadAttr): number {
    const op = OP.progLoad;
    if (typeof attr !== "object" || attr === null) throw new TypeError(`${op}: attr must be an object`);
    const progType = attr.progType;
    assertU32(progType, "progType", op);
    // Each field read once and each length through the intrinsic getter: a getter returning
    // other bytes on a later read, or a subclass whose byteLength lies, once set log_size past
    // what was staged and threw after the load, leaking the program's fd.
    const insns = attr.insns;
    assertBytes(insns, "insns", op);
    const insnBytes = realByteLength(insns);
    if (insnBytes % 8 !== 0) {
      throw new RangeError(`${op}: insns is ${insnBytes} bytes, not a whole number of 8-byte instructions`);
    }
    const license = attr.license;
    if (typeof license !== "string") throw new TypeError(`${op}: license must be a string, got ${describeValue(license)}`);
    cStringArg(license, "license", op);
    const expected = u32Arg(attr.expectedAttachType, "expectedAttachType", op);
    const name = cStringArg(attr.progName, "progName", op);
    const logLevel = u32Arg(attr.logLevel, "logLevel", op);
    const log = attr.log ?? null;
    let logBytes = 0;
    if (log !== null) {
      assertBytes(log, "log", op);
      logBytes = realByteLength(log);
      if (logBytes > 0xffff_ffff) throw new RangeError(`${op}: log is ${logBytes} bytes, more than log_size can say`);
    }
    const trueSize = outU32Arg(attr.logTrueSize, "logTrueSize", op);
    const btfFd = u32Arg(attr.progBtfFd, "progBtfFd", op);
    const func = infoRecordsArg(attr.funcInfo, attr.funcInfoRecSize, "funcInfo", BPF_FUNC_INFO.size, op);
    const line = infoRecordsArg(attr.lineInfo, attr.lineInfoRecSize, "lineInfo", BPF_LINE_INFO.size, op);
    const licenseAt = align8(insnBytes);
    const logAt = licenseAt + align8(Buffer.byteLength(license) + 1);
    const funcAt = logAt + align8(logBytes);
    const lineAt = funcAt + align8(func.byteLength);
    this.ensure(0, 0, lineAt + line.byteLength, op);
    this.putCString(license, licenseAt, op);
    copyIn(this.u8, this.auxOff, insns, insnBytes);
    // The caller's own bytes, so those the verifier does not write come back as they were.
    if (log !== null && logBytes > 0) copyIn(this.u8, this.auxOff + logAt, log, logBytes);
    if (func.count > 0) copyIn(this.u8, this.auxOff + funcAt, func.bytes!, func.byteLength);
    if (line.count > 0) copyIn(this.u8, this.auxOff + lineAt, line.bytes!, line.byteLength);
    const dv = this.attr(PROG_LOAD_ATTR.size);
    dv.setUint32(P.prog_type, progType, true);
    dv.setUint32(P.insn_cnt, insnBytes / 8, true);
    this.setPtr(P.insns, this.auxOff);
    this.setPtr(P.license, this.auxOff + licenseAt);
    dv.setUint32(P.log_level, logLevel, true);
    dv.setUint32(P.log_size, logBytes, true);
    this.setPtr(P.log_buf, log === null ? NULL : this.auxOff + logAt);
    dv.setUint32(P.expected_attach_type, expected, true);
    putName(this.u8, P.prog_name, name);
    dv.setUint32(P.prog_btf_fd, btfFd, true);
    dv.setUint32(P.func_info_rec_size, func.recSize, true);
    this.setPtr(P.func_info, func.count > 0 ? this.auxOff + funcAt : NULL);
    dv.setUint32(P.func_info_cnt, func.count, true);
    dv.setUint32(P.line_info_rec_size, line.recSize, true);
    this.setPtr(P.line_info, line.count > 0 ? this.auxOff + lineAt : NULL);
    dv.setUint32(P.line_info_cnt, line.count, true);
    const fd = this.bpf(BpfCmd.PROG_LOAD, PROG_LOAD_ATTR.size);
    if (trueSize !== null) trueSize[0] = dv.getUint32(P.log_true_size, true);
    // The verifier writes its log on success and on failure alike.
    if (log !== null && logBytes > 0) log.set(this.u8.subarray(this.auxOff + logAt, this.auxOff + logAt + logBytes));
    this.trimAux();
    return this.adopt(fd);
  }


  progAttach(targetFd: number, progFd: number, attachType: number, flags?: number): number {
    const op = OP.progAttach;
    assertFd(targetFd, op);
    assertFd(progFd, op);
    const type = u32Arg(attachType, "attachType", op);
    const f = u32Arg(flags, "flags", op);
    const dv = this.attr(PROG_ATTACH_ATTR.size);
    dv.setUint32(A.target_fd, targetFd >>> 0, true);
    dv.setUint32(A.attach_bpf_fd, progFd >>> 0, true);
    dv.setUint32(A.attach_type, type, true);
    dv.setUint32(A.attach_flags, f, true);
    return this.bpf(BpfCmd.PROG_ATTACH, PROG_ATTACH_ATTR.size);
  }

  /**
   * BPF_PROG_TEST_RUN. Each buffer is staged in the scratch block at its exact length, and each
   * size field is that length. An absent or empty buffer goes as pointer 0 and size 0: with
   * data_out set and data_size_out 0, bpf_test_finish copies the whole packet, whatever its size.
   * The output regions start as the caller's bytes and are copied back whole, so a byte the kernel
   * did not write (past the packet, or every byte when it wrote none) comes back as it was.
   */
  progTestRun(fd: number, attr: ProgTestRunAttr): ProgTestRunResult {
    const op = OP.testRun;
    assertFd(fd, op);
    if (typeof attr !== "object" || attr === null) throw new TypeError(`${op}: attr must be an object`);
    // Each field read once: a getter cannot hand the checks one buffer and the copies another.
    const dataIn = testBuffer(attr.dataIn, "dataIn", op);
    const dataOut = testBuffer(attr.dataOut, "dataOut", op);
    const ctxIn = testBuffer(attr.ctxIn, "ctxIn", op);
    const ctxOut = testBuffer(attr.ctxOut, "ctxOut", op);
    const repeat = u32Arg(attr.repeat, "repeat", op);
    const flags = u32Arg(attr.flags, "flags", op);
    const cpu = u32Arg(attr.cpu, "cpu", op);
    const sizes = [dataIn, dataOut, ctxIn, ctxOut].map((b) => (b === null ? 0 : realByteLength(b)));
    for (const [i, what] of ["dataIn", "dataOut", "ctxIn", "ctxOut"].entries()) {
      if (sizes[i]! > 0xffff_ffff) throw new RangeError(`${op}: ${what} is ${sizes[i]} bytes, more than a u32 size can say`);
    }
    const [inBytes, outBytes, ctxInBytes, ctxOutBytes] = sizes as [number, number, number, number];
    const inAt = 0, outAt = align8(inBytes), ctxInAt = outAt + align8(outBytes), ctxOutAt = ctxInAt + align8(ctxInBytes);
    this.ensure(0, 0, ctxOutAt + ctxOutBytes, op);
    const aux = this.auxOff;
    if (inBytes > 0) copyIn(this.u8, aux + inAt, dataIn!, inBytes);
    if (outBytes > 0) copyIn(this.u8, aux + outAt, dataOut!, outBytes);
    if (ctxInBytes > 0) copyIn(this.u8, aux + ctxInAt, ctxIn!, ctxInBytes);
    if (ctxOutBytes > 0) copyIn(this.u8, aux + ctxOutAt, ctxOut!, ctxOutBytes);
    const dv = this.attr(PROG_TEST_RUN_ATTR.size);
    dv.setUint32(T.prog_fd, fd >>> 0, true);
    dv.setUint32(T.data_size_in, inBytes, true);
    dv.setUint32(T.data_size_out, outBytes, true);
    this.setPtr(T.data_in, inBytes > 0 ? aux + inAt : NULL);
    this.setPtr(T.data_out, outBytes > 0 ? aux + outAt : NULL);
    dv.setUint32(T.repeat, repeat, true);
    dv.setUint32(T.ctx_size_in, ctxInBytes, true);
    dv.setUint32(T.ctx_size_out, ctxOutBytes, true);
    this.setPtr(T.ctx_in, ctxInBytes > 0 ? aux + ctxInAt : NULL);
    this.setPtr(T.ctx_out, ctxOutBytes > 0 ? aux + ctxOutAt : NULL);
    dv.setUint32(T.flags, flags, true);
    dv.setUint32(T.cpu, cpu, true);
    const r = this.bpf(BpfCmd.PROG_TEST_RUN, PROG_TEST_RUN_ATTR.size);
    const result: ProgTestRunResult = {
      errno: r < 0 ? -r : 0,
      retval: dv.getUint32(T.retval, true),
      duration: dv.getUint32(T.duration, true),
      dataSizeOut: dv.getUint32(T.data_size_out, true),
      ctxSizeOut: dv.getUint32(T.ctx_size_out, true),
    };
    if (outBytes > 0) dataOut!.set(this.u8.subarray(aux + outAt, aux + outAt + outBytes));
    if (ctxOutBytes > 0) ctxOut!.set(this.u8.subarray(aux + ctxOutAt, aux + ctxOutAt + ctxOutBytes));
    this.trimAux();
    return result;
  }

  /** /proc/self/fdinfo/<fd>: frozen, memlock and a PROG_ARRAY's owner (map-fdinfo.ts). */
  mapFdInfo(fd: number): MapFdInfo | number {
    return readMapFdInfo(fd);
  }

  // ---- mmap of BPF_F_MMAPABLE arrays (mmap.ts) ----

  mapMmap(fd: number, length: number, writable: boolean, offset?: number): number {
    return this.table().map(fd, length, writable, offset, (f) => this.mappedKind(f));
  }

  /**
   * A map, a perf event (its ring), or ENODEV for any other fd mmap(2) took, as the kernel
   * answers for a program: the Driver maps those two only, and a file's pages past its end are
   * SIGBUS on a load. An ARENA made with BPF_F_SEGV_ON_FAULT is ENOTSUPP: arena_vm_fault answers
   * SIGSEGV for a page no program allocated, and user space cannot tell which those are. Asked
   * of the fd as it is now, not of the shape table: a number closed behind the driver's back may
   * name a file or another map since.
   */
  private mappedKind(fd: number): MappedKind {
    let link: string | undefined;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // No procfs: OBJ_GET_INFO_BY_FD still tells a map (mmap(2) refused programs and BTF).
    }
    if (link === "anon_inode:[perf_event]") return "perf";
    if (link !== undefined && link !== "anon_inode:bpf-map") return Errno.ENODEV;
    const info = new Uint8Array(BPF_MAP_INFO.size);
    if (this.objGetInfoByFd(fd, info) < 0) {
      // Without procfs nothing tells a perf event from a file: mapped as a perf event's ring, as
      // every fd that was no map was before, so that a reader still works there.
      return link === undefined ? "perf" : Errno.ENODEV;
    }
    const dv = new DataView(info.buffer);
    const faults = dv.getUint32(MI.type, true) === BPF_MAP_TYPE_ARENA && (dv.getUint32(MI.map_flags, true) & BPF_F_SEGV_ON_FAULT) !== 0;
    return faults ? Errno.ENOTSUPP : "map";
  }

  mmapRead(mapping: number, offset: number, dst: Uint8Array): number {
    return this.table().read(mapping, offset, dst);
  }

  mmapWrite(mapping: number, offset: number, src: Uint8Array): number {
    return this.table().write(mapping, offset, src);
  }

  munmap(mapping: number): number {
    return this.table().unmap(mapping);
  }

  /** An Atomics operation on a word of a mapping (mmap.ts): what a program's BPF_ATOMIC does to it. */
  mmapAtomic(mapping: number, offset: number, size: 4 | 8, op: MmapAtomicOp, operand?: bigint, expected?: bigint): bigint | number {
    return this.table().atomic(mapping, offset, size, op, operand, expected);
  }

  /**
   * perf_event_open(2) of a PERF_COUNT_SW_BPF_OUTPUT event on one CPU (perf-event.ts lays out
   * its attributes in the scratch block's attr area), close-on-exec.
   */
  perfEventOpen(attr: PerfEventOpenAttr): number {
    const { cpu, wakeup } = checkPerfEventOpenAttr(attr);
    writePerfEventAttr(this.attr(PERF_ATTR_SIZE), wakeup);
    const r = this.libc.perfEventOpen(this.libc.nrPerfEventOpen, this.base, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return r < 0 ? -this.libc.koffi.errno() : this.adopt(r);
  }

  /** poll(2) of the fd, waiting in this JS thread's one epoll_wait on a libuv pool thread (map-poll.ts). */
  mapPoll(fd: number, timeoutMs: number, signal?: AbortSignalLike): Promise<number> {
    return epollWaits(this.libc).wait(fd, timeoutMs, signal);
  }

  close(fd: number): number {
    assertFd(fd, OP.close);
    forget(fd);
    // A wait on the fd ends (EBADF) and leaves the epoll set while the fd still names the file.
    epollWaitsIfAny()?.forget(fd);
    const r = this.libc.close(fd);
    return r < 0 ? -this.libc.koffi.errno() : r;
  }

  /**
   * fcntl(fd, F_DUPFD_CLOEXEC, 0): the lowest free fd, for the same open file. A map's copy
   * gets the source's shape row at once (no syscall when the source is known), so the element
   * hot path checks its buffers from the first call as it does the source's.
   */
  dup(fd: number): number {
    assertFd(fd, OP.dup);
    // A negative fd would not reach fcntl's EBADF through the shape table either: answer alike.
    if (fd < 0) return -Errno.EBADF;
    const r = this.libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (r < 0) return -this.libc.koffi.errno();
    return this.adopt(r, (copy) => {
      if (shapeIndex(fd) < 0) {
        this.learn(copy);
        return;
      }
      rememberCopy(fd, copy);
      this.fitRegions(copy);
    });
  }
}
