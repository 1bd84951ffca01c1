// What kind of BPF object an fd is: a pin may hold a map, a program or a link, and
// OBJ_GET_INFO_BY_FD cannot say (a link's info reads as a map's). The driver's host service
// `objKind` answers (the kernel driver reads /proc/self/fdinfo); a driver without it is told
// by the info's length, which separates programs from maps only.
import { Errno, MAP_INFO_SIZE, PROG_INFO_SIZE, type BpfObjKind, type Driver } from "@bpfkit/core";

const INFO_SIZE = Math.max(MAP_INFO_SIZE, PROG_INFO_SIZE);

/** The kind of the object `fd` refers to, or -errno. */
export function objectKind(driver: Driver, fd: number): BpfObjKind | number {
  const kind = driver.host.objKind?.(fd);
  // ENOSYS: the host cannot tell any fd (no procfs), so go by the info as without objKind.
  if (kind !== undefined && kind !== -Errno.ENOSYS) return kind;
  const r = driver.objGetInfoByFd(fd, new Uint8Array(INFO_SIZE));
  if (r < 0) return r;
  return r >= PROG_INFO_SIZE ? { kind: "prog" } : { kind: "map" };
}

/** `a BPF link (cgroup)`, `a program`: what a wrong object is, for messages. */
export function describeKind(k: BpfObjKind): string {
  switch (k.kind) {
    case "map": return "a map";
    case "prog": return "a program";
    case "link": return `a BPF link (${k.linkType})`;
    case "btf": return "a BTF object";
    case "other": return "a BPF object that is neither a map, a program nor a link";
  }
}
