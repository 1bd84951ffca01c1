// The kernel's numbers (include/uapi/linux/bpf.h, checked against the 6.18 BTF in
// spec/kernel-maps.md §1) and the seed's names for them.

/** bpf(2) commands (enum bpf_cmd). */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
} as const;
/** A bpf(2) command's name without its `BPF_` prefix (`MAP_CREATE`, `OBJ_PIN`, …), as in `BpfCmd`. */
export type BpfCmdName = keyof typeof BpfCmd;

const cmdNames: string[] = [];
for (const [name, n] of Object.entries(BpfCmd)) cmdNames[n] = name;
/** `BPF_MAP_CREATE`-style name of a command number, for messages. */
export function bpfCmdName(cmd: number): string {
  return cmdNames[cmd] !== undefined ? `BPF_${cmdNames[cmd]}` : `BPF_CMD_${cmd}`;
}

/** Map types (enum bpf_map_type), with the seed's names. */
export const MapType = {
  Unspec: 0,
  Hash: 1,
  Array: 2,
  ProgArray: 3,
  PerfEventArray: 4,
  PerCPUHash: 5,
  PerCPUArray: 6,
  StackTrace: 7,
  CgroupArray: 8,
  LRUHash: 9,
  LRUPerCPUHash: 10,
  LPMTrie: 11,
  ArrayOfMaps: 12,
  HashOfMaps: 13,
  DevMap: 14,
  SockMap: 15,
  CPUMap: 16,
  XSKMap: 17,
  SockHash: 18,
  /** The seed's bound: its MapType enum stops here. */
  MapTypeMaximum: 19,
} as const;
/** The seed's name of a map type (`Hash`, `LPMTrie`, …), as in `MapType`. */
export type MapTypeName = keyof typeof MapType;

/** The kernel's first invalid map type on 6.18 (`__MAX_BPF_MAP_TYPE`). */
export const MAX_BPF_MAP_TYPE = 34;

const mapTypeStrings: Record<number, string> = {
  1: "Hash", 2: "Array", 3: "Program array", 4: "Event array", 5: "Per-CPU hash",
  6: "Per-CPU array", 7: "Stack trace", 8: "Cgroup array", 9: "LRU hash",
  10: "LRU per-CPU hash", 11: "Longest prefix match trie", 12: "Array of maps",
  13: "Hash of maps", 14: "Device Map", 15: "Socket Map", 16: "CPU Redirect Map", 18: "Socket Hash",
};
/** The seed's `MapType.String()`: "Unknown" for Unspec, XSKMap and anything unnamed. */
export function mapTypeString(t: number): string {
  return mapTypeStrings[t] ?? "Unknown";
}

const mapTypeNames: string[] = [];
for (const [name, n] of Object.entries(MapType)) if (name !== "MapTypeMaximum") mapTypeNames[n] = name;
/** The seed's identifier for a map type number (`Hash`, `LPMTrie`, …), or `type(N)`. */
export function mapTypeName(t: number): string {
  return mapTypeNames[t] ?? `type(${t})`;
}

/** Program types (enum bpf_prog_type), with the seed's names. */
export const ProgType = {
  Unspec: 0,
  SocketFilter: 1,
  Kprobe: 2,
  SchedCls: 3,
  SchedAct: 4,
  Tracepoint: 5,
  Xdp: 6,
  PerfEvent: 7,
  CgroupSkb: 8,
  CgroupSock: 9,
  LwtIn: 10,
  LwtOut: 11,
  LwtXmit: 12,
  SockOps: 13,
  SkSkb: 14,
  CgroupDevice: 15,
  SkMsg: 16,
  RawTracepoint: 17,
  CgroupSockAddr: 18,
  LwtSeg6Local: 19,
  LircMode2: 20,
  SkReusePort: 21,
} as const;
/** The seed's name of a program type (`SocketFilter`, `Xdp`, …), as in `ProgType`. */
export type ProgTypeName = keyof typeof ProgType;

const progTypeStrings = [
  "Unknown", "Socket filter", "Kprobe", "Sched CLS", "Sched ACT", "Tracepoint", "XDP",
  "Perf event", "Cgroup skb", "Cgroup sock", "LWT in", "LWT out", "LWT xmit", "Sock ops",
  "Socket skb", "Cgroup device", "Socket msg", "Raw tracepoint", "Cgroup sockaddr",
];
/** The seed's `ProgType.String()`. */
export function progTypeString(t: number): string {
  return t > 0 && t < progTypeStrings.length ? progTypeStrings[t]! : "Unknown";
}

