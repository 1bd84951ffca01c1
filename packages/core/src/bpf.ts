// One pkg/bpf instance. Cilium keeps its state in package globals (map root and prefix, the
// open-maps registry, the pre-allocation switch, the probe results); bpfkit keeps each in a Bpf,
// so two instances — two drivers, two roots, a test and the code under test — never share any.
import { checkOrMountFs, DEFAULT_FALLBACK_MAP_ROOT } from "./bpffs.js";
import { BPF_ANY, BPF_F_NO_PREALLOC, BPF_MAP_TYPE_PROG_ARRAY, keylessMapTypeName } from "./constants.js";
import { assertDriver, isNegErrno } from "./driver-contract.js";
import { type Driver, RLIM_INFINITY } from "./driver.js";
import type { Codec } from "./codec.js";
import { convertKeyValue, type DumpParser, type KeyValue } from "./dump-parser.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError, errnoOf, isNotExist } from "./errors.js";
import { getMapFdInfo, mapFdInfoIfReadable, type MapFdInfo } from "./fdinfo.js";
import type { BpfMapInfo } from "./info.js";
import { beforeCreate } from "./inner-template.js";
import { assertKernelName } from "./kernel-name.js";
import { defaultLogger, type Logger } from "./logger.js";
import { accessFlags, accessName, accessOfFileFlags, type AccessFlags, type OpenMapOptions } from "./access-mode.js";
import { assertOptionKeys, BPF_OPTIONS_KEYS, CREATE_MAP_OPTIONS_KEYS, MAP_BTF_KEYS, OPEN_MAP_CODECS_KEYS, OPEN_MAP_OPTIONS_KEYS } from "./option-keys.js";
import { BLOOM_KIND, BpfBloomFilter, type BloomFilterSpec } from "./bloom-filter.js";
import { bytes } from "./codec.js";
import { keylessClassFor, mapKindName, type KeylessKind, type KeylessMap, type KeylessMapRef, type KeylessMapSpec, type KeylessOpened } from "./keyless-map.js";
import { BpfQueueMap, QUEUE_KIND, type QueueMapSpec } from "./queue-map.js";
import { BpfRingBuf, RINGBUF_KIND, type RingBufSpec } from "./ringbuf.js";
import { BpfUserRingBuf, USER_RINGBUF_KIND, type UserRingBufSpec } from "./user-ringbuf.js";
import { BpfPerfEventArray, PERF_EVENT_ARRAY_KIND, type PerfEventArraySpec } from "./perf-event-array.js";
import { BpfMap, idMapName } from "./map.js";
import { mapDifferences, sameMapExtra, type MapDifference } from "./map-compat.js";
import type { BpfMapModel, MapSpec, OpenMapCodecs } from "./map-spec.js";
import type { OpenMapCodecChooser } from "./opened-codecs.js";
import { isolatedHook, type MetricsHook } from "./metrics.js";
import { basename, assertMapName, checkPath, cleanPath, dirname, isAbsolute, joinPath, localMapName } from "./paths.js";
import { newPerCpuHashMap, newPerCpuMap, type PerCpuMapSpec } from "./percpu.js";
import { keptPin, PIN_CHANGED, replacePin, unpinIfStill, type PinKept } from "./pins.js";
import { preAllocateMapFlags } from "./prealloc.js";
import { driverProber, type MapTypeProber, MapTypeProbes } from "./probes.js";
import { getMapNextId, getProgNextId, mapIds, progIds } from "./object-ids.js";
import { BtfHandle, btfIds, loadBtf, openBtfById, type LoadBtfOptions } from "./btf-objects.js";
import type { MapBtf } from "./btf/btf-codec.js";
import { getProgFdById, getProgInfoByFd, type ProgInfo, testDummyProg } from "./prog.js";
import { MapRegistry } from "./registry.js";
import * as sys from "./syscalls.js";
import type { ElemAttr, MapInfo } from "./syscalls.js";
import { removePin } from "./unpin.js";
import { describeValue } from "./describe-value.js";

export type { ElemAttr, MapInfo } from "./syscalls.js";

/** Cilium's defaults (pkg/defaults). */
export const DEFAULT_MAP_ROOT = "/sys/fs/bpf";
/**
 * Cilium's default map directory under the bpffs root (`tc/globals`), where pins go unless `mapPrefix` says
 * otherwise.
 */
export const DEFAULT_MAP_PREFIX = "tc/globals";

/** `createBpf`'s options: the driver, and what the seed kept in package globals (docs/bpf-instance-and-codecs.md). */
export interface BpfOptions {
  /** The driver every call goes through: the kernel's (`@bpfkit/driver-kernel`), the simulator's, or your own. */
  driver: Driver;
  /**
   * The bpffs root. Without it the root is found when first read: `/sys/fs/bpf` when a bpffs is
   * mounted there, else the first bpffs in the driver's mount table, else `/sys/fs/bpf`. On a
   * machine with several bpffs mounts, pass it.
   */
  mapRoot?: string;
  /** Under the root; default `tc/globals`. One whose `..` leads out of the root is a TypeError. */
  mapPrefix?: string;
  /**
   * Default: quiet for debug/info, `console.warn` for warnings and errors. Anything without the
   * four methods is a TypeError at createBpf. An exception the logger throws is dropped: the
   * operation that logged goes on (a warning is often logged halfway through one).
   */
  logger?: Logger;
  /**
   * Cilium's per-operation metrics; an exception from a hook is logged, never thrown (MetricsHook).
   * Its methods are read once, by createBpf.
   */
  metrics?: MetricsHook;
  /** Replaces the driver-based map-type probe (a test can pretend to be a 4.9 kernel). */
  probe?: MapTypeProber;
  /** Where checkOrMountFS mounts when the default root holds another filesystem. */
  fallbackMapRoot?: string;
  /** Start with pre-allocation enabled (the seed starts disabled: BPF_F_NO_PREALLOC). */
  preAllocateMaps?: boolean;
}

/**
 * How often openOrCreateMap starts again when another process changed the pin under it (pinned
 * the path it found empty, or unpinned the one it found). Each start is one more change by
 * someone else; a path that changes this often is not settling and is reported.
 */
const PIN_RACE_TRIES = 8;

/** `e`, saying how often the path changed under openOrCreateMap before it (when it did). */
function raceError(e: unknown, changes: number): unknown {
  if (changes === 0 || !(e instanceof BpfError)) return e;
  return new BpfError({ errno: e.errno, op: e.op, ...(e.path !== undefined ? { path: e.path } : {}),
    message: `${e.message} (another process pinned and unpinned the path ${changes} times meanwhile)`, cause: e });
}

/** The trailing options of `createMap` and `openOrCreateMap`. */
export interface CreateMapOptions {
  /**
   * The new map's name in the kernel, which `bpftool map show` lists: at most 15 bytes of A-Z a-z
   * 0-9 _ . (checked before any syscall). Default none, as the seed. A pinned map is not compared
   * by it: one with another name is opened as it is.
   */
  kernelName?: string;
  /**
   * bpf_attr's `map_extra` (a u64 as a bigint): a BLOOM_FILTER's number of hash functions in the
   * low 4 bits (0 means 5); the kernel refuses it (EINVAL) on the types that take none. Default
   * none (0). Given, an existing pin is compared by it too (a bloom filter's 0 and 5 are one
   * count), and one with another is re-created.
   */
  mapExtra?: bigint;
  /**
   * The BTF that describes the key and the value, and the two types' ids in it: raw BTF
   * (`btfForMap(keyCodec, valueCodec)`, loaded for the create and closed after it), or BTF
   * already loaded (`bpf.loadBtf`). The kernel checks the types' sizes against the key and value
   * sizes (EINVAL) and finds special fields such as a `struct bpf_spin_lock`; bpftool and
   * `bpfkit map dump` then print the map's elements by their types. Default none, as the seed.
   * A pinned map is not compared by it. A driver without the BTF methods is BpfError EOPNOTSUPP
   * naming the map, before any create.
   */
  btf?: MapBtf | LoadedMapBtf;
}

/** A map's BTF at creation, loaded already: bpf_attr's btf_fd, btf_key_type_id and btf_value_type_id. */
export interface LoadedMapBtf {
  /** The loaded BTF: a handle or its fd. The map holds the object; the handle may be closed after. */
  fd: number | BtfHandle;
  /** The key's type id (0 for a keyless map). */
  keyTypeId: number;
  /** The value's type id. */
  valueTypeId: number;
}

type CoreCreateMapOptions = CreateMapOptions & { [beforeCreate]?: () => void };

function beforeCreateOption(options: CreateMapOptions | undefined): (() => void) | undefined {
  return (options as CoreCreateMapOptions | undefined)?.[beforeCreate];
}

/**
 * One independent pkg/bpf instance over `driver`: its own map root and prefix (locked once
 * read), registry of open maps, pre-allocation switch and map-type probe cache.
 *
 * ```ts
 * const bpf = createBpf({ driver: createKernelDriver(), mapRoot: "/sys/fs/bpf" });
 * bpf.checkOrMountFS();
 * const m = bpf.newMap({ name: "cilium_test", type: MapType.Hash, key: u32, value: u32, maxEntries: 16 });
 * ```
 */
