// The kernel's lower-case names for map types, program types and map flags, as bpftool prints
// them (enum bpf_map_type / bpf_prog_type of 6.18, without the BPF_MAP_TYPE_ prefix).

const MAP_TYPES = [
  "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
  "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
  "hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
  "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
  "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter", "user_ringbuf",
  "cgrp_storage", "arena",
] as const;

const PROG_TYPES = [
  "unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp",
  "perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops",
  "sk_skb", "cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local",
  "lirc_mode2", "sk_reuseport", "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable",
  "cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall", "netfilter",
] as const;

const MAP_FLAGS = [
  "no_prealloc", "no_common_lru", "numa_node", "rdonly", "wronly", "stack_build_id",
  "zero_seed", "rdonly_prog", "wronly_prog", "clone", "mmapable", "preserve_elems",
  "inner_map", "link", "path_fd", "vtype_btf_obj_fd", "token_fd", "segv_on_fault", "no_user_conv",
] as const;

/** Number of map types this table knows (the kernel's `__MAX_BPF_MAP_TYPE` on 6.18). */
export const MAP_TYPE_COUNT = MAP_TYPES.length;

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
  const i = MAP_TYPES.indexOf(norm as (typeof MAP_TYPES)[number]);
  if (i > 0) return i;
  // The seed's CamelCase names (LRUHash, PerCPUArray, LPMTrie).
  const squashed = norm.replace(/_/g, "");
  const j = MAP_TYPES.findIndex((n) => n.replace(/_/g, "") === squashed);
  return j > 0 ? j : undefined;
}

/** `zero_seed|no_prealloc` for 0x41; `0` for none; unknown bits as hex. */
export function mapFlagsText(flags: number): string {
  if (flags === 0) return "0";
  const parts: string[] = [];
  let rest = flags >>> 0;
  for (let bit = 0; bit < MAP_FLAGS.length; bit++) {
    if (rest & (1 << bit)) {
      parts.push(MAP_FLAGS[bit]!);
      rest &= ~(1 << bit);
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.join("|");
}

/** Map flags from `zero_seed,no_prealloc`, `0x41` or `65`. */
export function parseMapFlags(s: string): number | undefined {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) return Number(s);
  let flags = 0;
  for (const part of s.split(/[,|]/)) {
    const name = part.trim().toLowerCase().replace(/^bpf_f_/, "");
    if (name === "") continue;
    const bit = MAP_FLAGS.indexOf(name as (typeof MAP_FLAGS)[number]);
    if (bit < 0) return undefined;
    flags |= 1 << bit;
  }
  return flags >>> 0;
}
