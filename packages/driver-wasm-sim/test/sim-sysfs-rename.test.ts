// sysfs's answers to rename(2), as probed on 6.18, checked on the simulator only: the
// conformance rows do not ask them of a real host, where a kernel that let /sys/fs move would
// take /sys/fs/bpf with it. kernfs refuses any flag (EINVAL) and, without the syscall ops
// sysfs lacks, any rename (EPERM); a missing source is ENOENT first.
import { describe, expect, it } from "vitest";
import { Errno, RENAME_NOREPLACE, RENAME_WHITEOUT } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";

describe("rename on the simulated sysfs", () => {
  it("refuses a flag with EINVAL and any move with EPERM, and leaves /sys/fs/bpf where it was", () => {
    const d = createSimDriver();
    const rename = d.host.rename!;
    expect(rename("/sys/fs", "/sys/fs", 0)).toBe(0);
    expect(rename("/sys/bpfkit-no-such-entry", "/sys/bpfkit-nor-this", 0)).toBe(-Errno.ENOENT);
    expect(rename("/sys/fs", "/sys/bpfkit-moved", RENAME_NOREPLACE)).toBe(-Errno.EINVAL);
    expect(rename("/sys/fs", "/sys/bpfkit-moved", RENAME_WHITEOUT)).toBe(-Errno.EINVAL);
    expect(rename("/sys/fs", "/sys/bpfkit-moved", 0)).toBe(-Errno.EPERM);
    expect(d.host.statfsType("/sys/fs/bpf")).toBe(0xcafe4a11);
    expect(d.host.stat("/sys/bpfkit-moved").errno).toBe(Errno.ENOENT);
  });
});
