// Argument checks every driver makes before it touches the kernel (or the model): a buffer of
// the wrong size would let bpf(2) read or write past it, so it is a RangeError, never a syscall.
import { isAbortSignalLike, type AbortSignalLike } from "./abort-signal.js";
import { batchTokenSize, userValueSize } from "./constants.js";
import { MMAP_ATOMIC_OPS, type MmapAtomicOp } from "./driver.js";
import { describeValue } from "./describe-value.js";

/** What a driver must know of a map fd to size-check buffers: learned at create/get/info. */
export interface MapShape {
  /** The map type (`BPF_MAP_TYPE_*`). */
  mapType: number;
  /** Bytes of a key (0 for the keyless types). */
  keySize: number;
  /** The kernel's value_size: one CPU's value on a per-CPU map. */
  valueSize: number;
  /** Bytes of one user-space value: per-CPU maps hold `roundUp(valueSize, 8) * cpus`. */
  userValueSize: number;
  /** Bytes of a batch token. */
  tokenSize: number;
}

/**
 * The shape of a map as a driver records it per fd: from the MapCreateAttr it created it with, or
 * from bpf_map_info for an fd it opened (OBJ_GET, GET_FD_BY_ID). `possibleCpus` is the driver's.
 */
export function mapShape(mapType: number, keySize: number, valueSize: number, possibleCpus: number): MapShape {
  return {
    mapType, keySize, valueSize,
    userValueSize: userValueSize(mapType, valueSize, possibleCpus),
    tokenSize: batchTokenSize(mapType, keySize),
  };
}

/** A non-negative-or-negative integer fd; fractions, NaN and non-numbers are TypeErrors. */
export function assertFd(fd: unknown, op: string): asserts fd is number {
  if (typeof fd !== "number" || !Number.isInteger(fd)) {
    throw new TypeError(`${op}: fd must be an integer, got ${describeValue(fd)}`);
  }
  if (fd > 0x7fffffff || fd < -0x80000000) throw new RangeError(`${op}: fd ${fd} is out of range`);
}

/** The longest wait a timer keeps (setTimeout's signed 32-bit count of ms). */
export const MAX_POLL_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * mapPoll's arguments: an fd as assertFd wants it, a timeout in whole ms from 0 to
 * MAX_POLL_TIMEOUT_MS or Infinity (RangeError; a non-number is a TypeError), and a signal that is
 * absent or an AbortSignal (TypeError).
 */
export function assertPollArgs(fd: unknown, timeoutMs: unknown, signal: unknown, op: string): asserts signal is AbortSignalLike | undefined {
  assertFd(fd, op);
  if (typeof timeoutMs !== "number") throw new TypeError(`${op}: timeoutMs must be a number of ms, got ${describeValue(timeoutMs)}`);
  if (timeoutMs !== Number.POSITIVE_INFINITY && !(Number.isInteger(timeoutMs) && timeoutMs >= 0 && timeoutMs <= MAX_POLL_TIMEOUT_MS)) {
    throw new RangeError(`${op}: timeoutMs must be a whole number of ms from 0 to ${MAX_POLL_TIMEOUT_MS}, or Infinity, got ${timeoutMs}`);
  }
  if (signal !== undefined && !isAbortSignalLike(signal)) throw new TypeError(`${op}: signal must be an AbortSignal, got ${describeValue(signal)}`);
}

/**
 * mmapAtomic's arguments, for every driver: the op, the size, the operand and `expected` (bigints
 * in range), and the offset (an integer, a multiple of `size`); the handle and the mapping's
 * length are the driver's to check.
 */
export function assertAtomicArgs(offset: unknown, size: unknown, op: unknown, operand: unknown, expected: unknown, where: string): asserts op is MmapAtomicOp {
  if (typeof op !== "string" || !(MMAP_ATOMIC_OPS as readonly string[]).includes(op)) {
    throw new TypeError(`${where}: op must be one of ${MMAP_ATOMIC_OPS.join(", ")}, got ${describeValue(op)}`);
  }
  if (size !== 4 && size !== 8) throw new RangeError(`${where}: size must be 4 or 8 (a u32 or a u64 word), got ${describeValue(size)}`);
  if (typeof offset !== "number" || !Number.isInteger(offset)) throw new TypeError(`${where}: offset must be an integer, got ${describeValue(offset)}`);
  if (offset < 0 || offset > Number.MAX_SAFE_INTEGER) throw new RangeError(`${where}: offset ${offset} is not a byte offset in the mapping (0 or more)`);
  if (offset % size !== 0) throw new RangeError(`${where}: offset ${offset} is not a multiple of ${size}: an atomic word must be naturally aligned`);
  const max = size === 4 ? 0xffff_ffffn : 0xffff_ffff_ffff_ffffn;
  const word = (v: unknown, what: string) => {
    if (typeof v !== "bigint") throw new TypeError(`${where}: ${what} must be a bigint, got ${describeValue(v)}`);
    if (v < 0n || v > max) throw new RangeError(`${where}: ${what} ${v} does not fit a u${8 * size}`);
  };
  if (op !== "load") word(operand, "operand");
  if (op === "compareExchange") word(expected, "expected");
}

/** An integer in 0..2^32−1 (flags, ids, modes): TypeError for a non-integer, RangeError outside. */
export function assertU32(v: unknown, what: string, op: string): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${op}: ${what} must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > 0xffffffff) throw new RangeError(`${op}: ${what} ${v} is not a u32`);
}