export function createBpf(options: BpfOptions): Bpf {
  return new Bpf(options);
}

/** The seed's warning for each property objCheck finds different. */
const MISMATCH_MESSAGES: Record<MapDifference["field"], string> = {
  mapType: "Map type mismatch for BPF map", keySize: "Key-size mismatch for BPF map",
  valueSize: "Value-size mismatch for BPF map", maxEntries: "Max entries mismatch for BPF map",
  flags: "Flags mismatch for BPF map", mapExtra: "Map extra mismatch for BPF map",
};

/**
 * The seed's package-level functions as methods (API.md §3), with the instance's state. Errors
 * are thrown: BpfError (errno, code, op, path) for what the kernel or host refused, TypeError /
 * RangeError for bad arguments found before any syscall.
 */
export class Bpf implements sys.SyscallContext {
  /** The driver this instance was created with: every syscall and host service goes through it. */
  readonly driver: Driver;
  /** The logger this instance logs to, wrapped so that an exception it throws is dropped. */
  readonly logger: Logger;
  /** The options' hooks as this instance calls them: each wrapped so that it cannot throw. */
  readonly metrics: MetricsHook | undefined;

  #root: string | undefined;
  #prefix: string;
  #lockedDown = false;
  #fsChecked = false;
  readonly #fallbackRoot: string;
  #preAllocSetting: number;
  readonly #probes: MapTypeProbes;
  readonly #registry: MapRegistry<BpfMap<any, any> | KeylessMap<any>>;

  /**
   * What `createBpf(options)` calls: the same options and checks (a TypeError for a bad option, before any
   * syscall).
   */
  constructor(options: BpfOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("createBpf: options must be an object");
    assertOptionKeys(options, BPF_OPTIONS_KEYS, "createBpf", "options");
    const d = options.driver;
    assertDriver(d, "createBpf: options.driver");
    this.driver = d;
    this.logger = guardedLogger(options.logger === undefined ? defaultLogger : checkLogger(options.logger));
    this.metrics = isolatedHook(options.metrics, this.logger, "createBpf");
    if (options.mapRoot !== undefined) this.#root = checkRoot(options.mapRoot, "createBpf");
    this.#prefix = options.mapPrefix !== undefined ? checkPrefix(options.mapPrefix, "createBpf") : DEFAULT_MAP_PREFIX;
    this.#fallbackRoot = options.fallbackMapRoot !== undefined
      ? checkRoot(options.fallbackMapRoot, "createBpf") : DEFAULT_FALLBACK_MAP_ROOT;
    this.#preAllocSetting = options.preAllocateMaps === true ? 0 : BPF_F_NO_PREALLOC;
    this.#probes = new MapTypeProbes(options.probe ?? driverProber(d));
    this.#registry = new MapRegistry(this.logger);
  }

  // ---- paths (bpffs_linux.go) ----

