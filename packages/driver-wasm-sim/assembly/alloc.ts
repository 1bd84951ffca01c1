// Raw memory for maps, with no managed objects: small blocks in power-of-two classes carved from
// 64 KiB pages, large blocks as runs of whole pages. Memory grows by exactly the pages needed and
// never past the limit, so a full engine answers -ENOMEM instead of trapping, and the size of
// `memory.buffer` stays an honest measure (TLSF would double the memory on growth).

const PAGE_BITS: u32 = 16;
const PAGE: usize = 1 << PAGE_BITS;
const MIN_BITS: u32 = 4; // 16-byte blocks
const MAX_SMALL_BITS: u32 = 15; // 32 KiB blocks; larger requests take whole pages
const WASM32_MAX_PAGES: u32 = 65536;

// Free-list head per small class; a free block's first u32 links to the next one.
const smallFree: usize = memory.data(<i32>(MAX_SMALL_BITS - MIN_BITS + 1) * 4);

let limitPages: u32 = WASM32_MAX_PAGES;
let usedBytes: usize = 0;
// Pages below `topPage` belong to the allocator (in use, or in a free run).
let topPage: u32 = <u32>((__heap_base + PAGE - 1) >>> PAGE_BITS);
// Free page runs, sorted by page index; each run stores [npages u32, next run's page u32] at its start.
let freeRuns: u32 = 0;

/** Sets the cap on total wasm memory; 0 = the wasm32 maximum. */
export function setLimit(bytes: u32): void {
  limitPages = bytes == 0 ? WASM32_MAX_PAGES : bytes >>> PAGE_BITS;
}

/** Whether a cap below the wasm32 maximum was set. */
export function limited(): bool {
  return limitPages < WASM32_MAX_PAGES;
}

export function used(): usize {
  return usedBytes;
}

function ensurePages(pages: u32): bool {
  const have = <u32>memory.size();
  if (pages <= have) return true;
  if (pages > limitPages) return false;
  return memory.grow(<i32>(pages - have)) >= 0;
}

@inline function runPages(page: u32): u32 {
  return load<u32>(<usize>page << PAGE_BITS);
}
@inline function runNext(page: u32): u32 {
  return load<u32>(<usize>page << PAGE_BITS, 4);
}
@inline function setRun(page: u32, npages: u32, next: u32): void {
  store<u32>(<usize>page << PAGE_BITS, npages);
  store<u32>(<usize>page << PAGE_BITS, next, 4);
}

function allocPages(n: u32): u32 {
  // First fit among the free runs.
  let prev: u32 = 0;
  let run = freeRuns;
  while (run != 0) {
    const size = runPages(run);
    const next = runNext(run);
    if (size >= n) {
      if (size > n) {
        setRun(run + n, size - n, next);
        if (prev == 0) freeRuns = run + n;
        else setRun(prev, runPages(prev), run + n);
      } else {
        if (prev == 0) freeRuns = next;
        else setRun(prev, runPages(prev), next);
      }
      return run;
    }
    prev = run;
    run = next;
  }
  if (<u64>topPage + n > <u64>WASM32_MAX_PAGES || !ensurePages(topPage + n)) return 0;
  const page = topPage;
  topPage += n;
  return page;
}

function freePages(page: u32, n: u32): void {
  let prev: u32 = 0;
  let next = freeRuns;
  while (next != 0 && next < page) {
    prev = next;
    next = runNext(next);
  }
  // Coalesce with the following run, then with the preceding one.
  if (next != 0 && page + n == next) {
    n += runPages(next);
    next = runNext(next);
  }
  if (prev != 0 && prev + runPages(prev) == page) {
    page = prev;
    n += runPages(prev);
    // Find prev's predecessor again to relink (runs are few: one per large block).
    prev = 0;
    let r = freeRuns;
    while (r != page) {
      prev = r;
      r = runNext(r);
    }
  }
  if (page + n == topPage) {
    // The run touches the top: give it back to the top so growth can reuse it in place.
    topPage = page;
    if (prev == 0) freeRuns = next;
    else setRun(prev, runPages(prev), next);
    return;
  }
  setRun(page, n, next);
  if (prev == 0) freeRuns = page;
  else setRun(prev, runPages(prev), page);
}

@inline function smallClass(size: usize): u32 {
  const bits = size <= (1 << MIN_BITS) ? MIN_BITS : <u32>(32 - clz<u32>(<u32>size - 1));
  return bits - MIN_BITS;
}

/** `size` bytes, 8-byte aligned, not zeroed; 0 when the limit or wasm32 is reached. */
export function alloc(size: usize): usize {
  if (size > (<usize>1 << MAX_SMALL_BITS)) {
    if (size > <usize>0xffff0000) return 0;
    const n = <u32>((size + PAGE - 1) >>> PAGE_BITS);
    const page = allocPages(n);
    if (page == 0) return 0;
    usedBytes += <usize>n << PAGE_BITS;
    return <usize>page << PAGE_BITS;
  }
  const cls = smallClass(size);
  const head = smallFree + (<usize>cls << 2);
  let block = <usize>load<u32>(head);
  if (block == 0) {
    const page = allocPages(1);
    if (page == 0) return 0;
    // Carve the page into blocks of this class and chain them.
    const bsize = <usize>1 << (cls + MIN_BITS);
    const base = <usize>page << PAGE_BITS;
    let p = base + PAGE - bsize;
    let next: usize = 0;
    while (true) {
      store<u32>(p, <u32>next);
      next = p;
      if (p == base) break;
      p -= bsize;
    }
    block = base;
  }
  store<u32>(head, load<u32>(block));
  usedBytes += <usize>1 << (cls + MIN_BITS);
  return block;
}

/** Zero-filled `size` bytes, or 0. */
export function allocZeroed(size: usize): usize {
  const p = alloc(size);
  if (p != 0) memory.fill(p, 0, size);
  return p;
}

/** Frees a block from alloc(); `size` must be the size it was allocated with. */
export function free(ptr: usize, size: usize): void {
  if (ptr == 0) return;
  if (size > (<usize>1 << MAX_SMALL_BITS)) {
    const n = <u32>((size + PAGE - 1) >>> PAGE_BITS);
    usedBytes -= <usize>n << PAGE_BITS;
    freePages(<u32>(ptr >>> PAGE_BITS), n);
    return;
  }
  const cls = smallClass(size);
  const head = smallFree + (<usize>cls << 2);
  store<u32>(ptr, load<u32>(head));
  store<u32>(head, <u32>ptr);
  usedBytes -= <usize>1 << (cls + MIN_BITS);
}

// ---- the scratch region through which the driver moves bytes

let scratchPtr: usize = 0;
let scratchSize: usize = 0;

export function scratch(bytes: usize): usize {
  if (bytes <= scratchSize && scratchPtr != 0) return scratchPtr;
  let size: usize = 4096;
  while (size < bytes) {
    if (size >= <usize>0x80000000) return 0;
    size <<= 1;
  }
  const p = alloc(size);
  if (p == 0) return 0;
  free(scratchPtr, scratchSize);
  scratchPtr = p;
  scratchSize = size;
  return p;
}

/** Frees the scratch region: the next scratch() allocates anew, as small as it is asked. */
export function scratchRelease(): void {
  free(scratchPtr, scratchSize);
  scratchPtr = 0;
  scratchSize = 0;
}
