// `bpfkit map consume`: takes the records programs wrote into a ring buffer (BPF_MAP_TYPE_RINGBUF)
// and prints them, through core's RingBufReader: the map's pages are mapped and read, since the
// kernel answers no element call on a ring buffer. Taking is consuming: a record printed here
// is gone for the program's own reader, so this is for a ring nothing else reads, or for a look
// while the agent that reads it is stopped.
import { BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, createBpf, type Logger } from "@bpfkit/core";
import { CliError, ExitCode, usageError } from "../cli-error.js";
import { intOption, type Command } from "../command.js";
import { hex, hexCompact } from "../format.js";
import { mapTypeKernelName } from "../names.js";
import { followUntilStopped } from "../signals.js";
import { nothingAfterMap, withMap } from "./map-elem.js";

const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export const mapConsumeCommand: Command = {
  name: "map consume",
  summary: "take the records programs wrote into a ring buffer, and print them",
  usage: "map consume MAP [--count N] [--wait MS | --follow]",
  details: "MAP is a ring buffer (BPF_MAP_TYPE_RINGBUF): a pinned path, a name under the map root, or `id N`.\n" +
    "Prints each record that is ready, oldest first, as hex bytes (`--json`: a list of { size, bytes }), and\n" +
    "gives its room back to the programs: a record taken here is gone for any other reader of the ring.\n" +
    "--count stops after N records; --wait waits up to MS milliseconds for the first one when none is ready\n" +
    "(asleep until a program's commit wakes the ring: one committed with BPF_RB_NO_WAKEUP is seen at a later\n" +
    "BPF_RB_FORCE_WAKEUP, or when MS is up).\n" +
    "--follow prints each record as it comes (with --json, one JSON object a line) until --count records or\n" +
    "Ctrl-C (SIGINT, SIGTERM, SIGHUP), then exits 0.\n" +
    "Exit code 4 when no record was taken. A record a program has reserved and not yet submitted holds\n" +
    "up those behind it, as for any reader.",
  options: {
    count: { type: "string", arg: "N", help: "take at most N records (default: every record that is ready)" },
    wait: { type: "string", arg: "MS", help: "when none is ready, wait up to MS milliseconds for one" },
    follow: { type: "boolean", help: "keep taking records as programs write them, until --count or Ctrl-C" },
  },
  examples: [
    "bpfkit map consume /sys/fs/bpf/tc/globals/rb_events",
    "bpfkit map consume rb_events --count 1 --wait 5000 --json",
    "bpfkit map consume rb_events --follow --count 2 --json",
  ],
  async run(ctx, args, opts) {
    const count = intOption(opts, "count", 1);
    const wait = intOption(opts, "wait", 0);
    const follow = opts.follow === true;
    if (follow && wait !== undefined) {
      throw usageError("consume: --wait and --follow do not go together: --follow waits for every record until --count or Ctrl-C");
    }
    // withMap closes the fd when its callback returns; the reader's mappings hold the map after.
    const reader = await withMap(ctx, args, nothingAfterMap(this.usage), (d, m) => {
      if (m.info.type !== BPF_MAP_TYPE_RINGBUF) {
        throw new CliError(`consume ${m.label}: a ${mapTypeKernelName(m.info.type)} map has no records to consume: only a ring buffer has`,
          ExitCode.failure, m.info.type === BPF_MAP_TYPE_USER_RINGBUF ? "programs drain a user ring buffer; `bpfkit map produce` writes into it"
            : m.info.keySize === 0 ? "`bpfkit map pop` takes a queue's or stack's values" : "`bpfkit map dump` reads a map's entries");
      }
      // The ring object takes over an fd of its own (a dup, else one by id) and is closed at once.
      const bpf = createBpf({ driver: d, logger: quietLogger });
      const fd = d.dup !== undefined ? d.dup(m.fd) : -1;
      const rb = fd >= 0 ? bpf.openRingBuf({ fd }) : bpf.openRingBuf({ id: m.info.id });
      try {
        return rb.reader();
      } finally {
        rb.close();
      }
    });
    if (follow) {
      return followUntilStopped((signal) => reader.records({ signal }), (r) => ctx.io.stdout(ctx.json
        ? `${JSON.stringify({ size: r.length, bytes: hexCompact(r) })}\n` : `record (${r.length} bytes): ${hex(r)}\n`), count, reader);
    }
    const records: Uint8Array[] = [];
    try {
      reader.drain((s) => records.push(s), count !== undefined ? { max: count } : undefined);
      if (records.length === 0 && wait !== undefined) {
        const first = await reader.next({ timeoutMs: wait, pollMs: Math.max(1, Math.min(10, wait)) });
        if (first !== undefined) {
          records.push(first);
          if (count === undefined || records.length < count) {
            reader.drain((s) => records.push(s), count !== undefined ? { max: count - records.length } : undefined);
          }
        }
      }
    } finally {
      reader.close();
    }
    if (records.length === 0) throw new CliError(`consume ${args.join(" ")}: no record is ready${wait !== undefined ? ` after ${wait} ms` : ""}`, ExitCode.notFound);
    ctx.emit(() => records.map((r) => `record (${r.length} bytes): ${hex(r)}\n`).join(""),
      () => records.map((r) => ({ size: r.length, bytes: hexCompact(r) })));
    return 0;
  },
};

