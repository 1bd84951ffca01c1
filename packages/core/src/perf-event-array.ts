// BPF_MAP_TYPE_PERF_EVENT_ARRAY (kernel/bpf/arraymap.c): a u32 slot per CPU holding a perf
// event, into whose ring a program's bpf_perf_event_output writes (Cilium's cilium_events).
// BpfPerfEventArray is its lifecycle (a KeylessMap: pinned, opened, checked, re-created as the
// others are; its keys and values are not for users to read) and `reader()` fills its slots with
// events of this process for PerfReader (cilium/ebpf's perf.NewReader).
import type { Bpf } from "./bpf.js";
import { u32 } from "./codec.js";
import { BPF_ANY, BPF_F_RDONLY, BPF_MAP_TYPE_PERF_EVENT_ARRAY } from "./constants.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import type { PerfEventOpenAttr } from "./driver.js";
import { extractCommonName } from "./common-name.js";
import { Errno } from "./errno.js";
import { BpfError } from "./errors.js";
import { KeylessMap, type KeylessKind, type KeylessOpened } from "./keyless-map.js";
import { meteredDriver } from "./metrics.js";
import { assertOptionKeys, optionKeys } from "./option-keys.js";
import { driverPageSize } from "./page-size.js";
import { PerfReader, type PerfReaderSlot } from "./perf-reader.js";
import { describeValue } from "./describe-value.js";

/** `bpf.newPerfEventArray`'s spec. */
export interface PerfEventArraySpec {
  /** The pin's base name under the map directory, as MapSpec.name (no `/`, NUL, `.` or `..`). */
  name: string;
  /** Slots (`max_entries`): one per CPU a program may output on. Default: the driver's `possibleCpus`. */
  maxEntries?: number;
  /**
   * Creation flags (`BPF_F_*`): BPF_F_PRESERVE_ELEMS keeps the slots filled when the fd that
   * filled them is released (without it the kernel empties them then).
   */
  flags?: number;
  /** The map's name in the kernel (bpftool's), at most 15 bytes of A-Z a-z 0-9 _ . , as MapSpec.kernelName. */
  kernelName?: string;
}

/** `BpfPerfEventArray.reader`'s options, as cilium/ebpf's NewReaderWithOptions takes them. */
export interface PerfReaderOptions {
  /**
   * Each CPU's ring in bytes (cilium/ebpf's perCPUBuffer), rounded up to a power of 2 of pages;
   * default 64 KiB. The rings of all CPUs count against the kernel's perf_event_mlock_kb (a
   * process without CAP_IPC_LOCK is refused past it).
   */
  perCpuBuffer?: number;
  /**
   * Wake a wait once this many bytes wait in a CPU's ring (`wakeup_watermark`), at least 1 and
   * less than the ring's size; not with `wakeupEvents`. Default: wake at every sample.
   */
  watermark?: number;
  /** Wake a wait after this many samples on a CPU (`wakeup_events`, default 1); not with `watermark`. */
  wakeupEvents?: number;
  /**
   * The CPUs (slots) to read, each below `possibleCpus` and the array's `maxEntries`. Default:
   * every possible CPU the array has a slot for, less those not online (their event cannot be
   * opened: ENODEV, which a CPU asked for here is).
   */
  cpus?: readonly number[];
  /**
   * The slot to put the event in, for a reader of one CPU (`cpus: [n]`): bpftool's `cpu N index M`,
   * for a program that outputs to slot M explicitly (its output reaches the event only while it
   * runs on CPU N: the helper answers -EOPNOTSUPP on another). Default: the CPU's own slot.
   */
  index?: number;
}

/** The map type a BpfPerfEventArray handles: keys and values are u32 (a slot, an event's fd). */
export const PERF_EVENT_ARRAY_KIND: KeylessKind = { types: [BPF_MAP_TYPE_PERF_EVENT_ARRAY], what: "a perf event array", keySize: 4 };

/** A ring's default size: cilium/ebpf's users ask for a few pages to a few dozen; this is 16 of 4 KiB. */
export const DEFAULT_PERF_BUFFER = 64 * 1024;
/** The largest ring `perCpuBuffer` may ask: 1 GiB. */
const MAX_PERF_BUFFER = 2 ** 30;

const SPEC_KEYS = optionKeys<PerfEventArraySpec>({ name: true, maxEntries: true, flags: true, kernelName: true });
const READER_KEYS = optionKeys<PerfReaderOptions>({ perCpuBuffer: true, watermark: true, wakeupEvents: true, cpus: true, index: true });

/**
 * A BPF perf event array: programs send samples through it (bpf_perf_event_output), `reader()`
 * reads them. Made by `bpf.newPerfEventArray` (opened lazily, pinned under the map directory as
 * the other maps) or opened by `bpf.openPerfEventArray`. Its slots hold perf events, not data:
 * the reader fills them.
 */
