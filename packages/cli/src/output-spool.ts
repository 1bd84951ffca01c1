// Holds a document until it is complete, so a command that fails part-way writes nothing: a
// script reading `map dump --json` gets one whole JSON document or an empty stdout. Small output
// stays in memory; past `memoryLimit` characters it moves to a temporary file that is unlinked as
// soon as it is opened, so a million-entry dump costs disk, not heap, and a killed process
// leaves nothing behind.
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";

/** 8 Mi characters: a few hundred thousand typical entries before the spool touches the disk. */
export const SPOOL_MEMORY_LIMIT = 8 << 20;
const READ_CHUNK = 1 << 20;

export class OutputSpool {
  private chunks: string[] = [];
  private held = 0;
  private fd: number | undefined;

  constructor(private readonly memoryLimit = SPOOL_MEMORY_LIMIT, private readonly dir = tmpdir()) {}

  /** Whether the output has moved to the temporary file. */
  get spilled(): boolean {
    return this.fd !== undefined;
  }

  write(text: string): void {
    if (this.fd !== undefined) {
      writeSync(this.fd, text);
      return;
    }
    this.chunks.push(text);
    this.held += text.length;
    if (this.held > this.memoryLimit) this.spill();
  }

  /** Hands everything written to `out`, in pieces of about 1 MiB, and releases the spool. */
  commit(out: (text: string) => void): void {
    try {
      if (this.fd === undefined) {
        if (this.chunks.length > 0) out(this.chunks.join(""));
        return;
      }
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const utf8 = new StringDecoder("utf8");
      for (let pos = 0; ;) {
        const n = readSync(this.fd, buf, 0, READ_CHUNK, pos);
        if (n === 0) break;
        pos += n;
        const text = utf8.write(buf.subarray(0, n));
        if (text.length > 0) out(text);
      }
      const rest = utf8.end();
      if (rest.length > 0) out(rest);
    } finally {
      this.discard();
    }
  }

  /** Drops what was written (the command failed). */
  discard(): void {
    this.chunks = [];
    this.held = 0;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private spill(): void {
    const path = join(this.dir, `bpfkit-spool-${process.pid}-${randomBytes(6).toString("hex")}`);
    const fd = openSync(path, "wx+", 0o600);
    unlinkSync(path);
    this.fd = fd;
    writeSync(fd, this.chunks.join(""));
    this.chunks = [];
    this.held = 0;
  }
}
