// docs/api/*.md are generated from the TSDoc of each package's exports, and their summary column
// (the doc comment's first sentence) is what a user reads on the API page and in the editor's
// hover. `gen-api-docs.mjs --check` fails when a page is out of date with the sources or when an
// export, or a public member of an exported class or interface, has no doc comment at all.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const NO_SUMMARY = "has no doc comment (no summary)";

describe("the generated API reference", () => {
  let status: number | null = null;
  let lines: string[] = [];
  beforeAll(() => {
    const r = spawnSync(process.execPath, [join(root, "scripts", "gen-api-docs.mjs"), "--check"], { cwd: root, encoding: "utf8" });
    status = r.status;
    lines = r.stderr.split("\n").filter(Boolean);
  });

  it("has a summary for every export and every public member of an exported class or interface", () => {
    // Each line names the file, line and export (`Name` or `Name.member`) that needs a doc comment.
    const undocumented = lines.filter((l) => l.endsWith(NO_SUMMARY));
    expect(undocumented).toEqual([]);
    expect(lines.filter((l) => l.includes(" exports"))).toHaveLength(5);
  });

  it("is what the generator makes of the sources now (run node scripts/gen-api-docs.mjs)", () => {
    expect(lines.filter((l) => l.includes("out of date"))).toEqual([]);
    expect(status).toBe(0);
  });
});

describe("gen-api-docs --check on a package with undocumented exports", () => {
  it("fails, naming each export and public member without a doc comment by file and line", () => {
    // A repository of one package beside a copy of the script (which finds the packages from
    // its own place), with the real node_modules for typescript and @types/node.
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-gen-api-docs-"));
    try {
      mkdirSync(join(dir, "scripts"));
      copyFileSync(join(root, "scripts", "gen-api-docs.mjs"), join(dir, "scripts", "gen-api-docs.mjs"));
      symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
      mkdirSync(join(dir, "packages", "core", "src"), { recursive: true });
      writeFileSync(join(dir, "packages", "core", "package.json"), JSON.stringify({ name: "@fixture/core" }));
      writeFileSync(join(dir, "packages", "core", "src", "index.ts"), [
        "/** Documented. */",
        "export const documented = 1;",
        "export const bare = 2;",
        "/** An interface. */",
        "export interface Shape {",
        "  /** Documented. */",
        "  width: number;",
        "  height: number;",
        "}",
        "export class Box {",
        "  /** Documented. */",
        "  open(): void {}",
        "  close(): void {}",
        "  #secret = 1;",
        "  private hidden = 2;",
        "}",
        "",
      ].join("\n"));
      const r = spawnSync(process.execPath, [join(dir, "scripts", "gen-api-docs.mjs"), "--check"], { cwd: dir, encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr.split("\n").filter((l) => l.endsWith(NO_SUMMARY))).toEqual([
        `gen-api-docs: packages/core/src/index.ts:3: bare ${NO_SUMMARY}`,
        `gen-api-docs: packages/core/src/index.ts:8: Shape.height ${NO_SUMMARY}`,
        `gen-api-docs: packages/core/src/index.ts:10: Box ${NO_SUMMARY}`,
        `gen-api-docs: packages/core/src/index.ts:13: Box.close ${NO_SUMMARY}`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
