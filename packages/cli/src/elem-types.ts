// How a command reads and prints one map's keys and values: the declared types (--key-type,
// --value-type), else the map's BTF, else the map's own sizes; per-CPU slots, and ids for
// map-in-map/PROG_ARRAY values.
import {
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, isFdValueMapType, isPerCpuMapType, perCpuSlotSize, type BpfMapInfo, type Driver,
} from "@bpfkit/core";
import { mapBtfTypes, type MapBtfTypes } from "./btf-types.js";
import { flag, str, type OptionSpec, type OptionValues } from "./command.js";
import { CliError, ExitCode, usageError } from "./cli-error.js";
import { mapTypeKernelName } from "./names.js";
import { bytesType, parseType, type ValueType } from "./types.js";

/** For commands that read and print keys only (`map delete`, `map next`). */
export const KEY_TYPE_OPTIONS: Record<string, OptionSpec> = {
  "key-type": { type: "string", arg: "TYPE", help: "how to read and print keys: u32, be16, ipv4, lpm4, struct{ip:ipv4,port:be16}, … (default: hex bytes, lpm4 or lpm6 on an LPM trie of 8- or 20-byte keys; a map with BTF prints its keys by its BTF key type, but reads them as this default)" },
  key: { type: "string", arg: "TYPE", help: "same as --key-type" },
  raw: { type: "boolean", help: "print keys and values as hex bytes, not by the map's BTF types" },
};

export const TYPE_OPTIONS: Record<string, OptionSpec> = {
  "key-type": KEY_TYPE_OPTIONS["key-type"]!,
  "value-type": { type: "string", arg: "TYPE", help: "how to read and print values (per-CPU maps: one CPU's value; default: hex bytes, ids for map-in-map and PROG_ARRAY; a map with BTF prints its values by its BTF value type, but reads them as this default)" },
  key: KEY_TYPE_OPTIONS.key!,
  value: { type: "string", arg: "TYPE", help: "same as --value-type" },
  raw: KEY_TYPE_OPTIONS.raw!,
};

/** How a map created with BTF prints, for the help of every command that prints keys or values. */
export const BTF_NOTE = "A map created with BTF prints its keys and values by their BTF types, as bpftool does (text: bpftool's\n" +
  "plain form; --json: what bpftool shows as \"formatted\"), per-CPU values per CPU, unless --key-type/--value-type\n" +
  "name them or --raw asks for hex. Keys and values are still read as without BTF (hex bytes, a prefix on an LPM\n" +
  "trie, or by --key-type/--value-type): BTF says how to print a value, not how to write one.";

/** The same for the commands that read and print keys only (`map delete`, `map next`). */
export const KEY_BTF_NOTE = "A map created with BTF prints its keys by their BTF type, as bpftool does, unless --key-type names it\n" +
  "or --raw asks for hex. Keys are still read as without BTF (hex bytes, a prefix on an LPM trie, or by --key-type).";

/**
 * Where a command may read the map's BTF from: its driver, and where to say that the BTF could
 * not be read (the map then prints as hex).
 */
export interface BtfSource {
  driver: Driver;
  warn(line: string): void;
}

/** The map's BTF types, unless --raw, or unless there is nowhere to read them from. */
function btfTypesOf(info: BpfMapInfo, opts: OptionValues, label: string, perCpu: boolean, from: BtfSource | undefined): MapBtfTypes {
  if (from === undefined || flag(opts, "raw")) return { key: undefined, value: undefined };
  // A per-CPU value prints after `  cpu N: `, so its lines are one level in.
  return mapBtfTypes(from.driver, info, label, perCpu ? 1 : 0, (l) => from.warn(l));
}

export interface ElemTypes {
  key: ValueType;
  value: ValueType;
  keySize: number;
  /** Bytes of a user-space value buffer (per-CPU: slot × CPUs). */
  userValueSize: number;
  perCpu: boolean;
  /** Bytes per CPU slot (per-CPU maps). */
  slot: number;
  cpus: number;
  /** Values are fds going in and ids coming out (map-in-map, PROG_ARRAY). */
  fdValue: boolean;
}

/** `--key-type` or its alias `--key`: both at once is a usage error, not one silently winning. */
function typeOption(opts: OptionValues, name: string, alias: string): string | undefined {
  const a = str(opts, name), b = str(opts, alias);
  if (a !== undefined && b !== undefined) throw usageError(`--${name} and --${alias} are the same option: give one`);
  return a ?? b;
}

