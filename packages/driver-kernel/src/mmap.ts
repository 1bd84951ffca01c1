// The Driver's mmap four over libc's mmap(2)/munmap(2): a BPF_F_MMAPABLE array's values mapped
// MAP_SHARED into this process. JS never sees the mapped memory: each mapping's koffi.view lives
// in this table only, and every read or write is a copy checked against the mapping first, so a
// handle used after munmap (or a range past the mapping) is an errno or a RangeError, never a
// fault. libc's mmap, not the raw syscall: koffi hands its `void *` back as a pointer object
// that koffi.view takes as it is, and glibc refuses an offset off a page (EINVAL) as the kernel does.
import { assertAtomicArgs, assertBytes, assertFd, Errno, realByteLength, type MmapAtomicOp, describeValue } from "@bpfkit/core";
import type { Libc } from "./native.js";

const PROT_READ = 0x1, PROT_WRITE = 0x2, MAP_SHARED = 0x01;
/** (void *)-1, as koffi.address reads it. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

const OP = { mmap: "mmap", read: "mmapRead", write: "mmapWrite", munmap: "munmap", atomic: "mmapAtomic" } as const;

/**
 * What a mapping is of: a BPF map's memory, a perf event's ring, or (a number) the errno that
 * refuses it: a file's pages past its end fault on a load (SIGBUS), whatever the mapping.
 */
export type MappedKind = "map" | "perf" | number;

/** One live mapping: what munmap needs, and the private views every copy goes through. */
interface Mapping {
  readonly addr: unknown;
  readonly length: number;
  /**
   * Bytes from the start that a store may reach: 0 for a read-only mapping, all of a map's, and
   * of anything else only file page 0, the one perf_mmap_fault makes writable: a perf event's
   * ring keeps its data read-only in a writable mapping, and its AUX area (any mapping at a
   * non-zero offset) all of it (a store there is SIGBUS).
   */
  readonly writableTo: number;
  readonly bytes: Uint8Array;
  /** The same memory as aligned u64 words, for the one-load and one-store copies of 8 bytes and mmapAtomic. */
  readonly words: BigUint64Array;
  /** And as u32 words, for mmapAtomic of 4 bytes. */
  readonly halves: Uint32Array;
}

/**
 * Where an aligned 8-byte copy passes through: Atomics gives and takes a bigint, and a DataView
 * on each `dst` would be an allocation per read.
 */
const word = new BigUint64Array(1);
const wordBytes = new Uint8Array(word.buffer);

/**
 * An 8-byte range on an 8-byte boundary: a ring's position or a record's header. (`& 7` reads the
 * low bits right past 2^32 too; the word index is `offset / 8`, which a shift would wrap there.)
 */
const isWord = (offset: number, n: number) => n === 8 && (offset & 7) === 0;

/** A byte count or offset: TypeError for a non-integer, RangeError below 0 or past 2^53. */
function assertCount(v: unknown, what: string, op: string): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${op}: ${what} must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: ${what} ${v} is not a non-negative byte count`);
}

/** A mapping handle: an integer (any integer; one not in the table is EBADF). */
function assertHandle(v: unknown, op: string): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${op}: mapping must be an integer handle, got ${describeValue(v)}`);
}

/**
 * A driver's mappings by handle (small integers, the lowest free one first, as fds are). Kept
 * apart from the driver so that a finalizer can unmap what a dropped driver left mapped: a
 * mapping holds its map alive, as an fd does.
 */
export class MmapTable {
  private readonly slots: (Mapping | undefined)[] = [];

  constructor(private readonly libc: Libc, private readonly pageSize: number) {}

  /**
   * `kindOf(fd)` tells what a mapping of `fd` is, asked once mmap(2) took it (so that the
   * kernel's own refusals keep their order): a BPF map's, a perf event's ring, or an errno the
   * mapping is given back with, for memory a load or store could fault on. Passed per call, as a
   * table that held the driver would keep it from its finalizer.
   */
  map(fd: number, length: number, writable: boolean, offset: number | undefined, kindOf: (fd: number) => MappedKind): number {
    assertFd(fd, OP.mmap);
    assertCount(length, "length", OP.mmap);
    if (typeof writable !== "boolean") throw new TypeError(`${OP.mmap}: writable must be a boolean, got ${describeValue(writable)}`);
    const off = offset === undefined ? 0 : offset;
    assertCount(off, "offset", OP.mmap);
    const { koffi } = this.libc;
    const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    // Length 0, an offset off a page and every map-side refusal are the kernel's to answer.
    const addr = this.libc.mmap(null, length, prot, MAP_SHARED, fd, off);
    if (addr === null || koffi.address(addr) === MAP_FAILED) return -koffi.errno();
    const kind = kindOf(fd);
    if (typeof kind === "number") {
      this.libc.munmap(addr, length);
      return -kind;
    }
    let bytes: Uint8Array, words: BigUint64Array, halves: Uint32Array;
    try {
      const view = koffi.view(addr, length);
      bytes = new Uint8Array(view);
      words = new BigUint64Array(view, 0, Math.floor(length / 8));
      halves = new Uint32Array(view, 0, Math.floor(length / 4));
    } catch (e) {
      // A mapping koffi cannot view (past its ArrayBuffer limit) is given back at once.
      this.libc.munmap(addr, length);
      throw new RangeError(`${OP.mmap}: ${length} bytes mapped but cannot be viewed: ${(e as Error).message}`, { cause: e });
    }
    let h = this.slots.indexOf(undefined);
    if (h < 0) h = this.slots.length;
    const writableTo = !writable ? 0 : kind === "map" ? length : off === 0 ? Math.min(length, this.pageSize) : 0;
    this.slots[h] = { addr, length, writableTo, bytes, words, halves };
    return h;
  }

