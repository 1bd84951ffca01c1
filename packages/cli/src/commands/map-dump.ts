// `bpfkit map dump`: every element, through core's dump algorithms — BPF_MAP_LOOKUP_BATCH where
// the kernel has it, else Cilium's v1.7 walk — with the seed's DumpStats on request.
import {
  BPF_F_RDONLY, BatchScratch, batchDump, dumpDuration, newDumpStats, walkDump, type DumpStats, type RawSink,
} from "@bpfkit/core";
import { CliError, ExitCode, usageError } from "../cli-error.js";
import { flag, intOption, str, type Command } from "../command.js";
import type { Ctx } from "../context.js";
import { BTF_NOTE, btfSource, checkTypeOptions, decodeValue, elemTypes, entryJson, formatEntry, TYPE_OPTIONS, type ElemTypes } from "../elem-types.js";
import { fields, jsonValue, toJson } from "../format.js";
import { MAP_REF_USAGE } from "../map-ref.js";
import { OutputSpool } from "../output-spool.js";
import { nothingAfterMap, READ_ONLY_NOTE, withMap } from "./map-elem.js";

export type DumpAlgorithmChoice = "walk" | "batch" | "auto";

/** Hash family, arrays, LPM and ARRAY_OF_MAPS have LOOKUP_BATCH (kernel-maps.md §10.3). */
function mayBatch(t: number): boolean {
  return [1, 2, 5, 6, 9, 10, 11, 12, 13].includes(t);
}

/**
 * Runs one dump of an open map fd with core's algorithms and returns its stats. `sink` sees
 * views into reused buffers. `auto` takes the batch path where the map type has one.
 */
export function dumpFd(target: Parameters<typeof walkDump>[0], maxEntries: number, algorithm: DumpAlgorithmChoice, sink: RawSink, batchSize?: number): DumpStats {
  const stats = newDumpStats(maxEntries);
  stats.started = new Date();
  try {
    if (algorithm !== "walk" && (algorithm === "batch" || mayBatch(target.mapType))) {
      if (batchDump(target, sink, stats, new BatchScratch(), maxEntries, ...(batchSize !== undefined ? [batchSize] : []))) return stats;
      if (algorithm === "batch") throw new CliError(`${target.name}: the kernel has no BPF_MAP_LOOKUP_BATCH for this map type`, ExitCode.failure, "use --algorithm walk");
    }
    // Empty slots of fd arrays are passed over by the walk itself.
    walkDump(target, sink, stats, true); // a fallback key is printed once, not twice
    return stats;
  } finally {
    stats.finished = new Date();
  }
}

export function statsJson(s: DumpStats): Record<string, unknown> {
  return {
    algorithm: s.algorithm, completed: s.completed, lookup: s.lookup, lookupFailed: s.lookupFailed,
    prevKeyUnavailable: s.prevKeyUnavailable, keyFallback: s.keyFallback, interrupted: s.interrupted,
    maxEntries: s.maxEntries, batches: s.batches, delivered: s.delivered,
    started: s.started?.toISOString(), finished: s.finished?.toISOString(), durationMs: dumpDuration(s),
  };
}

export function statsText(s: DumpStats): string {
  return fields([
    ["algorithm", s.algorithm ?? "-"],
    ["completed", String(s.completed)],
    ["delivered", String(s.delivered)],
    ["lookup", `${s.lookup}${s.algorithm === "batch" ? " (elements read by batches)" : ""}`],
    ["lookupFailed", String(s.lookupFailed)],
    ["keyFallback", String(s.keyFallback)],
    ["interrupted", String(s.interrupted)],
    ["prevKeyUnavailable", String(s.prevKeyUnavailable)],
    ["maxEntries", `${s.maxEntries} (budget ${s.maxEntries * 4} lookups)`],
    ["batches", String(s.batches)],
    ["duration", `${dumpDuration(s) ?? "?"} ms`],
  ]);
}

const FLUSH_EVERY = 4096;
const PROGRESS_EVERY = 65536;

