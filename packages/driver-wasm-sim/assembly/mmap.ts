// The region a BPF_F_MMAPABLE ARRAY's values live in (arraymap.c, array_map_mmap): whole pages,
// value i at i * round_up(value_size, 8), the tail past the last value zeroed and the map's own.
// The driver maps it by reading and writing wasm memory at `base` directly.
//
// The page is the simulated kernel's PAGE_SIZE: 4 KiB (x86-64's) unless the driver sets another
// (arm64 kernels have 16 and 64 KiB pages) through setPageShift before the engine holds a map.
import { MapHdr, KIND_ARRAY, BPF_F_MMAPABLE } from "./map";

/** The smallest and largest PAGE_SHIFT the engine models: 4 KiB to 64 KiB pages. */
export const MIN_PAGE_SHIFT: u32 = 12;
export const MAX_PAGE_SHIFT: u32 = 16;

/** PAGE_SHIFT of the simulated kernel. */
export let pageShift: u32 = MIN_PAGE_SHIFT;
/** PAGE_SIZE: 1 << pageShift, kept so that the hot paths add it without a shift. */
export let pageSize: usize = <usize>1 << MIN_PAGE_SHIFT;

/** Sets PAGE_SHIFT; the caller has checked the range and that no map lives. */
export function setPage(shift: u32): void {
  pageShift = shift;
  pageSize = <usize>1 << shift;
}

/** Whether the map's values are an mmapable region (a plain ARRAY made with BPF_F_MMAPABLE). */
export function mmapable(m: MapHdr): bool {
  return m.kind == KIND_ARRAY && !m.percpu && (m.mapFlags & BPF_F_MMAPABLE) != 0;
}

/** Bytes the values take, rounded up to whole pages for an mmapable array. */
export function mmapRegionBytes(m: MapHdr, bytes: u64): u64 {
  const page = <u64>pageSize;
  return mmapable(m) ? (bytes + page - 1) & ~(page - 1) : bytes;
}
