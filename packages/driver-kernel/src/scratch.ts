// One stable native block that every bpf(2) call points into: the attr, then key, next-key and
// value regions sized for the largest map seen, then an auxiliary region for batches, paths,
// instructions and info structs. User buffers are copied in and out, so the kernel only ever
// reads or writes memory this driver owns and has sized for the call.
//
// The block is its own mapping with a PROT_NONE guard page after it. The sizes come from the
// driver's fd-shape table, which can be stale when an fd is closed behind the driver's back
// (fs.closeSync, another worker's driver) and its number reused by a bigger map. The kernel
// writes every output region upwards from its start, and every region lies below the guard: a
// write longer than the driver expected stays inside the block or faults on the guard (the call
// then fails with EFAULT). It never reaches memory that is not the driver's.
import type { Koffi, Libc } from "./native.js";

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
/*
 * The block starts on a page boundary (it is a mapping), so the attrs, key, next-key and value
 * regions of any map with key ≤ 64 and value ≤ 256 bytes share one 4 KiB page. Why it matters:
 * with PTI and no PCID (this VM) every syscall flushes the TLB, and each distinct page the call
 * touches costs a page walk on every call.
 */
const PROT_NONE = 0;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

const align8 = (n: number) => (n + 7) & ~7;

interface Mapping {
  readonly libc: Libc;
  /** Address and length of the whole mapping, guard included; 0 once unmapped. */
  addr: number;
  length: number;
}

function unmap(m: Mapping): void {
  if (m.addr !== 0) m.libc.munmap(m.addr, m.length);
  m.addr = 0;
}

/** Unmaps a block once its driver is garbage. */
const blocks = new FinalizationRegistry<Mapping>(unmap);

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
  private readonly held: Mapping;

  constructor(private readonly native: Libc) {
    this.koffi = native.koffi;
    this.page = native.getpagesize();
    this.held = { libc: native, addr: 0, length: 0 };
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
    const page = this.page;
    const size = Math.ceil((ATTR_BYTES + 2 * keyCap + valueCap + auxCap) / page) * page;
    const libc = this.native, koffi = this.koffi;
    const ptr = libc.mmap(null, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    // MAP_FAILED is (void *)-1, which a Number cannot tell from 2^64: compare as a bigint.
    const raw = ptr === null ? 0n : koffi.address(ptr);
    const addr = Number(raw);
    if (raw === 0n || raw === MAP_FAILED || addr % page !== 0) {
      throw new Error(`@bpfkit/driver-kernel: cannot map ${size + page} bytes of scratch (errno ${koffi.errno()})`);
    }
    if (libc.mprotect(addr + size, page, PROT_NONE) !== 0) {
      const errno = koffi.errno();
      libc.munmap(addr, size + page);
      throw new Error(`@bpfkit/driver-kernel: cannot protect the scratch guard page (errno ${errno})`);
    }
    const buf = koffi.view(ptr, size);
    // The old views go before the old block does: nothing may read through them afterwards.
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
    unmap(this.held);
    this.held.addr = addr;
    this.held.length = size + page;
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
  protected putCString(s: string, at: number): number {
    const need = Buffer.byteLength(s) + 1;
    this.ensure(0, 0, at + need);
    const n = Buffer.from(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength).write(s, this.auxOff + at, "utf8");
    this.u8[this.auxOff + at + n] = 0;
    return n + 1;
  }
}
