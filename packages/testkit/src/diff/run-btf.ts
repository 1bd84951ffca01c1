// The BTF differential: random BTF blobs (arbitraries/btf-graph.ts) loaded on two drivers with
// a log, the errno, btf_log_true_size and every byte of the log buffer compared; for a blob that loads, a few maps
// created with drawn key and value type ids, their answers compared too. On a difference
// fast-check shrinks the case, and the summary carries the blob, where the drivers part, and the
// seed and path that replay it.
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import {
  BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK, BPF_F_MMAPABLE, BPF_F_WRONLY_PROG, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_PERF_EVENT_ARRAY,
  BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, type Driver, assertOptionKeys, errnoName, mapTypeName, optionKeys,
} from "@bpfkit/core";
import { type BtfGraph, btfGraphArb, btfGraphTypeSize, encodeBtfGraph, formatBtfGraph } from "../arbitraries/btf-graph.js";
import { type DriverChoice, resolvePair } from "./driver-choice.js";
import { BtfKind } from "../conformance/btf-blob.js";

/** BPF_LOG_FIXED: the log keeps its start rather than its end. */
const BPF_LOG_FIXED = 8;

/** How a case loads its blob: the log level (with BPF_LOG_FIXED or not) and the buffer's size (0: none). */
export interface BtfLogDraw {
  /** `btf_log_level`: 1 or 2, with BPF_LOG_FIXED (8) or not, now and then 0 or another of the 4 bits. */
  readonly level: number;
  /** The log buffer's bytes: 0 for none, 1 to 64 KiB. */
  readonly size: number;
  /**
   * When drawn, `size` is the log's own length plus 1 (its NUL) plus this (-1, 0 or 1): the
   * buffer one byte short, exact, or one to spare. The length is measured on the right driver
   * (the reference) by loading the blob once with a 1 MiB buffer.
   */
  readonly fit?: number;
}

/** A map created on the loaded BTF: its type, the type ids, and the sizes ("type": the size of the type named). */
export interface BtfMapDraw {
  /** A `BPF_MAP_TYPE_*` of BTF_FUZZ_MAP_TYPES. */
  readonly mapType: number;
  /** Type ids as drawn: 0 (none), the n-th type of a kind with a size (modulo their count), or an id modulo the types + 2 (one past the end too). */
  readonly key: BtfMapTypeDraw;
  /** The value's type id, drawn as the key's (mostly one of the last structs). */
  readonly value: BtfMapTypeDraw;
  /** key_size: a number, or "type" for the key type's size (0 for a keyless map). */
  readonly keySize: number | "type";
  /** value_size: a number, or "type" for the value type's size. */
  readonly valueSize: number | "type";
  /** map_flags: 0 or BPF_F_RDONLY_PROG (an LPM trie gets BPF_F_NO_PREALLOC besides). */
  readonly flags: number;
  /** 1 (an ARRAY of one element may hold a DATASEC without a key type), 4, or 0 (EINVAL before the BTF is read). */
  readonly maxEntries: number;
  /** btf_fd: the loaded BTF, a map's fd (not BTF: EINVAL), or an fd that is not open (EBADF). */
  readonly btfFd: "loaded" | "map" | "closed";
}

/**
 * A map's key or value type id as drawn: the n-th type with a size, the n-th struct from the last,
 * the n-th struct named `pair` from the last (the draws' holders of special fields), the n-th
 * DATASEC, or an id.
 */
export type BtfMapTypeDraw = { readonly sized: number } | { readonly struct: number } | { readonly pair: number } | { readonly datasec: number } | { readonly id: number };

/** One case: a blob, how it is loaded, and the maps made on it when it loads. */
export interface BtfCase {
  /** The blob's types and faults. */
  readonly graph: BtfGraph;
  /** How it is loaded. */
  readonly log: BtfLogDraw;
  /** Up to three maps made on it, when it loads. */
  readonly maps: readonly BtfMapDraw[];
}

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/**
 * The map types whose map_check_btf rules the simulator models (the BTF-only storage types are
 * not), the first ten drawn most: the others refuse BTF or special fields in their own ways.
 */
export const BTF_FUZZ_MAP_TYPES: readonly number[] = [
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER,
  BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF,
  BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS,
];
const KEYLESS = new Set([BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF]);
const RINGS = new Set([BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF]);
/** An fd number no driver has open. */
const CLOSED_FD = 1_000_000;
const MAP_IN_MAP = new Set([BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS]);

