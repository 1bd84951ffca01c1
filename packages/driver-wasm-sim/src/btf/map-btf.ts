// MAP_CREATE with BTF (kernel/bpf/syscall.c map_check_btf and the map types' map_check_btf):
// the key and value types' sizes against key_size and value_size, the value's special fields
// (a bpf_spin_lock, timers, kptrs, …) and the map types that may hold each, then the type's own
// rule (an array's key is a 4-byte int, an LPM trie's a struct, a bloom filter has no key).
import {
  BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERF_EVENT_ARRAY, Errno,
} from "@bpfkit/core";
import { FIELD_KPTR, Field, checkGraphOwnership, parseFields } from "./btf-fields.js";
import type { BtfRecord } from "./btf-fields.js";
import { BTF_KIND, intIsRegular, isInt, typeIdSize } from "./btf-types.js";
import type { BtfType } from "./btf-types.js";
import type { SimBtf } from "./sim-btf.js";

/** Every special field map_check_btf looks for in a value. */
const VALUE_FIELDS = Field.SPIN_LOCK | Field.RES_SPIN_LOCK | Field.TIMER | FIELD_KPTR | Field.LIST_HEAD | Field.RB_ROOT |
  Field.REFCOUNT | Field.WORKQUEUE | Field.UPTR | Field.TASK_WORK;

const HASH = BPF_MAP_TYPE_HASH, ARRAY = BPF_MAP_TYPE_ARRAY;

/**
 * The map types that may hold each field (the switch of map_check_btf). Storage types the
 * simulator does not model (CGROUP_STORAGE, SK/INODE/TASK/CGRP_STORAGE) never get here.
 */
function typeAllows(field: number, mapType: number): boolean {
  switch (field) {
    case Field.SPIN_LOCK: case Field.RES_SPIN_LOCK:
      return mapType === HASH || mapType === ARRAY;
    case Field.TIMER: case Field.WORKQUEUE: case Field.TASK_WORK: case Field.LIST_HEAD: case Field.RB_ROOT:
      return mapType === HASH || mapType === BPF_MAP_TYPE_LRU_HASH || mapType === ARRAY;
    case Field.KPTR_UNREF: case Field.KPTR_REF: case Field.KPTR_PERCPU: case Field.REFCOUNT:
      return mapType === HASH || mapType === BPF_MAP_TYPE_PERCPU_HASH || mapType === BPF_MAP_TYPE_LRU_HASH ||
        mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH || mapType === ARRAY || mapType === BPF_MAP_TYPE_PERCPU_ARRAY;
    default: // BPF_UPTR: TASK_STORAGE only
      return false;
  }
}

export interface MapShape {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** Creation flags (the stored ones: RDONLY_PROG/WRONLY_PROG count). */
  mapFlags: number;
}

/**
 * The map type's map_check_btf, or null for a type without one (then a key type of 0 is EINVAL).
 * A positive errno or 0.
 */
function typeCheck(mapType: number): ((m: MapShape, btf: SimBtf, key: BtfType | null, value: BtfType) => number) | null {
  switch (mapType) {
    case ARRAY: case BPF_MAP_TYPE_PERCPU_ARRAY:
      // array_map_check_btf: a u32 key; keyless only for a one-element ARRAY of a DATASEC (.data/.bss).
      return (m, btf, key, value) => {
        if (key === null) {
          if (m.mapType !== ARRAY || m.maxEntries !== 1) return Errno.EINVAL;
          return value.kind === BTF_KIND.DATASEC ? 0 : Errno.EINVAL;
        }
        return isInt(key) && intIsRegular(btf.parsed, key, 4) ? 0 : Errno.EINVAL;
      };
    case BPF_MAP_TYPE_LPM_TRIE:
      // trie_check_btf: the key embeds struct bpf_lpm_trie_key_u8.
      return (_m, _btf, key) => (key !== null && key.kind === BTF_KIND.STRUCT ? 0 : Errno.EINVAL);
    case BPF_MAP_TYPE_BLOOM_FILTER:
      // bloom_map_check_btf: a bloom filter has no key.
      return (_m, _btf, key) => (key === null ? 0 : Errno.EINVAL);
    case BPF_MAP_TYPE_ARRAY_OF_MAPS: case BPF_MAP_TYPE_HASH_OF_MAPS: case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      // map_check_no_btf: a map-in-map or a PERF_EVENT_ARRAY takes no BTF.
      return () => Errno.ENOTSUPP;
    default:
      // The hash family, PROG_ARRAY, QUEUE, STACK and RINGBUF have no check of their own (so
      // they need a key type: a keyless QUEUE or RINGBUF with a value type is EINVAL).
      return null;
  }
}

/**
 * map_check_btf: the value's record (null when it has no special field or the search failed,
 * as the kernel keeps an error there and goes on), or a positive errno.
 */
export function checkMapBtf(m: MapShape, btf: SimBtf, keyId: number, valueId: number, capBpf: boolean): BtfRecord | null | number {
  const check = typeCheck(m.mapType);
  let keyType: BtfType | null = null;
  if (keyId !== 0) {
    const k = typeIdSize(btf.parsed, keyId);
    if (k === null || k.size !== m.keySize) return Errno.EINVAL;
    keyType = k.t;
  } else if (check === null) {
    return Errno.EINVAL;
  }
  const v = typeIdSize(btf.parsed, valueId);
  if (v === null || v.size !== m.valueSize) return Errno.EINVAL;
  const parsed = parseFields(btf.parsed, v.t, VALUE_FIELDS, m.valueSize);
  const record = typeof parsed === "number" ? null : parsed;
  if (record !== null) {
    if (!capBpf) return Errno.EPERM;
    if ((m.mapFlags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== 0) return Errno.EACCES;
    for (let bit = 0; bit < 32; bit++) {
      const f = record.mask & (1 << bit);
      if (f !== 0 && !typeAllows(f, m.mapType)) return Errno.EOPNOTSUPP;
    }
    const err = checkGraphOwnership(record, btf.metas);
    if (err !== 0) return err;
  }
  if (check !== null) {
    const err = check(m, btf, keyType, v.t);
    if (err !== 0) return err;
  }
  return record;
}
