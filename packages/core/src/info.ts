// bpf_map_info and bpf_prog_info as TypeScript objects, over the layouts in layout.ts.
import { BPF_MAP_INFO, BPF_PROG_INFO, cString, decodeStruct, encodeStruct } from "./layout.js";

/** What OBJ_GET_INFO_BY_FD says of a map (the fields user space relies on). */
export interface BpfMapInfo {
  /** `bpf_map_info.type`: the map type (`BPF_MAP_TYPE_*`). */
  type: number;
  /** `bpf_map_info.id`: the map's id, unique while the map lives. */
  id: number;
  /** `bpf_map_info.key_size` in bytes. */
  keySize: number;
  /** `bpf_map_info.value_size` in bytes (one CPU's value for per-CPU types). */
  valueSize: number;
  /** The effective max (LRU with NO_COMMON_LRU rounds it to a multiple of the CPUs). */
  maxEntries: number;
  /** Creation flags less BPF_F_RDONLY/WRONLY, which belong to the fd. */
  mapFlags: number;
  /** `bpf_map_info.name`: the name given at creation, at most 15 bytes; "" when none was. */
  name: string;
  /** `bpf_map_info.ifindex`: the network device the map is offloaded to, 0 when it is not. */
  ifindex: number;
  /** `bpf_map_info.btf_id`: the id of the map's BTF, 0 when it has none. */
  btfId: number;
  /** `bpf_map_info.btf_key_type_id`: the key's type in that BTF, 0 when none was given. */
  btfKeyTypeId: number;
  /** `bpf_map_info.btf_value_type_id`: the value's type in that BTF, 0 when it has none. */
  btfValueTypeId: number;
  /** `bpf_map_info.map_extra`: a type's extra attribute (a bloom filter's hash count, an arena's address). */
  mapExtra: bigint;
}

/** What OBJ_GET_INFO_BY_FD says of a program. */
export interface BpfProgInfo {
  /** `bpf_prog_info.type`: the program type (`ProgType`). */
  type: number;
  /** `bpf_prog_info.id`: the program's id, unique while it stays loaded. */
  id: number;
  /** `bpf_prog_info.tag`: 8 bytes of hash over the program's instructions, as bpftool shows. */
  tag: Uint8Array;
  /** `bpf_prog_info.jited_prog_len`: bytes of JIT-compiled code (0 without the JIT). */
  jitedProgLen: number;
  /** `bpf_prog_info.xlated_prog_len`: bytes of the instructions after the verifier rewrote them. */
  xlatedProgLen: number;
  /**
   * `bpf_prog_info.jited_prog_insns`: the address of a caller's buffer for the JITed code, as it was passed in
   * (0 when none).
   */
  jitedProgInsns: bigint;
  /**
   * `bpf_prog_info.xlated_prog_insns`: the address of a caller's buffer for the rewritten instructions, as it
   * was passed in (0 when none).
   */
  xlatedProgInsns: bigint;
  /** ns since boot. */
  loadTime: bigint;
  /** `bpf_prog_info.created_by_uid`: the uid that loaded the program. */
  createdByUid: number;
  /** `bpf_prog_info.nr_map_ids`: how many maps the program uses. */
  nrMapIds: number;
  /** `bpf_prog_info.name`: the name given at load, at most 15 bytes; "" when none was. */
  name: string;
  /** `bpf_prog_info.ifindex`: the network device the program is offloaded to, 0 when it is not. */
  ifindex: number;
  /** `bpf_prog_info.gpl_compatible`: whether its license lets it call GPL-only helpers. */
  gplCompatible: boolean;
  /** `bpf_prog_info.netns_dev`: the device number of an offloaded program's network namespace. */
  netnsDev: bigint;
  /** `bpf_prog_info.netns_ino`: the inode number of an offloaded program's network namespace. */
  netnsIno: bigint;
  /** `bpf_prog_info.nr_jited_ksyms`: how many JITed functions (main program and subprograms) it has. */
  nrJitedKsyms: number;
  /** `bpf_prog_info.nr_jited_func_lens`: how many JITed function lengths it has. */
  nrJitedFuncLens: number;
  /**
   * `bpf_prog_info.jited_ksyms`: the address of a caller's buffer for the functions' kernel addresses, as passed
   * in (0 when none).
   */
  jitedKsyms: bigint;
  /**
   * `bpf_prog_info.jited_func_lens`: the address of a caller's buffer for the functions' lengths, as passed in
   * (0 when none).
   */
  jitedFuncLens: bigint;
  /** `bpf_prog_info.btf_id`: the id of the BTF the program was loaded with (`prog_btf_fd`), 0 when it has none. */
  btfId: number;
  /** `bpf_prog_info.nr_func_info`: how many `bpf_func_info` records it was loaded with (0 without BTF). */
  nrFuncInfo: number;
  /** `bpf_prog_info.nr_line_info`: how many `bpf_line_info` records it was loaded with. */
  nrLineInfo: number;
  /**
   * `bpf_prog_info.run_time_ns`: total nanoseconds spent running, counted only while `kernel.bpf_stats_enabled`
   * is on.
   */
  runTimeNs: bigint;
  /** `bpf_prog_info.run_cnt`: times run, counted only while `kernel.bpf_stats_enabled` is on. */
  runCnt: bigint;
  /** `bpf_prog_info.verified_insns`: instructions the verifier processed to accept it. */
  verifiedInsns: number;
}

