// The kernel's lower-case names for map types, program types and map flags, as bpftool prints
// them. Type names come from libbpf (libbpf_bpf_map_type_str): the BTF enum's constants without
// the BPF_MAP_TYPE_ / BPF_PROG_TYPE_ prefix, but for the aliases below.
import {
  BPF_MAP_TYPE_CGROUP_STORAGE, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, BTF_ENUM_BPF_MAP_TYPE, BTF_ENUM_BPF_PROG_TYPE,
  type BtfEnum,
} from "@bpfkit/core";

/** Each value's name: `overrides`, else its first constant with `prefix` (so not `__MAX_*`). */
function kernelNames(e: BtfEnum, prefix: string, overrides: Readonly<Record<number, string>> = {}): readonly string[] {
  const names: string[] = [];
  for (const [name, value] of e.values) {
    if (name.startsWith(prefix)) names[value] ??= overrides[value] ?? name.slice(prefix.length).toLowerCase();
  }
  return names;
}

// The BTF names these two values by their *_DEPRECATED constants first; libbpf (and so bpftool)
// prints the older names, kept as the later aliases.
const MAP_TYPES = kernelNames(BTF_ENUM_BPF_MAP_TYPE, "BPF_MAP_TYPE_", {
  [BPF_MAP_TYPE_CGROUP_STORAGE]: "cgroup_storage",
  [BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE]: "percpu_cgroup_storage",
});

const PROG_TYPES = kernelNames(BTF_ENUM_BPF_PROG_TYPE, "BPF_PROG_TYPE_");

const MAP_FLAGS = [
  "no_prealloc", "no_common_lru", "numa_node", "rdonly", "wronly", "stack_build_id",
  "zero_seed", "rdonly_prog", "wronly_prog", "clone", "mmapable", "preserve_elems",
  "inner_map", "link", "path_fd", "vtype_btf_obj_fd", "token_fd", "segv_on_fault", "no_user_conv",
] as const;

/** Every map type's name, in the kernel's order (without `unspec`, which is no type). */
export function mapTypeNames(): readonly string[] {
  return MAP_TYPES.filter((n, i) => i > 0 && n !== undefined);
}

/** Every map flag's name, bit 0 first. */
export const MAP_FLAG_NAMES: readonly string[] = MAP_FLAGS;

export function mapTypeKernelName(t: number): string {
  return MAP_TYPES[t] ?? `type_${t}`;
}

export function progTypeKernelName(t: number): string {
  return PROG_TYPES[t] ?? `type_${t}`;
}

/** A map type from a name (`hash`, `lru_hash`, `BPF_MAP_TYPE_LPM_TRIE`, `LPMTrie`) or number. */
export function parseMapType(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s);
  const norm = s.toLowerCase().replace(/^bpf_map_type_/, "").replace(/-/g, "_");
  const i = MAP_TYPES.indexOf(norm);
  if (i > 0) return i;
  // The seed's CamelCase names (LRUHash, PerCPUArray, LPMTrie).
  const squashed = norm.replace(/_/g, "");
  const j = MAP_TYPES.findIndex((n) => n.replace(/_/g, "") === squashed);
  return j > 0 ? j : undefined;
}

/** `zero_seed|no_prealloc` for 0x41; `0` for none; unknown bits as hex. */
export function mapFlagsText(flags: number): string {
  const names = mapFlagNames(flags);
  return names.length === 0 ? "0" : names.join("|");
}

/** Each set bit's name, low bit first; bits bpfkit has no name for as one `0x…` word. */
export function mapFlagNames(flags: number): string[] {
  const parts: string[] = [];
  let rest = flags >>> 0;
  for (let bit = 0; bit < MAP_FLAGS.length; bit++) {
    if (rest & (1 << bit)) {
      parts.push(MAP_FLAGS[bit]!);
      rest &= ~(1 << bit);
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts;
}

/** Map flags from `zero_seed,no_prealloc`, `0x41` or `65`. */
export function parseMapFlags(s: string): number | undefined {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) return Number(s);
  let flags = 0;
  for (const part of s.split(/[,|]/)) {
    const name = flagName(part);
    if (name === "") continue;
    const bit = MAP_FLAGS.indexOf(name as (typeof MAP_FLAGS)[number]);
    if (bit < 0) return undefined;
    flags |= 1 << bit;
  }
  return flags >>> 0;
}

/** The first word of `s` that parseMapFlags does not know, as written. */
export function unknownMapFlag(s: string): string | undefined {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) return undefined;
  return s.split(/[,|]/).map((p) => p.trim()).find((p) => p !== "" && !MAP_FLAGS.includes(flagName(p) as (typeof MAP_FLAGS)[number]));
}

const flagName = (part: string) => part.trim().toLowerCase().replace(/^bpf_f_/, "");
