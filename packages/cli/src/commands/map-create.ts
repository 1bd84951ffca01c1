// `bpfkit map create`: a map from the command line, pinned so it outlives the command.
import {
  BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_USER_RINGBUF, BPF_F_NO_PREALLOC, driverPageSize, driverProber, Errno, errnoName, kernelNameProblem,
  MAX_BLOOM_HASH_FUNCTIONS, btfForMap, bytes, loadBtf, probeTellsMapType, type MapBtf,
  type Driver } from "@bpfkit/core";
import { CliError, ExitCode, must, permissionHint, usageError } from "../cli-error.js";
import { flag, str, type Command } from "../command.js";
import { freshSimNote, isFreshSim } from "../driver-select.js";
import { isKeylessValueMap } from "../elem-types.js";
import { MAP_REF_USAGE, mapInfo, mapLabel, openMapRef, parseMapRef } from "../map-ref.js";
import { pinPathProblem } from "../pin-path.js";
import { closest } from "../did-you-mean.js";
import { MAP_FLAG_NAMES, mapTypeKernelName, mapTypeNames, parseMapFlags, parseMapType, unknownMapFlag } from "../names.js";
import { parseType } from "../types.js";
import { mapJson } from "./maps.js";

function size(opts: Record<string, unknown>, name: string, typeOpt: string): number {
  const v = opts[name];
  const t = opts[typeOpt];
  const fromType = typeof t === "string" ? parseType(t) : undefined;
  if (typeof v === "string") {
    const n = count(v, name);
    // Both given and different: which one was meant is a guess, so neither wins silently.
    if (fromType !== undefined && fromType.size !== n) throw usageError(`--${name} ${n} and --${typeOpt} ${fromType.spec} (${fromType.size} bytes) disagree`);
    return n;
  }
  if (fromType !== undefined) return fromType.size;
  throw usageError(`--${name} (or --${typeOpt}) is required`);
}

/** A size or count of MAP_CREATE: a u32 field of union bpf_attr, named as the option. */
function count(v: string, name: string): number {
  if (!/^\d+$/.test(v)) throw usageError(`--${name} ${v}: expected a non-negative integer`);
  const n = Number(v);
  if (n > 0xffffffff) throw usageError(`--${name} ${v}: more than a u32 holds (4294967295)`);
  return n;
}

/** A number given for a u32 field (`--type 4294967296`) is refused by its option's name, not the driver's field name. */
function u32Field(n: number, name: string, text: string): void {
  if (n > 0xffffffff) throw usageError(`--${name} ${text}: more than a u32 holds (4294967295)`);
}

/** Array types: a u32 index for a key (kernel-maps.md §3.3, "must be 4"). */
const INDEX_KEYED = new Set([BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS]);
/**
 * Types some of whose sizes are 0 by rule: the storages' max entries, the keyless queue, stack
 * and bloom filter, the ring buffers and the arena.
 */
const ZERO_SIZED = new Set([19, 21, 22, 23, 24, 27, 28, 29, 30, 31, 32, 33]);
/** Types whose values are a 4-byte fd going in and an id coming out. */
const FD_VALUED = new Set([BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS]);

/**
 * Which size made the kernel's EINVAL, where kernel-maps.md §3.3 says one size alone does: an
 * operator who gives an array 8-byte keys is told that, not "these attributes".
 */
function sizeProblem(mapType: number, keySize: number, valueSize: number, maxEntries: number): string | undefined {
  const name = mapTypeKernelName(mapType);
  const zeros = keySize === 0 || valueSize === 0 || maxEntries === 0;
  if (zeros && !ZERO_SIZED.has(mapType)) return "key size, value size and max entries must each be at least 1";
  if (INDEX_KEYED.has(mapType) && keySize !== 4) return `${name} keys are u32 indexes: --key-size 4 (not ${keySize})`;
  if (FD_VALUED.has(mapType) && valueSize !== 4) return `${name} values are 4-byte fds (ids when read): --value-size 4 (not ${valueSize})`;
  if (mapType === BPF_MAP_TYPE_LPM_TRIE && (keySize < 5 || keySize > 260)) {
    return `lpm_trie keys are a u32 prefix length and 1 to 256 bytes of data: --key-size 5 to 260 (8 for IPv4, --key-type lpm4; 20 for IPv6), not ${keySize}`;
  }
  return undefined;
}