/**
 * Parses --key-type/--value-type (or their aliases) before any map is opened: a bad spec is a usage
 * error whatever the map, and whether or not bpf(2) is usable. Sizes are checked by elemTypes.
 */
export function checkTypeOptions(opts: OptionValues): void {
  for (const [name, alias] of [["key-type", "key"], ["value-type", "value"]] as const) {
    const spec = typeOption(opts, name, alias);
    if (spec !== undefined) parseType(spec);
  }
}

/**
 * The map's key and value types: --key-type/--value-type where given, else (with `btf`, and
 * without --raw) the map's BTF types, else hex bytes (LPM prefixes, ids of fds).
 */
export function elemTypes(info: BpfMapInfo, opts: OptionValues, possibleCpus: number, label: string, btf?: BtfSource): ElemTypes {
  // Queues, stacks, bloom filters, ring buffers: the kernel walks none of them by key (EINVAL or
  // ENOTSUPP from GET_NEXT_KEY), so say so before a syscall answers with a bare errno.
  if (info.keySize === 0) {
    const use = isKeylessValueMap(info.type) ? `; \`bpfkit map ${info.type === BPF_MAP_TYPE_BLOOM_FILTER ? "push|peek" : "push|pop|peek"}\` use it by value` : "";
    throw new CliError(`${label} is a ${mapTypeKernelName(info.type)} map: it has no keys, so it cannot be dumped, walked or used by key${use}`, ExitCode.failure);
  }
  const keySpec = typeOption(opts, "key-type", "key");
  const valueSpec = typeOption(opts, "value-type", "value");
  const perCpu = isPerCpuMapType(info.type);
  const fdValue = isFdValueMapType(info.type);
  // Only what no option names is read from BTF; a map-in-map's values stay ids.
  const fromBtf = keySpec !== undefined && (valueSpec !== undefined || fdValue)
    ? { key: undefined, value: undefined } : btfTypesOf(info, opts, label, perCpu, btf);
  // A BTF key prints by its type and is read as the default reads it: an LPM trie's as a
  // prefix or hex bytes, any other as hex bytes.
  const key = keySpec !== undefined ? parseType(keySpec)
    : fromBtf.key !== undefined ? { ...fromBtf.key, parse: defaultKeyType(info).parse } : defaultKeyType(info);
  if (key.size !== info.keySize) {
    throw usageError(`--key-type ${key.spec} is ${key.size} bytes, ${label} has ${info.keySize}-byte keys`);
  }
  const btfValue = valueSpec === undefined && !fdValue ? fromBtf.value : undefined;
  const value = btfValue ?? valueType(info, valueSpec ?? (fdValue ? "u32" : undefined), label);
  const slot = perCpu ? perCpuSlotSize(info.valueSize) : info.valueSize;
  return {
    key, value, keySize: info.keySize, perCpu, slot, cpus: possibleCpus, fdValue,
    userValueSize: perCpu ? slot * possibleCpus : info.valueSize,
  };
}

/** The value type `spec` names (default: hex bytes), which must be the map's value size. */
function valueType(info: BpfMapInfo, spec: string | undefined, label: string): ValueType {
  const value = spec !== undefined ? parseType(spec) : bytesType(info.valueSize);
  if (value.size !== info.valueSize) {
    throw usageError(`--value-type ${value.spec} is ${value.size} bytes, ${label} has ${info.valueSize}-byte values`);
  }
  return value;
}

/** The keyless types used value by value (`map push|pop|peek`): queue, stack and bloom filter. */
export function isKeylessValueMap(t: number): boolean {
  return t === BPF_MAP_TYPE_QUEUE || t === BPF_MAP_TYPE_STACK || t === BPF_MAP_TYPE_BLOOM_FILTER;
}

/**
 * How `map push|pop|peek` read and print a queue's, stack's or bloom filter's values; a map of
 * another type is refused, saying what uses it. `op` names the command in the message.
 */
export function keylessTypes(info: BpfMapInfo, opts: OptionValues, label: string, op: string): ElemTypes {
  if (!isKeylessValueMap(info.type)) {
    const use = info.keySize !== 0 ? "it has keys: `bpfkit map lookup|update|delete` use it by key" : "bpfkit has no element commands for it";
    throw new CliError(`${op} ${label}: a ${mapTypeKernelName(info.type)} map is no queue, stack or bloom filter; ${use}`, ExitCode.failure);
  }
  const value = valueType(info, typeOption(opts, "value-type", "value"), label);
  return { key: bytesType(0), value, keySize: 0, perCpu: false, slot: info.valueSize, cpus: 1, fdValue: false, userValueSize: info.valueSize };
}

