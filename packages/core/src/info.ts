// bpf_map_info and bpf_prog_info as TypeScript objects, over the layouts in layout.ts.
import { BPF_MAP_INFO, BPF_PROG_INFO, cString, decodeStruct, encodeStruct } from "./layout.js";

/** What OBJ_GET_INFO_BY_FD says of a map (the fields user space relies on). */
export interface BpfMapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  /** The effective max (LRU with NO_COMMON_LRU rounds it to a multiple of the CPUs). */
  maxEntries: number;
  /** Creation flags less BPF_F_RDONLY/WRONLY, which belong to the fd. */
  mapFlags: number;
  name: string;
  ifindex: number;
  btfId: number;
  mapExtra: bigint;
}

/** What OBJ_GET_INFO_BY_FD says of a program. */
export interface BpfProgInfo {
  type: number;
  id: number;
  tag: Uint8Array;
  jitedProgLen: number;
  xlatedProgLen: number;
  jitedProgInsns: bigint;
  xlatedProgInsns: bigint;
  /** ns since boot. */
  loadTime: bigint;
  createdByUid: number;
  nrMapIds: number;
  name: string;
  ifindex: number;
  gplCompatible: boolean;
  netnsDev: bigint;
  netnsIno: bigint;
  nrJitedKsyms: number;
  nrJitedFuncLens: number;
  jitedKsyms: bigint;
  jitedFuncLens: bigint;
  btfId: number;
  runTimeNs: bigint;
  runCnt: bigint;
  verifiedInsns: number;
}

export const MAP_INFO_SIZE = BPF_MAP_INFO.size;
export const PROG_INFO_SIZE = BPF_PROG_INFO.size;

export function decodeMapInfo(bytes: Uint8Array): BpfMapInfo {
  const d = decodeStruct(BPF_MAP_INFO, bytes);
  return {
    type: d.type as number, id: d.id as number, keySize: d.key_size as number,
    valueSize: d.value_size as number, maxEntries: d.max_entries as number,
    mapFlags: d.map_flags as number, name: cString(d.name as Uint8Array),
    ifindex: d.ifindex as number, btfId: d.btf_id as number, mapExtra: d.map_extra as bigint,
  };
}

/** Fills a bpf_map_info image (the simulator answers OBJ_GET_INFO_BY_FD with this). */
export function encodeMapInfo(info: Pick<BpfMapInfo, "type" | "id" | "keySize" | "valueSize" | "maxEntries" | "mapFlags" | "name">, out: Uint8Array): void {
  out.fill(0, 0, Math.min(out.length, BPF_MAP_INFO.size));
  encodeStruct(BPF_MAP_INFO, out, {
    type: info.type, id: info.id, key_size: info.keySize, value_size: info.valueSize,
    max_entries: info.maxEntries, map_flags: info.mapFlags, name: info.name,
  });
}

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
    btfId: d.btf_id as number, runTimeNs: d.run_time_ns as bigint, runCnt: d.run_cnt as bigint,
    verifiedInsns: d.verified_insns as number,
  };
}

/** Fills a bpf_prog_info image (for the simulator). */
export function encodeProgInfo(info: Partial<BpfProgInfo> & Pick<BpfProgInfo, "type" | "id">, out: Uint8Array): void {
  out.fill(0, 0, Math.min(out.length, BPF_PROG_INFO.size));
  encodeStruct(BPF_PROG_INFO, out, {
    type: info.type, id: info.id, tag: info.tag, jited_prog_len: info.jitedProgLen,
    xlated_prog_len: info.xlatedProgLen, load_time: info.loadTime, created_by_uid: info.createdByUid,
    nr_map_ids: info.nrMapIds, name: info.name, gpl_compatible: info.gplCompatible ? 1 : undefined,
    verified_insns: info.verifiedInsns,
  });
}
