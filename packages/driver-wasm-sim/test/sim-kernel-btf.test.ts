// createSimDriver({ kernelBtf }): the kernel's own BTF, which BPF_BTF_LOAD looks a kptr's struct
// up in by name. A referenced kptr to a kernel struct loads only where the kernel has a
// destructor kfunc for it, else ENOENT; an untrusted or per-CPU kptr, or a struct the kernel's
// BTF does not name, is the program's own. It is also the BTF object with id 1, as vmlinux's is.
// (testkit's diff-btf-vmlinux.test.ts holds both to the kernel with this host's vmlinux.)
import { describe, expect, it } from "vitest";
import { BtfBuilder, BtfIntEncoding, Errno, ProgType } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";

/** A stand-in for vmlinux's BTF: two structs, `node` (no destructor) and `task_struct` (one). */
function kernelBtf(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.int("int", 4, BtfIntEncoding.SIGNED);
  b.struct("node", 4, [{ name: "id", type: int, bitOffset: 0 }]);
  b.struct("task_struct", 4, [{ name: "pid", type: int, bitOffset: 0 }]);
  b.union("shared", 4, [{ name: "u", type: int, bitOffset: 0 }]);
  return b.encode();
}

/** A map value holding a pointer tagged `tag` to a struct of the program's named `name`. */
function kptrBlob(tag: string, name: string): { blob: Uint8Array; value: number } {
  const b = new BtfBuilder();
  const int = b.int("int", 4, BtfIntEncoding.SIGNED);
  const s = b.struct(name, 4, [{ name: "x", type: int, bitOffset: 0 }]);
  const value = b.struct("val", 8, [{ name: "p", type: b.ptr(b.typeTag(tag, s)), bitOffset: 0 }]);
  return { blob: b.encode(), value };
}

const load = (d: ReturnType<typeof createSimDriver>, blob: Uint8Array) => {
  const fd = d.btfLoad({ btf: blob });
  if (fd >= 0) d.close(fd);
  return fd >= 0 ? 0 : fd;
};

describe("the simulator's kernel BTF (kptrs)", () => {
  it("a referenced kptr to a kernel struct without a destructor is ENOENT; with one, or untrusted, or per-CPU, it loads", () => {
    const d = createSimDriver({ kernelBtf: kernelBtf() });
    expect(load(d, kptrBlob("kptr", "node").blob)).toBe(-Errno.ENOENT);
    expect(load(d, kptrBlob("kptr", "task_struct").blob)).toBe(0);
    expect(load(d, kptrBlob("kptr_untrusted", "node").blob)).toBe(0);
    expect(load(d, kptrBlob("percpu_kptr", "node").blob)).toBe(0);
    // Not the kernel's: a name it lacks, one it has as a union only, an anonymous struct.
    expect(load(d, kptrBlob("kptr", "mine").blob)).toBe(0);
    expect(load(d, kptrBlob("kptr", "shared").blob)).toBe(0);
    expect(load(d, kptrBlob("kptr", "").blob)).toBe(0);
  });

  it("without kernelBtf every struct is the program's own: the kptr to `node` loads and makes a map", () => {
    const d = createSimDriver();
    const { blob, value } = kptrBlob("kptr", "node");
    const btf = d.btfLoad({ btf: blob });
    expect(btf).toBeGreaterThanOrEqual(0);
    const map = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 1, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: value });
    expect(map).toBeGreaterThanOrEqual(0);
    d.close(map);
    d.close(btf);
  });

  it("kernelBtf is the BTF object with id 1, \"vmlinux\", held for ever; no map or program is made with it (EACCES), and loaded BTF takes ids from 2", () => {
    const raw = kernelBtf();
    const d = createSimDriver({ kernelBtf: raw });
    expect(d.btfGetNextId(0)).toBe(1);
    const fd = d.btfGetFdById(1);
    const data = new Uint8Array(raw.length);
    expect(d.btfGetInfo(fd, data)).toEqual({ id: 1, btfSize: raw.length, name: "vmlinux", kernelBtf: true });
    expect(data).toEqual(raw);
    // The generic call writes name_len (7) and kernel_btf (1) too, as 6.18 does.
    const generic = new Uint8Array(32);
    expect(d.objGetInfoByFd(fd, generic)).toBe(32);
    expect([...new Uint32Array(generic.buffer).subarray(2)]).toEqual([raw.length, 1, 0, 0, 7, 1]);
    expect(d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, btfFd: fd, btfKeyTypeId: 1, btfValueTypeId: 1 })).toBe(-Errno.EACCES);
    const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    expect(d.progLoad({ progType: ProgType.SocketFilter, insns, license: "GPL", progBtfFd: fd, funcInfo: new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]) })).toBe(-Errno.EACCES);
    expect(d.objPin(fd, "/sys/fs/bpf/vmlinux")).toBe(-Errno.EINVAL);
    expect(d.close(fd)).toBe(0);
    expect(d.btfGetNextId(0)).toBe(1);
    const mine = d.btfLoad({ btf: kptrBlob("kptr", "task_struct").blob });
    expect(d.btfGetInfo(mine, null)).toMatchObject({ id: 2, name: "", kernelBtf: false });
    d.close(mine);
    // Without the option there is none: ids start at 1.
    const plain = createSimDriver();
    expect(plain.btfGetNextId(0)).toBe(-Errno.ENOENT);
    // Opening it by id needs CAP_SYS_ADMIN, as any BTF id.
    expect(createSimDriver({ kernelBtf: raw, privileged: false }).btfGetFdById(1)).toBe(-Errno.EPERM);
  });

  it("kernelBtf must be BTF: other bytes or another type is a TypeError at createSimDriver", () => {
    expect(() => createSimDriver({ kernelBtf: "vmlinux" as unknown as Uint8Array })).toThrow(/kernelBtf must be a Uint8Array of BTF/);
    expect(() => createSimDriver({ kernelBtf: new Uint8Array(8) })).toThrow(/kernelBtf is not BTF the simulator can read: .*shorter than a btf_header/);
  });
});
