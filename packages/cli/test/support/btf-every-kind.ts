// A BTF blob with every kind bpftool's `btf dump … format raw` prints, and each variant of a kind
// it prints differently (signed and unsigned enums, a bitfield, an anonymous struct and member,
// a varargs parameter, static and global linkage, a FWD of each kind), that the kernel also
// loads (it refuses an extern VAR: "Linkage not supported", so there is none).
// fixtures/btf-every-kind.bpftool.txt and .json are bpftool's listing of it.
import { BtfBuilder, BtfIntEncoding } from "@bpfkit/core";
import { addBtfKindSample } from "@bpfkit/testkit";

export function everyKindBtf(): Uint8Array {
  const b = new BtfBuilder();
  const { uint, key: s, proto: fp } = addBtfKindSample(b);
  b.enum("ue", 4, [{ name: "U", value: 4000000000n }], false);
  b.enum64("se64", 8, [{ name: "N", value: -5n }], true);
  b.int("_Bool", 1, BtfIntEncoding.BOOL);
  b.int("uc", 1, BtfIntEncoding.CHAR);
  b.func("sf", fp, 0);
  b.declTag("t2", s, -1);
  b.fwd("fs", false);
  b.struct("", 4, [{ name: "", type: uint, bitOffset: 0 }]);
  return b.encode();
}
