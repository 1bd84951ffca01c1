// Elements the kernel can never allocate. NO_PREALLOC hashes and LPM tries take each element
// from bpf_mem_alloc, one kmalloc of the element and an 8-byte list node, and kmalloc stops at
// KMALLOC_MAX_SIZE (4 MiB on x86-64). MAP_CREATE bounds key and value sizes without the element
// header, the rounding or the list node, so a map at the edge is created and then refuses every
// insert with ENOMEM. Probed on 6.18: deterministic, as no kmalloc of that size can succeed.
// Only the refusing side is checked on both drivers (it allocates nothing on the kernel); the
// element of exactly 4 MiB that still fits is in the simulator's engine tests.
import { expectBatch } from "../assert.js";
import { u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { ANY, ARRAY, Checks, EXIST, F, HASH, HASH_OF_MAPS, LPM_TRIE, NOEXIST, PERCPU_HASH } from "./common.js";

const KMALLOC_MAX_SIZE = 4 << 20;

/** An LPM key of `keySize` bytes with this prefix length and zero data. */
function lpmKey(keySize: number, prefixlen: number): Uint8Array {
  const k = new Uint8Array(keySize);
  new DataView(k.buffer).setUint32(0, prefixlen, true);
  return k;
}

export const memAllocCases: ConformanceCase[] = [
  {
    // htab elem_size = 48 (struct htab_elem) + round_up(key, 8) + round_up(value, 8), or + 8 (a
    // pointer) for per-CPU values; the object is that + 8. Each map here is 8 bytes past the limit.
    name: "§4.1 elements NO_PREALLOC hashes: an element past KMALLOC_MAX_SIZE is created but every insert is ENOMEM",
    group: "elements",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("NO_PREALLOC elements past kmalloc");
      const inner = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }, "inner template");
      const shapes: Array<[string, number, number, number]> = [
        // value rounded up to KMALLOC_MAX_SIZE − 56: 48 + 8 + that + 8 = KMALLOC_MAX_SIZE + 8
        ["HASH, value", HASH, 4, KMALLOC_MAX_SIZE - 63],
        // key rounded up to KMALLOC_MAX_SIZE − 56, the value a pointer
        ["PERCPU_HASH, key", PERCPU_HASH, KMALLOC_MAX_SIZE - 63, 1],
        ["HASH_OF_MAPS, key", HASH_OF_MAPS, KMALLOC_MAX_SIZE - 63, 4],
      ];
      for (const [what, mapType, keySize, valueSize] of shapes) {
        const fd = ctx.create({ mapType, keySize, valueSize, maxEntries: 1, mapFlags: F.NO_PREALLOC, innerMapFd: inner }, `${what} create`);
        const key = new Uint8Array(keySize);
        const value = mapType === HASH_OF_MAPS ? u32(inner) : new Uint8Array(ctx.valueBytes(mapType, valueSize));
        c.result(d.mapUpdateElem(fd, key, value, ANY), "ENOMEM", `${what}: update ANY`);
        c.result(d.mapUpdateElem(fd, key, value, NOEXIST), "ENOMEM", `${what}: update NOEXIST`);
        // The flags meet the (empty) bucket first: ENOENT before the allocation.
        c.result(d.mapUpdateElem(fd, key, value, EXIST), "ENOENT", `${what}: update EXIST (ENOENT before ENOMEM)`);
        c.step(() => expectBatch(d.mapUpdateBatch(fd, key, value, 1), "ENOMEM", 0, `${what}: update batch`));
        c.result(d.mapLookupElem(fd, key, new Uint8Array(value.length)), "ENOENT", `${what}: lookup after the refused inserts`);
        c.result(d.mapGetNextKey(fd, null, new Uint8Array(keySize)), "ENOENT", `${what}: next_key(NULL): still empty`);
      }
      c.done();
    },
  },
  {
    // A trie node is 24 bytes (struct lpm_trie_node) + the key's data + the value, and trie_alloc
    // bounds the value at KMALLOC_MAX_SIZE − 256 − 24: with a 256-byte key the largest values never fit.
    name: "§9 LPM: a node past KMALLOC_MAX_SIZE is created but every insert is ENOMEM, before EEXIST, ENOENT and ENOSPC",
    group: "lpm",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("LPM nodes past kmalloc");
      const keySize = 260;
      // 24 + 256 + value + 8 = KMALLOC_MAX_SIZE + 1
      const valueSize = KMALLOC_MAX_SIZE - 287;
      const fd = ctx.create({ mapType: LPM_TRIE, keySize, valueSize, maxEntries: 1, mapFlags: F.NO_PREALLOC });
      const value = new Uint8Array(valueSize);
      c.result(d.mapUpdateElem(fd, lpmKey(keySize, 8), value, ANY), "ENOMEM", "update ANY");
      c.result(d.mapUpdateElem(fd, lpmKey(keySize, 2048), value, NOEXIST), "ENOMEM", "update NOEXIST of the longest prefix");
      // trie_update_elem allocates the node before it looks for the key: no ENOENT here.
      c.result(d.mapUpdateElem(fd, lpmKey(keySize, 0), value, EXIST), "ENOMEM", "update EXIST of a missing key (ENOMEM before ENOENT)");
      c.result(d.mapUpdateElem(fd, lpmKey(keySize, 2049), value, ANY), "EINVAL", "update of a prefix past max_prefixlen (EINVAL before ENOMEM)");
      c.result(d.mapUpdateElem(fd, lpmKey(keySize, 8), value, 3), "EINVAL", "update flags=3 (EINVAL before ENOMEM)");
      c.step(() => expectBatch(d.mapUpdateBatch(fd, lpmKey(keySize, 8), value, 1), "ENOMEM", 0, "update batch"));
      c.result(d.mapGetNextKey(fd, null, new Uint8Array(keySize)), "ENOENT", "next_key(NULL): still empty");
      c.done();
    },
  },
];
