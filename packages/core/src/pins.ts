// Replacing what is pinned at a path without ever leaving the path empty, one process at a time.
// Used by openOrCreateMap's property upgrade, BpfMap.openParallel and objCheck's unpin;
// internal (not in index.ts). Other processes and threads may act on the same pins meanwhile:
// docs/bpf-instance-and-codecs.md, "Several processes and threads on the same pins".
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { getMapInfoByFd, objPin, type SyscallContext } from "./syscalls.js";

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
 * Either runs under the path's replace lock (lockPin): when `path` no longer holds `oldFd`'s
 * map, nothing is done and PIN_CHANGED returned; so too when the fallback's unlink finds the pin
 * already gone (a process that unpins takes no lock).
 *
 * Returns undefined when the new object is pinned at `path`. Returns a PinKept when nothing
 * changed: the temporary pin, the rename or the fallback's unlink failed, and the old pin is
 * untouched (the seed's callers warn or throw on it). Throws a BpfError when the fallback had
 * unlinked the old pin and could not pin the new one; its message says what became of the old.
 */
export function replacePin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): PinKept | typeof PIN_CHANGED | undefined {
  const lock = lockPin(ctx, path, newFd, oldFd);
  if (lock === PIN_CHANGED || typeof lock === "object") return lock;
  try {
    if (ctx.driver.host.rename !== undefined) {
      const r = swapPin(ctx, path, newFd);
      if (r !== FALL_BACK) return r;
    }
    return unlinkThenPin(ctx, path, newFd, oldFd);
  } finally {
    if (lock !== undefined) ctx.driver.host.unlink(lock);
  }
}

/**
 * replacePin's answer when `path` no longer holds the map the caller opened there (`oldFd`):
 * another process replaced or removed it meanwhile. Nothing was changed; the caller starts again
 * from what is pinned now, rather than put its map over one that another process has just
 * pinned and holds (which would leave that process holding a map no one else can find).
 */
export const PIN_CHANGED = Symbol("the pin changed meanwhile");

/**
 * How long a replacement waits for another process's replacement of the same pin to end. Theirs
 * takes a few syscalls; a lock pin that outlives this is taken to be one a killed process left.
 */
const LOCK_WAIT_MS = 1000;

/**
 * Takes the replace lock of `path`: `newFd` pinned at `:bpfkit-lock-<name>` beside it. A pin is
 * made only where nothing is (EEXIST otherwise), so across processes and threads only one
 * replacement of a path runs at a time. Returns the lock's path (to unlink when done), undefined
 * when there is none to take (the name would be too long: the replacement goes on unlocked, as
 * before locks), PIN_CHANGED when `path` no longer holds `oldFd`'s map once the lock is held or
 * someone else held the lock (their replacement is done when it goes), or a PinKept.
 */
function lockPin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): string | undefined | PinKept | typeof PIN_CHANGED {
  const cut = path.lastIndexOf("/") + 1;
  const lock = `${path.slice(0, cut)}${LOCK_PREFIX}${path.slice(cut)}`;
  try {
    objPin(ctx, newFd, lock);
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    if (e.errno === Errno.ENAMETOOLONG) return undefined;
    if (e.errno !== Errno.EEXIST) return { errno: e.errno, step: "pin", what: `Unable to pin the replace lock ${lock}`, left: "" };
    waitForUnlock(ctx, lock);
    return PIN_CHANGED;
  }
  let changed: boolean;
  try {
    changed = pinnedId(ctx, path) !== idOf(ctx, oldFd);
  } catch (e) {
    // A driver's exception (a test hook's failed assertion): the lock must not outlive it, or
    // every later replacement of the path would wait a second for it.
    ctx.driver.host.unlink(lock);
    throw e;
  }
  if (changed) {
    ctx.driver.host.unlink(lock);
    return PIN_CHANGED;
  }
  return lock;
}

const LOCK_PREFIX = ":bpfkit-lock-";

