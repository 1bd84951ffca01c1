// What this process knows about its map fds, so that every buffer is checked against what the
// kernel will read or write before bpf(2) runs. Shared by every kernel driver in the process,
// because fd numbers are: a close through any driver must forget the fd before the number is
// reused for another map.
import { isPerCpuMapType, mapShape, perCpuSlotSize, type MapShape } from "@bpfkit/core";

/** BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: per-CPU values too (bpf_map_value_size in syscall.c). */
const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21;

/** A map fd's shape plus views into the scratch block, cut once per block generation. */
export interface FdRecord extends MapShape {
  gen: number;
  key: Uint8Array;
  next: Uint8Array;
  value: Uint8Array;
}

/** Bytes the kernel copies for one value of this map (bpf_map_value_size). */
export function kernelValueSize(mapType: number, valueSize: number, possibleCpus: number): number {
  if (mapType === BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE && !isPerCpuMapType(mapType)) {
    return perCpuSlotSize(valueSize) * possibleCpus;
  }
  return mapShape(mapType, 1, valueSize, possibleCpus).userValueSize;
}

const empty = new Uint8Array(0);
const records: (FdRecord | undefined)[] = [];

export function rememberMap(fd: number, mapType: number, keySize: number, valueSize: number, possibleCpus: number): FdRecord {
  const shape = mapShape(mapType, keySize, valueSize, possibleCpus);
  const rec: FdRecord = {
    ...shape,
    userValueSize: kernelValueSize(mapType, valueSize, possibleCpus),
    gen: -1, key: empty, next: empty, value: empty,
  };
  records[fd] = rec;
  return rec;
}

export function recordOf(fd: number): FdRecord | undefined {
  return fd >= 0 ? records[fd] : undefined;
}

export function forget(fd: number): void {
  if (fd >= 0 && fd < records.length) records[fd] = undefined;
}