/** LPM tries with IPv4/IPv6-sized keys read and print prefixes; anything else is hex. */
function defaultKeyType(info: BpfMapInfo): ValueType {
  if (info.type === 11 && info.keySize === 8) return prefixOrBytes(parseType("lpm4"));
  if (info.type === 11 && info.keySize === 20) return prefixOrBytes(parseType("lpm6"));
  return bytesType(info.keySize);
}

/**
 * A trie key printed as a prefix, read as a prefix or as the key's hex bytes (as bpftool takes
 * it, `18 00 00 00 0a 01 02 00`): a prefix has a dot or a colon, hex bytes never do.
 */
function prefixOrBytes(lpm: ValueType): ValueType {
  const raw = bytesType(lpm.size);
  return {
    ...lpm,
    parse(text, out, off) {
      (/[.:]/.test(text) ? lpm : raw).parse(text, out, off);
    },
  };
}

/**
 * The key's bytes from its text. `what` (`lookup map 12 (ct)`) starts a message about bad text,
 * so it names the operation, the map, and whether the key or the value was wrong.
 */
export function encodeKey(t: ElemTypes, text: string, what?: string): Uint8Array {
  const out = new Uint8Array(t.keySize);
  naming(what, "key", () => t.key.parse(text, out, 0));
  return out;
}

/** One value for every CPU slot of a per-CPU map (as bpftool does), else the value itself. */
export function encodeValue(t: ElemTypes, text: string, what?: string): Uint8Array {
  const out = new Uint8Array(t.userValueSize);
  naming(what, "value", () => t.value.parse(text, out, 0));
  if (t.perCpu) for (let c = 1; c < t.cpus; c++) out.copyWithin(c * t.slot, 0, t.value.size);
  return out;
}

/** Runs `parse`; a usage error from it is told again as `what: key "…" is …`. */
function naming(what: string | undefined, part: "key" | "value", parse: () => void): void {
  try {
    parse();
  } catch (e) {
    if (what === undefined || !(e instanceof CliError) || e.exitCode !== ExitCode.usage) throw e;
    // `key "0a 00" is 2 bytes…` reads on; `key: u16[3] needs 3 items` needs the colon.
    throw new CliError(`${what}: ${part}${e.message.startsWith("\"") ? " " : ": "}${e.message}`, e.exitCode, e.hint);
  }
}

export interface ShownValue {
  /** Per-CPU maps: one entry per CPU. */
  perCpu?: Array<{ cpu: number; value: string; json: unknown }>;
  value?: string;
  json?: unknown;
}

export function decodeValue(t: ElemTypes, bytes: Uint8Array): ShownValue {
  if (t.perCpu) {
    return {
      perCpu: Array.from({ length: t.cpus }, (_, cpu) => ({
        cpu, value: t.value.format(bytes, cpu * t.slot), json: t.value.json(bytes, cpu * t.slot),
      })),
    };
  }
  if (t.fdValue) {
    const id = t.value.json(bytes, 0);
    return { value: `id ${t.value.format(bytes, 0)}`, json: { id } };
  }
  return { value: t.value.format(bytes, 0), json: t.value.json(bytes, 0) };
}

/** `key: …` and `value: …` lines; per-CPU values one line per CPU. */
export function formatEntry(keyText: string, v: ShownValue): string {
  if (v.perCpu) return `key: ${keyText}\n${v.perCpu.map((c) => `  cpu ${c.cpu}: ${c.value}`).join("\n")}\n`;
  return `key: ${keyText}  value: ${v.value}\n`;
}

export function entryJson(t: ElemTypes, key: Uint8Array, v: ShownValue): Record<string, unknown> {
  const k = t.key.json(key, 0);
  if (v.perCpu) return { key: k, values: v.perCpu.map((c) => ({ cpu: c.cpu, value: c.json })) };
  return { key: k, value: v.json };
}

/** The BTF source of a command on `driver`: a BTF that cannot be read is a warning (even with -q) and hex. */
export function btfSource(ctx: { io: { stderr(text: string): void } }, driver: Driver): BtfSource {
  return { driver, warn: (line) => ctx.io.stderr(`bpfkit: warning: ${line}\n`) };
}
