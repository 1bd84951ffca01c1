// Element operations dispatched on the map's kind: the syscall's "map operation" step
// (kernel-maps.md §4 step 8), plus the datapath variants.
import { EINVAL, EOPNOTSUPP, ENOTSUPP } from "./errno";
import { alloc, free } from "./alloc";
import { MapHdr, KIND_HASH, KIND_LPM, KIND_QUEUE_STACK, KIND_BLOOM, KIND_RINGBUF } from "./map";
import { queueStackPush, queueStackGet } from "./queue-stack";
import { bloomPush, bloomPeek } from "./bloom";
import { htabLookup, htabUpdate, htabDelete, htabGetNextKey, htabLookupAndDelete } from "./hashtab";
import { arrayLookup, arrayUpdate, arrayDelete, arrayGetNextKey } from "./array";
import { lpmLookup, lpmUpdate, lpmDelete, lpmGetNextKey } from "./lpm";

export function mapLookupOp(m: MapHdr, key: usize, value: usize): i32 {
  const k = m.kind;
  // A ring buffer has no elements: every element op is ENOTSUPP (ringbuf.c).
  if (k == KIND_RINGBUF) return -ENOTSUPP;
  if (k == KIND_HASH) return htabLookup(m, key, value, false, 0);
  if (k == KIND_LPM) return lpmLookup(m, key, value);
  // Keyless maps: a lookup is map_peek_elem (a bloom filter reads the value, writes nothing).
  if (k == KIND_QUEUE_STACK) return queueStackGet(m, value, false);
  if (k == KIND_BLOOM) return bloomPeek(m, value);
  return arrayLookup(m, key, value, false, 0);
}

export function mapUpdateOp(m: MapHdr, key: usize, value: usize, flags: u32): i32 {
  const k = m.kind;
  if (k == KIND_RINGBUF) return -ENOTSUPP;
  if (k == KIND_HASH) return htabUpdate(m, key, value, flags, false, 0);
  if (k == KIND_LPM) return lpmUpdate(m, key, value, flags);
  // Keyless maps: an update is map_push_elem.
  if (k == KIND_QUEUE_STACK) return queueStackPush(m, value, flags);
  if (k == KIND_BLOOM) return bloomPush(m, value, flags);
  return arrayUpdate(m, key, value, flags, false, 0);
}

/** An update with BPF_F_LOCK (`flags` without it) of a HASH or ARRAY whose value has a spin lock. */
export function mapUpdateLockedOp(m: MapHdr, key: usize, value: usize, flags: u32): i32 {
  if (m.kind == KIND_HASH) return htabUpdate(m, key, value, flags, false, 0, true);
  return mapUpdateOp(m, key, value, flags);
}

export function mapDeleteOp(m: MapHdr, key: usize): i32 {
  const k = m.kind;
  if (k == KIND_RINGBUF) return -ENOTSUPP;
  if (k == KIND_HASH) return htabDelete(m, key);
  if (k == KIND_LPM) return lpmDelete(m, key);
  // Queues and stacks refuse with EINVAL; a bloom filter has no delete op (EOPNOTSUPP).
  if (k == KIND_QUEUE_STACK) return -EINVAL;
  if (k == KIND_BLOOM) return -EOPNOTSUPP;
  return arrayDelete(m, key);
}

export function mapGetNextKeyOp(m: MapHdr, key: usize, nextKey: usize): i32 {
  const k = m.kind;
  if (k == KIND_RINGBUF) return -ENOTSUPP;
  if (k == KIND_HASH) return htabGetNextKey(m, key, nextKey);
  if (k == KIND_LPM) return lpmGetNextKey(m, key, nextKey);
  if (k == KIND_QUEUE_STACK) return -EINVAL;
  if (k == KIND_BLOOM) return -EOPNOTSUPP;
  return arrayGetNextKey(m, key, nextKey);
}

export function mapLookupAndDeleteOp(m: MapHdr, key: usize, value: usize): i32 {
  // Queues and stacks pop; arrays, fd arrays, LPM and bloom filters have no lookup-and-delete.
  if (m.kind == KIND_QUEUE_STACK) return queueStackGet(m, value, true);
  if (m.kind != KIND_HASH) return -ENOTSUPP;
  return htabLookupAndDelete(m, key, value);
}

export function datapathLookupOp(m: MapHdr, key: usize, value: usize, cpu: u32): i32 {
  const k = m.kind;
  if (k == KIND_RINGBUF) return -ENOTSUPP;
  if (k == KIND_HASH) return htabLookup(m, key, value, true, cpu);
  if (k == KIND_LPM) return lpmLookup(m, key, value);
  if (k == KIND_QUEUE_STACK || k == KIND_BLOOM) return mapLookupOp(m, key, value);
  return arrayLookup(m, key, value, true, cpu);
}

export function datapathUpdateOp(m: MapHdr, key: usize, value: usize, flags: u32, cpu: u32): i32 {
  const k = m.kind;
  if (k == KIND_RINGBUF) return -ENOTSUPP;
  if (k == KIND_HASH) return htabUpdate(m, key, value, flags, true, cpu);
  if (k == KIND_LPM) return lpmUpdate(m, key, value, flags);
  if (k == KIND_QUEUE_STACK || k == KIND_BLOOM) return mapUpdateOp(m, key, value, flags);
  return arrayUpdate(m, key, value, flags, true, cpu);
}

// Two key-sized buffers owned by the engine, for walks that must not touch the driver's scratch.
let keyBuf: usize = 0;
let keyBufSize: usize = 0;

export function scratchKeys(m: MapHdr): usize {
  const need = <usize>m.keySize * 2;
  if (need > keyBufSize) {
    const p = alloc(need);
    if (p == 0) return 0;
    free(keyBuf, keyBufSize);
    keyBuf = p;
    keyBufSize = need;
  }
  return keyBuf;
}

