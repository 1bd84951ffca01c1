// QUEUE and STACK (kernel/bpf/queue_stack_maps.c): keyless, a ring of max_entries + 1 value
// slots, one always empty so that head == tail means empty. Push writes at head; a queue takes
// from tail (oldest first), a stack from head - 1 (newest first).
import { ENOENT, E2BIG, EINVAL, ENOMEM } from "./errno";
import { allocZeroed, free } from "./alloc";
import { MapHdr, BPF_EXIST, BPF_NOEXIST, BPF_MAP_TYPE_STACK, copyBytes } from "./map";

export function queueStackInit(m: MapHdr): i32 {
  const size = <u64>m.maxEntries + 1;
  const bytes = size * m.valueSize;
  if (size > 0xffffffff || bytes > 0xffff0000) return -ENOMEM;
  m.ringSize = <u32>size;
  m.dataBytes = <usize>bytes;
  m.data = allocZeroed(m.dataBytes);
  return m.data == 0 ? -ENOMEM : 0;
}

export function queueStackRelease(m: MapHdr): void {
  free(m.data, m.dataBytes);
  m.data = 0;
}

export function queueStackClear(m: MapHdr): void {
  m.head = 0;
  m.tail = 0;
  m.count = 0;
}

@inline function slot(m: MapHdr, i: u32): usize {
  return m.data + <usize>i * m.valueSize;
}

@inline function next(m: MapHdr, i: u32): u32 {
  return i + 1 >= m.ringSize ? 0 : i + 1;
}

/** map_push_elem: BPF_EXIST makes room by dropping the oldest element when full. */
export function queueStackPush(m: MapHdr, value: usize, flags: u64): i32 {
  if ((flags & BPF_NOEXIST) != 0 || flags > BPF_EXIST) return -EINVAL;
  if (next(m, m.head) == m.tail) {
    if (flags != BPF_EXIST) return -E2BIG;
    m.tail = next(m, m.tail);
    m.count--;
  }
  copyBytes(slot(m, m.head), value, m.valueSize);
  m.head = next(m, m.head);
  m.count++;
  return 0;
}

/** map_peek_elem (`del` false) or map_pop_elem (`del` true); ENOENT when empty, value untouched. */
export function queueStackGet(m: MapHdr, value: usize, del: bool): i32 {
  if (m.head == m.tail) return -ENOENT;
  let i: u32;
  if (m.type == BPF_MAP_TYPE_STACK) {
    i = m.head == 0 ? m.ringSize - 1 : m.head - 1;
    if (del) m.head = i;
  } else {
    i = m.tail;
    if (del) m.tail = next(m, i);
  }
  if (value != 0) copyBytes(value, slot(m, i), m.valueSize);
  if (del) m.count--;
  return 0;
}
