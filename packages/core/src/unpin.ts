// Removing a pin: the seed's os.RemoveAll (unpin) and os.Remove (a non-persistent map's old
// pin) of the pin path, but never outside a BPF filesystem. The path comes from configuration (a
// map root, a prefix, a name): a root set to "/" or to an ordinary directory by mistake must not
// turn an unpin into rm -rf of a host's files.
import { BPF_FS_MAGIC } from "./constants.js";
import type { HostServices } from "./driver.js";
import { Errno } from "./errno.js";
import { cleanPath, dirname } from "./paths.js";

/** What `removePin` did: 0, the rm -rf's errno (positive), or a refusal with its reason. */
export type RemovePinResult = { errno: number; refused?: string };

/**
 * Why `path` cannot hold a pin, when the directory holding it is on another filesystem than
 * bpffs; undefined when it is on bpffs, or missing (then nothing is there to remove).
 */
export function offBpffs(host: HostServices, path: string): string | undefined {
  // Cleaned first: the directory of "a/b/" is a, not a/b, and a ".." counts where it leads.
  const dir = dirname(cleanPath(path));
  const magic = host.statfsType(dir);
  if (magic < 0 || magic === BPF_FS_MAGIC) return undefined;
  return `${dir} is not on a BPF filesystem (statfs type 0x${magic.toString(16)}), so ${path} is no pin; it was left alone`;
}

/**
 * rm -rf of `path` (a pin, or a directory of pins) when the directory holding it is on bpffs.
 * A pin can only live there; anything at a path whose directory is on another filesystem is
 * not a pin, and is refused with EINVAL and the reason, untouched. A path whose directory is
 * missing has nothing to remove (0).
 */
export function removePin(host: HostServices, path: string): RemovePinResult {
  const refused = offBpffs(host, path);
  if (refused !== undefined) return { errno: Errno.EINVAL, refused };
  // A missing directory (ENOENT, ENOTDIR) has nothing to remove: rm -rf answers 0 for it.
  const r = host.removeAll(path);
  return { errno: r < 0 ? -r : 0 };
}
