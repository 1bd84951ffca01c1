// Driver.mapFdInfo over procfs: /proc/self/fdinfo/<fd> of a map fd, which the kernel prints in
// bpf_map_show_fdinfo (frozen, memlock, a PROG_ARRAY's owner), parsed by core.
import { assertFd, Errno, parseMapFdInfo, type MapFdInfo } from "@bpfkit/core";
import { readOwnFdinfo } from "./host-services.js";

/** The fdinfo fields of map fd `fd`; -EBADF when it is not open, -EINVAL when it is no map. */
export function readMapFdInfo(fd: number): MapFdInfo | number {
  assertFd(fd, "mapFdInfo");
  const text = readOwnFdinfo(fd);
  if (typeof text === "number") return text;
  return parseMapFdInfo(text) ?? -Errno.EINVAL;
}
