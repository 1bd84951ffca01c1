// BPF_MAP_TYPE_RINGBUF (kernel/bpf/ringbuf.c): programs write records into it with
// bpf_ringbuf_output or reserve/submit, and user space reads them through its pages (mmap): no
// element syscall answers on it. BpfRingBuf is its lifecycle (a KeylessMap: pinned, opened,
// checked, re-created as the others are) and `reader()` maps it for RingBufReader.
import type { Bpf } from "./bpf.js";
import type { Codec } from "./codec.js";
import { BPF_MAP_TYPE_RINGBUF } from "./constants.js";
import type { KeylessKind, KeylessOpened } from "./keyless-map.js";
import { assertOptionKeys, optionKeys } from "./option-keys.js";
import { DEFAULT_PAGE_SIZE, driverPageSize } from "./page-size.js";
import { RingMap, type RingSide } from "./ring-map.js";
import { RingBufReader } from "./ringbuf-reader.js";
import { refuseBtf } from "./map-btf.js";

/** `bpf.newRingBuf`'s spec. */
export interface RingBufSpec {
  /** The pin's base name under the map directory, as MapSpec.name (no `/`, NUL, `.` or `..`). */
  name: string;
  /**
   * The data's size in bytes (`max_entries`): a power of 2 and a multiple of the page size (the
   * driver's `pageSize`: 4096 on x86-64, 4096, 16384 or 65536 on arm64).
   */
  maxEntries: number;
  /** Creation flags (`BPF_F_*`): the kernel takes only BPF_F_NUMA_NODE. */
  flags?: number;
  /** The map's name in the kernel (bpftool's), at most 15 bytes of A-Z a-z 0-9 _ . , as MapSpec.kernelName. */
  kernelName?: string;
}

/** A RINGBUF's reader writes the consumer position and reads the rest. */
const READER: RingSide = { role: "reader", what: "ring buffer", writesConsumer: true, writes: "the consumer position" };

/** The map type a BpfRingBuf handles. */
export const RINGBUF_KIND: KeylessKind = { types: [BPF_MAP_TYPE_RINGBUF], what: "a ring buffer", valueless: true };

const RINGBUF_SPEC_KEYS = optionKeys<RingBufSpec>({ name: true, maxEntries: true, flags: true, kernelName: true });

/** A ring buffer has no values: what KeylessMap keeps as its value codec. */
const NO_VALUE: Codec<never> = {
  size: 0,
  encode: () => { throw new TypeError("a ring buffer has no values"); },
  decode: () => { throw new TypeError("a ring buffer has no values"); },
};

/**
 * A ring's spec checked as ringbuf_map_alloc checks it (both ring types'), before any syscall,
 * as KeylessMap's spec: no values, the map type set. A spec that is no object is KeylessMap's to refuse.
 */
export function ringSpec(bpf: Bpf, spec: RingBufSpec, opened: KeylessOpened | undefined, op: string, type: number): RingBufSpec & { value: Codec<never>; type: number } {
  if (spec === null || typeof spec !== "object") return spec;
  const where = `${op} ${String(spec.name)}`;
  spec = refuseBtf(spec, where, "a ring buffer takes no BTF: it has no key or value for BTF to describe");
  assertOptionKeys(spec, RINGBUF_SPEC_KEYS, where, "spec");
  const n = spec.maxEntries;
  // A bad `bpf` is KeylessMap's to refuse, by name.
  const driver = (bpf as Partial<Bpf> | null)?.driver;
  const page = driver !== undefined ? driverPageSize(driver) : DEFAULT_PAGE_SIZE;
  // ringbuf_map_alloc's EINVAL, said before any syscall with the rule it broke.
  if (opened === undefined && typeof n === "number" && Number.isInteger(n) && n > 0 &&
    ((n & (n - 1)) !== 0 || n % page !== 0)) {
    throw new RangeError(`${where}: maxEntries is the ring's size in bytes, a power of 2 and a multiple of the page size (${page}), got ${n}`);
  }
  return { ...spec, value: NO_VALUE, type };
}

/**
 * A BPF ring buffer: programs write records into it (bpf_ringbuf_output, bpf_ringbuf_reserve and
 * submit), `reader()` reads them (cilium/ebpf's `ringbuf.NewReader`, libbpf's
 * `ring_buffer__new`). Made by `bpf.newRingBuf` (opened lazily, pinned under the map directory
 * as the other maps) or opened by `bpf.openRingBuf`. No element call works on it: the kernel
 * answers them all with ENOTSUPP or EINVAL.
 */
export class BpfRingBuf extends RingMap {
  /**
   * Makes the object from a spec without touching the kernel (as `bpf.newRingBuf`); open it with
   * `openOrCreate()`. `opened` is for `bpf.openRingBuf`: an fd already open.
   */
  constructor(bpf: Bpf, spec: RingBufSpec, opened?: KeylessOpened, op = "newRingBuf") {
    super(bpf, ringSpec(bpf, spec, opened, op, BPF_MAP_TYPE_RINGBUF), RINGBUF_KIND, op, undefined, opened);
  }

  /**
   * Maps the ring and returns its reader: the consumer position's page writable, the producer's
   * page and the data read-only (the kernel refuses the rest writable). The reader holds the map
   * as an fd does, until its `close()`: the ring's close() or reopen() leaves it reading. Refused: a driver without mmap (EOPNOTSUPP), a map opened
   * read-only or write-only (the kernel maps a map only through an fd that reads and writes).
   */
  reader(): RingBufReader {
    return new RingBufReader(this.mapSide("reader", READER));
  }
}
