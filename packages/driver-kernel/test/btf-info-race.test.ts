// btfGetInfo asks the kernel twice (an 8-byte probe that tells a BTF object from a map or
// program, then the info itself). Another thread may close the fd between the two and its number
// go to another object, whose info the kernel would then write through our bpf_btf_info's
// pointers as its own fields. Here a syscall stand-in plays that thread: right after the probe it
// closes the fd and makes a map, which takes the freed number. The driver must still answer the
// BTF object's info, read through a dup it holds for both calls.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BpfCmd, type BtfInfo } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { pairBlob } from "@bpfkit/testkit";
import { KernelHostServices } from "../src/host-services.js";
import { KernelDriver } from "../src/kernel-driver.js";
import { loadLibc, type Libc } from "../src/native.js";
import { describeKernel } from "./helpers.js";

describeKernel("kernel driver: btfGetInfo while another thread reuses the fd's number", () => {
  it("answers the BTF object's info when its number goes to a map between the probe and the query", () => {
    const libc = loadLibc();
    const other = createKernelDriver();
    let swap: (() => void) | undefined;
    const syscall: Libc["syscall"] = (nr, cmd, attr, size) => {
      const r = libc.syscall(nr, cmd, attr, size);
      if (cmd === BpfCmd.OBJ_GET_INFO_BY_FD && swap !== undefined) {
        const s = swap;
        swap = undefined;
        s();
      }
      return r;
    };
    const d = new KernelDriver({ ...libc, syscall }, other.possibleCpus, new KernelHostServices(libc), 4096);
    const btf = d.btfLoad!({ btf: pairBlob() });
    expect(btf).toBeGreaterThan(0);
    const want = d.btfGetInfo!(btf, null) as BtfInfo;
    expect(want.btfSize).toBe(pairBlob().length);
    let map = -1;
    swap = () => {
      libc.close(btf);
      map = other.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    };
    try {
      const got = d.btfGetInfo!(btf, null);
      // The stand-in did its part: the number now holds a map.
      expect(map).toBe(btf);
      expect(got).toEqual(want);
    } finally {
      if (map >= 0) other.close(map);
    }
  });
});
