// LRU node lists for LRU_HASH and LRU_PERCPU_HASH (kernel-maps.md §7; kernel/bpf/bpf_lru_list.c).
//
// Written from the kernel source, and verified against the 6.18 kernel [V]: the §7.2/§7.3
// insert-only models, and 48 recorded traces (test/fixtures/lru-kernel-traces.json) mixing
// updates of new and existing keys, failing updates, deletes, lookups and BPF-program lookups,
// some with each update on a random CPU. They cover reference bits (the second chance), the
// active list and its rotation, the force shrink, per-CPU local lists and stealing.
// Not verifiable: truly concurrent CPUs, whose interleaving the kernel does not fix (§7.4).
//
// Free lists hold interchangeable nodes, so they are counters here: a free node owns no element
// storage. A node in a list is an element index; its links live in the element (hashtab.ts).
import { ENOMEM } from "./errno";
import { alloc, free } from "./alloc";
import { MapHdr, elemAt, poolAlloc, poolFree, BPF_F_NO_COMMON_LRU } from "./map";
import { htabUnlinkNode } from "./hashtab";

export const LRU_NODE_BYTES: u32 = 12;
const N_PREV: u32 = 8;
const N_NEXT: u32 = 12;
const N_TYPE: u32 = 16;
const N_REF: u32 = 17;
const N_CPU: u32 = 18;

// enum bpf_lru_list_type
const T_ACTIVE: u8 = 0;
const T_INACTIVE: u8 = 1;
// 2 and 3 are the free lists, which are counters here.
const T_LOCAL_PENDING: u8 = 4;

const LOCAL_FREE_TARGET: u32 = 128;
const LOCAL_NR_SCANS: u32 = LOCAL_FREE_TARGET;
const PERCPU_FREE_TARGET: u32 = 4;
const PERCPU_NR_SCANS: u32 = PERCPU_FREE_TARGET;

// State words at m.lru: [percpu, targetFree, nrScans, globalFree] then, for the common LRU, one
// global list and per-CPU local lists; for NO_COMMON_LRU, one list per CPU.
const S_PERCPU: u32 = 0;
const S_TARGET: u32 = 4;
const S_SCANS: u32 = 8;
const S_HDR: u32 = 16;
// a bpf_lru_list
const L_ACTIVE: u32 = 0; // sentinel node index of the active list
const L_INACTIVE: u32 = 4;
const L_CNT_ACTIVE: u32 = 8;
const L_CNT_INACTIVE: u32 = 12;
const L_ROTATION: u32 = 16; // next_inactive_rotation (a node index; may be the inactive sentinel)
const L_FREE: u32 = 20; // free nodes
const L_BYTES: u32 = 24;
// a bpf_lru_locallist
const LL_FREE: u32 = 0;
const LL_PENDING: u32 = 4; // sentinel of the pending list
const LL_NEXT_STEAL: u32 = 8;
const LL_BYTES: u32 = 12;

// ---- node fields and circular lists (sentinels are pool elements, never in a bucket)

@inline function nPrev(m: MapHdr, i: u32): u32 { return load<u32>(elemAt(m, i), N_PREV); }
@inline function nNext(m: MapHdr, i: u32): u32 { return load<u32>(elemAt(m, i), N_NEXT); }
@inline function setPrev(m: MapHdr, i: u32, v: u32): void { store<u32>(elemAt(m, i), v, N_PREV); }
@inline function setNext(m: MapHdr, i: u32, v: u32): void { store<u32>(elemAt(m, i), v, N_NEXT); }
@inline function nType(m: MapHdr, i: u32): u8 { return load<u8>(elemAt(m, i), N_TYPE); }
@inline function setType(m: MapHdr, i: u32, t: u8): void { store<u8>(elemAt(m, i), t, N_TYPE); }
@inline function isRef(m: MapHdr, i: u32): bool { return load<u8>(elemAt(m, i), N_REF) != 0; }
@inline function clearRef(m: MapHdr, i: u32): void { store<u8>(elemAt(m, i), 0, N_REF); }
@inline function nCpu(m: MapHdr, i: u32): u32 { return load<u16>(elemAt(m, i), N_CPU); }

function listInit(m: MapHdr, s: u32): void {
  setPrev(m, s, s);
  setNext(m, s, s);
}
function listDel(m: MapHdr, i: u32): void {
  const p = nPrev(m, i);
  const n = nNext(m, i);
  setNext(m, p, n);
  setPrev(m, n, p);
}
function listAddHead(m: MapHdr, i: u32, s: u32): void {
  const n = nNext(m, s);
  setNext(m, i, n);
  setPrev(m, i, s);
  setPrev(m, n, i);
  setNext(m, s, i);
}
@inline function listMove(m: MapHdr, i: u32, s: u32): void {
  listDel(m, i);
  listAddHead(m, i, s);
}

