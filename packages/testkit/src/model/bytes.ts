// Byte helpers the model and the runners share: keys become hex strings to be Map keys and to
// print readably in counterexamples.

export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/**
 * Bytes as hex, or past 512 bytes (keys and values at the size limits, up to 4 MiB) as their
 * first 32 in hex, the length and an FNV-1a of all: megabytes of hex per line had programs and
 * traces of such maps spend their time printing.
 */
export function brief(b: Uint8Array): string {
  if (b.length <= 512) return hex(b);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return `${hex(b.subarray(0, 32))}…(${b.length} bytes, fnv ${(h >>> 0).toString(16).padStart(8, "0")})`;
}

export function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function u32le(b: Uint8Array, off = 0): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function putU32le(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
