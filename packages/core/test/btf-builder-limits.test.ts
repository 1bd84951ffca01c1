// BtfBuilder at the edges of what it takes: the kernel loads a type with BTF_MAX_VLEN (65535)
// entries and a type of id BTF_MAX_TYPE (0xfffff), so the builder must take both, and it refuses
// one more of either (the wire format's vlen is 16 bits; BTF_MAX_TYPE is uapi's highest id,
// though 6.18 loads a blob with one type more).
import { expect, it } from "vitest";
import { BTF_MAX_TYPE, BTF_MAX_VLEN, BtfBuilder, BtfError } from "@bpfkit/core";
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

  it("type id 0xfffff loads; the builder gives no id past it", () => {
    const b = new BtfBuilder();
    let last = 0;
    for (let i = 0; i < BTF_MAX_TYPE; i++) last = b.ptr(0);
    expect(last).toBe(BTF_MAX_TYPE);
    expect(() => b.ptr(0)).toThrow(new BtfError(`more than ${BTF_MAX_TYPE} types`));
    using h = env().bpf.loadBtf(b.encode());
    expect(h.id).toBeGreaterThan(0);
  });
});