  #lockDown(): string {
    if (!this.#lockedDown) {
      this.#root ??= this.#discoverRoot();
      this.#lockedDown = true;
    }
    return this.#root!;
  }

  #discoverRoot(): string {
    const mounts = this.driver.host.mountInfo();
    if (typeof mounts === "number") {
      this.logger.warn("Could not get mount info for map root lookup; using the default root", {
        error: errnoText(-mounts), root: DEFAULT_MAP_ROOT,
      });
      return DEFAULT_MAP_ROOT;
    }
    const bpf = mounts.filter((m) => m.fsType === "bpf");
    if (bpf.some((m) => m.mountPoint === DEFAULT_MAP_ROOT)) return DEFAULT_MAP_ROOT;
    if (bpf.length > 0) {
      // The seed takes the first bpffs silently; said here because it may be any process's mount.
      this.logger.warn("No bpffs at the default root; using the first bpffs mounted as the map root", {
        root: bpf[0]!.mountPoint, default: DEFAULT_MAP_ROOT,
      });
      return bpf[0]!.mountPoint;
    }
    this.logger.warn("Could not find BPF map root: no bpffs is mounted; using the default root", { root: DEFAULT_MAP_ROOT });
    return DEFAULT_MAP_ROOT;
  }

  /** The root as set so far, without locking it down (for checkOrMountFS). */
  #configuredRoot(): string {
    return this.#root ?? DEFAULT_MAP_ROOT;
  }

  /** The seed's GetMapRoot; locks the root and the prefix down. */
  getMapRoot(): string {
    return this.#lockDown();
  }

  /** The seed's SetMapRoot; throws once the root or prefix was read. */
  setMapRoot(path: string): void {
    if (this.#lockedDown) throw new Error("SetMapRoot() call after MapRoot was read");
    this.#root = checkRoot(path, "setMapRoot");
  }

  /** The seed's GetMapPrefix; locks down. */
  getMapPrefix(): string {
    this.#lockDown();
    return this.#prefix;
  }

  /** The seed's SetMapPrefix; throws once the root or prefix was read, or for a prefix leading out of the root. */
  setMapPrefix(path: string): void {
    if (this.#lockedDown) throw new Error("SetMapPrefix() call after MapPrefix was read");
    this.#prefix = checkPrefix(path, "setMapPrefix");
  }

  /** `root/prefix`; locks down. */
  mapPrefixPath(): string {
    return joinPath(this.#lockDown(), this.#prefix);
  }

  /**
   * `root/prefix/name`; locks down. The seed's agent-mode join everywhere: the root is the one
   * given, or the one found when first read (see BpfOptions.mapRoot). `name` must be one path
   * element: no `/`, NUL, `.` or `..`.
   */
  mapPath(name: string): string {
    assertMapName(name, "mapPath");
    return joinPath(this.#lockDown(), this.#prefix, name);
  }

  /** `name` + `id` as 5 zero-padded digits (`cilium_policy_00042`). */
  localMapName(name: string, id: number): string {
    return localMapName(name, id);
  }

  /** The pin path of `localMapName(name, id)` under the map directory (locks the root down). */
  localMapPath(name: string, id: number): string {
    return this.mapPath(localMapName(name, id));
  }

  /**
   * The process environment (as `KEY=value` lines, where there is one) plus
   * `CILIUM_BPF_MNT=<root>` and `TC_BPF_MNT=<root>` for tc and the loader; locks down.
   */
  environment(): string[] {
    const root = this.#lockDown();
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
    const out: string[] = [];
    for (const [k, v] of Object.entries(env)) if (v !== undefined) out.push(`${k}=${v}`);
    out.push(`CILIUM_BPF_MNT=${root}`, `TC_BPF_MNT=${root}`);
    return out;
  }

  /**
   * The seed's CheckOrMountFS, once per instance: after it succeeded, later calls do nothing
   * (even with other arguments); after it threw, the map root is what it was before, and a later
   * call tries again. `root` "" checks the configured root (default /sys/fs/bpf) and falls back
   * to `fallbackMapRoot` when another filesystem is there; a custom root becomes the map root.
   * Throws BpfError; a mount that fails leaves no directory it made behind. Where it must change a root that was already read
   * (the fallback, or a custom root other than the one in use), it throws setMapRoot's Error.
   */
  checkOrMountFS(root = "", printWarning = false): void {
    if (this.#fsChecked) return;
    if (typeof root !== "string" || root.includes("\0")) throw new TypeError("checkOrMountFS: root must be a string without NUL");
    if (root !== "" && !isAbsolute(root)) throw new TypeError(`checkOrMountFS: root ${JSON.stringify(root)} must be absolute`);
    // The seed sets the root before it mounts and exits when that fails; here the caller goes
    // on after the throw, so a root that could not be mounted must not stay the map root.
    const before = this.#root;
    try {
      checkOrMountFs({
        host: this.driver.host,
        logger: this.logger,
        configuredRoot: () => (this.#lockedDown ? this.#root! : this.#configuredRoot()),
        setMapRoot: (p) => this.setMapRoot(p),
        fallbackRoot: this.#fallbackRoot,
      }, root, printWarning === true);
    } catch (e) {
      if (!this.#lockedDown) this.#root = before;
      throw e;
    }
    // The checked root is the root from now on (no mount-table guessing later).
    if (!this.#lockedDown) this.#root ??= this.#configuredRoot();
    this.#fsChecked = true;
  }

  // ---- process helpers ----

  /** Raises RLIMIT_MEMLOCK to infinity (kernels before 5.11 charge map memory to it). */
  configureResourceLimits(): void {
    const r = this.driver.host.setRlimitMemlock(RLIM_INFINITY, RLIM_INFINITY);
    if (r < 0) {
      // The seed's agent stops here; on a 5.11+ kernel without CAP_SYS_RESOURCE it need not.
      const why = r === -Errno.EPERM ? " (raising RLIMIT_MEMLOCK's hard limit needs CAP_SYS_RESOURCE; since Linux 5.11 BPF " +
        "memory is charged to the memory cgroup, and the raise is not needed)" : "";
      throw new BpfError({ errno: -r, op: "setrlimit", message: `Unable to set memory resource limits: ${errnoText(-r)}${why}` });
    }
  }

  /** CLOCK_MONOTONIC in ns, comparable with the ktime_get_ns() helper. */
  getMtime(): bigint {
    const t = this.driver.host.monotonicNs();
    if (t < 0n) throw new BpfError({ errno: Number(-t), op: "clock_gettime", message: `Unable get time: ${errnoText(Number(-t))}` });
    return t;
  }

  /** Hash, PerCPUHash and HashOfMaps maps opened from now on are pre-allocated (flags 0). */
  enableMapPreAllocation(): void {
    this.#preAllocSetting = 0;
  }

  /** The default: those maps get BPF_F_NO_PREALLOC. Existing maps change at their next objCheck. */
  disableMapPreAllocation(): void {
    this.#preAllocSetting = BPF_F_NO_PREALLOC;
  }

  /** NO_PREALLOC for LPM, 0 for the types that must pre-allocate, the switch for the hashes. */
  getPreAllocateMapFlags(t: number): number {
    return preAllocateMapFlags(t, this.#preAllocSetting);
  }

  /** LRU_HASH and LPM_TRIE become HASH where the kernel lacks them (each probed once, lazily). */
  getMapType(t: number): number {
    return this.#probes.normalize(t);
  }

  /**
   * Whether the kernel (or simulator) creates maps of this type; probed once per instance by
   * creating a one-entry map with attrs the type takes (libbpf's). Types that need BTF to be
   * created (SK/INODE/TASK/CGRP_STORAGE, STRUCT_OPS) cannot be probed through the Driver and
   * answer false.
   */
  haveMapType(t: number): boolean {
    return this.#probes.have(t);
  }

  // ---- the seed's low-level functions ----

  /**
   * The seed's CreateMap (unpinned; `path` only names it in errors). Returns the fd. With
   * `options.kernelName` the map is named in the kernel; a name the kernel would refuse is a
   * TypeError or RangeError before any syscall.
   */
  createMap(mapType: number, keySize: number, valueSize: number, maxEntries: number, flags: number,
    innerId: number, path: string, options?: CreateMapOptions): number {
    const created = createOptions(options, `createMap ${path}`);
    beforeCreateOption(options)?.();
    return sys.createMap(this, mapType, keySize, valueSize, maxEntries, flags, innerId, path, created);
  }

  /**
   * The seed's OpenOrCreateMap: open the map pinned at `path` (cleaned: a trailing slash, `.`
   * or `//` still names that pin), or create it (and pin it when `pin`). An existing pin whose properties differ is replaced by a new map (objCheck's
   * warnings), except a PROG_ARRAY, which is returned as it is. With `pin` false an existing
   * pin is still opened, and a differing one is only unpinned (while it is still the map found:
   * not one another process has pinned there since). Throws BpfError; a pinned object
   * whose map info cannot be read (a program, a link) is refused as `open()` refuses it (EINVAL),
   * its fd closed.
   *
   * Unlike the seed, which unpins first, the new map is created before the old pin goes: a spec
   * the kernel refuses leaves the old map pinned with its data, and the error says so. The new
   * map is then pinned beside the old one (`:bpfkit-swap-<pid>-<n>`) and renamed over it, so another
   * process opening `path` meanwhile finds the old map or the new one, never ENOENT; when that
   * pin or the rename fails, the old pin stays, nothing is left beside it, and the error says
   * so. A driver without `host.rename` unlinks and pins instead, and pins the old map again
   * when the new one cannot be pinned.
   *
   * `options.kernelName` names every map made here, the replacement included (checked before
   * any syscall, as createMap checks it); an existing pin is not compared by its name.
   *
   * Other processes and threads may act on `path` at the same time. One that pins it after this
   * call found it empty does not make this call fail with EEXIST (the seed's answer): the map
   * made here is closed and the one pinned there opened and checked as above; one that unpins it
   * after this call found it makes this call create it. A replacement takes the path's replace
   * lock (`:bpfkit-lock-<name>` beside it, a pin only one process can make) and goes ahead only
   * if the pin is still the map it found; when another process replaced it meanwhile, this call
   * looks again at what that one pinned, so two processes upgrading a pin at once both end
   * holding the one map pinned there. A lock older than a second is taken to be a killed
   * process's and removed. After 8 such changes in a row the call gives up with the error of
   * the last step (EAGAIN for a replacement) saying so.
   */
  openOrCreateMap(path: string, mapType: number, keySize: number, valueSize: number, maxEntries: number,
    flags: number, innerId: number, pin: boolean, options?: CreateMapOptions): { fd: number; isNew: boolean } {
    checkPath(path, "path", "openOrCreateMap");
    const created = createOptions(options, `openOrCreateMap ${path}`);
    const before = beforeCreateOption(options);
    // A pin is a file: with a trailing slash, dirname() would be the path itself, and the mkdir
    // below would make a directory there that no map could ever be pinned at.
    path = cleanPath(path);
    // Another process may pin or unpin `path` between any two of these syscalls (two agents
    // starting at once, a CLI beside a service): the step that finds the path changed goes back
    // to the start, so that every caller ends holding the map pinned there.
    for (let attempt = 1; ; attempt++) {
      const last = attempt === PIN_RACE_TRIES;
      const raced = (e: unknown) => raceError(e, attempt - 1);
      if (!this.#exists(path)) {
        const dir = dirname(path);
        if (!this.#exists(dir)) {
          const r = this.driver.host.mkdirAll(dir, 0o755);
          if (r < 0) throw new BpfError({ errno: -r, op: "Unable create map base directory", path });
        }
        before?.();
        const fd = sys.createMap(this, mapType, keySize, valueSize, maxEntries, flags, innerId, path, created);
        if (pin) {
          try {
            sys.objPin(this, fd, path);
          } catch (e) {
            this.driver.close(fd);
            // Pinned by someone else since the stat: open theirs (and check it) instead, rather
            // than hold a map no one else can find.
            if (errnoOf(e) === Errno.EEXIST && !last) continue;
            throw raced(e);
          }
        }
        return { fd, isNew: true };
      }
      let old: number;
      try {
        old = sys.objGet(this, path);
      } catch (e) {
        // Unpinned since the stat (an unpin, or an upgrade on a driver without rename): create it.
        if (isNotExist(e) && !last) continue;
        throw raced(e);
      }
      let info: MapInfo;
      try {
        // The seed reads a failure as "no upgrade needed" and hands a pinned program back as the map.
        info = sys.getMapInfo(this, old);
      } catch (e) {
        this.driver.close(old);
        throw e;
      }
      let upgrade: boolean;
      try {
        upgrade = this.#needsUpgrade(info, path, mapType, keySize, valueSize, maxEntries, flags) ||
          (options?.mapExtra !== undefined && this.#extraDiffers(old, info, path, mapType, options.mapExtra));
      } catch (e) {
        this.driver.close(old);
        throw e;
      }
      if (!upgrade) return { fd: old, isNew: false };
      let fd: number | typeof PIN_CHANGED;
      try {
        fd = this.#upgrade(old, path, mapType, keySize, valueSize, maxEntries, flags, innerId, pin, created, before);
      } finally {
        this.driver.close(old);
      }
      // Another process upgraded (or removed) the pin meanwhile: look again at what it pinned.
      if (fd !== PIN_CHANGED) return { fd, isNew: true };
      if (last) {
        throw new BpfError({ errno: Errno.EAGAIN, op: "property upgrade", path,
          message: `Unable to upgrade the map pinned at ${path}: another process replaced it ${attempt} times meanwhile`
            + "; what is pinned there now was kept" });
      }
    }
  }

  /** A map made to replace the one pinned at `path` (open as `old`), pinned in its place when `pin`. */
  #upgrade(old: number, path: string, mapType: number, keySize: number, valueSize: number, maxEntries: number,
    flags: number, innerId: number, pin: boolean, created: sys.CreateAttrs, before: (() => void) | undefined): number | typeof PIN_CHANGED {
    let fd: number;
    try {
      before?.();
      fd = sys.createMap(this, mapType, keySize, valueSize, maxEntries, flags, innerId, path, created);
    } catch (e) {
      throw keptPin(e, path);
    }
    // The seed's warning, once the old map is really replaced: not when the swap fails.
    const warnReplaced = () => this.logger.warn("Removing map to allow for property upgrade (expect map data loss)", { path });
    if (!pin) {
      // The seed's unpinned upgrade: the old pin goes (errors ignored), the new map stays
      // unpinned; but not a map another process has pinned there since.
      if (unpinIfStill(this, path, old) === "removed") warnReplaced();
      return fd;
    }
    let kept: PinKept | typeof PIN_CHANGED | undefined;
    try {
      kept = replacePin(this, path, fd, old);
    } catch (e) {
      this.driver.close(fd);
      throw e;
    }
    if (kept === PIN_CHANGED) {
      this.driver.close(fd);
      return kept;
    }
    if (kept !== undefined) {
      this.driver.close(fd);
      throw new BpfError({ errno: kept.errno, op: "property upgrade", path,
        message: `${kept.what} for property upgrade: ${errnoText(kept.errno)}${kept.left}; the existing map pinned there was kept` });
    }
    warnReplaced();
    return fd;
  }

  /** stat() says anything but "does not exist" (the seed treats other stat errors as present). */
  #exists(path: string): boolean {
    return this.driver.host.stat(path).errno !== Errno.ENOENT;
  }

  /**
   * The seed's objCheck: compares the live map at `fd` with the wanted properties, logging each
   * difference; on a difference it unpins `path` and returns true (a PROG_ARRAY is never
   * removed). Unlike the seed, the pin is removed only while it is still the map at `fd`: one
   * another process has pinned there meanwhile (its upgrade) is left, and the answer is still
   * true, since the map at `fd` is the outdated one. An fd whose map info cannot be read gives
   * false, as in the seed. Two kernel adjustments are not differences: LRU maps with
   * NO_COMMON_LRU round max_entries to a multiple of the CPUs, and RDONLY/WRONLY belong to the
   * fd, not the map.
   */
  objCheck(fd: number, path: string, mapType: number, keySize: number, valueSize: number,
    maxEntries: number, flags: number): boolean {
    let info: MapInfo;
    try {
      info = sys.getMapInfo(this, fd);
    } catch (e) {
      // Only the kernel's refusal is the seed's "no upgrade": a driver's exception (a test hook's
      // failed assertion) is the caller's.
      if (!(e instanceof BpfError)) throw e;
      return false;
    }
    if (!this.#needsUpgrade(info, path, mapType, keySize, valueSize, maxEntries, flags)) return false;
    // Only the map `fd` is: another process may have upgraded the pin since this one opened it,
    // and the seed's unconditional unlink then removed the new map that process holds.
    if (unpinIfStill(this, path, fd) === "changed") {
      this.logger.info("BPF map pinned at path was replaced by another process; left as it is", { path });
      return true;
    }
    this.logger.warn("Removing map to allow for property upgrade (expect map data loss)", { path });
    return true;
  }

  /** objCheck's comparison: logs each difference; true when there is one and `info` is no PROG_ARRAY. */
  #needsUpgrade(info: MapInfo, path: string, mapType: number, keySize: number, valueSize: number,
    maxEntries: number, flags: number): boolean {
    const differences = mapDifferences(info, { mapType, keySize, valueSize, maxEntries, flags }, this.driver.possibleCpus);
    for (const d of differences) this.logger.warn(MISMATCH_MESSAGES[d.field], { old: d.map, new: d.spec, path });
    return differences.length > 0 && info.mapType !== BPF_MAP_TYPE_PROG_ARRAY;
  }

  /**
   * Whether the map pinned at `path` (open as `fd`, its info `info`) has another map_extra than
   * `want` (logged as objCheck logs its differences); a PROG_ARRAY is never re-created.
   */
  #extraDiffers(fd: number, info: MapInfo, path: string, mapType: number, want: bigint): boolean {
    const have = sys.getMapInfoByFd(this, fd).mapExtra;
    if (sameMapExtra(mapType, have, want)) return false;
    this.logger.warn("Map extra mismatch for BPF map", { old: have, new: want, path });
    return info.mapType !== BPF_MAP_TYPE_PROG_ARRAY;
  }

  /** The seed's ObjPin: EEXIST when `path` exists, ENOENT when its directory does not. */
  objPin(fd: number, path: string): void {
    sys.objPin(this, fd, path);
  }

  /**
   * Throws BpfError (op `Unable to get object`; isNotExist() when nothing is pinned). `flags`
   * is OBJ_GET's file_flags, passed through: BPF_F_RDONLY or BPF_F_WRONLY open the object
   * read-only or write-only (the kernel's EINVAL for anything else), as cilium/ebpf's
   * LoadPinOptions.
   */
  objGet(path: string, flags = 0): number {
    return sys.objGet(this, path, flags);
  }

  /** The seed's ObjClose: closes `fd`; fd 0 and below mean "no fd" and are left alone. */
  objClose(fd: number): void {
    sys.objClose(this, fd);
  }

  /**
   * Removes the pin of map `name` under the map directory (rm -rf); nothing to do when it is
   * missing. Refused (EINVAL), untouched, when the map directory is not on bpffs.
   */
  unpinMapIfExists(name: string): void {
    assertMapName(name, "unpinMapIfExists");
    const p = this.mapPath(name);
    const host = this.driver.host;
    if (host.stat(p).errno !== 0) return;
    const r = removePin(host, p);
    if (r.errno !== 0) {
      throw new BpfError({ errno: r.errno, op: "Unable to unpin map", path: p, ...(r.refused !== undefined ? { message: `Unable to unpin map ${p}: ${r.refused}` } : {}) });
    }
  }

  /** The seed's LookupElement: fills `value`; BpfError ENOENT for a missing key. */
  lookupElement(fd: number, key: Uint8Array, value: Uint8Array): void {
    sys.lookupElement(this, fd, key, value);
  }

  /** The seed's UpdateElement; `flags` BPF_ANY, BPF_NOEXIST (EEXIST) or BPF_EXIST (ENOENT). */
  updateElement(fd: number, key: Uint8Array, value: Uint8Array, flags: number = BPF_ANY): void {
    sys.updateElement(this, fd, key, value, flags);
  }

  /** The seed's DeleteElement; BpfError ENOENT for a missing key. */
  deleteElement(fd: number, key: Uint8Array): void {
    sys.deleteElement(this, fd, key);
  }

  /** The seed's internal deleteElement: 0 or the positive errno (ENOENT for a missing key). */
  deleteElementErrno(fd: number, key: Uint8Array): number {
    return sys.deleteElementErrno(this, fd, key);
  }

  /** True with `nextKey` written; false at the end (the seed's io.EOF). */
  getNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): boolean {
    return sys.getNextKey(this, fd, key, nextKey);
  }

  /** True with the first key written; false when the map is empty (the seed's io.EOF). */
  getFirstKey(fd: number, nextKey: Uint8Array): boolean {
    return sys.getNextKey(this, fd, null, nextKey);
  }

  // The *FromPointers variants take an attr object instead of a pointer to a packed attr: JS has
  // no pointers, and one attr object reused across calls costs nothing per call.

  /** LookupElementFromPointers: `attr.value` receives the value of `attr.key`. */
  lookupElementFromPointers(attr: ElemAttr): void {
    const key = nonNullKey(attr, "lookupElementFromPointers");
    sys.lookupElement(this, attr.mapFd, key, attr.value);
  }

  /** UpdateElementFromPointers: `attr.flags` as for updateElement. */
  updateElementFromPointers(attr: ElemAttr): void {
    const key = nonNullKey(attr, "updateElementFromPointers");
    sys.updateElement(this, attr.mapFd, key, attr.value, attr.flags ?? BPF_ANY);
  }

  /** GetNextKeyFromPointers: `attr.value` receives the next key; false at the end. */
  getNextKeyFromPointers(attr: ElemAttr): boolean {
    assertAttr(attr, "getNextKeyFromPointers");
    return sys.getNextKey(this, attr.mapFd, attr.key, attr.value);
  }

  /** The seed's MapFdFromID: a new fd for the map with this id. */
  mapFdFromId(id: number): number {
    return sys.mapFdFromId(this, id);
  }

  /**
   * The seed's GetMapInfo (through OBJ_GET_INFO_BY_FD; no pid argument). The seed reads fdinfo,
   * so its OwnerProgType is a PROG_ARRAY's owner: so is `ownerProgType` here where the driver
   * reads fdinfo (`mapFdInfo`), else 0 (also where fdinfo cannot be read, as without procfs). A
   * map opened or created keeps 0 in its own `mapInfo`.
   */
  getMapInfo(fd: number): MapInfo {
    const info = sys.getMapInfo(this, fd);
    // Only a PROG_ARRAY has an owner, so no other type pays for the procfs read. Every open()
    // checks sizes through here: an fdinfo that cannot be read (no procfs) leaves the owner 0
    // rather than failing the open. A driver outside the contract still throws.
    if (info.mapType !== BPF_MAP_TYPE_PROG_ARRAY) return info;
    const owner = mapFdInfoIfReadable(this.driver, fd)?.ownerProgType;
    return owner === undefined ? info : { ...info, ownerProgType: owner };
  }

  /** Everything bpf_map_info says, including the id and the name. */
  getMapInfoByFd(fd: number): BpfMapInfo {
    return sys.getMapInfoByFd(this, fd);
  }

  /**
   * What the map's fdinfo says and bpf_map_info does not: frozen, memlock, and a PROG_ARRAY's
   * owner program type and JIT flag (cilium/ebpf's MapInfo.Frozen and Memlock). Read through the
   * driver's optional mapFdInfo: a BpfError EOPNOTSUPP naming the driver where it has none, EBADF
   * for an fd that is not open, EINVAL for one that is no map.
   */
  getMapFdInfo(fd: number): MapFdInfo {
    return getMapFdInfo(this.driver, fd);
  }

  /** The seed's GetProgNextID; BpfError ENOENT (isNotExist) after the last program. */
  getProgNextId(current: number): number {
    return getProgNextId(this, current);
  }

  /** GetProgNextID's twin for maps (cilium/ebpf's MapGetNextID); BpfError ENOENT after the last map. */
  getMapNextId(current: number): number {
    return getMapNextId(this, current);
  }

  /**
   * Every map id in the kernel, ascending, read one BPF_MAP_GET_NEXT_ID ahead: a map made
   * during the walk is met if its id is past the current one (new ids are larger until they
   * wrap), and a map freed before it is reached is not. The walk ends at the last id; any other
   * answer is a BpfError (EPERM: listing needs CAP_SYS_ADMIN), never a short list. Open one
   * with `openMapById`.
   */
  mapIds(): Generator<number, void, undefined> {
    return mapIds(this);
  }

  /** Every program id, ascending, as `mapIds` walks maps; open one with `getProgFdById`. */
  progIds(): Generator<number, void, undefined> {
    return progIds(this);
  }

  /**
   * BPF_BTF_LOAD: loads raw BTF (a `BtfBuilder`'s `encode()`, a file's `.BTF` section) and gives a
   * handle on the new BTF object, to create maps with (`createMap`'s `btf` option). A refusal is a
   * `BtfLoadError`: the load is made again with the kernel checker's log on, and the error quotes
   * its last two lines, the type at fault and why (`log` holds it all; `options.logSize` 0 skips the second load). A driver
   * without the BTF methods (optional) is BpfError EOPNOTSUPP naming it.
   */
  loadBtf(raw: Uint8Array, options?: LoadBtfOptions): BtfHandle {
    return loadBtf(this, raw, options);
  }

  /** BPF_BTF_GET_FD_BY_ID: a handle on the BTF object with that id (a map's `btfId`, vmlinux's). */
  openBtfById(id: number): BtfHandle {
    return openBtfById(this, id);
  }

  /** Every BTF object's id, ascending (the kernel's own and its modules' first), as `mapIds` walks maps. */
  btfIds(): Generator<number, void, undefined> {
    return btfIds(this);
  }

  /** The seed's GetProgFDByID. */
  getProgFdById(id: number): number {
    return getProgFdById(this, id);
  }

  /**
   * The seed's GetProgInfoByFD, decoded from the kernel's real bpf_prog_info (API.md §4.5),
   * with `mapIds` filled (the seed left it empty). A map or link fd is EINVAL (`it is a map, not
   * a program`), as getMapInfoByFd refuses a program.
   */
  getProgInfoByFd(fd: number): ProgInfo {
    return getProgInfoByFd(this, fd);
  }

  /**
   * The seed's TestDummyProg: loads `r0 = 1; exit` (license "ASL2") as `progType` and tries to
   * attach it to fd 0 with `attachType`; EBADF there means supported. Throws the load's or the
   * attach's BpfError otherwise.
   */
  testDummyProg(progType: number, attachType: number): void {
    testDummyProg(this, progType, attachType);
  }

  /** The seed's ConvertKeyValue, the standard DumpParser (see dump-parser.ts). */
  convertKeyValue<K, V>(keyBytes: Uint8Array, valueBytes: Uint8Array, keyCodec: Codec<K>, valueCodec: Codec<V>,
    out: KeyValue<K, V>): KeyValue<K, V> {
    return (convertKeyValue as DumpParser<K, V>)(keyBytes, valueBytes, keyCodec, valueCodec, out);
  }

  // ---- maps and the registry ----

  /** The seed's NewMap: a BpfMap object, not yet opened (no syscall). */
  newMap<K, V>(spec: MapSpec<K, V>): BpfMap<K, V> {
    return new BpfMap<K, V>(this, spec);
  }

  /** The seed's NewPerCPUHashMap: values are arrays of `driver.possibleCpus` values. */
  newPerCpuHashMap<K, V>(spec: Omit<PerCpuMapSpec<K, V>, "type">): BpfMap<K, V[]> {
    return newPerCpuHashMap<K, V>(this, spec);
  }

  /**
   * Any per-CPU map type (PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH, …; PERCPU_HASH when `type`
   * is left out): values are arrays of `driver.possibleCpus` values, as cilium/ebpf's slices.
   * The function `newPerCpuMap(bpf, spec)` as a method, beside newPerCpuHashMap, where callers of
   * newMap look for it.
   */
  newPerCpuMap<K, V>(spec: PerCpuMapSpec<K, V>): BpfMap<K, V[]> {
    return newPerCpuMap<K, V>(this, spec);
  }

  /**
   * A queue (BPF_MAP_TYPE_QUEUE, the default type) or stack (BPF_MAP_TYPE_STACK) object, not yet
   * opened (no syscall): push, pop, peek and drain values; `openOrCreate()` pins it under the map
   * directory as newMap's maps are. A bad spec is a TypeError or RangeError naming `newQueueMap`.
   */
  newQueueMap<V>(spec: QueueMapSpec<V>): BpfQueueMap<V> {
    return new BpfQueueMap<V>(this, spec);
  }

  /**
   * A bloom filter object (BPF_MAP_TYPE_BLOOM_FILTER), not yet opened (no syscall): add values and
   * ask whether one may be there. `spec.hashFunctions` (1..15, default 5) is checked here.
   */
  newBloomFilter<V>(spec: BloomFilterSpec<V>): BpfBloomFilter<V> {
    return new BpfBloomFilter<V>(this, spec);
  }

  /**
   * A ring buffer object (BPF_MAP_TYPE_RINGBUF), not yet opened (no syscall): programs write
   * records into it, `reader()` reads them. `spec.maxEntries` is the ring's size in bytes, a power
   * of 2 and a multiple of the page (a RangeError here otherwise).
   */
  newRingBuf(spec: RingBufSpec): BpfRingBuf {
    return new BpfRingBuf(this, spec);
  }

  /**
   * A user ring buffer object (BPF_MAP_TYPE_USER_RINGBUF, kernel 6.1+), not yet opened (no
   * syscall): `producer()` writes records into it, programs drain them with
   * bpf_user_ringbuf_drain. `spec` is a ring's, as newRingBuf's.
   */
  newUserRingBuf(spec: UserRingBufSpec): BpfUserRingBuf {
    return new BpfUserRingBuf(this, spec);
  }

  /**
   * A perf event array object (BPF_MAP_TYPE_PERF_EVENT_ARRAY), not yet opened (no syscall):
   * programs send samples through it with bpf_perf_event_output, `reader()` reads them
   * (cilium/ebpf's perf.NewReader). `spec.maxEntries` defaults to the driver's possible CPUs.
   */
  newPerfEventArray(spec: PerfEventArraySpec): BpfPerfEventArray {
    return new BpfPerfEventArray(this, spec);
  }

  /**
   * An existing queue or stack as a BpfQueueMap, as `openMap` opens a keyed map: `ref` is a pin (a
   * path, or a name in the map directory; the object is registered there), `{ id }` (as
   * `openMapById`) or `{ fd }` (as `newMapFromFd`: the object takes the fd over). Without `value`
   * its values are bytes of the map's value size; a codec of another size is a RangeError. A map
   * of another type is EINVAL naming the call that opens it (bpf.openMap for a keyed map).
   * `options` open it read-only or write-only (a write-only queue can only push, a read-only one only peek, since a pop is a write: EPERM).
   * Its fd is closed when anything fails (a `{ fd }` stays the caller's).
   */
  openQueueMap(ref: KeylessMapRef, value?: undefined, options?: OpenMapOptions): BpfQueueMap<Uint8Array>;
  openQueueMap<V>(ref: KeylessMapRef, value: Codec<V>, options?: OpenMapOptions): BpfQueueMap<V>;
  openQueueMap<V>(ref: KeylessMapRef, value?: Codec<V>, options?: OpenMapOptions): BpfQueueMap<V> | BpfQueueMap<Uint8Array> {
    return this.#openKeyless("openQueueMap", ref, value, options, QUEUE_KIND,
      (spec, opened, op) => new BpfQueueMap(this, spec, opened, op));
  }

  /** An existing bloom filter as a BpfBloomFilter, opened as `openQueueMap` opens a queue. */
  openBloomFilter(ref: KeylessMapRef, value?: undefined, options?: OpenMapOptions): BpfBloomFilter<Uint8Array>;
  openBloomFilter<V>(ref: KeylessMapRef, value: Codec<V>, options?: OpenMapOptions): BpfBloomFilter<V>;
  openBloomFilter<V>(ref: KeylessMapRef, value?: Codec<V>, options?: OpenMapOptions): BpfBloomFilter<V> | BpfBloomFilter<Uint8Array> {
    return this.#openKeyless("openBloomFilter", ref, value, options, BLOOM_KIND,
      (spec, opened, op) => new BpfBloomFilter(this, spec, opened, op));
  }

  /**
   * An existing ring buffer as a BpfRingBuf, opened as `openQueueMap` opens a queue: a pin (a
   * path, or a name in the map directory), `{ id }` or `{ fd }`. A read-only or write-only open
   * succeeds, but its `reader()` is refused: the kernel maps a map only through an fd that can
   * read and write.
   */
  openRingBuf(ref: KeylessMapRef, options?: OpenMapOptions): BpfRingBuf {
    return this.#openKeyless("openRingBuf", ref, undefined, options, RINGBUF_KIND,
      ({ name, maxEntries, flags }, opened, op) => new BpfRingBuf(this, { name, maxEntries, ...(flags !== undefined ? { flags } : {}) }, opened, op));
  }

  /**
   * An existing user ring buffer as a BpfUserRingBuf, opened as `openRingBuf` opens a ring: a pin
   * (a path, or a name in the map directory), `{ id }` or `{ fd }`. A read-only or write-only
   * open succeeds, but its `producer()` is refused: the kernel maps a map only through an fd
   * that can read and write.
   */
  openUserRingBuf(ref: KeylessMapRef, options?: OpenMapOptions): BpfUserRingBuf {
    return this.#openKeyless("openUserRingBuf", ref, undefined, options, USER_RINGBUF_KIND,
      ({ name, maxEntries, flags }, opened, op) => new BpfUserRingBuf(this, { name, maxEntries, ...(flags !== undefined ? { flags } : {}) }, opened, op));
  }

  /**
   * An existing perf event array (Cilium's cilium_events) as a BpfPerfEventArray, opened as
   * `openQueueMap` opens a queue: a pin (a path, or a name in the map directory), `{ id }` or
   * `{ fd }`. Its `reader()` fills the slots through an fd that can write them: open it read-write.
   */
  openPerfEventArray(ref: KeylessMapRef, options?: OpenMapOptions): BpfPerfEventArray {
    return this.#openKeyless("openPerfEventArray", ref, undefined, options, PERF_EVENT_ARRAY_KIND,
      ({ name, maxEntries, flags }, opened, op) => new BpfPerfEventArray(this, { name, maxEntries, ...(flags !== undefined ? { flags } : {}) }, opened, op));
  }

  #openKeyless<V, M>(op: string, ref: KeylessMapRef, value: Codec<V> | undefined, options: OpenMapOptions | undefined,
    kind: KeylessKind, make: (spec: KeylessMapSpec<any>, opened: KeylessOpened, op: string) => M): M {
    const spec = (info: BpfMapInfo, name: string): KeylessMapSpec<any> => {
      if (value !== undefined && (value === null || typeof value !== "object" || !Number.isInteger(value.size))) {
        throw new TypeError(`${op} ${name}: value must be a Codec (size, encode, decode)`);
      }
      if (value !== undefined && value.size !== info.valueSize) {
        throw new RangeError(`${op} ${name}: the value codec is ${value.size} bytes, the map's values are ${info.valueSize}`);
      }
      // A bloom filter's spec has no type (there is one); a queue's says which of the two.
      return { name, ...(kind === QUEUE_KIND ? { type: info.type } : {}), value: value ?? bytes(info.valueSize),
        maxEntries: info.maxEntries, flags: info.mapFlags };
    };
    if (typeof ref === "string") {
      assertOptionKeys(options, OPEN_MAP_OPTIONS_KEYS, `${op} ${ref}`, "options");
      const access = accessFlags(options, `${op} ${ref}`);
      const { path, fd } = this.#pinnedFd(op, ref, access);
      return this.#adoptFd(op, fd, path, { path }, (info) => make(spec(info, basename(path)), { path, fd, info, access }, op), kind);
    }
    if (ref === null || typeof ref !== "object" || (("id" in ref) === ("fd" in ref))) {
      throw new TypeError(`${op}: the map must be a pin (a name or path), { id } or { fd }, got ${describeValue(ref)}`);
    }
    if ("id" in ref) {
      const id = ref.id;
      assertMapId(op, id);
      const name = idMapName(id);
      assertOptionKeys(options, OPEN_MAP_OPTIONS_KEYS, `${op} ${name}`, "options");
      const access = accessFlags(options, `${op} ${name}`);
      const fd = this.#idFd(op, id, access);
      return this.#adoptFd(op, fd, name, { map: name },
        (info) => make(spec(info, name), { path: "", fd, info, access, held: { by: "openMapById", id, opener: `bpf.${op}` } }, op), kind);
    }
    const fd = ref.fd;
    assertFdNumber(op, fd);
    const { info, mode } = this.#adoptableFd(op, fd, options, kind);
    return make(spec(info, idMapName(info.id)), { path: "", fd, info, access: mode, held: { by: "newMapFromFd", id: info.id, opener: `bpf.${op}` } }, op);
  }

  /**
   * The seed's OpenMap: the map pinned at `name` (a path, or a name under the map directory),
   * with raw byte keys and values and no dump parser; or, given codecs that fit the map's key
   * and value sizes, typed (and dumpable) like a map from `newMap`. The codecs may be a function
   * of the map's shape (kernel name, type, sizes): `rawCodecs` gives byte keys and values that
   * dump and iterate, `btfCodecs` keys and values typed by the map's own BTF. Its fd is closed
   * when anything fails.
   *
   * `options` open it `{ readOnly: true }` (BPF_F_RDONLY: lookups, walks, dumps and iteration
   * work, writes are the kernel's EPERM, read as such) or `{ writeOnly: true }` (BPF_F_WRONLY:
   * updates and deletes only), as cilium/ebpf's LoadPinOptions; a map pinned with read permission
   * only, or one an LSM lets this process read and not write, still opens read-only. The map keeps the mode for every
   * later open of its pin (after close(), reopen()); it creates and replaces nothing
   * (openOrCreate*, openParallel and checkAndUpgrade refuse once it is closed), and a read-only
   * map takes no `withCache()`.
   */
  openMap(name: string, codecs?: undefined, options?: OpenMapOptions): BpfMap<Uint8Array, Uint8Array>;
  openMap<K, V>(name: string, codecs: OpenMapCodecs<K, V> | OpenMapCodecChooser<K, V>, options?: OpenMapOptions): BpfMap<K, V>;
  openMap<K, V>(name: string, codecs?: OpenMapCodecs<K, V> | OpenMapCodecChooser<K, V>,
    options?: OpenMapOptions): BpfMap<K, V> | BpfMap<Uint8Array, Uint8Array> {
    assertOptionKeys(codecs, OPEN_MAP_CODECS_KEYS, `openMap ${String(name)}`, "codecs");
    assertOptionKeys(options, OPEN_MAP_OPTIONS_KEYS, `openMap ${String(name)}`, "options");
    const access = accessFlags(options, `openMap ${String(name)}`);
    const { path, fd } = this.#pinnedFd("openMap", name, access);
    // fromOpened registers the map under `path`.
    return this.#adoptFd("openMap", fd, path, { path },
      (info) => BpfMap.fromOpened<K, V>(this, basename(path), path, fd, sys.seedMapInfo(info), codecs, info.name, access));
  }

  /** The map pinned at `name` (a path, or a name in the map directory) opened with `access`, for `op`. */
  #pinnedFd(op: string, name: string, access: AccessFlags): { path: string; fd: number } {
    const path = this.#resolve(name, op);
    try {
      return { path, fd: sys.objGet(this, path, access) };
    } catch (e) {
      // The seed's words name the pin; say which call asked, as every later failure here does.
      const named = e instanceof BpfError ? renamed(e, op, path, { path }) : e;
      if (access !== 0 && errnoOf(e) === Errno.EINVAL) this.#notOpenedInMode(path, named);
      throw named;
    }
  }

  /**
   * cilium/ebpf's NewMapFromID: the map whose kernel id is `id` (BPF_MAP_GET_FD_BY_ID; on the
   * kernel that needs CAP_SYS_ADMIN), as a BpfMap with raw byte keys and values that refuses
   * dumps and iteration, or typed and dumpable given codecs that fit its sizes, as `openMap`.
   * It is what an ARRAY_OF_MAPS or HASH_OF_MAPS lookup leads to: the inner map's id.
   *
   * The map is named `id:<id>` in errors; its metrics are labelled by its kernel name. It has no
   * pin path (`path()` is ""), so openParallel, reopen, unpin, unpinIfExists and
   * checkAndUpgrade refuse with EINVAL and leave it open; open and openOrCreate* do nothing
   * while it is open, as on a pinned map; the *IfExists dumps dump it. `close()` closes its fd
   * for good: every later operation throws EBADF saying that the map is closed (openMapById
   * again for a new handle). It is not in the
   * registry (`getMap`, `getOpenMaps`), which lists maps by their pins: each call gives a new
   * handle with its own fd, to be closed by the caller.
   *
   * An `id` that is not a u32 is a TypeError (not a number) or RangeError before any syscall; an
   * id no map has is BpfError ENOENT (isNotExist); EPERM says that CAP_SYS_ADMIN is missing.
   * Codecs that do not fit are a RangeError. The fd is closed when anything fails. `options`
   * open it read-only or write-only (GET_FD_BY_ID's open_flags), as for `openMap`.
   *
   * A PROG_ARRAY whose owner has just closed it may still be found by id for a few microseconds;
   * opening and closing it then makes the kernel (6.18) leak it for good. A walk over every map
   * should close the PROG_ARRAYs it opened only some milliseconds later, as `bpfkit maps` does
   * (docs/kernel-notes.md).
   */
  openMapById(id: number, codecs?: undefined, options?: OpenMapOptions): BpfMap<Uint8Array, Uint8Array>;
  openMapById<K, V>(id: number, codecs: OpenMapCodecs<K, V> | OpenMapCodecChooser<K, V>, options?: OpenMapOptions): BpfMap<K, V>;
  openMapById<K, V>(id: number, codecs?: OpenMapCodecs<K, V> | OpenMapCodecChooser<K, V>,
    options?: OpenMapOptions): BpfMap<K, V> | BpfMap<Uint8Array, Uint8Array> {
    const op = "openMapById";
    assertMapId(op, id);
    assertOptionKeys(codecs, OPEN_MAP_CODECS_KEYS, `${op} ${idMapName(id)}`, "codecs");
    assertOptionKeys(options, OPEN_MAP_OPTIONS_KEYS, `${op} ${idMapName(id)}`, "options");
    const access = accessFlags(options, `${op} ${idMapName(id)}`);
    const name = idMapName(id);
    const fd = this.#idFd(op, id, access);
    return this.#adoptFd(op, fd, name, { map: name },
      (info) => BpfMap.fromId<K, V>(this, id, fd, sys.seedMapInfo(info), info.name, codecs, access));
  }

  /** An fd of the map with kernel id `id` (a u32, checked), opened with `access`, for `op`. */
  #idFd(op: string, id: number, access: AccessFlags): number {
    const name = idMapName(id);
    try {
      return sys.mapFdFromId(this, id, access);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      throw renamed(e, op, name, { map: name });
    }
  }

  /**
   * cilium/ebpf's NewMapFromFD: a BpfMap over `fd`, a map fd the caller already has (inherited
   * from a parent, received over a unix socket with SCM_RIGHTS, or made by another library). The
   * BpfMap takes it over, not a copy of it: its `close()` closes `fd`, so the caller must not close
   * it, nor hand it to another BpfMap (`clone()` makes a second handle). Codecs as `openMapById`'s:
   * without them raw bytes that refuse dumps and iteration, or given or chosen codecs that fit.
   * The map is named `id:<id>` in errors, with no pin path (`path()` is ""), not in the registry,
   * and held by that fd alone, as a map opened by id: what needs a pin refuses with EINVAL and
   * leaves it open, and after `close()` every operation is EBADF. Its metrics are labelled by its
   * kernel name (`by-fd` when it has none).
   *
   * The fd's access mode was fixed when it was opened, and no dup or adoption changes it. Where
   * the driver reads fdinfo (`mapFdInfo`: the kernel's and the simulator's do) the map takes the
   * fd's own mode from it, and `options` (`{ readOnly: true }`, `{ writeOnly: true }`) that name
   * another mode are EINVAL. With a driver that cannot tell, `options` are the caller's word,
   * unchecked; the kernel refuses what the fd's real mode forbids whatever is said. The mode
   * changes this object's answers: EPERM is explained as the mode's, and a read-only map takes
   * no `withCache()`.
   *
   * What is not a map fd is refused before the BpfMap takes it, and then the fd stays the
   * caller's (open, as it was; cilium/ebpf closes it): a negative or fractional number, or no
   * number, is a RangeError or TypeError; a closed fd is BpfError EBADF; a program's, a link's or
   * any other file's fd is EINVAL saying what it is; a map whose type or key size reads as 0, or
   * codecs that do not fit, are refused as by `openMapById`. Every error names `newMapFromFd`
   * and the fd (or, once its id is known, the map).
   */
  newMapFromFd(fd: number, codecs?: undefined, options?: OpenMapOptions): BpfMap<Uint8Array, Uint8Array>;
  newMapFromFd<K, V>(fd: number, codecs: OpenMapCodecs<K, V> | OpenMapCodecChooser<K, V>, options?: OpenMapOptions): BpfMap<K, V>;
  newMapFromFd<K, V>(fd: number, codecs?: OpenMapCodecs<K, V> | OpenMapCodecChooser<K, V>,
    options?: OpenMapOptions): BpfMap<K, V> | BpfMap<Uint8Array, Uint8Array> {
    const op = "newMapFromFd";
    assertFdNumber(op, fd);
    assertOptionKeys(codecs, OPEN_MAP_CODECS_KEYS, `${op} fd ${fd}`, "codecs");
    const { info, mode } = this.#adoptableFd(op, fd, options);
    // Only now, with nothing left to refuse, is the fd this BpfMap's.
    return BpfMap.fromFd<K, V>(this, info.id, fd, sys.seedMapInfo(info), info.name, codecs, mode);
  }

  /**
   * What newMapFromFd (and the keyless maps' `{ fd }` opens, `kind` their types) checks before
   * it takes `fd`, a u32 checked by the caller: that it is an open map fd of a fitting shape,
   * opened in the mode the options say. Refused, the fd stays the caller's, open.
   */
  #adoptableFd(op: string, fd: number, options: OpenMapOptions | undefined, kind?: KeylessKind): { info: BpfMapInfo; mode: AccessFlags } {
    const what = `fd ${fd}`;
    assertOptionKeys(options, OPEN_MAP_OPTIONS_KEYS, `${op} ${what}`, "options");
    const access = accessFlags(options, `${op} ${what}`);
    // A closed fd: the kernel's info call says EBADFD (6.18), which reads like a broken fd, not a
    // missing one; the host knows, unless it cannot tell any fd (ENOSYS: no procfs).
    const kind0 = this.driver.host.objKind?.(fd);
    if (typeof kind0 === "number" && isNegErrno(kind0) && kind0 !== -Errno.ENOSYS) {
      throw new BpfError({ errno: -kind0, op, message: `${op} ${what}: ${kind0 === -Errno.EBADF ? "the fd is not open" : errnoText(-kind0)}` });
    }
    if (typeof kind0 === "object" && kind0 !== null && kind0.kind !== "map") {
      const it = kind0.kind === "link" ? `a BPF link (${kind0.linkType}), not a map` : kind0.kind === "prog" ? "a BPF program, not a map"
        : "not a BPF object, so no map";
      throw new BpfError({ errno: Errno.EINVAL, op, message: `${op} ${what}: it is ${it}` });
    }
    let info: BpfMapInfo;
    try {
      info = sys.getMapInfoByFd(this, fd);
    } catch (e) {
      if (e instanceof BpfError) {
        const errno = e.errno === Errno.EBADFD ? Errno.EBADF : e.errno;
        throw new BpfError({ errno, op, message: `${op} ${what}: ${e.message}`, cause: e });
      }
      throw e;
    }
    const name = idMapName(info.id);
    const why = shapeRefusal(info, name, kind);
    if (why !== undefined) throw new BpfError({ errno: Errno.EINVAL, op, map: name, message: `${op} ${what}: ${why}` });
    return { info, mode: this.#fdAccess(fd, access, `${op} ${what}`, name, op) };
  }

  /**
   * The access mode of an fd newMapFromFd adopts: the fd's own, from its fdinfo where the driver
   * reads that (a read-only fd from a parent then explains its EPERMs without being told), else
   * `asked`, the caller's word. Asked for a mode the fd does not have, EINVAL: the map would
   * explain the kernel's answers by a mode that is not the fd's.
   */
  #fdAccess(fd: number, asked: AccessFlags, where: string, name: string, op: string): AccessFlags {
    const flags = mapFdInfoIfReadable(this.driver, fd)?.fileFlags;
    if (flags === undefined) return asked;
    const real = accessOfFileFlags(flags);
    if (asked !== 0 && asked !== real) {
      throw new BpfError({ errno: Errno.EINVAL, op, map: name,
        message: `${where}: the fd is ${accessName(real)}, not ${accessName(asked)} as the options say` });
    }
    return real;
  }

  /**
   * OBJ_GET gives a pinned link no read-only or write-only fd (EINVAL): open what is at `path`
   * read-write, only to say what it is as a plain openMap would (`it is a BPF link`), and close
   * it. Throws that, or `refusal` when it says nothing more (a map is never adopted here).
   */
  #notOpenedInMode(path: string, refusal: unknown): never {
    let fd: number;
    try {
      fd = sys.objGet(this, path);
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      throw refusal;
    }
    return this.#adoptFd("openMap", fd, path, { path }, () => {
      throw refusal;
    });
  }

  /**
   * `make(info)` for `fd`, just opened by `op` for the map `what` names (a path, `id:12`); `where`
   * goes into the errors. A map whose type or key size reads as 0 is refused (EINVAL). When
   * anything fails `fd` is closed, and an error that names only the fd names `what` instead.
   */
  #adoptFd<M>(op: string, fd: number, what: string, where: { path?: string; map?: string },
    make: (info: BpfMapInfo) => M, kind?: KeylessKind): M {
    try {
      const info = sys.getMapInfoByFd(this, fd);
      const why = shapeRefusal(info, what, kind);
      if (why !== undefined) throw new BpfError({ errno: Errno.EINVAL, op, ...where, message: kind !== undefined ? `${op} ${why}` : why });
      return make(info);
    } catch (e) {
      this.driver.close(fd);
      // The map-info error names only the fd, which is closed now: say which map it was.
      if (e instanceof BpfError && e.path === undefined && e.map === undefined) throw renamed(e, op, what, where);
      throw e;
    }
  }

  #resolve(name: string, op: string): string {
    if (typeof name === "string" && isAbsolute(name)) {
      checkPath(name, "path", op);
      return cleanPath(name);
    }
    assertMapName(name, op);
    return this.mapPath(name);
  }

  /**
   * The registered BpfMap for a name or an absolute path (a queue, stack or bloom filter open
   * there is not a BpfMap: it is listed by getOpenMaps only).
   */
  getMap(name: string): BpfMap<any, any> | undefined {
    const m = this.#registry.get(this.#resolve(name, "getMap"));
    return m instanceof BpfMap ? m : undefined;
  }

  /** Models of every open map, keyless ones included (in no set order). */
  getOpenMaps(): BpfMapModel[] {
    return this.#registry.all().map((m) => m.getModel());
  }

  /**
   * Records `m` as the open map at `path`, ahead of any other object open there, which getMap
   * gives again once `m` is unregistered. BpfMap and the keyless maps call this.
   */
  registerMap(path: string, m: BpfMap<any, any> | KeylessMap<any>): void {
    this.#registry.register(path, m);
  }

  /** Removes `m` from `path`, never another object open there (API.md §4.7). */
  unregisterMap(path: string, m: BpfMap<any, any> | KeylessMap<any>): void {
    this.#registry.unregister(path, m);
  }
}

