// Without procfs (a container or chroot that never mounted /proc), /proc/self/fdinfo/<fd> is
// missing for every fd, open or not. The driver must not answer EBADF for an open fd then, which
// reads as "closed": it answers ENOSYS (it cannot tell), and core adopts a map fd as it does on a
// driver without objKind or mapFdInfo. The child runs in a mount namespace of its own with /proc
// lazily unmounted, so the host's mounts are untouched.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { Errno } from "@bpfkit/core";
import { pairBlob } from "../../testkit/src/conformance/btf-blob.js";
import { transpileForChild } from "./child-copy.js";
import { describeKernel } from "./helpers.js";

/** util-linux unshare, for a private mount namespace. */
const UNSHARE = ["/usr/bin/unshare", "/bin/unshare"].find((p) => existsSync(p));
if (UNSHARE === undefined) console.warn("the no-procfs test is skipped: util-linux unshare is not installed");
let dir: string | undefined;

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describeKernel("kernel driver: without procfs", () => {
  it.skipIf(UNSHARE === undefined)("fdinfo's absence is ENOSYS, not EBADF, for an open map fd; core still adopts it and tells a closed fd", () => {
    dir = transpileForChild("bpfkit-noproc-", { koffi: true });
    const script = `
      import { existsSync } from "node:fs";
      import { createKernelDriver } from ${JSON.stringify(join(dir, "driver-kernel", "index.js"))};
      import { createBpf, silentLogger, u32, BpfError } from ${JSON.stringify(join(dir, "core", "index.js"))};
      const out = { proc: existsSync("/proc/self/fdinfo") };
      const d = createKernelDriver();
      const fd = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 });
      out.mapFdInfo = d.mapFdInfo(fd);
      out.objKind = d.host.objKind(fd);
      // btfGetInfo tells a BTF fd from a map's by the kernel's answer, not by fdinfo.
      const btf = d.btfLoad({ btf: new Uint8Array(${JSON.stringify([...pairBlob()])}) });
      const info = d.btfGetInfo(btf, null);
      out.btfInfo = typeof info === "object" && info.id > 0 ? info.btfSize : info;
      out.btfInfoOfMap = d.btfGetInfo(fd, null);
      d.close(btf);
      const bpf = createBpf({ driver: d, mapRoot: "/nonexistent", logger: silentLogger });
      const m = bpf.newMapFromFd(fd, { key: u32, value: u32 });
      m.update(1, 11);
      out.lookup = m.lookup(1);
      try { m.fdInfo(); out.fdInfo = "read"; } catch (e) { out.fdInfo = e instanceof BpfError ? e.code : String(e); }
      m.close();
      try { bpf.newMapFromFd(fd); out.closed = "adopted"; } catch (e) { out.closed = e instanceof BpfError ? e.code : String(e); }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(UNSHARE!, ["--mount", "--propagation", "private", "sh", "-c",
      `umount -l /proc && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      proc: false, mapFdInfo: -Errno.ENOSYS, objKind: -Errno.ENOSYS, lookup: 11, fdInfo: "ENOSYS", closed: "EBADF",
      btfInfo: pairBlob().length, btfInfoOfMap: -Errno.EINVAL,
    });
  });
});
