// BpfMap: the seed's Map (pkg-bpf-behaviour.md §7) over the Driver, with the decisions of
// API.md §4. One object per pinned map: it resolves its path, opens or creates the map lazily,
// encodes keys and values through its codecs into buffers it reuses, and keeps the optional
// cache and error resolver.
// [Symbol.dispose] in the .d.ts needs this lib where a consumer has neither esnext nor @types/node.
/// <reference lib="esnext.disposable" preserve="true" />
import "./dispose-symbol.js"; // before the class below takes [Symbol.dispose] as a key
import { accessRefusal, type AccessFlags } from "./access-mode.js";
import type { Bpf, CreateMapOptions, MapInfo } from "./bpf.js";
import { bytes, decodeAt, formatWith, hex, type Codec } from "./codec.js";
import { extractCommonName } from "./common-name.js";
import {
  BPF_ANY, BPF_F_LOCK, BPF_F_RDONLY, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_SOCKMAP, isFdValueMapType, isHashMapType, isMapOfMapsType,
  isIndexedMapType, isLruMapType, isPerCpuMapType, keylessMapTypeName, perCpuSlotSize, userValueSize,
} from "./constants.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import type { Driver } from "./driver.js";
import type { DumpParser, KeyValue } from "./dump-parser.js";
import { BatchScratch, batchDump, walkDump, type DumpTarget, type RawSink } from "./dump-reliable.js";
import { newDumpStats, type DumpStats } from "./dump-stats.js";
import { deleteRefusal, lockRefused, lookupRefusal, updateRefusal } from "./elem-refusal.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError, DecodeError, DeleteAllAbortedError, isNotExist, type RawElement } from "./errors.js";
import { frozenRefusal, getMapFdInfo, type MapFdInfo } from "./fdinfo.js";
import { freezeBusyRefusal, MapMemory, memoryWish, mmapRefusal, readOnlyFallback, type MapMemoryOptions } from "./map-memory.js";
import type { BpfMapInfo } from "./info.js";
import { iterateMap, type IterateOptions } from "./iterate.js";
import { keylessClassFor } from "./keyless-map.js";
import { lpmKeyId } from "./lpm-order.js";
import { assertKernelName } from "./kernel-name.js";
import { heldClosed, heldCodecless, type Held } from "./held-map.js";
import {
  checkPinned, closedHeldError, closedUnpinnedError, createdAs, isPinnedNow, mapOpError, namedError, notPinnedYet,
  requireFullAccess, requirePin, unpinnedReopenError, unpinPath, type MapOwner,
} from "./map-lifecycle.js";
import { BatchCursor, BatchError, deleteBatchRaw, lookupBatchRaw, updateBatchRaw } from "./map-batch.js";
import { MapIncompatibleError, mapDifferences, type WantedMapProperties } from "./map-compat.js";
import { MapCache, type CacheEntry, type CacheOwner, type ResolverClock, type ResolverRun } from "./map-cache.js";
import {
  eventsConfig, MapEvents, type MapEvent, type MapEventCallback, type MapEventOp, type SubscribeEventsOptions, type Unsubscribe,
  type WithEventsOptions,
} from "./map-events.js";
import { type BpfMapModel, type CompatibleSpec, type DumpCallback, type DumpOptions, type MapSpec, type OpenMapCodecs } from "./map-spec.js";
import { type OpenMapCodecChooser, openedMapShape } from "./opened-codecs.js";
import { meteredDriver, type MetricsHook } from "./metrics.js";
import {
  assertOptionKeys, DUMP_OPTIONS_KEYS, ITERATE_OPTIONS_KEYS, MAP_SPEC_KEYS, OPEN_MAP_CODECS_KEYS, SUBSCRIBE_EVENTS_OPTIONS_KEYS,
  WITH_CACHE_OPTIONS_KEYS, WITH_EVENTS_OPTIONS_KEYS,
} from "./option-keys.js";
import { beforeCreate, InnerTemplate } from "./inner-template.js";
import { readMapBtf, specBtf, type MapBtfInfo } from "./map-btf.js";
import type { MapBtf } from "./btf/btf-codec.js";
import { specMapName } from "./paths.js";
import { keptPin, PIN_CHANGED, replacePin, type PinKept } from "./pins.js";
import { zeroBytes } from "./small-bytes.js";
import { offBpffs } from "./unpin.js";
import { describeValue } from "./describe-value.js";

/** Internal construction options: `newPerCpuMap` and `fromOpened` use them. */
export interface BpfMapInternal {
  /** The kernel's value_size when the value codec covers more (per-CPU: every CPU's slot). */
  valueSize?: number;
  /**
   * An already open map (`bpf.openMap`); `codecless` when it was opened without codecs. A map
   * held only by its fd (`bpf.openMapById`, `bpf.newMapFromFd`, `clone()`) says how in `held`;
   * `kernelName` labels its metrics, unless `metricName` (a clone's: its original's) is given.
   * `kernelType` and `kernelMaxEntries` are the kernel's where `info` gives the spec's (a clone's).
   */
  opened?: {
    path: string; fd: number; info: MapInfo; codecless: boolean; held?: Held; kernelName?: string;
    metricName?: string; access?: AccessFlags; kernelType?: number; kernelMaxEntries?: number;
  };
  /** The public function that made the map, which the spec's errors name (default `newMap`). */
  op?: string;
  /** The value codec BTF describes, where the spec's covers more (per-CPU: one CPU's value). */
  btfValue?: Codec<unknown>;
}

/** How often openParallel replaces the pin again when another process replaced it meanwhile. */
const PARALLEL_TRIES = 8;

/** What `checkAndUpgrade` compares against (the seed passes a *MapInfo). */
export interface DesiredMapInfo {
  /** The map type wanted (`BPF_MAP_TYPE_*`), compared after normalisation. */
  mapType: number;
  /** The key size wanted, in bytes. */
  keySize: number;
  /** The value size wanted, in bytes (one CPU's value for per-CPU types). */
  valueSize: number;
  /** The max_entries wanted. */
  maxEntries: number;
  /** The creation flags wanted (0 when left out), with the pre-allocation flag added as a create would. */
  flags?: number;
}

/** Options of `withCache()`. */
export interface WithCacheOptions {
  /** Timers for the error resolver (tests pass a manual clock). */
  clock?: ResolverClock;
}

