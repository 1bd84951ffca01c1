// lib/kstrtox.c: how the kernel reads a number out of a mount option's text. Its errnos reach
// user space as they are where a filesystem returns them (bpffs's delegate_* options) and become
// EINVAL where fs_parse judges the value (fsparam_u32's uid, gid, mode).
import { Errno } from "@bpfkit/core";

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffffn;

/** The value of the ASCII digit or hex letter with this code (NaN past the end), else -1. */
function digit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lc = c | 0x20;
  return lc >= 0x61 && lc <= 0x66 ? lc - 0x57 : -1;
}

/**
 * kstrtoull: an optional "+", then digits of `base` (0 picks it as _parse_integer_fixup_radix
 * does: "0x" and a hex digit is 16, another leading "0" is 8, else 10), then one optional "\n".
 * A value past u64 is ERANGE even with junk after it: the overflow is seen while the digits are
 * read, before the rest is looked at. No digits, a sign "-" or junk is EINVAL. Returns the
 * value or a negative errno.
 */
export function kstrtoull(s: string, base: number): bigint | number {
  let i = s.startsWith("+") ? 1 : 0;
  let b = base;
  const x = s[i + 1] === "x" || s[i + 1] === "X";
  if (b === 0) b = s[i] !== "0" ? 10 : x && digit(s.charCodeAt(i + 2)) >= 0 ? 16 : 8;
  if (b === 16 && s[i] === "0" && x) i += 2;
  const start = i;
  let n = 0n;
  for (let d = digit(s.charCodeAt(i)); d >= 0 && d < b; d = digit(s.charCodeAt(++i))) n = n * BigInt(b) + BigInt(d);
  if (n > U64_MAX) return -Errno.ERANGE;
  if (i === start) return -Errno.EINVAL;
  if (s[i] === "\n") i++;
  return i === s.length ? n : -Errno.EINVAL;
}

/** kstrtouint: kstrtoull, then ERANGE past u32. Returns the value or a negative errno. */
export function kstrtouint(s: string, base: number): number {
  const n = kstrtoull(s, base);
  if (typeof n === "number") return n;
  return n > U32_MAX ? -Errno.ERANGE : Number(n);
}
