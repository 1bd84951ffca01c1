// Driver.mmapAtomic on an mmapable ARRAY's mapping: Atomics' operations on a u32 or u64 word,
// answering the value before, as a program's BPF_ATOMIC fetch forms do (kernel/bpf/core.c's
// interpreter, the JITs' lock-prefixed instructions) on the same memory. What a lookup sees after
// each is the rule: the word is the map's value. The answers are arithmetic, the same on every
// page size; the errnos are the driver's own (the mmap group's, EBADF and EACCES).
import type { Driver } from "@bpfkit/core";
import { CaseSkipped, expectEqual, expectResult, expectThrows } from "../assert.js";
import { readU64, u32, type CaseContext } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { ARRAY, Checks, F } from "./common.js";

type Atomic = Required<Pick<Driver, "mmapAtomic">>["mmapAtomic"];

/** The driver's mmapAtomic, or the case skipped where it has none. */
function atomicOf(ctx: CaseContext): Atomic {
  const d = ctx.driver;
  if (typeof d.mmapAtomic !== "function") {
    throw new CaseSkipped(`${d.kind} has no mmapAtomic (optional: a driver without it cannot change mapped memory atomically)`);
  }
  return d.mmapAtomic.bind(d);
}

/** An mmapable ARRAY of 4 u64 values (u32 keys), mapped writable whole. */
function mapped(ctx: CaseContext, flags = 0, writable = true): { fd: number; h: number } {
  const fd = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: F.MMAPABLE | flags }, "BPF_F_MMAPABLE array");
  const h = ctx.mmap(fd, 32, writable);
  expectResult(h, "OK", `mmap of the values, ${writable ? "writable" : "read-only"}`);
  return { fd, h };
}

/** Value `i` by lookup, as a u64. */
const lookup = (ctx: CaseContext, fd: number, i: number) => readU64(ctx.get(fd, u32(i), 8));

