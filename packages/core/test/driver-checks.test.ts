// The argument checks every driver makes before a syscall (driver-checks.ts), at their edges:
// what passes here reaches bpf(2) as an int fd, a u32, or a buffer the kernel reads or writes.
import { describe, expect, it } from "vitest";
import {
  assertAtomicArgs, assertBatchBuffer, assertFd, assertPath, assertPollArgs, assertSize, assertU32, isAbortSignalLike, MAX_POLL_TIMEOUT_MS,
} from "@bpfkit/core";
import { thrown } from "./support/thrown.js";

describe("driver argument checks", () => {
  it("an fd is any int: past 2^31-1 or below -2^31 is a RangeError, a fraction a TypeError", () => {
    for (const fd of [0, 5, -1, 2 ** 31 - 1, -(2 ** 31)]) expect(() => assertFd(fd, "op")).not.toThrow();
    for (const fd of [2 ** 31, -(2 ** 31) - 1, 2 ** 40]) {
      const e = thrown(() => assertFd(fd, "op"));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`op: fd ${fd} is out of range`);
    }
    expect(thrown(() => assertFd(1.5, "op"))).toEqual(new TypeError("op: fd must be an integer, got 1.5"));
    expect(thrown(() => assertFd("3", "op"))).toEqual(new TypeError('op: fd must be an integer, got "3"'));
  });

  it("a u32 is 0 to 2^32-1", () => {
    for (const v of [0, 2 ** 32 - 1]) expect(() => assertU32(v, "flags", "op")).not.toThrow();
    expect(thrown(() => assertU32(-1, "flags", "op"))).toEqual(new RangeError("op: flags -1 is not a u32"));
    expect(thrown(() => assertU32(2 ** 32, "flags", "op"))).toEqual(new RangeError(`op: flags ${2 ** 32} is not a u32`));
    expect(thrown(() => assertU32(null, "flags", "op"))).toEqual(new TypeError("op: flags must be an integer, got null"));
  });

  it("an atomic word's offset: a negative or unsafe one is said to be so, an unaligned one not a multiple of the size", () => {
    for (const offset of [0, 8, 2 ** 40]) expect(() => assertAtomicArgs(offset, 8, "load", undefined, undefined, "op")).not.toThrow();
    expect(thrown(() => assertAtomicArgs(-8, 8, "load", undefined, undefined, "op")))
      .toEqual(new RangeError("op: offset -8 is not a byte offset in the mapping (0 or more)"));
    expect(thrown(() => assertAtomicArgs(2 ** 53, 8, "load", undefined, undefined, "op")))
      .toEqual(new RangeError(`op: offset ${2 ** 53} is not a byte offset in the mapping (0 or more)`));
    expect(thrown(() => assertAtomicArgs(4, 8, "load", undefined, undefined, "op")))
      .toEqual(new RangeError("op: offset 4 is not a multiple of 8: an atomic word must be naturally aligned"));
  });

  it("a key or value buffer is exactly its size; a batch buffer holds count elements at least", () => {
    expect(() => assertSize(new Uint8Array(4), 4, "key", "op", 7)).not.toThrow();
    for (const n of [3, 5]) {
      expect(thrown(() => assertSize(new Uint8Array(n), 4, "key", "op", 7))).toEqual(new RangeError(`op: key is ${n} bytes, map fd 7 needs 4`));
    }
    expect(thrown(() => assertSize([0, 0, 0, 0], 4, "key", "op", 7))).toEqual(new TypeError("op: key must be a Uint8Array, got Array"));
    for (const n of [12, 13]) expect(() => assertBatchBuffer(new Uint8Array(n), 3, 4, "keys", "op", 7)).not.toThrow();
    expect(thrown(() => assertBatchBuffer(new Uint8Array(11), 3, 4, "keys", "op", 7)))
      .toEqual(new RangeError("op: keys is 11 bytes, 3 elements of map fd 7 need 12"));
  });

  it("a poll waits 0 to 2^31-1 whole ms or for ever, and takes an AbortSignal or none", () => {
    const signal = new AbortController().signal;
    for (const ms of [0, 1, MAX_POLL_TIMEOUT_MS, Infinity]) expect(() => assertPollArgs(3, ms, signal, "op")).not.toThrow();
    expect(MAX_POLL_TIMEOUT_MS).toBe(2 ** 31 - 1);
    for (const ms of [-1, 0.5, MAX_POLL_TIMEOUT_MS + 1, Number.NaN, -Infinity]) {
      expect(thrown(() => assertPollArgs(3, ms, undefined, "op"))).toBeInstanceOf(RangeError);
    }
    expect(thrown(() => assertPollArgs(3, "5", undefined, "op"))).toBeInstanceOf(TypeError);
    // Something with listeners but no `aborted` is no signal: a wait could never see it abort.
    const listeners = { addEventListener() {}, removeEventListener() {} };
    for (const bad of [{}, listeners, { ...listeners, aborted: "no" }, null]) {
      expect(isAbortSignalLike(bad)).toBe(false);
      const e = thrown(() => assertPollArgs(3, 5, bad, "op"));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^op: signal must be an AbortSignal, got /);
    }
    expect(isAbortSignalLike({ ...listeners, aborted: false, reason: undefined })).toBe(true);
  });

  it("a path is a non-empty string without NUL", () => {
    expect(() => assertPath("/sys/fs/bpf/x", "op")).not.toThrow();
    expect(thrown(() => assertPath("", "op"))).toEqual(new TypeError("op: path is empty"));
    expect(thrown(() => assertPath("/a\0b", "op"))).toEqual(new TypeError('op: path "/a\\u0000b" holds a NUL byte'));
    expect(thrown(() => assertPath(undefined, "op"))).toEqual(new TypeError("op: path must be a string, got undefined"));
  });
});
