// The contract between the AssemblyScript map engine (assembly/) and the TypeScript driver
// (src/). The engine owns map *contents and semantics*: hash buckets, LRU lists, the LPM trie,
// arrays, per-CPU slots, batches. The driver owns the *syscall surface*: attr validation in the
// kernel's order, fds, ids, access modes, freeze, pins, reference counts, fd→id translation for
// map-in-map and PROG_ARRAY values, hooks and faults.
//
// Conventions: every i32 result is >= 0 on success or -errno (Linux numbers, ENOTSUPP = 524).
// Pointers are byte offsets into `memory`. Bytes move through `scratch()`. Any call that may
// allocate may grow memory, which detaches old ArrayBuffer views: re-read `memory.buffer`.
// The engine never traps on bad input or exhaustion: it answers -ENOMEM (12) instead.

/** The map engine's WebAssembly exports: the ABI the driver calls (the comments above). */
export interface EngineExports {
  /**
   * The engine's WebAssembly.Memory, as the driver uses it: named by shape so that the package's
   * types need neither DOM's lib nor Node's.
   */
  readonly memory: { readonly buffer: ArrayBuffer };

  /** A scratch region of at least `bytes`, valid until the next scratch() call. 0 → -ENOMEM. */
  scratch(bytes: number): number;
  /**
   * Frees the scratch region, so that the room one large batch needed goes back to the maps.
   * Optional: without it (a loader of an older engine build) the region is kept.
   */
  scratchRelease?(): void;
  /** Cap on the engine's total memory, in bytes (u32; 0 = the wasm32 maximum). */
  setMemoryLimit(bytes: number): void;
  /** Bytes of wasm memory in use by maps (for size reports). */
  memoryUsed(): number;
  /** The kernel's jhash of `length` bytes at `keyPtr` (u32), for tests and tools (§5.1). */
  jhash(keyPtr: number, length: number, seed: number): number;
  /**
   * The simulated kernel's PAGE_SHIFT, 12 (the default) to 16: the page a ring buffer's layout
   * and an mmapable array's region are counted in. 0, -EINVAL out of range, -EBUSY while the
   * engine holds a map. Optional: an engine without it (a loader of an older build) has 4 KiB pages.
   */
  setPageShift?(shift: number): number;

  /**
   * A map whose attributes the driver has already validated. `maxEntries` is the effective max
   * (NO_COMMON_LRU already rounded to a multiple of ncpus). `seed` is the jhash seed: the driver
   * passes 0 for BPF_F_ZERO_SEED. `extra` is a BLOOM_FILTER's hash count (map_extra, 0..15, 0
   * meaning 5) and 0 for every other type; an older caller that leaves it out passes 0. Returns a
   * handle >= 1, or -ENOMEM over the memory limit (-EINVAL/-E2BIG only for attributes the driver
   * should already have refused). QUEUE, STACK and BLOOM_FILTER take keySize 0; their lookup is
   * a peek (a bloom filter's reads the value at `valuePtr`), update a push, lookup-and-delete a pop.
   */
  mapCreate(mapType: number, keySize: number, valueSize: number, maxEntries: number,
    mapFlags: number, ncpus: number, seed: number, extra?: number): number;
  /** Frees the map behind handle `h`; the handle is not used again. */
  mapFree(h: number): void;
  /** Elements present (hash, LRU, LPM, queue, stack), or occupied slots (PROG_ARRAY, ARRAY_OF_MAPS); 0 for arrays and bloom filters. */
  mapCount(h: number): number;
  /** Empties the map (PROG_ARRAY when its last user reference goes). */
  mapClear(h: number): void;

  // ---- mmap of a BPF_F_MMAPABLE ARRAY: its values are a region of whole pages (setPageShift's;
  // value i at i × roundUp(valueSize, 8), the tail zeroed), which the driver reads and writes in place.
  // The region never moves while the map lives; memory growth only detaches JS views of it.
  /** The region's pages: -EBADF for an unknown handle, -EINVAL for a map that has no region. */
  mapMmapPages(h: number): number;
  /** The region's first byte in `memory` (u32); 0 for an unknown handle or a map without one. */
  mapMmapBase(h: number): number;

