// The suite's own assertions: no test framework, messages that say what the kernel does.
import { errnoName } from "@bpfkit/core";
import { hex } from "./models/htab.js";

/**
 * A conformance case found the driver breaking a kernel rule; the message says what the kernel does and what the
 * driver did.
 */
export class ConformanceError extends Error {
  /** Always `ConformanceError`. */
  override readonly name = "ConformanceError";
}

/** A case that cannot run on this driver (it lacks something), with the reason. */
export class CaseSkipped extends Error {
  /** Always `CaseSkipped`. */
  override readonly name = "CaseSkipped";
}

export function fail(message: string): never {
  throw new ConformanceError(message);
}

/** `OK(3)` for a result >= 0, else the errno's name. */
export function show(r: number): string {
  return r >= 0 ? `OK(${r})` : errnoName(-r);
}

/** An errno the kernel names: `"OK"` (any result >= 0), or `ENOENT`-style names. */
export type Expect = "OK" | "EPERM" | "ENOENT" | "E2BIG" | "EBADF" | "EACCES" | "EEXIST" | "EINVAL" |
  "ENOSPC" | "ENOTEMPTY" | "ENOTSUPP" | "ENOMEM" | "EFAULT" | "EBADFD" | "ENAMETOOLONG" | "EROFS" | "ERANGE" |
  "ENODEV" | "EOPNOTSUPP" | "EBUSY" | "EXDEV" | "ENOTDIR" | "EISDIR" | "EAGAIN" | "ELOOP";

const numbers: Record<Exclude<Expect, "OK">, number> = {
  EPERM: 1, ENOENT: 2, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EEXIST: 17,
  EBUSY: 16, EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENOSPC: 28, EROFS: 30, ERANGE: 34, ENAMETOOLONG: 36, ENOTEMPTY: 39, ELOOP: 40, EBADFD: 77, EOPNOTSUPP: 95, ENOTSUPP: 524,
};

export function errnoOf(e: Expect): number {
  return e === "OK" ? 0 : numbers[e];
}

/** Asserts a driver result: `expectResult(r, "ENOENT", "lookup of a missing key")`. */
export function expectResult(r: number, want: Expect, what: string): void {
  if (typeof r !== "number") fail(`${what}: expected ${want}, got a ${typeof r} (${String(r)})`);
  const ok = want === "OK" ? r >= 0 : r === -numbers[want];
  if (!ok) fail(`${what}: expected ${want}, got ${show(r)}`);
}

/** Asserts a batch result's errno and count. */
export function expectBatch(r: { errno: number; count: number }, want: Expect, count: number, what: string): void {
  const e = want === "OK" ? 0 : numbers[want];
  if (r.errno !== e || r.count !== count) {
    fail(`${what}: expected ${want} count ${count}, got ${r.errno === 0 ? "OK" : errnoName(r.errno)} count ${r.count}`);
  }
}

export function expectEqual<T>(got: T, want: T, what: string): void {
  if (!Object.is(got, want)) fail(`${what}: expected ${String(want)}, got ${String(got)}`);
}

export function expectTrue(cond: boolean, what: string): void {
  if (!cond) fail(what);
}

export function expectBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  if (got.length !== want.length || hex(got) !== hex(want)) fail(`${what}: expected ${hex(want)}, got ${hex(got)}`);
}

export function expectList<T>(got: readonly T[], want: readonly T[], what: string, fmt: (x: T) => string = String): void {
  const g = got.map(fmt).join(",");
  const w = want.map(fmt).join(",");
  if (g !== w) fail(`${what}:\n  expected [${w}]\n  got      [${g}]`);
}

/** `fn` must throw an error of class `cls` (RangeError, TypeError) before any syscall. */
export function expectThrows(fn: () => unknown, cls: new (...a: never[]) => Error, what: string): void {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    if (e instanceof cls) return;
    fail(`${what}: expected a ${cls.name}, got ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`);
  }
  fail(`${what}: expected a ${cls.name}, but it returned ${typeof r === "number" ? show(r) : JSON.stringify(r)}`);
}