/** A TypeError or RangeError naming `op` unless `id` is a u32. */
function assertMapId(op: string, id: unknown): asserts id is number {
  if (typeof id !== "number") throw new TypeError(`${op}: id must be a number, got ${describeValue(id)}`);
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`${op}: id ${id} is not a u32`);
}

/** A TypeError or RangeError naming `op` unless `fd` is a file descriptor number. */
function assertFdNumber(op: string, fd: unknown): asserts fd is number {
  if (typeof fd !== "number") throw new TypeError(`${op}: fd must be a number, got ${describeValue(fd)}`);
  if (!Number.isInteger(fd)) throw new TypeError(`${op}: fd ${fd} is not an integer`);
  if (fd < 0 || fd > 0x7fffffff) throw new RangeError(`${op}: fd ${fd} is not a file descriptor (0..2^31−1)`);
}

/**
 * Why a map whose info is `info` cannot be adopted by a BpfMap (or, given `kind`, by that keyless
 * class), in the seed's words where it has them; undefined when it can. `what` names it.
 */
function shapeRefusal(info: BpfMapInfo, what: string, kind: KeylessKind | undefined): string | undefined {
  if (info.type === 0) return `Unable to determine map type of ${what}`;
  if (kind !== undefined) {
    if (kind.types.includes(info.type)) return undefined;
    const keyless = keylessClassFor(info.type);
    const use = keyless !== undefined ? `${keyless.open} opens it` : info.keySize === 0 ? "bpfkit has no class for it" : "bpf.openMap opens it";
    return `${what} is a ${mapKindName(info.type)} map (type ${info.type}), not ${kind.what}: ${use}`;
  }
  if (info.keySize !== 0) return undefined;
  // The seed's words, and for a map type that never has keys, why: BpfMap is keyed.
  const keyless = keylessMapTypeName(info.type);
  const cls = keylessClassFor(info.type);
  const why = keyless === undefined ? "" : `: a ${keyless} map has no keys, and a BpfMap needs them` +
    (cls !== undefined ? `; open it as a ${cls.name} with ${cls.open}` : "");
  return `Unable to determine map key size of ${what}${why}`;
}


