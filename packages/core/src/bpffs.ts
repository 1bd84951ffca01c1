// CheckOrMountFS (bpffs_linux.go): make sure the map root is a BPF filesystem, mounting one if
// nothing is mounted there. Everything goes through the driver's host services, so the
// simulator checks and mounts in its own virtual world. Failures are thrown (API.md §4.8), not
// the seed's log.Fatal.
import { BPF_FS_MAGIC } from "./constants.js";
import type { HostServices } from "./driver.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import type { Logger } from "./logger.js";
import { cleanPath } from "./paths.js";

/** Cilium's default fallback root, used when the default root holds another filesystem. */
export const DEFAULT_FALLBACK_MAP_ROOT = "/run/cilium/bpffs";

/** What checkOrMountFS needs from a Bpf instance. */
export interface BpffsContext {
  readonly host: HostServices;
  readonly logger: Logger;
  /** The root as configured now, without locking it down. */
  configuredRoot(): string;
  /** The seed's SetMapRoot: throws once the root was read. */
  setMapRoot(root: string): void;
  readonly fallbackRoot: string;
}

function fsError(message: string, path: string, errno = 0): BpfError {
  return new BpfError({
    errno: errno === 0 ? Errno.EINVAL : errno,
    op: "Unable to mount BPF filesystem",
    path,
    message: errno === 0 ? message : `${message}: ${errnoText(errno)}`,
  });
}

/**
 * The seed's IsMountFS("bpf", path): `mounted` when mountinfo has an entry whose mount point is
 * `path`; `isBpf` when the filesystem now visible there is bpffs (statfs magic 0xCAFE4A11 — the
 * v1.9 check, which also sees the topmost of stacked mounts; mountinfo's type when statfs fails).
 */
export function isMountFs(host: HostServices, path: string): { mounted: boolean; isBpf: boolean } {
  const mounts = host.mountInfo();
  if (typeof mounts === "number") throw fsError("Unable to read mount info", path, -mounts);
  const at = mounts.filter((m) => m.mountPoint === path);
  if (at.length === 0) return { mounted: false, isBpf: false };
  const magic = host.statfsType(path);
  const isBpf = magic >= 0 ? magic === BPF_FS_MAGIC : at[at.length - 1]!.fsType === "bpf";
  return { mounted: true, isBpf };
}

/** More than one whole-filesystem mount at `path` (the seed's hasMultipleMounts). */
export function hasMultipleMounts(host: HostServices, path: string): boolean {
  const mounts = host.mountInfo();
  if (typeof mounts === "number") throw fsError("Unable to read mount info", path, -mounts);
  let n = 0;
  for (const m of mounts) if (m.root === "/" && m.mountPoint === path) n++;
  return n > 1;
}

const warningBanner = [
  "================================= WARNING ==========================================",
  "BPF filesystem is not mounted. This will lead to network disruption when Cilium pods",
  "are restarted. Ensure that the BPF filesystem is mounted in the host.",
  "https://docs.cilium.io/en/stable/operations/system_requirements/#mounted-ebpf-filesystem",
  "====================================================================================",
];

/**
 * The seed's mountFS: mkdir -p the root (0755) and mount bpffs on it. Unlike the seed, it will
 * not mount over a directory that holds entries: they would vanish under the bpffs until it is
 * unmounted, and no bpffs root starts out that way (pins live in the bpffs itself). And a mount
 * that fails removes the directories the mkdir made, where the seed left them.
 */
