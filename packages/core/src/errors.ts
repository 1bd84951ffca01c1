import { errnoName, errnoText } from "./errno.js";

/** What a `BpfError` is made from: the errno, the operation, and the path or map it concerns. */
export interface BpfErrorInit {
  /** Positive errno. */
  errno: number;
  /** The bpf command or operation that failed (`BPF_MAP_LOOKUP_ELEM`, `lookup`, `Unable to get object`). */
  op: string;
  /** The pin path or map path involved, when there is one. */
  path?: string;
  /** The map's name, when a map is involved. */
  map?: string;
  /** Full message; by default `<op> <path>: <errno text>`. */
  message?: string;
  /** The error that led to this one, kept as the `cause`. */
  cause?: unknown;
  /**
   * The errno is an element operation's answer about its key (ENOENT: not in the map; EEXIST:
   * already there), not about the map's pin, fd or type. See isKeyNotExist / isKeyExist.
   */
  aboutKey?: boolean;
}

/**
 * An errno from bpf(2) or a host service, with the operation, and the path or map it concerns.
 * `errno` stays comparable (`err.code === "ENOENT"`) through every layer that wraps it.
 */
export class BpfError extends Error {
  /** The positive errno (2 for ENOENT). */
  readonly errno: number;
  /** The errno's name (`ENOENT`, `EPERM`, …), as Node's own errors give it. */
  readonly code: string;
  /** The bpf command or operation that failed (`BPF_OBJ_GET`, `lookup`, …). */
  readonly op: string;
  /** The pin or map path involved, or undefined. */
  readonly path: string | undefined;
  /** The name of the map involved, or undefined. */
  readonly map: string | undefined;
  /**
   * True when an element operation (update, delete, their batches and the seed's *Element
   * functions) was refused for its key: ENOENT (the key is not in the map) or EEXIST (it is
   * already there). False for every other error, an ENOENT from opening the map's pin included,
   * so a missing key can be told from a missing map (cilium/ebpf's ErrKeyNotExist and
   * os.ErrNotExist).
   */
  readonly aboutKey: boolean;

