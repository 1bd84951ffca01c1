// LPM_TRIE (kernel-maps.md §9): the kernel's path-compressed binary trie (kernel/bpf/lpm_trie.c),
// so lookup, update, delete and get_next_key cost O(key bits), and get_next_key walks the trie in
// the kernel's post-order (child 0, child 1, node; intermediate nodes skipped) — verified to be
// the §9.3 sort order.
//
// Key: u32 prefixlen (host order) + data[key_size − 4], a big-endian bit string.
// Node: [child0 u32][child1 u32][prefixlen u32][flags u32][data, padded to 4][value].
import { ENOENT, EEXIST, EINVAL, ENOMEM, ENOSPC } from "./errno";
import { alloc, free } from "./alloc";
import {
  MapHdr, elemAt, memAllocFits, poolAlloc, poolFree, poolReset, poolRelease, BPF_EXIST, BPF_NOEXIST, copyBytes,
} from "./map";

const N_CHILD0: u32 = 0;
const N_CHILD1: u32 = 4;
const N_PLEN: u32 = 8;
const N_FLAGS: u32 = 12;
const N_DATA: u32 = 16;
const FLAG_IM: u32 = 1; // LPM_TREE_NODE_FLAG_IM: an intermediate node, holding no entry
/** sizeof(struct lpm_trie_node) on 6.18 x86-64: two child pointers, prefixlen, flags. */
const LPM_NODE_SIZE: u64 = 24;

// The walk stack for get_next_key: one node per level, at most max_prefixlen + 1 levels. It is
// shared by all maps (one call at a time), sized for the largest key seen.
let stack: usize = 0;
let stackBytes: usize = 0;

@inline function dataSize(m: MapHdr): u32 { return m.keySize - 4; }
@inline function maxPrefixlen(m: MapHdr): u32 { return (m.keySize - 4) << 3; }
@inline function child(m: MapHdr, n: u32, b: u32): u32 { return load<u32>(elemAt(m, n) + (<usize>b << 2)); }
@inline function childSlot(m: MapHdr, n: u32, b: u32): usize { return elemAt(m, n) + (<usize>b << 2); }
@inline function plen(m: MapHdr, n: u32): u32 { return load<u32>(elemAt(m, n), N_PLEN); }
@inline function isIm(m: MapHdr, n: u32): bool { return (load<u32>(elemAt(m, n), N_FLAGS) & FLAG_IM) != 0; }
@inline function nodeData(m: MapHdr, n: u32): usize { return elemAt(m, n) + N_DATA; }
@inline function rootSlot(m: MapHdr): usize { return changetype<usize>(m) + offsetof<MapHdr>("root"); }

/** extract_bit: bit i of a big-endian bit string. */
@inline function bit(data: usize, i: u32): u32 {
  return (<u32>load<u8>(data + (i >>> 3)) >>> (7 - (i & 7))) & 1;
}

/** __longest_prefix_match: common leading bits of the node's and the key's data, capped. */
@inline function matchLen(m: MapHdr, n: u32, kplen: u32, kdata: usize): u32 {
  return matchAt(elemAt(m, n), dataSize(m), kplen, kdata);
}

/** matchLen for the node at address e. */
@inline function matchAt(e: usize, size: u32, kplen: u32, kdata: usize): u32 {
  const np = load<u32>(e, N_PLEN);
  const limit = np < kplen ? np : kplen;
  const a = e + N_DATA;
  let i: u32 = 0;
  let bits: u32 = 0;
  while (i + 4 <= size && bits < limit) {
    const x = load<u32>(a + i) ^ load<u32>(kdata + i);
    if (x != 0) {
      bits += clz<u32>(bswap<u32>(x));
      return bits < limit ? bits : limit;
    }
    bits += 32;
    i += 4;
  }
  while (i < size && bits < limit) {
    const x = <u32>(load<u8>(a + i) ^ load<u8>(kdata + i));
    if (x != 0) {
      bits += clz<u32>(x) - 24;
      return bits < limit ? bits : limit;
    }
    bits += 8;
    i++;
  }
  return bits < limit ? bits : limit;
}

export function lpmInit(m: MapHdr): i32 {
  const size = dataSize(m);
  m.keyOff = N_DATA;
  m.valOff = N_DATA + ((size + 3) & ~3);
  const esize = <u64>m.valOff + ((<u64>m.valueSize + 3) & ~3);
  if (esize > 0x7fffffff) return -ENOMEM;
  m.elemSize = <u32>esize;
  // Every node is one bpf_mem_alloc object of the node, the data and the value: trie_alloc
  // bounds the value alone, so the largest keys with the largest values never fit.
  m.elemUnallocatable = !memAllocFits(LPM_NODE_SIZE + size + <u64>m.valueSize);
  // Entries plus at most entries − 1 intermediate nodes, plus the unused index 0.
  const limit = <u64>m.maxEntries * 2 + 1;
  m.elemLimit = limit > 0xffffffff ? 0xffffffff : <u32>limit;
  poolReset(m);
  m.root = 0;
  const need = (<usize>(size << 3) + 2) << 2;
  if (need > stackBytes) {
    const p = alloc(need);
    if (p == 0) return -ENOMEM;
    free(stack, stackBytes);
    stack = p;
    stackBytes = need;
  }
  return 0;
}