export const mapDumpCommand: Command = {
  name: "map dump",
  summary: "print every element (batch lookups where the kernel has them)",
  usage: "map dump MAP [--reliable] [--stats] [--algorithm walk|batch|auto] [--batch N] [--key-type T] [--value-type T] [--raw]",
  details: `${MAP_REF_USAGE}.\n` +
    "--reliable is Cilium's DumpReliablyWithCallback: when a key vanishes mid-walk it falls back to the last\n" +
    "confirmed key instead of restarting, within 4 × max_entries lookups (else it fails: maximum number of\n" +
    "lookups reached). It runs that v1.7 walk unless --algorithm says otherwise (the library's\n" +
    "dumpReliablyWithCallback instead batches where it can); a batch dump of a hash map delivers every key\n" +
    "present for the whole dump exactly once.\n" +
    "--stats prints the seed's DumpStats (on stderr, or under \"stats\" with --json); -q does not hide them:\n" +
    "they are what was asked for, not a note. With --json and --stats the document is {\"entries\": […], \"stats\": {…}}\n" +
    "instead of the bare array of entries.\n" +
    "Arrays of fds (PROG_ARRAY, ARRAY_OF_MAPS, …) are walked slot by slot, skipping empty slots.\n" +
    "Map-in-map and PROG_ARRAY values print as the inner map's (program's) id, `id N` ({\"id\": N} in JSON),\n" +
    "where bpftool prints the id's bytes.\n" +
    `${BTF_NOTE}\n` +
    "Output: text streams as entries are read, and ends with a count line; a dump that fails part-way\n" +
    "leaves the entries read so far on stdout, no count line, and the error on stderr. --json writes one\n" +
    "complete document once the dump has finished (held in memory, past 8 Mi characters in an unlinked\n" +
    "temporary file under $TMPDIR); a dump that fails writes nothing on stdout, only the error on stderr.\n" +
    READ_ONLY_NOTE,
  options: {
    ...TYPE_OPTIONS,
    reliable: { type: "boolean", help: "Cilium's reliable dump: --algorithm defaults to walk" },
    stats: { type: "boolean", help: "print the DumpStats counters (on stderr, even with -q)" },
    algorithm: { type: "string", arg: "walk|batch|auto", help: "walk: GET_NEXT_KEY + lookup; batch: BPF_MAP_LOOKUP_BATCH; auto: batch where possible (the default, walk with --reliable)" },
    batch: { type: "string", arg: "N", help: "elements per BPF_MAP_LOOKUP_BATCH call (default: about 128 KiB of keys and values)" },
  },
  examples: ["bpfkit map dump id 12", "bpfkit map dump cilium_ct4_global --reliable --stats", "bpfkit map dump /sys/fs/bpf/routes --json"],
  async run(ctx, args, opts) {
    const alg = str(opts, "algorithm") ?? (flag(opts, "reliable") ? "walk" : "auto");
    if (alg !== "walk" && alg !== "batch" && alg !== "auto") throw usageError(`--algorithm ${alg}: expected walk, batch or auto`);
    const batchSize = intOption(opts, "batch", 1);
    checkTypeOptions(opts);
    return withMap(ctx, args, nothingAfterMap(this.usage), (d, m) => {
      const t = elemTypes(m.info, opts, d.possibleCpus, m.label, btfSource(ctx, d));
      const out = new DumpWriter(ctx, t, flag(opts, "stats"));
      try {
        const stats = dumpFd(
          { driver: d, fd: m.fd, mapType: m.info.type, keySize: m.info.keySize, valueSize: t.userValueSize, name: m.label },
          m.info.maxEntries, alg, (keys, koff, values, voff) => out.entry(keys, koff, values, voff),
          // No batch returns more than the map holds; a larger --batch only sized buffers for nothing
          // (`--batch 99999999999` died allocating 400 GB).
          batchSize !== undefined ? Math.min(batchSize, Math.max(1, m.info.maxEntries)) : undefined);
        out.end(stats);
      } catch (e) {
        out.abandon();
        throw e;
      }
      return 0;
    }, BPF_F_RDONLY);
  },
};

/**
 * Writes entries in chunks, so a million-entry dump never builds one huge string. Text streams to
 * stdout as it is read; JSON goes through a spool and reaches stdout only once the document is
 * complete, so a failing dump leaves no half document for a script to choke on.
 */
class DumpWriter {
  private buf: string[] = [];
  private n = 0;
  private readonly spool: OutputSpool | undefined;
  constructor(private readonly ctx: Ctx, private readonly t: ElemTypes, private readonly withStats: boolean) {
    if (ctx.json) {
      this.spool = new OutputSpool();
      this.buf.push(withStats ? "{\"entries\": [" : "[");
    }
  }

  entry(keys: Uint8Array, koff: number, values: Uint8Array, voff: number): void {
    const t = this.t;
    const key = keys.subarray(koff, koff + t.keySize);
    const value = values.subarray(voff, voff + t.userValueSize);
    const v = decodeValue(t, value);
    if (this.ctx.json) {
      this.buf.push(`${this.n > 0 ? "," : ""}\n  ${JSON.stringify(entryJson(t, key, v), jsonValue)}`);
    } else {
      this.buf.push(formatEntry(t.key.format(key, 0), v));
    }
    this.n++;
    if (this.n % FLUSH_EVERY === 0) this.flush();
    if (this.n % PROGRESS_EVERY === 0) this.ctx.progress(`dumped ${this.n} entries…`);
  }

  end(stats: DumpStats): void {
    this.ctx.progress(undefined);
    if (this.ctx.json) {
      this.buf.push(this.n > 0 ? "\n" : "");
      this.buf.push(this.withStats ? `], "stats": ${toJson(statsJson(stats)).trimEnd()}}\n` : "]\n");
    } else {
      this.buf.push(`${this.n} entr${this.n === 1 ? "y" : "ies"}\n`);
    }
    this.flush();
    this.spool?.commit((text) => this.ctx.io.stdout(text));
    if (this.withStats && !this.ctx.json) this.ctx.io.stderr(statsText(stats));
  }

  /** The dump failed: text already out stays out; JSON is dropped whole. */
  abandon(): void {
    this.ctx.progress(undefined);
    this.buf = [];
    this.spool?.discard();
  }

  private flush(): void {
    if (this.buf.length > 0) {
      const text = this.buf.join("");
      if (this.spool) this.spool.write(text);
      else this.ctx.io.stdout(text);
    }
    this.buf = [];
  }
}