@inline function isPercpu(m: MapHdr): bool { return load<u32>(m.lru, S_PERCPU) != 0; }
@inline function globalList(m: MapHdr): usize { return m.lru + S_HDR; }
@inline function localList(m: MapHdr, cpu: u32): usize { return m.lru + S_HDR + L_BYTES + <usize>cpu * LL_BYTES; }
@inline function cpuList(m: MapHdr, cpu: u32): usize { return m.lru + S_HDR + <usize>cpu * L_BYTES; }

export function lruInit(m: MapHdr): i32 {
  const percpu = (m.mapFlags & BPF_F_NO_COMMON_LRU) != 0;
  const ncpus = m.ncpus;
  const bytes = <usize>S_HDR + (percpu ? <usize>ncpus * L_BYTES : <usize>L_BYTES + <usize>ncpus * LL_BYTES);
  if (m.lru == 0) {
    m.lru = alloc(bytes);
    if (m.lru == 0) return -ENOMEM;
    m.lruBytes = bytes;
  }
  store<u32>(m.lru, percpu ? 1 : 0, S_PERCPU);
  if (percpu) {
    store<u32>(m.lru, PERCPU_FREE_TARGET, S_TARGET);
    store<u32>(m.lru, PERCPU_NR_SCANS, S_SCANS);
    // bpf_percpu_lru_populate: each CPU owns max_entries / ncpus nodes.
    for (let c: u32 = 0; c < ncpus; c++) {
      if (!initList(m, cpuList(m, c), m.maxEntries / ncpus)) return -ENOMEM;
    }
  } else {
    let target = m.maxEntries / ncpus / 2;
    if (target < 1) target = 1;
    if (target > LOCAL_FREE_TARGET) target = LOCAL_FREE_TARGET;
    store<u32>(m.lru, target, S_TARGET);
    store<u32>(m.lru, LOCAL_NR_SCANS, S_SCANS);
    if (!initList(m, globalList(m), m.maxEntries)) return -ENOMEM;
    for (let c: u32 = 0; c < ncpus; c++) {
      const ll = localList(m, c);
      const s = poolAlloc(m);
      if (s == 0) return -ENOMEM;
      listInit(m, s);
      store<u32>(ll, 0, LL_FREE);
      store<u32>(ll, s, LL_PENDING);
      store<u32>(ll, c, LL_NEXT_STEAL);
    }
  }
  return 0;
}

function initList(m: MapHdr, l: usize, nfree: u32): bool {
  const a = poolAlloc(m);
  const i = poolAlloc(m);
  if (a == 0 || i == 0) return false;
  listInit(m, a);
  listInit(m, i);
  store<u32>(l, a, L_ACTIVE);
  store<u32>(l, i, L_INACTIVE);
  store<u32>(l, 0, L_CNT_ACTIVE);
  store<u32>(l, 0, L_CNT_INACTIVE);
  store<u32>(l, i, L_ROTATION);
  store<u32>(l, nfree, L_FREE);
  return true;
}

export function lruRelease(m: MapHdr): void {
  free(m.lru, m.lruBytes);
  m.lru = 0;
}

/** bpf_lru_node_set_ref */
export function lruSetRef(m: MapHdr, i: u32): void {
  const e = elemAt(m, i);
  if (load<u8>(e, N_REF) == 0) store<u8>(e, 1, N_REF);
}

@inline function countAdj(l: usize, t: u8, d: i32): void {
  if (t == T_ACTIVE) store<u32>(l, load<u32>(l, L_CNT_ACTIVE) + d, L_CNT_ACTIVE);
  else if (t == T_INACTIVE) store<u32>(l, load<u32>(l, L_CNT_INACTIVE) + d, L_CNT_INACTIVE);
}

@inline function sentinel(l: usize, t: u8): u32 {
  return t == T_ACTIVE ? load<u32>(l, L_ACTIVE) : load<u32>(l, L_INACTIVE);
}

/** __bpf_lru_node_move: between or within the active and inactive lists. */
function nodeMove(m: MapHdr, l: usize, i: u32, t: u8): void {
  const cur = nType(m, i);
  if (cur != t) {
    countAdj(l, cur, -1);
    countAdj(l, t, 1);
    setType(m, i, t);
  }
  clearRef(m, i);
  if (load<u32>(l, L_ROTATION) == i) store<u32>(l, nPrev(m, i), L_ROTATION);
  listMove(m, i, sentinel(l, t));
}

