// isMountFs and hasMultipleMounts over a host whose mount table and statfs are given: what
// checkOrMountFS decides from them (mount, use, or refuse) without touching any filesystem.
import { describe, expect, it } from "vitest";
import { BPF_FS_MAGIC, BpfError, Errno, hasMultipleMounts, isMountFs, type HostServices, type MountInfo } from "@bpfkit/core";

const TMPFS_MAGIC = 0x01021994;

function host(mounts: Array<Partial<MountInfo>> | number, statfs: number): HostServices {
  const table = typeof mounts === "number" ? mounts
    : mounts.map((m, i) => ({ mountId: i + 1, parentId: 1, root: "/", mountPoint: "/", fsType: "bpf", source: "bpf", ...m }));
  return { mountInfo: () => table, statfsType: () => statfs } as unknown as HostServices;
}

describe("isMountFs", () => {
  it("nothing mounted at the path: not mounted, whatever statfs says of the directory", () => {
    expect(isMountFs(host([{ mountPoint: "/other" }], BPF_FS_MAGIC), "/r")).toEqual({ mounted: false, isBpf: false });
  });

  it("statfs decides what is visible there: a tmpfs stacked over a bpffs is not bpffs", () => {
    const h = host([{ mountPoint: "/r", fsType: "bpf" }, { mountPoint: "/r", fsType: "tmpfs" }], TMPFS_MAGIC);
    expect(isMountFs(h, "/r")).toEqual({ mounted: true, isBpf: false });
    const bpfOnTop = host([{ mountPoint: "/r", fsType: "tmpfs" }, { mountPoint: "/r", fsType: "bpf" }], BPF_FS_MAGIC);
    expect(isMountFs(bpfOnTop, "/r")).toEqual({ mounted: true, isBpf: true });
    // Where the table's order and statfs disagree, statfs (what a pin would land on) wins.
    expect(isMountFs(host([{ mountPoint: "/r", fsType: "tmpfs" }, { mountPoint: "/r", fsType: "bpf" }], TMPFS_MAGIC), "/r"))
      .toEqual({ mounted: true, isBpf: false });
  });

  it("when statfs fails, the topmost mount in the table decides", () => {
    expect(isMountFs(host([{ mountPoint: "/r", fsType: "tmpfs" }, { mountPoint: "/r", fsType: "bpf" }], -Errno.EACCES), "/r"))
      .toEqual({ mounted: true, isBpf: true });
    expect(isMountFs(host([{ mountPoint: "/r", fsType: "bpf" }, { mountPoint: "/r", fsType: "tmpfs" }], -Errno.EACCES), "/r"))
      .toEqual({ mounted: true, isBpf: false });
  });

  it("an unreadable mount table is a BpfError with its errno", () => {
    let err: unknown;
    try {
      isMountFs(host(-Errno.EACCES, 0), "/r");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).errno).toBe(Errno.EACCES);
    expect((err as BpfError).message).toBe("Unable to read mount info: permission denied");
  });
});

describe("hasMultipleMounts", () => {
  it("counts only whole-filesystem mounts at the path: a bind mount of a subdirectory is not a second bpffs", () => {
    expect(hasMultipleMounts(host([{ mountPoint: "/r" }, { mountPoint: "/r", root: "/sub" }], BPF_FS_MAGIC), "/r")).toBe(false);
    expect(hasMultipleMounts(host([{ mountPoint: "/r" }, { mountPoint: "/r" }], BPF_FS_MAGIC), "/r")).toBe(true);
    expect(hasMultipleMounts(host([{ mountPoint: "/r" }, { mountPoint: "/s" }], BPF_FS_MAGIC), "/r")).toBe(false);
  });
});
