// Pin paths. Joining is Go's path.Join/Clean (the seed uses filepath.Join), done here because
// core runs outside Node. Map names are checked before they reach a path: a name with `/` or
// `..` would pin outside the map directory, and NUL cuts the path the kernel sees.
import { describeValue } from "./describe-value.js";

/** Go's path.Clean: no `.`, resolved `..`, single slashes, no trailing slash (except `/`). */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const s = out.join("/");
  if (rooted) return `/${s}`;
  return s === "" ? "." : s;
}

/** Go's path.Join: the non-empty parts joined by `/`, then cleaned; "" when all are empty. */
export function joinPath(...parts: string[]): string {
  const kept = parts.filter((x) => x !== "");
  return kept.length === 0 ? "" : cleanPath(kept.join("/"));
}

/**
 * Everything before the last `/`, cleaned, as Go's `path.Dir`: `.` when there is no `/`, `/` for a path in the
 * root.
 */
export function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : cleanPath(p.slice(0, i));
}

/** The last element, as the seed's NewMap keeps it (`path.Base`). */
export function basename(p: string): string {
  if (p === "") return ".";
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** Why `name` cannot be a map's file name in the map directory, or undefined when it can. */
export function mapNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `must be a string, got ${describeValue(name)}`;
  if (name === "") return "must not be empty";
  if (name.includes("\0")) return "must not contain a NUL byte";
  if (name.includes("/")) return 'must not contain "/"';
  if (name === "." || name === "..") return `must not be "${name}"`;
  // NAME_MAX: the kernel refuses a longer pin name (ENAMETOOLONG); refused here on every driver.
  if (utf8Length(name) > 255) return `must be at most 255 bytes (NAME_MAX), got ${utf8Length(name)}`;
  return undefined;
}

/** Bytes of `s` in UTF-8 (what the kernel sees of a path), without an encoder. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Throws a TypeError naming the operation and the name when `name` is not a valid map name. */
export function assertMapName(name: unknown, op: string): asserts name is string {
  const why = mapNameProblem(name);
  if (why !== undefined) throw new TypeError(`${op}: invalid map name ${JSON.stringify(String(name))}: ${why}`);
}

/**
 * The map name a spec's `name` stands for. The seed's NewMap keeps `path.Base(name)`, and Cilium
 * hands it full paths (`policymap.OpenOrCreate(bpf.LocalMapPath(…))`): a path in the map
 * directory is taken as its base name. A path anywhere else is refused: the seed would pin the
 * map in the map directory, not where the path says. `mapDir` is read (locking the root down)
 * only for an absolute name.
 */
export function specMapName(name: unknown, mapDir: () => string, op: string): string {
  if (typeof name === "string" && name.startsWith("/") && !name.includes("\0")) {
    const p = cleanPath(name);
    const dir = mapDir();
    if (dirname(p) === dir) {
      // In the map directory, but perhaps no name a pin can have there (past NAME_MAX): say so.
      assertMapName(basename(p), op);
      return basename(p);
    }
    throw new TypeError(`${op}: map name ${JSON.stringify(name)} is a path outside the map directory ${dir}: ` +
      `a map pins there under its name; to open a map pinned elsewhere, use bpf.openMap(path, { key, value })`);
  }
  if (typeof name === "string" && name.includes("/") && !name.includes("\0")) {
    throw new TypeError(`${op}: invalid map name ${JSON.stringify(name)}: must not contain "/" ` +
      "(a name in the map directory, as bpf.localMapName gives, or a path in it, as bpf.localMapPath gives)");
  }
  assertMapName(name, op);
  return name;
}

/** Throws a TypeError when `p` is not a usable path: a non-empty string without NUL. */
export function checkPath(p: unknown, what: string, op: string): asserts p is string {
  if (typeof p !== "string") throw new TypeError(`${op}: ${what} must be a string, got ${describeValue(p)}`);
  if (p === "") throw new TypeError(`${op}: ${what} must not be empty`);
  if (p.includes("\0")) throw new TypeError(`${op}: ${what} ${JSON.stringify(p)} contains a NUL byte`);
}

/** The seed's LocalMapName: `name` + `id` zero-padded to 5 digits (`%s%05d`), no separator. */
export function localMapName(name: string, id: number): string {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new RangeError(`localMapName: id ${id} is not a u16`);
  return `${name}${String(id).padStart(5, "0")}`;
}