/**
 * What a queue, stack or bloom filter refused with EINVAL was given that its type takes no part in
 * (queue_stack_map_alloc_check, bloom_map_alloc): a key, a zero size, or a flag.
 */
function keylessProblem(mapType: number, keySize: number, valueSize: number, maxEntries: number, flags: number): string | undefined {
  if (mapType !== BPF_MAP_TYPE_QUEUE && mapType !== BPF_MAP_TYPE_STACK && mapType !== BPF_MAP_TYPE_BLOOM_FILTER) return undefined;
  const name = mapTypeKernelName(mapType);
  if (keySize !== 0) return `a ${name} has no keys: --key-size 0 (or leave it out), not ${keySize}`;
  if (valueSize === 0 || maxEntries === 0) return `a ${name} needs --value-size and --max-entries of at least 1`;
  const takes = ["numa_node", "rdonly", "wronly", "rdonly_prog", "wronly_prog", ...(mapType === BPF_MAP_TYPE_BLOOM_FILTER ? ["zero_seed"] : [])];
  const mask = takes.reduce((m, f) => m | (1 << MAP_FLAG_NAMES.indexOf(f)), 0);
  if (((flags >>> 0) & ~mask) !== 0) return `a ${name} takes no flags but ${takes.join(", ")}`;
  return undefined;
}

/** The ring buffers: no keys, no values, max_entries their size in bytes (ringbuf_map_alloc). */
const RING_TYPES = new Set([BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF]);

/** What a ring buffer refused with EINVAL was given that it takes no part in: sizes, or a size in bytes it cannot have. */
function ringProblem(mapType: number, keySize: number, valueSize: number, maxEntries: number, page: number): string | undefined {
  if (!RING_TYPES.has(mapType)) return undefined;
  const name = mapTypeKernelName(mapType);
  if (keySize !== 0 || valueSize !== 0) return `a ${name} has no keys or values: leave out --key-size and --value-size (0), and give its size in bytes as --max-entries`;
  if ((maxEntries & (maxEntries - 1)) !== 0 || maxEntries % page !== 0) {
    return `a ${name}'s --max-entries is its size in bytes: a power of 2 and a multiple of the page (${page}), not ${maxEntries}`;
  }
  return undefined;
}

/** `--type hsh`: the type it most likely mistypes, else every type's name, as bpftool's help lists them. */
function notAMapType(option: string, text: string) {
  const names = mapTypeNames();
  const guess = closest(text.toLowerCase().replace(/^bpf_map_type_/, "").replace(/-/g, "_"), names);
  return usageError(`--${option} ${text}: not a map type`, guess !== undefined ? `did you mean ${guess}?` : `map types: ${names.join(", ")}`);
}

/** `--flags noprealloc`: names the word not known, and the flag it most likely mistypes. */
function unknownFlag(option: string, text: string) {
  const word = unknownMapFlag(text) ?? text;
  const guess = closest(word.toLowerCase().replace(/^bpf_f_/, ""), MAP_FLAG_NAMES);
  return usageError(`--${option} ${text}: unknown flag ${JSON.stringify(word)}`, guess !== undefined ? `did you mean ${guess}?` : `flags: ${MAP_FLAG_NAMES.join(", ")}, or a number`);
}

