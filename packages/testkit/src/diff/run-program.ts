// Runs one operation program on one driver and writes down everything the driver answered, as
// one readable line per step: results, the bytes written into every output buffer (pre-filled
// with 0xaa, so "not written" is visible too), batch counts and tokens, whole walks, and the
// map's final contents. Two drivers agree on a program when their lines are equal.
//
// Keyless maps have no walk: a queue's or stack's final contents are drained by pops, a bloom
// filter's are queried value by value. A bloom filter without BPF_F_ZERO_SEED hashes with a
// random seed, so a query of a value this driver never added may answer either way: such a line
// reads "ok or ENOENT" whichever of the two it got (any other answer is printed as it is).
import {
  BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PROG_ARRAY, DUMMY_PROG_INSNS, type Driver, Errno,
  MAP_INFO_SIZE, type MapCreateAttr, PROG_INFO_SIZE, ProgType, assertOptionKeys, batchTokenSize, decodeMapInfo,
  decodeProgInfo, errnoName, isHashMapType, MMAP_ATOMIC_OPS, optionKeys, userValueSize,
} from "@bpfkit/core";
import { type InnerVariant, innerVariant } from "../arbitraries/wide-spec.js";
import { valueFromSeed } from "../arbitraries/keys.js";
import { specBtfBlob } from "../arbitraries/btf-spec.js";
import { brief, bytesEqual, hex, putU32le, u32le } from "../model/bytes.js";
import { NotModelledError } from "../model/create-check.js";
import { type MapSpec, isKeylessMapType, isMapInMapType } from "../arbitraries/map-spec.js";
import { type Op, type Program, isOrderFree } from "../arbitraries/program.js";
import { BPF_MAP_TYPE_RINGBUF, isRingOp, type RingOp } from "../arbitraries/ring-ops.js";
import { BPF_MAP_TYPE_USER_RINGBUF, isUserRingOp, type UserRingOp } from "../arbitraries/user-ring-ops.js";
import { BPF_MAP_TYPE_PERF_EVENT_ARRAY, isPerfOp, type PerfOp } from "../arbitraries/perf-ops.js";
import { ringbufProducerFor } from "../ringbuf/producer.js";
import { userRingDrainKind } from "../ringbuf/user-ring-drain-program.js";
import { perfProducerFor } from "../perf/producer.js";
import { ringRunner } from "./run-ring.js";
import { userRingRunner } from "./run-user-ring.js";
import { perfRunner } from "./run-perf.js";
import { type ProgramLookup, programLookupFor } from "./program-lookup.js";
import { releaseAll } from "../release-all.js";
import type { SideRunner } from "./side-runner.js";

/** What one driver answered to a program, line by line, with its call count and time. */
export interface ProgramTrace {
  /**
   * One line per step: `create`, `info`, each op, then `final`. A poll's line reads `(pending)`
   * until `settled` resolves.
   */
  readonly lines: string[];
  /**
   * For a program with polls (user rings, perf events): resolves once their lines hold their
   * answers (each taken when its op ran; mapPoll hands it back as a promise).
   */
  readonly settled?: Promise<void>;
  /** Driver calls made. */
  readonly calls: number;
  /** Seconds spent inside the driver. */
  readonly seconds: number;
}

const FILL = 0xaa;
/** An fd no test opens: a value naming it must get EBADF. */
const CLOSED_FD = 0x7ffffff0;
const filled = (n: number) => new Uint8Array(n).fill(FILL);
const NO_KEY = new Uint8Array(0);
/** What a query of a never-added value prints under a random bloom seed, for either answer. */
const BLOOM_EITHER = "ok or ENOENT (never added, random seed: either is right)";
/** How many numbered values a bloom filter's final line queries besides the program's own. */
const BLOOM_PROBES = 32;
const res = (r: number) => (r >= 0 ? "ok" : errnoName(-r));
/** The most of a mapping an `mmap` line reads back (a wide spec's values may be megabytes). */
const MMAP_READ_CAP = 1 << 16;

/**
 * An mmapAtomic on the word at `at` (a value's start, so aligned) after an mmap op's write: its
 * op and operand from the value's bytes (the draws are the mmap op's own, so a seed draws the
 * programs it drew before), a u64 where the value has 8 bytes, else a u32; compareExchange
 * expects the operand itself or one more, as value[1] says. Read-only mappings and words past a
 * short mapping are answered too (EACCES, RangeError). "" for a value under 4 bytes.
 */
