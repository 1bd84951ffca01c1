// The region a BPF_F_MMAPABLE ARRAY's values live in (arraymap.c, array_map_mmap): whole 4 KiB
// pages, value i at i * round_up(value_size, 8), the tail past the last value zeroed and the
// map's own. The driver maps it by reading and writing wasm memory at `base` directly.
import { MapHdr, KIND_ARRAY, BPF_F_MMAPABLE } from "./map";

/** x86-64's page: the unit mmap(2) maps and the region is sized in. */
export const MMAP_PAGE: usize = 4096;

/** Whether the map's values are an mmapable region (a plain ARRAY made with BPF_F_MMAPABLE). */
export function mmapable(m: MapHdr): bool {
  return m.kind == KIND_ARRAY && !m.percpu && (m.mapFlags & BPF_F_MMAPABLE) != 0;
}

/** Bytes the values take, rounded up to whole pages for an mmapable array. */
export function mmapRegionBytes(m: MapHdr, bytes: u64): u64 {
  return mmapable(m) ? (bytes + <u64>MMAP_PAGE - 1) & ~(<u64>MMAP_PAGE - 1) : bytes;
}