const logArb: fc.Arbitrary<BtfLogDraw> = fc.tuple(
  fc.oneof(weighted(8, fc.constantFrom(1, 2)), weighted(3, fc.constantFrom(1 | BPF_LOG_FIXED, 2 | BPF_LOG_FIXED)), weighted(1, fc.constantFrom(0, 3, 4, 8, 15, 16, 31))),
  // A size, or (fit) the log's own length give or take a byte: the edge of ENOSPC.
  fc.oneof(weighted(8, fc.constant(1 << 16)), weighted(2, fc.constantFrom(1, 2, 24, 100, 256, 1024)), weighted(1, fc.constant(0)),
    weighted(2, fc.constantFrom(-1, 0, 1).map((fit) => ({ fit })))),
).map(([level, size]): BtfLogDraw => (typeof size === "number" ? { level, size } : { level, size: 0, fit: size.fit }));

const typeDraw = (weights: { id0: number; sized: number; struct: number; pair: number; datasec: number; id: number }): fc.Arbitrary<BtfMapTypeDraw> => fc.oneof(
  weighted(weights.id0, fc.constant({ id: 0 })), weighted(weights.sized, fc.nat(40).map((sized) => ({ sized }))),
  weighted(weights.struct, fc.nat(2).map((struct) => ({ struct }))), weighted(weights.pair, fc.nat(2).map((pair) => ({ pair }))),
  weighted(weights.datasec, fc.nat(2).map((datasec) => ({ datasec }))), weighted(weights.id, fc.nat(40).map((id) => ({ id }))),
);

const anyMapArb: fc.Arbitrary<BtfMapDraw> = fc.record({
  mapType: fc.oneof(weighted(6, fc.constantFrom(...BTF_FUZZ_MAP_TYPES.slice(0, 10))), weighted(1, fc.constantFrom(...BTF_FUZZ_MAP_TYPES.slice(10)))),
  key: typeDraw({ id0: 1, sized: 10, struct: 0, pair: 0, datasec: 0, id: 1 }),
  // Values are mostly one of the last structs, or a struct the draws made to hold special fields.
  value: typeDraw({ id0: 1, sized: 5, struct: 3, pair: 4, datasec: 0, id: 1 }),
  keySize: fc.oneof(weighted(6, fc.constant("type" as const)), weighted(1, fc.constantFrom(0, 4, 8, 16))),
  valueSize: fc.oneof(weighted(6, fc.constant("type" as const)), weighted(1, fc.constantFrom(0, 4, 8, 16))),
  flags: fc.oneof(weighted(8, fc.constant(0)), weighted(1, fc.constantFrom(BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_F_NO_PREALLOC, BPF_F_MMAPABLE))),
  maxEntries: fc.oneof(weighted(12, fc.constantFrom(4, 4, 1)), weighted(1, fc.constant(0))),
  btfFd: fc.oneof(weighted(20, fc.constant("loaded" as const)), weighted(1, fc.constantFrom("map" as const, "closed" as const))),
});

/** A global-data map as libbpf makes one: keyless, of a DATASEC (one element, or not), an array or not, read-only or mmapable now and then. */
const dataMapArb: fc.Arbitrary<BtfMapDraw> = fc.record({
  mapType: fc.constantFrom(BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH),
  key: fc.constant({ id: 0 }),
  value: typeDraw({ id0: 0, sized: 1, struct: 0, pair: 0, datasec: 6, id: 0 }),
  keySize: fc.constant(4),
  valueSize: fc.constant("type" as const),
  flags: fc.constantFrom(0, 0, BPF_F_RDONLY_PROG, BPF_F_MMAPABLE),
  maxEntries: fc.constantFrom(1, 1, 4),
  btfFd: fc.constant("loaded" as const),
});

/** The cases the BTF differential draws. */
export function btfCaseArb(): fc.Arbitrary<BtfCase> {
  return fc.record({ graph: btfGraphArb(), log: logArb, maps: fc.array(fc.oneof(weighted(7, anyMapArb), weighted(1, dataMapArb)), { minLength: 1, maxLength: 3 }) });
}

/** A case as readable lines: the log draw, the types and faults, the maps. */
export function formatBtfCase(c: BtfCase): string {
  const fit = c.log.fit === undefined ? "" : ` (the log's length and its NUL${c.log.fit === 0 ? "" : c.log.fit > 0 ? ` + ${c.log.fit}` : ` - ${-c.log.fit}`})`;
  const lines = [`log level ${c.log.level}, buffer ${c.log.size} bytes${fit}`, formatBtfGraph(c.graph)];
  for (const m of c.maps) lines.push(`map ${describeMap(c, m)}`);
  return lines.filter((l) => l !== "").join("\n");
}

