// The process's fd table: small integers, lowest free first (as the kernel's get_unused_fd),
// with 0–2 taken by stdio so that map commands on them answer EINVAL like the kernel's.
import type { FdEntry } from "./objects.js";
import { OtherFile } from "./objects.js";

/** RLIMIT_NOFILE of the simulated process. */
export const MAX_FDS = 1 << 16;

export class FdTable {
  private readonly slots: (FdEntry | undefined)[] = [];
  private lowestFree = 0;
  private open = 0;

  constructor() {
    for (const what of ["stdin", "stdout", "stderr"]) this.install({ obj: new OtherFile(what), mode: 3 });
  }

  get(fd: number): FdEntry | undefined {
    return fd >= 0 ? this.slots[fd] : undefined;
  }

  /** The new fd, or -1 when the table is full (the caller answers EMFILE). */
  install(entry: FdEntry): number {
    if (this.open >= MAX_FDS) return -1;
    let fd = this.lowestFree;
    while (this.slots[fd] !== undefined) fd++;
    this.slots[fd] = entry;
    this.open++;
    this.lowestFree = fd + 1;
    return fd;
  }

  remove(fd: number): FdEntry | undefined {
    const e = this.get(fd);
    if (e === undefined) return undefined;
    this.slots[fd] = undefined;
    this.open--;
    if (fd < this.lowestFree) this.lowestFree = fd;
    return e;
  }

  /** Open fds, lowest first. */
  entries(): Array<[number, FdEntry]> {
    const out: Array<[number, FdEntry]> = [];
    this.slots.forEach((e, fd) => { if (e !== undefined) out.push([fd, e]); });
    return out;
  }
}