/**
 * Waits until the lock pin at `lock` goes; removes one held longer than LOCK_WAIT_MS. The slept
 * milliseconds bound it too: a test's fake timers (vitest's freeze Date, performance and hrtime
 * alike) held the clock still, and the wait with it, for ever.
 */
function waitForUnlock(ctx: SyscallContext, lock: string): void {
  const holder = pinnedId(ctx, lock);
  const until = Date.now() + LOCK_WAIT_MS;
  for (let slept = 0; ctx.driver.host.stat(lock).errno === 0; slept++) {
    if (Date.now() > until || slept >= LOCK_WAIT_MS) {
      // Still the same lock: its process died between its lock and its unlock.
      if (holder !== undefined && pinnedId(ctx, lock) === holder) ctx.driver.host.unlink(lock);
      return;
    }
    sleep1ms();
  }
}

let sleeper: Int32Array | undefined;

/** A blocking millisecond (the API is synchronous); a spin where blocking waits are refused. */
function sleep1ms(): void {
  try {
    sleeper ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(sleeper, 0, 0, 1);
  } catch {
    // No SharedArrayBuffer, or a browser's main thread, which may not block. Bounded by a count
    // too, for a clock that fake timers hold still.
    const end = Date.now() + 1;
    for (let spins = 0; Date.now() < end && spins < 1_000_000; spins++);
  }
}

/**
 * The id of the map `fd` is, or undefined when the kernel will not say. A driver's exception
 * (a test hook's failed assertion) is thrown on: taken for "no id", it read as "the pin
 * changed", and the replacement went round again as if nothing had been thrown.
 */
function idOf(ctx: SyscallContext, fd: number): number | undefined {
  try {
    return getMapInfoByFd(ctx, fd).id;
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    return undefined;
  }
}

/** The id of the map pinned at `path` now, or undefined when there is none (or no map). */
function pinnedId(ctx: SyscallContext, path: string): number | undefined {
  const fd = ctx.driver.objGet(path, 0);
  if (fd < 0) return undefined;
  try {
    return idOf(ctx, fd);
  } finally {
    ctx.driver.close(fd);
  }
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

/**
 * The path of drivers without rename: unlink, pin, and pin the old object back on failure. An
 * unlink that finds nothing (ENOENT: another process unpinned it since the lock's check, not
 * through a lock) is the pin changing meanwhile: nothing was kept to say so of.
 */
function unlinkThenPin(ctx: SyscallContext, path: string, newFd: number, oldFd: number): PinKept | typeof PIN_CHANGED | undefined {
  const r = ctx.driver.host.unlink(path);
  if (r === -Errno.ENOENT) return PIN_CHANGED;
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

/**
 * Unpins `path` if it still holds the map open as `fd` ("removed"), under the path's replace
 * lock so that no bpfkit replacement runs in between; "changed" when another process has
 * replaced or removed that pin meanwhile, which is left as it is. Without a lock to take (a name
 * too long, a lock pin refused, a lock taken by others UNPIN_TRIES times) the check and the
 * unlink are two steps.
 */
export function unpinIfStill(ctx: SyscallContext, path: string, fd: number): "removed" | "changed" {
  let lock = lockPin(ctx, path, fd, fd);
  // Someone else held the lock: their replacement may have left the pin as it was (it failed, or
  // the lock was a killed process's, now removed), so look before taking the answer as "changed".
  for (let tries = 1; lock === PIN_CHANGED; tries++) {
    if (pinnedId(ctx, path) !== idOf(ctx, fd)) return "changed";
    lock = tries < UNPIN_TRIES ? lockPin(ctx, path, fd, fd) : undefined;
  }
  try {
    if (typeof lock !== "string" && pinnedId(ctx, path) !== idOf(ctx, fd)) return "changed";
    ctx.driver.host.unlink(path);
    return "removed";
  } finally {
    if (typeof lock === "string") ctx.driver.host.unlink(lock);
  }
}

/** How often unpinIfStill takes the lock again while others hold it and the pin stays `fd`'s map. */
const UNPIN_TRIES = 8;