export const mapCreateCommand: Command = {
  name: "map create",
  summary: "create a map and pin it",
  usage: "map create PATH --type TYPE --key-size N --value-size N --max-entries N [--flags F] [--name NAME] [--hash-funcs N] [--btf]",
  details: "TYPE is a kernel name (hash, array, lru_hash, percpu_hash, lpm_trie, …) or number.\n" +
    "Sizes may come from types instead: --key-type 'struct{ip:ipv4,port:be16}' --value-type u64.\n" +
    "A queue, stack or bloom filter takes no --key-size; a ringbuf neither --key-size nor --value-size: its\n" +
    "--max-entries is its size in bytes (a power of 2 and a multiple of the page).\n" +
    "FLAGS: names joined by commas (no_prealloc,zero_seed) or a number; without --flags, an lpm_trie gets\n" +
    "no_prealloc (the kernel has no preallocated trie) and every other type 0.\n" +
    "PATH is taken as given: a relative one is from the current directory, not under the map root (only MAP's bare\n" +
    "names are looked up there).\n" +
    "The pin path is checked first: a taken path (exit 1) or a missing directory (exit 4) creates nothing, nor does\n" +
    "a path off bpffs (exit 1: unlike bpftool, bpfkit mounts no bpffs there; `bpfkit mount DIR` does).\n" +
    "Map-in-map types take their inner template from --inner-type/--inner-key-size/--inner-value-size/--inner-max-entries/--inner-flags\n" +
    "(default: a 1-entry 4/4 array; an lpm_trie template gets no_prealloc), or from an existing map with --inner-map MAP\n" +
    "(bpftool's inner_map MAP; MAP as for map show, quoted: --inner-map 'id 12').\n" +
    "Inner maps stored later must match the template's type, sizes, max entries and flags.\n" +
    "A queue, stack or bloom_filter has no keys: --key-size defaults to 0 for them. A bloom_filter takes --hash-funcs N\n" +
    "(1 to 15, its map_extra; default the kernel's 5).\n" +
    "--btf creates the map with BTF describing its key and value as --key-type/--value-type declare them (a struct's\n" +
    "fields by name, integers as __u32, __be16, …; a size without a type is __u8[N]), so that `bpfkit map dump` and\n" +
    "bpftool print its elements by field. bpftool's map create gives no BTF, and neither does bpfkit without --btf.\n" +
    "The kernel checks the BTF against the map type: a queue or stack takes none (EINVAL), nor a map of maps or a\n" +
    "perf event array (ENOTSUPP), and an lpm_trie's key must be a struct (--key-type lpm4 or lpm6).",
  options: {
    type: { type: "string", arg: "TYPE", help: "map type" },
    "key-size": { type: "string", arg: "N", help: "key bytes" },
    "value-size": { type: "string", arg: "N", help: "value bytes (per-CPU maps: one CPU's)" },
    "key-type": { type: "string", arg: "TYPE", help: "takes the key size from a type" },
    "value-type": { type: "string", arg: "TYPE", help: "takes the value size from a type" },
    "max-entries": { type: "string", arg: "N", help: "capacity" },
    flags: { type: "string", arg: "FLAGS", help: "creation flags" },
    name: { type: "string", arg: "NAME", help: "kernel name (at most 15 of [A-Za-z0-9_.])" },
    "inner-type": { type: "string", arg: "TYPE", help: "inner template type for map-in-map (default array)" },
    "inner-key-size": { type: "string", arg: "N", help: "inner template key bytes (default 4)" },
    "inner-value-size": { type: "string", arg: "N", help: "inner template value bytes (default 4)" },
    "inner-max-entries": { type: "string", arg: "N", help: "inner template capacity (default 1)" },
    "inner-flags": { type: "string", arg: "FLAGS", help: "inner template creation flags (default as for --flags)" },
    "inner-map": { type: "string", arg: "MAP", help: "an existing map as the inner template (instead of the other --inner-* options)" },
    "hash-funcs": { type: "string", arg: "N", help: "a bloom_filter's number of hash functions, 1 to 15 (map_extra; default 5)" },
    btf: { type: "boolean", help: "create the map with BTF of its --key-type and --value-type, so that it dumps by field" },
  },
  examples: [
    "bpfkit map create /sys/fs/bpf/ct --type lru_hash --key-type 'struct{src:ipv4,dst:ipv4,sport:be16,dport:be16,proto:u8}' --value-size 16 --max-entries 65536",
    "bpfkit map create /sys/fs/bpf/routes --type lpm_trie --key-type lpm4 --value-size 4 --max-entries 1024",
    "bpfkit map create /sys/fs/bpf/events --type queue --value-type u32 --max-entries 64",
    "bpfkit map create /sys/fs/bpf/seen --type bloom_filter --value-type ipv4 --max-entries 4096 --hash-funcs 3",
    "bpfkit map create /sys/fs/bpf/events_rb --type ringbuf --max-entries 65536",
    "bpfkit map create /sys/fs/bpf/flows --type hash --key-type 'struct{ip:ipv4,port:be16}' --value-type 'struct{packets:u64,bytes:u64}' --max-entries 1024 --btf",
  ],
  async run(ctx, args, opts) {
    const path = args[0];
    if (path === undefined || args.length > 1) throw usageError("map create needs one PATH to pin the map at", `usage: bpfkit ${this.usage}`);
    const typeText = str(opts, "type");
    if (typeText === undefined) throw usageError("--type is required (hash, array, lru_hash, lpm_trie, …)");
    const mapType = parseMapType(typeText);
    if (mapType === undefined) throw notAMapType("type", typeText);
    u32Field(mapType, "type", typeText);
    const maxText = str(opts, "max-entries");
    if (maxText === undefined) throw usageError("--max-entries N is required");
    count(maxText, "max-entries");
    const flagsText = str(opts, "flags");
    // The kernel has no preallocated trie (trie_alloc), so an lpm_trie's only workable default is
    // no_prealloc, as pkg/bpf's GetPreAllocateMapFlags gives; every other type defaults to 0.
    const mapFlags = flagsText !== undefined ? parseMapFlags(flagsText) : mapType === BPF_MAP_TYPE_LPM_TRIE ? BPF_F_NO_PREALLOC : 0;
    if (mapFlags === undefined) throw unknownFlag("flags", flagsText!);
    u32Field(mapFlags, "flags", flagsText!);
    const name = str(opts, "name");
    // The kernel's bpf_obj_name_cpy rule (core's, as MapSpec.kernelName); checked here so a bad name is not a bare EINVAL.
    // Core's reason names the offending character: a trailing space or a look-alike dash is not visible otherwise.
    const nameProblem = name === undefined ? undefined : kernelNameProblem(name);
    if (nameProblem !== undefined) throw usageError(`--name ${JSON.stringify(name)}: ${nameProblem}`);
    const isMapInMap = mapType === BPF_MAP_TYPE_ARRAY_OF_MAPS || mapType === BPF_MAP_TYPE_HASH_OF_MAPS;
    const innerTypeText = str(opts, "inner-type");
    const innerType = innerTypeText === undefined ? BPF_MAP_TYPE_ARRAY : parseMapType(innerTypeText);
    if (innerType === undefined) throw notAMapType("inner-type", innerTypeText!);
    u32Field(innerType, "inner-type", innerTypeText!);
    const num = (k: string, dflt: number) => { const v = str(opts, k); return v === undefined ? dflt : count(v, k); };
    // The template's flags must equal those of every inner map stored later (bpf_map_meta_equal),
    // and a trie template needs no_prealloc as an outer trie does.
    const innerFlagsText = str(opts, "inner-flags");
    const innerFlags = innerFlagsText !== undefined ? parseMapFlags(innerFlagsText) : innerType === BPF_MAP_TYPE_LPM_TRIE ? BPF_F_NO_PREALLOC : 0;
    if (innerFlags === undefined) throw unknownFlag("inner-flags", innerFlagsText!);
    u32Field(innerFlags, "inner-flags", innerFlagsText!);
    const innerAttr = {
      mapType: innerType, keySize: num("inner-key-size", 4), valueSize: num("inner-value-size", 4), maxEntries: num("inner-max-entries", 1), mapFlags: innerFlags,
    };
    const innerGiven = ["inner-type", "inner-key-size", "inner-value-size", "inner-max-entries", "inner-flags", "inner-map"].filter((k) => str(opts, k) !== undefined);
    if (!isMapInMap && innerGiven.length > 0) throw usageError(`--${innerGiven[0]} is for array_of_maps and hash_of_maps only`);
    // bpftool's inner_map: an existing map is the template, so nothing describes it twice.
    const innerMapText = str(opts, "inner-map");
    const innerRef = innerMapText === undefined ? undefined : parseMapRef(innerMapText.trim().split(/\s+/), 0);
    if (innerRef !== undefined && (innerRef.next !== innerMapText!.trim().split(/\s+/).length || innerGiven.length > 1)) {
      throw usageError(innerGiven.length > 1 ? `--inner-map and --${innerGiven.find((k) => k !== "inner-map")} disagree: the map given is the whole template` : `--inner-map ${innerMapText}: one map`, MAP_REF_USAGE);
    }
    // Read before the driver is made: a missing size or a bad type is exit 2, never exit 3 for
    // want of bpf(2) or exit 1 for a taken path.
    // A queue, stack or bloom filter has no keys, a ring buffer neither keys nor values: their
    // sizes are 0 unless given.
    const ring = RING_TYPES.has(mapType);
    const keySize = (isKeylessValueMap(mapType) || ring) && str(opts, "key-size") === undefined && str(opts, "key-type") === undefined
      ? 0 : size(opts, "key-size", "key-type");
    const hashFuncsText = str(opts, "hash-funcs");
    let mapExtra: bigint | undefined;
    if (hashFuncsText !== undefined) {
      if (mapType !== BPF_MAP_TYPE_BLOOM_FILTER) throw usageError(`--hash-funcs is for bloom_filter only (its map_extra), not ${mapTypeKernelName(mapType)}`);
      const n = count(hashFuncsText, "hash-funcs");
      if (n < 1 || n > MAX_BLOOM_HASH_FUNCTIONS) throw usageError(`--hash-funcs ${hashFuncsText}: a bloom filter takes 1 to ${MAX_BLOOM_HASH_FUNCTIONS} hash functions (map_extra's low 4 bits)`);
      mapExtra = BigInt(n);
    }
    const valueSize = ring && str(opts, "value-size") === undefined && str(opts, "value-type") === undefined
      ? 0 : size(opts, "value-size", "value-type");
    const btf = flag(opts, "btf") ? mapBtfOf(opts, mapType, keySize, valueSize) : undefined;
    const d = await ctx.driver();
    // Checked before the map exists: a map made for a taken path was only freed again. The pin
    // below still answers EEXIST when the path is taken in between, and the map is freed then.
    const pinProblem = pinPathProblem(d, path, `pin at ${path}`, "; nothing was created");
    if (pinProblem !== undefined) throw pinProblem;
    let inner = -1;
    if (innerRef !== undefined) inner = openMapRef(d, innerRef.ref, ctx.mapRoot(d)).fd;
    else if (isMapInMap) inner = must(d.mapCreate(innerAttr), "create inner template map");
    let fd: number;
    let btfFd = -1;
    try {
      // The map holds the BTF object; this fd is only for the create.
      if (btf !== undefined) btfFd = loadBtf({ driver: d, metrics: undefined }, btf.btf).fd;
      fd = d.mapCreate({
        mapType, keySize, valueSize,
        maxEntries: Number(maxText), mapFlags, ...(inner >= 0 ? { innerMapFd: inner } : {}), ...(name !== undefined ? { mapName: name } : {}),
        ...(mapExtra !== undefined ? { mapExtra } : {}),
        ...(btf !== undefined ? { btfFd, btfKeyTypeId: btf.keyTypeId, btfValueTypeId: btf.valueTypeId } : {}),
      });
    } finally {
      if (inner >= 0) d.close(inner);
      if (btfFd >= 0) d.close(btfFd);
    }
    if (fd < 0) {
      // Flags given without no_prealloc: the kernel has no preallocated trie (trie_alloc).
      const lpmHint = fd === -22 && mapType === BPF_MAP_TYPE_LPM_TRIE && (mapFlags & BPF_F_NO_PREALLOC) === 0
        ? "an lpm_trie needs --flags no_prealloc" : undefined;
      const sizeHint = fd === -22
        ? keylessProblem(mapType, keySize, valueSize, Number(maxText), mapFlags) ?? ringProblem(mapType, keySize, valueSize, Number(maxText), driverPageSize(d)) ??
          sizeProblem(mapType, keySize, valueSize, Number(maxText))
        : undefined;
      const missing = missingType(d, mapType, fd);
      // The local storages and struct_ops are made only with their BTF type ids, which a create
      // from sizes cannot give: their EINVAL is that, whatever the sizes.
      const btfNeeded = fd === -22 && !probeTellsMapType(mapType)
        ? `a ${mapTypeKernelName(mapType)} map needs BTF type information, which bpfkit map create cannot give` : undefined;
      const btfWhy = btf === undefined ? undefined
        : fd === -524 ? `${article(mapTypeKernelName(mapType))} map takes no BTF: leave out --btf`
        : fd === -22 ? `the kernel rejects these attributes, or the BTF, for this type${mapType === BPF_MAP_TYPE_QUEUE || mapType === BPF_MAP_TYPE_STACK ? ` (a ${mapTypeKernelName(mapType)} takes no BTF: leave out --btf)` : mapType === BPF_MAP_TYPE_LPM_TRIE ? " (with --btf, an lpm_trie's key must be a struct: --key-type lpm4 or lpm6)" : ""}` : undefined;
      const why = missing ?? btfNeeded ?? btfWhy ?? (fd === -22 ? "the kernel rejects these attributes for this type" : undefined);
      throw new CliError(`create ${mapTypeKernelName(mapType)} map: ${errnoName(fd)}${why !== undefined ? ` (${why})` : ""}`,
        fd === -1 ? ExitCode.permission : ExitCode.failure, fd === -1 ? permissionHint(Errno.EPERM, d) : missing !== undefined ? undefined : sizeHint ?? lpmHint);
    }
    try {
      const info = mapInfo(d, fd);
      const r = d.objPin(fd, path);
      if (r === -17) throw new CliError(`pin at ${path}: something is already pinned there (pinned since the check; the new map is freed)`, ExitCode.failure);
      if (r === -2) throw new CliError(`pin at ${path}: the directory does not exist`, ExitCode.notFound);
      must(r, "pin", path);
      if (!ctx.quiet && !ctx.json) ctx.io.stderr(`created ${mapLabel(info)}, pinned at ${path}\n`);
      if (!ctx.quiet && isFreshSim(d)) ctx.io.stderr(freshSimNote("the map"));
      if (ctx.json) ctx.emit(() => "", () => ({ ...mapJson(info), pinned: path, driver: d.kind }));
    } finally {
      d.close(fd);
    }
    return 0;
  },
};

