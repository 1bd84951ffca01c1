// `bpfkit map event-pipe`: bpftool's `map event_pipe`. Puts a perf event of this process in each
// CPU's slot of a BPF_MAP_TYPE_PERF_EVENT_ARRAY (or one CPU's event in one slot) and prints what
// programs send through it with bpf_perf_event_output, through core's PerfReader, until --count
// records or Ctrl-C; the slots are emptied on the way out. As bpftool warns, this replaces the
// events another reader put there: the agent that reads the array stops getting them meanwhile.
import { BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_RINGBUF, BpfError, createBpf, Errno, type Logger, type PerfRecord } from "@bpfkit/core";
import { CliError, ExitCode, permissionHint, usageError } from "../cli-error.js";
import { intOption, type Command } from "../command.js";
import { hex, hexCompact } from "../format.js";
import { mapTypeKernelName } from "../names.js";
import { followUntilStopped } from "../signals.js";
import { withMap } from "./map-elem.js";

const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const USAGE = "map event-pipe MAP [cpu N index M] [--count N] [--buffer BYTES]";

/** `cpu N index M` after the map, both or neither, as bpftool takes them. */
function cpuIndex(rest: readonly string[]): { cpu: number; index: number } | undefined {
  if (rest.length === 0) return undefined;
  const got: Partial<Record<"cpu" | "index", number>> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const word = rest[i]!, v = rest[i + 1];
    if (word !== "cpu" && word !== "index") throw usageError(`unexpected ${JSON.stringify(word)}: expected \`cpu N index M\``, `usage: bpfkit ${USAGE}`);
    if (got[word] !== undefined) throw usageError(`${word} is given twice`, `usage: bpfkit ${USAGE}`);
    if (v === undefined || !/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw usageError(`${word} ${v ?? ""}`.trimEnd() + `: expected a number after \`${word}\``, `usage: bpfkit ${USAGE}`);
    }
    got[word] = Number(v);
  }
  // bpftool: "one of 'cpu' and 'index' are specified, the other must be too".
  if (got.cpu === undefined || got.index === undefined) {
    throw usageError(`give both \`cpu N\` and \`index M\`, or neither (got only ${got.cpu === undefined ? "index" : "cpu"})`, `usage: bpfkit ${USAGE}`);
  }
  return { cpu: got.cpu, index: got.index };
}

/** One record as lines, or a JSON object (`json`): bpftool's `== CPU: N index: M ==` and hex, or `lost N events`. */
export function eventLines(r: PerfRecord, json: boolean): string {
  if (json) {
    return `${JSON.stringify(r.lostSamples > 0 ? { cpu: r.cpu, index: r.index, lost: r.lostSamples }
      : { cpu: r.cpu, index: r.index, size: r.rawSample.length, bytes: hexCompact(r.rawSample) })}\n`;
  }
  if (r.lostSamples > 0) return `== CPU: ${r.cpu} index: ${r.index} ==\nlost ${r.lostSamples} events\n`;
  return `== CPU: ${r.cpu} index: ${r.index} ==\n${hex(r.rawSample)}\n`;
}

export const mapEventPipeCommand: Command = {
  name: "map event-pipe",
  summary: "read what programs send through a perf event array (bpf_perf_event_output), and print it",
  usage: USAGE,
  details: "MAP is a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY): a pinned path, a name under the map root, or\n" +
    "`id N`. As bpftool's `map event_pipe`: opens a perf event on each CPU, puts it in that CPU's slot, and\n" +
    "prints every record as it comes: `== CPU: N index: M ==` then the sample as hex bytes (as the kernel padded\n" +
    "it: 0 to 7 bytes more, so that the record ends 8-byte aligned), or `lost N events` when a CPU's ring was\n" +
    "full. `--json` prints one JSON object a line: { cpu, index, size, bytes } or { cpu, index, lost }.\n" +
    "`cpu N index M` reads one CPU's event, put in slot M (for a program that outputs to slot M itself).\n" +
    "Runs until --count records or Ctrl-C (SIGINT, SIGTERM, SIGHUP), then empties the slots it filled and\n" +
    "exits 0. The events it puts in the slots replace any other reader's, as bpftool's do: the agent that\n" +
    "reads the array gets nothing until it puts its own back (restart it).",
  options: {
    count: { type: "string", arg: "N", help: "stop after N records (default: run until Ctrl-C)" },
    buffer: { type: "string", arg: "BYTES", help: "each CPU's ring, rounded up to a power of 2 of pages (default 65536: bpftool's 16 pages)" },
  },
  async run(ctx, args, opts) {
    const count = intOption(opts, "count", 1);
    const buffer = intOption(opts, "buffer", 1, 2 ** 30);
    // withMap closes its fd when the callback returns; the reader holds an fd of its own.
    const reader = await withMap(ctx, args, cpuIndex, (d, m, one) => {
      if (m.info.type !== BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
        throw new CliError(`event-pipe ${m.label}: a ${mapTypeKernelName(m.info.type)} map sends no events: only a perf event array does`,
          ExitCode.failure, m.info.type === BPF_MAP_TYPE_RINGBUF ? "`bpfkit map consume` reads a ring buffer's records" : undefined);
      }
      const bpf = createBpf({ driver: d, logger: quietLogger });
      const fd = d.dup !== undefined ? d.dup(m.fd) : -1;
      const arr = fd >= 0 ? bpf.openPerfEventArray({ fd }) : bpf.openPerfEventArray({ id: m.info.id });
      try {
        return arr.reader({
          ...(buffer !== undefined ? { perCpuBuffer: buffer } : {}),
          ...(one !== undefined ? { cpus: [one.cpu], index: one.index } : {}),
        });
      } catch (e) {
        if (e instanceof RangeError || e instanceof TypeError) throw new CliError(`event-pipe ${m.label}: ${e.message.replace(/^reader \S+: /, "")}`, ExitCode.failure);
        // perf_event_open's EACCES is perf_event_paranoid's (CAP_PERFMON), not a file's owner or mode.
        if (e instanceof BpfError && e.errno === Errno.EACCES) {
          throw new CliError(`event-pipe ${m.label}: ${e.message.replace(/^reader \S+: /, "")}`, ExitCode.permission,
            d.kind === "kernel" ? "run as root or with CAP_PERFMON, or on the simulator with --driver sim" : permissionHint(Errno.EACCES, d));
        }
        throw e;
      } finally {
        arr.close();
      }
    });
    return followUntilStopped((signal) => reader.records({ signal }), (r) => ctx.io.stdout(eventLines(r, ctx.json)), count, reader);
  },
};

