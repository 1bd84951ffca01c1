// A BpfMap held only by its fd: opened by id (bpf.openMapById), adopted from an fd the caller
// had (bpf.newMapFromFd), or a clone of another BpfMap (map.clone(), a dup of its fd). Such a map
// is never opened, created or replaced at a pin: its fd is the whole handle, and once it is
// closed nothing but the call that made it gives another. What each says in its errors is here.

/** How a map held by its fd came to be. */
export interface Held {
  readonly by: "openMapById" | "newMapFromFd" | "clone";
  /** The kernel id, for the hints: known to openMapById and newMapFromFd, and their clones. */
  readonly id?: number;
  /**
   * The call that opens such a map by `{ id }` or `{ fd }` when it is not a BpfMap's
   * (`bpf.openQueueMap`, `bpf.openBloomFilter`), for the hints; undefined for a BpfMap.
   */
  readonly opener?: string;
}

/** The call that opens the map with `held.id` again. */
function openById(held: Held): string {
  return held.opener !== undefined ? `${held.opener}({ id: ${held.id} })` : `bpf.openMapById(${held.id})`;
}

/** Why an operation after close() cannot open the map again. */
export function heldClosed(held: Held): string {
  const id = held.id;
  switch (held.by) {
    case "openMapById":
      return `it was opened by id ${id}: ${openById(held)} opens it again`;
    case "newMapFromFd":
      return `it was adopted from an fd by ${held.opener !== undefined ? `${held.opener}({ fd })` : "bpf.newMapFromFd"}, and its fd is closed: ${openById(held)} opens it again while it lives`;
    case "clone":
      return "it was a clone, whose fd is closed: clone() an open handle of the map for another";
  }
}

/** Why an operation on the pin refuses while the map is open (it stays open). */
export function heldNoPin(held: Held, op: string): string {
  switch (held.by) {
    case "openMapById":
      return `the map was opened by id (${held.opener ?? "bpf.openMapById"}) and has no pin path; it stays open`;
    case "newMapFromFd":
      return `the map was adopted from an fd (${held.opener ?? "bpf.newMapFromFd"}) and has no pin path; it stays open`;
    case "clone":
      return `a clone holds the map by its fd and never opens, creates, replaces or unpins it at a pin (call ${op} on the map it was cloned from); it stays open`;
  }
}

/** What dumps and iteration say of a map held without codecs. */
export function heldCodecless(held: Held): string {
  switch (held.by) {
    case "openMapById":
      return "the map was opened by bpf.openMapById without key and value codecs, so its elements cannot be decoded; " +
        `open it with bpf.openMapById(${held.id}, { key, value }), or with rawCodecs for bytes, to dump it`;
    case "newMapFromFd":
      return "the map was adopted by bpf.newMapFromFd without key and value codecs, so its elements cannot be decoded; " +
        "adopt it with bpf.newMapFromFd(fd, { key, value }), or with rawCodecs for bytes, to dump it";
    case "clone":
      return "the map was cloned from one opened without key and value codecs, so its elements cannot be decoded; " +
        "clone a handle opened with { key, value }, or with rawCodecs for bytes, to dump it";
  }
}