/** What one driver answered for a case: the load's line, then one line per map. */
export interface BtfTrace {
  /** The load's answer and log, then each map's answer: what is compared. */
  readonly lines: readonly string[];
  /** The load's errno (0: loaded). */
  readonly errno: number;
  /** Each map's errno (0: created). */
  readonly mapErrnos: readonly number[];
  /** Driver calls made. */
  readonly calls: number;
  /** Seconds the case took on the driver. */
  readonly seconds: number;
}

/** The kinds a map's key or value may be: they have a size. */
const SIZED = new Set([BtfKind.INT, BtfKind.PTR, BtfKind.ARRAY, BtfKind.STRUCT, BtfKind.UNION, BtfKind.ENUM, BtfKind.ENUM64,
  BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.FLOAT, BtfKind.DATASEC]);

function mapIds(c: BtfCase, m: BtfMapDraw) {
  const types = c.graph.types;
  const sized: number[] = [];
  const structs: number[] = [];
  const pairs: number[] = [];
  const datasecs: number[] = [];
  types.forEach((t, i) => {
    if (SIZED.has(t.kind as never)) sized.push(i + 1);
    if (t.kind === BtfKind.STRUCT) structs.unshift(i + 1);
    const name = t.words[0];
    if (t.kind === BtfKind.STRUCT && typeof name === "object" && "name" in name && name.name === "pair") pairs.unshift(i + 1);
    if (t.kind === BtfKind.DATASEC) datasecs.push(i + 1);
  });
  const among = (ids: number[], n: number) => (ids.length === 0 ? 0 : ids[n % ids.length]!);
  // Each falls back on the wider sort when the graph has none of its own.
  const id = (d: BtfMapTypeDraw) => ("id" in d ? d.id % (types.length + 2) : "sized" in d ? among(sized, d.sized)
    : "datasec" in d ? among(datasecs.length > 0 ? datasecs : sized, d.datasec)
    : "pair" in d && pairs.length > 0 ? among(pairs, d.pair) : among(structs.length > 0 ? structs : sized, "pair" in d ? d.pair : d.struct));
  // A keyless map names no key type (its own check, where it has one, wants 0): a drawn id still may.
  return { key: KEYLESS.has(m.mapType) && !("id" in m.key) ? 0 : id(m.key), value: id(m.value) };
}

function mapSizes(c: BtfCase, m: BtfMapDraw) {
  const { key, value } = mapIds(c, m);
  const size = (s: number | "type", id: number, keyless: boolean) => (s !== "type" ? s : keyless ? 0 : btfGraphTypeSize(c.graph, id) ?? 4);
  return { keySize: size(m.keySize, key, KEYLESS.has(m.mapType)), valueSize: size(m.valueSize, value, false) };
}

function describeMap(c: BtfCase, m: BtfMapDraw): string {
  const { key, value } = mapIds(c, m);
  const { keySize, valueSize } = mapSizes(c, m);
  const fd = m.btfFd === "loaded" ? "" : ` btf_fd ${m.btfFd === "map" ? "a map's" : "not open"}`;
  return `${mapTypeName(m.mapType)}[${m.maxEntries}]${fd} key type ${key} (${keySize} B) value type ${value} (${valueSize} B)${m.flags !== 0 ? ` flags ${m.flags}` : ""}`;
}

const answer = (r: number) => (r >= 0 ? "OK" : `${errnoName(-r)} (${-r})`);

/** What a log buffer holds before the load: no byte of a log's text, nor its NUL. */
const LOG_FILL = 0xa5;

/** Latin-1 text of the log buffer up to its first NUL, and what lies past it if any byte there changed. */
function logText(buf: Uint8Array): string {
  const nul = buf.indexOf(0);
  const end = nul < 0 ? buf.length : nul;
  let text = JSON.stringify(String.fromCharCode(...buf.subarray(0, Math.min(end, 1 << 16))));
  if (nul < 0) text += " (no NUL)";
  // The buffer starts filled with LOG_FILL: a byte past the NUL that is not was written there
  // (the kernel writes none; a driver that stages the buffer must hand the caller's bytes back).
  else {
    let written = 0;
    for (let i = nul + 1; i < buf.length; i++) if (buf[i] !== LOG_FILL) written++;
    if (written > 0) text += ` (+${written} bytes written past the NUL)`;
  }
  return text;
}