// The seed's BPF_MAP_TYPE_* names.
/** Map type 0, which names no map: the kernel refuses to create it (EINVAL). */
export const BPF_MAP_TYPE_UNSPEC = 0;
/** Hash table from fixed-size keys to fixed-size values (`BPF_MAP_TYPE_HASH`). */
export const BPF_MAP_TYPE_HASH = 1;
/**
 * Array indexed by a 4-byte key from 0 to max_entries−1, every slot present and zeroed at creation
 * (`BPF_MAP_TYPE_ARRAY`).
 */
export const BPF_MAP_TYPE_ARRAY = 2;
/** Array of program fds that BPF programs tail-call through (`BPF_MAP_TYPE_PROG_ARRAY`). */
export const BPF_MAP_TYPE_PROG_ARRAY = 3;
/** Array of perf event fds that programs send samples to (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`). */
export const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
/** Hash table with one value per possible CPU under each key (`BPF_MAP_TYPE_PERCPU_HASH`). */
export const BPF_MAP_TYPE_PERCPU_HASH = 5;
/** Array with one value per possible CPU in each slot (`BPF_MAP_TYPE_PERCPU_ARRAY`). */
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
/** Stack ids to the stack traces a program recorded (`BPF_MAP_TYPE_STACK_TRACE`). */
export const BPF_MAP_TYPE_STACK_TRACE = 7;
/** Array of cgroup fds, for programs that test cgroup membership (`BPF_MAP_TYPE_CGROUP_ARRAY`). */
export const BPF_MAP_TYPE_CGROUP_ARRAY = 8;
/** Hash table that evicts its least recently used elements when full (`BPF_MAP_TYPE_LRU_HASH`). */
export const BPF_MAP_TYPE_LRU_HASH = 9;
/** LRU hash table with one value per possible CPU under each key (`BPF_MAP_TYPE_LRU_PERCPU_HASH`). */
export const BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
/**
 * Longest-prefix-match trie: keys are a 4-byte prefix length followed by the address bytes
 * (`BPF_MAP_TYPE_LPM_TRIE`).
 */
export const BPF_MAP_TYPE_LPM_TRIE = 11;
/** Array whose values are maps: an fd on update, the inner map's id on lookup (`BPF_MAP_TYPE_ARRAY_OF_MAPS`). */
export const BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
/** Hash table whose values are maps: an fd on update, the inner map's id on lookup (`BPF_MAP_TYPE_HASH_OF_MAPS`). */
export const BPF_MAP_TYPE_HASH_OF_MAPS = 13;
/** Array of network devices that XDP programs redirect packets to (`BPF_MAP_TYPE_DEVMAP`). */
export const BPF_MAP_TYPE_DEVMAP = 14;
/** Array of sockets for sk_msg and sk_skb redirection (`BPF_MAP_TYPE_SOCKMAP`). */
export const BPF_MAP_TYPE_SOCKMAP = 15;
/** Array of CPUs that XDP programs redirect packets to (`BPF_MAP_TYPE_CPUMAP`). */
export const BPF_MAP_TYPE_CPUMAP = 16;
/** Array of AF_XDP sockets that XDP programs redirect packets to (`BPF_MAP_TYPE_XSKMAP`). */
export const BPF_MAP_TYPE_XSKMAP = 17;
/** Hash table of sockets for sk_msg and sk_skb redirection (`BPF_MAP_TYPE_SOCKHASH`). */
export const BPF_MAP_TYPE_SOCKHASH = 18;
/** Storage a cgroup program keeps per attached cgroup (`BPF_MAP_TYPE_CGROUP_STORAGE`). */
export const BPF_MAP_TYPE_CGROUP_STORAGE = 19;
/** Array of SO_REUSEPORT sockets that sk_reuseport programs select from (`BPF_MAP_TYPE_REUSEPORT_SOCKARRAY`). */
export const BPF_MAP_TYPE_REUSEPORT_SOCKARRAY = 20;

