// A BTF blob with every kind bpftool's `btf dump … format raw` prints, and each variant of a kind
// it prints differently (signed and unsigned enums, a bitfield, an anonymous struct and member,
// a varargs parameter, static and global linkage, a FWD of each kind), that the kernel also
// loads (it refuses an extern VAR: "Linkage not supported", so there is none).
// fixtures/btf-every-kind.bpftool.txt and .json are bpftool's listing of it.
import { BtfBuilder, BtfIntEncoding } from "@bpfkit/core";

export function everyKindBtf(): Uint8Array {
  const b = new BtfBuilder();
  const uint = b.int("unsigned int", 4);
  const chr = b.int("char", 1, BtfIntEncoding.SIGNED);
  const u32 = b.typedef("__u32", uint);
  const arr = b.array(chr, uint, 16);
  const s = b.struct("key", 24, [{ name: "a", type: u32, bitOffset: 0 }, { name: "name", type: arr, bitOffset: 32 }, { name: "f", type: uint, bitOffset: 160, bitfieldSize: 3 }]);
  b.enum("e", 4, [{ name: "A", value: -1n }, { name: "B", value: 2n }], true);
  b.enum64("e64", 8, [{ name: "C", value: 1n << 40n }]);
  b.fwd("fw", true);
  const fp = b.funcProto(uint, [{ name: "x", type: u32 }, { name: "", type: 0 }]);
  b.func("fn", fp, 1);
  const v = b.var("gv", uint, 1);
  b.datasec(".data", 4, [{ type: v, offset: 0, size: 4 }]);
  b.float("double", 8);
  b.declTag("tag", s, 1);
  b.typeTag("user", uint);
  b.ptr(s); b.const(uint); b.volatile(uint); b.restrict(b.ptr(0));
  b.union("u", 8, [{ name: "x", type: uint, bitOffset: 0 }]);
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