/** Bytes of the kernel's `struct bpf_map_info` (104 on 6.18): the buffer to give `objGetInfoByFd` for a map. */
export const MAP_INFO_SIZE = BPF_MAP_INFO.size;
/** Bytes of the kernel's `struct bpf_prog_info` (232 on 6.18): the buffer to give `objGetInfoByFd` for a program. */
export const PROG_INFO_SIZE = BPF_PROG_INFO.size;

/** Reads the `bpf_map_info` bytes OBJ_GET_INFO_BY_FD wrote into a `BpfMapInfo`. */
export function decodeMapInfo(bytes: Uint8Array): BpfMapInfo {
  const d = decodeStruct(BPF_MAP_INFO, bytes);
  return {
    type: d.type as number, id: d.id as number, keySize: d.key_size as number,
    valueSize: d.value_size as number, maxEntries: d.max_entries as number,
    mapFlags: d.map_flags as number, name: cString(d.name as Uint8Array),
    ifindex: d.ifindex as number, btfId: d.btf_id as number,
    btfKeyTypeId: d.btf_key_type_id as number, btfValueTypeId: d.btf_value_type_id as number,
    mapExtra: d.map_extra as bigint,
  };
}

/** Fills a bpf_map_info image (the simulator answers OBJ_GET_INFO_BY_FD with this). */
export function encodeMapInfo(info: Pick<BpfMapInfo, "type" | "id" | "keySize" | "valueSize" | "maxEntries" | "mapFlags" | "name"> & Partial<Pick<BpfMapInfo, "mapExtra" | "btfId" | "btfKeyTypeId" | "btfValueTypeId">>, out: Uint8Array): void {
  out.fill(0, 0, Math.min(out.length, BPF_MAP_INFO.size));
  encodeStruct(BPF_MAP_INFO, out, {
    type: info.type, id: info.id, key_size: info.keySize, value_size: info.valueSize,
    max_entries: info.maxEntries, map_flags: info.mapFlags, name: info.name, map_extra: info.mapExtra ?? 0n,
    btf_id: info.btfId ?? 0, btf_key_type_id: info.btfKeyTypeId ?? 0, btf_value_type_id: info.btfValueTypeId ?? 0,
  });
}

/** Reads the `bpf_prog_info` bytes OBJ_GET_INFO_BY_FD wrote into a `BpfProgInfo`. */
export function decodeProgInfo(bytes: Uint8Array): BpfProgInfo {
  const d = decodeStruct(BPF_PROG_INFO, bytes);
  return {
    type: d.type as number, id: d.id as number, tag: d.tag as Uint8Array,
    jitedProgLen: d.jited_prog_len as number, xlatedProgLen: d.xlated_prog_len as number,
    jitedProgInsns: d.jited_prog_insns as bigint, xlatedProgInsns: d.xlated_prog_insns as bigint,
    loadTime: d.load_time as bigint, createdByUid: d.created_by_uid as number,
    nrMapIds: d.nr_map_ids as number, name: cString(d.name as Uint8Array),
    ifindex: d.ifindex as number, gplCompatible: ((d.gpl_compatible as number) & 1) === 1,
    netnsDev: d.netns_dev as bigint, netnsIno: d.netns_ino as bigint,
    nrJitedKsyms: d.nr_jited_ksyms as number, nrJitedFuncLens: d.nr_jited_func_lens as number,
    jitedKsyms: d.jited_ksyms as bigint, jitedFuncLens: d.jited_func_lens as bigint,
    btfId: d.btf_id as number, nrFuncInfo: d.nr_func_info as number, nrLineInfo: d.nr_line_info as number,
    runTimeNs: d.run_time_ns as bigint, runCnt: d.run_cnt as bigint,
    verifiedInsns: d.verified_insns as number,
  };
}

/**
 * Fills a bpf_prog_info image with the fields given (the rest zero): for a driver of one's own or
 * a test. The simulator writes its own, with fields this does not take (record sizes, counts).
 */
export function encodeProgInfo(info: Partial<BpfProgInfo> & Pick<BpfProgInfo, "type" | "id">, out: Uint8Array): void {
  out.fill(0, 0, Math.min(out.length, BPF_PROG_INFO.size));
  encodeStruct(BPF_PROG_INFO, out, {
    type: info.type, id: info.id, tag: info.tag, jited_prog_len: info.jitedProgLen,
    xlated_prog_len: info.xlatedProgLen, load_time: info.loadTime, created_by_uid: info.createdByUid,
    nr_map_ids: info.nrMapIds, name: info.name, gpl_compatible: info.gplCompatible ? 1 : undefined,
    verified_insns: info.verifiedInsns, btf_id: info.btfId, nr_func_info: info.nrFuncInfo, nr_line_info: info.nrLineInfo,
  });
}