// The seed's BPF_* command names.
/** bpf(2) command that creates a map and returns its fd. */
export const BPF_MAP_CREATE = 0;
/** bpf(2) command that copies the value under a key (ENOENT when the key is absent). */
export const BPF_MAP_LOOKUP_ELEM = 1;
/** bpf(2) command that creates or replaces the value under a key, as its flags allow. */
export const BPF_MAP_UPDATE_ELEM = 2;
/** bpf(2) command that removes a key (ENOENT when absent). */
export const BPF_MAP_DELETE_ELEM = 3;
/**
 * bpf(2) command that gives the key after a given one, or the first key when the given one is absent (ENOENT at
 * the end).
 */
export const BPF_MAP_GET_NEXT_KEY = 4;
/** bpf(2) command that verifies and loads a program and returns its fd. */
export const BPF_PROG_LOAD = 5;
/** bpf(2) command that pins a map, program or link at a path in a bpffs. */
export const BPF_OBJ_PIN = 6;
/** bpf(2) command that opens the object pinned at a bpffs path and returns an fd to it. */
export const BPF_OBJ_GET = 7;
/** bpf(2) command that attaches a program to a cgroup, socket map or other hook. */
export const BPF_PROG_ATTACH = 8;
/** bpf(2) command that detaches a program that BPF_PROG_ATTACH attached. */
export const BPF_PROG_DETACH = 9;
/** bpf(2) command that runs a program once on given input and returns its result. */
export const BPF_PROG_TEST_RUN = 10;
/** bpf(2) command that gives the id of the next loaded program after a given id (ENOENT at the end). */
export const BPF_PROG_GET_NEXT_ID = 11;
/** bpf(2) command that gives the id of the next map after a given id (ENOENT at the end). */
export const BPF_MAP_GET_NEXT_ID = 12;
/** bpf(2) command that opens a loaded program by its id. */
export const BPF_PROG_GET_FD_BY_ID = 13;
/** bpf(2) command that opens a map by its id. */
export const BPF_MAP_GET_FD_BY_ID = 14;
/** bpf(2) command that fills `bpf_map_info`, `bpf_prog_info` or the like for an fd. */
export const BPF_OBJ_GET_INFO_BY_FD = 15;
/** bpf(2) command that lists the programs attached to a hook. */
export const BPF_PROG_QUERY = 16;
/** bpf(2) command that attaches a program to a raw tracepoint. */
export const BPF_RAW_TRACEPOINT_OPEN = 17;
/** bpf(2) command that loads BTF type information and returns its fd. */
export const BPF_BTF_LOAD = 18;
/** bpf(2) command that opens loaded BTF by its id. */
export const BPF_BTF_GET_FD_BY_ID = 19;
/** bpf(2) command that tells what a task's perf event fd has attached. */
export const BPF_TASK_FD_QUERY = 20;
/** bpf(2) command that copies the value under a key and removes it in one step (queues and stacks pop). */
export const BPF_MAP_LOOKUP_AND_DELETE_ELEM = 21;
/** bpf(2) command that makes a map read-only from user space for good. */
export const BPF_MAP_FREEZE = 22;
/** bpf(2) command that copies many keys and values at once, resuming from a batch token. */
export const BPF_MAP_LOOKUP_BATCH = 24;
/** bpf(2) command that copies and removes many elements at once, resuming from a batch token. */
export const BPF_MAP_LOOKUP_AND_DELETE_BATCH = 25;
/** bpf(2) command that writes many keys and values at once. */
export const BPF_MAP_UPDATE_BATCH = 26;
/** bpf(2) command that removes many keys at once. */
export const BPF_MAP_DELETE_BATCH = 27;