  // ---- element operations, as the syscall's "map operation" step (kernel-maps.md §4 step 8):
  // the driver has done fd, permission, frozen and F_LOCK checks. Values are user-space
  // values: per-CPU maps take and give ncpus × roundUp(valueSize, 8) bytes, padding kept.
  // Map-in-map and PROG_ARRAY values are u32 ids (the driver translates fds).
  /** Copies the value under the key at `keyPtr` to `valuePtr`: 0 or -errno (ENOENT when absent). */
  mapLookup(h: number, keyPtr: number, valuePtr: number): number;
  /** Writes the key and value at the pointers with the update `flags`: 0 or -errno. */
  mapUpdate(h: number, keyPtr: number, valuePtr: number, flags: number): number;
  /**
   * An update with BPF_F_LOCK (`flags` without it) of a value with a bpf_spin_lock: as
   * `mapUpdate`, but a HASH element that is there is written in place, keeping its place in its
   * bucket (htab_map_update_elem's copy_map_value_locked), where a plain update moves it to the head.
   */
  mapUpdateLocked(h: number, keyPtr: number, valuePtr: number, flags: number): number;
  /** Removes the key at `keyPtr`: 0 or -errno (ENOENT when absent). */
  mapDelete(h: number, keyPtr: number): number;
  /** keyPtr 0 = NULL (first key). */
  mapGetNextKey(h: number, keyPtr: number, nextKeyPtr: number): number;
  /**
   * Copies the value under the key at `keyPtr` to `valuePtr` and removes the key: 0 or -errno (ENOTSUPP but for
   * the hash family).
   */
  mapLookupAndDelete(h: number, keyPtr: number, valuePtr: number): number;

  // ---- batches (kernel-maps.md §10). Return 0 or -errno; the count the kernel would write
  // back is in batchCount(). inPtr 0 = NULL. Tokens are a u32 bucket for the hash family and a
  // key for the others. `del` 1 = LOOKUP_AND_DELETE_BATCH.
  /**
   * LOOKUP_BATCH, or LOOKUP_AND_DELETE_BATCH with `del` 1: up to `count` elements from the token at `inPtr` (0:
   * the start).
   */
  mapLookupBatch(h: number, inPtr: number, outPtr: number, keysPtr: number, valuesPtr: number,
    count: number, del: number): number;
  /** Generic update batch: BPF_ANY each, stops at the first error. */
  mapUpdateBatch(h: number, keysPtr: number, valuesPtr: number, count: number): number;
  /** Generic delete batch: stops at the first error. */
  mapDeleteBatch(h: number, keysPtr: number, count: number): number;
  /** The count the last batch call would write back to user space. */
  batchCount(): number;

  // ---- the datapath: what a BPF program running on `cpu` does (kernel-maps.md §6, §7.1).
  // Per-CPU values here are ONE slot of valueSize bytes, for that cpu.
  /** Marks an LRU element referenced. */
  datapathLookup(h: number, keyPtr: number, valuePtr: number, cpu: number): number;
  /** A new per-CPU element writes `cpu`'s slot and zeroes the others; an existing one only `cpu`'s. */
  datapathUpdate(h: number, keyPtr: number, valuePtr: number, flags: number, cpu: number): number;
  /** bpf_map_delete_elem from a program on `cpu`: 0 or -errno. */
  datapathDelete(h: number, keyPtr: number, cpu: number): number;

  // ---- ring buffers (BPF_MAP_TYPE_RINGBUF): the region mapMmapBase names is the consumer
  // position's page (u64 at 0), the producer position's page (u64 at one page, 4096 by default,
  // the kernel's pending_pos 8 bytes after it), then maxEntries bytes of data from two pages on;
  // mapMmapPages counts them once. Records: an 8-byte header (u32 len with BUSY bit 31 and
  // DISCARD bit 30, u32 pg_off: 3 + the header's data page), then the sample, padded to 8; a
  // sample may wrap past the data's end to its start, which the driver copies in two pieces.
  /**
   * __bpf_ringbuf_reserve: the header's offset in the data (>= 0; the record is BUSY), or
   * -E2BIG for a size no record of this ring can have, -EAGAIN for no room (the consumer
   * position or the oldest BUSY record is too close), -EINVAL for a map that is no ring buffer.
   */
  ringbufReserve(h: number, size: bigint): number;
  /**
   * Submits (`discard` 0) or discards (1) the BUSY record at `hdrOff`: 1 when the consumer
   * position (masked) then points at the record, the kernel's wake-up condition short of the
   * flags; else 0; -EINVAL if it is not BUSY.
   */
  ringbufCommit(h: number, hdrOff: number, discard: number): number;
  /**
   * bpf_ringbuf_query: AVAIL_DATA 0, RING_SIZE 1, CONS_POS 2, PROD_POS 3; 0n for any other flag.
   * A u64 that JS reads as wasm's signed i64: the driver takes BigInt.asUintN(64, …).
   */
  ringbufQuery(h: number, flags: bigint): bigint;
}
