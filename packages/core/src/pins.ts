// Replacing what is pinned at a path without ever leaving the path empty. Used by
// openOrCreateMap's property upgrade and by BpfMap.openParallel; internal (not in index.ts).
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { objPin, type SyscallContext } from "./syscalls.js";

/**
 * The temporary pins are `:bpfkit-swap-<pid>-<n>` beside the path. Not dot-prefixed: bpffs
 * reserves every name with a dot (EPERM). The pid keeps processes apart, and a swap a killed
 * process left behind from being met again; on EEXIST the next number is tried.
 */
const SWAP_PREFIX = `:bpfkit-swap-${(globalThis as { process?: { pid?: number } }).process?.pid ?? 0}-`;
const SWAP_TRIES = 64;
let swapCounter = 0;

/** Why a pin could not be replaced while nothing changed: the old pin is as it was. */
export interface PinKept {
  /** Positive. */
  errno: number;
  /** The fallback's unlink of the old pin (the seed's one failure), or a step of the swap. */
  step: "unlink" | "pin" | "rename";
  /** The step that failed: "Unable to remove map P", "Unable to pin the replacement at T", … */
  what: string;
  /** ", and T could not be removed (reason)" when a temporary pin outlived the failure, else "". */
  left: string;
}

/**
 * Pins `newFd` at `path` in place of the object pinned there, which the caller holds open as
 * `oldFd`. Both fds stay the caller's to close.
 *
 * With the driver's `host.rename`, the new object is pinned at a temporary name in the same
 * directory and renamed over `path`, which replaces the old pin atomically (bpffs's
 * simple_rename): another process opening `path` gets the old object or the new one, never
 * ENOENT.
 *
 * Without it (a driver written before rename, or one answering ENOSYS), or when the temporary
 * name would be too long, the old pin is unlinked and the new one made, so `path` is empty in
 * between; when the new pin cannot be made, the old object is pinned at `path` again from
 * `oldFd`, unless someone pinned there in between.
 *
 * Returns undefined when the new object is pinned at `path`. Returns a PinKept when nothing
 * changed: the temporary pin, the rename or the fallback's unlink failed, and the old pin is
 * untouched (the seed's callers warn or throw on it). Throws a BpfError when the fallback had
 * unlinked the old pin and could not pin the new one; its message says what became of the old.
 */
export function replacePin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): PinKept | undefined {
  if (ctx.driver.host.rename !== undefined) {
    const r = swapPin(ctx, path, newFd);
    if (r !== FALL_BACK) return r;
  }
  return unlinkThenPin(ctx, path, newFd, oldFd);
}

/** `e` (a refused BPF_MAP_CREATE of a replacement) saying that the map pinned at `path` is still there. */
export function keptPin(e: unknown, path: string): unknown {
  if (!(e instanceof BpfError)) return e;
  return new BpfError({ errno: e.errno, op: e.op, path, message: `${e.message}; the existing map pinned there was kept`, cause: e });
}

const FALL_BACK = Symbol("fall back to unlink-then-pin");

/** The rename path of replacePin; FALL_BACK, with nothing changed, when it cannot be taken here. */
function swapPin(ctx: SyscallContext, path: string, newFd: number): PinKept | undefined | typeof FALL_BACK {
  const host = ctx.driver.host;
  const tmp = pinAtSwapName(ctx, path, newFd);
  if (tmp === FALL_BACK || typeof tmp !== "string") return tmp;
  const r = host.rename!(tmp, path, 0);
  if (r === 0) return undefined;
  const u = host.unlink(tmp);
  if (r === -Errno.ENOSYS && u === 0) return FALL_BACK;
  const left = u === 0 ? "" : `, and ${tmp} could not be removed (${errnoText(-u)})`;
  return { errno: -r, step: "rename", what: `Unable to rename pin ${tmp} to ${path}`, left };
}

/**
 * Pins `fd` at the first free swap name in `path`'s directory and returns that name; FALL_BACK
 * when the name is too long for the kernel where `path` is not (a path near PATH_MAX).
 */
function pinAtSwapName(ctx: SyscallContext, path: string, fd: number): string | PinKept | typeof FALL_BACK {
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  for (let tries = 1; ; tries++) {
    const tmp = `${dir}${SWAP_PREFIX}${swapCounter++}`;
    try {
      objPin(ctx, fd, tmp);
      return tmp;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      if (e.errno === Errno.EEXIST && tries < SWAP_TRIES) continue;
      if (e.errno === Errno.ENAMETOOLONG) return FALL_BACK;
      return { errno: e.errno, step: "pin", what: `Unable to pin the replacement at ${tmp}`, left: "" };
    }
  }
}

/** The path of drivers without rename: unlink, pin, and pin the old object back on failure. */
function unlinkThenPin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): PinKept | undefined {
  const r = ctx.driver.host.unlink(path);
  if (r < 0) return { errno: -r, step: "unlink", what: `Unable to remove map ${path}`, left: "" };
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
  return undefined;
}