export function lpmRelease(m: MapHdr): void {
  poolRelease(m);
  m.root = 0;
}

export function lpmClear(m: MapHdr): void {
  poolReset(m);
  m.root = 0;
  m.count = 0;
}

/** trie_lookup_elem: the value of the longest stored prefix of the key. */
export function lpmLookup(m: MapHdr, key: usize, value: usize): i32 {
  const kplen = load<u32>(key);
  const kdata = key + 4;
  const max = maxPrefixlen(m);
  if (kplen > max) return -ENOENT;
  const elems = m.elems;
  const esize = <usize>m.elemSize;
  const size = dataSize(m);
  let found: usize = 0;
  let n = m.root;
  while (n != 0) {
    const e = elems + <usize>n * esize;
    const ml = matchAt(e, size, kplen, kdata);
    if (ml == max) {
      found = e;
      break;
    }
    const np = load<u32>(e, N_PLEN);
    if (ml < np) break;
    if ((load<u32>(e, N_FLAGS) & FLAG_IM) == 0) found = e;
    n = load<u32>(e + (<usize>bit(kdata, np) << 2));
  }
  if (found == 0) return -ENOENT;
  if (value != 0) copyBytes(value, found + m.valOff, m.valueSize);
  return 0;
}

function fillNode(m: MapHdr, n: u32, kplen: u32, kdata: usize, value: usize): void {
  const e = elemAt(m, n);
  store<u32>(e, 0, N_CHILD0);
  store<u32>(e, 0, N_CHILD1);
  store<u32>(e, kplen, N_PLEN);
  store<u32>(e, 0, N_FLAGS);
  copyBytes(e + N_DATA, kdata, dataSize(m));
  copyBytes(e + m.valOff, value, m.valueSize);
}

/** trie_update_elem. */
export function lpmUpdate(m: MapHdr, key: usize, value: usize, flags: u32): i32 {
  if (flags > BPF_EXIST) return -EINVAL;
  const kplen = load<u32>(key);
  const kdata = key + 4;
  if (kplen > maxPrefixlen(m)) return -EINVAL;
  // trie_update_elem allocates the new node before it looks at the trie: ENOMEM comes before
  // EEXIST, ENOENT and ENOSPC.
  if (m.elemUnallocatable) return -ENOMEM;
  let slot = rootSlot(m);
  let n = load<u32>(slot);
  let ml: u32 = 0;
  while (n != 0) {
    ml = matchLen(m, n, kplen, kdata);
    const np = plen(m, n);
    if (np != ml || np == kplen) break;
    slot = childSlot(m, n, bit(kdata, np));
    n = load<u32>(slot);
  }
  if (n != 0 && plen(m, n) == ml) {
    // Same prefix: replace an entry (stored data bytes too, host bits included, §9.2), or turn
    // an intermediate node into an entry.
    if (!isIm(m, n)) {
      if (flags == BPF_NOEXIST) return -EEXIST;
    } else {
      const r = checkAdd(m, flags);
      if (r != 0) return r;
    }
    const e = elemAt(m, n);
    store<u32>(e, 0, N_FLAGS);
    copyBytes(e + N_DATA, kdata, dataSize(m));
    copyBytes(e + m.valOff, value, m.valueSize);
    return 0;
  }
  const r = checkAdd(m, flags);
  if (r != 0) return r;
  // The pool may move: keep the slot as an offset from the pool base (or the root field).
  const inPool = slot != rootSlot(m);
  const slotOff = inPool ? slot - m.elems : 0;
  const fresh = poolAlloc(m);
  const im: u32 = n != 0 && ml != kplen ? poolAlloc(m) : 0;
  if (fresh == 0 || (n != 0 && ml != kplen && im == 0)) {
    if (fresh != 0) poolFree(m, fresh);
    m.count--;
    return -ENOMEM;
  }
  slot = inPool ? m.elems + slotOff : rootSlot(m);
  fillNode(m, fresh, kplen, kdata, value);
  if (n == 0) {
    store<u32>(slot, fresh);
  } else if (ml == kplen) {
    // The new entry is a prefix of the node: it becomes the node's parent.
    store<u32>(childSlot(m, fresh, bit(nodeData(m, n), ml)), n);
    store<u32>(slot, fresh);
  } else {
    // They diverge at bit ml: an intermediate node holds both.
    const e = elemAt(m, im);
    store<u32>(e, ml, N_PLEN);
    store<u32>(e, FLAG_IM, N_FLAGS);
    copyBytes(e + N_DATA, nodeData(m, n), dataSize(m));
    if (bit(kdata, ml) != 0) {
      store<u32>(e, n, N_CHILD0);
      store<u32>(e, fresh, N_CHILD1);
    } else {
      store<u32>(e, fresh, N_CHILD0);
      store<u32>(e, n, N_CHILD1);
    }
    store<u32>(slot, im);
  }
  return 0;
}

