// BPF_MAP_TYPE_USER_RINGBUF (kernel/bpf/ringbuf.c, 6.1+): RINGBUF's mirror. User space writes
// records into it through its pages, and a program takes them with bpf_user_ringbuf_drain,
// which checks each record and calls back for it. BpfUserRingBuf is its lifecycle (a
// KeylessMap, as BpfRingBuf is) and `producer()` maps it for UserRingBufProducer (libbpf's
// user_ring_buffer__new).
import type { Bpf } from "./bpf.js";
import { BPF_F_RDONLY, BPF_F_WRONLY, BPF_MAP_TYPE_USER_RINGBUF } from "./constants.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { Errno } from "./errno.js";
import { BpfError } from "./errors.js";
import { mapFdInfoIfReadable } from "./fdinfo.js";
import { KeylessMap, type KeylessKind, type KeylessOpened } from "./keyless-map.js";
import { driverPageSize } from "./page-size.js";
import { ringSpec, type RingBufSpec } from "./ringbuf.js";
import { UserRingBufProducer } from "./user-ringbuf-producer.js";

/** `bpf.newUserRingBuf`'s spec: a ring's, as `bpf.newRingBuf`'s. */
export type UserRingBufSpec = RingBufSpec;

/** The map type a BpfUserRingBuf handles. */
export const USER_RINGBUF_KIND: KeylessKind = { types: [BPF_MAP_TYPE_USER_RINGBUF], what: "a user ring buffer", valueless: true };

/**
 * A BPF user ring buffer: `producer()` writes records into it (libbpf's `user_ring_buffer__new`,
 * `__reserve`, `__submit`), and programs take them with `bpf_user_ringbuf_drain` (kernel 6.1+).
 * Made by `bpf.newUserRingBuf` (opened lazily, pinned under the map directory as the other maps)
 * or opened by `bpf.openUserRingBuf`. No element call works on it: the kernel answers them with
 * EINVAL or ENOTSUPP, as for a RINGBUF.
 */
export class BpfUserRingBuf extends KeylessMap<never> {
  /**
   * Makes the object from a spec without touching the kernel (as `bpf.newUserRingBuf`); open it
   * with `openOrCreate()`. `opened` is for `bpf.openUserRingBuf`: an fd already open.
   */
  constructor(bpf: Bpf, spec: UserRingBufSpec, opened?: KeylessOpened, op = "newUserRingBuf") {
    super(bpf, ringSpec(bpf, spec, opened, op, BPF_MAP_TYPE_USER_RINGBUF), USER_RINGBUF_KIND, op, undefined, opened);
  }

  /**
   * Maps the ring and returns its producer: the consumer position's page read-only, the producer
   * position's page and the data writable (the kernel refuses the consumer's page writable). The
   * producer holds the map as an fd does, until its `close()`. A ring has one producer: two (in
   * this process or another) would write over each other's records, as libbpf's would.
   * Refused: a driver without mmap (EOPNOTSUPP), a map opened read-only or write-only (the
   * kernel maps a map only through an fd that reads and writes), a frozen map (EPERM).
   */
  producer(): UserRingBufProducer {
    const op = "producer";
    const fd = this.fdFor(op);
    const d = this.driver;
    if (typeof d.mapMmap !== "function") {
      throw new BpfError({ errno: Errno.EOPNOTSUPP, op, map: this.name(), path: this.path() || undefined,
        message: `${op} ${this.name()}: driver ${JSON.stringify(d.kind)} cannot map memory (it has no mapMmap, an optional Driver method)` });
    }
    const size = this.maxEntries;
    const page = driverPageSize(d);
    const consumer = this.#map(op, fd, page, false, 0);
    let data: number;
    try {
      data = this.#map(op, fd, page + 2 * size, true, page);
    } catch (e) {
      d.munmap!(consumer);
      throw e;
    }
    // The producer's own fd, for mapPoll: reserveBlocking waits on it, and it outlives the map's close().
    let pollFd = -1;
    if (typeof d.mapPoll === "function" && typeof d.dup === "function") {
      pollFd = d.dup(fd);
      if (!(pollFd >= 0 && Number.isInteger(pollFd))) {
        d.munmap!(consumer);
        d.munmap!(data);
        if (!isNegErrno(pollFd)) throw driverContractError(d, "dup", pollFd, "an fd >= 0");
        throw this.opError(op, -pollFd, "the producer's own fd of the ring, which it waits on, could not be made (dup)");
      }
    }
    return new UserRingBufProducer({ driver: d, consumer, data, size, pageSize: page, pollFd, name: this.name(), path: this.path() });
  }

  /** One mapping of the ring, or the kernel's refusal explained. */
  #map(op: string, fd: number, length: number, writable: boolean, offset: number): number {
    const d = this.driver;
    const h = d.mapMmap!(fd, length, writable, offset);
    if (h >= 0 && Number.isInteger(h)) return h;
    if (!isNegErrno(h)) throw driverContractError(d, "mapMmap", h, "a mapping handle >= 0");
    throw this.opError(op, -h, this.#refusal(fd, -h));
  }

  /** Why the kernel would not map the ring for a producer, where it can be told. */
  #refusal(fd: number, errno: number): string | undefined {
    const mode = this.fdMode;
    if (mode === BPF_F_RDONLY || mode === BPF_F_WRONLY) {
      return `the user ring buffer was opened ${mode === BPF_F_RDONLY ? "read-only (BPF_F_RDONLY)" : "write-only (BPF_F_WRONLY)"}: ` +
        "a producer maps its pages, which the kernel allows only through an fd that reads and writes; open it read-write";
    }
    if (errno === Errno.EPERM && mapFdInfoIfReadable(this.driver, fd)?.frozen === true) {
      return "the user ring buffer is frozen (BPF_MAP_FREEZE): the kernel maps no page of a frozen map writable, " +
        "and a producer writes the records and the producer position";
    }
    return undefined;
  }
}