/** `e` as `op` on `what` (a path, `id:12`) reports it: `op what: e's message why`, `e` the cause. */
function renamed(e: BpfError, op: string, what: string, where: { path?: string; map?: string }, why = ""): BpfError {
  return new BpfError({ errno: e.errno, op, ...where, message: `${op} ${what}: ${e.message}${why}`, cause: e });
}

/**
 * The kernel name ("" for none) and map_extra (0 for none) in `options`, or a TypeError/RangeError
 * naming `where`.
 */
function createOptions(options: CreateMapOptions | undefined, where: string): sys.CreateAttrs {
  if (options === undefined) return { name: "", mapExtra: 0n };
  if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be { kernelName?, mapExtra?, btf? }`);
  assertOptionKeys(options, CREATE_MAP_OPTIONS_KEYS, where, "options");
  const { kernelName, mapExtra, btf } = options;
  if (kernelName !== undefined) assertKernelName(kernelName, where);
  if (mapExtra !== undefined) {
    if (typeof mapExtra !== "bigint") throw new TypeError(`${where}: options.mapExtra must be a bigint, got ${describeValue(mapExtra)}`);
    if (mapExtra < 0n || mapExtra > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${where}: options.mapExtra ${mapExtra} is not a u64`);
  }
  return { name: kernelName ?? "", mapExtra: mapExtra ?? 0n, ...(btf !== undefined ? { btf: mapBtf(btf, where) } : {}) };
}

