// Output: aligned tables for people, JSON for scripts. Nothing here writes to a stream itself.

export interface Column<R> {
  readonly title: string;
  readonly get: (row: R) => string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

/** A table with a header line, columns two spaces apart, no trailing blanks. */
export function table<R>(rows: readonly R[], columns: readonly Column<R>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.get(r)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: readonly string[]) =>
    vals.map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join("\n") + "\n";
}

/** `key: value` lines with the keys aligned. */
export function fields(pairs: ReadonlyArray<readonly [string, string]>): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ":").padEnd(w + 1)} ${v}`).join("\n") + "\n";
}

/** JSON with bigints as numbers when safe, else strings; Uint8Arrays as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, jsonValue, 2) + "\n";
}

/** The JSON.stringify replacer of every document the CLI writes (one rule, streamed or not). */
export function jsonValue(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return hex(v);
  if (v instanceof Map) return Object.fromEntries(v);
  return v;
}

/** `0a 00 00 01`: bytes as bpftool prints them. */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (i ? " " : "") + bytes[i]!.toString(16).padStart(2, "0");
  return s;
}

/** `0a000001`: bytes as one hex string. */
export function hexCompact(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}
