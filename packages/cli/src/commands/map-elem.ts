// `bpfkit map show|lookup|update|delete|pin|freeze`: one map, one element at a time.
import {
  BPF_ANY, BPF_EXIST, BPF_F_RDONLY, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_NOEXIST, bloomHashFunctions, errnoText, type Driver,
} from "@bpfkit/core";
import { CliError, ExitCode, must, usageError } from "../cli-error.js";
import { str, type Command } from "../command.js";
import type { Ctx } from "../context.js";
import { FRESH_SIM_HINT, isFreshSim } from "../driver-select.js";
import { BTF_NOTE, btfSource, KEY_BTF_NOTE, checkTypeOptions, decodeValue, elemTypes, encodeKey, encodeValue, entryJson, formatEntry, KEY_TYPE_OPTIONS, TYPE_OPTIONS, type ElemTypes } from "../elem-types.js";
import { fields } from "../format.js";
import { MAP_REF_USAGE, mapFdFacts, mapFrozen, mapFrozenReadOnly, objGetProblem, openMapRef, parseMapRef, type OpenedMap } from "../map-ref.js";
import { mapFlagsText, mapTypeKernelName } from "../names.js";
import { pinPathProblem } from "../pin-path.js";
import { describeKind, objectKind } from "../object-kind.js";
import { frozenText, mapJson } from "./maps.js";

/**
 * Opens the map named at args[0..], runs `fn` with what `parseRest` made of the words after the
 * map, and closes the fd whatever happens. Those words are read first: a bad command line is
 * exit 2 whether or not the map exists, or bpf(2) is usable at all.
 */
export async function withMap<R, T>(ctx: Ctx, args: readonly string[], parseRest: (rest: readonly string[]) => R,
  fn: (d: Driver, m: OpenedMap, rest: R) => T, openFlags = 0): Promise<T> {
  const { ref, next } = parseMapRef(args, 0);
  const rest = parseRest(args.slice(next));
  const d = await ctx.driver();
  let m: OpenedMap;
  try {
    m = openMapRef(d, ref, ctx.mapRoot(d), openFlags);
  } catch (e) {
    if (e instanceof CliError && e.exitCode === ExitCode.notFound && isFreshSim(d)) throw new CliError(e.message, e.exitCode, FRESH_SIM_HINT);
    throw e;
  }
  try {
    return fn(d, m, rest);
  } finally {
    d.close(m.fd);
  }
}

/** For commands that take nothing after the map. */
export function nothingAfterMap(usage: string): (rest: readonly string[]) => void {
  return (rest) => {
    if (rest.length > 0) throw usageError(`unexpected ${JSON.stringify(rest.join(" "))}`, `usage: bpfkit ${usage}`);
  };
}

/** For the commands that only read: they open the map as bpftool's show, dump, lookup and getnext do. */
export const READ_ONLY_NOTE = "The map is opened read-only (BPF_F_RDONLY), as bpftool does: a map pinned readable only, or one this\n" +
  "process may read and not write, is read all the same.";

/** How KEY and VALUE bytes differ from bpftool's, for every command that reads them. */
const HEX_NOTE = "Bytes are hex even without 0x (bpftool's are decimal unless `hex` comes first: its `key 10 0 0 1` is\n" +
  "`key 0a 00 00 01` here). A leading `hex` is taken. Without it, bytes bpftool would read as other, decimal\n" +
  "ones (`10 0 0 1`, `10 20 30 40`) are refused, not guessed: put `hex` first (`hex 10 20 30 40`, as for bytes\n" +
  "copied from a dump that have no a-f digit), or write bpftool's decimal bytes in hex.";