/** Map types whose kernel offers BPF_MAP_LOOKUP_BATCH (kernel-maps.md §10.3). */
function mayBatch(t: number): boolean {
  return isHashMapType(t) || t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY ||
    t === BPF_MAP_TYPE_LPM_TRIE || t === BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

/** A TypeError naming `where` unless both are Codecs (size, encode, decode). */
function assertCodecs(key: unknown, value: unknown, where: string): void {
  for (const [what, c] of [["key", key], ["value", value]] as const) {
    const codec = c as Partial<Codec<unknown>> | null;
    if (codec === null || typeof codec !== "object" || typeof codec.encode !== "function" ||
      typeof codec.decode !== "function" || !isUint(codec.size)) {
      throw new TypeError(`${where}: ${what} must be a Codec (size, encode, decode)`);
    }
  }
}

/**
 * The map each BatchCursor walks. A token is a position in one map (a bucket index or a key);
 * in another map of the same token size it would be taken silently and mean nothing.
 */
const cursorOwners = new WeakMap<BatchCursor, object>();

function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** Codecs for a map opened by path or id: given, or chosen from its shape. */
type OpenCodecs<K, V> = OpenMapCodecs<K, V> | OpenMapCodecChooser<K, V>;

/** The name of a map opened by id: `id:12` (no kernel name is unique, and one is often empty). */
export function idMapName(id: number): string {
  return `id:${id}`;
}

/**
 * The spec of a map already open with `info`: byte codecs sized from the info without codecs,
 * else the codecs given or chosen (a chooser is called with the map's shape), which must fit its
 * key size and (per-CPU: every CPU's) value size. `where` (`openMap /path`) begins each error.
 */
function openedSpec<K, V>(bpf: Bpf, name: string, fd: number, info: MapInfo, given: OpenCodecs<K, V> | undefined,
  kernelName: string, where: string): MapSpec<K, V> {
  const cpus = bpf.driver.possibleCpus;
  const valueBytes = userValueSize(info.mapType, info.valueSize, cpus);
  let key: Codec<any> = bytes(info.keySize), value: Codec<any> = bytes(valueBytes);
  let codecs = given as OpenMapCodecs<K, V> | undefined;
  if (typeof given === "function") {
    try {
      codecs = given(openedMapShape(info, kernelName, cpus, () => readMapBtf(bpf, fd)));
    } catch (e) {
      // A syscall's refusal (the map's BTF by id needs CAP_SYS_ADMIN) keeps its errno; the
      // opener names the map in it, as in its own refusals.
      if (e instanceof BpfError) throw e;
      const Ctor = e instanceof RangeError ? RangeError : TypeError;
      throw new Ctor(`${where}: the codec chooser threw: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (codecs === undefined) throw new TypeError(`${where}: the codec chooser returned undefined, not { key, value }`);
    assertOptionKeys(codecs, OPEN_MAP_CODECS_KEYS, where, "codecs");
  }
  if (codecs !== undefined) {
    if (codecs === null || typeof codecs !== "object") throw new TypeError(`${where}: codecs must be { key, value } or a function choosing them (rawCodecs)`);
    ({ key, value } = codecs);
    assertCodecs(key, value, where);
    if (key.size !== info.keySize) {
      throw new RangeError(`${where}: the key codec is ${key.size} bytes, the map's keys are ${info.keySize}`);
    }
    if (value.size !== valueBytes) {
      const perCpu = valueBytes !== info.valueSize ? ` (${cpus} CPUs × ${valueBytes / cpus}: use perCpuValues)` : "";
      throw new RangeError(`${where}: the value codec is ${value.size} bytes, the map's values are ${valueBytes}${perCpu}`);
    }
  }
  return {
    name, type: info.mapType, key, value, maxEntries: info.maxEntries,
    flags: info.flags, innerId: info.innerId, dumpParser: codecs?.dumpParser,
  };
}

/** The batch calls that write, which a frozen map refuses (EPERM) as it does update and delete. */
const WRITE_BATCH_OPS = new Set(["updateBatch", "deleteBatch", "lookupAndDeleteBatch"]);

/**
 * A map as Cilium's pkg/bpf has it: made by `bpf.newMap`/`openMap`/`openMapById`, typed by its
 * codecs, opened lazily, with the seed's dumps, cache and pressure metric.
 */
export class BpfMap<K, V> {
  readonly #bpf: Bpf;
  readonly #driver: Driver;
  readonly #name: string;
  /** The spec's kernelName, given to every map this object creates ("": none, the seed's). */
  readonly #kernelName: string;
  /** With the spec's `btf: true`: the BTF every map this object creates carries, built once. */
  readonly #btf: MapBtf | undefined;
  #path = "";
  #fd = -1;
  /**
   * The type the kernel reports for the open map: the spec's, except for a pin adopted under
   * another type (a PROG_ARRAY is never re-created). The walks go by it, since an fd array's
   * empty slots must be passed over whatever the spec says.
   */
  #kernelType = 0;
  /** The open map's max_entries as the kernel has it (open() adopts a pin whatever its max). */
  #kernelMaxEntries = 0;
  readonly #info: MapInfo;
  /** A map of maps' template (the spec's innerId), its shape kept from the first open. */
  readonly #innerTemplate: InnerTemplate | undefined;
  /** The flags the caller asked for; the pre-allocation flag is added at each open. */
  readonly #specFlags: number;
  readonly #key: Codec<K>;
  readonly #value: Codec<V>;
  /** Codecs made up from sizes (`fromOpened`): dumps refuse, as the seed would crash. */
  readonly #codecless: boolean;
  readonly #dumpParser: DumpParser<K, V> | undefined;
  #nonPersistent = false;
  #inParallelMode = false;
  /** False once created without a pin: after close() there is nothing to open again. */
  #reopenable = true;
  /**
   * How a map held only by its fd came (openMapById, newMapFromFd, clone): it is never opened,
   * created or replaced at a pin, and once closed it stays closed.
   */
  readonly #held: Held | undefined;
  /** The fd's access mode (openMap's options): every open of the pin asks for it again. */
  readonly #access: AccessFlags;
  #closedForGood = false;
  #cache: MapCache<K, V> | undefined;
  /** The event buffer, once withEvents(): undefined keeps every write's cost to this one check. */
  #events: MapEvents<K, V> | undefined;
  /** The pressure gauge's label (Cilium's NonPrefixedName) once withPressureMetric() is on. */
  #pressureName: string | undefined;
  #commonName: string | undefined;
  readonly #metrics: MetricsHook | undefined;
  /** The driver with the syscall hook around it, for dumps, iterators and batches. */
  #metered: Driver | undefined;
  // Scratch buffers reused by every single-element operation.
  readonly #keyBuf: Uint8Array;
  readonly #nextKeyBuf: Uint8Array;
  readonly #valueBuf: Uint8Array;
  readonly #batch = new BatchScratch();

  /**
   * Makes the map object from a spec without touching the kernel (the seed's NewMap); open it with
   * `openOrCreate` or `open`.
   */
  constructor(bpf: Bpf, spec: MapSpec<K, V>, internal: BpfMapInternal = {}) {
    const op = internal.op ?? "newMap";
    if (spec === null || typeof spec !== "object") throw new TypeError(`${op}: spec must be an object`);
    assertOptionKeys(spec, MAP_SPEC_KEYS, typeof spec.name === "string" ? `${op} ${spec.name}` : op, "spec");
    // One path element: a "/" or ".." would pin, unpin or rm -rf somewhere else entirely. A path
    // in the map directory is its base name, as the seed's NewMap took path.Base.
    const name = specMapName(spec.name, () => bpf.mapPrefixPath(), op);
    if (!isUint(spec.type)) throw new TypeError(`${op} ${name}: type must be a BPF_MAP_TYPE_* number, got ${describeValue(spec.type)}`);
    assertCodecs(spec.key, spec.value, `${op} ${name}`);
    if (!isUint(spec.maxEntries)) throw new TypeError(`${op} ${name}: maxEntries must be a u32, got ${describeValue(spec.maxEntries)}`);
    if (spec.flags !== undefined && !isUint(spec.flags)) throw new TypeError(`${op} ${name}: flags must be a u32`);
    if (spec.innerId !== undefined && !isUint(spec.innerId)) {
      // -1 is what getFd() says of a template map that is not open yet.
      const why = typeof spec.innerId === "number" && spec.innerId < 0
        ? `, got ${spec.innerId}: it is the fd of an open map, the inner-map template (getFd() is -1 until the map is opened)`
        : `, got ${describeValue(spec.innerId)}`;
      throw new TypeError(`${op} ${name}: innerId must be a u32${why}`);
    }
    if (spec.dumpParser !== undefined && typeof spec.dumpParser !== "function") {
      throw new TypeError(`${op} ${name}: dumpParser must be a function`);
    }
    // Here, not at the first create: there it would be the kernel's bare EINVAL, maybe much later.
    if (spec.kernelName !== undefined) assertKernelName(spec.kernelName, `${op} ${name}`);
    const cpus = bpf.driver.possibleCpus;
    const valueSize = internal.valueSize ?? spec.value.size;
    const readValueSize = userValueSize(spec.type, valueSize, cpus);
    // A BpfMap is keyed; a type without keys would fail at create with a bare EINVAL.
    const keyless = keylessMapTypeName(spec.type);
    if (keyless !== undefined) {
      const cls = keylessClassFor(spec.type);
      throw new TypeError(`${op} ${name}: a ${keyless} map has no keys, and a BpfMap needs them` +
        (cls !== undefined ? `; make it with ${cls.make} (a ${cls.name})` : "; bpfkit has no class for it"));
    }
    if (internal.valueSize === undefined && isPerCpuMapType(spec.type)) {
      throw new TypeError(`${op} ${name}: per-CPU map values are one per CPU; use bpf.newPerCpuMap (any per-CPU type) or bpf.newPerCpuHashMap`);
    }
    if (spec.value.size !== readValueSize) {
      throw new RangeError(`${op} ${name}: the value codec is ${spec.value.size} bytes, the map's values are ${readValueSize}`);
    }
    if (spec.btf !== undefined && typeof spec.btf !== "boolean") throw new TypeError(`${op} ${name}: btf must be a boolean, got ${describeValue(spec.btf)}`);
    // A map opened (by path, id or fd) is never created by this object: its BTF is the pin's.
    const wantsBtf = spec.btf === true && internal.opened === undefined;
    if (wantsBtf && isMapOfMapsType(spec.type)) {
      throw new TypeError(`${op} ${name}: a map of maps takes no BTF (the kernel answers ENOTSUPP): leave btf out; its inner maps may have theirs`);
    }

    this.#bpf = bpf;
    this.#driver = bpf.driver;
    this.#metrics = bpf.metrics;
    this.#name = name;
    this.#kernelName = spec.kernelName ?? "";
    this.#btf = wantsBtf ? specBtf(spec.key, internal.btfValue ?? spec.value, `${op} ${name}`) : undefined;
    this.#key = spec.key;
    this.#value = spec.value;
    this.#dumpParser = spec.dumpParser;
    this.#specFlags = spec.flags ?? 0;
    this.#codecless = internal.opened?.codecless === true;
    this.#info = {
      mapType: spec.type, keySize: spec.key.size, valueSize, readValueSize, maxEntries: spec.maxEntries,
      flags: this.#specFlags, innerId: spec.innerId ?? 0, ownerProgType: 0,
    };
    this.#innerTemplate = isMapOfMapsType(spec.type) && spec.innerId !== undefined ? new InnerTemplate(spec.innerId) : undefined;
    this.#keyBuf = new Uint8Array(spec.key.size);
    this.#nextKeyBuf = new Uint8Array(spec.key.size);
    this.#valueBuf = new Uint8Array(readValueSize);
    this.#held = internal.opened?.held;
    this.#access = internal.opened?.access ?? 0;
    if (internal.opened !== undefined) {
      const { path, fd, info, held, metricName } = internal.opened;
      this.#path = path;
      this.#fd = fd;
      if (held !== undefined) {
        this.#reopenable = false;
        // One series per kernel name, not per id: inner maps come and go with new ids.
        const kernelName = internal.opened.kernelName ?? "";
        this.#commonName = metricName ?? (kernelName !== "" ? extractCommonName(kernelName) : held.by === "newMapFromFd" ? "by-fd" : "by-id");
      }
      Object.assign(this.#info, info);
      this.#info.readValueSize = readValueSize;
      this.#kernelType = internal.opened.kernelType ?? this.#info.mapType;
      this.#kernelMaxEntries = internal.opened.kernelMaxEntries ?? this.#info.maxEntries;
    }
  }

  /**
   * For `bpf.openMap`: a map already open at `path`. Without codecs it has byte codecs sized from
   * its info: it can be read and written with raw keys and values, and dumping it throws. With
   * codecs, they must match the map's key size and (per-CPU: every CPU's) value size.
   */
  static fromOpened<K = Uint8Array, V = Uint8Array>(bpf: Bpf, name: string, path: string, fd: number, info: MapInfo,
    codecs?: OpenCodecs<K, V>, kernelName = "", access: AccessFlags = 0): BpfMap<K, V> {
    const base = name.slice(name.lastIndexOf("/") + 1);
    const spec = openedSpec<K, V>(bpf, base, fd, info, codecs, kernelName, `openMap ${path}`);
    const m = new BpfMap<K, V>(bpf, spec, { valueSize: info.valueSize, opened: { path, fd, info, codecless: codecs === undefined, access } });
    bpf.registerMap(path, m);
    return m;
  }

  /**
   * For `bpf.openMapById`: the map with kernel id `id`, open as `fd`. Named `id:<id>`, with no
   * pin path and not registered; codecs as for `fromOpened`. `kernelName` (bpf_map_info's name)
   * labels its metrics.
   */
  static fromId<K = Uint8Array, V = Uint8Array>(bpf: Bpf, id: number, fd: number, info: MapInfo, kernelName: string,
    codecs?: OpenCodecs<K, V>, access: AccessFlags = 0): BpfMap<K, V> {
    return BpfMap.#fromHeld<K, V>("openMapById", bpf, id, fd, info, kernelName, codecs, access);
  }

  /**
   * For `bpf.newMapFromFd`: the map with kernel id `id` behind `fd`, which the caller had and this
   * object now owns. As `fromId` (named `id:<id>`, no pin path, not registered), but its errors
   * say it was adopted, and a map without a kernel name is labelled `by-fd` in metrics.
   */
  static fromFd<K = Uint8Array, V = Uint8Array>(bpf: Bpf, id: number, fd: number, info: MapInfo, kernelName: string,
    codecs?: OpenCodecs<K, V>, access: AccessFlags = 0): BpfMap<K, V> {
    return BpfMap.#fromHeld<K, V>("newMapFromFd", bpf, id, fd, info, kernelName, codecs, access);
  }

  /** fromId and fromFd: a map held only by `fd`, which came by `by`. */
  static #fromHeld<K, V>(by: "openMapById" | "newMapFromFd", bpf: Bpf, id: number, fd: number, info: MapInfo,
    kernelName: string, codecs: OpenCodecs<K, V> | undefined, access: AccessFlags): BpfMap<K, V> {
    const name = idMapName(id);
    const spec = openedSpec<K, V>(bpf, name, fd, info, codecs, kernelName, `${by} ${name}`);
    return new BpfMap<K, V>(bpf, spec, {
      valueSize: info.valueSize, opened: { path: "", fd, info, codecless: codecs === undefined, held: { by, id }, kernelName, access },
    });
  }

  /**
   * cilium/ebpf's Map.Clone: a new BpfMap over a dup of this map's fd (Driver.dup, the kernel's
   * F_DUPFD_CLOEXEC), the same map and not another one made or opened at the pin. The clone has
   * this map's name, path, codecs, access mode and metrics label, and its own fd: close either
   * and the other works on. Like a map opened by id it is held by that fd alone: it never
   * opens, creates, replaces or unpins anything at a pin (those refuse with EINVAL and leave
   * it open), and once closed every operation is EBADF. It is not in the registry (`getMap`
   * still gives this map), and it starts without this map's cache (`withCache()` it for one:
   * a cache holds what one object wrote, for its resolver to write again) and pressure metric.
   *
   * This map must be open: a closed one, or one not opened yet, is EBADF naming the map and
   * `clone` (open() it first: a clone of a pinned map is of the handle, not of the pin). On a
   * driver without `dup`, or whose dup answers ENOSYS, it is BpfError ENOSYS saying the driver
   * cannot dup; `bpf.openMapById(id)` gives another handle there.
   */
  clone(): BpfMap<K, V> {
    const op = "clone";
    if (this.#fd < 0) {
      const why = this.#held !== undefined ? heldClosed(this.#held)
        : this.#closedForGood ? "it was created without a pin, so it cannot be opened again"
        : "clone duplicates an open map's fd: open() it first";
      throw new BpfError({ errno: Errno.EBADF, op, map: this.#name, path: this.#path || undefined,
        message: `${op} ${this.#name}: the map is not open (${why})` });
    }
    const fd = this.#fd;
    const driver = this.#driver;
    const r = driver.dup === undefined ? -Errno.ENOSYS : driver.dup(fd);
    if (!isNegErrno(r) && !(Number.isInteger(r) && r >= 0)) throw driverContractError(driver, "dup", r, "an fd");
    if (r === -Errno.ENOSYS) {
      throw new BpfError({ errno: Errno.ENOSYS, op, map: this.#name, path: this.#path || undefined,
        message: `${op} ${this.#name}: the driver ${JSON.stringify(driver.kind)} cannot dup an fd (${driver.dup === undefined ? "it has no dup method" : "its dup answers ENOSYS"}), ` +
          "so there is no second handle on this map to give; bpf.openMapById(id) opens another" });
    }
    if (r < 0) {
      throw new BpfError({ errno: -r, op, map: this.#name, path: this.#path || undefined,
        message: `${op} ${this.#name}: Unable to duplicate file descriptor ${fd}: ${errnoText(-r)}` });
    }
    try {
      const spec: MapSpec<K, V> = {
        name: this.#name, type: this.#info.mapType, key: this.#key, value: this.#value, maxEntries: this.#info.maxEntries,
        flags: this.#specFlags, dumpParser: this.#dumpParser,
        ...(this.#info.innerId !== 0 ? { innerId: this.#info.innerId } : {}),
        ...(this.#kernelName !== "" ? { kernelName: this.#kernelName } : {}),
      };
      return new BpfMap<K, V>(this.#bpf, spec, {
        op, valueSize: this.#info.valueSize,
        opened: {
          // The original's info (its spec's type and size where they differ from the pin's),
          // and the kernel's own, which the clone's refusals name as the original's do.
          path: this.#path, fd: r, info: { ...this.#info }, codecless: this.#codecless, held: { by: "clone", id: this.#held?.id },
          metricName: this.#commonName ?? extractCommonName(this.#name), access: this.#access,
          kernelType: this.#kernelType, kernelMaxEntries: this.#kernelMaxEntries,
        },
      });
    } catch (e) {
      driver.close(r);
      throw e;
    }
  }

  // ---- accessors

  /**
   * The map's name: the pin's base name under the map directory, or `id:<id>` for a map held only
   * by its fd (openMapById, newMapFromFd, clone).
   */
  name(): string {
    return this.#name;
  }

  /**
   * The pin path, resolved through `bpf.mapPath(name)` on first use (which locks the root down).
   * "" for a map opened by id (`bpf.openMapById`) or adopted from an fd (`bpf.newMapFromFd`),
   * which have no pin path; a clone has its original's.
   */
  path(): string {
    if (this.#path === "" && this.#held === undefined) this.#path = this.#bpf.mapPath(this.#name);
    return this.#path;
  }

  /** The open fd, or -1 while the map is not open (the seed's 0). */
  getFd(): number {
    return this.#fd;
  }

  /** Whether the map holds an open fd now. */
  isOpen(): boolean {
    return this.#fd >= 0;
  }

  /**
   * cilium/ebpf's Map.IsPinned, asked of the kernel: true when the map this object holds open is
   * the one pinned at its path now (the same map id). False while it is not open, for a map
   * opened by id (it has no pin path), for one made by openOrCreateUnpinned with nothing pinned
   * there, and for one whose pin was removed, or replaced by another map (another process's
   * upgrade or openParallel): its fd still works, but whoever opens the path gets the other map,
   * so reopen() to follow the pin. Reads the pin through a short-lived fd (OBJ_GET, then
   * OBJ_GET_INFO_BY_FD on both fds).
   */
  isPinned(): boolean {
    if (this.#fd < 0) return false;
    return isPinnedNow(this.#bpf, { ...this.#owner(), path: this.#held !== undefined ? this.#path : this.path() }, this.#fd);
  }

  /**
   * What the kernel says of the map now (bpf_map_info; cilium/ebpf's Map.Info): its id, kernel
   * name, type, sizes and flags as the kernel has them. One BPF_OBJ_GET_INFO_BY_FD; a pinned map
   * that is not open yet is opened first, as by any element operation. (`mapInfo` is the seed's:
   * what this object was made with.)
   */
  info(): BpfMapInfo {
    const fd = this.#fdFor("info");
    try {
      return this.#bpf.getMapInfoByFd(fd);
    } catch (e) {
      throw this.#named("info", e);
    }
  }

  /**
   * What the kernel's fdinfo says of the map and bpf_map_info does not (cilium/ebpf's
   * MapInfo.Frozen and Memlock): whether it is frozen, the bytes it is charged (`memlock`, which
   * grows with the elements of a NO_PREALLOC hash or an LPM trie), and for a PROG_ARRAY the owner
   * program's type and JIT flag. No syscall: the driver's optional mapFdInfo reads it (a BpfError
   * EOPNOTSUPP naming the driver where it has none). A pinned map not open yet is opened first.
   */
  fdInfo(): MapFdInfo {
    const fd = this.#fdFor("fdInfo");
    try {
      return getMapFdInfo(this.#bpf.driver, fd);
    } catch (e) {
      throw this.#named("fdInfo", e);
    }
  }

  /**
   * The map's BTF, or null when it has none (cilium/ebpf's MapInfo.BTFID and btf.NewHandleFromID):
   * the object's id, size and name, its types parsed (`spec`), and the key's and value's type ids
   * in them, as the kernel has them in bpf_map_info. Enough to print a map someone else made by field:
   * `formatBtfValue(b.spec, b.valueTypeId, bytes)`. Reads the BTF object by id (CAP_SYS_ADMIN),
   * each call afresh; a driver without the BTF methods answers EOPNOTSUPP for a map that has BTF.
   * A pinned map not open yet is opened first.
   */
  btf(): MapBtfInfo | null {
    const fd = this.#fdFor("btf");
    try {
      return readMapBtf(this.#bpf, fd);
    } catch (e) {
      throw this.#named("btf", e);
    }
  }

  /** The seed's embedded MapInfo (a copy): type and flags are the normalised ones once opened. */
  get mapInfo(): MapInfo {
    return { ...this.#info };
  }

  /** True after `withNonPersistent()`: every openOrCreate removes the old pin first (the seed's NonPersistent). */
  get nonPersistent(): boolean {
    return this.#nonPersistent;
  }

  /** True from a successful `openParallel()` until `endParallelMode()`. */
  get inParallelMode(): boolean {
    return this.#inParallelMode;
  }

  /** The codec the map encodes and decodes its keys with. */
  get keyCodec(): Codec<K> {
    return this.#key;
  }

  /** The codec the map encodes and decodes its values with. */
  get valueCodec(): Codec<V> {
    return this.#value;
  }

  // ---- builders

  /**
   * Keeps a cache of what this object wrote, with the error resolver (replaces any cache). A
   * failed write schedules the resolver: 200 ms later, then every 5 s, until close(). Writes that
   * fail while the map is closed are retried once it is opened again. The cache holds every key
   * written and not deleted, so on an LRU map, which evicts without telling it, it grows with the
   * keys ever written: give such a map no cache.
   */
  withCache(options: WithCacheOptions = {}): this {
    if (options === null || typeof options !== "object") throw new TypeError(`withCache ${this.#name}: options must be an object`);
    assertOptionKeys(options, WITH_CACHE_OPTIONS_KEYS, `withCache ${this.#name}`, "options");
    // Every write would be EPERM, kept as pending and retried by the resolver for ever.
    if (this.#access === BPF_F_RDONLY) {
      throw new BpfError({ errno: Errno.EPERM, op: "withCache", map: this.#name, path: this.#path || undefined,
        message: `withCache ${this.#name}: the map was opened read-only (BPF_F_RDONLY), and a cache keeps what this object writes; open it without readOnly to write it` });
    }
    const clock = options.clock;
    if (clock !== undefined && (clock === null || typeof clock !== "object" || typeof clock.setTimeout !== "function")) {
      throw new TypeError(`withCache ${this.#name}: options.clock must be a ResolverClock`);
    }
    const old = this.#cache;
    old?.close();
    this.#cache = new MapCache<K, V>(this.#cacheOwner(), options.clock);
    // The pressure metric's cache of keys holds only what was written and is there: keep it.
    if (old?.values === false) for (const [id, e] of old.entries) this.#cache.entries.set(id, e);
    return this;
  }

  /**
   * Cilium's WithPressureMetric: reports the map's pressure, its entries over its max entries, to
   * the Bpf's `metrics.mapPressure` hook. As in Cilium, the entries are counted in the cache: with
   * `withCache()`, what this object wrote and has not deleted, failed writes awaiting the resolver
   * included; without it, a cache of keys alone, which counts what was written and not deleted
   * and leaves failures to the caller (no resolver, no values kept, `getModel()` shows none).
   * Each change is reported. An LRU map is left to `updatePressureMetricWithSize`, as Cilium's
   * conntrack GC does: the kernel evicts from it without telling the cache. So an LRU map keeps
   * no cache of keys either, or every key ever written would stay in memory for the map's life.
   */
  withPressureMetric(): this {
    this.#pressureName = this.#name.replace(/^cilium_/, "");
    if (this.#cache === undefined) this.#cache = new MapCache<K, V>(this.#cacheOwner(), undefined, false);
    else this.#cachePressure(this.#cache.entries.size);
    return this;
  }

  /**
   * Cilium's WithEvents: keeps the last `maxSize` (default 128) writes this object made to the
   * map in a buffer, each with its time, key, value and error, for `events()` and
   * `subscribeEvents()`. Recorded, successful or not: `update`, `delete`, `deleteWithErrno`,
   * `lookupAndDelete` (a `delete` with the value it took), `deleteAll` (one `delete-all` event
   * with the count deleted, as Cilium folds it), `updateBatch`, `deleteBatch` and
   * `lookupAndDeleteBatch` (one batch event each), and the cache resolver's retries. Not
   * recorded: reads, input refused before the map is touched (a bad key, a TypeError), and
   * writes made otherwise (a `memory()` mapping, programs, other processes). `ttlMs` drops
   * events that old, when the buffer is next written or read (no timer). Calling it again
   * changes the options it names (the others stay as they were) and keeps the events and subscribers. `close()` keeps both too: the
   * object reopens on its next operation, as its cache does; a `clone()` starts without events.
   */
  withEvents(options: WithEventsOptions = {}): this {
    const where = `withEvents ${this.#name}`;
    if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be an object`);
    assertOptionKeys(options, WITH_EVENTS_OPTIONS_KEYS, where, "options");
    const config = eventsConfig(options, where, this.#events?.config);
    if (this.#events === undefined) this.#events = new MapEvents<K, V>(config, this.#name, this.#bpf.logger);
    else this.#events.configure(config);
    return this;
  }

  /** Whether `withEvents()` is on (Cilium's IsEventsEnabled). */
  get eventsEnabled(): boolean {
    return this.#events !== undefined;
  }

  /**
   * The events kept (`withEvents()`), oldest first, those past the TTL dropped: a new array each
   * call, of frozen events. Empty without `withEvents()`.
   */
  events(): Array<MapEvent<K, V>> {
    return this.#events?.list() ?? [];
  }

  /**
   * Calls `cb` with each event from now on, in order, synchronously inside the operation that
   * made it (`withEvents()` first: without it, a TypeError naming the map). With `replay`, it is
   * first called with the events kept (Cilium's DumpAndSubscribe). A callback that throws is
   * logged (its first exception, as a warning) and stays subscribed; the operation goes on as if
   * nothing happened. A write the callback makes is delivered after the current event, to every
   * subscriber. Returns the function that ends the subscription, also usable with `using`.
   */
  subscribeEvents(cb: MapEventCallback<K, V>, options: SubscribeEventsOptions = {}): Unsubscribe {
    const where = `subscribeEvents ${this.#name}`;
    if (typeof cb !== "function") throw new TypeError(`${where}: the callback must be a function, got ${describeValue(cb)}`);
    if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be an object`);
    assertOptionKeys(options, SUBSCRIBE_EVENTS_OPTIONS_KEYS, where, "options");
    const replay = options.replay ?? false;
    if (typeof replay !== "boolean") throw new TypeError(`${where}: options.replay must be a boolean, got ${describeValue(replay)}`);
    if (this.#events === undefined) throw new TypeError(`${where}: map events are not enabled for this map; call withEvents() first`);
    return this.#events.subscribe(cb, replay);
  }

  /** Records one element write (update, delete) with copies of its bytes. */
  #recordElem(ev: MapEvents<K, V>, op: MapEventOp, key: K, kb: Uint8Array, value: V | undefined, vb: Uint8Array | undefined,
    error: Error | undefined, action: "update" | "delete" = op === "update" ? "update" : "delete"): void {
    const e: { -readonly [P in keyof MapEvent<K, V>]: MapEvent<K, V>[P] } = { action, op, time: ev.now(), key, keyBytes: kb.slice() };
    if (value !== undefined) e.value = value;
    if (vb !== undefined) e.valueBytes = vb.slice();
    if (error !== undefined) e.error = error;
    ev.record(e);
  }

  /** Records one batch call's event. */
  #recordBatch(ev: MapEvents<K, V>, op: MapEventOp, keys: readonly K[], values: readonly V[] | undefined, count: number,
    error: Error | undefined): void {
    const e: { -readonly [P in keyof MapEvent<K, V>]: MapEvent<K, V>[P] } = {
      action: op === "updateBatch" ? "batch-update" : "batch-delete", op, time: ev.now(), keys: Object.freeze(keys.slice()), count,
    };
    if (values !== undefined) e.values = Object.freeze(values.slice());
    if (error !== undefined) e.error = error;
    ev.record(e);
  }

  /**
   * Cilium's UpdatePressureMetricWithSize: reports `size` entries (a GC's count of what it kept)
   * as the map's pressure. Does nothing without `withPressureMetric()`.
   */
  updatePressureMetricWithSize(size: number): void {
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`updatePressureMetricWithSize ${this.#name}: size must be a non-negative integer, got ${describeValue(size)}`);
    }
    const name = this.#pressureName;
    if (name === undefined) return;
    const hook = this.#metrics?.mapPressure;
    if (hook === undefined) return;
    const max = this.#info.maxEntries;
    hook.call(this.#metrics, name, max === 0 ? 0 : size / max);
  }

  /** The cache's size changed: the pressure, except for LRU maps (see withPressureMetric). */
  #cachePressure(size: number): void {
    if (this.#pressureName !== undefined && !this.#evicts()) this.updatePressureMetricWithSize(size);
  }

  /**
   * Whether the map is an LRU map, which the kernel evicts from without telling the cache: the
   * type of the map opened (an LRU pin opened through a HASH spec evicts; an LRU spec on a
   * kernel without LRU made a HASH, which does not), the spec's before any open.
   */
  #evicts(): boolean {
    return isLruMapType(this.#kernelType !== 0 ? this.#kernelType : this.#info.mapType);
  }

  /**
   * The map holds no persistent data: every openOrCreate removes the pin first (on bpffs only:
   * a file at the pin path on another filesystem is left alone, and the pin fails).
   */
  withNonPersistent(): this {
    this.#nonPersistent = true;
    return this;
  }

  // ---- errors and metrics

  /** `aboutKey`: the errno is an element call's answer about its key (isKeyNotExist, isKeyExist). */
  #error(op: string, errno: number, why: string | undefined = accessRefusal(this.#access, errno), aboutKey = false): BpfError {
    return mapOpError(this.#owner(), op, errno, why, aboutKey);
  }

  /** What the shared lifecycle functions (map-lifecycle.ts) read of this map. */
  #owner(): MapOwner {
    return { name: this.#name, path: this.#path, held: this.#held, access: this.#access };
  }

  /** The reading of an update's or delete's errno on this map (elem-refusal.ts). */
  #refusal(op: "update" | "delete", errno: number, flags: number = BPF_ANY): string | undefined {
    const mode = accessRefusal(this.#access, errno) ?? this.#frozen(op, errno);
    if (mode !== undefined) return mode;
    return op === "update" ? updateRefusal(this.#kernelType, errno, flags, this.#kernelMaxEntries)
      : deleteRefusal(this.#kernelType, errno, this.#kernelMaxEntries);
  }

  /** For an EPERM to a write or a second freeze: the map is frozen, where its fdinfo says so. */
  #frozen(op: string, errno: number): string | undefined {
    return frozenRefusal(this.#driver, this.#fd, errno, op, "look it up, walk and dump it, not update or delete");
  }

  /**
   * EBADF from MAP_UPDATE_ELEM: on a map whose values are fds (map-in-map, PROG_ARRAY) either fd
   * may be bad; once `fd` is known to be an open map, it was the value.
   */
  #badFdError(op: string, fd: number, valueBytes: Uint8Array): BpfError {
    const t = this.#kernelType;
    if (!isFdValueMapType(t)) return this.#error(op, Errno.EBADF);
    try {
      this.#bpf.getMapInfoByFd(fd);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      return this.#error(op, Errno.EBADF);
    }
    const valueFd = new Uint32Array(valueBytes.slice(0, 4).buffer)[0];
    const what = t === BPF_MAP_TYPE_PROG_ARRAY ? "program fd" : "inner map fd";
    return new BpfError({ errno: Errno.EBADF, op, map: this.#name, path: this.#path || undefined,
      message: `${op} ${this.#name}: ${errnoText(Errno.EBADF)}: the value, ${what} ${valueFd}, is not an open file descriptor` });
  }

  #badInput(op: string, what: string, e: unknown): Error {
    const text = e instanceof Error ? e.message : String(e);
    const ctor = e instanceof RangeError ? RangeError : TypeError;
    return new ctor(`${op} ${this.#name}: bad ${what}: ${text}`, { cause: e });
  }

  /** `c.decode(bytes)`, or a DecodeError naming this map and `op` when the codec refuses them. */
  #decode<T>(c: Codec<T>, bytes: Uint8Array, op: string, what: "key" | "value"): T {
    try {
      return c.decode(bytes);
    } catch (e) {
      throw this.#undecodable(op, what, bytes, e);
    }
  }

  #undecodable(op: string, what: "key" | "value" | "element", bytes: Uint8Array, e: unknown,
    batch?: RawElement[], deleted?: boolean): DecodeError {
    return new DecodeError({ op, map: this.#name, what, bytes: bytes.slice(), batch, deleted, cause: e });
  }

  #metric(op: string, ok: boolean): void {
    const hook = this.#metrics?.mapOp;
    if (hook === undefined) return;
    this.#commonName ??= extractCommonName(this.#name);
    hook.call(this.#metrics, this.#commonName, op, ok ? "success" : "fail");
  }

  // The buffers are zeroed first: a codec that leaves a byte unwritten must not leak the last
  // operation's byte into this key (the kernel hashes and compares raw bytes).
  #encodeKey(key: K, op: string, out: Uint8Array = this.#keyBuf): Uint8Array {
    zeroBytes(out);
    try {
      this.#key.encode(key, out);
    } catch (e) {
      throw this.#badInput(op, "key", e);
    }
    return out;
  }

  #encodeValue(value: V, op: string, out: Uint8Array = this.#valueBuf): Uint8Array {
    zeroBytes(out);
    try {
      this.#value.encode(value, out);
    } catch (e) {
      // A map of maps or a PROG_ARRAY takes an fd, and -1 is what getFd() says of a map not open yet.
      if (typeof value === "number" && value < 0 && isFdValueMapType(this.#info.mapType)) {
        const what = this.#info.mapType === BPF_MAP_TYPE_PROG_ARRAY ? "a loaded program's fd" : "an open map's fd";
        throw new RangeError(`${op} ${this.#name}: bad value: ${value} is not an fd; the value must be ${what} ` +
          "(getFd() is -1 until the map is opened)", { cause: e });
      }
      throw this.#badInput(op, "value", e);
    }
    return out;
  }

  /** The open fd, opening lazily as the seed does (`Open()` first). */
  #fdFor(op: string): number {
    if (this.#fd >= 0) return this.#fd;
    if (this.#held !== undefined) throw closedHeldError(this.#owner(), op);
    if (this.#closedForGood) throw closedUnpinnedError(this.#owner(), op);
    try {
      this.#open(op);
    } catch (e) {
      throw notPinnedYet(this.#owner(), e);
    }
    return this.#fd;
  }

  /** EINVAL (EBADF once closed) for `op` on the pin when this map is held by its fd alone. */
  #requirePin(op: string): void {
    requirePin(this.#owner(), this.#fd >= 0, op);
  }

  /** EPERM for `op`, which may create or replace the pin, on a map opened read-only or write-only. */
  #requireFullAccess(op: string): void {
    requireFullAccess(this.#owner(), op);
  }

  /** `e` as a BpfError of `op` on this map. */
  #named(op: string, e: unknown): unknown {
    return namedError(this.#owner(), op, e);
  }

  /** The driver, timed through the syscall hook when there is one (made once, no closure per call). */
  #measured(): Driver {
    if (this.#metrics?.syscall === undefined) return this.#driver;
    return this.#metered ??= meteredDriver(this.#driver, this.#metrics);
  }

  /** Kernel view for the dump, batch and iteration algorithms. */
  #target(op: string): DumpTarget {
    const fd = this.#fdFor(op);
    return {
      driver: this.#measured(), fd, mapType: this.#kernelType, keySize: this.#info.keySize,
      valueSize: this.#info.readValueSize, name: this.#name, path: this.#path || undefined, op, maxEntries: this.#kernelMaxEntries,
      explain: WRITE_BATCH_OPS.has(op) ? (errno) => accessRefusal(this.#access, errno) ?? this.#frozen(op, errno)
        : this.#access !== 0 ? (errno) => accessRefusal(this.#access, errno) : undefined,
      checkOpen: () => {
        if (this.#fd !== fd) {
          throw new BpfError({ errno: Errno.EBADF, op, map: this.#name, path: this.#path || undefined,
            message: `${op} ${this.#name}: the map was closed during the walk; its fd may already belong to another map` });
        }
      },
    };
  }

  // ---- lifecycle

  /**
   * Creates the map, or opens the pinned one (re-creating it when its properties changed; the
   * old map stays pinned when the new one cannot be made). A pinned PROG_ARRAY is never
   * re-created, as in the seed; one whose key or value size is not the codecs' is refused with
   * open()'s EINVAL. True when the map was created. Safe against other processes doing the
   * same at the same moment: each ends holding the one map pinned at the path, only one of them
   * creating it (see Bpf.openOrCreateMap).
   */
  openOrCreate(): boolean {
    if (this.#fd >= 0) return false; // open already: nothing to do, with a pin path or without
    this.#requirePin("openOrCreate");
    this.#requireFullAccess("openOrCreate");
    return this.#openOrCreate(true, "openOrCreate");
  }

  /** As openOrCreate, without pinning a new map; an existing pin is still opened (seed quirk 8). */
  openOrCreateUnpinned(): boolean {
    if (this.#fd >= 0) return false; // open already: nothing to do, with a pin path or without
    this.#requirePin("openOrCreateUnpinned");
    this.#requireFullAccess("openOrCreateUnpinned");
    return this.#openOrCreate(false, "openOrCreateUnpinned");
  }

  #openOrCreate(pin: boolean, op: string): boolean {
    if (this.#fd >= 0) return false;
    const path = this.path();
    const bpf = this.#bpf;
    // The seed's os.Remove of the old pin (errors ignored), only where a pin can be: off bpffs
    // the pin below fails with its own error, and a file there is not ours to delete.
    if (this.#nonPersistent && offBpffs(this.#driver.host, path) === undefined) this.#driver.host.unlink(path);
    const { mapType: t, flags } = createdAs(bpf, this.#info.mapType, this.#specFlags);
    let opened: { fd: number; isNew: boolean };
    try {
      opened = bpf.openOrCreateMap(path, t, this.#info.keySize, this.#info.valueSize,
        this.#info.maxEntries, flags, this.#info.innerId, pin, this.#createOptions(path));
    } catch (e) {
      throw this.#named(op, e);
    }
    const { fd, isNew } = opened;
    // A PROG_ARRAY is never re-created (objCheck), whatever its sizes: refuse it as open() does.
    if (isNew) this.#kernelMaxEntries = this.#info.maxEntries;
    const kernelType = isNew ? t : this.#checkSizes(op, path, fd);
    this.#adopt(path, fd, t, flags, pin || !isNew, kernelType);
    return isNew;
  }

  /**
   * What every create of this map passes: the kernel name and the BTF, when the spec asked for
   * them, and for a map of maps the check that its template is still the one first seen (read
   * now, if not yet).
   */
  #createOptions(path: string): CreateMapOptions | undefined {
    const named = this.#kernelName !== "" || this.#btf !== undefined
      ? { ...(this.#kernelName !== "" ? { kernelName: this.#kernelName } : {}), ...(this.#btf !== undefined ? { btf: this.#btf } : {}) }
      : undefined;
    const template = this.#innerTemplate;
    if (template === undefined) return named;
    template.note(this.#bpf);
    const options: CreateMapOptions & { [beforeCreate]: () => void } = { ...named, [beforeCreate]: () => template.check(this.#bpf, path) };
    return options;
  }

  /** Takes `fd` (opened or created at `path` as type `t` with `flags`) as this map's. */
  #adopt(path: string, fd: number, t: number, flags: number, reopenable: boolean, kernelType = t): void {
    this.#fd = fd;
    this.#info.mapType = t;
    this.#kernelType = kernelType;
    this.#info.flags = flags;
    this.#reopenable = reopenable;
    this.#closedForGood = false;
    this.#cache?.restart();
    this.#bpf.registerMap(path, this);
  }

  /**
   * Opens the pinned map (no-op when open). Nothing is created or checked beyond what the
   * buffers need: a pin whose key or value size differs from the codecs is refused (EINVAL),
   * and so is one that is per-CPU where the spec is not or the other way round (its values are
   * one slot per CPU), because every later operation would fail on it.
   */
  open(): void {
    if (this.#fd >= 0) return; // open already: nothing to do, with a pin path or without
    this.#requirePin("open");
    this.#open("open");
  }

  /** open() on behalf of `op`, which the errors name. */
  #open(op: string): void {
    if (this.#fd >= 0) return;
    const path = this.path();
    const bpf = this.#bpf;
    let fd: number;
    try {
      fd = bpf.objGet(path, this.#access);
    } catch (e) {
      throw this.#named(op, e);
    }
    const kernelType = this.#checkSizes(op, path, fd);
    this.#fd = fd;
    this.#info.mapType = bpf.getMapType(this.#info.mapType);
    this.#kernelType = kernelType;
    this.#closedForGood = false;
    this.#cache?.restart();
    bpf.registerMap(path, this);
  }

  /**
   * Throws EINVAL naming `op`, and closes `fd` (the map pinned at `path`), unless its key and
   * value sizes are the codecs': every later operation would fail on it. That includes a pin
   * that is per-CPU where the spec is not, or the other way round: its values in user space are
   * one slot per CPU, so the value buffer would not fit it even where value_size is the same.
   * Returns the kernel's map type.
   */
  #checkSizes(op: string, path: string, fd: number): number {
    const info = checkPinned(this.#bpf, this.#owner(), op, path, fd, (pinned) => {
      if (pinned.keySize !== this.#info.keySize || pinned.valueSize !== this.#info.valueSize) {
        return `has key size ${pinned.keySize} and value size ${pinned.valueSize}, ` +
          `this map's codecs need ${this.#info.keySize} and ${this.#info.valueSize}`;
      }
      const pinnedBytes = userValueSize(pinned.mapType, pinned.valueSize, this.#driver.possibleCpus);
      if (pinnedBytes === this.#info.readValueSize) return undefined;
      return `is ${isPerCpuMapType(pinned.mapType) ? "a" : "not a"} per-CPU map (type ${pinned.mapType}), so its values are ${pinnedBytes} bytes ` +
        `in user space; this map's value codec is ${this.#info.readValueSize}`;
    });
    this.#kernelMaxEntries = info.maxEntries;
    return info.mapType;
  }

  /**
   * Unpins the current map and creates a new one at the same path; programs already loaded keep
   * the old one. (v1.7 has no dual-write: parallel mode is only a flag.) The new map is created
   * before the old pin goes, pinned beside it and renamed over it, so the path is never empty. A
   * refused create throws with the old map kept. A swap pin or rename that fails leaves the old
   * pin as it was, and is answered as the seed answers an unlink it cannot do: the warning
   * `Unable to remove BPF map for parallel operation` and the old map opened in normal mode
   * (false). A driver without `host.rename` unlinks and pins instead (the old map is pinned
   * again when the new one cannot be). A pinned program is not replaced: it is refused with
   * EINVAL, as openOrCreate refuses it. It opens the new map itself, so the object must not be
   * open yet (as at the agent's start-up): an open one is EBUSY, as in the seed (close() it first).
   * When another process replaces the pin at the same moment (Bpf.openOrCreateMap's replace
   * lock), the map that process pinned is replaced in turn: parallel mode always ends with a map
   * of its own pinned, and the other process holds an unpinned one.
   */
  openParallel(): boolean {
    this.#requirePin("openParallel");
    this.#requireFullAccess("openParallel");
    if (this.#fd >= 0) {
      throw new BpfError({ errno: Errno.EBUSY, op: "openParallel", map: this.#name,
        message: `openParallel ${this.#name}: OpenParallel() called on already open map (it opens the new map itself: ` +
          "call it on a map object not opened yet, or close() this one first)" });
    }
    return this.#openParallel(1);
  }

  #openParallel(attempt: number): boolean {
    const op = "openParallel";
    const path = this.path();
    if (!this.#exists(path)) return this.#openOrCreate(true, op);
    // The seed unlinks first: a map the kernel refuses, or a pin that fails, then leaves nothing
    // at the path. The old map is held open until the new one is pinned, to pin it again where
    // the driver cannot rename.
    const bpf = this.#bpf;
    const { mapType: t, flags } = createdAs(bpf, this.#info.mapType, this.#specFlags);
    let fd: number;
    try {
      fd = bpf.createMap(t, this.#info.keySize, this.#info.valueSize, this.#info.maxEntries, flags, this.#info.innerId, path,
        this.#createOptions(path));
    } catch (e) {
      throw this.#named(op, keptPin(e, path));
    }
    let old: number;
    try {
      old = bpf.objGet(path);
    } catch (e) {
      this.#driver.close(fd);
      // Gone in between: there is nothing to replace any more.
      if (isNotExist(e)) return this.#openOrCreate(true, op);
      throw this.#named(op, e);
    }
    try {
      // Only a map is replaced: a pinned program is refused, as openOrCreate refuses it.
      bpf.getMapInfoByFd(old);
    } catch (e) {
      this.#driver.close(old);
      this.#driver.close(fd);
      throw this.#named(op, e);
    }
    let kept: PinKept | typeof PIN_CHANGED | undefined;
    try {
      kept = replacePin(bpf, path, fd, old);
    } catch (e) {
      this.#driver.close(fd);
      throw this.#named(op, e);
    } finally {
      this.#driver.close(old);
    }
    if (kept === PIN_CHANGED) {
      // Another process replaced the pin meanwhile (another agent's openParallel or upgrade):
      // replace what it pinned, as parallel mode always makes a map of its own.
      this.#driver.close(fd);
      if (attempt < PARALLEL_TRIES) return this.#openParallel(attempt + 1);
      throw new BpfError({ errno: Errno.EAGAIN, op, map: this.#name, path,
        message: `${op} ${this.#name}: another process replaced the map pinned at ${path} ${attempt} times meanwhile; what is pinned there now was kept` });
    }
    if (kept !== undefined) {
      // The seed warns and goes on in normal mode when it cannot unlink the old pin; so here when
      // any step of the swap fails, since each leaves the old pin as it was.
      this.#driver.close(fd);
      const step = kept.step === "unlink" ? {} : { step: `${kept.what}${kept.left}` };
      bpf.logger.warn("Unable to remove BPF map for parallel operation", { path, error: errnoText(kept.errno), ...step });
      return this.#openOrCreate(true, op);
    }
    bpf.logger.debug("Opening map in parallel mode", { path, name: this.#name });
    this.#inParallelMode = true;
    this.#adopt(path, fd, t, flags, true);
    return true;
  }

  /** Ends parallel mode (the seed's EndParallelMode); the map stays open and pinned as it is. */
  endParallelMode(): void {
    if (!this.#inParallelMode) return;
    this.#inParallelMode = false;
    this.#bpf.logger.debug("End of parallel mode", { name: this.#name });
  }

  /**
   * Closes the fd, stops the resolver and unregisters this object (never another one open at its
   * path). The object is not dead: as in the seed, whose operations call Open() first, a later
   * lookup, update, dump or iteration opens the pin again (and needs another close()); only a map
   * created without a pin refuses (EBADF).
   */
  close(): void {
    this.#cache?.close();
    if (this.#fd >= 0) {
      this.#driver.close(this.#fd);
      this.#fd = -1;
      if (!this.#reopenable) this.#closedForGood = true;
    }
    if (this.#path !== "") this.#bpf.unregisterMap(this.#path, this);
  }

  /** Calls `close()`, so `using m = …` closes the map at the end of its block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * close(), then open() the pin. A map created without a pin (openOrCreateUnpinned) has no pin
   * to open again, and its fd is all that keeps it: reopen refuses (EINVAL) and leaves it open.
   */
  reopen(): void {
    this.#requirePin("reopen");
    if (this.#fd >= 0 && !this.#reopenable) throw unpinnedReopenError(this.#owner());
    this.close();
    this.#open("reopen");
  }

  #exists(path: string): boolean {
    return this.#driver.host.stat(path).errno === 0;
  }

  /** For the *IfExists dumps: the pin exists; a map opened by id exists as long as it is held. */
  #pinned(): boolean {
    return this.#held !== undefined || this.#exists(this.path());
  }

  /**
   * Removes the pin (rm -rf; a missing pin is fine). The open fd stays usable. Only on bpffs: a
   * path whose directory is on another filesystem holds no pin and is refused (EINVAL), untouched.
   */
  unpin(): void {
    this.#requirePin("unpin");
    unpinPath(this.#bpf, { ...this.#owner(), path: this.path() });
  }

  /** Like `unpin()`, doing nothing when nothing is pinned at the map's path; EINVAL for a map held only by its fd. */
  unpinIfExists(): void {
    this.#requirePin("unpinIfExists");
    if (this.#exists(this.path())) this.unpin();
  }

  // ---- inspection

  /**
   * True when the pinned map differs from `desired` and its pin was removed so that the next
   * open re-creates it. Uses the normalised type and does not modify `desired` (API.md §4.3).
   * The pin is removed only while it is still this object's map: when another process has
   * upgraded it since this one opened it, that process's map stays pinned, and the answer is
   * true all the same (this object's map is the outdated one; the next openOrCreate opens theirs).
   * False when the map is not open. The kernel name is not compared; the re-created map gets the
   * spec's kernelName, as every create of this map does.
   */
  checkAndUpgrade(desired: DesiredMapInfo): boolean {
    // A missing or malformed field would read as a mismatch, and a mismatch unpins the map.
    const op = `checkAndUpgrade ${this.#name}`;
    if (desired === null || typeof desired !== "object") throw new TypeError(`${op}: desired must be { mapType, keySize, valueSize, maxEntries, flags? }`);
    for (const f of ["mapType", "keySize", "valueSize", "maxEntries"] as const) {
      if (!isUint(desired[f])) throw new TypeError(`${op}: desired.${f} must be a u32, got ${describeValue(desired[f])}`);
    }
    if (desired.flags !== undefined && !isUint(desired.flags)) throw new TypeError(`${op}: desired.flags must be a u32, got ${describeValue(desired.flags)}`);
    // Its answer is "unpinned, so that the next open re-creates it": nothing a map without a pin can do.
    this.#requirePin("checkAndUpgrade");
    this.#requireFullAccess("checkAndUpgrade");
    const bpf = this.#bpf;
    const { mapType: t, flags } = createdAs(bpf, desired.mapType, desired.flags ?? 0);
    if (this.#fd < 0) return false;
    return bpf.objCheck(this.#fd, this.path(), t, desired.keySize, desired.valueSize, desired.maxEntries, flags);
  }

  /**
   * cilium/ebpf's MapSpec.Compatible: throws MapIncompatibleError, listing each difference, when
   * the live map's type, key size, value size, max entries or flags are not what `spec` asks for
   * (default: this map's own spec). The rules are those by which openOrCreate re-creates a pin
   * (objCheck's): the spec's type as `bpf.getMapType` normalises it, its flags with the
   * pre-allocation flag openOrCreate would add, an LRU's NO_COMMON_LRU rounding and the fd's
   * RDONLY/WRONLY are not differences; the kernel name is a label and is not compared. So
   * "compatible" means that openOrCreate would open the pin as it is. Unlike checkAndUpgrade it
   * changes nothing: no pin is removed, nothing is logged, and a map not open stays closed (its
   * pin is read through a short-lived fd). A per-CPU spec's value is one CPU's value, as in
   * PerCpuMapSpec. Nothing pinned is a BpfError ENOENT (isNotExist), as for open().
   */
  checkCompatible(spec?: CompatibleSpec): void {
    const op = "checkCompatible";
    const bpf = this.#bpf;
    let want: WantedMapProperties;
    if (spec === undefined) {
      want = { ...createdAs(bpf, this.#info.mapType, this.#specFlags), keySize: this.#info.keySize,
        valueSize: this.#info.valueSize, maxEntries: this.#info.maxEntries };
    } else {
      const where = `${op} ${this.#name}`;
      if (spec === null || typeof spec !== "object") throw new TypeError(`${where}: spec must be an object (a MapSpec)`);
      assertOptionKeys(spec, MAP_SPEC_KEYS, where, "spec");
      if (!isUint(spec.type)) throw new TypeError(`${where}: spec.type must be a BPF_MAP_TYPE_* number, got ${describeValue(spec.type)}`);
      for (const c of ["key", "value"] as const) {
        const size = (spec[c] as { size?: unknown } | null | undefined)?.size;
        if (!isUint(size)) throw new TypeError(`${where}: spec.${c} must be a codec with a size, got ${describeValue(spec[c])}`);
      }
      if (!isUint(spec.maxEntries)) throw new TypeError(`${where}: spec.maxEntries must be a u32, got ${describeValue(spec.maxEntries)}`);
      if (spec.flags !== undefined && !isUint(spec.flags)) throw new TypeError(`${where}: spec.flags must be a u32, got ${describeValue(spec.flags)}`);
      want = { ...createdAs(bpf, spec.type, spec.flags ?? 0), keySize: spec.key.size, valueSize: spec.value.size,
        maxEntries: spec.maxEntries };
    }
    // Read the pin without opening this object: open() would refuse other sizes before any comparison.
    let fd = this.#fd;
    let borrowed = -1;
    if (fd < 0) {
      if (this.#held !== undefined || this.#closedForGood) fd = this.#fdFor(op); // throws the closed map's EBADF
      else {
        try {
          borrowed = fd = bpf.objGet(this.path(), this.#access);
        } catch (e) {
          throw this.#named(op, e);
        }
      }
    }
    let info: MapInfo;
    try {
      info = bpf.getMapInfo(fd);
    } catch (e) {
      throw this.#named(op, e);
    } finally {
      if (borrowed >= 0) this.#driver.close(borrowed);
    }
    const differences = mapDifferences(info, want, this.#driver.possibleCpus);
    if (differences.length > 0) throw new MapIncompatibleError(op, this.#name, this.#path, differences);
  }

  /**
   * The seed's DeepEquals: name, path, non-persistence and MapInfo. Codecs are compared (by
   * identity) only when both maps have real ones, so an `openMap` result equals the map it opened.
   * The spec's kernelName is not compared: like the compatibility check, it treats the kernel
   * name as a label (and an `openMap` result, which has none, still equals the map it opened).
   */
  deepEquals(other: BpfMap<any, any>): boolean {
    if (!(other instanceof BpfMap)) return false;
    const a = this.#info;
    const b = other.#info;
    if (this.#name !== other.#name || this.#path !== other.#path || this.#nonPersistent !== other.#nonPersistent) return false;
    if (a.mapType !== b.mapType || a.keySize !== b.keySize || a.valueSize !== b.valueSize ||
      a.readValueSize !== b.readValueSize || a.maxEntries !== b.maxEntries || a.flags !== b.flags ||
      a.innerId !== b.innerId || a.ownerProgType !== b.ownerProgType) return false;
    if (!this.#codecless && !other.#codecless) {
      return this.#key === (other.#key as unknown) && this.#value === (other.#value as unknown);
    }
    return true;
  }

  /**
   * The map as the seed's API serves it (models.BPFMap): its path and, with `withCache()`, the
   * cache's entries, each key and value as its write sent them (a key or value object the caller
   * changed afterwards, to reuse it, does not change them).
   */
  getModel(): BpfMapModel {
    const model: BpfMapModel = { path: this.#path };
    if (this.#cache?.values === true) {
      model.cache = this.#cache.model((e) => this.#formatKey(e), (e) => this.#formatValue(e));
    }
    return model;
  }

  // The model shows the bytes each write sent, decoded again: the caller's key and value objects
  // may have been changed since (one object reused for every write), and the entry holds them.
  #formatKey(e: CacheEntry<K, V>): string {
    return typeof this.#key.format === "function" ? this.#key.format(decodedOr(this.#key, e.keyBytes, e.key)) : hex(e.keyBytes);
  }

  #formatValue(e: CacheEntry<K, V>): string {
    if (typeof this.#value.format === "function") {
      return this.#value.format(e.valueBytes !== undefined ? decodedOr(this.#value, e.valueBytes, e.value as V) : e.value as V);
    }
    return e.valueBytes !== undefined ? hex(e.valueBytes) : "";
  }

  // ---- elements

  /**
   * The value for `key`, or undefined when the key is not in the map. `flags` is the lookup's
   * (cilium/ebpf's LookupWithFlags): 0, or `BPF_F_LOCK` to copy a value holding a `bpfSpinLock`
   * under its lock, so that it is never read half-written by a program or another process
   * updating it with BPF_F_LOCK. The kernel answers EINVAL for BPF_F_LOCK on a map whose value
   * has no lock, and for any other flag.
   */
  lookup(key: K, flags = 0): V | undefined {
    if (flags !== 0 && !isUint(flags)) throw new TypeError(`lookup ${this.#name}: flags must be a u32, got ${describeValue(flags)}`);
    const kb = this.#encodeKey(key, "lookup");
    const fd = this.#fd >= 0 ? this.#fd : this.#fdFor("lookup");
    const vb = this.#valueBuf;
    const r = this.#measured().mapLookupElem(fd, kb, vb, flags);
    if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, "mapLookupElem", r, "0");
    if (r < 0) {
      if (r === -Errno.ENOENT) return undefined;
      throw this.#error("lookup", -r, accessRefusal(this.#access, -r) ?? lookupRefusal(-r, flags));
    }
    return this.#decode(this.#value, vb, "lookup", "value");
  }

  /**
   * Writes `key` → `value` (flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST, each optionally with
   * `BPF_F_LOCK`, cilium/ebpf's UpdateLock: the value, which must hold a `bpfSpinLock`, is
   * written under its lock; its other flags mean what they do without it). With a cache, a failure
   * is kept as to-be-inserted and retried by the resolver, as in the seed; a failed update with
   * NOEXIST or EXIST leaves the cache as it was (the resolver writes with BPF_ANY, which would do
   * what they refused), as does BPF_F_LOCK's EINVAL (a value without a lock: no retry can pass).
   * The resolver writes a value given with BPF_F_LOCK under the lock again.
   * On a map-in-map or PROG_ARRAY, whose values are fds, an EBADF that is not the map's own fd
   * says that the value is the bad one.
   */
  update(key: K, value: V, flags: number = BPF_ANY): void {
    if (!isUint(flags)) throw new TypeError(`update ${this.#name}: flags must be a u32, got ${describeValue(flags)}`);
    const kb = this.#encodeKey(key, "update");
    const vb = this.#encodeValue(value, "update");
    let err: BpfError | undefined;
    try {
      const fd = this.#fdFor("update");
      const r = this.#measured().mapUpdateElem(fd, kb, vb, flags);
      if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, "mapUpdateElem", r, "0");
      this.#metric("update", r >= 0);
      if (r < 0) err = r === -Errno.EBADF ? this.#badFdError("update", fd, vb) : this.#error("update", -r, this.#refusal("update", -r, flags), true);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      err = e;
    }
    if (this.#cache !== undefined && (err === undefined || ((flags & ~BPF_F_LOCK) === BPF_ANY && !lockRefused(err, flags)))) {
      this.#cache.recordUpdate(this.#cacheId(kb), key, value, kb.slice(), vb.slice(), err, (flags & BPF_F_LOCK) !== 0);
    }
    if (this.#events !== undefined) this.#recordElem(this.#events, "update", key, kb, value, vb, err);
    if (err !== undefined) throw err;
  }

  /**
   * Removes `key` and returns the value it had, in one syscall (BPF_MAP_LOOKUP_AND_DELETE_ELEM),
   * or undefined when the key is not in the map. The kernel offers it for the hash family
   * (HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH; not maps of maps); elsewhere it throws its
   * ENOTSUPP or EINVAL. With a cache the entry is dropped, as after a delete. `flags` is 0, or
   * `BPF_F_LOCK` to copy a value holding a `bpfSpinLock` under its lock (as `lookup` does).
   */
  lookupAndDelete(key: K, flags = 0): V | undefined {
    if (flags !== 0 && !isUint(flags)) throw new TypeError(`lookupAndDelete ${this.#name}: flags must be a u32, got ${describeValue(flags)}`);
    const kb = this.#encodeKey(key, "lookupAndDelete");
    const ev = this.#events;
    let fd: number;
    try {
      fd = this.#fdFor("lookupAndDelete");
    } catch (e) {
      if (ev !== undefined && e instanceof BpfError) this.#recordElem(ev, "lookupAndDelete", key, kb, undefined, undefined, e);
      throw e;
    }
    const vb = this.#valueBuf;
    const r = this.#measured().mapLookupAndDeleteElem(fd, kb, vb, flags);
    if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, "mapLookupAndDeleteElem", r, "0");
    this.#metric("lookupAndDelete", r >= 0);
    if (r < 0 && r !== -Errno.ENOENT) {
      const err = this.#error("lookupAndDelete", -r, accessRefusal(this.#access, -r) ?? this.#frozen("lookupAndDelete", -r) ??
        lookupRefusal(-r, flags, "a lookup-and-delete"));
      if (ev !== undefined) this.#recordElem(ev, "lookupAndDelete", key, kb, undefined, undefined, err);
      throw err;
    }
    // Gone either way: the cache must not keep a key the kernel no longer has.
    this.#cache?.recordDelete(this.#cacheId(kb), key, kb.slice(), undefined);
    if (r === -Errno.ENOENT) {
      // Not there, so nothing taken: an event with no value, as the call returns none.
      if (ev !== undefined) this.#recordElem(ev, "lookupAndDelete", key, kb, undefined, undefined, undefined);
      return undefined;
    }
    if (ev === undefined) return this.#decode(this.#value, vb, "lookupAndDelete", "value");
    // The kernel has deleted it whether or not the value decodes: the event has its bytes either way.
    let v: V | undefined;
    try {
      v = this.#decode(this.#value, vb, "lookupAndDelete", "value");
    } finally {
      this.#recordElem(ev, "lookupAndDelete", key, kb, v, vb, undefined);
    }
    return v;
  }

  /**
   * Makes the map read-only for user space (BPF_MAP_FREEZE): later updates and deletes through
   * any fd are EPERM, while programs may still write it. Freezing it again is EPERM too (the
   * kernel asks for write access first), and EBUSY while a writable mmap of it exists, which the
   * error says. Where the driver reads fdinfo, those EPERMs say the map is frozen.
   */
  freeze(): void {
    const fd = this.#fdFor("freeze");
    const r = this.#measured().mapFreeze(fd);
    if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, "mapFreeze", r, "0");
    this.#metric("freeze", r >= 0);
    if (r < 0) throw this.#error("freeze", -r, accessRefusal(this.#access, -r) ?? this.#frozen("freeze", -r) ?? freezeBusyRefusal(-r));
  }

  /**
   * Maps the values of a `BPF_F_MMAPABLE` ARRAY into the process (mmap(2), cilium/ebpf's
   * Map.Memory): `load(i)`, `store(i, v)`, `readAt` and `writeAt` with no syscall, seen at once
   * by programs and by `lookup`. Writable where the kernel allows, else read-only (a frozen map,
   * BPF_F_RDONLY_PROG); `{ writable }` insists either way. Only a read-write fd maps at all (the
   * kernel's rule): a map opened read-only or write-only is refused, saying so. The memory holds the
   * map until its own `close()`, whatever this object does; while a writable one exists the map
   * cannot be frozen (EBUSY). Any other map type is refused with the kernel's errno, explained.
   */
  memory(options?: MapMemoryOptions): MapMemory<V> {
    const op = "memory";
    const wish = memoryWish(options, `${op} ${this.#name}`);
    const fd = this.#fdFor(op);
    const d = this.#driver;
    if (typeof d.mapMmap !== "function") {
      throw new BpfError({ errno: Errno.EOPNOTSUPP, op, map: this.#name, path: this.#path || undefined,
        message: `${op} ${this.#name}: driver ${JSON.stringify(d.kind)} cannot map memory (it has no mapMmap, an optional Driver method)` });
    }
    const length = this.#kernelMaxEntries * perCpuSlotSize(this.#info.valueSize);
    let writable = wish !== false;
    let h = d.mapMmap(fd, length, writable);
    let readOnlyWhy: string | undefined;
    // cilium/ebpf's fallback: a map that may not be mapped writable is still worth reading.
    if (wish === undefined && (h === -Errno.EPERM || h === -Errno.EACCES)) {
      readOnlyWhy = readOnlyFallback(-h);
      writable = false;
      h = d.mapMmap(fd, length, false);
    }
    if (h < 0 || !Number.isInteger(h)) {
      if (!isNegErrno(h)) throw driverContractError(d, "mapMmap", h, "a mapping handle >= 0");
      this.#metric(op, false);
      throw this.#error(op, -h, this.#mmapRefusal(fd, -h, writable));
    }
    this.#metric(op, true);
    return new MapMemory<V>({
      driver: d, handle: h, writable, readOnlyWhy, name: this.#name, path: this.#path, valueSize: this.#info.valueSize,
      maxEntries: this.#kernelMaxEntries,
      encode: (v, o, out) => void this.#encodeValue(v, o, out),
      decode: (bytes, o) => this.#decode(this.#value, bytes, o, "value"),
      codec: this.#value,
    });
  }

  #mmapRefusal(fd: number, errno: number, writable: boolean): string | undefined {
    let kernel: { type: number; flags: number } | undefined;
    try {
      const i = this.#bpf.getMapInfoByFd(fd);
      kernel = { type: i.type, flags: i.mapFlags };
    } catch (e) {
      // A driver's exception (a test hook's failed assertion) is the caller's, not "cannot tell".
      if (!(e instanceof BpfError)) throw e;
      kernel = undefined;
    }
    return mmapRefusal(errno, { kernel, access: this.#access, writable,
      frozen: frozenRefusal(this.#driver, fd, errno, "memory", "look it up") });
  }

  /** Deletes `key`; throws a BpfError (`code` "ENOENT" when the key is missing). */
  delete(key: K): void {
    const error = this.#deleteOne(key, "delete");
    if (error !== undefined) throw error;
  }

  /**
   * The v1.7 DeleteWithErrno: the error and the errno (0 when the map could not be opened, as in
   * the seed). With a cache, success drops the entry and failure marks it to-be-deleted and
   * schedules the resolver (API.md §4.1).
   */
  deleteWithErrno(key: K): { error?: BpfError; errno: number } {
    const error = this.#deleteOne(key, "deleteWithErrno");
    return error === undefined ? { errno: 0 } : { error, errno: this.#deleteErrno };
  }

  /** The errno of the last #deleteOne (0 when it failed before the syscall). */
  #deleteErrno = 0;

  #deleteOne(key: K, op: "delete" | "deleteWithErrno"): BpfError | undefined {
    const kb = this.#encodeKey(key, "delete");
    let error: BpfError | undefined;
    this.#deleteErrno = 0;
    try {
      const fd = this.#fdFor("delete");
      const r = this.#measured().mapDeleteElem(fd, kb);
      if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, "mapDeleteElem", r, "0");
      this.#metric("delete", r >= 0);
      if (r < 0) {
        this.#deleteErrno = -r;
        error = this.#error("delete", -r, this.#refusal("delete", -r), true);
      }
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      error = e;
    }
    this.#cache?.recordDelete(this.#cacheId(kb), key, kb.slice(), error);
    if (this.#events !== undefined) this.#recordElem(this.#events, op, key, kb, undefined, undefined, error);
    return error;
  }

  /**
   * Deletes every element by deleting the current first key until there is none (the seed's
   * algorithm; elements added meanwhile may go too). With a cache, every entry is first marked
   * "deletion pending"; those the kernel did not hold are left to the resolver.
   *
   * An fd array (PROG_ARRAY, ARRAY_OF_MAPS, …) lists every index whether or not it holds
   * anything, so its first key never goes away: it is cleared index by index instead, an empty
   * slot's ENOENT passed over. A plain ARRAY refuses deletes (EINVAL), as in the seed.
   *
   * Beyond the seed, whose loop runs for as long as a datapath inserts as fast as it deletes:
   * after 4 × max_entries deletes (the dump's budget; without inserts it needs at most
   * max_entries) it throws DeleteAllAbortedError, the map possibly not empty.
   *
   * With `withEvents()` it records one `delete-all` event, with the count deleted and the error
   * that stopped it, not one per key (Cilium folds it so, not to flood the buffer).
   */
  deleteAll(): void {
    const ev = this.#events;
    if (ev === undefined) return this.#deleteAll(undefined);
    const tally = { deleted: 0 };
    let error: Error | undefined;
    try {
      this.#deleteAll(tally);
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      ev.record({ action: "delete-all", op: "deleteAll", time: ev.now(), count: tally.deleted, ...(error !== undefined ? { error } : {}) });
    }
  }

  /** deleteAll's walk; `tally.deleted` counts the keys deleted (or found gone), for its event. */
  #deleteAll(tally: { deleted: number } | undefined): void {
    this.#bpf.logger.debug("deleting all entries in map", { name: this.#name });
    const cache = this.#cache;
    cache?.markAllDeletePending();
    const fd = this.#fdFor("deleteAll");
    const kb = this.#nextKeyBuf;
    const drv = this.#measured();
    // An fd array's walk goes on from the index just cleared (`from`), the seed's from the start.
    const done = isIndexedMapType(this.#kernelType) ? new Uint8Array(kb.length) : undefined;
    let from: Uint8Array | null = null;
    // What deleting an empty slot answers: ENOENT, but EINVAL in a SOCKMAP (__sock_map_delete).
    const emptySlot = this.#kernelType === BPF_MAP_TYPE_SOCKMAP ? -Errno.EINVAL : -Errno.ENOENT;
    // An fd array's index walk ends by itself; a first-key loop needs a bound (see above).
    const budget = done === undefined ? 4 * Math.max(1, this.#kernelMaxEntries) : Infinity;
    let deletes = 0;
    try {
      for (;;) {
        if (deletes === budget) throw new DeleteAllAbortedError(this.#name, deletes, this.#kernelMaxEntries);
        const r = drv.mapGetNextKey(fd, from, kb);
        if (r === -Errno.ENOENT) return;
        if (r < 0) throw this.#error("deleteAll (get first key)", -r);
        let d = drv.mapDeleteElem(fd, kb);
        deletes++;
        // Deleted by another process between the walk and the delete: gone, as wanted. (The
        // seed returns the ENOENT, so a deleteAll beside a service's own deletes failed at random.)
        if (d === -Errno.ENOENT && done === undefined) d = 0;
        if (d >= 0 && tally !== undefined) tally.deleted++;
        // An fd array's empty slot is already what deleteAll wants: not a failed delete.
        this.#metric("delete", d >= 0 || (done !== undefined && d === emptySlot));
        if (done !== undefined) {
          done.set(kb);
          from = done;
          if (d === emptySlot) continue;
        }
        const err = d < 0 ? this.#error("deleteAll (delete)", -d) : undefined;
        if (cache !== undefined) {
          const id = this.#cacheId(kb);
          let keyObj = cache.entries.get(id)?.key;
          // Decoded even when the delete succeeded: a key the codec refuses is warned of, as the
          // seed's parse of every deleted key does.
          if (keyObj === undefined) {
            try {
              keyObj = this.#key.decode(kb);
            } catch {
              this.#bpf.logger.warn("Unable to correlate iteration key with cache entry. Inconsistent cache.", { key: id, name: this.#name });
            }
          }
          cache.recordDelete(id, keyObj, kb.slice(), err);
        }
        if (err !== undefined) throw err;
      }
    } finally {
      // Entries the kernel did not hold stay to-be-deleted; the resolver finds them gone.
      if (cache !== undefined && cache.outstandingErrors > 0) cache.scheduleErrorResolver();
    }
  }

  /** The key after `key` (null: the first key), or undefined at the end. */
  getNextKey(key: K | null): K | undefined {
    const kb = key === null ? null : this.#encodeKey(key, "getNextKey");
    const fd = this.#fdFor("getNextKey");
    const nb = this.#nextKeyBuf;
    const r = this.#measured().mapGetNextKey(fd, kb, nb);
    if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, "mapGetNextKey", r, "0");
    this.#metric("getNextKey", r >= 0 || r === -Errno.ENOENT);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) throw this.#error("getNextKey", -r);
    return this.#decode(this.#key, nb, "getNextKey", "key");
  }

  // ---- dumps

  #checkCallback(op: string, cb: unknown): void {
    if (typeof cb === "function" || cb === undefined) return;
    throw new TypeError(`${op} ${this.#name}: the callback must be a function or undefined, got ${describeValue(cb)}`);
  }

  #checkOut(op: string, out: unknown): void {
    if (!(out instanceof Map)) throw new TypeError(`${op} ${this.#name}: out must be a Map<string, string[]>`);
  }

  /** Checked before anything is read, also by the *IfExists variants on a missing pin. */
  #checkDumpOptions(op: string, options: DumpOptions | undefined): void {
    if (options === undefined) return;
    if (options === null || typeof options !== "object") throw new TypeError(`${op} ${this.#name}: options must be an object`);
    assertOptionKeys(options, DUMP_OPTIONS_KEYS, `${op} ${this.#name}`, "options");
    const algorithm = options.algorithm;
    if (algorithm !== undefined && algorithm !== "auto" && algorithm !== "walk" && algorithm !== "batch") {
      throw new TypeError(`${op} ${this.#name}: algorithm must be "auto", "walk" or "batch", got ${describeValue(algorithm)}`);
    }
    const batchSize = options.batchSize;
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 0xffffffff)) {
      throw new RangeError(`${op} ${this.#name}: batchSize must be a positive integer, got ${describeValue(batchSize)}`);
    }
  }

  #checkIterateOptions(op: string, options: IterateOptions | undefined): void {
    if (options === undefined) return;
    if (options === null || typeof options !== "object") throw new TypeError(`${op} ${this.#name}: options must be an object`);
    assertOptionKeys(options, ITERATE_OPTIONS_KEYS, `${op} ${this.#name}`, "options");
    const n = options.maxRestarts;
    if (n !== undefined && (typeof n !== "number" || !Number.isInteger(n) || n < 0)) {
      throw new RangeError(`${op} ${this.#name}: maxRestarts must be a non-negative integer, got ${describeValue(n)}`);
    }
  }

  #requireCodecs(op: string): void {
    if (this.#codecless && this.#held !== undefined) throw new TypeError(`${op} ${this.#name}: ${heldCodecless(this.#held)}`);
    if (this.#codecless) {
      throw new TypeError(`${op} ${this.#name}: the map was opened by bpf.openMap without key and value codecs, ` +
        "so its elements cannot be decoded; open it with bpf.openMap(name, { key, value }), or with rawCodecs for bytes, to dump it");
    }
  }

  /** Decodes each raw element and calls `cb`, through the dump parser when the spec has one. */
  // Only the decoding is wrapped: an error the callback throws passes through as it is. A
  // decoding failure ends the dump as the seed's parser error does, counted in `interrupted`.
  #sink(op: string, cb: DumpCallback<K, V> | undefined, stats: DumpStats): RawSink {
    const kc = this.#key;
    const vc = this.#value;
    if (cb === undefined) return () => {};
    const parser = this.#dumpParser;
    const ks = this.#info.keySize;
    const vs = this.#info.readValueSize;
    if (parser === undefined) {
      return (keys, ko, values, vo) => {
        let k: K, v: V;
        try {
          k = decodeAt(kc, keys, ko);
        } catch (e) {
          stats.interrupted++;
          throw this.#undecodable(op, "key", keys.subarray(ko, ko + ks), e);
        }
        try {
          v = decodeAt(vc, values, vo);
        } catch (e) {
          stats.interrupted++;
          throw this.#undecodable(op, "value", values.subarray(vo, vo + vs), e);
        }
        cb(k, v);
      };
    }
    const out = { key: undefined, value: undefined } as unknown as KeyValue<K, V>;
    return (keys, ko, values, vo) => {
      let kv: KeyValue<K, V>;
      try {
        kv = parser(keys.subarray(ko, ko + ks), values.subarray(vo, vo + vs), kc, vc, out);
        if (kv === null || typeof kv !== "object") {
          throw new TypeError(`the dumpParser returned ${describeValue(kv)}, not a { key, value } object`);
        }
      } catch (e) {
        stats.interrupted++;
        const element = new Uint8Array(ks + vs);
        element.set(keys.subarray(ko, ko + ks));
        element.set(values.subarray(vo, vo + vs), ks);
        throw this.#undecodable(op, "element", element, e);
      }
      cb(kv.key, kv.value);
    };
  }

  #runDump(op: string, sink: RawSink, stats: DumpStats, options: DumpOptions | undefined): DumpStats {
    this.#requireCodecs(op);
    this.#checkDumpOptions(op, options);
    const algorithm = options?.algorithm ?? "auto";
    if (stats === null || typeof stats !== "object" || typeof stats.maxEntries !== "number") {
      throw new TypeError(`${op} ${this.#name}: stats must be a DumpStats (newDumpStats(map))`);
    }
    let batchSize = options?.batchSize;
    // The buffers are sized by it: no call returns more than the map holds (a larger hash
    // bucket grows them on ENOSPC).
    if (batchSize !== undefined) batchSize = Math.min(batchSize, Math.max(1, this.#info.maxEntries));
    stats.started = new Date();
    try {
      const target = this.#target(op);
      if (algorithm !== "walk" && (algorithm === "batch" || mayBatch(target.mapType))) {
        // A callback that dumps this same map again must not reuse the buffers being read.
        let scratch = this.#batch;
        if (scratch.busy) {
          scratch = new BatchScratch();
          scratch.supported = this.#batch.supported;
        }
        scratch.busy = true;
        let done: boolean;
        try {
          done = batchDump(target, sink, stats, scratch, this.#info.maxEntries, batchSize);
        } finally {
          scratch.busy = false;
        }
        if (scratch !== this.#batch && scratch.supported === false) this.#batch.supported = false;
        if (done) return stats;
        if (algorithm === "batch") {
          throw new BpfError({ errno: Errno.ENOTSUPP, op, map: this.#name, path: target.path,
            message: `${op} ${this.#name}: the kernel offers no BPF_MAP_LOOKUP_BATCH for this map type (${target.mapType})` });
        }
      }
      // Only the reliable dump keeps the seed's second delivery of a fallback key.
      walkDump(target, sink, stats, op !== "dumpReliablyWithCallback");
      return stats;
    } finally {
      stats.finished = new Date();
    }
  }

  /**
   * Calls `cb` for every element. Keys that vanish between next-key and lookup are skipped and
   * counted (`lookupFailed`) instead of aborting the dump (API.md §4.6). With the batch
   * algorithm (the default where the kernel has it) a hash-family dump delivers every key present
   * for the whole dump exactly once. The walk keeps the reliable dump's 4 × MaxEntries lookup
   * budget, so a map churned hard enough to keep restarting it ends in MaxLookupError rather
   * than a walk that never ends. Returns what the dump saw. Without a callback (the seed's nil
   * callback) the map is walked and nothing is decoded: the stats count what it holds.
   */
  dumpWithCallback(cb: DumpCallback<K, V> | undefined, options?: DumpOptions): DumpStats {
    this.#checkCallback("dumpWithCallback", cb);
    const stats = newDumpStats(this.#info.maxEntries);
    return this.#runDump("dumpWithCallback", this.#sink("dumpWithCallback", cb, stats), stats, options);
  }

  /** As dumpWithCallback, but a map that is not pinned calls nothing and returns undefined. */
  dumpWithCallbackIfExists(cb: DumpCallback<K, V> | undefined, options?: DumpOptions): DumpStats | undefined {
    this.#checkCallback("dumpWithCallbackIfExists", cb);
    this.#checkDumpOptions("dumpWithCallbackIfExists", options);
    if (!this.#pinned()) return undefined;
    return this.dumpWithCallback(cb, options);
  }

  /**
   * The seed's DumpReliablyWithCallback: every counter of `stats`, the 4 × MaxEntries budget
   * (MaxLookupError, `stats.completed` false). Call it with `newDumpStats(map)`.
   *
   * Default (`auto`): BPF_MAP_LOOKUP_BATCH where the kernel has it. For the hash family every
   * key present for the whole dump (in the map, possibly updated, never deleted, from before
   * the first batch call until after the last) is delivered exactly once, any other key at most
   * once, and nothing the map never held; buckets are copied whole under their lock and a key
   * never changes bucket, so the forward-only bucket token visits each key's bucket once.
   * Arrays are exactly-once too. LPM tries resume from a key: when that key is deleted between
   * calls the kernel restarts from the first key; the trie's order is known (lpmKeyOrder), so
   * the dump drops what it delivered already, counts in `interrupted` each restart that hands
   * out keys again, and LPM is exactly-once as well. Kernel caveat: LPM GET_NEXT_KEY races with
   * a concurrent update of the entry it stands on and then skips that entry's sibling subtree,
   * so while the datapath writes to an LPM trie, untouched keys can be missed by either
   * algorithm (docs/kernel-notes.md).
   *
   * `algorithm: "walk"` runs the exact v1.7 next-key walk: every key nobody touched during the
   * dump is delivered at least once; keys can repeat (a vanished key makes the walk fall back or
   * restart) and a key updated mid-dump can be missed (an update moves it to the head of its
   * bucket). Kernel caveat: a hash-family GET_NEXT_KEY that stands on an element just deleted
   * and reused for a key of another bucket goes on from that bucket, so while the datapath
   * deletes and inserts, a walk can skip untouched keys; it is rare, and the batch dump is
   * immune (docs/kernel-notes.md).
   */
  dumpReliablyWithCallback(cb: DumpCallback<K, V> | undefined, stats: DumpStats, options?: DumpOptions): void {
    this.#checkCallback("dumpReliablyWithCallback", cb);
    this.#runDump("dumpReliablyWithCallback", this.#sink("dumpReliablyWithCallback", cb, stats), stats, options);
  }

  /**
   * Formats every element into `out` (key text → value texts, appended: dumping twice into one
   * map lists a key's value twice, as in the seed). Texts come from the codecs' `format`, else hex.
   */
  dump(out: Map<string, string[]> = new Map(), options?: DumpOptions): Map<string, string[]> {
    this.#checkOut("dump", out);
    const kc = this.#key;
    const vc = this.#value;
    const stats = newDumpStats(this.#info.maxEntries);
    this.#runDump("dump", this.#sink("dump", (k, v) => {
      const ks = formatWith(kc, k);
      const list = out.get(ks);
      if (list === undefined) out.set(ks, [formatWith(vc, v)]);
      else list.push(formatWith(vc, v));
    }, stats), stats, options);
    return out;
  }

  /** As dump, but a map that is not pinned leaves `out` untouched. */
  dumpIfExists(out: Map<string, string[]> = new Map(), options?: DumpOptions): Map<string, string[]> {
    this.#checkOut("dumpIfExists", out);
    this.#checkDumpOptions("dumpIfExists", options);
    if (!this.#pinned()) return out;
    return this.dump(out, options);
  }

  // ---- iterators

  /**
   * Lazily yields `[key, value]` (the map opens on the first `next()`). The next key is fetched
   * before an element is yielded, so the loop body may delete it. A key that vanished between
   * next-key and lookup is skipped and the walk resumes after the last yielded key; when that one
   * is gone too the kernel restarts the walk (keys may repeat), and past `maxRestarts` (16) it
   * throws IterationAbortedError. It throws that too when more keys than max_entries vanish in
   * a row (a datapath deleting each key the walk reaches would otherwise hold it for ever).
   * Keys nobody touched are always yielded, unless the walk is aborted.
   * (BpfMap is deliberately not itself iterable: deep-equality and pretty-printers iterate
   * iterables, and would walk the kernel map.)
   */
  entries(options?: IterateOptions): Generator<[K, V], void, undefined> {
    this.#requireCodecs("entries");
    this.#checkIterateOptions("entries", options);
    const kc = this.#key;
    const vc = this.#value;
    return iterateMap(() => this.#target("entries"),
      (k, v) => [this.#decode(kc, k, "entries", "key"), this.#decode(vc, v, "entries", "value")] as [K, V], options);
  }

  /** The keys of `entries()`, with the same guarantees. */
  keys(options?: IterateOptions): Generator<K, void, undefined> {
    this.#requireCodecs("keys");
    this.#checkIterateOptions("keys", options);
    const kc = this.#key;
    return iterateMap(() => this.#target("keys"), (k) => this.#decode(kc, k, "keys", "key"), options);
  }

  // ---- batches

  /**
   * One BPF_MAP_LOOKUP_BATCH from `cursor` (a new BatchCursor starts at the beginning): up to
   * `maxCount` elements, more when one hash bucket is larger (buckets come whole). `cursor.done`
   * turns true at the end of the map; the last call may still return elements. A cursor belongs
   * to the map it was first used with; another map refuses it (RangeError). `elemFlags` is 0, or
   * `BPF_F_LOCK` to copy each value holding a `bpfSpinLock` under its lock (cilium/ebpf's
   * `BatchOptions.ElemFlags`).
   */
  lookupBatch(cursor: BatchCursor, maxCount = 256, elemFlags = 0): Array<[K, V]> {
    return this.#lookupBatch("lookupBatch", cursor, maxCount, false, elemFlags);
  }

  /** As lookupBatch, deleting what it returns (hash family only; others ENOTSUPP). */
  lookupAndDeleteBatch(cursor: BatchCursor, maxCount = 256, elemFlags = 0): Array<[K, V]> {
    return this.#lookupBatch("lookupAndDeleteBatch", cursor, maxCount, true, elemFlags);
  }

  #lookupBatch(op: string, cursor: BatchCursor, maxCount: number, del: boolean, elemFlags: number): Array<[K, V]> {
    if (!(cursor instanceof BatchCursor)) {
      throw new TypeError(`${op} ${this.#name}: cursor must be a BatchCursor (new BatchCursor() starts at the first element), got ${describeValue(cursor)}`);
    }
    if (!isUint(elemFlags)) throw new TypeError(`${op} ${this.#name}: elemFlags must be a u32, got ${describeValue(elemFlags)}`);
    const owner = cursorOwners.get(cursor);
    if (owner === undefined) cursorOwners.set(cursor, this);
    else if (owner !== this) throw new RangeError(`${op} ${this.#name}: the cursor belongs to another map; start a new BatchCursor`);
    if (typeof maxCount !== "number" || !Number.isInteger(maxCount) || maxCount < 1 || maxCount > 0xffffffff) {
      throw new RangeError(`${op} ${this.#name}: count must be a positive integer (at most 2^32-1), got ${describeValue(maxCount)}`);
    }
    // The buffers are sized by the count: no call returns more than the map holds (a larger
    // hash bucket grows them on ENOSPC).
    const count = Math.min(maxCount, Math.max(1, this.#info.maxEntries));
    // Only a delete batch is recorded (withEvents): a lookup batch writes nothing.
    const ev = del ? this.#events : undefined;
    let raw;
    try {
      raw = lookupBatchRaw(this.#target(op), cursor, count, del, elemFlags);
    } catch (e) {
      if (ev !== undefined && e instanceof BpfError) this.#recordBatch(ev, "lookupAndDeleteBatch", [], [], 0, e);
      throw e;
    }
    const ks = this.#info.keySize;
    const vs = this.#info.readValueSize;
    const keyAt = (i: number) => raw.keys.subarray(i * ks, (i + 1) * ks);
    const valueAt = (i: number) => raw.values.subarray(i * vs, (i + 1) * vs);
    // The kernel has deleted these: the cache learns it from the raw keys, before any decoding.
    if (del && this.#cache !== undefined) {
      for (let i = 0; i < raw.count; i++) this.#cache.recordDelete(this.#cacheId(keyAt(i)), undefined, keyAt(i), undefined);
    }
    const out = new Array<[K, V]>(raw.count);
    for (let i = 0; i < raw.count; i++) {
      let what: "key" | "value" = "key";
      try {
        const k = decodeAt(this.#key, raw.keys, i * ks);
        what = "value";
        out[i] = [k, decodeAt(this.#value, raw.values, i * vs)];
      } catch (e) {
        // The cursor has moved past the batch (and a delete batch exists nowhere else now):
        // the error carries every element of it, raw.
        const batch = Array.from({ length: raw.count }, (_, j) => ({ key: keyAt(j).slice(), value: valueAt(j).slice() }));
        const err = this.#undecodable(op, what, what === "key" ? keyAt(i) : valueAt(i), e, batch, del);
        // Deleted all the same; the error holds the raw elements.
        if (ev !== undefined) this.#recordBatch(ev, "lookupAndDeleteBatch", [], [], raw.count, err);
        throw err;
      }
    }
    // A drain that finds the map empty takes nothing: no event, or polling would flood the buffer.
    if (ev !== undefined && raw.count > 0) this.#recordBatch(ev, "lookupAndDeleteBatch", out.map((kv) => kv[0]), out.map((kv) => kv[1]), raw.count, undefined);
    return out;
  }

  /**
   * BPF_MAP_UPDATE_BATCH (always BPF_ANY in the kernel). Returns the count written; a failure
   * throws BatchError whose `count` says how many were written before it. Bad keys or values are
   * refused before anything is written; a map that cannot be opened throws that BpfError. With a
   * cache, every pair not written waits for the resolver, as after update(), unless `elemFlags`
   * held a flag the kernel refuses here (the resolver would write it anyway). `elemFlags` is 0, or
   * `BPF_F_LOCK` to write each value holding a `bpfSpinLock` under its lock (the kernel takes no
   * other flag here).
   */
  updateBatch(keys: readonly K[], values: readonly V[], elemFlags = 0): number {
    const op = "updateBatch";
    if (!Array.isArray(keys) || !Array.isArray(values)) throw new TypeError(`${op} ${this.#name}: keys and values must be arrays`);
    if (!isUint(elemFlags)) throw new TypeError(`${op} ${this.#name}: elemFlags must be a u32, got ${describeValue(elemFlags)}`);
    if (keys.length !== values.length) throw new RangeError(`${op} ${this.#name}: ${keys.length} keys but ${values.length} values`);
    const n = keys.length;
    const ks = this.#info.keySize;
    const vs = this.#info.readValueSize;
    const kb = new Uint8Array(n * ks);
    const vb = new Uint8Array(n * vs);
    for (let i = 0; i < n; i++) {
      this.#encodeKey(keys[i] as K, `${op} [${i}]`, kb.subarray(i * ks, (i + 1) * ks));
      this.#encodeValue(values[i] as V, `${op} [${i}]`, vb.subarray(i * vs, (i + 1) * vs));
    }
    // A map that cannot be opened writes nothing, and with a cache every pair waits for the
    // resolver, as update() does (the seed records before it opens).
    let done = n;
    let err: BpfError | undefined;
    let target: DumpTarget | undefined;
    try {
      target = this.#target(op);
      updateBatchRaw(target, kb, vb, n, elemFlags);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      err = e;
      done = e instanceof BatchError ? e.count : 0;
    }
    if (target !== undefined) this.#metric("update", err === undefined);
    if (this.#cache !== undefined) {
      // As update(): a pair the kernel refused for a flag it takes no other (only BPF_F_LOCK is
      // taken here) is not kept, or the resolver's plain write would do what the call could not;
      // nor is one refused BPF_F_LOCK, which no retry can pass.
      const retry = (elemFlags & ~BPF_F_LOCK) === 0 && !lockRefused(err, elemFlags);
      for (let i = 0; i < n; i++) {
        if (i >= done && !retry) break;
        const k = kb.slice(i * ks, (i + 1) * ks);
        this.#cache.recordUpdate(this.#cacheId(k), keys[i] as K, values[i] as V, k, vb.slice(i * vs, (i + 1) * vs),
          i < done ? undefined : err, (elemFlags & BPF_F_LOCK) !== 0);
      }
    }
    if (this.#events !== undefined) this.#recordBatch(this.#events, op, keys, values, done, err);
    if (err !== undefined) throw err;
    return n;
  }

  /**
   * BPF_MAP_DELETE_BATCH: returns the count deleted; a failure throws BatchError with the count
   * before it (a map that cannot be opened: that BpfError). With a cache, every key not deleted
   * waits for the resolver, as after delete().
   */
  deleteBatch(keys: readonly K[]): number {
    const op = "deleteBatch";
    if (!Array.isArray(keys)) throw new TypeError(`${op} ${this.#name}: keys must be an array`);
    const n = keys.length;
    const ks = this.#info.keySize;
    const kb = new Uint8Array(n * ks);
    for (let i = 0; i < n; i++) this.#encodeKey(keys[i] as K, `${op} [${i}]`, kb.subarray(i * ks, (i + 1) * ks));
    let done = n;
    let err: BpfError | undefined;
    let target: DumpTarget | undefined;
    try {
      target = this.#target(op);
      deleteBatchRaw(target, kb, n);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      err = e;
      done = e instanceof BatchError ? e.count : 0;
    }
    if (target !== undefined) this.#metric("delete", err === undefined);
    if (this.#cache !== undefined) {
      for (let i = 0; i < n; i++) {
        const k = kb.slice(i * ks, (i + 1) * ks);
        this.#cache.recordDelete(this.#cacheId(k), keys[i] as K, k, i < done ? undefined : err);
      }
    }
    if (this.#events !== undefined) this.#recordBatch(this.#events, op, keys, undefined, done, err);
    if (err !== undefined) throw err;
    return n;
  }

  // ---- cache

  /** Runs the error resolver now (what the 5 s timer does); returns what it did. */
  resolveErrorsNow(): ResolverRun & { error: Error | undefined } {
    const run: ResolverRun = { scanned: 0, resolved: 0, errors: 0, remaining: this.#cache?.outstandingErrors ?? 0 };
    const error = this.#cache?.resolveErrors(run);
    return { ...run, error };
  }

  /** Cache entries not in sync (0 without a cache). */
  get outstandingErrors(): number {
    return this.#cache?.outstandingErrors ?? 0;
  }

  /**
   * The cache's name for a key: the kernel's identity of it, the key's bytes, except in an LPM
   * trie, which compares only the prefix's bits (lpmKeyId): there 10.1.0.5/16 and 10.1.0.0/16 are
   * one element, and must be one entry, or the cache would keep what a delete of the other took.
   */
  #cacheId(kb: Uint8Array): string {
    return this.#info.mapType === BPF_MAP_TYPE_LPM_TRIE ? lpmKeyId(kb) : hex(kb);
  }

  #cacheOwner(): CacheOwner {
    return {
      mapName: this.#name,
      logger: this.#bpf.logger,
      resolveUpdate: (kb, vb, locked) => this.#fd < 0 ? -Errno.EBADF : this.#measured().mapUpdateElem(this.#fd, kb, vb, locked ? BPF_F_LOCK : BPF_ANY),
      resolveDelete: (kb) => this.#fd < 0 ? -Errno.EBADF : this.#measured().mapDeleteElem(this.#fd, kb),
      opError: (op, errno) => this.#error(op, errno, op === "update" || op === "delete" ? this.#refusal(op, errno) : undefined),
      metric: (op, ok) => this.#metric(op, ok),
      sizeChanged: (size) => this.#cachePressure(size),
      countsKeys: () => !this.#evicts(),
      retried: (action, e, err) => {
        const ev = this.#events;
        if (ev === undefined) return;
        const entry = e as CacheEntry<K, V>;
        this.#recordElem(ev, "resolveErrors", entry.key, entry.keyBytes, action === "update" ? entry.value : undefined,
          action === "update" ? entry.valueBytes : undefined, err, action);
      },
    };
  }
}

/** `bytes` decoded by `codec`, or `fallback` when the codec refuses its own encoding. */
function decodedOr<T>(codec: Codec<T>, bytes: Uint8Array, fallback: T): T {
  try {
    return codec.decode(bytes);
  } catch {
    return fallback;
  }
}
