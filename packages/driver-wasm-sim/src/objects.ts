// The kernel objects the simulator keeps: maps (contents in the engine), programs, and the
// "other files" that fds 0–2 stand for. Reference counts follow kernel/bpf/syscall.c: `refcnt`
// counts every holder (fds, pins, outer-map slots, programs using the map); `usercnt` only
// fds and pins, whose last drop clears a PROG_ARRAY (kernel-maps.md §11, §13).
import {
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_USER_RINGBUF, batchTokenSize, isFdValueMapType, isHashMapType,
  userValueSize,
} from "@bpfkit/core";
import type { BtfRecord } from "./btf/btf-fields.js";
import type { SimBtf } from "./btf/sim-btf.js";
import type { ProgOwner } from "./prog-map-compat.js";
import type { SimPerfEvent } from "./perf-event.js";

/** What an inner map must match (bpf_map_meta_equal, array_map_meta_equal). */
export interface InnerMeta {
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly mapFlags: number;
  /** The template's special fields (btf_record_dup), which an inner map's must equal; and its BTF, which a kptr's record names. */
  readonly record: BtfRecord | null;
  readonly btf: SimBtf | null;
}

export class SimMap {
  readonly kind = "map";
  refcnt = 0;
  usercnt = 0;
  frozen = false;
  freed = false;
  /** Writable mmaps of the map (the kernel's writecnt): while any exists, BPF_MAP_FREEZE is EBUSY. */
  writecnt = 0;
  /**
   * PROG_ARRAY: the first program stored in it or loaded referencing it, fixed for good
   * (prog-map-compat.ts); null until then.
   */
  progOwner: ProgOwner | null = null;
  /** `map_extra` as MAP_CREATE gave it (a bloom filter's hash count; 0n for the other types). */
  mapExtra = 0n;
  /** The BTF the map was created with (held while the map lives), and the key's and value's type ids in it. */
  btf: SimBtf | null = null;
  btfKeyTypeId = 0;
  btfValueTypeId = 0;
  /** The value's special fields (a bpf_spin_lock, …): lookups read them as zeros; null without any. */
  record: BtfRecord | null = null;
  /**
   * PERF_EVENT_ARRAY: each filled slot's event and the map file (fd entry) whose update put it
   * there, which clears it when released (perf_event_fd_array_release). The engine's array
   * holds the event's id, so that its walks and deletes answer as for any fd array.
   */
  readonly perfSlots: Map<number, { event: SimPerfEvent; file: FdEntry }> | null;
  /** QUEUE, STACK or BLOOM_FILTER: key_size 0, and element calls are push, peek and pop. */
  readonly isKeyless: boolean;
  /** A RINGBUF or a USER_RINGBUF: the same pages, element calls and mmap layout. */
  readonly isRingbuf: boolean;
  /** A USER_RINGBUF: user space produces, a program's bpf_user_ringbuf_drain consumes. */
  readonly isUserRingbuf: boolean;
  readonly userValueSize: number;
  readonly tokenSize: number;
  readonly isHash: boolean;
  readonly isFdValue: boolean;

  constructor(
    readonly id: number,
    readonly handle: number,
    readonly mapType: number,
    readonly keySize: number,
    readonly valueSize: number,
    /** The effective max (NO_COMMON_LRU rounds it to a multiple of the CPUs). */
    readonly maxEntries: number,
    /** Creation flags less BPF_F_RDONLY/WRONLY, which belong to the fd. */
    readonly mapFlags: number,
    readonly name: string,
    readonly innerMeta: InnerMeta | null,
    possibleCpus: number,
  ) {
    this.userValueSize = userValueSize(mapType, valueSize, possibleCpus);
    this.tokenSize = batchTokenSize(mapType, keySize);
    this.isHash = isHashMapType(mapType);
    // A PERF_EVENT_ARRAY's value is a perf event's fd too (user space never reads one back).
    this.isFdValue = isFdValueMapType(mapType) || mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY;
    this.isUserRingbuf = mapType === BPF_MAP_TYPE_USER_RINGBUF;
    this.isRingbuf = mapType === BPF_MAP_TYPE_RINGBUF || this.isUserRingbuf;
    this.perfSlots = mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY ? new Map() : null;
    this.isKeyless = mapType === BPF_MAP_TYPE_QUEUE || mapType === BPF_MAP_TYPE_STACK || mapType === BPF_MAP_TYPE_BLOOM_FILTER;
  }
}

export class SimProg {
  readonly kind = "prog";
  refcnt = 0;
  freed = false;

  constructor(
    readonly id: number,
    readonly progType: number,
    readonly expectedAttachType: number,
    readonly tag: Uint8Array,
    /** The program after the verifier's rewrites, in insns (xlated_prog_len / 8). */
    readonly xlatedInsns: number,
    readonly name: string,
    readonly gplCompatible: boolean,
    /** ktime at load, from the virtual clock. */
    readonly loadTime: bigint,
    /** Maps the program references (ld_imm64 BPF_PSEUDO_MAP_FD), each held once. */
    readonly usedMaps: readonly SimMap[],
    /** Instructions the verifier processed (an ld_imm64 counts once). */
    readonly verifiedInsns: number,
    /** The verifier found an r0 that binds the expected attach type (cgroup_skb egress returning 2 or 3). */
    readonly enforceExpectedAttachType = false,
    /** prog->aux->btf: the BTF given with func_info or line_info, held until the program is freed. */
    readonly btf: SimBtf | null = null,
    /** func_info_cnt and nr_linfo, for bpf_prog_info. */
    readonly nrFuncInfo = 0,
    readonly nrLineInfo = 0,
  ) {}
}

/** A file that is not a BPF object (stdin, stdout, stderr). */
export class OtherFile {
  readonly kind = "other";
  constructor(readonly what: string) {}
}

export type SimObject = SimMap | SimProg | SimBtf | OtherFile;

/** f_mode bits: what the fd allows from the syscall side. */
export const FMODE_READ = 1;
export const FMODE_WRITE = 2;
export const FMODE_RDWR = FMODE_READ | FMODE_WRITE;

export interface FdEntry {
  readonly obj: SimObject;
  readonly mode: number;
}