// Attach types (the seed's list).
/** Attach type: packets a cgroup's sockets receive. */
export const BPF_CGROUP_INET_INGRESS = 0;
/** Attach type: packets a cgroup's sockets send. */
export const BPF_CGROUP_INET_EGRESS = 1;
/** Attach type: socket creation in a cgroup. */
export const BPF_CGROUP_INET_SOCK_CREATE = 2;
/** Attach type: TCP socket events in a cgroup (sock_ops programs). */
export const BPF_CGROUP_SOCK_OPS = 3;
/** Attach type: the parser of a socket map's stream data. */
export const BPF_SK_SKB_STREAM_PARSER = 4;
/** Attach type: the verdict on a socket map's stream data. */
export const BPF_SK_SKB_STREAM_VERDICT = 5;
/** Attach type: device access checks in a cgroup. */
export const BPF_CGROUP_DEVICE = 6;
/** Attach type: the verdict on messages sent on a socket map's sockets. */
export const BPF_SK_MSG_VERDICT = 7;
/** Attach type: IPv4 bind(2) in a cgroup. */
export const BPF_CGROUP_INET4_BIND = 8;
/** Attach type: IPv6 bind(2) in a cgroup. */
export const BPF_CGROUP_INET6_BIND = 9;
/** Attach type: IPv4 connect(2) in a cgroup. */
export const BPF_CGROUP_INET4_CONNECT = 10;
/** Attach type: IPv6 connect(2) in a cgroup. */
export const BPF_CGROUP_INET6_CONNECT = 11;
/** Attach type: after an IPv4 bind(2) in a cgroup. */
export const BPF_CGROUP_INET4_POST_BIND = 12;
/** Attach type: after an IPv6 bind(2) in a cgroup. */
export const BPF_CGROUP_INET6_POST_BIND = 13;
/** Attach type: UDP sendmsg(2) over IPv4 in a cgroup. */
export const BPF_CGROUP_UDP4_SENDMSG = 14;
/** Attach type: UDP sendmsg(2) over IPv6 in a cgroup. */
export const BPF_CGROUP_UDP6_SENDMSG = 15;
/** Attach type: an infrared (lirc) receiver's raw pulses, for programs that decode them. */
export const BPF_LIRC_MODE2 = 16;
/** Attach type: a network namespace's flow dissector. */
export const BPF_FLOW_DISSECTOR = 17;
/** Attach type: sysctl reads and writes in a cgroup. */
export const BPF_CGROUP_SYSCTL = 18;
/** Attach type: UDP recvmsg(2) over IPv4 in a cgroup. */
export const BPF_CGROUP_UDP4_RECVMSG = 19;
/** Attach type: UDP recvmsg(2) over IPv6 in a cgroup. */
export const BPF_CGROUP_UDP6_RECVMSG = 20;

// Element flags for MAP_UPDATE_ELEM.
/** Update flag: create the key or replace its value. */
export const BPF_ANY = 0;
/** Update flag: create the key only if it is absent (EEXIST otherwise). */
export const BPF_NOEXIST = 1;
/** Update flag: replace the value only if the key is present (ENOENT otherwise). */
export const BPF_EXIST = 2;
/** Update and lookup flag: take the value's `bpf_spin_lock` around the copy (maps whose value has one). */
export const BPF_F_LOCK = 4;

// MAP_CREATE flags.
/**
 * Map flag: allocate elements on update rather than all at creation (every hash map but the LRU ones,
 * which refuse it with ENOTSUPP; LPM tries require it).
 */
export const BPF_F_NO_PREALLOC = 1 << 0;
/** Map flag: give each CPU its own LRU list (LRU hashes). */
export const BPF_F_NO_COMMON_LRU = 1 << 1;
/** Map flag: allocate on the NUMA node given in `numa_node`. */
export const BPF_F_NUMA_NODE = 1 << 2;
/** Access flag of a map fd (at create, OBJ_GET or GET_FD_BY_ID): it may read the map but not write it (EPERM). */
export const BPF_F_RDONLY = 1 << 3;
/** Access flag of a map fd (at create, OBJ_GET or GET_FD_BY_ID): it may write the map but not read it (EPERM). */
export const BPF_F_WRONLY = 1 << 4;
/** Map flag: a stack trace map stores build id and offset rather than addresses. */
export const BPF_F_STACK_BUILD_ID = 1 << 5;
/** Map flag: hash with seed 0 instead of a random one, for reproducible tests. */
export const BPF_F_ZERO_SEED = 1 << 6;
/** Map flag: BPF programs may only read the map. */
export const BPF_F_RDONLY_PROG = 1 << 7;
/** Map flag: BPF programs may only write the map. */
export const BPF_F_WRONLY_PROG = 1 << 8;
/** Map flag: socket storage is cloned to a listener's child sockets. */
export const BPF_F_CLONE = 1 << 9;
/** Map flag: an array may be mmap(2)ed into user space. */
export const BPF_F_MMAPABLE = 1 << 10;
/** Map flag: a perf event array keeps its elements when the map fd they were added through is closed. */
export const BPF_F_PRESERVE_ELEMS = 1 << 11;
/** Map flag: an inner map template whose max_entries may differ from the maps put in its outer map. */
export const BPF_F_INNER_MAP = 1 << 12;
/** Flag of struct_ops maps that attach through a BPF link. */
export const BPF_F_LINK = 1 << 13;
/** Flag of BPF_OBJ_PIN and BPF_OBJ_GET: the path is relative to the directory fd in `path_fd`. */
export const BPF_F_PATH_FD = 1 << 14;
/** Map flag: `value_type_btf_obj_fd` names the BTF object of the value type (struct_ops). */
export const BPF_F_VTYPE_BTF_OBJ_FD = 1 << 15;
/** Flag that the command's token fd field (`map_token_fd` for MAP_CREATE) holds a BPF token. */
export const BPF_F_TOKEN_FD = 1 << 16;
/** Arena map flag: a fault on an unallocated page raises SIGSEGV in user space. */
export const BPF_F_SEGV_ON_FAULT = 1 << 17;
/** Arena map flag: pointers programs store in the arena stay kernel addresses, not converted to user-space ones. */
export const BPF_F_NO_USER_CONV = 1 << 18;

