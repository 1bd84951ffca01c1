// bpfSpinLock, the codec of `struct bpf_spin_lock`: its layout in a struct, its BTF (the name and
// shape the kernel looks for), and its place in values (left out, as padding is). That the kernel
// takes it as a lock is checked on both drivers in map-btf-lock.test.ts.
import { describe, expect, it } from "vitest";
import { bpfSpinLock, btfForMap, BtfKind, encodeToBytes, formatBtfValue, parseBtf, struct, u32, u64, u8 } from "@bpfkit/core";

describe("bpfSpinLock", () => {
  const value = struct({ lock: bpfSpinLock, packets: u64, bytes: u64 }, { name: "counters" });

  it("is 4 bytes, 4-aligned, laid out where C puts a struct bpf_spin_lock", () => {
    expect(bpfSpinLock).toMatchObject({ size: 4, align: 4 });
    expect(value.offsets).toEqual({ lock: 0, packets: 8, bytes: 16 });
    expect(value.size).toBe(24);
    const s = struct({ flag: u8, lock: bpfSpinLock });
    expect(s.offsets).toEqual({ flag: 0, lock: 4 });
    expect(s.size).toBe(8);
  });

  it("is left out of decoded values and needs no input: the lock's word is the kernel's, written as zeros", () => {
    const bytes = encodeToBytes(value, { packets: 1n, bytes: 2n });
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.fill(0xff, 0, 4); // whatever the lock's word held
    expect(value.decode(bytes)).toEqual({ packets: 1n, bytes: 2n });
    expect(value.format!({ packets: 1n, bytes: 2n })).toBe("{packets=1 bytes=2}");
  });

  it("writes its zeros where the lock is, not over the fields before it, up to the buffer's very end", () => {
    const s = struct({ a: u32, lock: bpfSpinLock, b: u32 });
    expect(Array.from(encodeToBytes(s, { a: 7, b: 9 }))).toEqual([7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0]);
    const last = struct({ a: u32, lock: bpfSpinLock });
    expect(Array.from(encodeToBytes(last, { a: 5 }))).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
    const out = new Uint8Array(4).fill(0xff);
    bpfSpinLock.encode(undefined, out);
    expect(Array.from(out)).toEqual([0, 0, 0, 0]);
    // struct() leaves a padding field to its zero fill; a codec composed by hand calls encodeAt.
    const at = new Uint8Array(12).fill(0xff);
    bpfSpinLock.encodeAt(undefined, at, 4);
    expect(Array.from(at)).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(() => bpfSpinLock.encodeAt(undefined, new Uint8Array(7), 4)).toThrow(RangeError);
  });

  it("is `struct bpf_spin_lock { __u32 val; }` in BTF, once however many values hold it", () => {
    const m = btfForMap(u32, struct({ lock: bpfSpinLock, inner: struct({ l2: u32, lock: bpfSpinLock }) }));
    const btf = parseBtf(m.btf);
    const id = btf.findByName("bpf_spin_lock", BtfKind.STRUCT)!;
    expect(id).toBeGreaterThan(0);
    const t = btf.typeById(id);
    expect(t.kind).toBe(BtfKind.STRUCT);
    if (t.kind !== BtfKind.STRUCT) return;
    expect(t.size).toBe(4);
    expect(t.members.map((x) => [x.name, btf.name(x.type), x.bitOffset])).toEqual([["val", "__u32", 0]]);
    expect(btf.types.filter((x) => x.kind === BtfKind.STRUCT && x.name === "bpf_spin_lock")).toHaveLength(1);
  });

  it("prints as bpftool prints a lock: its val, which a lookup reads as 0", () => {
    const m = btfForMap(u32, value);
    const btf = parseBtf(m.btf);
    expect(formatBtfValue(btf, m.valueTypeId, encodeToBytes(value, { packets: 3n, bytes: 4n })))
      .toEqual({ lock: { val: 0 }, packets: 3, bytes: 4 });
  });
});
