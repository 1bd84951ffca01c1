// One stable native block that every bpf(2) call points into: the attr, then key, next-key and
// value regions sized for the largest map seen, then an auxiliary region for batches, paths,
// instructions and info structs. User buffers are copied in and out, so the kernel only ever
// reads or writes memory this driver owns and has sized for the call.
import type { Koffi } from "./native.js";

/** Bytes reserved for the attrs (`union bpf_attr` is 168 on 6.18; bpfkit's largest is 92). */
export const ATTR_BYTES = 256;
/**
 * Two pre-filled 32-byte element attrs at the end of the attr region: key → key region and
 * value → value region (lookup, update, lookup-and-delete), and key → key region and value →
 * next-key region (get-next-key). Their pointers are written once per block, so the hot path
 * writes only the fd and the flags and reads no pointer fields. The general attr at 0 never
 * reaches them: every attr(size) is ≤ 92 bytes.
 */
export const KV_ATTR = 192;
export const KN_ATTR = 224;
/**
 * The block starts on a page boundary, so the attrs, key, next-key and value regions of any map
 * with key ≤ 64 and value ≤ 256 bytes share one 4 KiB page. Why it matters: with PTI and no
 * PCID (this VM) every syscall flushes the TLB, and each distinct page the call touches costs
 * a page walk on every call.
 */
const PAGE = 4096;

const align8 = (n: number) => (n + 7) & ~7;

/** koffi.alloc memory is malloc'd: free a block once its driver is garbage. */
const blocks = new FinalizationRegistry<{ koffi: Koffi; block: unknown }>((held) => held.koffi.free(held.block));

/** The block and its regions; the kernel driver extends it, so they are its own fields. */
export class Scratch {
  protected u8!: Uint8Array;
  protected dv!: DataView;
  /** Address of the block (and of the attr), as a plain number. */
  protected base = 0;
  /** base + KV_ATTR and base + KN_ATTR. */
  protected kvAttr = 0;
  protected knAttr = 0;

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
    // koffi.alloc is malloc (16-byte aligned): over-allocate a page and start on its boundary.
    const block = this.koffi.alloc("uint8_t", size + PAGE);
    const raw = Number(this.koffi.address(block));
    const skew = (PAGE - (raw % PAGE)) % PAGE;
    const buf = this.koffi.view(block, size + skew);
    if (this.held.block !== null) this.koffi.free(this.held.block);
    this.held.block = block;
    this.u8 = new Uint8Array(buf, skew, size);
    this.dv = new DataView(buf, skew, size);
    this.base = raw + skew;
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
    this.kvAttr = this.base + KV_ATTR;
    this.knAttr = this.base + KN_ATTR;
    this.u8.fill(0, KV_ATTR, ATTR_BYTES);
    this.setPtr(KV_ATTR + 8, this.keyOff);
    this.setPtr(KV_ATTR + 16, this.valueOff);
    this.setPtr(KN_ATTR + 8, this.keyOff);
    this.setPtr(KN_ATTR + 16, this.nextOff);
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
    const n = Buffer.from(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength).write(s, this.auxOff + at, "utf8");
    this.u8[this.auxOff + at + n] = 0;
    return n + 1;
  }
}
