// Replacing what is pinned at a path without ever leaving the path empty on failure. Used by
// openOrCreateMap's property upgrade and by BpfMap.openParallel; internal (not in index.ts).
import { errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { objPin, type SyscallContext } from "./syscalls.js";

/**
 * Pins `newFd` at `path` in place of the object pinned there, which the caller holds open as
 * `oldFd`. The Driver's host services have no rename (bpffs has one, the simulator's fs does
 * not), so the old pin is unlinked and the new one made; when the new pin cannot be made, the
 * old object is pinned at `path` again from `oldFd`. Both fds stay the caller's to close.
 *
 * Returns 0, or the positive errno of the unlink (nothing has changed then). Throws the pin's
 * BpfError, whose message says whether the old object is pinned again.
 */
export function replacePin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): number {
  const r = ctx.driver.host.unlink(path);
  if (r < 0) return -r;
  try {
    objPin(ctx, newFd, path);
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    let outcome: string;
    try {
      objPin(ctx, oldFd, path);
      outcome = `the map pinned there before is pinned at ${path} again`;
    } catch (again) {
      // Someone else pinned at the path in between (EEXIST), or bpffs refuses any pin now.
      const why = again instanceof BpfError ? errnoText(again.errno) : String(again);
      outcome = `and the map pinned there before could not be pinned again (${why}); ` +
        "it is no longer pinned and lives on only while a program or an fd holds it";
    }
    throw new BpfError({ errno: e.errno, op: e.op, path, message: `${e.message}; ${outcome}`, cause: e });
  }
  return 0;
}

/** `e` (a refused BPF_MAP_CREATE of a replacement) saying that the map pinned at `path` is still there. */
export function keptPin(e: unknown, path: string): unknown {
  if (!(e instanceof BpfError)) return e;
  return new BpfError({ errno: e.errno, op: e.op, path, message: `${e.message}; the existing map pinned there was kept`, cause: e });
}
