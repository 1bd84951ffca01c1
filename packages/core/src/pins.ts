// Replacing what is pinned at a path without ever leaving the path empty. Used by
// openOrCreateMap's property upgrade and by BpfMap.openParallel; internal (not in index.ts).
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { objPin, type SyscallContext } from "./syscalls.js";

/**
 * The temporary pins are `:bpfkit-swap-<n>` beside the path. Not dot-prefixed: bpffs reserves
 * every name with a dot (EPERM). A counter per process, and the next one on EEXIST: another
 * process swapping in the same directory, or a swap a killed process left behind.
 */
const SWAP_PREFIX = ":bpfkit-swap-";
const SWAP_TRIES = 64;
let swapCounter = 0;

/**
 * Pins `newFd` at `path` in place of the object pinned there, which the caller holds open as
 * `oldFd`. Both fds stay the caller's to close.
 *
 * With the driver's `host.rename`, the new object is pinned at a temporary name in the same
 * directory and renamed over `path`, which replaces the old pin atomically (bpffs's
 * simple_rename): another process opening `path` gets the old object or the new one, never
 * ENOENT. When the temporary pin or the rename fails, the temporary pin is removed and the old
 * pin is untouched; the BpfError says so.
 *
 * Without it (a driver written before rename, or one answering ENOSYS), the old pin is unlinked
 * and the new one made, so `path` is empty in between; when the new pin cannot be made, the old
 * object is pinned at `path` again from `oldFd`, unless someone pinned there in between.
 *
 * Returns 0, or the positive errno of that fallback's unlink (nothing has changed then). Throws
 * a BpfError whose message says what became of the old pin.
 */
export function replacePin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): number {
  if (ctx.driver.host.rename !== undefined && swapPin(ctx, path, newFd)) return 0;
  return unlinkThenPin(ctx, path, newFd, oldFd);
}

/** `e` (a refused BPF_MAP_CREATE of a replacement) saying that the map pinned at `path` is still there. */
export function keptPin(e: unknown, path: string): unknown {
  if (!(e instanceof BpfError)) return e;
  return new BpfError({ errno: e.errno, op: e.op, path, message: `${e.message}; the existing map pinned there was kept`, cause: e });
}

/** The rename path of replacePin; false when the driver cannot rename (ENOSYS), nothing changed. */
function swapPin(ctx: SyscallContext, path: string, newFd: number): boolean {
  const host = ctx.driver.host;
  const tmp = pinAtSwapName(ctx, path, newFd);
  const r = host.rename!(tmp, path, 0);
  if (r === 0) return true;
  const u = host.unlink(tmp);
  if (r === -Errno.ENOSYS && u === 0) return false;
  const left = u === 0 ? "" : `, and ${tmp} could not be removed (${errnoText(-u)})`;
  throw new BpfError({ errno: -r, op: "Unable to rename pin", path,
    message: `Unable to rename pin ${tmp} to ${path}: ${errnoText(-r)}; the existing map pinned there was kept${left}` });
}

/** Pins `fd` at the first free swap name in `path`'s directory and returns that name. */
function pinAtSwapName(ctx: SyscallContext, path: string, fd: number): string {
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  for (let tries = 1; ; tries++) {
    const tmp = `${dir}${SWAP_PREFIX}${swapCounter++}`;
    try {
      objPin(ctx, fd, tmp);
      return tmp;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      if (e.errno === Errno.EEXIST && tries < SWAP_TRIES) continue;
      throw new BpfError({ errno: e.errno, op: e.op, path, message: `${e.message}; the existing map pinned at ${path} was kept`, cause: e });
    }
  }
}

/** The path of drivers without rename: unlink, pin, and pin the old object back on failure. */
function unlinkThenPin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): number {
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
