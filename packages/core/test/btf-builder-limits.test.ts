// BtfBuilder at the edges of what it takes: the kernel loads a type with BTF_MAX_VLEN (65535)
// entries, and keeps types up to id BTF_MAX_TYPE - 1 (0xffffe): its table holds BTF_MAX_TYPE
// entries with void's, and a type past it is dropped, though the load goes on. So the builder
// takes both, and refuses one more of either (the wire format's vlen is 16 bits).
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, BTF_MAX_TYPE, BTF_MAX_VLEN, BtfBuilder, BtfError } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

eachDriver("BtfBuilder's limits", (env) => {
  it("an ENUM of 65535 values loads; 65536 are refused before anything is added", () => {
    const b = new BtfBuilder();
    const values = Array.from({ length: BTF_MAX_VLEN + 1 }, (_, i) => ({ name: `v${i}`, value: BigInt(i) }));
    expect(() => b.enum("many", 4, values)).toThrow(/65536 values, at most 65535/);
    expect(b.enum("many", 4, values.slice(0, BTF_MAX_VLEN))).toBe(1);
    using h = env().bpf.loadBtf(b.encode());
    expect(h.id).toBeGreaterThan(0);
  });

  it("type id 0xffffe loads and a map may use it; the builder gives no id past it", () => {
    const b = new BtfBuilder();
    let last = 0;
    for (let i = 1; i < BTF_MAX_TYPE; i++) last = b.ptr(0);
    expect(last).toBe(BTF_MAX_TYPE - 1);
    expect(() => b.ptr(0)).toThrow(new BtfError(`more than ${BTF_MAX_TYPE - 1} types (the kernel keeps ids below BTF_MAX_TYPE)`));
    using h = env().bpf.loadBtf(b.encode());
    // A PTR is 8 bytes: a hash of PTR to PTR, both the last type.
    const { bpf, driver } = env();
    const fd = bpf.createMap(BPF_MAP_TYPE_HASH, 8, 8, 1, 0, 0, "last_type", { btf: { fd: h, keyTypeId: last, valueTypeId: last } });
    try {
      expect(bpf.getMapInfoByFd(fd)).toMatchObject({ btfId: h.id, btfKeyTypeId: last, btfValueTypeId: last });
    } finally {
      driver.close(fd);
    }
  });
});