/** A new entry: EXIST wants an existing one; a full trie is ENOSPC, not E2BIG (§9.2). */
function checkAdd(m: MapHdr, flags: u32): i32 {
  if (flags == BPF_EXIST) return -ENOENT;
  if (m.count == m.maxEntries) return -ENOSPC;
  m.count++;
  return 0;
}

/** trie_delete_elem: exact prefix only (host bits ignored); intermediate nodes don't count. */
export function lpmDelete(m: MapHdr, key: usize): i32 {
  const kplen = load<u32>(key);
  const kdata = key + 4;
  if (kplen > maxPrefixlen(m)) return -EINVAL;
  let trim = rootSlot(m);
  let trim2 = trim;
  let parent: u32 = 0;
  let n = load<u32>(trim);
  let ml: u32 = 0;
  while (n != 0) {
    ml = matchLen(m, n, kplen, kdata);
    const np = plen(m, n);
    if (np != ml || np == kplen) break;
    parent = n;
    trim2 = trim;
    trim = childSlot(m, n, bit(kdata, np));
    n = load<u32>(trim);
  }
  if (n == 0 || plen(m, n) != kplen || plen(m, n) != ml || isIm(m, n)) return -ENOENT;
  m.count--;
  const c0 = child(m, n, 0);
  const c1 = child(m, n, 1);
  if (c0 != 0 && c1 != 0) {
    // Both children stay: the node becomes intermediate.
    store<u32>(elemAt(m, n), FLAG_IM, N_FLAGS);
    return 0;
  }
  if (parent != 0 && isIm(m, parent) && c0 == 0 && c1 == 0) {
    // A leaf under an intermediate node: the sibling takes the intermediate node's place.
    const other = child(m, parent, 0) == n ? child(m, parent, 1) : child(m, parent, 0);
    store<u32>(trim2, other);
    poolFree(m, parent);
    poolFree(m, n);
    return 0;
  }
  store<u32>(trim, c0 != 0 ? c0 : c1);
  poolFree(m, n);
  return 0;
}

/** The first entry in post-order under `n`. */
function leftmost(m: MapHdr, n: u32): u32 {
  let next: u32 = 0;
  while (n != 0) {
    if (isIm(m, n)) {
      n = child(m, n, 0);
    } else {
      next = n;
      const c0 = child(m, n, 0);
      n = c0 != 0 ? c0 : child(m, next, 1);
    }
  }
  return next;
}

function copyKey(m: MapHdr, n: u32, out: usize): void {
  store<u32>(out, plen(m, n));
  copyBytes(out + 4, nodeData(m, n), dataSize(m));
}

/** trie_get_next_key: post-order successor; a missing key (or NULL) gives the first entry. */
export function lpmGetNextKey(m: MapHdr, key: usize, nextKey: usize): i32 {
  if (m.root == 0) return -ENOENT;
  const first = leftmost(m, m.root);
  if (key == 0) {
    copyKey(m, first, nextKey);
    return 0;
  }
  const kplen = load<u32>(key);
  const kdata = key + 4;
  if (kplen > maxPrefixlen(m)) {
    copyKey(m, first, nextKey);
    return 0;
  }
  let sp: u32 = 0;
  let n = m.root;
  let ml: u32 = 0;
  while (n != 0) {
    store<u32>(stack + (<usize>sp << 2), n);
    sp++;
    ml = matchLen(m, n, kplen, kdata);
    const np = plen(m, n);
    if (np != ml || np == kplen) break;
    n = child(m, n, bit(kdata, np));
  }
  if (n == 0 || plen(m, n) != ml || plen(m, n) != kplen || isIm(m, n)) {
    copyKey(m, first, nextKey);
    return 0;
  }
  // Climb: the right sibling's subtree comes next, else the first non-intermediate ancestor.
  let i = sp - 1;
  let node = n;
  while (i > 0) {
    const par = load<u32>(stack + (<usize>(i - 1) << 2));
    const c1 = child(m, par, 1);
    if (child(m, par, 0) == node && c1 != 0) {
      copyKey(m, leftmost(m, c1), nextKey);
      return 0;
    }
    if (!isIm(m, par)) {
      copyKey(m, par, nextKey);
      return 0;
    }
    node = par;
    i--;
  }
  return -ENOENT;
}
