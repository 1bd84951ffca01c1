// What a case works with: the driver, and helpers that create maps, walk them and clean up.
// Every fd a case opens through the context is closed after it, pass or fail, and every
// private bpffs it mounts is unmounted with whatever the case mounted below it, so cases never
// leak into each other or onto the host.
import {
  decodeMapInfo, driverPageSize, Errno, errnoOf, MAP_INFO_SIZE, userValueSize, type BpfMapInfo, type Driver, type MapCreateAttr,
} from "@bpfkit/core";
import { mountPrivateBpffs, mountsBelow, unmountBelow } from "../bpffs.js";
import { ringbufProducerFor, type RingbufProducer } from "../ringbuf/producer.js";
import { userRingDrainerFor, type KernelUserRingDrainer } from "../ringbuf/user-ring-drain-program.js";
import type { UserRingDrain } from "../ringbuf/user-ring-writer.js";
import { perfProducerFor, type PerfProducer } from "../perf/producer.js";
import { CaseSkipped, fail, show } from "./assert.js";
import { hex } from "./models/htab.js";
import type { ConformanceOptions } from "./types.js";

/** r0 = 0; exit — the 2-instruction socket filter of kernel-maps.md §2. */
export const SOCKET_FILTER_INSNS: Uint8Array = new Uint8Array([
  0xb7, 0, 0, 0, 0, 0, 0, 0,
  0x95, 0, 0, 0, 0, 0, 0, 0,
]);

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

export function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

