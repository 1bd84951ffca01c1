// ARRAY and PERCPU_ARRAY (kernel-maps.md §8): every slot exists and starts zeroed. PROG_ARRAY and
// ARRAY_OF_MAPS (§11) are fd arrays: u32 ids, 0 = an empty slot.
import { ENOENT, EEXIST, E2BIG, EINVAL, ENOMEM } from "./errno";
import { allocZeroed, free } from "./alloc";
import { MapHdr, KIND_FD_ARRAY, roundUp8, BPF_ANY, BPF_EXIST, BPF_NOEXIST, copyBytes } from "./map";
import { mmapRegionBytes } from "./mmap";

export function arrayInit(m: MapHdr): i32 {
  // array_map_alloc: elem_size = round_up(value_size, 8); per-CPU arrays hold ncpus slots.
  m.stride = m.kind == KIND_FD_ARRAY ? 4 : m.percpu ? m.userValue : roundUp8(m.valueSize);
  // An mmapable array owns whole pages (bpf_map_area_mmapable_alloc): the tail is the map's too.
  const bytes = mmapRegionBytes(m, <u64>m.maxEntries * m.stride);
  if (bytes > 0xffff0000) return -ENOMEM;
  m.dataBytes = <usize>bytes;
  m.data = allocZeroed(m.dataBytes);
  return m.data == 0 ? -ENOMEM : 0;
}

export function arrayRelease(m: MapHdr): void {
  free(m.data, m.dataBytes);
  m.data = 0;
}

export function arrayClear(m: MapHdr): void {
  memory.fill(m.data, 0, m.dataBytes);
  m.count = 0;
}

@inline function slotPtr(m: MapHdr, idx: u32): usize {
  return m.data + <usize>idx * m.stride;
}

export function arrayLookup(m: MapHdr, key: usize, value: usize, datapath: bool, cpu: u32): i32 {
  const idx = load<u32>(key);
  if (idx >= m.maxEntries) return -ENOENT;
  const p = slotPtr(m, idx);
  if (m.kind == KIND_FD_ARRAY) {
    const id = load<u32>(p);
    if (id == 0) return -ENOENT;
    if (value != 0) store<u32>(value, id);
    return 0;
  }
  if (value == 0) return 0;
  if (datapath && m.percpu) copyBytes(value, p + <usize>cpu * m.slot, m.valueSize);
  else copyBytes(value, p, datapath ? m.valueSize : m.userValue);
  return 0;
}

export function arrayUpdate(m: MapHdr, key: usize, value: usize, flags: u32, datapath: bool, cpu: u32): i32 {
  const idx = load<u32>(key);
  if (m.kind == KIND_FD_ARRAY) {
    // bpf_fd_array_map_update_elem: only BPF_ANY, then the bound.
    if (flags != BPF_ANY) return -EINVAL;
    if (idx >= m.maxEntries) return -E2BIG;
    const p = slotPtr(m, idx);
    const id = load<u32>(value);
    if (load<u32>(p) == 0 && id != 0) m.count++;
    else if (load<u32>(p) != 0 && id == 0) m.count--;
    store<u32>(p, id);
    return 0;
  }
  // array_map_update_elem: flags, then the bound (E2BIG before NOEXIST), then NOEXIST → EEXIST.
  if (flags > BPF_EXIST) return -EINVAL;
  if (idx >= m.maxEntries) return -E2BIG;
  if (flags == BPF_NOEXIST) return -EEXIST;
  const p = slotPtr(m, idx);
  if (datapath && m.percpu) copyBytes(p + <usize>cpu * m.slot, value, m.valueSize);
  else copyBytes(p, value, datapath ? m.valueSize : m.userValue);
  return 0;
}

export function arrayDelete(m: MapHdr, key: usize): i32 {
  if (m.kind != KIND_FD_ARRAY) return -EINVAL;
  const idx = load<u32>(key);
  if (idx >= m.maxEntries) return -E2BIG;
  const p = slotPtr(m, idx);
  if (load<u32>(p) == 0) return -ENOENT;
  store<u32>(p, 0);
  m.count--;
  return 0;
}

/** NULL or an index ≥ max gives 0; the last index gives ENOENT; empty fd slots are included. */
export function arrayGetNextKey(m: MapHdr, key: usize, nextKey: usize): i32 {
  const idx: u32 = key == 0 ? 0xffffffff : load<u32>(key);
  if (idx >= m.maxEntries) {
    store<u32>(nextKey, 0);
    return 0;
  }
  if (idx == m.maxEntries - 1) return -ENOENT;
  store<u32>(nextKey, idx + 1);
  return 0;
}