/** PROG_QUERY flag, with the seed's (upstream) misspelling kept. */
export const BPF_F_QUERY_EFFECTVE = 1 << 0;

// The flags programs pass the ring helpers: what the simulator's datapath facet and testkit's
// producers take where they play a program.
/** bpf_ringbuf_output, _submit and _discard: wake no reader, even one the record would wake. */
export const BPF_RB_NO_WAKEUP = 1 << 0;
/** bpf_ringbuf_output, _submit and _discard: wake the ring's readers whatever the consumer position. */
export const BPF_RB_FORCE_WAKEUP = 1 << 1;
/** bpf_ringbuf_query: the bytes written and not yet consumed. */
export const BPF_RB_AVAIL_DATA = 0;
/** bpf_ringbuf_query: the ring's data size. */
export const BPF_RB_RING_SIZE = 1;
/** bpf_ringbuf_query: the consumer position. */
export const BPF_RB_CONS_POS = 2;
/** bpf_ringbuf_query: the producer position. */
export const BPF_RB_PROD_POS = 3;
/** bpf_perf_event_output's flags: the index of the slot whose event takes the sample. */
export const BPF_F_INDEX_MASK = 0xffff_ffff;
/** bpf_perf_event_output's index for the slot of the CPU the program runs on. */
export const BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK;

/** `EndpointKey` family of an IPv4 address (`ENDPOINT_KEY_IPV4` in Cilium's datapath). */
export const EndpointKeyIPv4 = 1;
/** `EndpointKey` family of an IPv6 address (`ENDPOINT_KEY_IPV6`). */
export const EndpointKeyIPv6 = 2;

/** statfs(2) `f_type` of bpffs. */
export const BPF_FS_MAGIC = 0xcafe4a11;

// renameat2(2) flags for `host.rename`.
/** Fail with EEXIST rather than replace an existing target. */
export const RENAME_NOREPLACE = 1 << 0;
/** Swap source and target atomically; both must exist (ENOENT otherwise). */
export const RENAME_EXCHANGE = 1 << 1;
/** Leave a whiteout (a 0:0 character device) at the source: tmpfs and ext4 only; bpffs refuses it (EINVAL). */
export const RENAME_WHITEOUT = 1 << 2;

/** Bytes in the kernel's `union bpf_attr` on 6.18. */
export const BPF_ATTR_SIZE = 168;