/**
 * The case with a `fit` log's size set: the length of the log `d` writes for the blob (loaded
 * once into 1 MiB), plus its NUL, plus `fit`. Other cases as they are.
 */
function sizeBtfLogToFit(d: Driver, c: BtfCase, blob: Uint8Array = encodeBtfGraph(c.graph)): BtfCase {
  if (c.log.fit === undefined) return c;
  if (d.btfLoad === undefined) throw new Error(`${d.kind} has no btfLoad: the BTF differential needs both drivers' BTF methods`);
  const buf = new Uint8Array(1 << 20);
  const fd = d.btfLoad({ btf: blob, logBuf: buf, logLevel: c.log.level });
  if (fd >= 0) d.close(fd);
  const nul = buf.indexOf(0);
  return { ...c, log: { ...c.log, size: Math.max(0, (nul < 0 ? buf.length : nul) + 1 + c.log.fit) } };
}

/** Loads the case's blob on `d` and makes its maps: every answer as a line. */
export function runBtfCase(d: Driver, c: BtfCase, blob: Uint8Array = encodeBtfGraph(c.graph)): BtfTrace {
  if (d.btfLoad === undefined) throw new Error(`${d.kind} has no btfLoad: the BTF differential needs both drivers' BTF methods`);
  const t0 = performance.now();
  const logBuf = c.log.size > 0 ? new Uint8Array(c.log.size).fill(LOG_FILL) : undefined;
  // btf_log_true_size, written back with or without a buffer: compared too.
  const trueSize = new Uint32Array([0xa5a5a5a5]);
  const fd = d.btfLoad({ btf: blob, ...(logBuf !== undefined ? { logBuf } : {}), logLevel: c.log.level, logTrueSize: trueSize });
  let calls = 1;
  const mapErrnos: number[] = [];
  const lines = [`load: ${answer(fd)} log_true_size ${trueSize[0]}${logBuf !== undefined ? ` log ${logText(logBuf)}` : ""}`];
  if (fd >= 0) {
    try {
      for (const m of c.maps) {
        const { key, value } = mapIds(c, m);
        const { keySize, valueSize } = mapSizes(c, m);
        // A map of maps' template, and the map whose fd is passed as BTF: a plain 4-byte ARRAY
        // (its own answer is not compared).
        const plain = () => d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
        const inner = MAP_IN_MAP.has(m.mapType) ? plain() : -1;
        const other = m.btfFd === "map" ? plain() : -1;
        const btfFd = m.btfFd === "loaded" ? fd : m.btfFd === "map" ? other : CLOSED_FD;
        const r = d.mapCreate({
          mapType: m.mapType, keySize, valueSize, maxEntries: RINGS.has(m.mapType) ? 4096 * m.maxEntries : m.maxEntries,
          mapFlags: m.flags | (m.mapType === BPF_MAP_TYPE_LPM_TRIE ? BPF_F_NO_PREALLOC : 0),
          btfFd, btfKeyTypeId: key, btfValueTypeId: value, ...(inner >= 0 ? { innerMapFd: inner } : {}),
        });
        calls += 1 + (inner >= 0 ? 1 : 0) + (other >= 0 ? 1 : 0);
        for (const f of [inner, other]) if (f >= 0) d.close(f);
        mapErrnos.push(r >= 0 ? 0 : -r);
        if (r >= 0) d.close(r);
        lines.push(`map ${describeMap(c, m)}: ${answer(r)}`);
      }
    } finally {
      d.close(fd);
    }
  }
  return { lines, errno: fd >= 0 ? 0 : -fd, mapErrnos, calls, seconds: (performance.now() - t0) / 1000 };
}

/** How far a BTF differential run has got, as `onProgress` is told after each case. */
export interface BtfDifferentialProgress {
  /** Cases run so far, shrink attempts included. */
  readonly run: number;
  /** Cases asked for. */
  readonly runs: number;
  /** True once a difference was found and fast-check is making it smaller. */
  readonly shrinking: boolean;
}

/** `runBtfDifferential`'s options; any other key is a TypeError. */
export interface BtfDifferentialOptions {
  /** Default "sim". */
  left?: DriverChoice;
  /** Default "kernel". */
  right?: DriverChoice;
  /** Cases to run. Default 100. */
  runs?: number;
  /** fast-check seed; the summary reports the one used. Default: random. */
  seed?: number;
  /** With `seed`, replays one counterexample path a summary printed. */
  path?: string;
  /** Called after every case (including shrink attempts). */
  onProgress?: (p: BtfDifferentialProgress) => void;
  /** Shrink a counterexample (default true); false reports the first one found, as found. */
  shrink?: boolean;
}