export const mmapAtomicCases: ConformanceCase[] = [
  {
    name: "mmapAtomic: each op answers the word's value before it, and a lookup sees the word after it (u64, wrapping)",
    group: "mmap",
    run(ctx) {
      const atomic = atomicOf(ctx);
      const { fd, h } = mapped(ctx);
      const c = new Checks("u64 atomics on value 1");
      const steps: Array<[string, () => bigint | number, bigint, bigint]> = [
        ["load of 0", () => atomic(h, 8, 8, "load"), 0n, 0n],
        ["add 5", () => atomic(h, 8, 8, "add", 5n), 0n, 5n],
        ["sub 7 (wraps below 0)", () => atomic(h, 8, 8, "sub", 7n), 5n, 0xffff_ffff_ffff_fffen],
        ["add 3 (wraps past 2^64)", () => atomic(h, 8, 8, "add", 3n), 0xffff_ffff_ffff_fffen, 1n],
        ["or 0xf0", () => atomic(h, 8, 8, "or", 0xf0n), 1n, 0xf1n],
        ["and 0x3c", () => atomic(h, 8, 8, "and", 0x3cn), 0xf1n, 0x30n],
        ["xor 0xff", () => atomic(h, 8, 8, "xor", 0xffn), 0x30n, 0xcfn],
        ["exchange for 2^63", () => atomic(h, 8, 8, "exchange", 1n << 63n), 0xcfn, 1n << 63n],
        ["compareExchange that does not match", () => atomic(h, 8, 8, "compareExchange", 9n, 1n), 1n << 63n, 1n << 63n],
        ["compareExchange that matches", () => atomic(h, 8, 8, "compareExchange", 9n, 1n << 63n), 1n << 63n, 9n],
      ];
      for (const [what, run, before, after] of steps) {
        c.step(() => expectEqual(run(), before, `${what}: the value before`));
        c.step(() => expectEqual(lookup(ctx, fd, 1), after, `${what}: value 1 by lookup after it`));
      }
      c.step(() => expectEqual(lookup(ctx, fd, 0), 0n, "value 0, beside it, untouched"));
      c.step(() => expectEqual(lookup(ctx, fd, 2), 0n, "value 2, beside it, untouched"));
      c.done();
    },
  },
  {
    name: "mmapAtomic: a u32 word is 4 bytes of the value, the other half untouched; its operands and answers fit 32 bits",
    group: "mmap",
    run(ctx) {
      const atomic = atomicOf(ctx);
      const { fd, h } = mapped(ctx);
      ctx.put(fd, u32(2), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44));
      const c = new Checks("u32 atomics on the low half of value 2");
      c.step(() => expectEqual(atomic(h, 16, 4, "add", 2n), 0xffff_ffffn, "add 2 to 0xffffffff: the value before"));
      c.step(() => expectEqual(lookup(ctx, fd, 2), 0x4433_2211_0000_0001n, "value 2 after: the low u32 wrapped to 1, the high u32 as it was"));
      c.step(() => expectEqual(atomic(h, 20, 4, "exchange", 7n), 0x4433_2211n, "exchange of the high u32: the value before"));
      c.step(() => expectEqual(lookup(ctx, fd, 2), 0x0000_0007_0000_0001n, "value 2 after both"));
      c.step(() => expectThrows(() => atomic(h, 16, 4, "add", 1n << 32n), RangeError, "a u32 operand of 2^32"));
      c.step(() => expectEqual(lookup(ctx, fd, 2), 0x0000_0007_0000_0001n, "value 2 after the refused add"));
      c.done();
    },
  },
  {
    name: "mmapAtomic: a read-only mapping answers load and refuses the rest with EACCES, writing nothing; an unmapped handle is EBADF",
    group: "mmap",
    run(ctx) {
      const atomic = atomicOf(ctx);
      const { fd, h } = mapped(ctx, 0, false);
      ctx.put(fd, u32(0), Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0));
      const c = new Checks("atomics through a read-only mapping");
      c.step(() => expectEqual(atomic(h, 0, 8, "load"), 3n, "load through it"));
      for (const op of ["add", "sub", "and", "or", "xor", "exchange"] as const) c.result(atomic(h, 0, 8, op, 1n) as number, "EACCES", op);
      c.result(atomic(h, 0, 8, "compareExchange", 1n, 3n) as number, "EACCES", "compareExchange that would match");
      c.step(() => expectEqual(lookup(ctx, fd, 0), 3n, "value 0 after the refusals"));
      const w = mapped(ctx);
      ctx.munmap(w.h);
      c.result(atomic(w.h, 0, 8, "load") as number, "EBADF", "load through the unmapped handle");
      c.result(atomic(w.h, 0, 8, "add", 1n) as number, "EBADF", "add through the unmapped handle");
      c.done();
    },
  },
  {
    name: "mmapAtomic: argument checks before any memory is touched (an offset off the word's size or past the mapping, an unknown op, operands)",
    group: "mmap",
    run(ctx) {
      const atomic = atomicOf(ctx);
      const { fd, h } = mapped(ctx);
      ctx.put(fd, u32(3), Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
      const c = new Checks("refused atomics");
      const refused: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
        ["a u64 at offset 4", () => atomic(h, 4, 8, "add", 1n), RangeError],
        ["a u32 at offset 2", () => atomic(h, 2, 4, "add", 1n), RangeError],
        ["a u64 past the mapping's 32 bytes", () => atomic(h, 32, 8, "add", 1n), RangeError],
        ["a negative offset", () => atomic(h, -8, 8, "load"), RangeError],
        ["size 2", () => atomic(h, 0, 2 as never, "load"), RangeError],
        ["op \"store\"", () => atomic(h, 24, 8, "store" as never, 1n), TypeError],
        ["a number operand", () => atomic(h, 24, 8, "add", 1 as never), TypeError],
        ["a negative operand", () => atomic(h, 24, 8, "add", -1n), RangeError],
        ["an operand of 2^64", () => atomic(h, 24, 8, "exchange", 1n << 64n), RangeError],
        ["compareExchange without expected", () => atomic(h, 24, 8, "compareExchange", 5n), TypeError],
        ["add without an operand", () => atomic(h, 24, 8, "add"), TypeError],
      ];
      for (const [what, run, cls] of refused) c.step(() => expectThrows(run, cls, what));
      c.step(() => expectEqual(lookup(ctx, fd, 3), 1n, "value 3 after every refusal"));
      c.done();
    },
  },
];