function mmapAtomicStep(driver: Driver, h: number, at: number, value: Uint8Array, timed: <T>(f: () => T) => T): string {
  if (value.length < 4) return "";
  if (typeof driver.mmapAtomic !== "function") return ", atomic: no mmapAtomic";
  const size = value.length >= 8 ? 8 : 4;
  const op = MMAP_ATOMIC_OPS[value[0]! % MMAP_ATOMIC_OPS.length]!;
  const dv = new DataView(value.buffer, value.byteOffset, size);
  const operand = size === 8 ? dv.getBigUint64(0, true) : BigInt(dv.getUint32(0, true));
  const expected = value[1]! % 2 === 0 ? operand : BigInt.asUintN(8 * size, operand + 1n);
  try {
    const r = timed(() => driver.mmapAtomic!(h, at, size, op, op === "load" ? undefined : operand, op === "compareExchange" ? expected : undefined));
    return `, atomic ${op} u${8 * size} ${typeof r === "bigint" ? `was ${r.toString(16)}` : res(r)}`;
  } catch (e) {
    return `, atomic ${op} u${8 * size} throws ${(e as Error).name}`;
  }
}

/** Options of `runProgram`: where wide programs may pin. */
export interface RunProgramOptions {
  /**
   * A bpffs directory for the `pin` and `objGet` ops of wide programs, which pin at a path of
   * their own below it and unlink it at the end. Without one those ops answer `no bpffs`.
   */
  bpffs?: string;
}

let pinSerial = 0;

/**
 * Runs `program` on `driver` (creating its map, closing it at the end) and returns one line per
 * step. NotModelledError from the model propagates; any other throw becomes a `throws` line.
 */
