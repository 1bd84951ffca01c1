// The maps without keys (BPF_MAP_TYPE_QUEUE, STACK, BLOOM_FILTER): key_size is 0 and every
// element call passes an empty key. BpfMap is keyed (Cilium's pkg/bpf), so these get their own
// objects: KeylessMap is their lifecycle, pinned under the map directory as a BpfMap is, through
// the same Bpf.openOrCreateMap (property check and re-create), registry and lifecycle pieces
// (map-lifecycle.ts); BpfQueueMap and BpfBloomFilter add the elements.
/// <reference lib="esnext.disposable" preserve="true" />
import "./dispose-symbol.js"; // before the class below takes [Symbol.dispose] as a key
import { keylessAccessRefusal, type AccessFlags } from "./access-mode.js";
import type { Bpf, CreateMapOptions, MapInfo } from "./bpf.js";
import type { Codec } from "./codec.js";
import { extractCommonName } from "./common-name.js";
import {
  BPF_F_RDONLY, BPF_F_WRONLY, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_USER_RINGBUF,
  isPerCpuMapType, keylessMapTypeName, mapTypeName,
} from "./constants.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import type { Driver } from "./driver.js";
import { BpfError, DecodeError } from "./errors.js";
import { frozenRefusal, getMapFdInfo, type MapFdInfo } from "./fdinfo.js";
import type { Held } from "./held-map.js";
import type { BpfMapInfo } from "./info.js";
import { assertKernelName } from "./kernel-name.js";
import {
  checkPinned, closedHeldError, closedUnpinnedError, createdAs, isPinnedNow, mapOpError, namedError, notPinnedYet,
  requireFullAccess, requirePin, unpinnedReopenError, unpinPath, type MapOwner,
} from "./map-lifecycle.js";
import type { BpfMapModel } from "./map-spec.js";
import { MapIncompatibleError, mapDifferences, sameMapExtra } from "./map-compat.js";
import { meteredDriver, type MetricsHook } from "./metrics.js";
import { readMapBtf, specBtf, type MapBtfInfo } from "./map-btf.js";
import type { MapBtf } from "./btf/btf-codec.js";
import { specMapName } from "./paths.js";
import { zeroBytes } from "./small-bytes.js";
import { describeValue } from "./describe-value.js";

/** What a keyless map is made from: a MapSpec without the key. */
export interface KeylessMapSpec<V> {
  /** The pin's base name under the map directory, as MapSpec.name (no `/`, NUL, `.` or `..`). */
  name: string;
  /** The value's codec; its size is the map's value_size (at least 1 byte). */
  value: Codec<V>;
  /** `max_entries`: how many values the map holds at most (a bloom filter: how many it expects). */
  maxEntries: number;
  /** Creation flags (`BPF_F_*`); these types take no BPF_F_NO_PREALLOC (the kernel's EINVAL). */
  flags?: number;
  /** The map's name in the kernel (bpftool's), at most 15 bytes of A-Z a-z 0-9 _ . , as MapSpec.kernelName. */
  kernelName?: string;
}

/**
 * Which existing keyless map `bpf.openQueueMap` / `bpf.openBloomFilter` open: a pin (a path, or a
 * name in the map directory), a kernel id, or an fd the object takes over.
 */
export type KeylessMapRef = string | { id: number } | { fd: number };

/** An empty key: what every element call on a keyless map passes (the kernel reads none). */
const NO_KEY = new Uint8Array(0);

/** How a keyless map object was made, when it is not from a spec: an fd already open. */
export interface KeylessOpened {
  /** The pin path ("" for a map held only by its fd). */
  path: string;
  /** The open fd, which the object now owns. */
  fd: number;
  /** What the kernel says of the map (its type, value size, max entries, flags, map_extra). */
  info: BpfMapInfo;
  /** How a map held only by its fd came (opened by id, adopted from an fd). */
  held?: Held;
  /** The fd's access mode: 0 (read-write), BPF_F_RDONLY or BPF_F_WRONLY. */
  access: AccessFlags;
}