/** Bytes per per-CPU value slot: the kernel rounds each CPU's value up to 8. */
export function perCpuSlotSize(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/** BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: past the seed's list, but per-CPU for bpf(2) too. */
export const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21;

// Types past the seed's list that the kernel creates only with key_size 0 (enum bpf_map_type, 6.18).
/** FIFO queue map with no keys: push with update, pop with lookup-and-delete (`BPF_MAP_TYPE_QUEUE`). */
export const BPF_MAP_TYPE_QUEUE = 22;
/** LIFO stack map with no keys: push with update, pop with lookup-and-delete (`BPF_MAP_TYPE_STACK`). */
export const BPF_MAP_TYPE_STACK = 23;
/** Ring buffer that programs send records to user space through (`BPF_MAP_TYPE_RINGBUF`). */
export const BPF_MAP_TYPE_RINGBUF = 27;
/** Bloom filter: update adds a value, lookup tells whether it may be present (`BPF_MAP_TYPE_BLOOM_FILTER`). */
export const BPF_MAP_TYPE_BLOOM_FILTER = 30;
/** Ring buffer that user space sends records to programs through (`BPF_MAP_TYPE_USER_RINGBUF`). */
export const BPF_MAP_TYPE_USER_RINGBUF = 31;
/** Memory region shared by programs and user space through mmap(2) (`BPF_MAP_TYPE_ARENA`). */
export const BPF_MAP_TYPE_ARENA = 33;

const keylessNames = new Map<number, string>([
  [BPF_MAP_TYPE_QUEUE, "queue"], [BPF_MAP_TYPE_STACK, "stack"], [BPF_MAP_TYPE_RINGBUF, "ring buffer"],
  [BPF_MAP_TYPE_BLOOM_FILTER, "bloom filter"], [BPF_MAP_TYPE_USER_RINGBUF, "user ring buffer"], [BPF_MAP_TYPE_ARENA, "arena"],
]);

/** What a map type with no keys is called in words (`queue`), or undefined for a keyed type. */
export function keylessMapTypeName(t: number): string | undefined {
  return keylessNames.get(t);
}

/**
 * Per-CPU map types, whose user-space values hold one slot per possible CPU
 * (`bpf_map_value_size` in kernel/bpf/syscall.c).
 */
export function isPerCpuMapType(t: number): boolean {
  return t === BPF_MAP_TYPE_PERCPU_HASH || t === BPF_MAP_TYPE_PERCPU_ARRAY ||
    t === BPF_MAP_TYPE_LRU_PERCPU_HASH || t === BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

/** The LRU hashes, from which the kernel evicts on its own when they are full. */
export function isLruMapType(t: number): boolean {
  return t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/** The hash family, whose batch token is a 4-byte bucket index (kernel-maps.md §10.1). */
export function isHashMapType(t: number): boolean {
  return t === BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE_PERCPU_HASH || t === BPF_MAP_TYPE_LRU_HASH ||
    t === BPF_MAP_TYPE_LRU_PERCPU_HASH || t === BPF_MAP_TYPE_HASH_OF_MAPS;
}

/**
 * Arrays: the keys are the indices 0..max_entries−1, which GET_NEXT_KEY always lists and no
 * delete removes. A lookup's ENOENT there is an empty slot of an fd array (PROG_ARRAY,
 * ARRAY_OF_MAPS, DEVMAP, …), never a key that vanished.
 */
export function isIndexedMapType(t: number): boolean {
  return t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY || t === BPF_MAP_TYPE_PROG_ARRAY ||
    t === BPF_MAP_TYPE_PERF_EVENT_ARRAY || t === BPF_MAP_TYPE_CGROUP_ARRAY || t === BPF_MAP_TYPE_ARRAY_OF_MAPS ||
    t === BPF_MAP_TYPE_DEVMAP || t === BPF_MAP_TYPE_SOCKMAP || t === BPF_MAP_TYPE_CPUMAP ||
    t === BPF_MAP_TYPE_XSKMAP || t === BPF_MAP_TYPE_REUSEPORT_SOCKARRAY;
}

/** The maps of maps, created from a template inner map (`inner_map_fd`). */
export function isMapOfMapsType(t: number): boolean {
  return t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_HASH_OF_MAPS;
}

/** Types whose user-space value is a 4-byte fd on update and an id on lookup. */
export function isFdValueMapType(t: number): boolean {
  return isMapOfMapsType(t) || t === BPF_MAP_TYPE_PROG_ARRAY;
}

/**
 * Bytes a user-space value buffer must have for one element: `roundUp(valueSize, 8) * cpus`
 * for per-CPU maps (kernel-maps.md §6), else `valueSize`.
 */
export function userValueSize(mapType: number, valueSize: number, possibleCpus: number): number {
  return isPerCpuMapType(mapType) ? perCpuSlotSize(valueSize) * possibleCpus : valueSize;
}

/** Bytes of a batch token: a u32 bucket index for the hash family, a key otherwise. */
export function batchTokenSize(mapType: number, keySize: number): number {
  return isHashMapType(mapType) ? 4 : keySize;
}