export function runProgram(driver: Driver, program: Program, options: RunProgramOptions = {}): ProgramTrace {
  assertOptionKeys(options, RUN_PROGRAM_OPTIONS_KEYS, "runProgram", "options");
  const { spec } = program;
  const keySize = spec.keySize;
  const valueSize = userValueSize(spec.mapType, spec.valueSize, driver.possibleCpus);
  const tokenSize = batchTokenSize(spec.mapType, keySize);
  const lines: string[] = [];
  let calls = 0;
  let ns = 0n;
  const timed = <T>(f: () => T): T => {
    calls++;
    const t0 = process.hrtime.bigint();
    try {
      return f();
    } finally {
      ns += process.hrtime.bigint() - t0;
    }
  };

  // A ring's ops need its mapping and a producer: a driver without them does not run ring programs.
  const isRing = spec.mapType === BPF_MAP_TYPE_RINGBUF;
  if (isRing && (typeof driver.mapMmap !== "function" || ringbufProducerFor(driver) === undefined)) {
    throw new NotModelledError(`ring buffers on ${driver.kind}, which has no mmap or no ring buffer producer`);
  }
  if (spec.mapType === BPF_MAP_TYPE_USER_RINGBUF && (typeof driver.mapMmap !== "function" || userRingDrainKind(driver) === undefined)) {
    throw new NotModelledError(`user ring buffers on ${driver.kind}, which has no mmap or cannot drain one`);
  }
  if (spec.mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY && (typeof driver.mapMmap !== "function" || typeof driver.perfEventOpen !== "function" || perfProducerFor(driver) === undefined)) {
    throw new NotModelledError(`perf event arrays on ${driver.kind}, which has no mmap, perf events or perf producer`);
  }
  if (spec.btf !== undefined && typeof driver.btfLoad !== "function") throw new NotModelledError(`BTF on ${driver.kind}, which has no btfLoad`);
  const extraFds: number[] = [];
  const inner = spec.inner !== undefined && isMapInMapType(spec.mapType) ? makeInnerMaps(driver, spec.inner, spec.innerVariants ?? [], timed)
    : spec.mapType === BPF_MAP_TYPE_PROG_ARRAY ? makePrograms(driver, timed) : undefined;
  if (inner !== undefined) extraFds.push(...[inner.template, ...inner.fds].filter((f) => f !== CLOSED_FD));
  // A value with special fields: each driver loads the same BTF; a refused load leaves the map without it.
  let btfAttr: Pick<MapCreateAttr, "btfFd" | "btfKeyTypeId" | "btfValueTypeId"> = {};
  let btfNote = "";
  if (spec.btf !== undefined) {
    const b = specBtfBlob(spec);
    const loaded = timed(() => driver.btfLoad!({ btf: b.blob }));
    if (loaded >= 0) {
      extraFds.push(loaded);
      btfAttr = { btfFd: loaded, btfKeyTypeId: b.keyTypeId, btfValueTypeId: b.valueTypeId };
    } else {
      btfNote = ` (btf load ${res(loaded)}: created without it)`;
    }
  }
  const attr = (): MapCreateAttr => {
    const { inner: _i, innerVariants: _v, btf: _b, ...a } = spec;
    return inner === undefined || spec.mapType === BPF_MAP_TYPE_PROG_ARRAY ? { ...a, ...btfAttr } : { ...a, ...btfAttr, innerMapFd: inner.template };
  };
  const created = timed(() => driver.mapCreate(attr()));
  lines.push(`create ${res(created)}${inner?.refused?.length ? ` (refused: ${inner.refused.join(", ")})` : ""}${btfNote}`);
  if (created < 0) {
    for (const f of extraFds) timed(() => driver.close(f));
    return { lines, calls, seconds: Number(ns) / 1e9 };
  }
  /** mmap handles kept to the end, unmapped before the fds are closed. */
  const mappings: number[] = [];
  let pinPath: string | undefined;
  let pinned = false;
  let ring: SideRunner<RingOp> | undefined, userRing: SideRunner<UserRingOp> | undefined, perf: SideRunner<PerfOp> | undefined;
  /**
   * Frees all the program made: its side runner, mappings, pin and fds, in that order. A step
   * that throws (a broken driver's) does not keep the later ones from freeing theirs; the first
   * error is thrown after them.
   */
  const release = () => releaseAll([
    () => (ring ?? userRing ?? perf)?.close(),
    ...mappings.map((h) => () => timed(() => driver.munmap!(h))),
    () => pinned && pinPath !== undefined && driver.host.unlink(pinPath),
    ...[created, ...extraFds].map((f) => () => timed(() => driver.close(f))),
  ]);
  /** The fd ops go through: the created one, or the last `reopen`'s. */
  let fd = created;
  // Map-in-map and PROG_ARRAY values: a program's value picks an inner map or program (or a
  // closed fd), given as its fd; ids read back print as its number, as ids differ by driver.
  const toDriver = (v: Uint8Array): Uint8Array => {
    if (inner === undefined) return v;
    const out = new Uint8Array(4);
    putU32le(out, 0, inner.fds[v[0]! % (inner.fds.length + 1)] ?? CLOSED_FD);
    return out;
  };
  const show = (v: Uint8Array): string => {
    if (inner === undefined || v.length !== 4) return brief(v);
    const i = inner.ids.indexOf(u32le(v));
    return i >= 0 ? `${inner.name}${i}` : hex(v);
  };
  // What the map says of itself (the id aside, which differs between drivers): the effective
  // max_entries, the flags less the fd's RDONLY/WRONLY, the name, and map_extra where it is set.
  const infoBytes = new Uint8Array(MAP_INFO_SIZE);
  const ir = timed(() => driver.objGetInfoByFd(created, infoBytes));
  const info = decodeMapInfo(infoBytes);
  lines.push(ir < 0 ? `info ${res(ir)}` : `info ${ir} bytes: type ${info.type} key ${info.keySize} value ${info.valueSize} max ${info.maxEntries} flags 0x${info.mapFlags.toString(16)} name ${JSON.stringify(info.name)}${info.mapExtra !== 0n ? ` map_extra ${info.mapExtra}` : ""}${info.btfValueTypeId !== 0 ? ` btf key ${info.btfKeyTypeId} value ${info.btfValueTypeId}` : ""}`);

  let cursor: Uint8Array | null = null;
  const orderFree = isOrderFree(spec);
  // Wide programs: the program's pin, and a second map made on first use.
  pinPath = options.bpffs === undefined ? undefined : `${options.bpffs}/fuzz-${process.pid}-${pinSerial++}`;
  let tokenMap: number | undefined;
  // A ring's whole mapping (and a user ring's writer), made now; whether it mapped goes on the
  // info line. A perf event array's events come from its ops. A runner that cannot set up (its
  // drain program refused, say) leaves nothing behind.
  const keep = (h: number) => mappings.push(h);
  try {
    if (isRing) ring = ringRunner(driver, created, spec.maxEntries, timed, keep);
    if (spec.mapType === BPF_MAP_TYPE_USER_RINGBUF) userRing = userRingRunner(driver, created, spec.maxEntries, timed, keep);
    if (spec.mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY) perf = perfRunner(driver, timed);
  } catch (e) {
    release();
    throw e;
  }
  const side: SideRunner<never> | undefined = ring ?? userRing ?? perf;
  if (side !== undefined && side.viewLine !== "") lines[1] += `; ${side.viewLine}`;
  /** Poll lines waiting for their answers. */
  const pending: Promise<void>[] = [];
  let otherMap: number | undefined;
  /** The program lookups' runner, made at the first (null: this driver runs none). */
  let lookupByProgram: ProgramLookup | null | undefined;
  const newFd = (r: number): number => {
    if (r >= 0) extraFds.push(r);
    return r;
  };
  const walk = (withValues: boolean, via = fd): string => {
    const seen: string[] = [];
    const next = new Uint8Array(keySize);
    const value = new Uint8Array(valueSize);
    let cur: Uint8Array | null = null;
    // A walk that loops (a driver bug) stops after every key could have been seen twice.
    for (let i = 0; i < 2 * spec.maxEntries + 4; i++) {
      const r = timed(() => driver.mapGetNextKey(via, cur, next));
      if (r < 0) return `[${(orderFree ? seen.sort() : seen).join(" ")}] ${res(r)}`;
      let item = brief(next);
      if (withValues) {
        const l = timed(() => driver.mapLookupElem(via, next, value));
        item += l === 0 ? `=${show(value)}` : `=${res(l)}`;
      }
      seen.push(item);
      cur = next.slice();
    }
    return `[${seen.join(" ")}] does not end`;
  };

  // Bloom filters: the values this driver added, and every value the program adds or queries.
  const added = new Set<string>();
  const loose = spec.mapType === BPF_MAP_TYPE_BLOOM_FILTER && (spec.mapFlags & BPF_F_ZERO_SEED) === 0;
  const queried = new Map<string, Uint8Array>();
  for (const op of program.ops) if (op.kind === "push" || op.kind === "query") queried.set(hex(op.value), op.value);
  // And values 0 to 31, mostly never added: under ZERO_SEED their false positives are the kernel's
  // hash at work, which added values (always 0) cannot show.
  if (spec.mapType === BPF_MAP_TYPE_BLOOM_FILTER && valueSize <= 1 << 16) {
    for (let n = 0; n < BLOOM_PROBES; n++) {
      const v = valueFromSeed(spec, driver.possibleCpus, n);
      queried.set(hex(v), v);
    }
  }
  const query = (value: Uint8Array, flags: number, via = fd): string => {
    const v = value.slice();
    const r = timed(() => driver.mapLookupElem(via, NO_KEY, v, flags));
    // A bloom lookup reads the value and writes nothing back.
    const wrote = bytesEqual(v, value) ? "" : ` wrote ${brief(v)}`;
    if (loose && !added.has(hex(value)) && (r === 0 || r === -Errno.ENOENT)) return `${BLOOM_EITHER}${wrote}`;
    return `${res(r)}${wrote}`;
  };
  /** A queue's or stack's contents, by pops until it is empty (or refuses), after a peek. */
  const drain = (via: number): string => {
    const v = filled(valueSize);
    const peek = timed(() => driver.mapLookupElem(via, NO_KEY, v));
    const out: string[] = [];
    for (let i = 0; i < spec.maxEntries + 2; i++) {
      const p = filled(valueSize);
      const r = timed(() => driver.mapLookupAndDeleteElem(via, NO_KEY, p));
      if (r < 0) return `peek ${res(peek)} ${show(v)}, pops [${out.join(" ")}] ${res(r)}`;
      out.push(show(p));
    }
    return `peek ${res(peek)} ${show(v)}, pops [${out.join(" ")}] do not end`;
  };

  const step = (op: Op): string | Promise<string> => {
    if (isRingOp(op)) return ring === undefined ? "not a ring" : ring.step(op, fd);
    if (isUserRingOp(op)) return userRing === undefined ? "not a user ring" : userRing.step(op, fd);
    if (isPerfOp(op)) return perf === undefined ? "not a perf event array" : perf.step(op, fd);
    switch (op.kind) {
      case "update": return res(timed(() => driver.mapUpdateElem(fd, op.key, toDriver(op.value), op.flags)));
      case "lookup": {
        const v = filled(valueSize);
        const r = timed(() => driver.mapLookupElem(fd, op.key, v, op.flags));
        return `${res(r)} ${show(v)}`;
      }
      case "delete": return res(timed(() => driver.mapDeleteElem(fd, op.key)));
      case "nextKey": {
        const out = filled(keySize);
        const r = timed(() => driver.mapGetNextKey(fd, op.key, out));
        // Which key comes first depends on the seed: only whether one does compares.
        return orderFree ? res(r) : `${res(r)} ${hex(out)}`;
      }
      case "lookupAndDelete": {
        const v = filled(valueSize);
        const r = timed(() => driver.mapLookupAndDeleteElem(fd, op.key, v, op.flags));
        return `${res(r)} ${show(v)}`;
      }
      case "lookupBatch": {
        const n = op.count;
        const keys = filled(Math.max(1, n) * keySize);
        const values = filled(Math.max(1, n) * valueSize);
        const out = filled(tokenSize);
        const inBatch = op.restart ? null : cursor;
        const r = timed(() => op.del
          ? driver.mapLookupAndDeleteBatch(fd, inBatch, out, keys, values, n, op.elemFlags)
          : driver.mapLookupBatch(fd, inBatch, out, keys, values, n, op.elemFlags));
        // The kernel hands back only `count` elements; bytes past them are not its answer.
        const got = Math.min(r.count, n);
        const elems: string[] = [];
        for (let i = 0; i < got; i++) {
          elems.push(`${brief(keys.subarray(i * keySize, (i + 1) * keySize))}=${show(values.subarray(i * valueSize, (i + 1) * valueSize))}`);
        }
        cursor = r.errno === 0 || r.errno === Errno.ENOSPC ? out.slice() : null;
        return `${r.errno === 0 ? "ok" : errnoName(r.errno)} count ${r.count} [${elems.join(" ")}] token ${hex(out)}`;
      }
      case "updateBatch": {
        const n = op.keys.length;
        const keys = new Uint8Array(n * keySize);
        const values = new Uint8Array(n * valueSize);
        op.keys.forEach((k, i) => keys.set(k, i * keySize));
        op.values.forEach((v, i) => values.set(toDriver(v), i * valueSize));
        const r = timed(() => driver.mapUpdateBatch(fd, keys, values, n, op.elemFlags));
        return `${r.errno === 0 ? "ok" : errnoName(r.errno)} count ${r.count}`;
      }
      case "deleteBatch": {
        const n = op.keys.length;
        const keys = new Uint8Array(n * keySize);
        op.keys.forEach((k, i) => keys.set(k, i * keySize));
        const r = timed(() => driver.mapDeleteBatch(fd, keys, n));
        return `${r.errno === 0 ? "ok" : errnoName(r.errno)} count ${r.count}`;
      }
      case "walk": return walk(false);
      case "progLookup": {
        lookupByProgram ??= programLookupFor(driver) ?? null;
        if (lookupByProgram === null) throw new NotModelledError(`program lookups on ${driver.kind}, which runs no programs`);
        return lookupByProgram(fd, op.key, spec.valueSize);
      }
      case "push": {
        const r = timed(() => driver.mapUpdateElem(fd, NO_KEY, op.value, op.flags));
        if (r === 0) added.add(hex(op.value));
        return res(r);
      }
      case "peek": {
        const v = filled(valueSize);
        const r = timed(() => driver.mapLookupElem(fd, NO_KEY, v, op.flags));
        return `${res(r)} ${show(v)}`;
      }
      case "pop": {
        const v = filled(valueSize);
        const r = timed(() => driver.mapLookupAndDeleteElem(fd, NO_KEY, v));
        return `${res(r)} ${show(v)}`;
      }
      case "query": return query(op.value, op.flags);
      case "freeze": return res(timed(() => driver.mapFreeze(fd)));
      case "reopen": {
        const r = timed(() => driver.mapGetFdById(info.id, op.openFlags));
        if (r >= 0) {
          extraFds.push(r);
          fd = r;
        }
        return res(r);
      }
      case "pin": {
        if (pinPath === undefined) return "no bpffs";
        const r = timed(() => driver.objPin(fd, pinPath));
        if (r === 0) pinned = true;
        return res(r);
      }
      case "objGet": {
        if (pinPath === undefined) return "no bpffs";
        const r = newFd(timed(() => driver.objGet(pinPath, op.fileFlags)));
        if (r >= 0) fd = r;
        return res(r);
      }
      case "freezeOther": {
        const rw = newFd(timed(() => driver.mapGetFdById(info.id, 0)));
        return rw < 0 ? `open ${res(rw)}` : res(timed(() => driver.mapFreeze(rw)));
      }
      case "foreignToken": {
        tokenMap ??= makeTokenMap(driver, spec, timed, newFd);
        const m = tokenMap;
        const keys = new Uint8Array(op.count * 4);
        const out = filled(4);
        const r = timed(() => driver.mapLookupBatch(m, null, out, keys, new Uint8Array(op.count * 4), op.count));
        // Its token, in this map's token size: the bytes it wrote, then zeros.
        cursor = new Uint8Array(tokenSize);
        cursor.set(out.subarray(0, Math.min(4, tokenSize)));
        return `${r.errno === 0 ? "ok" : errnoName(r.errno)} count ${r.count} token ${hex(out)}`;
      }
      case "fdValue": {
        let v = created;
        if (op.which === "other") {
          otherMap ??= newFd(timed(() => driver.mapCreate(attr())));
          v = otherMap;
        }
        const bytes = new Uint8Array(4);
        putU32le(bytes, 0, v < 0 ? CLOSED_FD : v);
        return res(timed(() => driver.mapUpdateElem(fd, op.key, bytes, 0)));
      }
      case "otherUpdate": {
        otherMap ??= newFd(timed(() => driver.mapCreate(attr())));
        const m = otherMap;
        if (m < 0) return `create ${res(m)}`;
        const r = timed(() => driver.mapUpdateElem(m, op.key, toDriver(op.value), 0));
        const v = filled(valueSize);
        const l = timed(() => driver.mapLookupElem(m, op.key, v));
        return `${res(r)}, lookup ${res(l)} ${show(v)}`;
      }
      case "mmap": {
        // The model keeps no memory to map: such a program is one it does not cover.
        if (typeof driver.mapMmap !== "function") throw new NotModelledError("mmap");
        const h = timed(() => driver.mapMmap!(fd, op.length, op.writable, op.offset));
        if (h < 0) return `mmap ${res(h)}`;
        mappings.push(h);
        let line = "mmap ok";
        if (op.writable && op.at + op.value.length <= op.length) {
          line += `, write ${res(timed(() => driver.mmapWrite!(h, op.at, op.value)))}`;
        }
        line += mmapAtomicStep(driver, h, op.at, op.value, timed);
        const seen = filled(Math.min(op.length, MMAP_READ_CAP));
        line += `, read ${res(timed(() => driver.mmapRead!(h, 0, seen)))} ${brief(seen)}`;
        if (!op.keep) {
          mappings.pop();
          line += `, munmap ${res(timed(() => driver.munmap!(h)))}`;
        }
        return line;
      }
    }
  };

  try {
    for (const op of program.ops) {
      try {
        const line = step(op);
        if (typeof line === "string") {
          lines.push(line);
        } else {
          const at = lines.push("(pending)") - 1;
          pending.push(line.then((l) => { lines[at] = l; }, (e: Error) => { lines[at] = `throws ${e.name}`; }));
        }
      } catch (e) {
        if (e instanceof NotModelledError) throw e;
        // A driver that throws where the other answers is a difference, not a crash.
        lines.push(`throws ${(e as Error).name}`);
      }
    }
    try {
      // Through a read-write fd of its own, so a write-only fd or a reopen does not hide the contents.
      const reader = timed(() => driver.mapGetFdById(info.id, 0));
      if (reader < 0) {
        lines.push(`final ${res(reader)}`);
      } else {
        extraFds.push(reader);
        let final = walk(true, reader);
        if (isKeylessMapType(spec.mapType)) {
          final += spec.mapType === BPF_MAP_TYPE_BLOOM_FILTER
            ? `; queries [${[...queried].map(([h, v]) => `${h}=${query(v, 0, reader)}`).join(" ")}]`
            : `; ${drain(reader)}`;
        }
        if (side !== undefined) final += `; ${side.final()}`;
        lines.push(`final ${final}`);
      }
    } catch (e) {
      if (e instanceof NotModelledError) throw e;
      lines.push(`final throws ${(e as Error).name}`);
    }
  } finally {
    release();
  }
  return { lines, calls, seconds: Number(ns) / 1e9, ...(pending.length > 0 ? { settled: Promise.all(pending).then(() => undefined) } : {}) };
}

