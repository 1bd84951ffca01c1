// What a map value with special fields looks like from outside: every copy of a value out of the
// map has its special fields zeroed (check_and_init_map_value after copy_map_value), so the
// bytes stored where a bpf_spin_lock or a timer lives are never seen; BPF_F_LOCK is allowed
// only for a value with a bpf_spin_lock.
import { perCpuSlotSize } from "@bpfkit/core";
import { Field } from "./btf-fields.js";
import type { SimMap } from "../objects.js";

/** btf_record_has_field(map->record, BPF_SPIN_LOCK). */
export function hasSpinLock(m: SimMap): boolean {
  return m.record !== null && (m.record.mask & Field.SPIN_LOCK) !== 0;
}

/**
 * Zeroes the special fields of `count` values laid out one after another in `buf` as the
 * syscall copies them (per-CPU values: one 8-byte-aligned slot per CPU); `oneSlot` for a
 * program's view, one CPU's value.
 */
export function zeroSpecialFields(m: SimMap, buf: Uint8Array, count: number, oneSlot = false): void {
  const rec = m.record;
  if (rec === null) return;
  const perCpu = !oneSlot && m.userValueSize !== m.valueSize;
  const slot = perCpu ? perCpuSlotSize(m.valueSize) : m.valueSize;
  const slots = perCpu ? m.userValueSize / slot : 1;
  const stride = oneSlot ? m.valueSize : m.userValueSize;
  for (let v = 0; v < count; v++) {
    for (let s = 0; s < slots; s++) {
      const base = v * stride + s * slot;
      for (const f of rec.fields) buf.fill(0, base + f.offset, base + f.offset + f.size);
    }
  }
}
