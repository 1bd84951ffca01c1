// Btf.sizeOf and resolve against the kernel's btf_type_id_size: a map created with a type as its
// value takes exactly that type's size (and refuses 4 bytes more), so for each kind sizeOf can
// meet under a map value (arrays of arrays, VAR, DATASEC, ENUM64, a type tag, FLOAT) the kernel
// says what the size is, not the parser itself.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BpfError, BtfBuilder, Errno, parseBtf } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

function kinds(): { raw: Uint8Array; uint: number; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const uint = b.int("unsigned int", 4);
  const u16 = b.int("unsigned short", 2);
  const cube = b.array(b.array(b.array(u16, uint, 3), uint, 2), uint, 5); // u16[5][2][3]
  const counter = b.var("counter", uint, 1);
  const data = b.datasec(".data", 12, [{ type: counter, offset: 8, size: 4 }]);
  const e64 = b.enum64("big", 8, [{ name: "X", value: 1n }]);
  const e64s = b.array(e64, uint, 3);
  const tagged = b.typeTag("user", b.const(uint)); // tags come before other modifiers, or the kernel refuses them
  const float = b.float("float", 4);
  const ptr = b.ptr(0);
  return { raw: b.encode(), uint, ids: { cube, counter, data, e64, e64s, tagged, float, ptr } };
}

eachDriver("Btf.sizeOf is the size the kernel gives the type", (env) => {
  it("a map takes each type as its value at sizeOf bytes, and refuses 4 more", () => {
    const { bpf, driver } = env();
    const { raw, uint, ids } = kinds();
    const btf = parseBtf(raw);
    expect(Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, btf.sizeOf(id)])))
      .toEqual({ cube: 60, counter: 4, data: 12, e64: 8, e64s: 24, tagged: 4, float: 4, ptr: 8 });
    expect(btf.resolve(ids.tagged!)).toBe(uint);
    using handle = bpf.loadBtf(raw);
    for (const [what, id] of Object.entries(ids)) {
      const size = btf.sizeOf(id)!;
      const fd = bpf.createMap(BPF_MAP_TYPE_ARRAY, 4, size, 1, 0, 0, "btf_size", { btf: { fd: handle, keyTypeId: uint, valueTypeId: id } });
      driver.close(fd);
      let err: unknown;
      try {
        driver.close(bpf.createMap(BPF_MAP_TYPE_ARRAY, 4, size + 4, 1, 0, 0, "btf_size", { btf: { fd: handle, keyTypeId: uint, valueTypeId: id } }));
      } catch (e) {
        err = e;
      }
      expect(err, `${what}: ${size + 4} bytes`).toBeInstanceOf(BpfError);
      expect((err as BpfError).errno, what).toBe(Errno.EINVAL);
    }
  });
});
