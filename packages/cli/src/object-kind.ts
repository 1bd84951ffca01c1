// What kind of BPF object an fd is: a pin may hold a map, a program or a link. OBJ_GET_INFO_BY_FD
// cannot say: bpf_map_info, bpf_prog_info and bpf_link_info all start with two u32s, and the
// kernel writes min(buffer, sizeof its struct), so only the length answered differs. A link's
// struct is no larger than a map's, so a pinned link passed for a map (its link type read as a
// map type, its prog id as the key size). The kernel's /proc/self/fdinfo names the kind instead:
// map_type:, prog_type: or link_type: (since 5.7 for links; maps and programs since 4.x).
import { readFileSync } from "node:fs";
import { MAP_INFO_SIZE, PROG_INFO_SIZE, type Driver } from "@bpfkit/core";

export type BpfObjectKind =
  | { kind: "map" }
  | { kind: "prog" }
  /** `linkType`: the kernel's name for it (cgroup, tracing, xdp, …). */
  | { kind: "link"; linkType: string }
  /** BTF, or anything else bpffs holds. */
  | { kind: "other" };

const INFO_SIZE = Math.max(MAP_INFO_SIZE, PROG_INFO_SIZE);

/**
 * The kind of the object `fd` refers to, or -errno when the kernel has no info for it. On the
 * kernel driver, whose fds are this process's, it reads fdinfo; a driver without real fds (the
 * simulator has maps and programs only) is told by the info length.
 */
export function objectKind(driver: Driver, fd: number): BpfObjectKind | number {
  if (driver.kind === "kernel") {
    const fromFdinfo = fdinfoKind(fd);
    if (fromFdinfo !== undefined) return fromFdinfo;
  }
  const r = driver.objGetInfoByFd(fd, new Uint8Array(INFO_SIZE));
  if (r < 0) return r;
  return r >= PROG_INFO_SIZE ? { kind: "prog" } : { kind: "map" };
}

/** Parses /proc/self/fdinfo/FD; undefined when it cannot be read (no procfs mounted). */
export function fdinfoKind(fd: number): BpfObjectKind | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  } catch {
    return undefined;
  }
  if (/^map_type:/m.test(text)) return { kind: "map" };
  if (/^prog_type:/m.test(text)) return { kind: "prog" };
  const link = /^link_type:\s*(\S+)/m.exec(text);
  if (link) return { kind: "link", linkType: link[1]! };
  return { kind: "other" };
}

/** `a BPF link (cgroup)`, `a program`: what a wrong object is, for messages. */
export function describeKind(k: BpfObjectKind): string {
  switch (k.kind) {
    case "map": return "a map";
    case "prog": return "a program";
    case "link": return `a BPF link (${k.linkType})`;
    case "other": return "a BPF object that is neither a map, a program nor a link";
  }
}
