// The simulator's BTF log keeps only what the caller's buffer can take. The kernel's rule it must
// keep (bpf_vlog_finalize, checked against 6.18 by conformance §btf-check.5 and .12): a buffer of
// n bytes gets the whole log and a NUL when it fits in n - 1, else its first n - 1 bytes
// (BPF_LOG_FIXED) or its last n - 1 (the rotating log) and a NUL, and the load answers ENOSPC.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Errno } from "@bpfkit/core";
import { BtfLog } from "../src/btf/btf-log.js";

const BPF_LOG_FIXED = 8;

describe("BtfLog", () => {
  it("property: for any writes and buffer size, the buffer holds the log's start (fixed) or end (rotating), NUL-terminated, and ENOSPC exactly when the log and its NUL do not fit", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        (writes, size, fixed) => {
          const buf = new Uint8Array(size).fill(0xee);
          const log = new BtfLog(fixed ? 1 | BPF_LOG_FIXED : 1, buf);
          for (const w of writes) log.write(w);
          const whole = writes.join("");
          const fits = whole.length <= size - 1;
          const kept = fits ? whole : fixed ? whole.slice(0, size - 1) : whole.slice(whole.length - (size - 1));
          expect(log.finalize()).toBe(fits ? 0 : Errno.ENOSPC);
          expect(new TextDecoder().decode(buf.subarray(0, kept.length))).toBe(kept);
          expect(buf[kept.length]).toBe(0);
          // Nothing past the NUL is written.
          expect([...buf.subarray(kept.length + 1)].every((b) => b === 0xee)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a level without a buffer loses the log and is never ENOSPC; level 0 writes nothing", () => {
    const lost = new BtfLog(1, null);
    lost.write("x".repeat(1000));
    expect(lost.finalize()).toBe(0);
    const buf = new Uint8Array(4).fill(0xee);
    const off = new BtfLog(0, buf);
    off.write("abcdef");
    expect(off.finalize()).toBe(0);
    expect([...buf]).toEqual([0xee, 0xee, 0xee, 0xee]);
  });

  it("a million lines keep only the buffer's worth: the rotating log's last bytes cross many writes", () => {
    const buf = new Uint8Array(100);
    const log = new BtfLog(1, buf);
    for (let i = 1; i <= 1_000_000; i++) log.write(`[${i}] PTR (anon) type_id=0\n`);
    expect(log.finalize()).toBe(Errno.ENOSPC);
    const text = new TextDecoder().decode(buf.subarray(0, 99));
    expect(text).toBe(Array.from({ length: 5 }, (_, k) => `[${999_996 + k}] PTR (anon) type_id=0\n`).join("").slice(-99));
    expect(buf[99]).toBe(0);
  });
});