/** __bpf_lru_node_move_to_free: the node leaves its list and its element storage is released. */
function nodeMoveToFree(m: MapHdr, l: usize, i: u32, freeCounter: usize): void {
  if (load<u32>(l, L_ROTATION) == i) store<u32>(l, nPrev(m, i), L_ROTATION);
  countAdj(l, nType(m, i), -1);
  listDel(m, i);
  poolFree(m, i);
  store<u32>(freeCounter, load<u32>(freeCounter) + 1);
}

/** __bpf_lru_node_move_in: from a local pending list into the global list. */
function nodeMoveIn(m: MapHdr, l: usize, i: u32, t: u8): void {
  countAdj(l, t, 1);
  setType(m, i, t);
  clearRef(m, i);
  listMove(m, i, sentinel(l, t));
}

function rotateActive(m: MapHdr, l: usize): void {
  const s = load<u32>(l, L_ACTIVE);
  const first = nNext(m, s);
  const scans = load<u32>(m.lru, S_SCANS);
  let node = nPrev(m, s);
  let i: u32 = 0;
  while (node != s) {
    const tmp = nPrev(m, node);
    nodeMove(m, l, node, isRef(m, node) ? T_ACTIVE : T_INACTIVE);
    if (++i == scans || node == first) break;
    node = tmp;
  }
}

function rotateInactive(m: MapHdr, l: usize): void {
  const s = load<u32>(l, L_INACTIVE);
  if (nNext(m, s) == s) return;
  const scans = load<u32>(m.lru, S_SCANS);
  let last = nNext(m, load<u32>(l, L_ROTATION));
  if (last == s) last = nNext(m, last);
  let cur = load<u32>(l, L_ROTATION);
  let next = s;
  let i: u32 = 0;
  while (i < scans) {
    if (cur == s) {
      cur = nPrev(m, cur);
      continue;
    }
    next = nPrev(m, cur);
    if (isRef(m, cur)) nodeMove(m, l, cur, T_ACTIVE);
    if (cur == last) break;
    cur = next;
    i++;
  }
  store<u32>(l, next, L_ROTATION);
}

function rotate(m: MapHdr, l: usize): void {
  if (load<u32>(l, L_CNT_INACTIVE) < load<u32>(l, L_CNT_ACTIVE)) rotateActive(m, l);
  rotateInactive(m, l);
}

function shrinkInactive(m: MapHdr, l: usize, target: u32, freeCounter: usize): u32 {
  const s = load<u32>(l, L_INACTIVE);
  const scans = load<u32>(m.lru, S_SCANS);
  let node = nPrev(m, s);
  let shrunk: u32 = 0;
  let i: u32 = 0;
  while (node != s) {
    const tmp = nPrev(m, node);
    if (isRef(m, node)) {
      nodeMove(m, l, node, T_ACTIVE);
    } else if (htabUnlinkNode(m, node)) {
      nodeMoveToFree(m, l, node, freeCounter);
      if (++shrunk == target) break;
    }
    if (++i == scans) break;
    node = tmp;
  }
  return shrunk;
}

/** __bpf_lru_list_shrink: evict unreferenced inactive nodes, else force one out. */
function shrink(m: MapHdr, l: usize, target: u32, freeCounter: usize): void {
  if (shrinkInactive(m, l, target, freeCounter) != 0) return;
  let s = load<u32>(l, L_INACTIVE);
  if (nNext(m, s) == s) s = load<u32>(l, L_ACTIVE);
  let node = nPrev(m, s);
  while (node != s) {
    const tmp = nPrev(m, node);
    if (htabUnlinkNode(m, node)) {
      nodeMoveToFree(m, l, node, freeCounter);
      return;
    }
    node = tmp;
  }
}

function addPending(m: MapHdr, ll: usize, cpu: u32, i: u32): void {
  const e = elemAt(m, i);
  store<u16>(e, <u16>cpu, N_CPU);
  store<u8>(e, T_LOCAL_PENDING, N_TYPE);
  store<u8>(e, 0, N_REF);
  listAddHead(m, i, load<u32>(ll, LL_PENDING));
}