const RUN_PROGRAM_OPTIONS_KEYS = optionKeys<RunProgramOptions>({ bpffs: true });

/**
 * The map whose batch token a `foreignToken` op borrows: a ZERO_SEED HASH of 64 for hash-family
 * programs (a bucket index, up to 64), an ARRAY of 64 for the others (an index), 24 entries each.
 */
function makeTokenMap(driver: Driver, spec: MapSpec, timed: <T>(f: () => T) => T, keep: (fd: number) => number): number {
  const hash = isHashMapType(spec.mapType);
  const m = keep(timed(() => driver.mapCreate({ mapType: hash ? BPF_MAP_TYPE_HASH : BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 64, mapFlags: hash ? BPF_F_ZERO_SEED : 0 })));
  if (m < 0) throw new Error(`creating the map of foreign batch tokens failed with errno ${-m}`);
  const k = new Uint8Array(4);
  for (let i = 0; i < 24; i++) {
    putU32le(k, 0, i * 7);
    timed(() => driver.mapUpdateElem(m, k, k, 0));
  }
  return m;
}

/**
 * The inner maps of a map-in-map program: the template, two maps like it, and one that is not
 * (its value size differs), so updates meet both the compatible and the incompatible case.
 */
interface FdValues {
  /** The template map (maps of maps) or a plain map whose fd is no program (PROG_ARRAY). */
  template: number;
  /** What a value may name, by number. */
  fds: number[];
  ids: number[];
  name: "inner" | "prog";
  /** Inner maps the driver refused to create, as `inner3 EINVAL`. */
  refused?: string[];
}

