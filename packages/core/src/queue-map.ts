// BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO) as one typed object: push is
// MAP_UPDATE_ELEM with an empty key, peek MAP_LOOKUP_ELEM, pop MAP_LOOKUP_AND_DELETE_ELEM
// (kernel/bpf/queue_stack_maps.c); only the order in which values come back differs.
import type { Bpf } from "./bpf.js";
import { BPF_ANY, BPF_EXIST, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK } from "./constants.js";
import { Errno } from "./errno.js";
import { KeylessMap, type KeylessKind, type KeylessMapSpec, type KeylessOpened } from "./keyless-map.js";
import { refuseBtf } from "./map-btf.js";
import { assertOptionKeys, optionKeys } from "./option-keys.js";
import { describeValue } from "./describe-value.js";

/** `bpf.newQueueMap`'s spec: a KeylessMapSpec with the type. */
export interface QueueMapSpec<V> extends KeylessMapSpec<V> {
  /** BPF_MAP_TYPE_QUEUE (first in, first out; the default) or BPF_MAP_TYPE_STACK (last in, first out). */
  type?: number;
}

/** Options of `BpfQueueMap.push`. */
export interface PushOptions {
  /**
   * When the map is full, drop its oldest value to make room (BPF_EXIST; in a stack too, the
   * oldest is the bottom one) rather than fail with E2BIG. Default false (BPF_ANY).
   */
  overwrite?: boolean;
}

/** Options of `BpfQueueMap.drain`. */
export interface DrainOptions {
  /**
   * Take at most this many values (an integer ≥ 0), then stop though more may be there: a loop
   * beside a program that keeps pushing ends. Default: until the map is empty.
   */
  max?: number;
}

const PUSH_OPTIONS_KEYS = optionKeys<PushOptions>({ overwrite: true });
const DRAIN_OPTIONS_KEYS = optionKeys<DrainOptions>({ max: true });
const QUEUE_SPEC_KEYS = optionKeys<QueueMapSpec<unknown>>({ name: true, type: true, value: true, maxEntries: true, flags: true, kernelName: true });

/** The map types a BpfQueueMap handles. */
export const QUEUE_KIND: KeylessKind = { types: [BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK], what: "a queue or stack" };

/**
 * A BPF queue or stack (cilium/ebpf: `Update(nil, v, UpdateAny)`, `LookupAndDelete(nil, &v)`;
 * bpftool's `map push|pop|peek`). Values only, no keys: `push` adds one, `pop` takes the next
 * (a queue's oldest, a stack's newest), `peek` reads it without taking it; an empty map's pop
 * and peek are undefined, as a BpfMap's lookup of a missing key is.
 */
export class BpfQueueMap<V> extends KeylessMap<V> {
  /**
   * Makes the object from a spec without touching the kernel (as `bpf.newQueueMap`); open it with
   * `openOrCreate()`. `opened` is for `bpf.openQueueMap`: an fd already open.
   */
  constructor(bpf: Bpf, spec: QueueMapSpec<V>, opened?: KeylessOpened, op = "newQueueMap") {
    if (spec !== null && typeof spec === "object") {
      const where = `${op} ${String(spec.name)}`;
      // The kernel takes a keyless map's BTF only where the type has a check of its own (a bloom
      // filter's); a queue or stack with a value type and no key type is EINVAL. libbpf and
      // cilium/ebpf leave their BTF out.
      spec = refuseBtf(spec, where, "a queue or stack takes no BTF (the kernel wants a key type with it, and a queue has no key: EINVAL)");
      assertOptionKeys(spec, QUEUE_SPEC_KEYS, where, "spec");
    }
    super(bpf, spec === null || typeof spec !== "object" ? spec : { ...spec, type: spec.type ?? BPF_MAP_TYPE_QUEUE },
      QUEUE_KIND, op, undefined, opened);
  }

  /** `queue` or `stack`, as the errors say it. */
  #kind(): string {
    return this.mapType === BPF_MAP_TYPE_STACK ? "stack" : "queue";
  }

  /**
   * Adds `value` (BPF_MAP_UPDATE_ELEM). A full map is BpfError E2BIG naming the map, unless
   * `{ overwrite: true }` (BPF_EXIST), which drops the oldest value instead. A map opened or
   * created read-only, or frozen, is EPERM.
   */
  push(value: V, options?: PushOptions): void {
    const op = "push";
    if (options !== undefined) {
      if (options === null || typeof options !== "object") throw new TypeError(`${op} ${this.name()}: options must be { overwrite? }`);
      assertOptionKeys(options, PUSH_OPTIONS_KEYS, `${op} ${this.name()}`, "options");
      if (options.overwrite !== undefined && typeof options.overwrite !== "boolean") {
        throw new TypeError(`${op} ${this.name()}: options.overwrite must be a boolean, got ${describeValue(options.overwrite)}`);
      }
    }
    const flags = options?.overwrite === true ? BPF_EXIST : BPF_ANY;
    this.encodeValue(value, op);
    const r = this.elemCall(op, "mapUpdateElem", (d, fd, key, vb) => d.mapUpdateElem(fd, key, vb, flags));
    if (r === -Errno.E2BIG) {
      throw this.opError(op, Errno.E2BIG, `the ${this.#kind()} is full (${this.maxEntries} values): pop first, or push with { overwrite: true } to drop the oldest`);
    }
    if (r < 0) throw this.opError(op, -r);
  }

  /** Takes the next value (BPF_MAP_LOOKUP_AND_DELETE_ELEM): a queue's oldest, a stack's newest; undefined when empty. */
  pop(): V | undefined {
    return this.#read("pop", true);
  }

  /** The value `pop` would take, left in the map (BPF_MAP_LOOKUP_ELEM); undefined when empty. */
  peek(): V | undefined {
    return this.#read("peek", false);
  }

  #read(op: string, take: boolean): V | undefined {
    // An empty map is an answer, not a failed operation.
    const r = this.elemCall(op, take ? "mapLookupAndDeleteElem" : "mapLookupElem",
      (d, fd, key, vb) => (take ? d.mapLookupAndDeleteElem(fd, key, vb) : d.mapLookupElem(fd, key, vb)),
      (r) => r >= 0 || r === -Errno.ENOENT);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) throw this.opError(op, -r);
    return this.decodeValue(op);
  }

  /**
   * Pops every value, lazily (the map opens on the first `next()`), until the map is empty or
   * `max` values are taken. Values pushed meanwhile (by a program) are popped too, so against a
   * producer that never stops only `max` (or leaving the loop) ends it. A value that cannot be
   * decoded has already been taken: its DecodeError holds the bytes. Bad options are refused at
   * the call, before any pop.
   */
  drain(options?: DrainOptions): Generator<V, void, undefined> {
    const where = `drain ${this.name()}`;
    if (options !== undefined && (options === null || typeof options !== "object")) throw new TypeError(`${where}: options must be { max? }`);
    assertOptionKeys(options, DRAIN_OPTIONS_KEYS, where, "options");
    const max = options?.max;
    if (max !== undefined && (typeof max !== "number" || !Number.isInteger(max) || max < 0)) {
      throw new RangeError(`${where}: options.max must be an integer of at least 0, got ${describeValue(max)}`);
    }
    return this.#drain(max ?? Infinity);
  }

  *#drain(max: number): Generator<V, void, undefined> {
    for (let taken = 0; taken < max; taken++) {
      const v = this.#read("drain", true);
      if (v === undefined) return;
      yield v;
    }
  }
}
