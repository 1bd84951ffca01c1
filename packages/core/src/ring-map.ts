// What BPF_MAP_TYPE_RINGBUF and USER_RINGBUF share in user space: their pages, mapped for the
// side user space plays. The two types swap roles (ringbuf.c's ringbuf_map_mmap_kern and
// _user): a reader writes the consumer position and reads the rest, a producer reads the
// consumer position and writes the producer position and the data.
import { BPF_F_RDONLY, BPF_F_WRONLY } from "./constants.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { Errno } from "./errno.js";
import { BpfError } from "./errors.js";
import { mapFdInfoIfReadable } from "./fdinfo.js";
import { KeylessMap } from "./keyless-map.js";
import { driverPageSize } from "./page-size.js";
import { ringMappings, type RingPagesInit } from "./ring-pages.js";

/** The side user space plays on a ring, and how its errors name it. */
export interface RingSide {
  /** "reader" (of a RINGBUF) or "producer" (of a USER_RINGBUF). */
  role: "reader" | "producer";
  /** "ring buffer" or "user ring buffer". */
  what: string;
  /** Whether this side writes the consumer position's page (a reader) or the data (a producer). */
  writesConsumer: boolean;
  /** What this side must write, for a frozen map's EPERM ("the consumer position"). */
  writes: string;
}

/** A ring map: a KeylessMap with no values whose pages are mapped for one side. */
export abstract class RingMap extends KeylessMap<never> {
  /**
   * Maps the ring's two ranges for `side` (the consumer position's page, then the producer
   * position's page and the data twice), and dups the map's fd for the side's waits where the
   * driver has mapPoll: what a RingBufReader or a UserRingBufProducer is made from. Nothing is
   * left mapped or open when it throws.
   */
  protected mapSide(op: string, side: RingSide): RingPagesInit {
    const fd = this.fdFor(op);
    const d = this.driver;
    if (typeof d.mapMmap !== "function") {
      throw new BpfError({ errno: Errno.EOPNOTSUPP, op, map: this.name(), path: this.path() || undefined,
        message: `${op} ${this.name()}: driver ${JSON.stringify(d.kind)} cannot map memory (it has no mapMmap, an optional Driver method)` });
    }
    const size = this.maxEntries;
    const page = driverPageSize(d);
    const names = ringMappings(side.writesConsumer);
    const consumer = this.#map(op, fd, page, side.writesConsumer, 0, side, names.consumer);
    let data: number;
    try {
      data = this.#map(op, fd, page + 2 * size, !side.writesConsumer, page, side, names.data);
    } catch (e) {
      d.munmap!(consumer);
      throw e;
    }
    // The side's own fd, for the driver's mapPoll: it outlives the map's close() as the mappings do.
    let pollFd = -1;
    if (typeof d.mapPoll === "function" && typeof d.dup === "function") {
      pollFd = d.dup(fd);
      if (!(pollFd >= 0 && Number.isInteger(pollFd))) {
        d.munmap!(consumer);
        d.munmap!(data);
        if (!isNegErrno(pollFd)) throw driverContractError(d, "dup", pollFd, "an fd >= 0");
        throw this.opError(op, -pollFd, `the ${side.role}'s own fd of the ring, which it waits on, could not be made (dup)`);
      }
    }
    return { driver: d, consumer, data, size, pageSize: page, pollFd, name: this.name(), path: this.path() };
  }

  /** One mapping of the ring (`what`, for errors), or the kernel's refusal explained, naming which. */
  #map(op: string, fd: number, length: number, writable: boolean, offset: number, side: RingSide, what: string): number {
    const d = this.driver;
    const h = d.mapMmap!(fd, length, writable, offset);
    if (h >= 0 && Number.isInteger(h)) return h;
    if (!isNegErrno(h)) throw driverContractError(d, "mapMmap", h, "a mapping handle >= 0");
    const why = this.#refusal(fd, -h, side);
    throw this.opError(op, -h, `mmap of ${what}${why !== undefined ? `: ${why}` : ""}`);
  }

  /** Why the kernel would not map the ring for `side`, where it can be told. */
  #refusal(fd: number, errno: number, side: RingSide): string | undefined {
    const mode = this.fdMode;
    // The kernel maps a map only through an fd that reads and writes (a read-only fd maps
    // nothing, not even read-only: see map-memory.ts).
    if (mode === BPF_F_RDONLY || mode === BPF_F_WRONLY) {
      return `the ${side.what} was opened ${mode === BPF_F_RDONLY ? "read-only (BPF_F_RDONLY)" : "write-only (BPF_F_WRONLY)"}: ` +
        `a ${side.role} maps its pages, which the kernel allows only through an fd that reads and writes; open it read-write`;
    }
    if (errno === Errno.EPERM && mapFdInfoIfReadable(this.driver, fd)?.frozen === true) {
      return `the ${side.what} is frozen (BPF_MAP_FREEZE): the kernel maps no page of a frozen map writable, ` +
        `and a ${side.role} must write ${side.writes}`;
    }
    return undefined;
  }
}