/** Splits `key K… [value V…] [any|noexist|exist]`. */
function keyValueArgs(rest: readonly string[], wantValue: boolean, usage: string): { key: string; value?: string; flagWord?: string } {
  if (rest[0] !== "key") throw usageError(`expected \`key\` after the map, got ${rest[0] === undefined ? "nothing" : JSON.stringify(rest[0])}`, `usage: bpfkit ${usage}`);
  const vi = rest.indexOf("value");
  const keyToks = rest.slice(1, vi < 0 ? undefined : vi);
  if (keyToks.length === 0) throw usageError("the key is missing", `usage: bpfkit ${usage}`);
  if (!wantValue) {
    if (vi >= 0) throw usageError("this command takes no value", `usage: bpfkit ${usage}`);
    return { key: keyToks.join(" ") };
  }
  if (vi < 0) throw usageError("the value is missing", `usage: bpfkit ${usage}`);
  let valToks = rest.slice(vi + 1);
  let flagWord: string | undefined;
  const last = valToks[valToks.length - 1];
  if (last !== undefined && valToks.length > 1 && /^(any|noexist|exist)$/.test(last)) {
    flagWord = last;
    valToks = valToks.slice(0, -1);
  }
  if (valToks.length === 0) throw usageError("the value is missing", `usage: bpfkit ${usage}`);
  return { key: keyToks.join(" "), value: valToks.join(" "), ...(flagWord !== undefined ? { flagWord } : {}) };
}

/**
 * The value's bytes; when they do not read and end in a word, that word is most likely a flag
 * word mistyped (`noexsit`), since only any, noexist or exist may follow the value.
 */
function encodeValueOrFlag(t: ElemTypes, text: string, what: string): Uint8Array {
  try {
    return encodeValue(t, text, what);
  } catch (e) {
    const words = text.trim().split(/\s+/);
    const last = words[words.length - 1]!;
    if (!(e instanceof CliError) || e.exitCode !== ExitCode.usage || words.length < 2 || !/^[a-z][a-z_-]*$/i.test(last)) throw e;
    throw new CliError(e.message, e.exitCode, `only any, noexist or exist may follow the value, and ${JSON.stringify(last)} is none of them`);
  }
}

function updateFlags(word: string | undefined): number {
  switch (word ?? "any") {
    case "any": return BPF_ANY;
    case "noexist": return BPF_NOEXIST;
    case "exist": return BPF_EXIST;
    default: throw usageError(`--flags ${word}: expected any, noexist or exist`);
  }
}

/**
 * Reads `map show` facts of a map opened read-only: frozen and memlock from its fdinfo, or, for a
 * driver that cannot read fdinfo, frozen through a second, read-write fd and no memlock.
 */
function showMap(ctx: Ctx, d: Driver, m: OpenedMap): void {
  const facts = mapFdFacts(d, m.fd);
  const frozen = facts?.frozen ?? mapFrozenReadOnly(d, m);
  const memlock = facts?.memlock;
  ctx.emit(
    () => fields([
      ["id", String(m.info.id)],
      ["name", m.info.name || "-"],
      ["type", `${mapTypeKernelName(m.info.type)} (${m.info.type})`],
      ["key", `${m.info.keySize} bytes`],
      ["value", `${m.info.valueSize} bytes`],
      ["max entries", String(m.info.maxEntries)],
      ["flags", mapFlagsText(m.info.mapFlags)],
      ...(m.info.type === BPF_MAP_TYPE_BLOOM_FILTER
        ? [["hash funcs", `${bloomHashFunctions(m.info.mapExtra)} (map_extra ${m.info.mapExtra})`] as const] : []),
      ["frozen", frozenText(frozen)],
      ["memlock", memlock === undefined ? "?" : `${memlock} bytes`],
      // bpftool's btf_id, only for a map created with BTF: `bpftool btf dump id N` reads its types.
      ...(m.info.btfId !== 0 ? [["btf id", String(m.info.btfId)] as const] : []),
      ...(m.path !== undefined ? [["pinned", m.path] as const] : []),
    ]),
    () => ({ ...mapJson(m.info, frozen ?? null, memlock ?? null), ...(m.path !== undefined ? { pinned: m.path } : {}) }),
  );
}

export const mapShowCommand: Command = {
  name: "map show",
  summary: "one map's id, type, sizes, max entries, flags, whether it is frozen, its memlock, its BTF id, and its pin when MAP is given by its pin",
  usage: "map show MAP [--json]",
  details: `${MAP_REF_USAGE}.\nA map given by \`id N\` or \`name NAME\` shows no pin: \`bpfkit maps --pins\` lists every pin of every map.\n` +
    `${READ_ONLY_NOTE}\nWhether it is frozen and its memlock (the bytes the kernel charges for it) are read from its fdinfo.\n` +
    "A driver that cannot read fdinfo shows memlock `?` (null), and tells frozen through a second, read-write fd:\n" +
    "`?` (null) when that is refused.",
  options: {},
  examples: ["bpfkit map show id 12", "bpfkit map show /sys/fs/bpf/tc/globals/cilium_ct4_global", "bpfkit map show cilium_lxc"],
  async run(ctx, args) {
    if (args.length === 0) throw usageError("which map?", "bpftool's `map show` without MAP is `bpfkit maps`");
    await withMap(ctx, args, nothingAfterMap(this.usage), (d, m) => showMap(ctx, d, m), BPF_F_RDONLY);
    return 0;
  },
};

