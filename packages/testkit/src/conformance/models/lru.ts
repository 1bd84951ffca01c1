// Exact single-CPU LRU models, fitted to the 6.18 kernel for insert-only traffic of distinct keys
// with every syscall on CPU 0 (kernel-maps.md §7.2 common lists, §7.3 BPF_F_NO_COMMON_LRU).
// Each returns, after every insert, the set of live keys; keys are the insert indexes.

/** §7.2: local free list refilled by target_free from the global pool, shrinking the tail. */
export function commonLruLive(maxEntries: number, possibleCpus: number, inserts: number): Set<number>[] {
  const target = Math.max(1, Math.min(Math.floor(Math.floor(maxEntries / possibleCpus) / 2), 128));
  let globalFree = maxEntries;
  let localFree = 0;
  const inactive: number[] = []; // index 0 = head (newest)
  const pending: number[] = []; // index 0 = newest
  const live = new Set<number>();
  const out: Set<number>[] = [];
  for (let k = 0; k < inserts; k++) {
    if (localFree === 0) {
      // pending moves to the head of inactive, oldest first, so the newest ends at the head
      while (pending.length > 0) inactive.unshift(pending.pop()!);
      const n = Math.min(target, globalFree);
      globalFree -= n;
      localFree += n;
      if (n < target) {
        let shrunk = 0;
        while (inactive.length > 0 && shrunk < target - n) {
          live.delete(inactive.pop()!);
          shrunk++;
        }
        localFree += shrunk;
      }
    }
    localFree--;
    pending.unshift(k);
    live.add(k);
    out.push(new Set(live));
  }
  return out;
}

/** §7.3: the CPU owns max/ncpus nodes; when none is free, evict up to 4 of its oldest. */
export function perCpuLruLive(maxEntries: number, possibleCpus: number, inserts: number): Set<number>[] {
  const effective = effectiveLruMax(maxEntries, possibleCpus, true);
  let free = effective / possibleCpus;
  const inactive: number[] = [];
  const live = new Set<number>();
  const out: Set<number>[] = [];
  for (let k = 0; k < inserts; k++) {
    if (free === 0) {
      let shrunk = 0;
      while (inactive.length > 0 && shrunk < 4) {
        live.delete(inactive.pop()!);
        shrunk++;
      }
      free += shrunk;
    }
    free--;
    inactive.unshift(k);
    live.add(k);
    out.push(new Set(live));
  }
  return out;
}

/** §5.1/§7.3: NO_COMMON_LRU rounds max_entries up to a multiple of the CPUs (down on overflow). */
export function effectiveLruMax(maxEntries: number, possibleCpus: number, noCommonLru: boolean): number {
  if (!noCommonLru) return maxEntries;
  const up = Math.ceil(maxEntries / possibleCpus) * possibleCpus;
  return up <= 0xffffffff ? up : Math.floor(maxEntries / possibleCpus) * possibleCpus;
}
