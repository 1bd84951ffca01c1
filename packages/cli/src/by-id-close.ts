// Closing the maps a walk over every map id opened (`bpfkit maps`, a map named by its kernel
// name). A PROG_ARRAY whose last fd or pin goes schedules a deferred clear of its entries that
// holds a reference until it runs (kernel/bpf/arraymap.c, prog_array_map_clear). Open that map
// by id before the clear has run and close it again, and the second clear finds the work still
// queued, so its reference is never put: the map is leaked for good (6.18 here;
// docs/kernel-notes.md). A walk cannot tell such a map from a live one, so it closes every
// PROG_ARRAY it opened only once the clear another process may have queued has long run.
import { BPF_MAP_TYPE_PROG_ARRAY, type Driver } from "@bpfkit/core";

/** How long after its open a walk holds a PROG_ARRAY fd: the system workqueue runs in microseconds. */
export const PROG_ARRAY_HOLD_MS = 50;

/** Closes fds a walk opened by id: at once, but a PROG_ARRAY's only at `flush()`, held long enough. */
export class ByIdCloser {
  readonly #held: Array<{ fd: number; openedAt: number }> = [];

  constructor(private readonly driver: Driver) {}

  /** Closes `fd`, a map of `mapType` opened by id at `openedAt` (performance.now()); a PROG_ARRAY waits for flush(). */
  close(fd: number, mapType: number, openedAt: number): void {
    if (mapType === BPF_MAP_TYPE_PROG_ARRAY) this.#held.push({ fd, openedAt });
    else this.driver.close(fd);
  }

  /** Closes the held fds, each once it is PROG_ARRAY_HOLD_MS old. */
  flush(): void {
    const last = this.#held.at(-1);
    if (last === undefined) return;
    const wait = last.openedAt + PROG_ARRAY_HOLD_MS - performance.now();
    if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.ceil(wait));
    for (const h of this.#held.splice(0)) this.driver.close(h.fd);
  }
}
