// The simulator's small-integer handles for what it hands out besides fds (mmap mappings,
// reserved ring buffer samples): the lowest free one first, as fds are.
export class HandleTable<T> {
  private readonly slots: (T | undefined)[] = [];

  get(handle: number): T | undefined {
    return handle >= 0 ? this.slots[handle] : undefined;
  }

  add(entry: T): number {
    let h = 0;
    while (this.slots[h] !== undefined) h++;
    this.slots[h] = entry;
    return h;
  }

  /** Frees `handle`, returning what it held (undefined when nothing). */
  remove(handle: number): T | undefined {
    const e = this.get(handle);
    if (e !== undefined) this.slots[handle] = undefined;
    return e;
  }
}
