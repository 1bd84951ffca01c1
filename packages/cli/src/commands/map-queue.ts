// `bpfkit map push|pop|peek` (and bpftool's `enqueue`/`dequeue`): the maps without keys, value by
// value. A queue or stack pushes with MAP_UPDATE_ELEM, peeks with MAP_LOOKUP_ELEM and pops with
// MAP_LOOKUP_AND_DELETE_ELEM, each with an empty key; a bloom filter adds with `push` and answers
// "may it hold VALUE?" with `peek MAP value VALUE` (MAP_LOOKUP_ELEM reading the value), as bpftool's.
import { BPF_ANY, BPF_EXIST, BPF_F_RDONLY, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_STACK, errnoText, type Driver } from "@bpfkit/core";
import { CliError, ExitCode, must, usageError } from "../cli-error.js";
import type { Command, OptionSpec, OptionValues } from "../command.js";
import type { Ctx } from "../context.js";
import { checkTypeOptions, decodeValue, encodeValue, keylessTypes, TYPE_OPTIONS, type ElemTypes } from "../elem-types.js";
import { MAP_REF_USAGE, type OpenedMap } from "../map-ref.js";
import { READ_ONLY_NOTE, withMap, writeRefused } from "./map-elem.js";

const VALUE_TYPE_OPTIONS: Record<string, OptionSpec> = { "value-type": TYPE_OPTIONS["value-type"]!, value: TYPE_OPTIONS.value! };

const NO_KEY = new Uint8Array(0);

/** `queue`, `stack` or `bloom filter`, as the messages say it. */
function kindOf(m: OpenedMap): string {
  return m.info.type === BPF_MAP_TYPE_BLOOM_FILTER ? "bloom filter" : m.info.type === BPF_MAP_TYPE_STACK ? "stack" : "queue";
}

/** The words after the map: `value VALUE…`, required or refused. */
function valueWords(rest: readonly string[], want: "required" | "optional" | "none", usage: string): string | undefined {
  if (rest.length === 0) {
    if (want === "required") throw usageError("the value is missing: `value VALUE…` after the map", `usage: bpfkit ${usage}`);
    return undefined;
  }
  if (want === "none") throw usageError(`unexpected ${JSON.stringify(rest.join(" "))}: this command takes nothing after the map`, `usage: bpfkit ${usage}`);
  if (rest[0] !== "value") throw usageError(`expected \`value\` after the map, got ${JSON.stringify(rest[0])}`, `usage: bpfkit ${usage}`);
  if (rest.length === 1) throw usageError("the value is missing", `usage: bpfkit ${usage}`);
  return rest.slice(1).join(" ");
}

/** Prints one value read from the map: `value: …`, or `{ "value": … }`. */
function emitValue(ctx: Ctx, t: ElemTypes, bytes: Uint8Array): void {
  const v = decodeValue(t, bytes);
  ctx.emit(() => `value: ${v.value}\n`, () => ({ value: v.json }));
}

function pushCommand(name: string, summary: string, examples: readonly string[]): Command {
  const usage = `map ${name} MAP value VALUE… [--overwrite] [--value-type T]`;
  return {
    name: `map ${name}`,
    summary,
    usage,
    details: `${MAP_REF_USAGE}.\nA queue or stack takes VALUE as its newest value; a bloom filter adds it (bpftool's push for both).\n` +
      "A full queue or stack refuses (exit 1) unless --overwrite (BPF_EXIST), which drops its oldest value to make room.\n" +
      "VALUE is hex bytes, or text for --value-type (u32, be16, ipv4, struct{…}, …).",
    options: { ...VALUE_TYPE_OPTIONS, overwrite: { type: "boolean", help: "when full, drop the oldest value (BPF_EXIST; queue and stack)" } },
    examples,
    async run(ctx, args, opts) {
      checkTypeOptions(opts);
      const overwrite = opts.overwrite === true;
      return withMap(ctx, args, (rest) => valueWords(rest, "required", usage)!, (d, m, text) => {
        const op = name;
        const t = keylessTypes(m.info, opts, m.label, op);
        const kind = kindOf(m);
        if (overwrite && m.info.type === BPF_MAP_TYPE_BLOOM_FILTER) {
          throw usageError("--overwrite is for a queue or stack: a bloom filter never fills up, nor drops anything");
        }
        const value = encodeValue(t, text, `${op} ${m.label}`);
        const r = d.mapUpdateElem(m.fd, NO_KEY, value, overwrite ? BPF_EXIST : BPF_ANY);
        if (r === -1) throw writeRefused(op, d, m);
        if (r === -7) {
          throw new CliError(`${op} ${m.label}: the ${kind} is full (${m.info.maxEntries} values): ${errnoText(7)}`, ExitCode.failure,
            "pop values first, or push with --overwrite to drop the oldest");
        }
        must(r, `${op} ${m.label}`);
        if (!ctx.quiet && !ctx.json) ctx.io.stderr(`${kind === "bloom filter" ? "added to" : "pushed to"} ${m.label}\n`);
        if (ctx.json) ctx.emit(() => "", () => ({ pushed: true, value: decodeValue(t, value).json }));
        return 0;
      });
    },
  };
}

