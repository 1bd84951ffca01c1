// mmap(2) of a BPF_F_MMAPABLE ARRAY or a RINGBUF: the kernel's checks in its order, and the
// process's table of mappings. A mapping holds the map's file, so the map (and its id) outlive every fd until munmap;
// the driver takes and drops that reference. Reads and writes copy through the engine's memory.
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, Errno, describeValue } from "@bpfkit/core";
import { FMODE_READ, FMODE_WRITE } from "./objects.js";
import type { FdEntry, SimMap } from "./objects.js";

/**
 * Past this page-rounded length no hole in the process's address space is large enough, and
 * get_unmapped_area answers ENOMEM before the file is looked at. The kernel's limit depends on
 * the layout (2^46 mapped on this machine, 2^47 and 0x6000_0000_0000 did not): this is the
 * simulator's fixed stand-in.
 */
export const MMAP_MAX_LENGTH = 2 ** 46;

/** `n` rounded up to whole pages of `page` bytes (PAGE_ALIGN). */
const roundUpPage = (n: number, page: number) => Math.ceil(n / page) * page;

/** One mapping: `length` bytes of `map`'s region, the first of them at `base` in wasm memory (the mmap offset included). */
export interface SimMapping {
  readonly map: SimMap;
  readonly base: number;
  readonly length: number;
  readonly writable: boolean;
  /**
   * A ring buffer's: where its data ends in wasm memory, and its size. The kernel maps the data
   * twice in a row, so a byte at or past `dataEnd` is the one `ring` bytes before it. 0 for an array.
   */
  readonly dataEnd: number;
  readonly ring: number;
}

/**
 * The pieces of wasm memory that bytes offset..offset+n of a mapping are: one for an array, two
 * for a ring buffer's range that runs from the data's first copy into its second.
 */
export function mappedPieces(mp: SimMapping, offset: number, n: number): Array<[addr: number, len: number]> {
  const start = mp.base + offset;
  if (mp.ring === 0 || start + n <= mp.dataEnd) return [[start, n]];
  if (start >= mp.dataEnd) return [[start - mp.ring, n]];
  const first = mp.dataEnd - start;
  return [[start, first], [mp.dataEnd - mp.ring, n - first]];
}

/** A ring buffer's consumer and producer pages, before its data. */
export const RINGBUF_POS_PAGES = 2;

/** Where a ring buffer's data starts in its mapping: after the two position pages. */
export function ringbufDataOff(page: number): number {
  return RINGBUF_POS_PAGES * page;
}

/** A non-negative safe integer byte count or offset: TypeError for a non-integer, RangeError below 0. */
export function assertByteCount(v: unknown, what: string, op: string): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${op}: ${what} must be an integer, got ${describeValue(v)}`);
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${op}: ${what} ${v} is not a byte count this driver can pass`);
}

/**
 * The errno mmap(fd, length, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, offset)
 * answers, or 0, in the kernel's order (checked on 6.18): the offset (x86-64's sys_mmap, before
 * the fd; arm64's checks the same, offset_in_page), the fd, do_mmap's length and file-mode
 * checks, the file's mmap (ENODEV for a file without one), then bpf_map_mmap and array_map_mmap
 * or ringbuf_map_mmap_kern. `pages` is an array's region in pages of `page` bytes, the
 * simulated kernel's PAGE_SIZE, which lengths are rounded to and offsets counted in.
 */
export function mmapErrno(e: FdEntry | undefined, length: number, writable: boolean, offset: number,
  pages: (m: SimMap) => number, page: number): number {
  if (offset % page !== 0) return Errno.EINVAL;
  if (e === undefined) return Errno.EBADF;
  if (length === 0) return Errno.EINVAL;
  const mapped = roundUpPage(length, page);
  if (mapped > MMAP_MAX_LENGTH) return Errno.ENOMEM;
  // MAP_SHARED: writing needs a file open for writing, and every mapping one open for reading.
  if (writable && (e.mode & FMODE_WRITE) === 0) return Errno.EACCES;
  if ((e.mode & FMODE_READ) === 0) return Errno.EACCES;
  if (e.obj.kind !== "map") return Errno.ENODEV;
  const m = e.obj;
  // bpf_map_mmap: a value with special fields (a bpf_spin_lock, …) is never mapped.
  if ((m.mapType !== BPF_MAP_TYPE_ARRAY && !m.isRingbuf) || m.record !== null) return Errno.ENOTSUPP;
  // do_mmap drops VM_SHARED for a file not open for writing, and bpf_map_mmap maps only shared:
  // a read-only fd cannot be mapped at all, even PROT_READ.
  if ((e.mode & FMODE_WRITE) === 0) return Errno.EINVAL;
  if (writable) {
    if (m.frozen) return Errno.EPERM;
    // A writable mapping would let user space change what the verifier took as constant.
    if ((m.mapFlags & BPF_F_RDONLY_PROG) !== 0) return Errno.EACCES;
  }
  if (m.isRingbuf) {
    // ringbuf_map_mmap_kern: only the consumer's page may be written, and only alone;
    // ringbuf_map_mmap_user (USER_RINGBUF, whose producer is user space): anything but the
    // consumer's page, so a writable mapping from offset 0 is refused whatever its length. Then
    // remap_vmalloc_range: within the position pages and the data's two copies.
    if (writable && m.mapType === BPF_MAP_TYPE_RINGBUF && (offset !== 0 || mapped !== page)) return Errno.EPERM;
    if (writable && m.mapType === BPF_MAP_TYPE_USER_RINGBUF && offset === 0) return Errno.EPERM;
    if (offset + mapped > ringbufDataOff(page) + 2 * m.maxEntries) return Errno.EINVAL;
    return 0;
  }
  if ((m.mapFlags & BPF_F_MMAPABLE) === 0) return Errno.EINVAL;
  if (offset + mapped > pages(m) * page) return Errno.EINVAL;
  return 0;
}


/** A range of a mapping must lie within the length it was made with: RangeError otherwise. */
export function assertInMapping(mp: SimMapping | { readonly length: number; readonly event: { readonly cpu: number } }, handle: number,
  offset: number, n: number, op: string): void {
  if (offset + n > mp.length) {
    const of = "map" in mp ? `map id ${mp.map.id}` : `the ring of a perf event on CPU ${mp.event.cpu}`;
    throw new RangeError(`${op}: bytes ${offset}..${offset + n} are past the ${mp.length} bytes of mapping ${handle} (${of})`);
  }
}
