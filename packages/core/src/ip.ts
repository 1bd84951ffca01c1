// IP address text <-> bytes, written here because core runs outside Node (no `node:net`).
// Parsing follows Go's net.ParseIP (which Cilium's EndpointKey and dumps are built on): dotted
// quads without leading zeros, RFC 4291 IPv6 text with `::` and an embedded IPv4 tail.
// Formatting follows RFC 5952, as Go's net.IP.String does.

/** Bytes of `::ffff:0:0/96`, the IPv4-mapped IPv6 prefix. */
const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

/** Parses a dotted quad into `out[at..at+4]`; false (out partly written) when it is not one. */
export function parseIpv4Into(text: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let i = 0;
  while (part < 4) {
    const start = i;
    let n = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
      if (i - start > 3) return false;
    }
    const digits = i - start;
    if (digits === 0 || n > 255) return false;
    if (digits > 1 && text.charCodeAt(start) === 48) return false; // leading zero: octal-looking
    out[at + part] = n;
    part++;
    if (part < 4) {
      if (text.charCodeAt(i) !== 46) return false;
      i++;
    }
  }
  return i === text.length;
}

/** `a.b.c.d` → 4 bytes, or undefined when `text` is not a dotted quad. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return parseIpv4Into(text, out, 0) ? out : undefined;
}

/** IPv6 text → 16 bytes (an IPv4 tail allowed), or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let ellipsis = -1; // byte index where `::` was
  let i = 0;
  let j = 0; // bytes written
  if (text.length >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    ellipsis = 0;
    i = 2;
    if (i === text.length) return out;
  }
  while (j < 16) {
    // A hex group of 1..4 digits, or an IPv4 tail.
    const start = i;
    let n = 0;
    while (i < text.length && i - start < 5) {
      const c = text.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      n = n * 16 + d;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4) return undefined;
    if (i < text.length && text.charCodeAt(i) === 46) {
      // IPv4 tail: only as the last 4 bytes.
      if (ellipsis < 0 && j !== 12) return undefined;
      if (j + 4 > 16) return undefined;
      if (!parseIpv4Into(text.slice(start), out, j)) return undefined;
      j += 4;
      i = text.length;
      break;
    }
    out[j] = n >> 8;
    out[j + 1] = n & 0xff;
    j += 2;
    if (i === text.length) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < text.length && text.charCodeAt(i) === 58) {
      if (ellipsis >= 0) return undefined; // a second `::`
      ellipsis = j;
      i++;
      if (i === text.length) break;
    } else if (i === text.length) {
      return undefined; // a trailing single `:`
    }
  }
  if (i !== text.length) return undefined;
  if (j < 16) {
    if (ellipsis < 0) return undefined;
    const tail = j - ellipsis;
    out.copyWithin(16 - tail, ellipsis, j);
    out.fill(0, ellipsis, 16 - tail);
  } else if (ellipsis >= 0) {
    // `::` must stand for at least one group (Go rejects `1:2:3:4::5:6:7:8`).
    return undefined;
  }
  return out;
}

/**
 * Go's net.ParseIP: a dotted quad gives 4 bytes, IPv6 text 16 bytes, anything else undefined.
 * (Go returns 16 bytes for both; bpfkit keeps the family in the length.)
 */
export function parseIp(text: string): Uint8Array | undefined {
  if (typeof text !== "string") return undefined;
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/** True when 16 bytes are `::ffff:a.b.c.d`. */
export function isIpv4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 12; i++) if (b[i] !== V4_MAPPED_PREFIX[i]) return false;
  return true;
}

/** The dotted-quad text of the 4 bytes at `at` (`10.0.0.1`). */
export function formatIpv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * RFC 5952: lower case, the longest run (≥ 2) of zero groups as `::`, the first on a tie, and
 * IPv4-mapped addresses as `::ffff:a.b.c.d` (§5).
 */
export function formatIpv6(b: Uint8Array, at = 0): string {
  let mapped = true;
  for (let i = 0; i < 12 && mapped; i++) mapped = b[at + i] === V4_MAPPED_PREFIX[i];
  if (mapped) return `::ffff:${formatIpv4(b, at + 12)}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let g = 0; g < 8;) {
    if (b[at + 2 * g] === 0 && b[at + 2 * g + 1] === 0) {
      let e = g;
      while (e < 8 && b[at + 2 * e] === 0 && b[at + 2 * e + 1] === 0) e++;
      if (e - g > bestLen) {
        bestStart = g;
        bestLen = e - g;
      }
      g = e;
    } else {
      g++;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let s = "";
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += "::";
      g += bestLen - 1;
      continue;
    }
    if (s !== "" && !s.endsWith(":")) s += ":";
    s += ((b[at + 2 * g]! << 8) | b[at + 2 * g + 1]!).toString(16);
  }
  return s;
}

/**
 * Go's net.IP.String: 4 bytes, and 16-byte IPv4-mapped addresses, print as dotted quads;
 * other 16-byte addresses as RFC 5952 IPv6. Other lengths print as `?` followed by hex, as Go does.
 */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return formatIpv4(b);
  if (b.length === 16) return isIpv4Mapped(b) ? formatIpv4(b, 12) : formatIpv6(b);
  if (b.length === 0) return "<nil>";
  let hex = "?";
  for (const x of b) hex += x.toString(16).padStart(2, "0");
  return hex;
}