export const mapLookupCommand: Command = {
  name: "map lookup",
  summary: "look one key up",
  usage: "map lookup MAP key KEY… [--key-type T] [--value-type T] [--raw]",
  details: `${MAP_REF_USAGE}.\nKEY is hex bytes ('0a 00 00 01' or 0x0a000001), an IP or prefix (10.0.0.0/8 on an LPM trie, whose keys\nare printed so; its hex bytes are taken too), or text for --key-type.\n${HEX_NOTE}\n` +
    "Map-in-map and PROG_ARRAY values print as `id N` ({\"id\": N} in JSON), where bpftool prints the id's bytes.\n" +
    "On an LPM trie the lookup is a longest-prefix match: the value is the longest stored prefix's that holds KEY,\n" +
    "and the key printed is KEY as given (an address as /32 or /128), not that prefix (`map dump` shows the prefixes).\n" +
    `Exit code 4 when the key is not in the map (on an LPM trie: when no stored prefix holds KEY).\n${BTF_NOTE}\n${READ_ONLY_NOTE}`,
  options: { ...TYPE_OPTIONS },
  examples: ["bpfkit map lookup id 12 key 0a 00 00 01", "bpfkit map lookup id 12 key 10.0.0.1 --key-type ipv4 --value-type u64", "bpfkit map lookup id 7 key 10.1.0.0/16"],
  async run(ctx, args, opts) {
    checkTypeOptions(opts);
    return withMap(ctx, args, (rest) => keyValueArgs(rest, false, this.usage), (d, m, kv) => {
      const t = elemTypes(m.info, opts, d.possibleCpus, m.label, btfSource(ctx, d));
      const key = encodeKey(t, kv.key, `lookup ${m.label}`);
      const value = new Uint8Array(t.userValueSize);
      const r = d.mapLookupElem(m.fd, key, value);
      if (r === -2) throw new CliError(`lookup ${m.label}: key ${t.key.format(key, 0)} not found`, ExitCode.notFound);
      must(r, `lookup ${m.label}`);
      const v = decodeValue(t, value);
      ctx.emit(() => formatEntry(t.key.format(key, 0), v), () => entryJson(t, key, v));
      return 0;
    }, BPF_F_RDONLY);
  },
};