/** bpf_lru_list_pop_free_to_local: flush pending, rotate, refill target_free nodes, evicting if short. */
function popFreeToLocal(m: MapHdr, ll: usize): void {
  const l = globalList(m);
  const ps = load<u32>(ll, LL_PENDING);
  let node = nPrev(m, ps);
  while (node != ps) {
    const tmp = nPrev(m, node);
    nodeMoveIn(m, l, node, isRef(m, node) ? T_ACTIVE : T_INACTIVE);
    node = tmp;
  }
  rotate(m, l);
  const target = load<u32>(m.lru, S_TARGET);
  const globalFree = load<u32>(l, L_FREE);
  const n = globalFree < target ? globalFree : target;
  store<u32>(l, globalFree - n, L_FREE);
  store<u32>(ll, load<u32>(ll, LL_FREE) + n, LL_FREE);
  if (n < target) shrink(m, l, target - n, ll + LL_FREE);
}

/** __local_list_pop_pending: the oldest unreferenced pending node, else the oldest at all. */
function popPending(m: MapHdr, ll: usize): u32 {
  const ps = load<u32>(ll, LL_PENDING);
  for (let force = 0; force < 2; force++) {
    let node = nPrev(m, ps);
    while (node != ps) {
      if ((force == 1 || !isRef(m, node)) && htabUnlinkNode(m, node)) {
        listDel(m, node);
        return node;
      }
      node = nPrev(m, node);
    }
  }
  return 0;
}

/**
 * bpf_lru_pop_free: a node for a new element on `cpu`, evicting as the kernel does.
 * Returns its element index, or 0 (the kernel's -ENOMEM).
 */
export function lruPop(m: MapHdr, cpu: u32): u32 {
  if (isPercpu(m)) return percpuPop(m, cpu);
  const ll = localList(m, cpu);
  if (load<u32>(ll, LL_FREE) == 0) popFreeToLocal(m, ll);
  let node: u32 = 0;
  if (load<u32>(ll, LL_FREE) != 0) {
    node = poolAlloc(m);
    if (node == 0) return 0;
    store<u32>(ll, load<u32>(ll, LL_FREE) - 1, LL_FREE);
    addPending(m, ll, cpu, node);
    return node;
  }
  // Steal from the local free or pending lists, round robin from next_steal.
  const ncpus = m.ncpus;
  const first = load<u32>(ll, LL_NEXT_STEAL);
  let steal = first;
  do {
    const sl = localList(m, steal);
    if (load<u32>(sl, LL_FREE) != 0) {
      node = poolAlloc(m);
      if (node == 0) return 0;
      store<u32>(sl, load<u32>(sl, LL_FREE) - 1, LL_FREE);
    } else {
      node = popPending(m, sl);
    }
    steal = steal + 1 < ncpus ? steal + 1 : 0;
  } while (node == 0 && steal != first);
  store<u32>(ll, steal, LL_NEXT_STEAL);
  if (node != 0) addPending(m, ll, cpu, node);
  return node;
}

/** bpf_percpu_lru_pop_free: rotate, shrink up to 4 when the CPU's free list is empty. */
function percpuPop(m: MapHdr, cpu: u32): u32 {
  const l = cpuList(m, cpu);
  rotate(m, l);
  if (load<u32>(l, L_FREE) == 0) shrink(m, l, PERCPU_FREE_TARGET, l + L_FREE);
  if (load<u32>(l, L_FREE) == 0) return 0;
  const node = poolAlloc(m);
  if (node == 0) return 0;
  store<u32>(l, load<u32>(l, L_FREE) - 1, L_FREE);
  // __bpf_lru_node_move(l, node, INACTIVE) from the free list: straight to the inactive head.
  const e = elemAt(m, node);
  store<u16>(e, <u16>cpu, N_CPU);
  store<u8>(e, T_INACTIVE, N_TYPE);
  store<u8>(e, 0, N_REF);
  countAdj(l, T_INACTIVE, 1);
  listAddHead(m, node, load<u32>(l, L_INACTIVE));
  return node;
}

/** bpf_lru_push_free: an element left the table (or a popped node was not used). */
export function lruPushFree(m: MapHdr, i: u32): void {
  if (isPercpu(m)) {
    nodeMoveToFree(m, cpuList(m, nCpu(m, i)), i, cpuList(m, nCpu(m, i)) + L_FREE);
    return;
  }
  if (nType(m, i) == T_LOCAL_PENDING) {
    // Still pending: back to the owning CPU's local free list.
    const ll = localList(m, nCpu(m, i));
    listDel(m, i);
    poolFree(m, i);
    store<u32>(ll, load<u32>(ll, LL_FREE) + 1, LL_FREE);
    return;
  }
  const l = globalList(m);
  nodeMoveToFree(m, l, i, l + L_FREE);
}