export class BpfPerfEventArray extends KeylessMap<number> {
  /**
   * Makes the object from a spec without touching the kernel (as `bpf.newPerfEventArray`); open
   * it with `openOrCreate()`. `opened` is for `bpf.openPerfEventArray`: an fd already open.
   */
  constructor(bpf: Bpf, spec: PerfEventArraySpec, opened?: KeylessOpened, op = "newPerfEventArray") {
    let full: unknown = spec;
    if (spec !== null && typeof spec === "object") {
      assertOptionKeys(spec, SPEC_KEYS, `${op} ${String(spec.name)}`, "spec");
      const driver = (bpf as Partial<Bpf> | null)?.driver;
      const cpus = driver?.possibleCpus;
      full = { ...spec, maxEntries: spec.maxEntries ?? cpus, value: u32, type: BPF_MAP_TYPE_PERF_EVENT_ARRAY };
    }
    super(bpf, full as never, PERF_EVENT_ARRAY_KIND, op, undefined, opened);
  }

  /**
   * Opens a BPF output event on each CPU (Driver.perfEventOpen), maps its ring and puts it in the
   * CPU's slot, through the reader's own fd of the array (a dup: the reader reads on after the
   * array's close() or reopen()), and returns the reader. Another reader's events in those slots
   * are replaced. All or nothing: a failure empties the slots filled so far and frees the rest.
   * Refused: a driver without perfEventOpen, mapMmap or dup (EOPNOTSUPP); options no ring can
   * have (TypeError, RangeError, before any syscall).
   */
  reader(options?: PerfReaderOptions): PerfReader {
    const op = "reader";
    const where = `${op} ${this.name()}`;
    const d = this.driver;
    const page = driverPageSize(d);
    const o = readerOptions(options, where, page);
    const fd = this.fdFor(op);
    for (const m of ["perfEventOpen", "mapMmap", "dup"] as const) {
      if (typeof d[m] !== "function") {
        throw new BpfError({ errno: Errno.EOPNOTSUPP, op, map: this.name(), path: this.path() || undefined,
          message: `${where}: driver ${JSON.stringify(d.kind)} cannot read perf event arrays (it has no ${m}, an optional Driver method)` });
      }
    }
    const slotsHere = Math.min(d.possibleCpus, this.maxEntries);
    let cpus = o.cpus;
    if (cpus !== undefined) {
      for (const c of cpus) {
        if (c >= d.possibleCpus) throw new RangeError(`${where}: CPU ${c} is not a possible CPU (there are ${d.possibleCpus})`);
        if (c >= this.maxEntries && o.index === undefined) throw new RangeError(`${where}: CPU ${c} has no slot: the array has ${this.maxEntries} (maxEntries)`);
      }
    }
    if (o.index !== undefined && o.index >= this.maxEntries) {
      throw new RangeError(`${where}: options.index ${o.index} is past the array's ${this.maxEntries} slots (maxEntries)`);
    }
    const optional = cpus === undefined;
    cpus ??= Array.from({ length: slotsHere }, (_, i) => i);
    const bpf = this.bpf;
    const slotDriver = bpf.metrics?.syscall !== undefined ? meteredDriver(d, bpf.metrics) : d;
    const commonName = extractCommonName(this.name());
    const arrayFd = d.dup!(fd);
    if (!(arrayFd >= 0 && Number.isInteger(arrayFd))) {
      if (!isNegErrno(arrayFd)) throw driverContractError(d, "dup", arrayFd, "an fd >= 0");
      throw this.opError(op, -arrayFd, "the reader's own fd of the array could not be made (dup)");
    }
    const slots: PerfReaderSlot[] = [];
    let filled = 0;
    const key = new Uint8Array(4), value = new Uint8Array(4);
    try {
      for (const cpu of cpus) {
        const ev = d.perfEventOpen!({ cpu, ...o.wake });
        if (!Number.isInteger(ev) || (ev < 0 && !isNegErrno(ev))) throw driverContractError(d, "perfEventOpen", ev, "an fd >= 0");
        if (ev === -Errno.ENODEV && optional) {
          bpf.logger.info("CPU is not online: its perf event cannot be opened, and the reader leaves its slot empty", { map: this.name(), cpu });
          continue;
        }
        // perf_event_open's EACCES for a CPU-wide event is perf_event_paranoid's, which CAP_BPF does not pass.
        if (ev < 0) {
          throw this.opError(op, -ev, `opening CPU ${cpu}'s perf event (perf_event_open)` + (ev === -Errno.EACCES
            ? ": a CPU-wide perf event needs CAP_PERFMON (or CAP_SYS_ADMIN) where kernel.perf_event_paranoid is above 0" : ""));
        }
        const m = d.mapMmap!(ev, page + o.dataSize, true, 0);
        if (!(m >= 0 && Number.isInteger(m))) {
          d.close(ev);
          if (!isNegErrno(m)) throw driverContractError(d, "mapMmap", m, "a mapping handle >= 0");
          const pages = o.dataSize / page;
          throw this.opError(op, -m, `mmap of CPU ${cpu}'s ring, its header page and ${pages} page${pages === 1 ? "" : "s"} of data, writable` +
            (m === -Errno.EPERM || m === -Errno.ENOMEM ? ": past the perf_event_mlock_kb limit without CAP_IPC_LOCK? A smaller perCpuBuffer needs less" : ""));
        }
        const index = o.index ?? cpu;
        slots.push({ cpu, index, eventFd: ev, mapping: m });
        new DataView(key.buffer).setUint32(0, index, true);
        new DataView(value.buffer).setUint32(0, ev, true);
        const r = slotDriver.mapUpdateElem(arrayFd, key, value, BPF_ANY);
        if (r !== 0 && !isNegErrno(r)) throw driverContractError(d, "mapUpdateElem", r, "0");
        if (r < 0) throw this.opError(op, -r, `putting CPU ${cpu}'s event in slot ${index}` + this.#modeRefusal(-r));
        filled++;
      }
      if (slots.length === 0) throw this.opError(op, Errno.ENODEV, "no CPU the array has a slot for is online");
    } catch (e) {
      for (const [i, s] of slots.entries()) {
        if (i < filled) {
          new DataView(key.buffer).setUint32(0, s.index, true);
          slotDriver.mapDeleteElem(arrayFd, key);
        }
        d.munmap!(s.mapping);
        d.close(s.eventFd);
      }
      d.close(arrayFd);
      bpf.metrics?.mapOp?.(commonName, op, "fail");
      throw e;
    }
    bpf.metrics?.mapOp?.(commonName, op, "success");
    return new PerfReader({ driver: d, arrayFd, slots, dataSize: o.dataSize, pageSize: page, name: this.name(), path: this.path(),
      ...(bpf.metrics !== undefined ? { metrics: bpf.metrics } : {}), commonName });
  }

  /** Why the kernel would not let the reader write a slot, where the fd's mode tells. */
  #modeRefusal(errno: number): string {
    if (errno !== Errno.EPERM || (this.fdMode & BPF_F_RDONLY) === 0) return "";
    return ": the array was opened read-only (BPF_F_RDONLY), and a reader writes its slots; open it read-write";
  }
}

