// The links between the repository's Markdown files: every relative link names a file that
// exists, and a `#fragment` names a heading of that file as GitHub makes its anchor. Docs are
// renamed and sections retitled; a reader following a dead link learns nothing.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/** Directories that hold no docs of ours: installed, built or generated trees. */
const SKIP = new Set(["node_modules", "dist", "build", "packs", "coverage", ".git", ".tools"]);

/** Every .md file of the repository, relative to the root. */
function markdownFiles(dir = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir === "" ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory() && !SKIP.has(e.name)) out.push(...markdownFiles(path));
    else if (e.isFile() && e.name.endsWith(".md")) out.push(path);
  }
  return out;
}

/** The file's lines outside fenced code blocks (links in code are code, not links). */
function proseLines(text: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let fenced = false;
  text.split("\n").forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push([i + 1, line]);
  });
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, each space a `-`. */
export function githubSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/ /g, "-");
}

/** The anchors of a Markdown file's headings; a repeated heading gets `-1`, `-2`, … as on GitHub. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, line] of proseLines(text)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = githubSlug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("links between the Markdown files", () => {
  it("makes GitHub's anchors", () => {
    expect(githubSlug("`checkOrMountFS(root = \"\", printWarning = false)`")).toBe("checkormountfsroot---printwarning--false");
    expect(githubSlug("A map's kernel name")).toBe("a-maps-kernel-name");
    expect(githubSlug("Codecs for a map someone else made")).toBe("codecs-for-a-map-someone-else-made");
    expect([...anchors("# A\n## A\n```\n# not a heading\n```\n### B.c\n")]).toEqual(["a", "a-1", "bc"]);
  });

  it("every relative link names a file that exists, and its #fragment a heading there", () => {
    const files = markdownFiles();
    expect(files.length).toBeGreaterThanOrEqual(15);
    const cache = new Map<string, Set<string>>();
    const anchorsOf = (path: string) => {
      let a = cache.get(path);
      if (a === undefined) cache.set(path, (a = anchors(readFileSync(join(root, path), "utf8"))));
      return a;
    };
    const dead: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const [n, line] of proseLines(readFileSync(join(root, file), "utf8"))) {
        // Inline code is not a link: `a[i](x)` in backticks stays as it is.
        const prose = line.replace(/`[^`]*`/g, "");
        for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1]!;
          if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
          checked++;
          const [pathPart, fragment] = target.split("#", 2) as [string, string | undefined];
          const to = pathPart === "" ? file : normalize(join(dirname(file), pathPart));
          if (relative(root, join(root, to)).startsWith("..") || !existsSync(join(root, to))) {
            dead.push(`${file}:${n}: ${target} (no such file)`);
            continue;
          }
          if (fragment === undefined || !to.endsWith(".md") || statSync(join(root, to)).isDirectory()) continue;
          if (!anchorsOf(to).has(fragment)) dead.push(`${file}:${n}: ${target} (no heading #${fragment} in ${to})`);
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(dead).toEqual([]);
  });

  it("every file a shell line hands to `npm test --` or `npx tsc -p` exists", () => {
    // Those lines are how a reader runs one test file or checks one example: a renamed test
    // would leave them running nothing (vitest with no file matching) and saying so only in passing.
    const missing: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      const lines = readFileSync(join(root, file), "utf8").split("\n");
      let fenced = false, shell = false;
      lines.forEach((line, i) => {
        const fence = /^\s*```(\S*)/.exec(line);
        if (fence) {
          fenced = !fenced;
          shell = fenced && (fence[1] === "sh" || fence[1] === "bash");
          return;
        }
        if (!shell) return;
        for (const m of line.matchAll(/(?:npm test --|npx tsc -p) ((?:\S+\/)+\S+)/g)) {
          checked++;
          if (!existsSync(join(root, m[1]!))) missing.push(`${file}:${i + 1}: ${m[1]}`);
        }
      });
    }
    expect(checked).toBeGreaterThanOrEqual(5);
    expect(missing).toEqual([]);
  });
});