/** The kind of keyless map a subclass is: the types it takes and what its errors call it. */
export interface KeylessKind {
  /** The map types this class handles. */
  readonly types: readonly number[];
  /** What it is called in errors: `a queue or stack`, `a bloom filter`. */
  readonly what: string;
  /**
   * Whether an opened pin's map_extra is read (a bloom filter's hash count, which a spec without
   * one does not compare, so the pin's may differ from the spec's).
   */
  readonly readsMapExtra?: boolean;
  /** A map with no values either (a ring buffer: value_size 0); its spec's value is a 0-byte codec. */
  readonly valueless?: boolean;
  /**
   * The key size the type has: 0 (the default) for the maps without keys; a PERF_EVENT_ARRAY's
   * 4 (a CPU's slot), whose elements no user of the object reads or writes as keys and values.
   */
  readonly keySize?: number;
}

/** A map type as errors say it: `queue`, `stack`, `bloom filter`, else the seed's name (`Hash`). */
export function mapKindName(t: number): string {
  return keylessMapTypeName(t) ?? mapTypeName(t);
}

/** The bpfkit class for a keyless map type, and the Bpf calls that make and open one; undefined for none. */
export function keylessClassFor(t: number): { name: string; make: string; open: string } | undefined {
  if (t === BPF_MAP_TYPE_QUEUE || t === BPF_MAP_TYPE_STACK) return { name: "BpfQueueMap", make: "bpf.newQueueMap", open: "bpf.openQueueMap" };
  if (t === BPF_MAP_TYPE_BLOOM_FILTER) return { name: "BpfBloomFilter", make: "bpf.newBloomFilter", open: "bpf.openBloomFilter" };
  if (t === BPF_MAP_TYPE_RINGBUF) return { name: "BpfRingBuf", make: "bpf.newRingBuf", open: "bpf.openRingBuf" };
  if (t === BPF_MAP_TYPE_USER_RINGBUF) return { name: "BpfUserRingBuf", make: "bpf.newUserRingBuf", open: "bpf.openUserRingBuf" };
  if (t === BPF_MAP_TYPE_PERF_EVENT_ARRAY) return { name: "BpfPerfEventArray", make: "bpf.newPerfEventArray", open: "bpf.openPerfEventArray" };
  return undefined;
}

function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/**
 * A pinned map without keys. Made by `bpf.newQueueMap` / `bpf.newBloomFilter` (opened lazily, as
 * a BpfMap: `openOrCreate()`, or the first element call opens the pin) or opened by
 * `bpf.openQueueMap` / `bpf.openBloomFilter` (a pin, an id or an fd). Errors are BpfError naming
 * the map and the operation; bad input is a TypeError or RangeError before any syscall.
 */
export abstract class KeylessMap<V> {
  readonly #bpf: Bpf;
  readonly #driver: Driver;
  readonly #metrics: MetricsHook | undefined;
  readonly #name: string;
  readonly #kernelName: string;
  readonly #type: number;
  readonly #value: Codec<V>;
  readonly #maxEntries: number;
  /** max_entries of the map this object opened or created last; undefined before the first open. */
  #openMaxEntries: number | undefined;
  readonly #flags: number;
  /** bpf_attr's map_extra at create (a bloom filter's hash count), undefined for none. */
  readonly #mapExtra: bigint | undefined;
  readonly #readsMapExtra: boolean;
  /** The type's key size (KeylessKind.keySize): 0 but for a PERF_EVENT_ARRAY. */
  readonly #keySize: number;
  /** With a bloom filter spec's `btf: true`: the BTF every map this object creates carries, built once. */
  readonly #btf: MapBtf | undefined;
  /** map_extra of the map this object opened or created last; undefined before the first open. */
  #openMapExtra: bigint | undefined;
  readonly #held: Held | undefined;
  readonly #access: AccessFlags;
  readonly #valueBuf: Uint8Array;
  #path = "";
  #fd = -1;
  #reopenable = true;
  #closedForGood = false;
  /**
   * The open fd's access mode, which explains an EPERM: the one asked for, except for a map this
   * object created with BPF_F_RDONLY or BPF_F_WRONLY in its flags (the creating fd has that mode).
   */
  #fdMode: AccessFlags = 0;
  #commonName: string | undefined;
  #metered: Driver | undefined;