export const mapUpdateCommand: Command = {
  name: "map update",
  summary: "create or replace one element",
  usage: "map update MAP key KEY… value VALUE… [any|noexist|exist] [--key-type T] [--value-type T] [--raw]",
  details: `${MAP_REF_USAGE}.\n${HEX_NOTE}\nPer-CPU maps: the one value is written to every CPU's slot.\n${BTF_NOTE}\nMap-in-map and PROG_ARRAY values: \`id N\` or a pinned path of the inner map (program).`,
  options: { ...TYPE_OPTIONS, flags: { type: "string", arg: "any|noexist|exist", help: "BPF_ANY (default), BPF_NOEXIST or BPF_EXIST" } },
  examples: ["bpfkit map update id 12 key 0a 00 00 01 value 01 00 00 00 00 00 00 00", "bpfkit map update /sys/fs/bpf/ct key 10.0.0.1 80 value 1 --key-type 'struct{ip:ipv4,port:be16}' --value-type u64 noexist"],
  async run(ctx, args, opts) {
    checkTypeOptions(opts);
    const parseRest = (rest: readonly string[]) => {
      const kv = keyValueArgs(rest, true, this.usage);
      const flagOpt = str(opts, "flags");
      // `… value 1 exist --flags noexist`: which was meant is a guess, so neither wins silently.
      if (kv.flagWord !== undefined && flagOpt !== undefined && kv.flagWord !== flagOpt) {
        throw usageError(`\`${kv.flagWord}\` after the value and --flags ${flagOpt} disagree`, `usage: bpfkit ${this.usage}`);
      }
      const flagText = kv.flagWord ?? flagOpt;
      return { ...kv, flagText, flags: updateFlags(flagText) };
    };
    return withMap(ctx, args, parseRest, (d, m, kv) => {
      const t = elemTypes(m.info, opts, d.possibleCpus, m.label, btfSource(ctx, d));
      const flags = kv.flags;
      const key = encodeKey(t, kv.key, `update ${m.label}`);
      const ref = t.fdValue ? openValueRef(d, m, kv.value!) : undefined;
      try {
        const value = ref !== undefined ? u32Bytes(ref) : encodeValueOrFlag(t, kv.value!, `update ${m.label}`);
        const r = d.mapUpdateElem(m.fd, key, value, flags);
        if (r === -17) throw new CliError(`update ${m.label}: key ${t.key.format(key, 0)} exists (noexist)`, ExitCode.failure);
        if (r === -2 && flags === BPF_EXIST) throw new CliError(`update ${m.label}: key ${t.key.format(key, 0)} not found (exist)`, ExitCode.notFound);
        if (r === -1) throw writeRefused("update", d, m);
        // Arrays answer E2BIG for an index past max_entries; only the hash family fills up.
        if (r === -7 && isArrayType(m.info.type)) throw indexOutOfRange("update", m, key);
        if (r === -7) throw new CliError(`update ${m.label}: the map is full (${m.info.maxEntries} entries): ${errnoText(7)}`, ExitCode.failure, "delete entries or create a larger map");
        // bpf_fd_array_map_update_elem takes BPF_ANY only: its EINVAL is the flag, not the value.
        if (r === -22 && flags !== BPF_ANY && isFdArrayType(m.info.type)) {
          throw new CliError(`update ${m.label}: a ${mapTypeKernelName(m.info.type)} map takes only \`any\`, not \`${kv.flagText}\` (invalid argument)`, ExitCode.failure,
            "every slot of an array of fds exists, empty or not: drop the flag");
        }
        if (r === -22 && ref !== undefined) {
          throw new CliError(`update ${m.label}: the kernel refused ${kv.value!.trim()} (invalid argument)`, ExitCode.failure,
            m.info.type === BPF_MAP_TYPE_PROG_ARRAY
              ? "a PROG_ARRAY holds programs of one type (the type of the first program stored)"
              : "an inner map must match the template the outer map was created with: type, key and value size, flags, max entries");
        }
        must(r, `update ${m.label}`);
      } finally {
        if (ref !== undefined) d.close(ref);
      }
      if (!ctx.quiet && !ctx.json) ctx.io.stderr(`updated ${m.label}\n`);
      if (ctx.json) ctx.emit(() => "", () => ({ updated: true, key: t.key.json(key, 0) }));
      return 0;
    });
  },
};

/**
 * EPERM on a write through an fd this command just opened read-write: privileges were enough to
 * open it, so the map is frozen (or the fd may not write). Exit 1, not 3: no sudo will help.
 */
export function writeRefused(op: string, d: Driver, m: OpenedMap): CliError {
  const why = whyWriteRefused(d, m, "the map is frozen (BPF_MAP_FREEZE), so user space may only read it");
  return new CliError(`${op} ${m.label}: operation not permitted: ${why}`, ExitCode.failure);
}

/**
 * Why the kernel refused this fd a write or a freeze with EPERM: the map is frozen (`frozen`
 * says so in the caller's words) or something refuses this fd writes. fdinfo tells the two
 * apart. The frozen probe of a driver without it is itself a write, so it cannot clear the map:
 * it says frozen where it can and both where it cannot.
 */
function whyWriteRefused(d: Driver, m: OpenedMap, frozen: string): string {
  const facts = mapFdFacts(d, m.fd);
  const isFrozen = facts?.frozen ?? mapFrozen(d, m.fd, m.info);
  if (isFrozen === true) return frozen;
  if (facts?.frozen === false) return "the map is not frozen, so something refuses this fd writes (an LSM, or a read-only fd)";
  return `${frozen}, or this fd is read-only`;
}

function indexOutOfRange(op: string, m: OpenedMap, key: Uint8Array): CliError {
  const index = new DataView(key.buffer, key.byteOffset).getUint32(0, true);
  return new CliError(`${op} ${m.label}: index ${index} is out of range: the array has ${m.info.maxEntries} entries (0 to ${m.info.maxEntries - 1})`, ExitCode.failure);
}