/** Where two drivers first answered a case differently. */
export interface BtfDivergence {
  /** "load", or "map i" (1-based). */
  readonly what: string;
  /** The left driver's line there. */
  readonly left: string;
  /** The right driver's line there. */
  readonly right: string;
}

/** A case on which the two drivers answered differently, shrunk, and how to replay it. */
export interface BtfCounterexample {
  /** The minimal case after shrinking. */
  readonly case: BtfCase;
  /** The blob as loaded, in hex. */
  readonly blob: string;
  /** Where the two drivers first answer differently. */
  readonly divergence: BtfDivergence;
  /** The seed to replay it with. */
  readonly seed: number;
  /** fast-check's counterexample path: with `seed`, it replays exactly this case. */
  readonly path: string;
  /** How many times fast-check made the case smaller. */
  readonly shrinks: number;
}

/** What `runBtfDifferential` found. */
export interface BtfDifferentialSummary {
  /** True when the drivers agreed on every case. */
  readonly ok: boolean;
  /** The left driver's name (`sim`, `kernel`, …). */
  readonly left: string;
  /** The right driver's name. */
  readonly right: string;
  /** The seed used: pass it (with a counterexample's `path`) to replay. */
  readonly seed: number;
  /** Cases run before stopping (a difference stops the run). */
  readonly runs: number;
  /** Blobs that loaded (on the left driver). */
  readonly loaded: number;
  /** Maps made on them (created or refused). */
  readonly maps: number;
  /** How the left driver answered the loads: errno name (or OK) to count. */
  readonly answers: Readonly<Record<string, number>>;
  /** How it answered the map creations, the same way. */
  readonly mapAnswers: Readonly<Record<string, number>>;
  /** Driver calls, both drivers. */
  readonly ops: number;
  /** Wall-clock seconds the whole run took. */
  readonly seconds: number;
  /** Empty when the drivers agreed; else the shrunk counterexample's. */
  readonly divergences: readonly BtfCounterexample[];
  /** The summary in words, and the counterexample if any. */
  readonly report: string;
}

/** This host's kernel BTF: a kptr to a struct named there is the kernel's type (btf_parse_kptr). */
const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

/**
 * The kernel's BTF for a simulator compared with the kernel (the draws name kernel structs for
 * kptrs, which the kernel looks up there), or why there is none; undefined with no kernel side.
 */
function kernelBtfForSim(left: DriverChoice, right: DriverChoice): { btf?: Uint8Array; note?: string } | undefined {
  if ((left === "kernel") === (right === "kernel")) return undefined;
  if (!existsSync(VMLINUX_BTF)) {
    return { note: `${VMLINUX_BTF} is absent: the simulator takes a kptr to a kernel struct (task_struct, cgroup, …) as the program's own type, as a kernel without BTF does` };
  }
  return { btf: new Uint8Array(readFileSync(VMLINUX_BTF)) };
}

const OPTION_KEYS = optionKeys<BtfDifferentialOptions>({ left: true, right: true, runs: true, seed: true, path: true, onProgress: true, shrink: true });