  /** For subclasses: checks `spec` (naming `op`) against `kind` and makes the object, opening nothing. */
  protected constructor(bpf: Bpf, spec: KeylessMapSpec<V> & { type: number; btf?: boolean }, kind: KeylessKind, op: string,
    mapExtra: bigint | undefined, opened?: KeylessOpened) {
    if (spec === null || typeof spec !== "object") throw new TypeError(`${op}: spec must be an object`);
    const name = specMapName(spec.name, () => bpf.mapPrefixPath(), op);
    const where = `${op} ${name}`;
    if (!kind.types.includes(spec.type)) {
      throw new TypeError(`${where}: type must be ${kind.types.map((t) => `BPF_MAP_TYPE_${mapKindName(t).replace(" ", "_").toUpperCase()} (${t})`).join(" or ")}, got ${describeValue(spec.type)}`);
    }
    const value = spec.value as Partial<Codec<V>> | null;
    if (value === null || typeof value !== "object" || typeof value.encode !== "function" ||
      typeof value.decode !== "function" || !isUint(value.size)) {
      throw new TypeError(`${where}: value must be a Codec (size, encode, decode)`);
    }
    // The kernel's EINVAL, said before any syscall: a keyless map holds values, not nothing.
    if (value.size === 0 && kind.valueless !== true) throw new RangeError(`${where}: the value codec is 0 bytes; ${kind.what} holds values of at least 1 byte`);
    if (!isUint(spec.maxEntries) || spec.maxEntries === 0) {
      throw new RangeError(`${where}: maxEntries must be a u32 of at least 1, got ${describeValue(spec.maxEntries)}`);
    }
    if (spec.flags !== undefined && !isUint(spec.flags)) throw new TypeError(`${where}: flags must be a u32, got ${describeValue(spec.flags)}`);
    if (spec.kernelName !== undefined) assertKernelName(spec.kernelName, where);
    if (spec.btf !== undefined && typeof spec.btf !== "boolean") throw new TypeError(`${where}: btf must be a boolean, got ${describeValue(spec.btf)}`);
    // A map opened by path, id or fd is never created by this object: its BTF is the pin's.
    this.#btf = spec.btf === true && opened === undefined ? specBtf(null, spec.value, where) : undefined;
    this.#bpf = bpf;
    this.#driver = bpf.driver;
    this.#metrics = bpf.metrics;
    this.#name = name;
    this.#kernelName = spec.kernelName ?? "";
    this.#type = spec.type;
    this.#value = spec.value;
    this.#maxEntries = spec.maxEntries;
    this.#flags = spec.flags ?? 0;
    this.#mapExtra = mapExtra;
    this.#readsMapExtra = kind.readsMapExtra === true;
    this.#keySize = kind.keySize ?? 0;
    this.#openMapExtra = opened?.info.mapExtra;
    this.#openMaxEntries = opened?.info.maxEntries;
    this.#held = opened?.held;
    this.#access = opened?.access ?? 0;
    this.#fdMode = this.#access;
    this.#valueBuf = new Uint8Array(value.size);
    if (opened !== undefined) {
      this.#path = opened.path;
      this.#fd = opened.fd;
      if (opened.held !== undefined) {
        this.#reopenable = false;
        this.#commonName = opened.info.name !== "" ? extractCommonName(opened.info.name) : opened.held.by === "newMapFromFd" ? "by-fd" : "by-id";
      } else {
        bpf.registerMap(opened.path, this);
      }
    }
  }