export function mountFs(ctx: BpffsContext, root: string, printWarning: boolean): void {
  const { host, logger } = ctx;
  if (printWarning) for (const line of warningBanner) logger.warn(line);
  logger.info(`Mounting BPF filesystem at ${root}`);
  const st = host.stat(root);
  // The directories this call made, deepest first: a mount that fails takes them away again.
  // Only those its own mkdir created: one another process made meanwhile (EEXIST) is not ours.
  const made: string[] = [];
  if (st.errno === Errno.ENOENT) {
    const missing: string[] = [];
    for (let p = root.replace(/\/+$/, ""); p !== "" && p !== "/" && host.stat(p).errno === Errno.ENOENT; p = parentDir(p)) missing.push(p);
    for (const dir of missing.reverse()) {
      const r = host.mkdir(dir, 0o755);
      if (r === 0) made.unshift(dir);
      else if (r !== -Errno.EEXIST) throw fsError("unable to create bpf mount directory", root, -r);
    }
  } else if (st.errno !== 0) {
    throw fsError(`failed to stat the mount path ${root}`, root, st.errno);
  } else if (!st.isDirectory) {
    throw fsError(`${root} is a file which is not a directory`, root);
  } else {
    const names = host.readdir(root);
    if (typeof names === "number") throw fsError(`failed to read the mount path ${root}`, root, -names);
    if (names.length > 0) {
      throw new BpfError({
        errno: Errno.ENOTEMPTY, op: "Unable to mount BPF filesystem", path: root,
        message: `${root} is not a mount point and holds ${names.length} entr${names.length === 1 ? "y" : "ies"} ` +
          `(${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}); bpffs mounted there would hide them`,
      });
    }
  }
  const r = host.mount(root, root, "bpf");
  if (r < 0) {
    for (const dir of made) if (host.rmdir(dir) < 0) break;
    const e = fsError(`failed to mount ${root}`, root, -r);
    // CAP_BPF is enough for maps, which makes this the EPERM a CAP_BPF-only service meets first.
    if (r !== -Errno.EPERM) throw e;
    throw new BpfError({ errno: e.errno, op: e.op, path: root, message: `${e.message} (mounting bpffs needs CAP_SYS_ADMIN, not only CAP_BPF)` });
  }
}

/** `/a/b` → `/a`; `/a` → `/`. Paths here are absolute and without a trailing slash. */
function parentDir(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * The seed's CheckOrMountFS for one instance.
 * - `root` "" checks the configured root (default /sys/fs/bpf): nothing mounted there means
 *   mount bpffs; another filesystem there means move to the fallback root and mount there.
 * - a custom `root` becomes the map root; nothing mounted means mount; another filesystem is an
 *   error.
 * Then more than one mount at the root is an error. Throws BpfError; sets the root through
 * setMapRoot, so after the root was read it throws the lock-down error.
 */
export function checkOrMountFs(ctx: BpffsContext, root: string, printWarning: boolean): void {
  const { host, logger } = ctx;
  let mapRoot: string;
  if (root === "") {
    mapRoot = ctx.configuredRoot();
    const { mounted, isBpf } = isMountFs(host, mapRoot);
    if (!mounted) {
      mountFs(ctx, mapRoot, printWarning);
    } else if (!isBpf) {
      logger.warn(
        "BPF filesystem is going to be mounted automatically in the fallback root; the default root " +
        "holds another filesystem, probably inside a container without the host's bpffs " +
        "(see https://cilium.link/err-bpf-mount)",
        { root: mapRoot, fallback: ctx.fallbackRoot },
      );
      ctx.setMapRoot(ctx.fallbackRoot);
      mapRoot = ctx.configuredRoot();
      const again = isMountFs(host, mapRoot);
      if (!again.mounted) mountFs(ctx, mapRoot, printWarning);
      else if (!again.isBpf) throw fsError(`${mapRoot} is mounted but has a different filesystem than BPFFS`, mapRoot);
    } else {
      logger.info(`Detected mounted BPF filesystem at ${mapRoot}`);
    }
  } else {
    mapRoot = cleanPath(root);
    // Only a change of root is a SetMapRoot (which throws after lock-down); re-checking the
    // root already in use is allowed.
    if (mapRoot !== ctx.configuredRoot()) ctx.setMapRoot(mapRoot);
    const { mounted, isBpf } = isMountFs(host, mapRoot);
    if (!mounted) mountFs(ctx, mapRoot, printWarning);
    else if (!isBpf) throw fsError(`mount in the custom directory ${mapRoot} has a different filesystem than BPFFS`, mapRoot);
    else logger.info(`Detected mounted BPF filesystem at ${mapRoot}`);
  }
  if (hasMultipleMounts(host, mapRoot)) throw fsError(`multiple mount points detected at ${mapRoot}`, mapRoot);
}