  /** The mapping behind `h`, or undefined (EBADF) for a handle not mapped. */
  private get(h: number): Mapping | undefined {
    return h >= 0 && h < this.slots.length ? this.slots[h] : undefined;
  }

  /** `n` bytes from `offset` must lie within the mapping's length: else a RangeError naming `op`. */
  private checkRange(m: Mapping, h: number, offset: number, n: number, op: string): void {
    if (offset + n > m.length) {
      throw new RangeError(`${op}: ${n} bytes at offset ${offset} run past mapping ${h}, which is ${m.length} bytes`);
    }
  }

  read(h: number, offset: number, dst: Uint8Array): number {
    assertHandle(h, OP.read);
    assertCount(offset, "offset", OP.read);
    assertBytes(dst, "dst", OP.read);
    const m = this.get(h);
    if (m === undefined) return -Errno.EBADF;
    const n = realByteLength(dst);
    this.checkRange(m, h, offset, n, OP.read);
    // smp_load_acquire, as libbpf reads a ring's producer position and a record's header: on
    // arm64 a plain copy may see the header's BUSY bit clear and still read the record's older
    // bytes after it (x86-64 orders loads anyway, and Atomics.load is a plain load there).
    if (isWord(offset, n)) {
      word[0] = Atomics.load(m.words, offset / 8);
      dst.set(wordBytes);
    } else {
      dst.set(m.bytes.subarray(offset, offset + n));
    }
    return 0;
  }

  write(h: number, offset: number, src: Uint8Array): number {
    assertHandle(h, OP.write);
    assertCount(offset, "offset", OP.write);
    assertBytes(src, "src", OP.write);
    const m = this.get(h);
    if (m === undefined) return -Errno.EBADF;
    const n = realByteLength(src);
    this.checkRange(m, h, offset, n, OP.write);
    // A page mapped PROT_READ, or a perf ring's data: a store would be SIGSEGV or SIGBUS, which
    // takes the whole process.
    if (offset + n > m.writableTo) return -Errno.EACCES;
    // smp_store_release, as libbpf moves a ring's consumer position: the record's bytes are read
    // before the producer can see its room free again and write over them.
    if (isWord(offset, n)) {
      wordBytes.set(src);
      Atomics.store(m.words, offset / 8, word[0]!);
    } else {
      m.bytes.set(src, offset);
    }
    return 0;
  }

  atomic(h: number, offset: number, size: 4 | 8, op: MmapAtomicOp, operand: bigint | undefined, expected: bigint | undefined): bigint | number {
    assertHandle(h, OP.atomic);
    assertAtomicArgs(offset, size, op, operand, expected, OP.atomic);
    const m = this.get(h);
    if (m === undefined) return -Errno.EBADF;
    this.checkRange(m, h, offset, size, OP.atomic);
    if (op !== "load" && offset + size > m.writableTo) return -Errno.EACCES;
    // The mapping starts on a page, so an offset aligned in it is an address aligned in memory:
    // Atomics are lock-prefixed instructions on x86-64 and ldaxr/stlxr loops (or LSE) on arm64,
    // the same the kernel's atomic64_* and a JITed BPF_ATOMIC use on this memory.
    return size === 8
      ? atomicWord(m.words, offset / 8, op, operand, expected)
      : BigInt(atomicWord(m.halves, offset / 4, op, operand === undefined ? undefined : Number(operand),
        expected === undefined ? undefined : Number(expected)));
  }

  unmap(h: number): number {
    assertHandle(h, OP.munmap);
    const m = this.get(h);
    if (m === undefined) return -Errno.EBADF;
    const r = this.release(m);
    // A refused munmap(2) leaves the pages mapped: the handle keeps them, for a retry, and is
    // not given to the next mapping (which a retry would then unmap).
    if (r === 0) this.slots[h] = undefined;
    return r;
  }

  /** munmap(2) of one mapping: 0 or -errno. */
  private release(m: Mapping): number {
    const r = this.libc.munmap(m.addr, m.length);
    return r < 0 ? -this.libc.koffi.errno() : 0;
  }

  /** Unmaps everything still mapped: the finalizer of a driver dropped with mappings live. */
  releaseAll(): void {
    for (let h = 0; h < this.slots.length; h++) {
      const m = this.slots[h];
      if (m === undefined) continue;
      this.slots[h] = undefined;
      this.release(m);
    }
  }
}

/** Atomics by the op's name (MmapAtomicOp's names are Atomics' own). */
const ATOMICS = Atomics as unknown as Record<MmapAtomicOp, (ta: BigUint64Array | Uint32Array, i: number, ...v: (bigint | number | undefined)[]) => bigint | number>;

/** One Atomics call on word `i` of `ta`: the word's value before it. */
function atomicWord(ta: BigUint64Array | Uint32Array, i: number, op: MmapAtomicOp, operand: bigint | number | undefined,
  expected: bigint | number | undefined): bigint | number {
  if (op === "load") return ATOMICS.load(ta, i);
  return op === "compareExchange" ? ATOMICS.compareExchange(ta, i, expected, operand) : ATOMICS[op](ta, i, operand);
}

/** A dropped driver's mappings are unmapped, so the maps they hold can go. */
export const mmapTables = new FinalizationRegistry<MmapTable>((t) => t.releaseAll());
