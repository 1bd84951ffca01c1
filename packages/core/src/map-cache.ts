// The user-space cache of a map (`withCache()`): what the agent wants the map to hold, and the
// error resolver that retries failed writes and deletes in the background (pkg-bpf-behaviour.md
// §7.10–7.11, with the fixes of API.md §4.1–4.2).
//
// The outstanding-error count is kept exact by construction: it is the number of entries whose
// desired action is not `sync`, changed only where an entry changes action. Cilium instead
// counted events, so its count drifted (and went negative) when DeleteAll marked entries or the
// resolver re-inserted what it had just deleted.
import type { Logger } from "./logger.js";

/**
 * What the cache wants done with an entry, as in the seed: `OK` (in sync with the map), `Insert` (a write to
 * retry) or `Delete` (a delete to retry).
 */
export const DesiredAction = Object.freeze({ OK: 0, Insert: 1, Delete: 2 } as const);
export type DesiredAction = (typeof DesiredAction)[keyof typeof DesiredAction];

/** The seed's DesiredAction.String(): the code's strings, not the API schema's enum (§7.10). */
export function desiredActionString(a: number): "sync" | "to-be-inserted" | "to-be-deleted" | "unknown" {
  switch (a) {
    case DesiredAction.OK: return "sync";
    case DesiredAction.Insert: return "to-be-inserted";
    case DesiredAction.Delete: return "to-be-deleted";
    default: return "unknown";
  }
}

/** Cilium's maxSyncErrors: a resolver run stops scanning after this many failures. */
export const MAX_SYNC_ERRORS = 512;
/** Cilium's errorResolverSchedulerMinInterval, also the resolver's run interval. */
export const ERROR_RESOLVER_INTERVAL_MS = 5_000;
/** Cilium's errorResolverSchedulerDelay: the first run comes this long after an error. */
export const ERROR_RESOLVER_DELAY_MS = 200;

/**
 * One entry of a map's cache: the key and value as the agent wrote them, their bytes, and whether the kernel has
 * them yet.
 */
export interface CacheEntry<K, V> {
  /** The key as the agent passed it. */
  key: K;
  /**
   * The value as the agent last wrote it; undefined when a failed delete of a key the cache did
   * not hold made the entry.
   */
  value: V | undefined;
  /** The key's bytes as written to the kernel: the resolver retries with these. */
  keyBytes: Uint8Array;
  /** The value's bytes as written to the kernel: the resolver retries with these. */
  valueBytes: Uint8Array | undefined;
  /** Whether the entry is in the map (`OK`) or still to be written or deleted there. */
  desiredAction: DesiredAction;
  /** The error of the last failed attempt, until one succeeds. */
  lastError: Error | undefined;
  /**
   * Whether the agent wrote the value with BPF_F_LOCK (under its `bpf_spin_lock`): the resolver
   * writes it again the same way, so a program reading under the lock never sees it half-written.
   */
  locked?: boolean;
}

/** One row of `getModel().cache`. */
export interface BpfMapEntryModel {
  /** The key as the map's codec formats it. */
  key: string;
  /** The value as the map's codec formats it; absent when the entry has none. */
  value?: string;
  /** The seed's string for the entry's state: `sync`, `to-be-inserted` or `to-be-deleted`. */
  desiredAction: "sync" | "to-be-inserted" | "to-be-deleted" | "unknown";
  /** The message of the last failed attempt, while the entry is not in sync. */
  lastError?: string;
}