export function readU32(b: Uint8Array, off = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

export function readU64(b: Uint8Array, off = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}

/** The byte pattern `start, start+1, …` of `n` bytes (mod 256). */
export function pattern(n: number, start: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

/**
 * What a conformance case works with: the driver, helpers that create, walk and check maps, and the cleanup of
 * every fd and mount it made.
 */
export class CaseContext {
  /** The driver's possible CPUs, which per-CPU values are sized by. */
  readonly cpus: number;
  /**
   * The driver's page size (`driverPageSize`: 4096 unless it says otherwise), which a ring
   * buffer's layout, an mmapable array's region, mmap offsets and other page-sized limits go by.
   */
  readonly page: number;
  private readonly fds = new Set<number>();
  /** Mapping handles from mmap(), unmapped after the case before its fds are closed. */
  private readonly mappings = new Set<number>();
  private mount: { path: string; dispose(): void } | undefined;
  /** The case's ring buffer producer, once asked for; closed after the case. */
  private producer: RingbufProducer | undefined;
  /** The case's USER_RINGBUF drain, once asked for; closed after the case. */
  private drainer: KernelUserRingDrainer | undefined;
  /** The case's perf producer, once asked for; closed after the case. */
  private perfProducer: PerfProducer | undefined;
  /** The case's bpffs, once asked for. */
  private fs: string | undefined;
  private mountsBefore = new Set<number>();
  private pins: string[] = [];
  private mountDirs: string[] = [];

  /** Makes the context of one case over `driver`, with the suite's options. */
  constructor(readonly driver: Driver, readonly options: ConformanceOptions) {
    this.cpus = driver.possibleCpus;
    this.page = driverPageSize(driver);
  }

  /** Bytes of a user-space value for this map type (§6). */
  valueBytes(mapType: number, valueSize: number): number {
    return userValueSize(mapType, valueSize, this.cpus);
  }

  /** Creates a map that must be accepted. */
  create(attr: MapCreateAttr, what = "create"): number {
    const fd = this.driver.mapCreate(attr);
    if (typeof fd !== "number" || fd < 0) fail(`${what}: map create ${JSON.stringify(attr)} failed with ${show(fd)}`);
    this.fds.add(fd);
    return fd;
  }

  /** MAP_CREATE's raw result; an fd it returns is closed after the case. */
  tryCreate(attr: MapCreateAttr): number {
    const fd = this.driver.mapCreate(attr);
    if (fd >= 0) this.fds.add(fd);
    return fd;
  }

  /** Takes ownership of an fd the driver returned (objGet, mapGetFdById, …) if it is one. */
  own(r: number): number {
    if (r >= 0) this.fds.add(r);
    return r;
  }

  /**
   * The driver's mapMmap, raw (a handle or -errno); a mapping it returns is unmapped after the
   * case. A driver without the optional mmap methods skips the case, saying so.
   */
  mmap(fd: number, length: number, writable: boolean, offset?: number): number {
    const d = this.driver;
    if (typeof d.mapMmap !== "function") {
      throw new CaseSkipped(`${d.kind} has no mapMmap (optional: a driver written before the mmap methods cannot map BPF_F_MMAPABLE arrays)`);
    }
    const h = offset === undefined ? d.mapMmap(fd, length, writable) : d.mapMmap(fd, length, writable, offset);
    if (typeof h === "number" && h >= 0) this.mappings.add(h);
    return h;
  }

  /**
   * Something that writes records into a RINGBUF as a program would (`ringbufProducerFor`: the
   * kernel's test-run programs, the simulator's datapath), closed after the case. A driver with
   * none skips the case, saying so.
   */
  ringbuf(): RingbufProducer {
    if (this.producer === undefined) {
      const p = ringbufProducerFor(this.driver);
      if (p === undefined) {
        throw new CaseSkipped(`${this.driver.kind} has no ring buffer producer (ringbufProducerFor gives one for a driver with progTestRun, or the simulator)`);
      }
      this.producer = p;
    }
    return this.producer;
  }

  /**
   * A program's bpf_user_ringbuf_drain on a USER_RINGBUF (`userRingDrainerFor`: the kernel's
   * test-run program, the simulator's datapath), freed after the case. A driver with none skips
   * the case, saying so.
   */
  userRingDrain(): UserRingDrain {
    if (this.drainer === undefined) {
      const dr = userRingDrainerFor(this.driver);
      if (dr === undefined) {
        throw new CaseSkipped(`${this.driver.kind} has no USER_RINGBUF drain (userRingDrainerFor gives one for a driver with progTestRun and btfLoad, or the simulator)`);
      }
      this.drainer = dr;
    }
    return this.drainer.drain;
  }

  /**
   * perf_event_open of a BPF output event on `cpu` (Driver.perfEventOpen), raw: an fd, closed
   * after the case, or -errno. A driver without the optional method skips the case, saying so.
   */
  perfEvent(cpu: number, attr: { wakeupEvents?: number; wakeupWatermark?: number } = {}): number {
    const d = this.driver;
    if (typeof d.perfEventOpen !== "function") throw new CaseSkipped(`${d.kind} has no perfEventOpen (optional: it cannot open the events a PERF_EVENT_ARRAY holds)`);
    return this.own(d.perfEventOpen({ cpu, ...attr }));
  }

  /**
   * Something that calls bpf_perf_event_output as a program on a given CPU would
   * (`perfProducerFor`: the kernel's test-run programs, the simulator's datapath), closed after
   * the case. A driver with none skips the case, saying so.
   */
  perf(): PerfProducer {
    if (this.perfProducer === undefined) {
      const p = perfProducerFor(this.driver);
      if (p === undefined) {
        throw new CaseSkipped(`${this.driver.kind} has no perf producer (perfProducerFor gives one for a driver with progTestRun, or the simulator)`);
      }
      this.perfProducer = p;
    }
    return this.perfProducer;
  }

  /** munmap of a mapping the case made, failing the case when it does not succeed. */
  munmap(h: number): void {
    this.mappings.delete(h);
    const r = this.driver.munmap!(h);
    if (r < 0) fail(`munmap(${h}) failed with ${show(r)}`);
  }

  /** Closes an fd the case opened, failing the case when close does not succeed. */
  close(fd: number): void {
    this.fds.delete(fd);
    const r = this.driver.close(fd);
    if (r < 0) fail(`close(${fd}) failed with ${show(r)}`);
  }

  /**
   * An fd number that is not open: far above any process's fd table (nr_open is 2^20), so a
   * later open cannot reuse it, as it would reuse a just-closed one.
   */
  closedFd(): number {
    return 0x3fff_fff0;
  }

  /** Loads the minimal socket filter; its fd is closed after the case. */
  prog(name = ""): number {
    const fd = this.driver.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL", progName: name });
    if (fd < 0) fail(`PROG_LOAD of the 2-instruction socket filter failed with ${show(fd)}`);
    this.fds.add(fd);
    return fd;
  }

  /** The map's `bpf_map_info`, failing the case when OBJ_GET_INFO_BY_FD does not succeed. */
  info(fd: number): BpfMapInfo {
    const buf = new Uint8Array(MAP_INFO_SIZE);
    const r = this.driver.objGetInfoByFd(fd, buf);
    if (r < 0) fail(`OBJ_GET_INFO_BY_FD(${fd}) failed with ${show(r)}`);
    return decodeMapInfo(buf);
  }

  /** The map's id, from its info. */
  id(fd: number): number {
    return this.info(fd).id;
  }

  /** Every key by GET_NEXT_KEY from NULL; fails on a walk longer than `limit` (a cycle). */
  walk(fd: number, keySize: number, limit = 100_000): Uint8Array[] {
    const keys: Uint8Array[] = [];
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(keySize);
      const r = this.driver.mapGetNextKey(fd, prev, next);
      if (r === -2) return keys;
      if (r < 0) fail(`GET_NEXT_KEY during a walk failed with ${show(r)} after ${keys.length} keys`);
      keys.push(next);
      if (keys.length > limit) fail(`GET_NEXT_KEY walk did not end after ${limit} keys`);
      prev = next;
    }
  }

  /** Every key of the map by GET_NEXT_KEY from NULL, in hex. */
  walkHex(fd: number, keySize: number): string[] {
    return this.walk(fd, keySize).map(hex);
  }

  /** Every key of a map with u32 keys by GET_NEXT_KEY from NULL, as numbers. */
  walkU32(fd: number): number[] {
    return this.walk(fd, 4).map((k) => readU32(k));
  }

  /** Updates that must succeed. */
  put(fd: number, key: Uint8Array, value: Uint8Array, flags = 0, what = "update"): void {
    const r = this.driver.mapUpdateElem(fd, key, value, flags);
    if (r < 0) fail(`${what}: update of key ${hex(key)} failed with ${show(r)}`);
  }

  /** A lookup that must succeed; returns the value. */
  get(fd: number, key: Uint8Array, valueBytes: number, what = "lookup"): Uint8Array {
    const v = new Uint8Array(valueBytes);
    const r = this.driver.mapLookupElem(fd, key, v);
    if (r < 0) fail(`${what}: lookup of key ${hex(key)} failed with ${show(r)}`);
    return v;
  }

  /**
   * A bpffs directory for this case (mounted on first use, unmounted after the case). What the
   * case mounts below it is unmounted after the case too, wherever a rename moved it.
   */
  bpffs(): string {
    if (this.fs === undefined) {
      const opt = this.options.bpffs;
      if (typeof opt === "string") {
        // A shared directory: what was mounted below it before the case is not the case's.
        this.mountsBefore = new Set(mountsBelow(this.driver, opt).map((m) => m.mountId));
        this.fs = opt;
      } else {
        this.mount = opt !== undefined ? opt(this.driver) : this.mountOwn();
        this.fs = this.mount.path;
      }
    }
    return this.fs;
  }

  /**
   * A private bpffs, or a skip for a driver that cannot mount (a remote one: host.mount is
   * ENOSYS, as writing-a-driver.md allows); its pins can still be checked in a given directory.
   */
  private mountOwn(): { path: string; dispose(): void } {
    try {
      return mountPrivateBpffs(this.driver);
    } catch (e) {
      if (errnoOf(e) !== Errno.ENOSYS) throw e;
      throw new CaseSkipped(`${this.driver.kind}'s host.mount answers ENOSYS, so the case cannot mount a private bpffs: pass the bpffs option (a bpffs directory the suite may pin in) to run it`);
    }
  }

  /** A fresh path on bpffs; unlinked after the case. */
  pinPath(name: string): string {
    const p = `${this.bpffs()}/${name}-${this.pins.length}`;
    this.pins.push(p);
    return p;
  }

  /**
   * An empty directory off bpffs for a case that mounts on it itself (read-only, with options,
   * another fs type). After the case whatever is mounted on or below it comes off, and it is
   * removed. Named as mountPrivateBpffs names its mounts, so sweepStaleBpffs removes one that a
   * killed run leaves.
   */
  mountDir(tag: string): string {
    const dir = `/tmp/bpfkit-test-${process.pid}-${tag}-${Date.now().toString(36)}-${this.mountDirs.length}`;
    const r = this.driver.host.mkdirAll(dir, 0o700);
    if (r < 0) fail(`mkdir ${dir} failed with ${show(r)}`);
    this.mountDirs.push(dir);
    // A driver without mounts says ENOSYS to anything; a real one refuses a made-up fs type
    // (ENODEV) without mounting.
    if (this.driver.host.mount("none", dir, "bpfkit-no-such-fs") === -Errno.ENOSYS) {
      throw new CaseSkipped(`${this.driver.kind}'s host.mount answers ENOSYS, so the case cannot mount on a directory of its own`);
    }
    return dir;
  }

  /**
   * Closes every fd the case left open, removes its pins and unmounts what it mounted; returns what went wrong
   * doing so.
   */
  cleanup(): string[] {
    const problems: string[] = [];
    for (const h of this.mappings) {
      try {
        const r = this.driver.munmap!(h);
        if (r < 0) problems.push(`munmap(${h}): ${show(r)}`);
      } catch (e) {
        problems.push(`munmap(${h}): ${(e as Error).message}`);
      }
    }
    this.mappings.clear();
    if (this.producer !== undefined) {
      try {
        this.producer.close();
      } catch (e) {
        problems.push(`ring buffer producer close: ${(e as Error).message}`);
      }
      this.producer = undefined;
    }
    if (this.drainer !== undefined) {
      try {
        this.drainer.close();
      } catch (e) {
        problems.push(`USER_RINGBUF drain close: ${(e as Error).message}`);
      }
      this.drainer = undefined;
    }
    if (this.perfProducer !== undefined) {
      try {
        this.perfProducer.close();
      } catch (e) {
        problems.push(`perf producer close: ${(e as Error).message}`);
      }
      this.perfProducer = undefined;
    }
    for (const fd of this.fds) {
      try {
        this.driver.close(fd);
      } catch (e) {
        problems.push(`close(${fd}): ${(e as Error).message}`);
      }
    }
    this.fds.clear();
    if (typeof this.options.bpffs === "string") {
      for (const p of this.pins) this.driver.host.unlink(p);
    }
    this.pins = [];
    if (this.fs !== undefined) problems.push(...unmountBelow(this.driver, this.fs, this.mountsBefore));
    this.fs = undefined;
    if (this.mount !== undefined) {
      try {
        this.mount.dispose();
      } catch (e) {
        problems.push(`unmount ${this.mount.path}: ${(e as Error).message}`);
      }
      this.mount = undefined;
    }
    for (const dir of this.mountDirs) problems.push(...unmountOnAndBelow(this.driver, dir));
    this.mountDirs = [];
    return problems;
  }
}

/**
 * Unmounts what is below `dir`, then what is on it, in rounds (a mount on `dir` may hide others
 * stacked under it), and removes `dir`. Returns a line for each thing left.
 */
function unmountOnAndBelow(driver: Driver, dir: string): string[] {
  const h = driver.host;
  const mountedOn = () => {
    const mounts = h.mountInfo();
    return typeof mounts === "number" ? false : mounts.some((m) => m.mountPoint === dir);
  };
  for (let round = 0; round < 16; round++) {
    const below = unmountBelow(driver, dir);
    if (below.length > 0) return below;
    if (!mountedOn()) break;
    const r = h.umount(dir);
    if (r < 0) return [`${dir} is still mounted (umount: ${show(r)})`];
  }
  if (mountedOn()) return [`${dir} is still mounted after 16 rounds of umount`];
  const r = h.rmdir(dir);
  return r < 0 ? [`rmdir ${dir}: ${show(r)}`] : [];
}