/** `a hash`, `an array_of_maps`. */
function article(name: string): string {
  return `${/^[aeiou]/.test(name) ? "an" : "a"} ${name}`;
}

/**
 * `--btf`: the key and value as BTF, from --key-type/--value-type (raw bytes, `__u8[N]`, where only
 * a size was given). A map with no values (a ring buffer) has nothing to describe.
 */
function mapBtfOf(opts: Record<string, unknown>, mapType: number, keySize: number, valueSize: number): MapBtf {
  if (valueSize === 0) throw usageError(`--btf: ${article(mapTypeKernelName(mapType))} map has no keys or values for BTF to describe`);
  const typed = (name: string, n: number) => {
    const spec = opts[name];
    return typeof spec === "string" ? parseType(spec).codec : bytes(n);
  };
  return btfForMap(keySize === 0 ? null : typed("key-type", keySize), typed("value-type", valueSize));
}

/**
 * Why a create failed when the driver has no maps of the type at all: the kernel (or the
 * simulator, which lacks most types) refuses an unknown type with the same EINVAL as a bad size,
 * so blaming the attributes would send the user after the wrong mistake. Probed only after a
 * refusal, with a one-entry map of the type; BTF-only types cannot be probed and are not judged.
 */
function missingType(d: Driver, mapType: number, fd: number): string | undefined {
  if (fd !== -Errno.EINVAL && fd !== -Errno.ENOTSUPP && fd !== -Errno.EOPNOTSUPP) return undefined;
  if (!probeTellsMapType(mapType) || driverProber(d)(mapType)) return undefined;
  return `the ${d.kind === "sim" ? "simulator" : `${d.kind} driver`} has no ${mapTypeKernelName(mapType)} maps: a one-entry map of the type is refused too`;
}