/** `btf` as what a create passes (an fd or raw BTF, and two type ids), or a TypeError/RangeError naming `where`. */
function mapBtf(btf: MapBtf | LoadedMapBtf, where: string): sys.MapBtfAttr {
  const shape = "options.btf must be { btf, keyTypeId, valueTypeId } (raw BTF, as btfForMap gives) or { fd, keyTypeId, valueTypeId } (loaded)";
  if (btf === null || typeof btf !== "object") throw new TypeError(`${where}: ${shape}`);
  assertOptionKeys(btf, MAP_BTF_KEYS, where, "options.btf");
  const u32 = (v: unknown, name: string): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`${where}: options.btf.${name} ${String(v)} is not a u32`);
    return v;
  };
  const ids = { keyTypeId: u32(btf.keyTypeId, "keyTypeId"), valueTypeId: u32(btf.valueTypeId, "valueTypeId") };
  const raw = (btf as Partial<MapBtf>).btf, loaded = (btf as Partial<LoadedMapBtf>).fd;
  if ((raw === undefined) === (loaded === undefined)) throw new TypeError(`${where}: ${shape}, with one of btf and fd`);
  if (raw !== undefined) {
    if (!(raw instanceof Uint8Array)) throw new TypeError(`${where}: options.btf.btf must be a Uint8Array of raw BTF, got ${describeValue(raw)}`);
    return { raw, ...ids };
  }
  const fd = loaded instanceof BtfHandle ? loaded.fd : loaded;
  if (loaded instanceof BtfHandle && fd! < 0) throw new TypeError(`${where}: options.btf.fd is a closed BTF handle (id ${loaded.id})`);
  return { fd: u32(fd, "fd"), ...ids };
}

