// The BTF checker's log (kernel/bpf/log.c as BPF_BTF_LOAD uses it): a level of 0 writes nothing,
// any other level writes everything the checker says. What the caller's buffer gets, and whether
// the load answers ENOSPC, is decided at the end (bpf_vlog_finalize): a buffer shorter than the
// whole log and its NUL is ENOSPC, whatever the load's own result. Only what the buffer can take
// is kept (its start, or its end for the rotating log) and the rest counted: a blob of a million
// types logs tens of megabytes.
import { Errno } from "@bpfkit/core";

/** BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED: any other bit of the level is EINVAL. */
export const BPF_LOG_MASK = 15;
/** BPF_LOG_FIXED: the buffer keeps the log's start; without it, its end (the rotating log). */
const BPF_LOG_FIXED = 8;
/** UINT_MAX >> 2: the largest log buffer bpf_verifier_log_attr_valid takes. */
const LOG_SIZE_MAX = 0x3fffffff;

export class BtfLog {
  /** The kept text: the log's start (BPF_LOG_FIXED) or its end, in parts from `first` on. */
  private readonly parts: string[] = [];
  private first = 0;
  private keptLength = 0;
  /** The whole log's length in bytes (one per char: names are latin1 strings here). */
  private length = 0;
  private wrote = false;
  private readonly room: number;
  private readonly fixed: boolean;

  constructor(readonly level: number, private readonly buf: Uint8Array | null) {
    this.room = buf === null ? 0 : Math.max(buf.length - 1, 0);
    this.fixed = (level & BPF_LOG_FIXED) !== 0;
  }

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
    if (this.level === 0) return;
    this.length += text.length;
    this.wrote = true;
    if (this.fixed) {
      if (this.keptLength < this.room) {
        this.parts.push(text);
        this.keptLength += text.length;
      }
      return;
    }
    this.parts.push(text);
    this.keptLength += text.length;
    // Drop whole parts from the front while the rest still fills the buffer.
    while (this.keptLength - this.parts[this.first]!.length >= this.room && this.first < this.parts.length - 1) {
      this.keptLength -= this.parts[this.first]!.length;
      this.first++;
    }
    if (this.first > 1024 && this.first * 2 > this.parts.length) {
      this.parts.splice(0, this.first);
      this.first = 0;
    }
  }

  /**
   * `btf_log_true_size` (bpf_vlog_finalize's len_max): the whole log and its NUL, counted with a
   * buffer or without, capped at UINT_MAX; 0 at level 0 or when nothing was logged.
   */
  get trueSize(): number {
    return this.level === 0 || !this.wrote ? 0 : Math.min(this.length + 1, 0xffff_ffff);
  }

  /**
   * bpf_vlog_finalize: copies what fits into the buffer, NUL-terminated, and answers ENOSPC when
   * the whole log and its NUL did not fit (only with a buffer: a level alone loses the log).
   */
  finalize(): number {
    if (this.level === 0 || this.buf === null) return 0;
    const text = this.parts.slice(this.first).join("");
    // The kept text holds the whole log, or at least `room` bytes of its start or end.
    const kept = this.length <= this.room ? text : this.fixed ? text.slice(0, this.room) : text.slice(text.length - this.room);
    for (let i = 0; i < kept.length; i++) this.buf[i] = kept.charCodeAt(i) & 0xff;
    this.buf[kept.length] = 0;
    return this.length <= this.room ? 0 : Errno.ENOSPC;
  }
}
