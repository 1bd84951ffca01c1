// objGetInfoByFd on a kernel whose page is larger than 4 KiB (arm64's 16 or 64 KiB): the kernel
// takes info_len up to PAGE_SIZE, and bpf_check_uarg_tail_zero reads every byte of the user's
// buffer past its struct, which must be zero. The driver hands the kernel its own zeroed copy,
// so that copy must be as long as info_len, a page of the driver's pageSize, not 4096.
// No such kernel is at hand: a KernelDriver told it has 64 KiB pages runs over a syscall that
// plays that kernel's check, reading the bytes the driver staged, then passes the call on.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BpfCmd, Errno, MAP_INFO_SIZE } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { KernelHostServices } from "../src/host-services.js";
import { KernelDriver } from "../src/kernel-driver.js";
import { loadLibc, type Libc } from "../src/native.js";
import { describeKernel } from "./helpers.js";

const PAGE = 65536;
/** The host kernel's own page, whose check the call meets once the large kernel's has passed. */
const HOST_PAGE = 4096;

describeKernel("kernel driver: objGetInfoByFd with pages larger than 4 KiB", () => {
  it("info_len up to the driver's page is staged whole and zeroed, so a 64 KiB-page kernel's tail check passes; past it E2BIG", () => {
    const libc = loadLibc();
    const scratch = { driver: undefined as unknown as KernelDriver };
    const syscall: Libc["syscall"] = (nr, cmd, attr, size) => {
      if (cmd !== BpfCmd.OBJ_GET_INFO_BY_FD) return libc.syscall(nr, cmd, attr, size);
      // The driver's block, as the kernel would read it through the attr's pointers.
      const inner = scratch.driver as unknown as { u8: Uint8Array; base: number };
      const dv = new DataView(inner.u8.buffer, inner.u8.byteOffset, inner.u8.length);
      const at = attr - inner.base;
      const len = dv.getUint32(at + 4, true);
      const info = Number(dv.getBigUint64(at + 8, true)) - inner.base;
      const refuse = () => {
        // koffi.errno(value) sets errno, which the driver reads right after the call.
        (libc.koffi as unknown as { errno(v: number): number }).errno(Errno.E2BIG);
        return -1;
      };
      if (len > PAGE) return refuse();
      // Past the host's page: bytes the driver did not stage (outside its block) are not zero.
      for (let i = HOST_PAGE; i < len; i++) if (inner.u8[info + i] !== 0) return refuse();
      if (len <= HOST_PAGE) return libc.syscall(nr, cmd, attr, size);
      dv.setUint32(at + 4, HOST_PAGE, true);
      return libc.syscall(nr, cmd, attr, size);
    };
    const d = new KernelDriver({ ...libc, syscall }, createKernelDriver().possibleCpus, new KernelHostServices(libc), PAGE);
    scratch.driver = d;
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      for (const n of [MAP_INFO_SIZE, HOST_PAGE, HOST_PAGE + 1, 2 * HOST_PAGE, PAGE]) {
        const buf = new Uint8Array(n).fill(0xee);
        expect(d.objGetInfoByFd(fd, buf), `info_len ${n}`).toBe(MAP_INFO_SIZE);
        expect(buf[0], `info_len ${n}: the map's type`).toBe(BPF_MAP_TYPE_ARRAY);
      }
      expect(d.objGetInfoByFd(fd, new Uint8Array(PAGE + 1))).toBe(-Errno.E2BIG);
    } finally {
      expect(d.close(fd)).toBe(0);
    }
  });
});
