// One u32 or u64 of an mmapable array's values that programs change with atomic instructions
// (`__sync_fetch_and_add`, a BPF_ATOMIC xchg or cmpxchg): cilium/ebpf's VariablePointer used with
// sync/atomic. A plain read and write would lose what a program adds in between; each method here
// is one atomic instruction on the word, through the driver's mmapAtomic.
import type { MmapAtomicOp } from "./driver.js";
import { describeValue } from "./describe-value.js";

/** How a MappedWord reaches its memory: one checked mmapAtomic, `op` naming the method for errors. */
export type WordAtomic = (op: string, atomicOp: MmapAtomicOp, operand?: bigint, expected?: bigint) => bigint;

/**
 * A naturally aligned u32 or u64 of mapped values (from `MapMemory.word` or `wordAt`). Each method
 * is one atomic operation and answers the word's value before it, as a bigint (a u32's too).
 * Operands are bigints or safe integers that fit the word; `add` and `sub` wrap. A signed word
 * (an i32 or i64 field or value) answers signed values and also takes negative operands: its
 * bits are the same, as a program's `__sync_fetch_and_add` on an `__s64` adds the same bits.
 * There is no `store`: `exchange(v)` is it, answering the value it replaced.
 */
export class MappedWord {
  /** Bytes from the start of the values. */
  readonly offset: number;
  /** 4 (a u32) or 8 (a u64). */
  readonly size: 4 | 8;
  /** Whether answers are signed (an i32 or i64): `load()` of all ones is -1n, not 2^64 − 1. */
  readonly signed: boolean;
  readonly #apply: WordAtomic;
  readonly #where: string;

  /** Made by MapMemory; `where` names the map and the word for errors. */
  constructor(offset: number, size: 4 | 8, apply: WordAtomic, where: string, signed = false) {
    this.offset = offset;
    this.size = size;
    this.signed = signed;
    this.#apply = apply;
    this.#where = where;
  }

  /** The word's value. */
  load(): bigint {
    return this.#answer(this.#apply("load", "load"));
  }

  /** Adds `v` (wrapping); the value before. A program's `__sync_fetch_and_add` from user space. */
  add(v: bigint | number): bigint {
    return this.#answer(this.#apply("add", "add", this.#operand("add", v)));
  }

  /** Subtracts `v` (wrapping); the value before. */
  sub(v: bigint | number): bigint {
    return this.#answer(this.#apply("sub", "sub", this.#operand("sub", v)));
  }

  /** Bitwise AND with `v`; the value before. */
  and(v: bigint | number): bigint {
    return this.#answer(this.#apply("and", "and", this.#operand("and", v)));
  }

  /** Bitwise OR with `v`; the value before. */
  or(v: bigint | number): bigint {
    return this.#answer(this.#apply("or", "or", this.#operand("or", v)));
  }

  /** Bitwise XOR with `v`; the value before. */
  xor(v: bigint | number): bigint {
    return this.#answer(this.#apply("xor", "xor", this.#operand("xor", v)));
  }

  /**
   * Writes `v` and answers the value before: `exchange(0)` reads a counter and resets it with
   * nothing a program adds in between lost.
   */
  exchange(v: bigint | number): bigint {
    return this.#answer(this.#apply("exchange", "exchange", this.#operand("exchange", v)));
  }

  /** Writes `replacement` only if the word is `expected`; the value before (equal to `expected` when it wrote). */
  compareExchange(expected: bigint | number, replacement: bigint | number): bigint {
    const e = this.#operand("compareExchange", expected, "expected");
    return this.#answer(this.#apply("compareExchange", "compareExchange", this.#operand("compareExchange", replacement), e));
  }

  /** The driver's unsigned answer as this word's value: signed for an i32 or i64. */
  #answer(r: bigint): bigint {
    return this.signed ? BigInt.asIntN(8 * this.size, r) : r;
  }

  /** `v` as the word's unsigned bits for the driver: a signed word's negative operand is its two's complement. */
  #operand(op: string, v: unknown, what = "operand"): bigint {
    const bits = 8 * this.size;
    let b: bigint;
    if (typeof v === "bigint") b = v;
    else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
    else throw new TypeError(`${op} ${this.#where}: ${what} must be a bigint or a safe integer, got ${describeValue(v)}`);
    const min = this.signed ? -(1n << BigInt(bits - 1)) : 0n;
    if (b < min || b >= 1n << BigInt(bits)) {
      const hint = b < 0n && !this.signed && (op === "add" || op === "sub") ? ` (${op === "add" ? "sub" : "add"} its magnitude instead)` : "";
      throw new RangeError(`${op} ${this.#where}: ${what} ${b} does not fit the ${this.signed ? "i" : "u"}${bits} word${hint}`);
    }
    return BigInt.asUintN(bits, b);
  }
}