function popCommand(name: string, summary: string): Command {
  const usage = `map ${name} MAP [--value-type T]`;
  return {
    name: `map ${name}`,
    summary,
    usage,
    details: `${MAP_REF_USAGE}.\nTakes a queue's oldest value or a stack's newest (BPF_MAP_LOOKUP_AND_DELETE_ELEM) and prints it.\n` +
      "Exit code 4 when the map is empty. A bloom filter has nothing to pop: `map peek MAP value V` asks it.",
    options: { ...VALUE_TYPE_OPTIONS },
    examples: [`bpfkit map ${name} /sys/fs/bpf/tc/globals/events --value-type u32`],
    async run(ctx, args, opts) {
      checkTypeOptions(opts);
      return withMap(ctx, args, (rest) => valueWords(rest, "none", usage), (d, m) => {
        const op = name;
        const t = keylessTypes(m.info, opts, m.label, op);
        if (m.info.type === BPF_MAP_TYPE_BLOOM_FILTER) {
          throw new CliError(`${op} ${m.label}: a bloom filter has nothing to pop: values are never taken out of it`, ExitCode.failure,
            `\`bpfkit map peek ${args.join(" ")} value VALUE\` tells whether VALUE may be in it`);
        }
        return readOne(ctx, d, m, t, op, true);
      });
    },
  };
}

/** Pops or peeks one value: printed, or exit 4 when the map is empty. */
function readOne(ctx: Ctx, d: Driver, m: OpenedMap, t: ElemTypes, op: string, take: boolean): number {
  const value = new Uint8Array(t.userValueSize);
  const r = take ? d.mapLookupAndDeleteElem(m.fd, NO_KEY, value) : d.mapLookupElem(m.fd, NO_KEY, value);
  if (r === -2) throw new CliError(`${op} ${m.label}: the ${kindOf(m)} is empty`, ExitCode.notFound);
  if (r === -1 && take) throw writeRefused(op, d, m);
  must(r, `${op} ${m.label}`);
  emitValue(ctx, t, value);
  return 0;
}

/** `map peek`: a queue's or stack's next value, or whether a bloom filter may hold VALUE. */
function peek(ctx: Ctx, d: Driver, m: OpenedMap, opts: OptionValues, text: string | undefined): number {
  const op = "peek";
  const t = keylessTypes(m.info, opts, m.label, op);
  if (m.info.type !== BPF_MAP_TYPE_BLOOM_FILTER) {
    if (text !== undefined) throw usageError(`a ${kindOf(m)} is peeked without a value: \`bpfkit map peek MAP\``);
    return readOne(ctx, d, m, t, op, false);
  }
  if (text === undefined) throw usageError("a bloom filter is asked about one value: `bpfkit map peek MAP value VALUE`");
  const value = encodeValue(t, text, `${op} ${m.label}`);
  const r = d.mapLookupElem(m.fd, NO_KEY, value);
  const shown = decodeValue(t, value);
  if (r === -2) throw new CliError(`${op} ${m.label}: value ${shown.value} is not in the bloom filter`, ExitCode.notFound);
  must(r, `${op} ${m.label}`);
  ctx.emit(() => `value: ${shown.value}  may be in the bloom filter\n`, () => ({ value: shown.json, present: "maybe" }));
  return 0;
}

export const mapPushCommand = pushCommand("push", "push a value onto a queue or stack, or add one to a bloom filter", [
  "bpfkit map push /sys/fs/bpf/tc/globals/events value 2a 00 00 00",
  "bpfkit map push /sys/fs/bpf/tc/globals/seen value 10.0.0.1 --value-type ipv4",
]);
export const mapEnqueueCommand = pushCommand("enqueue", "bpftool's name for map push, for a queue", [
  "bpfkit map enqueue /sys/fs/bpf/tc/globals/events value 7 --value-type u32",
]);
export const mapPopCommand = popCommand("pop", "take the next value off a queue (its oldest) or stack (its newest)");
export const mapDequeueCommand = popCommand("dequeue", "bpftool's name for map pop, for a queue");

export const mapPeekCommand: Command = {
  name: "map peek",
  summary: "read a queue's or stack's next value without taking it, or ask a bloom filter whether it may hold a value",
  usage: "map peek MAP [value VALUE…] [--value-type T]",
  details: `${MAP_REF_USAGE}.\nA queue or stack: its next value (what pop would take), left in it; exit code 4 when empty.\n` +
    "A bloom filter, given VALUE: exit 0 when VALUE may be in it (bloom filters have false positives), exit code 4\n" +
    `when it is surely not (bpftool's peek, as BPF_MAP_LOOKUP_ELEM reading the value).\n${READ_ONLY_NOTE}`,
  options: { ...VALUE_TYPE_OPTIONS },
  examples: ["bpfkit map peek /sys/fs/bpf/tc/globals/events --value-type u32", "bpfkit map peek /sys/fs/bpf/tc/globals/seen value 10.0.0.1 --value-type ipv4"],
  async run(ctx, args, opts) {
    checkTypeOptions(opts);
    return withMap(ctx, args, (rest) => valueWords(rest, "optional", this.usage), (d, m, text) => peek(ctx, d, m, opts, text), BPF_F_RDONLY);
  },
};
