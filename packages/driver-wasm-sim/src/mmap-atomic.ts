// mmapAtomic on the simulator's mapped memory: the engine's memory is little-endian, as the
// x86-64 it models, and JS runs one call at a time, so a read, the operation and a write in a
// row are as atomic as the kernel's lock-prefixed instruction.
import type { MmapAtomicOp } from "@bpfkit/core";

/** The word's new value after `op` (for load, the old one): wrapped to `bits`. */
function next(op: MmapAtomicOp, old: bigint, operand: bigint, expected: bigint | undefined, bits: number): bigint {
  switch (op) {
    case "load": return old;
    case "add": return BigInt.asUintN(bits, old + operand);
    case "sub": return BigInt.asUintN(bits, old - operand);
    case "and": return old & operand;
    case "or": return old | operand;
    case "xor": return old ^ operand;
    case "exchange": return operand;
    case "compareExchange": return old === expected ? operand : old;
  }
}

/** Applies `op` to the `size`-byte word at `addr` of `heap` and returns the word's value before it. */
export function applyAtomic(heap: Uint8Array, addr: number, size: 4 | 8, op: MmapAtomicOp,
  operand: bigint | undefined, expected: bigint | undefined): bigint {
  const dv = new DataView(heap.buffer, heap.byteOffset + addr, size);
  const old = size === 8 ? dv.getBigUint64(0, true) : BigInt(dv.getUint32(0, true));
  const value = next(op, old, operand ?? 0n, expected, 8 * size);
  if (value !== old) {
    if (size === 8) dv.setBigUint64(0, value, true);
    else dv.setUint32(0, Number(value), true);
  }
  return old;
}