function assertAttr(attr: ElemAttr, op: string): void {
  if (attr === null || typeof attr !== "object") throw new TypeError(`${op}: attr must be an object`);
}

function nonNullKey(attr: ElemAttr, op: string): Uint8Array {
  assertAttr(attr, op);
  if (attr.key === null) throw new TypeError(`${op}: attr.key must be a Uint8Array, got null`);
  return attr.key;
}

/**
 * `l` with each method made unable to throw. Log lines come from the middle of operations (a
 * property upgrade warns with the old map open and the new one pinned): a throw there would
 * leave an fd open and the map half-adopted. There is nowhere left to report it, so it is dropped.
 */
function guardedLogger(l: Logger): Logger {
  const guard = (m: keyof Logger) => (msg: string, fields?: Record<string, unknown>): void => {
    try {
      l[m](msg, fields);
    } catch {
      // dropped: see above
    }
  };
  return Object.freeze({ debug: guard("debug"), info: guard("info"), warn: guard("warn"), error: guard("error") });
}

/** A logger that would fail at its first warning fails here instead, naming the option. */
function checkLogger(l: unknown): Logger {
  const methods = ["debug", "info", "warn", "error"] as const;
  if (l === null || typeof l !== "object" || methods.some((m) => typeof (l as Record<string, unknown>)[m] !== "function")) {
    throw new TypeError("createBpf: options.logger must be a Logger (debug, info, warn and error functions)");
  }
  return l as Logger;
}

function checkRoot(p: unknown, op: string): string {
  checkPath(p, "map root", op);
  if (!isAbsolute(p)) throw new TypeError(`${op}: map root ${JSON.stringify(p)} must be an absolute path`);
  return cleanPath(p);
}

function checkPrefix(p: unknown, op: string): string {
  if (typeof p !== "string") throw new TypeError(`${op}: map prefix must be a string`);
  if (p.includes("\0")) throw new TypeError(`${op}: map prefix ${JSON.stringify(p)} contains a NUL byte`);
  // The prefix is a directory under the root: one whose `..` climbs out of it would pin, and
  // unpin (rm -rf), outside the bpffs, as a map name with `..` would.
  const clean = cleanPath(p.replace(/^\/+/, ""));
  if (clean === ".." || clean.startsWith("../")) {
    throw new TypeError(`${op}: map prefix ${JSON.stringify(p)} leads out of the map root`);
  }
  return p;
}
