// Types of every BTF kind, added to a builder: the sample that core's builder test and the CLI's
// `btf dump` test compare with bpftool's `format raw` listing (each records bpftool's text for
// the blob it builds from this).
import { BtfBuilder, BtfIntEncoding } from "@bpfkit/core";

/** The ids later types of a test's blob may refer to. */
export interface BtfKindSampleIds {
  /** `unsigned int`. */
  uint: number;
  /** `typedef unsigned int __u32`. */
  u32: number;
  /** `struct key { __u32 a; char name[16]; unsigned int f:3; }`. */
  key: number;
  /** `unsigned int (__u32 x, ...)`. */
  proto: number;
}

/**
 * Adds, in this order, an INT of each sign, a TYPEDEF, an ARRAY, a STRUCT with a bitfield, a
 * signed ENUM, an ENUM64, a FWD union, a FUNC_PROTO with varargs and its global FUNC, a VAR in a
 * DATASEC, a FLOAT, a DECL_TAG, a TYPE_TAG, a PTR, CONST, VOLATILE, RESTRICT and a UNION.
 */
export function addBtfKindSample(b: BtfBuilder): BtfKindSampleIds {
  const uint = b.int("unsigned int", 4);
  const chr = b.int("char", 1, BtfIntEncoding.SIGNED);
  const u32 = b.typedef("__u32", uint);
  const arr = b.array(chr, uint, 16);
  const key = b.struct("key", 24, [{ name: "a", type: u32, bitOffset: 0 }, { name: "name", type: arr, bitOffset: 32 }, { name: "f", type: uint, bitOffset: 160, bitfieldSize: 3 }]);
  b.enum("e", 4, [{ name: "A", value: -1n }, { name: "B", value: 2n }], true);
  b.enum64("e64", 8, [{ name: "C", value: 1n << 40n }]);
  b.fwd("fw", true);
  const proto = b.funcProto(uint, [{ name: "x", type: u32 }, { name: "", type: 0 }]);
  b.func("fn", proto, 1);
  const v = b.var("gv", uint, 1);
  b.datasec(".data", 4, [{ type: v, offset: 0, size: 4 }]);
  b.float("double", 8);
  b.declTag("tag", key, 1);
  b.typeTag("user", uint);
  b.ptr(key); b.const(uint); b.volatile(uint); b.restrict(b.ptr(0));
  b.union("u", 8, [{ name: "x", type: uint, bitOffset: 0 }]);
  return { uint, u32, key, proto };
}
