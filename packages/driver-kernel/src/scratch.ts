// One stable native block that every bpf(2) call points into: the attr, then key, next-key and
// value regions sized for the largest map seen, then an auxiliary region for batches, paths,
// instructions and info structs. User buffers are copied in and out, so the kernel only ever
// reads or writes memory this driver owns and has sized for the call.
//
// The block is followed by a PROT_NONE guard page. The sizes come from the driver's fd-shape
// table, which can be stale when an fd is closed behind the driver's back (fs.closeSync,
// another worker's driver) and its number reused by a bigger map. The kernel writes every
// output region upwards from its start, and every region lies below the guard: a write longer
// than the driver expected stays inside the block or faults on the guard (the call then fails
// with EFAULT). It never reaches memory that is not the driver's.
import type { Koffi, Libc } from "./native.js";

/** Bytes reserved for the attrs (`union bpf_attr` is 168 on 6.18; bpfkit's largest is PROG_LOAD's 108). */
export const ATTR_BYTES = 256;
/**
 * Two pre-filled 32-byte element attrs at the end of the attr region: key → key region and
 * value → value region (lookup, update, lookup-and-delete), and key → key region and value →
 * next-key region (get-next-key). Their pointers are written once per block, so the hot path
 * writes only the fd and the flags and reads no pointer fields. The general attr at 0 never
 * reaches them: every attr(size) is ≤ 108 bytes (PROG_LOAD through line_info_cnt).
 */
export const KV_ATTR = 192;
export const KN_ATTR = 224;
/*
 * The block starts on a page boundary, so the attrs, key, next-key and value regions of any map
 * with key ≤ 64 and value ≤ 256 bytes share one 4 KiB page. Why it matters: with PTI and no
 * PCID (this VM) every syscall flushes the TLB, and each distinct page the call touches costs
 * a page walk on every call. It is malloc'd (koffi.alloc), not mmap'd: near the rest of the
 * process's data those walks measured ~50 ns a syscall cheaper (A/B, 2026-11-27).
 */
const PROT_NONE = 0;
const PROT_READ = 1;
const PROT_WRITE = 2;

/**
 * Aux room a block keeps between calls. A batch or a program load that needed more gives the
 * rest back as it ends, so that one large call does not hold its size for the life of the
 * process; calls this size or smaller reallocate nothing.
 */
export const AUX_KEEP = 1 << 20;

/** Arithmetic, not `& ~7`: a batch of 2 GiB or more would turn negative in 32-bit bitwise ops. */
const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** A malloc'd block and the guard page inside it. */
interface Block {
  readonly libc: Libc;
  block: unknown;
  guard: number;
  page: number;
}

/**
 * Gives the guard page back its access before free: malloc must never hand out a page it cannot
 * touch. Should that fail, the block is leaked rather than freed.
 */
function release(b: Block): void {
  if (b.block === null) return;
  if (b.libc.mprotect(b.guard, b.page, PROT_READ | PROT_WRITE) === 0) b.libc.koffi.free(b.block);
  b.block = null;
}

/** Frees a block once its driver is garbage. */
const blocks = new FinalizationRegistry<Block>(release);

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
  private readonly koffi: Koffi;
  private readonly page: number;
  private readonly held: Block;

  constructor(private readonly native: Libc) {
    this.koffi = native.koffi;
    this.page = native.getpagesize();
    this.held = { libc: native, block: null, guard: 0, page: this.page };
    this.allocate(64, 256, 4096);
    blocks.register(this, this.held);
  }

  /**
   * Makes the regions at least this large; replaces the block when one is too small. `op`, the
   * command the room is for, names it in the RangeError of a call too big to stage.
   */
  protected ensure(keyBytes: number, valueBytes: number, auxBytes = 0, op?: string): void {
    if (keyBytes <= this.keyCap && valueBytes <= this.valueCap && auxBytes <= this.auxCap) return;
    const keyCap = Math.max(this.keyCap, align8(keyBytes));
    const valueCap = Math.max(this.valueCap, align8(valueBytes));
    let auxCap = this.auxCap;
    if (auxBytes > auxCap) {
      // Doubled, so that a run of growing calls reallocates rarely; but never past what one
      // block can hold when the call itself fits.
      auxCap = Math.max(align8(auxBytes), this.auxCap * 2);
      if (!this.fits(keyCap, valueCap, auxCap)) auxCap = align8(auxBytes);
    }
    this.allocate(keyCap, valueCap, auxCap, op);
  }

  /**
   * Gives back aux room past AUX_KEEP. Only once the call has read every result out of the
   * block: its views of the old block are dead afterwards.
   */
  protected trimAux(): void {
    if (this.auxCap <= AUX_KEEP) return;
    try {
      this.allocate(this.keyCap, this.valueCap, AUX_KEEP);
    } catch {
      // No memory even for the smaller block: the call itself succeeded, so keep the large one.
    }
  }

  /** Bytes of a block with these regions, whole pages. */
  private blockSize(keyCap: number, valueCap: number, auxCap: number): number {
    return Math.ceil((ATTR_BYTES + 2 * keyCap + valueCap + auxCap) / this.page) * this.page;
  }

  /** koffi.alloc takes at most 2^31 - 1 bytes: the block, a page of slack and the guard page. */
  private fits(keyCap: number, valueCap: number, auxCap: number): boolean {
    return this.blockSize(keyCap, valueCap, auxCap) + 2 * this.page <= 0x7fff_ffff;
  }

  private allocate(keyCap: number, valueCap: number, auxCap: number, op = "@bpfkit/driver-kernel"): void {
    const page = this.page;
    const size = this.blockSize(keyCap, valueCap, auxCap);
    // A call that needs more than one block can hold is refused before any syscall, and the
    // current block stays as it is.
    if (!this.fits(keyCap, valueCap, auxCap)) {
      throw new RangeError(`${op}: this call needs ${size} bytes of scratch, more than the 2 GiB one call can stage`);
    }
    const libc = this.native, koffi = this.koffi;
    // A page of slack to start on a boundary, then the regions, then the guard page.
    const block = koffi.alloc("uint8_t", size + 2 * page);
    const start = Number(koffi.address(block));
    const skew = (page - (start % page)) % page;
    const addr = start + skew;
    if (libc.mprotect(addr + size, page, PROT_NONE) !== 0) {
      const errno = koffi.errno();
      koffi.free(block);
      throw new Error(`@bpfkit/driver-kernel: cannot protect the scratch block's guard page (errno ${errno})`);
    }
    const buf = koffi.view(block, skew + size);
    // The old views go before the old block does: nothing may read through them afterwards.
    this.u8 = new Uint8Array(buf, skew, size);
    this.dv = new DataView(buf, skew, size);
    release(this.held);
    this.held.block = block;
    this.held.guard = addr + size;
    this.base = addr;
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
  protected putCString(s: string, at: number, op?: string): number {
    const need = Buffer.byteLength(s) + 1;
    this.ensure(0, 0, at + need, op);
    const n = Buffer.from(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength).write(s, this.auxOff + at, "utf8");
    this.u8[this.auxOff + at + n] = 0;
    return n + 1;
  }
}