/** Timers for the resolver, injectable so tests drive it without waiting. */
export interface ResolverClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds; the handle goes to `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a `setTimeout`. */
  clearTimeout(handle: unknown): void;
  /** Runs `fn` every `ms` milliseconds; the handle goes to `clearInterval`. */
  setInterval(fn: () => void, ms: number): unknown;
  /** Cancels a `setInterval`. */
  clearInterval(handle: unknown): void;
}

function unref(h: unknown): unknown {
  (h as { unref?: () => void }).unref?.();
  return h;
}

/** Real timers, `unref`'d so a pending resolver never keeps the process alive. */
export const systemClock: ResolverClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => unref(setTimeout(fn, ms)),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => unref(setInterval(fn, ms)),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
};

/** What the cache needs of its map: kernel writes through the stored fd, errors, metrics. */
export interface CacheOwner {
  readonly mapName: string;
  readonly logger: Logger;
  /** 0 or -errno; `locked`: write with BPF_F_LOCK, as the agent did. */
  resolveUpdate(keyBytes: Uint8Array, valueBytes: Uint8Array, locked: boolean): number;
  /** 0 or -errno. */
  resolveDelete(keyBytes: Uint8Array): number;
  opError(op: string, errno: number): Error;
  metric(op: string, ok: boolean): void;
  /** The number of entries changed (the map's pressure metric follows it). */
  sizeChanged?(size: number): void;
  /**
   * For a cache of keys alone (`values` false): whether to keep them now. False for an LRU map:
   * the kernel evicts without telling, so the keys written would pile up for as long as the
   * map lives, and their count is not its pressure anyway (updatePressureMetricWithSize is).
   */
  countsKeys?(): boolean;
  /** A retry the resolver made (the map's event buffer records it); `err` undefined when it resolved the entry. */
  retried?(action: "update" | "delete", entry: CacheEntry<unknown, unknown>, err: Error | undefined): void;
}

/** Counts from one run of the cache's error resolver (`resolveErrors`). */
export interface ResolverRun {
  /** Entries the run looked at (it stops once more than `MAX_SYNC_ERRORS` retries have failed). */
  scanned: number;
  /** Entries it wrote or deleted in the map, so now in sync. */
  resolved: number;
  /** Retries that failed again. */
  errors: number;
  /** Entries still out of sync when the run ended. */
  remaining: number;
}

/**
 * The user-space cache of a map (`withCache()`): the entries the agent wants, and the background resolver that
 * retries failed writes and deletes.
 */
export class MapCache<K, V> {
  /** Keyed by the kernel's identity of a key (its bytes in hex; an LPM trie's masked past the prefix), whatever format() says. */
  readonly entries = new Map<string, CacheEntry<K, V>>();
  #outstanding = 0;
  #lastScheduled = Number.NEGATIVE_INFINITY;
  #startTimer: unknown = undefined;
  #interval: unknown = undefined;
  #stopped = false;
  readonly #owner: CacheOwner;
  readonly #clock: ResolverClock;
  /**
   * Cilium's withValueCache. Without it (a map with only a pressure metric) the cache counts the
   * keys written and not deleted, and nothing more: a failed write or delete changes nothing and
   * nothing is retried, since the caller was told of the failure and did not ask for a resolver.
   */
  readonly values: boolean;

  /**
   * Makes the cache of `owner`'s map; `clock` drives the resolver's timers; `values` false keeps keys alone, for
   * a pressure metric.
   */
  constructor(owner: CacheOwner, clock: ResolverClock = systemClock, values = true) {
    this.#owner = owner;
    this.#clock = clock;
    this.values = values;
  }

  /** Entries whose desired action is not `sync`. */
  get outstandingErrors(): number {
    return this.#outstanding;
  }

  /** True while the periodic resolver is armed (first run pending or interval running). */
  get resolverActive(): boolean {
    return this.#startTimer !== undefined || this.#interval !== undefined;
  }

  #setAction(e: CacheEntry<K, V>, a: DesiredAction): void {
    if ((e.desiredAction !== DesiredAction.OK) !== (a !== DesiredAction.OK)) {
      this.#outstanding += a !== DesiredAction.OK ? 1 : -1;
    }
    e.desiredAction = a;
  }

  #remove(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    if (e.desiredAction !== DesiredAction.OK) this.#outstanding--;
    this.entries.delete(id);
    this.#owner.sizeChanged?.(this.entries.size);
  }

  /** Update's cache effect (§7.6): the entry is replaced; a failure schedules the resolver. */
  recordUpdate(id: string, key: K, value: V, keyBytes: Uint8Array, valueBytes: Uint8Array, err: Error | undefined,
    locked = false): void {
    if (!this.values && (err !== undefined || this.#owner.countsKeys?.() === false)) return;
    const old = this.entries.get(id);
    if (old !== undefined && old.desiredAction !== DesiredAction.OK) this.#outstanding--;
    const e: CacheEntry<K, V> = {
      key, value, keyBytes, valueBytes, desiredAction: DesiredAction.OK, lastError: err,
    };
    if (locked) e.locked = true;
    this.entries.set(id, e);
    if (old === undefined) this.#owner.sizeChanged?.(this.entries.size);
    this.#setAction(e, err === undefined ? DesiredAction.OK : DesiredAction.Insert);
    if (err !== undefined) this.scheduleErrorResolver();
  }

  /**
   * Delete's cache effect (API.md §4.1): success removes the entry; failure marks it
   * to-be-deleted (creating it if needed) and schedules the resolver. `key` undefined means the
   * caller could not decode the key: a failure is then not recorded (nothing to show for it).
   */
  recordDelete(id: string, key: K | undefined, keyBytes: Uint8Array, err: Error | undefined): void {
    if (err === undefined) {
      this.#remove(id);
      return;
    }
    if (!this.values) return;
    let e = this.entries.get(id);
    if (e === undefined) {
      if (key === undefined) return;
      e = { key, value: undefined, keyBytes, valueBytes: undefined, desiredAction: DesiredAction.OK, lastError: undefined };
      this.entries.set(id, e);
      this.#owner.sizeChanged?.(this.entries.size);
    }
    e.lastError = err;
    this.#setAction(e, DesiredAction.Delete);
    this.scheduleErrorResolver();
  }

  /** DeleteAll's first step: every entry becomes to-be-deleted, "deletion pending". */
  markAllDeletePending(): void {
    if (!this.values) return;
    for (const e of this.entries.values()) {
      e.lastError = new Error("deletion pending");
      this.#setAction(e, DesiredAction.Delete);
    }
  }

  /**
   * Cilium's scheduleErrorResolver: at most once per 5 s, 200 ms later, create the resolver's
   * controller or update it; either runs it at once and then every 5 s until `stop()`. A closed
   * map schedules nothing; its errors are scheduled when it is opened again (restart).
   */
  scheduleErrorResolver(): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    if (now - this.#lastScheduled <= ERROR_RESOLVER_INTERVAL_MS) return;
    this.#lastScheduled = now;
    if (this.#startTimer !== undefined) return; // a run is due within 200 ms already
    this.#startTimer = this.#clock.setTimeout(() => {
      this.#startTimer = undefined;
      if (this.#stopped) return;
      // An updated controller runs now and counts its interval from this run.
      if (this.#interval !== undefined) this.#clock.clearInterval(this.#interval);
      this.#interval = this.#clock.setInterval(() => this.#runController(), ERROR_RESOLVER_INTERVAL_MS);
      this.#runController();
    }, ERROR_RESOLVER_DELAY_MS);
  }

  #runController(): void {
    const err = this.resolveErrors();
    if (err !== undefined) {
      this.#owner.logger.debug("BPF map error resolver run left errors", { map: this.#owner.mapName, error: err.message });
    }
  }

  /** Cilium's resolveErrors (§7.11) without its re-insert quirk. Returns an error while some remain. */
  resolveErrors(run?: ResolverRun): Error | undefined {
    const stats = run ?? { scanned: 0, resolved: 0, errors: 0, remaining: 0 };
    if (this.#outstanding === 0) return undefined;
    const owner = this.#owner;
    const started = this.#clock.now();
    owner.logger.debug("Starting periodic BPF map error resolver", { map: owner.mapName, remaining: this.#outstanding });
    for (const [id, e] of this.entries) {
      stats.scanned++;
      if (e.desiredAction === DesiredAction.Insert) {
        const r = owner.resolveUpdate(e.keyBytes, e.valueBytes as Uint8Array, e.locked === true);
        owner.metric("update", r >= 0);
        if (r >= 0) {
          e.lastError = undefined;
          this.#setAction(e, DesiredAction.OK);
          stats.resolved++;
        } else {
          e.lastError = owner.opError("update", -r);
          stats.errors++;
        }
        owner.retried?.("update", e, e.lastError);
      } else if (e.desiredAction === DesiredAction.Delete) {
        const r = owner.resolveDelete(e.keyBytes);
        owner.metric("delete", r >= 0);
        const resolved = r >= 0 || r === -2; /* ENOENT: already gone is what we wanted */
        if (resolved) {
          this.#remove(id);
          stats.resolved++;
        } else {
          e.lastError = owner.opError("delete", -r);
          stats.errors++;
        }
        owner.retried?.("delete", e, resolved ? undefined : e.lastError);
      }
      if (stats.errors > MAX_SYNC_ERRORS) break;
    }
    stats.remaining = this.#outstanding;
    owner.logger.debug("BPF map error resolver completed", {
      map: owner.mapName, remaining: stats.remaining, resolved: stats.resolved, scanned: stats.scanned,
      durationMs: this.#clock.now() - started,
    });
    return this.#outstanding > 0 ? new Error(`${this.#outstanding} map sync errors`) : undefined;
  }

  /** Stops the resolver (Close). The entries are kept, as in the seed. */
  stop(): void {
    if (this.#startTimer !== undefined) this.#clock.clearTimeout(this.#startTimer);
    if (this.#interval !== undefined) this.#clock.clearInterval(this.#interval);
    this.#startTimer = undefined;
    this.#interval = undefined;
  }

  /**
   * Lets a stopped cache schedule again (a closed map that is opened again), and schedules the
   * errors it kept meanwhile: a write that failed while the map was closed is retried now.
   */
  restart(): void {
    this.#stopped = false;
    if (this.#outstanding > 0) this.scheduleErrorResolver();
  }

  /** Stops for good until restart(). */
  close(): void {
    this.stop();
    this.#stopped = true;
    this.#lastScheduled = Number.NEGATIVE_INFINITY;
  }

  /** The cache's entries as `getModel().cache` rows, with the key and value in the given formats. */
  model(formatKey: (e: CacheEntry<K, V>) => string, formatValue: (e: CacheEntry<K, V>) => string): BpfMapEntryModel[] {
    const out: BpfMapEntryModel[] = [];
    for (const e of this.entries.values()) {
      const row: BpfMapEntryModel = { key: formatKey(e), desiredAction: desiredActionString(e.desiredAction) };
      if (e.value !== undefined) row.value = formatValue(e);
      if (e.lastError !== undefined) row.lastError = e.lastError.message;
      out.push(row);
    }
    return out;
  }
}