function makeInnerMaps(driver: Driver, template: MapSpec, variants: readonly InnerVariant[], timed: <T>(f: () => T) => T): FdValues {
  return opening(driver, timed, (open) => {
    // A wide template or candidate may itself be refused: it then stands as a closed fd, and the
    // create line says which were refused and how (both drivers must refuse the same ones).
    const refused: string[] = [];
    const tryOpen = (what: string, a: MapSpec): number => {
      const r = timed(() => driver.mapCreate(a));
      if (r >= 0) return open(() => r, what);
      refused.push(`${what} ${errnoName(-r)}`);
      return CLOSED_FD;
    };
    const t = tryOpen("template", template);
    const fds = [tryOpen("inner0", template), tryOpen("inner1", template), tryOpen("inner2", { ...template, valueSize: template.valueSize + 4 }),
      ...variants.map((v, i) => tryOpen(`inner${i + 3}`, innerVariant(template, v)))];
    const info = new Uint8Array(MAP_INFO_SIZE);
    const ids = fds.map((f) => {
      if (f === CLOSED_FD) return -1;
      timed(() => driver.objGetInfoByFd(f, info));
      return decodeMapInfo(info).id;
    });
    return { template: t, fds, ids, name: "inner", refused };
  });
}

/**
 * PROG_ARRAY values: two loaded socket filters, and a map fd (not a program: EINVAL). Program ids
 * come from OBJ_GET_INFO_BY_FD like maps'.
 */
function makePrograms(driver: Driver, timed: <T>(f: () => T) => T): FdValues {
  return opening(driver, timed, (open) => {
    const load = () => open(() => driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license: "GPL" }), "a socket filter");
    const notAProgram = open(() => driver.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }), "a plain map");
    const progs = [load(), load()];
    const info = new Uint8Array(PROG_INFO_SIZE);
    const ids = progs.map((f) => {
      timed(() => driver.objGetInfoByFd(f, info));
      return decodeProgInfo(info).id;
    });
    return { template: notAProgram, fds: [...progs, notAProgram], ids, name: "prog" };
  });
}

/** Runs `make` with an `open` that remembers fds, closing them all if anything fails. */
function opening<T>(driver: Driver, timed: <R>(f: () => R) => R,
  make: (open: (call: () => number, what: string) => number) => T): T {
  const opened: number[] = [];
  try {
    return make((call, what) => {
      const fd = timed(call);
      if (fd < 0) throw new Error(`creating ${what} failed with errno ${-fd}`);
      opened.push(fd);
      return fd;
    });
  } catch (e) {
    for (const fd of opened) driver.close(fd);
    throw e;
  }
}
