// `struct bpf_spin_lock` as a struct field. A value holding one lets user space read and write
// it whole under the lock (BPF_F_LOCK on lookup and update), as a program does between
// bpf_spin_lock() and bpf_spin_unlock(). The kernel finds the lock by its BTF: a struct member
// whose type is a 4-byte, 4-aligned struct named `bpf_spin_lock`. So the codec's one job beyond
// its size is to describe itself by that name.
import { u32, type PadCodec } from "./codec.js";
import { BtfBuilder } from "./btf/btf-builder.js";
import { btfTypeOfCodec, type BtfTypedCodec } from "./btf/btf-codec.js";

/** The codec of `bpfSpinLock`: a struct field left out of decoded values, as padding is, that describes itself in BTF. */
export interface SpinLockCodec extends PadCodec, BtfTypedCodec {}

const SIZE = 4;

function checkedOut(out: unknown, offset: number): Uint8Array {
  if (!(out instanceof Uint8Array)) throw new TypeError("bpf_spin_lock: output must be a Uint8Array");
  if (offset + SIZE > out.length) throw new RangeError(`bpf_spin_lock: needs ${SIZE} bytes at offset ${offset}, output has ${out.length}`);
  return out;
}

/**
 * `struct bpf_spin_lock { __u32 val; }` (4 bytes, 4-aligned), for a field of a map value made with
 * `struct()`: `struct({ lock: bpfSpinLock, packets: u64, bytes: u64 })`. The map must be created
 * with BTF (`MapSpec.btf: true`), which is how the kernel finds the lock, and be a HASH or ARRAY
 * (other types answer EOPNOTSUPP at the create); then `update(key, value, BPF_F_LOCK)` and
 * `lookup(key, BPF_F_LOCK)` copy the value under the lock.
 *
 * The lock's word is the kernel's, not the value's: an update never writes it (the kernel skips
 * it), a lookup reads it as 0. So the field is left out of decoded values and needs no input, as
 * `pad()` is: it is written as zeros, and `{ packets, bytes }` is the value above in JavaScript.
 */
export const bpfSpinLock: SpinLockCodec = Object.freeze({
  name: "bpf_spin_lock",
  size: SIZE,
  align: SIZE,
  isPadding: true as const,
  encode(_value: undefined, out: Uint8Array): void {
    checkedOut(out, 0).fill(0, 0, SIZE);
  },
  encodeAt(_value: undefined, out: Uint8Array, offset: number): void {
    checkedOut(out, offset).fill(0, offset, offset + SIZE);
  },
  decode(): undefined {
    return undefined;
  },
  decodeAt(): undefined {
    return undefined;
  },
  format(): string {
    return "";
  },
  btfType(builder: BtfBuilder): number {
    // The uapi's declaration: the kernel matches the name and the size, and bpftool prints `val`.
    return builder.struct("bpf_spin_lock", SIZE, [{ name: "val", type: btfTypeOfCodec(builder, u32), bitOffset: 0 }]);
  },
});
