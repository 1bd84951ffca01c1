// A map's event buffer (`withEvents()`): the writes this object made to the map, each with its
// time, key, value and outcome, kept in a bounded buffer and handed to subscribers as they
// happen. Cilium's later pkg/bpf has it (Map.WithEvents, `cilium-dbg map events`) for auditing
// what the agent did to a map; v1.7 has none.
//
// Unlike Cilium, no timer expires old events: they are dropped when the buffer is next written
// or read, so nothing keeps the process alive and an idle map costs nothing. Delivery is
// synchronous and in order: an event recorded by a subscriber (a write from inside its callback)
// is queued and delivered after the one being delivered, to every subscriber alike.
import "./dispose-symbol.js"; // Symbol.dispose on Node 20.0–20.3, for the unsubscribe function's key
import type { Logger } from "./logger.js";
import { describeValue } from "./describe-value.js";

/**
 * What an event records: Cilium's actions (`update`, `delete`, `delete-all`, `batch-update`) and
 * `batch-delete` for the batch deletes Cilium's pkg/bpf does not have.
 */
export type MapEventAction = "update" | "delete" | "delete-all" | "batch-update" | "batch-delete";

/**
 * The BpfMap method an event came from: `resolveErrors` is the cache's error resolver retrying a
 * failed write (a timer's run or `resolveErrorsNow()`), as Cilium records its retries.
 */
export type MapEventOp = "update" | "delete" | "deleteWithErrno" | "lookupAndDelete" | "deleteAll" | "updateBatch" |
  "deleteBatch" | "lookupAndDeleteBatch" | "resolveErrors";

/** One write to a map, as `events()` and subscribers see it (frozen; the bytes are copies). */
export interface MapEvent<K, V> {
  /** What was done. */
  readonly action: MapEventAction;
  /** The method that did it. */
  readonly op: MapEventOp;
  /** When, in milliseconds from the events' clock (`Date.now()` unless `withEvents({ clock })`). */
  readonly time: number;
  /** The key written or deleted (update, delete), as the caller passed it; absent for the others. */
  readonly key?: K;
  /** The key's bytes as they went to the kernel (update, delete). */
  readonly keyBytes?: Uint8Array;
  /** The value written (update), or the one `lookupAndDelete` took; absent otherwise. */
  readonly value?: V;
  /** The value's bytes as they went to, or came from, the kernel. */
  readonly valueBytes?: Uint8Array;
  /** A batch's keys (`batch-update`, `batch-delete`): all the call was given, or, for `lookupAndDeleteBatch`, all it took. */
  readonly keys?: readonly K[];
  /** A batch's values (`batch-update`; `lookupAndDeleteBatch`: the values taken). */
  readonly values?: readonly V[];
  /**
   * Elements done: those a batch wrote or deleted before it stopped, or that `deleteAll`
   * deleted (an fd array's empty slots not counted).
   */
  readonly count?: number;
  /** Why it failed (a BpfError, a BatchError, DeleteAllAbortedError, …); absent when it succeeded. */
  readonly error?: Error;
}

/** A clock for event times and the TTL: milliseconds, non-decreasing (tests pass a manual one). */
export interface EventClock {
  /** Milliseconds; the default is `Date.now()`, so `new Date(event.time)` is the wall time. */
  now(): number;
}

/** Options of `withEvents()`. */
export interface WithEventsOptions {
  /** Events kept; the oldest goes when one more comes. Default 128, the size Cilium's agent gives most maps' buffers. */
  maxSize?: number;
  /** Events at least this old are dropped (milliseconds); 0, the default, keeps them until pushed out. */
  ttlMs?: number;
  /** Where event times come from (default `Date.now`); tests pass a manual clock. */
  clock?: EventClock;
}

/** Options of `subscribeEvents()`. */
export interface SubscribeEventsOptions {
  /**
   * First call the callback with every event kept now, oldest first (Cilium's
   * DumpAndSubscribe): nothing recorded meanwhile is missed or seen twice.
   */
  replay?: boolean;
}

/** A subscriber of `subscribeEvents()`. */
export type MapEventCallback<K, V> = (event: MapEvent<K, V>) => void;

/** Ends a subscription: call it, or `using` it. Calling it again does nothing. */
export type Unsubscribe = (() => void) & Disposable;

/** Cilium's agent default for a map's event buffer (most maps; its ipcache gets 1024). */
export const DEFAULT_EVENTS_MAX_SIZE = 128;

const wallClock: EventClock = { now: () => Date.now() };

interface Subscription<K, V> {
  cb: MapEventCallback<K, V>;
  /** Only events with a higher sequence number are delivered: those before it were replayed or predate it. */
  after: number;
  active: boolean;
  warned: boolean;
}

/** The options, checked (`where` begins each error): what `MapEvents` is made with. */
export interface EventsConfig {
  maxSize: number;
  ttlMs: number;
  clock: EventClock;
}

/** `options` checked and with their defaults; throws a TypeError or RangeError naming `where`. */
export function eventsConfig(options: WithEventsOptions, where: string, current?: EventsConfig): EventsConfig {
  // A second withEvents() changes what it names: a test's clock or a TTL given before stays.
  const { maxSize = current?.maxSize ?? DEFAULT_EVENTS_MAX_SIZE, ttlMs = current?.ttlMs ?? 0, clock = current?.clock ?? wallClock } = options;
  if (typeof maxSize !== "number" || !Number.isSafeInteger(maxSize) || maxSize < 1) {
    throw new RangeError(`${where}: options.maxSize must be a positive integer, got ${describeValue(maxSize)}`);
  }
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new RangeError(`${where}: options.ttlMs must be a non-negative number of milliseconds (0: no TTL), got ${describeValue(ttlMs)}`);
  }
  if (clock === null || typeof clock !== "object" || typeof clock.now !== "function") {
    throw new TypeError(`${where}: options.clock must be an object with a now() method`);
  }
  return { maxSize, ttlMs, clock };
}