/** `reader`'s options checked, the ring's size worked out: all before any syscall. */
function readerOptions(options: PerfReaderOptions | undefined, where: string, page: number):
  { dataSize: number; wake: Omit<PerfEventOpenAttr, "cpu">; cpus: number[] | undefined; index: number | undefined } {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new TypeError(`${where}: options must be { perCpuBuffer?, watermark?, wakeupEvents?, cpus? }`);
  }
  if (options !== undefined) assertOptionKeys(options, READER_KEYS, where, "options");
  const { perCpuBuffer = DEFAULT_PERF_BUFFER, watermark, wakeupEvents, cpus, index } = options ?? {};
  if (typeof perCpuBuffer !== "number" || !Number.isInteger(perCpuBuffer) || perCpuBuffer < 1 || perCpuBuffer > MAX_PERF_BUFFER) {
    throw new RangeError(`${where}: options.perCpuBuffer must be a number of bytes from 1 to 2^30, got ${describeValue(perCpuBuffer)}`);
  }
  // perf_mmap takes 2^n data pages.
  let pages = 1;
  while (pages * page < perCpuBuffer) pages *= 2;
  const dataSize = pages * page;
  if (watermark !== undefined && wakeupEvents !== undefined) {
    throw new TypeError(`${where}: give options.watermark or options.wakeupEvents, not both (one field of perf_event_attr holds either)`);
  }
  let wake: Omit<PerfEventOpenAttr, "cpu"> = {};
  if (watermark !== undefined) {
    if (typeof watermark !== "number" || !Number.isInteger(watermark) || watermark < 1 || watermark >= dataSize) {
      throw new RangeError(`${where}: options.watermark must be a number of bytes from 1 to less than the ring's ${dataSize}, got ${describeValue(watermark)}`);
    }
    wake = { wakeupWatermark: watermark };
  } else if (wakeupEvents !== undefined) {
    if (typeof wakeupEvents !== "number" || !Number.isInteger(wakeupEvents) || wakeupEvents < 1 || wakeupEvents > 0xffff_ffff) {
      throw new RangeError(`${where}: options.wakeupEvents must be a u32 of at least 1, got ${describeValue(wakeupEvents)}`);
    }
    wake = { wakeupEvents };
  }
  let list: number[] | undefined;
  if (cpus !== undefined) {
    if (!Array.isArray(cpus)) throw new TypeError(`${where}: options.cpus must be an array of CPU numbers`);
    if (cpus.length === 0) throw new RangeError(`${where}: options.cpus is empty: a reader reads at least one CPU`);
    const seen = new Set<number>();
    for (const c of cpus as unknown[]) {
      if (typeof c !== "number" || !Number.isInteger(c) || c < 0) throw new TypeError(`${where}: options.cpus holds ${String(c)}, not a CPU number`);
      if (seen.has(c)) throw new RangeError(`${where}: options.cpus holds CPU ${c} twice`);
      seen.add(c);
    }
    list = [...seen].sort((a, b) => a - b);
  }
  if (index !== undefined) {
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
      throw new TypeError(`${where}: options.index must be a slot number (a u32), got ${describeValue(index)}`);
    }
    if (list?.length !== 1) throw new TypeError(`${where}: options.index needs exactly one CPU in options.cpus: it is the slot of that CPU's event`);
  }
  return { dataSize, wake, cpus: list, index };
}