/** Array types: a fixed u32 index space, E2BIG past max_entries (array_map_update_elem). */
function isArrayType(t: number): boolean {
  return t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PROG_ARRAY || t === BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
    t === BPF_MAP_TYPE_PERCPU_ARRAY || t === BPF_MAP_TYPE_CGROUP_ARRAY || t === BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

/** Arrays of fds, which the kernel updates through bpf_fd_array_map_update_elem. */
function isFdArrayType(t: number): boolean {
  return t === BPF_MAP_TYPE_PROG_ARRAY || t === BPF_MAP_TYPE_PERF_EVENT_ARRAY || t === BPF_MAP_TYPE_CGROUP_ARRAY || t === BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

function u32Bytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** The fd a map-in-map or PROG_ARRAY update stores: the inner object by id or pin. */
function openValueRef(d: Driver, m: OpenedMap, text: string): number {
  const t = text.trim();
  const isProg = m.info.type === BPF_MAP_TYPE_PROG_ARRAY;
  const what = isProg ? "program" : "map";
  const idm = /^(?:id\s+)?(\d+)$/.exec(t);
  let fd: number;
  if (idm) fd = isProg ? d.progGetFdById(Number(idm[1])) : d.mapGetFdById(Number(idm[1]));
  else if (t.startsWith("/") || t.startsWith("pinned ")) {
    const path = t.replace(/^pinned\s+/, "");
    fd = d.objGet(path);
    const why = objGetProblem(d, path, fd);
    if (why !== undefined) throw why;
  } else throw usageError(`value ${JSON.stringify(t)}: ${m.label} holds ${what}s; give \`id N\` or a pinned path`);
  if (fd === -2) throw new CliError(`no ${what} ${t}`, ExitCode.notFound);
  must(fd, `open ${what} ${t}`);
  // A pin may hold a map, a program or a link; the kernel would only say EINVAL for the wrong one.
  const k = objectKind(d, fd);
  if (typeof k !== "number" && k.kind !== (isProg ? "prog" : "map")) {
    d.close(fd);
    throw new CliError(`value ${t}: ${m.label} holds ${what}s, and that is ${isProg ? "not a program but " : ""}${describeKind(k)}`, ExitCode.failure);
  }
  return fd;
}

export const mapDeleteCommand: Command = {
  name: "map delete",
  summary: "delete one key",
  usage: "map delete MAP key KEY… [--key-type T] [--raw]",
  details: `${MAP_REF_USAGE}.\n${HEX_NOTE}\nExit code 4 when the key is not in the map.\n${KEY_BTF_NOTE}`,
  options: { ...KEY_TYPE_OPTIONS },
  async run(ctx, args, opts) {
    checkTypeOptions(opts);
    return withMap(ctx, args, (rest) => keyValueArgs(rest, false, this.usage), (d, m, kv) => {
      const t = elemTypes(m.info, opts, d.possibleCpus, m.label, btfSource(ctx, d));
      const key = encodeKey(t, kv.key, `delete ${m.label}`);
      const r = d.mapDeleteElem(m.fd, key);
      if (r === -2) throw new CliError(`delete ${m.label}: key ${t.key.format(key, 0)} not found`, ExitCode.notFound);
      if (r === -1) throw writeRefused("delete", d, m);
      // Arrays of fds answer E2BIG for an index past max_entries (fd_array_map_delete_elem).
      if (r === -7 && isFdArrayType(m.info.type)) throw indexOutOfRange("delete", m, key);
      if (r === -22 && (m.info.type === 2 || m.info.type === 6)) throw new CliError(`delete ${m.label}: array elements cannot be deleted (EINVAL); update them to zero instead`, ExitCode.failure);
      must(r, `delete ${m.label}`);
      if (!ctx.quiet && !ctx.json) ctx.io.stderr(`deleted from ${m.label}\n`);
      if (ctx.json) ctx.emit(() => "", () => ({ deleted: true, key: t.key.json(key, 0) }));
      return 0;
    });
  },
};

export const mapPinCommand: Command = {
  name: "map pin",
  summary: "pin a map at a path on bpffs",
  usage: "map pin MAP PATH",
  details: `${MAP_REF_USAGE}.\nPATH is taken as given (a relative one is from the current directory, not under the map root).\n` +
    "PATH must be on a mounted bpffs: unlike bpftool, which mounts bpffs over a directory that is not on one,\n" +
    "bpfkit mounts nothing here (it fails, exit 1; `bpfkit mount DIR` mounts one).",
  options: {},
  async run(ctx, args) {
    const onePath = (rest: readonly string[]) => {
      if (rest[0] === undefined || rest.length > 1) throw usageError("map pin needs one PATH after the map", `usage: bpfkit ${this.usage}`);
      return rest[0];
    };
    return withMap(ctx, args, onePath, (d, m, path) => {
      // `to`: the label may end in the map's own pin (`map 12 at /a`).
      const subject = `pin ${m.label} to ${path}`;
      const problem = pinPathProblem(d, path, subject);
      if (problem !== undefined) throw problem;
      const r = d.objPin(m.fd, path);
      if (r === -17) throw new CliError(`${subject}: something is already pinned there`, ExitCode.failure);
      if (r === -2) throw new CliError(`${subject}: the directory does not exist`, ExitCode.notFound);
      must(r, `pin ${m.label}`, path);
      if (!ctx.quiet && !ctx.json) ctx.io.stderr(`pinned ${m.label}${m.path !== undefined ? " also" : ""} at ${path}\n`);
      if (ctx.json) ctx.emit(() => "", () => ({ pinned: path, id: m.info.id }));
      return 0;
    });
  },
};

export const mapNextCommand: Command = {
  name: "map next",
  summary: "the key after KEY (or the first key), as BPF_MAP_GET_NEXT_KEY answers",
  usage: "map next MAP [key KEY…] [--key-type T] [--raw]",
  details: `${MAP_REF_USAGE}.\n${HEX_NOTE}\nWithout a key: the first key. A key that is not in the map gives the first key again on hash maps and LPM\ntries (the kernel restarts), index 0 on arrays. Exit code 4 after the last key.\n${KEY_BTF_NOTE}\n${READ_ONLY_NOTE}`,
  options: { ...KEY_TYPE_OPTIONS },
  examples: ["bpfkit map next id 12", "bpfkit map next id 12 key 0a 00 00 01"],
  async run(ctx, args, opts) {
    checkTypeOptions(opts);
    const keyText = (rest: readonly string[]) => (rest.length === 0 ? null : keyValueArgs(rest, false, this.usage).key);
    return withMap(ctx, args, keyText, (d, m, text) => {
      const t = elemTypes(m.info, opts, d.possibleCpus, m.label, btfSource(ctx, d));
      const key = text === null ? null : encodeKey(t, text, `next key ${m.label}`);
      const next = new Uint8Array(t.keySize);
      const r = d.mapGetNextKey(m.fd, key, next);
      if (r === -2) throw new CliError(`${m.label}: no key after ${key === null ? "the start (the map is empty)" : t.key.format(key, 0)}`, ExitCode.notFound);
      must(r, `next key ${m.label}`);
      ctx.emit(() => `next key: ${t.key.format(next, 0)}\n`, () => ({ key: key === null ? null : t.key.json(key, 0), next: t.key.json(next, 0) }));
      return 0;
    }, BPF_F_RDONLY);
  },
};

export const mapFreezeCommand: Command = {
  name: "map freeze",
  summary: "make a map read-only for user space (BPF_MAP_FREEZE); programs may still write it",
  usage: "map freeze MAP",
  details: `${MAP_REF_USAGE}.\nThere is no unfreeze: the map stays frozen until it is freed.`,
  options: {},
  async run(ctx, args) {
    return withMap(ctx, args, nothingAfterMap(this.usage), (d, m) => {
      const r = d.mapFreeze(m.fd);
      // A frozen map is no longer writable, so a second freeze is EPERM (kernel-maps.md §4.2).
      if (r === -1) {
        const why = whyWriteRefused(d, m, "the map is already frozen (there is no unfreeze)");
        throw new CliError(`freeze ${m.label}: not permitted: ${why}`, ExitCode.failure);
      }
      if (r === -16) throw new CliError(`freeze ${m.label}: busy: already frozen, or mapped writable`, ExitCode.failure);
      must(r, `freeze ${m.label}`);
      if (!ctx.quiet && !ctx.json) ctx.io.stderr(`froze ${m.label}\n`);
      if (ctx.json) ctx.emit(() => "", () => ({ frozen: true, id: m.info.id }));
      return 0;
    });
  },
};
