// BPF_MAP_TYPE_USER_RINGBUF (kernel/bpf/ringbuf.c, 6.1+): RINGBUF's mirror. User space writes
// records into it through its pages, and a program takes them with bpf_user_ringbuf_drain,
// which checks each record and calls back for it. BpfUserRingBuf is its lifecycle (a
// KeylessMap, as BpfRingBuf is) and `producer()` maps it for UserRingBufProducer (libbpf's
// user_ring_buffer__new).
import type { Bpf } from "./bpf.js";
import { BPF_MAP_TYPE_USER_RINGBUF } from "./constants.js";
import type { KeylessKind, KeylessOpened } from "./keyless-map.js";
import { RingMap, type RingSide } from "./ring-map.js";
import { ringSpec, type RingBufSpec } from "./ringbuf.js";
import { UserRingBufProducer } from "./user-ringbuf-producer.js";

/** `bpf.newUserRingBuf`'s spec: a ring's, as `bpf.newRingBuf`'s. */
export type UserRingBufSpec = RingBufSpec;

/** A USER_RINGBUF's producer reads the consumer position and writes the rest. */
const PRODUCER: RingSide = { role: "producer", what: "user ring buffer", writesConsumer: false, writes: "the records and the producer position" };

/** The map type a BpfUserRingBuf handles. */
export const USER_RINGBUF_KIND: KeylessKind = { types: [BPF_MAP_TYPE_USER_RINGBUF], what: "a user ring buffer", valueless: true };

/**
 * A BPF user ring buffer: `producer()` writes records into it (libbpf's `user_ring_buffer__new`,
 * `__reserve`, `__submit`), and programs take them with `bpf_user_ringbuf_drain` (kernel 6.1+).
 * Made by `bpf.newUserRingBuf` (opened lazily, pinned under the map directory as the other maps)
 * or opened by `bpf.openUserRingBuf`. No element call works on it: the kernel answers them with
 * EINVAL or ENOTSUPP, as for a RINGBUF.
 */
export class BpfUserRingBuf extends RingMap {
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
    return new UserRingBufProducer(this.mapSide("producer", PRODUCER));
  }
}
