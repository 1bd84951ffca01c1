// Shared by the kernel driver's tests: fd accounting, key/value bytes, and a driver that is
// created once per test file (each file runs in its own process, see vitest.config.ts).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BpfCmd, BtfKind, MAP_CREATE_ATTR, parseBtf, type Driver } from "@bpfkit/core";
import { createKernelDriver, kernelDriverUnavailable, NR_BPF, sysAdminMissing } from "@bpfkit/driver-kernel";

/**
 * Why the kernel driver's tests cannot run here (not Linux, no bpf(2), no privilege), or
 * undefined. They mount bpffs and open objects by id, so CAP_BPF alone is not enough.
 */
export const kernelUnavailable: string | undefined = (() => {
  const why = kernelDriverUnavailable();
  if (why !== undefined) return why;
  const gap = sysAdminMissing();
  return gap !== undefined ? `they need root: ${gap}` : undefined;
})();
if (kernelUnavailable !== undefined) console.warn(`kernel driver tests skipped: ${kernelUnavailable}`);

/** `describe`, skipped (with the reason printed above) only where bpf(2) cannot be used. */
export const describeKernel = describe.skipIf(kernelUnavailable !== undefined);

export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** The driver for a test file; after the file, the process holds exactly the fds it had. */
export function kernelForFile(): { readonly d: Driver } {
  const box = { d: undefined as unknown as Driver };
  let before = 0;
  beforeAll(() => {
    if (kernelUnavailable !== undefined) return;
    box.d = createKernelDriver();
    before = openFdCount();
  });
  afterAll(() => {
    if (kernelUnavailable !== undefined) return;
    expect(openFdCount(), "open fds after the file").toBe(before);
  });
  return box;
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

export function readU32(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}

export function readU64(b: Uint8Array, at = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
}

/** r0 = 0; exit: the smallest socket filter (kernel-maps.md §2). */
export const RET0_INSNS = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** Runs `fn` with fds it registers, closing them all afterwards (after an async `fn` settles), even when it throws. */
export function withFds<T>(d: Driver, fn: (keep: (fd: number) => number) => T): T {
  const fds: number[] = [];
  const closeAll = () => {
    for (const fd of fds.reverse()) d.close(fd);
  };
  let result: T;
  try {
    result = fn((fd) => {
      expect(fd, "a new fd").toBeGreaterThanOrEqual(0);
      fds.push(fd);
      return fd;
    });
  } catch (e) {
    closeAll();
    throw e;
  }
  // An async body keeps its fds until it settles.
  if (result instanceof Promise) return result.finally(closeAll) as T;
  closeAll();
  return result;
}

/** Every key of a map by GET_NEXT_KEY from NULL. */
export function walkKeys(d: Driver, fd: number, keySize: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  let prev: Uint8Array | null = null;
  for (;;) {
    const next = new Uint8Array(keySize);
    const r = d.mapGetNextKey(fd, prev, next);
    if (r !== 0) {
      expect(r, "walk ends with ENOENT").toBe(-2);
      return keys;
    }
    keys.push(next);
    prev = next;
  }
}

/** A one-element ARRAY with `valueSize`-byte values, created with a bare bpf(2): no driver sees it. */
export function createBehindTheDriver(valueSize: number): number {
  const koffi = createRequire(import.meta.url)("koffi");
  const syscall = koffi.load("libc.so.6").func("long syscall(long nr, int cmd, _Inout_ uint8_t *attr, unsigned int size)");
  const attr = new Uint8Array(MAP_CREATE_ATTR.size);
  const dv = new DataView(attr.buffer);
  dv.setUint32(MAP_CREATE_ATTR.off.map_type, BPF_MAP_TYPE_ARRAY, true);
  dv.setUint32(MAP_CREATE_ATTR.off.key_size, 4, true);
  dv.setUint32(MAP_CREATE_ATTR.off.value_size, valueSize, true);
  dv.setUint32(MAP_CREATE_ATTR.off.max_entries, 1, true);
  const fd = Number(syscall(NR_BPF[process.arch], BpfCmd.MAP_CREATE, attr, attr.length));
  if (fd < 0) throw new Error(`BPF_MAP_CREATE: errno ${koffi.errno()}`);
  return fd;
}

const VMLINUX = "/sys/kernel/btf/vmlinux";
/** Why vmlinuxStructs() cannot answer here, or undefined. */
export const noVmlinuxBtf: string | undefined = existsSync(VMLINUX) ? undefined : `${VMLINUX} is absent (a kernel without BTF)`;
let structs: { members: string[]; size: number }[] | undefined;

/**
 * Every STRUCT of the running kernel's BTF (core's parseBtf of /sys/kernel/btf/vmlinux, which
 * btf-parse.test.ts holds to the kernel): its members as "name byte-offset", in order, and its
 * size. The anonymous structs of `union bpf_attr` too, which a system header older than the
 * kernel may lack.
 */
export function vmlinuxStructs(): { members: string[]; size: number }[] {
  if (structs === undefined) {
    const btf = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    structs = btf.types.flatMap((t) => t.kind === BtfKind.STRUCT
      ? [{ members: t.members.map((m) => `${m.name} ${m.bitOffset / 8}`), size: t.size }] : []);
  }
  return structs;
}