function firstBtfDivergence(a: BtfTrace, b: BtfTrace): BtfDivergence | undefined {
  const n = Math.max(a.lines.length, b.lines.length);
  for (let i = 0; i < n; i++) {
    const l = a.lines[i] ?? "(nothing)";
    const r = b.lines[i] ?? "(nothing)";
    if (l !== r) return { what: i === 0 ? "load" : `map ${i}`, left: l, right: r };
  }
  return undefined;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/**
 * Loads `runs` random BTF blobs on two drivers, with a log, and compares the errno and the log's
 * bytes, then the answers of maps created on each blob that loads; on a difference, shrinks to a
 * minimal case, printed in `report` with the seed and path that replay it.
 */
export async function runBtfDifferential(options: BtfDifferentialOptions = {}): Promise<BtfDifferentialSummary> {
  assertOptionKeys(options, OPTION_KEYS, "runBtfDifferential", "options");
  const kernelBtf = kernelBtfForSim(options.left ?? "sim", options.right ?? "kernel");
  const [left, right] = await resolvePair(options.left ?? "sim", options.right ?? "kernel", kernelBtf?.btf);
  const runs = options.runs ?? 100;
  const seed = options.seed ?? ((Date.now() ^ (process.pid << 16)) | 0);
  const t0 = performance.now();
  const tally = { run: 0, failed: false, loaded: 0, maps: 0, calls: 0, answers: {} as Record<string, number>, mapAnswers: {} as Record<string, number> };
  const count = (to: Record<string, number>, errno: number) => {
    const name = errno === 0 ? "OK" : errnoName(errno);
    to[name] = (to[name] ?? 0) + 1;
  };
  const property = fc.property(btfCaseArb(), (drawn) => {
    const blob = encodeBtfGraph(drawn.graph);
    // The right driver is the reference: a log sized to fit is sized to its log.
    const c = sizeBtfLogToFit(right.driver, drawn, blob);
    const a = runBtfCase(left.driver, c, blob);
    const b = runBtfCase(right.driver, c, blob);
    tally.run++;
    tally.calls += a.calls + b.calls;
    const d = firstBtfDivergence(a, b);
    if (d !== undefined) tally.failed = true;
    else if (!tally.failed) {
      count(tally.answers, a.errno);
      for (const e of a.mapErrnos) count(tally.mapAnswers, e);
      if (a.errno === 0) tally.loaded++;
      tally.maps += a.mapErrnos.length;
    }
    options.onProgress?.({ run: tally.run, runs, shrinking: tally.failed });
    return d === undefined;
  });
  const details = fc.check(property, {
    numRuns: runs, seed, ...(options.path !== undefined ? { path: options.path } : {}), endOnFailure: options.shrink === false,
  });
  const divergences: BtfCounterexample[] = [];
  if (details.failed) {
    if (details.counterexample === null) throw details.errorInstance ?? new Error("the BTF differential failed without a counterexample");
    const blob = encodeBtfGraph(details.counterexample[0].graph);
    const c = sizeBtfLogToFit(right.driver, details.counterexample[0], blob);
    const d = firstBtfDivergence(runBtfCase(left.driver, c, blob), runBtfCase(right.driver, c, blob));
    if (d === undefined) {
      throw new Error(`the minimal BTF case diverged once but not on replay (a driver is not deterministic; seed ${details.seed}, path "${details.counterexamplePath ?? ""}"):\n${formatBtfCase(c)}`);
    }
    divergences.push({ case: c, blob: hex(blob), divergence: d, seed: details.seed, path: details.counterexamplePath ?? "", shrinks: details.numShrinks });
  }
  const summary = {
    ok: divergences.length === 0, left: left.name, right: right.name, seed, runs: details.numRuns, loaded: tally.loaded, maps: tally.maps,
    answers: tally.answers, mapAnswers: tally.mapAnswers, ops: tally.calls, seconds: (performance.now() - t0) / 1000, divergences,
  };
  let report = formatBtfSummary(summary);
  if (kernelBtf?.note !== undefined) report += `\n  note: ${kernelBtf.note}`;
  if (options.path !== undefined && summary.ok) report += `\n  the case at path "${options.path}" did not reproduce: the drivers agree on it`;
  return { ...summary, report };
}

/** The summary as readable lines: the verdict, how the loads went, the counterexample. */
export function formatBtfSummary(s: Omit<BtfDifferentialSummary, "report">): string {
  const tally = (t: Readonly<Record<string, number>>) => Object.entries(t).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(", ");
  const answers = tally(s.answers);
  const maps = tally(s.mapAnswers);
  const lines = [
    `${s.left} vs ${s.right}: ${s.ok ? "agree" : "DIFFER"} on ${s.runs} BTF blobs (${s.loaded} loaded, ${s.maps} maps), ${s.ops} ops in ${s.seconds.toFixed(2)} s, seed ${s.seed}`,
  ];
  if (answers !== "") lines.push(`  loads: ${answers}`);
  if (maps !== "") lines.push(`  maps: ${maps}`);
  for (const c of s.divergences) {
    lines.push(`minimal counterexample after ${c.shrinks} shrinks (replay: seed ${c.seed}, path "${c.path}"):`);
    lines.push(formatBtfCase(c.case).replace(/^/gm, "  "));
    lines.push(`  blob ${c.blob}`);
    lines.push(`  first difference at ${c.divergence.what}`);
    const w = Math.max(s.left.length, s.right.length);
    lines.push(`    ${s.left.padEnd(w)}  ${c.divergence.left}`);
    lines.push(`    ${s.right.padEnd(w)}  ${c.divergence.right}`);
  }
  return lines.join("\n");
}
