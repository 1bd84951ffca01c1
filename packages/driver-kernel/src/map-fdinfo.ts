// Driver.mapFdInfo over procfs: /proc/self/fdinfo/<fd> of a map fd, which the kernel prints in
// bpf_map_show_fdinfo (frozen, memlock, a PROG_ARRAY's owner), parsed by core.
import { readFileSync } from "node:fs";
import { assertFd, Errno, parseMapFdInfo, type MapFdInfo } from "@bpfkit/core";
import { fsErrno } from "./host-services.js";

/** The fdinfo fields of map fd `fd`; -EBADF when it is not open, -EINVAL when it is no map. */
export function readMapFdInfo(fd: number): MapFdInfo | number {
  assertFd(fd, "mapFdInfo");
  if (fd < 0) return -Errno.EBADF;
  let text: string;
  try {
    text = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  } catch (e) {
    // ENOENT: no such fd in this process.
    const r = fsErrno(e);
    return r === -Errno.ENOENT ? -Errno.EBADF : r;
  }
  return parseMapFdInfo(text) ?? -Errno.EINVAL;
}
