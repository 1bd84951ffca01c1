// The BTF checker's log (kernel/bpf/log.c as BPF_BTF_LOAD uses it): a level of 0 writes nothing,
// any other level writes everything the checker says. The text is kept whole; what the caller's
// buffer gets, and whether the load answers ENOSPC, is decided at the end (bpf_vlog_finalize):
// a buffer shorter than the whole log and its NUL is ENOSPC, whatever the load's own result.
import { Errno } from "@bpfkit/core";

/** BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED: any other bit of the level is EINVAL. */
export const BPF_LOG_MASK = 15;
/** BPF_LOG_FIXED: the buffer keeps the log's start; without it, its end (the rotating log). */
const BPF_LOG_FIXED = 8;
/** UINT_MAX >> 2: the largest log buffer bpf_verifier_log_attr_valid takes. */
const LOG_SIZE_MAX = 0x3fffffff;

export class BtfLog {
  private readonly parts: string[] = [];

  constructor(readonly level: number, private readonly buf: Uint8Array | null) {}

  /** bpf_verifier_log_attr_valid: 0, or EINVAL. */
  static attrErrno(level: number, buf: Uint8Array | null): number {
    const size = buf === null ? 0 : buf.length;
    // A zero-length buffer is the kernel's "pointer without a size": both or neither.
    if (buf !== null && size === 0) return Errno.EINVAL;
    if (buf !== null && level === 0) return Errno.EINVAL;
    if ((level & ~BPF_LOG_MASK) !== 0) return Errno.EINVAL;
    if (size > LOG_SIZE_MAX) return Errno.EINVAL;
    return 0;
  }

  get enabled(): boolean {
    return this.level !== 0;
  }

  write(text: string): void {
    if (this.level !== 0) this.parts.push(text);
  }

  text(): string {
    return this.parts.join("");
  }

  /**
   * bpf_vlog_finalize: copies what fits into the buffer, NUL-terminated, and answers ENOSPC when
   * the whole log and its NUL did not fit (only with a buffer: a level alone loses the log).
   */
  finalize(): number {
    if (this.level === 0 || this.buf === null) return 0;
    // One byte per char: names are copied from the BTF as bytes (latin1 strings here).
    const text = this.text();
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    const room = this.buf.length - 1;
    if (bytes.length <= room) {
      this.buf.set(bytes);
      this.buf[bytes.length] = 0;
      return 0;
    }
    // The fixed log keeps its start; the rotating one its end.
    const kept = (this.level & BPF_LOG_FIXED) !== 0 ? bytes.subarray(0, room) : bytes.subarray(bytes.length - room);
    this.buf.set(kept);
    this.buf[room] = 0;
    return Errno.ENOSPC;
  }
}
