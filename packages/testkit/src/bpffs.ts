// A private bpffs for one test: a fresh directory, its own bpffs instance mounted on it, and a
// dispose that unmounts and removes it; and the unmounting of whatever a test mounted below a
// directory. Works the same over any driver's host services, so the kernel's tests never touch
// the host's /sys/fs/bpf and the simulator's use its virtual fs.
// [Symbol.dispose] in the .d.ts needs this lib where a consumer has neither esnext nor @types/node.
/// <reference lib="esnext.disposable" preserve="true" />
import { BpfError, errnoName, type Driver, type MountInfo } from "@bpfkit/core";

/** A mounted private bpffs: its `path`, and `dispose()` to unmount it and remove the directory. */
export interface PrivateBpffs {
  /** The directory the bpffs is mounted on (`/tmp/bpfkit-test-<pid>-…`). */
  readonly path: string;
  /** Unmounts the bpffs and removes its directory; a second call does nothing, and a failed umount throws. */
  dispose(): void;
  /** Calls `dispose()`, so `using fs = mountPrivateBpffs(d)` unmounts at the end of its block. */
  [Symbol.dispose](): void;
}

let counter = 0;
const swept = new WeakSet<Driver>();

/**
 * A bpffs of the test's own, mounted through `driver.host` on a new directory under `base`, so
 * that pins never touch the host's /sys/fs/bpf; `dispose()` (or `using`) unmounts it. Mounts a
 * killed run left behind are swept the first time a driver mounts one.
 */
export function mountPrivateBpffs(driver: Driver, base = "/tmp"): PrivateBpffs {
  // Driver paths are POSIX: os.tmpdir() on Windows ("C:\\…") would make a root core refuses.
  if (!base.startsWith("/")) throw new TypeError(`mountPrivateBpffs: base ${JSON.stringify(base)} must be an absolute POSIX path (as "/tmp")`);
  if (!swept.has(driver)) {
    swept.add(driver);
    sweepStaleBpffs(driver, base);
  }
  const path = `${base}/bpfkit-test-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const host = driver.host;
  let r = host.mkdirAll(path, 0o700);
  // BpfErrors, so that a caller can tell a driver without mounts (ENOSYS) by errnoOf().
  if (r < 0) throw new BpfError({ errno: -r, op: "mkdir", path, message: `mkdir ${path}: errno ${-r}` });
  r = host.mount("bpf", path, "bpf");
  if (r < 0) {
    host.rmdir(path);
    throw new BpfError({ errno: -r, op: "mount", path, message: `mount -t bpf bpf ${path}: errno ${-r}` });
  }
  let done = false;
  const dispose = () => {
    if (done) return;
    done = true;
    const u = host.umount(path);
    if (u < 0) throw new Error(`umount ${path}: errno ${-u}`);
    host.rmdir(path);
  };
  return { path, dispose, [Symbol.dispose]: dispose };
}

/**
 * Unmounts and removes the private bpffs mounts that test processes no longer alive left under
 * `base`: a worker killed by a timeout or a signal never runs its dispose, and its mount would
 * stay on the host until reboot. Returns the paths swept. A mount whose process still runs (or
 * whose pid a new process took) is left alone. `name` is the mounts' prefix, followed by the
 * pid and a dash (`bpfkit demo` names its own `bpfkit-demo-`).
 */
export function sweepStaleBpffs(driver: Driver, base = "/tmp", name = "bpfkit-test-"): string[] {
  const mounts = driver.host.mountInfo();
  if (typeof mounts === "number") return [];
  const removed: string[] = [];
  const prefix = `${base}/${name}`;
  // Deepest first, so that a mount stacked inside another comes off before its parent.
  const stale = mounts
    .filter((m) => m.fsType === "bpf" && m.mountPoint.startsWith(prefix))
    .filter((m) => {
      const pid = Number(/^(\d+)-/.exec(m.mountPoint.slice(prefix.length))?.[1]);
      return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
    })
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  for (const m of stale) {
    if (driver.host.umount(m.mountPoint) < 0) continue;
    driver.host.rmdir(m.mountPoint);
    removed.push(m.mountPoint);
  }
  return removed;
}

/** The mounts below `dir` (not on it), but for those whose ids are in `skip`. */
export function mountsBelow(driver: Driver, dir: string, skip?: ReadonlySet<number>): MountInfo[] {
  const mounts = driver.host.mountInfo();
  if (typeof mounts === "number") return [];
  return mounts.filter((m) => m.mountPoint.startsWith(`${dir}/`) && !skip?.has(m.mountId));
}

/**
 * Unmounts every mount below `dir` (but those in `skip`), deepest first, in rounds while fewer
 * are left: a mount that another hides (mounted on a directory above it) can be reached once
 * that one is off. Returns a line for each mount still there, empty when none is.
 */
export function unmountBelow(driver: Driver, dir: string, skip?: ReadonlySet<number>): string[] {
  const answers = new Map<string, number>();
  for (let before = Infinity; ;) {
    const left = mountsBelow(driver, dir, skip).sort((a, b) => b.mountPoint.length - a.mountPoint.length);
    if (left.length === 0) return [];
    if (left.length >= before) {
      return left.map((m) => {
        const r = answers.get(m.mountPoint) ?? 0;
        return `${m.mountPoint} is still mounted (umount: ${r < 0 ? errnoName(-r) : "OK"})`;
      });
    }
    before = left.length;
    for (const m of left) answers.set(m.mountPoint, driver.host.umount(m.mountPoint));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
