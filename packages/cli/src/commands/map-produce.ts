// `bpfkit map produce`: writes one record into a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF) for
// programs to drain (bpf_user_ringbuf_drain), through core's UserRingBufProducer: the map's pages
// are mapped and written, since the kernel answers no element call on a ring. `map consume`'s
// mirror. One producer per ring: a record written here while the ring's own producer (an agent)
// writes too may land over one of its records, so this is for a ring nothing else writes, or for
// a test.
import { BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, createBpf, type Logger, type UserRingBufProducer } from "@bpfkit/core";
import { CliError, ExitCode, usageError } from "../cli-error.js";
import { intOption, type Command } from "../command.js";
import { hex, hexCompact } from "../format.js";
import { mapTypeKernelName } from "../names.js";
import { parseHexBytes } from "../types.js";
import { withMap } from "./map-elem.js";

const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export const mapProduceCommand: Command = {
  name: "map produce",
  summary: "write a record into a user ring buffer, for programs to drain",
  usage: "map produce MAP (BYTES… | --empty) [--wait MS]",
  details: "MAP is a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF): a pinned path, a name under the map root, or `id N`.\n" +
    "BYTES are the record's sample as hex bytes ('01 02 ff', 0x0102ff, a leading `hex` taken), 1 to 2^24 - 1 of them,\n" +
    "which with the 8-byte header must fit in the ring; --empty writes a record of no bytes (its header alone), which\n" +
    "the drain hands to the callback as an empty sample. The record is reserved, written and submitted: the next\n" +
    "bpf_user_ringbuf_drain of a program hands it to its callback.\n" +
    "A full ring refuses (exit 1) unless --wait, which waits up to MS milliseconds for a drain to make room.\n" +
    "A ring has one producer: write here only to a ring nothing else writes.",
  options: {
    wait: { type: "string", arg: "MS", help: "when the ring has no room, wait up to MS milliseconds for a drain to make some" },
    empty: { type: "boolean", help: "write a record of no bytes, in place of BYTES" },
  },
  examples: [
    "bpfkit map produce /sys/fs/bpf/tc/globals/urb_cmds 01 00 00 00 2a 00 00 00",
    "bpfkit map produce urb_cmds 0x010000002a000000 --wait 1000 --json",
    "bpfkit map produce urb_cmds --empty",
  ],
  async run(ctx, args, opts) {
    const wait = intOption(opts, "wait", 0);
    const { p, bytes, label } = await withMap(ctx, args, (rest) => {
      if (opts.empty === true) {
        if (rest.length > 0) throw usageError("--empty writes a record of no bytes: give BYTES or --empty, not both", `usage: bpfkit ${this.usage}`);
        return new Uint8Array(0);
      }
      if (rest.length === 0) {
        throw usageError("the record's bytes are missing: hex BYTES… after the map (--empty for a record of none)", `usage: bpfkit ${this.usage}`);
      }
      return parseHexBytes(rest.join(" "));
    }, (d, m, bytes): { p: UserRingBufProducer; bytes: Uint8Array; label: string } => {
      if (m.info.type !== BPF_MAP_TYPE_USER_RINGBUF) {
        throw new CliError(`produce ${m.label}: a ${mapTypeKernelName(m.info.type)} map takes no records from user space: only a user ring buffer does`,
          ExitCode.failure, m.info.type === BPF_MAP_TYPE_RINGBUF ? "programs write a ring buffer; `bpfkit map consume` reads it"
            : m.info.keySize === 0 ? "`bpfkit map push` writes a queue's or stack's values" : "`bpfkit map update` writes a map's entries");
      }
      // The ring object takes over an fd of its own (a dup, else one by id) and is closed at once:
      // the producer's mappings hold the map after.
      const bpf = createBpf({ driver: d, logger: quietLogger });
      const fd = d.dup !== undefined ? d.dup(m.fd) : -1;
      const rb = fd >= 0 ? bpf.openUserRingBuf({ fd }) : bpf.openUserRingBuf({ id: m.info.id });
      try {
        return { p: rb.producer(), bytes, label: m.label };
      } finally {
        rb.close();
      }
    });
    try {
      let s;
      try {
        s = wait !== undefined ? await p.reserveBlocking(bytes.length, { timeoutMs: wait, pollMs: Math.max(1, Math.min(10, wait)) }) : p.reserve(bytes.length);
      } catch (e) {
        if (e instanceof RangeError) throw usageError(`produce ${label}: ${e.message.replace(/^reserve(Blocking)? [^:]*: /, "")}`);
        throw e;
      }
      if (s === undefined) {
        throw new CliError(`produce ${label}: the ring has no room for a ${bytes.length}-byte record (${p.room()} of ${p.size} bytes free)` +
          `${wait !== undefined ? ` after ${wait} ms` : ""}`, ExitCode.failure, wait === undefined ? "wait for a program's drain with --wait MS" : undefined);
      }
      s.data.set(bytes);
      s.submit();
    } finally {
      p.close();
    }
    if (!ctx.quiet && !ctx.json) ctx.io.stderr(`produced a ${bytes.length}-byte record into ${label}${bytes.length > 0 ? `: ${hex(bytes)}` : ""}\n`);
    if (ctx.json) ctx.emit(() => "", () => ({ produced: true, size: bytes.length, bytes: hexCompact(bytes) }));
    return 0;
  },
};