/** An optional u64 given as a bigint (`MapCreateAttr.mapExtra`): TypeError for a non-bigint, RangeError outside 0..2^64−1; default 0n. */
export function optU64Bigint(v: unknown, what: string, op: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v !== "bigint") throw new TypeError(`${op}: ${what} must be a bigint, got ${describeValue(v)}`);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${op}: ${what} ${v} is not a u64`);
  return v;
}

const typedArrayByteLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "byteLength")!.get!;

/**
 * A Uint8Array's real byte length, which a subclass's getter or an own property cannot
 * misreport: a driver that copies that many bytes must check that many, or a copy could run
 * past the region it was checked against.
 */
export function realByteLength(b: Uint8Array): number {
  return typedArrayByteLength.call(b) as number;
}

const typedArrayLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "length")!.get!;

/**
 * A cell the driver writes a u32 into after the call, as the kernel writes a field of its attr
 * back (`logTrueSize`): null when absent, else a Uint32Array of at least one element by its real
 * length. Refused (TypeError, RangeError) before the call, so a write-back never fails after the
 * kernel has made an object; the intrinsic getter also refuses a Proxy, whose writes could throw.
 */
export function outU32Arg(cell: unknown, what: string, op: string): Uint32Array | null {
  if (cell === undefined || cell === null) return null;
  if (!(cell instanceof Uint32Array)) throw new TypeError(`${op}: ${what} must be a Uint32Array, got ${describeValue(cell)}`);
  let n: number;
  try {
    n = typedArrayLength.call(cell) as number;
  } catch {
    throw new TypeError(`${op}: ${what} must be a Uint32Array, got one the driver cannot write into (a Proxy?)`);
  }
  if (n < 1) throw new RangeError(`${op}: ${what} is an empty Uint32Array: the driver writes one u32 into it`);
  return cell;
}

/** A Uint8Array of any length (sizes are checked with assertSize); TypeError otherwise. */
export function assertBytes(buf: unknown, what: string, op: string): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${op}: ${what} must be a Uint8Array, got ${describeValue(buf)}`);
}

/** A PROG_LOAD record array (`funcInfo`, `lineInfo`) with its record size and count. */
export interface InfoRecords {
  /** The records, or null when none were given. */
  bytes: Uint8Array | null;
  /** Their real byte length: count × recSize. */
  byteLength: number;
  /** `*_rec_size`: as given, or the kernel struct's size when left out. */
  recSize: number;
  /** `*_cnt`: byteLength / recSize. */
  count: number;
}

/**
 * `funcInfo` or `lineInfo` with its record size (`what` names the array, `what + "RecSize"` the
 * size, `defaultRecSize` the kernel struct's). TypeError for a non-Uint8Array or non-integer
 * size, RangeError for a size that is no u32 or a length that is no whole number of records
 * (a size of 0 with records too): a count cannot be derived, so nothing reaches the kernel.
 */
export function infoRecordsArg(buf: unknown, recSize: unknown, what: string, defaultRecSize: number, op: string): InfoRecords {
  let rec = defaultRecSize;
  if (recSize !== undefined) {
    assertU32(recSize, `${what}RecSize`, op);
    rec = recSize;
  }
  if (buf === undefined || buf === null) return { bytes: null, byteLength: 0, recSize: rec, count: 0 };
  assertBytes(buf, what, op);
  const n = realByteLength(buf);
  if (n > 0 && (rec === 0 || n % rec !== 0)) {
    throw new RangeError(`${op}: ${what} is ${n} bytes, not a whole number of ${rec}-byte records (${what}RecSize)`);
  }
  const count = n === 0 ? 0 : n / rec;
  if (count > 0xffffffff) throw new RangeError(`${op}: ${what} holds ${count} records, more than a u32 count can say`);
  return { bytes: buf, byteLength: n, recSize: rec, count };
}

/** progGetMapIds's output: a Uint32Array; TypeError otherwise (a Uint8Array too). */
export function assertIds(ids: unknown, op: string): asserts ids is Uint32Array {
  if (!(ids instanceof Uint32Array)) throw new TypeError(`${op}: ids must be a Uint32Array, got ${describeValue(ids)}`);
}

/**
 * `buf` must be a Uint8Array of exactly `size` bytes, by its real length: a subclass whose
 * `byteLength` says otherwise would have a driver stage too few bytes or copy out too many.
 */
export function assertSize(buf: unknown, size: number, what: string, op: string, fd: number): asserts buf is Uint8Array {
  assertBytes(buf, what, op);
  const n = realByteLength(buf);
  if (n !== size) throw new RangeError(`${op}: ${what} is ${n} bytes, map fd ${fd} needs ${size}`);
}

/** A batch buffer must hold at least `count` elements of `size` bytes, by its real length. */
export function assertBatchBuffer(buf: unknown, count: number, size: number, what: string, op: string, fd: number): asserts buf is Uint8Array {
  assertBytes(buf, what, op);
  const n = realByteLength(buf);
  if (n < count * size) throw new RangeError(`${op}: ${what} is ${n} bytes, ${count} elements of map fd ${fd} need ${count * size}`);
}

/** A path for bpffs or the host: a string without NUL bytes. */
export function assertPath(path: unknown, op: string): asserts path is string {
  if (typeof path !== "string") throw new TypeError(`${op}: path must be a string, got ${describeValue(path)}`);
  if (path.includes("\0")) throw new TypeError(`${op}: path ${JSON.stringify(path)} holds a NUL byte`);
  if (path === "") throw new TypeError(`${op}: path is empty`);
}

