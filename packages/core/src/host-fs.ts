// Filesystem steps pkg/bpf takes through the driver's host services, written once here.
import type { HostServices } from "./driver.js";
import { Errno } from "./errno.js";
import { cleanPath } from "./paths.js";

/**
 * mkdir -p, one component at a time through `host.stat` and `host.mkdir`, returning 0 or
 * -errno. Core does not use `host.mkdirAll` for this: Node 20's recursive mkdirSync (which a
 * driver may sit on) loops forever when mkdir answers ENOENT under a parent that exists, which
 * sysfs and procfs do — `/sys/fs/bpf/tc` on a host without bpffs mounted, for one.
 */
export function mkdirAllSteps(host: HostServices, path: string, mode: number): number {
  const clean = cleanPath(path);
  const parts = clean.split("/").filter((p) => p !== "");
  let cur = clean.startsWith("/") ? "" : ".";
  for (const part of parts) {
    cur = `${cur}/${part}`;
    const st = host.stat(cur);
    if (st.errno === 0) {
      if (!st.isDirectory) return -Errno.ENOTDIR;
      continue;
    }
    if (st.errno !== Errno.ENOENT) return -st.errno;
    const r = host.mkdir(cur, mode);
    if (r < 0 && r !== -Errno.EEXIST) return r;
    if (r === -Errno.EEXIST && !host.stat(cur).isDirectory) return -Errno.ENOTDIR;
  }
  return 0;
}