  /** Makes the error; the message defaults to `<op> <path>: <errno text>`. */
  constructor(init: BpfErrorInit) {
    const errno = Math.abs(init.errno);
    const where = init.path !== undefined && init.path !== "" ? ` ${init.path}` : "";
    super(init.message ?? `${init.op}${where}: ${errnoText(errno)}`, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = "BpfError";
    this.errno = errno;
    this.code = errnoName(errno);
    this.op = init.op;
    this.path = init.path;
    this.map = init.map;
    this.aboutKey = init.aboutKey === true && (errno === 2 || errno === 17);
  }
}

/** True when `err` is a BpfError (or anything with an errno) for ENOENT: the seed's IsNotExist. */
export function isNotExist(err: unknown): boolean {
  return errnoOf(err) === 2;
}

/**
 * True when an element operation found no such key (cilium/ebpf's ErrKeyNotExist): `delete`,
 * `update` with BPF_EXIST, `deleteBatch`, the seed's lookupElement/updateElement/deleteElement.
 * False for an ENOENT about the map itself (nothing pinned at its path), which isNotExist also
 * answers true for. (`lookup`, `lookupAndDelete` and `getNextKey` answer undefined instead.)
 */
export function isKeyNotExist(err: unknown): boolean {
  return err instanceof BpfError && err.aboutKey && err.errno === 2;
}

/**
 * True when an update found the key already there (cilium/ebpf's ErrKeyExist): `update` with
 * BPF_NOEXIST (on an array, always: its elements always exist), the seed's updateElement.
 */
export function isKeyExist(err: unknown): boolean {
  return err instanceof BpfError && err.aboutKey && err.errno === 17;
}

/** The positive errno carried by an error, or undefined. */
export function errnoOf(err: unknown): number | undefined {
  if (err instanceof BpfError) return err.errno;
  if (typeof err === "object" && err !== null && "errno" in err) {
    const n = (err as { errno: unknown }).errno;
    if (typeof n === "number") return Math.abs(n);
  }
  return undefined;
}

/** The seed's ErrMaxLookup: the reliable dump gave up after its lookup budget. */
export class MaxLookupError extends Error {
  /** Makes the error with the seed's message, "maximum number of lookups reached". */
  constructor() {
    super("maximum number of lookups reached");
    this.name = "MaxLookupError";
  }
}

/** A raw iterator or walk gave up: too many restarts, or more keys vanished in a row than the map holds. */
export class IterationAbortedError extends Error {
  /** Times the walk started again from the first key before it gave up (past `maxRestarts` when that ended it). */
  readonly restarts: number;
  /** Keys that vanished in a row before they could be read, when that ended the walk; else 0. */
  readonly vanishedInRow: number;
  /** Makes the error for `what` (the operation and map), with the restarts and vanished keys that ended it. */
  constructor(what: string, restarts: number, vanishedInRow = 0) {
    super(vanishedInRow > 0
      ? `${what}: iteration aborted: ${vanishedInRow} keys in a row vanished before they could be read`
      : `${what}: iteration aborted after ${restarts} restarts`);
    this.name = "IterationAbortedError";
    this.restarts = restarts;
    this.vanishedInRow = vanishedInRow;
  }
}

/**
 * `deleteAll` gave up: it had deleted four times as many keys as the map holds, so something (a
 * datapath) was inserting as fast as it deleted, and in Node a loop that never ends holds the
 * whole process. The map may hold elements; calling deleteAll again is safe.
 */
export class DeleteAllAbortedError extends Error {
  /** The map's name. */
  readonly map: string;
  /** Keys deleted (or found gone) before it gave up: the budget, 4 × max_entries. */
  readonly deleted: number;
  /** Makes the error for a map after `deleted` deletes, with the map's max_entries for the message. */
  constructor(map: string, deleted: number, maxEntries: number) {
    super(`deleteAll ${map}: gave up after ${deleted} deletes (4 × max_entries ${maxEntries}): ` +
      "the map kept filling while it was emptied");
    this.name = "DeleteAllAbortedError";
    this.map = map;
    this.deleted = deleted;
  }
}

/** The raw bytes of one element a call took out of the map. */
export interface RawElement {
  /** The element's key bytes. */
  key: Uint8Array;
  /** The element's value bytes (all CPUs' slots for a per-CPU map). */
  value: Uint8Array;
}

/** What a `DecodeError` is made from: the operation and map, what failed to decode, and its bytes. */
export interface DecodeErrorInit {
  /** The operation that read the bytes (`lookup`, `lookupBatch`, …). */
  op: string;
  /** The name of the map the bytes came from. */
  map: string;
  /** What the codec failed on: a key, a value, or a whole element (a DumpParser). */
  what: "key" | "value" | "element";
  /** A copy of the bytes it was given (for an element, the key's bytes then the value's). */
  bytes: Uint8Array;
  /**
   * lookupBatch and lookupAndDeleteBatch: every element the call returned, raw. The cursor has
   * moved past them, and lookupAndDeleteBatch has removed them from the map.
   */
  batch?: RawElement[];
  /** True when the call deleted `batch` from the map (lookupAndDeleteBatch). */
  deleted?: boolean;
  /** The error the codec (or DumpParser) threw. */
  cause: unknown;
}

/**
 * A codec's `decode` (or a DumpParser) threw on bytes read from a map. The codec's own error is
 * the `cause`; this one says which map, which operation and which bytes.
 */
export class DecodeError extends Error {
  /** The operation that read the bytes (`lookup`, `lookupBatch`, …). */
  readonly op: string;
  /** The name of the map the bytes came from. */
  readonly map: string;
  /** Whether the codec failed on a key, a value, or a whole element (a DumpParser). */
  readonly what: "key" | "value" | "element";
  /** A copy of the bytes the codec was given (for an element, the key's bytes then the value's). */
  readonly bytes: Uint8Array;
  /** For lookupBatch and lookupAndDeleteBatch, every element the call returned, raw; otherwise undefined. */
  readonly batch: RawElement[] | undefined;
  /**
   * True when the call removed `batch` from the map (lookupAndDeleteBatch), so the raw bytes are all that is
   * left of it.
   */
  readonly deleted: boolean;

  /**
   * Makes the error, its message naming the map, the operation and the part that failed; `init.cause` becomes
   * its `cause`.
   */
  constructor(init: DecodeErrorInit) {
    const c = init.cause;
    const text = c instanceof Error ? c.message : String(c);
    const n = init.batch?.length ?? 0;
    const lost = init.batch === undefined ? ""
      : init.deleted === true ? ` (the call deleted ${n} element(s) from the map; their raw bytes are in error.batch)`
      : ` (the cursor has moved past the call's ${n} element(s); their raw bytes are in error.batch)`;
    super(`${init.op} ${init.map}: cannot decode the ${init.what} read from the map: ${text}${lost}`, { cause: c });
    this.name = "DecodeError";
    this.op = init.op;
    this.map = init.map;
    this.what = init.what;
    this.bytes = init.bytes;
    this.batch = init.batch;
    this.deleted = init.deleted === true;
  }
}

/** Throws a BpfError when a driver result is negative; returns it otherwise. */
export function check(ret: number, op: string, extra?: Omit<BpfErrorInit, "errno" | "op">): number {
  if (ret < 0) throw new BpfError({ errno: -ret, op, ...extra });
  return ret;
}
