// Generic batch operations (kernel-maps.md §10.2, generic_map_*_batch in syscall.c): tokens are
// keys, built on get_next_key, lookup, update and delete. Hash maps use bucket tokens (hashtab.ts).
import { ENOENT, ENOMEM } from "./errno";
import { MapHdr } from "./map";
import { mapLookupOp, mapUpdateOp, mapDeleteOp, mapGetNextKeyOp, scratchKeys } from "./ops";

export let genericCount: u32 = 0;

/**
 * generic_map_lookup_batch: walks get_next_key from the in-token (a missing one restarts), skips
 * elements that cannot be looked up (empty ARRAY_OF_MAPS slots), and leaves in out_batch the last
 * key the walk visited, written only when something was copied.
 */
export function genericLookupBatch(m: MapHdr, inPtr: usize, outPtr: usize, keys: usize, values: usize, count: u32): i32 {
  const keySize = m.keySize;
  const vsize = m.userValue;
  // Two key buffers for prev/next, like the kernel's buf_prevkey and key.
  let prev = scratchKeys(m);
  if (prev == 0) return -ENOMEM;
  let cur = prev + keySize;
  let havePrev = false;
  if (inPtr != 0) {
    memory.copy(prev, inPtr, keySize);
    havePrev = true;
  }
  let cp: u32 = 0;
  let err: i32 = 0;
  while (cp < count) {
    err = mapGetNextKeyOp(m, havePrev ? prev : 0, cur);
    if (err != 0) break;
    const k = keys + <usize>cp * keySize;
    const v = values + <usize>cp * vsize;
    err = mapLookupOp(m, cur, v);
    if (err == 0) {
      memory.copy(k, cur, keySize);
      cp++;
    } else if (err != -ENOENT) {
      break;
    }
    const t = prev;
    prev = cur;
    cur = t;
    havePrev = true;
  }
  genericCount = cp;
  if (cp != 0 && outPtr != 0) memory.copy(outPtr, prev, keySize);
  return err;
}

/** generic_map_update_batch: BPF_ANY each, stops at the first error with the count applied. */
export function genericUpdateBatch(m: MapHdr, keys: usize, values: usize, count: u32): i32 {
  let cp: u32 = 0;
  let err: i32 = 0;
  while (cp < count) {
    err = mapUpdateOp(m, keys + <usize>cp * m.keySize, values + <usize>cp * m.userValue, 0);
    if (err != 0) break;
    cp++;
  }
  genericCount = cp;
  return err;
}

/** generic_map_delete_batch: stops at the first error with the count deleted. */
export function genericDeleteBatch(m: MapHdr, keys: usize, count: u32): i32 {
  let cp: u32 = 0;
  let err: i32 = 0;
  while (cp < count) {
    err = mapDeleteOp(m, keys + <usize>cp * m.keySize);
    if (err != 0) break;
    cp++;
  }
  genericCount = cp;
  return err;
}