  // ---- accessors

  /** The map's name: the pin's base name, or `id:<id>` for a map held only by its fd. */
  name(): string {
    return this.#name;
  }

  /** The pin path (`bpf.mapPath(name)`, resolved on first use); "" for a map held only by its fd. */
  path(): string {
    if (this.#path === "" && this.#held === undefined) this.#path = this.#bpf.mapPath(this.#name);
    return this.#path;
  }

  /** The open fd, or -1 while the map is not open. */
  getFd(): number {
    return this.#fd;
  }

  /** Whether the map holds an open fd now. */
  isOpen(): boolean {
    return this.#fd >= 0;
  }

  /** The map type (`BPF_MAP_TYPE_QUEUE`, `STACK` or `BLOOM_FILTER`). */
  get mapType(): number {
    return this.#type;
  }

  /**
   * `max_entries` of the map once it has been opened (`open()` and the lazy open of the first
   * element call take a pin of any size), of the spec before.
   */
  get maxEntries(): number {
    return this.#openMaxEntries ?? this.#maxEntries;
  }

  /** The codec the map encodes and decodes its values with. */
  get valueCodec(): Codec<V> {
    return this.#value;
  }

  /**
   * As BpfMap.isPinned: whether the map this object holds open is the one pinned at its path now
   * (asked of the kernel). False while it is not open, for a map held by its fd, and once the
   * pin was removed or replaced by another map.
   */
  isPinned(): boolean {
    if (this.#fd < 0) return false;
    return isPinnedNow(this.#bpf, { ...this.#owner(), path: this.#held !== undefined ? this.#path : this.path() }, this.#fd);
  }

  /** What the kernel says of the map now (bpf_map_info: id, name, sizes, flags, mapExtra); opens a pinned map first. */
  info(): BpfMapInfo {
    const fd = this.fdFor("info");
    try {
      return this.#bpf.getMapInfoByFd(fd);
    } catch (e) {
      throw namedError(this.#owner(), "info", e);
    }
  }

  /**
   * What the kernel's fdinfo says of the map and bpf_map_info does not, as BpfMap.fdInfo: whether
   * it is frozen, and the bytes it is charged (`memlock`). No syscall: the driver's optional
   * mapFdInfo reads it (EOPNOTSUPP naming the driver where it has none). Opens a pinned map first.
   */
  fdInfo(): MapFdInfo {
    const fd = this.fdFor("fdInfo");
    try {
      return getMapFdInfo(this.#driver, fd);
    } catch (e) {
      throw namedError(this.#owner(), "fdInfo", e);
    }
  }

  /**
   * cilium/ebpf's MapSpec.Compatible for this object's spec: throws MapIncompatibleError, listing
   * each difference, when the live map's type, value size, max entries, flags or (for a spec with
   * `hashFunctions`) hash count are not the spec's, that is when `openOrCreate()` would re-create
   * it. An agent restarted with another spec asks this first, since the re-created map is not the
   * one a loaded program writes to. Changes nothing: a map not open stays closed (its pin is read
   * through a short-lived fd); nothing pinned is a BpfError ENOENT.
   */
  checkCompatible(): void {
    const op = "checkCompatible";
    let fd = this.#fd;
    let borrowed = -1;
    if (fd < 0) {
      if (this.#held !== undefined || this.#closedForGood) fd = this.fdFor(op); // the closed map's EBADF
      else {
        try {
          borrowed = fd = this.#bpf.objGet(this.path(), this.#access);
        } catch (e) {
          throw namedError(this.#owner(), op, e);
        }
      }
    }
    let info: BpfMapInfo;
    try {
      info = this.#bpf.getMapInfoByFd(fd);
    } catch (e) {
      throw namedError(this.#owner(), op, e);
    } finally {
      if (borrowed >= 0) this.#driver.close(borrowed);
    }
    const want = { ...createdAs(this.#bpf, this.#type, this.#flags), keySize: this.#keySize, valueSize: this.#valueBuf.length, maxEntries: this.#maxEntries };
    const live = { mapType: info.type, keySize: info.keySize, valueSize: info.valueSize, readValueSize: info.valueSize,
      maxEntries: info.maxEntries, flags: info.mapFlags, innerId: 0, ownerProgType: 0 };
    const differences = mapDifferences(live, want, this.#driver.possibleCpus);
    if (this.#mapExtra !== undefined && !sameMapExtra(this.#type, info.mapExtra, this.#mapExtra)) {
      differences.push({ field: "mapExtra", map: Number(info.mapExtra), spec: Number(this.#mapExtra) });
    }
    if (differences.length > 0) throw new MapIncompatibleError(op, this.#name, this.#held !== undefined ? this.#path : this.path(), differences);
  }

  /**
   * The map's BTF, or null when it has none, as BpfMap.btf: the object's id, size and name, its
   * types parsed, and the value's type id (the key's is 0). Opens a pinned map first.
   */
  btf(): MapBtfInfo | null {
    const fd = this.fdFor("btf");
    try {
      return readMapBtf(this.#bpf, fd);
    } catch (e) {
      throw namedError(this.#owner(), "btf", e);
    }
  }

  /** The map as `bpf.getOpenMaps()` lists it: its pin path. */
  getModel(): BpfMapModel {
    return { path: this.#path };
  }

  // ---- lifecycle

  /**
   * Creates the map and pins it, or opens the one pinned at its path, re-creating it when its
   * properties (type, value size, max entries, flags; a bloom filter's hash count) changed, as
   * BpfMap.openOrCreate does (Bpf.openOrCreateMap). True when the map was created.
   */
  openOrCreate(): boolean {
    return this.#openOrCreate(true, "openOrCreate");
  }

  /** As openOrCreate, without pinning a new map; an existing pin is still opened (as BpfMap's). */
  openOrCreateUnpinned(): boolean {
    return this.#openOrCreate(false, "openOrCreateUnpinned");
  }

  #openOrCreate(pin: boolean, op: string): boolean {
    if (this.#fd >= 0) return false;
    requirePin(this.#owner(), false, op);
    requireFullAccess(this.#owner(), op);
    const path = this.path();
    const bpf = this.#bpf;
    const { mapType, flags } = createdAs(bpf, this.#type, this.#flags);
    const options: CreateMapOptions = {
      ...(this.#kernelName !== "" ? { kernelName: this.#kernelName } : {}),
      ...(this.#mapExtra !== undefined ? { mapExtra: this.#mapExtra } : {}),
      ...(this.#btf !== undefined ? { btf: this.#btf } : {}),
    };
    let opened: { fd: number; isNew: boolean };
    try {
      opened = bpf.openOrCreateMap(path, mapType, this.#keySize, this.#valueBuf.length, this.#maxEntries, flags, 0, pin, options);
    } catch (e) {
      throw namedError(this.#owner(), op, e);
    }
    // A PROG_ARRAY pinned there is never re-created: refuse it as open() does.
    if (!opened.isNew) {
      this.#check(op, path, opened.fd);
    } else {
      this.#openMapExtra = this.#mapExtra ?? 0n;
      this.#openMaxEntries = this.#maxEntries;
    }
    this.#adopt(path, opened.fd, pin || !opened.isNew, opened.isNew ? (flags & (BPF_F_RDONLY | BPF_F_WRONLY)) as AccessFlags : 0);
    return opened.isNew;
  }

  /** Opens the pinned map (no-op when open); one of another type or value size is EINVAL. */
  open(): void {
    if (this.#fd >= 0) return;
    requirePin(this.#owner(), false, "open");
    this.#open("open");
  }

  #open(op: string): void {
    const path = this.path();
    let fd: number;
    try {
      fd = this.#bpf.objGet(path, this.#access);
    } catch (e) {
      throw namedError(this.#owner(), op, e);
    }
    this.#check(op, path, fd);
    this.#adopt(path, fd, true, this.#access);
  }

  /** Refuses (EINVAL, `fd` closed) a pin whose type or sizes are not this map's. */
  #check(op: string, path: string, fd: number): void {
    const info = checkPinned(this.#bpf, this.#owner(), op, path, fd, (info: MapInfo) => {
      if (info.mapType !== this.#type) {
        return `is a ${mapKindName(info.mapType)} map (type ${info.mapType}), not a ${mapKindName(this.#type)} (${this.#type})`;
      }
      if (info.keySize !== this.#keySize || info.valueSize !== this.#valueBuf.length || isPerCpuMapType(info.mapType)) {
        return `has key size ${info.keySize} and value size ${info.valueSize}, this map's value codec needs ${this.#keySize} and ${this.#valueBuf.length}`;
      }
      return undefined;
    });
    this.#openMaxEntries = info.maxEntries;
    if (!this.#readsMapExtra) return;
    try {
      this.#openMapExtra = this.#bpf.getMapInfoByFd(fd).mapExtra;
    } catch (e) {
      this.#driver.close(fd);
      throw namedError(this.#owner(), op, e);
    }
  }

  #adopt(path: string, fd: number, reopenable: boolean, mode: AccessFlags): void {
    this.#fd = fd;
    this.#fdMode = mode;
    this.#reopenable = reopenable;
    this.#closedForGood = false;
    this.#bpf.registerMap(path, this);
  }

  /**
   * Closes the fd and unregisters the object. As a BpfMap, a pinned map opens again at its next
   * element call; one created without a pin, or held by its fd, is closed for good (EBADF).
   */
  close(): void {
    if (this.#fd >= 0) {
      this.#driver.close(this.#fd);
      this.#fd = -1;
      if (!this.#reopenable) this.#closedForGood = true;
    }
    if (this.#path !== "") this.#bpf.unregisterMap(this.#path, this);
  }

  /** Calls `close()`, so `using q = …` closes the map at the end of its block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * close(), then open() the pin, as BpfMap.reopen: the object then holds the map pinned there
   * now, with its `maxEntries` (and a bloom filter's hash count), opened in the same access mode.
   * A map created without a pin has no pin to open again, and its fd is all that keeps it: reopen
   * refuses (EINVAL) and leaves it open; one held by its fd refuses as unpin does (EINVAL while
   * open, EBADF once closed). A ring buffer's readers hold their own fd and mappings: they read on
   * from the ring they mapped.
   */
  reopen(): void {
    const op = "reopen";
    requirePin(this.#owner(), this.#fd >= 0, op);
    if (this.#fd >= 0 && !this.#reopenable) throw unpinnedReopenError(this.#owner());
    this.close();
    this.#open(op);
  }

  /** Removes the pin (rm -rf; a missing pin is fine); the open fd stays usable. EINVAL for a map held by its fd. */
  unpin(): void {
    requirePin(this.#owner(), this.#fd >= 0, "unpin");
    unpinPath(this.#bpf, { ...this.#owner(), path: this.path() });
  }

  /** Like `unpin()`, doing nothing when nothing is pinned at the map's path. */
  unpinIfExists(): void {
    requirePin(this.#owner(), this.#fd >= 0, "unpinIfExists");
    if (this.#driver.host.stat(this.path()).errno === 0) this.unpin();
  }

  /**
   * Makes the map read-only for user space (BPF_MAP_FREEZE), as BpfMap.freeze: later pushes, pops
   * and adds through any fd are EPERM, while peeks and `has` still answer and programs may still
   * write it. Freezing it again is EPERM.
   */
  freeze(): void {
    const r = this.elemCall("freeze", "mapFreeze", (d, fd) => d.mapFreeze(fd));
    if (r < 0) throw this.opError("freeze", -r);
  }

  // ---- for the element methods of the subclasses

  /** The Bpf the map belongs to: its logger and metrics hooks. */
  protected get bpf(): Bpf {
    return this.#bpf;
  }

  /** The driver the map's calls go through. */
  protected get driver(): Driver {
    return this.#driver;
  }

  /** The fd's access mode (0 read-write, BPF_F_RDONLY, BPF_F_WRONLY), which explains a refusal. */
  protected get fdMode(): AccessFlags {
    return this.#fdMode;
  }

  /**
   * map_extra of the map this object opened or created last (for a kind that reads it, and for
   * one opened by `bpf.open*`); undefined before the first open.
   */
  protected get openMapExtra(): bigint | undefined {
    return this.#openMapExtra;
  }

  #owner(): MapOwner {
    return { name: this.#name, path: this.#path, held: this.#held, access: this.#access };
  }

  /** The open fd, opening a pinned map lazily as BpfMap does. */
  protected fdFor(op: string): number {
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

  /** `value` encoded into the reused value buffer, or a TypeError/RangeError naming `op` and the map. */
  protected encodeValue(value: V, op: string): Uint8Array {
    const out = this.#valueBuf;
    zeroBytes(out);
    try {
      this.#value.encode(value, out);
    } catch (e) {
      const Ctor = e instanceof RangeError ? RangeError : TypeError;
      throw new Ctor(`${op} ${this.#name}: bad value: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return out;
  }

  /**
   * One element call (`call` gets the driver, the fd, the empty key and the value buffer, and
   * calls the driver's `method`): its answer, 0 or a negative errno (`call` decides which it
   * throws), reported to the metrics hook. A driver's answer outside its contract names `method`,
   * as BpfMap's do: the driver broke it, not `op`.
   */
  protected elemCall(op: string, method: string, call: (d: Driver, fd: number, key: Uint8Array, value: Uint8Array) => number,
    countsAsOk: (r: number) => boolean = (r) => r >= 0): number {
    const fd = this.fdFor(op);
    const driver = this.#metrics?.syscall === undefined ? this.#driver : (this.#metered ??= meteredDriver(this.#driver, this.#metrics));
    const r = call(driver, fd, NO_KEY, this.#valueBuf);
    if (r !== 0 && !isNegErrno(r)) throw driverContractError(this.#driver, method, r, "0");
    const hook = this.#metrics?.mapOp;
    if (hook !== undefined) {
      this.#commonName ??= extractCommonName(this.#name);
      hook.call(this.#metrics, this.#commonName, op, countsAsOk(r) ? "success" : "fail");
    }
    return r;
  }

  /** The value buffer decoded, or a DecodeError naming `op` and the map. */
  protected decodeValue(op: string): V {
    try {
      return this.#value.decode(this.#valueBuf);
    } catch (e) {
      throw new DecodeError({ op, map: this.#name, what: "value", bytes: this.#valueBuf.slice(), cause: e });
    }
  }

  /** `op` failed with `errno`; `why` explains it (default: the fd's access mode). */
  protected opError(op: string, errno: number, why: string | undefined = this.#refusal(op, errno)): BpfError {
    return mapOpError(this.#owner(), op, errno, why);
  }

  /**
   * Why an element call was refused: the fd's access mode, or, for an EPERM through a read-write
   * fd, a frozen map (its fdinfo says so; the kernel's bare EPERM reads like a missing capability).
   */
  #refusal(op: string, errno: number): string | undefined {
    const kind = mapKindName(this.#type);
    const mode = keylessAccessRefusal(this.#fdMode, errno, kind);
    return mode ?? frozenRefusal(this.#driver, this.#fd, errno, op,
      kind === "bloom filter" ? "ask it (has), not add to it" : "peek it, not push or pop");
  }
}