/** The event buffer and subscribers of one map (`withEvents()`). */
export class MapEvents<K, V> {
  /** Oldest first from `#head`; compacted when the dropped front grows (amortised O(1) per event). */
  #buf: Array<MapEvent<K, V>> = [];
  #head = 0;
  #config: EventsConfig;
  /** The sequence number of the last event recorded. */
  #seq = 0;
  readonly #subs: Array<Subscription<K, V>> = [];
  /** Events recorded while a delivery runs, with their sequence numbers, delivered after it. */
  readonly #pending: Array<{ seq: number; event: MapEvent<K, V> }> = [];
  #delivering = false;
  readonly #mapName: string;
  readonly #logger: Logger;

  /** The buffer of the map `mapName`, which reports a throwing subscriber to `logger`. */
  constructor(config: EventsConfig, mapName: string, logger: Logger) {
    this.#config = config;
    this.#mapName = mapName;
    this.#logger = logger;
  }

  /** The options in force: what a later withEvents() keeps where it names none. */
  get config(): EventsConfig {
    return this.#config;
  }

  /**
   * New options (a second `withEvents()`): the events kept and the subscribers stay, the oldest
   * dropped beyond the new size or age.
   */
  configure(config: EventsConfig): void {
    this.#config = config;
    const excess = this.size - config.maxSize;
    if (excess > 0) this.#head += excess;
    this.#expire();
  }

  /** The number of events kept (some may be past the TTL until the next read or write). */
  get size(): number {
    return this.#buf.length - this.#head;
  }

  /** The current time of the events' clock. */
  now(): number {
    return this.#config.clock.now();
  }

  /** Keeps `event` (frozen here) and hands it to every subscriber. */
  record(event: MapEvent<K, V>): void {
    Object.freeze(event);
    this.#expire();
    if (this.size >= this.#config.maxSize) this.#head++;
    this.#buf.push(event);
    this.#compact();
    const seq = ++this.#seq;
    if (this.#subs.length === 0) return;
    this.#pending.push({ seq, event });
    if (!this.#delivering) this.#drain();
  }

  /** The events kept, oldest first, those past the TTL dropped: a new array each call. */
  list(): Array<MapEvent<K, V>> {
    this.#expire();
    return this.#buf.slice(this.#head);
  }

  /** Adds a subscriber; with `replay`, it is first given the events kept. */
  subscribe(cb: MapEventCallback<K, V>, replay: boolean): Unsubscribe {
    const sub: Subscription<K, V> = { cb, after: this.#seq, active: true, warned: false };
    this.#subs.push(sub);
    if (replay) {
      // Writes the callback makes during the replay are queued behind it, as during a delivery.
      const outer = this.#delivering;
      this.#delivering = true;
      try {
        // No unsubscribe exists until this returns, so the replay runs whole.
        for (const e of this.list()) this.#call(sub, e);
      } finally {
        this.#delivering = outer;
      }
      if (!outer) this.#drain();
    }
    const unsubscribe = (): void => {
      sub.active = false;
      const i = this.#subs.indexOf(sub);
      if (i >= 0) this.#subs.splice(i, 1);
    };
    return Object.assign(unsubscribe, { [Symbol.dispose]: unsubscribe });
  }

  /** The number of subscribers. */
  get subscribers(): number {
    return this.#subs.length;
  }

  #drain(): void {
    this.#delivering = true;
    try {
      for (let i = 0; i < this.#pending.length; i++) {
        const { seq, event } = this.#pending[i]!;
        // A copy: a callback may subscribe or unsubscribe.
        for (const sub of this.#subs.slice()) {
          if (sub.active && seq > sub.after) this.#call(sub, event);
        }
      }
    } finally {
      this.#pending.length = 0;
      this.#delivering = false;
    }
  }

  /** A subscriber's exception is logged (its first), never thrown into the map operation, which is done. */
  #call(sub: Subscription<K, V>, event: MapEvent<K, V>): void {
    try {
      sub.cb(event);
    } catch (e) {
      if (sub.warned) return;
      sub.warned = true;
      try {
        this.#logger.warn("BPF map event subscriber threw; the map operation is unaffected, and further exceptions from this subscriber are not logged",
          { map: this.#mapName, action: event.action, error: e });
      } catch {
        // A logger that throws must not undo the operation either.
      }
    }
  }

  /** Drops events at least ttlMs old from the front (times are non-decreasing). */
  #expire(): void {
    const ttl = this.#config.ttlMs;
    if (ttl === 0 || this.size === 0) return;
    const now = this.#config.clock.now();
    while (this.#head < this.#buf.length && now - this.#buf[this.#head]!.time >= ttl) this.#head++;
    this.#compact();
  }

  #compact(): void {
    const head = this.#head;
    if (head === 0) return;
    if (head === this.#buf.length) {
      this.#buf = [];
      this.#head = 0;
    } else if (head >= 64 && head * 2 >= this.#buf.length) {
      this.#buf = this.#buf.slice(head);
      this.#head = 0;
    }
  }
}
