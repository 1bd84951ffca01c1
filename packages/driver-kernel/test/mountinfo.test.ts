// /proc/self/mountinfo parsing: optional fields, octal escapes, malformed lines.
import { describe, expect, it } from "vitest";
import { parseMountInfo, unescapeMountField } from "@bpfkit/driver-kernel";

describe("parseMountInfo", () => {
  it("reads the proc(5) example, with optional fields before the separator", () => {
    const text = "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n";
    expect(parseMountInfo(text)).toEqual([
      { mountId: 36, parentId: 35, root: "/mnt1", mountPoint: "/mnt/parent", fsType: "ext3", source: "/dev/root" },
    ]);
  });

  it("reads lines without optional fields and several optional fields", () => {
    const text = [
      "22 1 0:21 / /sys/fs/bpf rw,relatime - bpf bpf rw,mode=700",
      "23 1 0:22 / /a rw shared:4 master:2 propagate_from:1 - tmpfs tmpfs rw",
    ].join("\n");
    expect(parseMountInfo(text).map((m) => [m.mountPoint, m.fsType, m.source])).toEqual([
      ["/sys/fs/bpf", "bpf", "bpf"], ["/a", "tmpfs", "tmpfs"],
    ]);
  });

  it("unescapes octal in paths: space, tab, newline, backslash", () => {
    expect(unescapeMountField("/tmp/a\\040b\\011c\\012d\\134e")).toBe("/tmp/a b\tc\nd\\e");
    const text = "40 1 0:30 / /tmp/with\\040space rw - bpf my\\040src rw";
    expect(parseMountInfo(text)[0]).toMatchObject({ mountPoint: "/tmp/with space", source: "my src" });
  });

  it("skips malformed lines", () => {
    expect(parseMountInfo("garbage\n1 2 3\nx y 0:1 / /m rw - bpf bpf rw\n")).toEqual([]);
  });
});
