// One stable native block that every bpf(2) call points into: the attr, then key, next-key and
// value regions sized for the largest map seen, then an auxiliary region for batches, paths,
// instructions and info structs. User buffers are copied in and out, so the kernel only ever
// reads or writes memory this driver owns and has sized for the call.
import type { Koffi } from "./native.js";

/** Bytes reserved for the attr (`union bpf_attr` is 168 on 6.18). */
export const ATTR_BYTES = 256;

const align8 = (n: number) => (n + 7) & ~7;

/** koffi.alloc memory is malloc'd: free a block once its driver is garbage. */
const blocks = new FinalizationRegistry<{ koffi: Koffi; block: unknown }>((held) => held.koffi.free(held.block));

/** The block and its regions; the kernel driver extends it, so they are its own fields. */
export class Scratch {
  protected u8!: Uint8Array;
  protected dv!: DataView;
  /** Address of the block (and of the attr), as a plain number. */
  protected base = 0;
  protected keyOff = 0;
  protected nextOff = 0;
  protected valueOff = 0;
  protected auxOff = 0;
  /** The key, next-key and value addresses as the two u32 halves the attr holds. */
  protected keyLo = 0;
  protected keyHi = 0;
  protected nextLo = 0;
  protected nextHi = 0;
  protected valueLo = 0;
  protected valueHi = 0;
  protected keyCap = 0;
  protected valueCap = 0;
  private auxCap = 0;
  private readonly held: { koffi: Koffi; block: unknown };

  constructor(private readonly koffi: Koffi) {
    this.held = { koffi, block: null };
    this.allocate(64, 256, 4096);
    blocks.register(this, this.held);
  }

  /** Makes the regions at least this large; replaces the block when one is too small. */
  protected ensure(keyBytes: number, valueBytes: number, auxBytes = 0): void {
    if (keyBytes <= this.keyCap && valueBytes <= this.valueCap && auxBytes <= this.auxCap) return;
    this.allocate(
      Math.max(this.keyCap, align8(keyBytes)),
      Math.max(this.valueCap, align8(valueBytes)),
      auxBytes <= this.auxCap ? this.auxCap : Math.max(align8(auxBytes), this.auxCap * 2),
    );
  }

  private allocate(keyCap: number, valueCap: number, auxCap: number): void {
    const size = ATTR_BYTES + 2 * keyCap + valueCap + auxCap;
    const block = this.koffi.alloc("uint8_t", size);
    const buf = this.koffi.view(block, size);
    if (this.held.block !== null) this.koffi.free(this.held.block);
    this.held.block = block;
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
    this.base = Number(this.koffi.address(block));
    this.keyCap = keyCap;
    this.valueCap = valueCap;
    this.auxCap = auxCap;
    this.keyOff = ATTR_BYTES;
    this.nextOff = this.keyOff + keyCap;
    this.valueOff = this.nextOff + keyCap;
    this.auxOff = this.valueOff + valueCap;
    const half = (off: number, hi: boolean) => (hi ? Math.floor((this.base + off) / 0x1_0000_0000) : (this.base + off) >>> 0);
    this.keyLo = half(this.keyOff, false);
    this.keyHi = half(this.keyOff, true);
    this.nextLo = half(this.nextOff, false);
    this.nextHi = half(this.nextOff, true);
    this.valueLo = half(this.valueOff, false);
    this.valueHi = half(this.valueOff, true);
  }

  /** Writes a pointer to `base + off` (0 for NULL) at attr offset `at`. */
  protected setPtr(at: number, off: number): void {
    const addr = off < 0 ? 0 : this.base + off;
    this.dv.setUint32(at, addr >>> 0, true);
    this.dv.setUint32(at + 4, Math.floor(addr / 0x1_0000_0000), true);
  }

  protected setU64(at: number, v: number): void {
    this.dv.setUint32(at, v >>> 0, true);
    this.dv.setUint32(at + 4, Math.floor(v / 0x1_0000_0000), true);
  }

  /** Writes `s` as UTF-8 plus a NUL at aux offset `at`; returns the bytes used. */
  protected putCString(s: string, at: number): number {
    const need = Buffer.byteLength(s) + 1;
    this.ensure(0, 0, at + need);
    const n = Buffer.from(this.u8.buffer, this.u8.byteOffset).write(s, this.auxOff + at, "utf8");
    this.u8[this.auxOff + at + n] = 0;
    return n + 1;
  }
}
